"""The Rich table: fitted to the terminal it is shown on, and whole anywhere else (a pipe, a
file): every column, every cell on one line, the same bytes whatever $COLUMNS says."""

from __future__ import annotations

import csv
import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

HEADERS = (
    "#", "account", "status", "why", "score", "tokens", "×peers", "merged", "barren", "q",
    "days", "tok/line", "lines", "cost $", "requests",
)  # fmt: skip
#: No variable that would make Rich take a pipe for a terminal or change its width.
_PLAIN = {"NO_COLOR": "1", "TERM": "dumb"}
_TERMINAL_VARS = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _TERMINAL_VARS}
    return {**env, **_PLAIN, **extra}


def _scan(org: Path, *args: str, **env: str) -> str:
    command = [sys.executable, "-m", "tokenaudit", "scan", str(org), "--exit-zero", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=_env(**env), check=True)
    return done.stdout


def _scan_on_terminal(org: Path, columns: int) -> str:
    """The table as a terminal `columns` wide shows it (stdout on a pseudo-terminal)."""
    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    command = [sys.executable, "-m", "tokenaudit", "scan", str(org), "-f", "table", "--exit-zero"]
    with subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=secondary, stderr=subprocess.DEVNULL, env=_env()
    ) as proc:
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 1 << 16)
            except OSError:  # EIO: the child has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        proc.wait(timeout=120)
    os.close(main)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


@pytest.fixture(scope="module")
def ranked(small_org: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_scan(small_org, "-f", "csv", "--all"))))


def test_on_an_80_column_terminal_the_table_fits_without_cutting_account_names(
    small_org: Path, ranked: list[dict[str, str]]
) -> None:
    shown = _scan_on_terminal(small_org, 80)
    assert max(len(line) for line in shown.splitlines()) <= 80
    for row in ranked[:5]:
        assert row["account"].split("@")[0] in shown


def test_in_a_pipe_the_table_keeps_every_column_and_every_cell_on_one_line(
    small_org: Path, ranked: list[dict[str, str]]
) -> None:
    reasons = [row["reasons"] for row in ranked]
    table = _scan(small_org, "-f", "table", "--all")
    header = table.splitlines()[1]
    assert [h.strip() for h in header.strip("┃").split("┃")] == list(HEADERS)
    body = table.splitlines()[3:-1]
    assert len(body) == len(reasons)  # one line an account
    for line, why in zip(body, reasons, strict=True):
        assert why in line


def test_in_a_pipe_the_table_is_the_same_bytes_whatever_the_columns_variable(
    small_org: Path,
) -> None:
    tables = {_scan(small_org, "-f", "table", COLUMNS=c) for c in ("40", "80", "300")}
    assert len(tables) == 1


def test_a_table_written_to_a_file_is_the_table_of_a_pipe(small_org: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.txt"
    _scan(small_org, "-f", "table", "-o", str(target))
    assert target.read_text(encoding="utf-8") == _scan(small_org, "-f", "table")
