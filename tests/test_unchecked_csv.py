"""`run_audit` reads CSV without checking the width of its rows first, and reads everything again
carefully when a row is of the wrong width: the report is the careful reading's either way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from tokenaudit import audit
from tokenaudit.audit import run_audit
from tokenaudit.config import AuditConfig
from tokenaudit.loaders import InputFile
from tokenaudit.model import AuditReport


@pytest.fixture(scope="module")
def tiny_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenaudit.synthetic.simulate import generate_org, write_org

    out = tmp_path_factory.mktemp("tiny")
    write_org(generate_org(accounts=12, days=21, seed=5, maxxer_share=0.1), out)
    return out


def _cells(line: str) -> list[str]:
    return line.split(",")


def _empty_last_cell(lines: list[str], at: int) -> None:
    lines[at] = ",".join([*_cells(lines[at])[:-1], ""])


#: How a usage file's lines (header first) are spoilt, and whether the unchecked reading fails.
SPOILT: dict[str, tuple[Callable[[list[str]], None], bool]] = {
    "clean": (lambda lines: None, False),
    "too many fields": (lambda lines: lines.__setitem__(3, lines[3] + ",x"), True),
    "a trailing separator": (lambda lines: lines.__setitem__(5, lines[5] + ","), True),
    "too few fields": (lambda lines: lines.__setitem__(4, ",".join(_cells(lines[4])[:-1])), True),
    "an empty last cell": (lambda lines: _empty_last_cell(lines, 6), True),
    "too many fields far down": (lambda lines: lines.__setitem__(-1, lines[-1] + ",x,y"), True),
    "an empty last cell far down": (lambda lines: _empty_last_cell(lines, -2), True),
}


def _same(a: AuditReport, b: AuditReport) -> None:
    for name in ("accounts", "checks", "days", "rejects"):
        assert getattr(a, name).equals(getattr(b, name), null_equal=True), name
    assert a.inputs == b.inputs


@pytest.mark.parametrize("case", SPOILT)
def test_an_unchecked_csv_gives_the_careful_report(
    tiny_org: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    spoil, fails = SPOILT[case]
    lines = (tiny_org / "usage.csv").read_text().splitlines()
    spoil(lines)
    (tmp_path / "usage.csv").write_text("\n".join(lines) + "\n")
    files = [
        InputFile(tmp_path / "usage.csv", "usage.csv"),
        InputFile(tiny_org / "commits.csv", "commits.csv"),
        InputFile(tiny_org / "identities.csv", "identities.csv"),
    ]
    attempts: list[bool] = []
    load = audit._load

    def spy(*args: object, careful: bool) -> object:
        attempts.append(careful)
        return load(*args, careful=careful)  # type: ignore[arg-type]

    monkeypatch.setattr(audit, "_load", spy)
    (tmp_path / "first").mkdir()
    first = run_audit(files, AuditConfig(), tmp_path / "first")
    assert attempts == ([False, True] if fails else [False])
    attempts.clear()
    monkeypatch.setattr(audit, "_read_inputs", _careful_only)
    (tmp_path / "careful").mkdir()
    careful = run_audit(files, AuditConfig(), tmp_path / "careful")
    assert attempts == [True]
    _same(first, careful)


def _careful_only(
    files: list[InputFile], cfg: AuditConfig, workdir: Path, digests: bool
) -> tuple[audit._Inputs, audit._Ingested]:
    inputs = audit._load(files, cfg, workdir, careful=True)
    return inputs, audit._ingest(inputs, cfg, workdir, digests)


def test_an_unchecked_reading_parses_every_column_whatever_is_selected(tmp_path: Path) -> None:
    # Polars notices a row of too many fields only when it parses every column.
    from tokenaudit.loaders.readers import read_raw

    path = tmp_path / "usage.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6,7\n")
    frame = read_raw(InputFile(path, "usage.csv"), tmp_path, careful=False).frame
    with pytest.raises(pl.exceptions.PolarsError):
        frame.select("a").collect()
    assert read_raw(InputFile(path, "usage.csv"), tmp_path).unreadable == (
        (3, "expected 3 fields, got 4"),
    )
