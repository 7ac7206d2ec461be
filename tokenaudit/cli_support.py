"""What the commands of `cli.py` share: options → `AuditConfig`, inputs → `InputFile`s, failures
→ exit codes (in one place, `guarded`), and writing to stdout.

Like `cli.py`, and unlike everything below it, this module may print, read the environment and
exit; the two are one edge, split so that `cli.py` reads as its list of commands.
"""

from __future__ import annotations

import errno
import io
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

import typer

from tokenaudit.errors import (
    ConfigError,
    ExitCode,
    InputMissingError,
    TokenauditError,
    WriteError,
    path_text,
)
from tokenaudit.output import write_atomically

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tokenaudit.baseline import Baseline
    from tokenaudit.cli_options import AuditOptions, InputOptions, ReportOptions, TrailOptions
    from tokenaudit.config import AuditConfig, Measure
    from tokenaudit.loaders import InputFile
    from tokenaudit.model import AuditReport
    from tokenaudit.report.interface import RenderContext, Renderer
    from tokenaudit.settings import ConfigFile, Effective
    from tokenaudit.suppressions import Suppression

_WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SIZE_UNITS: Final = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


# ----------------------------------------------------------------------------- options → config


#: The days a date option may name: those of the timestamps the loaders accept (1900-2199);
#: past them, the period's arithmetic overflowed (exit 70).
_DATES: Final = (date(1900, 1, 1), date(2199, 12, 31))
#: `--top` above this is a typo (`--all` shows every account); past 2**64 Polars overflowed.
MAX_TOP: Final = 1_000_000_000


def parse_date(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}", param_hint=name) from None
    if not _DATES[0] <= day <= _DATES[1]:
        raise typer.BadParameter(
            f"{value!r} is outside the years 1900-2199 that timestamps may have", param_hint=name
        )
    return day


def check_top(top: int | None) -> None:
    if top is not None and top > MAX_TOP:
        raise typer.BadParameter(
            f"at most {MAX_TOP:,} (--all shows every account), got {top}", param_hint="--top"
        )


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
    # NOTE: the system's zoneinfo also has files that are no IANA zone name (`localtime`,
    # `Factory`, `posix/...`, `right/...`), which Polars refuses deep inside the run (exit 70).
    import polars as pl

    try:
        pl.Series([0], dtype=pl.Datetime("us")).dt.replace_time_zone(zone)
    except pl.exceptions.PolarsError:
        raise typer.BadParameter(
            f"{zone!r} is not a time zone name (an IANA name such as 'Europe/Berlin')",
            param_hint=option,
        ) from None


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
        memory_limit=memory_limit(audit.memory_limit),
    )
    cfg = _cost_settings(cfg, inputs, audit)
    if audit.reference is not None:
        import dataclasses

        from tokenaudit.reference import load_reference

        cfg = dataclasses.replace(cfg, reference=load_reference(audit.reference))
    return cfg


def _cost_settings(cfg: AuditConfig, inputs: InputOptions, audit: AuditOptions) -> AuditConfig:
    """`--measure` and `--prices` into the config: a price file that cannot be read is exit 66,
    one that is not a price table 65; what cannot be measured in dollars is a usage error."""
    import dataclasses

    from tokenaudit.pricing import load_prices

    measure: Measure = "cost" if audit.measure == "cost" else "tokens"
    if measure == "cost":
        if inputs.quota is not None:
            raise ConfigError(
                "--quota is a weekly token quota; it cannot be used with --measure cost"
            )
        if audit.reference is not None or audit.save_reference is not None:
            raise ConfigError(
                "a reference holds null models fitted on tokens; it cannot be used with --measure cost"
            )
    prices = load_prices(audit.prices) if audit.prices is not None else None
    return dataclasses.replace(cfg, measure=measure, prices=prices)


def parse_size(value: str, option: str = "--max-expanded-size", least: int = 1) -> int | None:
    """'auto' → None; '512M', '1.5G', '2GiB', '100MB', '2048MiB', '1048576' → bytes (powers of
    1024); anything else, or less than `least` bytes, is a usage error naming `option`."""
    text = value.strip().lower()
    if text == "auto":
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", text)
    if not match:
        raise typer.BadParameter(
            f"expected a size such as 512M or 4G, or 'auto', got {value!r}", param_hint=option
        )
    size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])
    if size < least:
        floor = "1 byte" if least == 1 else f"{least >> 20}M"
        raise typer.BadParameter(f"must be at least {floor}, got {value!r}", param_hint=option)
    return size


#: `--memory-limit auto`: a quarter of the machine's memory, at most this much.
MEMORY_LIMIT_CAP: Final = 4 << 30
#: Below this the interpreter, Polars and SciPy alone do not fit.
MEMORY_LIMIT_FLOOR: Final = 256 << 20


def memory_limit(value: str) -> int:
    """`--memory-limit` in bytes: the size given, or (auto) `default_memory_limit()`."""
    size = parse_size(value, "--memory-limit", MEMORY_LIMIT_FLOOR)
    return default_memory_limit() if size is None else size


def default_memory_limit() -> int:
    """A quarter of the memory this process can have, at most `MEMORY_LIMIT_CAP`: the machine's
    physical memory, or its cgroup's limit when that is smaller (a container)."""
    return min(_available_memory() // 4, MEMORY_LIMIT_CAP)


def _available_memory() -> int:
    total = 0
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = _meminfo_total()
    if total <= 0:
        total = _meminfo_total() or 4 * MEMORY_LIMIT_CAP
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return total


def _meminfo_total() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


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

        since = parse_date("--since", inputs.since)
        files.extend(
            repository_input(repo, inputs.branch, workdir, since, inputs.tz) for repo in inputs.repo
        )
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
    raise typer.Exit(say_interrupted()) from None


def say_interrupted() -> int:
    """One line on stderr for the signal received (once a run), and its exit code."""
    from tokenaudit import process

    code = process.interrupt_code()
    if not process.interrupt_reported:
        word = "interrupted" if code == ExitCode.INTERRUPTED else "terminated"
        sys.stderr.write(f"tokenaudit: {word}\n")
        sys.stderr.flush()
        process.interrupt_reported = True
    return code


def unreported_interrupt(exc: SystemExit) -> bool:
    """Whether `exc` is Typer's exit 130 for a signal that reached its core unreported.

    NOTE: Typer's core (≥0.26, its own copy of Click) turns a KeyboardInterrupt into exit 130
    without a word, whichever the signal: one that arrives while options are still processed
    (an eager `--config` being read), before `guarded` can map it."""
    from tokenaudit import process

    return (
        exc.code == ExitCode.INTERRUPTED
        and process.interrupt_seen()
        and not process.interrupt_reported
    )


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
    from tokenaudit import process

    with tempfile.TemporaryDirectory(prefix="tokenaudit-") as name:
        process.scratch_dirs.add(name)
        try:
            yield Path(name)
        finally:
            process.scratch_dirs.discard(name)


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
    went away stays a broken pipe (141).

    NOTE: under `PYTHONUNBUFFERED` (`python -u`), `sys.stdout` writes straight to a raw file,
    and the text layer ignores a short write (a file-size limit, a disk filling up, a reader
    leaving): the report was cut short and the run exited 0. For the time of the write, stdout
    is then a text layer over `_WholeWrites`, which writes every byte or raises."""
    original = sys.stdout
    raw = getattr(original, "buffer", None)
    if isinstance(raw, io.RawIOBase):
        sys.stdout = io.TextIOWrapper(
            _WholeWrites(raw),
            encoding=original.encoding,
            errors=original.errors,
            write_through=True,
        )
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise WriteError(f"writing the report to stdout failed: {exc.strerror or exc}") from exc
    finally:
        sys.stdout = original


class _WholeWrites(io.RawIOBase):
    """A raw file whose every write is repeated until all its bytes are written (or it raises);
    closing it leaves the file open."""

    def __init__(self, raw: io.RawIOBase) -> None:
        super().__init__()
        self._raw = raw

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._raw.fileno()

    def isatty(self) -> bool:
        return self._raw.isatty()

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            n = self._raw.write(view[done:])
            if not n:  # None (it would block) or nothing taken: the bytes cannot be written
                raise OSError(errno.EIO, "stdout took no more bytes")
            done += n
        return done


def print_rich(render: Any, *args: Any) -> None:
    """Call `render(*args, console)` with a Rich console on stdout (explain, inspect)."""
    from rich.console import Console

    with writing_stdout():
        render(*args, Console(highlight=False, markup=False, emoji=False))
        sys.stdout.flush()


# ----------------------------------------------------------------------------- the audit trail


@dataclass
class Trail:
    """What the audit-trail options load before the audit runs (so that a missing or malformed
    file fails fast), and the run's clock."""

    options: TrailOptions
    settings: ConfigFile | None
    effective: list[Effective]
    suppressions: list[Suppression]
    baseline: Baseline | None
    today: date | None
    started: datetime
    clock: float
    #: Keys added to a JSON report's `run` object (deterministic: no clock values).
    run_extra: dict[str, Any] = field(default_factory=dict)


def load_trail(ctx: typer.Context, options: TrailOptions) -> Trail:
    """Read the settings' provenance, the suppressions and the baseline named by `options`."""
    import time
    from datetime import UTC

    from tokenaudit.checks.registry import CHECKS
    from tokenaudit.cli_options import SETTINGS_META
    from tokenaudit.report.jsonout import SCHEMA_VERSION
    from tokenaudit.settings import effective

    started, clock = datetime.now(UTC), time.monotonic()
    loaded = ctx.meta.get(SETTINGS_META)
    sources = parameter_sources(ctx)
    entries = []
    if options.suppressions is not None:
        from tokenaudit.suppressions import load_suppressions

        entries = load_suppressions(options.suppressions, [c.id for c in CHECKS])
    baseline = None
    if options.baseline is not None:
        from tokenaudit.baseline import load_baseline

        baseline = load_baseline(options.baseline, SCHEMA_VERSION)
    return Trail(
        options=options,
        settings=loaded,
        effective=effective(ctx.command.params, ctx.params, sources, loaded),
        suppressions=entries,
        baseline=baseline,
        today=parse_date("--today", options.today),
        started=started,
        clock=clock,
    )


def parameter_sources(ctx: typer.Context) -> dict[str, str]:
    """Where each parameter's value came from, by Click's name for it (`COMMANDLINE`,
    `DEFAULT_MAP` for the settings file, `DEFAULT`, ...)."""
    return {
        p.name: source.name
        for p in ctx.command.params
        if (source := ctx.get_parameter_source(p.name)) is not None
    }


def identity_aliases(
    report: AuditReport, files: list[InputFile], cfg: AuditConfig, tmp: Path
) -> dict[str, str]:
    """Normalised alias → account, from the identities files among the inputs (small files,
    read again here so that the audit's result needs no field for them)."""
    import polars as pl

    from tokenaudit.identities import IdentityMap
    from tokenaudit.loaders import load_input
    from tokenaudit.schema import IDENTITY_SCHEMA

    names = {s.name for s in report.inputs if s.kind == "identities"}
    frames = []
    for file in files:
        if file.name in names:
            loaded = load_input(file, tmp, assume_tz=cfg.assume_tz, account=cfg.account)
            if loaded is not None:
                frame = loaded.frame.collect()
                frames.append(
                    frame.filter(pl.col("_reject").is_null()).select(list(IDENTITY_SCHEMA))
                )
    if not frames:
        return {}
    return IdentityMap.from_frame(pl.concat(frames, how="vertical_relaxed")).aliases


def apply_suppressions_file(
    report: AuditReport, trail: Trail, files: list[InputFile], cfg: AuditConfig, tmp: Path
) -> AuditReport:
    """Suppressions over the decided accounts; their warnings on stderr and in JSON."""
    if trail.options.suppressions is None:
        return report
    import dataclasses

    from tokenaudit.checks.registry import CHECKS
    from tokenaudit.decide import habit_confirmations
    from tokenaudit.suppressions import SUPPRESSED, apply_suppressions

    today = trail.today or report.last_day or date.today()
    applied = apply_suppressions(
        report.accounts,
        report.checks,
        trail.suppressions,
        today=today,
        aliases=identity_aliases(report, files, cfg, tmp),
        outcome_checks=frozenset(c.id for c in CHECKS if c.confirms),
        confirmed_by=habit_confirmations(report.accounts, report.checks, cfg),
    )
    for line in applied.warnings:
        warn(line)
    trail.run_extra["suppressions"] = {
        "file": str(trail.options.suppressions),
        "today": today.isoformat(),
        "today_from": "--today" if trail.today else "the audited period's last day",
        "entries": len(trail.suppressions),
        "suppressed": int((applied.accounts["status"] == SUPPRESSED).sum()),
        "warnings": applied.warnings,
    }
    return dataclasses.replace(report, accounts=applied.accounts)


def pseudonymise(report: AuditReport, trail: Trail, key: bytes) -> AuditReport:
    """The report pseudonymised (`privacy.pseudonymise_report`), and the suppressions' warnings
    in the JSON `run` object with it: they name accounts and owners."""
    from tokenaudit.privacy import pseudonymise_report, report_scrubber

    scrub = report_scrubber(
        report, key, [n for e in trail.suppressions for n in (e.account, e.owner)]
    )
    if "suppressions" in trail.run_extra:
        trail.run_extra["suppressions"] = scrub.value(trail.run_extra["suppressions"])
    return pseudonymise_report(report, key, scrub)


def apply_baseline(report: AuditReport, trail: Trail, cfg: AuditConfig) -> AuditReport:
    """`change` and `first_flagged` from the baseline; configuration differences warned."""
    if trail.baseline is None:
        return report
    import dataclasses

    from tokenaudit.baseline import compare, config_differences
    from tokenaudit.report.jsonout import run_metadata

    differences = config_differences(
        trail.baseline,
        run_metadata(report, cfg)["parameters"],
        recorded_settings(trail),
        pseudonymised=report.pseudonymised,
    )
    if differences:
        warn(
            f"warning: the baseline {trail.baseline.path} was made with another configuration "
            f"({'; '.join(differences)}); a change may come from that, not from the accounts"
        )
    trail.run_extra["baseline"] = {
        "file": trail.baseline.path,
        "as_of": trail.baseline.as_of.isoformat() if trail.baseline.as_of else None,
        "configuration_differences": differences,
    }
    return dataclasses.replace(
        report, accounts=compare(report.accounts, trail.baseline, as_of=report.last_day)
    )


def recorded_settings(trail: Trail) -> dict[str, Any]:
    """The effective settings as the manifest records them: as given (paths relative to the
    working directory the manifest records, so that the names in the report stay the same).
    A path that is not UTF-8 is recorded as `path_text` spells it: JSON cannot hold it, and
    `verify` then names the file it cannot find instead of this run failing."""
    return {e.key: _recordable(e.value) for e in trail.effective}


def _recordable(value: Any) -> Any:
    if isinstance(value, str):
        return path_text(value)
    if isinstance(value, list | tuple):
        return [_recordable(v) for v in value]
    return value


def warn(line: str) -> None:
    from tokenaudit.report.sanitize import visible

    sys.stderr.write(f"tokenaudit: {visible(line)}\n")


def build_run_manifest(
    report: AuditReport,
    trail: Trail,
    files: list[InputFile],
    tmp: Path,
    *,
    reference: Path | None,
    report_sha256: str,
) -> dict[str, Any]:
    """The run manifest (`tokenaudit.manifest`) with this run's clock, files and settings."""
    import time
    import uuid

    from tokenaudit.manifest import FileRecord, build_manifest, file_record, versions

    inputs = {
        f.name: FileRecord(None, None, None) if f.path.is_relative_to(tmp) else file_record(f.path)
        for f in files
    }
    opts = trail.options
    named = {
        "config": trail.settings.path if trail.settings else None,
        "suppressions": opts.suppressions,
        "baseline": opts.baseline,
        "reference": reference,
    }
    return build_manifest(
        report,
        run_id=uuid.uuid4().hex,
        started=trail.started,
        wall_seconds=time.monotonic() - trail.clock,
        settings=recorded_settings(trail),
        sources={e.key: e.source for e in trail.effective},
        inputs=inputs,
        files={k: file_record(v) for k, v in named.items() if v is not None},
        report_sha256=report_sha256,
        working_directory=path_text(Path.cwd()),
        today=trail.today or report.last_day,
        tool_versions=versions(),
    )


def run_manifest(
    report: AuditReport,
    cfg: AuditConfig,
    out: ReportOptions,
    trail: Trail,
    files: list[InputFile],
    tmp: Path,
    reference: Path | None,
) -> dict[str, Any]:
    """The run manifest; its `report_sha256` is that of the JSON report without a manifest."""
    import hashlib

    from tokenaudit.report import registry

    plain = registry.get("json").render(report, render_context(report, cfg, out, trail, "json"))
    digest = hashlib.sha256(plain.encode("utf-8")).hexdigest()
    return build_run_manifest(report, trail, files, tmp, reference=reference, report_sha256=digest)


def json_text(doc: dict[str, Any]) -> str:
    import json

    return json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=2) + "\n"


def report_renderer(out: ReportOptions) -> Renderer:
    """The renderer of the chosen format (`--format auto`: by the `-o` extension, else a table
    on a terminal and the default elsewhere)."""
    from tokenaudit.report import registry

    if out.fmt != "auto":
        return registry.get(out.fmt)
    if out.output is not None:
        return registry.for_extension(out.output.suffix) or registry.get(registry.DEFAULT)
    return registry.get(registry.TERMINAL if sys.stdout.isatty() else registry.DEFAULT)


def wants_input_digests(renderer: Renderer, trail: Trail, options: TrailOptions) -> bool:
    """Whether the inputs' SHA-256 is worked out while the audit runs (`run_audit`'s `digests`):
    for a report that shows it, a manifest, or a baseline comparison (which reads the run's
    metadata). Other reports never read it, and hashing 1.1 GB of CSV again costs 0.9 s of CPU;
    it is still worked out if something asks."""
    return renderer.hashes_inputs or options.manifest is not None or trail.baseline is not None


def render_context(
    report: AuditReport, cfg: AuditConfig, out: ReportOptions, trail: Trail, fmt: str
) -> RenderContext:
    """What the renderer of `fmt` is given: the accounts it shows, and the run's extras."""
    from tokenaudit.report import registry
    from tokenaudit.report.interface import RenderContext

    renderer = registry.get(fmt)
    accounts = report.accounts.sort("rank")
    limit = None if out.show_all else out.top if out.top is not None else renderer.default_rows
    shown = accounts.head(limit) if limit is not None else accounts
    return RenderContext(
        cfg=cfg,
        shown=shown,
        hidden=accounts.height - shown.height,
        terminal=out.output is None and sys.stdout.isatty(),
        csv_raw=out.csv_raw,
        run_extra=dict(trail.run_extra),
    )


def settings_text(ctx: typer.Context) -> str:
    """`tokenaudit config`: the effective settings of the command as a settings file, each
    with where it came from."""
    from tokenaudit.cli_options import SETTINGS_META
    from tokenaudit.settings import as_toml, effective

    loaded = ctx.meta.get(SETTINGS_META)
    entries = effective(ctx.command.params, ctx.params, parameter_sources(ctx), loaded)
    return as_toml(entries, loaded)


# ----------------------------------------------------------------------------- verify


def run_verify(path: Path, tmp: Path, rerun: Callable[[list[str]], int]) -> int:
    """`tokenaudit verify`: re-hash the files the manifest names, re-run the audit with the
    recorded settings (`rerun(args)` runs `scan` and returns its exit code), compare. 0: the
    same inputs give the same report; 1: an input changed or the report differs; 66: an input
    is missing."""
    import hashlib
    import json

    from tokenaudit.verify import check_files, compare_reports, load_recorded, rerun_args

    recorded = load_recorded(path)
    checks = check_files(recorded.manifest)
    for c in checks:
        warn(f"{c.role} {c.path or c.name}: {c.state}")
    if any(c.state == "missing" for c in checks):
        warn("error: inputs are missing; nothing re-run")
        return int(ExitCode.NO_INPUT)
    where = Path(str(recorded.manifest.get("working_directory") or "."))
    if not where.is_dir():
        warn(f"error: the run's working directory {where} is gone; nothing re-run")
        return int(ExitCode.NO_INPUT)
    empty = tmp / "no-settings.toml"  # the recorded settings are complete: no file is read
    empty.write_text("", encoding="utf-8")
    out = tmp / "rerun.json"
    own = ["--config", str(empty), "--format", "json", "-o", str(out)]
    here = Path.cwd()
    os.chdir(where)
    try:
        code = rerun(["scan", *rerun_args(recorded.manifest, own)])
    finally:
        os.chdir(here)
    if code not in (ExitCode.OK, ExitCode.FINDINGS):
        warn(f"error: the re-run failed (exit {code})")
        return code
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    same = digest == recorded.manifest.get("report_sha256")
    differences = []
    if not same and recorded.report is not None:
        differences = compare_reports(recorded.report, json.loads(out.read_text("utf-8")))
    changed = [c for c in checks if c.state == "changed"]
    if same:
        warn("the re-run gives the same report" + (" (some inputs changed)" if changed else ""))
    else:
        warn("the re-run gives a different report" + (":" if differences else ""))
        for line in differences[:20]:
            warn(f"  {line}")
    return int(ExitCode.OK if same else ExitCode.FINDINGS)
