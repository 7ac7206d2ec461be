"""The decision: gates, exclusions, the two tiers, q-values, score and a total rank order."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tokenaudit.checks.base import Group, result_frame
from tokenaudit.config import AuditConfig
from tokenaudit.decide import (
    accounts_screened_on_habit,
    decide,
    screened_on_habit,
    tier_qvalues,
)

GROUPS = {
    "excess-tokens": Group.OUTCOME,
    "barren-days": Group.OUTCOME,
    "automation": Group.MECHANISM,
}


def totals(
    names: list[str], *, gate: dict[str, str] | None = None, excluded: set[str] = frozenset()
) -> pl.DataFrame:  # type: ignore[assignment]
    gate = gate or {}
    return pl.DataFrame(
        {
            "account": names,
            "gate": [gate.get(n) for n in names],
            "excluded": [n in excluded for n in names],
            "exclude_reason": ["bot account" if n in excluded else None for n in names],
        },
        schema={
            "account": pl.String,
            "gate": pl.String,
            "excluded": pl.Boolean,
            "exclude_reason": pl.String,
        },
    )


def results(p: dict[str, dict[str, float]]) -> pl.DataFrame:
    frames = []
    for check in GROUPS:
        rows = [
            (a, True, 0.0, ps[check], 1.0, f"{check} effect", "", "effect")
            for a, ps in p.items()
            if check in ps
        ]
        frames.append(result_frame(check, rows))
    return pl.concat(frames)


def background(n: int) -> dict[str, dict[str, float]]:
    grid = np.linspace(0.05, 1.0, n)
    return {
        f"honest{i:03d}": {"excess-tokens": float(v), "barren-days": float(v), "automation": 1.0}
        for i, v in enumerate(grid)
    }


def test_tier_two_needs_a_mechanism_and_unexplained_usage() -> None:
    p = background(100)
    p["loop"] = {"excess-tokens": 0.004, "barren-days": 1.0, "automation": 1e-6}
    p["shipping-bot-user"] = {"excess-tokens": 0.6, "barren-days": 1.0, "automation": 1e-6}
    p["reviewer"] = {"excess-tokens": 0.2, "barren-days": 1e-6, "automation": 1.0}
    out = decide(totals(sorted(p)), results(p), GROUPS, AuditConfig(), primary="excess-tokens")
    status = dict(zip(out["account"].to_list(), out["status"].to_list(), strict=True))
    assert status["loop"] == "suspicious"
    assert status["shipping-bot-user"] == "ok"  # a mechanism alone never flags
    assert status["reviewer"] == "review"  # usage not followed by merged work, no mechanism
    assert out.filter(pl.col("status") == "suspicious")["flagged"].all()
    assert out.row(0, named=True)["account"] == "loop"


def test_usage_that_comes_and_goes_without_the_output_confirms_a_mechanism_but_never_flags() -> (
    None
):
    # heavy-weeks (context) credits the merged output of the heavy weeks: it confirms that a
    # screened account's usage is not explained by merged work, as an outcome check does. By
    # itself it flags nobody, and weekday-spikes, which credits no output, confirms nothing.
    groups = {**GROUPS, "heavy-weeks": Group.CONTEXT, "weekday-spikes": Group.CONTEXT}
    p = {a: {**ps, "heavy-weeks": 0.5, "weekday-spikes": 0.5} for a, ps in background(100).items()}
    p["weekly-loop"] = {"excess-tokens": 0.3, "barren-days": 1.0, "automation": 1e-6}
    p["weekly-loop"] |= {"heavy-weeks": 1e-7, "weekday-spikes": 0.5}
    p["friday-loop"] = {"excess-tokens": 0.3, "barren-days": 1.0, "automation": 1e-6}
    p["friday-loop"] |= {"heavy-weeks": 0.5, "weekday-spikes": 1e-7}
    p["weekly-human"] = {"excess-tokens": 0.3, "barren-days": 1.0, "automation": 1.0}
    p["weekly-human"] |= {"heavy-weeks": 1e-7, "weekday-spikes": 0.5}
    frames = [results(p)]
    for check in ("heavy-weeks", "weekday-spikes"):
        rows = [(a, True, 0.0, ps[check], 1.0, "", "", "weeks") for a, ps in p.items()]
        frames.append(result_frame(check, rows))
    out = decide(
        totals(sorted(p)), pl.concat(frames), groups, AuditConfig(), primary="excess-tokens"
    )
    status = dict(zip(out["account"].to_list(), out["status"].to_list(), strict=True))
    assert status["weekly-loop"] == "suspicious"
    assert "heavy-weeks" in out.filter(pl.col("account") == "weekly-loop")["reasons"][0]
    assert status["friday-loop"] == "ok"
    assert status["weekly-human"] == "ok"
    assert out.filter(pl.col("account").str.starts_with("honest"))["flagged"].sum() == 0


def test_gated_and_excluded_accounts_are_never_flagged_and_rank_last() -> None:
    p = background(30)
    p["thin"] = {"excess-tokens": 1e-9, "barren-days": 1e-9, "automation": 1e-9}
    p["bot"] = {"excess-tokens": 1e-9, "barren-days": 1e-9, "automation": 1e-9}
    out = decide(
        totals(sorted(p), gate={"thin": "only 2 active days (needs 5)"}, excluded={"bot"}),
        results(p),
        GROUPS,
        AuditConfig(),
        primary="excess-tokens",
    )
    thin = out.filter(pl.col("account") == "thin").row(0, named=True)
    bot = out.filter(pl.col("account") == "bot").row(0, named=True)
    assert thin["status"] == "insufficient_data" and thin["q_value"] is None and not thin["flagged"]
    assert thin["reasons"] == "insufficient data: only 2 active days (needs 5)"
    assert bot["status"] == "excluded" and not bot["flagged"]
    assert {thin["rank"], bot["rank"]} == {out.height - 1, out.height}


def test_rank_is_a_total_order_broken_by_account() -> None:
    p = {f"a{i}": {"excess-tokens": 0.5, "barren-days": 0.5, "automation": 1.0} for i in range(20)}
    out = decide(totals(sorted(p)), results(p), GROUPS, AuditConfig(), primary="excess-tokens")
    assert out["rank"].to_list() == list(range(1, 21))
    assert out["account"].to_list() == sorted(p)


def test_score_is_monotone_in_the_evidence() -> None:
    p = {
        f"a{i:02d}": {"excess-tokens": 10 ** (-i / 4), "barren-days": 1.0, "automation": 1.0}
        for i in range(12)
    }
    out = decide(
        totals(sorted(p)), results(p), GROUPS, AuditConfig(), primary="excess-tokens"
    ).sort("account")
    scores = out["score"].to_list()
    assert scores == sorted(scores)
    assert all(0 <= s <= 100 for s in scores)


def test_under_the_global_null_each_tier_flags_anyone_at_most_q_of_the_time() -> None:
    rng = np.random.default_rng(5)
    runs, any_review, any_suspicious = 200, 0, 0
    for _ in range(runs):
        p_out, p_mech = rng.uniform(size=100), rng.uniform(size=100)
        q1, q2 = tier_qvalues(p_out, p_mech, AuditConfig())
        any_review += bool((q1 <= 0.10).any())
        any_suspicious += bool((q2 <= 0.10).any())
    tolerance = 3 * (0.1 * 0.9 / runs) ** 0.5
    assert any_review / runs <= 0.10 + tolerance
    assert any_suspicious / runs <= 0.10 + tolerance


@pytest.mark.parametrize("screened", [2, 5, 50])
def test_tier_two_keeps_its_error_rate_when_the_screened_honest_are_the_heaviest_users(
    screened: int,
) -> None:
    # The worst case for the old rule: the honest accounts that pass the mechanism screen are
    # exactly those with the strongest outcome evidence (heavy agent users). Whatever their
    # outcome p-values, tier 2 names one of them at most as often as the screen errs.
    rng = np.random.default_rng(11)
    runs, any_suspicious = 400, 0
    for _ in range(runs):
        p_mech = rng.uniform(size=200)
        p_out = rng.uniform(size=200)
        heaviest = np.argsort(p_mech)[:screened]
        p_out[heaviest] = 1e-6
        _, q2 = tier_qvalues(p_out, p_mech, AuditConfig())
        any_suspicious += bool((q2 <= 0.10).any())
    assert any_suspicious / runs <= 0.10 + 3 * (0.1 * 0.9 / runs) ** 0.5


def test_a_team_judged_by_a_reference_gets_the_reference_organisations_error_control() -> None:
    # Five people against another organisation's null of 200: a p of 0.002 would be the team's
    # first discovery over 5 (q = 0.01) but is no discovery among 200 (q = 0.4). Tier 2's screen
    # keeps the team's own count.
    from dataclasses import replace

    from tokenaudit.reference import Reference

    reference = Reference(
        name="big.json",
        tool_version="0",
        first_day="2025-01-01",
        last_day="2025-03-04",
        period_days=63,
        window_days=7,
        cohort_size=200,
        merge_rate=1.0,
        nulls={},
    )
    p_out = np.array([0.002, 0.00001, 0.4, 0.7, 0.9])
    p_mech = np.array([1.0, 1e-9, 1.0, 1.0, 1.0])
    q1_own, _ = tier_qvalues(p_out, p_mech, AuditConfig())
    q1_ref, q2_ref = tier_qvalues(p_out, p_mech, replace(AuditConfig(), reference=reference))
    assert q1_own[0] <= 0.10 < q1_ref[0]
    assert q1_ref[1] <= 0.10  # evidence that holds among 200 still holds
    assert q2_ref[1] == pytest.approx(5 * 1e-9)


def test_a_screened_account_needs_outcome_evidence_to_be_suspicious() -> None:
    p_mech = np.array([1e-12, 1e-12] + [1.0] * 48)
    p_out = np.array([0.01, 0.6] + [0.5] * 48)
    _, q2 = tier_qvalues(p_out, p_mech, AuditConfig())
    assert q2[0] <= 0.10  # a mechanism and usage its output does not explain
    assert np.isinf(q2[1])  # a mechanism, but its output explains its usage: not tier 2


HABIT_GROUPS = {
    "excess-tokens": Group.OUTCOME,
    "usage-jump": Group.OUTCOME,
    "barren-days": Group.OUTCOME,
    "heavy-weeks": Group.CONTEXT,
    "automation": Group.MECHANISM,
    "trivial-merges": Group.MECHANISM,
}


def _habit_scan(screened: dict[str, dict[str, float]]) -> dict[str, str]:
    """Statuses of `screened` among 60 ordinary accounts, every check of HABIT_GROUPS present."""
    return {name: status for name, (status, _) in _habit_verdicts(screened).items()}


def _habit_verdicts(screened: dict[str, dict[str, float]]) -> dict[str, tuple[str, str]]:
    """(status, reasons) of every account of `_habit_scan`'s organisation."""
    ordinary = {"excess-tokens": 0.5, "usage-jump": 0.5, "barren-days": 0.5, "heavy-weeks": 0.5}
    p = {f"honest{i:02d}": ordinary | {"automation": 1.0, "trivial-merges": 1.0} for i in range(60)}
    p |= {
        name: ordinary | {"automation": 1.0, "trivial-merges": 1.0} | ps
        for name, ps in screened.items()
    }
    frames = [
        result_frame(
            check, [(a, True, 0.0, ps[check], 1.0, check, "", check) for a, ps in p.items()]
        )
        for check in HABIT_GROUPS
    ]
    out = decide(
        totals(sorted(p)), pl.concat(frames), HABIT_GROUPS, AuditConfig(), primary="excess-tokens"
    )
    return {a: (st, r) for a, st, r in out.select("account", "status", "reasons").iter_rows()}


def test_a_habit_that_passes_the_screen_is_confirmed_by_outcome_evidence_only() -> None:
    # Some honest people ship in micro-changes: trivial merges pass the screen for them (seed 4242
    # of the blind family: an honest launch-timed adopter confirmed at p_outcome 0.16 by their own
    # rise, a light user confirmed by the weekly context check with a third of their peers' tokens).
    statuses = _habit_scan(
        {
            "habit_own_rise": {"trivial-merges": 1e-8, "usage-jump": 0.055},
            "habit_weekly": {"trivial-merges": 1e-8, "heavy-weeks": 0.06},
            "loop_own_rise": {"automation": 1e-8, "usage-jump": 0.055},
            "loop_weekly": {"automation": 1e-8, "heavy-weeks": 0.06},
            "camouflage_peers": {"trivial-merges": 1e-8, "excess-tokens": 0.04},
            "camouflage_strong_rise": {"trivial-merges": 1e-8, "usage-jump": 0.02},
        }
    )
    assert statuses["habit_own_rise"] == "ok"
    assert statuses["habit_weekly"] == "ok"
    # A mechanism that honest people do not show keeps the confirmation at confirm_p.
    assert statuses["loop_own_rise"] == "suspicious"
    assert statuses["loop_weekly"] == "suspicious"
    # Tokens that same-output peers do not use confirm as before; a rise confirms at 0.1.
    assert statuses["camouflage_peers"] == "suspicious"
    assert statuses["camouflage_strong_rise"] == "suspicious"


def test_the_peer_test_confirms_a_habit_only_as_it_would_confirm_p_outcome() -> None:
    # p_peer is the primary test's p times the number of outcome tests (three here): 0.1 alone
    # would be p_outcome 0.3, which confirms no mechanism.
    assert _habit_scan({"weak": {"trivial-merges": 1e-8, "excess-tokens": 0.1}})["weak"] == "ok"


def test_a_habit_confirmed_by_its_peers_names_the_peer_test_not_the_weekly_one() -> None:
    status, reasons = _habit_verdicts(
        {"camouflage": {"trivial-merges": 1e-8, "excess-tokens": 0.06, "heavy-weeks": 0.055}}
    )["camouflage"]
    assert status == "suspicious"
    assert "excess-tokens" in reasons


def test_an_account_passes_on_its_specific_mechanisms_when_they_alone_reach_the_threshold() -> None:
    # One account screened among 100: Benjamini–Hochberg's step-up threshold is 1 · 0.10 / 100.
    p_mechanism = np.array([1e-5] + [0.5] * 99)
    rest = [1.0] * 99
    assert not screened_on_habit(p_mechanism, np.array([9e-4, *rest]), AuditConfig())[0]
    assert screened_on_habit(p_mechanism, np.array([1.1e-3, *rest]), AuditConfig())[0]
    # Trivial merges the only mechanism that applied: no specific p at all.
    assert screened_on_habit(p_mechanism, np.array([np.nan, *rest]), AuditConfig())[0]
    # Benjamini–Yekutieli divides the threshold by the harmonic sum of 100 (5.19): 1.9e-4.
    assert screened_on_habit(p_mechanism, np.array([9e-4, *rest]), AuditConfig(strict=True))[0]
    # Accounts the screen does not pass are never "on the habit".
    assert not screened_on_habit(p_mechanism, np.ones(100), AuditConfig())[1:].any()


def test_a_habit_passes_the_screen_only_at_the_family_wise_level_however_many_padders_pass() -> (
    None
):
    # 1,000 accounts, 100 loop padders found: Benjamini–Hochberg's threshold rises to about
    # 100 · 0.10 / 1000 = 0.01, and an honest habit's p of 5e-4 would pass with them. A habit is
    # held to Bonferroni's 0.10 / 1000 = 1e-4 instead; a specific mechanism keeps BH's threshold.
    m = 1000
    p_mechanism = np.full(m, 0.5)
    p_specific = np.full(m, 0.5)
    p_outcome = np.full(m, 0.5)
    p_mechanism[:100] = p_specific[:100] = 1e-10
    p_outcome[:100] = 0.01
    habit, strong_habit, loop = 100, 101, 102
    p_mechanism[[habit, strong_habit, loop]] = [5e-4, 5e-5, 5e-4]
    p_specific[[habit, strong_habit]] = np.nan  # trivial merges the only mechanism
    p_specific[loop] = 5e-4
    p_outcome[[habit, strong_habit, loop]] = 0.05
    _, q2 = tier_qvalues(p_outcome, p_mechanism, AuditConfig(), p_specific=p_specific)
    assert q2[:100].max() <= 0.10
    assert np.isinf(q2[habit])
    assert q2[strong_habit] == pytest.approx(5e-5 * m)
    assert q2[loop] <= 0.10


def test_a_reports_check_rows_give_back_the_accounts_screened_on_a_habit() -> None:
    # Suppressions read a finished report: they must find the same accounts decide() did.
    ordinary = {"excess-tokens": 0.5, "usage-jump": 0.5, "barren-days": 0.5, "heavy-weeks": 0.5}
    p = {f"honest{i:02d}": ordinary | {"automation": 1.0, "trivial-merges": 1.0} for i in range(60)}
    p["habit"] = ordinary | {"automation": 1.0, "trivial-merges": 1e-8, "excess-tokens": 0.04}
    p["loop"] = ordinary | {"automation": 1e-8, "trivial-merges": 1e-9}
    rows = pl.concat(
        [
            result_frame(
                check, [(a, True, 0.0, ps[check], 1.0, check, "", check) for a, ps in p.items()]
            )
            for check in HABIT_GROUPS
        ]
    )
    assert accounts_screened_on_habit(rows, sorted(p), AuditConfig()) == {"habit"}


def test_a_specific_mechanism_beside_the_habit_keeps_the_usual_confirmation() -> None:
    # Identical request sizes that pass the screen by themselves: trivial merges on top change
    # nothing.
    both = {"automation": 1e-8, "trivial-merges": 1e-9, "usage-jump": 0.055}
    assert _habit_scan({"both": both})["both"] == "suspicious"


def test_strict_mode_is_more_conservative() -> None:
    p_out = np.array([0.0005, 0.002, 0.01, 0.2, 0.5, 0.9] * 5)
    p_mech = np.array([1e-6, 1e-6, 1.0, 1.0, 1.0, 1.0] * 5)
    q1, q2 = tier_qvalues(p_out, p_mech, AuditConfig())
    q1s, q2s = tier_qvalues(p_out, p_mech, AuditConfig(strict=True))
    assert (q1s >= q1).all()
    assert (q2s[np.isfinite(q2s)] >= q2[np.isfinite(q2)]).all()
    assert np.isinf(q2[2])  # not screened by a mechanism → no tier-2 q-value


def test_a_review_flag_resting_on_one_check_is_marked_fragile() -> None:
    from tokenaudit.audit import mark_fragile

    p = background(100)
    p["reviewer"] = {"excess-tokens": 0.3, "barren-days": 1e-7, "automation": 1.0}
    p["both"] = {"excess-tokens": 1e-7, "barren-days": 1e-7, "automation": 1.0}
    names = sorted(p)
    res = results(p)
    out = decide(totals(names), res, GROUPS, AuditConfig(), primary="excess-tokens")

    def same_barren(window: int) -> pl.DataFrame:
        return res.filter(pl.col("check") == "barren-days")

    marked = mark_fragile(out, totals(names), res, GROUPS, AuditConfig(), same_barren, 7)
    fragile = dict(zip(marked["account"].to_list(), marked["fragile"].to_list(), strict=True))
    assert fragile["reviewer"] == "not without barren-days"
    assert fragile["both"] is None  # either outcome check alone keeps it in review
    assert (
        "fragile: not without barren-days"
        in marked.filter(pl.col("account") == "reviewer")["reasons"][0]
    )
