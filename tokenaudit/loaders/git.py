"""A git repository as a commit log: the first-parent history of the default branch (or
`--branch`), each change credited to its author and every `Co-authored-by:` person, with line
counts from numstat after excluding binary, lock, generated and vendored files.

`.mailmap` is honoured (`%aN`/`%aE`, and `git check-mailmap` for co-authors); committers are
never credited (GitHub is the committer of every squash and merge). AI co-author trailers
(Claude, Codex, Cursor, Copilot, Aider) are tools, not people, and get no credit.

A merge commit on the first-parent history (GitHub's "Create a merge commit", GitLab's default)
is authored by whoever pressed the button, not by who wrote the change: it is credited to the
authors (and co-authors) of the commits it brings in, and to its own author only when it
brings in none. Its subject ("Merge pull request #12 from ana/fix") says nothing of the change,
so its message is the pull request's title from its body; a "This reverts commit <sha>" line
of the commit, or of a commit a merge brings in, is kept in the message so that reverts are
recognised.
"""

from __future__ import annotations

import re
import subprocess
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

import polars as pl

from tokenaudit.errors import DataError, InputMissingError, path_text
from tokenaudit.loaders.sources import InputFile

_SEP: Final = "\x1f"
_TRAILERS: Final = "%(trailers:key=Co-authored-by,valueonly,separator=%x1e)"
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
        _TRAILERS,
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
        # The repository is there but cannot be read on this machine: exit 66, as for an
        # unreadable file, not 65 (nothing is wrong with its content).
        raise InputMissingError(
            str(repo), "cannot be read: git is not installed (--repo needs git on PATH)"
        ) from exc
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
    repo: Path, branch: str | None = None, since: date | None = None, tz: str = "UTC"
) -> pl.DataFrame:
    """Canonical commit rows (text columns plus `_line`) of one repository; a shallow clone
    only for an audit that starts (`since`, a day in `tz`) after its history does."""
    if not repo.exists():
        raise InputMissingError(str(repo))
    repo = _work_tree(repo)
    ref = _resolve(repo, branch)
    edge = _shallow_edge(repo)
    out = _first_parent_log(repo, ref)
    name = path_text(repo.resolve().name)
    rows: list[dict[str, object]] = []
    blocks = []
    for block in out.split(_RECORD)[1:]:
        header, _, body = block.partition("\n")
        blocks.append((header.split(_SEP, _FIELDS - 1), body))
    history = _History(repo, ref, [f[0] for f, _ in blocks if len(f) == _FIELDS and f[0]], edge)
    for index, (fields, body) in enumerate(blocks, start=1):
        if len(fields) != _FIELDS or not fields[0]:
            # Counted as a rejected row (it has no author or time), never left out unsaid.
            rows.append({"_line": index, "sha": fields[0], "message": "unreadable git log entry"})
            continue
        sha, _parents, author, email, committed, trailers, subject = fields
        added, deleted, files = _numstat(body)
        people = history.credited(sha, email or author, trailers)
        if not people:
            # A merge whose branch lies wholly beyond a shallow clone's edge: who wrote it is
            # unknown, and whoever pressed merge did not. A rejected row (no author), not a
            # change credited to the wrong person.
            rows.append({"_line": index, "merged_at": committed, "sha": sha, "repo": name})
            continue
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
                    "message": history.message(sha, subject),
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
    _refuse_a_shallow_history(repo, frame, since, edge, tz)
    return frame


def _work_tree(repo: Path) -> Path:
    """`repo` when it is a work tree's top (a linked worktree and a submodule included) or a
    bare repository; the work tree of a `.git` folder; else `DataError`. A folder inside a
    work tree is refused naming the top: read as it is, it would have been the whole history
    of whatever repository holds it (a home directory kept in git, say)."""
    if not repo.is_dir():
        raise DataError(str(repo), "not a git repository: --repo takes a repository's folder")
    if (repo / ".git").exists():
        return repo
    inside, bare = _git(repo, "rev-parse", "--is-inside-git-dir", "--is-bare-repository").split()
    if bare == "true":
        return repo
    if inside == "true":
        # `repo/.git` itself: read as it is, `.mailmap` (in the work tree) would be missed and
        # the report would name the repository ".git".
        if repo.resolve().name == ".git" and (repo.resolve().parent / ".git").is_dir():
            return repo.resolve().parent
        raise DataError(str(repo), "a git folder, not a repository: give --repo its work tree")
    try:
        top = _git(repo, "rev-parse", "--show-toplevel").strip()
    except DataError:
        top = ""
    if top:
        raise DataError(
            str(repo), f"not the top of a git repository: it is inside {top} (--repo {top})"
        )
    raise DataError(str(repo), "not a git repository")


def _resolve(repo: Path, branch: str | None) -> str:
    """The commit `branch` (or the default branch) names. `--branch` is one branch, tag or
    commit, never an option (`--output=FILE` made `git log` write that file) nor a range."""
    ref = branch or default_branch(repo)
    if not ref.startswith("-"):
        try:
            return _git(
                repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
            ).strip()
        except DataError:
            pass
    if branch is None and ref != "HEAD":
        # origin's HEAD names a branch pruned since. Reading the checked-out branch instead
        # would credit its unmerged work as merged.
        raise DataError(
            str(repo), f"origin's default branch {ref} is gone (pruned?): give --branch BRANCH"
        )
    if branch is None:
        raise DataError(str(repo), "an empty repository: it has no commits yet")
    raise DataError(str(repo), f"--branch {branch!r}: no such branch, tag or commit")


def _shallow_edge(repo: Path) -> frozenset[str]:
    """The commits at a shallow clone's edge (whose parents were not fetched); none in a
    whole clone."""
    if _git(repo, "rev-parse", "--is-shallow-repository").strip() != "true":
        return frozenset()
    path = Path(_git(repo, "rev-parse", "--path-format=absolute", "--git-path", "shallow").strip())
    try:
        return frozenset(path.read_text(encoding="ascii", errors="replace").split())
    except OSError:
        return frozenset()


def _numstat(body: str) -> tuple[int, int, int]:
    """Lines added, deleted and files changed of a commit's numstat lines, leaving out binary,
    lock, generated and vendored files."""
    added = deleted = files = 0
    for line in body.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        a, d, path = parts
        if a == "-" or EXCLUDED_PATHS.search(_new_path(path)):
            continue
        added += int(a)
        deleted += int(d)
        files += 1
    return added, deleted, files


_RENAMED: Final = re.compile(r"^(?P<pre>.*)\{(?P<old>.*) => (?P<new>.*)\}(?P<post>.*)$")
_ESCAPES: Final = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, '"': 34, "\\": 92}


def _new_path(path: str) -> str:
    """The path a numstat line names, after a rename (`src/{old => new}/x.py`, `a => b`), and
    without the C quoting git gives a name with a tab, quote or control character."""
    if " => " in path:
        renamed = _RENAMED.match(path)
        if renamed:
            path = (renamed["pre"] + renamed["new"] + renamed["post"]).replace("//", "/")
        else:
            path = path.split(" => ", 1)[1]
    if len(path) < 2 or not (path.startswith('"') and path.endswith('"')):
        return path
    out = bytearray()
    text, i = path[1:-1], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            code = text[i + 1 : i + 4]
            if len(code) == 3 and all(c in "01234567" for c in code):
                out.append(int(code, 8) & 0xFF)
                i += 4
                continue
            if text[i + 1] in _ESCAPES:
                out.append(_ESCAPES[text[i + 1]])
                i += 2
                continue
        out += char.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "replace")


def _first_parent_log(repo: Path, ref: str) -> str:
    """The first-parent log with numstat. A moved file is a rename (`-M`): a move is not
    work, so it counts its changed lines only (`--no-renames` counted a moved file's every
    line as added and deleted). Names are left unquoted, and text is UTF-8 whatever the
    repository's `i18n.commitEncoding`."""
    return _git(
        repo,
        "-c",
        "core.quotePath=false",
        "log",
        "--first-parent",
        "--diff-merges=first-parent",
        "--numstat",
        "-M",
        "--encoding=UTF-8",
        "--no-show-signature",
        f"--format={_FORMAT}",
        "--end-of-options",
        ref,
    )


def _refuse_a_shallow_history(
    repo: Path, frame: pl.DataFrame, since: date | None, edge: frozenset[str], tz: str
) -> None:
    """A shallow clone (actions/checkout fetches one commit unless told otherwise) has lost the
    changes merged before its oldest commit: read as it is, everyone would look as if they had
    merged nothing then, and git diffs that commit against nothing (its numstat is the whole
    tree). `DataError` unless the audit starts after that commit's day: the latest day of the
    edge commits, not the earliest day of the log (a commit after the edge may carry an
    earlier date, and the edge's whole tree was then credited inside the audit)."""
    if not edge:
        return
    days = [_day_in(m, tz) for m in frame["merged_at"].drop_nulls().to_list()]
    if not days:
        return
    ends = frame.filter(pl.col("sha").is_in(list(edge)))["merged_at"].drop_nulls().to_list()
    oldest = max([min(days), *(_day_in(m, tz) for m in ends)])
    if since is not None and since > oldest:
        return
    raise DataError(
        str(repo),
        f"a shallow clone: its history starts on {oldest}, and the changes merged before are "
        "missing (people would look as if they had merged nothing); fetch the whole history "
        f"(git fetch --unshallow), or audit from --since {oldest + timedelta(days=1)}",
    )


def _day_in(stamp: str, tz: str) -> date:
    """The day an instant falls on in the audit's `--tz`: a commit at 23:30 −05:00 on the 4th is
    the 5th in UTC, and judged by its own day an audit from the 5th let a shallow edge's whole
    tree in."""
    from zoneinfo import ZoneInfo

    try:
        at = datetime.fromisoformat(stamp)
        zone = ZoneInfo(tz)
    except (ValueError, KeyError, OSError):
        return date.fromisoformat(stamp[:10])
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(zone).date()


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


#: One commit of the ancestry log: sha, parents, author e-mail and name, co-author trailers,
#: and the whole message last, so that a separator in it stays in it.
_ANCESTRY: Final = "%x00" + _SEP.join(["%H", "%P", "%aE", "%aN", _TRAILERS, "%B"])
#: Subjects git, GitHub and GitLab write for a merge; the title of what was merged follows.
_MERGE_SUBJECT: Final = re.compile(
    r"^(Merge (pull request #|branch |remote-tracking branch )|Merged in \S+ \(pull request #)"
)
#: Body lines that are not a pull request's title.
_NOT_A_TITLE: Final = re.compile(
    r"^(See merge request |This reverts commit |\(cherry picked |#? ?Conflicts:|[\w-]+-by: )",
    re.IGNORECASE,
)
_REVERTS: Final = re.compile(r"This reverts commit ([0-9a-fA-F]{7,40})")
#: A GitHub App (dependabot[bot], pre-commit-ci[bot], github-actions[bot] …).
_BOT: Final = re.compile(r"\[bot\]", re.IGNORECASE)


@dataclass(frozen=True)
class _Commit:
    parents: tuple[str, ...]
    author: str
    trailers: str
    message: str


def _ancestry(repo: Path, ref: str) -> dict[str, _Commit]:
    """Every commit reachable from `ref`, merged side branches included, by sha."""
    commits = {}
    log = _git(repo, "log", "--encoding=UTF-8", f"--format={_ANCESTRY}", "--end-of-options", ref)
    for record in log.split(_RECORD)[1:]:
        fields = record.split(_SEP, 5)
        if len(fields) == 6:
            sha, parents, email, name, trailers, message = fields
            commits[sha] = _Commit(tuple(parents.split()), email or name, trailers, message)
    return commits


def _brought_in(
    chain: list[str], commits: dict[str, _Commit], edge: frozenset[str] = frozenset()
) -> tuple[dict[str, list[str]], set[str]]:
    """For each merge of the first-parent `chain` (newest first, as `git log` lists it), the
    commits it brings in: those reachable from its other parents and not from its first; and
    the merges whose branch reaches a shallow clone's `edge` (what they bring in is partly
    unknown).

    The chain is walked oldest first, and what each commit brings in is added to what is
    already reachable, so that every commit is visited once, however many merges there are."""
    reachable: set[str] = set()
    brought: dict[str, list[str]] = {}
    cut: set[str] = set()
    for sha in reversed(chain):
        commit = commits.get(sha)
        if commit is not None and len(commit.parents) > 1:
            found = []
            stack = list(reversed(commit.parents[1:]))
            while stack:
                other = stack.pop()
                side = commits.get(other)
                if other in reachable:
                    continue  # already on the branch
                if side is None or other in edge:
                    cut.add(sha)  # its parents lie beyond a shallow clone's edge
                if side is None:
                    continue
                reachable.add(other)
                found.append(other)
                stack.extend(reversed(side.parents))
            brought[sha] = found
        reachable.add(sha)
    return brought, cut


def _pr_title(message: str) -> str:
    """The first line of a merge commit's body that is not a trailer or a note, or ""."""
    for line in message.splitlines()[1:]:
        text = line.strip()
        if text and not _NOT_A_TITLE.match(text):
            return text
    return ""


class _History:
    """What the first-parent log does not say: who wrote the commits a merge brings in, and
    the messages' bodies (pull request titles, revert lines)."""

    def __init__(
        self, repo: Path, ref: str, chain: list[str], edge: frozenset[str] = frozenset()
    ) -> None:
        self.commits = _ancestry(repo, ref) if chain else {}
        self.brought, self.cut = _brought_in(chain, self.commits, edge)
        named = {p for c in self.commits.values() for p in _coauthors(c.trailers)}
        self.mailmap = _mailmapped(repo, named)
        self.chain = sorted(chain)

    def _coauthors(self, trailers: str) -> list[str]:
        return [self.mailmap.get(p, p)[1] for p in _coauthors(trailers)]

    def credited(self, sha: str, author: str, trailers: str) -> list[str]:
        """Who is credited with a first-parent commit, first the one who gets any remainder.
        A merge: the authors of the commits it brings in, most commits first, then its
        co-authors. Bots that share a person's change (a formatter's fix-up commit or
        `Co-authored-by: pre-commit-ci[bot]`) get no share of it."""
        counts: Counter[str] = Counter()
        for side in self.brought.get(sha, []):
            commit = self.commits[side]
            if len(commit.parents) < 2:
                counts.update(_people([commit.author, *self._coauthors(commit.trailers)]))
        ranked = [p for p, _ in counts.most_common()]
        # A merge's people are ranked by commits, and a bot's fix-up may tie with, or outnumber,
        # the person's own: a bot leads a merge only when it brings in nothing else.
        humans = [p for p in ranked if not _BOT.search(p)]
        if not ranked and sha in self.cut:
            return []  # its branch lies beyond a shallow clone's edge: its authors are unknown
        people = _people(humans or ranked or [author])
        people = _people([*people, *self._coauthors(trailers)])
        return people[:1] + [p for p in people[1:] if not _BOT.search(p)]

    def message(self, sha: str, subject: str) -> str:
        """The subject (a merge's: the title of what it merged), and a line for each commit
        of this history it reverts."""
        commit = self.commits.get(sha)
        if commit is None:
            return subject
        title = subject
        if len(commit.parents) > 1 and _MERGE_SUBJECT.match(subject):
            title = _pr_title(commit.message) or subject
        texts = [commit.message, *(self.commits[s].message for s in self.brought.get(sha, []))]
        reverted = dict.fromkeys(
            m.lower() for text in texts for m in _REVERTS.findall(text) if self._on_chain(m)
        )
        return "\n".join(
            [title, *(f"This reverts commit {r}." for r in reverted if not sha.startswith(r))]
        )

    def _on_chain(self, prefix: str) -> bool:
        prefix = prefix.lower()
        at = bisect_left(self.chain, prefix)
        return at < len(self.chain) and self.chain[at].startswith(prefix)


def _people(names: list[str]) -> list[str]:
    """Names stripped and lower-cased, each once, in order."""
    return list(dict.fromkeys(p.strip().lower() for p in names if p.strip()))


def repository_input(
    repo: Path, branch: str | None, workdir: Path, since: date | None = None, tz: str = "UTC"
) -> InputFile:
    """The repository's commit log as a canonical CSV in `workdir`, ready for the loaders."""
    from tokenaudit.schema import Kind

    rows = read_repository(repo, branch, since, tz)
    target = workdir / f"git-{len(list(workdir.iterdir()))}-{path_text(repo.resolve().name)}.csv"
    rows.drop("_line").write_csv(target)
    return InputFile(target, f"{path_text(repo)} (git {branch or 'default branch'})", Kind.COMMITS)
