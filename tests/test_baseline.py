"""Baselines: what changed since last week, first flagged dates carried forward, and a baseline
that cannot be compared refused."""

from __future__ import annotations

import json
import re
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


# ----------------------------------------------------------------------------- the CLI

#: generate_org(60, 42, 5, 0.1): goran.bauer and jun.vance are `suspicious`, lea.yilmaz `ok`.
GORAN, JUN, LEA = "goran.bauer@acme.example", "jun.vance@acme.example", "lea.yilmaz@acme.example"


def scan(org: Path, *args: str) -> Any:
    from typer.testing import CliRunner

    from tokenaudit.cli import app

    from .conftest import CLI_ENV

    files = [str(org / f) for f in ("usage.csv", "commits.csv", "identities.csv")]
    runner = CliRunner(env={**CLI_ENV, "COLUMNS": "250"})
    return runner.invoke(app, ["scan", *files, "--all", *args])


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The org, its report of today (`today.json`), and last week's (`last.json`): goran was
    not flagged then, lea was in review (clear now), and someone who has left was in review."""
    from tokenaudit.synthetic.simulate import generate_org, write_org

    out = tmp_path_factory.mktemp("baseline_org")
    write_org(generate_org(60, 42, 5, 0.1), out)
    (out / "truth.csv").unlink()
    today = scan(out, "--format", "json", "-o", str(out / "today.json"))
    assert today.exit_code == 1, today.stderr
    doc = json.loads((out / "today.json").read_text())
    doc["run"]["as_of"] = str(LAST_WEEK)
    for rec in doc["accounts"]:
        if rec["account"] == GORAN:
            rec["status"], rec["flagged"] = "ok", False
        if rec["account"] == LEA:
            rec["status"], rec["flagged"] = "review", True
    doc["accounts"].append({"account": "left@acme.example", "status": "review"})
    (out / "last.json").write_text(json.dumps(doc))
    return out


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "ndjson", "markdown"])
def test_changes_since_last_week_in_every_format(org: Path, fmt: str) -> None:
    result = scan(org, "--baseline", str(org / "last.json"), "--fail-on", "new", "-f", fmt)
    assert result.exit_code == 1, result.stderr  # goran is newly flagged
    assert "another configuration" not in result.stderr
    if fmt in ("json", "ndjson"):
        docs = (
            json.loads(result.stdout)["accounts"]
            if fmt == "json"
            else [json.loads(line) for line in result.stdout.splitlines()]
        )
        got = {d["account"]: (d["status"], d["change"], d["first_flagged"]) for d in docs}
    else:
        got = {}
        for line in result.stdout.splitlines():
            for name in (GORAN, JUN, LEA, "left@acme.example"):
                if name in line:
                    words = re.sub(r"[|,\t│]", " ", line).split()
                    change = next(w for w in words if w in ("new", "unchanged", "resolved"))
                    got[name] = (words[words.index(name) + 1], change, None)
    assert got[GORAN][:2] == ("suspicious", "new")
    assert got[JUN][:2] == ("suspicious", "unchanged")
    assert got[LEA][:2] == ("ok", "resolved")
    assert got["left@acme.example"][:2] == ("absent", "resolved")
    if fmt in ("json", "ndjson"):
        assert got[GORAN][2] == "2026-04-13" and got[JUN][2] == str(LAST_WEEK)
        assert got[LEA][2] == str(LAST_WEEK)  # how long it had been flagged


def test_fail_on_new_is_quiet_when_nothing_is_new(org: Path) -> None:
    result = scan(org, "--baseline", str(org / "today.json"), "--fail-on", "new", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    assert ",suspicious,true," in result.stdout and ",new," not in result.stdout


def test_fail_on_new_without_a_baseline_counts_every_flag(org: Path) -> None:
    result = scan(org, "--fail-on", "new", "-f", "csv")
    assert result.exit_code == 1 and "every flagged account is new" in result.stderr


def test_another_configuration_is_named(org: Path, tmp_path: Path) -> None:
    doc = json.loads((org / "last.json").read_text())
    doc["run"]["parameters"]["tz"] = "Europe/Berlin"
    path = write(tmp_path, doc)
    result = scan(org, "--baseline", str(path), "-f", "csv", "--fail-on", "never")
    assert result.exit_code == 0
    assert 'another configuration (tz: "Europe/Berlin" → "UTC")' in result.stderr


def test_a_baseline_of_another_schema_is_exit_65_and_a_missing_one_66(
    org: Path, tmp_path: Path
) -> None:
    doc = json.loads((org / "last.json").read_text()) | {"schema_version": 2}
    refused = scan(org, "--baseline", str(write(tmp_path, doc)))
    assert refused.exit_code == 65 and "schema version 2" in refused.stderr
    assert scan(org, "--baseline", str(tmp_path / "none.json")).exit_code == 66
