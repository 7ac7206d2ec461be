"""`weekday-spikes` (context): one weekday carrying far more of a person's usage than their other
days — the shape of padding timed to a weekly leaderboard snapshot whose day nobody gave.
Shown and ranked, never counted in a decision.

`deadline-spikes` tests the day before a given `--snapshot-day` as a mechanism; without that day
a snapshot gamer's weekly spike has no test, and on daily aggregates (no request timing, so no
loop to see either) nothing else in the scan looks at it.
Statistic: with r_d = log tokens_d − the cohort's median log tokens in d's week on the person's
worked days (`base.relative_usage`: an org-wide week moves nobody), m_w the mean of r_d over the
person's days on weekday w (weekdays with `MIN_DAYS` worked days; `MIN_WEEKDAYS` of them needed),
    t_w = (m_w − median of the other weekdays' m_v) / (s · √(1/n_w + 1/n_other))
    T   = max over w of t_w
with s the person's own day-to-day spread around their weekday levels (pooled). The median of
the other weekdays, not the mean of the other days: a light weekend check-in would otherwise
raise every weekday (measured in review: 16 of 20 honest people with light Saturdays at p < 0.05).
Standard errors, not raw differences: a weekday of 4 days is noisier than one of 20, and joiners
otherwise ranked on noise (9 of 20 at p < 0.05).
H0: T is drawn from the organisation's distribution of T, which holds every honest weekly habit
(heavy Mondays, on-call days, a weekly planning session); the search over an account's weekdays
is part of the statistic, so the cohort's empirical null (`stats.EmpiricalNull`) needs no
correction of its own (people who work 7 weekdays search more of them; their T is compared with
everyone's, which is conservative for Monday-to-Friday people). p-value: its upper tail. Effect:
the weekday's usage multiple over the person's other weekdays. A person is compared with
themselves, so the null is the whole organisation's (`by_role`).

Why it never flags: it credits no merged output (merges lag the work by days, so a weekday's own
output is not its work's), and honest weekly rhythms produce it too. As context it moved snapshot
gamers up the ranking: average precision over both generators' mixed organisations
(`benchmarks/detection.py`) 0.862 → 0.888 in the first, 0.80 → 0.83 in the second
(docs/statistics.md).
"""

from __future__ import annotations

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
    p_and_z,
    result_frame,
    run_means,
    run_starts,
    shared_relative_usage,
    skipped,
)
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is

#: Worked days a weekday needs to have a level, and weekdays with a level an account needs.
MIN_DAYS: Final = 4
MIN_WEEKDAYS: Final = 3
#: A person's day-to-day spread is never taken as less than this (log tokens): a perfectly
#: steady series would make any difference infinitely significant.
MIN_SPREAD: Final = 0.05
WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Share of the null's upper side its tail fit leaves out (`stats.CENSORED_SHARE`, as for the
#: checks that compare people).
CENSORED_SHARE: Final = 0.15
#: (t, weekday 1–7, worked days on it, worked days in all, usage multiple)
Found = tuple[float, int, int, int, float]


def _spread(levels: pl.DataFrame) -> pl.DataFrame:
    """`account, sd, n_all`: each account's day-to-day spread around its weekday levels (pooled
    over its weekdays, added up in row order as `base.run_means` does) and its worked days on
    them. `levels` is in account order."""
    if levels.is_empty():
        return pl.DataFrame(schema={"account": pl.String, "sd": pl.Float64, "n_all": pl.Int64})
    starts = run_starts(levels, ["account"])
    n = levels["n"].to_numpy()
    k = np.diff(np.append(starts, n.size))
    n_all = np.add.reduceat(n, starts)
    pooled = np.add.reduceat(levels["ss"].to_numpy(), starts) / (n_all - k)
    return pl.DataFrame(
        {
            "account": levels["account"].gather(starts),
            "sd": np.maximum(np.sqrt(pooled), MIN_SPREAD),
            "n_all": n_all.astype(np.int64),
        }
    )


def _statistics(data: CheckData, cfg: AuditConfig) -> dict[str, Found]:
    """Per account, its heaviest weekday against its other weekdays (the earliest weekday among
    equals)."""
    usage = (
        shared_relative_usage(data, cfg)
        .with_columns(pl.col("day").dt.weekday().alias("wd"))
        .sort("account", "wd", "day")
    )
    levels = run_means(usage, ["account", "wd"], "r").rename({"r": "m"})
    levels = levels.filter(pl.col("n") >= MIN_DAYS).filter(pl.len().over("account") >= MIN_WEEKDAYS)
    spread = _spread(levels)
    # Each weekday against the median of the person's other weekdays' levels, not the mean of
    # their other days: a light weekend check-in would otherwise raise every weekday.
    others = (
        levels.select("account", "wd", "m", "n")
        .join(
            levels.select(
                "account",
                pl.col("wd").alias("wd_o"),
                pl.col("m").alias("m_o"),
                pl.col("n").alias("n_o"),
            ),
            on="account",
        )
        .filter(pl.col("wd") != pl.col("wd_o"))
        .group_by("account", "wd")
        .agg(pl.col("m").first(), pl.col("n").first(), pl.col("m_o").median(), pl.col("n_o").sum())
    )
    diff = pl.col("m") - pl.col("m_o")
    # A difference of means in units of its standard error: a weekday of 4 days and one of 20
    # are then read on one scale (raw, the short series' noise outranked the long ones).
    best = (
        others.join(spread, on="account")
        .with_columns(
            (diff / (pl.col("sd") * (1 / pl.col("n") + 1 / pl.col("n_o")).sqrt())).alias("t"),
            diff.exp().alias("x"),
        )
        .sort(["account", "t", "wd"], descending=[False, True, False])
        .group_by("account", maintain_order=True)
        .first()
    )
    return {
        str(account): (float(t), int(wd), int(n), int(n_all), float(x))
        for account, t, wd, n, n_all, x in best.select(
            "account", "t", "wd", "n", "n_all", "x"
        ).iter_rows()
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
    ranks_by_z: ClassVar[bool] = False
    confirms: ClassVar[bool] = False
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
                f"only {len(found)} accounts have {MIN_DAYS} worked days on each of "
                f"{MIN_WEEKDAYS} weekdays (a cohort needs {MIN_COHORT}, or give --reference)",
            )
        p_of, z_of = p_and_z(null, {a: value[0] for a, value in found.items()})
        rows: list[ResultRow] = []
        for name in names:
            if name not in found:
                rows.append(
                    skipped(
                        name, f"fewer than {MIN_WEEKDAYS} weekdays with {MIN_DAYS}+ worked days"
                    )
                )
                continue
            t, weekday, on, worked, usage = found[name]
            p, z = p_of[name], z_of[name]
            day = WEEKDAYS[weekday - 1]
            rows.append(
                (
                    name,
                    True,
                    t,
                    p,
                    usage,
                    f"usage ×{usage:.1f} on {day}s vs its other weekdays ({on} of {worked} "
                    f"worked days; z={z:.1f}, {p_is(p)}); context: it ranks, never flags",
                    "usage even across the weekdays",
                    f"usage ×{usage:.1f} on {day}s (context, not counted)",
                )
            )
        return result_frame(self.id, rows)
