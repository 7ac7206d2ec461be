"""The loaders' shortcuts read what the general path reads: counts held as integers (Parquet
`Int64`, CSV text of digits) skip the Float64 route but keep its values, its rounding and its
reject reasons, and text is trimmed once, a blank value still being a missing one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tokenaudit.loaders import InputFile
from tokenaudit.loaders.canonical import load_input
from tokenaudit.schema import Kind

_OVER: str = " (over 1e15 tokens in one row)"

#: Text of a count → the value read, or the reject reason of its row.
TEXT_COUNTS: dict[str, int | str] = {
    "5": 5,
    "+5": 5,
    "05": 5,
    "-0": 0,
    " 7 ": 7,
    "5.0": 5,
    "1e3": 1000,
    "9007199254740992": "implausible count 9007199254740992" + _OVER,
    # Past 2^53 the value is the one Float64 holds, as it always was.
    "9007199254740993": "implausible count 9007199254740992" + _OVER,
    "4611686018427387903": "number too large '4611686018427387903'",
    "9223372036854775807": "number too large '9223372036854775807'",
    "-9223372036854775808": "number too large '-9223372036854775808'",
    "5.5": "not a whole number '5.5'",
    "0x10": "not a whole number '0x10'",
    "-5": "negative count",
}

#: An integer count in Parquet → the value read, or the reject reason of its row.
INT_COUNTS: dict[int, int | str] = {
    5: 5,
    0: 0,
    -5: "negative count",
    2**53 + 1: f"implausible count {2**53}{_OVER}",
    2**62: f"number too large '{2**62}'",
    -(2**63): f"number too large '{-(2**63)}'",
}


def _loaded(path: Path, *, careful: bool) -> pl.DataFrame:
    file = InputFile(path, path.name, forced_kind=Kind.USAGE)
    loaded = load_input(file, path.parent, careful=careful)
    assert loaded is not None
    return loaded.frame.collect()


def _outcome(row: dict[str, object]) -> object:
    reason = row["_reject"]
    if reason is None:
        return row["input_tokens"]
    return str(reason).split(": ", 1)[1]


@pytest.mark.parametrize("careful", [True, False])
def test_text_counts_read_as_through_float64(tmp_path: Path, careful: bool) -> None:
    lines = [f'2026-03-02T10:00:00Z,ana,"{text}"' for text in TEXT_COUNTS]
    path = tmp_path / "usage.csv"
    path.write_text("timestamp,account,input_tokens\n" + "\n".join(lines) + "\n")
    rows = _loaded(path, careful=careful).to_dicts()
    assert [_outcome(r) for r in rows] == list(TEXT_COUNTS.values())


def test_integer_counts_read_as_through_float64(tmp_path: Path) -> None:
    n = len(INT_COUNTS)
    path = tmp_path / "usage.parquet"
    pl.DataFrame(
        {
            "timestamp": ["2026-03-02T10:00:00Z"] * n,
            "account": ["ana"] * n,
            "input_tokens": pl.Series(list(INT_COUNTS), dtype=pl.Int64),
        }
    ).write_parquet(path)
    rows = _loaded(path, careful=True).to_dicts()
    assert [_outcome(r) for r in rows] == list(INT_COUNTS.values())


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_text_is_trimmed_and_a_blank_value_is_missing(tmp_path: Path, suffix: str) -> None:
    frame = pl.DataFrame(
        {
            "timestamp": ["2026-03-02T10:00:00Z"] * 3,
            "account": [" bob ", "\u00a0ana\t", "   "],
            "input_tokens": [1, 2, 3],
            "model": ["  ", " claude-x ", ""],
        }
    )
    path = tmp_path / f"usage.{suffix}"
    if suffix == "csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
    out = _loaded(path, careful=True)
    assert out["account"].to_list() == ["bob", "ana", None]
    assert out["model"].to_list() == [None, "claude-x", None]
    assert out["_reject"].to_list() == [None, None, "column 'account': missing required value"]
