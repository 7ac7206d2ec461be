"""`usage-jump`: the account against its own past — a rise in usage its merged output did not follow.

Honest people differ from each other by a factor of ten in tokens for the same output; one person
differs from their own earlier weeks far less. So this check compares each account with itself:
for a split day s (the `--change-date`, or else the week start that fits best),
    ΔL = mean(r_d, d ≥ s) − mean(r_d, d < s)      r_d = log tokens_d − median of the cohort's
                                                    log tokens in d's week (an org-wide shift,
                                                    a new model or a leaderboard launch, moves
                                                    nobody)
    ΔO = log rate_after − log rate_before          rate = (merged changes + ½) / active days
    D  = ΔL − b·ΔO
where b, the elasticity of usage with output, is a Siegel line of ΔL on ΔO across the cohort at
the middle split (clipped to [0, 1]): output that rose with the usage explains it. Without a
change date, each account gets the largest D over the week starts that leave `MIN_SIDE_DAYS`
active days on each side.
H0: the account's D is drawn from the honest cohort's distribution of D — which includes honest
people adopting agents, ramping up and winding down. p-value: the upper tail of the cohort's
empirical null (`stats.EmpiricalNull`): every account, honest or not, is given the same search for
its best split, so the search needs no correction of its own.
Effect: the usage multiple after vs before, relative to the cohort.
A right `--change-date` adds power (no search: the honest null narrows, the padder's whole rise
falls on one side); a wrong one splits the rise and shows less.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import ClassVar, Final

import numpy as np
import polars as pl

from tokenaudit.calendar import week_of
from tokenaudit.checks.base import (
    CheckData,
    Group,
    ResultRow,
    not_applicable,
    result_frame,
    skipped,
)
from tokenaudit.checks.stats import EmpiricalNull, siegel_slope
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is

#: Active days each side of a split needs.
MIN_SIDE_DAYS: Final = 8
MIN_COHORT: Final = 10
#: A fall in output explains a fall in usage and a rise explains a rise, up to this elasticity.
MAX_ELASTICITY: Final = 1.0


def mann_whitney_less(after: np.ndarray, before: np.ndarray) -> float:
    """One-sided P-value that `after` tends to be smaller than `before` (Mann–Whitney U; exact by
    counting rank sums for small samples, normal approximation with tie correction otherwise)."""
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


EXACT_LIMIT: Final = 5000


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


Option = tuple[int, float, float, float, int, int]


class _Series:
    """One account's active days: day numbers, cohort-relative log tokens, and merged changes
    per calendar day (for the output on each side of a split)."""

    def __init__(self, day_no: np.ndarray, r: np.ndarray, merged: dict[int, int]) -> None:
        self.day_no = day_no
        self.r = r
        self.first, self.last = int(day_no[0]), int(day_no[-1])
        self.merge_days = np.array(sorted(merged), dtype=np.int64)
        self.merge_counts = np.array([merged[d] for d in sorted(merged)], dtype=np.float64)

    def sides(self, split: int) -> tuple[float, float, float, int, int] | None:
        """(ΔL, ΔO, usage multiple, active days before, after) at `split`, or None when a side
        is too thin."""
        before = self.day_no < split
        n_b, n_a = int(before.sum()), int((~before).sum())
        if n_b < MIN_SIDE_DAYS or n_a < MIN_SIDE_DAYS:
            return None
        d_l = float(self.r[~before].mean() - self.r[before].mean())
        in_b = (self.merge_days >= self.first) & (self.merge_days < split)
        in_a = (self.merge_days >= split) & (self.merge_days <= self.last)
        rate_b = (float(self.merge_counts[in_b].sum()) + 0.5) / n_b
        rate_a = (float(self.merge_counts[in_a].sum()) + 0.5) / n_a
        return d_l, math.log(rate_a / rate_b), math.exp(d_l), n_b, n_a


def _series(data: CheckData, cfg: AuditConfig, origin: date) -> dict[str, _Series]:
    days = data.days.filter(pl.col("tokens") > 0).with_columns(
        week_of(pl.col("day"), cfg).alias("_week"), pl.col("tokens").log().alias("_lt")
    )
    days = days.with_columns(
        (pl.col("_lt") - pl.col("_lt").median().over("_week")).alias("_r"),
        (pl.col("day") - pl.lit(origin)).dt.total_days().alias("_n"),
    ).sort("account", "day")
    merged: dict[str, dict[int, int]] = {}
    if data.outputs is not None and data.outputs.height:
        per_day = (
            data.outputs.group_by("account", "day")
            .agg(pl.col("changes").sum())
            .with_columns((pl.col("day") - pl.lit(origin)).dt.total_days().alias("_n"))
        )
        for account, n, changes in per_day.select("account", "_n", "changes").iter_rows():
            merged.setdefault(account, {})[int(n)] = int(changes)
    out = {}
    for part in days.partition_by("account"):
        name = str(part["account"][0])
        out[name] = _Series(
            part["_n"].to_numpy().astype(np.int64),
            part["_r"].to_numpy().astype(np.float64),
            merged.get(name, {}),
        )
    return out


def _splits(series: _Series, origin: date, cfg: AuditConfig) -> list[int]:
    """Week starts strictly inside the account's active span."""
    first = origin + timedelta(days=series.first)
    # The same week start as `week_of` (Python's weekday() is Polars' weekday() − 1).
    start = series.first - (first.weekday() - cfg.week_start) % 7
    return list(range(start + 7, series.last + 1, 7))


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
        origin = data.days["day"].min()
        assert isinstance(origin, date)
        series = _series(data, cfg, origin)
        fixed = (cfg.change_date - origin).days if cfg.change_date is not None else None
        # Per account, every admissible split: (split, ΔL, ΔO, multiple, n_before, n_after).
        # With a change date the fixed split is tested beside the search, each against its own
        # null, and the better p-value is doubled (Bonferroni over the two): a right date adds
        # power, a wrong one costs at most that factor of two.
        modes: dict[str, dict[str, list[Option]]] = {"search": {}}
        if fixed is not None:
            modes["date"] = {}
        for name in names:
            s = series.get(name)
            if s is None:
                continue
            for mode, found_by in modes.items():
                splits = (
                    [fixed] if mode == "date" and fixed is not None else _splits(s, origin, cfg)
                )
                found = [(t, *v) for t in splits if (v := s.sides(t)) is not None]
                if found:
                    found_by[name] = found
        tested = sorted(set().union(*modes.values()))
        if len(tested) < MIN_COHORT:
            return not_applicable(
                self.id,
                names,
                f"only {len(tested)} accounts have {MIN_SIDE_DAYS}+ active days on both sides "
                f"of a split (needs {MIN_COHORT})",
            )
        # The elasticity comes from one split per account (the middle one of the search), so that
        # the search below cannot choose the splits that make the line.
        middle = [opts[len(opts) // 2] for opts in modes["search"].values()] or [
            opts[0] for opts in modes["date"].values()
        ]
        slope, _ = siegel_slope(np.array([m[2] for m in middle]), np.array([m[1] for m in middle]))
        b = float(np.clip(slope, 0.0, MAX_ELASTICITY))
        best: dict[str, tuple[float, float, Option, EmpiricalNull]] = {}
        for found_by in modes.values():
            accounts = sorted(found_by)
            if len(accounts) < MIN_COHORT:
                continue
            chosen = [
                max(((o[1] - b * o[2], o) for o in found_by[n]), key=lambda v: (v[0], -v[1][0]))
                for n in accounts
            ]
            stat = np.array([c[0] for c in chosen])
            in_null = np.array([n not in data.null_excluded for n in accounts])
            if in_null.sum() < MIN_COHORT:
                in_null = np.ones(len(accounts), dtype=bool)
            null = EmpiricalNull(stat, in_null, floor=0.05)
            pvals = null.p(stat)
            for k, name in enumerate(accounts):
                p_k = min(1.0, float(pvals[k]) * len(modes))
                if name not in best or p_k < best[name][0]:
                    best[name] = (p_k, float(stat[k]), chosen[k][1], null)
        rows: list[ResultRow] = []
        for name in names:
            if name not in best:
                why = (
                    f"fewer than {MIN_SIDE_DAYS} active days on a side of {cfg.change_date}"
                    if cfg.change_date is not None
                    else f"fewer than {2 * MIN_SIDE_DAYS} active days to compare with each other"
                )
                rows.append(skipped(name, why))
                continue
            p, value, (split, _, d_o_i, ratio, n_b, n_a), null = best[name]
            since = origin + timedelta(days=split)
            out_ratio = math.exp(d_o_i)
            z = float(null.z(np.array([value]))[0])
            summary = (
                f"usage ×{ratio:.1f} vs the cohort since {since} ({n_b} active days before, "
                f"{n_a} after); merged output per active day ×{out_ratio:.1f} "
                f"(z={z:.1f}, {p_is(p)})"
            )
            clear = f"merged output rising with usage after {since}"
            brief = f"usage ×{ratio:.1f} since {since}, merged output ×{out_ratio:.1f}"
            rows.append((name, True, value, p, ratio, summary, clear, brief))
        return result_frame(self.id, rows)
