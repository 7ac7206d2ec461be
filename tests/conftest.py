"""Shared fixtures: a small generated organisation, and a CLI runner that never depends on the
terminal it runs in; and how pytest-xdist shares the tests out among its workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import settings
from typer.testing import CliRunner

from tokenaudit.synthetic.simulate import generate_org, write_org

DATA = Path(__file__).parent / "data"

# Property tests draw the same examples on every run, worker and machine (a failure found once is
# found again, and a pass is not luck of the draw); no example database carries one run's finds
# into the next. Each test's own `settings(...)` inherits this profile.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")

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


#: Modules whose module-scoped fixtures are costly (a local Spark, organisations generated and
#: scanned): pytest-xdist runs each of them whole on one worker, so that its fixtures are built
#: once, and starts them first (a module of several tests goes before single tests), while the
#: tests of every other module are shared out one by one.
WHOLE_MODULES = frozenset(
    f"tests/test_{name}.py"
    for name in (
        "spark",
        "calibration",
        "honest_automation",
        "manifest",
        "table_layout",
        "reference",
        "verify",
        "baseline",
        "html",
    )
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist load` (what `-n` implies), except that a module of `WHOLE_MODULES` is one unit of
    work. (`xdist_group` marks would say the same, but pytest 9.2 ignores the node ids that
    `--dist loadgroup` rewrites: pytest-dev/pytest-xdist#1386.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WholeModules(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in WHOLE_MODULES else nodeid

    return WholeModules(config, log)


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
