"""File names that are not UTF-8 (Latin-1 names on an old Samba share) are read like any other
file, and every place that shows or records the name spells each such byte `<E9>`."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from pathlib import Path

import polars as pl
import pytest

from tokenaudit.errors import path_text

from .test_hostile_inputs import run

#: "été" in Latin-1, as Python hands such a name over (one surrogate per byte).
ETE = os.fsdecode(b"\xe9t\xe9")
USAGE = "timestamp,account,input_tokens,output_tokens\n"
COMMITS = "merged_at,author,lines_added\n2026-03-03T10:00:00Z,ana@acme.example,4\n"


def _usage_rows(n: int) -> str:
    return "".join(
        f"2026-03-{2 + i % 20:02d}T10:00:00Z,ana@acme.example,100,10\n" for i in range(n)
    )


@pytest.fixture
def latin1_dir(tmp_path: Path) -> Path:
    here = tmp_path / "share"
    here.mkdir()
    try:
        (here / f"usage-{ETE}.csv").write_text(
            USAGE + _usage_rows(5) + "2026-03-09T10:00:00Z,ana@acme.example,-7,1\n"
        )
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system takes UTF-8 names only")
    (here / f"commits-{ETE}.csv").write_text(COMMITS)
    return here


def test_path_text_spells_each_byte_that_is_not_utf8_like_less() -> None:
    assert path_text(f"share/usage-{ETE}.csv") == "share/usage-<E9>t<E9>.csv"
    assert path_text("share/usage-été.csv") == "share/usage-été.csv"
    assert path_text(Path("plain.csv")) == "plain.csv"


def test_a_latin1_named_csv_in_a_directory_is_read_and_named_escaped_everywhere(
    latin1_dir: Path, tmp_path: Path
) -> None:
    rejects, manifest = tmp_path / "rejects.csv", tmp_path / "manifest.json"
    code, out, err = run(
        "scan", str(latin1_dir), "-f", "json", "--rejects", str(rejects),
        "--manifest", str(manifest), "--exit-zero",
    )  # fmt: skip
    assert code == 0, err
    assert "share/usage-<E9>t<E9>.csv:7: column 'input_tokens': negative count" in err
    names = [i["name"] for i in json.loads(out)["run"]["inputs"]]
    assert names == [path_text(latin1_dir / f"{k}-{ETE}.csv") for k in ("commits", "usage")]
    rows = list(csv.DictReader(io.StringIO(rejects.read_text(encoding="utf-8"))))
    assert [(r["file"], r["line"]) for r in rows] == [
        (path_text(latin1_dir) + "/usage-<E9>t<E9>.csv", "7")
    ]
    recorded = json.loads(manifest.read_text(encoding="utf-8"))["inputs"]
    # JSON cannot spell the path, so it is not recorded; its digest and size still are.
    assert [(i["path"], len(i["sha256"])) for i in recorded] == [(None, 64), (None, 64)]


def test_a_latin1_named_file_given_as_an_argument_is_read(latin1_dir: Path) -> None:
    usage, commits = latin1_dir / f"usage-{ETE}.csv", latin1_dir / f"commits-{ETE}.csv"
    code, out, err = run("scan", str(usage), "--commits", str(commits), "-f", "csv", "--exit-zero")
    assert code == 0, err
    assert out.startswith("rank,account,")


def test_latin1_named_ndjson_and_parquet_files_are_read(latin1_dir: Path) -> None:
    lines = [json.dumps({"timestamp": f"2026-03-0{d}T10:00:00Z", "account": "ana@acme.example",
                         "input_tokens": 5}) for d in range(2, 8)]  # fmt: skip
    (latin1_dir / f"more-{ETE}.ndjson").write_text("\n".join([*lines, '{"broken']) + "\n")
    frame = pl.read_csv(io.StringIO(USAGE + _usage_rows(5)))
    with (latin1_dir / f"u-{ETE}.parquet").open("wb") as fh:
        frame.write_parquet(fh)
    code, _, err = run("scan", str(latin1_dir), "-f", "csv", "--exit-zero")
    assert code == 0, err
    assert "more-<E9>t<E9>.ndjson:7" in err


def test_a_missing_latin1_named_file_is_exit_66_naming_it_escaped(tmp_path: Path) -> None:
    code, _, err = run("scan", str(tmp_path / f"gone-{ETE}.csv"))
    assert code == 66
    assert err.strip().endswith("gone-<E9>t<E9>.csv: no such file or directory")


def test_side_files_with_latin1_names_are_named_escaped(latin1_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / f"cfg-{ETE}.toml"
    config.write_text("window = 7\n")
    code, _, err = run("scan", str(latin1_dir), "--config", str(config))
    assert code == 2
    assert (
        err == f"tokenaudit: error: {path_text(config)}:1: key 'window': expected a string, got 7\n"
    )
    report = tmp_path / f"out-{ETE}" / "r.csv"
    code, _, err = run("scan", str(latin1_dir), "-o", str(report))
    assert code == 73
    assert "out-<E9>t<E9>" in err and "\\u" not in err


def test_a_latin1_named_repository_is_read_and_named_escaped(tmp_path: Path) -> None:
    repo = tmp_path / f"repo-{ETE}"
    try:
        repo.mkdir()
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system takes UTF-8 names only")
    author = ["-c", "user.name=Ana", "-c", "user.email=ana@acme.example"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "a.py").write_text("x = 1\n")
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), *author, "commit", "-qm", "add a"], check=True)
    usage = tmp_path / "usage.csv"
    usage.write_text(USAGE + _usage_rows(5))
    code, out, err = run("scan", str(usage), "--repo", str(repo), "-f", "json", "--exit-zero")
    assert code == 0, err
    names = [i["name"] for i in json.loads(out)["run"]["inputs"]]
    assert f"{path_text(repo)} (git default branch)" in names


def test_a_transcript_folder_with_a_latin1_name_names_its_account_escaped(tmp_path: Path) -> None:
    person = tmp_path / f"b{ETE}"
    try:
        person.mkdir()
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system takes UTF-8 names only")
    line = {
        "type": "assistant",
        "timestamp": "2026-03-02T10:00:00Z",
        "requestId": "r1",
        "sessionId": "s",
        "message": {"model": "claude-sonnet-4-5", "usage": {"input_tokens": 5, "output_tokens": 5}},
    }
    (person / "session.jsonl").write_text(json.dumps(line) + "\n")
    commits = tmp_path / "commits.csv"
    commits.write_text(COMMITS)
    code, out, err = run("scan", str(person), "--commits", str(commits), "-f", "csv", "--exit-zero")
    assert code == 0, err
    assert [r["account"] for r in csv.DictReader(io.StringIO(out))] == ["b<E9>t<E9>"]
