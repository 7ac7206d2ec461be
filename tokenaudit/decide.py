"""From check results to statuses, q-values, scores, reasons and ranks (docs/statistics.md, "The decision").

- Within each group (outcome, mechanism) the checks' p-values are combined by Bonferroni on the
  minimum: the checks share data, so Fisher/Stouffer would overstate the evidence, and a Cauchy
  combination is vetoed by any p near 1.
- Tier 1 (`review`, "usage not followed by merged work"): Benjamini–Hochberg on p_outcome across
  the tested accounts, q ≤ fdr_q.
- Tier 2 (`suspicious`, "usage not explained by merged work, with an inflation mechanism"):
  a mechanism screen, then a confirmation at a fixed level. The screen is Benjamini–Hochberg on
  p_mechanism across all the tested accounts, q ≤ fdr_q; only fingerprints that honest
  automation does not produce are counted in p_mechanism (identical request sizes, trivial
  merges, bunching at a quota or snapshot: `checks/automation.py`). A screened account is
  `suspicious` when its outcome evidence confirms that the usage is not explained by merged work:
  p_outcome ≤ `confirm_p` (a fixed level, the same whether 2 or 50 accounts pass the screen).
  Why this holds where independent filtering did not: the honest accounts that pass a screen are
  not a random draw of the honest accounts (on independently generated organisations they were
  exactly the heaviest agent users), so a Benjamini–Hochberg step among the screened accounts
  corrected for a handful of tests whose p-values were small for a reason unrelated to padding.
  Here the outcome step adapts to nothing: every honest `suspicious` account is an honest
  account that passed the screen, so P(≥ 1 honest `suspicious`) ≤ P(≥ 1 honest account passes
  the screen), which Benjamini–Hochberg over all the tested accounts keeps at q or below when
  the counted mechanisms' null holds for honest people — and it does for every kind of honest
  automation measured, which is what "counted" means. Honest *habits* are another matter: some
  people ship in micro-changes, so an account the screen passes on trivial merges alone
  (`Check.habitual`) is confirmed by outcome evidence only, and more strictly (`tier_qvalues`).
  The confirmation keeps a busy-looking account that ships (its tokens are what its output
  explains) out of tier 2.
- `--strict` uses Benjamini–Yekutieli in every step.
- Accounts failing an evidence gate are `insufficient_data` and get no p-value; bots are
  `excluded`. Neither is ever flagged.
"""

from __future__ import annotations

import math
from itertools import groupby
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from tokenaudit.checks.base import Group
from tokenaudit.checks.stats import FloatArray, bonferroni_min, fdr_adjust
from tokenaudit.config import AuditConfig
from tokenaudit.schema import Status
from tokenaudit.wording import REASON_P, p_is

#: -log10 p is capped here so that one astronomically small p cannot dominate the score.
EVIDENCE_CAP: Final = 10.0
#: Score bands: flagged tiers always rank above unflagged accounts.
_BANDS: Final = {Status.SUSPICIOUS: 70.0, Status.REVIEW: 40.0, Status.OK: 0.0}
_BAND_WIDTH: Final = {Status.SUSPICIOUS: 30.0, Status.REVIEW: 30.0, Status.OK: 40.0}


def _evidence(p: float | None) -> float:
    if p is None or math.isnan(p):
        return 0.0
    return min(-math.log10(max(p, 1e-300)), EVIDENCE_CAP)


def combine_groups(results: pl.DataFrame, groups: dict[str, Group], primary: str) -> pl.DataFrame:
    """Per account: p_outcome and p_mechanism (Bonferroni minimum within each group, over the
    applicable checks; null when none applied) and p_primary, the primary outcome test's p."""
    group = pl.col("check").replace_strict(
        {c: str(g) for c, g in groups.items()}, default=None, return_dtype=pl.String
    )

    def bonferroni(of: Group, *, without: frozenset[str] = frozenset()) -> pl.Expr:
        in_group = pl.col("group") == str(of)
        p = pl.col("p_value").filter(in_group)
        # bonferroni_min's arithmetic, min(1, k · min p), as a column: same bits. `without`
        # leaves checks out of the minimum, not out of k.
        smallest = pl.col("p_value").filter(in_group & ~pl.col("check").is_in(list(without)))
        return pl.when(smallest.len() > 0).then(
            pl.min_horizontal(pl.lit(1.0), p.len() * smallest.min())
        )

    applicable = (
        results.filter(pl.col("applicable"))
        .unique(["account", "check"], keep="first", maintain_order=True)
        .with_columns(group.alias("group"))
        .group_by("account")
        .agg(
            bonferroni(Group.OUTCOME).alias("p_outcome"),
            bonferroni(Group.MECHANISM).alias("p_mechanism"),
            bonferroni(Group.MECHANISM, without=habitual_checks()).alias("p_specific"),
            bonferroni(Group.OUTCOME, without=frozenset(groups) - {primary}).alias("p_peer"),
            pl.col("p_value").filter(pl.col("check") == primary).first().alias("p_primary"),
        )
    )
    accounts = results.select(pl.col("account").unique().sort())
    return accounts.join(applicable, on="account", how="left").cast(_P_SCHEMA).sort("account")


_P_SCHEMA: Final = pl.Schema(
    {
        "account": pl.String,
        "p_outcome": pl.Float64,
        "p_mechanism": pl.Float64,
        "p_primary": pl.Float64,
        "p_specific": pl.Float64,
        "p_peer": pl.Float64,
    }
)


def _mechanism_q(p_mechanism: FloatArray, cfg: AuditConfig) -> FloatArray:
    """The mechanism screen's q-values: BH (BY with --strict) over every tested account (NaN = no
    mechanism applied, counted as p = 1)."""
    return fdr_adjust(np.nan_to_num(p_mechanism, nan=1.0), dependent=cfg.strict)


def mechanism_screen(p_mechanism: FloatArray, cfg: AuditConfig) -> npt.NDArray[np.bool_]:
    """Tier 2's screen: the accounts whose mechanism q-value is at most --fdr."""
    return np.asarray(_mechanism_q(p_mechanism, cfg) <= cfg.fdr_q, dtype=np.bool_)


def tier1_family(cfg: AuditConfig) -> int:
    """The least number of accounts tier 1's Benjamini–Hochberg step corrects for: with a
    reference, the size of the cohort it was fitted on.

    A team judged by a reference is judged by another organisation's null, honest tail included,
    and gets that organisation's error control: one slice of it, not a family of its own. Over
    its own 5 accounts, BH would let p = 0.02 through where the organisation the null came from
    needs 0.0005 for its first discovery. Measured (`benchmarks/detection.py --scenarios small`,
    `families`): honest agent adopters, usage ×3–5 from a date with merged output ×0.7–1.3, sit
    at p = 2e-4–2e-3 against the reference and against their own organisation's null alike
    (z ≈ 4 in both), and put 1 of 5 honest people in one team, 2 of 15 in another, in `review`.
    Tier 2 keeps the team's own count: its screen counts only fingerprints that honest
    automation does not produce, whose null holds for the team's people as for anyone's."""
    return cfg.reference.cohort_size if cfg.reference is not None else 0


def tier_qvalues(
    p_outcome: FloatArray,
    p_mechanism: FloatArray,
    cfg: AuditConfig,
    p_confirm: FloatArray | None = None,
    p_specific: FloatArray | None = None,
    p_peer: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """q-values of tier 1 and tier 2 for the tested accounts (NaN p = the test did not apply).

    Tier 2's q is the mechanism screen's q, finite only for screened accounts whose evidence
    confirms that the usage is not explained by merged work: `p_confirm` ≤ `confirm_p`, where
    `p_confirm` is the smaller of p_outcome (so that a usage rise against the account's own past
    confirms as well as excess against peers does) and the confirming context checks' p
    (`Check.confirms`: usage that came and went by the week without the output); p_outcome when
    not given. Confirming on context evidence cannot raise the error rate: every honest
    `suspicious` account is an honest account that passed the screen, whatever confirmed it.
    What it adds (`benchmarks/detection.py`): padders run by a loop (identical request sizes) in
    some weeks only, whose excess over the whole period was modest, are confirmed.

    A habitual mechanism (`Check.habitual`: trivial merges) is not specific to inflation: some
    honest people ship in micro-changes, and the screen's fitted null cannot hold them. On the
    blind family (`benchmarks/blind_orgs.py`; `benchmarks/results/blind-seeds-4242-777-2024.md`:
    120 scans of 200 accounts) 17 honest people with that habit passed the screen on trivial
    merges alone, 42 times in 30 scans, and two were `suspicious`: one confirmed by a
    launch-timed rise in their usage (p_outcome 0.16), one by the week-to-week context check while
    using a third of the tokens of same-output peers. So an account the screen passes on habitual
    mechanisms alone (`screened_on_habit`) is confirmed only by outcome evidence, and the peer
    test keeps its weight: camouflage covers tokens that the real output does not explain.
    Confirmed when the tokens against same-output peers bring p_outcome to `confirm_p` by
    themselves (`p_peer`: the primary test's p times the number of outcome tests), or when the
    outcome tests together reach `confirm_p_habit`: nothing the rule for specific mechanisms
    would not confirm. Were the outcome p-values uniform for honest people with the habit, P(one
    is confirmed) ≤ 0.2/3 + 2 · 0.1/3 ≈ 0.13 with three outcome tests, and 0.35 honest passers a
    scan would give at most 0.05 honest `suspicious` a scan; that is a heuristic (trivial changes
    do not count as output, so `excess-tokens` leans low for exactly these people), and what
    carries it is the measurement: on the 84 request-log scans, none of the 30 honest passes
    confirmed (4 before), and 129 of the 137 trivial-merge padders the old rule confirmed on
    trivial merges alone still confirmed (the outcome tests alone at 0.1: 116; at 0.2 without the
    context check, the launch-timed adopter above stays `suspicious`). Not bought: at 60
    accounts an honest all-day agent user with the habit and ×6 the tokens of same-output peers
    stays `suspicious` (p_outcome 0.067); the outcome tests at 0.05 would clear him and lose most
    trivial-merge padders of both generators (0.78 → 0.33, 0.80 → 0.20).

    The confirmation alone did not hold at 1,000 accounts: P(≥ 1 honest `suspicious`) 0.50 in
    one seed's mixed organisations. Benjamini–Hochberg's threshold k·q/m rises with the padders
    it finds, and a habit's heavy honest tail passes with it, so an account screened on habitual
    mechanisms alone is also held to the family-wise level, p_mechanism ≤ q/m (its q is the
    larger of BH's and m · p): honest confirmed 6 → 0 at 1,000 accounts, trivial-merge padders
    159 → 97; at 200, 137 → 112 (docs/statistics.md).
    """
    q1 = fdr_adjust(
        np.nan_to_num(p_outcome, nan=1.0), dependent=cfg.strict, family=tier1_family(cfg)
    )
    q_mech = _mechanism_q(p_mechanism, cfg)
    confirming = p_outcome if p_confirm is None else p_confirm
    confirmed = np.nan_to_num(confirming, nan=1.0) <= cfg.confirm_p
    screened = q_mech <= cfg.fdr_q
    if p_specific is not None and screened.any():
        on_habit = screened_on_habit(p_mechanism, p_specific, cfg)
        by_outcome = np.nan_to_num(p_outcome, nan=1.0) <= cfg.confirm_p_habit
        if p_peer is not None:
            by_outcome |= np.nan_to_num(p_peer, nan=1.0) <= cfg.confirm_p
        confirmed = np.where(on_habit, by_outcome, confirmed)
        # ... and the screen holds a habit to the family-wise level (Bonferroni over the tested
        # accounts), not the false discovery rate: Benjamini–Hochberg's threshold rises with the
        # padders it finds, and the honest tail of a habit passes with it.
        bonferroni = np.minimum(np.nan_to_num(p_mechanism, nan=1.0) * p_mechanism.size, 1.0)
        q_mech = np.where(on_habit, np.maximum(q_mech, bonferroni), q_mech)
    q2 = np.where(confirmed & (q_mech <= cfg.fdr_q), q_mech, np.inf)
    return q1, q2


def screened_on_habit(
    p_mechanism: FloatArray, p_specific: FloatArray, cfg: AuditConfig
) -> npt.NDArray[np.bool_]:
    """The accounts the mechanism screen passes that it would not pass on their specific
    (non-habitual) mechanisms alone: with p_specific in place of p_mechanism, the others fixed,
    Benjamini–Hochberg's step-up threshold k · q / m is the same, so an account passes on its
    specific mechanisms exactly when p_specific · m / k ≤ q (times the harmonic sum for BY,
    the arithmetic of `fdr_adjust`, so that an account at the threshold is judged alike)."""
    screened = mechanism_screen(p_mechanism, cfg)
    k = int(screened.sum())
    if k == 0:
        return screened
    m = p_mechanism.size
    ranked = np.nan_to_num(p_specific, nan=1.0) * m / k
    if cfg.strict:
        ranked = ranked * float(np.sum(1.0 / np.arange(1, m + 1)))
    return np.asarray(screened & ~(ranked <= cfg.fdr_q), dtype=np.bool_)


def accounts_screened_on_habit(
    checks: pl.DataFrame, tested: list[str], cfg: AuditConfig
) -> frozenset[str]:
    """From a report's check rows: the `tested` accounts that `decide` found screened on habitual
    mechanisms alone (`screened_on_habit`), whose flags only the outcome checks confirm."""
    from tokenaudit.checks.registry import CHECKS

    groups = {c.id: c.group for c in CHECKS}
    primary = next(c.id for c in CHECKS if c.primary)
    p = combine_groups(checks.filter(pl.col("account").is_in(tested)), groups, primary)

    def arr(col: str) -> FloatArray:
        return p[col].fill_null(float("nan")).to_numpy().astype(np.float64)

    on_habit = screened_on_habit(arr("p_mechanism"), arr("p_specific"), cfg)
    return frozenset(p["account"].filter(pl.Series(on_habit)).to_list())


def habit_confirmations(
    accounts: pl.DataFrame, checks: pl.DataFrame, cfg: AuditConfig
) -> dict[str, frozenset[str]]:
    """From a finished report: per account screened on habitual mechanisms alone, the checks
    that can have confirmed it (`habit_confirming_checks`), for readers of its flag."""
    from tokenaudit.checks.registry import CHECKS

    decided = [Status.OK, Status.REVIEW, Status.SUSPICIOUS]  # exactly the tested accounts
    tested = accounts.filter(pl.col("status").is_in(decided))["account"].to_list()
    confirming = habit_confirming_checks({c.id: c.group for c in CHECKS})
    return dict.fromkeys(accounts_screened_on_habit(checks, tested, cfg), confirming)


def habit_confirming_checks(groups: dict[str, Group]) -> frozenset[str]:
    """What confirms an account screened on habitual mechanisms alone: the outcome checks that
    confirm, never a context one."""
    return frozenset(c for c in confirming_checks(groups) if groups[c] is Group.OUTCOME)


def habitual_checks() -> frozenset[str]:
    """The mechanism checks that honest people's own habits produce (`Check.habitual`)."""
    from tokenaudit.checks.registry import CHECKS

    return frozenset(c.id for c in CHECKS if c.habitual)


def confirming_checks(groups: dict[str, Group]) -> frozenset[str]:
    """The checks whose evidence confirms tier 2 (`Check.confirms`) among those that ran."""
    from tokenaudit.checks.registry import CHECKS

    return frozenset(c.id for c in CHECKS if c.confirms and c.id in groups)


def _confirm_p(results: pl.DataFrame, groups: dict[str, Group], accounts: list[str]) -> FloatArray:
    """Per account (in `accounts` order): the Bonferroni minimum over the confirming context
    checks that applied (NaN when none did); the outcome checks confirm through p_outcome."""
    context = [c for c in confirming_checks(groups) if groups[c] is Group.CONTEXT]
    per: dict[str, list[float]] = {}
    for account, p in (
        results.filter(pl.col("applicable") & pl.col("check").is_in(context))
        .select("account", "p_value")
        .iter_rows()
    ):
        per.setdefault(account, []).append(p)
    return np.array(
        [bonferroni_min(per[a]) if a in per else math.nan for a in accounts], dtype=np.float64
    )


def decide(
    totals: pl.DataFrame,
    results: pl.DataFrame,
    groups: dict[str, Group],
    cfg: AuditConfig,
    *,
    primary: str,
) -> pl.DataFrame:
    """Statuses, q-values, score and rank for every account in `totals`.

    `totals` must carry `account`, `gate` (null when the account is tested, else the reason it is
    not), `excluded` (bool) and `exclude_reason`. Returns `totals` plus `status`, `flagged`,
    `score`, `q_value`, `p_outcome`, `p_mechanism`, `p_primary`, `reasons`, `rank`, by rank.
    """
    combined = (
        combine_groups(results, groups, primary)
        if results.height
        else pl.DataFrame(schema=_P_SCHEMA)
    )
    df = totals.join(combined, on="account", how="left").sort("account")
    tested = (~pl.col("excluded")) & pl.col("gate").is_null() & pl.col("p_outcome").is_not_null()
    df = df.with_columns(tested.alias("_tested"))
    t = df.filter(pl.col("_tested"))

    def arr(col: str) -> FloatArray:
        return t[col].fill_null(float("nan")).to_numpy().astype(np.float64)

    p_mechanism, p_specific = arr("p_mechanism"), arr("p_specific")
    p_confirm = np.fmin(arr("p_outcome"), _confirm_p(results, groups, t["account"].to_list()))
    q1, q2 = tier_qvalues(
        arr("p_outcome"),
        p_mechanism,
        cfg,
        p_confirm,
        p_specific=p_specific,
        p_peer=arr("p_peer"),
    )
    qmap = {
        a: (float(a1), float(a2)) for a, a1, a2 in zip(t["account"].to_list(), q1, q2, strict=True)
    }

    habit = t["account"].filter(pl.Series(screened_on_habit(p_mechanism, p_specific, cfg)))
    verdicts = _verdicts(df, results, groups, qmap, cfg, primary, set(habit.to_list()))
    df = df.with_columns(
        pl.Series("status", [str(v[0]) for v in verdicts], dtype=pl.String),
        pl.Series("q_value", [v[1] for v in verdicts], dtype=pl.Float64),
        pl.Series("score", [v[2] for v in verdicts], dtype=pl.Float64),
        pl.Series("reasons", [v[3] for v in verdicts], dtype=pl.String),
    ).with_columns(pl.col("status").is_in([Status.SUSPICIOUS, Status.REVIEW]).alias("flagged"))
    order = pl.col("status").replace_strict(
        {Status.EXCLUDED: 1, Status.INSUFFICIENT: 1}, default=0, return_dtype=pl.Int8
    )
    df = df.sort(order, "score", "account", descending=[False, True, False])
    return (
        df.with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
        .drop("_tested", "p_specific", "p_peer")
    )


Verdict = tuple[Status, float | None, float, str]


def _verdicts(
    df: pl.DataFrame,
    results: pl.DataFrame,
    groups: dict[str, Group],
    qmap: dict[str, tuple[float, float]],
    cfg: AuditConfig,
    primary: str,
    on_habit: set[str],
) -> list[Verdict]:
    """(status, q-value, score, reasons) of every row of `df`, in order; `on_habit`, the
    accounts screened on habitual mechanisms alone, which only the outcome checks confirm."""
    reasons_by_account = _reasons(results)
    # A suspicious account's reasons always name the test that confirmed it, even where that
    # p-value is above REASON_P (confirmation is at the fixed level `confirm_p`).
    with_outcome = _reasons(results, always=confirming_checks(groups))
    with_outcome_only = (
        _reasons(results, always=habit_confirming_checks(groups)) if on_habit else with_outcome
    )
    missing = _missing_evidence(results, groups)
    usage_evidence = _usage_evidence(results, groups, primary)
    out: list[Verdict] = []
    needed = ("account", "excluded", "exclude_reason", "_tested", "gate", "p_mechanism")
    for row in df.select(needed).iter_rows(named=True):
        name = row["account"]
        if row["excluded"]:
            out.append((Status.EXCLUDED, None, 0.0, f"excluded: {row['exclude_reason']}"))
            continue
        if not row["_tested"]:
            why = (
                f"insufficient data: {row['gate']}"
                if row["gate"]
                else missing.get(name, "insufficient data: no check could run")
            )
            out.append((Status.INSUFFICIENT, None, 0.0, why))
            continue
        tier1, tier2 = qmap[name]
        if tier2 <= cfg.fdr_q:
            status, q = Status.SUSPICIOUS, tier2
        elif tier1 <= cfg.fdr_q:
            status, q = Status.REVIEW, tier1
        else:
            status, q = Status.OK, tier1
        strength = _strength(row, usage_evidence.get(name, 0.0))
        score = round(_BANDS[status] + _BAND_WIDTH[status] * strength, 2)
        chosen = reasons_by_account
        if status is Status.SUSPICIOUS:
            chosen = with_outcome_only if name in on_habit else with_outcome
        out.append((status, q, score, chosen.get(name, "")))
    return out


def _usage_evidence(
    results: pl.DataFrame, groups: dict[str, Group], primary: str
) -> dict[str, float]:
    """Per account, the strongest outcome or context evidence, each check's weighted by its
    `ranking_weight` (a rise against one's own past counts as fully as excess against peers;
    barren days count less, because honest reviewers and researchers have them too). Context
    checks rank but never flag.

    The primary test, and `output-share` which reads the same peer line (`Check.ranks_by_z`),
    rank by their robust z (their statistic), read on a normal tail, not by their p-value: the
    ranking orders accounts of every cohort on one scale, and a cohort whose fitted tail is
    heavy — often because the padders in it fattened it (ν = 2: ×95 the tokens of same-output
    peers, z = 3.6, p = 0.024) — would otherwise rank its most extreme accounts below modest
    outliers of light-tailed cohorts. Measured on both generators' mixed
    organisations (`benchmarks/detection.py`): average precision 0.78 → 0.82 in the second
    generator (worst organisation 0.55 → 0.61), 0.87 → 0.86 in the first. Decisions still use
    the p-values."""
    from tokenaudit.checks.registry import CHECKS

    weights = {check.id: check.ranking_weight for check in CHECKS}
    by_z = {check.id for check in CHECKS if check.ranks_by_z} | {primary}
    out: dict[str, float] = {}
    ranked = [c for c, g in groups.items() if g in (Group.OUTCOME, Group.CONTEXT)]
    for account, check, p, statistic in (
        results.filter(pl.col("applicable") & pl.col("check").is_in(ranked))
        .select("account", "check", "p_value", "statistic")
        .iter_rows()
    ):
        if check in by_z and statistic is not None and math.isfinite(statistic):
            p = 0.5 * math.erfc(statistic / math.sqrt(2))
        e = weights.get(check, 1.0) * _evidence(p)
        out[account] = max(out.get(account, 0.0), e)
    return out


def _strength(row: dict[str, Any], usage_evidence: float) -> float:
    """Evidence strength in [0, 1] within a status band: tokens unexplained by output, and how
    they were produced, count alike."""
    return (usage_evidence + _evidence(row["p_mechanism"])) / (2 * EVIDENCE_CAP)


def _reasons(results: pl.DataFrame, always: frozenset[str] = frozenset()) -> dict[str, str]:
    """`check effect (p=…)` for every applicable check with p ≤ REASON_P, and the strongest of
    the checks in `always` whatever its p-value, strongest first."""
    applicable = results.filter(pl.col("applicable"))
    strongest = (
        applicable.filter(pl.col("check").is_in(list(always)))
        .sort("p_value", "check")
        .group_by("account", maintain_order=True)
        .first()
        .select("account", "check", pl.lit(True).alias("forced"))
    )
    # Only the rows that are reasons reach Python: at 20,000 accounts nine checks' rows took a
    # quarter of a second to walk, most of them with nothing to say.
    rows = (
        applicable.join(strongest, on=["account", "check"], how="left")
        .filter((pl.col("p_value") <= REASON_P) | pl.col("forced").fill_null(False))
        .select("account", "check", "p_value", "brief")
    )
    out: dict[str, list[tuple[float, str, str]]] = {}
    for account, check, p, brief in rows.iter_rows():
        out.setdefault(account, []).append((p, check, f"{check}: {brief} ({p_is(p)})"))
    return {a: "; ".join(text for _, _, text in sorted(items)) for a, items in out.items()}


def _missing_evidence(results: pl.DataFrame, groups: dict[str, Group]) -> dict[str, str]:
    """Per account that no outcome test could judge: why each test could not run, what would let
    it, and the evidence that was found all the same (shown, not judged)."""
    out: dict[str, str] = {}
    outcome = {c for c, g in groups.items() if g is Group.OUTCOME}
    # Accounts an outcome test judged have nothing to explain, and never reach Python; the others
    # are read in one pass in (account, check) order (a frame per account, filtered three times,
    # took 4 s at 10,000 accounts). `applicable` null counts as neither, as a filter has it.
    judged = results.filter(pl.col("applicable") & pl.col("check").is_in(list(outcome)))
    rows = (
        results.join(judged.select("account").unique(), on="account", how="anti")
        .select("account", "check", "applicable", "summary", "brief", "p_value")
        .sort("account", "check", maintain_order=True)
        .iter_rows()
    )
    for account, part in groupby(rows, key=lambda row: row[0]):
        why: list[str] = []
        found: list[str] = []
        for _, check, applicable, summary, brief, p in part:
            if applicable is True:
                if p is not None and p < 1.0:
                    found.append(f"{check}: {brief} ({p_is(p)})")
            elif applicable is False and check in outcome and summary:
                why.append(f"{check}: {summary}")
        text = "insufficient data: no outcome test could run (" + "; ".join(why) + ")"
        text += (
            "; what would let them run: a cohort of 10 tested accounts, or --reference FILE "
            "(a larger scan of the same kind of work)"
        )
        if found:
            text += "; shown, not judged: " + "; ".join(found)
        out[str(account)] = text
    return out
