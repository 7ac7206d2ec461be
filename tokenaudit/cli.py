"""The command line: one function per command. Options come in bundles (`cli_options`), the
shared steps (options → `AuditConfig`, errors → exit codes, writing) live in `cli_support`, and
the output formats in `report.registry`.

With `cli_support`, the only module that prints to the user, reads the environment, or exits.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tokenaudit import __version__
from tokenaudit.cli_options import (
    EXPLAIN_AUDIT,
    INSPECT_AUDIT,
    SOURCES,
    AuditOptions,
    DebugOpt,
    FailOnChoice,
    InputOptions,
    ReportOptions,
    SinceOpt,
    TrailOptions,
    TzOpt,
    UntilOpt,
    VerboseOpt,
    bundled,
)
from tokenaudit.cli_support import (
    Trail,
    apply_baseline,
    apply_suppressions_file,
    build_config,
    check_top,
    check_zone,
    emit,
    find_account,
    guarded,
    input_files,
    json_text,
    load_trail,
    period,
    print_rich,
    progress,
    pseudonym_key,
    pseudonymise,
    render_context,
    report_renderer,
    run_manifest,
    run_verify,
    say_interrupted,
    settings_text,
    silence_stdout,
    unreported_interrupt,
    wants_input_digests,
    warn,
    workdir,
)
from tokenaudit.errors import ConfigError, DataError, ExitCode, OutputError, path_text
from tokenaudit.output import check_distinct_outputs, check_output_path, write_atomically

if TYPE_CHECKING:
    from tokenaudit.config import AuditConfig
    from tokenaudit.model import AuditReport
    from tokenaudit.report.interface import Renderer

app = typer.Typer(
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    no_args_is_help=True,
    help="Find AI token usage that is not followed by merged code.\n\n"
    "Exit codes: 0 nothing at or above --fail-on; 1 accounts at or above --fail-on (verify: the "
    "report differs); 2 usage error; "
    "65 bad input data; 66 input missing or unreadable; 70 internal error; 73 cannot create the "
    "output file; 74 I/O error while writing; 130 interrupted; 141 broken pipe.",
)


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


@app.command()
@bundled
def scan(
    ctx: typer.Context,
    inputs: InputOptions,
    out: ReportOptions,
    audit: AuditOptions,
    trail_options: TrailOptions,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Rank accounts by evidence of token usage not followed by merged work."""
    with guarded(debug), workdir() as tmp:
        from tokenaudit.audit import run_audit

        cfg = build_config(inputs, audit)
        check_top(out.top)
        for target in (out.output, out.rejects, audit.save_reference, trail_options.manifest):
            if target is not None:
                check_output_path(target)
        trail = load_trail(ctx, trail_options)
        key = pseudonym_key(audit.pseudonymize)
        files = input_files(inputs, audit, tmp)
        check_distinct_outputs(
            [
                ("-o", out.output),
                ("--rejects", out.rejects),
                ("--save-reference", audit.save_reference),
                ("--manifest", trail_options.manifest),
            ],
            [f.path for f in files],
        )
        renderer = report_renderer(out)
        digests = wants_input_digests(renderer, trail, trail_options)
        with progress(f"auditing {len(files)} input file(s)"):
            report = run_audit(files, cfg, tmp, digests=digests)
        if audit.save_reference is not None:
            from tokenaudit.reference import dump_reference

            write_atomically(audit.save_reference, dump_reference(report, cfg))
        report = apply_suppressions_file(report, trail, files, cfg, tmp)
        if key is not None:
            report = pseudonymise(report, trail, key)
        report = apply_baseline(report, trail, cfg)
        _notes(report, cfg, verbose)
        if out.rejects is not None:
            from tokenaudit.report.rejects import render_rejects

            write_atomically(out.rejects, render_rejects(report.rejects))
        if trail_options.manifest is not None:
            manifest = run_manifest(report, cfg, out, trail, files, tmp, audit.reference)
            write_atomically(trail_options.manifest, json_text(manifest))
            trail.run_extra["manifest"] = manifest
        _write_report(report, cfg, out, trail, renderer)
        code = _exit_code(report, out.fail_on, out.exit_zero, trail)
    raise typer.Exit(code)


def _write_report(
    report: AuditReport, cfg: AuditConfig, out: ReportOptions, trail: Trail, renderer: Renderer
) -> None:
    """Render the report with `renderer`, to `-o` or stdout."""
    emit(
        renderer.render(report, render_context(report, cfg, out, trail, renderer.name)), out.output
    )


def _notes(
    report: AuditReport, cfg: AuditConfig, verbose: bool, *, per_person: bool = True
) -> None:
    from tokenaudit.report.notes import run_notes

    summary = verbose or sys.stderr.isatty()
    for line in run_notes(report, cfg, summary=summary, per_person=per_person):
        sys.stderr.write(f"tokenaudit: {line}\n")


def _exit_code(
    report: AuditReport, fail_on: FailOnChoice, exit_zero: bool, trail: Trail | None = None
) -> int:
    if fail_on is FailOnChoice.NEVER or exit_zero:
        return int(ExitCode.OK)
    if fail_on is FailOnChoice.NEW:
        from tokenaudit.baseline import newly_flagged

        if trail is not None and trail.baseline is not None:
            return int(ExitCode.FINDINGS if newly_flagged(report.accounts) else ExitCode.OK)
        warn("note: --fail-on new without --baseline: every flagged account is new")
        fail_on = FailOnChoice.REVIEW
    levels = {"suspicious"} if fail_on is FailOnChoice.SUSPICIOUS else {"suspicious", "review"}
    hit = report.accounts["status"].is_in(list(levels)).any()
    return int(ExitCode.FINDINGS if hit else ExitCode.OK)


@app.command("config")
@bundled
def show_config(
    ctx: typer.Context,
    inputs: InputOptions,
    out: ReportOptions,
    audit: AuditOptions,
    trail_options: TrailOptions,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Print the settings scan would run with (it takes scan's options) and where each came
    from: the command line, the settings file (file:line), or the default. The output is
    itself a settings file."""
    del inputs, out, audit, trail_options, verbose
    with guarded(debug):
        emit(settings_text(ctx), None)


@app.command()
def verify(
    report: Annotated[
        Path,
        typer.Argument(
            metavar="REPORT.json",
            help="A JSON report made with --manifest FILE, or that manifest file.",
        ),
    ],
    debug: DebugOpt = False,
) -> None:
    """Re-hash every input a report's manifest names and say which changed, then re-run the
    audit with the recorded settings and say whether the report is the same.

    Exit 0: the same report; 1: a different report; 66: inputs are missing.
    """
    with guarded(debug), workdir() as tmp:
        code = run_verify(report, tmp, _rerun)
    raise typer.Exit(code)


def _rerun(args: list[str]) -> int:
    """Run a command of this CLI in this process; its exit code."""
    import typer.main

    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="tokenaudit", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except Exception as exc:  # Click's usage errors (not exported by Typer)
        if not hasattr(exc, "format_message"):
            raise
        sys.stderr.write(f"tokenaudit: error: {exc.format_message()}\n")
        return int(getattr(exc, "exit_code", ExitCode.USAGE))
    finally:
        from tokenaudit.process import interrupt_seen

        if interrupt_seen():  # the re-run's exit code is no verdict: `verify` is interrupted
            raise KeyboardInterrupt
    return int(code or 0)


@app.command()
@bundled
def explain(
    account: Annotated[str, typer.Argument(help="The account to explain (any alias of it).")],
    inputs: InputOptions,
    audit: Annotated[AuditOptions, EXPLAIN_AUDIT],
    debug: DebugOpt = False,
) -> None:
    """Show every check's evidence for one account, its daily timeline, and what would clear it."""
    with guarded(debug), workdir() as tmp:
        from tokenaudit.audit import run_audit
        from tokenaudit.report.explain import render_explain

        cfg = build_config(inputs, audit)
        key = pseudonym_key(audit.pseudonymize)
        files = input_files(inputs, audit, tmp)
        report = run_audit(files, cfg, tmp)
        wanted = find_account(report, account)
        if key is not None:
            from tokenaudit.privacy import pseudonym, pseudonymise_report

            report = pseudonymise_report(report, key)
            wanted = pseudonym(key, wanted) if wanted is not None else find_account(report, account)
        if wanted is None:
            raise ConfigError(f"no account {account!r} in the inputs")
        print_rich(render_explain, report, wanted)


@app.command()
@bundled
def teams(
    inputs: InputOptions,
    out: ReportOptions,
    audit: AuditOptions,
    min_group: Annotated[
        int,
        typer.Option(
            "--min-group",
            min=1,
            metavar="N",
            help="Fold teams of fewer than N people into one group, so that no row singles out a person.",
        ),
    ] = 5,
    verbose: VerboseOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Per team and for the organisation: people, tokens, cost and the merged work that followed."""
    with guarded(debug), workdir() as tmp:
        from tokenaudit.audit import run_audit
        from tokenaudit.report.html_teams import render_rollup, rollup_format
        from tokenaudit.teams import team_rollup

        cfg = build_config(inputs, audit)
        try:
            fmt = rollup_format(out.fmt, out.output, sys.stdout.isatty())
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--format") from None
        if out.output is not None:
            check_output_path(out.output)
        files = input_files(inputs, audit, tmp)
        check_distinct_outputs([("-o", out.output)], [f.path for f in files])
        with progress(f"auditing {len(files)} input file(s)"):
            report = run_audit(files, cfg, tmp)
        _notes(report, cfg, verbose, per_person=False)
        rollup = team_rollup(report, min_group=min_group)
        emit(render_rollup(rollup, fmt, min_group=min_group), out.output)
        code = _exit_code(report, out.fail_on, out.exit_zero)
    raise typer.Exit(code)


@app.command()
@bundled
def inspect(
    inputs: Annotated[InputOptions, SOURCES],
    audit: Annotated[AuditOptions, INSPECT_AUDIT],
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
    with guarded(debug), workdir() as tmp:
        from tokenaudit.inspection import inspect_inputs
        from tokenaudit.report.inspect_view import render_inspection, render_inspection_json

        cfg = build_config(inputs, audit)
        inspection = inspect_inputs(input_files(inputs, audit, tmp), cfg, tmp)
        if fmt == "json" or (fmt == "auto" and not sys.stdout.isatty()):
            emit(render_inspection_json(inspection), None)
        else:
            print_rich(render_inspection, inspection)
        stoppers = [s.name for s in inspection.skipped if s.stops_scan]
        if stoppers:
            # The whole inspection is printed first; the exit code lets a pre-flight step in a
            # pipeline stop where `scan` would.
            raise DataError(
                stoppers[0],
                f"scan would stop on this input ({len(stoppers)} such, listed above)",
            )


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
    with guarded(debug):
        from tokenaudit.synthetic.simulate import generate_org, write_org

        if outdir.exists() and not outdir.is_dir():
            raise OutputError(f"cannot create {path_text(outdir)}: not a directory")
        try:
            org = generate_org(accounts, days, seed, maxxer_share, quota=quota, shock=shock)
            written = write_org(org, outdir, fmt=file_format, compress=gzip)
        except OSError as exc:
            raise OutputError(f"cannot write into {path_text(outdir)}: {exc.strerror}") from exc
        maxxers = int(org.truth["is_maxxer"].sum())
        sys.stderr.write(
            f"tokenaudit: wrote {len(written)} files to {path_text(outdir)}: {org.usage.height:,} usage rows, "
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
    check_zone(tz, "--tz")
    for name, value in (("--table", table), ("--identities-table", identities_table)):
        if value is not None and (not value.strip() or any(ord(c) < 32 for c in value)):
            raise typer.BadParameter(
                "must be a table name without control characters", param_hint=name
            )
    with guarded(debug):
        start, end = period(since, until)
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
            emit(sql, None)
        else:
            check_output_path(output)
            write_atomically(output, sql)


def main() -> None:
    """Console entry point (`_entry.main` calls it once the process is guarded)."""
    try:
        app()
    except BrokenPipeError:
        silence_stdout()
        sys.exit(int(ExitCode.BROKEN_PIPE))
    except KeyboardInterrupt:
        sys.exit(say_interrupted())
    except SystemExit as exc:
        if unreported_interrupt(exc):
            sys.exit(say_interrupted())
        raise
