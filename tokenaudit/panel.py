"""The account-day panel: usage and merged output per account and day, the follow-up window, and
end-of-data censoring. Everything here is a pure function of canonical frames."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from tokenaudit.config import AuditConfig
from tokenaudit.loaders.exports import AGGREGATED_SOURCES
from tokenaudit.schema import TOKEN_COLUMNS

_REVERT_TITLE = re.compile(r'^Revert "(?P<title>.+)"\s*$')
_REVERT_SHA = re.compile(r"This reverts commit (?P<sha>[0-9a-fA-F]{7,40})")
_WITHIN_SESSION_GAP_S = 30 * 60


def split_duplicate_requests(usage: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Count a repeated `request_id` once, keeping its fullest row (streamed exports repeat a
    request with growing output counts). Returns (kept rows, dropped duplicates with `reason`
    naming the row that was kept). Rows without an id are all kept.

    Only the rows whose id repeats are sorted, so the common case costs one hash pass.
    """
    repeated = pl.col("request_id").is_not_null() & pl.col("request_id").is_duplicated()
    marked = usage.with_columns(repeated.alias("_repeated"))
    ranked = (
        marked.filter(pl.col("_repeated"))
        .with_columns(pl.sum_horizontal(*TOKEN_COLUMNS).alias("_total"))
        .sort("request_id", "_total", "_file", "_line", descending=[False, True, False, False])
        .with_columns(
            pl.col("request_id").is_first_distinct().alias("_keep"),
            pl.format("{}:{}", pl.col("_file"), pl.col("_line"))
            .first()
            .over("request_id")
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


def local_day(cfg: AuditConfig) -> pl.Expr:
    return pl.col("timestamp").dt.convert_time_zone(cfg.tz).dt.date()


def within_period(day: pl.Expr, cfg: AuditConfig) -> pl.Expr:
    keep = pl.lit(True)
    if cfg.since is not None:
        keep = keep & (day >= cfg.since)
    if cfg.until is not None:
        keep = keep & (day <= cfg.until)
    return keep


def usage_days(usage: pl.LazyFrame, cfg: AuditConfig) -> pl.LazyFrame:
    """Account-day usage totals plus request-timing fingerprints for the automation check.

    Timing columns are only meaningful for request-level rows (`requests == 1`); days built from
    pre-aggregated rows get null fingerprints.
    """
    ts_s = pl.col("timestamp").dt.epoch("us").cast(pl.Float64) / 1e6
    prompt = pl.col("input_tokens") + pl.col("cache_read_tokens") + pl.col("cache_write_tokens")
    # NOTE: one explicit sort, then plain shifts masked at account boundaries: much cheaper than
    # ordered window expressions, and order-dependent operations after a sort are well defined.
    same_prev = pl.col("account") == pl.col("account").shift(1)
    same_next = pl.col("account") == pl.col("account").shift(-1)
    rows = (
        usage.with_columns(local_day(cfg).alias("day"), prompt.alias("_prompt"))
        .sort("account", "timestamp", "_prompt", "output_tokens")
        .with_columns(
            pl.when(same_prev).then(ts_s - ts_s.shift(1)).alias("_gap_prev"),
            pl.when(same_next).then(ts_s.shift(-1) - ts_s).alias("_gap_next"),
            (
                same_prev
                & (
                    (pl.col("_prompt") - pl.col("_prompt").shift(1)).abs()
                    <= 0.01 * pl.col("_prompt")
                )
                & (
                    (pl.col("output_tokens") - pl.col("output_tokens").shift(1)).abs()
                    <= 0.01 * pl.col("output_tokens").clip(lower_bound=1)
                )
            ).alias("_same_size"),
        )
    )
    rows = rows.filter(within_period(pl.col("day"), cfg))
    parallel = session_concurrency(rows)
    session_gap = pl.when(pl.col("_gap_prev") < _WITHIN_SESSION_GAP_S).then(pl.col("_gap_prev"))
    return (
        rows.group_by("account", "day")
        .agg(
            pl.sum_horizontal(*TOKEN_COLUMNS).sum().alias("tokens"),
            *[pl.col(t).sum() for t in TOKEN_COLUMNS],
            pl.col("requests").sum().alias("requests"),
            pl.col("cost_usd").sum().alias("cost_usd"),
            pl.col("cost_usd").is_not_null().any().alias("has_cost"),
            ((pl.col("requests") > 1) | pl.col("source").is_in(list(AGGREGATED_SOURCES)))
            .any()
            .alias("aggregated"),
            pl.len().alias("rows"),
            (pl.max_horizontal(pl.col("_gap_prev").max(), pl.col("_gap_next").max()) / 3600).alias(
                "max_gap_h"
            ),
            session_gap.count().alias("session_gaps"),
            session_gap.mean().alias("gap_mean"),
            session_gap.std().alias("gap_std"),
            pl.col("_same_size").fill_null(False).sum().alias("same_size_pairs"),
        )
        .join(parallel, on=["account", "day"], how="left")
    )


def session_concurrency(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Per account-day: the most sessions running at once (`max_parallel`), from each session's
    first and last request. Null where the input has no session ids."""
    sessions = (
        rows.filter(pl.col("session_id").is_not_null())
        .group_by("account", "session_id")
        .agg(
            pl.col("timestamp").min().alias("start"),
            pl.col("timestamp").max().alias("end"),
            pl.col("day").min(),
        )
    )
    events = pl.concat(
        [
            sessions.select(
                "account", "day", pl.col("start").alias("at"), pl.lit(1, pl.Int32).alias("delta")
            ),
            sessions.select(
                "account", "day", pl.col("end").alias("at"), pl.lit(-1, pl.Int32).alias("delta")
            ),
        ]
    )
    # Ends sort before starts at the same instant, so back-to-back sessions do not count as parallel.
    running = events.sort("account", "at", "delta").with_columns(
        pl.col("delta").cum_sum().over("account").alias("running")
    )
    return running.group_by("account", "day").agg(
        pl.col("running").max().cast(pl.Int64).alias("max_parallel")
    )


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
    ).sort("merged_at", "sha", "author", "_file", "_line", nulls_last=True)
    # A change listed twice (same sha or PR, same author) is one credit; rows without any key
    # cannot be told apart from distinct changes and are all kept.
    keyed = pl.col("sha").is_not_null() | pl.col("pr_id").is_not_null()
    df = pl.concat(
        [
            df.filter(keyed).unique(["sha", "pr_id", "author"], keep="first", maintain_order=True),
            df.filter(~keyed),
        ]
    ).sort("merged_at", "sha", "author", "_file", "_line", nulls_last=True)
    cancelled = _cancelled_by_reverts(df, cfg)
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


def _cancelled_by_reverts(df: pl.DataFrame, cfg: AuditConfig) -> dict[str, list[int]]:
    """Row positions of reverts and of the changes they revert."""
    reverts: list[int] = []
    reverted: list[int] = []
    messages = df["message"].to_list()
    shas = [s.lower() if s else "" for s in df["sha"].to_list()]
    times = df["merged_at"].to_list()
    titles: dict[str, list[int]] = {}
    for i, msg in enumerate(messages):
        if msg:
            titles.setdefault(msg.splitlines()[0].strip(), []).append(i)
    limit = timedelta(days=cfg.revert_cancel_days)
    for i, msg in enumerate(messages):
        if not msg:
            continue
        target: int | None = None
        sha_match = _REVERT_SHA.search(msg)
        if sha_match:
            prefix = sha_match["sha"].lower()
            target = next(
                (j for j, s in enumerate(shas) if s and s.startswith(prefix) and j != i), None
            )
        title_match = _REVERT_TITLE.match(msg.splitlines()[0].strip())
        if target is None and title_match:
            earlier = [
                j for j in titles.get(title_match["title"], []) if j != i and times[j] <= times[i]
            ]
            target = earlier[-1] if earlier else None
        if sha_match or title_match:
            reverts.append(i)
            if target is not None and times[i] - times[target] <= limit:
                reverted.append(target)
    return {"revert": reverts, "reverted": reverted}


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
    joined = days.sort("account", "day").join_asof(
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
