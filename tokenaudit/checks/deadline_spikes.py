"""`deadline-spikes`: usage shaped by a leaderboard rather than by work.

Two fingerprints, each only when its deadline is known:
- `quota` (`--quota TOKENS`): weekly totals bunched just above a weekly quota T. x_i of n_i active
  weeks land in [T, 1.05·T]. H0: the account's weekly totals follow its own smooth lognormal
  counterfactual, fitted (median, MAD) to its weeks outside the bunching window [0.9·T, 1.1·T]
  (Saez 2010; Kleven 2016), so a week lands in the window with probability p0;
  p = P(Binomial(n_i, p0) ≥ x_i).
- `snapshot` (`--snapshot-day DAY`): the day before the weekly leaderboard snapshot holds more than
  half of the week's tokens in x_i of n_i weeks; a beta-binomial with a robust null over the
  cohort, as in `automation`.
Both carry the effect-size gate of the mechanism checks (≥ 3 weeks and ≥ 20 % of weeks). The
check's p-value is the Bonferroni minimum over the fingerprints that apply.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar, Final

import numpy as np
import polars as pl

from tokenaudit.calendar import week_of
from tokenaudit.checks.base import (
    MIN_COHORT,
    CheckData,
    Group,
    NullModel,
    ResultRow,
    not_applicable,
    result_frame,
    skipped,
)
from tokenaudit.checks.stats import (
    beta_binomial_sf,
    bonferroni_min,
    fit_beta_binomial,
    recentre_beta,
    robust_scale,
)
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is

MIN_WEEKS: Final = 4
BUNCH_LOW: Final = 1.0
BUNCH_HIGH: Final = 1.05
EXCLUDE_LOW: Final = 0.9
EXCLUDE_HIGH: Final = 1.1
SNAPSHOT_SHARE: Final = 0.5


def weekly(days: pl.DataFrame, cfg: AuditConfig) -> pl.DataFrame:
    """Per account and week (weeks start on `cfg.week_start`): tokens, and tokens on the day
    before the snapshot day."""
    week_start = week_of(pl.col("day"), cfg)
    pre_snapshot = (
        (pl.col("day").dt.weekday() - 1) == ((cfg.snapshot_day - 2) % 7)
        if cfg.snapshot_day is not None
        else pl.lit(False)
    )
    return (
        days.with_columns(week_start.alias("week"), pre_snapshot.alias("_pre"))
        .group_by("account", "week")
        .agg(
            pl.col("tokens").sum(),
            pl.col("tokens").filter(pl.col("_pre")).sum().alias("pre_tokens"),
        )
        .sort("account", "week")
    )


def _quota_p(totals: np.ndarray, quota: float) -> tuple[int, float, float]:
    """(weeks in the bunching window, p0, p) for one account."""
    from scipy import special

    logs = np.log(np.maximum(totals, 1.0))
    inside = (totals >= BUNCH_LOW * quota) & (totals < BUNCH_HIGH * quota)
    outside = (totals < EXCLUDE_LOW * quota) | (totals >= EXCLUDE_HIGH * quota)
    ref = logs[outside] if outside.sum() >= 3 else logs
    mu = float(np.median(ref))
    sigma = max(robust_scale(ref, floor=0.3), 0.3)
    z = (np.log([BUNCH_LOW * quota, BUNCH_HIGH * quota]) - mu) / sigma
    p0 = float(special.ndtr(z[1]) - special.ndtr(z[0]))
    x = int(inside.sum())
    p = float(special.bdtrc(x - 1, totals.size, p0)) if x > 0 else 1.0
    return x, p0, min(max(p, 0.0), 1.0)


def _snapshot_counts(weeks: pl.DataFrame) -> pl.DataFrame:
    counts = weeks.group_by("account").agg(
        pl.len().cast(pl.Int64).alias("n"),
        (pl.col("pre_tokens") > SNAPSHOT_SHARE * pl.col("tokens")).sum().cast(pl.Int64).alias("x"),
    )
    return counts.filter(pl.col("n") >= MIN_WEEKS).sort("account")


def _snapshot_pvalues(
    weeks: pl.DataFrame, cfg: AuditConfig, reference: Mapping[str, float] | None
) -> dict[str, tuple[float, int, int]]:
    """Per account: (p, weeks spiking before the snapshot, active weeks), against the cohort
    (or the reference's null)."""
    cohort = _snapshot_counts(weeks)
    if reference is not None and "snapshot_a" not in reference:
        reference = None  # made without --snapshot-day: the team's own cohort, if it has one
    if reference is None and cohort.height < MIN_COHORT:
        return {}
    x = cohort["x"].to_numpy().astype(np.int64)
    n = cohort["n"].to_numpy().astype(np.int64)
    gate = (x >= 3) & (x >= cfg.mechanism_min_share * n)
    if reference is not None:
        a, b = recentre_beta(reference["snapshot_a"], reference["snapshot_b"], x, n)
        p = beta_binomial_sf(x, n, a, b)
    elif gate.any():
        p = beta_binomial_sf(x, n, *fit_beta_binomial(x, n, robust=True))
    else:
        p = np.ones(x.size)
    return {
        name: (float(p[i]) if gate[i] else 1.0, int(x[i]), int(n[i]))
        for i, name in enumerate(cohort["account"].to_list())
    }


class DeadlineSpikes:
    id: ClassVar[str] = "deadline-spikes"
    group: ClassVar[Group] = Group.MECHANISM
    description: ClassVar[str] = "usage bunched just above a weekly quota or just before a snapshot"
    primary: ClassVar[bool] = False
    window_sensitive: ClassVar[bool] = False
    by_role: ClassVar[bool] = True
    ranking_weight: ClassVar[float] = 1.0
    ranks_by_z: ClassVar[bool] = False
    confirms: ClassVar[bool] = False
    habitual: ClassVar[bool] = False

    def fit(self, data: CheckData, cfg: AuditConfig) -> NullModel | None:
        """The snapshot fingerprint's cohort null (the quota test needs none: it compares each
        account with its own weeks)."""
        if cfg.snapshot_day is None:
            return None
        cohort = _snapshot_counts(weekly(data.days, cfg))
        if cohort.height < MIN_COHORT:
            return None
        a, b = fit_beta_binomial(
            cohort["x"].to_numpy().astype(np.int64),
            cohort["n"].to_numpy().astype(np.int64),
            robust=True,
        )
        return {"snapshot_a": a, "snapshot_b": b}

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
        names = data.accounts.sort("account")["account"].to_list()
        if cfg.quota is None and cfg.snapshot_day is None:
            return not_applicable(self.id, names, "no deadline given (--quota or --snapshot-day)")
        weeks = weekly(data.days, cfg)
        by_account = {a: g for (a,), g in weeks.group_by("account")}
        snapshot_p = (
            _snapshot_pvalues(weeks, cfg, data.reference) if cfg.snapshot_day is not None else {}
        )
        rows: list[ResultRow] = []
        for name in names:
            group = by_account.get(name)
            if group is None or group.height < MIN_WEEKS:
                rows.append(
                    skipped(name, f"only {0 if group is None else group.height} active weeks")
                )
                continue
            parts: dict[str, float] = {}
            words: list[str] = []
            clears: list[str] = []
            brief = ""
            share = 0.0
            if cfg.quota is not None:
                xq, p0, pq = _quota_p(group["tokens"].to_numpy().astype(np.float64), cfg.quota)
                nq = group.height
                if xq < 3 or xq < cfg.mechanism_min_share * nq:
                    pq = 1.0
                parts["quota"] = pq
                words.append(
                    f"{xq} of {nq} weekly totals within 5 % above the quota of {cfg.quota / 1e6:.1f}M "
                    f"(expected {p0 * nq:.1f})"
                )
                clears.append(
                    f"at most {max(2, math.ceil(cfg.mechanism_min_share * nq) - 1)} weeks just above the quota"
                )
                if pq < 1.0:
                    brief, share = f"{xq} of {nq} weeks just above the quota", xq / nq
            if name in snapshot_p:
                p, x, n = snapshot_p[name]
                parts["snapshot"] = p
                words.append(f"{x} of {n} weeks with most tokens on the day before the snapshot")
                clears.append(
                    f"at most {max(2, math.ceil(cfg.mechanism_min_share * n) - 1)} such weeks"
                )
                if p < 1.0 and (not brief or p < parts.get("quota", 1.0)):
                    brief, share = f"{x} of {n} weeks spiking before the snapshot", x / n
            if not parts:
                rows.append(skipped(name, "no deadline fingerprint applies"))
                continue
            p_all = bonferroni_min(list(parts.values()))
            rows.append(
                (
                    name,
                    True,
                    share,
                    p_all,
                    share,
                    "; ".join(words) + f" ({p_is(p_all)})",
                    "; ".join(clears),
                    brief or "no deadline-shaped usage",
                )
            )
        return result_frame(self.id, rows)
