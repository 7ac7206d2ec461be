"""The console entry point: as small as possible, so that Ctrl-C during start-up (while the CLI
and its libraries import) still ends with exit 130 and one line, never a traceback."""

from __future__ import annotations

import os
import sys

INTERRUPTED = 130


def _interrupted() -> None:
    # NOTE: exit at once. Interpreter shutdown with a library still importing on a side thread
    # can turn a handled Ctrl-C back into death-by-SIGINT (-2); cleanup has already run by now.
    try:
        sys.stderr.write("tokenaudit: interrupted\n")
        sys.stderr.flush()
    finally:
        os._exit(INTERRUPTED)


def main() -> None:
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
