"""The options commands share, as bundles: one dataclass per group of options, declared once.

A command takes a bundle as one parameter (`inputs: InputOptions`) and `@bundled` spreads its
fields into the command's options where the parameter stands, in field order (the way
sqlite-utils shares option decorators between commands). A command that needs only some of a
bundle's options says which: `Annotated[AuditOptions, Pick("assume_tz", ...)]`; the others keep
their defaults. The command receives the bundle built from the options given.

Typer reads a command's signature each time it builds the CLI, so a bundle's options may depend
on registries (`ReportOptions` lists the formats registered in `report.registry` at that time).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, get_args, get_origin, get_type_hints

import typer


class Bundle:
    """A dataclass of options; `options()` gives each field's annotation (Typer metadata too)."""

    @classmethod
    def options(cls) -> dict[str, Any]:
        hints = get_type_hints(cls, include_extras=True)
        return {f.name: hints[f.name] for f in fields(cls)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Pick:
    """The options of a bundle a command takes (the rest keep their defaults)."""

    names: tuple[str, ...]

    def __init__(self, *names: str) -> None:
        object.__setattr__(self, "names", names)


class MeasureChoice(StrEnum):
    TOKENS = "tokens"
    COST = "cost"


class FailOnChoice(StrEnum):
    SUSPICIOUS = "suspicious"
    REVIEW = "review"
    #: Only accounts flagged now and not in the `--baseline` report.
    NEW = "new"
    NEVER = "never"


# ----------------------------------------------------------------------------- the options

PathsArg = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="PATH...",
        help="Files or directories (every file inside) to read; '-' reads stdin. Kinds are detected from content.",
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
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show a traceback on internal errors.")]
VerboseOpt = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Summaries on stderr even when it is not a terminal."),
]


@dataclass(frozen=True)
class InputOptions(Bundle):
    """What to read (`scan`, `explain`, `inspect`) and the period and calendar to audit it in."""

    paths: PathsArg = None
    usage: Annotated[
        list[str] | None,
        typer.Option(
            "--usage", metavar="PATH", help="Read this path as token usage, whatever it looks like."
        ),
    ] = None
    commits: Annotated[
        list[str] | None,
        typer.Option("--commits", metavar="PATH", help="Read this path as merged changes."),
    ] = None
    identities: Annotated[
        list[str] | None,
        typer.Option(
            "--identities",
            metavar="FILE",
            help="alias,account[,team][,role] file mapping spellings to people.",
        ),
    ] = None
    repo: Annotated[
        list[Path] | None,
        typer.Option(
            "--repo",
            metavar="GITDIR",
            help="Read merged changes from this git repository's first-parent history.",
        ),
    ] = None
    branch: Annotated[
        str | None,
        typer.Option(
            "--branch", metavar="REF", help="Branch of --repo (default: origin's default branch)."
        ),
    ] = None
    owner: Annotated[
        str | None,
        typer.Option(
            "--account",
            metavar="NAME",
            help="Account for exports that name none (Claude Code transcripts, ccusage).",
        ),
    ] = None
    since: SinceOpt = None
    until: UntilOpt = None
    tz: TzOpt = "UTC"
    window: Annotated[
        str,
        typer.Option(
            "--window",
            metavar="DAYS|auto",
            help="Follow-up window in days, or 'auto' (cohort p90 usage-to-merge lag, 3-21).",
        ),
    ] = "auto"
    quota: Annotated[
        float | None,
        typer.Option(
            "--quota",
            min=1,
            metavar="TOKENS",
            help="Weekly token quota of a usage leaderboard (finds bunching above it).",
        ),
    ] = None
    snapshot_day: Annotated[
        str | None,
        typer.Option(
            "--snapshot-day",
            metavar="DAY",
            help="Weekday a usage leaderboard is snapshot (finds spikes the day before).",
        ),
    ] = None
    week_start: Annotated[
        str, typer.Option("--week-start", metavar="DAY", help="Weekday weeks start on.")
    ] = "mon"
    change_date: Annotated[
        str | None,
        typer.Option(
            "--change-date",
            metavar="DATE",
            help="A known date of change (leaderboard launch) for usage-jump.",
        ),
    ] = None


#: The options of `InputOptions` that say what to read (`inspect` takes only these).
SOURCES = Pick("paths", "usage", "commits", "identities", "repo", "branch", "owner")


@dataclass(frozen=True)
class AuditOptions(Bundle):
    """How strictly to read the input and how to run the audit."""

    assume_tz: Annotated[
        str,
        typer.Option(
            "--assume-tz",
            metavar="ZONE|none",
            help="Zone of timestamps written without one (they are counted on stderr); 'none' rejects them.",
        ),
    ] = "UTC"
    max_bad_rows: Annotated[
        int | None,
        typer.Option(
            "--max-bad-rows",
            min=0,
            metavar="N",
            help="Refuse a file with more unusable rows (exit 65).",
        ),
    ] = None
    max_bad_ratio: Annotated[
        float,
        typer.Option(
            "--max-bad-ratio",
            min=0.0,
            max=1.0,
            metavar="R",
            help="Refuse a file with a larger share of unusable rows.",
        ),
    ] = 0.5
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="No usable usage rows: an empty report, not exit 65."),
    ] = False
    max_expanded_size: Annotated[
        str,
        typer.Option(
            "--max-expanded-size",
            metavar="SIZE|auto",
            help="Refuse a compressed input that expands past SIZE (e.g. 2G; exit 65). auto = "
            "64 times its compressed size, at least 256M.",
        ),
    ] = "auto"
    memory_limit: Annotated[
        str,
        typer.Option(
            "--memory-limit",
            metavar="SIZE|auto",
            help="Memory the usage panel may take (e.g. 1GB, 1.5G, 2048MiB): usage that fits is "
            "processed in one pass in memory, larger usage in account buckets on disk. auto = "
            "a quarter of the machine's memory (or its cgroup limit), at most 4G.",
        ),
    ] = "auto"
    pseudonymize: Annotated[
        Path | None,
        typer.Option(
            "--pseudonymize",
            metavar="KEYFILE",
            help="Replace every person identifier by a keyed HMAC-SHA256 pseudonym (key: 32+ bytes, mode 600).",
        ),
    ] = None
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            metavar="FILE",
            help="Compare with the fitted null models of a larger scan (README: when a "
            "reference is appropriate).",
        ),
    ] = None
    save_reference: Annotated[
        Path | None,
        typer.Option(
            "--save-reference",
            metavar="FILE",
            help="Write this scan's fitted null models (no personal data) for small-team scans.",
        ),
    ] = None
    strict: Annotated[
        bool, typer.Option("--strict", help="Benjamini-Yekutieli instead of Benjamini-Hochberg.")
    ] = False
    measure: Annotated[
        MeasureChoice,
        typer.Option(
            "--measure",
            help="What the checks compare: tokens, or their cost (an Opus token weighs more "
            "than a Haiku one). Reports show both.",
        ),
    ] = MeasureChoice.TOKENS
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            metavar="FILE",
            help="Prices (TOML or JSON, USD per million tokens) replacing or adding to the "
            "shipped, dated table, for rows without a cost.",
        ),
    ] = None


#: `explain` shows one account: an empty report has none to show.
EXPLAIN_AUDIT = Pick(
    "assume_tz",
    "max_bad_rows",
    "max_bad_ratio",
    "max_expanded_size",
    "memory_limit",
    "pseudonymize",
    "reference",
    "strict",
    "measure",
    "prices",
)
#: `inspect` only reads.
INSPECT_AUDIT = Pick("assume_tz", "max_expanded_size")


@dataclass(frozen=True)
class ReportOptions(Bundle):
    """What `scan` writes and how it ends."""

    #: `fmt` is filled in by `options()` from the registry of formats.
    FORMAT_HELP: ClassVar[str] = (
        "auto = a table on a terminal, else CSV (or by the --output extension)."
    )

    fmt: str = "auto"
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the report here, atomically."),
    ] = None
    top: Annotated[
        int | None,
        typer.Option("--top", min=1, metavar="N", help="Only the N highest-ranked accounts."),
    ] = None
    show_all: Annotated[
        bool, typer.Option("--all", help="Every account (the table shows 25 by default).")
    ] = False
    fail_on: Annotated[
        FailOnChoice,
        typer.Option(
            "--fail-on",
            help="Exit 1 when an account reaches this status (new: is flagged and was not in "
            "the --baseline report).",
        ),
    ] = FailOnChoice.SUSPICIOUS
    exit_zero: Annotated[
        bool, typer.Option("--exit-zero", help="Exit 0 even when accounts are flagged.")
    ] = False
    csv_raw: Annotated[
        bool, typer.Option("--csv-raw", help="Do not neutralise spreadsheet formulas in CSV/TSV.")
    ] = False
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects",
            metavar="FILE",
            help="Write every rejected input row here (CSV), atomically.",
        ),
    ] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "fmt", str(self.fmt))  # the enum member's value

    @classmethod
    def options(cls) -> dict[str, Any]:
        from tokenaudit.report import registry

        # A fresh enum each time the CLI is built: a format registered since is a choice.
        choices = StrEnum("OutputFormat", {n: n for n in ("auto", *registry.names())})  # type: ignore[misc]
        fmt = Annotated[choices, typer.Option("--format", "-f", help=cls.FORMAT_HELP)]
        return {**super().options(), "fmt": fmt}


def _settings_file(ctx: typer.Context, value: Path | None) -> Path | None:
    """`--config` (eager): read the settings file, or the one found in the working directory,
    into Click's `default_map`, so that every other option takes its value from the command
    line first, then the file, then its default (`tokenaudit.settings`)."""
    if ctx.resilient_parsing:
        return value
    from tokenaudit.errors import ConfigError, InputMissingError
    from tokenaudit.settings import discover, load_config

    found = (value, None) if value is not None else discover(Path())
    if found is None:
        ctx.meta[SETTINGS_META] = None
        return None
    try:
        loaded = load_config(found[0], ctx.command.params, ctx, table=found[1])
    except (ConfigError, InputMissingError) as exc:
        # A settings file's error is about that file, not about the command line: one line
        # naming its `file:line` (exit 2) or saying it cannot be read (66), no usage block.
        typer.echo(f"tokenaudit: error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    ctx.default_map = {**(ctx.default_map or {}), **loaded.default_map()}
    ctx.meta[SETTINGS_META] = loaded
    return found[0]


#: Where `--config` leaves the loaded `settings.ConfigFile` (or None) in the Click context.
SETTINGS_META = "tokenaudit.settings"


@dataclass(frozen=True)
class TrailOptions(Bundle):
    """The audit trail of `scan`: a settings file, suppressions, a baseline, a run manifest."""

    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="FILE",
            is_eager=True,
            callback=_settings_file,
            help="Settings file: any option by its long name (default: ./tokenaudit.toml, "
            "else [tool.tokenaudit] in ./pyproject.toml). The command line wins.",
        ),
    ] = None
    suppressions: Annotated[
        Path | None,
        typer.Option(
            "--suppressions",
            metavar="FILE",
            help="Reviewed accounts to silence until a date (TOML or CSV: account, reason, "
            "owner, until[, checks, max_tokens]).",
        ),
    ] = None
    today: Annotated[
        str | None,
        typer.Option(
            "--today",
            metavar="DATE",
            help="The day suppressions expire against (default: the audited period's last day).",
        ),
    ] = None
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            metavar="FILE",
            help="An earlier JSON report: every account's change since (new, worse, better, "
            "resolved, unchanged) and first flagged day.",
        ),
    ] = None
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            metavar="FILE",
            help="Write the run manifest here (inputs' SHA-256, settings, versions; for "
            "tokenaudit verify), and into a JSON report.",
        ),
    ] = None


# ----------------------------------------------------------------------------- spreading bundles


def _bundle_of(hint: Any) -> tuple[type[Bundle], tuple[str, ...] | None] | None:
    """(bundle class, picked names or None for all) when `hint` is a bundle parameter."""
    picked = None
    if get_origin(hint) is Annotated:
        hint, *extras = get_args(hint)
        picked = next((e.names for e in extras if isinstance(e, Pick)), None)
    if isinstance(hint, type) and issubclass(hint, Bundle):
        return hint, picked
    return None


class _BundledCommand:
    """A command function whose bundle parameters Typer sees as their fields (module docstring)."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self._func = func
        self.__name__ = func.__name__
        self.__qualname__ = func.__qualname__
        self.__module__ = func.__module__
        self.__doc__ = func.__doc__
        self._hints = get_type_hints(func, include_extras=True)
        self._own = inspect.signature(func)

    def _expanded(
        self,
    ) -> tuple[list[inspect.Parameter], dict[str, tuple[type[Bundle], list[str]]]]:
        params: list[inspect.Parameter] = []
        bundles: dict[str, tuple[type[Bundle], list[str]]] = {}
        for name, own in self._own.parameters.items():
            found = _bundle_of(self._hints[name])
            if found is None:
                params.append(
                    own.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=self._hints[name])
                )
                continue
            cls, picked = found
            options = cls.options()
            defaults = {f.name: f.default for f in fields(cls)}  # type: ignore[arg-type]
            chosen = [n for n in options if picked is None or n in picked]
            bundles[name] = (cls, chosen)
            params += [
                inspect.Parameter(
                    n, inspect.Parameter.KEYWORD_ONLY, default=defaults[n], annotation=options[n]
                )
                for n in chosen
            ]
        return params, bundles

    @property
    def __signature__(self) -> inspect.Signature:
        params, _ = self._expanded()
        return inspect.Signature(params)

    @property
    def __annotations__(self) -> dict[str, Any]:  # type: ignore[override]
        return {p.name: p.annotation for p in self._expanded()[0]}

    def __call__(self, **kwargs: Any) -> Any:
        _, bundles = self._expanded()
        for name, (cls, chosen) in bundles.items():
            given = {n: kwargs.pop(n) for n in chosen}
            kwargs[name] = cls(**given)
        return self._func(**kwargs)


def bundled(func: Callable[..., Any]) -> Callable[..., Any]:
    """Spread `func`'s bundle parameters into options (see the module docstring)."""
    return _BundledCommand(func)
