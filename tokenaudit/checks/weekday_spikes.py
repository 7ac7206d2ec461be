"""`weekday-spikes` (context): one weekday carrying far more of a person's usage than their other
days — the shape of padding timed to a weekly leaderboard snapshot whose day nobody gave.
Shown and ranked, never counted in a decision.

`deadline-spikes` tests the day before a given `--snapshot-day` as a mechanism; without that day
a snapshot gamer's weekly spike has no test, and on daily aggregates (no request timing, so no
loop to see either) nothing else in the scan looks at it.
Statistic: with r_d = log tokens_d − the cohort's median log tokens in d's week on the person's
worked days (`base.relative_usage`: an org-wide week moves nobody),
    D = max over weekdays w of mean(r_d : d on w) − mean(r_d : d not on w),
over the weekdays with `MIN_DAYS` worked days on them and `MIN_DAYS` off them.
H0: D is drawn from the organisation's distribution of D, which holds every honest weekly habit
(heavy Mondays, on-call days, a weekly planning session); every account gets the same search over
the weekdays, so the cohort's empirical null (`stats.EmpiricalNull`) needs no correction. p-value:
its upper tail. Effect: the weekday's usage multiple over the person's other days. A person is
compared with themselves, so the null is the whole organisation's (`by_role`).

Why it never flags: it credits no merged output (merges lag the work by days, so a weekday's own
output is not its work's), and honest weekly rhythms produce it too. As context it moved snapshot
gamers up the ranking: average precision over both generators' mixed organisations
(`benchmarks/detection.py`) 0.862 → 0.885 in the first, 0.80 → 0.81 in the second (docs/statistics.md).
"""

from __future__ import annotations

import math
from typing import ClassVar, Final

import numpy as np
import polars as pl

from tokenaudit.checks.base import (
    MIN_COHORT,
    CheckData,
    Group,
    NullModel,
    ResultRow,
    fit_organisation_null,
    not_applicable,
    organisation_null,
    relative_usage,
    result_frame,
    skipped,
)
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is

#: Worked days a weekday needs, on it and off it, to be compared.
MIN_DAYS: Final = 4
WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Share of the null's upper side its tail fit leaves out (`stats.CENSORED_SHARE`, as for the
#: checks that compare people).
CENSORED_SHARE: Final = 0.15
#: (D, weekday 1–7, worked days on it, worked days in all)
Found = tuple[float, int, int, int]


def _statistics(data: CheckData, cfg: AuditConfig) -> dict[str, Found]:
    """Per account, its heaviest weekday against its other worked days (the earliest weekday
    among equals)."""
    usage = (
        relative_usage(data.days, cfg)
        .sort("account", "day")
        .with_columns(pl.col("day").dt.weekday().alias("wd"))
    )
    per_day = usage.group_by("account", "wd").agg(pl.col("r").sum().alias("s"), pl.len().alias("n"))
    totals = usage.group_by("account").agg(
        pl.col("r").sum().alias("s_all"), pl.len().alias("n_all")
    )
    rest = pl.col("n_all") - pl.col("n")
    best = (
        per_day.join(totals, on="account")
        .filter((pl.col("n") >= MIN_DAYS) & (rest >= MIN_DAYS))
        .with_columns(
            (pl.col("s") / pl.col("n") - (pl.col("s_all") - pl.col("s")) / rest).alias("d")
        )
        .sort(["account", "d", "wd"], descending=[False, True, False])
        .group_by("account", maintain_order=True)
        .first()
    )
    return {
        str(account): (float(d), int(wd), int(n), int(n_all))
        for account, d, wd, n, n_all in best.select("account", "d", "wd", "n", "n_all").iter_rows()
    }


class WeekdaySpikes:
    id: ClassVar[str] = "weekday-spikes"
    group: ClassVar[Group] = Group.CONTEXT
    description: ClassVar[str] = (
        "one weekday carrying far more of the person's usage than their other days"
    )
    primary: ClassVar[bool] = False
    window_sensitive: ClassVar[bool] = False
    by_role: ClassVar[bool] = False
    ranking_weight: ClassVar[float] = 0.75

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
                f"only {len(found)} accounts have {MIN_DAYS} worked days on a weekday and off it "
                f"(a cohort needs {MIN_COHORT}, or give --reference)",
            )
        rows: list[ResultRow] = []
        for name in names:
            if name not in found:
                rows.append(
                    skipped(name, f"fewer than {MIN_DAYS} worked days on any weekday and off it")
                )
                continue
            d, weekday, on, worked = found[name]
            p = float(null.p(np.array([d]))[0])
            z = float(null.z(np.array([d]))[0])
            day = WEEKDAYS[weekday - 1]
            usage = math.exp(d)
            rows.append(
                (
                    name,
                    True,
                    d,
                    p,
                    usage,
                    f"usage ×{usage:.1f} on {day}s vs its other worked days ({on} of {worked} "
                    f"worked days; z={z:.1f}, {p_is(p)}); context: it ranks, never flags",
                    "usage even across the weekdays",
                    f"usage ×{usage:.1f} on {day}s (context, not counted)",
                )
            )
        return result_frame(self.id, rows)
