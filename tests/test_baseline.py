"""Baselines: what changed since last week, first flagged dates carried forward, and a baseline
that cannot be compared refused."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tokenaudit.baseline import (
    Baseline,
    change_of,
    compare,
    config_differences,
    load_baseline,
    newly_flagged,
)
from tokenaudit.errors import DataError, InputMissingError

LAST_WEEK = date(2026, 4, 6)
TODAY = date(2026, 4, 13)


def report(accounts: list[dict[str, Any]], **run: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "run": {"as_of": LAST_WEEK.isoformat(), "parameters": {"tz": "UTC"}, **run},
        "accounts": accounts,
    }


def write(tmp_path: Path, doc: Any, name: str = "last.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def now() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rank": [1, 2, 3, 4, 5, 6],
            "account": ["a", "b", "c", "d", "e", "f"],
            "status": ["suspicious", "review", "review", "ok", "suppressed", "ok"],
            "flagged": [True, True, True, False, False, False],
        }
    )


@pytest.mark.parametrize(
    ("then", "now_", "change"),
    [
        (None, "review", "new"),
        ("ok", "suspicious", "new"),
        ("suppressed", "review", "new"),
        ("review", "review", "unchanged"),
        ("review", "suspicious", "worse"),
        ("suspicious", "review", "better"),
        ("review", "suppressed", "better"),
        ("review", "ok", "resolved"),
        ("suspicious", "insufficient_data", "resolved"),
        ("ok", "insufficient_data", "unchanged"),
        (None, "ok", "unchanged"),
    ],
)
def test_change_of(then: str | None, now_: str, change: str) -> None:
    assert change_of(then, now_) == change


def test_compare_carries_first_flagged_and_lists_the_absent(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        report(
            [
                {"account": "a", "status": "review", "first_flagged": "2026-03-23"},
                {"account": "b", "status": "ok"},
                {"account": "c", "status": "review"},  # made without a baseline: no field
                {"account": "d", "status": "suspicious", "first_flagged": "2026-03-30"},
                {"account": "e", "status": "review", "first_flagged": "2026-03-16"},
                {"account": "gone", "status": "review", "first_flagged": "2026-03-09"},
                {"account": "quiet", "status": "ok"},
            ]
        ),
    )
    base = load_baseline(path, 1)
    out = compare(now(), base, as_of=TODAY)
    got = {r["account"]: (r["change"], r["first_flagged"]) for r in out.to_dicts()}
    assert got["a"] == ("worse", date(2026, 3, 23))
    assert got["b"] == ("new", TODAY)
    assert got["c"] == ("unchanged", LAST_WEEK)
    assert got["d"] == ("resolved", date(2026, 3, 30))  # flagged then, clear now
    assert got["e"] == ("better", date(2026, 3, 16))  # suppressed since
    assert got["f"] == ("unchanged", None)
    assert got["gone"] == ("resolved", date(2026, 3, 9))
    assert "quiet" not in got
    gone = out.filter(pl.col("account") == "gone").row(0, named=True)
    assert gone["status"] == "absent" and gone["rank"] == 7 and gone["flagged"] is False
    assert gone["reasons"] == "not in this run's data; was review on 2026-04-06"
    assert newly_flagged(out)
    assert not newly_flagged(out.filter(pl.col("change") != "new"))


def test_another_schema_version_is_refused(tmp_path: Path) -> None:
    doc = report([]) | {"schema_version": 2}
    with pytest.raises(DataError, match="schema version 2"):
        load_baseline(write(tmp_path, doc), 1)


@pytest.mark.parametrize(
    "text", ["{not json", '{"accounts": []}', "[]", '{"run": {}, "accounts": [{}]}']
)
def test_what_is_not_a_report_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(DataError):
        load_baseline(write(tmp_path, text), 1)


def test_a_missing_baseline_is_missing_input(tmp_path: Path) -> None:
    with pytest.raises(InputMissingError):
        load_baseline(tmp_path / "none.json", 1)


def test_configuration_differences_are_named() -> None:
    base = Baseline(
        "last.json",
        LAST_WEEK,
        {},
        {},
        parameters={"tz": "UTC", "fdr_method": "BH", "since": "2026-01-01", "window_days": 7},
        settings={"tz": "UTC", "quota": None, "strict": False, "output": "a.json"},
    )
    diffs = config_differences(
        base,
        {"tz": "Europe/Berlin", "fdr_method": "BY", "since": "2026-01-08", "window_days": 9},
        {"tz": "Europe/Berlin", "quota": 1e6, "strict": True, "output": "b.json"},
        pseudonymised=True,
    )
    assert diffs == [
        'fdr_method: "BH" → "BY"',
        'tz: "UTC" → "Europe/Berlin"',
        "quota: unset → 1000000.0",
        "strict: false → true",
        "pseudonymised: False → True",
    ]
    assert config_differences(base, base.parameters, base.settings, pseudonymised=False) == []
