"""Side files and outputs someone else may have written or tampered with (issue 16, second
sweep): the identities file, suppressions, baselines, references, settings files, run manifests
and `verify`. Each test is one failure seen, stated as the behaviour that replaces it: a clear
one-line error with the documented exit code, never a traceback, never damage to a file the
user did not name."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from .conftest import CLI_ENV


def invoke(*args: str) -> Any:
    from typer.testing import CliRunner

    from tokenaudit.cli import app

    return CliRunner(env=CLI_ENV).invoke(app, list(args))


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-person, 3-week organisation and its JSON report made with a manifest, from inside
    its directory (relative paths, as a cron job gives them)."""
    from tokenaudit.synthetic.simulate import generate_org, write_org

    out = tmp_path_factory.mktemp("side")
    write_org(generate_org(accounts=12, days=21, seed=5, maxxer_share=0.1), out / "org")
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


def tampered(org: Path, tmp_path: Path, edit: Any, name: str = "report.json") -> Path:
    doc = json.loads((org / name).read_text("utf-8"))
    edit(doc["run"]["manifest"] if name == "report.json" else doc)
    target = tmp_path / name
    target.write_text(json.dumps(doc), "utf-8")
    return target


# ----------------------------------------------------------------------------- verify


def test_verify_never_lets_a_recorded_setting_choose_where_the_rerun_writes(
    org: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")
    for name in ("report.json", "run.json"):
        report = tampered(
            org, tmp_path, lambda m: m["config"].update({f"output={victim}": True}), name
        )
        result = invoke("verify", str(report))
        assert result.exit_code == 65, result.stderr
        assert "is not an option's name" in result.stderr and "Traceback" not in result.stderr
        assert victim.read_text() == "keep me\n"


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(inputs="abc"),
        lambda m: m.update(inputs=[1, 2]),
        lambda m: m.update(files=[1]),
        lambda m: m.update(config=[1]),
        lambda m: m["inputs"][0].update(path=5),
        lambda m: m["config"].update(inputs="org/"),
        lambda m: m["config"].update(tz={"a": 1}),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_bad_data_not_an_internal_error(
    org: Path, tmp_path: Path, edit: Any
) -> None:
    result = invoke("verify", str(tampered(org, tmp_path, edit)))
    assert result.exit_code == 65, result.stderr
    assert "not a manifest tokenaudit wrote" in result.stderr


def test_a_report_whose_rows_were_edited_after_it_was_written_is_not_vouched_for(
    org: Path, tmp_path: Path
) -> None:
    doc = json.loads((org / "report.json").read_text("utf-8"))
    doc["accounts"][0]["status"] = "ok"
    (tmp_path / "report.json").write_text(json.dumps(doc, indent=1), "utf-8")
    result = invoke("verify", str(tmp_path / "report.json"))
    assert result.exit_code == 65, result.stderr
    assert "changed after it was written" in result.stderr
    # Reformatted but not edited (jq, an editor): still the same report.
    doc["accounts"][0]["status"] = json.loads((org / "report.json").read_text())["accounts"][0][
        "status"
    ]
    (tmp_path / "report.json").write_text(json.dumps(doc, indent=4), "utf-8")
    assert invoke("verify", str(tmp_path / "report.json")).exit_code == 0
