"""Validated usage rows → the account-day panel, in memory bounded by account-days.

A small input is collected and aggregated in memory. A large one is split, in one streaming pass,
into buckets by account (a hash of the resolved account) written as Parquet to the run's private
temporary directory; each bucket is then small enough to de-duplicate, sort and aggregate in
memory, and only its account-days are kept. Every account lands in exactly one bucket and every
step after the split works per account, so the panel does not depend on the number of buckets
(a test holds one bucket equal to several).

Two guards keep a few wild rows from changing everybody's result:

- **Stray timestamps.** Without --since/--until the audited period runs from the first usage day
  to the last, so one row dated 1970 (or 2099) would stretch it over decades and change other
  people's statuses. Usage days are grouped into stretches separated by more than
  `STRAY_GAP_DAYS` days without any usage; a stretch other than the largest is quarantined (each
  row rejected with its reason) when it holds under `STRAY_MAX_SHARE` of the rows or spans at
  most `STRAY_MAX_DAYS` days. Usage within `STRAY_GAP_DAYS` of the rest is never touched, so a
  real month at the edge of the data always stays; --since/--until turn the rule off on their
  side.
- **Totals that cannot be counted.** Every row is plausible (`canonical.PLAUSIBLE_MAX`), and
  the totals are checked in floating point before the Int64 sums are trusted: past 2^62 they
  would wrap around silently, so the run stops with exit 65 instead.
"""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from tokenaudit.config import AuditConfig
from tokenaudit.errors import DataError
from tokenaudit.identities import IdentityMap
from tokenaudit.loaders.canonical import within_bounds
from tokenaudit.panel import (
    hash_ids,
    local_day,
    narrow_usage,
    period_bounds,
    split_duplicate_requests,
    usage_days,
    within_period,
)
from tokenaudit.pricing import (
    CACHE_WRITE_1H,
    UNPRICED,
    UNPRICED_SCHEMA,
    PriceTable,
    count_unpriced,
    mark_unpriced,
    price_usage,
    shipped_prices,
)
from tokenaudit.rejects import RejectCode
from tokenaudit.schema import PANEL_SCHEMA, TOKEN_COLUMNS

#: Memory planning, measured with `benchmarks/scale.py` at 1M to 10M requests. A validated row
#: held in memory takes about `HELD_BYTES_PER_ROW`; working on it (de-duplication, the time
#: order, the panel's groups) takes `WORK_BYTES_PER_ROW` more while its part is processed: that
#: is the worst shape's figure (one request per account-day, every row its own group and
#: session). The interpreter, Polars and SciPy take `BASE_BYTES` (measured: about 430 MB resident
#: before the first row; at 150 MB, 10M requests under `--memory-limit 1GB` peaked at 957–1,044 MiB,
#: at 430 MB 924 MiB), and the partitioned writer of the bucketed path `SPLIT_BYTES`.
HELD_BYTES_PER_ROW: Final = 130
WORK_BYTES_PER_ROW: Final = 800
BASE_BYTES: Final = 430 << 20
SPLIT_BYTES: Final = 700 << 20
#: More buckets than this cost more in the partitioned writer's buffers than they save.
MAX_BUCKETS: Final = 256
#: The columns the panel needs (the model and 1-hour writes only until the rows are priced); the
#: rest of a usage row is dropped before the split.
_KEPT: Final = (
    "timestamp",
    "account",
    *TOKEN_COLUMNS,
    CACHE_WRITE_1H,
    "requests",
    "cost_usd",
    "model",
    "source",
    "session_id",
    "request_id",
    "_file",
    "_line",
    "_reject",
    "_reject_code",
    "_zone_less",
)
#: A rejected row: where it is, why (for people) and its `rejects.RejectCode` (for programs).
REJECT_SCHEMA: Final = {
    "_file": pl.String(),
    "_line": pl.Int64(),
    "_reject": pl.String(),
    "_reject_code": pl.String(),
}
#: Stray timestamps (see the module docstring).
STRAY_GAP_DAYS: Final = 60
STRAY_MAX_SHARE: Final = 0.02
STRAY_MAX_DAYS: Final = 3
UNCOSTED_SCHEMA: Final = {"account": pl.String(), "day": pl.Date()}
#: Token and request totals must stay below this to be summed exactly in Int64.
_MAX_TOTAL: Final = float(2**62)


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
    #: Used rows that have no cost after pricing, per model (`pricing.UNPRICED_SCHEMA`).
    unpriced: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=UNPRICED_SCHEMA))
    #: Account-days (`account`, `day`) with a used row of unknown cost: their `cost_usd` is partial.
    uncosted: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=UNCOSTED_SCHEMA))
    #: Per file: the first and last timestamp of its used rows.
    spans: dict[str, tuple[date, date]] = field(default_factory=dict)


def near_period(cfg: AuditConfig, column: str = "timestamp") -> pl.Expr:
    """Rows worth reading for the period (see `panel.period_bounds`)."""
    return within_bounds(column, *period_bounds(cfg))


def bucket_count(expected_rows: int, memory_limit: int | None) -> int:
    """1 (the rows are read into memory in one pass) when `expected_rows` fit in `memory_limit`
    bytes with as much again to work on them, else enough account buckets on disk for each to
    (see `HELD_BYTES_PER_ROW`)."""
    held = expected_rows * HELD_BYTES_PER_ROW
    if memory_limit is None or BASE_BYTES + 2 * held <= memory_limit:
        return 1
    room = max(memory_limit - SPLIT_BYTES, memory_limit // 8)
    return min(MAX_BUCKETS, max(2, math.ceil(2 * held / room)))


def work_parts(rows: int, held: int, memory_limit: int | None) -> int:
    """In how many account parts `rows` held in memory (`held` bytes) are worked on, so that the
    work (`WORK_BYTES_PER_ROW`) stays within `memory_limit` beside them."""
    if memory_limit is None:
        return 1
    room = max(memory_limit - BASE_BYTES - held, memory_limit // 8)
    return min(MAX_BUCKETS, max(1, math.ceil(rows * WORK_BYTES_PER_ROW / room)))


def _worked_parts(
    parts: list[pl.LazyFrame], idmap: IdentityMap, memory_limit: int | None
) -> Iterator[pl.DataFrame]:
    """Each part collected, then cut into as many account parts as `work_parts` says (each one
    whole accounts, by their resolved name): a part is freed once it is processed."""
    while parts:
        part = parts.pop(0).collect()
        k = work_parts(part.height, int(part.estimated_size()), memory_limit)
        if k == 1:
            yield part
            continue
        accounts = _distinct(part.get_column("account"))
        names = accounts.values.cast(pl.String).to_frame("account")
        # A seed of its own: within a bucket of the split every account has one hash modulo
        # the number of buckets, so the same hash would send them all to one part.
        keys = names.select(idmap.resolve(pl.col("account")).hash(seed=1) % k).to_series()
        # Rows without an account (position -1: the 0 appended) are rejected, and counted: in
        # the first part.
        work = np.append(keys.to_numpy(), 0)[accounts.index]
        for i in range(k):
            yield part.filter(pl.Series(work == i))
        del part


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
    rows = _validated(frames, cfg, pushdown=pushdown)
    n = buckets if buckets is not None else bucket_count(expected_rows, cfg.memory_limit)
    parts = _split(rows, n, workdir, idmap)
    keep = _main_stretch(_day_counts(parts), cfg)
    table = cfg.prices or shipped_prices()
    days: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    duplicates = 0
    parsed: Counter[str] = Counter()
    used: Counter[str] = Counter()
    zone_less: Counter[str] = Counter()
    spellings: Counter[tuple[str, str]] = Counter()
    totals = [0.0, 0.0]
    unpriced: list[pl.DataFrame] = []
    uncosted: list[pl.DataFrame] = [pl.DataFrame(schema=UNCOSTED_SCHEMA)]
    spans: dict[str, tuple[date, date]] = {}
    for whole in _worked_parts(parts, idmap, cfg.memory_limit):
        part = _quarantine_strays(whole, keep)
        flagged = part["_reject"].is_not_null()
        rejects.append(_as_rejects(part.filter(flagged)))
        parsed.update(per_file(part))
        # Clean logs have no rejected row: filtering would copy every column for nothing.
        good = (part.filter(~flagged) if flagged.any() else part).drop("_reject", "_reject_code")
        del whole, part, flagged
        good, seen = _priced_and_resolved(good, idmap, table)
        spellings.update(seen)
        kept, dropped = split_duplicate_requests(good.drop("_zone_less"), key=("request_id",))
        unpriced.append(count_unpriced([kept]))
        uncosted.append(_uncosted_days(kept, cfg))
        kept = kept.drop(UNPRICED)
        _add_totals(totals, kept)
        rejects.append(_as_rejects(_coded(dropped, RejectCode.DUPLICATE_REQUEST)))
        duplicates += dropped.height
        used.update(per_file(kept))
        _widen_spans(spans, file_spans(kept, "timestamp"))
        zone_less.update(per_file(good.filter(pl.col("_zone_less"))))
        days.append(usage_days(kept, cfg))
        del good, kept
    shown = idmap.learn_spellings(dict(spellings))
    panel_days, uncosted_days = (_spelt(pl.concat(f), shown) for f in (days, uncosted))
    return UsagePanel(
        days=by_account_and_day(panel_days),
        rejects=pl.concat(rejects),
        duplicates=duplicates,
        parsed=dict(parsed),
        used=dict(used),
        zone_less=dict(zone_less),
        buckets=n,
        unpriced=_merged_unpriced(unpriced),
        uncosted=uncosted_days.unique().sort("account", "day"),
        spans=spans,
    )


def by_account_and_day(days: pl.DataFrame) -> pl.DataFrame:
    """`days` sorted by `account` and `day`, when those are unique (an account-day panel).

    The accounts are ranked once (a few thousand names) and the rows sorted by one integer of
    rank and day: sorting a million account-days by the name strings took twice as long
    (5M many-light: 0.76 s -> 0.37 s)."""
    names = days.get_column("account")
    if days.height < 2 or names.null_count():
        return days.sort("account", "day")
    ranked = names.unique().sort()
    rank = pl.col("account").replace_strict(
        ranked, pl.int_range(ranked.len(), dtype=pl.Int64, eager=True), return_dtype=pl.Int64
    )
    # Days as Int32 offset into [0, 2^32), below each rank's multiple of 2^32.
    day = pl.col("day").cast(pl.Int32).cast(pl.Int64) + (1 << 31)
    return days.sort(rank * (1 << 32) + day)


def _as_rejects(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame`'s `REJECT_SCHEMA` columns (the file name a category until now)."""
    return frame.select(pl.col(c).cast(t) for c, t in REJECT_SCHEMA.items())


def _spelt(frame: pl.DataFrame, shown: dict[str, str]) -> pl.DataFrame:
    """`frame` with its accounts spelt as the report shows them (`IdentityMap.learn_spellings`)."""
    if not shown:
        return frame
    return frame.with_columns(
        pl.col("account").replace_strict(shown, default=pl.col("account"), return_dtype=pl.String)
    )


def _uncosted_days(kept: pl.DataFrame, cfg: AuditConfig) -> pl.DataFrame:
    """The account-days in the period with a used row of unknown cost (`UNCOSTED_SCHEMA`)."""
    return (
        kept.filter(pl.col(UNPRICED).is_not_null())
        .select(pl.col("account").cast(pl.String), local_day(cfg).alias("day"))
        .filter(within_period(pl.col("day"), cfg))
        .unique()
    )


def _merged_unpriced(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Per-bucket counts of unpriced rows added up per model (`pricing.UNPRICED_SCHEMA`)."""
    if not parts:
        return pl.DataFrame(schema=UNPRICED_SCHEMA)
    out = pl.concat(parts).group_by("model").agg(pl.col("rows").sum(), pl.col("tokens").sum())
    return out.sort(["tokens", "model"], descending=[True, False]).select(
        pl.col(c).cast(t) for c, t in UNPRICED_SCHEMA.items()
    )


def _add_totals(totals: list[float], kept: pl.DataFrame) -> None:
    """Add the bucket's token and request totals (in Float64, which cannot wrap) and refuse the
    input once they leave the range Int64 sums are exact in."""
    tokens, requests = kept.select(
        pl.sum_horizontal([pl.col(c).cast(pl.Float64) for c in TOKEN_COLUMNS]).sum(),
        pl.col("requests").cast(pl.Float64).sum(),
    ).row(0)
    totals[0] += float(tokens or 0.0)
    totals[1] += float(requests or 0.0)
    if totals[0] >= _MAX_TOTAL or totals[1] >= _MAX_TOTAL:
        what = "tokens" if totals[0] >= _MAX_TOTAL else "requests"
        raise DataError(
            "usage",
            f"the {what} add up to more than 2^62 ({max(totals):.3g}); such totals cannot be "
            "counted exactly, so no report is made (check the token columns)",
        )


def _day_counts(parts: list[pl.LazyFrame]) -> pl.DataFrame:
    """Rows per UTC day of the usable rows, over every part."""
    counts = [
        part.filter(pl.col("_reject").is_null() & pl.col("timestamp").is_not_null())
        .group_by(pl.col("timestamp").dt.date().alias("day"))
        .len()
        .collect()
        for part in parts
    ]
    if not counts:
        return pl.DataFrame(schema={"day": pl.Date, "len": pl.UInt32})
    return pl.concat(counts).group_by("day").agg(pl.col("len").sum()).sort("day")


def _main_stretch(counts: pl.DataFrame, cfg: AuditConfig) -> tuple[date, date, str] | None:
    """The days usage is kept on when stray stretches are quarantined: (first, last, the reason
    text's range), or None when nothing is stray."""
    if counts.height < 2:
        return None
    days = counts["day"].to_list()
    rows = counts["len"].to_list()
    stretches: list[list[int]] = [[0]]
    for i in range(1, len(days)):
        if (days[i] - days[i - 1]).days > STRAY_GAP_DAYS:
            stretches.append([])
        stretches[-1].append(i)
    if len(stretches) == 1:
        return None
    total = sum(rows)
    sizes = [sum(rows[i] for i in s) for s in stretches]
    main = max(range(len(stretches)), key=lambda k: (sizes[k], k))

    def stray(k: int) -> bool:
        if k == main:
            return False
        small = sizes[k] < STRAY_MAX_SHARE * total
        brief = len(stretches[k]) <= STRAY_MAX_DAYS and sizes[k] < sizes[main]
        return small or brief

    kept = [k for k in range(len(stretches)) if not stray(k)]
    # Only the ends can be dropped: a stretch between kept ones is inside the period anyway.
    lo_k, hi_k = min(kept), max(kept)
    if cfg.since is not None:
        lo_k = 0
    if cfg.until is not None:
        hi_k = len(stretches) - 1
    if lo_k == 0 and hi_k == len(stretches) - 1:
        return None
    first, last = days[stretches[lo_k][0]], days[stretches[hi_k][-1]]
    return first, last, f"{first}\u2013{last}"


def _quarantine_strays(part: pl.DataFrame, keep: tuple[date, date, str] | None) -> pl.DataFrame:
    if keep is None:
        return part
    first, last, span = keep
    day = pl.col("timestamp").dt.date()
    outside = pl.col("_reject").is_null() & ~day.is_between(first, last)
    reason = pl.format(
        "column 'timestamp': timestamp {} is far outside the bulk of the data ({}): more than "
        + f"{STRAY_GAP_DAYS} days from the rest; pass --since/--until to include it",
        day.cast(pl.String),
        pl.lit(span),
    )
    return part.with_columns(
        pl.when(outside).then(reason).otherwise(pl.col("_reject")).alias("_reject"),
        pl.when(outside)
        .then(pl.lit(RejectCode.STRAY_DATE.value))
        .otherwise(pl.col("_reject_code"))
        .alias("_reject_code"),
    )


def _coded(rejects: pl.DataFrame, code: RejectCode) -> pl.DataFrame:
    """`rejects` (`_file`, `_line`, `_reject`) with their `_reject_code`."""
    return rejects.with_columns(pl.lit(code.value, dtype=pl.String).alias("_reject_code"))


def _validated(frames: list[pl.LazyFrame], cfg: AuditConfig, *, pushdown: bool) -> pl.LazyFrame:
    """The validated usage rows, with only the columns the panel needs (`_KEPT`)."""
    # Accounts, models and sources repeat a few thousand names millions of times: as categories
    # they take 4 bytes a row, and are grouped and mapped by their distinct names.
    rows = pl.concat(frames, how="vertical_relaxed").select(_KEPT)
    # NOTE: the ids only ever count as equal or not: hashed by the streaming reader, they never
    # become millions of strings in memory (10M requests: two string columns of ~0.3 GB each).
    rows = rows.with_columns(
        pl.col("account", "model", "source", "_file").cast(pl.Categorical), *hash_ids()
    )
    if pushdown and (cfg.since is not None or cfg.until is not None):
        rows = rows.filter(near_period(cfg))
    return rows


def _priced_and_resolved(
    good: pl.DataFrame, idmap: IdentityMap, table: PriceTable
) -> tuple[pl.DataFrame, dict[tuple[str, str], int]]:
    """A part's usable rows priced, resolved to accounts and narrowed (`panel.narrow_usage`),
    and how often each account is spelt each way ((account, NFC spelling) → rows).

    Logs repeat a few thousand account and model names millions of times: names are
    normalised and models priced once per distinct value, then mapped onto the rows."""
    # Priced while the rows still name their model; rows of a model without a price keep a
    # null cost and are counted by model, never priced at zero.
    good = mark_unpriced(price_usage(good, table)).drop("model")
    accounts = _distinct(good.get_column("account"))
    names = _rows_per_account(accounts).with_columns(pl.col("account").cast(pl.String))
    names = names.with_columns(
        pl.col("account").str.strip_chars().str.normalize("NFC").alias("_spelling"),
        idmap.resolve(pl.col("account")).alias("_resolved"),
    )
    names = names.with_columns(pl.col("_resolved").hash(seed=0).alias("_key"))
    seen: Counter[tuple[str, str]] = Counter()
    for _, k, spelling, resolved, _ in names.iter_rows():
        seen[(resolved, spelling)] += int(k)

    # Each row's account as a position in `names` (null for a row without one, which
    # validation rejects before this): the names' values are gathered onto the rows.
    at = pl.Series(accounts.index)
    if accounts.nulls:
        at = pl.select(pl.when(at >= 0).then(at)).to_series()
    resolved = good.with_columns(
        names["_key"].gather(at).alias("_account_key"),
        names["_resolved"].cast(pl.Categorical).gather(at).alias("account"),
    ).lazy()
    narrowed = (
        narrow_usage(resolved, pl.col("_account_key"), ids_hashed=True)
        .drop("_account_key")
        .collect()
    )
    return narrowed, dict(seen)


@dataclass(frozen=True)
class _Distinct:
    """A categorical column's distinct values (nulls left out), found by their category codes."""

    #: Each value once, in the order of its code.
    values: pl.Series
    #: How many rows hold each value.
    rows: np.ndarray
    #: Each row's value as a position in `values`; -1 for a null.
    index: np.ndarray
    nulls: int


def _distinct(column: pl.Series) -> _Distinct:
    """`column`'s distinct values, and where each row's is among them (see `_Distinct`).

    NOTE: from the category codes (a bincount, and each code's first row for its name): a hash
    group-by on the column took 0.36 s at 5M rows of 20,000 accounts, this 0.05 s; and values
    worked out per distinct name are put back on the rows by `index` (a gather), where
    `replace_strict` on the column took 0.1-0.2 s of CPU a call at 2.5M rows."""
    column = column.cast(pl.Categorical)
    codes = column.to_physical()
    nulls = codes.null_count()
    top = codes.max()
    if top is None:  # empty, or every row null
        return _Distinct(column.clear(), np.zeros(0, np.int64), np.full(len(column), -1), nulls)
    null_code = int(top) + 1  # type: ignore[arg-type]
    at = (codes.fill_null(null_code) if nulls else codes).to_numpy()
    counts = np.bincount(at, minlength=null_code + 1)
    present = np.flatnonzero(counts[:null_code])
    first = np.full(counts.size, at.size, dtype=np.int64)
    np.minimum.at(first, at, np.arange(at.size, dtype=np.int64))
    position = np.full(counts.size, -1, dtype=np.int64)
    position[present] = np.arange(present.size)
    return _Distinct(column.gather(first[present]), counts[present], position[at], nulls)


def _rows_per_account(accounts: _Distinct) -> pl.DataFrame:
    """`account, len`: the rows of each (non-null) account (`_distinct` of the column)."""
    return pl.DataFrame(
        {"account": accounts.values, "len": pl.Series(accounts.rows, dtype=pl.UInt32)}
    )


def file_spans(frame: pl.DataFrame, column: str) -> dict[str, tuple[date, date]]:
    """Per input file (`_file`): the first and last value of `column` among `frame`'s rows."""
    out: dict[str, tuple[date, date]] = {}
    for name, first, last in (
        frame.group_by("_file")
        .agg(pl.col(column).min().alias("_a"), pl.col(column).max().alias("_b"))
        .iter_rows()
    ):
        if first is not None and last is not None:
            out[str(name)] = (first, last)
    return out


def _widen_spans(spans: dict[str, tuple[date, date]], more: dict[str, tuple[date, date]]) -> None:
    for name, (first, last) in more.items():
        if name in spans:
            first, last = min(first, spans[name][0]), max(last, spans[name][1])
        spans[name] = (first, last)


def per_file(frame: pl.DataFrame) -> dict[str, int]:
    """Rows per input file (`_file`)."""
    files = frame.get_column("_file")
    if frame.height and isinstance(files.dtype, pl.Categorical) and not files.null_count():
        # The usual usage part comes from one file: its category codes, read without a hash
        # group-by, say so (10M rows: 0.01 s instead of 0.1 s, three times a part).
        codes = files.to_physical()
        if codes.min() == codes.max():
            return {str(files[0]): frame.height}
    return {name: int(k) for name, k in frame.group_by("_file").len().iter_rows()}


def _split(
    rows: pl.LazyFrame, buckets: int, workdir: Path, idmap: IdentityMap
) -> list[pl.LazyFrame]:
    """The rows in `buckets` parts, each holding whole accounts (by their resolved name): one
    part is the rows collected in memory; a part of several is read (from the run's temporary
    directory) only when it is processed."""
    if buckets == 1:
        # NOTE: streaming reads, validates and casts the input a morsel at a time, in the input's
        # order, where the in-memory engine first holds every raw column whole: the same rows,
        # a third faster (5M Parquet rows: 2.8 s -> 1.9 s; 1M CSV rows: 1.3 s -> 1.0 s).
        return [rows.collect(engine="streaming").lazy()]
    # A directory of its own: a run that reads its inputs again (`audit`) splits them again.
    target = Path(tempfile.mkdtemp(dir=workdir, prefix="usage-buckets-"))
    account = idmap.resolve(pl.col("account").cast(pl.String))
    bucket = (account.hash(seed=0) % buckets).fill_null(0).alias("_bucket")
    # lz4 and small row groups: the partitioned sink buffers a row group per bucket, and with
    # zstd's larger buffers that alone came to ~0.9 GB at 10M requests (0.5 GB like this).
    rows.with_columns(bucket).sink_parquet(
        pl.PartitionBy(target, key="_bucket", include_key=False),
        mkdir=True,
        compression="lz4",
        row_group_size=65_536,
    )
    return [pl.scan_parquet(d) for d in sorted(p for p in target.iterdir() if p.is_dir())]


def read_panel(frames: list[pl.LazyFrame], idmap: IdentityMap, cfg: AuditConfig) -> UsagePanel:
    """An account-day panel given as input (`panel-sql`'s result) instead of request logs.

    A row repeating an (account, day) of the input is a duplicate (the file given twice, say) and
    is quarantined. Rows that identities resolution brings together (two spellings of one person)
    are added up; their request timing cannot be merged, so such a day counts as pre-aggregated.
    """
    rows = pl.concat(frames, how="vertical_relaxed").collect()
    flagged = rows["_reject"].is_not_null()
    good = rows.filter(~flagged).drop("_reject", "_reject_code", "_zone_less")
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
        rejects=pl.concat(
            [
                rows.filter(flagged).select(list(REJECT_SCHEMA)),
                _coded(repeated, RejectCode.DUPLICATE_DAY),
            ]
        ),
        duplicates=0,
        parsed=per_file(rows),
        used=per_file(good),
        zone_less={},
        buckets=1,
        spans=file_spans(good, "day"),
    )
