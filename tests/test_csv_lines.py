"""Reject lines are the physical lines of the file, whichever way a CSV file is read: a quoted
cell that spans lines moves every later record down, and the report must follow."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tokenaudit.loaders import InputFile, load_input

from .test_hostile_inputs import run

HEADER = "timestamp,account,input_tokens,model\n"
GOOD = "2026-03-0{d}T10:00:00Z,a@x,5,m\n"
#: Lines 2-4 hold one record; line 6 holds a negative count, and line 7 another one, in a
#: record whose model spans lines 7-8.
MULTILINE = (
    HEADER
    + '2026-03-02T10:00:00Z,a@x,5,"multi\nline\nmodel"\n'
    + GOOD.format(d=3)
    + "2026-03-04T10:00:00Z,a@x,-7,m\n"
    + '2026-03-05T10:00:00Z,a@x,-8,"two\nlines"\n'
    + GOOD.format(d=6)
)


def _rejected_lines(path: Path, tmp_path: Path, *, careful: bool) -> dict[int, str]:
    loaded = load_input(InputFile(path, path.name), tmp_path, careful=careful)
    assert loaded is not None
    frame = loaded.frame.collect()
    bad = frame.filter(pl.col("_reject").is_not_null())
    return dict(zip(bad["_line"].to_list(), bad["_reject"].to_list(), strict=True))


@pytest.mark.parametrize("careful", [True, False], ids=["checked", "unchecked"])
def test_rejects_after_a_multiline_cell_name_their_physical_line(
    tmp_path: Path, careful: bool
) -> None:
    path = tmp_path / "usage.csv"
    path.write_text(MULTILINE)
    assert _rejected_lines(path, tmp_path, careful=careful) == {
        6: "column 'input_tokens': negative count",
        7: "column 'input_tokens': negative count",
    }


@pytest.mark.parametrize("careful", [True, False], ids=["checked", "unchecked"])
def test_every_record_after_a_multiline_cell_has_the_line_it_starts_on(
    tmp_path: Path, careful: bool
) -> None:
    path = tmp_path / "usage.csv"
    path.write_text(MULTILINE)
    loaded = load_input(InputFile(path, path.name), tmp_path, careful=careful)
    assert loaded is not None
    assert loaded.frame.collect()["_line"].sort().to_list() == [2, 5, 6, 7, 9]


def test_a_header_cell_that_spans_lines_moves_every_record(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    path.write_text('timestamp,account,input_tokens,"model\nname"\n' + GOOD.format(d=2) * 2)
    loaded = load_input(InputFile(path, path.name), tmp_path, careful=True)
    assert loaded is not None
    assert loaded.frame.collect()["_line"].to_list() == [3, 4]


def test_the_rejects_file_and_stderr_give_the_physical_line(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    path.write_text(MULTILINE)
    commits = tmp_path / "commits.csv"
    commits.write_text("merged_at,author,lines_added\n2026-03-03T10:00:00Z,a@x,4\n")
    rejects = tmp_path / "rejects.csv"
    code, _, err = run(
        "scan", str(path), "--commits", str(commits), "-f", "csv",
        "--rejects", str(rejects), "--exit-zero",
    )  # fmt: skip
    assert code == 0, err
    assert [r.split(",")[1] for r in rejects.read_text().splitlines()[1:]] == ["6", "7"]
    assert f"first at {path}:6: column 'input_tokens': negative count" in err
