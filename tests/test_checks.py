"""Every check: one contract (empty, one account, constant values, shuffled rows, exact schema,
no NaN), and known answers on hand-made cohorts."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from tokenaudit.checks.base import RESULT_SCHEMA, Check, CheckData, worked_days
from tokenaudit.checks.registry import CHECKS, check_by_id
from tokenaudit.config import AuditConfig
from tokenaudit.schema import PHASE_PERIODS

from .panels import D0, check_data, synthetic_cohort, with_account

CFG = AuditConfig()


def assert_valid(result: pl.DataFrame, accounts: list[str]) -> None:
    assert dict(result.schema) == RESULT_SCHEMA
    assert sorted(result["account"].to_list()) == sorted(accounts)
    for col in ("statistic", "p_value", "effect"):
        values = result[col].drop_nulls().to_list()
        assert all(math.isfinite(v) for v in values), f"{col} has NaN or infinity"
    assert result.filter(pl.col("applicable"))["p_value"].is_between(0, 1).all()
    assert (
        result.filter(~pl.col("applicable"))["p_value"].null_count()
        == result.filter(~pl.col("applicable")).height
    )


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
class TestEveryCheck:
    def test_empty_input_gives_an_empty_valid_result(self, check: Check) -> None:
        accounts, days = synthetic_cohort()
        result = check.run(check_data(accounts.head(0), days.head(0)), CFG)
        assert_valid(result, [])

    def test_one_account_is_not_applicable_not_an_error(self, check: Check) -> None:
        accounts, days = synthetic_cohort()
        one = accounts.head(1)
        result = check.run(
            check_data(one, days.filter(pl.col("account") == one["account"][0])), CFG
        )
        assert_valid(result, one["account"].to_list())
        if check.id == "automation":
            # Its counted fingerprint has a null that needs no cohort (the own-stream rate).
            assert result["p_value"].fill_null(1.0).min() == 1.0
        else:
            assert not result["applicable"].any()

    def test_constant_values_leak_no_nan(self, check: Check) -> None:
        accounts, days = synthetic_cohort()
        flat_days = days.with_columns(
            pl.lit(1_000_000).alias("tokens"), pl.lit(True).alias("followed")
        )
        flat = accounts.with_columns(
            pl.lit(20_000_000).alias("tokens"),
            pl.lit(20).alias("active_days"),
            pl.lit(5).alias("changes"),
        )
        result = check.run(check_data(flat, flat_days), CFG)
        assert_valid(result, flat["account"].to_list())

    def test_shuffled_rows_give_the_same_answer(self, check: Check) -> None:
        accounts, days = synthetic_cohort(seed=3)
        first = check.run(check_data(accounts, days), CFG)
        again = check.run(
            check_data(
                accounts.sample(fraction=1.0, shuffle=True, seed=1),
                days.sample(fraction=1.0, shuffle=True, seed=2),
            ),
            CFG,
        )
        assert first.equals(again)

    def test_describes_itself(self, check: Check) -> None:
        assert check.id and check.description and check.group


def test_registry_ids_are_unique_and_findable() -> None:
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    assert all(check_by_id(i).id == i for i in ids)


def p_of(result: pl.DataFrame, account: str) -> float:
    return float(result.filter(pl.col("account") == account)["p_value"][0])


def test_excess_tokens_singles_out_tokens_far_above_peers_with_the_same_output() -> None:
    accounts, days = synthetic_cohort(n_accounts=60)
    accounts, days = with_account(accounts, days, "zz-inflated@acme.example", token_factor=200.0)
    result = check_by_id("excess-tokens").run(check_data(accounts, days), CFG)
    inflated = result.filter(pl.col("account") == "zz-inflated@acme.example").row(0, named=True)
    assert inflated["p_value"] < 0.01
    assert inflated["effect"] > 20
    assert inflated["p_value"] == result["p_value"].min()
    assert "×" in inflated["summary"] and "tokens per active day" in inflated["clear"]


def test_excess_tokens_does_not_penalise_heavy_use_that_ships_proportionately() -> None:
    accounts, days = synthetic_cohort(n_accounts=60)
    accounts, days = with_account(
        accounts, days, "zz-shipper@acme.example", token_factor=1.0, changes=40
    )
    result = check_by_id("excess-tokens").run(check_data(accounts, days), CFG)
    assert p_of(result, "zz-shipper@acme.example") > 0.5


def test_barren_days_flags_usage_never_followed_by_merged_work() -> None:
    accounts, days = synthetic_cohort(n_accounts=60)
    accounts, days = with_account(
        accounts, days, "zz-barren@acme.example", day_overrides={"followed": False}
    )
    result = check_by_id("barren-days").run(check_data(accounts, days), CFG)
    assert p_of(result, "zz-barren@acme.example") < 0.01
    assert p_of(result, "zz-barren@acme.example") == result["p_value"].min()


def test_barren_days_ignores_censored_days() -> None:
    accounts, days = synthetic_cohort(n_accounts=60)
    accounts, days = with_account(
        accounts, days, "zz-late@acme.example", day_overrides={"followed": False, "censored": True}
    )
    result = check_by_id("barren-days").run(check_data(accounts, days), CFG)
    late = result.filter(pl.col("account") == "zz-late@acme.example").row(0, named=True)
    assert not late["applicable"]


@pytest.mark.parametrize(
    ("share", "counted"),
    [
        # A loop re-sending one request all day: the repeats are most of every day's tokens.
        (0.9, True),
        # A keep-alive or health check every minute under a person's key repeats itself
        # exactly, but its tokens are a few per cent of a working day.
        (0.05, False),
    ],
)
def test_automation_counts_identical_requests_that_weigh_a_day_of_work(
    share: float, counted: bool
) -> None:
    accounts, days = synthetic_cohort(n_accounts=60)
    repeats = {"same_size_pairs": 1000, "same_size_tokens": pl.col("tokens") * share}
    accounts, days = with_account(accounts, days, "zz-replay@acme.example", day_overrides=repeats)
    result = check_by_id("automation").run(check_data(accounts, days), CFG)
    row = result.filter(pl.col("account") == "zz-replay@acme.example").row(0, named=True)
    if counted:
        assert row["p_value"] < 1e-3 and "identical" in row["summary"]
    else:
        assert row["p_value"] == 1.0
    humans = result.filter(pl.col("account") != "zz-replay@acme.example")
    assert humans["p_value"].min() == 1.0  # no human day passes the effect-size gates


def _looping(days: pl.DataFrame, on: pl.Expr, *, rows: pl.Expr, repeats: pl.Expr) -> pl.DataFrame:
    """`days` with a loop added on the days `on`: `repeats` of its requests repeat the one before,
    the day holds `rows` requests, and the loop's tokens, twice the person's own, come on top of
    them (×3 their usage)."""
    return days.with_columns(
        pl.when(on).then(repeats).otherwise("same_size_pairs").alias("same_size_pairs"),
        pl.when(on).then(rows).otherwise("rows").alias("rows"),
        pl.when(on).then(3 * pl.col("tokens")).otherwise("tokens").alias("tokens"),
        pl.when(on)
        .then(2 * pl.col("tokens"))
        .otherwise("same_size_tokens")
        .alias("same_size_tokens"),
    )


def test_a_loop_beside_the_persons_own_work_counts_by_the_tokens_it_carries() -> None:
    # A few large identical requests an hour among the person's hundreds: a tenth of the day's
    # requests, two thirds of its tokens.
    accounts, days = synthetic_cohort(n_accounts=60)
    name = "zz-beside@acme.example"
    accounts, days = with_account(accounts, days, name)
    mine = pl.col("account") == name
    days = _looping(days, mine, rows=pl.col("rows") * 10, repeats=pl.col("rows"))
    result = check_by_id("automation").run(check_data(accounts, days), CFG)
    assert result.filter(pl.col("account") == name)["p_value"].item() < 1e-6


def test_loops_that_are_many_in_one_cohort_do_not_hide_each_other() -> None:
    # Eight loop padders in a cohort of 48, their loops on 40-60 % of their days (padding from a
    # leaderboard launch; a third of a team). Fitted to the cohort, a heavy-tailed null explained
    # them (p 0.008-0.07 in such an organisation); honest people show the fingerprint on no day,
    # so each is judged against the honest rate known without the cohort.
    accounts, days = synthetic_cohort(n_accounts=40)
    names = [f"zz-loop-{i}@acme.example" for i in range(8)]
    for name in names:
        accounts, days = with_account(accounts, days, name)
    looping = pl.col("account").is_in(names) & (pl.col("day").dt.ordinal_day() % 2 == 0)
    days = _looping(days, looping, rows=pl.col("rows") + 1000, repeats=pl.lit(1000))
    result = check_by_id("automation").run(check_data(accounts, days), CFG)
    loops = result.filter(pl.col("account").is_in(names))
    assert loops.height == 8 and loops["p_value"].max() < 1e-6
    assert result.filter(~pl.col("account").is_in(names))["p_value"].min() == 1.0


def test_a_ping_alone_on_the_days_nobody_works_is_not_counted() -> None:
    # On a weekend or a day of leave the ping is all the usage there is: it is judged against
    # the person's working days, not against that day's own few tokens.
    accounts, days = synthetic_cohort(n_accounts=60)
    name = "zz-ping@acme.example"
    accounts, days = with_account(accounts, days, name)
    pinged = pl.col("account") == name
    idle = pinged & (pl.col("day").dt.weekday() >= 4)
    minutes = 1440
    days = days.with_columns(
        pl.when(idle).then(60_000).otherwise(pl.col("tokens")).alias("tokens"),
        # On a working day the ping's minutes come on top of the person's own requests.
        pl.when(idle)
        .then(minutes)
        .when(pinged)
        .then(pl.col("rows") + minutes)
        .otherwise("rows")
        .alias("rows"),
        pl.when(pinged).then(minutes - 1).otherwise("same_size_pairs").alias("same_size_pairs"),
        pl.when(pinged).then(60_000).otherwise("same_size_tokens").alias("same_size_tokens"),
    )
    assert days.filter(idle).height >= 10  # the ping alone is all of those days
    result = check_by_id("automation").run(check_data(accounts, days), CFG)
    row = result.filter(pl.col("account") == name).row(0, named=True)
    assert row["p_value"] == 1.0


@pytest.mark.parametrize(
    ("fingerprint", "overrides"),
    [
        ("24/7", {"max_gap_h": 0.1}),
        ("machine-regular", {"gap_mean": 60.0, "gap_std": 0.5}),
        ("sessions running at once", {"max_parallel": 8}),
        ("cron period", {"burst_starts": 24, "phase_300": 0.97}),
    ],
)
def test_fingerprints_of_honest_automation_are_shown_as_context_and_never_counted(
    fingerprint: str, overrides: dict[str, object]
) -> None:
    # Overnight agents, agent fleets and CI jobs under a person's key produce these too.
    accounts, days = synthetic_cohort(n_accounts=60)
    accounts, days = with_account(accounts, days, "zz-agent@acme.example", day_overrides=overrides)
    result = check_by_id("automation").run(check_data(accounts, days), CFG)
    row = result.filter(pl.col("account") == "zz-agent@acme.example").row(0, named=True)
    assert row["p_value"] == 1.0
    assert "context, not evidence" in row["summary"] and fingerprint in row["summary"]


def test_an_abnormal_cache_read_share_is_shown_as_context_but_never_counted() -> None:
    # Honest heavy agent use reads nearly all its prompt from the cache too.
    accounts, days = synthetic_cohort(n_accounts=60)
    overrides = {"cache_read_tokens": 0, "input_tokens": 10_000_000}
    accounts, days = with_account(accounts, days, "zz-cache@acme.example", day_overrides=overrides)
    result = check_by_id("automation").run(check_data(accounts, days), CFG)
    row = result.filter(pl.col("account") == "zz-cache@acme.example").row(0, named=True)
    assert row["p_value"] == 1.0
    assert "context, not evidence" in row["summary"] and "cache-read share" in row["summary"]


def test_automation_is_not_applicable_without_request_timing() -> None:
    accounts, days = synthetic_cohort()
    aggregated = days.with_columns(pl.lit(True).alias("aggregated"))
    result = check_by_id("automation").run(check_data(accounts, aggregated), CFG)
    assert not result["applicable"].any()
    assert "pre-aggregated" in result["summary"][0] or "timing" in result["summary"][0]


def test_trivial_merges_flags_a_high_rate_of_changes_that_add_nothing() -> None:
    accounts, days = synthetic_cohort(n_accounts=60)
    accounts, days = with_account(accounts, days, "zz-camouflage@acme.example", non_output=15)
    result = check_by_id("trivial-merges").run(check_data(accounts, days), CFG)
    assert p_of(result, "zz-camouflage@acme.example") < 1e-3
    assert result.filter(pl.col("account") != "zz-camouflage@acme.example")["p_value"].min() == 1.0


def test_deadline_spikes_finds_weeks_topped_up_to_just_over_a_quota() -> None:
    from dataclasses import replace

    accounts, days = synthetic_cohort(n_accounts=30, n_days=56)
    quota = float(days.group_by("account").agg(pl.col("tokens").sum())["tokens"].median()) / 8 * 1.5
    # One account whose every week lands just above the quota.
    name = "zz-quota@acme.example"
    weeks = pl.DataFrame({"day": [D0 + timedelta(days=7 * w + 4) for w in range(8)]})
    hitter = weeks.with_columns(
        pl.lit(name).alias("account"), pl.lit(int(quota * 1.02)).alias("tokens")
    )
    template = days.head(1).drop("account", "day", "tokens")
    hitter = pl.concat([hitter, template.select(pl.all().repeat_by(8).explode())], how="horizontal")
    days = pl.concat([days, hitter.select(days.columns).cast(dict(days.schema))]).sort(
        "account", "day"
    )
    accounts = pl.concat(
        [
            accounts,
            accounts.head(1)
            .with_columns(pl.lit(name).alias("account"))
            .cast(dict(accounts.schema)),
        ]
    ).sort("account")
    cfg = replace(CFG, quota=quota)
    result = check_by_id("deadline-spikes").run(check_data(accounts, days), cfg)
    assert p_of(result, name) < 1e-4
    others = result.filter((pl.col("account") != name) & pl.col("applicable"))
    assert (others["p_value"] > 0.01).all()
    assert (
        "8 of 8 weekly totals within 5 % above the quota"
        in result.filter(pl.col("account") == name)["summary"][0]
    )


def test_deadline_spikes_is_not_applicable_without_a_deadline() -> None:
    accounts, days = synthetic_cohort()
    result = check_by_id("deadline-spikes").run(check_data(accounts, days), CFG)
    assert not result["applicable"].any()
    assert "--quota" in result["summary"][0]


def test_barren_days_does_not_judge_an_account_with_no_merged_change() -> None:
    # Every day of an account that never merges is barren whatever it does with its tokens: a
    # reviewer's role, not evidence about usage (excess-tokens still judges its tokens).
    accounts, days = synthetic_cohort(n_accounts=60)
    accounts, days = with_account(
        accounts, days, "zz-reviewer@acme.example", changes=0, day_overrides={"followed": False}
    )
    result = check_by_id("barren-days").run(check_data(accounts, days), CFG)
    reviewer = result.filter(pl.col("account") == "zz-reviewer@acme.example").row(0, named=True)
    assert not reviewer["applicable"]
    assert "no merged change in the period" in reviewer["summary"]
    assert result.filter(pl.col("account") != "zz-reviewer@acme.example")["applicable"].any()


def test_barren_days_does_not_judge_an_account_whose_few_merges_could_not_follow_its_days() -> None:
    # One merged change can follow at most a window's worth of days, however it is timed: a
    # manager's or a docs writer's heavy days are barren for what they merge, not for how they
    # use their tokens (excess-tokens judges the first). With merged work enough to follow its
    # days, the same barren days are evidence.
    accounts, days = synthetic_cohort(n_accounts=60)
    accounts, days = with_account(
        accounts, days, "zz-manager@acme.example", changes=1, day_overrides={"followed": False}
    )
    accounts, days = with_account(
        accounts, days, "zz-barren@acme.example", changes=40, day_overrides={"followed": False}
    )
    result = check_by_id("barren-days").run(check_data(accounts, days), CFG)
    manager = result.filter(pl.col("account") == "zz-manager@acme.example").row(0, named=True)
    assert not manager["applicable"]
    assert "too few merged changes" in manager["summary"]
    assert p_of(result, "zz-barren@acme.example") < 0.01


def _rise_cohort(output_elasticity: float) -> CheckData:
    """28 steady people, a padder whose usage rises ×8 at week 5 with output flat, and a
    grower whose usage rises as much with merged output ×8^`output_elasticity`."""
    rng = np.random.default_rng(8)
    day_rows, out_rows, acc_rows = [], [], []
    for i in range(30):
        name = (
            f"user{i:02d}@acme.example"
            if i < 28
            else ("zz-padder@acme.example" if i == 28 else "zz-grower@acme.example")
        )
        base = 5e6 * np.exp(rng.normal(0, 0.8))
        for w in range(10):
            jump = 8.0 if i >= 28 and w >= 5 else 1.0
            for d in range(5):
                day_rows.append(
                    {
                        "account": name,
                        "day": D0 + timedelta(days=7 * w + d),
                        "tokens": int(base * jump * np.exp(rng.normal(0, 0.3))),
                    }
                )
            merges = int(rng.poisson(2 * (jump**output_elasticity if i == 29 else 1.0)))
            out_rows.append(
                {"account": name, "day": D0 + timedelta(days=7 * w + 2), "changes": merges}
            )
        acc_rows.append(
            {
                "account": name,
                "active_days": 50,
                "changes": 20,
                "merged_changes": 20,
                "non_output_changes": 0,
            }
        )
    days = pl.DataFrame(day_rows)
    accounts = pl.DataFrame(acc_rows).join(
        days.group_by("account").agg(pl.col("tokens").sum()), on="account"
    )
    return CheckData(accounts=accounts, days=days, window_days=5, outputs=pl.DataFrame(out_rows))


def test_usage_jump_credits_output_that_rose_in_step_with_usage_in_full() -> None:
    # An honest adopter of agents that ship: usage ×8 and merged output ×8 leave tokens per
    # output where they were. At the change the rise is credited in full, whatever elasticity
    # the cohort fits; what is left is the search finding a later split whose before side mixes
    # the two regimes (a mean of logs against a log of a mean), as small as steady people's.
    result = check_by_id("usage-jump").run(_rise_cohort(output_elasticity=1.0), CFG)
    grower = result.filter(pl.col("account") == "zz-grower@acme.example").row(0, named=True)
    padder = result.filter(pl.col("account") == "zz-padder@acme.example").row(0, named=True)
    assert padder["p_value"] < 0.05
    assert grower["p_value"] > 0.01
    assert grower["statistic"] < 0.3 * padder["statistic"]
    at_change = replace(CFG, change_date=D0 + timedelta(days=35))
    dated = check_by_id("usage-jump").run(_rise_cohort(output_elasticity=1.0), at_change)
    assert dated.filter(pl.col("account") == "zz-grower@acme.example")["p_value"][0] > 0.05


def test_a_change_date_is_combined_with_the_search_by_simes() -> None:
    from tokenaudit.checks.usage_jump import simes

    data = _rise_cohort(output_elasticity=0.6)
    usage_jump = check_by_id("usage-jump")

    def padder_p(cfg: AuditConfig) -> float:
        result = usage_jump.run(data, cfg)
        return float(result.filter(pl.col("account") == "zz-padder@acme.example")["p_value"][0])

    alone = padder_p(CFG)
    # Right (the rise's week) or wrong, a date costs the search at most a factor of two; a date
    # with too few days on a side adds no test, and costs nothing.
    for day in (28, 35, 42):
        assert padder_p(replace(CFG, change_date=D0 + timedelta(days=day))) <= 2 * alone
    assert padder_p(replace(CFG, change_date=D0 + timedelta(days=7))) == alone
    # Simes: one test is its own p; two never exceed the larger, nor twice the smaller, so a
    # date whose own p is the smaller gives at most the search's p.
    assert simes([0.03]) == 0.03
    assert simes([0.001, 0.0015]) == 0.0015
    assert simes([0.001, 0.5]) == 0.002
    assert simes([0.6, 0.9]) == 0.9


def test_usage_jump_flags_a_rise_in_usage_that_output_did_not_follow() -> None:
    data = _rise_cohort(output_elasticity=0.6)
    result = check_by_id("usage-jump").run(data, CFG)
    padder = result.filter(pl.col("account") == "zz-padder@acme.example").row(0, named=True)
    grower = result.filter(pl.col("account") == "zz-grower@acme.example").row(0, named=True)
    assert padder["p_value"] < 0.05 and padder["effect"] > 4
    assert grower["p_value"] > padder["p_value"]
    assert result.filter(~pl.col("account").str.starts_with("zz"))["p_value"].min() > 0.01


def _timed(
    tokens: float, rows: int, bursts: int, phase: float, repeats: tuple[int, float] = (0, 0)
) -> dict[str, object]:
    """A timed day; `repeats`: how many of its requests repeat the one before back to back, and
    their tokens."""
    return {
        "tokens": int(tokens),
        "rows": rows,
        "burst_starts": bursts,
        **{f"phase_{p}": phase for p in PHASE_PERIODS},
        "same_size_pairs": repeats[0],
        "same_size_tokens": int(repeats[1]),
    }


def _jump_cohort(
    n_steady: int, n_padders: int, padding: float, seed: int = 3
) -> tuple[list[dict[str, object]], list[dict[str, object]], list[str]]:
    """Steady people with human timing, and padders whose usage rises ×`padding` at week 5
    (together, as after a leaderboard launch) with output flat: day rows, output rows, names."""
    rng = np.random.default_rng(seed)
    day_rows: list[dict[str, object]] = []
    out_rows: list[dict[str, object]] = []
    names = []
    for i in range(n_steady + n_padders):
        name = f"user{i:02d}@acme.example" if i < n_steady else f"zz-padder{i}@acme.example"
        names.append(name)
        base = 5e6 * np.exp(rng.normal(0, 0.8))
        for w in range(10):
            jump = padding if i >= n_steady and w >= 5 else 1.0
            for d in range(5):
                day = D0 + timedelta(days=7 * w + d)
                tokens = base * jump * np.exp(rng.normal(0, 0.3))
                day_rows.append({"account": name, "day": day, **_timed(tokens, 40, 8, 0.2)})
            out_rows.append({"account": name, "day": D0 + timedelta(days=7 * w + 2), "changes": 2})
    return day_rows, out_rows, names


def _as_data(day_rows: list[dict[str, object]], out_rows: list[dict[str, object]]) -> CheckData:
    days = pl.DataFrame(day_rows)
    outputs = pl.DataFrame(out_rows)
    accounts = (
        days.group_by("account")
        .agg(pl.col("tokens").sum(), pl.len().alias("active_days"))
        .join(outputs.group_by("account").agg(pl.col("changes").sum()), on="account")
        .with_columns(
            pl.col("changes").alias("merged_changes"), pl.lit(0).alias("non_output_changes")
        )
        .sort("account")
    )
    return CheckData(accounts=accounts, days=days, window_days=5, outputs=outputs)


def test_usage_jump_leaves_out_a_scheduled_jobs_days_so_a_return_from_leave_is_no_rise() -> None:
    # A CI job under a person's key runs every day, through four weeks of their leave. Those
    # days are the job's alone (every request on its own, in step with the cron period); their
    # tokens are not the person's, and neither is the job's share of their working days.
    day_rows, out_rows, _ = _jump_cohort(n_steady=28, n_padders=0, padding=1.0)
    rng = np.random.default_rng(5)
    job = 2e5
    for d in range(70):
        day = D0 + timedelta(days=d)
        if d < 28:
            day_rows.append(
                {"account": "zz-returner@acme.example", "day": day, **_timed(job, 24, 24, 0.999)}
            )
        elif d % 7 < 5:
            person = 5e6 * np.exp(rng.normal(0, 0.3))
            day_rows.append(
                {
                    "account": "zz-returner@acme.example",
                    "day": day,
                    **_timed(person + job, 84, 40, 0.9),
                }
            )
            if d % 7 == 2:
                out_rows.append({"account": "zz-returner@acme.example", "day": day, "changes": 2})
    data = _as_data(day_rows, out_rows)
    result = check_by_id("usage-jump").run(data, CFG)
    returner = result.filter(pl.col("account") == "zz-returner@acme.example").row(0, named=True)
    assert not returner["applicable"] or returner["p_value"] > 0.05
    # Daily totals without request timing cannot tell the job's days from the person's: there
    # the return is a rise (README, "Daily aggregates").
    untimed = data.days.with_columns(
        pl.lit(None, dtype=pl.Int64).alias("burst_starts"),
        pl.lit(None, dtype=pl.Int64).alias("rows"),
    )
    blind = check_by_id("usage-jump").run(replace(data, days=untimed), CFG)
    assert blind.filter(pl.col("account") == "zz-returner@acme.example")["p_value"][0] < 0.01


def test_a_scheduled_job_that_starts_mid_period_is_no_rise_and_leaves_the_days_before_it() -> None:
    # A CI job every half hour under a light user's key from week 6, as heavy as a day of their
    # own work. Its day comes off the days it ran; the five weeks before it are the person's,
    # untouched (taken off them too, they were mostly emptied and the job's start was a jump).
    day_rows, out_rows, _ = _jump_cohort(n_steady=28, n_padders=0, padding=1.0)
    rng = np.random.default_rng(11)
    name = "zz-ci@acme.example"
    job = 2e6
    for d in range(70):
        day = D0 + timedelta(days=d)
        weekday = d % 7 < 5
        own = 2e6 * np.exp(rng.normal(0, 0.3))
        if d >= 35 and not weekday:
            day_rows.append({"account": name, "day": day, **_timed(job, 48, 48, 0.999)})
        elif d >= 35:
            day_rows.append({"account": name, "day": day, **_timed(own + job, 100, 60, 0.9)})
        elif weekday:
            day_rows.append({"account": name, "day": day, **_timed(own, 52, 12, 0.2)})
        if weekday and d % 7 == 2:
            out_rows.append({"account": name, "day": day, "changes": 2})
    data = _as_data(day_rows, out_rows)
    before = D0 + timedelta(days=35)
    own = worked_days(data.days).filter((pl.col("account") == name) & (pl.col("day") < before))
    original = data.days.filter((pl.col("account") == name) & (pl.col("day") < before))
    assert own["tokens"].to_list() == original.sort("day")["tokens"].to_list()
    result = check_by_id("usage-jump").run(data, CFG)
    person = result.filter(pl.col("account") == name).row(0, named=True)
    assert person["applicable"] and person["p_value"] > 0.05


def test_usage_jump_leaves_out_a_keep_alive_pings_days_so_a_return_from_leave_is_no_rise() -> None:
    # A health check pinging the model every minute under a person's key: one small request
    # repeated back to back (no bursts, no cron phase to find), alone through four weeks of
    # leave, a sliver of every working day.
    day_rows, out_rows, _ = _jump_cohort(n_steady=28, n_padders=0, padding=1.0)
    rng = np.random.default_rng(5)
    ping = 60_000
    name = "zz-returner@acme.example"
    for d in range(70):
        day = D0 + timedelta(days=d)
        if d < 28 or d % 7 >= 5:
            alone = _timed(ping, 1440, 0, 0.1, (1439, ping))
            day_rows.append({"account": name, "day": day, **alone})
        else:
            person = 5e6 * np.exp(rng.normal(0, 0.3))
            row = _timed(person + ping, 1480, 40, 0.1, (1439, ping))
            day_rows.append({"account": name, "day": day, **row})
            if d % 7 == 2:
                out_rows.append({"account": name, "day": day, "changes": 2})
    result = check_by_id("usage-jump").run(_as_data(day_rows, out_rows), CFG)
    returner = result.filter(pl.col("account") == name).row(0, named=True)
    assert not returner["applicable"] or returner["p_value"] > 0.05


def test_usage_jump_sees_a_light_loop_that_starts_mid_period_and_runs_alone_on_weekends() -> None:
    # A loop under the weight that counts as identical sizes (a little under a day of the
    # person's own work) runs from week 5, every day: alone at the weekend, beside the person's
    # work in the week. Its weekend days are left out like a ping's; its weekdays are usage,
    # and the rise is there to find.
    day_rows, out_rows, _ = _jump_cohort(n_steady=28, n_padders=0, padding=1.0)
    rng = np.random.default_rng(7)
    name = "zz-looper@acme.example"
    loop = 0.9 * 5e6
    for d in range(70):
        day = D0 + timedelta(days=d)
        looping = d >= 35
        if d % 7 < 5:
            own = 5e6 * np.exp(rng.normal(0, 0.3))
            repeats = (2000, loop) if looping else (0, 0)
            row = _timed(own + repeats[1], 40 + repeats[0], 30, 0.1, repeats)
            day_rows.append({"account": name, "day": day, **row})
            if d % 7 == 2:
                out_rows.append({"account": name, "day": day, "changes": 2})
        elif looping:
            day_rows.append(
                {"account": name, "day": day, **_timed(loop, 2000, 0, 0.1, (1999, loop))}
            )
    result = check_by_id("usage-jump").run(_as_data(day_rows, out_rows), CFG)
    looper = result.filter(pl.col("account") == name).row(0, named=True)
    assert looper["applicable"] and looper["p_value"] < 0.05


def test_usage_jump_finds_padders_who_start_together_when_they_are_an_eighth_of_the_cohort() -> (
    None
):
    # Padders who start on the same day are a block in the cohort's upper tail; its null must
    # not be fitted to them until it explains them (with 15 % of the upper side censored, as for
    # the other checks, these six get p = 0.003 each).
    day_rows, out_rows, _ = _jump_cohort(n_steady=54, n_padders=6, padding=5.0)
    result = check_by_id("usage-jump").run(_as_data(day_rows, out_rows), CFG)
    padders = result.filter(pl.col("account").str.starts_with("zz-padder"))
    assert padders.height == 6
    assert padders["p_value"].max() < 1e-3
    assert result.filter(~pl.col("account").str.starts_with("zz"))["p_value"].min() > 0.01


def _adopters_cohort(n_steady: int, n_adopters: int, seed: int = 13) -> CheckData:
    """People whose usage moves from week to week (log-sd 0.2: a heavy week, a quiet one), and
    honest adopters of agents spread over the period: from a week of their own their usage
    rises ×3–10 and their merged output ×1.3–3 (less than the usage, as agents that ship give)."""
    rng = np.random.default_rng(seed)
    day_rows: list[dict[str, object]] = []
    out_rows: list[dict[str, object]] = []
    for i in range(n_steady + n_adopters):
        adopter = i >= n_steady
        name = f"zz-adopter{i}@acme.example" if adopter else f"user{i:03d}@acme.example"
        base = 5e6 * np.exp(rng.normal(0, 0.8))
        start = int(rng.integers(2, 8)) if adopter else 99
        usage, output = (rng.uniform(3, 10), rng.uniform(1.3, 3)) if adopter else (1.0, 1.0)
        for w in range(10):
            after = w >= start
            week = base * (usage if after else 1.0) * np.exp(rng.normal(0, 0.2))
            for d in range(5):
                tokens = week * np.exp(rng.normal(0, 0.3))
                day_rows.append(
                    {
                        "account": name,
                        "day": D0 + timedelta(days=7 * w + d),
                        **_timed(tokens, 40, 8, 0.2),
                    }
                )
            merges = int(rng.poisson(2 * (output if after else 1.0)))
            out_rows.append(
                {"account": name, "day": D0 + timedelta(days=7 * w + 2), "changes": merges}
            )
    return _as_data(day_rows, out_rows)


def test_honest_adopters_beyond_the_censored_share_do_not_make_the_searchs_tail_normal() -> None:
    # Adopters spread over the period are a tenth of the cohort and all of them lie in the part
    # of the upper side that the fit censors (it must: padders who start together would explain
    # themselves). Read off the people who did not change, the tail came out normal (ν = 60)
    # and 8 of these 20 honest adopters got p < 1e-4 (the least 1e-7); the search's tail is
    # never lighter than a t with SEARCH_NU_MAX degrees of freedom.
    from tokenaudit.checks.usage_jump import SEARCH_NU_MAX

    data = _adopters_cohort(n_steady=180, n_adopters=20)
    jump = check_by_id("usage-jump")
    model = jump.fit(data, CFG)
    assert model is not None and model["search_nu"] <= SEARCH_NU_MAX
    result = jump.run(data, CFG)
    adopters = result.filter(pl.col("account").str.starts_with("zz-adopter"))
    assert adopters.height == 20
    assert (adopters["p_value"] < 1e-4).sum() == 0
    # A given date tests one split and keeps the tail its own fit gives (here normal).
    dated = jump.fit(data, replace(CFG, change_date=D0 + timedelta(days=35)))
    assert dated is not None and dated["date_nu"] > SEARCH_NU_MAX
    # A reference saved before the bound (its search tail normal) is read the same way.
    old_reference = {**model, "search_nu": 60.0}
    assert jump.run(replace(data, reference=old_reference), CFG).equals(
        jump.run(replace(data, reference=model), CFG)
    )
    # Padders who start together at ×5 with output flat are still found at once.
    day_rows, out_rows, _ = _jump_cohort(n_steady=54, n_padders=6, padding=5.0)
    padders = jump.run(_as_data(day_rows, out_rows), CFG).filter(
        pl.col("account").str.starts_with("zz-padder")
    )
    assert padders["p_value"].max() < 1e-3


def test_only_checks_that_compare_like_with_like_are_run_per_role() -> None:
    # usage-jump compares each person with their own past, so its null is the whole
    # organisation's (padders who start together may be a quarter of one role); the checks
    # that compare people with each other keep their role cohorts.
    from tokenaudit.audit import run_by_cohort

    day_rows, out_rows, names = _jump_cohort(n_steady=44, n_padders=6, padding=5.0)
    data = _as_data(day_rows, out_rows)
    cohorts = pl.DataFrame(
        {"account": names, "cohort": ["role a" if i % 2 else "role b" for i in range(len(names))]}
    )
    jump = check_by_id("usage-jump")
    by_cohort = run_by_cohort(jump, data.accounts, data.days, cohorts, 5, CFG, data.outputs)
    assert not jump.by_role
    assert by_cohort.equals(jump.run(data, CFG))
    assert all(
        check.by_role
        for check in CHECKS
        if check.id not in ("usage-jump", "heavy-weeks", "weekday-spikes")
    )


def _on_off_cohort(shipped: float) -> CheckData:
    """Steady people, a padder at ×6 in weeks 1, 4 and 7 with output flat, and a person whose
    heavy weeks (the same weeks, ×6) ship ×`shipped` the merged work."""
    day_rows, out_rows, _ = _jump_cohort(n_steady=30, n_padders=0, padding=1.0)
    rng = np.random.default_rng(11)
    for name, output in (("zz-padder@acme.example", 1.0), ("zz-shipper@acme.example", shipped)):
        for w in range(10):
            heavy = w in (1, 4, 7)
            for d in range(5):
                tokens = 5e6 * (6.0 if heavy else 1.0) * np.exp(rng.normal(0, 0.3))
                day = D0 + timedelta(days=7 * w + d)
                day_rows.append({"account": name, "day": day, **_timed(tokens, 40, 8, 0.2)})
            changes = round(2 * (output if heavy else 1.0))
            out_rows.append(
                {"account": name, "day": D0 + timedelta(days=7 * w + 2), "changes": changes}
            )
    return _as_data(day_rows, out_rows)


def test_heavy_weeks_finds_usage_that_comes_and_goes_without_the_output() -> None:
    result = check_by_id("heavy-weeks").run(_on_off_cohort(shipped=6.0), CFG)
    padder = result.filter(pl.col("account") == "zz-padder@acme.example").row(0, named=True)
    shipper = result.filter(pl.col("account") == "zz-shipper@acme.example").row(0, named=True)
    assert padder["p_value"] < 0.005 and padder["effect"] > 4
    assert "3 of 10 weeks" in padder["brief"]
    # Heavy weeks whose merged output rose with them are explained by it.
    assert shipper["p_value"] > 0.05
    assert result.filter(~pl.col("account").str.starts_with("zz"))["p_value"].min() > 0.01


def _snapshot_cohort() -> CheckData:
    """Steady people (Monday to Friday), a padder whose Thursdays carry ×8 their usage (the day
    before a Friday snapshot), a person who uses ×8 every day, evenly, and one who also checks
    in lightly every Saturday."""
    day_rows, out_rows, _ = _jump_cohort(n_steady=30, n_padders=0, padding=1.0)
    rng = np.random.default_rng(17)
    for name, thursday, every_day, saturday in (
        ("zz-gamer@acme.example", 8.0, 1.0, False),
        ("zz-heavy@acme.example", 1.0, 8.0, False),
        ("zz-weekender@acme.example", 1.0, 1.0, True),
    ):
        for w in range(10):
            for d in range(6 if saturday else 5):
                day = D0 + timedelta(days=7 * w + d)
                spike = thursday if day.weekday() == 3 else 1.0
                spike = 0.1 if day.weekday() == 5 else spike
                tokens = 5e6 * spike * every_day * np.exp(rng.normal(0, 0.3))
                day_rows.append({"account": name, "day": day, **_timed(tokens, 40, 8, 0.2)})
            out_rows.append({"account": name, "day": D0 + timedelta(days=7 * w + 2), "changes": 2})
    return _as_data(day_rows, out_rows)


def test_weekday_spikes_finds_one_weekday_carrying_the_usage_and_clears_even_heavy_use() -> None:
    from tokenaudit.checks.base import Group

    check = check_by_id("weekday-spikes")
    assert check.group is Group.CONTEXT and not check.by_role
    result = check.run(_snapshot_cohort(), CFG)
    gamer = result.filter(pl.col("account") == "zz-gamer@acme.example").row(0, named=True)
    heavy = result.filter(pl.col("account") == "zz-heavy@acme.example").row(0, named=True)
    assert D0.weekday() == 0  # the week starts on a Monday, so day 3 of it is a Thursday
    # 33 people: the null's own uncertainty (`EmpiricalNull.predictive`) keeps p above 0.001.
    assert gamer["p_value"] < 0.005 and gamer["effect"] > 5
    assert "on Thursdays" in gamer["brief"] and "context, not counted" in gamer["brief"]
    # Heavy every day is a matter for the checks that compare people; here it is no spike. Nor
    # does a light Saturday make the working days look heavy.
    assert heavy["p_value"] > 0.05
    weekender = result.filter(pl.col("account") == "zz-weekender@acme.example").row(0, named=True)
    assert weekender["p_value"] > 0.05
    assert result.filter(~pl.col("account").str.starts_with("zz"))["p_value"].min() > 0.01


def _tested_totals(n: int) -> tuple[list[str], pl.DataFrame]:
    """`n` accounts that pass every evidence gate, as `decide` takes them."""
    names = [f"user{i:02d}@acme.example" for i in range(n)]
    totals = pl.DataFrame(
        {
            "account": names,
            "gate": [None] * n,
            "excluded": [False] * n,
            "exclude_reason": [None] * n,
        },
        schema={
            "account": pl.String,
            "gate": pl.String,
            "excluded": pl.Boolean,
            "exclude_reason": pl.String,
        },
    )
    return names, totals


def test_context_evidence_ranks_an_account_but_never_flags_it() -> None:
    from tokenaudit.checks.base import Group
    from tokenaudit.decide import decide

    assert check_by_id("heavy-weeks").group is Group.CONTEXT
    names, totals = _tested_totals(20)
    rows = []
    for i, name in enumerate(names):
        rows.append((name, "excess-tokens", True, 0.0, 0.5, 1.0, "", "", "peers"))
        context_p = 1e-20 if i == 7 else 0.5
        rows.append((name, "heavy-weeks", True, 0.0, context_p, 1.0, "", "", "weeks"))
    results = pl.DataFrame(rows, schema=RESULT_SCHEMA, orient="row")
    groups = {"excess-tokens": Group.OUTCOME, "heavy-weeks": Group.CONTEXT}
    decided = decide(totals, results, groups, CFG, primary="excess-tokens")
    assert set(decided["status"].to_list()) == {"ok"}
    assert decided.row(0, named=True)["account"] == "user07@acme.example"
    assert decided.row(0, named=True)["p_outcome"] == 0.5


def test_the_ranking_reads_the_primary_tests_distance_from_peers_not_its_tail() -> None:
    # A cohort whose fitted tail is heavy gives an account far from its peers a modest p-value;
    # the ranking puts it by its robust z, on the same scale as every other cohort's.
    from tokenaudit.checks.base import Group
    from tokenaudit.decide import decide

    names, totals = _tested_totals(20)
    rows = []
    for i, name in enumerate(names):
        z, p_excess = (4.0, 0.03) if i == 3 else (0.0, 0.5)
        rows.append((name, "excess-tokens", True, z, p_excess, 1.0, "", "", "peers"))
        rows.append((name, "usage-jump", True, 0.0, 0.005 if i == 9 else 0.5, 1.0, "", "", "rise"))
    results = pl.DataFrame(rows, schema=RESULT_SCHEMA, orient="row")
    groups = {"excess-tokens": Group.OUTCOME, "usage-jump": Group.OUTCOME}
    decided = decide(totals, results, groups, CFG, primary="excess-tokens")
    assert set(decided["status"].to_list()) == {"ok"}
    assert decided["account"].to_list()[:2] == ["user03@acme.example", "user09@acme.example"]


def _writing_cohort() -> CheckData:
    """Thirty people whose output is about 3 % of their fresh (uncached) tokens, merging two
    changes a week; a padder at ×8 whose extra tokens wrote nothing; an honest heavy user at ×8
    who writes as much more as they use, and one who writes twice that; a person on a cached
    toolchain (95 % cache reads); and
    a person whose export gives totals only (no output tokens)."""
    rng = np.random.default_rng(23)
    day_rows: list[dict[str, object]] = []
    out_rows: list[dict[str, object]] = []
    people = [(f"user{i:02d}@acme.example", 1.0, 1.0, 0.5) for i in range(30)]
    people += [
        ("zz-padder@acme.example", 8.0, 1.0, 0.5),
        ("zz-writer@acme.example", 8.0, 8.0, 0.5),
        ("zz-prolific@acme.example", 8.0, 16.0, 0.5),
        ("zz-cached@acme.example", 1.0, 1.0, 0.05),
        ("zz-totals@acme.example", 1.0, 0.0, 0.5),
    ]
    for name, usage, writing, fresh_share in people:
        base = 5e6 * np.exp(rng.normal(0, 0.5))
        share = 0.03 * np.exp(rng.normal(0, 0.3))
        for d in range(40):
            day = D0 + timedelta(days=d)
            typical = base * np.exp(rng.normal(0, 0.3))
            tokens = typical * usage
            day_rows.append(
                {
                    "account": name,
                    "day": day,
                    **_timed(tokens, 40, 8, 0.2),
                    "output_tokens": int(typical * fresh_share * share * writing),
                    "cache_read_tokens": int(tokens * (1 - fresh_share)),
                }
            )
            if d % 7 == 2:
                out_rows.append({"account": name, "day": day, "changes": 2})
    return _as_data(day_rows, out_rows)


def test_output_share_ranks_tokens_that_neither_shipped_nor_wrote_and_clears_heavy_writers() -> (
    None
):
    from tokenaudit.checks.base import Group

    check = check_by_id("output-share")
    assert check.group is Group.CONTEXT
    result = check.run(_writing_cohort(), CFG)

    def row(name: str) -> dict[str, object]:
        return result.filter(pl.col("account") == f"zz-{name}@acme.example").row(0, named=True)

    padder, writer, cached, totals = row("padder"), row("writer"), row("cached"), row("totals")
    excess = check_by_id("excess-tokens").run(_writing_cohort(), CFG)
    writer_excess = excess.filter(pl.col("account") == "zz-writer@acme.example")["p_value"][0]
    # Against peers with the same merged output the two look alike; what they wrote does not.
    assert padder["p_value"] < 0.01 and padder["p_value"] < writer["p_value"] / 5
    assert padder["effect"] < 0.2 and "context, not counted" in padder["brief"]
    # A heavy user who writes as much more as they use gains nothing here over its excess, and
    # one who writes more than peers do gets no evidence here at all: its excess is the peer
    # test's to judge.
    assert writer["p_value"] >= writer_excess
    assert (
        row("prolific")["p_value"] == 1.0 and "as much as peers write" in row("prolific")["summary"]
    )
    # Cache reads are no one's writing and no one's padding.
    assert cached["p_value"] > 0.05
    # An export without the input/output split says nothing about writing.
    assert not totals["applicable"] and "output tokens" in totals["summary"]
    assert result.filter(pl.col("account").str.starts_with("user"))["p_value"].min() > 0.01


def test_trivial_merges_are_judged_against_what_the_accounts_own_change_sizes_explain() -> None:
    from tokenaudit.checks.trivial_merges import tiny_share

    # Someone whose every change is small has many of 1-3 lines, a habit and not a cover: their
    # other changes average 8 lines. Camouflage is tiny changes beside work of the usual size.
    accounts, days = synthetic_cohort(n_accounts=60)
    small, cover = "zz-small-changes@acme.example", "zz-camouflage@acme.example"
    accounts, days = with_account(accounts, days, small, changes=3, non_output=14)
    accounts, days = with_account(accounts, days, cover, changes=20, non_output=14)
    accounts = accounts.with_columns(
        pl.when(pl.col("account") == small)
        .then(24)
        .when(pl.col("account") == cover)
        .then(1_600)
        .otherwise(pl.col("merged_lines"))
        .alias("merged_lines")
    )
    result = check_by_id("trivial-merges").run(check_data(accounts, days), CFG)
    assert p_of(result, small) > 0.5
    assert p_of(result, cover) < 1e-3
    row = result.filter(pl.col("account") == small).row(0, named=True)
    assert "for its size of change, 8 lines" in row["summary"]
    shares = tiny_share(np.array([8.0, 20.0, 80.0, 400.0]), 3)
    assert shares[0] > 0.9 and shares[2] < 0.15
    assert (np.diff(shares) < 0).all()


def _launch_cohort() -> tuple[CheckData, str, str]:
    """A cohort whose honest trivial shares spread from none to 60 % (so a share of 40 % is
    nothing unusual by itself), each person's trivial merges spread over the period like their
    other merges; and two people with 20 changes of 80 lines and 14 trivial ones: one spread
    like everyone's, one all from day 16 on, as camouflage put up for a leaderboard launched then."""
    accounts, days = synthetic_cohort(n_accounts=60)
    rng = np.random.default_rng(7)
    accounts = accounts.with_columns(
        (pl.col("changes") * pl.Series(rng.uniform(0.0, 0.8, accounts.height)))
        .round()
        .cast(pl.Int64)
        .alias("non_output_changes")
    )
    spread, launched = "zz-spread@acme.example", "zz-after-launch@acme.example"
    for name in (spread, launched):
        accounts, days = with_account(accounts, days, name, changes=20, non_output=14)
    accounts = accounts.with_columns(
        pl.when(pl.col("account").str.starts_with("zz-"))
        .then(1_600)
        .otherwise(pl.col("merged_lines"))
        .alias("merged_lines")
    )

    def merges(name: str, counted: int, trivial: int, trivial_from: int) -> list[dict[str, object]]:
        rows = [(round(29 * i / max(counted - 1, 1)), 1, 0) for i in range(counted)]
        span = 29 - trivial_from
        rows += [
            (trivial_from + round(span * i / max(trivial - 1, 1)), 0, 1) for i in range(trivial)
        ]
        return [
            {"account": name, "day": D0 + timedelta(days=d), "changes": c, "non_output_changes": t}
            for d, c, t in rows
        ]

    out = [
        row
        for r in accounts.iter_rows(named=True)
        if not r["account"].startswith("zz-")
        for row in merges(r["account"], r["changes"], r["non_output_changes"], 0)
    ]
    out += merges(spread, 20, 14, 0) + merges(launched, 20, 14, 16)
    outputs = (
        pl.DataFrame(out)
        .group_by("account", "day")
        .agg(pl.col("changes").sum(), pl.col("non_output_changes").sum())
    )
    return replace(check_data(accounts, days), outputs=outputs), spread, launched


def test_trivial_merges_that_start_at_a_date_count_where_their_share_alone_is_not_unusual() -> None:
    data, spread, launched = _launch_cohort()
    result = check_by_id("trivial-merges").run(data, CFG)
    # The same counts: a share the cohort's own spread explains, unless it began at a date.
    assert p_of(result, spread) > 0.05
    assert p_of(result, launched) < 0.01
    assert (
        "came after its other merges"
        in result.filter(pl.col("account") == launched)["summary"].item()
    )
    honest = result.filter(pl.col("account").str.starts_with("user"))
    assert honest["p_value"].min() > 0.05


def test_later_than_own_work_reads_when_the_trivial_merges_came() -> None:
    from tokenaudit.checks.trivial_merges import later_than_own_work

    data, spread, launched = _launch_cohort()
    p = later_than_own_work(data.outputs, [spread, launched, "nobody@acme.example"])
    assert p[0] > 0.2
    assert p[1] < 0.01
    # No merges at all, or only one kind: nothing to compare.
    assert p[2] == 1.0


def test_trivial_merges_that_came_late_still_need_the_effect_size_of_a_share() -> None:
    # 12 tiny changes, all late, beside 60 of 300 lines: 17 % of its merges, under the 20 % every
    # mechanism needs, so lateness alone names nobody.
    data, _, _ = _launch_cohort()
    name = "zz-few-late@acme.example"
    accounts, days = with_account(data.accounts, data.days, name, changes=60, non_output=12)
    accounts = accounts.with_columns(
        pl.when(pl.col("account") == name)
        .then(60 * 300)
        .otherwise(pl.col("merged_lines"))
        .alias("merged_lines")
    )
    assert data.outputs is not None
    late = [
        {"account": name, "day": D0 + timedelta(days=d), "changes": c, "non_output_changes": t}
        for d, c, t in [(i // 2, 1, 0) for i in range(60)]
        + [(22 + i // 2, 0, 1) for i in range(12)]
    ]
    outputs = pl.concat([data.outputs, pl.DataFrame(late).cast(dict(data.outputs.schema))])
    result = check_by_id("trivial-merges").run(
        replace(check_data(accounts, days), outputs=outputs), CFG
    )
    assert p_of(result, name) == 1.0
