"""Shared fixtures: a small generated organisation, and a CLI runner that never depends on the
terminal it runs in."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from tokenaudit.synthetic.simulate import generate_org, write_org

DATA = Path(__file__).parent / "data"

#: Environment for every CLI test: no colour, fixed width, no forced terminal.
CLI_ENV = {
    "NO_COLOR": "1",
    "TERM": "dumb",
    "COLUMNS": "100",
    "FORCE_COLOR": "",
    "GITHUB_ACTIONS": "",
    "TTY_COMPATIBLE": "",
    "_TYPER_FORCE_DISABLE_TERMINAL": "1",
}


@pytest.fixture(scope="session")
def small_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-person, 6-week organisation with 10 % tokenmaxxers, as canonical CSV files."""
    out = tmp_path_factory.mktemp("org")
    write_org(generate_org(accounts=60, days=42, seed=11, maxxer_share=0.1), out)
    return out


@pytest.fixture(scope="session")
def small_truth(small_org: Path) -> pl.DataFrame:
    return pl.read_csv(small_org / "truth.csv")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env=CLI_ENV)
