"""`--repo`: every first-parent commit of a repository is a change, whatever its subject says,
each person credited under the identity `.mailmap` gives them, and a log entry that cannot be
read is a rejected row, never left out unsaid."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import polars as pl
import pytest

from tokenaudit.loaders import git as git_loader
from tokenaudit.loaders import load_input
from tokenaudit.loaders.git import read_repository, repository_input


def git(repo: Path, *args: str, **env: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **env}
    )


def commit(repo: Path, day: str, message: str, lines: int) -> None:
    (repo / "a.txt").write_text("".join(f"{i}\n" for i in range(lines)))
    git(repo, "add", ".")
    stamp = f"{day}T10:00:00Z"
    git(repo, "commit", "-q", "-m", message, GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@x")
    git(repo, "config", "user.name", "Dev")
    return repo


def test_a_subject_with_at_signs_or_separators_is_still_a_change(repo: Path) -> None:
    commit(repo, "2026-03-02", "feat: first change", 40)
    commit(repo, "2026-03-03", "fix: handle @@@ markers in diff parser", 80)
    commit(repo, "2026-03-04", "fix: a \x1f unit separator", 120)
    frame = read_repository(repo, "main").sort("merged_at")
    assert frame["message"].to_list() == [
        "feat: first change",
        "fix: handle @@@ markers in diff parser",
        "fix: a \x1f unit separator",
    ]
    assert frame["lines_added"].to_list() == ["40", "40", "40"]


def test_a_co_author_is_credited_under_the_identity_mailmap_gives_them(repo: Path) -> None:
    (repo / ".mailmap").write_text("Bob New <bob@new.example> <bob@old.example>\n")
    commit(repo, "2026-03-02", "feat: x\n\nCo-authored-by: Bob Old <bob@old.example>", 40)
    frame = read_repository(repo, "main")
    assert sorted(frame["author"].to_list()) == ["bob@new.example", "dev@x"]


def test_a_log_entry_that_cannot_be_read_is_a_rejected_row(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = "\x1f".join(["a" * 40, "", "Dev", "dev@x", "2026-03-02T10:00:00Z", "", "feat: x"])
    log = f"\x00{good}\n\n10\t0\ta.py\n\x00{'b' * 40}\x1fcut short\n"
    monkeypatch.setattr(git_loader, "_git", lambda *_: log)
    loaded = load_input(repository_input(repo, "main", tmp_path), tmp_path)
    assert loaded is not None
    frame = loaded.frame.collect()
    assert frame.height == 2
    assert frame.filter(pl.col("_reject").is_not_null())["_line"].to_list() == [3]


def test_a_shallow_clone_is_refused_unless_the_audit_starts_after_its_history_does(
    repo: Path, tmp_path: Path
) -> None:
    from datetime import date

    from tokenaudit.errors import DataError

    for lines, day in enumerate(("2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05")):
        commit(repo, day, f"feat: change of {day}", 40 * (lines + 1))
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)],
        check=True,
        capture_output=True,
    )
    # The clone holds only the last change: read as it is, the first three days look unmerged.
    with pytest.raises(DataError, match=r"shallow clone: its history starts on 2026-03-05"):
        read_repository(shallow)
    with pytest.raises(DataError, match=r"--since 2026-03-06"):
        read_repository(shallow, since=date(2026, 3, 5))
    assert read_repository(shallow, since=date(2026, 3, 6)).height == 1
    # The whole history is read as ever.
    assert read_repository(repo).height == 4
