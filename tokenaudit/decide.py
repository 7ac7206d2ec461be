"""From check results to statuses, q-values, scores, reasons and ranks (DESIGN.md §4).

- Within each group (outcome, mechanism) the checks' p-values are combined by Bonferroni on the
  minimum: the checks share data, so Fisher/Stouffer would overstate the evidence, and a Cauchy
  combination is vetoed by any p near 1.
- Tier 1 (`review`, "usage not followed by merged work"): Benjamini–Hochberg on p_outcome across
  the tested accounts, q ≤ fdr_q.
- Tier 2 (`suspicious`, "usage not explained by merged work, with an inflation mechanism"):
  independent filtering (Bourgon, Gentleman & Huber 2010). First the mechanism screen:
  Benjamini–Hochberg on p_mechanism across the tested accounts, q ≤ fdr_q. Then, among the
  screened accounts only, Benjamini–Hochberg on the primary outcome test (`excess-tokens`:
  usage not explained by merged output), q ≤ fdr_q. A strong mechanism thus adds power (the
  outcome test corrects for a handful of accounts, not the whole organisation), while an account
  with a mechanism but output that accounts for its usage — honest automation that ships —
  stays clear. The screen is valid when, for honest accounts, the mechanism statistics (request
  timing, sizes, merge sizes) carry no information about the outcome statistic; the benchmark's
  all-honest populations, which include overnight agent users, check exactly that.
- `--strict` uses Benjamini–Yekutieli in every step.
- Accounts failing an evidence gate are `insufficient_data` and get no p-value; bots are
  `excluded`. Neither is ever flagged.
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

from tokenaudit.checks.base import Group
from tokenaudit.checks.stats import FloatArray, bonferroni_min, fdr_adjust, p_is
from tokenaudit.config import AuditConfig
from tokenaudit.schema import Status

#: -log10 p is capped here so that one astronomically small p cannot dominate the score.
EVIDENCE_CAP: Final = 10.0
#: Score bands: flagged tiers always rank above unflagged accounts.
_BANDS: Final = {Status.SUSPICIOUS: 70.0, Status.REVIEW: 40.0, Status.OK: 0.0}
_BAND_WIDTH: Final = {Status.SUSPICIOUS: 30.0, Status.REVIEW: 30.0, Status.OK: 40.0}
#: Reasons list checks at or below this p-value.
REASON_P: Final = 0.05


def _evidence(p: float | None) -> float:
    if p is None or math.isnan(p):
        return 0.0
    return min(-math.log10(max(p, 1e-300)), EVIDENCE_CAP)


def combine_groups(results: pl.DataFrame, groups: dict[str, Group], primary: str) -> pl.DataFrame:
    """Per account: p_outcome and p_mechanism (Bonferroni minimum within each group, over the
    applicable checks; null when none applied) and p_primary, the primary outcome test's p."""
    out: dict[str, dict[str, float]] = {}
    for account, check, p in (
        results.filter(pl.col("applicable")).select("account", "check", "p_value").iter_rows()
    ):
        out.setdefault(account, {}).setdefault(check, p)
    rows = []
    for account in sorted(results["account"].unique().to_list()):
        per = out.get(account, {})
        outcome = [p for c, p in per.items() if groups[c] is Group.OUTCOME]
        mechanism = [p for c, p in per.items() if groups[c] is Group.MECHANISM]
        rows.append(
            (
                account,
                bonferroni_min(outcome) if outcome else None,
                bonferroni_min(mechanism) if mechanism else None,
                per.get(primary),
            )
        )
    return pl.DataFrame(rows, schema=_P_SCHEMA, orient="row")


_P_SCHEMA: Final = {
    "account": pl.String,
    "p_outcome": pl.Float64,
    "p_mechanism": pl.Float64,
    "p_primary": pl.Float64,
}


def mechanism_screen(p_mechanism: FloatArray, cfg: AuditConfig) -> npt.NDArray[np.bool_]:
    """Tier 2's screen: BH (BY with --strict) on the mechanism p-values at q ≤ --fdr (NaN = no
    mechanism applied, counted as p = 1)."""
    q_mech = fdr_adjust(np.nan_to_num(p_mechanism, nan=1.0), dependent=cfg.strict)
    return np.asarray(q_mech <= cfg.fdr_q, dtype=np.bool_)


def tier_qvalues(
    p_outcome: FloatArray, p_mechanism: FloatArray, p_primary: FloatArray, cfg: AuditConfig
) -> tuple[FloatArray, FloatArray]:
    """q-values of tier 1 and tier 2 for the tested accounts (NaN p = the test did not apply).

    Tier 2's q is only finite for accounts that pass the mechanism screen.
    """
    dep = cfg.strict
    q1 = fdr_adjust(np.nan_to_num(p_outcome, nan=1.0), dependent=dep)
    screened = mechanism_screen(p_mechanism, cfg)
    q2 = np.full(p_outcome.size, np.inf)
    if screened.any():
        q2[screened] = fdr_adjust(np.nan_to_num(p_primary[screened], nan=1.0), dependent=dep)
    return q1, q2


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

    q1, q2 = tier_qvalues(arr("p_outcome"), arr("p_mechanism"), arr("p_primary"), cfg)
    qmap = {
        a: (float(a1), float(a2)) for a, a1, a2 in zip(t["account"].to_list(), q1, q2, strict=True)
    }

    reasons_by_account = _reasons(results)
    # A suspicious account's reasons always name the outcome test its flag rests on, even where
    # that p-value is above REASON_P (it passed Benjamini–Hochberg among the screened accounts).
    with_primary = _reasons(results, always=primary)
    statuses: list[str] = []
    qvalues: list[float | None] = []
    scores: list[float] = []
    reasons: list[str] = []
    for row in df.iter_rows(named=True):
        name = row["account"]
        if row["excluded"]:
            statuses.append(Status.EXCLUDED)
            qvalues.append(None)
            scores.append(0.0)
            reasons.append(f"excluded: {row['exclude_reason']}")
            continue
        if not row["_tested"]:
            statuses.append(Status.INSUFFICIENT)
            qvalues.append(None)
            scores.append(0.0)
            reasons.append(f"insufficient data: {row['gate'] or 'no check could run'}")
            continue
        tier1, tier2 = qmap[name]
        if tier2 <= cfg.fdr_q:
            status, q = Status.SUSPICIOUS, tier2
        elif tier1 <= cfg.fdr_q:
            status, q = Status.REVIEW, tier1
        else:
            status, q = Status.OK, tier1
        scores.append(round(_BANDS[status] + _BAND_WIDTH[status] * _strength(row), 2))
        statuses.append(status)
        qvalues.append(q)
        chosen = with_primary if status is Status.SUSPICIOUS else reasons_by_account
        reasons.append(chosen.get(name, ""))
    df = df.with_columns(
        pl.Series("status", [str(s) for s in statuses], dtype=pl.String),
        pl.Series("q_value", qvalues, dtype=pl.Float64),
        pl.Series("score", scores, dtype=pl.Float64),
        pl.Series("reasons", reasons, dtype=pl.String),
    ).with_columns(pl.col("status").is_in([Status.SUSPICIOUS, Status.REVIEW]).alias("flagged"))
    order = pl.col("status").replace_strict(
        {Status.EXCLUDED: 1, Status.INSUFFICIENT: 1}, default=0, return_dtype=pl.Int8
    )
    df = df.sort(order, "score", "account", descending=[False, True, False])
    return (
        df.with_row_index("rank", offset=1)
        .with_columns(pl.col("rank").cast(pl.Int64))
        .drop("_tested")
    )


def _strength(row: dict[str, Any]) -> float:
    """Evidence strength in [0, 1] within a status band: tokens unexplained by output, and how
    they were produced, count alike (research/methods.md addendum, point 6); barren days count
    less, because honest reviewers and researchers have them too."""
    e_primary = _evidence(row["p_primary"])
    e_outcome = _evidence(row["p_outcome"])
    e_mech = _evidence(row["p_mechanism"])
    usage = max(e_primary, 0.5 * e_outcome)
    return (usage + e_mech) / (2 * EVIDENCE_CAP)


def _reasons(results: pl.DataFrame, always: str | None = None) -> dict[str, str]:
    """`check effect (p=…)` for every applicable check with p ≤ REASON_P (and check `always`
    whatever its p-value), strongest first."""
    out: dict[str, list[tuple[float, str, str]]] = {}
    shown = pl.col("p_value") <= REASON_P
    if always is not None:
        shown = shown | (pl.col("check") == always)
    for account, check, p, brief in (
        results.filter(pl.col("applicable") & shown)
        .select("account", "check", "p_value", "brief")
        .iter_rows()
    ):
        out.setdefault(account, []).append((p, check, f"{check}: {brief} ({p_is(p)})"))
    return {a: "; ".join(text for _, _, text in sorted(items)) for a, items in out.items()}
