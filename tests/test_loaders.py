"""Loaders: every format and compression reads to the same canonical rows; bad rows are
rejected with their line, never dropped silently."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from tokenaudit.errors import DataError, InputMissingError
from tokenaudit.loaders import InputFile, expand_paths, load_input
from tokenaudit.loaders.canonical import detect_kind
from tokenaudit.schema import Kind

from .conftest import DATA


def load(
    path: Path, tmp_path: Path, kind: Kind | None = None, assume_tz: str | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good rows, rejected rows) of one file."""
    loaded = load_input(InputFile(path, path.name, kind), tmp_path, assume_tz=assume_tz)
    assert loaded is not None
    frame = loaded.frame.collect()
    return frame.filter(pl.col("_reject").is_null()), frame.filter(pl.col("_reject").is_not_null())


def usage_rows(n: int = 3) -> list[dict[str, object]]:
    return [
        {
            "timestamp": f"2026-03-02T09:0{i}:00Z",
            "account": "dana@acme.example",
            "input_tokens": 10 + i,
            "output_tokens": 5,
        }
        for i in range(n)
    ]


def test_timestamps_with_z_offsets_and_dates_become_utc(tmp_path: Path) -> None:
    good, bad = load(DATA / "usage_basic.csv", tmp_path)
    assert good["timestamp"].to_list() == [
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 7, 5, tzinfo=UTC),  # +02:00 offset
        datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 3, 0, 0, tzinfo=UTC),  # a date alone = that day
    ]
    assert good["cache_read_tokens"].to_list() == [1000, 2000, 0, 0]
    assert good["requests"].to_list() == [1] * 4
    # A wall-clock time without a zone is not guessed at: it is rejected, and says how to fix it.
    assert bad["_line"].to_list() == [4]
    assert bad["_reject"][0] == (
        "column 'timestamp': timestamp has no time zone (give --assume-tz ZONE) '2026-03-02 10:00:00'"
    )


def test_assume_tz_names_the_zone_of_naive_timestamps(tmp_path: Path) -> None:
    good, bad = load(DATA / "usage_basic.csv", tmp_path, assume_tz="Europe/Berlin")
    assert bad.is_empty()
    assert good.filter(pl.col("_line") == 4)["timestamp"][0] == datetime(
        2026, 3, 2, 9, 0, tzinfo=UTC
    )


def test_a_column_mixing_spellings_reads_each_row_and_counts_only_zone_less_ones(
    tmp_path: Path,
) -> None:
    # Most rows are zone-less (the column's common spelling); the rest must still be read by
    # the other parsers, and only rows read without a zone count as zone-less.
    path = tmp_path / "mixed.csv"
    path.write_text(
        "timestamp,account,input_tokens\n"
        "2026-01-05 10:00:00,a,5\n"
        "2026-01-05 11:00:00,a,5\n"
        "2026-01-05T12:00:00Z,a,5\n"
        " 2026-01-05 13:00:00 ,a,5\n"
        "2026-01-06,a,5\n"
        "1767614400,a,5\n"
        "13/01/2026,a,5\n"
    )
    good, bad = load(path, tmp_path, assume_tz="Europe/Paris")
    assert good["timestamp"].to_list() == [
        datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
        datetime(2026, 1, 5, 10, 0, tzinfo=UTC),
        datetime(2026, 1, 5, 12, 0, tzinfo=UTC),
        datetime(2026, 1, 5, 12, 0, tzinfo=UTC),
        datetime(2026, 1, 6, 0, 0, tzinfo=UTC),
        datetime(2026, 1, 5, 12, 0, tzinfo=UTC),
    ]
    assert good["_zone_less"].to_list() == [True, True, False, True, False, False]
    assert bad["_reject"].to_list() == [
        "column 'timestamp': ambiguous date, day and month order unknown '13/01/2026'"
    ]


def test_ambiguous_dates_and_huge_numbers_are_rejected_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text(
        "timestamp,account,input_tokens\n"
        "01/04/2026 10:00,a,5\n"
        "2026-03-02T09:00:00Z,a,99999999999999999999\n"
        "2026-03-02T09:00:00Z,a,5\n"
    )
    good, bad = load(path, tmp_path)
    reasons = dict(zip(bad["_line"].to_list(), bad["_reject"].to_list(), strict=True))
    assert reasons[2].startswith("column 'timestamp': ambiguous date")
    assert reasons[3].startswith("column 'input_tokens': number too large")
    assert good.height == 1


def test_invalid_utf8_is_rejected_not_mangled(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(
        b"timestamp,account,input_tokens\n2026-03-02T09:00:00Z,d\xffna,5\n2026-03-02T09:00:00Z,dana,5\n"
    )
    good, bad = load(path, tmp_path)
    assert bad["_reject"].to_list() == ["column 'account': invalid UTF-8"]
    assert good["account"].to_list() == ["dana"]


@pytest.mark.parametrize("compressed", [False, True])
def test_a_real_replacement_character_in_a_utf8_csv_is_text_not_a_rejected_row(
    tmp_path: Path, compressed: bool
) -> None:
    # An upstream tool that met a bad byte wrote U+FFFD itself (valid UTF-8: EF BF BD). In a
    # file that is UTF-8 throughout, nothing was lost on reading: the row is the person's.
    body = (
        "timestamp,account,input_tokens\n"
        "2026-03-02T09:00:00Z,caf\ufffd,5\n"
        "2026-03-02T09:00:00Z,dana,5\n"
        "2026-03-02T09:00:00Z,zo\u00eb,5\n"
    ).encode()
    path = tmp_path / ("u.csv.gz" if compressed else "u.csv")
    path.write_bytes(gzip.compress(body) if compressed else body)
    good, bad = load(path, tmp_path)
    assert bad.is_empty()
    assert sorted(good["account"].to_list()) == ["caf\ufffd", "dana", "zo\u00eb"]


@pytest.mark.parametrize("compressed", [False, True])
def test_a_file_with_one_bad_byte_has_every_replacement_character_rejected(
    tmp_path: Path, compressed: bool
) -> None:
    # Once a byte is not UTF-8, a U+FFFD read from the file may stand for it: each such row is
    # rejected, the rest are read.
    body = (
        b"timestamp,account,input_tokens\n"
        b"2026-03-02T09:00:00Z,d\xffna,5\n"
        + "2026-03-02T09:00:00Z,caf\ufffd,5\n".encode()
        + b"2026-03-02T09:00:00Z,dana,5\n"
    )
    path = tmp_path / ("u.csv.gz" if compressed else "u.csv")
    path.write_bytes(gzip.compress(body) if compressed else body)
    good, bad = load(path, tmp_path)
    assert bad["_reject"].to_list() == ["column 'account': invalid UTF-8"] * 2
    assert good["account"].to_list() == ["dana"]


def test_a_utf8_character_split_across_read_chunks_is_still_utf8(tmp_path: Path) -> None:
    from tokenaudit.loaders.readers import _Utf8Check

    text = ("zo\u00eb \u4e2d\u6587 \U0001f600 " * 50).encode()
    for cut in range(1, 12):
        check = _Utf8Check()
        for start in range(0, len(text), cut):
            check.feed(text[start : start + cut])
        assert check.close(), cut
    truncated = _Utf8Check()
    truncated.feed("\u4e2d".encode()[:2])
    assert not truncated.close()


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "ndjson", "parquet", "csv.gz", "json.gz"])
def test_every_format_reads_the_same_rows(tmp_path: Path, fmt: str) -> None:
    frame = pl.DataFrame(usage_rows())
    path = tmp_path / f"usage.{fmt}"
    if fmt == "csv":
        frame.write_csv(path)
    elif fmt == "tsv":
        frame.write_csv(path, separator="\t")
    elif fmt == "json":
        path.write_text(json.dumps(frame.to_dicts()))
    elif fmt == "ndjson":
        frame.write_ndjson(path)
    elif fmt == "parquet":
        frame.write_parquet(path)
    elif fmt == "csv.gz":
        path.write_bytes(gzip.compress(frame.write_csv().encode()))
    else:
        path.write_bytes(gzip.compress(json.dumps({"data": frame.to_dicts()}).encode()))
    good, bad = load(path, tmp_path)
    assert bad.is_empty()
    assert good["input_tokens"].to_list() == [10, 11, 12]
    assert good["timestamp"].dt.minute().to_list() == [0, 1, 2]


def test_kind_is_detected_from_columns_not_file_names(tmp_path: Path) -> None:
    renamed = tmp_path / "export.txt"
    shutil.copy(DATA / "commits_basic.csv", renamed)
    loaded = load_input(InputFile(renamed, renamed.name), tmp_path)
    assert loaded is not None and loaded.kind is Kind.COMMITS
    assert detect_kind(("alias", "account", "team")) is Kind.IDENTITIES
    assert detect_kind(("timestamp", "account", "output_tokens")) is Kind.USAGE
    assert detect_kind(("archetype", "is_maxxer")) is None


def test_bad_values_are_rejected_with_line_and_column(tmp_path: Path) -> None:
    good, bad = load(DATA / "usage_bad_rows.csv", tmp_path)
    assert good.height + bad.height == 10  # every data row is accounted for
    reasons = dict(zip(bad["_line"].to_list(), bad["_reject"].to_list(), strict=True))
    assert reasons[3] == "column 'timestamp': not a timestamp 'not-a-time'"
    assert reasons[4] == "column 'input_tokens': not a whole number '12abc'"
    assert reasons[5] == "column 'account': missing required value"
    assert reasons[6] == "column 'input_tokens': negative count"


def test_ndjson_line_that_is_not_json_is_reported_by_line(tmp_path: Path) -> None:
    loaded = load_input(InputFile(DATA / "usage_lines.ndjson", "usage_lines.ndjson"), tmp_path)
    assert loaded is not None
    assert loaded.unreadable == ((3, "not valid JSON (Expecting value)"),)
    assert loaded.frame.collect()["_line"].to_list() == [1, 2, 4]


def test_missing_required_column_names_the_column(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing required column 'account'"):
        load(DATA / "usage_no_account.csv", tmp_path)


def test_empty_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file is empty"):
        load(DATA / "empty.csv", tmp_path)


def test_file_of_unknown_kind_in_a_directory_is_skipped_but_named_file_is_an_error(
    tmp_path: Path,
) -> None:
    other = tmp_path / "notes.csv"
    other.write_text("a,b\n1,2\n")
    assert load_input(InputFile(other, "notes.csv", in_directory=True), tmp_path) is None
    with pytest.raises(DataError, match="cannot tell"):
        load_input(InputFile(other, "notes.csv"), tmp_path)


def test_directories_expand_sorted_and_skip_hidden_files(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("x")
    (tmp_path / "a.csv").write_text("x")
    (tmp_path / ".hidden.csv").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.csv").write_text("x")
    names = [f.path.name for f in expand_paths([tmp_path])]
    assert names == ["a.csv", "b.csv", "c.csv"]


def test_missing_path_is_an_input_error() -> None:
    with pytest.raises(InputMissingError, match="no such file"):
        expand_paths(["/nonexistent/usage.csv"])


def test_forced_kind_overrides_detection(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing required column 'merged_at'"):
        load(DATA / "usage_basic.csv", tmp_path, Kind.COMMITS)


_SPELLINGS = [
    "2026-01-07T08:37:05.424Z",
    "2026-01-07T08:37:05Z",
    "2026-01-07T08:37:05.424123Z",
    "2026-01-07T08:37:05.424123+00:00",
    "2026-01-07T08:37:05+00:00",
    "2026-01-07 08:37:05.424Z",
    "2026-01-07 08:37:05+00:00",
    "2024-02-29T23:59:59.999Z",
    "2025-02-29T10:00:00Z",
    "2026-12-31T23:59:60Z",
    "2026-12-31T24:00:00Z",
    "2026-01-07T08:37:05.42Z",
    "2026-01-07T08:37:05.424+00:00",
    "2026-01-07T08:37:05.424123+01:00",
]


def test_fixed_width_utc_formats_read_only_what_the_general_format_reads_and_the_same_instant() -> (
    None
):
    import random

    from tokenaudit.loaders.canonical import (
        _TS_FORMATS_FIXED_UTC,
        _TS_FORMATS_WITH_ZONE,
        _fixed_utc,
    )

    rng = random.Random(7)
    alphabet = "0123456789-:.TZ +zt,\u0660x"
    corpus = set(_SPELLINGS)
    for _ in range(30_000):
        chars = list(rng.choice(_SPELLINGS))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(chars))
            roll = rng.random()
            if roll < 0.4:
                chars[at] = rng.choice(alphabet)
            elif roll < 0.7:
                chars.insert(at, rng.choice(alphabet))
            else:
                del chars[at]
        corpus.add("".join(chars))
    frame = pl.DataFrame({"v": sorted(corpus)})
    general = frame.select(
        pl.coalesce(
            pl.col("v").str.to_datetime(f, time_zone="UTC", time_unit="us", strict=False)
            for f in _TS_FORMATS_WITH_ZONE
        )
    ).to_series()
    for fmt in _TS_FORMATS_FIXED_UTC:
        fixed = frame.select(_fixed_utc(pl.col("v"), fmt)).to_series()
        read = fixed.is_not_null()
        assert read.any(), fmt
        assert (general.filter(read) == fixed.filter(read)).all(), fmt


def test_a_file_whose_spelling_changes_after_its_first_rows_reads_every_row(
    tmp_path: Path,
) -> None:
    # The first rows choose a fast reader for the usual spelling; the rows it cannot read are
    # read by the general one, each to its own instant.
    lines = ["timestamp,account,input_tokens"]
    lines += [f"2026-03-02T09:{i // 60:02d}:{i % 60:02d}.250Z,ana,5" for i in range(300)]
    lines += [
        "2026-03-02T11:00:00+02:00,ana,5",
        " 2026-03-02T09:30:00.5Z ,ana,5",
        "2026-03-02T09:31:00Z,ana,5",
        "2026-03-02 09:32:00.123456+00:00,ana,5",
        "1772444000,ana,5",
    ]
    path = tmp_path / "u.csv"
    path.write_text("\n".join(lines) + "\n")
    good, bad = load(path, tmp_path)
    assert bad.is_empty()
    assert good.height == 305
    utc = UTC
    assert good["timestamp"].to_list()[-5:] == [
        datetime(2026, 3, 2, 9, 0, tzinfo=utc),
        datetime(2026, 3, 2, 9, 30, 0, 500_000, tzinfo=utc),
        datetime(2026, 3, 2, 9, 31, tzinfo=utc),
        datetime(2026, 3, 2, 9, 32, 0, 123_456, tzinfo=utc),
        datetime.fromtimestamp(1772444000, tz=utc),
    ]
    assert good["timestamp"][1] == datetime(2026, 3, 2, 9, 0, 1, 250_000, tzinfo=utc)
