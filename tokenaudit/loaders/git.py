"""A git repository as a commit log: the first-parent history of the default branch (or
`--branch`), each change credited to its author and every `Co-authored-by:` person, with line
counts from numstat after excluding binary, lock, generated and vendored files.

`.mailmap` is honoured (`%aN`/`%aE`); committers are never credited (GitHub is the committer of
every squash and merge). AI co-author trailers (Claude, Codex, Cursor, Copilot, Aider) are
tools, not people, and get no credit.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Final

import polars as pl

from tokenaudit.errors import DataError, InputMissingError
from tokenaudit.loaders.sources import InputFile

_SEP: Final = "\x1f"
_FORMAT: Final = _SEP.join(
    [
        "@@@%H",
        "%P",
        "%aN",
        "%aE",
        "%cI",
        "%s",
        "%(trailers:key=Co-authored-by,valueonly,separator=%x1e)",
    ]
)
#: Paths whose line counts say nothing about work done.
EXCLUDED_PATHS: Final = re.compile(
    r"(^|/)(package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|poetry\.lock|uv\.lock|"
    r"Pipfile\.lock|Cargo\.lock|Gemfile\.lock|go\.sum|composer\.lock|flake\.lock|bun\.lockb)$"
    r"|(^|/)(vendor|third_party|node_modules|dist|build)/"
    r"|\.min\.(js|css)$|\.pb\.go$|_pb2(_grpc)?\.py$|\.generated\.|\.snap$|(^|/)__snapshots__/"
)
_AI_COAUTHOR: Final = re.compile(
    r"@anthropic\.com|@openai\.com|@cursor\.com|aider|\+Copilot@users\.noreply\.github\.com|copilot@github\.com",
    re.IGNORECASE,
)
_PERSON: Final = re.compile(r"^\s*(?P<name>.*?)\s*<(?P<email>[^>]+)>\s*$")


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            check=False,
        )
    except FileNotFoundError as exc:
        raise DataError(str(repo), "git is not installed; --repo needs it") from exc
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["git failed"])[0]
        raise DataError(str(repo), f"git: {first}")
    return done.stdout


def default_branch(repo: Path) -> str:
    """origin's default branch when there is a remote, else the checked-out branch."""
    try:
        ref = _git(repo, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD").strip()
        if ref:
            return ref.removeprefix("refs/remotes/")
    except DataError:
        pass
    return "HEAD"


def read_repository(repo: Path, branch: str | None = None) -> pl.DataFrame:
    """Canonical commit rows (text columns plus `_line`) of one repository."""
    if not repo.exists():
        raise InputMissingError(str(repo))
    if (
        not (repo / ".git").exists()
        and _git(repo, "rev-parse", "--is-bare-repository").strip() != "true"
    ):
        raise DataError(str(repo), "not a git repository")
    ref = branch or default_branch(repo)
    out = _git(
        repo,
        "log",
        ref,
        "--first-parent",
        "--diff-merges=first-parent",
        "--numstat",
        "--no-renames",
        f"--format={_FORMAT}",
    )
    name = repo.resolve().name
    rows: list[dict[str, object]] = []
    for index, block in enumerate(out.split("@@@")[1:], start=1):
        header, _, body = block.partition("\n")
        fields = header.split(_SEP)
        if len(fields) < 7:
            continue
        sha, _parents, author, email, committed, subject, trailers = fields[:7]
        added = deleted = files = 0
        for line in body.splitlines():
            parts = line.split("\t")
            if len(parts) != 3:
                continue
            a, d, path = parts
            if a == "-" or EXCLUDED_PATHS.search(path):
                continue  # binary, lock, generated or vendored
            added += int(a)
            deleted += int(d)
            files += 1
        people = [email or author]
        for trailer in trailers.split("\x1e"):
            match = _PERSON.match(trailer)
            if match and not _AI_COAUTHOR.search(trailer):
                people.append(match["email"])
        people = list(dict.fromkeys(p.strip().lower() for p in people if p.strip()))
        share = len(people)
        for i, person in enumerate(people):
            rows.append(
                {
                    "_line": index,
                    "merged_at": committed,
                    "author": person,
                    # Integer shares that add up to the change's lines.
                    "lines_added": str(added // share + (1 if i < added % share else 0)),
                    "lines_deleted": str(deleted // share + (1 if i < deleted % share else 0)),
                    "sha": sha,
                    "files_changed": str(files),
                    "message": subject,
                    "repo": name,
                }
            )
    columns = [
        "merged_at",
        "author",
        "lines_added",
        "lines_deleted",
        "sha",
        "files_changed",
        "message",
        "repo",
    ]
    schema = {c: pl.String for c in columns} | {"_line": pl.Int64}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def repository_input(repo: Path, branch: str | None, workdir: Path) -> InputFile:
    """The repository's commit log as a canonical CSV in `workdir`, ready for the loaders."""
    from tokenaudit.schema import Kind

    rows = read_repository(repo, branch)
    target = workdir / f"git-{len(list(workdir.iterdir()))}-{repo.resolve().name}.csv"
    rows.drop("_line").write_csv(target)
    return InputFile(target, f"{repo} (git {branch or 'default branch'})", Kind.COMMITS)
