"""A signal that arrives while the command line is still being processed ends the run as any
other does: 128 + the signal's number and one line saying so (130 "interrupted" for SIGINT,
143 "terminated" for SIGTERM), never Typer's silent 130 for both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

#: `tokenaudit` whose settings file (read by the eager `--config` option, while Typer still
#: processes the options) takes as long as a stalled network share would: reading it first
#: opens the FIFO `STALL`, which the test holds open without writing, so the signal lands
#: while the CLI is surely inside option processing, without timing.
_STALLED_SETTINGS = """
import os
import sys

import tokenaudit.settings as settings
from tokenaudit._entry import main

real = settings.load_config


def load_config(*args, **kwargs):
    with open(os.environ["STALL"], "rb") as stall:
        stall.read()
    return real(*args, **kwargs)


settings.load_config = load_config
sys.argv[0] = "tokenaudit"
main()
"""


@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_a_signal_during_option_processing_is_128_plus_it_with_one_line(
    tmp_path: Path, signum: int, code: int, word: str
) -> None:
    stall = tmp_path / "stall"
    os.mkfifo(stall)
    config = tmp_path / "tokenaudit.toml"
    config.write_text("")
    usage = tmp_path / "usage.csv"
    usage.write_text("timestamp,account,input_tokens\n2026-03-02T10:00:00Z,a@x,1\n")
    command = [sys.executable, "-c", _STALLED_SETTINGS, "scan", str(usage), "--config", str(config)]
    with (
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "STALL": str(stall)},
        ) as proc,
        # Opening the FIFO returns once the CLI has opened it, inside its `--config` callback.
        stall.open("wb"),
    ):
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out, err) == (code, "", f"tokenaudit: {word}\n")
