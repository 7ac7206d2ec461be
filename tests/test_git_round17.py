"""`--repo` on git histories as they come from the wild, round 17: a `--branch` that is an
option or a range, moved files, quoted paths, a legacy commit encoding, shallow clones whose
dates run backwards, a `.git` folder, an empty repository, and a machine without git."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tokenaudit.errors import DataError, ExitCode, InputMissingError
from tokenaudit.loaders.git import read_repository

from .test_real_inputs_round16 import git

WORKTREE = Path(__file__).resolve().parents[1]


def shallow_clone(repo: Path, tmp_path: Path, depth: int) -> Path:
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", str(depth), f"file://{repo}", str(shallow)],
        check=True,
        capture_output=True,
    )
    return shallow


def commit(repo: Path, day: str, message: str, files: dict[str, int], **env: str) -> str:
    for name, lines in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{name} {i}\n" for i in range(lines)))
    git(repo, "add", "-A")
    stamp = f"{day}T10:00:00Z"
    git(repo, "commit", "-q", "-m", message, GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp, **env)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@x")
    git(repo, "config", "user.name", "Dev")
    return repo


def test_a_branch_that_is_an_option_is_refused_and_writes_nothing(
    repo: Path, tmp_path: Path
) -> None:
    commit(repo, "2026-03-02", "feat: x", {"a.py": 10})
    written = tmp_path / "written"
    # `git log --output=FILE` wrote the log to FILE: a report sent to `verify` could choose it.
    with pytest.raises(DataError, match="no such branch"):
        read_repository(repo, f"--output={written}")
    assert not written.exists()
    # A range read whatever it selected (here nothing), silently.
    with pytest.raises(DataError, match="no such branch"):
        read_repository(repo, "main..main")
    assert read_repository(repo, "main").height == 1


def test_an_empty_repository_says_it_has_no_commits(repo: Path) -> None:
    with pytest.raises(DataError, match="an empty repository: it has no commits yet"):
        read_repository(repo)


def test_a_file_is_not_a_repository(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("x\n")
    with pytest.raises(DataError, match="not a git repository: --repo takes a repository's"):
        read_repository(path)


def test_the_git_folder_reads_as_its_work_tree(repo: Path) -> None:
    (repo / ".mailmap").write_text("Ana New <ana@new.example> <ana@old.example>\n")
    commit(repo, "2026-03-02", "feat: x", {"a.py": 10}, GIT_AUTHOR_EMAIL="ana@old.example")
    frame = read_repository(repo / ".git")
    assert frame["author"].to_list() == ["ana@new.example"]
    assert frame["repo"].to_list() == ["r"]


def test_a_moved_file_is_not_merged_output(repo: Path) -> None:
    commit(repo, "2026-03-02", "add", {"big.py": 500})
    (repo / "pkg").mkdir()
    git(repo, "mv", "big.py", "pkg/big.py")
    moved = commit(repo, "2026-03-03", "move", {})
    git(repo, "mv", "pkg/big.py", "pkg/huge.py")
    with (repo / "pkg/huge.py").open("a") as out:
        out.write("one more\n")
    edited = commit(repo, "2026-03-04", "move and edit", {})
    frame = read_repository(repo, "main")
    lines = {r["sha"]: (r["lines_added"], r["lines_deleted"]) for r in frame.to_dicts()}
    assert lines[moved] == ("0", "0")
    assert lines[edited] == ("1", "0")


def test_a_vendored_path_with_a_non_ascii_name_is_still_excluded(repo: Path) -> None:
    # git quotes such a name ("vendor/lib\303\251.js"), and the quote hid it from the exclusions.
    sha = commit(repo, "2026-03-02", "vendor a lib", {"vendor/libé.js": 100, "src/a.py": 7})
    row = read_repository(repo, "main").to_dicts()[0]
    assert (row["sha"], row["lines_added"], row["files_changed"]) == (sha, "7", "1")


def test_a_moved_vendored_folder_is_still_excluded(repo: Path) -> None:
    # Guards the rename notation (`{vendor => third_party}/lib.js`) that `-M` brings.
    commit(repo, "2026-03-02", "vendor", {"vendor/lib.js": 50, "src/a.py": 3})
    git(repo, "mv", "vendor", "third_party")
    with (repo / "third_party/lib.js").open("a") as out:
        out.write("patched\n")
    sha = commit(repo, "2026-03-03", "move vendor to third_party", {"src/a.py": 4})
    row = next(r for r in read_repository(repo, "main").to_dicts() if r["sha"] == sha)
    assert (row["lines_added"], row["files_changed"]) == ("1", "1")


def test_a_latin1_repository_reads_as_text(repo: Path) -> None:
    git(repo, "config", "i18n.commitEncoding", "ISO-8859-1")
    (repo / "a.txt").write_text("x\n")
    git(repo, "add", "-A")
    stamp = "2026-03-02T10:00:00Z"
    subprocess.run(
        ["git", "-C", str(repo), "commit", "-q", "-F", "-"],
        input="café change\n".encode("latin-1"),
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "Jos\udce9",  # the byte 0xE9: "José" in Latin-1
            "GIT_AUTHOR_EMAIL": "",
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_DATE": stamp,
        },
    )
    row = read_repository(repo, "main").to_dicts()[0]
    assert (row["author"], row["message"]) == ("josé", "café change")


def test_a_shallow_clone_whose_dates_run_backwards_is_refused_up_to_its_edge(
    repo: Path, tmp_path: Path
) -> None:
    commit(repo, "2026-03-02", "base", {"base.py": 100})
    edge = commit(repo, "2026-03-05", "late clock", {"late.py": 10})
    commit(repo, "2026-03-03", "early clock", {"early.py": 5})
    commit(repo, "2026-03-06", "last", {"last.py": 5})
    shallow = shallow_clone(repo, tmp_path, 3)
    # The edge commit is diffed against nothing: its row is the whole tree (110 lines), dated
    # 2026-03-05, and an audit from 2026-03-04 credited it as merged work.
    with pytest.raises(DataError, match=r"--since 2026-03-06"):
        read_repository(shallow, since=date(2026, 3, 4))
    frame = read_repository(shallow, since=date(2026, 3, 6))
    assert edge in frame["sha"].to_list()


def test_no_git_on_path_is_one_line_and_exit_66(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(repo, "2026-03-02", "feat: x", {"a.py": 10})
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(InputMissingError, match="git is not installed") as caught:
        read_repository(repo)
    assert caught.value.exit_code == ExitCode.NO_INPUT
    usage = tmp_path / "usage.csv"
    usage.write_text("timestamp,account,input_tokens\n2026-03-02T10:00:00Z,dev@x,10\n")
    done = subprocess.run(
        [sys.executable, "-m", "tokenaudit", "scan", "--usage", str(usage), "--repo", str(repo)],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(empty), "PYTHONPATH": str(WORKTREE)},
        check=False,
    )
    assert done.returncode == 66
    assert done.stderr.splitlines() == [
        f"tokenaudit: error: {repo}: cannot be read: git is not installed (--repo needs git on PATH)"
    ]


def test_a_shallow_edge_late_in_the_evening_west_of_utc_is_refused_by_its_latest_day(
    repo: Path, tmp_path: Path
) -> None:
    commit(repo, "2026-03-01", "the tree", {"big.py": 500})
    stamp = "2026-03-04T23:30:00-05:00"  # the 5th in UTC, and later still east of it
    (repo / "big.py").write_text((repo / "big.py").read_text() + "one more\n")
    git(repo, "commit", "-qam", "edge", GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    commit(repo, "2026-03-06", "last", {"small.py": 1})
    shallow = shallow_clone(repo, tmp_path, 2)
    # The edge commit's row is the whole tree (501 lines). Judged by its own day (the 4th), an
    # audit from the 5th was let in, and in UTC the edge falls on the 5th: credited as work.
    with pytest.raises(DataError, match=r"--since 2026-03-06"):
        read_repository(shallow, since=date(2026, 3, 5))
    read_repository(shallow, since=date(2026, 3, 6))
    # Days are the audit's: in New York the edge is the 4th, and an audit from the 5th is clear.
    read_repository(shallow, since=date(2026, 3, 5), tz="America/New_York")


def test_an_origin_head_left_pointing_at_a_pruned_branch_asks_for_the_branch(
    repo: Path,
) -> None:
    commit(repo, "2026-03-02", "work", {"a.py": 5})
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/master")
    # It said "an empty repository: it has no commits yet". Reading the checked-out branch
    # instead would credit a feature branch's unmerged work as merged.
    with pytest.raises(DataError, match=r"origin/master is gone .*--branch"):
        read_repository(repo)
    assert read_repository(repo, branch="main")["message"].to_list() == ["work"]
