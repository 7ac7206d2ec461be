"""Work the checks share is worked out once and gives each check what it worked out alone.

Round 6 of the scale work (`benchmarks/results/scale-1M-10M.md`): the checks that read the same
derived frame get it from `CheckData.derived` instead of each working it out again."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from tokenaudit.audit import run_by_cohort
from tokenaudit.checks import base
from tokenaudit.checks.base import CheckData, Derived, relative_usage, shared_relative_usage
from tokenaudit.checks.registry import check_by_id
from tokenaudit.config import AuditConfig

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
