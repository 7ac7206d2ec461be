"""Format sniffing and raw reading: every format becomes a frame of text-or-native columns.

Formats are recognised from content (magic bytes, first characters), never from file names, so a
`.txt` export or stdin works the same as a well-named file.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import json.decoder
import json.scanner
import lzma
import os
import shutil
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, cast

import polars as pl

from tokenaudit.errors import DataError, InputMissingError, RefusedExport, path_text
from tokenaudit.loaders import exports
from tokenaudit.loaders.sources import InputFile
from tokenaudit.loaders.textframe import text_frame
from tokenaudit.rejects import Reason, RejectCode
from tokenaudit.schema import Kind

_SNIFF_BYTES = 64 * 1024
# The stdlib reader's default field limit (128 KiB) would end the run on one long cell; lines
# are capped at `MAX_LINE_BYTES` before any reader sees them, quoted multi-line cells are not.
csv.field_size_limit(64 << 20)
_JSON_RECORD_KEYS = ("data", "records", "rows", "items", "usage", "commits", "results")


@dataclass(frozen=True)
class RawTable:
    """A file read as a table. `frame` has normalised column names and a 1-based `_line`."""

    frame: pl.LazyFrame
    columns: tuple[str, ...]
    fmt: str
    #: "line" for text formats, "record" for JSON arrays and Parquet rows.
    unit: str
    #: Lines that could not even be split into fields (bad JSON, ragged CSV): (line, reason).
    unreadable: tuple[tuple[int, str], ...] = ()
    #: Set when a vendor export was recognised (see `exports`): its kind, name, the canonical
    #: columns it cannot supply, and a note on records that are not rows.
    kind: Kind | None = None
    source: str | None = None
    optional: frozenset[str] = frozenset()
    note: str = ""
    #: What its pages say of the listing they come from (`Converted.listing`).
    listing: str = ""
    #: How many rows `frame` holds (known before it is collected: sizes the usage buckets).
    rows: int = 0
    #: The same rows without the checks `frame` makes as it is read, for a look at the first
    #: of them (a filter in `frame` would make Polars read the whole file for that).
    sample: pl.LazyFrame | None = None
    #: Text columns read from bytes (Parquet `Binary`) where U+FFFD stands for a value that
    #: was not UTF-8, as the CSV reader decodes invalid UTF-8 (`canonical` rejects such rows).
    lossy: frozenset[str] = frozenset()
    #: Every byte of the file was found to be UTF-8 before it was read: a U+FFFD in a CSV
    #: value is then the character itself, not the reader's stand-in for a bad byte.
    valid_utf8: bool = False
    #: Per column of a JSON file: the lines (`_line`) whose value was an object, an array or
    #: true/false, held as its JSON text. Such a value is no name or id (`canonical` rejects
    #: it where the audit reads text); a number is (user ids often are).
    structured: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


def normalise_column(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower().replace(" ", "_").replace("-", "_")


def _open_failure(file: InputFile, exc: OSError) -> InputMissingError:
    return InputMissingError(file.name, exc.strerror or type(exc).__name__.lower())


#: A CSV/TSV line longer than this is not read: it becomes one unreadable row (with its line
#: number), so that one runaway line (a 4 GiB line in a small .gz) can neither exhaust memory
#: nor end the run.
MAX_LINE_BYTES: Final = 1 << 20
#: A CSV or TSV header with more columns is refused: no log is that wide, and a table this wide
#: costs memory out of proportion to its size.
MAX_COLUMNS: Final = 1000
#: A quoted CSV cell may hold line breaks (a commit message), but not past this many lines or
#: `MAX_LINE_BYTES`: beyond that, a stray `"` has swallowed the lines after it.
MAX_QUOTED_LINES: Final = 1000
#: NDJSON records may be larger (a Claude Code transcript line can quote a whole file).
MAX_NDJSON_LINE_BYTES: Final = 16 << 20
#: Compressed input may expand to this many times its compressed size, and at least to
#: `EXPANSION_FLOOR` bytes, unless --max-expanded-size says otherwise: honest logs compress
#: 5-20 fold, a decompression bomb hundreds of times.
EXPANSION_RATIO: Final = 64
EXPANSION_FLOOR: Final = 256 << 20
_CHUNK: Final = 1 << 20
_BOMS: Final = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)


def expansion_limit(compressed_bytes: int, explicit: int | None) -> int:
    """How far a compressed input may expand (see `EXPANSION_RATIO`)."""
    if explicit is not None:
        return explicit
    return max(EXPANSION_FLOOR, EXPANSION_RATIO * compressed_bytes)


def _size_text(n: int) -> str:
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= size:
            return f"{n / size:.4g}{unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class PlainInput:
    """A file's content as plain UTF-8 on disk, ready to sniff and scan."""

    path: Path
    #: "gzip", "bz2", "xz" or "" (what was decompressed).
    compression: str
    #: The format `sniff_bytes` saw.
    fmt: str
    #: Lines left out because they were too long: (line, reason).
    long_lines: tuple[tuple[int, str], ...] = ()
    #: "UTF-16" or "UTF-32" when the file was transcoded, else "".
    transcoded: str = ""
    #: Every byte was found to be UTF-8 (checked for delimited text only: see `RawTable`).
    valid_utf8: bool = False


class _LineGuard:
    """Copies text chunk by chunk, leaving out (as an empty line, so later line numbers hold)
    every line longer than `limit`. Memory: one chunk plus at most `limit` bytes of a pending
    line. Chunks must be at most `limit` long, so only a line spanning chunks can be too long."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.line = 1
        self.pending = bytearray()
        self.pending_len = 0
        self.dropping = False
        #: Whether the line being dropped has a CR in its first `limit` bytes: a file whose lines
        #: end with a lone CR is one line to a reader that splits on LF.
        self.carriage_return = False
        self.long: list[tuple[int, str]] = []

    def _grow(self, part: bytes) -> None:
        self.pending_len += len(part)
        if self.dropping:
            return
        if self.pending_len > self.limit:
            self.dropping = True
            self.carriage_return = b"\r" in self.pending or b"\r" in part
            self.pending = bytearray()
        else:
            self.pending += part

    def _end_line(self, newline: bytes) -> bytes:
        if self.dropping:
            self.long.append(
                (
                    self.line,
                    Reason(
                        RejectCode.LINE_TOO_LONG,
                        f"line is longer than {_size_text(self.limit)} "
                        f"({_size_text(self.pending_len)} or more); not read"
                        + (
                            "; its lines end with a lone CR (classic Mac line ends: "
                            "convert them to LF or CRLF)"
                            if self.carriage_return
                            else ""
                        ),
                    ),
                )
            )
            out = newline
        else:
            out = bytes(self.pending) + newline
        self.pending, self.pending_len, self.dropping = bytearray(), 0, False
        self.carriage_return = False
        return out

    def feed(self, chunk: bytes) -> bytes:
        first = chunk.find(b"\n")
        if first < 0:
            self._grow(chunk)
            return b""
        self._grow(chunk[:first])
        out = [self._end_line(b"\n")]
        last = chunk.rfind(b"\n")
        middle = chunk[first + 1 : last + 1]
        out.append(middle)
        self.line += 1 + middle.count(b"\n")
        self._grow(chunk[last + 1 :])
        return b"".join(out)

    def close(self) -> bytes:
        if not self.pending_len:
            return b""
        return self._end_line(b"")


def _bom(head: bytes) -> tuple[str, str] | None:
    for mark, codec, label in _BOMS:
        if head.startswith(mark):
            return codec, label
    return None


def _looks_like_utf16_without_bom(head: bytes) -> bool:
    sample = head[:4096]
    return len(sample) >= 8 and sample.count(b"\x00") > len(sample) // 4


def prepare(file: InputFile, workdir: Path) -> PlainInput:
    """The file's content as plain UTF-8 on disk: gzip/bz2/xz are decompressed and UTF-16/32
    (with a byte-order mark) transcoded into `workdir`, with the expansion capped
    (`expansion_limit`) and over-long lines of line formats left out (`MAX_LINE_BYTES`).
    A plain UTF-8 file is used where it is, unless it has an over-long line."""
    try:
        fh = file.path.open("rb")
    except OSError as exc:
        raise _open_failure(file, exc) from exc
    with fh:
        try:
            magic = fh.read(6)
            fh.seek(0)
            compressed_size = os.fstat(fh.fileno()).st_size
        except OSError as exc:
            raise _open_failure(file, exc) from exc
        opener: Any = None
        kind = ""
        if magic.startswith(b"\x1f\x8b"):
            opener, kind = gzip.open, "gzip"
        elif magic.startswith(b"BZh"):
            opener, kind = bz2.BZ2File, "bz2"
        elif magic.startswith(b"\xfd7zXZ\x00"):
            opener, kind = lzma.LZMAFile, "xz"
        elif magic.startswith(b"\x28\xb5\x2f\xfd"):
            raise DataError(
                file.name, "zstd-compressed input is not supported; decompress it first"
            )
        try:
            stream: Any = opener(fh, mode="rb") if opener else fh
        except (OSError, EOFError, lzma.LZMAError) as exc:
            raise DataError(file.name, f"{kind} stream is corrupt or truncated ({exc})") from exc
        limit = expansion_limit(compressed_size, file.max_expanded) if kind else None
        return _Preparer(file, workdir, stream, kind, limit).run()


class _Preparer:
    """One pass over a (decompressing) stream: sniff, transcode, guard lines, cap expansion."""

    def __init__(
        self, file: InputFile, workdir: Path, stream: Any, kind: str, limit: int | None
    ) -> None:
        self.file, self.workdir, self.stream, self.kind, self.limit = (
            file,
            workdir,
            stream,
            kind,
            limit,
        )
        self.expanded = 0
        self.decoder: Any = None
        self.label = ""

    def _read(self) -> bytes:
        try:
            raw = self.stream.read(_CHUNK)
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
            if not self.kind and isinstance(exc, OSError):
                raise _open_failure(self.file, exc) from exc
            raise DataError(
                self.file.name, f"{self.kind} stream is corrupt or truncated ({exc})"
            ) from exc
        self.expanded += len(raw)
        if self.limit is not None and self.expanded > self.limit:
            rule = (
                "--max-expanded-size"
                if self.file.max_expanded is not None
                else f"{EXPANSION_RATIO} times its compressed size, at least "
                f"{_size_text(EXPANSION_FLOOR)}"
            )
            raise DataError(
                self.file.name,
                f"{self.kind} content expands past {_size_text(self.limit)} ({rule}): refused as "
                "a likely decompression bomb; give --max-expanded-size SIZE to read it",
            )
        if self.decoder is None:
            return bytes(raw)
        try:
            return str(self.decoder.decode(raw, final=not raw)).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                self.file.name, f"not valid {self.label} at byte {self.expanded - len(raw)}"
            ) from exc

    def run(self) -> PlainInput:
        first = self._read()
        bom = _bom(first)
        if bom is not None:
            codec, self.label = bom
            import codecs

            self.decoder = codecs.getincrementaldecoder(codec)()
            mark = 4 if self.label == "UTF-32" else 2
            first = self.decoder.decode(first[mark:]).encode("utf-8")
        elif _looks_like_utf16_without_bom(first):
            raise DataError(
                self.file.name,
                "looks like UTF-16 text without a byte-order mark; save it as UTF-8 (CSV UTF-8)",
            )
        fmt = sniff_bytes(first)
        line_limit = {"csv": MAX_LINE_BYTES, "tsv": MAX_LINE_BYTES}.get(
            fmt, MAX_NDJSON_LINE_BYTES if fmt == "ndjson" else None
        )
        delimited = fmt in ("csv", "tsv")
        if not self.kind and self.decoder is None:
            if line_limit is None or not _has_long_line(self.stream, line_limit):
                valid = delimited and _is_utf8_file(self.stream)
                return PlainInput(
                    polars_path(self.file.path, self.workdir), "", fmt, valid_utf8=valid
                )
            self.stream.seek(0)
            self.expanded = 0
            first = self._read()
        guard = _LineGuard(line_limit) if line_limit is not None else None
        # A transcoded file is UTF-8 by construction (the decoder refuses what is not).
        check = _Utf8Check() if delimited and self.decoder is None else None
        fd, tmp_name = tempfile.mkstemp(dir=self.workdir, suffix=".raw")
        try:
            with open(fd, "wb") as dst:
                chunk = first
                while chunk:
                    if check is not None:
                        check.feed(chunk)
                    for piece in _pieces(chunk, line_limit):
                        dst.write(guard.feed(piece) if guard else piece)
                    chunk = self._read()
                if guard:
                    dst.write(guard.close())
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        valid = delimited and (check.close() if check is not None else True)
        return PlainInput(
            Path(tmp_name),
            self.kind,
            fmt,
            tuple(guard.long) if guard else (),
            self.label,
            valid_utf8=valid,
        )


def polars_path(path: Path, workdir: Path) -> Path:
    """`path`, or a link to it in `workdir` when its name is not UTF-8: Polars takes a path
    only as UTF-8 text (and mistakes any other for a file object), and a link keeps the file
    mapped and scanned lazily where a copy would cost its size."""
    if path_text(path) == str(path):
        return path
    fd, name = tempfile.mkstemp(dir=workdir, suffix=path.suffix if path.suffix.isascii() else "")
    os.close(fd)
    link = Path(name)
    try:
        link.unlink()
        link.symlink_to(path.absolute())
    except OSError as exc:
        raise InputMissingError(
            path_text(path),
            f"file name is not UTF-8 and no link to it can be made ({exc.strerror})",
        ) from exc
    return link


def _has_long_line(fh: Any, limit: int) -> bool:
    """Whether a plain file has a line longer than `limit` bytes (its newline not counted).

    From each newline it jumps to the last newline within `limit + 1` bytes after it: none there
    means a longer line; otherwise every line in between is shorter. Only the bytes near each
    jump's end are read (through the page cache), not the whole file in Python."""
    import mmap

    size = os.fstat(fh.fileno()).st_size
    if size <= limit:
        return False
    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
        newline = -1
        while size - newline - 1 > limit:
            found = view.rfind(b"\n", newline + 1, newline + limit + 2)
            if found < 0:
                return True
            newline = found
    return False


class _Utf8Check:
    """Whether a stream of chunks is UTF-8 throughout (a character may span two chunks)."""

    def __init__(self) -> None:
        self.decoder: Any = None
        self.valid = True

    def feed(self, chunk: Any) -> None:
        if not self.valid:
            return
        if self.decoder is None:
            # ASCII is UTF-8, and the usual log is ASCII: a byte scan, no decoding.
            if _is_ascii(chunk):
                return
            import codecs

            self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            self.decoder.decode(chunk, final=False)
        except UnicodeDecodeError:
            self.valid = False

    def close(self) -> bool:
        if self.valid and self.decoder is not None:
            try:
                self.decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self.valid = False
        return self.valid


def _is_ascii(chunk: Any) -> bool:
    import numpy as np

    return bool(np.frombuffer(chunk, dtype=np.uint8).max(initial=0) < 0x80)


def _is_utf8_file(fh: Any) -> bool:
    """Whether a plain file is UTF-8 throughout: read through one reused buffer (about 0.1 s
    for 0.5 GB of ASCII), never whole into memory.

    NOTE: not a memory map: a file cut short while it is read (logrotate's `copytruncate`)
    kills a process that touches a mapped page past its new end (SIGBUS), where a read
    simply ends."""
    fh.seek(0)
    check = _Utf8Check()
    buffer = bytearray(_UTF8_SLICE)
    view = memoryview(buffer)
    try:
        while check.valid:
            n = fh.readinto(buffer)
            if not n:
                break
            check.feed(view[:n])
    finally:
        view.release()
        fh.seek(0)
    return check.close()


#: The slice `_is_utf8_file` reads at a time.
_UTF8_SLICE: Final = 16 << 20


def _pieces(chunk: bytes, limit: int | None) -> list[bytes]:
    if limit is None or len(chunk) <= limit:
        return [chunk]
    return [chunk[i : i + limit] for i in range(0, len(chunk), limit)]


def sniff_format(path: Path) -> str:
    """'parquet', 'json', 'ndjson', 'tsv', 'csv' or 'empty', from the first bytes."""
    with path.open("rb") as fh:
        return sniff_bytes(fh.read(_SNIFF_BYTES))


def sniff_bytes(head: bytes) -> str:
    """`sniff_format` of the first bytes of a file."""
    head = head[:_SNIFF_BYTES]
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if not text:
        return "empty"
    if text[0] == "[":
        return "json"
    if text[0] == "{":
        first, _, rest = text.partition("\n")
        try:
            json.loads(first)
        except (json.JSONDecodeError, RecursionError):
            return "json"
        return "ndjson" if rest.strip() or len(head) == _SNIFF_BYTES else "json"
    header = text.split("\n", 1)[0]
    return "tsv" if header.count("\t") > header.count(",") else "csv"


def read_raw(file: InputFile, workdir: Path, *, careful: bool = True) -> RawTable:
    """Read one input file into a `RawTable`, whatever its format.

    Without `careful`, a CSV or TSV file is not checked for rows of the wrong width before it
    is read: its frame then fails to collect (a `PolarsError`) where the careful reading would
    have quarantined such rows or read the file another way, and the caller must read the file
    again carefully (`audit.run_audit` does)."""
    plain = prepare(file, workdir)
    table = _read_format(file, plain, workdir, careful=careful)
    if plain.valid_utf8:
        table = replace(table, valid_utf8=True)
    if plain.long_lines:
        merged = tuple(sorted((*table.unreadable, *plain.long_lines)))
        table = replace(table, unreadable=merged)
    return table


def _read_format(
    file: InputFile, plain: PlainInput, workdir: Path, *, careful: bool = True
) -> RawTable:
    fmt, path = plain.fmt, plain.path
    label = "+".join(x for x in (fmt, plain.compression, plain.transcoded.lower()) if x)
    if fmt in ("csv", "tsv"):
        dropped = [why for line, why in plain.long_lines if line == 1]
        if dropped:
            # The header itself was left out for its length: say why, not "no header row".
            raise DataError(file.name, f"no header row: {dropped[0]}", line=1)
        sep = "\t" if fmt == "tsv" else ","
        table = _read_delimited(file, path, label, sep, workdir, careful=careful)
        return _export_from_table(table) or table
    if fmt == "empty":
        raise DataError(file.name, "file is empty")
    if fmt == "parquet":
        return _read_parquet(file, path, label)
    if fmt == "json":
        return _read_json(file, path, label)
    return _read_ndjson(file, path, label)


def _export_from_table(table: RawTable) -> RawTable | None:
    """Vendor CSV exports (LiteLLM spend logs, Cursor's usage CSV) are recognised from their
    header (`exports.is_csv_export`); any other CSV stays canonical and lazy."""
    if not exports.is_csv_export(table.columns):
        return None
    df = table.frame.collect()
    records = [(row.pop("_line"), row) for row in df.to_dicts()]
    converted = exports.convert(records, None)
    if converted is None:
        return None
    return _from_export(converted, table.fmt, "line", list(table.unreadable))


def _finish(
    df: pl.DataFrame,
    fmt: str,
    unit: str,
    unreadable: list[tuple[int, str]],
    lossy: frozenset[str] = frozenset(),
    structured: Mapping[str, tuple[int, ...]] | None = None,
) -> RawTable:
    columns = tuple(c for c in df.columns if c != "_line")
    return RawTable(
        df.lazy(),
        columns,
        fmt,
        unit,
        tuple(unreadable),
        rows=df.height,
        lossy=lossy,
        structured=structured or {},
    )


def _from_export(
    converted: exports.Converted,
    fmt: str,
    unit: str,
    unreadable: list[tuple[int, str]],
    name: str = "",
) -> RawTable:
    if converted.refuse:
        raise RefusedExport(name, converted.refuse)
    if converted.rejects:
        # Records the converter recognised but could not use are rejects like unreadable lines.
        unreadable = sorted([*unreadable, *converted.rejects])
    df, lossy = exports.rows_frame(converted)
    columns = tuple(c for c in df.columns if c != "_line")
    return RawTable(
        df.lazy(),
        columns,
        f"{converted.source} ({fmt})",
        unit,
        tuple(unreadable),
        kind=converted.kind,
        source=converted.source,
        optional=converted.optional,
        note=converted.note,
        listing=converted.listing,
        rows=df.height,
        lossy=lossy,
    )


def _check_duplicate_columns(file: InputFile, names: list[str]) -> list[str]:
    normalised = [normalise_column(n) for n in names]
    seen: set[str] = set()
    for n in normalised:
        if n in seen:
            raise DataError(file.name, f"column '{n}' appears twice in the header", line=1)
        seen.add(n)
    return normalised


def _read_delimited(
    file: InputFile,
    path: Path,
    fmt: str,
    sep: str,
    workdir: Path | None = None,
    *,
    careful: bool = True,
) -> RawTable:
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        header_row = next(csv.reader(fh, delimiter=sep), [])
    if len(header_row) > MAX_COLUMNS:
        raise DataError(
            file.name,
            f"{len(header_row):,} columns in the header; no log has more than "
            f"{MAX_COLUMNS:,} (is it a log, and is its separator '{sep}'?)",
            line=1,
        )
    names = _check_duplicate_columns(file, header_row)
    if not any(names):
        raise DataError(file.name, "no header row", line=1)
    options: dict[str, Any] = {
        "separator": sep,
        "infer_schema": False,
        "encoding": "utf8-lossy",
        "new_columns": names,
        "row_index_name": "_row",
        "raise_if_empty": False,
    }
    # The line of the first record: 2, unless a header cell spans lines.
    first_line = 2 + sum(cell.count("\n") for cell in header_row)
    if not careful:
        return _read_delimited_unchecked(path, fmt, names, options, first_line)
    try:
        # One cheap pass (the last column only) decides whether the file can stay lazy: Polars
        # pads a short row with nulls, indistinguishable from empty cells, so a file whose last
        # column has nulls goes through the stdlib reader, which can tell them apart.
        # NOTE: every column is read here, not only the last: Polars notices a row with too
        # many fields only when it parses them all, and it must notice it now, while the stdlib
        # fallback below can still take over (later it would end the run).
        counts = (
            pl.scan_csv(path, **options)
            .select(
                pl.len().alias("\x00len"),
                _runaway_cell(names).any().alias("\x00runaway"),
                pl.exclude("_row").null_count(),
            )
            .collect()
            .row(0)
        )
        rows, runaway, short_suspects = counts[0], counts[1], counts[-1]
        if short_suspects or runaway:
            df = pl.read_csv(path, **options)
            # Physical lines, as the fast path counts them: `_drop_short_and_blank_rows` keeps
            # these when the stdlib reader splits the records otherwise (a lone CR in a cell).
            df = df.with_columns(_record_lines(path, rows, first_line, names, options))
            df, unreadable = _drop_short_and_blank_rows(df, path, sep, len(names))
            return _finish(df.drop("_row"), fmt, "line", unreadable)
    except pl.exceptions.PolarsError:
        # Rows with too many fields: left out of a copy (as blank lines, so line numbers hold)
        # that Polars can read as usual, each one an unreadable row. Memory stays that of the
        # fast path, whatever the file's size.
        cleaned = _blank_ragged_rows(path, sep, len(names), workdir) if workdir else None
        if cleaned is not None:
            copy, ragged = cleaned
            try:
                table = _read_delimited(file, copy, fmt, sep)
            except DataError:
                table = None
            if table is not None:
                merged = tuple(sorted((*table.unreadable, *ragged)))
                return replace(table, unreadable=merged)
        # Badly quoted rows: the stdlib reader reads the rest and can say which line.
        return _read_delimited_slowly(file, path, fmt, sep, names)
    line = _record_lines(path, rows, first_line, names, options)
    lazy = pl.scan_csv(path, **options).select(pl.exclude("_row"), line)
    return RawTable(lazy, tuple(names), fmt, "line", rows=rows)


def _record_lines(
    path: Path,
    rows: int,
    first_line: int,
    names: list[str],
    options: dict[str, Any],
    physical: int | None = None,
) -> pl.Expr:
    """`_line`: the physical line each record (`_row`, from 0) starts on, as the stdlib reader
    of the careful paths counts them (`physical`: the file's lines, when already counted).

    NOTE: `_row + first_line` holds unless a quoted cell spans lines, which moves every later
    record down. Counting the file's lines tells; only a file with more lines than records
    pays one more pass, to count the line breaks inside its cells."""
    line = pl.col("_row").cast(pl.Int64) + first_line
    if physical is None:
        physical = _physical_lines(path)
    if physical <= first_line - 1 + rows:
        return line.alias("_line")
    cells = pl.col(names).str.count_matches("\n", literal=True).fill_null(0)
    breaks = pl.sum_horizontal(cells)
    found = (
        pl.scan_csv(path, **options)
        .select("_row", breaks.alias("breaks"))
        .filter(pl.col("breaks") > 0)
        .collect()
        .sort("_row")
    )
    if found.is_empty():
        return line.alias("_line")
    # Line breaks before each record: those of the records with any, summed, looked up by the
    # number of such records before it (an expression of `_row` alone, so filters may move).
    before = pl.Series([0, *found["breaks"].cum_sum()], dtype=pl.Int64)
    earlier = pl.lit(found["_row"]).search_sorted(pl.col("_row"), side="left")
    return (line + pl.lit(before).gather(earlier)).alias("_line")


def _physical_lines(path: Path) -> int:
    """Lines of the file, blank ones included, as Polars splits it when quotes mean nothing
    (0.03 s a million rows, by the streaming engine from the row index, as in
    `_read_delimited_unchecked`)."""
    last = (
        pl.scan_csv(
            path,
            has_header=False,
            quote_char=None,
            separator="\x1f",
            infer_schema=False,
            encoding="utf8-lossy",
            truncate_ragged_lines=True,
            row_index_name="_row",
            raise_if_empty=False,
        )
        .select(pl.col("_row").max())
        .collect(engine="streaming")
        .item()
    )
    return 0 if last is None else int(last) + 1


def _read_delimited_unchecked(
    path: Path, fmt: str, names: list[str], options: dict[str, Any], first_line: int
) -> RawTable:
    """`_read_delimited`'s lazy frame without its pass over every column first (0.38 s of a
    1M-row file; counting the rows takes 0.04 s): a row of too many or too few fields makes
    the frame fail when it is collected instead (see `read_raw`).

    NOTE: Polars raises on a row of too many fields only when it parses every column, so the
    filter names them all (whatever the caller selects), and it pads a short row with nulls,
    so a null last cell fails a strict cast: then the careful reading, which can tell a short
    row from an empty cell, takes over; so does a row with a cell that may be a quote left
    open (`_runaway_cell`). No filter drops a row."""
    # NOTE: counted by the streaming engine from the row index: `pl.len()` maps the whole file
    # into memory (1.2 GB resident at 10M rows, past --memory-limit 1GB); this stays at 0.3 GB.
    counted = pl.scan_csv(path, **options).select(pl.col("_row").max())
    last_row = counted.collect(engine="streaming").item()
    rows = 0 if last_row is None else int(last_row) + 1
    every_column = pl.struct(names).is_not_null()
    last = pl.col(names[-1])
    no_null_last = (
        pl.when(last.is_null())
        .then(pl.lit("a null last cell"))
        .otherwise(pl.lit("0"))
        .cast(pl.Int8, strict=True)
        .is_not_null()
    )
    physical = _physical_lines(path)
    # NOTE: a file of no more lines than records has no line break in any cell: then only a
    # cell's length can tell a quote left open (counting every cell's line breaks took 0.58 s
    # of CPU at 5M rows of 9 columns).
    one_line_records = physical <= first_line - 1 + rows
    no_runaway_cell = (
        pl.when(_runaway_cell(names, line_breaks=not one_line_records))
        .then(pl.lit("a quote left open"))
        .otherwise(pl.lit("0"))
        .cast(pl.Int8, strict=True)
        .is_not_null()
    )
    line = _record_lines(path, rows, first_line, names, options, physical)
    plain = pl.scan_csv(path, **options)
    # NOTE: the check is a column, then filtered on: as a filter, Polars pushes it into the
    # scan, where a predicate naming every column costs memory with the square of their count
    # (19 rows of 1,000 columns took 1.1 GB; 2,000 columns 3.9 GB).
    ok = (every_column & no_null_last & no_runaway_cell).alias("\x00ok")
    lazy = (
        plain.with_columns(ok).filter(pl.col("\x00ok")).select(pl.exclude("_row", "\x00ok"), line)
    )
    sample = plain.select(pl.exclude("_row"), line)
    return RawTable(lazy, tuple(names), fmt, "line", rows=rows, sample=sample)


def _blank_ragged_rows(
    path: Path, sep: str, width: int, workdir: Path
) -> tuple[Path, list[tuple[int, str]]] | None:
    """A copy of the file without its rows of too many fields (their lines left blank), and
    those rows as (line, reason); None when the stdlib reader finds none or cannot read it."""
    bad: list[tuple[int, int]] = []
    reasons: list[tuple[int, str]] = []
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        names = next(reader, None) or []
        start = reader.line_num + 1
        try:
            for record in reader:
                end = reader.line_num
                swallowed = _swallowed(start, end, record, names)
                if swallowed or len(record) > width:
                    bad.append((start, end))
                    reasons += swallowed or [(start, _field_count(width, len(record)))]
                start = end + 1
        except csv.Error:
            return None
    if not bad:
        return None
    fd, name = tempfile.mkstemp(dir=workdir, suffix=".csv")
    with path.open("rb") as src, open(fd, "wb") as dst:
        k = 0
        for number, line in enumerate(src, start=1):
            while k < len(bad) and bad[k][1] < number:
                k += 1
            inside = k < len(bad) and bad[k][0] <= number
            dst.write(b"\n" if inside else line)
    return Path(name), reasons


def _runaway_cell(names: list[str], *, line_breaks: bool = True) -> pl.Expr:
    """Whether a row has a cell that may be a quote left open (`_swallowed` decides): past
    `MAX_QUOTED_LINES` line breaks (counted only with `line_breaks`: 0.12 s a million rows of
    9 columns) or `MAX_LINE_BYTES` (0.02 s)."""
    cells = pl.col(names)
    too_long = cells.str.len_bytes() > MAX_LINE_BYTES
    if not line_breaks:
        return pl.any_horizontal(too_long)
    return pl.any_horizontal(
        (cells.str.count_matches("\n", literal=True) >= MAX_QUOTED_LINES) | too_long
    )


def _swallowed(first: int, last: int, record: list[str], names: list[str]) -> list[tuple[int, str]]:
    """The lines `first..last` of one record, each a reject, when a quote left open has
    swallowed them: the record spans several lines and has the wrong number of fields, or its
    quoted cell runs past `MAX_QUOTED_LINES` lines or `MAX_LINE_BYTES`. Empty for a record
    that is a row (one line, or a cell with a few line breaks).

    NOTE: every swallowed line counts, not the one record the readers see, so that
    `--max-bad-rows`/`--max-bad-ratio` weigh what was lost."""
    if last <= first:
        return []
    if (
        len(record) == len(names)
        and last - first < MAX_QUOTED_LINES
        and sum(map(len, record)) <= MAX_LINE_BYTES
    ):
        return []
    cell = next((i for i, v in enumerate(record) if "\n" in v or "\r" in v), None)
    column = f" in column '{names[cell]}'" if cell is not None and cell < len(names) else ""
    code = RejectCode.UNTERMINATED_QUOTE
    head = Reason(
        code,
        f"unterminated quote: a quoted field opened{column} on this line runs to line {last}",
    )
    rest = Reason(code, f"inside the quoted field left open on line {first}")
    return [(first, head), *((n, rest) for n in range(first + 1, last + 1))]


def _field_count(width: int, n: int) -> Reason:
    """The reason of a row with `n` fields where the header has `width`."""
    code = RejectCode.TOO_MANY_FIELDS if n > width else RejectCode.TOO_FEW_FIELDS
    return Reason(code, f"expected {width} fields, got {n}")


def _drop_short_and_blank_rows(
    df: pl.DataFrame, path: Path, sep: str, width: int
) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    """Blank lines are not rows; rows with too few fields are unreadable, by their real line."""
    blank: list[int] = []
    short: dict[int, tuple[int, int]] = {}
    lines: list[int] = []
    swallowed: dict[int, list[tuple[int, str]]] = {}
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        names = next(reader, None) or []
        start = reader.line_num + 1
        try:
            for index, record in enumerate(reader):
                lines.append(start)
                if not record:
                    blank.append(index)
                elif lost := _swallowed(start, reader.line_num, record, names):
                    swallowed[index] = lost
                elif len(record) != width:
                    short[index] = (start, len(record))
                start = reader.line_num + 1
        except csv.Error:
            return df, []  # the stdlib reader cannot split it: keep Polars' view
    if len(lines) != df.height:  # the two readers disagree on the records: keep Polars' view
        return df, []
    drop = set(blank) | set(short) | set(swallowed)
    kept = df.with_columns(pl.Series("_line", lines, dtype=pl.Int64)).filter(
        ~pl.col("_row").is_in(list(drop))
    )
    unreadable: list[tuple[int, str]] = [
        (line, _field_count(width, n)) for line, n in short.values()
    ]
    for lost in swallowed.values():
        unreadable += lost
    return kept, sorted(unreadable)


def _read_delimited_slowly(
    file: InputFile, path: Path, fmt: str, sep: str, names: list[str]
) -> RawTable:
    rows: list[list[str | None]] = []
    lines: list[int] = []
    unreadable: list[tuple[int, str]] = []
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        next(reader, None)
        start = reader.line_num + 1
        records = iter(reader)
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except csv.Error as exc:
                # A field past the size limit (an unterminated quote swallowing the rest of the
                # file, say): the rest of the file cannot be split into rows.
                raise DataError(
                    file.name, f"malformed {fmt.split('+')[0].upper()}: {exc}", line=start
                ) from None
            line = start
            start = reader.line_num + 1
            if not record:
                continue
            if lost := _swallowed(line, reader.line_num, record, names):
                unreadable += lost
                continue
            if len(record) != len(names):
                unreadable.append((line, _field_count(len(names), len(record))))
                continue
            rows.append([v if v != "" else None for v in record])
            lines.append(line)
    data: dict[str, list[Any]] = {n: [r[i] for r in rows] for i, n in enumerate(names)}
    data["_line"] = lines
    schema: dict[str, Any] = {n: pl.String for n in names} | {"_line": pl.Int64}
    return _finish(pl.DataFrame(data, schema=schema), fmt, "line", unreadable)


def _scalar_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (RecursionError, ValueError):
        return None  # a nested value no column can use


def _records_frame(
    records: list[tuple[int, dict[str, Any]]], file: InputFile, unit: str
) -> tuple[pl.DataFrame, frozenset[str], dict[str, tuple[int, ...]]]:
    """The records as text columns, the columns `text_frame` found lossy, and per column the
    lines whose value was structured (see `RawTable.structured`)."""
    names: dict[str, None] = {}
    for line, rec in records:
        columns = dict.fromkeys(normalise_column(str(key)) for key in rec)
        if len(columns) < len(rec):
            raise _duplicate_keys(file, unit, line, rec)
        names.update(columns)
    data: dict[str, list[Any]] = {n: [] for n in names}
    structured: dict[str, list[int]] = {}
    for line, rec in records:
        norm = {normalise_column(str(k)): v for k, v in rec.items()}
        for n in names:
            value = norm.get(n)
            if isinstance(value, dict | list | bool):
                structured.setdefault(n, []).append(line)
            data[n].append(_scalar_text(value))
    data["_line"] = [line for line, _ in records]
    schema: dict[str, Any] = {n: pl.String for n in names} | {"_line": pl.Int64}
    df, lossy = text_frame(data, schema)
    return df, lossy, {n: tuple(lines) for n, lines in structured.items()}


def _duplicate_keys(file: InputFile, unit: str, line: int, rec: dict[str, Any]) -> DataError:
    """Two keys of one record that name the same column: refused, as a CSV header that names
    a column twice is, rather than one of the two values kept without a word."""
    by_column: dict[str, list[str]] = {}
    for key in rec:
        by_column.setdefault(normalise_column(str(key)), []).append(str(key)[:60])
    column, keys = next((c, k) for c, k in by_column.items() if len(k) > 1)
    why = f"keys '{keys[0]}' and '{keys[1]}' both name column '{column}'"
    if unit == "line":
        return DataError(file.name, why, line=line)
    return DataError(file.name, f"record {line}: {why}")


class RepeatedKey(Exception):
    """An object that names one key twice (raised by `STRICT_JSON`, which no `except
    ValueError` meant for bad JSON catches): `position` is where the object starts, when the
    locating decoder found it."""

    def __init__(self, key: str, position: int | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.position = position


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise RepeatedKey(key)
            seen.add(key)
    return obj


#: The JSON decoder of every log: `json`'s, except that an object naming a key twice raises
#: `RepeatedKey` where `json` would keep the last value in silence (RFC 8259 leaves that case
#: to the reader; a second `input_tokens` must not replace the first unseen). The hook costs
#: nothing measurable: 1M usage lines decode in 4.9-5.0 s with it, 5.0-5.3 s with `json.loads`.
STRICT_JSON: Final = json.JSONDecoder(object_pairs_hook=_unique_keys)


#: `json.decoder`'s parts that its stubs leave out (`JSONObject`, `WHITESPACE`, `scanstring`).
_JSON_INTERNALS: Any = json.decoder


def _locating_decoder() -> json.JSONDecoder:
    """`STRICT_JSON` on the pure-Python scanner, whose `RepeatedKey` carries where the object
    starts (only to word an error: it is several times slower)."""
    scanner: Any = json.scanner  # `py_make_scanner` is not in its stubs

    def parse_object(s_and_end: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        pairs, end = _JSON_INTERNALS.JSONObject(s_and_end, *args[:2], None, list, *args[4:])
        try:
            return _unique_keys(pairs), end
        except RepeatedKey as exc:
            raise RepeatedKey(exc.key, s_and_end[1] - 1) from None

    decoder: Any = json.JSONDecoder()
    decoder.parse_object = parse_object
    decoder.scan_once = scanner.py_make_scanner(decoder)
    return cast(json.JSONDecoder, decoder)


def _repeated_key_line(text: str, start: int, key: str) -> int | None:
    """The line of the second `key` of the first object from `start` that names a key twice."""
    try:
        _locating_decoder().raw_decode(text, start)
    except RepeatedKey as exc:
        if exc.position is None:
            return None
        at = _second_key(text, exc.position, key)
        return text.count("\n", 0, at) + 1
    except (ValueError, RecursionError):
        return None
    return None


def _second_key(text: str, start: int, key: str) -> int:
    """Where the object at `start` names `key` the second time (the objects inside it name no
    key twice: the locating decoder checks an object once it has read its values)."""
    space = _JSON_INTERNALS.WHITESPACE.match
    pos: int = space(text, start + 1).end()
    seen = False
    while text[pos] == '"':
        name, end = _JSON_INTERNALS.scanstring(text, pos + 1)
        if name == key:
            if seen:
                return pos
            seen = True
        _, end = STRICT_JSON.raw_decode(text, space(text, space(text, end).end() + 1).end())
        pos = space(text, end).end()
        pos = space(text, pos + 1).end() if text[pos] == "," else pos
    return start


def repeated_key_error(file: InputFile, key: str, line: int | None) -> DataError:
    """The error of an object that names `key` twice: refused, as two spellings of one column
    are (`_duplicate_keys`), rather than the last value kept without a word."""
    return DataError(file.name, f"key '{key[:60]}' appears twice in one object", line=line)


def _json_documents(file: InputFile, path: Path) -> list[Any]:
    """Every JSON document in the file: one, or several back to back (`gh api --paginate`
    writes `[...][...]`, or one array per line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(file.name, f"not valid UTF-8 at byte {exc.start}") from exc
    decoder = STRICT_JSON
    docs: list[Any] = []
    pos = 0
    end = len(text)
    while True:
        while pos < end and text[pos] in "\ufeff \t\r\n":
            pos += 1
        if pos >= end:
            break
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(
                file.name, f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno
            ) from exc
        except RecursionError:
            line = text.count("\n", 0, pos) + 1
            raise DataError(file.name, "JSON nested too deeply to read", line=line) from None
        except RepeatedKey as exc:
            raise repeated_key_error(
                file, exc.key, _repeated_key_line(text, pos, exc.key)
            ) from None
        docs.append(doc)
    if not docs:
        raise DataError(file.name, "file is empty")
    return docs


def _read_json(file: InputFile, path: Path, fmt: str) -> RawTable:
    docs = _json_documents(file, path)
    doc = docs[0]
    if len(docs) == 1:
        items = _json_records(doc)
    else:
        # Pages of one listing: their records, numbered on across the pages.
        pages = [_json_records(d) for d in docs]
        items = None if any(p is None for p in pages) else [r for p in pages for r in p or []]
        if items is None:
            raise DataError(
                file.name,
                f"holds {len(docs)} JSON documents, not all of them lists of records",
            )
    if items is None and isinstance(doc, dict):
        converted = exports.convert([], doc)
        if converted is not None:
            return _from_export(converted, fmt, "record", [], file.name)
    if items is None:
        raise DataError(file.name, "JSON holds no list of records (expected an array of objects)")
    records: list[tuple[int, dict[str, Any]]] = []
    unreadable: list[tuple[int, str]] = []
    for i, item in enumerate(items, start=1):
        if isinstance(item, dict):
            records.append((i, item))
        else:
            unreadable.append(
                (
                    i,
                    Reason(
                        RejectCode.NOT_AN_OBJECT,
                        f"record is a JSON {type(item).__name__}, not an object",
                    ),
                )
            )
    converted = exports.convert(records, doc)
    if converted is not None:
        return _from_export(converted, fmt, "record", unreadable, file.name)
    df, lossy, structured = _records_frame(records, file, "record")
    return _finish(df, fmt, "record", unreadable, lossy, structured)


def _json_records(doc: Any) -> list[Any] | None:
    if isinstance(doc, list):
        if doc and all(isinstance(page, list) for page in doc):
            # Pages of a listing slurped into one array (`jq -s . pages*.json`, `glab api
            # --paginate | jq -s`): their records, numbered on across the pages. It was refused
            # as "cannot tell whether this is usage, commits or identities (found: no columns)".
            return [record for page in doc for record in page]
        return doc
    if isinstance(doc, dict):
        for key in _JSON_RECORD_KEYS:
            if isinstance(doc.get(key), list):
                return list(doc[key])
        lists = [v for v in doc.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
    return None


def ndjson_line(
    raw: bytes, line_no: int, unreadable: list[tuple[int, str]]
) -> dict[str, Any] | None:
    """One NDJSON line's object, or None with the reason it cannot be one in `unreadable`.
    Raises `RepeatedKey` for a line with an object that names a key twice."""
    try:
        # What `json.loads` does with bytes, with `STRICT_JSON` as the decoder.
        item = STRICT_JSON.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except UnicodeDecodeError:
        unreadable.append((line_no, Reason(RejectCode.NOT_UTF8, "not valid UTF-8")))
        return None
    except json.JSONDecodeError as exc:
        unreadable.append((line_no, Reason(RejectCode.BAD_JSON, f"not valid JSON ({exc.msg})")))
        return None
    except RecursionError:
        unreadable.append((line_no, Reason(RejectCode.TOO_DEEP, "JSON nested too deeply to read")))
        return None
    return ndjson_object(item, line_no, unreadable)


def ndjson_object(
    item: Any, line_no: int, unreadable: list[tuple[int, str]]
) -> dict[str, Any] | None:
    """A decoded line's value if it is an object, else None with the reason in `unreadable`."""
    if isinstance(item, dict):
        return item
    unreadable.append(
        (
            line_no,
            Reason(
                RejectCode.NOT_AN_OBJECT, f"line is a JSON {type(item).__name__}, not an object"
            ),
        )
    )
    return None


def _read_ndjson(file: InputFile, path: Path, fmt: str) -> RawTable:
    records: list[tuple[int, dict[str, Any]]] = []
    unreadable: list[tuple[int, str]] = []
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            try:
                item = ndjson_line(raw, line_no, unreadable) if raw.strip() else None
            except RepeatedKey as exc:
                raise repeated_key_error(file, exc.key, line_no) from None
            if item is not None:
                records.append((line_no, item))
    converted = exports.convert(records, None)
    if converted is not None:
        return _from_export(converted, fmt, "line", unreadable, file.name)
    df, lossy, structured = _records_frame(records, file, "line")
    return _finish(df, fmt, "line", unreadable, lossy, structured)


def _read_parquet(file: InputFile, path: Path, fmt: str) -> RawTable:
    try:
        lf = pl.scan_parquet(path, row_index_name="_line", row_index_offset=1)
        names = [n for n in lf.collect_schema().names() if n != "_line"]
        rows = int(pl.scan_parquet(path).select(pl.len()).collect().item())
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(file.name, f"unreadable Parquet ({str(exc).splitlines()[0]})") from exc
    normalised = _check_duplicate_columns(file, names)
    lf = lf.rename(dict(zip(names, normalised, strict=True))).with_columns(
        pl.col("_line").cast(pl.Int64)
    )
    types = lf.collect_schema()
    binary = frozenset(n for n in normalised if types[n] == pl.Binary)
    if binary:
        lf = lf.with_columns(_binary_text(n) for n in sorted(binary))
    return RawTable(lf, tuple(normalised), fmt, "record", rows=rows, lossy=binary)


#: A byte string that is UTF-8 (RFC 3629's well-formed sequences), as hex: Polars has no
#: lenient decoding of `Binary`, and its cast fails the whole file on one bad value.
_C: Final = "[89ab][0-9a-f]"
_UTF8_HEX: Final = (
    f"^(?:[0-7][0-9a-f]|c[2-9a-f]{_C}|d[0-9a-f]{_C}|e0[ab][0-9a-f]{_C}|e[1-9a-cef]{_C}{_C}"
    f"|ed[89][0-9a-f]{_C}|f0[9ab][0-9a-f]{_C}{_C}|f[1-3]{_C}{_C}{_C}|f48[0-9a-f]{_C}{_C})*$"
)


def _binary_text(name: str) -> pl.Expr:
    """A Parquet `Binary` column as text. Writers without the UTF8 annotation (Impala, Hive,
    old Spark: hence Spark's `binaryAsString`, DuckDB's `binary_as_string`) store text as bare
    bytes, so a value that is UTF-8 is read as the text it is; any other value becomes U+FFFD,
    which `canonical` rejects ("invalid UTF-8") as it rejects such a CSV value: its bytes never
    reach a report. (0.13 s a million e-mail addresses; only for the columns that are read.)"""
    col = pl.col(name)
    utf8 = col.bin.encode("hex").str.contains(_UTF8_HEX)
    return (
        pl.when(utf8.fill_null(True))
        .then(col)
        .otherwise(pl.lit("\ufffd".encode()))
        .cast(pl.String)
        .alias(name)
    )


def read_text_stream(stream: io.BufferedReader, workdir: Path) -> Path:
    """Spool a non-seekable stream (stdin) to a file so it can be sniffed and scanned twice."""
    fd, name = tempfile.mkstemp(dir=workdir, suffix=".stdin")
    with open(fd, "wb") as dst:
        shutil.copyfileobj(stream, dst, 1 << 20)
    return Path(name)
