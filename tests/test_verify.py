"""`tokenaudit verify`: the same inputs give the same report (0); an edited input gives
another (1, naming it); a missing input stops it (66)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tokenaudit.verify import compare_reports, rerun_args


def invoke(*args: str) -> Any:
    from typer.testing import CliRunner

    from tokenaudit.cli import app

    from .conftest import CLI_ENV

    return CliRunner(env=CLI_ENV).invoke(app, list(args))


def scanned_with_manifest(out: Path, accounts: int, days: int, seed: int) -> Path:
    """`out` holding a generated org (`org/`) and its JSON report (`report.json`) made with a
    manifest (`run.json`), from inside `out` (relative paths, as a cron job gives them)."""
    import os

    from tokenaudit.synthetic.simulate import generate_org, write_org

    write_org(generate_org(accounts, days, seed, 0.1), out / "org")
    (out / "org" / "truth.csv").unlink()
    here = Path.cwd()
    os.chdir(out)
    try:
        result = invoke(
            "scan", "org", "--fail-on", "never", "-o", "report.json", "--manifest", "run.json"
        )
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of an org and its JSON report made with a manifest."""
    return scanned_with_manifest(tmp_path_factory.mktemp("verify_org"), 60, 42, 9)


def test_the_same_inputs_give_the_same_report(made: Path) -> None:
    for target in ("report.json", "run.json"):
        result = invoke("verify", str(made / target))
        assert result.exit_code == 0, result.stderr
        assert "usage.csv: same" in result.stderr
        assert "the re-run gives the same report" in result.stderr


def test_an_edited_input_is_named_and_the_report_differs(made: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(made, copy)
    doc = json.loads((copy / "report.json").read_text())
    doc["run"]["manifest"]["working_directory"] = str(copy)
    for item in doc["run"]["manifest"]["inputs"]:
        item["path"] = item["path"].replace(str(made), str(copy))
    (copy / "report.json").write_text(json.dumps(doc))
    commits = copy / "org" / "commits.csv"
    lines = commits.read_text().splitlines(keepends=True)
    commits.write_text("".join(lines[:1] + lines[40:]))  # 39 merged changes fewer
    result = invoke("verify", str(copy / "report.json"))
    assert result.exit_code == 1, result.stderr
    assert "commits.csv: changed" in result.stderr and "usage.csv: same" in result.stderr
    assert "the re-run gives a different report:" in result.stderr
    assert "account '" in result.stderr


def test_a_missing_input_is_66(made: Path, tmp_path: Path) -> None:
    doc = json.loads((made / "run.json").read_text())
    doc["inputs"][0]["path"] = str(tmp_path / "gone.csv")
    (tmp_path / "m.json").write_text(json.dumps(doc))
    result = invoke("verify", str(tmp_path / "m.json"))
    assert result.exit_code == 66 and "gone.csv: missing" in result.stderr


def test_a_report_without_a_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text('{"schema_version": 1, "run": {}, "accounts": []}')
    result = invoke("verify", str(tmp_path / "r.json"))
    assert result.exit_code == 65 and "--manifest" in result.stderr
    assert invoke("verify", str(tmp_path / "none.json")).exit_code == 66


def test_rerun_arguments_and_report_comparison() -> None:
    manifest = {
        "config": {
            "inputs": ["logs/", "-x.csv"],
            "identities": ["people.csv"],
            "tz": "UTC",
            "all": True,
            "strict": False,
            "quota": None,
            "output": "r.json",
            "fail-on": "new",
        }
    }
    assert rerun_args(manifest, ["-o", "own.json"]) == [
        "--identities=people.csv", "--tz=UTC", "--all", "-o", "own.json", "--", "logs/", "-x.csv",
    ]  # fmt: skip
    old = {"run": {"as_of": "1", "manifest": {}}, "accounts": [{"account": "a", "status": "ok"}]}
    new = {"run": {"as_of": "2"}, "accounts": [{"account": "a", "status": "review"}]}
    assert compare_reports(old, new) == [
        "run.as_of differs",
        "account 'a': status (status ok → review)",
    ]
