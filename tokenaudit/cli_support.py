"""What the commands of `cli.py` share: options → `AuditConfig`, inputs → `InputFile`s, failures
→ exit codes (in one place, `guarded`), and writing to stdout.

Like `cli.py`, and unlike everything below it, this module may print, read the environment and
exit; the two are one edge, split so that `cli.py` reads as its list of commands.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

import typer

from tokenaudit.errors import ConfigError, ExitCode, InputMissingError, TokenauditError, WriteError
from tokenaudit.output import write_atomically

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tokenaudit.cli_options import AuditOptions, InputOptions
    from tokenaudit.config import AuditConfig
    from tokenaudit.loaders import InputFile
    from tokenaudit.model import AuditReport

_WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SIZE_UNITS: Final = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


# ----------------------------------------------------------------------------- options → config


def parse_date(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}", param_hint=name) from None


def period(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    start, end = parse_date("--since", since), parse_date("--until", until)
    if start and end and start > end:
        raise ConfigError(f"--since {start} is after --until {end}")
    return start, end


def check_zone(zone: str, option: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {zone!r}", param_hint=option) from None


def _weekday(value: str, option: str) -> int:
    key = value.strip().lower()[:3]
    if key not in _WEEKDAYS:
        raise typer.BadParameter(
            f"expected a weekday (mon … sun), got {value!r}", param_hint=option
        )
    return _WEEKDAYS.index(key)


def _window_days(window: str) -> int | None:
    if window == "auto":
        return None
    try:
        days = int(window)
    except ValueError:
        raise typer.BadParameter(
            f"expected a number of days or 'auto', got {window!r}", param_hint="--window"
        ) from None
    if not 1 <= days <= 120:
        raise typer.BadParameter("must be between 1 and 120 days", param_hint="--window")
    return days


def build_config(inputs: InputOptions, audit: AuditOptions) -> AuditConfig:
    """The run's `AuditConfig`; a value that cannot be used is a usage error (exit 2), a
    `--reference` file that cannot be read or used is exit 66 or 65."""
    from tokenaudit.config import AuditConfig

    check_zone(inputs.tz, "--tz")
    assume_tz = None if audit.assume_tz == "none" else audit.assume_tz
    if assume_tz is not None:
        check_zone(assume_tz, "--assume-tz")
    start, end = period(inputs.since, inputs.until)
    cfg = AuditConfig(
        since=start,
        until=end,
        tz=inputs.tz,
        window_days=_window_days(inputs.window),
        strict=audit.strict,
        assume_tz=assume_tz,
        max_bad_rows=audit.max_bad_rows,
        max_bad_ratio=audit.max_bad_ratio,
        allow_empty=audit.allow_empty,
        account=inputs.owner,
        quota=inputs.quota,
        snapshot_day=_weekday(inputs.snapshot_day, "--snapshot-day") + 1
        if inputs.snapshot_day
        else None,
        week_start=_weekday(inputs.week_start, "--week-start"),
        change_date=parse_date("--change-date", inputs.change_date),
    )
    if audit.reference is not None:
        import dataclasses

        from tokenaudit.reference import load_reference

        cfg = dataclasses.replace(cfg, reference=load_reference(audit.reference))
    return cfg


def parse_size(value: str) -> int | None:
    """'auto' → None; '512M', '2G', '2GiB', '100MB', '1048576' → bytes (powers of 1024)."""
    text = value.strip().lower()
    if text == "auto":
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", text)
    if not match:
        raise typer.BadParameter(
            f"expected a size such as 512M or 4G, or 'auto', got {value!r}",
            param_hint="--max-expanded-size",
        )
    size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])
    if size < 1:
        raise typer.BadParameter("must be at least 1 byte", param_hint="--max-expanded-size")
    return size


def pseudonym_key(path: Path | None) -> bytes | None:
    if path is None:
        return None
    from tokenaudit.privacy import read_key

    return read_key(path)


# ----------------------------------------------------------------------------- options → inputs


def input_files(inputs: InputOptions, audit: AuditOptions, workdir: Path) -> list[InputFile]:
    """Every file to read, with the kind forced by --usage/--commits/--identities (else None)."""
    from tokenaudit.loaders import InputFile, expand_paths
    from tokenaudit.schema import Kind

    max_expanded = parse_size(audit.max_expanded_size)
    files: list[InputFile] = []
    stdin_used = False
    for group, kind in (
        (inputs.paths, None),
        (inputs.usage, Kind.USAGE),
        (inputs.commits, Kind.COMMITS),
        (inputs.identities, Kind.IDENTITIES),
    ):
        for item in group or []:
            if item == "-":
                if stdin_used:
                    raise ConfigError("'-' (stdin) can be given only once")
                stdin_used = True
                spooled = _spool_stdin(workdir)
                files.append(InputFile(spooled, "<stdin>", kind, max_expanded=max_expanded))
            else:
                files.extend(expand_paths([item], kind, max_expanded=max_expanded))
    if inputs.repo:
        from tokenaudit.loaders.git import repository_input

        files.extend(repository_input(repo, inputs.branch, workdir) for repo in inputs.repo)
    if not files:
        raise typer.BadParameter("give at least one PATH, --usage, --commits or --repo")
    return files


def _spool_stdin(workdir: Path) -> Path:
    from tokenaudit import process
    from tokenaudit.loaders.readers import read_text_stream

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None or 0 in process.closed_streams:
        raise InputMissingError("<stdin>", "standard input is closed")
    try:
        return Path(read_text_stream(stream, workdir))
    except OSError as exc:
        raise InputMissingError("<stdin>", f"cannot read: {exc.strerror or exc}") from exc


def find_account(report: AuditReport, account: str) -> str | None:
    """The report's spelling of `account`: itself, or the account it normalises to."""
    import polars as pl

    from tokenaudit.identities import normalise_identity

    names = report.accounts["account"].to_list()
    if account in names:
        return account
    keys = (
        pl.DataFrame({"a": [account, *names]}, schema={"a": pl.String})
        .select(normalise_identity(pl.col("a")))
        .to_series()
    )
    wanted = keys[0]
    for name, key in zip(names, keys[1:], strict=True):
        if key == wanted:
            return str(name)
    return None


# ----------------------------------------------------------------------------- running safely


def fail(message: str, code: ExitCode) -> NoReturn:
    from tokenaudit.report.sanitize import visible

    sys.stderr.write(f"tokenaudit: {visible(message)}\n")
    raise typer.Exit(int(code))


@contextmanager
def guarded(debug: bool) -> Iterator[None]:
    """Map every failure to its documented exit code with one line on stderr: the one place
    where errors, interrupts and broken pipes become exit codes."""
    try:
        yield
    except (typer.Exit, typer.BadParameter):
        raise
    except ConfigError as exc:
        fail(f"error: {exc}", ExitCode.USAGE)
    except TokenauditError as exc:
        fail(f"error: {exc}", exc.exit_code)
    except KeyboardInterrupt:
        interrupted()
    except BrokenPipeError:
        silence_stdout()
        raise typer.Exit(int(ExitCode.BROKEN_PIPE)) from None
    except MemoryError:
        fail("error: out of memory; narrow the period with --since/--until", ExitCode.INTERNAL)
    except Exception as exc:
        from tokenaudit.process import interrupt_seen

        if interrupt_seen():  # a Ctrl-C that a library turned into another exception
            interrupted()
        if debug:
            import traceback

            traceback.print_exc()
        fail(
            f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
            "(rerun with --debug for a traceback)",
            ExitCode.INTERNAL,
        )


def interrupted() -> NoReturn:
    """SIGINT → 130, SIGTERM → 143; the `with` blocks being unwound remove the temp files."""
    from tokenaudit.process import interrupt_code

    code = interrupt_code()
    word = "interrupted" if code == ExitCode.INTERRUPTED else "terminated"
    sys.stderr.write(f"tokenaudit: {word}\n")
    raise typer.Exit(code) from None


def silence_stdout() -> None:
    # Python docs, "Note on SIGPIPE": point stdout at devnull so the interpreter's final flush
    # does not raise again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@contextmanager
def progress(what: str) -> Iterator[None]:
    """A spinner on stderr while the inputs load and the checks run — only on a terminal, so that
    cron logs and pipes never see animation."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True, highlight=False, markup=False).status(what):
        yield


@contextmanager
def workdir() -> Iterator[Path]:
    """The run's private temporary directory, removed however the run ends."""
    with tempfile.TemporaryDirectory(prefix="tokenaudit-") as name:
        yield Path(name)


def emit(text: str, output: Path | None) -> None:
    """`text` to `output` (atomically) or to stdout."""
    if output is not None:
        write_atomically(output, text)
        return
    with writing_stdout():
        sys.stdout.write(text)
        sys.stdout.flush()


@contextmanager
def writing_stdout() -> Iterator[None]:
    """A failed write to stdout (a full device, a closed descriptor) is exit 74; a reader that
    went away stays a broken pipe (141)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise WriteError(f"writing the report to stdout failed: {exc.strerror or exc}") from exc


def print_rich(render: Any, *args: Any) -> None:
    """Call `render(*args, console)` with a Rich console on stdout (explain, inspect)."""
    from rich.console import Console

    with writing_stdout():
        render(*args, Console(highlight=False, markup=False, emoji=False))
        sys.stdout.flush()
