"""Turning command-line PATH arguments into a sorted list of input files."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from tokenaudit.errors import InputMissingError, path_text
from tokenaudit.schema import Kind


@dataclass(frozen=True)
class InputFile:
    """One file to read. `name` is what messages call it; `in_directory` marks files found by
    walking a directory, which may be skipped (with a note) when they are not logs at all."""

    path: Path
    name: str
    forced_kind: Kind | None = None
    in_directory: bool = False
    #: The directory named on the command line that this file was found in (None for files).
    root: Path | None = None
    #: Set for a file found in a directory whose name or place says it is not a log (a README,
    #: an editor's settings, an image): it is skipped unread, and counted.
    not_a_log: str | None = None
    #: Refuse compressed content that expands past this many bytes (None: the default rule,
    #: see `readers.expansion_limit`).
    max_expanded: int | None = None


#: File names that are never logs (fnmatch patterns, matched case-insensitively). Not `*.txt`:
#: Excel's "Unicode Text" export is a `.txt` file of usage.
_NOT_LOG_NAMES: Final = (
    "*.meta.json",
    "settings.json",
    "settings.local.json",
    ".ds_store",
    "thumbs.db",
    "desktop.ini",
    "readme*",
    "license*",
    "*.md",
    "*.rst",
    "*.lock",
    "*.log.lock",
    "*.pid",
    "*.png",
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.svg",
    "*.webp",
    "*.ico",
    "*.bmp",
    "*.pdf",
    "*.html",
    "*.py",
    "*.sh",
    # Markers Spark and Hadoop write beside their part files.
    "_success",
    "_committed_*",
    "_started_*",
    ".*.crc",
    "*.crc",
)
#: Folders (anywhere under a scanned directory) that hold tool state, not logs: Claude Code's
#: `todos/`, `shell-snapshots/`, `statsig/`, `ide/`, `plugins/`.
_NOT_LOG_FOLDERS: Final = frozenset({"todos", "shell-snapshots", "statsig", "ide", "plugins"})
#: Hidden files that are clutter worth counting (other hidden entries are passed over silently,
#: as `ls` does: `.git/` alone would swamp the note).
_COUNTED_HIDDEN: Final = frozenset({".ds_store"})


def not_a_log(relative: Path) -> str | None:
    """Why a file at `relative` (inside a scanned directory) is not a log, or None."""
    folders = {part.lower() for part in relative.parts[:-1]}
    inside = sorted(folders & _NOT_LOG_FOLDERS)
    if inside:
        return f"tool state under {inside[0]}/"
    name = relative.name.lower()
    for pattern in _NOT_LOG_NAMES:
        if fnmatch.fnmatchcase(name, pattern):
            return f"named {pattern}"
    return None


def _walk(root: Path) -> list[tuple[Path, str | None]]:
    """Every non-hidden regular file under `root`, plus counted clutter such as `.DS_Store`,
    and every other entry that is not followed or not read, with why: a link to a directory (a
    walk that followed links could loop, or read one folder twice), a link to nothing, a FIFO
    or a socket (opening one would wait for a writer). Skipped, they are still named: no input
    is dropped in silence.

    A subdirectory that cannot be listed is an unreadable input (exit 66), not silence."""
    found: list[tuple[Path, str | None]] = []

    def fail(exc: OSError) -> None:
        where = exc.filename or str(root)
        raise InputMissingError(str(where), f"cannot read directory: {exc.strerror or exc}")

    for here, dirs, names in os.walk(root, onerror=fail):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in dirs:
            path = Path(here) / name
            if path.is_symlink():
                found.append((path, "a link to a directory, not followed (name it to scan it)"))
        for name in names:
            if name.startswith(".") and name.lower() not in _COUNTED_HIDDEN:
                continue
            path = Path(here) / name
            if path.is_file():
                found.append((path, None))
            else:
                found.append((path, _not_a_file(path)))
    return sorted(found)


def _not_a_file(path: Path) -> str:
    """Why a directory's entry that is no regular file is not read."""
    if path.is_symlink() and not path.exists():
        return "a link to nothing"
    return "not a regular file"


def expand_paths(
    paths: Iterable[str | Path],
    forced_kind: Kind | None = None,
    *,
    max_expanded: int | None = None,
) -> list[InputFile]:
    """Expand files and directories (recursively, hidden entries skipped) into input files.

    Order is by path so that the result never depends on the file system's listing order.
    A directory with no file that could be a log is missing input (exit 66), named.
    """
    files: list[InputFile] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                raise InputMissingError(str(path), "cannot read directory: permission denied")
            found = [
                InputFile(
                    p,
                    path_text(p),
                    forced_kind,
                    in_directory=True,
                    root=path,
                    not_a_log=unread or not_a_log(p.relative_to(path)),
                    max_expanded=max_expanded,
                )
                for p, unread in _walk(path)
            ]
            if not any(f.not_a_log is None for f in found):
                skipped = f" ({len(found)} file(s) that are not logs skipped)" if found else ""
                raise InputMissingError(
                    str(path),
                    "directory holds no log files: looked for usage, commit and identity logs "
                    f"(CSV, TSV, JSON, NDJSON or Parquet, optionally compressed){skipped}",
                )
            files.extend(found)
        elif path.is_file():
            files.append(InputFile(path, path_text(path), forced_kind, max_expanded=max_expanded))
        elif path.exists():
            raise InputMissingError(str(path), "not a regular file or directory")
        else:
            raise InputMissingError(str(path))
    return files
