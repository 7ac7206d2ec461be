"""The console entry point: as small as possible, so that Ctrl-C during start-up (while the CLI
and its libraries import) still ends with exit 130 and one line, never a traceback.

It also owns the process-level contract that no command can keep on its own:

- SIGINT and SIGTERM both unwind the run (temporary files removed, a previous `-o` report
  intact) and end with 128 + the signal's number: 130 and 143. Python runs a signal handler only
  between bytecodes, so a run inside a long native call (a Polars query over 10M rows) would
  not see the signal for as long as the call lasts (measured: more than 15 s, until a kill -9);
  a watchdog thread, woken at once through `signal.set_wakeup_fd`, gives the run
  `SIGNAL_GRACE_S` to unwind on its own, then removes its temporary directories and ends it.
- A standard stream that was closed before we started (`>&-`, `2>&-`, `<&-`) is reopened on
  /dev/null, so that no file we open later can take its descriptor number and receive the report
  or a diagnostic by accident; `process.closed_streams` tells the CLI which ones were closed.
- Diagnostics on stderr are best-effort: a full or closed stderr never changes the outcome.
- The final flush of stdout happens here, inside the handlers: a full device is exit 74, a
  closed pipe 141. After it the process ends at once, so a late signal cannot turn a finished
  run into death-by-signal.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any, Final

from tokenaudit import process

INTERRUPTED = 130
BROKEN_PIPE = 141
IO_ERROR = 74
#: After SIGINT or SIGTERM the run has this long to unwind by itself before the watchdog ends it.
SIGNAL_GRACE_S: Final = 3.0


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if process.interrupt_signal is None:
        process.interrupt_signal = signum
    raise KeyboardInterrupt


def install_signal_handling() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt at the next bytecode, and wake the watchdog
    at once, whatever the main thread is doing."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    threading.Thread(target=_watchdog, args=(read_end,), daemon=True).start()


def _watchdog(read_end: int) -> None:
    """Wait for the first signal's byte; if the process is still alive `SIGNAL_GRACE_S` later,
    its main thread is inside native code: remove the run's temporary directories and end it
    as the handler would have (a report is only ever replaced atomically, so none is half
    written).

    NOTE: what it calls (shutil, os) is imported at the top, never here: an import in this
    thread could wait for an import lock the stuck main thread holds. The CLI imports them
    anyway, so start-up pays nothing for that."""
    try:
        received = os.read(read_end, 1)
    except OSError:
        return
    signum = received[0] if received else signal.SIGTERM
    time.sleep(SIGNAL_GRACE_S)
    for scratch in list(process.scratch_dirs):
        shutil.rmtree(scratch, ignore_errors=True)
    code = 128 + (process.interrupt_signal or signum)
    word = "interrupted" if code == INTERRUPTED else "terminated"
    try:
        os.write(2, f"tokenaudit: {word}\n".encode())
    finally:
        os._exit(code)


def _quiet_unraisable(unraisable: Any) -> None:
    # After Ctrl-C, an interrupt that struck inside a finaliser is expected, not news.
    if process.interrupt_signal is None:
        sys.__unraisablehook__(unraisable)


class _BestEffort:
    """A text stream whose write and flush never raise: diagnostics must not end the run."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _ClosedOutput:
    """Stands for a stdout that was closed before we started: every write fails as writing to
    the closed descriptor would (EBADF), so the report's loss is an I/O error (exit 74), never a
    silent success."""

    encoding = "utf-8"

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "stdout is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return 1


def _guard_standard_streams() -> None:
    closed: set[int] = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.add(fd)
            # NOTE: os.open returns the lowest free descriptor, which is `fd` itself.
            reopened = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if reopened != fd:
                os.dup2(reopened, fd)
                os.close(reopened)
    process.closed_streams = frozenset(closed)
    if 2 in closed or sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as we do
    sys.stderr = _BestEffort(sys.stderr)
    if 1 in closed or sys.stdout is None:
        sys.stdout = _ClosedOutput()
    if 0 in closed:
        sys.stdin = None


def _interrupted(code: int | None = None) -> None:
    # NOTE: exit at once. Interpreter shutdown with a library still importing on a side thread
    # can turn a handled Ctrl-C back into death-by-SIGINT (-2); cleanup has already run by now.
    code = code or process.interrupt_code()
    try:
        word = "interrupted" if code == INTERRUPTED else "terminated"
        sys.stderr.write(f"tokenaudit: {word}\n")
        sys.stderr.flush()
    finally:
        os._exit(code)


def _exit_status(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    sys.stderr.write(f"{exc.code}\n")
    return 1


def _flush_stdout(code: int) -> int:
    """Flush what is left for stdout; a failure here is the run's failure."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _point_stdout_at_devnull()
        return BROKEN_PIPE
    except (OSError, ValueError) as exc:
        _point_stdout_at_devnull()
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, OSError) and exc.errno == errno.EPIPE:
            return BROKEN_PIPE
        sys.stderr.write(f"tokenaudit: error: writing to stdout failed: {why}\n")
        return IO_ERROR
    return code


def _point_stdout_at_devnull() -> None:
    # Python docs, "Note on SIGPIPE": the interpreter's own final flush must not raise again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main() -> None:
    install_signal_handling()
    sys.unraisablehook = _quiet_unraisable
    code = 70
    try:
        _guard_standard_streams()
        try:
            from tokenaudit.cli import main as run

            run()
            code = 0
        except SystemExit as exc:
            code = _exit_status(exc)
        if code in (INTERRUPTED, 128 + signal.SIGTERM):
            # The CLI has said so and cleaned up; only what stdout still holds is left.
            try:
                sys.stdout.flush()
            finally:
                os._exit(code)
        code = _flush_stdout(code)
        sys.stderr.flush()
    except KeyboardInterrupt:
        _interrupted()
    # From here on the outcome is decided: a late signal must not change it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os._exit(code)
