"""The one interface every check implements, and the frame every check returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Final, Protocol

import numpy as np
import polars as pl

from tokenaudit.calendar import rayleigh_p, week_of
from tokenaudit.checks.stats import EmpiricalNull
from tokenaudit.config import AuditConfig
from tokenaudit.schema import PHASE_PERIODS

#: A cohort-fitted null needs this many accounts (fewer: not applicable, unless a reference gives
#: the null).
MIN_COHORT: Final = 10
#: A day's bursts are tested for a cron phase only when there are at least this many of them, and
#: are in step with one when the phase test's p (Bonferroni over `PHASE_PERIODS`) is below PHASE_P.
MIN_BURSTS: Final = 8
PHASE_P: Final = 1e-3
#: "What would clear it" names the level at which a one-sided p-value would exceed this.
CLEAR_P: Final = 0.05


class Group(StrEnum):
    #: Evidence that usage is not followed by merged work (tier 1).
    OUTCOME = "outcome"
    #: Evidence of how usage was inflated (needed for tier 2).
    MECHANISM = "mechanism"
    #: Shown and ranked, never counted in a decision: evidence that honest work produces too
    #: often to flag anyone by, but that orders the accounts a reviewer looks at first.
    CONTEXT = "context"


#: The exact result schema of `Check.run`: one row per account given in `CheckData.accounts`.
RESULT_SCHEMA: Final[dict[str, pl.DataType]] = {
    "account": pl.String(),
    "check": pl.String(),
    "applicable": pl.Boolean(),
    #: The test statistic (check-specific; documented on the check).
    "statistic": pl.Float64(),
    #: One-sided p-value under the honest-cohort null; null when not applicable.
    "p_value": pl.Float64(),
    #: Effect size on a scale a reviewer can read (a multiple or a share).
    "effect": pl.Float64(),
    #: The effect in words and numbers, or why the check did not apply.
    "summary": pl.String(),
    #: What would clear the account on this check, in the check's own units.
    "clear": pl.String(),
    #: The effect in a few words, for the one-line `reasons` of the report.
    "brief": pl.String(),
}


#: `CheckData.derived`: per name, (the days, the configuration, the frame worked out from them).
Derived = dict[str, tuple[pl.DataFrame, AuditConfig, pl.DataFrame]]


@dataclass(frozen=True)
class CheckData:
    """What every check may read.

    `accounts`: one row per account to test, with its totals (see `audit.account_totals`).
    `days`: the account-day panel of those accounts (usage, timing fingerprints, follow-up flags).
    `outputs`: merged output per account and day.
    """

    accounts: pl.DataFrame
    days: pl.DataFrame
    window_days: int
    #: Merged output per account and day (`account, day, changes, …`), for checks that follow
    #: output over time; None when the caller has none.
    outputs: pl.DataFrame | None = None
    #: Accounts that are tested but left out of the cohort's null model: those with strong
    #: mechanism evidence (the tier-2 screen). Their own excess would otherwise widen the null
    #: until it explains them; honest accounts' mechanism statistics carry no information about
    #: their outcomes (the independent-filtering assumption), so leaving these out does not
    #: bias the null for anyone else.
    null_excluded: frozenset[str] = frozenset()
    #: This check's null model from a reference population (`--reference`): when given, the
    #: check compares the accounts with it instead of fitting its own to this cohort, so it runs
    #: at any team size.
    reference: Mapping[str, float] | None = None
    #: Frames that several checks work out from `days` alike (`shared_relative_usage`). The
    #: caller may give one dict to every `CheckData` of a run: each frame is kept with the days
    #: and the configuration it came from, and reused only for the same ones.
    derived: Derived = field(default_factory=dict, compare=False, repr=False)


#: A check's fitted null model: named numbers only, never a name or a count of one person.
NullModel = dict[str, float]


class Check(Protocol):
    """A statistical check. Implementations are stateless; `run` must be pure and deterministic,
    accept empty and one-account input, and never return NaN (degenerate cases are not applicable).
    """

    id: ClassVar[str]
    group: ClassVar[Group]
    description: ClassVar[str]
    #: The outcome test a `suspicious` flag's excess is measured by (exactly one check).
    primary: ClassVar[bool]
    #: Its answer depends on the follow-up window (the fragility test reruns it with the window
    #: doubled).
    window_sensitive: ClassVar[bool]
    #: Its null is fitted within role cohorts (True), or over the whole organisation (False) when
    #: the statistic already compares like with like (a person with their own past).
    by_role: ClassVar[bool]
    #: How much its evidence counts in the ranking score (1: fully; less where honest people
    #: produce it too, as reviewers have barren days).
    ranking_weight: ClassVar[float]
    #: The ranking reads its statistic, a robust z against peers, on a normal tail rather than
    #: its p-value (`decide._usage_evidence` says why): the tests of the peer line.
    ranks_by_z: ClassVar[bool]
    #: Its evidence is of usage that merged work does not explain, so it confirms tier 2's
    #: mechanism screen: every outcome check, and a context check that credits the merged output
    #: of the same weeks, which still never flags by itself (`decide.tier_qvalues` says why that
    #: is safe).
    confirms: ClassVar[bool]
    #: A mechanism that honest people also show as a habit of their own, not only honest
    #: automation: its screen does not bound the error by itself, so an account that passes the
    #: screen on it alone is confirmed by the outcome tests only, at `confirm_p_habit`
    #: (`decide.tier_qvalues` says why).
    habitual: ClassVar[bool]

    def fit(self, data: CheckData, cfg: AuditConfig) -> NullModel | None:
        """The null model this cohort gives (None when it is too small to give one)."""
        ...

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame: ...


ResultRow = tuple[str, bool, float | None, float | None, float | None, str, str, str]


def account_runs(frame: pl.DataFrame) -> list[tuple[str, int, int]]:
    """(account, first row, row after the last) of each account's run of rows in `frame`, which
    is sorted by account. Checks take each account as slices of whole-column arrays: at 20,000
    accounts a `partition_by` and a conversion per frame cost more than the checks' own work,
    and a slice holds the same values in the same order, so every sum is the same float."""
    if frame.is_empty():
        return []
    starts = run_starts(frame, ["account"])
    ends = np.append(starts[1:], frame.height)
    names = [str(a) for a in frame["account"].gather(starts).to_list()]
    return list(zip(names, starts.tolist(), ends.tolist(), strict=True))


def run_starts(frame: pl.DataFrame, keys: list[str]) -> np.ndarray:
    """The first row of each run of equal `keys` in `frame` (none of them a float column).

    NOTE: compared by Polars, not as numpy arrays: a string column becomes an array of Python
    objects first (1M account-days: 0.09 s a call, against 0.007 s)."""
    change = pl.any_horizontal(pl.col(k).ne_missing(pl.col(k).shift(1)) for k in keys)
    return frame.select(change.fill_null(True)).to_series().arg_true().to_numpy().astype(np.int64)


def result_frame(check_id: str, rows: list[ResultRow]) -> pl.DataFrame:
    """Build a result frame with the exact schema, whatever the number of rows."""
    cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in range(8)]
    return pl.DataFrame(
        {
            "account": list(cols[0]),
            "check": [check_id] * len(rows),
            "applicable": list(cols[1]),
            "statistic": list(cols[2]),
            "p_value": list(cols[3]),
            "effect": list(cols[4]),
            "summary": list(cols[5]),
            "clear": list(cols[6]),
            "brief": list(cols[7]),
        },
        schema=RESULT_SCHEMA,
    ).sort("account")


def skipped(account: str, why: str) -> ResultRow:
    """The result row of an account the check cannot judge, and why."""
    return (account, False, None, None, None, why, "", "")


def not_applicable(check_id: str, accounts: list[str], why: str) -> pl.DataFrame:
    return result_frame(check_id, [skipped(a, why) for a in accounts])


def cron_phase_p() -> pl.Expr:
    """Per day: the p-value that its burst starts are uniform over every cron period of
    `PHASE_PERIODS` (Rayleigh's test, Bonferroni over the periods)."""
    return pl.min_horizontal(
        *[rayleigh_p(pl.col("burst_starts"), pl.col(f"phase_{p}")) for p in PHASE_PERIODS]
    ) * len(PHASE_PERIODS)


def scheduled_only(in_step: pl.Expr | None = None) -> pl.Expr:
    """Per day: whether its only usage is a scheduled job — every request stands alone (none
    within a burst gap of another) and the requests start in step with a cron period. Nobody is
    at the keyboard on such a day: a cron job under a person's key runs through their weekends,
    their leave and the weeks before they joined. False where the day has no request timing.
    `in_step`: the day's `cron_phase_p() < PHASE_P`, where the caller has it already."""
    return (
        (pl.col("burst_starts") >= MIN_BURSTS)
        & (pl.col("rows") == pl.col("burst_starts"))
        & (in_step if in_step is not None else cron_phase_p() < PHASE_P)
    ).fill_null(False)


#: A day with at least this many requests that do not repeat the one before is a day somebody
#: worked; a ping or a loop alone on a day repeats itself all day.
MIN_OWN_REQUESTS: Final = 5
#: A day whose repeats (`same_size_tokens`) are this share of its tokens or more is mostly
#: repeats.
REPEAT_SHARE: Final = 0.5
#: Repeats that weigh this share of everyone's typical day of work are never a sliver.
EVERYONE_SHARE: Final = 0.5


def somebody_worked() -> pl.Expr:
    """Per day: whether somebody worked on it (`MIN_OWN_REQUESTS` requests that do not repeat the
    one before)."""
    return (pl.col("rows") - pl.col("same_size_pairs")) >= MIN_OWN_REQUESTS


def work_day_reference() -> pl.Expr:
    """Per day: what repeats (`same_size_tokens`) must weigh to be more than a sliver of the
    account's work — the larger of its own typical day of work and half of everyone's (each the
    median, over the days somebody worked, `MIN_OWN_REQUESTS`, of the tokens that were not
    repeats).
    Null where nobody ever worked (daily aggregates, a panel saved without `same_size_tokens`).

    A keep-alive ping or a health check every minute under a person's key repeats itself as
    exactly as a loop, but weighs a sliver of a working day; a loop run to burn tokens adds at
    least a day's work to each day it runs (at ×2 the person's own usage, exactly one). Half of
    everyone's too: a ping may weigh as much as a light user's own work (60k tokens a day beside
    50k of their own: one such honest person `suspicious` in an organisation of 120), while a
    light user's loop that moves them up a leaderboard is a good part of a typical day (a loop
    at ×5.5 a light user's usage, 0.6–1.2 times everyone's typical day, lost its fingerprint
    against the whole of it)."""
    own = pl.col("tokens") - pl.col("same_size_tokens")
    worked = somebody_worked()
    return pl.max_horizontal(
        own.filter(worked).median().over("account"), EVERYONE_SHARE * own.filter(worked).median()
    )


def worked_days(days: pl.DataFrame) -> pl.DataFrame:
    """`account, day, tokens` of the days someone worked, a scheduled job's share taken out and
    a ping's days alone left out.

    A cron job under a person's key runs every day, through their leave and the weeks before
    they joined; counted as the person's usage, those days make a return from leave look like a
    jump (measured: honest people with a CI job under their key were the most extreme honest
    rises of a generated organisation, ×6–47 from their first working day). Days whose only
    usage is the job (`scheduled_only`) are left out, and the job's typical day (the median of
    those days) is taken out of the other days it ran, which leaves what the person used. A ping
    repeating itself (repeats under `work_day_reference`) is left out where it ran alone, on
    days nobody worked (counted as work, a keep-alive every minute under 20 honest people's keys
    put 5 of them in `review` for a "jump" from the weeks they were away). On the days somebody
    worked it stays: taken out of them, a light loop that runs alone on weekends was taken out
    of every day, and its rise with it (a loop at 0.9 of the reference from day 35 left
    usage-jump's p as without it, 0.28, where prompts one token apart gave 0.045)."""
    timing = {"rows", "burst_starts", *(f"phase_{p}" for p in PHASE_PERIODS)}
    if not timing <= set(days.columns):
        return days.select("account", "day", "tokens")
    ping_only = pl.lit(False)
    if {"same_size_tokens", "same_size_pairs"} <= set(days.columns):
        repeats = pl.col("same_size_tokens")
        light = repeats < work_day_reference()
        mostly = repeats >= REPEAT_SHARE * pl.col("tokens")
        ping_only = (light & ~somebody_worked() & mostly).fill_null(False)
    job = pl.col("_job")
    floor = pl.col("tokens").filter(job).median().over("account").fill_null(0.0)
    # The job's day comes off the days it ran only: those in step with a cron period, and those
    # between its first and last day alone. Taken off every day, it took the whole of a light
    # day's usage from the weeks before a CI job started, and made the job's start a jump
    # (`benchmarks/blind_confounders.py`: a job every 30 minutes from the sixth week, 15 of 24
    # earlier days left out as empty, `review` at ×3.3).
    first = pl.col("day").filter(job).min().over("account")
    last = pl.col("day").filter(job).max().over("account")
    ran = pl.col("_in_step") | pl.col("day").is_between(first, last).fill_null(False)
    return (
        days.with_columns((cron_phase_p() < PHASE_P).fill_null(False).alias("_in_step"))
        .select(
            "account",
            "day",
            "tokens",
            scheduled_only(pl.col("_in_step")).alias("_job"),
            ping_only.alias("_ping"),
            "_in_step",
        )
        .with_columns(
            pl.when(ran).then(pl.col("tokens") - floor).otherwise(pl.col("tokens")).alias("tokens")
        )
        .filter(~job & ~pl.col("_ping"))
        .select("account", "day", "tokens")
    )


def relative_usage(days: pl.DataFrame, cfg: AuditConfig) -> pl.DataFrame:
    """`account, day, week, r` of every worked day (`worked_days`) with usage: r = log tokens −
    the median log tokens of everyone's worked days in that week, so that an org-wide week (a
    holiday, a new model, a leaderboard launch) moves nobody."""
    lt = pl.col("tokens").log()
    return (
        worked_days(days)
        .filter(pl.col("tokens") > 0)
        .with_columns(week_of(pl.col("day"), cfg).alias("week"))
        .select("account", "day", "week", (lt - lt.median().over("week")).alias("r"))
    )


def shared_relative_usage(data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
    """`relative_usage(data.days, cfg)`, worked out once for the `CheckData` that share
    `data.derived` and these days: `usage-jump`, `heavy-weeks` and `weekday-spikes` all read it
    (0.17 s each at 20,000 accounts)."""
    cached = data.derived.get("relative_usage")
    if cached is not None and cached[0] is data.days and cached[1] is cfg:
        return cached[2]
    usage = relative_usage(data.days, cfg)
    data.derived["relative_usage"] = (data.days, cfg, usage)
    return usage


def p_and_z(
    null: EmpiricalNull, statistic: Mapping[str, float]
) -> tuple[dict[str, float], dict[str, float]]:
    """Every account's p-value and z on `null` at once: elementwise, so each is the number a
    call of its own gives, without two calls per account (40,000 at 20,000 accounts)."""
    tested = sorted(statistic)
    values = np.array([statistic[a] for a in tested], dtype=np.float64)
    p = dict(zip(tested, null.p(values).tolist(), strict=True))
    z = dict(zip(tested, null.z(values).tolist(), strict=True))
    return p, z


def null_members(names: list[str], null_excluded: frozenset[str]) -> np.ndarray:
    """Which of `names` a cohort's null is fitted to: those the mechanism screen did not set
    aside, or all of them when fewer than `MIN_COHORT` would be left."""
    in_null = np.array([name not in null_excluded for name in names], dtype=bool)
    if in_null.sum() < MIN_COHORT:
        return np.ones(len(names), dtype=bool)
    return in_null


def fit_organisation_null(
    statistic: Mapping[str, float], data: CheckData, censored_share: float, prefix: str = ""
) -> NullModel | None:
    """The empirical null of a statistic that compares each account with itself, fitted over
    the accounts that have one, less those the mechanism screen set aside (all of them when too
    few are left); None below `MIN_COHORT` accounts. Its parameters are named with `prefix`."""
    if len(statistic) < MIN_COHORT:
        return None
    accounts = sorted(statistic)
    values = np.array([statistic[a] for a in accounts])
    in_null = null_members(accounts, data.null_excluded)
    null = EmpiricalNull.fit(values, in_null, floor=0.05, censored_share=censored_share)
    return null.params(prefix)


def organisation_null(
    statistic: Mapping[str, float], data: CheckData, censored_share: float
) -> EmpiricalNull | None:
    """The null to judge `statistic` by: the reference's (moved towards this team, as
    `EmpiricalNull.recentred` allows) when one is given, else this organisation's."""
    if data.reference is not None:
        values = np.array(list(statistic.values()))
        return EmpiricalNull.from_params(data.reference).recentred(values)
    model = fit_organisation_null(statistic, data, censored_share)
    return EmpiricalNull.from_params(model) if model is not None else None


def run_means(frame: pl.DataFrame, keys: list[str], column: str) -> pl.DataFrame:
    """`keys…, column, n, ss` per run of equal `keys` in `frame` (sorted by them): the mean of
    `column`, the run's rows, and the sum of squares around the mean.

    Added up with numpy over the runs, in row order, rather than by a Polars group_by: its
    parallel partial sums are added in an order that varies from run to run, and the last bit
    of a mean moved with it (same input, different bytes: shuffled rows gave another
    `weekday-spikes` statistic)."""
    starts = run_starts(frame, keys)
    x = frame[column].to_numpy().astype(np.float64)
    n = np.diff(np.append(starts, x.size))
    mean = np.add.reduceat(x, starts) / n if x.size else x
    ss = np.add.reduceat((x - np.repeat(mean, n)) ** 2, starts) if x.size else x
    return (
        frame.select(keys)
        .gather(starts)
        .with_columns(
            pl.Series(column, mean, dtype=pl.Float64),
            pl.Series("n", n, dtype=pl.Int64),
            pl.Series("ss", ss, dtype=pl.Float64),
        )
    )
