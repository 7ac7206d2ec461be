"""`inspect`: what each input was detected as, what was read from it, and who could be matched.

Works on any set of inputs (a usage log alone is fine), so that an auditor can check the data
before trusting a scan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import polars as pl

from tokenaudit.config import AuditConfig
from tokenaudit.errors import DataError, RefusedExport
from tokenaudit.identities import IdentityMap
from tokenaudit.loaders import InputFile, LoadedInput, load_input
from tokenaudit.loaders.readers import read_raw
from tokenaudit.panel import split_duplicate_requests
from tokenaudit.rejects import RejectCode, code_of
from tokenaudit.schema import TOKEN_COLUMNS, Kind


@dataclass(frozen=True)
class FileReport:
    name: str
    kind: str
    detected_as: str
    rows: int
    used: int
    rejected: int
    rejects_by_reason: list[tuple[str, int]]
    first: str | None
    last: str | None
    accounts: int
    note: str


@dataclass(frozen=True)
class Coverage:
    """The two sides of the usage–commit join that found no partner."""

    usage_accounts: int
    commit_authors: int
    matched: int
    #: (account, tokens) of usage accounts with no merged change credited.
    usage_without_commits: list[tuple[str, int]]
    #: (author, changes) of commit authors with no usage.
    commits_without_usage: list[tuple[str, int]]


@dataclass(frozen=True)
class SkippedFile:
    """A file found in a directory and not read, and why."""

    name: str
    reason: str
    #: `scan` stops on this file (its content cannot be read at all); `inspect` lists it and
    #: goes on, so that one bad file does not hide what the others are.
    stops_scan: bool = False


@dataclass(frozen=True)
class Inspection:
    files: list[FileReport]
    skipped: list[SkippedFile]
    coverage: Coverage

    def as_dict(self) -> dict[str, Any]:
        return {
            # 2: `skipped` lists objects (name, reason, stops_scan) instead of strings.
            "schema_version": 2,
            "files": [f.__dict__ for f in self.files],
            "skipped": [s.__dict__ for s in self.skipped],
            "identity_coverage": {
                "usage_accounts": self.coverage.usage_accounts,
                "commit_authors": self.coverage.commit_authors,
                "matched": self.coverage.matched,
                "usage_without_commits": [
                    {"account": a, "tokens": t} for a, t in self.coverage.usage_without_commits
                ],
                "commits_without_usage": [
                    {"author": a, "changes": c} for a, c in self.coverage.commits_without_usage
                ],
            },
        }


def _reason_key(reason: str) -> str:
    """A reason without its offending value, to stand for its group."""
    reason = re.sub(r" '[^']*'$", "", reason)
    return re.sub(r" of the row kept at .*$", "", reason)


_COLUMN_LABEL: Final = re.compile(r"^column '([^']*)': ")


def _count_by_code(reasons: list[tuple[str, str]]) -> dict[str, int]:
    """Rejects grouped by what went wrong (their code, in the column it went wrong in), each
    group named by its first reason without the offending value."""
    names: dict[tuple[str, str], str] = {}
    sizes: dict[tuple[str, str], int] = {}
    for code, reason in reasons:
        label = _COLUMN_LABEL.match(reason)
        key = (code or RejectCode.OTHER.value, label[1] if label else "")
        names.setdefault(key, _reason_key(reason))
        sizes[key] = sizes.get(key, 0) + 1
    counts: dict[str, int] = {}
    for key, n in sizes.items():
        counts[names[key]] = counts.get(names[key], 0) + n
    return counts


def _not_a_log(file: InputFile, workdir: Path) -> str:
    """Why a file of a directory was of no kind: the columns it has."""
    try:
        columns = read_raw(file, workdir).columns
    except DataError as exc:  # pragma: no cover - it was just read without error
        return exc.why
    shown = ", ".join(columns[:6]) + (" …" if len(columns) > 6 else "")
    return f"not usage, commits or identities (columns: {shown or 'none'})"


def load_each(
    files: list[InputFile], cfg: AuditConfig, workdir: Path
) -> tuple[list[LoadedInput], list[SkippedFile]]:
    """Every file loaded, or skipped with its reason. As in `scan`, a file named on the command
    line that cannot serve is an error; a directory's file is skipped with a note, and one that
    `scan` would stop on is listed as such instead of ending the inspection."""
    loaded: list[LoadedInput] = []
    skipped: list[SkippedFile] = []
    for file in files:
        try:
            item = load_input(file, workdir, assume_tz=cfg.assume_tz, account=cfg.account)
        except RefusedExport as exc:
            if not file.in_directory:
                raise
            skipped.append(SkippedFile(file.name, exc.why))
            continue
        except DataError as exc:
            if not file.in_directory:
                raise
            where = f"line {exc.line}: " if exc.line is not None else ""
            skipped.append(SkippedFile(file.name, where + exc.why, stops_scan=True))
            continue
        if item is None:
            skipped.append(SkippedFile(file.name, _not_a_log(file, workdir)))
        else:
            loaded.append(item)
    return loaded, skipped


def inspect_inputs(files: list[InputFile], cfg: AuditConfig, workdir: Path) -> Inspection:
    loaded, skipped = load_each(files, cfg, workdir)
    reports: list[FileReport] = []
    good: dict[Kind, list[pl.DataFrame]] = {k: [] for k in Kind}
    for item in loaded:
        frame = item.frame.collect().drop("_zone_less")
        ok = frame.filter(pl.col("_reject").is_null()).drop("_reject_code")
        flagged = frame.filter(pl.col("_reject").is_not_null())
        reasons: list[tuple[str, str]] = list(
            zip(flagged["_reject_code"].to_list(), flagged["_reject"].to_list(), strict=True)
        )
        reasons += [(code_of(r).value, r) for _, r in item.unreadable]
        if item.kind is Kind.USAGE:
            ok, dropped = split_duplicate_requests(ok.drop("_reject"))
            reasons += [(RejectCode.DUPLICATE_REQUEST.value, r) for r in dropped["_reject"]]
        else:
            ok = ok.drop("_reject")
        good[item.kind].append(ok)
        counts = _count_by_code(reasons)
        time_col = {Kind.USAGE: "timestamp", Kind.COMMITS: "merged_at", Kind.PANEL: "day"}.get(
            item.kind
        )
        who_col = "author" if item.kind is Kind.COMMITS else "account"
        first = ok[time_col].min() if time_col and ok.height else None
        last = ok[time_col].max() if time_col and ok.height else None
        reports.append(
            FileReport(
                name=item.file.name,
                kind=item.kind.value,
                detected_as=item.fmt,
                rows=frame.height + len(item.unreadable),
                used=ok.height,
                rejected=len(reasons),
                rejects_by_reason=sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
                first=str(first) if first is not None else None,
                last=str(last) if last is not None else None,
                accounts=ok[who_col].n_unique() if ok.height else 0,
                note=_note(item),
            )
        )
    identities = (
        pl.concat(good[Kind.IDENTITIES])
        if good[Kind.IDENTITIES]
        else pl.DataFrame(
            schema={"alias": pl.String, "account": pl.String, "team": pl.String, "role": pl.String}
        )
    )
    idmap = IdentityMap.from_frame(identities)
    usage_tokens: dict[str, int] = {}
    for frame in good[Kind.USAGE] + good[Kind.PANEL]:
        resolved = idmap.resolve_column(frame, "account")
        sums = resolved.group_by("account").agg(pl.sum_horizontal(*TOKEN_COLUMNS).sum().alias("t"))
        for account, tokens in sums.iter_rows():
            usage_tokens[account] = usage_tokens.get(account, 0) + int(tokens)
    author_changes: dict[str, int] = {}
    for frame in good[Kind.COMMITS]:
        resolved = idmap.resolve_column(frame, "author")
        for author, n in resolved.group_by("author").len().iter_rows():
            author_changes[author] = author_changes.get(author, 0) + int(n)
    matched = set(usage_tokens) & set(author_changes)
    coverage = Coverage(
        usage_accounts=len(usage_tokens),
        commit_authors=len(author_changes),
        matched=len(matched),
        usage_without_commits=sorted(
            ((a, t) for a, t in usage_tokens.items() if a not in author_changes),
            key=lambda x: (-x[1], x[0]),
        ),
        commits_without_usage=sorted(
            ((a, c) for a, c in author_changes.items() if a not in usage_tokens),
            key=lambda x: (-x[1], x[0]),
        ),
    )
    return Inspection(
        sorted(reports, key=lambda r: r.name), sorted(skipped, key=lambda s: s.name), coverage
    )


def _note(item: LoadedInput) -> str:
    """The loader's note on a file, and whether its pages say more of the listing follow."""
    more = "every page in it says more follow" if item.listing == "continues" else ""
    return "; ".join(n for n in (item.note, more) if n)
