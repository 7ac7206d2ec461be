"""Inputs as they come from the wild, round 17: usage and commit exports as people capture them
(several repositories' pull-request lists, field subsets, overlapping report downloads, older
export layouts). Each test is a defect found by running the CLI on such a file, stated as the
behaviour that replaces it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from typer.testing import CliRunner

from tokenaudit.cli import app

from .conftest import CLI_ENV


def scan(*args: str) -> tuple[int, dict[str, Any], str]:
    """`tokenaudit scan … --format json --all`: exit code, report, stderr."""
    result = CliRunner(env=CLI_ENV).invoke(app, ["scan", *args, "--format", "json", "--all"])
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, report, result.stderr


def accounts(report: dict[str, Any], *fields: str) -> dict[str, tuple[Any, ...]]:
    return {a["account"]: tuple(a[f] for f in fields) for a in report["accounts"]}


def usage_of(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "usage.csv"
    rows = "".join(f"2026-03-02T09:00:00Z,{n},100,50\n" for n in names)
    path.write_text("timestamp,account,input_tokens,output_tokens\n" + rows)
    return path


# --------------------------------------------------------------------------- commits


def test_pull_requests_of_one_number_in_two_repositories_are_two_changes(tmp_path: Path) -> None:
    # `gh pr list -R acme/<repo> --json number,author,mergedAt,additions,deletions,title` per
    # repository: nothing in a list says which repository it is.
    lists = tmp_path / "prs"
    lists.mkdir()
    for repo, hour in (("web", 10), ("api", 11)):
        prs = [
            {
                "number": n,
                "mergedAt": f"2026-03-0{n}T{hour}:00:00Z",
                "author": {"login": "dana"},
                "additions": 30 + n,
                "deletions": 1,
                "title": f"{repo}: change {n}",
            }
            for n in (1, 2, 3)
        ]
        (lists / f"{repo}.json").write_text(json.dumps(prs))
    # The same as a commits CSV that names the repository.
    csv = tmp_path / "commits.csv"
    csv.write_text(
        "merged_at,author,lines_added,lines_deleted,pr_id,repo\n"
        "2026-03-03T10:00:00Z,dana,40,1,5,acme/web\n"
        "2026-03-04T10:00:00Z,dana,50,1,5,acme/api\n"
        # The same pull request listed twice is still one change.
        "2026-03-04T10:00:00Z,dana,50,1,5,acme/api\n"
    )
    usage = usage_of(tmp_path, "dana")
    code, report, err = scan(str(lists), "--usage", str(usage))
    # Before: 3 changes and 99 lines; acme/api's #1–#3 were dropped as repeats of acme/web's.
    assert code == 0, err
    assert accounts(report, "merged_changes", "merged_lines") == {"dana": (6, 198)}
    code, report, err = scan("--commits", str(csv), "--usage", str(usage))
    # Before: 1 change and 41 lines.
    assert code == 0, err
    assert accounts(report, "merged_changes", "merged_lines") == {"dana": (2, 92)}
    # An overlapping second export of one repository still counts each pull request once.
    (lists / "web-again.json").write_text((lists / "web.json").read_text())
    code, report, err = scan(str(lists), "--usage", str(usage))
    assert accounts(report, "merged_changes", "merged_lines") == {"dana": (6, 198)}


def _frame(report: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(report["accounts"])
