"""Claude Code transcripts and Codex rollouts at organisation scale: thousands of files, gigabytes.

`load_input` reads one file at a time, and most of its cost on a transcript is fixed per file
(a dozen small queries to recognise and type the columns), which a tree of thousands of
sessions pays thousands of times. Here every file that is recognisably a Claude Code transcript
or a Codex rollout is read as its own lines, and the rows of many files are typed and validated
together, once per batch, by the same code as any other input (`canonical._canonicalise`).

What a file yields is what `load_input` gives for it, row for row and reject for reject (tests
hold the two equal): the rows are made by the adapters' own functions (`exports.claude_code_rows`,
`exports.codex_rows`), only from the lines that can make a row; every line is still decoded,
so that a line that is not JSON (or not UTF-8, or not an object, or nested too deeply) is an
unreadable line with its file and number, and a line longer than `MAX_NDJSON_LINE_BYTES` is
one too, never read (`readers.MAX_NDJSON_LINE_BYTES`). Files this module cannot be sure of (compressed, UTF-16, a single JSON
document, a head that another adapter could claim, forced to another kind) are left to
`load_input`.

Memory: a file is read in 1 MiB chunks and only its request lines are kept as objects until
its rows are made; rows wait in a batch of at most `BATCH_ROWS`, which is then typed into
compact columns. A tree costs its rows (about a hundred bytes each), not its bytes. The
de-duplication of a request seen in several files (a side-chain replaying its parent's
message) needs every row's request id, so rows are kept, not day totals: that is done later,
per account, by `ingest`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import polars as pl

from tokenaudit.errors import DataError
from tokenaudit.loaders import exports, readers
from tokenaudit.loaders.canonical import (
    SCHEMAS,
    LoadedInput,
    _canonicalise,
    _prune_to_period,
    _resolve_columns,
)
from tokenaudit.loaders.readers import _SNIFF_BYTES, RawTable, _LineGuard, sniff_bytes
from tokenaudit.loaders.sources import InputFile
from tokenaudit.rejects import Reason, RejectCode
from tokenaudit.schema import Kind

#: Rows typed together (a batch's raw text columns are held as Python strings meanwhile).
BATCH_ROWS: Final = 200_000
#: How much of a file's start may be read to recognise it (the first `_HEAD_RECORDS` records).
_HEAD_BYTES: Final = 4 << 20
#: `exports.convert` decides from at most the first 50 records of a file.
_HEAD_RECORDS: Final = 50
_CHUNK: Final = 1 << 20
#: File index and line number share the `_line` column while a batch is typed.
_SHIFT: Final = 32

CLAUDE: Final = "claude-code-transcript"
CODEX: Final = "codex-session"
_COLUMNS: Final = {
    CLAUDE: (
        "timestamp",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "model",
        "request_id",
        "session_id",
        "cost_usd",
    ),
    CODEX: (
        "timestamp",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "model",
        "session_id",
    ),
}


def _keeps(source: str) -> Callable[[dict[str, Any]], bool]:
    """Which decoded lines can make a row (the others are decoded only to be validated)."""
    if source == CLAUDE:
        return exports._is_request_line
    return lambda r: r.get("type") in exports.CODEX_LINE_TYPES


def _rows(source: str, records: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    if source == CLAUDE:
        return exports.claude_code_rows(records)
    return exports.codex_rows(records)


# ----------------------------------------------------------------------------- reading one file


class _FileLines:
    """The lines of a file in order, with over-long ones left out (`readers._LineGuard`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Read when the file is, so that a test can lower the limit as for `readers.prepare`.
        self.limit = readers.MAX_NDJSON_LINE_BYTES
        self.guard = _LineGuard(self.limit)
        #: The number of a last line with no newline after it (0: none).
        self.unterminated = 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        number = 0
        # The guard takes pieces of at most its limit (only a line spanning pieces is too long).
        size = min(_CHUNK, self.limit)
        with self.path.open("rb") as fh:
            while True:
                chunk = fh.read(size)
                text = self.guard.feed(chunk) if chunk else self.guard.close()
                if text:
                    lines = text.split(b"\n")
                    last = lines.pop()  # b"" after a final newline
                    for line in lines:
                        number += 1
                        yield number, line
                    if last:  # the file's last line, with no newline after it
                        number += 1
                        self.unterminated = number
                        yield number, last
                if not chunk:
                    return

    @property
    def long(self) -> list[tuple[int, str]]:
        return self.guard.long


def _decode(
    line: bytes, number: int, unreadable: list[tuple[int, str]], newline: bool = True
) -> dict[str, Any] | None:
    """A line's JSON object, or None (and the reason in `unreadable`), exactly as `readers`
    reads it: its reader decodes each line with its newline (`newline`: the line had one),
    which changes some error messages (and how 1-3 bytes are guessed to be encoded); a line is
    decoded without it first, and again with it only when that cannot be the same."""
    if not newline or len(line) >= 4:
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):
            pass
        else:
            return _object(item, number, unreadable)
    return _decode_as_read(line + b"\n" if newline else line, number, unreadable)


def _decode_as_read(
    line: bytes, number: int, unreadable: list[tuple[int, str]]
) -> dict[str, Any] | None:
    try:
        item = json.loads(line)
    except UnicodeDecodeError:
        unreadable.append((number, Reason(RejectCode.NOT_UTF8, "not valid UTF-8")))
        return None
    except json.JSONDecodeError as exc:
        unreadable.append((number, Reason(RejectCode.BAD_JSON, f"not valid JSON ({exc.msg})")))
        return None
    except RecursionError:
        unreadable.append((number, Reason(RejectCode.TOO_DEEP, "JSON nested too deeply to read")))
        return None
    return _object(item, number, unreadable)


def _object(item: Any, number: int, unreadable: list[tuple[int, str]]) -> dict[str, Any] | None:
    if isinstance(item, dict):
        return item
    unreadable.append(
        (
            number,
            Reason(
                RejectCode.NOT_AN_OBJECT, f"line is a JSON {type(item).__name__}, not an object"
            ),
        )
    )
    return None


def recognise(file: InputFile) -> str | None:
    """`CLAUDE` or `CODEX` when `load_input` would read the file as that export through its
    NDJSON reader, else None (the file is left to `load_input`)."""
    if file.not_a_log is not None or file.forced_kind not in (None, Kind.USAGE):
        return None
    try:
        with file.path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return None  # load_input says why, in its words
    if head.startswith(
        (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"\xff", b"\xfe")
    ):
        return None
    if b"\x00" in head[:4096] or sniff_bytes(head) != "ndjson":
        return None
    records: list[tuple[int, dict[str, Any]]] = []
    read = 0
    lines = _FileLines(file.path)
    try:
        for number, line in lines:
            read += len(line) + 1
            if read > _HEAD_BYTES:
                return None  # huge first lines: the general reader decides
            if line.strip():
                item = _decode(line, number, [])
                if item is not None:
                    records.append((number, item))
            if len(records) >= _HEAD_RECORDS:
                break
    except OSError:
        return None
    converted = exports.convert(records, None)
    if converted is None or converted.refuse or converted.source not in (CLAUDE, CODEX):
        return None
    return converted.source


@dataclass
class _Read:
    """One file's rows and unreadable lines."""

    file: InputFile
    source: str
    rows: list[dict[str, Any]]
    unreadable: list[tuple[int, str]]


def read_file(file: InputFile, source: str) -> _Read:
    """Every line of a recognised file decoded; rows made from those that can make one."""
    keep = _keeps(source)
    records: list[tuple[int, dict[str, Any]]] = []
    unreadable: list[tuple[int, str]] = []
    lines = _FileLines(file.path)
    try:
        for number, line in lines:
            if not line.strip():
                continue
            item = _decode(line, number, unreadable, number != lines.unterminated)
            if item is not None and keep(item):
                records.append((number, item))
    except OSError as exc:
        from tokenaudit.errors import InputMissingError

        raise InputMissingError(file.name, exc.strerror or type(exc).__name__.lower()) from exc
    unreadable = sorted([*unreadable, *lines.long])
    return _Read(file, source, _rows(source, records), unreadable)


# ----------------------------------------------------------------------------- typing batches


def _text(value: Any) -> str | None:
    """A value as `exports.rows_frame` writes it: text as it is, anything else as JSON."""
    if value is None or isinstance(value, str):
        return value
    if type(value) is int:
        return str(value)
    return json.dumps(value)


@dataclass
class _Batch:
    source: str
    files: list[_Read] = field(default_factory=list)
    rows: int = 0


def _owner(file: InputFile, account: str | None, source: str) -> str:
    owner = account or (file.root.name if file.root is not None else None)
    if owner is None:
        raise DataError(
            file.name,
            f"a {source} file names no account; give --account NAME or scan the person's folder",
        )
    return owner


def _type_batch(
    batch: _Batch,
    assume_tz: str | None,
    account: str | None,
    period: tuple[datetime | None, datetime | None],
) -> list[LoadedInput]:
    """The batch's rows typed and validated together, then handed back file by file."""
    names = _COLUMNS[batch.source]
    data: dict[str, list[Any]] = {n: [] for n in (*names, "account")}
    lines: list[int] = []
    for index, read in enumerate(batch.files):
        owner = _owner(read.file, account, batch.source)
        for row in read.rows:
            for n in names:
                data[n].append(_text(row.get(n)))
            data["account"].append(owner)
            lines.append((index << _SHIFT) | row["_line"])
    schema: dict[str, Any] = {n: pl.String for n in data} | {"_line": pl.Int64}
    frame = pl.DataFrame({**data, "_line": lines}, schema=schema)
    del data, lines
    raw = RawTable(
        frame.lazy(),
        tuple(c for c in frame.columns if c != "_line"),
        f"{batch.source} (ndjson)",
        "line",
        kind=Kind.USAGE,
        source=batch.source,
        optional=frozenset({"account"}),
        rows=frame.height,
    )
    usage = SCHEMAS[Kind.USAGE]
    mapping = _resolve_columns(raw.columns, usage)
    lf = _prune_to_period(raw.frame, mapping["timestamp"], period)
    raw = RawTable(
        lf, raw.columns, raw.fmt, raw.unit, kind=raw.kind, source=raw.source, optional=raw.optional
    )
    typed = _canonicalise(raw, usage, mapping, Kind.USAGE, "", assume_tz)
    typed = typed.with_columns(
        pl.col("source").fill_null(batch.source),
        (pl.col("_line") // (1 << _SHIFT)).alias("_index"),
        (pl.col("_line") % (1 << _SHIFT)).alias("_line"),
    )
    # Rows come back in no particular order: they are put back in file and line order, so that
    # each file's rows are one slice.
    done = typed.collect().sort("_index", "_line")
    counts: dict[int, int] = dict(done.group_by("_index").len().iter_rows())
    done = done.with_columns(
        pl.col("_index")
        .replace_strict(
            list(range(len(batch.files))),
            [r.file.name for r in batch.files],
            return_dtype=pl.String,
        )
        .alias("_file")
    ).drop("_index")
    out: list[LoadedInput] = []
    offset = 0
    for position, read in enumerate(batch.files):
        size = int(counts.get(position, 0))
        out.append(
            LoadedInput(
                read.file,
                Kind.USAGE,
                f"{read.source} (ndjson)",
                "line",
                done.slice(offset, size).lazy(),
                tuple(read.unreadable),
                "" if read.rows or read.source == CLAUDE else "no token usage recorded",
                expected_rows=len(read.rows),
            )
        )
        offset += size
    return out


def load_transcripts(
    files: list[InputFile],
    workdir: Path,
    *,
    assume_tz: str | None = None,
    account: str | None = None,
    period: tuple[datetime | None, datetime | None] = (None, None),
) -> dict[int, LoadedInput]:
    """The files (by their index in `files`) that are Claude Code transcripts or Codex
    rollouts, each loaded as `load_input` would load it; the others are not in the result."""
    del workdir  # read where they are: these files need no decompressed copy
    loaded: dict[int, LoadedInput] = {}
    batches = {CLAUDE: _Batch(CLAUDE), CODEX: _Batch(CODEX)}
    positions: dict[str, list[int]] = {CLAUDE: [], CODEX: []}

    def flush(source: str) -> None:
        batch = batches[source]
        if batch.files:
            typed = _type_batch(batch, assume_tz, account, period)
            for position, item in zip(positions[source], typed, strict=True):
                loaded[position] = item
        batches[source] = _Batch(source)
        positions[source] = []

    for position, file in enumerate(files):
        source = recognise(file)
        if source is None:
            continue
        _owner(file, account, source)  # a tree without an owner stops before it is read
        read = read_file(file, source)
        batch = batches[source]
        batch.files.append(read)
        batch.rows += len(read.rows)
        positions[source].append(position)
        if batch.rows >= BATCH_ROWS:
            flush(source)
    for source in (CLAUDE, CODEX):
        flush(source)
    return loaded
