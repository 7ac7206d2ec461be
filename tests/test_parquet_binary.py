"""A Parquet column of `Binary` values read as text (account, model, request id...): writers
without the UTF8 annotation (Impala, Hive, old Spark) store text so, and Polars reads it as
`Binary`. Values that are UTF-8 are read as the text they are; a value that is not is a rejected
row ("invalid UTF-8", as in a CSV file) whose bytes never reach a report, not the end of the run
(it was exit 70, "invalid utf8")."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .test_hostile_inputs import load, rejected, run

COMMITS = "merged_at,author,lines_added\n2026-03-03T10:00:00Z,a@x,4\n"
HOSTILE = b"\xff\xfe[bold]x\x1b[31m"


def _usage(path: Path, accounts: list[bytes], tokens: list[bytes] | None = None) -> Path:
    n = len(accounts)
    pl.DataFrame(
        {
            "timestamp": ["2026-03-02T10:00:00Z"] * n,
            "account": pl.Series(accounts, dtype=pl.Binary),
            "input_tokens": pl.Series(tokens or [b"5"] * n, dtype=pl.Binary),
        }
    ).write_parquet(path)
    return path


def test_binary_columns_of_utf8_are_read_as_the_text_and_numbers_they_hold(tmp_path: Path) -> None:
    path = _usage(tmp_path / "usage.parquet", [b"a@x", "zo\u00eb@x".encode(), b"a@x"])
    frame, unreadable = load(path, tmp_path)
    assert (unreadable, rejected(frame)) == ([], {})
    assert frame.sort("_line")["account"].to_list() == ["a@x", "zo\u00eb@x", "a@x"]
    assert frame["input_tokens"].to_list() == [5, 5, 5]


def test_a_binary_account_that_is_not_utf8_is_a_rejected_row_naming_line_and_column(
    tmp_path: Path,
) -> None:
    path = _usage(tmp_path / "usage.parquet", [b"a@x", HOSTILE, b"a@x"], [b"5", b"6", b"\xff"])
    frame, _ = load(path, tmp_path)
    assert rejected(frame) == {
        2: "column 'account': invalid UTF-8",
        3: "column 'input_tokens': not a whole number '\ufffd'",
    }


def test_bytes_that_are_not_utf8_never_reach_the_report(tmp_path: Path) -> None:
    path = _usage(tmp_path / "usage.parquet", [b"a@x", HOSTILE])
    (tmp_path / "commits.csv").write_text(COMMITS)
    rejects = tmp_path / "rejects.csv"
    code, out, err = run(
        "scan",
        str(path),
        "--commits",
        str(tmp_path / "commits.csv"),
        "-f",
        "json",
        "--exit-zero",
        "--rejects",
        str(rejects),
    )
    assert code == 0, err
    assert "[bold]" not in out and "\x1b" not in out and '"a@x"' in out
    assert rejects.read_text().splitlines()[1:] == [f"{path},2,account,not_utf8,invalid UTF-8"]
