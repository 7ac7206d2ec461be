"""The careful CSV reading names the physical line of a reject, as the fast reading does, also
when the stdlib reader splits the file into other records than Polars does and Polars' records
are kept: a quoted cell spanning lines (in a row or in the header) moves every later line, so
`record index + 2` is not the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_hostile_inputs import load, rejected

# A cell with a lone CR (a record break to the stdlib reader, not to Polars) and an empty last
# cell (which sends the file to the careful reading, to tell a short row from an empty cell).
ROWS = (
    '2026-03-02T10:00:00Z,a@x,5,"multi\nline\nmodel"\n'
    "2026-03-02T10:00:00Z,a@x,5,m\r x\n"
    "2026-03-02T10:00:00Z,a@x,-7,m\n"
    "2026-03-03T10:00:00Z,a@x,5,\n"
)


def _negative_line(path: Path, tmp_path: Path) -> list[int]:
    frame, _ = load(path, tmp_path)
    return [line for line, why in rejected(frame).items() if "negative count" in why]


@pytest.mark.parametrize(
    ("header", "line"),
    [
        pytest.param("timestamp,account,input_tokens,model", 6, id="cell spanning lines in a row"),
        pytest.param('timestamp,account,input_tokens,"mo\ndel"', 7, id="and in the header"),
    ],
)
def test_a_reject_after_a_cell_spanning_lines_names_its_physical_line_in_the_careful_reading(
    header: str, line: int, tmp_path: Path
) -> None:
    path = tmp_path / "usage.csv"
    path.write_bytes(f"{header}\n{ROWS}".encode())
    assert path.read_bytes().split(b"\n")[line - 1].startswith(b"2026-03-02T10:00:00Z,a@x,-7")
    assert _negative_line(path, tmp_path) == [line]
