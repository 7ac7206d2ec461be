"""The command line: options → AuditConfig, errors → exit codes, and the choice of renderer.

The only module that prints to the user, reads the environment, or exits.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn

import typer

from tokenaudit import __version__
from tokenaudit.errors import (
    ConfigError,
    ExitCode,
    InputMissingError,
    OutputError,
    TokenauditError,
    WriteError,
)
from tokenaudit.output import check_output_path, write_atomically

if TYPE_CHECKING:
    from collections.abc import Iterator

    from rich.console import Console

    from tokenaudit.config import AuditConfig
    from tokenaudit.loaders import InputFile
    from tokenaudit.model import AuditReport

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    no_args_is_help=True,
    help="Find AI token usage that is not followed by merged code.\n\n"
    "Exit codes: 0 nothing at or above --fail-on; 1 accounts at or above --fail-on; 2 usage error; "
    "65 bad input data; 66 input missing or unreadable; 70 internal error; 73 cannot create the "
    "output file; 74 I/O error while writing; 130 interrupted; 141 broken pipe.",
)


class OutputFormat(StrEnum):
    AUTO = "auto"
    TABLE = "table"
    CSV = "csv"
    TSV = "tsv"
    JSON = "json"
    NDJSON = "ndjson"
    MARKDOWN = "markdown"


class FailOnChoice(StrEnum):
    SUSPICIOUS = "suspicious"
    REVIEW = "review"
    NEVER = "never"


_EXTENSION_FORMATS = {
    ".json": OutputFormat.JSON,
    ".ndjson": OutputFormat.NDJSON,
    ".jsonl": OutputFormat.NDJSON,
    ".tsv": OutputFormat.TSV,
    ".md": OutputFormat.MARKDOWN,
    ".txt": OutputFormat.TABLE,
}
_DEFAULT_TABLE_ROWS = 25


def _version(value: bool) -> None:
    if value:
        print(f"tokenaudit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Find AI token usage that is not followed by merged code."""


# ----------------------------------------------------------------------------- shared options

PathsArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="PATH...",
        help="Files or directories (every file inside) to read; '-' reads stdin. Kinds are detected from content.",
    ),
]
UsageOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--usage", metavar="PATH", help="Read this path as token usage, whatever it looks like."
    ),
]
CommitsOpt = Annotated[
    list[str] | None,
    typer.Option("--commits", metavar="PATH", help="Read this path as merged changes."),
]
IdentitiesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--identities",
        metavar="FILE",
        help="alias,account[,team][,role] file mapping spellings to people.",
    ),
]
SinceOpt = Annotated[
    str | None, typer.Option("--since", metavar="DATE", help="First day to audit (YYYY-MM-DD).")
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", metavar="DATE", help="Last day to audit (YYYY-MM-DD).")
]
TzOpt = Annotated[
    str, typer.Option("--tz", metavar="ZONE", help="Time zone that cuts timestamps into days.")
]
WindowOpt = Annotated[
    str,
    typer.Option(
        "--window",
        metavar="DAYS|auto",
        help="Follow-up window in days, or 'auto' (cohort p90 usage-to-merge lag, 3-21).",
    ),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Benjamini-Yekutieli instead of Benjamini-Hochberg.")
]
AssumeTzOpt = Annotated[
    str,
    typer.Option(
        "--assume-tz",
        metavar="ZONE|none",
        help="Zone of timestamps written without one (they are counted on stderr); 'none' rejects them.",
    ),
]
MaxBadRowsOpt = Annotated[
    int | None,
    typer.Option(
        "--max-bad-rows",
        min=0,
        metavar="N",
        help="Refuse a file with more unusable rows (exit 65).",
    ),
]
MaxBadRatioOpt = Annotated[
    float,
    typer.Option(
        "--max-bad-ratio",
        min=0.0,
        max=1.0,
        metavar="R",
        help="Refuse a file with a larger share of unusable rows.",
    ),
]
AllowEmptyOpt = Annotated[
    bool, typer.Option("--allow-empty", help="No usable usage rows: an empty report, not exit 65.")
]
QuotaOpt = Annotated[
    float | None,
    typer.Option(
        "--quota",
        min=1,
        metavar="TOKENS",
        help="Weekly token quota of a usage leaderboard (finds bunching above it).",
    ),
]
SnapshotOpt = Annotated[
    str | None,
    typer.Option(
        "--snapshot-day",
        metavar="DAY",
        help="Weekday a usage leaderboard is snapshot (finds spikes the day before).",
    ),
]
ChangeDateOpt = Annotated[
    str | None,
    typer.Option(
        "--change-date",
        metavar="DATE",
        help="A known date of change (leaderboard launch) for usage-jump.",
    ),
]
WeekStartOpt = Annotated[
    str, typer.Option("--week-start", metavar="DAY", help="Weekday weeks start on.")
]
RepoOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--repo",
        metavar="GITDIR",
        help="Read merged changes from this git repository's first-parent history.",
    ),
]
BranchOpt = Annotated[
    str | None,
    typer.Option(
        "--branch", metavar="REF", help="Branch of --repo (default: origin's default branch)."
    ),
]
AccountOpt = Annotated[
    str | None,
    typer.Option(
        "--account",
        metavar="NAME",
        help="Account for exports that name none (Claude Code transcripts, ccusage).",
    ),
]
PseudonymizeOpt = Annotated[
    Path | None,
    typer.Option(
        "--pseudonymize",
        metavar="KEYFILE",
        help="Replace every person identifier by a keyed HMAC-SHA256 pseudonym (key: 32+ bytes, mode 600).",
    ),
]
MaxExpandedOpt = Annotated[
    str,
    typer.Option(
        "--max-expanded-size",
        metavar="SIZE|auto",
        help="Refuse a compressed input that expands past SIZE (e.g. 2G; exit 65). auto = "
        "64 times its compressed size, at least 256M.",
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show a traceback on internal errors.")]
VerboseOpt = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Summaries on stderr even when it is not a terminal."),
]


def _parse_date(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}", param_hint=name) from None


def _period(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    start, end = _parse_date("--since", since), _parse_date("--until", until)
    if start and end and start > end:
        raise ConfigError(f"--since {start} is after --until {end}")
    return start, end


def _check_zone(zone: str, option: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {zone!r}", param_hint=option) from None


@dataclass(frozen=True)
class InputChecks:
    """The options that say how to read the input and how much bad input to accept."""

    assume_tz: str | None = "UTC"
    account: str | None = None
    max_bad_rows: int | None = None
    max_bad_ratio: float = 0.5
    allow_empty: bool = False


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Deadlines:
    """A usage leaderboard's deadlines: a weekly quota, the snapshot weekday, the week's start."""

    quota: float | None = None
    snapshot_day: str | None = None
    week_start: str = "mon"
    change_date: str | None = None


def _weekday(value: str, option: str) -> int:
    key = value.strip().lower()[:3]
    if key not in _WEEKDAYS:
        raise typer.BadParameter(
            f"expected a weekday (mon … sun), got {value!r}", param_hint=option
        )
    return _WEEKDAYS.index(key)


def _build_config(
    since: str | None,
    until: str | None,
    tz: str,
    window: str,
    strict: bool,
    checks: InputChecks,
    deadlines: Deadlines | None = None,
) -> AuditConfig:
    from tokenaudit.config import AuditConfig

    _check_zone(tz, "--tz")
    assume_tz = None if checks.assume_tz in (None, "none") else checks.assume_tz
    if assume_tz is not None:
        _check_zone(assume_tz, "--assume-tz")
    window_days: int | None
    if window == "auto":
        window_days = None
    else:
        try:
            window_days = int(window)
        except ValueError:
            raise typer.BadParameter(
                f"expected a number of days or 'auto', got {window!r}", param_hint="--window"
            ) from None
        if not 1 <= window_days <= 120:
            raise typer.BadParameter("must be between 1 and 120 days", param_hint="--window")
    start, end = _period(since, until)
    return AuditConfig(
        since=start,
        until=end,
        tz=tz,
        window_days=window_days,
        strict=strict,
        assume_tz=assume_tz,
        max_bad_rows=checks.max_bad_rows,
        max_bad_ratio=checks.max_bad_ratio,
        allow_empty=checks.allow_empty,
        account=checks.account,
        quota=deadlines.quota if deadlines else None,
        snapshot_day=_weekday(deadlines.snapshot_day, "--snapshot-day") + 1
        if deadlines and deadlines.snapshot_day
        else None,
        week_start=_weekday(deadlines.week_start, "--week-start") if deadlines else 0,
        change_date=_parse_date("--change-date", deadlines.change_date) if deadlines else None,
    )


def _input_files(
    paths: list[str] | None,
    usage: list[str] | None,
    commits: list[str] | None,
    identities: list[str] | None,
    workdir: Path,
    repos: list[Path] | None = None,
    branch: str | None = None,
    max_expanded: int | None = None,
) -> list[InputFile]:
    from tokenaudit.loaders import InputFile, expand_paths
    from tokenaudit.loaders.readers import read_text_stream
    from tokenaudit.schema import Kind

    files: list[InputFile] = []
    stdin_used = False
    for group, kind in (
        (paths, None),
        (usage, Kind.USAGE),
        (commits, Kind.COMMITS),
        (identities, Kind.IDENTITIES),
    ):
        for item in group or []:
            if item == "-":
                if stdin_used:
                    raise ConfigError("'-' (stdin) can be given only once")
                stdin_used = True
                spooled = _spool_stdin(read_text_stream, workdir)
                files.append(InputFile(spooled, "<stdin>", kind, max_expanded=max_expanded))
            else:
                files.extend(expand_paths([item], kind, max_expanded=max_expanded))
    if repos:
        from tokenaudit.loaders.git import repository_input

        files.extend(repository_input(repo, branch, workdir) for repo in repos)
    if not files:
        raise typer.BadParameter("give at least one PATH, --usage, --commits or --repo")
    return files


def _spool_stdin(read_text_stream: Any, workdir: Path) -> Path:
    from tokenaudit import _entry

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None or 0 in _entry.closed_streams:
        raise InputMissingError("<stdin>", "standard input is closed")
    try:
        return Path(read_text_stream(stream, workdir))
    except OSError as exc:
        raise InputMissingError("<stdin>", f"cannot read: {exc.strerror or exc}") from exc


_SIZE_UNITS: Final = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def _parse_size(value: str) -> int | None:
    """'auto' → None; '512M', '2G', '2GiB', '100MB', '1048576' → bytes (powers of 1024)."""
    text = value.strip().lower()
    if text == "auto":
        return None
    import re

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


# ----------------------------------------------------------------------------- running safely


def _fail(message: str, code: ExitCode) -> NoReturn:
    from tokenaudit.report.sanitize import visible

    sys.stderr.write(f"tokenaudit: {visible(message)}\n")
    raise typer.Exit(int(code))


@contextmanager
def _guarded(debug: bool) -> Iterator[None]:
    """Map every failure to its documented exit code with one line on stderr."""
    try:
        yield
    except typer.Exit:
        raise
    except typer.BadParameter:
        raise
    except ConfigError as exc:
        _fail(f"error: {exc}", ExitCode.USAGE)
    except TokenauditError as exc:
        _fail(f"error: {exc}", exc.exit_code)
    except KeyboardInterrupt:
        _interrupted()
    except BrokenPipeError:
        _silence_stdout()
        raise typer.Exit(int(ExitCode.BROKEN_PIPE)) from None
    except MemoryError:
        _fail("error: out of memory; narrow the period with --since/--until", ExitCode.INTERNAL)
    except Exception as exc:
        from tokenaudit._entry import interrupt_seen

        if interrupt_seen():  # a Ctrl-C that a library turned into another exception
            _interrupted()
        if debug:
            import traceback

            traceback.print_exc()
        _fail(
            f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
            "(rerun with --debug for a traceback)",
            ExitCode.INTERNAL,
        )


def _interrupted() -> NoReturn:
    """SIGINT → 130, SIGTERM → 143; the `with` blocks being unwound remove the temp files."""
    from tokenaudit._entry import interrupt_code

    code = interrupt_code()
    word = "interrupted" if code == ExitCode.INTERRUPTED else "terminated"
    sys.stderr.write(f"tokenaudit: {word}\n")
    raise typer.Exit(code) from None


def _silence_stdout() -> None:
    # Python docs, "Note on SIGPIPE": point stdout at devnull so the interpreter's final flush
    # does not raise again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


@contextmanager
def _progress(what: str) -> Iterator[None]:
    """A spinner on stderr while the inputs load and the checks run — only on a terminal, so that
    cron logs and pipes never see animation."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True, highlight=False, markup=False).status(what):
        yield


@contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="tokenaudit-") as name:
        yield Path(name)


def _emit(text: str, output: Path | None) -> None:
    if output is not None:
        write_atomically(output, text)
        return
    with _writing_stdout():
        sys.stdout.write(text)
        sys.stdout.flush()


@contextmanager
def _writing_stdout() -> Iterator[None]:
    """A failed write to stdout (a full device, a closed descriptor) is exit 74; a reader that
    went away stays a broken pipe (141)."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise WriteError(f"writing the report to stdout failed: {exc.strerror or exc}") from exc


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False, markup=False, emoji=False)


def _notes(report: AuditReport, cfg: AuditConfig, verbose: bool) -> None:
    """One-line warnings always; the run summary only for a terminal or --verbose."""
    from tokenaudit.report.sanitize import visible

    err = sys.stderr
    duplicate = report.rejects["reason"].str.starts_with("column 'request_id': duplicate")
    bad = report.rejects.filter(~duplicate)
    if duplicate.any():
        err.write(
            f"tokenaudit: note: {int(duplicate.sum())} repeated request ids counted once (--rejects FILE lists them)\n"
        )
    stray = bad["reason"].str.contains("far outside the bulk of the data", literal=True)
    if stray.any():
        days = bad.filter(stray)["reason"].str.extract(r"timestamp (\S+) is far", 1).unique().sort()
        shown = ", ".join(days.head(3).to_list()) + (" …" if days.len() > 3 else "")
        err.write(
            f"tokenaudit: warning: {int(stray.sum())} usage rows dated far outside the rest of "
            f"the data ({shown}) were set aside so that they do not stretch the audited period; "
            "pass --since/--until to include them\n"
        )
    if bad.height:
        first = bad.row(0, named=True)
        files = bad["file"].n_unique()
        err.write(
            f"tokenaudit: warning: {bad.height} input rows rejected in {files} file(s) (--rejects FILE lists "
            f"them); first at {visible(first['file'])}:{first['line']}: {visible(first['reason'])}\n"
        )
    if (
        report.merges_known_until
        and report.first_day
        and report.merges_known_until < report.first_day
    ):
        err.write(
            f"tokenaudit: warning: the commit log ends on {report.merges_known_until}, before the usage starts "
            f"({report.first_day}); no usage day can be judged\n"
        )
    if report.skipped:
        names = ", ".join(visible(s) for s in report.skipped[:3]) + (
            f", … ({len(report.skipped) - 3} more)" if len(report.skipped) > 3 else ""
        )
        err.write(
            f"tokenaudit: note: skipped {len(report.skipped)} file(s) that are not logs "
            f"(not usage, commits or identities): {names}\n"
        )
    if report.unmatched_usage or report.unmatched_authors:
        err.write(
            f"tokenaudit: warning: {len(report.unmatched_usage)} usage accounts have no merged change and "
            f"{len(report.unmatched_authors)} commit authors have no usage; check --identities\n"
        )
    zone_less = sum(s.zone_less for s in report.inputs)
    if zone_less:
        err.write(
            f"tokenaudit: note: {zone_less} timestamps had no time zone and were read as {cfg.assume_tz} "
            "(--assume-tz ZONE to say otherwise, --assume-tz none to reject them)\n"
        )
    if report.pseudonymised:
        err.write(
            "tokenaudit: note: accounts are pseudonymised; pseudonymised data is still personal data\n"
        )
    if verbose or err.isatty():
        counts = report.accounts.group_by("status").len()
        by = dict(counts.iter_rows())
        parts = [
            f"{by.get(s, 0)} {s}"
            for s in ("suspicious", "review", "ok", "insufficient_data", "excluded")
        ]
        err.write(
            f"tokenaudit: {report.accounts.height} accounts, {report.first_day} to {report.last_day}, "
            f"window {report.window_days} d: {', '.join(parts)}\n"
        )


def _exit_code(report: AuditReport, fail_on: FailOnChoice, exit_zero: bool) -> int:
    if fail_on is FailOnChoice.NEVER or exit_zero:
        return int(ExitCode.OK)
    levels = {"suspicious"} if fail_on is FailOnChoice.SUSPICIOUS else {"suspicious", "review"}
    hit = report.accounts["status"].is_in(list(levels)).any()
    return int(ExitCode.FINDINGS if hit else ExitCode.OK)


# ----------------------------------------------------------------------------- commands


@app.command()
def scan(
    paths: PathsArg = None,
    usage: UsageOpt = None,
    commits: CommitsOpt = None,
    identities: IdentitiesOpt = None,
    repo: RepoOpt = None,
    branch: BranchOpt = None,
    account: AccountOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    tz: TzOpt = "UTC",
    window: WindowOpt = "auto",
    quota: QuotaOpt = None,
    snapshot_day: SnapshotOpt = None,
    week_start: WeekStartOpt = "mon",
    change_date: ChangeDateOpt = None,
    fmt: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="auto = a table on a terminal, else CSV (or by the --output extension).",
        ),
    ] = OutputFormat.AUTO,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the report here, atomically."),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option("--top", min=1, metavar="N", help="Only the N highest-ranked accounts."),
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every account (the table shows 25 by default).")
    ] = False,
    fail_on: Annotated[
        FailOnChoice, typer.Option("--fail-on", help="Exit 1 when an account reaches this status.")
    ] = FailOnChoice.SUSPICIOUS,
    exit_zero: Annotated[
        bool, typer.Option("--exit-zero", help="Exit 0 even when accounts are flagged.")
    ] = False,
    csv_raw: Annotated[
        bool, typer.Option("--csv-raw", help="Do not neutralise spreadsheet formulas in CSV/TSV.")
    ] = False,
    rejects_file: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            metavar="FILE",
            help="Write every rejected input row here (CSV), atomically.",
        ),
    ] = None,
    assume_tz: AssumeTzOpt = "UTC",
    max_bad_rows: MaxBadRowsOpt = None,
    max_bad_ratio: MaxBadRatioOpt = 0.5,
    allow_empty: AllowEmptyOpt = False,
    max_expanded_size: MaxExpandedOpt = "auto",
    pseudonymize: PseudonymizeOpt = None,
    strict: StrictOpt = False,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Rank accounts by evidence of token usage not followed by merged work."""
    code = 0
    with _guarded(debug), _workdir() as workdir:
        from tokenaudit.audit import run_audit

        checks = InputChecks(assume_tz, account, max_bad_rows, max_bad_ratio, allow_empty)
        cfg = _build_config(
            since, until, tz, window, strict, checks, Deadlines(quota, snapshot_day, week_start)
        )
        for target in (output, rejects_file):
            if target is not None:
                check_output_path(target)
        key = _pseudonym_key(pseudonymize)
        files = _input_files(
            paths,
            usage,
            commits,
            identities,
            workdir,
            repo,
            branch,
            _parse_size(max_expanded_size),
        )
        with _progress(f"auditing {len(files)} input file(s)"):
            report = run_audit(files, cfg, workdir)
        if key is not None:
            from tokenaudit.privacy import pseudonymise_report

            report = pseudonymise_report(report, key)
        chosen = _choose_format(fmt, output)
        accounts = report.accounts.sort("rank")
        limit = (
            None
            if show_all
            else top
            if top is not None
            else _DEFAULT_TABLE_ROWS
            if chosen is OutputFormat.TABLE
            else None
        )
        shown = accounts.head(limit) if limit is not None else accounts
        _notes(report, cfg, verbose)
        if rejects_file is not None:
            from tokenaudit.report.rejects import render_rejects

            write_atomically(rejects_file, render_rejects(report.rejects))
        _emit_report(report, cfg, shown, accounts.height - shown.height, chosen, output, csv_raw)
        code = _exit_code(report, fail_on, exit_zero)
    raise typer.Exit(code)


def _pseudonym_key(path: Path | None) -> bytes | None:
    if path is None:
        return None
    from tokenaudit.privacy import read_key

    return read_key(path)


def _choose_format(fmt: OutputFormat, output: Path | None) -> OutputFormat:
    if fmt is not OutputFormat.AUTO:
        return fmt
    if output is not None:
        return _EXTENSION_FORMATS.get(output.suffix.lower(), OutputFormat.CSV)
    return OutputFormat.TABLE if sys.stdout.isatty() else OutputFormat.CSV


def _emit_report(
    report: AuditReport,
    cfg: AuditConfig,
    shown: object,
    hidden: int,
    fmt: OutputFormat,
    output: Path | None,
    csv_raw: bool,
) -> None:
    import polars as pl

    assert isinstance(shown, pl.DataFrame)
    if fmt is OutputFormat.TABLE:
        from rich.console import Console

        from tokenaudit.report.table import render_table

        if output is None:
            with _writing_stdout():
                console = Console(highlight=False, markup=False, emoji=False)
                render_table(shown, console, hidden=hidden)
                sys.stdout.flush()
            return
        import io

        buf = io.StringIO()
        render_table(
            shown,
            Console(
                file=buf, width=160, color_system=None, highlight=False, markup=False, emoji=False
            ),
            hidden=hidden,
        )
        _emit(buf.getvalue(), output)
        return
    if fmt in (OutputFormat.CSV, OutputFormat.TSV):
        from tokenaudit.report.delimited import render_delimited

        text = render_delimited(
            shown, separator="," if fmt is OutputFormat.CSV else "\t", raw=csv_raw
        )
    elif fmt is OutputFormat.JSON:
        from tokenaudit.report.jsonout import render_json

        text = render_json(report, cfg, shown)
    elif fmt is OutputFormat.NDJSON:
        from tokenaudit.report.jsonout import render_ndjson

        text = render_ndjson(report, shown)
    else:
        from tokenaudit.report.markdown import render_markdown

        text = render_markdown(shown)
    _emit(text, output)


@app.command()
def explain(
    account: Annotated[str, typer.Argument(help="The account to explain (any alias of it).")],
    paths: PathsArg = None,
    usage: UsageOpt = None,
    commits: CommitsOpt = None,
    identities: IdentitiesOpt = None,
    repo: RepoOpt = None,
    branch: BranchOpt = None,
    owner: Annotated[
        str | None,
        typer.Option(
            "--account",
            metavar="NAME",
            help="Account for exports that name none (Claude Code transcripts, ccusage).",
        ),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    tz: TzOpt = "UTC",
    window: WindowOpt = "auto",
    quota: QuotaOpt = None,
    snapshot_day: SnapshotOpt = None,
    week_start: WeekStartOpt = "mon",
    change_date: ChangeDateOpt = None,
    assume_tz: AssumeTzOpt = "UTC",
    max_bad_rows: MaxBadRowsOpt = None,
    max_bad_ratio: MaxBadRatioOpt = 0.5,
    max_expanded_size: MaxExpandedOpt = "auto",
    pseudonymize: PseudonymizeOpt = None,
    strict: StrictOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Show every check's evidence for one account, its daily timeline, and what would clear it."""
    with _guarded(debug), _workdir() as workdir:
        from rich.console import Console

        from tokenaudit.audit import run_audit
        from tokenaudit.report.explain import render_explain

        checks = InputChecks(assume_tz, owner, max_bad_rows, max_bad_ratio, allow_empty=False)
        cfg = _build_config(
            since, until, tz, window, strict, checks, Deadlines(quota, snapshot_day, week_start)
        )
        key = _pseudonym_key(pseudonymize)
        files = _input_files(
            paths,
            usage,
            commits,
            identities,
            workdir,
            repo,
            branch,
            _parse_size(max_expanded_size),
        )
        report = run_audit(files, cfg, workdir)
        wanted = _find_account(report, account)
        if key is not None:
            from tokenaudit.privacy import pseudonym, pseudonymise_report

            report = pseudonymise_report(report, key)
            wanted = (
                pseudonym(key, wanted) if wanted is not None else _find_account(report, account)
            )
        if wanted is None:
            raise ConfigError(f"no account {account!r} in the inputs")
        with _writing_stdout():
            render_explain(report, wanted, Console(highlight=False, markup=False, emoji=False))
            sys.stdout.flush()


def _find_account(report: AuditReport, account: str) -> str | None:
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


@app.command()
def inspect(
    paths: PathsArg = None,
    usage: UsageOpt = None,
    commits: CommitsOpt = None,
    identities: IdentitiesOpt = None,
    repo: RepoOpt = None,
    branch: BranchOpt = None,
    account: AccountOpt = None,
    assume_tz: AssumeTzOpt = "UTC",
    max_expanded_size: MaxExpandedOpt = "auto",
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", metavar="table|json", help="table (default on a terminal) or json."
        ),
    ] = "auto",
    debug: DebugOpt = False,
) -> None:
    """Show what each input was detected as, rows read and rejected, time range, and identity coverage."""
    if fmt not in ("auto", "table", "json"):
        raise typer.BadParameter("must be table or json", param_hint="--format")
    with _guarded(debug), _workdir() as workdir:
        from tokenaudit.inspection import inspect_inputs

        checks = InputChecks(assume_tz, account)
        cfg = _build_config(None, None, "UTC", "auto", False, checks)
        files = _input_files(
            paths,
            usage,
            commits,
            identities,
            workdir,
            repo,
            branch,
            _parse_size(max_expanded_size),
        )
        inspection = inspect_inputs(files, cfg, workdir)
        if fmt == "json" or (fmt == "auto" and not sys.stdout.isatty()):
            from tokenaudit.report.inspect_view import render_inspection_json

            _emit(render_inspection_json(inspection), None)
        else:
            from rich.console import Console

            from tokenaudit.report.inspect_view import render_inspection

            with _writing_stdout():
                render_inspection(inspection, Console(highlight=False, markup=False, emoji=False))
                sys.stdout.flush()


@app.command()
def generate(
    outdir: Annotated[
        Path,
        typer.Argument(help="Directory to write usage, commits, identities and truth files into."),
    ],
    accounts: Annotated[
        int, typer.Option("--accounts", min=5, max=20000, help="People in the organisation.")
    ] = 200,
    days: Annotated[int, typer.Option("--days", min=7, max=730, help="Days of history.")] = 63,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same files.")] = 0,
    maxxer_share: Annotated[
        float, typer.Option("--maxxer-share", min=0.0, max=0.9, help="Share of tokenmaxxers.")
    ] = 0.08,
    file_format: Annotated[str, typer.Option("--file-format", help="csv or parquet.")] = "csv",
    quota: Annotated[
        float | None,
        typer.Option(
            "--quota",
            min=1,
            metavar="TOKENS",
            help="A weekly token quota; adds quota hitters aiming at it.",
        ),
    ] = None,
    shock: Annotated[
        bool,
        typer.Option(
            "--shock", help="An org-wide usage rise from one week on (a new model, a mandate)."
        ),
    ] = False,
    gzip: Annotated[
        bool, typer.Option("--gzip", help="Gzip the CSV usage and commit files.")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    """Write a synthetic organisation with known honest people and tokenmaxxers."""
    if file_format not in ("csv", "parquet"):
        raise typer.BadParameter("must be csv or parquet", param_hint="--file-format")
    with _guarded(debug):
        from tokenaudit.simulate import generate_org, write_org

        if outdir.exists() and not outdir.is_dir():
            raise OutputError(f"cannot create {outdir}: not a directory")
        try:
            org = generate_org(accounts, days, seed, maxxer_share, quota=quota, shock=shock)
            written = write_org(org, outdir, fmt=file_format, compress=gzip)
        except OSError as exc:
            raise OutputError(f"cannot write into {outdir}: {exc.strerror}") from exc
        maxxers = int(org.truth["is_maxxer"].sum())
        sys.stderr.write(
            f"tokenaudit: wrote {len(written)} files to {outdir}: {org.usage.height:,} usage rows, "
            f"{org.commits.height:,} merged changes, {accounts} people ({maxxers} tokenmaxxers)\n"
        )


class SqlDialect(StrEnum):
    DUCKDB = "duckdb"
    SPARK = "spark"
    BIGQUERY = "bigquery"


@app.command("panel-sql")
def panel_sql(
    dialect: Annotated[
        SqlDialect, typer.Option("--dialect", case_sensitive=False, help="SQL dialect to write.")
    ],
    table: Annotated[
        str,
        typer.Option(
            "--table",
            metavar="NAME",
            help="Table or view with the canonical usage columns (timestamp, account, token counts, requests, cost_usd, request_id, session_id, source).",
        ),
    ] = "usage",
    identities_table: Annotated[
        str | None,
        typer.Option(
            "--identities-table",
            metavar="NAME",
            help="Table with alias and account columns, resolved like --identities.",
        ),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    tz: TzOpt = "UTC",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the SQL here, atomically."),
    ] = None,
    debug: DebugOpt = False,
) -> None:
    """Print the SQL that builds the account-day usage panel inside a warehouse.

    Run it where the logs live, save the result as CSV or Parquet, and scan that file with the
    commit log: tokenaudit scan panel.parquet --commits commits.csv
    """
    _check_zone(tz, "--tz")
    for name, value in (("--table", table), ("--identities-table", identities_table)):
        if value is not None and (not value.strip() or any(ord(c) < 32 for c in value)):
            raise typer.BadParameter(
                "must be a table name without control characters", param_hint=name
            )
    with _guarded(debug):
        start, end = _period(since, until)
        from tokenaudit.warehouse import panel_sql as build_sql

        sql = build_sql(
            dialect.value,
            table=table,
            identities_table=identities_table,
            tz=tz,
            since=start,
            until=end,
        )
        if output is None:
            _emit(sql, None)
        else:
            check_output_path(output)
            write_atomically(output, sql)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except BrokenPipeError:
        _silence_stdout()
        sys.exit(int(ExitCode.BROKEN_PIPE))
    except KeyboardInterrupt:
        from tokenaudit._entry import interrupt_code

        code = interrupt_code()
        sys.stderr.write(
            "tokenaudit: interrupted\n"
            if code == ExitCode.INTERRUPTED
            else "tokenaudit: terminated\n"
        )
        sys.stderr.flush()
        sys.exit(code)
