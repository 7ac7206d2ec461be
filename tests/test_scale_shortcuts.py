"""Round 6 of the scale work (`benchmarks/results/scale-1M-10M.md`): each shortcut gives what the
plain code it replaced gave, bit for bit.

Work the checks share is worked out once (`CheckData.derived`) and gives each check what it
worked out alone; runs of equal keys are found by Polars instead of numpy arrays of objects; the
inputs' SHA-256 is worked out while auditing only for a report that shows it."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from tokenaudit import audit
from tokenaudit.audit import run_by_cohort
from tokenaudit.checks import base
from tokenaudit.checks.base import (
    CheckData,
    Derived,
    relative_usage,
    run_starts,
    shared_relative_usage,
)
from tokenaudit.checks.registry import check_by_id
from tokenaudit.config import AuditConfig
from tokenaudit.loaders import expand_paths

from .panels import synthetic_cohort

CFG = AuditConfig()
SHARING = ("usage-jump", "heavy-weeks", "weekday-spikes")


def test_relative_usage_is_worked_out_once_for_data_that_share_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    accounts, days = synthetic_cohort(n_accounts=30, n_days=60)
    calls: list[int] = []

    def counted(days: pl.DataFrame, cfg: AuditConfig) -> pl.DataFrame:
        calls.append(days.height)
        return relative_usage(days, cfg)

    monkeypatch.setattr(base, "relative_usage", counted)
    data = CheckData(accounts, days, 5)
    first = shared_relative_usage(data, CFG)
    # Another `CheckData` over the same days, as `run_by_cohort` makes for each check.
    again = shared_relative_usage(replace(data, null_excluded=frozenset({"x"})), CFG)
    assert again is first and len(calls) == 1
    # Other days (a copy of the data with its days replaced keeps the dict) are worked out anew.
    fewer = days.filter(pl.col("day") > pl.col("day").min())
    assert shared_relative_usage(replace(data, days=fewer), CFG).equals(relative_usage(fewer, CFG))
    assert len(calls) == 2
    # Another configuration (another week start) is worked out again, not taken from the dict.
    other = AuditConfig(week_start=3)
    assert shared_relative_usage(data, other).equals(relative_usage(days, other))
    assert len(calls) == 3


def test_checks_that_share_relative_usage_answer_as_they_do_alone() -> None:
    accounts, days = synthetic_cohort(n_accounts=30, n_days=60, seed=4)
    cohorts = accounts.select("account", pl.lit("organisation").alias("cohort"))
    derived: Derived = {}
    for check_id in SHARING:
        check = check_by_id(check_id)
        alone = check.run(CheckData(accounts, days, 5), CFG)
        shared = run_by_cohort(check, accounts, days, cohorts, 5, CFG, derived=derived)
        assert shared.equals(alone), check_id
    assert list(derived) == ["relative_usage"]


def _run_starts_as_before(frame: pl.DataFrame, keys: list[str]) -> np.ndarray:
    """`base.run_starts` as `run_means` had it: the keys compared as numpy arrays."""
    change = np.zeros(frame.height, dtype=bool)
    if frame.height:
        change[0] = True
        for key in keys:
            values = frame[key].to_numpy()
            change[1:] |= values[1:] != values[:-1]
    return np.flatnonzero(change)


@pytest.mark.parametrize("seed", range(4))
def test_runs_of_equal_keys_start_where_the_numpy_comparison_said(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    frame = pl.DataFrame(
        {
            "account": rng.choice(["a", "b", "bb", "é", ""], n),
            "wd": rng.integers(1, 4, n).astype(np.int8),
            "week": rng.integers(0, 3, n),
        }
    ).sort("account", "wd")
    for keys in (["account"], ["account", "wd"], ["account", "week"], ["wd"]):
        starts = run_starts(frame, keys)
        assert starts.dtype == np.int64
        assert np.array_equal(starts, _run_starts_as_before(frame, keys))


@pytest.fixture(scope="module")
def small_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenaudit.synthetic.simulate import generate_org, write_org

    out = tmp_path_factory.mktemp("digests_org")
    write_org(generate_org(40, 42, 9, 0.1), out)
    (out / "truth.csv").unlink()
    return out


def _counted_digests(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files `audit` works a SHA-256 out for, from now on."""
    hashed: list[Path] = []
    original = audit._sha256

    def counted(path: Path) -> str:
        hashed.append(path)
        return original(path)

    monkeypatch.setattr(audit, "_sha256", counted)
    return hashed


def test_input_digests_not_asked_for_are_worked_out_only_when_read(
    small_org: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = expand_paths([small_org])
    hashed = _counted_digests(monkeypatch)
    report = audit.run_audit(files, AuditConfig(), tmp_path / "lazy", digests=False)
    assert hashed == []
    expected = {f.name: hashlib.sha256(f.path.read_bytes()).hexdigest() for f in files}
    assert {s.name: s.sha256 for s in report.inputs} == expected
    eager = audit.run_audit(files, AuditConfig(), tmp_path / "eager")
    assert {s.name: s.sha256 for s in eager.inputs} == expected


@pytest.mark.parametrize(
    ("args", "hashes"),
    [
        (["-f", "csv"], False),
        (["-f", "markdown"], False),
        (["-f", "json"], True),
        (["-f", "ndjson"], True),
        (["-o", "report.json"], True),
        (["-f", "csv", "--manifest", "manifest.json"], True),
    ],
)
def test_a_scan_hashes_its_inputs_while_auditing_only_for_a_report_that_shows_them(
    small_org: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    hashes: bool,
) -> None:
    from typer.testing import CliRunner

    from tokenaudit.cli import app

    from .conftest import CLI_ENV

    monkeypatch.chdir(tmp_path)
    hashed = _counted_digests(monkeypatch)
    seen: list[bool] = []
    original = audit.run_audit

    def spied(*a: Any, **k: Any) -> Any:
        report = original(*a, **k)
        seen.append(bool(hashed))
        return report

    monkeypatch.setattr(audit, "run_audit", spied)
    result = CliRunner(env=CLI_ENV).invoke(app, ["scan", str(small_org), "--exit-zero", *args])
    assert result.exit_code == 0, result.stderr
    assert seen == [hashes]
