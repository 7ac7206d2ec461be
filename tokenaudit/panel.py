"""The account-day panel: usage and merged output per account and day, the follow-up window, and
end-of-data censoring. Everything here is a pure function of canonical frames."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

import numpy as np
import polars as pl

from tokenaudit.calendar import rayleigh_p
from tokenaudit.config import AuditConfig
from tokenaudit.schema import (
    AGGREGATED_SOURCES,
    PANEL_SCHEMA,
    PHASE_PERIODS,
    TOKEN_COLUMNS,
    USAGE_SCHEMA,
)

#: GitHub's squash merge titles a revert `Revert "feat: x (#12)" (#40)`, or `Revert "feat: x"
#: (#40)` where the change was merged another way: the pull request's number is no part of
#: the title (`_bare_title`).
_REVERT_TITLE = re.compile(r'^Revert "(?P<title>.+)"(?:\s*\(#\d+\))?\s*$')
_PR_NUMBER = re.compile(r"\s*\(#\d+\)$")
_REVERT_SHA = re.compile(r"This reverts commit (?P<sha>[0-9a-fA-F]{7,40})")
_WITHIN_SESSION_GAP_S = 30 * 60
#: A request after this long a pause starts a burst (its phase is what a cron job fixes).
BURST_GAP_S: Final = 120
#: Consecutive requests repeat each other (`same_size_pairs`) when their prompts are the same
#: size to the token and their answers within 1 % (or `SAME_ANSWER_TOKENS`): a loop re-sends its
#: request as it is, while a batch job's items, each behind one long template, come within 1 % of
#: each other too.
#: A loop that numbers its requests, or stamps them with the time or an id, re-sends a prompt a
#: few tokens longer or shorter each time (a counter of up to six digits is 1-3 tokens): its
#: prompts are the same size within `PROMPT_DRIFT_TOKENS` where the answer, the same within 1 %,
#: is `DRIFT_MIN_ANSWER` tokens or more. Exact sizes alone missed every such loop of the blind
#: confounder family (prompts within ±3 tokens, 0 of 73 at ×3+ `suspicious`). A batch job's
#: items of nearly one size behind a long template have answers of a label or a number, a token
#: or a few (`tests/test_panel.py`); the same long answer to 20 prompts in a row that differ by
#: a counter is a request sent again. A conversation's next prompt carries the last answer and
#: grows by it.
PROMPT_DRIFT_TOKENS: Final = 8
DRIFT_MIN_ANSWER: Final = 50
#: Identical consecutive requests count as a loop's only when the second
#: follows the first within this many seconds. A scheduled job may send one request, the same
#: every time, on a cron period (an honest CI job under a person's key can: a third family of
#: organisations has them every 10–60 minutes); a loop re-sending a request to burn tokens sends
#: it again within minutes (all three families' loops wait at most 5). Six minutes takes in a
#: 5-minute loop with its jitter and leaves a 10-minute schedule out; a job on a shorter period
#: counts only where its repeats outweigh a day of work (`checks.automation`), as a loop's must.
SAME_SIZE_GAP_S: Final = 360
#: ... and answers of a few tokens count as the same within this many tokens ("OK" and "OK."):
#: a health check whose answer wavers by a token is no less a ping, and its days alone no more
#: a person's work.
SAME_ANSWER_TOKENS: Final = 2
#: ... and only in a run of at least this many requests, each repeating the one before: a loop
#: burning tokens re-sends its request for hours, dozens to hundreds of times in a row, while an
#: eval sampling each question a few times (pass@k, self-consistency: the same prompt, a
#: one-token answer) or a script polling a build a dozen times repeats a request a few times
#: and moves on. Counted in runs of any length, pass@5 evals under 20 honest people's keys in
#: each of three organisations put 9 of 60 in `suspicious` (41 of 60 light users), heavy polls
#: of a build, 3–15 at a time, 13 of 60 light users; in runs of 20, none
#: (`benchmarks/scheduled_jobs.py --kind evals|polls`).
MIN_REPEAT_RUN: Final = 20
#: A request also repeats the one before when its prompt is the same size to the token, whatever
#: the answer, sent at a steady pace (no pause more than `STEADY_PACE` times the run's median
#: pause, none of `HELD_PAUSE_S` or more) for `HELD_RUN_S` or longer over `MIN_HELD_RUN` requests
#: or more: the same request sent again and again for hours. A loop paced slower than
#: `SAME_SIZE_GAP_S`, or whose answers vary (sampled at a temperature), is still one request sent
#: over and over; the third family of organisations (`benchmarks/blind_orgs.py`) has such loops,
#: 8–12 requests a day over 2–5 hours once its logs are thinned, and under the first rule alone
#: they showed no identical sizes at all (0 of 29 loops at ×3+ `suspicious`). An eval's samples
#: of one question (seconds apart) are over in a minute; a script polling a build (3–15 polls
#: 4–6 minutes apart, then 20–90 minutes until the next build) is not steady: held at any pace,
#: its polls put 10 of 60 light users of `families` in `suspicious`
#: (`benchmarks/scheduled_jobs.py --kind polls --who light`). A scheduled job sends its one
#: request all day at a steady pace, and counts, as a loop's repeats do, only where they outweigh
#: a day of work (`checks.automation`).
MIN_HELD_RUN: Final = 5
HELD_RUN_S: Final = 2 * 3600
HELD_PAUSE_S: Final = 2 * 3600
#: A loop that sleeps a random time between its requests, uniform on any range, has no pause over
#: twice its median; polls of one build after another (the shortest wait between builds over
#: the longest between polls) 3.3 or more; the loops and CI jobs of the blind family 1.02.
STEADY_PACE: Final = 2.5
#: ... and is no scheduled job: a held run whose requests keep in step with a cron period of
#: `PHASE_PERIODS` (Rayleigh's test, Bonferroni over the periods, p below this, as
#: `checks.base.PHASE_P` for a day's burst starts) is a job on a wall-clock schedule, as a CI job
#: under a person's key is, and counts as no repeat. A loop that sleeps between its requests drifts
#: off any period by its own latency (the blind family's: 5-11 % of their held runs in step, its
#: CI jobs 43-100 %); a heavy job with one fixed prompt every 10 or 30 minutes, held at any pace,
#: put 20 and 19 of 60 honest people of `families` in `suspicious`
#: (`benchmarks/scheduled_jobs.py --period 600 --tokens 20000`). A loop run by cron is a scheduled
#: job too, as far as its requests tell: it shows only where it repeats within minutes.
HELD_CRON_P: Final = 1e-3
_USAGE_COLUMNS = list(USAGE_SCHEMA)


def split_duplicate_requests(
    usage: pl.DataFrame, key: tuple[str, ...] = ("account", "request_id")
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Count a repeated `request_id` of one account once, keeping its fullest row (streamed
    exports repeat a request with growing output counts). Returns (kept rows, dropped duplicates
    with `reason` naming the row that was kept). Rows without an id are all kept.

    The key is (account, request_id): identities are resolved first, so one person's spellings
    meet, while two people's logs never cancel each other out; it also lets the panel be built
    per account. (`narrow_usage` rows hash the account into `request_id`, which is then the
    whole key.) Only the rows whose key repeats are sorted, so the common case costs one hash
    pass.
    """
    if len(key) == 1:
        # A sorted pass finds the repeated ids several times faster than hashing every row.
        ids = usage.select(pl.col(key[0]).drop_nulls().sort()).to_series()
        again = ids.filter(ids == ids.shift(1)).unique()
        unique = pl.col(key[0])
        repeated = unique.is_in(again.implode()).fill_null(False)
    else:
        unique = pl.struct(key)
        repeated = pl.col("request_id").is_not_null() & unique.is_duplicated()
    marked = usage.with_columns(repeated.alias("_repeated"))
    ranked = (
        marked.filter(pl.col("_repeated"))
        .with_columns(pl.sum_horizontal(*TOKEN_COLUMNS).alias("_total"))
        .sort(
            *key, "_total", "_file", "_line", descending=[*(False for _ in key), True, False, False]
        )
        .with_columns(
            unique.is_first_distinct().alias("_keep"),
            pl.format("{}:{}", pl.col("_file"), pl.col("_line"))
            .first()
            .over(key)
            .alias("_kept_at"),
        )
    )
    kept = pl.concat(
        [marked.filter(~pl.col("_repeated")), ranked.filter(pl.col("_keep")).select(marked.columns)]
    ).drop("_repeated")
    dropped = ranked.filter(~pl.col("_keep")).select(
        pl.col("_file"),
        pl.col("_line"),
        pl.format("column 'request_id': duplicate of the row kept at {}", pl.col("_kept_at")).alias(
            "_reject"
        ),
    )
    return kept, dropped


#: Longer pauses than this all read as "slept": `max_gap_h` is capped here.
MAX_GAP_HOURS: Final = 24.0
#: A local day starts up to 14 h either side of UTC midnight; two days of margin also keep the
#: request gaps that straddle the period's edges.
_PERIOD_MARGIN: Final = timedelta(days=2)


def period_bounds(cfg: AuditConfig) -> tuple[datetime | None, datetime | None]:
    """UTC instants outside which no row can fall in the period (or be next to one that does)."""
    lo = hi = None
    if cfg.since is not None:
        lo = datetime.combine(cfg.since, time(), tzinfo=UTC) - _PERIOD_MARGIN
    if cfg.until is not None:
        hi = datetime.combine(cfg.until, time(), tzinfo=UTC) + timedelta(days=1) + _PERIOD_MARGIN
    return lo, hi


def local_day(cfg: AuditConfig) -> pl.Expr:
    return pl.col("timestamp").dt.convert_time_zone(cfg.tz).dt.date()


def within_period(day: pl.Expr, cfg: AuditConfig) -> pl.Expr:
    keep = pl.lit(True)
    if cfg.since is not None:
        keep = keep & (day >= cfg.since)
    if cfg.until is not None:
        keep = keep & (day <= cfg.until)
    return keep


def narrow_usage(
    usage: pl.LazyFrame, account_key: pl.Expr | None = None, *, ids_hashed: bool = False
) -> pl.LazyFrame:
    """Canonical usage rows reduced to what the panel needs, strings turned into numbers where
    only equality matters: a session or request id becomes its 64-bit hash (two ids of one
    account colliding needs billions of requests), the source a flag for pre-aggregated rows.
    `account_key` is a 64-bit hash of the account (by default worked out per row). With
    `ids_hashed`, `session_id` and `request_id` already hold `hash_ids`' values."""
    key = account_key if account_key is not None else pl.col("account").cast(pl.String).hash(0)

    def hashed(column: str) -> pl.Expr:
        # Hashed with the account: two people's ids never meet, and one integer is the key.
        own = pl.col(column) if ids_hashed else pl.col(column).hash(seed=0)
        return pl.when(pl.col(column).is_not_null()).then(
            pl.struct(key.alias("_a"), own.alias("_b")).hash(seed=0)
        )

    return usage.select(
        "account",
        "timestamp",
        *TOKEN_COLUMNS,
        "requests",
        "cost_usd",
        ((pl.col("requests") > 1) | pl.col("source").is_in(list(AGGREGATED_SOURCES)))
        .fill_null(False)
        .alias("_aggregated"),
        hashed("session_id").alias("_session"),
        hashed("request_id").alias("request_id"),
        pl.exclude(_USAGE_COLUMNS),
    )


def hash_ids() -> list[pl.Expr]:
    """`session_id` and `request_id` as the 64-bit hashes `narrow_usage` starts from (null
    stays null): worked out while the rows are read, the ids are never held as strings."""
    return [
        pl.when(pl.col(c).is_not_null()).then(pl.col(c).hash(seed=0)).alias(c)
        for c in ("session_id", "request_id")
    ]


def usage_days(usage: pl.DataFrame, cfg: AuditConfig) -> pl.DataFrame:
    """Account-day usage totals plus request-timing fingerprints for the automation check, from
    `narrow_usage` rows.

    Timing columns are only meaningful for request-level rows (`requests == 1`); days built from
    pre-aggregated rows are marked `aggregated`.
    """
    prompt = pl.col("input_tokens") + pl.col("cache_read_tokens") + pl.col("cache_write_tokens")
    # Accounts become integer codes: sorting, grouping and moving strings costs ten times more.
    # The codes only group; they never decide an order that reaches the result.
    coded = usage.with_columns(
        pl.col("account").cast(pl.Categorical).to_physical().alias("_acc"),
        local_day(cfg).alias("day"),
        prompt.alias("_prompt"),
    ).with_columns(_account_day_key())
    names = coded.select("_acc", "account").unique("_acc")
    # The timing columns are put in account-time order, with each row's place in `usage` (`_i`):
    # an account-day is then a run of rows, which `_day_aggregates` adds up without a hash
    # group-by, taking the totals' columns from `usage` one at a time.
    timing = coded.select("_acc", "_ad", "timestamp", "_prompt", "output_tokens", "_session")
    del coded
    ties = ("_prompt", "output_tokens")
    order = _account_time_order(timing, "timestamp", *ties)
    day = (pl.col("_ad") % _DAY_KEYS - _DAY_KEYS // 2).cast(pl.Int32).cast(pl.Date).alias("day")
    if order is None:
        rows = (
            timing.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_i"))
            .sort("_acc", "timestamp", *ties)
            .with_columns(day)
        )
    else:
        # NOTE: only what cannot be worked out again is moved row by row (the gather is a random
        # access per row and column): a row's place in `usage` is the order itself, and the
        # account code and the day are both in `_ad`.
        rows = (
            timing.drop("_acc")
            .rechunk()
            .gather(order)
            .with_columns(
                pl.Series("_i", order, dtype=pl.Int64),
                (pl.col("_ad") // _DAY_KEYS).cast(pl.UInt32).alias("_acc"),
                day,
            )
        )
    del timing
    rows = _with_neighbours(rows).filter(within_period(pl.col("day"), cfg))
    # Not sorted: its caller sorts the account-days of every part together.
    return (
        _day_aggregates(rows, usage)
        .with_columns(
            (pl.col("_ad") // _DAY_KEYS).cast(pl.UInt32).alias("_acc"),
            (pl.col("_ad") % _DAY_KEYS - _DAY_KEYS // 2).cast(pl.Int32).cast(pl.Date).alias("day"),
        )
        .join(names, on="_acc", how="left")
        .select(pl.col(c).cast(t) for c, t in PANEL_SCHEMA.items())
    )


#: Days (as Int32) are offset into [0, 2^32) below an account code's multiple of 2^32.
_DAY_KEYS: Final = 1 << 32


def _account_day_key() -> pl.Expr:
    """`_ad`: the account code and the day packed into one Int64, in the order of (account
    code, day): joined on, one integer costs two thirds of the time of the (`_acc`, `day`)
    pair."""
    return (
        pl.col("_acc").cast(pl.Int64) * _DAY_KEYS
        + (pl.col("day").cast(pl.Int32).cast(pl.Int64) + _DAY_KEYS // 2)
    ).alias("_ad")


def _with_neighbours(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows in account-time order with what their neighbours say: the pause before and after
    each request (seconds) and whether it repeats the one before (`_same_size`, see
    `_repeat_flags`), in the account's stream of requests or in its session's."""
    # Gaps are differences of integer microseconds, then seconds: exact, and the same in SQL.
    ts_us = pl.col("timestamp").dt.epoch("us")
    # An account's first and last request have no known neighbour (the log, or with --since/
    # --until the part of it read, begins or ends there): the pause beyond them is taken as long,
    # so the edge of the data never makes a day look sleepless. Gaps are capped at a day, which
    # makes the panel the same whether or not rows far outside the period were read.
    unknown = pl.lit(float("inf"))
    # Plain shifts masked at account boundaries: much cheaper than ordered window expressions.
    same_prev = pl.col("_acc") == pl.col("_acc").shift(1)
    same_next = pl.col("_acc") == pl.col("_acc").shift(-1)
    timed = rows.with_columns(
        pl.when(same_prev)
        .then((ts_us - ts_us.shift(1)) / 1e6)
        .otherwise(unknown)
        .alias("_gap_prev"),
        pl.when(same_next)
        .then((ts_us.shift(-1) - ts_us) / 1e6)
        .otherwise(unknown)
        .alias("_gap_next"),
    )
    repeats = _repeat_flags(timed, same_prev)
    if timed["_session"].null_count() < timed.height:
        # A loop left running in a session of its own while its owner works in others (an agent
        # fleet's, an all-day agent's) has its repeats interleaved with their requests: in the
        # account's stream no request repeats the one before. Each session is its own stream
        # too (requests without a session id make one stream of the account's), and a request
        # repeats where it does in either. With no session id at all, the one stream is the
        # account's and this adds nothing.
        session = pl.col("_session").fill_null(0)
        codes = timed["_session"].fill_null(0).to_numpy()
        order = np.lexsort((np.arange(timed.height), codes, timed["_acc"].to_numpy()))
        by_session = timed.select("_acc", "_session", "timestamp", "_prompt", "output_tokens")[
            order
        ]
        in_session = same_prev & (session == session.shift(1))
        flags = np.empty(timed.height, dtype=bool)
        flags[order] = _repeat_flags(by_session, in_session)
        repeats |= _over_simultaneous_twins(timed, flags)
    return timed.with_columns(pl.Series("_same_size", repeats))


def _over_simultaneous_twins(rows: pl.DataFrame, flags: np.ndarray) -> np.ndarray:
    """`flags` (per row of `rows`, in account-time order) made the same for every row of a group
    of identical requests sent at the same instant: the largest of the group's.

    Which of two such twins in different sessions comes first in the account's stream is up to
    the sort (SQL gives them no order at all), and a twin's own flag in its session's stream
    then meets the other's flag in the account's. Taken over the group, the session streams'
    flags are the same whatever the order, and so is every day's count."""
    if rows.height < 2:
        return flags
    twin = (
        rows.select(
            (
                (pl.col("_acc") == pl.col("_acc").shift(1))
                & (pl.col("timestamp") == pl.col("timestamp").shift(1))
                & (pl.col("_prompt") == pl.col("_prompt").shift(1))
                & pl.col("output_tokens").eq_missing(pl.col("output_tokens").shift(1))
            ).fill_null(False)
        )
        .to_series()
        .to_numpy()
    )
    if not twin.any():
        return flags
    groups = _Runs(twin)
    out: np.ndarray = groups.each(np.maximum.reduceat(flags, groups.heads))
    return out


def _same_request_size() -> pl.Expr:
    """Whether a row's prompt is the one before's size: to the token, or within
    `PROMPT_DRIFT_TOKENS` where its answer is `DRIFT_MIN_ANSWER` tokens or more."""
    prompt, before = pl.col("_prompt"), pl.col("_prompt").shift(1)
    drift = ((prompt - before).abs() <= PROMPT_DRIFT_TOKENS) & (
        pl.col("output_tokens") >= DRIFT_MIN_ANSWER
    )
    return (prompt == before) | drift


def _repeat_flags(rows: pl.DataFrame, same_stream: pl.Expr) -> np.ndarray:
    """Per row of `rows` (in the order of a stream of requests, `same_stream` telling whether a
    row is in the stream of the row before): whether it repeats the one before as a loop does —
    the same prompt size (`_same_request_size`) and the same answer within 1 %
    (`SAME_ANSWER_TOKENS`), less than `SAME_SIZE_GAP_S` after it, in a run of `MIN_REPEAT_RUN`
    or more; or the same prompt whatever the answer, held at a steady pace for hours
    (`_held_steadily`)."""
    ts_us = pl.col("timestamp").dt.epoch("us")
    gap = (ts_us - ts_us.shift(1)) / 1e6
    flags = rows.select(
        (
            same_stream
            & (gap < SAME_SIZE_GAP_S)
            & _same_request_size()
            & (
                (pl.col("output_tokens") - pl.col("output_tokens").shift(1)).abs()
                <= (0.01 * pl.col("output_tokens")).clip(lower_bound=SAME_ANSWER_TOKENS)
            )
        )
        .fill_null(False)
        .alias("same_size"),
        (same_stream & (pl.col("_prompt") == pl.col("_prompt").shift(1)))
        .fill_null(False)
        .alias("same_prompt"),
        pl.when(same_stream)
        .then(gap)
        .otherwise(float("inf"))
        .fill_null(float("inf"))
        .alias("pause"),
        ts_us.alias("us"),
    )
    fast = _Runs(flags["same_size"].to_numpy())
    pause = flags["pause"].to_numpy()
    held = _Runs(flags["same_prompt"].to_numpy() & (pause < HELD_PAUSE_S))
    us = flags["us"].to_numpy()
    out: np.ndarray = fast.repeats & fast.each(fast.lengths >= MIN_REPEAT_RUN) | (
        held.repeats & held.each(_held_steadily(held, pause, us))
    )
    return out


def _held_steadily(held: _Runs, pause: np.ndarray, us: np.ndarray) -> np.ndarray:
    """Per run of `held` (rows at epoch microseconds `us`, each `pause` seconds after the one
    before): whether it is one request sent at a steady pace for hours (see `MIN_HELD_RUN`)."""
    span = us[held.heads + held.lengths - 1] - us[held.heads]
    candidate: np.ndarray = (held.lengths >= MIN_HELD_RUN) & (span >= HELD_RUN_S * 1_000_000)
    if not candidate.any():
        return candidate
    run = np.cumsum(~held.repeats) - 1
    rows = candidate[run] & held.repeats
    steady = (
        pl.DataFrame({"run": run[rows], "pause": pause[rows]})
        .group_by("run")
        .agg((pl.col("pause").max() <= STEADY_PACE * pl.col("pause").median()).alias("steady"))
        .filter("steady")["run"]
        .to_numpy()
    )
    out = np.zeros(held.lengths.size, dtype=bool)
    out[steady] = True
    # Every request of a steady run, its head too, for the phase test.
    every = out[run]
    if every.any():
        out[np.unique(run[every])[_on_a_schedule(run[every], us[every])]] = False
    return out


def _on_a_schedule(run: np.ndarray, us: np.ndarray) -> np.ndarray:
    """Per run (`run`: each row's run, in order; `us`: its epoch microseconds): whether its
    requests keep in step with a cron period (see `HELD_CRON_P`): `rayleigh_p`, as a day's
    burst starts are tested."""
    starts = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
    n = np.diff(np.r_[starts, run.size]).astype(np.float64)
    smallest = np.ones(starts.size)
    for _, cos, sin in _phase_units(pl.Series(us)):
        length = np.hypot(np.add.reduceat(cos, starts), np.add.reduceat(sin, starts))
        p = pl.DataFrame({"n": n, "r": length / n}).select(rayleigh_p(pl.col("n"), pl.col("r")))
        smallest = np.minimum(smallest, p.to_series().to_numpy())
    return np.asarray(smallest * len(PHASE_PERIODS) < HELD_CRON_P, dtype=bool)


class _Runs:
    """Runs of consecutive rows: a row that does not repeat the one before and the repeats that
    follow it. Rows are in the time order of a stream (an account's, or a session's) and a row
    never repeats across streams, so every run lies within one. (numpy: runs are consecutive
    rows, and a window over run ids took 0.77 s at 5M rows, this 0.12 s.)"""

    def __init__(self, repeats: np.ndarray) -> None:
        self.repeats = repeats
        self.heads = np.flatnonzero(~repeats)
        self.lengths = np.diff(np.append(self.heads, repeats.size))

    def each(self, per_run: np.ndarray) -> np.ndarray:
        """A value per run, given to each of its rows."""
        return np.repeat(per_run, self.lengths)


def _day_aggregates(rows: pl.DataFrame, usage: pl.DataFrame) -> pl.DataFrame:
    """Per account-day (`_ad`) of `_with_neighbours` rows: the usage totals (of the rows of
    `usage` they stand for, `_i`) and the timing fingerprints (all of `PANEL_SCHEMA` but the
    account and the day).

    The rows come in account-time order, so each account-day is a run of rows: numpy adds the
    runs up (`reduceat`; `bincount` for the burst starts and session gaps, which are a subset),
    several times faster than Polars' hash group-bys, and in the same order on every run."""
    if rows.is_empty():
        return pl.DataFrame(
            schema={"_ad": pl.Int64}
            | {c: t for c, t in PANEL_SCHEMA.items() if c not in ("account", "day")}
        )
    parallel = None
    if not rows["_ad"].is_sorted():
        # A zone that moved its clocks back over midnight runs a local day backwards: its rows
        # are brought together (in the same time order), and the sessions are counted first.
        parallel = session_concurrency(rows)
        rows = rows.sort("_ad", maintain_order=True)
    ad = rows["_ad"].to_numpy()
    n = ad.size
    starts_run = np.empty(n, dtype=bool)
    starts_run[0] = True
    np.not_equal(ad[1:], ad[:-1], out=starts_run[1:])
    first = np.flatnonzero(starts_run)
    group = np.cumsum(starts_run) - 1
    groups = first.size

    def count(mask: np.ndarray) -> np.ndarray:
        return np.add.reduceat(mask.astype(np.int64), first)

    gap_prev = rows["_gap_prev"].to_numpy()
    longest = np.maximum(
        np.maximum.reduceat(gap_prev, first),
        np.maximum.reduceat(rows["_gap_next"].to_numpy(), first),
    )
    # A burst starts after a quiet minute or two (see `_burst_phases`).
    start = gap_prev >= BURST_GAP_S
    in_session = gap_prev < _WITHIN_SESSION_GAP_S
    session_gaps = count(in_session)
    burst_starts = count(start)
    out = pl.DataFrame(
        {
            "_ad": ad[first],
            **_usage_totals(usage, rows["_i"].to_numpy(), group, groups),
            "rows": np.diff(np.append(first, n)),
            "max_gap_h": longest,
            "session_gaps": session_gaps,
            **_gap_moments(gap_prev[in_session], group[in_session], session_gaps),
            **_repeats(rows, first),
            "burst_starts": burst_starts,
            **_burst_phases(
                rows.select("timestamp").filter(pl.Series(start)), group[start], burst_starts
            ),
        }
    )
    if parallel is None:
        out = out.with_columns(
            pl.Series("max_parallel", _most_sessions_at_once(rows, group, groups)).replace(
                _NO_SESSION, None
            )
        )
    else:
        out = out.join(parallel, on="_ad", how="left")
    return out.with_columns(
        (pl.col("max_gap_h") / 3600).clip(upper_bound=MAX_GAP_HOURS),
        pl.when(pl.col("session_gaps") > 0).then("gap_mean").alias("gap_mean"),
        pl.when(pl.col("session_gaps") > 1).then("gap_std").alias("gap_std"),
        *[
            pl.when(pl.col("burst_starts") > 0).then(f"phase_{p}").alias(f"phase_{p}")
            for p in PHASE_PERIODS
        ],
    )


def _repeats(rows: pl.DataFrame, first: np.ndarray) -> dict[str, np.ndarray]:
    """Per account-day (runs of `rows` starting at `first`): how many requests repeat the one
    before back to back (`_same_size`), and what those repeats weigh in tokens — a loop burning
    tokens is most of its day, a keep-alive ping next to a person's work a sliver of it."""
    same = rows["_same_size"].to_numpy()
    weight = (rows["_prompt"] + rows["output_tokens"]).fill_null(0).to_numpy()
    return {
        "same_size_pairs": np.add.reduceat(same.astype(np.int64), first),
        "same_size_tokens": np.add.reduceat(np.where(same, weight, 0), first),
    }


def _usage_totals(
    usage: pl.DataFrame, index: np.ndarray, group: np.ndarray, groups: int
) -> dict[str, np.ndarray]:
    """Per group: the totals of the rows of `usage` at `index` (in `group`): tokens, requests,
    cost, whether any row had a cost and whether any was pre-aggregated.

    Each row of `usage` is given its group and the columns are added up in `usage`'s own order:
    gathering them in time order (a random access per row) took three times as long."""
    of_row = np.full(usage.height, -1, dtype=np.int64)
    of_row[index] = group
    inside = of_row >= 0  # rows outside the period are in no group
    everything = bool(inside.all())
    if not everything:
        of_row = of_row[inside]

    def values(series: pl.Series) -> np.ndarray:
        out: np.ndarray = series.to_numpy()
        return out if everything else out[inside]

    def total(column: str, dtype: type) -> np.ndarray:
        out: np.ndarray = np.zeros(groups, dtype=dtype)
        np.add.at(out, of_row, values(usage[column].fill_null(0)))
        return out

    def any_of(mask: pl.Series) -> np.ndarray:
        # Every group holds a row, so a mask that is all true (or all false) needs no scatter.
        if not mask.null_count() and (mask.all() or not mask.any()):
            return np.full(groups, mask.any(), dtype=bool)
        return np.bincount(of_row, values(mask), groups) > 0

    tokens = {t: total(t, np.int64) for t in TOKEN_COLUMNS}
    return {
        "tokens": np.sum(list(tokens.values()), axis=0),
        **tokens,
        "requests": total("requests", np.int64),
        "cost_usd": total("cost_usd", np.float64),
        "has_cost": any_of(usage["cost_usd"].is_not_null()),
        "aggregated": any_of(usage["_aggregated"]),
    }


def _gap_moments(gaps: np.ndarray, group: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """The mean and standard deviation (`gap_mean`, `gap_std`) of the `gaps` of each group of
    `group` (`counts` of them; NaN where too few)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.bincount(group, gaps, counts.size) / counts
        spread = np.bincount(group, (gaps - mean[group]) ** 2, counts.size)
        return {"gap_mean": mean, "gap_std": np.sqrt(spread / (counts - 1))}


#: `_most_sessions_at_once` of an account-day on which no session starts.
_NO_SESSION: Final = -1


def _most_sessions_at_once(rows: pl.DataFrame, group: np.ndarray, groups: int) -> np.ndarray:
    """Per group of `group` (the account-day of each row of `rows`, which are in account-time
    order): the most sessions running at once, from each session's first and last request, as
    `session_concurrency` counts them (0 for sessions of one request each); `_NO_SESSION` where
    no session starts."""
    sessions = (
        rows.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("_i"), "_session")
        .filter(pl.col("_session").is_not_null())
        .group_by("_session")
        .agg(pl.col("_i").first().alias("_first"), pl.col("_i").last().alias("_last"))
    )
    first = sessions["_first"].to_numpy()
    last = sessions["_last"].to_numpy()
    # Each row starts and ends at most one session: slot 2i holds the end at row i and 2i + 1
    # the start, so that the events come in time order but for one instant's events, and a
    # session of one request ends (as in `session_concurrency`) before it starts.
    n = rows.height
    day = np.full(2 * n, -1, dtype=np.int64)
    day[2 * last] = group[first]
    day[2 * first + 1] = group[first]
    slot = np.flatnonzero(day >= 0)
    starting = (slot & 1).astype(bool)
    row = slot >> 1
    # Ends sort before starts at the same instant (so back-to-back sessions do not count as
    # parallel): by the run of rows of one account and instant, then ends first.
    acc = rows["_acc"].to_numpy()
    ts = rows["timestamp"].dt.epoch("us").to_numpy()
    instant = np.empty(n, dtype=bool)
    instant[:1] = True
    instant[1:] = (acc[1:] != acc[:-1]) | (ts[1:] != ts[:-1])
    key = np.cumsum(instant)[row] * 2 + starting
    order = np.argsort(key, kind="stable")  # nearly in order already: timsort's best case
    running = np.cumsum(np.where(starting, 1, -1)[order])
    most = np.full(groups, _NO_SESSION, dtype=np.int64)
    np.maximum.at(most, day[slot][order], running)
    return most


def _burst_phases(
    starts: pl.DataFrame, group: np.ndarray, counts: np.ndarray
) -> dict[str, np.ndarray]:
    """The resultant length of each cron period's burst-start phases (`phase_<P>`), per group of
    `group` (the account-day of each of the `starts`' `timestamp`; `counts` of them in each
    group, NaN for a group without starts).

    The phase of a burst's first request within a cron period is the angle 2π·(t mod P)/P, and
    R (the length of the mean unit vector, 0 to 1) is near 1 when bursts start at the same point
    of the period every time (a cron job)."""
    out: dict[str, np.ndarray] = {}
    # One period at a time: the cosines and sines of every start for all six periods at once
    # took 96 bytes a start (0.9 GB at 10M many-light), more than anything else held then.
    with np.errstate(divide="ignore", invalid="ignore"):
        for p, cos_p, sin_p in _phase_units(starts.get_column("timestamp").dt.epoch("us")):
            cos = np.bincount(group, cos_p, counts.size)
            sin = np.bincount(group, sin_p, counts.size)
            out[f"phase_{p}"] = np.sqrt(cos**2 + sin**2) / counts
    return {f"phase_{p}": out[f"phase_{p}"] for p in PHASE_PERIODS}


def _phase_units(ts_us: pl.Series) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Per cron period P, one after the other: P, and cos and sin of each instant's phase
    2π·(t mod P)/P (`t` in µs).

    NOTE: logs write their times in whole milliseconds or seconds, so a short period has few
    distinct remainders (60,000 for a minute in milliseconds) where a log has millions of burst
    starts: the trigonometry of each distinct remainder is worked out once, by the same Polars
    expressions, and looked up. The angles are the same floats, so their cosines are too."""
    n = ts_us.len()
    unit = 0  # the coarsest whole unit every instant is a multiple of (0: none known)
    if n and not ts_us.null_count() and int(ts_us.min()) >= 0:  # type: ignore[arg-type]
        ts = ts_us.to_numpy()
        unit = next((u for u in (1_000_000, 1_000) if not (ts % u).any()), 0)
    in_units = ts // unit if unit else None
    for p in PHASE_PERIODS:
        # A unit divides every period, so (t mod P) / unit is (t / unit) mod (P / unit).
        size = p * 1_000_000 // unit if unit else 0
        if in_units is None or 2 * size > n:
            table = _cos_sin(ts_us.alias("r").to_frame(), p)
            yield p, table[f"cos_{p}"].to_numpy(), table[f"sin_{p}"].to_numpy()
            continue
        remainders = pl.Series("r", np.arange(size, dtype=np.int64) * unit)
        table = _cos_sin(remainders.to_frame(), p)
        at = in_units % size
        yield p, table[f"cos_{p}"].to_numpy()[at], table[f"sin_{p}"].to_numpy()[at]


def _cos_sin(remainders: pl.DataFrame, *periods: int) -> pl.DataFrame:
    """`cos_<P>` and `sin_<P>` of the phase angle of `r` (µs) within each of `periods`."""
    # Each angle is worked out once for its cosine and its sine (in one expression each,
    # Polars did it twice: a sixth of the trigonometry's time).
    angles = remainders.select(
        ((pl.col("r") % (p * 1_000_000)).cast(pl.Float64) * (2 * math.pi / (p * 1_000_000))).alias(
            f"angle_{p}"
        )
        for p in periods
    )
    # Polars works the trigonometry out a column per thread; numpy adds it up by group.
    return angles.select(
        *[pl.col(f"angle_{p}").cos().alias(f"cos_{p}") for p in periods],
        *[pl.col(f"angle_{p}").sin().alias(f"sin_{p}") for p in periods],
    )


def _in_account_time_order(rows: pl.DataFrame, at: str, *ties: str) -> pl.DataFrame:
    """`rows` sorted by (`_acc`, `at`, *ties); `at` is a datetime or a non-negative integer."""
    order = _account_time_order(rows, at, *ties)
    if order is None:
        return rows.sort("_acc", at, *ties)
    return rows.rechunk().gather(order)


def _account_time_order(rows: pl.DataFrame, at: str, *ties: str) -> np.ndarray | None:
    """The row order that sorts `rows` by (`_acc`, `at`, *ties) (None when the packed key
    below does not fit: the caller sorts by the columns).

    A sort on several columns costs about five times one on a single integer, so the account
    code and the offset from the earliest `at` are packed into one integer key when they fit in
    63 bits. Rows of one account that share an `at` (rare, but enough of them to matter in a
    large log) are then put in `ties` order among themselves, apart from the rest.
    """
    if rows.height < 2:
        return np.arange(rows.height, dtype=np.int64)
    offset = pl.col(at) - pl.col(at).min()
    if isinstance(rows.schema[at], pl.Datetime):
        offset = offset.dt.total_microseconds()
    span = rows.select(offset.max()).item()
    top_code = int(rows.select(pl.col("_acc").max()).item() or 0)
    if span is None or int(span).bit_length() + top_code.bit_length() > 62:
        return None
    key = pl.col("_acc").cast(pl.Int64) * (1 << int(span).bit_length()) + offset
    key_series = rows.select(key).to_series()
    order = key_series.arg_sort().to_numpy().astype(np.int64)
    keys = key_series.to_numpy()
    sorted_keys = keys[order]
    same = sorted_keys[1:] == sorted_keys[:-1]
    if same.any():
        tied = np.zeros(keys.size, dtype=bool)
        tied[1:] |= same
        tied[:-1] |= same
        at_tied = np.flatnonzero(tied)
        members = order[at_tied]
        columns = [rows[c].to_numpy()[members] for c in reversed(ties)]
        order[at_tied] = members[np.lexsort([*columns, keys[members]])]
    return order


def session_concurrency(rows: pl.DataFrame) -> pl.DataFrame:
    """Per account-day: the most sessions running at once (`max_parallel`), from each session's
    first and last request. Null where the input has no session ids."""
    sessions = (
        rows.filter(pl.col("_session").is_not_null())
        .group_by("_session")
        .agg(
            pl.col("_acc").first(),
            pl.col("timestamp").min().alias("start"),
            pl.col("timestamp").max().alias("end"),
            pl.col("day").min(),
        )
        .with_columns(_account_day_key())
    )
    # Ends sort before starts at the same instant, so back-to-back sessions do not count as
    # parallel; a session's end comes after its start, so each account's running count ends
    # at zero and one cumulative sum over all accounts is each account's own.
    events = pl.concat(
        [
            sessions.select(
                "_acc", "_ad", pl.col("start").alias("at"), pl.lit(1, pl.Int32).alias("delta")
            ),
            sessions.select(
                "_acc", "_ad", pl.col("end").alias("at"), pl.lit(-1, pl.Int32).alias("delta")
            ),
        ]
    )
    # In microseconds, doubled, plus one for a start: ends first at the same instant.
    events = events.with_columns(
        (
            (pl.col("at") - pl.col("at").min()).dt.total_microseconds() * 2 + (pl.col("delta") > 0)
        ).alias("_at")
    )
    running = _in_account_time_order(events, "_at").with_columns(
        pl.col("delta").cum_sum().alias("running")
    )
    return running.group_by("_ad").agg(pl.col("running").max().cast(pl.Int64).alias("max_parallel"))


@dataclass(frozen=True)
class MergedWork:
    """Commit credits split into what counts as output and what does not."""

    credits: pl.DataFrame  # one row per (change, author) with `day`, `counts`, `lines`, `why_not`


def merged_work(commits: pl.DataFrame, cfg: AuditConfig) -> MergedWork:
    """Mark each credited change as output or not: trivial changes, reverts and what they revert
    (within `revert_cancel_days`) do not count."""
    if commits.is_empty():
        empty = commits.with_columns(
            pl.lit(None, pl.Date).alias("day"),
            pl.lit(None, pl.Int64).alias("lines"),
            pl.lit(None, pl.Boolean).alias("counts"),
            pl.lit(None, pl.String).alias("why_not"),
        )
        return MergedWork(empty)
    df = commits.with_columns(
        pl.col("merged_at").dt.convert_time_zone(cfg.tz).dt.date().alias("day"),
        (pl.col("lines_added") + pl.col("lines_deleted")).alias("lines"),
    ).sort(*_CHANGE_ORDER, nulls_last=True)
    # A change listed twice is one credit (`_one_row_per_change`); rows without any key cannot
    # be told apart from distinct changes and are all kept.
    keyed = pl.col("sha").is_not_null() | pl.col("pr_id").is_not_null()
    unkeyed = df.filter(~keyed).with_columns(pl.lit(None, pl.String).alias("_change"))
    df = pl.concat([_one_row_per_change(df.filter(keyed)), unkeyed]).sort(
        *_CHANGE_ORDER, nulls_last=True
    )
    cancelled = _cancelled_by_reverts(df, cfg)
    df = df.drop("_change")
    why_not = (
        pl.when(pl.int_range(pl.len()).is_in(cancelled["revert"]))
        .then(pl.lit("revert"))
        .when(pl.int_range(pl.len()).is_in(cancelled["reverted"]))
        .then(pl.lit("reverted"))
        .when(pl.col("lines") <= cfg.trivial_max_lines)
        .then(pl.lit("trivial"))
    )
    df = df.with_columns(why_not.alias("why_not")).with_columns(
        pl.col("why_not").is_null().alias("counts")
    )
    return MergedWork(df)


#: Changes in time order, ties by what they are before where they were read: rows of the same
#: instant otherwise fell in file and line order, and which of two alike changes a revert
#: cancelled depended on it.
_CHANGE_ORDER: Final = (
    "merged_at", "sha", "author", "pr_id", "message", "lines_added", "lines_deleted", "_file", "_line"
)  # fmt: skip
#: A pull request id that names its repository (`acme/web#5`, GitLab's `1234!7`).
_QUALIFIED_PR: Final = r"[^#!\s]+[#!][0-9]+$"


def _pr_key() -> pl.Expr:
    """What names a pull request within one author's rows: a repository-qualified id as it is;
    any other (`#5`, `PR-12`: two repositories may both have it) with the instant it was
    merged."""
    pr = pl.col("pr_id")
    qualified = pr.str.contains(_QUALIFIED_PR).fill_null(False)
    at = pl.col("merged_at").dt.strftime("%Y-%m-%dT%H:%M:%S%.f")
    return pl.when(qualified).then(pr).otherwise(pl.concat_str(pr, pl.lit("@"), at))


def _one_row_per_change(df: pl.DataFrame) -> pl.DataFrame:
    """One row per change credited to one author, its sha and pull request id filled from its
    other rows, and what names the change in `_change`.

    A change is named by its pull request (`_pr_key`) while that pull request's rows give at
    most one sha (a commits CSV with a row per commit and its pull request is several changes,
    each named by its sha), else by its sha (lower-cased); a row with a sha and no pull request
    takes the pull request its sha has in another row. So one pull request listed with its merge
    sha and without it, under an edited title, or beside `--repo`'s row of the same merge, is one
    change. Of its rows the kept one is, in this order: the one whose message names the commit
    it reverts (`--repo` keeps the body, a pull request list only the title), with a sha, with
    the most lines, then the earliest; chosen by content, so the order of rows and files
    changes nothing.

    NOTE: deduplicating on (sha, pr_id, author) as a tuple counted a pull request twice when
    only one of two listings carried its merge sha."""
    author = pl.col("author")
    sha = pl.col("sha").str.to_lowercase()
    pr = _pr_key()
    shas_of_pr = sha.drop_nulls().n_unique().over(author, pr)
    by_pr = pl.when(pl.col("pr_id").is_not_null() & (shas_of_pr <= 1)).then(
        pl.concat_str(pl.lit("pr:"), pr)
    )
    keyed = df.with_columns(
        by_pr.when(sha.is_not_null())
        .then(pl.concat_str(pl.lit("sha:"), sha))
        # A row without a sha of a pull request whose rows give several: one with the
        # other rows like it, none of those with a sha.
        .otherwise(pl.concat_str(pl.lit("pr:"), pr))
        .alias("_change"),
        sha.alias("_sha"),
    )
    # A sha with one pull request among the author's rows stands for it in rows without one.
    named = (
        keyed.filter(pl.col("_change").str.starts_with("pr:") & pl.col("_sha").is_not_null())
        .group_by("author", "_sha")
        .agg(pl.col("_change").unique().alias("_named"))
        .filter(pl.col("_named").list.len() == 1)
        .select("author", "_sha", pl.col("_named").list.first())
    )
    keyed = keyed.join(named, on=["author", "_sha"], how="left", nulls_equal=False).with_columns(
        pl.when(pl.col("_change").str.starts_with("sha:") & pl.col("_named").is_not_null())
        .then(pl.col("_named"))
        .otherwise(pl.col("_change"))
        .alias("_change")
    )
    # Only changes of several rows are sorted and folded (a clean log has none: 200k rows).
    several = pl.struct("author", "_change").is_duplicated()
    alone = keyed.filter(~several).drop("_sha", "_named")
    return pl.concat([alone, _fold_rows(keyed.filter(several))])


def _fold_rows(keyed: pl.DataFrame) -> pl.DataFrame:
    """Each change's kept row (see `_one_row_per_change`), with its other rows' sha and id."""
    reverts = pl.col("message").str.contains("(?i)this reverts commit").fill_null(False)
    lines = pl.col("lines_added").fill_null(0) + pl.col("lines_deleted").fill_null(0)
    return (
        keyed.sort(
            [~reverts, pl.col("sha").is_null(), lines, *_CHANGE_ORDER],
            descending=[False, False, True, *([False] * len(_CHANGE_ORDER))],
            nulls_last=True,
        )
        .with_columns(
            pl.col("sha").drop_nulls().first().over("author", "_change"),
            pl.col("pr_id").drop_nulls().first().over("author", "_change"),
        )
        .unique(["author", "_change"], keep="first", maintain_order=True)
        .drop("_sha", "_named")
    )


def _cancelled_by_reverts(df: pl.DataFrame, cfg: AuditConfig) -> dict[str, list[int]]:
    """Row positions of reverts and of the changes they revert.

    A change is a revert when its title says so (`Revert "…"`, or a title beginning "Revert"
    with a `This reverts commit` line): a squash merge's body lists its branch's commits, and
    one of them reverting a commit does not make the whole pull request a revert. What it
    reverts is the commit its line names, else the latest earlier change of the quoted title
    (exactly as quoted, else with pull request numbers set aside). A change credited to several
    people is one row each: all of them are reverted (a change is its sha, else its pull
    request in its repository)."""
    reverts: list[int] = []
    reverted: list[int] = []
    if df["message"].null_count() == df.height:
        # A log without messages (most exports) has no reverts: the loop below would only
        # convert every sha and merge time into Python objects (0.3 s at 100,000 commits).
        return {"revert": reverts, "reverted": reverted}
    messages = df["message"].to_list()
    shas = [s.lower() if s else "" for s in df["sha"].to_list()]
    # Every row of a change, whoever it is credited to: its sha, else what names its pull
    # request (`_one_row_per_change`).
    changes = [f"sha:{s}" if s else (c or "") for s, c in zip(shas, df["_change"], strict=True)]
    rows_of: dict[str, list[int]] = {}
    for j, key in enumerate(changes):
        if key:
            rows_of.setdefault(key, []).append(j)
    times = df["merged_at"].to_list()
    exact: dict[str, list[int]] = {}
    bare: dict[str, list[int]] = {}
    for i, msg in enumerate(messages):
        if msg:
            title = msg.splitlines()[0].strip()
            exact.setdefault(title, []).append(i)
            bare.setdefault(_bare_title(title), []).append(i)
    limit = timedelta(days=cfg.revert_cancel_days)
    for i, msg in enumerate(messages):
        if not msg:
            continue
        title = msg.splitlines()[0].strip()
        title_match = _REVERT_TITLE.match(title)
        sha_match = _REVERT_SHA.search(msg) if title.lower().startswith("revert") else None
        if not (title_match or sha_match):
            continue
        reverts.append(i)
        target: int | None = None
        if sha_match:
            prefix = sha_match["sha"].lower()
            target = next(
                (j for j, s in enumerate(shas) if s and s.startswith(prefix) and j != i), None
            )
        if target is None and title_match:
            quoted = title_match["title"]
            for candidates in (exact.get(quoted, []), bare.get(_bare_title(quoted), [])):
                earlier = [j for j in candidates if j != i and times[j] <= times[i]]
                if earlier:
                    target = earlier[-1]
                    break
        if target is not None and times[i] - times[target] <= limit:
            reverted += rows_of.get(changes[target], [target])
    return {"revert": reverts, "reverted": reverted}


def _bare_title(line: str) -> str:
    """A change's title without the pull request's number GitHub appends (` (#12)`)."""
    return _PR_NUMBER.sub("", line.strip())


def output_days(credits: pl.DataFrame) -> pl.DataFrame:
    """Per (account, day): changes and lines that count as output, and those that do not."""
    return (
        credits.group_by("author", "day")
        .agg(
            pl.col("counts").sum().cast(pl.Int64).alias("changes"),
            pl.col("lines").filter(pl.col("counts")).sum().cast(pl.Int64).alias("lines"),
            (~pl.col("counts")).sum().cast(pl.Int64).alias("non_output_changes"),
        )
        .rename({"author": "account"})
        .sort("account", "day")
    )


def _in_account_day_order(days: pl.DataFrame) -> bool:
    """Whether `days` are sorted by account and day, each account-day once, without nulls.

    NOTE: the panel comes so (`ingest.by_account_and_day`) and keeps its order through the
    follow-up and the interruptions; sorting its million account-days of 31 columns again cost
    0.1-0.2 s each time, checking the order 0.01 s."""
    if days.height < 2:
        return not days["account"].null_count() and not days["day"].null_count()
    if days["account"].null_count() or days["day"].null_count():
        return False
    account, day = pl.col("account"), pl.col("day")
    next_account = account.shift(-1)
    ascending = (account < next_account) | ((account == next_account) & (day < day.shift(-1)))
    return bool(days.select(ascending.fill_null(True).all()).item())


def _flagged(days: pl.DataFrame) -> pl.DataFrame:
    """Account-days in account-day order, flagged as the sort would have flagged them.

    NOTE: Polars marks the first key of a sort as sorted, and a group-by on a column so marked
    adds each group's floats up in another order than a hash group-by does (`cost_usd` per
    account moved in its last digit): the flag must be there whether or not the rows were
    sorted here."""
    return days.with_columns(pl.col("account").set_sorted())


def follow_up(
    days: pl.DataFrame, outputs: pl.DataFrame, merges_known_until: date | None
) -> pl.DataFrame:
    """Add `next_merge_day` and `delay_days` (to the next day with counted output, at or after
    the usage day) to account-day usage."""
    merges = (
        outputs.filter(pl.col("changes") > 0)
        .select("account", pl.col("day").alias("next_merge_day"))
        .sort("account", "next_merge_day")
    )
    ordered = _flagged(days) if _in_account_day_order(days) else days.sort("account", "day")
    joined = ordered.join_asof(
        merges,
        left_on="day",
        right_on="next_merge_day",
        by="account",
        strategy="forward",
        check_sortedness=False,
    )
    if merges_known_until is not None:
        joined = joined.with_columns(
            pl.when(pl.col("next_merge_day") <= merges_known_until)
            .then(pl.col("next_merge_day"))
            .alias("next_merge_day")
        )
    return joined.with_columns(
        (pl.col("next_merge_day") - pl.col("day")).dt.total_days().alias("delay_days")
    )


def auto_window(days: pl.DataFrame, cfg: AuditConfig) -> int:
    """The cohort's usage-to-merge lag: the median over accounts of each account's 90th-percentile
    delay from a usage day to its next merged change, clamped to [window_min, window_max].

    The per-account p90 captures each person's merge rhythm; the median across accounts keeps a
    minority of barren accounts from stretching everybody's window.
    """
    per_account = (
        days.filter(pl.col("delay_days").is_not_null())
        .group_by("account")
        .agg(pl.col("delay_days").quantile(0.9, "higher").alias("p90"), pl.len().alias("n"))
        .filter(pl.col("n") >= 5)
    )
    if per_account.is_empty():
        return cfg.window_max
    p90 = float(np.median(per_account["p90"].to_numpy()))
    return int(min(max(round(p90), cfg.window_min), cfg.window_max))


def mark_interruptions(
    days: pl.DataFrame, window: int, data_start: date | None, cfg: AuditConfig
) -> pl.DataFrame:
    """Leave and onboarding never count against anyone.

    `onboarding`: the first `onboarding_days` of an account whose first usage comes at least
    `joiner_after_days` after the data starts (a new joiner, not someone already at work).
    `interrupted`: a pause of `leave_gap_days` or more begins within the day's follow-up window,
    so "no merge within the window" may just be leave. Both kinds of day are censored (neither
    barren nor followed) unless merged work did follow.
    """
    if days.is_empty():
        return days.with_columns(
            pl.lit(False).alias("onboarding"), pl.lit(False).alias("interrupted")
        )
    if _in_account_day_order(days):
        return _interruptions_in_order(_flagged(days), window, data_start, cfg)
    ordered = days.sort("account", "day")
    next_day = pl.col("day").shift(-1).over("account", order_by="day")
    gap_after = (next_day - pl.col("day")).dt.total_days()
    ordered = ordered.with_columns(
        pl.when(gap_after > cfg.leave_gap_days).then(pl.col("day")).alias("_gap_start"),
        pl.col("day").min().over("account").alias("_first"),
    )
    # The next pause that starts on or after each day (backward fill of gap starts).
    ordered = ordered.with_columns(
        pl.col("_gap_start").backward_fill().over("account", order_by="day").alias("_next_gap")
    )
    joiner = (
        (pl.col("_first") - pl.lit(data_start)).dt.total_days() >= cfg.joiner_after_days
        if data_start is not None
        else pl.lit(False)
    )
    return ordered.with_columns(
        (joiner & ((pl.col("day") - pl.col("_first")).dt.total_days() < cfg.onboarding_days)).alias(
            "onboarding"
        ),
        ((pl.col("_next_gap") - pl.col("day")).dt.total_days() < window)
        .fill_null(False)
        .alias("interrupted"),
    ).drop("_gap_start", "_first", "_next_gap")


def _interruptions_in_order(
    days: pl.DataFrame, window: int, data_start: date | None, cfg: AuditConfig
) -> pl.DataFrame:
    """`mark_interruptions` of account-days in account-day order (`_in_account_day_order`):
    each account is a run of rows in day order, so its windows are shifts and fills that stop
    at the runs' edges (0.5 s of windows per call at 20,000 accounts; the same values)."""
    day = pl.col("day")
    starts_run = (pl.col("account") != pl.col("account").shift(1)).fill_null(True)
    ends_run = (pl.col("account") != pl.col("account").shift(-1)).fill_null(True)
    gap_after = (day.shift(-1) - day).dt.total_days()
    # An account's last day has no next day, so no pause starts there: the marker that stops
    # the backward fill at the run's edge is never a real gap start.
    edge = pl.lit(date(1, 1, 1))
    gap_start = (
        pl.when(ends_run)
        .then(edge)
        .when(gap_after > cfg.leave_gap_days)
        .then(day)
        .otherwise(pl.lit(None, dtype=pl.Date))
    )
    next_gap = gap_start.backward_fill()
    first = pl.when(starts_run).then(day).forward_fill()
    joiner = (
        (first - pl.lit(data_start)).dt.total_days() >= cfg.joiner_after_days
        if data_start is not None
        else pl.lit(False)
    )
    return days.with_columns(
        (joiner & ((day - first).dt.total_days() < cfg.onboarding_days)).alias("onboarding"),
        (pl.when(next_gap != edge).then((next_gap - day).dt.total_days() < window))
        .fill_null(False)
        .alias("interrupted"),
    )


def mark_followed(days: pl.DataFrame, window: int, merges_known_until: date | None) -> pl.DataFrame:
    """`followed`: counted output within [day, day + window]. `censored`: not followed, and the
    window runs past the last day merges are known for, so the day is neither barren nor followed."""
    end = pl.col("day") + pl.duration(days=window)
    followed = pl.col("delay_days").is_not_null() & (pl.col("delay_days") <= window)
    censored = pl.lit(True) if merges_known_until is None else end > pl.lit(merges_known_until)
    for flag in ("onboarding", "interrupted"):
        if flag in days.columns:
            censored = censored | pl.col(flag)
    return days.with_columns(followed.alias("followed")).with_columns(
        (~pl.col("followed") & censored).alias("censored")
    )
