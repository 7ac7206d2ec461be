"""Golden files pin every output format (every renderer in `report.registry`) for `sample_logs/`
and for a file of hostile account names.

Regenerate after an intended change with `TOKENAUDIT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokenaudit.cli import app
from tokenaudit.report import registry

from .conftest import CLI_ENV, DATA

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden"
CASES = {"sample_logs": ROOT / "sample_logs", "hostile": DATA / "hostile"}


def golden_path(case: str, fmt: str) -> Path:
    """A format's golden file of a case: named by the format's first extension."""
    return GOLDEN / f"{case}{registry.get(fmt).extensions[0]}"


@pytest.mark.parametrize("fmt", sorted(registry.names()))
@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_golden_file(case: str, fmt: str) -> None:
    runner = CliRunner(env={**CLI_ENV, "COLUMNS": "120"})
    result = runner.invoke(
        app, ["scan", str(CASES[case].relative_to(ROOT)), "--format", fmt, "--all", "--exit-zero"]
    )
    assert result.exit_code == 0, result.stderr
    golden = golden_path(case, fmt)
    if os.environ.get("TOKENAUDIT_UPDATE_GOLDEN") == "1":
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


def test_every_registered_format_has_its_golden_files() -> None:
    """The loop above runs `registry.names()`: a format without golden files fails here first."""
    missing = [
        golden_path(case, fmt).name
        for fmt in registry.names()
        for case in CASES
        if not golden_path(case, fmt).exists()
    ]
    assert not missing, f"no golden file {missing}: make them with TOKENAUDIT_UPDATE_GOLDEN=1"


def test_hostile_names_never_reach_the_output_raw() -> None:
    for path in GOLDEN.glob("hostile.*"):
        text = path.read_text(encoding="utf-8")
        assert "\x1b" not in text and "\u202e" not in text and "\u200b" not in text, path.name
        if path.suffix in (".csv", ".tsv"):
            for line in text.splitlines()[1:]:
                cells = line.split("," if path.suffix == ".csv" else "\t")
                account = cells[1].strip('"')
                assert not account.startswith(("=", "+", "-", "@")), (path.name, account)
