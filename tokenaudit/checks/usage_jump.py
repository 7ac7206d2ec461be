"""`usage-jump`: a rise in an account's own usage that its merged output did not follow.

Two weekly series, both cohort-relative (each week's cohort median is subtracted, so an org-wide
shift — a new model, a leaderboard launch — moves nobody):
    u_w = log tokens_w − median_cohort(log tokens_w)                     (the usage level)
    s_w = log(0.5 + changes_w) − β̂·log tokens_w − median_cohort(·)       (output given usage)
β̂ is a low (25th) percentile of the per-account Theil–Sen slopes of log output on log tokens:
an overestimated elasticity would flag honest ramp-ups, an underestimated one only costs power.
H0: usage did not rise, or output rose as expected with it. Intersection–union test:
p = max(p_jump, p_drop), where p_jump is Pettitt's test for an upward shift in u (unknown date,
p ≈ exp(−6K²/(T³+T²))) or a one-sided Mann–Whitney at `--change-date`, and p_drop a one-sided
Mann–Whitney that s fell after the change (exact for small samples). At least 4 weeks on each
side; weeks without usage (leave) are left out. Effect: the usage multiple after vs before.
"""

from __future__ import annotations

import math
from typing import ClassVar, Final

import numpy as np
import polars as pl

from tokenaudit.checks.base import (
    CheckData,
    Group,
    ResultRow,
    not_applicable,
    result_frame,
    skipped,
)
from tokenaudit.checks.deadline_spikes import week_of, weekly
from tokenaudit.checks.stats import p_is
from tokenaudit.config import AuditConfig

MIN_SIDE: Final = 4
MIN_COHORT: Final = 10
EXACT_LIMIT: Final = 5000


def mann_whitney_less(after: np.ndarray, before: np.ndarray) -> float:
    """One-sided P-value that `after` tends to be smaller than `before` (Mann–Whitney U; exact by
    enumeration for small samples, normal approximation with tie correction otherwise)."""
    n1, n2 = after.size, before.size
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = np.concatenate([after, before])
    ranks = _ranks(pooled)
    observed = float(ranks[:n1].sum())
    if math.comb(n1 + n2, n1) <= EXACT_LIMIT:
        return _exact_rank_sum_cdf(ranks, n1, observed)
    from scipy import special

    mean = n1 * (n1 + n2 + 1) / 2
    _, counts = np.unique(pooled, return_counts=True)
    tie = float(np.sum(counts**3 - counts)) / ((n1 + n2) * (n1 + n2 - 1))
    var = n1 * n2 / 12 * ((n1 + n2 + 1) - tie)
    if var <= 0:
        return 1.0
    return float(special.ndtr((observed - mean + 0.5) / math.sqrt(var)))


def _exact_rank_sum_cdf(ranks: np.ndarray, n1: int, observed: float) -> float:
    """P(sum of n1 ranks drawn without replacement ≤ observed), every subset equally likely.

    Counted by dynamic programming over doubled ranks (tie-averaged ranks are halves), which is
    exact like enumerating the subsets but costs O(N · n1 · sum) instead of O(C(N, n1) · n1).
    """
    doubled = np.rint(2 * ranks).astype(np.int64)
    top = int(doubled.sum())
    counts = np.zeros((n1 + 1, top + 1), dtype=np.float64)
    counts[0, 0] = 1.0
    for r in doubled.tolist():
        counts[1:, r:] += counts[:-1, : top + 1 - r].copy()
    limit = math.floor(2 * observed + 1e-6)
    return float(counts[n1, : limit + 1].sum() / counts[n1].sum())


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.arange(1, values.size + 1, dtype=np.float64)
    for v in np.unique(values):  # average ranks for ties
        tied = values == v
        ranks[tied] = ranks[tied].mean()
    return ranks


def pettitt_increase(series: np.ndarray, min_side: int = MIN_SIDE) -> tuple[int, float]:
    """(first index after the change, p) of Pettitt's test for an upward shift."""
    n = series.size
    sign = np.sign(series[None, :] - series[:, None])  # sign(x_j − x_i)
    best_t, best_k = -1, -math.inf
    for t in range(min_side, n - min_side + 1):
        k = float(sign[:t, t:].sum())
        if k > best_k:
            best_t, best_k = t, k
    if best_t < 0 or best_k <= 0:
        return max(best_t, min_side), 1.0
    return best_t, min(1.0, math.exp(-6 * best_k**2 / (n**3 + n**2)))


def _theil_sen(x: np.ndarray, y: np.ndarray) -> float | None:
    dx = x[None, :] - x[:, None]
    dy = y[None, :] - y[:, None]
    mask = np.triu(dx != 0, 1)
    return float(np.median(dy[mask] / dx[mask])) if mask.any() else None


class UsageJump:
    id: ClassVar[str] = "usage-jump"
    group: ClassVar[Group] = Group.OUTCOME
    description: ClassVar[str] = (
        "a rise in own usage, relative to the cohort, that merged output did not follow"
    )

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
        names = data.accounts.sort("account")["account"].to_list()
        if len(names) < MIN_COHORT or data.days.is_empty():
            return not_applicable(
                self.id, names, f"cohort of {len(names)} accounts is too small (needs {MIN_COHORT})"
            )
        weeks = weekly(data.days, cfg).filter(pl.col("tokens") > 0)
        outputs = (
            data.outputs
            if data.outputs is not None
            else pl.DataFrame(schema={"account": pl.String, "day": pl.Date, "changes": pl.Int64})
        )
        merged = (
            outputs.with_columns(week_of(pl.col("day"), cfg).alias("week"))
            .group_by("account", "week")
            .agg(pl.col("changes").sum())
        )
        weeks = weeks.join(merged, on=["account", "week"], how="left").with_columns(
            pl.col("changes").fill_null(0), pl.col("tokens").log().alias("lt")
        )
        weeks = weeks.with_columns((pl.col("lt") - pl.col("lt").median().over("week")).alias("u"))
        slopes = []
        # One split into per-account frames (iterating a group-by runs a query per account).
        for series in weeks.partition_by("account"):
            if series.height >= 2 * MIN_SIDE:
                b = _theil_sen(series["lt"].to_numpy(), np.log(0.5 + series["changes"].to_numpy()))
                if b is not None:
                    slopes.append(b)
        beta = float(np.clip(np.percentile(slopes, 25), 0.0, 0.5)) if slopes else 0.0
        weeks = weeks.with_columns(
            ((pl.col("changes") + 0.5).log() - beta * pl.col("lt")).alias("_s")
        )
        weeks = weeks.with_columns(
            (pl.col("_s") - pl.col("_s").median().over("week")).alias("s")
        ).sort("account", "week")
        by_account = {str(g["account"][0]): g for g in weeks.partition_by("account")}
        rows: list[ResultRow] = []
        for name in names:
            g = by_account.get(name)
            if g is None or g.height < 2 * MIN_SIDE:
                rows.append(
                    skipped(
                        name,
                        f"only {0 if g is None else g.height} active weeks (needs {2 * MIN_SIDE})",
                    )
                )
                continue
            u = g["u"].to_numpy()
            s = g["s"].to_numpy()
            if cfg.change_date is not None:
                t = int((g["week"] < cfg.change_date).sum())
                if t < MIN_SIDE or g.height - t < MIN_SIDE:
                    rows.append(
                        skipped(
                            name,
                            f"fewer than {MIN_SIDE} active weeks on a side of {cfg.change_date}",
                        )
                    )
                    continue
                p_jump = mann_whitney_less(-u[t:], -u[:t])
            else:
                t, p_jump = pettitt_increase(u)
            p_drop = mann_whitney_less(s[t:], s[:t])
            p = max(p_jump, p_drop)
            ratio = math.exp(float(np.median(u[t:]) - np.median(u[:t])))
            merged_weekly = g["changes"].to_numpy().astype(np.float64)
            out_before = float(np.mean(merged_weekly[:t]))
            out_after = float(np.mean(merged_weekly[t:]))
            since = g["week"][t]
            summary = (
                f"usage ×{ratio:.1f} vs the cohort since the week of {since}; merged changes a week "
                f"{out_before:.1f} → {out_after:.1f} ({p_is(p)})"
            )
            clear = f"merged output rising with usage after the week of {since}"
            brief = f"usage ×{ratio:.1f} since {since}, output {out_before:.1f} → {out_after:.1f} a week"
            rows.append((name, True, ratio, p, ratio, summary, clear, brief))
        return result_frame(self.id, rows)
