"""A git repository as a commit log: the first-parent history of the default branch (or
`--branch`), each change credited to its author and every `Co-authored-by:` person, with line
counts from numstat after excluding binary, lock, generated and vendored files.

`.mailmap` is honoured (`%aN`/`%aE`, and `git check-mailmap` for co-authors); committers are
never credited (GitHub is the committer of every squash and merge). AI co-author trailers
(Claude, Codex, Cursor, Copilot, Aider) are tools, not people, and get no credit.
"""

from __future__ import annotations

import re
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import polars as pl

from tokenaudit.errors import DataError, InputMissingError, path_text
from tokenaudit.loaders.sources import InputFile

_SEP: Final = "\x1f"
#: Each commit starts with a NUL, which no subject, name or path can hold (a subject with
#: "@@@" once split a commit in two and lost it). The subject comes last, so a unit separator
#: in it stays in it.
_RECORD: Final = "\x00"
_FORMAT: Final = "%x00" + _SEP.join(
    [
        "%H",
        "%P",
        "%aN",
        "%aE",
        "%cI",
        "%(trailers:key=Co-authored-by,valueonly,separator=%x1e)",
        "%s",
    ]
)
_FIELDS: Final = 7
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
    return _git_input(repo, None, *args)


def _git_input(repo: Path, stdin: str | None, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            input=stdin,
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


def read_repository(
    repo: Path, branch: str | None = None, since: date | None = None
) -> pl.DataFrame:
    """Canonical commit rows (text columns plus `_line`) of one repository; a shallow clone
    only for an audit that starts (`since`) after its history does."""
    if not repo.exists():
        raise InputMissingError(str(repo))
    if (
        not (repo / ".git").exists()
        and _git(repo, "rev-parse", "--is-bare-repository").strip() != "true"
    ):
        raise DataError(str(repo), "not a git repository")
    out = _first_parent_log(repo, branch or default_branch(repo))
    name = path_text(repo.resolve().name)
    rows: list[dict[str, object]] = []
    blocks = []
    for block in out.split(_RECORD)[1:]:
        header, _, body = block.partition("\n")
        blocks.append((header.split(_SEP, _FIELDS - 1), body))
    named = {p for fields, _ in blocks if len(fields) == _FIELDS for p in _coauthors(fields[5])}
    coauthors = _mailmapped(repo, named)
    for index, (fields, body) in enumerate(blocks, start=1):
        if len(fields) != _FIELDS or not fields[0]:
            # Counted as a rejected row (it has no author or time), never left out unsaid.
            rows.append({"_line": index, "sha": fields[0], "message": "unreadable git log entry"})
            continue
        sha, _parents, author, email, committed, trailers, subject = fields
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
        people += [coauthors.get(person, person)[1] for person in _coauthors(trailers)]
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
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    _refuse_a_shallow_history(repo, frame, since)
    return frame


def _first_parent_log(repo: Path, ref: str) -> str:
    return _git(
        repo,
        "log",
        ref,
        "--first-parent",
        "--diff-merges=first-parent",
        "--numstat",
        "--no-renames",
        f"--format={_FORMAT}",
    )


def _refuse_a_shallow_history(repo: Path, frame: pl.DataFrame, since: date | None) -> None:
    """A shallow clone (actions/checkout fetches one commit unless told otherwise) has lost the
    changes merged before its oldest commit: read as it is, everyone would look as if they had
    merged nothing then. `DataError` unless the audit starts after that commit's day."""
    if _git(repo, "rev-parse", "--is-shallow-repository").strip() != "true":
        return
    days = [date.fromisoformat(m[:10]) for m in frame["merged_at"].drop_nulls().to_list()]
    if not days:
        return
    oldest = min(days)
    if since is not None and since > oldest:
        return
    raise DataError(
        str(repo),
        f"a shallow clone: its history starts on {oldest}, and the changes merged before are "
        "missing (people would look as if they had merged nothing); fetch the whole history "
        f"(git fetch --unshallow), or audit from --since {oldest + timedelta(days=1)}",
    )


def _coauthors(trailers: str) -> list[tuple[str, str]]:
    """The (name, email) of every person in `Co-authored-by:` trailer values (AI tools left out)."""
    people = []
    for value in trailers.split("\x1e"):
        match = _PERSON.match(value)
        if match and not _AI_COAUTHOR.search(value):
            people.append((match["name"], match["email"]))
    return people


def _mailmapped(repo: Path, people: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """Each co-author as `.mailmap` names them, as `%aN`/`%aE` name an author: one
    `git check-mailmap --stdin` for them all."""
    if not people:
        return {}
    asked = sorted(people)
    lines = [f"{n} <{e}>" if n else f"<{e}>" for n, e in asked]
    out = _git_input(repo, "\n".join(lines) + "\n", "check-mailmap", "--stdin").splitlines()
    mapped = {}
    for person, line in zip(asked, out, strict=False):
        match = _PERSON.match(line)
        if match:
            mapped[person] = (match["name"], match["email"])
    return mapped


def repository_input(
    repo: Path, branch: str | None, workdir: Path, since: date | None = None
) -> InputFile:
    """The repository's commit log as a canonical CSV in `workdir`, ready for the loaders."""
    from tokenaudit.schema import Kind

    rows = read_repository(repo, branch, since)
    target = workdir / f"git-{len(list(workdir.iterdir()))}-{path_text(repo.resolve().name)}.csv"
    rows.drop("_line").write_csv(target)
    return InputFile(target, f"{path_text(repo)} (git {branch or 'default branch'})", Kind.COMMITS)
