"""Validated usage rows → the account-day panel, in memory bounded by account-days.

A small input is collected and aggregated in memory. A large one is split, in one streaming pass,
into buckets by account (a hash of the resolved account) written as Parquet to the run's private
temporary directory; each bucket is then small enough to de-duplicate, sort and aggregate in
memory, and only its account-days are kept. Every account lands in exactly one bucket and every
step after the split works per account, so the panel does not depend on the number of buckets
(a test holds one bucket equal to several).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import polars as pl

from tokenaudit.config import AuditConfig
from tokenaudit.identities import IdentityMap
from tokenaudit.loaders.canonical import within_bounds
from tokenaudit.panel import (
    narrow_usage,
    period_bounds,
    split_duplicate_requests,
    usage_days,
    within_period,
)
from tokenaudit.schema import PANEL_SCHEMA, TOKEN_COLUMNS

#: Rows per bucket: a bucket is held and sorted in memory (~150 bytes a row).
ROWS_PER_BUCKET: Final = 1000000
#: The columns the panel needs; the rest of a usage row is dropped before the split.
_KEPT: Final = (
    "timestamp",
    "account",
    *TOKEN_COLUMNS,
    "requests",
    "cost_usd",
    "source",
    "session_id",
    "request_id",
    "_file",
    "_line",
    "_reject",
    "_zone_less",
)
REJECT_SCHEMA: Final = {"_file": pl.String(), "_line": pl.Int64(), "_reject": pl.String()}


@dataclass(frozen=True)
class UsagePanel:
    """Account-day usage (`panel.usage_days`) and what the rows that made it amount to."""

    days: pl.DataFrame
    #: Rows rejected by validation and repeated request ids (`_file`, `_line`, `_reject`).
    rejects: pl.DataFrame
    duplicates: int
    #: Per file: rows parsed (used + rejected), rows used, zone-less timestamps read.
    parsed: dict[str, int]
    used: dict[str, int]
    zone_less: dict[str, int]
    buckets: int


def near_period(cfg: AuditConfig, column: str = "timestamp") -> pl.Expr:
    """Rows worth reading for the period (see `panel.period_bounds`)."""
    return within_bounds(column, *period_bounds(cfg))


def bucket_count(expected_rows: int) -> int:
    return max(1, math.ceil(expected_rows / ROWS_PER_BUCKET))


def build_usage_panel(
    frames: list[pl.LazyFrame],
    idmap: IdentityMap,
    cfg: AuditConfig,
    workdir: Path,
    expected_rows: int,
    buckets: int | None = None,
    *,
    pushdown: bool = True,
) -> UsagePanel:
    """Validate, resolve, de-duplicate and aggregate usage rows into account-days.

    With `pushdown` (the default), rows far outside --since/--until are dropped as they are
    read; without it every row is read (the same panel, slower: tests compare the two)."""
    rows = pl.concat(frames, how="vertical_relaxed").select(_KEPT)
    rows = narrow_usage(rows.with_columns(idmap.resolve(pl.col("account")).alias("account")))
    if pushdown and (cfg.since is not None or cfg.until is not None):
        rows = rows.filter(near_period(cfg))
    n = buckets if buckets is not None else bucket_count(expected_rows)
    days: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    duplicates = 0
    parsed: Counter[str] = Counter()
    used: Counter[str] = Counter()
    zone_less: Counter[str] = Counter()
    for part in _split(rows, n, workdir):
        flagged = part["_reject"].is_not_null()
        good = part.filter(~flagged).drop("_reject")
        kept, dropped = split_duplicate_requests(good.drop("_zone_less"), key=("request_id",))
        rejects += [
            part.filter(flagged).select(list(REJECT_SCHEMA)),
            dropped.select(list(REJECT_SCHEMA)),
        ]
        duplicates += dropped.height
        parsed.update(per_file(part))
        used.update(per_file(kept))
        zone_less.update(per_file(good.filter(pl.col("_zone_less"))))
        days.append(usage_days(kept, cfg))
        del part, good, kept
    return UsagePanel(
        days=pl.concat(days).sort("account", "day"),
        rejects=pl.concat(rejects),
        duplicates=duplicates,
        parsed=dict(parsed),
        used=dict(used),
        zone_less=dict(zone_less),
        buckets=n,
    )


def per_file(frame: pl.DataFrame) -> dict[str, int]:
    """Rows per input file (`_file`)."""
    return {name: int(k) for name, k in frame.group_by("_file").len().iter_rows()}


def _split(rows: pl.LazyFrame, buckets: int, workdir: Path) -> Iterator[pl.DataFrame]:
    """The rows in `buckets` parts, each holding whole accounts."""
    if buckets == 1:
        yield rows.collect()
        return
    target = workdir / "usage-buckets"
    bucket = (pl.col("account").hash(seed=0) % buckets).fill_null(0).alias("_bucket")
    # lz4 and small row groups: the partitioned sink buffers a row group per bucket, and with
    # zstd's larger buffers that alone came to ~0.9 GB at 10M requests (0.5 GB like this).
    rows.with_columns(bucket).sink_parquet(
        pl.PartitionBy(target, key="_bucket", include_key=False),
        mkdir=True,
        compression="lz4",
        row_group_size=65_536,
    )
    for directory in sorted(p for p in target.iterdir() if p.is_dir()):
        yield pl.read_parquet(directory).rechunk()


def read_panel(frames: list[pl.LazyFrame], idmap: IdentityMap, cfg: AuditConfig) -> UsagePanel:
    """An account-day panel given as input (`panel-sql`'s result) instead of request logs.

    A row repeating an (account, day) of the input is a duplicate (the file given twice, say) and
    is quarantined. Rows that identities resolution brings together (two spellings of one person)
    are added up; their request timing cannot be merged, so such a day counts as pre-aggregated.
    """
    rows = pl.concat(frames, how="vertical_relaxed").collect()
    flagged = rows["_reject"].is_not_null()
    good = rows.filter(~flagged).drop("_reject", "_zone_less")
    good = good.sort("account", "day", "_file", "_line")
    first = pl.struct("account", "day").is_first_distinct()
    kept_at = pl.format("{}:{}", pl.col("_file"), pl.col("_line")).first().over("account", "day")
    good = good.with_columns(first.alias("_first"), kept_at.alias("_kept_at"))
    repeated = good.filter(~pl.col("_first")).select(
        "_file",
        "_line",
        pl.format("account and day repeat the row kept at {}", pl.col("_kept_at")).alias("_reject"),
    )
    good = good.filter(pl.col("_first"))
    days = idmap.resolve_column(good, "account").with_columns(
        *[pl.col(t).fill_null(0) for t in (*TOKEN_COLUMNS, "tokens")],
        pl.col("requests").fill_null(pl.col("rows")).fill_null(1),
        pl.col("rows").fill_null(pl.col("requests")),
        pl.col("has_cost").fill_null(pl.col("cost_usd").is_not_null()),
        pl.col("cost_usd").fill_null(0.0),
        pl.col("aggregated").fill_null(True),
    )
    days = days.filter(within_period(pl.col("day"), cfg))
    together = pl.struct("account", "day").is_duplicated()
    alone = days.filter(~together)
    merged = (
        days.filter(together)
        .group_by("account", "day")
        .agg(
            *[pl.col(c).sum() for c in ("tokens", *TOKEN_COLUMNS, "requests", "cost_usd", "rows")],
            pl.col("has_cost").any(),
            pl.lit(True).alias("aggregated"),
        )
    )
    panel_days = pl.concat([alone, merged], how="diagonal_relaxed").select(
        pl.col(c).cast(t) for c, t in PANEL_SCHEMA.items()
    )
    return UsagePanel(
        days=panel_days.sort("account", "day"),
        rejects=pl.concat([rows.filter(flagged).select(list(REJECT_SCHEMA)), repeated]),
        duplicates=0,
        parsed=per_file(rows),
        used=per_file(good),
        zone_less={},
        buckets=1,
    )
