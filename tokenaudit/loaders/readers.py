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
import lzma
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from tokenaudit.errors import DataError, InputMissingError, RefusedExport
from tokenaudit.loaders import exports
from tokenaudit.loaders.sources import InputFile
from tokenaudit.schema import Kind

_SNIFF_BYTES = 64 * 1024
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
    #: How many rows `frame` holds (known before it is collected: sizes the usage buckets).
    rows: int = 0


def normalise_column(name: str) -> str:
    return name.replace("\ufeff", "").strip().lower().replace(" ", "_").replace("-", "_")


def _open_failure(file: InputFile, exc: OSError) -> InputMissingError:
    return InputMissingError(file.name, exc.strerror or type(exc).__name__.lower())


def decompressed(file: InputFile, workdir: Path) -> tuple[Path, str]:
    """Return a path to plain content (decompressing gzip/bz2/xz/zstd into `workdir`) and the
    compression name ("" when none)."""
    try:
        with file.path.open("rb") as fh:
            head = fh.read(6)
    except OSError as exc:
        raise _open_failure(file, exc) from exc
    opener: Any = None
    kind = ""
    if head.startswith(b"\x1f\x8b"):
        opener, kind = gzip.open, "gzip"
    elif head.startswith(b"BZh"):
        opener, kind = bz2.open, "bz2"
    elif head.startswith(b"\xfd7zXZ\x00"):
        opener, kind = lzma.open, "xz"
    elif head.startswith(b"\x28\xb5\x2f\xfd"):
        raise DataError(file.name, "zstd-compressed input is not supported; decompress it first")
    if opener is None:
        return file.path, ""
    fd, tmp_name = tempfile.mkstemp(dir=workdir, suffix=".raw")
    try:
        with opener(file.path, "rb") as src, open(fd, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise DataError(file.name, f"{kind} stream is corrupt or truncated ({exc})") from exc
    return Path(tmp_name), kind


def sniff_format(path: Path) -> str:
    """'parquet', 'json', 'ndjson', 'tsv', 'csv' or 'empty', from the first bytes."""
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
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
        except json.JSONDecodeError:
            return "json"
        return "ndjson" if rest.strip() or len(head) == _SNIFF_BYTES else "json"
    header = text.split("\n", 1)[0]
    return "tsv" if header.count("\t") > header.count(",") else "csv"


def read_raw(file: InputFile, workdir: Path) -> RawTable:
    """Read one input file into a `RawTable`, whatever its format."""
    plain, compression = decompressed(file, workdir)
    try:
        fmt = sniff_format(plain)
    except OSError as exc:
        raise _open_failure(file, exc) from exc
    label = f"{fmt}+{compression}" if compression else fmt
    if fmt in ("csv", "tsv"):
        table = _read_delimited(file, plain, label, "\t" if fmt == "tsv" else ",")
        return _export_from_table(table) or table
    if fmt == "empty":
        raise DataError(file.name, "file is empty")
    if fmt == "parquet":
        return _read_parquet(file, plain, label)
    if fmt == "json":
        return _read_json(file, plain, label)
    if fmt == "ndjson":
        return _read_ndjson(file, plain, label)
    return _read_delimited(file, plain, label, "\t" if fmt == "tsv" else ",")


def _export_from_table(table: RawTable) -> RawTable | None:
    """Vendor CSV exports (LiteLLM spend logs) are recognised from their header."""
    if not {"starttime", "prompt_tokens"} <= set(table.columns):
        return None
    df = table.frame.collect()
    records = [(row.pop("_line"), row) for row in df.to_dicts()]
    converted = exports.convert(records, None)
    if converted is None:
        return None
    return _from_export(converted, table.fmt, "line", list(table.unreadable))


def _finish(df: pl.DataFrame, fmt: str, unit: str, unreadable: list[tuple[int, str]]) -> RawTable:
    columns = tuple(c for c in df.columns if c != "_line")
    return RawTable(df.lazy(), columns, fmt, unit, tuple(unreadable), rows=df.height)


def _from_export(
    converted: exports.Converted,
    fmt: str,
    unit: str,
    unreadable: list[tuple[int, str]],
    name: str = "",
) -> RawTable:
    if converted.refuse:
        raise RefusedExport(name, converted.refuse)
    df = exports.rows_frame(converted)
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
        rows=df.height,
    )


def _check_duplicate_columns(file: InputFile, names: list[str]) -> list[str]:
    normalised = [normalise_column(n) for n in names]
    seen: set[str] = set()
    for n in normalised:
        if n in seen:
            raise DataError(file.name, f"column '{n}' appears twice in the header", line=1)
        seen.add(n)
    return normalised


def _read_delimited(file: InputFile, path: Path, fmt: str, sep: str) -> RawTable:
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        header_row = next(csv.reader(fh, delimiter=sep), [])
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
    try:
        # One cheap pass (the last column only) decides whether the file can stay lazy: Polars
        # pads a short row with nulls, indistinguishable from empty cells, so a file whose last
        # column has nulls goes through the stdlib reader, which can tell them apart.
        rows, short_suspects = (
            pl.scan_csv(path, **options)
            .select(pl.len(), pl.col(names[-1]).null_count())
            .collect()
            .row(0)
        )
        if short_suspects:
            df = pl.read_csv(path, **options)
            df = df.with_columns((pl.col("_row") + 2).cast(pl.Int64).alias("_line"))
            df, unreadable = _drop_short_and_blank_rows(df, path, sep, len(names))
            return _finish(df.drop("_row"), fmt, "line", unreadable)
    except pl.exceptions.PolarsError:
        # Ragged or badly quoted rows: fall back to the stdlib reader, which can say which line.
        return _read_delimited_slowly(path, fmt, sep, names)
    lazy = pl.scan_csv(path, **options).select(
        pl.exclude("_row"), (pl.col("_row") + 2).cast(pl.Int64).alias("_line")
    )
    return RawTable(lazy, tuple(names), fmt, "line", rows=rows)


def _drop_short_and_blank_rows(
    df: pl.DataFrame, path: Path, sep: str, width: int
) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    """Blank lines are not rows; rows with too few fields are unreadable, by their real line."""
    blank: list[int] = []
    short: dict[int, tuple[int, int]] = {}
    lines: list[int] = []
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        next(reader, None)
        start = reader.line_num + 1
        for index, record in enumerate(reader):
            lines.append(start)
            if not record:
                blank.append(index)
            elif len(record) != width:
                short[index] = (start, len(record))
            start = reader.line_num + 1
    if len(lines) != df.height:  # the two readers disagree on the records: keep Polars' view
        return df, []
    drop = set(blank) | set(short)
    kept = df.with_columns(pl.Series("_line", lines, dtype=pl.Int64)).filter(
        ~pl.col("_row").is_in(list(drop))
    )
    unreadable = [(line, f"expected {width} fields, got {n}") for line, n in short.values()]
    return kept, unreadable


def _read_delimited_slowly(path: Path, fmt: str, sep: str, names: list[str]) -> RawTable:
    rows: list[list[str | None]] = []
    lines: list[int] = []
    unreadable: list[tuple[int, str]] = []
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        next(reader, None)
        start = reader.line_num + 1
        for record in reader:
            line = start
            start = reader.line_num + 1
            if not record:
                continue
            if len(record) != len(names):
                unreadable.append((line, f"expected {len(names)} fields, got {len(record)}"))
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
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _records_frame(records: list[tuple[int, dict[str, Any]]]) -> pl.DataFrame:
    names: dict[str, None] = {}
    for _, rec in records:
        for key in rec:
            names.setdefault(normalise_column(str(key)), None)
    data: dict[str, list[Any]] = {n: [] for n in names}
    for _, rec in records:
        norm = {normalise_column(str(k)): v for k, v in rec.items()}
        for n in names:
            data[n].append(_scalar_text(norm.get(n)))
    data["_line"] = [line for line, _ in records]
    schema: dict[str, Any] = {n: pl.String for n in names} | {"_line": pl.Int64}
    return pl.DataFrame(data, schema=schema)


def _read_json(file: InputFile, path: Path, fmt: str) -> RawTable:
    try:
        with path.open("r", encoding="utf-8") as fh:
            doc = json.load(fh)
    except UnicodeDecodeError as exc:
        raise DataError(file.name, f"not valid UTF-8 at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise DataError(
            file.name, f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno
        ) from exc
    items = _json_records(doc)
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
            unreadable.append((i, f"record is a JSON {type(item).__name__}, not an object"))
    converted = exports.convert(records, doc)
    if converted is not None:
        return _from_export(converted, fmt, "record", unreadable, file.name)
    return _finish(_records_frame(records), fmt, "record", unreadable)


def _json_records(doc: Any) -> list[Any] | None:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in _JSON_RECORD_KEYS:
            if isinstance(doc.get(key), list):
                return list(doc[key])
        lists = [v for v in doc.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
    return None


def _read_ndjson(file: InputFile, path: Path, fmt: str) -> RawTable:
    records: list[tuple[int, dict[str, Any]]] = []
    unreadable: list[tuple[int, str]] = []
    with path.open("rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except UnicodeDecodeError:
                unreadable.append((line_no, "not valid UTF-8"))
                continue
            except json.JSONDecodeError as exc:
                unreadable.append((line_no, f"not valid JSON ({exc.msg})"))
                continue
            if isinstance(item, dict):
                records.append((line_no, item))
            else:
                unreadable.append((line_no, f"line is a JSON {type(item).__name__}, not an object"))
    converted = exports.convert(records, None)
    if converted is not None:
        return _from_export(converted, fmt, "line", unreadable, file.name)
    return _finish(_records_frame(records), fmt, "line", unreadable)


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
    return RawTable(lf, tuple(normalised), fmt, "record", rows=rows)


def read_text_stream(stream: io.BufferedReader, workdir: Path) -> Path:
    """Spool a non-seekable stream (stdin) to a file so it can be sniffed and scanned twice."""
    fd, name = tempfile.mkstemp(dir=workdir, suffix=".stdin")
    with open(fd, "wb") as dst:
        shutil.copyfileobj(stream, dst, 1 << 20)
    return Path(name)
