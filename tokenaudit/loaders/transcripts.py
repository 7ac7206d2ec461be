"""Claude Code transcripts and Codex rollouts at organisation scale: thousands of files, gigabytes.

`load_input` reads one file at a time, and most of its cost on a transcript is fixed per file
(a dozen small queries to recognise and type the columns), which a tree of thousands of
sessions pays thousands of times. Here every file that is recognisably a Claude Code transcript
or a Codex rollout is read in one pass (recognised from its first records as they are read),
and the rows of many files are typed and validated together, once per batch, by the same code
as any other input (`canonical._canonicalise`). The CLI reads a large tree with several
processes; each file's SHA-256 is taken from the bytes read, for the report and the manifest.

What a file yields is what `load_input` gives for it, row for row and reject for reject (tests
hold the two equal): the rows are made by the adapters' own functions (`exports.claude_code_rows`,
`exports.codex_rows`), only from the lines that can make a row; every line is still decoded,
so that a line that is not JSON (or not UTF-8, or not an object, or nested too deeply) is an
unreadable line with its file and number, and a line longer than
`readers.MAX_NDJSON_LINE_BYTES` is one too, never read. Files this module cannot be sure of
(compressed, UTF-16, a single JSON document, a head that another adapter could claim, forced to
another kind) are left to `load_input`.

Memory: a file is read in 1 MiB chunks and only its request lines are kept as objects until
its rows are made; rows wait in a batch of at most `BATCH_ROWS`, which is then typed into
compact columns. A tree costs its rows (about a hundred bytes each once typed), not its bytes.
Rows are kept, not day totals: the de-duplication of a request seen in several files (a
side-chain replaying its parent's message) needs every row's request id, and the request-timing
checks every request's time; `ingest` then works per bucket of accounts.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import polars as pl

from tokenaudit.loaders import exports, readers
from tokenaudit.loaders.canonical import (
    SCHEMAS,
    LoadedInput,
    _canonicalise,
    _prune_to_period,
    _resolve_columns,
    export_owner,
)
from tokenaudit.loaders.readers import _SNIFF_BYTES, RawTable, sniff_bytes
from tokenaudit.loaders.sources import InputFile
from tokenaudit.loaders.textframe import text_frame
from tokenaudit.rejects import Reason, RejectCode
from tokenaudit.schema import Kind

#: Rows typed together: until then they wait as Python objects (about 1 KB a row).
BATCH_ROWS: Final = 50_000
#: `exports.convert` decides from at most the first 50 records of a file.
_HEAD_RECORDS: Final = 50
_CHUNK: Final = 1 << 20
#: File index and line number share the `_line` column while a batch is typed.
_SHIFT: Final = 32

CLAUDE: Final = "claude-code-transcript"
CODEX: Final = "codex-session"
#: The formats of the files read here (`LoadedInput.fmt`): their rows are in memory.
FORMATS: Final = frozenset({f"{CLAUDE} (ndjson)", f"{CODEX} (ndjson)"})
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
    """The lines of a file in order: (number, line, whether a newline ended it). A line is
    text when its chunk is valid UTF-8 (the common case: decoded once, not line by line), else
    bytes. A line longer than `readers.MAX_NDJSON_LINE_BYTES` is not kept (memory stays one
    chunk plus one line) and comes out empty, its reason in `long`, as `readers.prepare`
    words it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Read when the file is, so that a test can lower the limit as for `readers.prepare`.
        self.limit = readers.MAX_NDJSON_LINE_BYTES
        self.long: list[tuple[int, str]] = []
        #: The SHA-256 of the bytes read and the file's stat, once read whole and unchanged.
        self.digest: tuple[str, os.stat_result] | None = None

    def _too_long(self, number: int, size: int) -> None:
        self.long.append(
            (
                number,
                Reason(
                    RejectCode.LINE_TOO_LONG,
                    f"line is longer than {readers._size_text(self.limit)} "
                    f"({readers._size_text(size)} or more); not read",
                ),
            )
        )

    def _body(self, body: bytes, number: int) -> Iterator[tuple[int, str | bytes, bool]]:
        """Whole lines (`body` holds no final newline); only the first can be too long."""
        try:
            lines: list[Any] = body.decode("utf-8").split("\n")
        except UnicodeDecodeError:
            lines = body.split(b"\n")
        first = lines[0]
        if len(first) > self.limit // 4 and len(body.split(b"\n", 1)[0]) > self.limit:
            self._too_long(number + 1, len(body.split(b"\n", 1)[0]))
            lines[0] = first[:0]
        for line in lines:
            number += 1
            yield number, line, True

    def __iter__(self) -> Iterator[tuple[int, str | bytes, bool]]:
        number = 0
        pending = b""
        dropping = -1  # bytes of an over-long line seen so far, or -1
        size = min(_CHUNK, self.limit)
        with self.path.open("rb") as fh:
            before = os.fstat(fh.fileno())
            digest = hashlib.sha256()
            while chunk := fh.read(size):
                digest.update(chunk)
                if dropping >= 0:
                    cut = chunk.find(b"\n")
                    if cut < 0:
                        dropping += len(chunk)
                        continue
                    number += 1
                    self._too_long(number, dropping + cut)
                    yield number, b"", True
                    dropping, chunk = -1, chunk[cut + 1 :]
                data = pending + chunk if pending else chunk
                cut = data.rfind(b"\n")
                if cut < 0:
                    pending = data
                else:
                    for item in self._body(data[:cut], number):
                        number = item[0]
                        yield item
                    pending = data[cut + 1 :]
                if len(pending) > self.limit:
                    dropping, pending = len(pending), b""
            if os.fstat(fh.fileno()) == before:
                self.digest = (digest.hexdigest(), before)
            if dropping >= 0:
                self._too_long(number + 1, dropping)
                yield number + 1, b"", False
            elif pending:
                number += 1
                try:
                    last: str | bytes = pending.decode("utf-8")
                except UnicodeDecodeError:
                    last = pending
                yield number, last, False


_WHITESPACE: Final = " \t\n\r\x0b\x0c"  # what bytes.strip() strips
_DECODER: Final = readers.STRICT_JSON  # an object naming a key twice: left to `load_input`
_RAW: Final = _DECODER.raw_decode
_JSON_SPACE: Final = " \t\n\r"  # what the decoder allows after a document


def _decode(
    line: str | bytes, number: int, unreadable: list[tuple[int, str]], newline: bool = True
) -> dict[str, Any] | None:
    """A line's JSON object, or None (and the reason in `unreadable`), exactly as `readers`
    reads it. Its reader decodes each line as bytes with its newline (`newline`: the line had
    one), which changes some error messages and how a line's encoding is guessed: a line of
    valid UTF-8 that opens an object is decoded as text directly (the same object), any other
    line, and any line that fails, again as the reader does."""
    if isinstance(line, str):
        if line[:1] == "{" and line[1:2] != "\x00":
            try:
                return readers.ndjson_object(_DECODER.decode(line), number, unreadable)
            except (ValueError, RecursionError):
                pass
        line = line.encode("utf-8")
    return readers.ndjson_line(line + b"\n" if newline else line, number, unreadable)


def _blank(line: str | bytes) -> bool:
    return not (line.strip(_WHITESPACE) if isinstance(line, str) else line.strip())


def _plain_ndjson(file: InputFile) -> bool:
    """Whether `readers` would read the file as plain NDJSON, with no copy made first."""
    if file.not_a_log is not None or file.forced_kind not in (None, Kind.USAGE):
        return False
    try:
        with file.path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return False  # load_input says why, in its words
    if head.startswith(_NOT_PLAIN):
        return False
    return b"\x00" not in head[:4096] and sniff_bytes(head) == "ndjson"


#: Compressed or transcoded content (`readers.prepare` makes a plain copy of it first).
_NOT_PLAIN: Final = (
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",
    b"\xff\xfe",
    b"\xfe\xff",
)


@dataclass
class _Read:
    """One file's rows and unreadable lines."""

    file: InputFile
    source: str
    rows: list[dict[str, Any]]
    unreadable: list[tuple[int, str]]
    #: The file's SHA-256 and its stat before and after the reading, when it was read whole.
    digest: tuple[str, os.stat_result] | None = None


def read_file(file: InputFile, head_only: bool = False) -> _Read | None:
    """A Claude Code transcript or Codex rollout read in one pass: every line decoded, the
    first `_HEAD_RECORDS` records recognised as `exports.convert` recognises a file, then only
    the lines that can make a row kept. None for any other file (left to `load_input`)."""
    if not _plain_ndjson(file):
        return None
    head: list[tuple[int, dict[str, Any]]] = []
    records: list[tuple[int, dict[str, Any]]] = []
    unreadable: list[tuple[int, str]] = []
    source = ""
    keep: Callable[[dict[str, Any]], bool] = bool
    lines = _FileLines(file.path)
    try:
        for number, line, newline in lines:
            # The common line: text opening an object, decoded here (`_decode` does the rest).
            if type(line) is str and line[:1] == "{" and line[1:2] != "\x00":
                try:
                    item, end = _RAW(line)
                    if end != len(line) and line[end:].strip(_JSON_SPACE):
                        raise ValueError(line)  # extra data: worded as the reader words it
                    if type(item) is not dict:
                        raise ValueError(line)
                except (ValueError, RecursionError):
                    item = readers.ndjson_line(
                        line.encode("utf-8") + b"\n" if newline else line.encode("utf-8"),
                        number,
                        unreadable,
                    )
            elif _blank(line):
                continue
            else:
                item = _decode(line, number, unreadable, newline)
            if source:
                if item is not None and keep(item):
                    records.append((number, item))
                continue
            if item is not None:
                head.append((number, item))
            if len(head) >= _HEAD_RECORDS:
                source = _recognised(head)
                if not source or head_only:
                    break
                keep = _keeps(source)
                records = [r for r in head if keep(r[1])]
                head = []
    except (OSError, readers.RepeatedKey):
        return None  # load_input says why, in its words
    if not source:
        source = _recognised(head)
        if not source or head_only:
            return _Read(file, source, [], []) if source else None
        keep = _keeps(source)
        records = [r for r in head if keep(r[1])]
    if head_only:
        return _Read(file, source, [], [])
    unreadable = sorted([*unreadable, *lines.long])
    return _Read(file, source, _rows(source, records), unreadable, lines.digest)


def _recognised(head: list[tuple[int, dict[str, Any]]]) -> str:
    converted = exports.convert(head, None)
    if converted is None or converted.refuse or converted.source not in (CLAUDE, CODEX):
        return ""
    return converted.source


def recognise(file: InputFile) -> str | None:
    """`CLAUDE` or `CODEX` when `load_input` would read the file as that export through its
    NDJSON reader, else None (the file is left to `load_input`)."""
    read = read_file(file, head_only=True)
    return read.source if read is not None else None


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


def _type_batch(
    batch: _Batch,
    assume_tz: str | None,
    account: str | None,
    period: tuple[datetime | None, datetime | None],
) -> list[LoadedInput]:
    """The batch's rows typed and validated together, then handed back file by file."""
    names = _COLUMNS[batch.source]
    rows = [row for read in batch.files for row in read.rows]
    data: dict[str, list[Any]] = {
        n: [v if v is None or type(v) is str else _text(v) for v in (r.get(n) for r in rows)]
        for n in names
    }
    data["account"] = [
        owner
        for read in batch.files
        for owner in [export_owner(read.file, account, batch.source)] * len(read.rows)
    ]
    lines = [
        (index << _SHIFT) | row["_line"]
        for index, read in enumerate(batch.files)
        for row in read.rows
    ]
    del rows
    schema: dict[str, Any] = {n: pl.String for n in data} | {"_line": pl.Int64}
    frame, lossy = text_frame({**data, "_line": lines}, schema)
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
        lossy=lossy,
    )
    usage = SCHEMAS[Kind.USAGE]
    mapping = _resolve_columns(raw.columns, usage)
    lf = _prune_to_period(raw.frame, mapping["timestamp"], period)
    raw = replace(raw, frame=lf, rows=0)
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


#: A tree with at least this many files, and this many bytes, is read by several processes.
PARALLEL_FILES: Final = 64
PARALLEL_BYTES: Final = 64 << 20
#: At most this many reading processes (each holds one file's request lines at a time).
MAX_WORKERS: Final = 4


def _workers(files: list[InputFile]) -> int:
    """How many processes read the files: one for a small input (a process costs start-up)."""
    import os

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not cpus or cpus < 2 or len(files) < PARALLEL_FILES:
        return 1
    size = 0
    for file in files:
        try:
            size += file.path.stat().st_size
        except OSError:
            continue
        if size >= PARALLEL_BYTES:
            return min(cpus, MAX_WORKERS)
    return 1


def _read_all(files: list[InputFile], parallel: bool) -> Iterator[_Read | None]:
    """`read_file` of every file, in order; with `parallel`, spread over processes for a large
    tree. The readers are pure Python, started afresh ("spawn": no thread or lock of this
    process is copied), and the result is the same whoever read which file. Processes that
    cannot start or die (a program read from stdin cannot be started again) leave the rest of
    the files to this process."""
    workers = _workers(files) if parallel else 1
    done = 0
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        context = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                for read in pool.map(read_file, files, chunksize=8):
                    yield read
                    done += 1
            return
        except (BrokenProcessPool, OSError):
            pass
    yield from map(read_file, files[done:])


def load_transcripts(
    files: list[InputFile],
    workdir: Path,
    *,
    assume_tz: str | None = None,
    account: str | None = None,
    period: tuple[datetime | None, datetime | None] = (None, None),
    on_digest: Callable[[Path, os.stat_result, str], None] | None = None,
    parallel: bool = False,
) -> dict[int, LoadedInput]:
    """The files (by their index in `files`) that are Claude Code transcripts or Codex
    rollouts, each loaded as `load_input` would load it; the others are not in the result.
    `on_digest` is told the SHA-256 of each file read whole (and its stat), so that it need
    not be read again to be hashed. `parallel` lets a large tree be read by several processes
    (the CLI's choice: a library's caller may not expect processes to be started)."""
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

    for position, read in enumerate(_read_all(files, parallel)):
        if read is None:
            continue
        file = read.file
        if read.digest is not None and on_digest is not None:
            on_digest(file.path, read.digest[1], read.digest[0])
        source = read.source
        export_owner(file, account, source)
        batch = batches[source]
        batch.files.append(read)
        batch.rows += len(read.rows)
        positions[source].append(position)
        if batch.rows >= BATCH_ROWS:
            flush(source)
    for source in (CLAUDE, CODEX):
        flush(source)
    return loaded
