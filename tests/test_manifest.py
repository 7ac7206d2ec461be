"""The run manifest: what a report was made from. Two runs of one audit differ only in the
run id and the times; the default JSON report stays byte-for-byte the same without one."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tokenaudit.manifest import VOLATILE, stable


def scan(org: Path, *args: str) -> Any:
    from typer.testing import CliRunner

    from tokenaudit.cli import app

    from .conftest import CLI_ENV

    files = [str(org / f) for f in ("usage.csv", "commits.csv", "identities.csv")]
    return CliRunner(env=CLI_ENV).invoke(app, ["scan", *files, "--fail-on", "never", *args])


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenaudit.synthetic.simulate import generate_org, write_org

    out = tmp_path_factory.mktemp("manifest_org")
    write_org(generate_org(60, 42, 7, 0.1), out)
    (out / "truth.csv").unlink()
    (out / "s.csv").write_text("account,reason,owner,until\nnobody,r,o,2030-01-01\n")
    return out


@pytest.fixture(scope="module")
def runs(org: Path) -> dict[str, Any]:
    """Two runs with a manifest (CSV, then JSON) and one JSON report without."""
    first = scan(
        org, "-f", "csv", "--manifest", str(org / "m1.json"), "--suppressions", str(org / "s.csv")
    )
    second = scan(
        org,
        "-f",
        "json",
        "-o",
        str(org / "r2.json"),
        "--manifest",
        str(org / "m2.json"),
        "--suppressions",
        str(org / "s.csv"),
    )
    plain = scan(org, "-f", "json", "--suppressions", str(org / "s.csv"))
    for result in (first, second, plain):
        assert result.exit_code == 0, result.stderr
    return {
        "m1": json.loads((org / "m1.json").read_text()),
        "m2": json.loads((org / "m2.json").read_text()),
        "report": json.loads((org / "r2.json").read_text()),
        "plain": plain.stdout,
    }


def test_two_runs_differ_only_in_id_and_times(runs: dict[str, Any]) -> None:
    m1, m2 = copy.deepcopy(runs["m1"]), copy.deepcopy(runs["m2"])
    assert m1["run_id"] != m2["run_id"]
    assert set(VOLATILE) <= set(m1)
    # The settings differ where the two invocations did (format, output, manifest) ...
    different = {k for k in m1["config"] if m1["config"][k] != m2["config"][k]}
    assert different == {"format", "output", "manifest"}
    # ... and nowhere else.
    for m in (m1, m2):
        for key in different:
            m["config"].pop(key)
            m["config_sources"].pop(key)
    assert stable(m1) == stable(m2)


def test_the_manifest_names_everything(org: Path, runs: dict[str, Any]) -> None:
    m = runs["m1"]
    assert m["kind"] == "tokenaudit-run-manifest" and m["manifest_version"] == 1
    assert set(m["versions"]) == {"tokenaudit", "python", "polars", "numpy", "scipy"}
    by_kind = {i["kind"]: i for i in m["inputs"]}
    assert set(by_kind) == {"usage", "commits", "identities"}
    usage = by_kind["usage"]
    raw = (org / "usage.csv").read_bytes()
    assert usage["path"] == str((org / "usage.csv").resolve()) and usage["size"] == len(raw)
    assert usage["sha256"] == hashlib.sha256(raw).hexdigest()
    assert usage["rows"] == usage["used"] + usage["rejected"]
    # Each file's own first and last used instant.
    assert usage["time_range"]["first"] < usage["time_range"]["last"]
    assert by_kind["commits"]["time_range"]["first"] is not None
    assert by_kind["identities"]["time_range"] == {"first": None, "last": None}
    assert (
        m["files"]["suppressions"]["sha256"]
        == hashlib.sha256((org / "s.csv").read_bytes()).hexdigest()
    )
    assert m["files"]["config"] is None and m["files"]["baseline"] is None
    assert m["period"]["last_day"] == m["period"]["today"]
    assert m["window"]["days"] >= 3 and sum(m["cohorts"].values()) > 0
    assert m["config"]["suppressions"] == str(org / "s.csv")
    assert m["config_sources"]["suppressions"] == "command line"
    assert m["config_sources"]["tz"] == "default"
    assert m["working_directory"] == str(Path.cwd())


def test_json_embeds_the_manifest_and_its_digest_is_the_plain_report(
    runs: dict[str, Any],
) -> None:
    report, plain = runs["report"], runs["plain"]
    assert report["run"]["manifest"] == runs["m2"]
    assert "manifest" not in json.loads(plain)["run"]
    digest = hashlib.sha256(plain.encode("utf-8")).hexdigest()
    assert runs["m1"]["report_sha256"] == runs["m2"]["report_sha256"] == digest
    del report["run"]["manifest"]
    assert report == json.loads(plain)
