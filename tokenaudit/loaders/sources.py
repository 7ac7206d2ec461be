"""Turning command-line PATH arguments into a sorted list of input files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tokenaudit.errors import InputMissingError
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


def expand_paths(paths: Iterable[str | Path], forced_kind: Kind | None = None) -> list[InputFile]:
    """Expand files and directories (recursively, hidden entries skipped) into input files.

    Order is by path so that the result never depends on the file system's listing order.
    """
    files: list[InputFile] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            files.extend(
                InputFile(p, str(p), forced_kind, in_directory=True, root=path) for p in found
            )
        elif path.is_file():
            files.append(InputFile(path, str(path), forced_kind))
        elif path.exists():
            raise InputMissingError(str(path), "not a regular file or directory")
        else:
            raise InputMissingError(str(path))
    return files
