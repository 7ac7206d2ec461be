"""Golden files pin every output format for `sample_logs/` and for a file of hostile account names.

Regenerate after an intended change with `TOKENAUDIT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokenaudit.cli import app

from .conftest import CLI_ENV, DATA

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden"
FORMATS = {
    "csv": "csv",
    "tsv": "tsv",
    "json": "json",
    "ndjson": "ndjson",
    "markdown": "md",
    "table": "txt",
}
CASES = {"sample_logs": ROOT / "sample_logs", "hostile": DATA / "hostile"}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_golden_file(case: str, fmt: str) -> None:
    runner = CliRunner(env={**CLI_ENV, "COLUMNS": "120"})
    result = runner.invoke(
        app, ["scan", str(CASES[case].relative_to(ROOT)), "--format", fmt, "--all", "--exit-zero"]
    )
    assert result.exit_code == 0, result.stderr
    golden = GOLDEN / f"{case}.{FORMATS[fmt]}"
    if os.environ.get("TOKENAUDIT_UPDATE_GOLDEN") == "1":
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


def test_hostile_names_never_reach_the_output_raw() -> None:
    for path in GOLDEN.glob("hostile.*"):
        text = path.read_text(encoding="utf-8")
        assert "\x1b" not in text and "\u202e" not in text and "\u200b" not in text, path.name
        if path.suffix in (".csv", ".tsv"):
            for line in text.splitlines()[1:]:
                cells = line.split("," if path.suffix == ".csv" else "\t")
                account = cells[1].strip('"')
                assert not account.startswith(("=", "+", "-", "@")), (path.name, account)
