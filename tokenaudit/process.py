"""What the process learnt before the CLI ran: which signal interrupted it, and which standard
streams were closed when it started. `_entry` records both; the CLI reads them. Its own module at
the bottom of the layers, so that the CLI never imports the entry point that imports it."""

from __future__ import annotations

import signal

#: The first SIGINT or SIGTERM received, if any.
interrupt_signal: int | None = None
#: Whether the CLI has said so on stderr (`cli_support.say_interrupted`).
interrupt_reported: bool = False
#: Standard streams (0, 1, 2) that were closed when the process started.
closed_streams: frozenset[int] = frozenset()
#: The run's private temporary directories (`cli_support.workdir`): what `_entry`'s watchdog
#: removes when a signal finds the run stuck in native code.
scratch_dirs: set[str] = set()


def interrupt_seen() -> bool:
    """Whether Ctrl-C (or SIGTERM) arrived. A KeyboardInterrupt raised inside a library callback
    can be swallowed there and come out as some other exception; the CLI asks this before
    calling an error internal."""
    return interrupt_signal is not None


def interrupt_code() -> int:
    """The exit code of an interrupted run: 128 + the signal (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + (interrupt_signal or signal.SIGINT)
