"""Writing reports safely: never a half-written file, never damage to what is at the path.

A report replaces a *regular file* atomically (temp file in the same directory, fsync, rename,
fsync the directory), keeping the replaced file's mode. Anything else at the path is written in
place or refused: renaming a new file over `/dev/null`, a FIFO or a terminal would destroy it,
and the user's data would go nowhere. Symlinks are followed, so the link survives and its target
is replaced.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from tokenaudit.errors import ConfigError, OutputError, WriteError, path_text

#: Paths that name an already-open stream of this process (`-o /dev/stdout`): written in place.
_STREAM_PREFIXES: Final = ("/dev/fd/", "/dev/stdout", "/dev/stderr", "/proc/")
#: New report files are private: they hold personal data.
_NEW_FILE_MODE: Final = 0o600


def _target(path: Path) -> tuple[Path, os.stat_result | None]:
    """The file a write to `path` lands in (symlinks resolved), and its status (None: absent)."""
    resolved = Path(os.path.realpath(path))
    try:
        return resolved, os.stat(resolved)
    except FileNotFoundError:
        return resolved, None
    except OSError as exc:
        raise OutputError(f"cannot create {path_text(path)}: {exc.strerror or exc}") from exc


def _in_place(path: Path, resolved: Path, st: os.stat_result | None) -> bool:
    """Whether the report goes into what is at the path instead of replacing it."""
    if st is not None and not stat.S_ISREG(st.st_mode):
        return True
    # /dev/stdout resolves to /proc/self/fd/1 and then to whatever the shell redirected it to:
    # a rename there would swap the file behind the shell's back and the output would be lost.
    absolute = os.path.abspath(path)
    return absolute.startswith(_STREAM_PREFIXES) or str(resolved).startswith(_STREAM_PREFIXES)


def check_output_path(path: Path) -> None:
    """Fail before the analysis, not after it, when the report could never be written."""
    resolved, st = _target(path)
    if st is not None:
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            raise OutputError(f"cannot create {path_text(path)}: it is a directory")
        if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
            if not os.access(resolved, os.W_OK):
                raise OutputError(f"cannot write {path_text(path)}: permission denied")
            return
        if not stat.S_ISREG(mode):
            raise OutputError(
                f"cannot write {path_text(path)}: it is a {_kind(mode)}, not a file, device or pipe"
            )
    if _in_place(path, resolved, st):
        return
    parent = resolved.parent
    if not parent.is_dir():
        raise OutputError(
            f"cannot create {path_text(path)}: directory {path_text(parent)} does not exist"
        )
    if not os.access(parent, os.W_OK):
        raise OutputError(
            f"cannot create {path_text(path)}: directory {path_text(parent)} is not writable"
        )


def check_distinct_outputs(
    targets: Sequence[tuple[str, Path | None]], inputs: Sequence[Path] = ()
) -> None:
    """Refuse, before the analysis, outputs that would land in one file (only the last would
    be left: `--rejects` and `-o` on one path lost the quarantine list) or in an input (the
    report would replace a log). Streams and devices are written in place, never replaced, so
    they may be shared."""
    by_file: dict[Path, str] = {}
    for resolved, _ in (_target(p) for p in inputs):
        by_file.setdefault(resolved, "an input")
    for option, path in targets:
        if path is None:
            continue
        resolved, st = _target(path)
        if _in_place(path, resolved, st):
            continue
        if resolved in by_file:
            raise ConfigError(
                f"{option} {path_text(path)} is also {by_file[resolved]}: "
                "each output needs a file of its own, and no input may be one"
            )
        by_file[resolved] = option


def _kind(mode: int) -> str:
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def write_atomically(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` as the module docstring says.

    Raises `OutputError` (exit 73) when the file cannot be created and `WriteError` (exit 74)
    when writing fails part-way; either way the previous file is untouched and no temp file stays.
    """
    check_output_path(path)
    resolved, st = _target(path)
    if _in_place(path, resolved, st):
        _write_in_place(path, text)
        return
    _replace(path, resolved, st, text)


def _own_stream(path: Path) -> int | None:
    """The descriptor of this process that `path` names (`/dev/stdout`, `/dev/fd/3`,
    `/proc/self/fd/1`), if it is open; None for any other path."""
    text = os.path.abspath(path)
    named = {"/dev/stdout": 1, "/dev/stderr": 2}.get(text)
    for prefix in ("/dev/fd/", "/proc/self/fd/", f"/proc/{os.getpid()}/fd/"):
        if text.startswith(prefix) and text[len(prefix) :].isdigit():
            named = int(text[len(prefix) :])
    if named is None:
        return None
    try:
        os.fstat(named)
    except OSError:
        return None
    return named


def _write_in_place(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    own = _own_stream(path)
    try:
        if own is not None:
            # The stream as the shell opened it: opened again, a `>>` file would be truncated
            # (O_TRUNC) and written from its start. Python's own buffer goes out first.
            sys.stdout.flush()
            sys.stderr.flush()
            fd = os.dup(own)
        else:
            # O_TRUNC is what a shell's `>` does; devices and pipes ignore it. No O_CREAT: the
            # path exists (a device or a FIFO).
            fd = os.open(path, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise OutputError(f"cannot write {path_text(path)}: {exc.strerror or exc}") from exc
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise WriteError(f"writing {path_text(path)} failed: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def _replace(path: Path, resolved: Path, st: os.stat_result | None, text: str) -> None:
    parent = resolved.parent
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=".tokenaudit-", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot create {path_text(path)}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        # A replaced report keeps its mode (and, where we may, its owner); a new one is private.
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else _NEW_FILE_MODE)
        if st is not None and (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            # Not permitted: the file becomes ours; its mode still says who may read it.
            with contextlib.suppress(OSError):
                os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, resolved)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, IsADirectoryError):
            raise OutputError(f"cannot create {path_text(path)}: it is a directory") from exc
        if isinstance(exc, OSError):
            raise WriteError(f"writing {path_text(path)} failed: {exc.strerror or exc}") from exc
        raise
    try:
        dir_fd = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename itself is done
