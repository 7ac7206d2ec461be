"""The console entry point: as small as possible, so that Ctrl-C during start-up (while the CLI
and its libraries import) still ends with exit 130 and one line, never a traceback."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType
from typing import Any

INTERRUPTED = 130
_interrupt_seen = False


def interrupt_seen() -> bool:
    """Whether Ctrl-C arrived. A KeyboardInterrupt raised inside a library callback can be
    swallowed there and come out as some other exception; the CLI asks this before calling an
    error internal."""
    return _interrupt_seen


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _interrupt_seen
    _interrupt_seen = True
    raise KeyboardInterrupt


def _quiet_unraisable(unraisable: Any) -> None:
    # After Ctrl-C, an interrupt that struck inside a finaliser is expected, not news.
    if not _interrupt_seen:
        sys.__unraisablehook__(unraisable)


def _interrupted() -> None:
    # NOTE: exit at once. Interpreter shutdown with a library still importing on a side thread
    # can turn a handled Ctrl-C back into death-by-SIGINT (-2); cleanup has already run by now.
    try:
        sys.stderr.write("tokenaudit: interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(INTERRUPTED)


def main() -> None:
    signal.signal(signal.SIGINT, _on_sigint)
    sys.unraisablehook = _quiet_unraisable
    try:
        from tokenaudit.cli import main as run

        run()
    except KeyboardInterrupt:
        _interrupted()
    except SystemExit as exc:
        if exc.code == INTERRUPTED:
            sys.stdout.flush()
            os._exit(INTERRUPTED)
        raise
