"""`heavy-weeks` (context): weeks of heavy usage that merged output did not follow — usage that
comes and goes. Shown and ranked, never counted in a decision.

`usage-jump` finds one rise; padding that is switched on for some weeks and off for others
(before each leaderboard snapshot, in the weeks somebody is watching) has no single split.
Statistic: the account's worked weeks (2+ worked days, `base.worked_days`) ranked by their mean
r_d = log tokens_d − the cohort's median log tokens in d's week (so an org-wide week moves
nobody); for the heaviest k weeks against the others,
    ΔL_k = mean of the heavy weeks' r − mean of the other weeks' r
    ΔO_k = log rate(heavy) − log rate(other)      rate = (merged changes + ½) / worked days,
                                                  a week's changes those merged in it (a
                                                  window reaching into the next week credited
                                                  a heavy week's output to the light week
                                                  before it as well, and blurred the contrast)
    D    = max over k from a quarter to half of the weeks of ΔL_k − max(ΔO_k, 0)
(output that rose in the heavy weeks explains them in full; output that fell explains nothing).
H0: D is drawn from the organisation's distribution of D, which includes honest weeks of agent
runs, on-call and deadlines; every account gets the same search over k, so the cohort's empirical
null (`stats.EmpiricalNull`, 30 % of the upper side censored, as padders who pad the same
weeks are a block in its tail) needs no
correction. p-value: its upper tail. Effect: the heavy weeks' usage multiple over the others.
Needs 6 worked weeks. A person is compared with themselves, so the null is the whole
organisation's (`by_role`).

Why it never flags: honest agent fleets and agent runs that come and go by the week produce it too
(fleet weeks at ×8 the usage of the person's other weeks for ×1.6 the output). Counted as outcome
evidence on both generators' organisations (`benchmarks/detection.py`), it found three times as many
intermittent padders but doubled the honest people in `review` (all-honest organisations: worst
0.5 % → 2.0 %; leaderboard launches: 1.6 % → 2.2 %), and its fourth share of the Bonferroni
combination cost trivial-merge padders their confirmation (`suspicious` recall 0.81 → 0.74). As
context it moves accounts up the ranking a reviewer reads, and it confirms tier 2 beside the
outcome checks (`confirms`): an account that passed the mechanism screen and whose heavy weeks
shipped no more than its light ones is not a busy account that ships. That decides nothing for
anyone who did not pass the screen, so it cannot add an honest `suspicious` (decide.py).
"""

from __future__ import annotations

import math
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
    account_runs,
    fit_organisation_null,
    not_applicable,
    organisation_null,
    p_and_z,
    result_frame,
    run_means,
    shared_relative_usage,
    skipped,
)
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is

#: Worked days a week needs to have a level, and worked weeks an account needs to be judged.
MIN_WEEK_DAYS: Final = 2
MIN_WEEKS: Final = 6
#: Padders who pad the same weeks are a block in the tail (see `usage_jump.JUMP_CENSORED_SHARE`,
#: 0.4 there; measured here at 0.3, and context only).
CENSORED_SHARE: Final = 0.3

#: (D, usage multiple, output multiple, heavy weeks, weeks)
Found = tuple[float, float, float, int, int]


def _weeks(data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
    """Per account and worked week: mean r (`base.run_means`), worked days, and merged changes
    credited to it."""
    usage = shared_relative_usage(data, cfg).sort("account", "week", "day")
    weeks = (
        run_means(usage, ["account", "week"], "r").drop("ss").filter(pl.col("n") >= MIN_WEEK_DAYS)
    )
    if data.outputs is None or data.outputs.is_empty() or weeks.is_empty():
        return weeks.with_columns(pl.lit(0, dtype=pl.Int64).alias("changes"))
    credited = (
        data.outputs.with_columns(week_of(pl.col("day"), cfg).alias("week"))
        .group_by("account", "week")
        .agg(pl.col("changes").sum())
    )
    return weeks.join(credited, on=["account", "week"], how="left").with_columns(
        pl.col("changes").fill_null(0).cast(pl.Int64)
    )


def _best(r: np.ndarray, n: np.ndarray, changes: np.ndarray) -> Found:
    """The largest D over k heavy weeks, k from a quarter to half of the weeks."""
    order = np.argsort(-r, kind="stable")
    r, n, changes = r[order], n[order], changes[order]
    weeks = r.size
    # Whole counts: their partial sums are exact, whichever order they are added in, so the
    # sums of each side are differences of one running total.
    n_upto = np.cumsum(n).tolist()
    changes_upto = np.cumsum(changes).tolist()
    best: Found | None = None
    for k in range(max(1, math.ceil(weeks / 4)), weeks // 2 + 1):
        # `mean` is numpy's own sum divided by the count (the same float); called directly,
        # without its Python wrapper, for each k of each of 20,000 accounts.
        d_l = float(np.add.reduce(r[:k]) / k - np.add.reduce(r[k:]) / (weeks - k))
        rate_h = (changes_upto[k - 1] + 0.5) / n_upto[k - 1]
        rate_o = (changes_upto[-1] - changes_upto[k - 1] + 0.5) / (n_upto[-1] - n_upto[k - 1])
        d_o = math.log(rate_h / rate_o)
        d = d_l - max(d_o, 0.0)
        if best is None or d > best[0]:
            best = (d, math.exp(d_l), math.exp(d_o), k, weeks)
    assert best is not None
    return best


def _statistics(data: CheckData, cfg: AuditConfig) -> dict[str, Found]:
    weeks = _weeks(data, cfg).sort("account", "week")
    out: dict[str, Found] = {}
    if weeks.is_empty():
        return out
    r = weeks["r"].to_numpy().astype(np.float64)
    n = weeks["n"].to_numpy().astype(np.float64)
    changes = weeks["changes"].to_numpy().astype(np.float64)
    for name, lo, hi in account_runs(weeks):
        if hi - lo >= MIN_WEEKS:
            out[name] = _best(r[lo:hi], n[lo:hi], changes[lo:hi])
    return out


class HeavyWeeks:
    id: ClassVar[str] = "heavy-weeks"
    group: ClassVar[Group] = Group.CONTEXT
    description: ClassVar[str] = (
        "weeks of heavy usage, relative to the person's other weeks, that merged output did not "
        "follow"
    )
    primary: ClassVar[bool] = False
    window_sensitive: ClassVar[bool] = False
    by_role: ClassVar[bool] = False
    ranking_weight: ClassVar[float] = 0.75
    ranks_by_z: ClassVar[bool] = False
    confirms: ClassVar[bool] = True
    habitual: ClassVar[bool] = False

    def fit(self, data: CheckData, cfg: AuditConfig) -> NullModel | None:
        found = _statistics(data, cfg)
        return fit_organisation_null({a: f[0] for a, f in found.items()}, data, CENSORED_SHARE)

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
        names = data.accounts.sort("account")["account"].to_list()
        found = _statistics(data, cfg)
        null = organisation_null({a: f[0] for a, f in found.items()}, data, CENSORED_SHARE)
        if null is None:
            return not_applicable(
                self.id,
                names,
                f"only {len(found)} accounts have {MIN_WEEKS} worked weeks (a cohort needs "
                f"{MIN_COHORT}, or give --reference)",
            )
        p_of, z_of = p_and_z(null, {a: value[0] for a, value in found.items()})
        rows: list[ResultRow] = []
        for name in names:
            if name not in found:
                rows.append(
                    skipped(name, f"fewer than {MIN_WEEKS} weeks with {MIN_WEEK_DAYS}+ worked days")
                )
                continue
            d, usage, output, k, weeks = found[name]
            p, z = p_of[name], z_of[name]
            evidence = (
                f"usage ×{usage:.1f} in its {k} heaviest of {weeks} weeks vs the others; merged "
                f"output per worked day ×{output:.1f}"
            )
            rows.append(
                (
                    name,
                    True,
                    d,
                    p,
                    usage,
                    f"{evidence} (z={z:.1f}, {p_is(p)}); context: it ranks, never flags",
                    "merged output rising in the heavy weeks, or usage even across weeks",
                    f"usage ×{usage:.1f} in {k} of {weeks} weeks, merged output ×{output:.1f} "
                    "(context, not counted)",
                )
            )
        return result_frame(self.id, rows)
