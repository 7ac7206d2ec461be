"""`usage-jump`: the account against its own past — a rise in usage its merged output did not follow.

Honest people differ from each other by a factor of ten in tokens for the same output; one person
differs from their own earlier weeks far less. So this check compares each account with itself:
for a split day s (the `--change-date`, or else the week start that fits best),
    ΔL = mean(r_d, d ≥ s) − mean(r_d, d < s)      r_d = log tokens_d − median of the cohort's
                                                    log tokens in d's week (an org-wide shift,
                                                    a new model or a leaderboard launch, moves
                                                    nobody)
    ΔO = log rate_after − log rate_before          rate = (merged changes + ½) / active days
    D  = ΔL − ΔO when output rose, ΔL − b·ΔO when it fell
where b, the elasticity of usage with output, is a Siegel line of ΔL on ΔO across the cohort at
the middle split (clipped to [0, 1]): output that rose with the usage explains it in full (see
`_best`), a fall in output explains a fall in usage at the cohort's elasticity. Without a
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
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from itertools import accumulate
from typing import ClassVar, Final

import numpy as np
import polars as pl

from tokenaudit.checks.base import (
    MIN_COHORT,
    CheckData,
    Group,
    NullModel,
    ResultRow,
    account_runs,
    fit_organisation_null,
    not_applicable,
    result_frame,
    shared_relative_usage,
    skipped,
)
from tokenaudit.checks.stats import EmpiricalNull, siegel_slope
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is

#: Active days each side of a split needs.
MIN_SIDE_DAYS: Final = 8
#: Where the rise is only reported (no null to judge it by), sides of this many active days do:
#: every account with 10+ active days shows its own before and after.
MIN_SIDE_DAYS_REPORTED: Final = 5
#: Share of the upper side left out of the null's tail fit (`EmpiricalNull`; 0.15 elsewhere).
#: Padders who start together (a leaderboard launch) are up to 15 % of an organisation, so up to
#: 30 % of its upper side. The share must clear theirs with room to spare: a censored value still
#: counts as tail mass ("beyond c"), so padders just inside the censored share set the tail. At
#: 0.15 they explained themselves (one generated organisation: 5 of 18 padders at ×3+ found, at
#: 0.3: 16); at 0.3, with padders 26 % of the upper side, the tail came out a t with 2 degrees of
#: freedom (padders at ×3–7 p = 0.01–0.04): on daily aggregates, where no mechanism screen keeps
#: loop padders out of the null, 0.39 of launch padders found, 0.75 at 0.4 (0.79 at 0.5, which
#: cost the first generator's mixed organisations average precision). Honest rises — agent
#: adopters, joiners, returns from leave — are fewer and smaller once a scheduled job's days are
#: taken out (`base.worked_days`): on all-honest organisations of both generators 0.4 put no more
#: honest people in `review` than 0.15; on mixed ones the worst went from 0.6 % to 1.1 %.
JUMP_CENSORED_SHARE: Final = 0.4
#: ... and what that censoring cannot see: the honest tail beyond it. The search gives each
#: person the week that shows their largest rise, so an honest agent adopter's rise (usage ×3–10
#: from one week, merged output ×1.3–3) is their D; spread over the period, adopters are 5–10 %
#: of an organisation and all of them lie in the censored share. The fit then read its tail off
#: the people who did not change, and called it normal (ν = 25–60) in 12 of 16 all-honest
#: organisations of the blind family (`benchmarks/blind_orgs.py`), against ν ≈ 3 for their
#: honest people pooled without censoring. The search's tail is therefore never lighter than a t
#: with this many degrees of freedom. On 12 all-honest organisations of that family
#: (`--scenarios honest --seed 555`, `benchmarks/results/blind-honest-200-seed555.md`): honest
#: p ≤ 0.001 2.3 % → 0.5 % (23 times the level, then 5), honest people in `review` 47 → 1 of
#: 2,400 (10 → 1 of 200 in the worst organisation). At 4: 0.09 %, but launch padders found
#: without a date 0.95 → 0.79 on `families` (at 5: 0.87); at 8: 1.2 %, 14 of 2,400 in `review`,
#: 5 of 200 in the worst organisation. A given `--change-date` tests one split, no maximum over
#: weeks, and keeps its own fit, which gives back part of the power (`families` launch padders
#: 0.91 with the right date, 0.95 before the bound; `simulate` 0.78, 0.84 before). Its fit has
#: the same blind spot for honest adopters who start at that very date (one in `review` in the
#: blind family's four launch organisations scanned with their date): a date is the user's
#: hypothesis that people changed then, and the people who did are what it shows.
SEARCH_NU_MAX: Final = 5.0
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
        # NOTE: `day_no` is in ascending order (one row per active day), so each side of a split
        # is a slice: `sides` runs for every week of every account (10,000s of accounts), and
        # masks over the arrays cost it four times as much. Its means are numpy's own sums of the
        # same values in the same order, so the numbers do not change.
        self.day_no = day_no
        self.r = r
        self.first, self.last = int(day_no[0]), int(day_no[-1])
        self._days = day_no.tolist()
        self._merge_days = sorted(merged)
        # Whole counts: their partial sums are exact, whichever order they are added in.
        self._merged_before = [0, *accumulate(merged[d] for d in self._merge_days)]
        self._first_merge = bisect_left(self._merge_days, self.first)
        self._past_last = bisect_right(self._merge_days, self.last)

    def options(self, splits: list[int], min_side: int = MIN_SIDE_DAYS) -> list[Option]:
        """`(split, ΔL, ΔO, usage multiple, active days before, after)` of every split whose
        sides have `min_side` active days, each usage contrast worked out once for the splits
        that share their days (the weeks between two active days of a light account)."""
        days, r, add = self._days, self.r, np.add.reduce
        total = len(days)
        merge_days, merged = self._merge_days, self._merged_before
        first_merge, past_last = self._first_merge, self._past_last
        contrast: dict[int, float] = {}
        out: list[Option] = []
        for split in splits:
            n_b = bisect_left(days, split)
            n_a = total - n_b
            if n_b < min_side or n_a < min_side:
                continue
            d_l = contrast.get(n_b)
            if d_l is None:
                d_l = contrast[n_b] = float(add(r[n_b:]) / n_a - add(r[:n_b]) / n_b)
            at = min(max(bisect_left(merge_days, split), first_merge), past_last)
            rate_b = (float(merged[at] - merged[first_merge]) + 0.5) / n_b
            rate_a = (float(merged[past_last] - merged[at]) + 0.5) / n_a
            out.append((split, d_l, math.log(rate_a / rate_b), math.exp(d_l), n_b, n_a))
        return out


def _series(data: CheckData, cfg: AuditConfig, origin: date) -> dict[str, _Series]:
    # Only the columns used: the panel has 31, and each of its account-days is copied here
    # (filtered, sorted, then split per account).
    days = (
        shared_relative_usage(data, cfg)
        .select(
            "account",
            "day",
            pl.col("r").alias("_r"),
            (pl.col("day") - pl.lit(origin)).dt.total_days().alias("_n"),
        )
        .sort("account", "day")
    )
    merged: dict[str, dict[int, int]] = {}
    if data.outputs is not None and data.outputs.height:
        per_day = (
            data.outputs.group_by("account", "day")
            .agg(pl.col("changes").sum())
            .with_columns((pl.col("day") - pl.lit(origin)).dt.total_days().alias("_n"))
        )
        for account, n, changes in per_day.select("account", "_n", "changes").iter_rows():
            merged.setdefault(account, {})[int(n)] = int(changes)
    # Slices of whole-column arrays (`account_runs`; `_Series` says why the order matters).
    day_no = days["_n"].to_numpy().astype(np.int64)
    r = days["_r"].to_numpy().astype(np.float64)
    return {
        name: _Series(day_no[lo:hi], r[lo:hi], merged.get(name, {}))
        for name, lo, hi in account_runs(days)
    }


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
    primary: ClassVar[bool] = False
    window_sensitive: ClassVar[bool] = False
    #: A person is compared with their own past, so role differences in level cancel; what the
    #: cohort gives is the spread of honest changes, and padders cluster in roles (a launch
    #: padded a quarter of one generated organisation's data team), which a role's small null
    #: cannot censor away. The whole organisation's can.
    by_role: ClassVar[bool] = False
    ranking_weight: ClassVar[float] = 0.75
    ranks_by_z: ClassVar[bool] = False
    confirms: ClassVar[bool] = True
    habitual: ClassVar[bool] = False

    def fit(self, data: CheckData, cfg: AuditConfig) -> NullModel | None:
        prepared = _prepare(data, cfg)
        return _fit(prepared, data) if prepared is not None else None

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
        names = data.accounts.sort("account")["account"].to_list()
        prepared = _prepare(data, cfg)
        if prepared is None:
            return not_applicable(self.id, names, "no usage")
        model = data.reference if data.reference is not None else _fit(prepared, data)
        if model is None:
            # Nothing to judge by: report each person's own before and after, on shorter sides.
            prepared = _prepare(data, cfg, MIN_SIDE_DAYS_REPORTED) or prepared
        b = model["elasticity"] if model is not None else MAX_ELASTICITY
        best: dict[str, tuple[float, float, Option, EmpiricalNull | None]] = {}
        p_of_modes: dict[str, list[float]] = {}  # per account, one p per mode with a null
        for mode in prepared.modes:
            null = (
                _bounded(EmpiricalNull.from_params(model, f"{mode}_"), mode)
                if model is not None and f"{mode}_centre" in model
                else None
            )
            chosen = _chosen(prepared, mode, b)
            values = np.array([value for value, _ in chosen.values()], dtype=np.float64)
            if null is not None and data.reference is not None:
                null = null.recentred(values)
            # Every account's p at once: elementwise, so each is the number a call of its own
            # gives, without 20,000 calls.
            p_all = null.p(values).tolist() if null is not None else [math.nan] * values.size
            for (name, (value, option)), p_one in zip(chosen.items(), p_all, strict=True):
                if null is not None:
                    p_of_modes.setdefault(name, []).append(p_one)
                if name not in best or p_one < best[name][0] or math.isnan(best[name][0]):
                    best[name] = (p_one if null is not None else math.nan, value, option, null)
        for name, found in best.items():
            if name in p_of_modes:
                best[name] = (simes(p_of_modes[name]), *found[1:])
        return result_frame(self.id, [self._row(n, best.get(n), prepared, cfg) for n in names])

    def _row(
        self,
        name: str,
        found: tuple[float, float, Option, EmpiricalNull | None] | None,
        prepared: _Prepared,
        cfg: AuditConfig,
    ) -> ResultRow:
        if found is None:
            why = (
                f"fewer than {MIN_SIDE_DAYS} active days on a side of {cfg.change_date}"
                if cfg.change_date is not None
                else f"fewer than {2 * MIN_SIDE_DAYS} active days to compare with each other"
            )
            return skipped(name, why)
        p, value, (split, _, d_o, ratio, n_b, n_a), null = found
        since = prepared.origin + timedelta(days=split)
        evidence = (
            f"usage ×{ratio:.1f} vs the cohort since {since} ({n_b} active days before, "
            f"{n_a} after); merged output per active day ×{math.exp(d_o):.1f}"
        )
        if null is None:
            # Reported, not judged: a person's own rise needs the spread of honest rises (a
            # cohort of MIN_COHORT, or a reference) before it can be called unusual.
            return skipped(
                name,
                f"{evidence}; not judged: needs a cohort of {MIN_COHORT} accounts or --reference",
            )
        z = float(null.z(np.array([value]))[0])
        summary = f"{evidence} (z={z:.1f}, {p_is(p)})"
        clear = f"merged output rising with usage after {since}"
        brief = f"usage ×{ratio:.1f} since {since}, merged output ×{math.exp(d_o):.1f}"
        return (name, True, value, p, ratio, summary, clear, brief)


def simes(pvalues: list[float]) -> float:
    """Simes' combination, min over k of m · p_(k) / k: with a change date the fixed split is
    tested beside the search, each against its own null.

    Why Simes and not Bonferroni (min over modes of 2 p, the rule before): the two statistics
    are positively dependent (the search's maximum includes the date's split), under which
    Simes is valid (Sarkar 1998), and it never exceeds the larger p. So a right date, whose p is
    the smaller, gives at most the search's own p and escapes the search's penalty where it is
    the smaller by half; a wrong date costs at most a factor of two, as before. Measured on both
    generators' launch organisations (`benchmarks/detection.py`): with Bonferroni a right date
    lost recall wherever the search already found the launch (200 accounts, `simulate`: 0.84
    without a date, 0.81 with the right one)."""
    ordered = sorted(pvalues)
    m = len(ordered)
    return min(1.0, min(m * p / k for k, p in enumerate(ordered, start=1)))


@dataclass(frozen=True)
class _Prepared:
    origin: date
    period_days: int
    #: Per mode ("search", "date"), per account, every admissible split.
    modes: dict[str, dict[str, list[Option]]]

    #: `_chosen`'s answers by (mode, elasticity): the null's fit and the run choose the same.
    chosen: dict[tuple[str, float], dict[str, tuple[float, Option]]] = field(default_factory=dict)

    @property
    def tested(self) -> set[str]:
        return set().union(*self.modes.values())


def _chosen(prepared: _Prepared, mode: str, b: float) -> dict[str, tuple[float, Option]]:
    """Per account of `mode`, its best split at elasticity `b` (`_best`), worked out once."""
    key = (mode, b)
    if key not in prepared.chosen:
        prepared.chosen[key] = {
            name: _best(options, b) for name, options in prepared.modes[mode].items()
        }
    return prepared.chosen[key]


def _prepare(data: CheckData, cfg: AuditConfig, min_side: int = MIN_SIDE_DAYS) -> _Prepared | None:
    if data.days.is_empty():
        return None
    origin = data.days["day"].min()
    last = data.days["day"].max()
    assert isinstance(origin, date) and isinstance(last, date)
    series = _series(data, cfg, origin)
    fixed = (cfg.change_date - origin).days if cfg.change_date is not None else None
    modes: dict[str, dict[str, list[Option]]] = {"search": {}}
    if fixed is not None:
        modes["date"] = {}
    for name, s in series.items():
        for mode, found_by in modes.items():
            splits = [fixed] if mode == "date" and fixed is not None else _splits(s, origin, cfg)
            found = s.options(splits, min_side)
            if found:
                found_by[name] = found
    return _Prepared(origin, (last - origin).days + 1, modes)


def _fit(prepared: _Prepared, data: CheckData) -> NullModel | None:
    if len(prepared.tested) < MIN_COHORT:
        return None
    b = _elasticity(prepared.modes)
    model: NullModel = {"elasticity": b, "period_days": float(prepared.period_days)}
    for mode in prepared.modes:
        statistic = {name: value for name, (value, _) in _chosen(prepared, mode, b).items()}
        fitted = fit_organisation_null(statistic, data, JUMP_CENSORED_SHARE, prefix=f"{mode}_")
        if fitted is not None:
            model |= _bounded(EmpiricalNull.from_params(fitted, f"{mode}_"), mode).params(
                f"{mode}_"
            )
    return model


def _bounded(null: EmpiricalNull, mode: str) -> EmpiricalNull:
    """The null as the search reads it: a tail never lighter than `SEARCH_NU_MAX` degrees of
    freedom (a reference saved before the bound is read the same way); a date's as fitted."""
    if mode != "search" or null.nu <= SEARCH_NU_MAX:
        return null
    return replace(null, nu=SEARCH_NU_MAX)


def _elasticity(modes: dict[str, dict[str, list[Option]]]) -> float:
    """The cohort's elasticity of usage with output, from one split per account (the middle one
    of the search), so that the search cannot choose the splits that make the line."""
    middle = [opts[len(opts) // 2] for opts in modes["search"].values()] or [
        opts[0] for opts in modes.get("date", {}).values()
    ]
    if len(middle) < 2:
        return MAX_ELASTICITY
    slope, _ = siegel_slope(np.array([m[2] for m in middle]), np.array([m[1] for m in middle]))
    return float(np.clip(slope, 0.0, MAX_ELASTICITY))


def _best(options: list[Option], b: float) -> tuple[float, Option]:
    """The split with the largest D = ΔL − b·ΔO (the earliest among equals), a rise in output
    credited in full (`MAX_ELASTICITY`).

    Why a rise is credited in full and a fall only at b: the cohort's b is attenuated (merge
    counts are noisy, so the fitted line is flatter than the true link), and honest people who
    adopt agents that ship — usage ×5, merged output ×3 — then kept most of their rise as
    evidence. A rise in output is never evidence of padding, and tokens rising in step with
    output leave tokens per output where they were; a padder's output does not rise, so the
    credit costs the test nothing against padding."""

    def d(o: Option) -> float:
        return o[1] - (MAX_ELASTICITY if o[2] > 0 else b) * o[2]

    return max(((d(o), o) for o in options), key=lambda v: (v[0], -v[1][0]))
