"""Validation at the boundary: raw tables become canonical usage, commits or identities.

Every row leaves with either all canonical columns typed, or a `_reject` reason naming the column
and the offending value. Nothing downstream re-checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import polars as pl

from tokenaudit.errors import DataError, RefusedExport, path_text
from tokenaudit.loaders.readers import RawTable, read_raw
from tokenaudit.loaders.sources import InputFile
from tokenaudit.rejects import RejectCode
from tokenaudit.schema import (
    COMMITS_SCHEMA,
    IDENTITY_SCHEMA,
    PANEL_SCHEMA,
    TOKEN_COLUMNS,
    USAGE_SCHEMA,
    Kind,
)

#: Accepted spellings of canonical columns (first match wins).
SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "timestamp": ("timestamp", "time", "ts", "datetime", "created_at", "date"),
    "account": ("account", "user", "email", "user_email", "actor"),
    "input_tokens": ("input_tokens", "prompt_tokens", "tokens", "total_tokens"),
    "output_tokens": ("output_tokens", "completion_tokens"),
    "cache_read_tokens": ("cache_read_tokens", "cache_read_input_tokens"),
    "cache_write_tokens": (
        "cache_write_tokens",
        "cache_creation_tokens",
        "cache_creation_input_tokens",
    ),
    "cache_write_1h_tokens": (
        "cache_write_1h_tokens",
        "cache_creation_1h_tokens",
        "ephemeral_1h_input_tokens",
        "cache_creation_1h_input_tokens",
    ),
    "requests": ("requests", "num_requests", "request_count"),
    "cost_usd": ("cost_usd", "cost", "spend"),
    "merged_at": ("merged_at", "mergedat", "merge_date", "committed_at", "date"),
    "author": ("author", "author_email", "login", "user"),
    "lines_added": ("lines_added", "additions", "added"),
    "lines_deleted": ("lines_deleted", "deletions", "deleted"),
    "pr_id": ("pr_id", "pr", "number", "pr_number"),
    "sha": ("sha", "commit", "oid", "hash"),
}

REQUIRED: Final[dict[Kind, tuple[str, ...]]] = {
    Kind.USAGE: ("timestamp", "account"),
    Kind.COMMITS: ("merged_at", "author", "lines_added"),
    Kind.IDENTITIES: ("alias", "account"),
    Kind.PANEL: ("account", "day", "tokens"),
}

SCHEMAS: Final[dict[Kind, dict[str, pl.DataType]]] = {
    Kind.USAGE: USAGE_SCHEMA,
    Kind.COMMITS: COMMITS_SCHEMA,
    Kind.IDENTITIES: IDENTITY_SCHEMA,
    Kind.PANEL: PANEL_SCHEMA,
}
#: The columns that tell an account-day panel (`panel-sql`'s output) from request logs.
_PANEL_MARKERS: Final = frozenset({"account", "day", "tokens", "rows", "max_gap_h"})

_TS_FORMATS_WITH_ZONE: Final = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_TS_FORMATS_NAIVE: Final = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M")
#: The usual UTC spellings at a fixed width (JavaScript's `toISOString`, Python's `isoformat`
#: of a UTC time, whole seconds): Polars reads a fixed-width format by position, four times as
#: fast as the general formats above (5M rows: about 1.5 s of CPU less). Each reads only what
#: the general format reads, to the same instant (`tests/test_loaders.py` holds this over
#: mutated spellings); a row it cannot read goes to the general formats.
_TS_FORMATS_FIXED_UTC: Final = (
    "%Y-%m-%dT%H:%M:%S.%3fZ",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.%6fZ",
    "%Y-%m-%dT%H:%M:%S.%6f+00:00",
    "%Y-%m-%dT%H:%M:%S+00:00",
    "%Y-%m-%d %H:%M:%S.%3fZ",
    "%Y-%m-%d %H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S.%6f+00:00",
    "%Y-%m-%d %H:%M:%S+00:00",
)
_MAX_INT: Final = 2**62
_EXACT_INT: Final = 2**53
#: Timestamps outside these years are not plausible log times (year 0 or 9999 is a typo or a
#: sentinel, and Python's datetime cannot even hold year 0): the row is rejected, not the run.
_EARLIEST: Final = datetime(1900, 1, 1)
_LATEST: Final = datetime(2200, 1, 1)
#: The most one row may plausibly say. One request of 10^15 tokens is impossible; a value past
#: it is an error (or an attack on the totals: Int64 sums would wrap around), so the row is
#: rejected with the reason rather than summed.
PLAUSIBLE_MAX: Final[dict[str, tuple[int, str]]] = {
    "input_tokens": (10**15, "tokens"),
    "output_tokens": (10**15, "tokens"),
    "cache_read_tokens": (10**15, "tokens"),
    "cache_write_tokens": (10**15, "tokens"),
    "cache_write_1h_tokens": (10**15, "tokens"),
    "tokens": (10**15, "tokens"),
    "requests": (10**12, "requests"),
    "rows": (10**12, "rows"),
    "lines_added": (10**10, "lines"),
    "lines_deleted": (10**10, "lines"),
    "files_changed": (10**8, "files"),
}
#: ... and the most one row may cost, in US dollars: no request, and no account's day, costs a
#: billion. A negative cost or one past this is an error that would otherwise hide an account
#: (a negative total under `--measure cost` made one "light usage") or overflow the totals.
PLAUSIBLE_MAX_AMOUNT: Final[dict[str, float]] = {"cost_usd": 1e9}


@dataclass(frozen=True)
class LoadedInput:
    """One input file after validation."""

    file: InputFile
    kind: Kind
    fmt: str
    unit: str
    #: Canonical columns + `_file`, `_line`, `_reject` (null when the row is good).
    frame: pl.LazyFrame
    #: Rows that could not be parsed into fields at all: (line, reason).
    unreadable: tuple[tuple[int, str], ...]
    #: A note on records of the file that are not rows (unmerged PRs, cache hits), or "".
    note: str = ""
    #: Rows in `frame`, counted without collecting it.
    expected_rows: int = 0
    #: What its pages say of the listing they come from (`exports.Converted.listing`).
    listing: str = ""


def _resolve_columns(columns: tuple[str, ...], schema: dict[str, pl.DataType]) -> dict[str, str]:
    """Map canonical name → source column, using `SYNONYMS`."""
    present = set(columns)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for canonical in schema:
        for candidate in SYNONYMS.get(canonical, (canonical,)):
            if candidate in present and candidate not in used:
                mapping[canonical] = candidate
                used.add(candidate)
                break
    return mapping


def detect_kind(columns: tuple[str, ...]) -> Kind | None:
    """Which canonical kind a header describes, or None when it is none of them."""
    cols = set(columns)
    if {"alias", "account"} <= cols:
        return Kind.IDENTITIES
    if cols >= _PANEL_MARKERS:
        return Kind.PANEL
    usage = _resolve_columns(columns, USAGE_SCHEMA)
    commits = _resolve_columns(columns, COMMITS_SCHEMA)
    has_tokens = any(t in usage for t in TOKEN_COLUMNS)
    if "merged_at" in commits and "lines_added" in commits and not has_tokens:
        return Kind.COMMITS
    if has_tokens and ("timestamp" in usage or "account" in usage):
        return Kind.USAGE
    if "lines_added" in commits or "merged_at" in cols:
        return Kind.COMMITS
    return None


def _describe_missing(
    file: InputFile, kind: Kind, columns: tuple[str, ...], missing: str
) -> DataError:
    options = SYNONYMS.get(missing, (missing,))
    spelled = " or ".join(f"'{o}'" for o in options[:3])
    return DataError(
        file.name,
        f"missing required column '{missing}' for {kind.value} (accepted: {spelled}); "
        f"found: {', '.join(columns) if columns else 'no columns'}",
        line=1,
    )


def _refuse_nested_columns(file: InputFile, raw: RawTable, mapping: dict[str, str]) -> None:
    """A column read into the canonical schema that holds lists, structs or objects (Parquet
    keeps a column's type for every row) is refused whole, naming it: it has no scalar to read
    and no row of it could be kept. Other columns are never read, whatever they hold."""
    types = raw.frame.collect_schema()
    for source in mapping.values():
        dtype = types[source]
        if dtype.is_nested() or isinstance(dtype, pl.Object):
            raise DataError(
                file.name,
                f"holds {dtype} values; a column tokenaudit reads needs one value per row",
                column=source,
            )


def export_owner(file: InputFile, account: str | None, source: str | None) -> str:
    """The account of an export without an identity (Claude Code transcripts, ccusage):
    --account, else the folder the file was found under on the command line."""
    owner = account or (path_text(file.root.name) if file.root is not None else None)
    if owner is None:
        raise DataError(
            file.name,
            f"a {source} file names no account; give --account NAME or scan the person's folder",
        )
    return owner


def load_input(
    file: InputFile,
    workdir: Path,
    *,
    assume_tz: str | None = None,
    account: str | None = None,
    period: tuple[datetime | None, datetime | None] = (None, None),
    careful: bool = True,
) -> LoadedInput | None:
    """Read and validate one file. Returns None for a file found in a directory that is not a log
    at all (the caller reports it as skipped); raises `DataError` for a named file that isn't.
    Without `careful`, the frame may fail to collect (see `readers.read_raw`)."""
    if file.in_directory and file.not_a_log:
        # Skipped unread, and counted: its name or place says it is no log (a README, an
        # editor's settings, a todo list).
        raise RefusedExport(file.name, f"not a log: {file.not_a_log}")
    raw = read_raw(file, workdir, careful=careful)
    kind = file.forced_kind or raw.kind or detect_kind(raw.columns)
    if kind is Kind.USAGE and raw.kind is None and detect_kind(raw.columns) is Kind.PANEL:
        kind = Kind.PANEL  # usage already aggregated into the panel, given with --usage
    if kind is None:
        if file.in_directory:
            return None
        raise DataError(
            file.name,
            "cannot tell whether this is usage, commits or identities; usage needs "
            "'timestamp', 'account' and a token column, commits need 'merged_at', 'author' and "
            f"'lines_added' (found: {', '.join(raw.columns) or 'no columns'})",
            line=1,
        )
    schema = SCHEMAS[kind]
    if "account" in raw.optional and "account" not in raw.columns:
        # Exports without an identity (Claude Code transcripts, ccusage): --account, else the
        # folder the file was found under on the command line.
        owner = export_owner(file, account, raw.source)
        raw = replace(
            raw,
            frame=raw.frame.with_columns(pl.lit(owner).alias("account")),
            columns=(*raw.columns, "account"),
            sample=None,
        )
    mapping = _resolve_columns(raw.columns, schema)
    for required in REQUIRED[kind]:
        if required not in mapping and required not in raw.optional:
            raise _describe_missing(file, kind, raw.columns, required)
    if kind is Kind.USAGE and not any(t in mapping for t in TOKEN_COLUMNS):
        raise _describe_missing(file, kind, raw.columns, "input_tokens")
    _refuse_nested_columns(file, raw, mapping)
    if kind is Kind.USAGE and "timestamp" in mapping:
        raw = replace(raw, frame=_prune_to_period(raw.frame, mapping["timestamp"], period))
    frame = _canonicalise(raw, schema, mapping, kind, file.name, assume_tz)
    if kind is Kind.USAGE:
        frame = frame.with_columns(pl.col("source").fill_null(raw.source or "canonical"))
    return LoadedInput(
        file,
        kind,
        raw.fmt,
        raw.unit,
        frame,
        raw.unreadable,
        raw.note,
        expected_rows=raw.rows,
        listing=raw.listing,
    )


def _prune_to_period(
    frame: pl.LazyFrame, source: str, period: tuple[datetime | None, datetime | None]
) -> pl.LazyFrame:
    """Rows of a typed timestamp column outside `period` (UTC bounds with margin) are dropped
    by the reader itself: a predicate on the raw column reaches the Parquet scan, which then
    skips row groups by their statistics. Text timestamps are filtered after parsing instead."""
    dtype = frame.collect_schema()[source]
    if not isinstance(dtype, pl.Datetime) or period == (None, None):
        return frame
    zone = ZoneInfo(dtype.time_zone) if dtype.time_zone else None

    def bound(instant: datetime) -> datetime:
        # A naive column holds wall-clock times: the bounds' two-day margin covers any zone.
        return instant.astimezone(zone) if zone else instant.replace(tzinfo=None)

    lo, hi = period
    return frame.filter(within_bounds(source, bound(lo) if lo else None, bound(hi) if hi else None))


def within_bounds(column: str, lo: datetime | None, hi: datetime | None) -> pl.Expr:
    """Rows in [lo, hi) of a timestamp column, and rows without a timestamp (they are rejected
    later, and counted)."""
    inside = pl.lit(True)
    if lo is not None:
        inside = inside & (pl.col(column) >= lo)
    if hi is not None:
        inside = inside & (pl.col(column) < hi)
    return pl.col(column).is_null() | inside


def _text(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.strip_chars()


def timestamp_parsers(expr: pl.Expr, assume_tz: str | None) -> list[pl.Expr]:
    """Every accepted timestamp spelling, most common first: ISO 8601 with `Z` or an offset, a
    bare date (that whole day), epoch seconds or milliseconds, and, only when `assume_tz` names
    the zone they were written in, ISO timestamps without a zone."""
    with_zone = [
        expr.str.to_datetime(f, time_zone="UTC", time_unit="us", strict=False)
        for f in _TS_FORMATS_WITH_ZONE
    ]
    bare_date = (
        expr.str.to_date("%Y-%m-%d", strict=False)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    )
    digits = expr.str.contains(r"^\d{9,13}(\.\d+)?$")
    epoch = pl.when(digits).then(expr.cast(pl.Float64, strict=False))
    epoch_us = (
        pl.when(epoch >= 1e12)
        .then(epoch * 1_000)
        .otherwise(epoch * 1_000_000)
        .cast(pl.Int64, strict=False)
    )
    from_epoch = pl.when(digits).then(epoch_us.cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
    parsers = [*with_zone, bare_date, from_epoch]
    if assume_tz is not None:
        parsers += [
            _localise(expr.str.to_datetime(f, time_unit="us", strict=False), assume_tz)
            for f in _TS_FORMATS_NAIVE
        ]
    return parsers


def _localise(naive: pl.Expr, zone: str) -> pl.Expr:
    # A wall-clock time that a DST change makes ambiguous takes the earlier instant; one that
    # does not exist (skipped by the change) is rejected.
    return naive.dt.replace_time_zone(
        zone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")


#: `timestamp_parsers` lists the parsers of zoned spellings first, then (with --assume-tz) the
#: zone-less ones.
_ZONED_PARSERS: Final = len(_TS_FORMATS_WITH_ZONE) + 2


def _timestamp_sample(raw: pl.LazyFrame, source: str) -> pl.DataFrame:
    """The first values of a text column, as they are (unstripped), as column `v`."""
    sample = raw.select(pl.col(source).cast(pl.String)).head(200).collect().to_series()
    return sample.drop_nulls().to_frame("v")


def _best_parser(sample: pl.DataFrame, assume_tz: str | None) -> int:
    """The parser that reads most of a `_timestamp_sample`."""
    if sample.is_empty():
        return 0
    parsers = timestamp_parsers(pl.col("v"), assume_tz)
    hits = [sample.select(p.is_not_null().sum()).item() for p in parsers]
    return int(max(range(len(hits)), key=lambda i: (hits[i], -i)))


def _fixed_width_parser(sample: pl.DataFrame, general: pl.Expr) -> str | None:
    """The `_TS_FORMATS_FIXED_UTC` format that reads every value of a `_timestamp_sample` that
    `general` (the parser `_best_parser` chose) reads, to the same instant; None if none does."""
    read = sample.select(general.alias("g")).to_series()
    if read.null_count() == read.len():  # an empty sample, or one the general format cannot read
        return None
    for fmt in _TS_FORMATS_FIXED_UTC:
        fixed = sample.select(_fixed_utc(pl.col("v"), fmt)).to_series()
        if fixed.eq_missing(read).all():
            return fmt
    return None


def _fixed_utc(expr: pl.Expr, fmt: str) -> pl.Expr:
    return expr.str.to_datetime(fmt, time_zone="UTC", time_unit="us", strict=False)


@dataclass(frozen=True)
class _Typing:
    """How one source column becomes one canonical column.

    `fast` reads the common spelling of every row; `slow`, given the text of only the rows
    `fast` could not read (null elsewhere), tries every other accepted spelling. Expressions
    evaluate every row, so the slow readers are fed nulls for the rows already read: the cost
    of generality is paid only by the rows that need it.
    """

    fast: pl.Expr
    slow: Callable[[pl.Expr], pl.Expr] | None = None
    #: Whether a value read by `fast` / by `slow_naive` had no time zone (read in --assume-tz).
    fast_zone_less: bool = False
    slow_naive: Callable[[pl.Expr], pl.Expr] | None = None
    #: Whether a value `fast` read as "" (text that was blank) is null: checked on the read
    #: value, so that the text is trimmed once (as `fast` and again for the check, trimming
    #: cost 0.3 s more at 5M rows of four text columns).
    blank_is_null: bool = False


def _text_timestamp_typing(
    raw: pl.LazyFrame, source: str, dtype: pl.DataType, assume_tz: str | None
) -> _Typing:
    """Timestamps written as text: the spelling most of the first values have, read fast (at a
    fixed width where one reads them all), every other accepted spelling for the rest."""
    col = pl.col(source)
    sample = _timestamp_sample(raw, source)
    first = _best_parser(sample, assume_tz)
    fast = timestamp_parsers(col.cast(pl.String), assume_tz)[first]
    if first < len(_TS_FORMATS_WITH_ZONE):
        fixed = _fixed_width_parser(sample, timestamp_parsers(pl.col("v"), None)[first])
        if fixed is not None:
            fast = _fixed_utc(col.cast(pl.String), fixed)

    def zoned(text: pl.Expr) -> pl.Expr:
        return pl.coalesce(timestamp_parsers(text.str.strip_chars(), None))

    def naive(text: pl.Expr) -> pl.Expr:
        parsers = timestamp_parsers(text.str.strip_chars(), assume_tz)[_ZONED_PARSERS:]
        return pl.coalesce(parsers) if parsers else pl.lit(None, dtype=dtype)

    return _Typing(fast, zoned, fast_zone_less=first >= _ZONED_PARSERS, slow_naive=naive)


def _integral(as_float: pl.Expr) -> pl.Expr:
    integral = as_float.is_finite() & (as_float == as_float.floor()) & (as_float.abs() < _MAX_INT)
    return pl.when(integral).then(as_float.cast(pl.Int64, strict=False))


def _typing(raw: pl.LazyFrame, source: str, dtype: pl.DataType, assume_tz: str | None) -> _Typing:
    src_dtype = raw.collect_schema()[source]
    col = pl.col(source)
    if isinstance(dtype, pl.Datetime):
        if isinstance(src_dtype, pl.Datetime):
            if src_dtype.time_zone is None:
                if assume_tz is None:
                    return _Typing(pl.lit(None, dtype=dtype))
                return _Typing(_localise(col.dt.cast_time_unit("us"), assume_tz), None, True)
            return _Typing(col.dt.cast_time_unit("us").dt.convert_time_zone("UTC"))
        if isinstance(src_dtype, pl.Date):
            return _Typing(col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC"))
        if src_dtype.is_numeric():
            as_text = col.cast(pl.Int64, strict=False).cast(pl.String)
            return _Typing(pl.coalesce(timestamp_parsers(as_text, None)))
        return _text_timestamp_typing(raw, source, dtype, assume_tz)
    if isinstance(dtype, pl.Date):
        if isinstance(src_dtype, pl.Date):
            return _Typing(col)
        if isinstance(src_dtype, pl.Datetime):
            return _Typing(col.dt.date())
        return _Typing(
            col.cast(pl.String).str.to_date("%Y-%m-%d", strict=False),
            lambda text: text.str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
        )
    if isinstance(dtype, pl.Boolean):
        if isinstance(src_dtype, pl.Boolean):
            return _Typing(col)
        if src_dtype.is_numeric():
            return _Typing(pl.when(col.is_in([0, 1])).then(col == 1))
        folded = _text(source).str.to_lowercase()
        return _Typing(
            pl.when(folded.is_in(["true", "t", "1", "yes"]))
            .then(True)
            .when(folded.is_in(["false", "f", "0", "no"]))
            .then(False)
        )
    if isinstance(dtype, pl.Int64 | pl.Float64):
        if isinstance(src_dtype, pl.Boolean):
            # NOTE: a Parquet boolean would cast to 1/0; JSON's `true` is text that no number
            # reads, so both are rejected row by row ("not a whole number 'true'").
            return _Typing(pl.lit(None, dtype=dtype))
        exact = _integral if dtype == pl.Int64() else lambda v: pl.when(v.is_finite()).then(v)
        if src_dtype.is_integer() and dtype == pl.Int64():
            # NOTE: the same values as through Float64 (every integer is finite and whole, and
            # the cast is the same rounding), without checking either (0.12 -> 0.07 s, four
            # columns of 5M rows).
            as_float = col.cast(pl.Float64)
            return _Typing(pl.when(as_float.abs() < _MAX_INT).then(as_float.cast(pl.Int64)))
        if src_dtype.is_numeric():
            return _Typing(exact(col.cast(pl.Float64, strict=False)))

        def slow(text: pl.Expr) -> pl.Expr:
            return exact(text.str.strip_chars().cast(pl.Float64, strict=False))

        if dtype == pl.Int64():
            # NOTE: text is read as an integer first, which every whole count is (1.6 -> 0.5 s,
            # four columns of 5M CSV rows); what that cannot read ("1e3", "5.0", " 5") or
            # Float64 would round (past 2^53) is read by `slow` as before, so the value is the
            # same.
            as_int = col.cast(pl.Int64, strict=False)
            return _Typing(pl.when(as_int.is_between(-_EXACT_INT, _EXACT_INT)).then(as_int), slow)
        return _Typing(exact(col.cast(pl.Float64, strict=False)), slow)
    return _Typing(_text(source), blank_is_null=True)


_NAIVE_ISO: Final = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"
_AMBIGUOUS_DATE: Final = r"^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"


def _coded(reason: pl.Expr, code: RejectCode) -> Problem:
    return reason, pl.lit(code.value, dtype=pl.String)


#: A reject reason (null where the row has no such problem) and its `RejectCode` (a string).
Problem = tuple[pl.Expr, pl.Expr]


def _timestamp_problem(
    raw_text: pl.Expr, label: str, src_dtype: pl.DataType, assume_tz: str | None
) -> Problem:
    shown = pl.lit("'") + raw_text.str.slice(0, 40) + pl.lit("'")
    text = raw_text.str.strip_chars()
    # A wall-clock time that reads without a zone but stayed unread although --assume-tz gave
    # one does not exist there: it falls in the hour a spring-forward change skips.
    gap = pl.lit(
        f"{label}timestamp does not exist in {assume_tz}: it falls in the daylight-saving gap "
        "(clocks jump forward) "
    )
    zone_less = pl.lit(label + "timestamp has no time zone (give --assume-tz ZONE) ") + shown
    if isinstance(src_dtype, pl.Datetime) and src_dtype.time_zone is None:
        if assume_tz is not None:
            return _coded(gap + shown, RejectCode.DST_GAP)
        return _coded(zone_less, RejectCode.NO_TIME_ZONE)
    naive = pl.coalesce(
        [text.str.to_datetime(f, time_unit="us", strict=False) for f in _TS_FORMATS_NAIVE]
    )
    cases = [
        (naive.is_not_null() & pl.lit(assume_tz is not None), gap + shown, RejectCode.DST_GAP),
        (text.str.contains(_NAIVE_ISO), zone_less, RejectCode.NO_TIME_ZONE),
        (
            text.str.contains(_AMBIGUOUS_DATE),
            pl.lit(label + "ambiguous date, day and month order unknown ") + shown,
            RejectCode.AMBIGUOUS_DATE,
        ),
    ]
    reason: pl.Expr = pl.lit(label + "not a timestamp ") + shown
    code: pl.Expr = pl.lit(RejectCode.BAD_TIMESTAMP.value, dtype=pl.String)
    for when, why, what in reversed(cases):
        reason = pl.when(when).then(why).otherwise(reason)
        code = pl.when(when).then(pl.lit(what.value, dtype=pl.String)).otherwise(code)
    return reason, code


def _plausible_time(value: pl.Expr) -> pl.Expr:
    return value.is_between(
        pl.lit(_EARLIEST).dt.replace_time_zone("UTC"),
        pl.lit(_LATEST).dt.replace_time_zone("UTC"),
        closed="left",
    )


def _in_range(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A canonical value as kept: timestamps outside the plausible years become null (their row
    is rejected; no later step may try to turn year 0 into a Python date)."""
    if isinstance(dtype, pl.Datetime):
        return pl.when(_plausible_time(value)).then(value)
    if isinstance(dtype, pl.Date):
        return pl.when(value.is_between(_EARLIEST.date(), _LATEST.date(), closed="left")).then(
            value
        )
    return value


def _canonicalise(
    raw: RawTable,
    schema: dict[str, pl.DataType],
    mapping: dict[str, str],
    kind: Kind,
    name: str,
    assume_tz: str | None,
) -> pl.LazyFrame:
    src_schema = raw.frame.collect_schema()
    sample = raw.frame if raw.sample is None else raw.sample
    typing = {c: _typing(sample, source, schema[c], assume_tz) for c, source in mapping.items()}
    lf, zone_less = _read_values(raw.frame, typing, mapping, assume_tz)
    problems: list[Problem] = []
    for canonical, source in mapping.items():
        problems += _column_problems(
            raw, kind, canonical, source, schema[canonical], src_schema[source], assume_tz
        )
    if kind is Kind.USAGE:
        token_sources = [mapping[t] for t in TOKEN_COLUMNS if t in mapping]
        all_empty = pl.all_horizontal([pl.col(s).is_null() for s in token_sources])
        problems.append(
            _coded(
                pl.when(all_empty).then(pl.lit("no token counts in any token column")),
                RejectCode.NO_TOKENS,
            )
        )
    none = pl.lit(None, dtype=pl.String)
    # Each problem's reason is worked out once, as a temporary column (an expression used twice,
    # for the reason and for its code, would be evaluated twice). The first problem of a row is
    # its reason, and its code the same problem's.
    why = [f"__why_{i}" for i in range(len(problems))]
    if problems:
        lf = lf.with_columns(r.alias(w) for (r, _), w in zip(problems, why, strict=True))
    reject = pl.coalesce(why) if problems else none
    reject_code = (
        pl.coalesce(
            *(
                pl.when(pl.col(w).is_not_null()).then(c)
                for (_, c), w in zip(problems, why, strict=True)
            )
        )
        if problems
        else none
    )
    columns = [
        (
            _in_range(pl.col(f"__{c}"), dtype).alias(c)
            if c in mapping
            else pl.lit(None, dtype=dtype).alias(c)
        )
        for c, dtype in schema.items()
    ]
    out = lf.select(
        *columns,
        pl.lit(name).alias("_file"),
        pl.col("_line"),
        reject.alias("_reject"),
        reject_code.alias("_reject_code"),
        zone_less.alias("_zone_less"),
    )
    if kind is Kind.USAGE:
        out = out.with_columns(
            [pl.col(t).fill_null(0) for t in TOKEN_COLUMNS] + [pl.col("requests").fill_null(1)]
        )
    if kind is Kind.COMMITS:
        out = out.with_columns(pl.col("lines_deleted").fill_null(0), _qualified_pr_id())
    return out


def _qualified_pr_id() -> pl.Expr:
    """`pr_id` made unique across repositories: a pull request's number is unique only within
    its repository, so with a `repo` it is prefixed with it (`acme/web#5` from `5` or `#5`,
    unless the id already starts with it), as `gh pr list` rows with a `url` are. Without one,
    a bare number is written `#5`, as a gh list without a `url` writes it, so that the same
    pull request from both is one change (`panel.merged_work` also asks of such an id the same
    merge instant: two repositories may both have a `#5`).

    NOTE: before this, `gh pr list --json number,author,mergedAt,…` of two repositories, or a
    commits CSV with `pr_id` and `repo` columns, kept one of the two `#5` by the same author
    and dropped the other in silence."""
    pr, repo = pl.col("pr_id"), pl.col("repo")
    prefixed = pr.str.starts_with(pl.concat_str(repo, pl.lit("#"))) | pr.str.starts_with(
        pl.concat_str(repo, pl.lit("!"))
    )
    number = pr.str.strip_prefix("#")
    return (
        pl.when(pr.is_null() | (repo.is_not_null() & prefixed))
        .then(pr)
        .when(repo.is_not_null())
        .then(pl.concat_str(repo, pl.lit("#"), number))
        .when(pr.str.contains(r"^[0-9]+$"))
        .then(pl.concat_str(pl.lit("#"), pr))
        .otherwise(pr)
        .alias("pr_id")
    )


def _read_values(
    lf: pl.LazyFrame, typing: dict[str, _Typing], mapping: dict[str, str], assume_tz: str | None
) -> tuple[pl.LazyFrame, pl.Expr]:
    """Every mapped column read into a typed temporary `__<column>`, and whether the row had a
    zone-less timestamp read in --assume-tz.

    Three passes, each over typed temporaries: the common spelling of every row; the other
    spellings, only for rows the first could not read (and blank text made null); reject reasons
    (`_column_problems`), only for rows still unread. (An expression used twice would be
    evaluated twice.)"""
    lf = lf.with_columns(t.fast.alias(f"__{c}") for c, t in typing.items())
    unread = {
        # Masked before the cast: a cast is evaluated on every row, and formatting every typed
        # timestamp or number as text costs more than reading it.
        c: pl.when(pl.col(f"__{c}").is_null()).then(pl.col(source)).cast(pl.String)
        for c, source in mapping.items()
    }
    second: list[pl.Expr] = []
    zone_less = pl.lit(False)
    for c, t in typing.items():
        if t.blank_is_null:
            read = pl.col(f"__{c}")
            second.append(pl.when(read != "").then(read).alias(f"__{c}"))
        if t.slow_naive is not None and assume_tz is not None:
            second.append(t.slow_naive(unread[c]).alias(f"__naive_{c}"))
            second.append(pl.col(f"__{c}").is_not_null().alias(f"__fast_{c}"))
        if t.slow is not None:
            second.append(pl.coalesce(pl.col(f"__{c}"), t.slow(unread[c])).alias(f"__{c}"))
    if second:
        lf = lf.with_columns(second)
    for c, t in typing.items():
        if t.slow_naive is not None and assume_tz is not None:
            # Zone-less timestamps read in --assume-tz are counted, so that the run can say so.
            read_naive = pl.col(f"__{c}").is_null() & pl.col(f"__naive_{c}").is_not_null()
            if t.fast_zone_less:
                read_naive = read_naive | pl.col(f"__fast_{c}")
            # Both columns are computed from the values before the zone-less reading is merged.
            lf = lf.with_columns(
                pl.coalesce(pl.col(f"__{c}"), pl.col(f"__naive_{c}")).alias(f"__{c}"),
                read_naive.fill_null(False).alias(f"__zone_less_{c}"),
            )
            zone_less = zone_less | pl.col(f"__zone_less_{c}")
        elif t.fast_zone_less:
            zone_less = zone_less | pl.col(f"__{c}").is_not_null()
    return lf, zone_less


def _short(amount: float) -> str:
    """1e9 as `1e9`, not `1e+09`."""
    mantissa, exponent = f"{amount:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _column_problems(
    raw: RawTable,
    kind: Kind,
    canonical: str,
    source: str,
    dtype: pl.DataType,
    src_dtype: pl.DataType,
    assume_tz: str | None,
) -> list[Problem]:
    """Why a row's value of one column cannot be used (null where it can), in order of
    precedence: the first reason of a row is its reject reason."""
    value = pl.col(f"__{canonical}")
    # The raw text of rows that stay unread: null for every row that was read.
    raw_text = pl.when(value.is_null()).then(pl.col(source)).cast(pl.String)
    present = raw_text.is_not_null() & (raw_text.str.strip_chars() != "")
    label = f"column '{source}': "
    problems = _value_problems(
        raw, source, value, raw_text, present, label, dtype, src_dtype, assume_tz
    )
    if dtype == pl.String() and src_dtype == pl.String:
        problems += _text_problems(raw, canonical, source, label)
    if dtype == pl.Int64():
        problems.append(
            _coded(
                pl.when(value < 0).then(pl.lit(label + "negative count")),
                RejectCode.NEGATIVE_COUNT,
            )
        )
        if canonical in PLAUSIBLE_MAX:
            most, unit = PLAUSIBLE_MAX[canonical]
            # The text is built from the offending values only (null elsewhere): an expression
            # is evaluated on every row, and formatting every count would cost more than reading.
            implausible = (
                pl.lit(f"{label}implausible count ")
                + pl.when(value > most).then(value).cast(pl.String)
                + pl.lit(f" (over {most:.0e} {unit} in one row)".replace("+", ""))
            )
            problems.append(_coded(implausible, RejectCode.IMPLAUSIBLE_COUNT))
    if canonical in PLAUSIBLE_MAX_AMOUNT:
        most_amount = PLAUSIBLE_MAX_AMOUNT[canonical]
        outside = pl.when((value < 0) | (value > most_amount)).then(pl.col(source))
        problems.append(
            _coded(
                pl.lit(f"{label}amount out of range (negative, or over {_short(most_amount)} USD ")
                + pl.lit("in one row) '")
                + outside.cast(pl.String).str.slice(0, 40)
                + pl.lit("'"),
                RejectCode.OUT_OF_RANGE,
            )
        )
    if canonical in REQUIRED[kind] and canonical not in raw.optional:
        missing = pl.when(value.is_null() & ~present).then(pl.lit(label + "missing required value"))
        problems.append(_coded(missing, RejectCode.MISSING_VALUE))
    return problems


def _value_problems(
    raw: RawTable,
    source: str,
    value: pl.Expr,
    raw_text: pl.Expr,
    present: pl.Expr,
    label: str,
    dtype: pl.DataType,
    src_dtype: pl.DataType,
    assume_tz: str | None,
) -> list[Problem]:
    """A value that could not be read as its type, or lies outside the type's range."""
    problems: list[Problem] = []
    if isinstance(dtype, pl.Datetime):
        why, code = _timestamp_problem(raw_text, label, src_dtype, assume_tz)
        problems.append((pl.when(present).then(why), code))
        outside = pl.when(value.is_not_null() & ~_plausible_time(value)).then(pl.col(source))
        out_of_range = (
            pl.lit(label + "timestamp out of range (years 1900-2199) '")
            + outside.cast(pl.String).str.slice(0, 40)
            + pl.lit("'")
        )
        problems.append(_coded(out_of_range, RejectCode.OUT_OF_RANGE))
    elif isinstance(dtype, pl.Int64 | pl.Float64):
        what = "not a whole number" if dtype == pl.Int64() else "not a number"
        as_number = raw_text.str.strip_chars().cast(pl.Float64, strict=False)
        # Polars orders NaN above every number: "NaN" is not a number, not a large one.
        too_large = (as_number.abs() >= _MAX_INT) & as_number.is_not_nan()
        problems.append(
            (
                pl.when(present).then(
                    pl.when(too_large)
                    .then(pl.lit(label + "number too large '"))
                    .otherwise(pl.lit(label + what + " '"))
                    + raw_text.str.slice(0, 40)
                    + pl.lit("'")
                ),
                pl.when(too_large)
                .then(pl.lit(RejectCode.NUMBER_TOO_LARGE.value))
                .otherwise(pl.lit(RejectCode.BAD_NUMBER.value)),
            )
        )
    elif isinstance(dtype, pl.Date | pl.Boolean):
        if isinstance(dtype, pl.Date):
            outside = pl.when(value.is_not_null() & _in_range(value, dtype).is_null()).then(
                pl.col(source)
            )
            out_of_range = (
                pl.lit(label + "date out of range (years 1900-2199) '")
                + outside.cast(pl.String).str.slice(0, 40)
                + pl.lit("'")
            )
            problems.append(_coded(out_of_range, RejectCode.OUT_OF_RANGE))
        what = "not a date (YYYY-MM-DD)" if isinstance(dtype, pl.Date) else "not true or false"
        unread = pl.when(present).then(
            pl.lit(f"{label}{what} '") + raw_text.str.slice(0, 40) + pl.lit("'")
        )
        problems.append(
            _coded(
                unread,
                RejectCode.BAD_DATE if isinstance(dtype, pl.Date) else RejectCode.BAD_BOOLEAN,
            )
        )
    return problems


#: Text columns that name a person: a JSON object, array or boolean there is a rejected row
#: (`not_text`). Elsewhere (a model, a session) it stays its JSON text, as before: the row's
#: tokens are still somebody's.
_NAME_COLUMNS: Final = frozenset({"account", "author", "alias"})


def _text_problems(raw: RawTable, canonical: str, source: str, label: str) -> list[Problem]:
    """A text value that is no text: a bad byte's stand-in, or a JSON object where a name
    belongs."""
    problems: list[Problem] = []
    if (raw.fmt.split("+")[0] in ("csv", "tsv") and not raw.valid_utf8) or source in raw.lossy:
        # The CSV reader decodes invalid UTF-8 as U+FFFD (`RawTable.lossy`: so does the
        # Parquet reader for bytes): such a value is corrupt, not text. In a file found to be
        # UTF-8 throughout (`RawTable.valid_utf8`) a U+FFFD is the character an upstream
        # tool wrote. (A number or timestamp holding one is already unreadable and says so.)
        corrupt = pl.when(pl.col(source).str.contains("\ufffd", literal=True)).then(
            pl.lit(label + "invalid UTF-8")
        )
        problems.append(_coded(corrupt, RejectCode.NOT_UTF8))
    lines = raw.structured.get(source) if canonical in _NAME_COLUMNS else None
    if lines:
        # Read as its JSON text, `{"id": 7}` would be somebody's name.
        shown = pl.lit(label + "a JSON object, array or true/false, not text '")
        not_text = pl.when(pl.col("_line").is_in(pl.Series(lines, dtype=pl.Int64))).then(
            shown + pl.col(source).str.slice(0, 40) + pl.lit("'")
        )
        problems.append(_coded(not_text, RejectCode.NOT_TEXT))
    return problems
