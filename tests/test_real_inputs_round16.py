"""Inputs as they come from the wild, round 16: real git histories (true merge commits, bots
that push fix-ups, reverts) and vendor exports as real users capture them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import polars as pl
import pytest

from tokenaudit.config import AuditConfig
from tokenaudit.loaders import load_input
from tokenaudit.loaders.git import read_repository, repository_input
from tokenaudit.panel import merged_work

MAINTAINER = {"GIT_AUTHOR_NAME": "Mia Maintainer", "GIT_AUTHOR_EMAIL": "mia@acme.example"}
ANA = {"GIT_AUTHOR_NAME": "Ana", "GIT_AUTHOR_EMAIL": "ana@acme.example"}
BOB = {"GIT_AUTHOR_NAME": "Bob", "GIT_AUTHOR_EMAIL": "bob@acme.example"}


def git(repo: Path, *args: str, **env: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    ).stdout


def commit(repo: Path, day: str, message: str, files: dict[str, int], **who: str) -> str:
    for name, lines in files.items():
        (repo / name).write_text("".join(f"{name} {i}\n" for i in range(lines)))
    git(repo, "add", ".")
    stamp = f"{day}T10:00:00Z"
    env = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, **(who or MAINTAINER)}
    git(repo, "commit", "-q", "-m", message, **env)
    return git(repo, "rev-parse", "HEAD").strip()


def merge(repo: Path, day: str, branch: str, subject: str, body: str = "") -> str:
    """A merge commit as GitHub's "Create a merge commit" writes it: authored by whoever
    pressed the button."""
    stamp = f"{day}T12:00:00Z"
    env = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, **MAINTAINER}
    message = ["-m", subject] + (["-m", body] if body else [])
    git(repo, "merge", "-q", "--no-ff", branch, *message, **env)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "committer@github.example")
    git(repo, "config", "user.name", "GitHub")
    commit(repo, "2026-03-02", "initial", {"README": 5})
    return repo


def rows_of(frame: pl.DataFrame, sha: str) -> list[tuple[str, str]]:
    return [(r["author"], r["lines_added"]) for r in frame.filter(pl.col("sha") == sha).to_dicts()]


# --------------------------------------------------------------------------- git: merge commits


def test_a_merge_commit_is_credited_to_who_wrote_the_branch_not_to_who_pressed_merge(
    repo: Path,
) -> None:
    git(repo, "checkout", "-q", "-b", "ana/parser")
    commit(repo, "2026-03-03", "parser: tokens", {"parser.py": 60}, **ANA)
    commit(repo, "2026-03-04", "parser: tests", {"test_parser.py": 40}, **ANA)
    git(repo, "checkout", "-q", "main")
    sha = merge(
        repo, "2026-03-05", "ana/parser", "Merge pull request #7 from ana/parser", "Add a parser"
    )
    frame = read_repository(repo, "main")
    # Before: the maintainer was credited with Ana's 100 lines, and Ana with nothing.
    assert rows_of(frame, sha) == [("ana@acme.example", "100")]
    assert frame.filter(pl.col("sha") == sha)["message"].to_list() == ["Add a parser"]
    assert frame.filter(pl.col("sha") == sha)["merged_at"].to_list() == [
        "2026-03-05T12:00:00+00:00"
    ]


def test_a_merge_of_several_authors_shares_the_lines_and_a_merge_bringing_nothing_is_its_own(
    repo: Path,
) -> None:
    git(repo, "checkout", "-q", "-b", "pair")
    commit(repo, "2026-03-03", "one", {"a.py": 30}, **ANA)
    commit(repo, "2026-03-03", "two", {"b.py": 30}, **BOB)
    commit(repo, "2026-03-04", "three", {"c.py": 41}, **ANA)
    git(repo, "checkout", "-q", "main")
    both = merge(repo, "2026-03-05", "pair", "Merge branch 'pair'")
    # A second merge of the same branch brings nothing new: the merger keeps it.
    stamp = {
        "GIT_AUTHOR_DATE": "2026-03-06T12:00:00Z",
        "GIT_COMMITTER_DATE": "2026-03-06T12:00:00Z",
    }
    tree = "HEAD^{tree}"
    again = git(
        repo,
        "commit-tree",
        tree,
        "-p",
        "HEAD",
        "-p",
        "pair~1",
        "-m",
        "Merge again",
        **stamp,
        **MAINTAINER,
    ).strip()
    git(repo, "update-ref", "refs/heads/main", again)
    frame = read_repository(repo, "main")
    assert rows_of(frame, both) == [("ana@acme.example", "51"), ("bob@acme.example", "50")]
    assert frame.filter(pl.col("sha") == both)["message"].unique().to_list() == [
        "Merge branch 'pair'"
    ]
    assert rows_of(frame, again) == [("mia@acme.example", "0")]
    # Every first-parent commit is still one change: the merges are not split or lost.
    assert frame["sha"].n_unique() == int(
        git(repo, "rev-list", "--first-parent", "--count", "main")
    )


def test_a_branch_merged_after_main_moved_on_credits_only_what_it_brings(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "2026-03-03", "feature work", {"f.py": 20}, **ANA)
    git(repo, "checkout", "-q", "main")
    direct = commit(repo, "2026-03-04", "hotfix on main", {"h.py": 7}, **BOB)
    # The branch catches up with main (Bob's commit comes in through it) and is merged.
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "--no-ff", "main", "-m", "Merge branch 'main' into feature", **ANA)
    commit(repo, "2026-03-05", "feature done", {"g.py": 10}, **ANA)
    git(repo, "checkout", "-q", "main")
    sha = merge(repo, "2026-03-06", "feature", "Merge pull request #9 from ana/feature", "Feature")
    frame = read_repository(repo, "main")
    assert rows_of(frame, direct) == [("bob@acme.example", "7")]
    assert rows_of(frame, sha) == [("ana@acme.example", "30")]


def test_a_bot_that_pushes_a_fix_up_takes_no_share_of_a_persons_change(repo: Path) -> None:
    bot = "pre-commit-ci[bot] <66853113+pre-commit-ci[bot]@users.noreply.github.com>"
    squash = commit(
        repo,
        "2026-03-03",
        f"feat: cache (#3)\n\nCo-authored-by: {bot}\nCo-authored-by: Bob <bob@acme.example>",
        {"cache.py": 90},
        **ANA,
    )
    dependabot = {
        "GIT_AUTHOR_NAME": "dependabot[bot]",
        "GIT_AUTHOR_EMAIL": "49699333+dependabot[bot]@users.noreply.github.com",
    }
    bump = commit(
        repo,
        "2026-03-04",
        "Bump x from 1 to 2 (#4)\n\nCo-authored-by: Ana <ana@acme.example>",
        {"req.txt": 4},
        **dependabot,
    )
    frame = read_repository(repo, "main")
    # Before: pre-commit-ci[bot] took a third of Ana's lines, excluded later as a bot.
    assert rows_of(frame, squash) == [("ana@acme.example", "45"), ("bob@acme.example", "45")]
    # A bot's own change stays the bot's (a person who helped shares it).
    assert rows_of(frame, bump) == [
        ("49699333+dependabot[bot]@users.noreply.github.com", "2"),
        ("ana@acme.example", "2"),
    ]


def test_a_revert_says_which_commit_of_the_history_it_reverts(repo: Path, tmp_path: Path) -> None:
    feature = commit(repo, "2026-03-03", "feat: risky (#5)", {"risky.py": 50}, **ANA)
    git(repo, "checkout", "-q", "-b", "side")
    side = commit(repo, "2026-03-04", "wip", {"wip.py": 10}, **ANA)
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "side", "-m", "Merge branch 'side'", **ANA)
    # The squashed revert: its subject carries the PR number, its body the reverted commit.
    revert = commit(
        repo,
        "2026-03-05",
        f'Revert "feat: risky (#5)" (#6)\n\nThis reverts commit {feature}.',
        {"risky.py": 0},
        **BOB,
    )
    # A commit that reverts a commit of no merged change names nothing of this history.
    other = commit(
        repo, "2026-03-06", f"undo wip\n\nThis reverts commit {side[:10]}.", {"x.py": 5}, **BOB
    )
    frame = read_repository(repo, "main")
    messages = dict(zip(frame["sha"], frame["message"], strict=True))
    # Before: only the subject was read, so no revert of a squash-merged change was recognised.
    assert messages[revert] == f'Revert "feat: risky (#5)" (#6)\nThis reverts commit {feature}.'
    assert messages[other] == "undo wip"
    # So the audit cancels both the change and its revert.
    loaded = load_input(repository_input(repo, "main", tmp_path), tmp_path)
    assert loaded is not None
    credits = merged_work(loaded.frame.collect(), AuditConfig()).credits
    why_not = dict(zip(credits["sha"], credits["why_not"], strict=True))
    assert (why_not[feature], why_not[revert], why_not[other]) == ("reverted", "revert", None)
