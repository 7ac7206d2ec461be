"""The one error hierarchy of tokenaudit, and the exit codes it maps to.

Only `cli.py` turns these into exit codes; every error builds its own one-line message.
"""

from __future__ import annotations

import os
from enum import IntEnum


class ExitCode(IntEnum):
    """The documented exit-code contract (README, "Exit codes")."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    DATA_ERROR = 65
    NO_INPUT = 66
    INTERNAL = 70
    CANT_CREATE = 73
    IO_ERROR = 74
    INTERRUPTED = 130
    BROKEN_PIPE = 141


def path_text(path: str | os.PathLike[str]) -> str:
    """A path as text that every output can carry, the same for the same path.

    NOTE: a file name that is not UTF-8 (Latin-1 on an old Samba share) reaches Python with
    each such byte as a lone surrogate, which no UTF-8 stream, JSON document or Polars frame
    can hold: each becomes `<E9>`, as `less` shows such a byte. Other text is left for the
    renderers to sanitise (`report.sanitize.visible`), like any untrusted string."""
    text = os.fspath(path)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(_byte_text(c) for c in text)
    return text


def _byte_text(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # the surrogate escape of byte `code - 0xDC00`
        return f"<{code - 0xDC00:02X}>"
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else char


class TokenauditError(Exception):
    """Base of every expected failure; `exit_code` says how the CLI ends."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputMissingError(TokenauditError):
    """An input path does not exist or cannot be opened."""

    exit_code = ExitCode.NO_INPUT

    def __init__(self, path: str, why: str = "no such file or directory") -> None:
        path = path_text(path)
        super().__init__(f"{path}: {why}")
        self.path = path


class DataError(TokenauditError):
    """The input exists but its content cannot be used."""

    exit_code = ExitCode.DATA_ERROR

    def __init__(
        self,
        path: str,
        why: str,
        *,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        path = path_text(path)
        where = path
        if line is not None:
            where += f":{line}"
        if column is not None:
            where += f": column '{column}'"
        super().__init__(f"{where}: {why}")
        self.why = why
        self.path = path
        self.line = line
        self.column = column


class RefusedExport(DataError):
    """A recognised export that cannot serve per-person usage (it says why). Inside a scanned
    directory such a file is skipped with its reason; named on its own it is an error."""


class OutputError(TokenauditError):
    """The report file cannot be created."""

    exit_code = ExitCode.CANT_CREATE


class WriteError(TokenauditError):
    """Writing the report failed part-way (disk full, I/O error)."""

    exit_code = ExitCode.IO_ERROR


class ConfigError(TokenauditError):
    """An option value that parses but makes no sense (for example --since after --until)."""

    exit_code = ExitCode.USAGE
