"""The one orchestrator: inputs → canonical frames → identities → panel → checks → decision.

`run_audit` is the library entry point; it does no printing and reads no environment.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from tokenaudit.checks.base import RESULT_SCHEMA, Check, CheckData, Derived, Group
from tokenaudit.checks.registry import CHECKS, primary_check, window_sensitive
from tokenaudit.config import AuditConfig
from tokenaudit.decide import combine_groups, decide, mechanism_screen
from tokenaudit.errors import DataError, RefusedExport
from tokenaudit.identities import IdentityMap, likely_aliases
from tokenaudit.ingest import (
    REJECT_SCHEMA,
    UsagePanel,
    build_usage_panel,
    file_spans,
    per_file,
    read_panel,
)
from tokenaudit.loaders import InputFile, LoadedInput, load_input
from tokenaudit.model import EMPTY_ACCOUNTS_SCHEMA, AuditReport, InputSummary, NullModels
from tokenaudit.panel import (
    auto_window,
    follow_up,
    mark_followed,
    mark_interruptions,
    merged_work,
    output_days,
    period_bounds,
    within_period,
)
from tokenaudit.pricing import shipped_prices
from tokenaudit.process import interrupt_seen
from tokenaudit.rejects import RejectCode, code_of
from tokenaudit.schema import COMMITS_SCHEMA, IDENTITY_SCHEMA, Kind


def _sha256(path: Path) -> str:
    from tokenaudit.manifest import sha256_file

    return sha256_file(path)  # once a run: the manifest asks again, and the reader may know it


def load_all(
    files: list[InputFile],
    workdir: Path,
    assume_tz: str | None = None,
    account: str | None = None,
    period: tuple[datetime | None, datetime | None] = (None, None),
    *,
    parallel: bool = False,
    careful: bool = True,
) -> tuple[list[LoadedInput], list[str]]:
    from tokenaudit.loaders.transcripts import load_transcripts

    loaded: list[LoadedInput] = []
    skipped: list[str] = []
    # Claude Code and Codex trees (thousands of files) are read in batches; the rest one by one.
    from tokenaudit.manifest import remember_sha256

    fast = load_transcripts(
        files,
        workdir,
        assume_tz=assume_tz,
        account=account,
        period=period,
        on_digest=remember_sha256,
        parallel=parallel,
    )
    for position, file in enumerate(files):
        if position in fast:
            loaded.append(fast[position])
            continue
        try:
            item = load_input(
                file,
                workdir,
                assume_tz=assume_tz,
                account=account,
                period=period,
                careful=careful,
            )
        except RefusedExport as exc:
            if not file.in_directory:
                raise
            skipped.append(f"{file.name} ({exc.why})")
            continue
        except DataError as exc:
            # A `.txt` inside a directory is read by its content (Excel's "Unicode Text" export
            # is usage), but one that is no table is a note or a tool's output, not bad input.
            if not (file.in_directory and file.path.suffix.lower() == ".txt"):
                raise
            skipped.append(f"{file.name} (a .txt that is not a log: {exc.why})")
            continue
        if item is None:
            skipped.append(f"{file.name} (not usage, commits or identities)")
        else:
            loaded.append(item)
    return loaded, skipped


def _concat(frames: list[pl.LazyFrame], schema: dict[str, pl.DataType]) -> pl.LazyFrame:
    if not frames:
        empty = {
            **schema,
            "_file": pl.String(),
            "_line": pl.Int64(),
            "_reject": pl.String(),
            "_reject_code": pl.String(),
            "_zone_less": pl.Boolean(),
        }
        return pl.LazyFrame(schema=empty)
    return pl.concat(frames, how="vertical_relaxed")


def _transcripts_together(items: list[LoadedInput]) -> list[pl.LazyFrame]:
    """The usage frames, those of Claude Code and Codex files as one: their rows are in memory
    already (`loaders.transcripts`), and a tree of thousands of files would otherwise give the
    panel's plan thousands of inputs (6 s for 3,452 files, against 0.1 s to join them here)."""
    from tokenaudit.loaders.transcripts import FORMATS

    read = [x.frame for x in items if x.fmt in FORMATS]
    if len(read) < 2:
        return [x.frame for x in items]
    together = pl.concat(pl.collect_all(read), how="vertical_relaxed").lazy()
    return [together, *(x.frame for x in items if x.fmt not in FORMATS)]


def _warm_statistics_imports() -> None:
    # NOTE: SciPy takes longer to import than a small audit takes to run. Polars releases the GIL
    # while it reads and validates, so importing SciPy on a side thread meanwhile hides most of it.
    import importlib

    for name in ("scipy.special", "scipy.optimize"):
        importlib.import_module(name)


def run_audit(
    files: list[InputFile], cfg: AuditConfig, workdir: Path, *, digests: bool = True
) -> AuditReport:
    """Run the whole audit over `files`. Raises `DataError` when the inputs cannot support one.

    `digests`: work the inputs' SHA-256 out while the audit runs (`InputSummary.sha256`), for a
    report that shows them; without, each is worked out if and when it is asked for."""
    import threading

    warm = threading.Thread(
        target=_warm_statistics_imports, name="tokenaudit-warm-imports", daemon=True
    )
    warm.start()
    try:
        return _run_audit(files, cfg, workdir, digests)
    finally:
        warm.join()


def _run_audit(
    files: list[InputFile], cfg: AuditConfig, workdir: Path, digests: bool
) -> AuditReport:
    """load → identities and usage panel → follow-up → gates and cohorts → checks → decision →
    fragility: each a function below."""
    inputs, ingested = _read_inputs(files, cfg, workdir, digests)
    if not sum(ingested.usage.used.values()) and cfg.allow_empty:
        return empty_report(ingested.summaries, ingested.rejects, inputs.skipped, cfg)
    if ingested.usage.days.is_empty():
        if cfg.allow_empty:
            return empty_report(ingested.summaries, ingested.rejects, inputs.skipped, cfg)
        where = " in the selected period" if cfg.since or cfg.until else ""
        raise DataError(_names(files), f"no usable usage rows{where}")
    period = _follow_up(ingested, cfg)
    assessment = _assess(period, ingested.idmap, cfg, ingested.usage.uncosted)
    checked = _run_checks(assessment, period, cfg)
    accounts = _decide(assessment, period, checked, cfg)
    return _report(inputs, ingested, period, assessment, checked, accounts, cfg)


@dataclass(frozen=True)
class _Inputs:
    loaded: list[LoadedInput]
    skipped: list[str]
    by_kind: dict[Kind, list[LoadedInput]]


def _read_inputs(
    files: list[InputFile], cfg: AuditConfig, workdir: Path, digests: bool
) -> tuple[_Inputs, _Ingested]:
    """`_load` and `_ingest`, reading CSV files without checking the width of their rows first
    (`readers.read_raw`): a file with a row of too many or too few fields (or an empty last
    cell) makes the reading fail, and then everything is read again, carefully, as it would
    have been from the start.

    NOTE: the check cost a pass over every column of every CSV file (0.38 s at 1M rows, 1.7 s
    at 10M) to find rows that honest exports do not have. Whatever the first attempt left in
    `workdir` (part of its account buckets) is under names of its own (`ingest`)."""
    try:
        inputs = _load(files, cfg, workdir, careful=False)
        return inputs, _ingest(inputs, cfg, workdir, digests)
    except pl.exceptions.PolarsError:
        if interrupt_seen():
            raise
    # Out of the handler, so that the first attempt's frames are freed before the second.
    inputs = _load(files, cfg, workdir, careful=True)
    return inputs, _ingest(inputs, cfg, workdir, digests)


def _load(files: list[InputFile], cfg: AuditConfig, workdir: Path, *, careful: bool) -> _Inputs:
    """Read every input; refuse a set of inputs that cannot make an audit."""
    loaded, skipped = load_all(
        files,
        workdir,
        cfg.assume_tz,
        cfg.account,
        period=period_bounds(cfg),
        parallel=True,
        careful=careful,
    )
    by_kind = {k: [x for x in loaded if x.kind is k] for k in Kind}
    if by_kind[Kind.USAGE] and by_kind[Kind.PANEL]:
        raise DataError(
            _names(files),
            "give either usage logs or an account-day panel (panel-sql), not both: "
            f"{by_kind[Kind.PANEL][0].file.name} is a panel, {by_kind[Kind.USAGE][0].file.name} a usage log",
        )
    # What was skipped may be where the missing log is (a link to a directory, a FIFO).
    unread = (
        f"; skipped: {'; '.join(skipped[:3])}{' …' if len(skipped) > 3 else ''}" if skipped else ""
    )
    if not by_kind[Kind.USAGE] and not by_kind[Kind.PANEL]:
        raise DataError(
            _names(files),
            "no usage log among the inputs (a usage file needs 'timestamp', 'account' and a "
            f"token column){unread}",
        )
    if not by_kind[Kind.COMMITS]:
        raise DataError(
            _names(files),
            f"no commit log among the inputs (give merged changes with --commits){unread}",
        )
    return _Inputs(loaded, skipped, by_kind)


@dataclass(frozen=True)
class _Ingested:
    idmap: IdentityMap
    commits: pl.DataFrame
    usage: UsagePanel
    rejects: pl.DataFrame
    summaries: list[InputSummary]


def _ingest(inputs: _Inputs, cfg: AuditConfig, workdir: Path, digests: bool) -> _Ingested:
    """Identities, commits and the usage panel, every rejected row counted per file."""
    paths = [x.file.path for x in inputs.loaded]
    if not digests:
        return _ingest_with(inputs, cfg, workdir, lambda: {p: partial(_sha256, p) for p in paths})
    # The inputs' SHA-256 (for the report and the manifest) is worked out on a side thread while
    # the panel is built: hashlib releases the GIL, and the files are then in the page cache.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="tokenaudit-sha256") as pool:
        found = pool.submit(lambda: {p: _known(_sha256(p)) for p in paths})
        return _ingest_with(inputs, cfg, workdir, found.result)


def _known(digest: str) -> Callable[[], str]:
    return lambda: digest


def _ingest_with(
    inputs: _Inputs,
    cfg: AuditConfig,
    workdir: Path,
    digests: Callable[[], dict[Path, Callable[[], str]]],
) -> _Ingested:
    by_kind = inputs.by_kind
    # Identities and commits are small: collected whole. Usage is the large input: it goes
    # through `ingest`, whose memory is bounded by account-days.
    small = {
        Kind.COMMITS: _concat([x.frame for x in by_kind[Kind.COMMITS]], COMMITS_SCHEMA),
        Kind.IDENTITIES: _concat([x.frame for x in by_kind[Kind.IDENTITIES]], IDENTITY_SCHEMA),
    }
    collected = dict(zip(small, pl.collect_all(list(small.values())), strict=True))
    zone_less: Counter[str] = Counter()
    for f in collected.values():
        zone_less.update(per_file(f.filter(pl.col("_zone_less") & pl.col("_reject").is_null())))
    collected = {k: f.drop("_zone_less") for k, f in collected.items()}
    flagged = {k: f["_reject"].is_not_null() for k, f in collected.items()}
    good = {k: f.filter(~flagged[k]).drop("_reject", "_reject_code") for k, f in collected.items()}
    idmap = IdentityMap.from_frame(good[Kind.IDENTITIES])
    if by_kind[Kind.PANEL]:
        usage = read_panel([x.frame for x in by_kind[Kind.PANEL]], idmap, cfg)
    else:
        usage = build_usage_panel(
            _transcripts_together(by_kind[Kind.USAGE]),
            idmap,
            cfg,
            workdir,
            expected_rows=sum(x.expected_rows for x in by_kind[Kind.USAGE]),
        )
    zone_less.update(usage.zone_less)
    unreadable = pl.DataFrame(
        [
            (x.file.name, line, reason, code_of(reason).value)
            for x in inputs.loaded
            for line, reason in x.unreadable
        ],
        schema=REJECT_SCHEMA,
        orient="row",
    )
    rejects = (
        pl.concat(
            [
                *(f.filter(flagged[k]).select(list(REJECT_SCHEMA)) for k, f in collected.items()),
                usage.rejects,
                unreadable,
            ]
        )
        .rename({"_file": "file", "_line": "line", "_reject": "reason", "_reject_code": "code"})
        .sort("file", "line", "reason")
    )
    parsed = Counter(usage.parsed)
    used = Counter(usage.used)
    for k, f in collected.items():
        parsed.update(per_file(f))
        used.update(per_file(good[k]))
    spans = {**usage.spans, **file_spans(good[Kind.COMMITS], "merged_at")}
    summaries = _summaries(inputs.loaded, parsed, used, rejects, zone_less, spans, digests())
    _enforce_bad_row_limits(summaries, rejects, cfg)
    # Commit authors resolve after the usage panel: the panel teaches the map how people spell
    # their accounts, and the report shows those spellings.
    commits = idmap.resolve_column(good[Kind.COMMITS], "author")
    return _Ingested(idmap, commits, usage, rejects, summaries)


@dataclass(frozen=True)
class _Period:
    days: pl.DataFrame
    outputs: pl.DataFrame
    credits: pl.DataFrame
    first_day: date | None
    last_day: date | None
    merges_known_until: date | None
    window: int
    window_auto: bool
    excluded: dict[str, str]


#: A commit dated this many days or more after the rest of the commit log is a stray (a clock set
#: wrong, a rebase in 2099): it does not say merges are known until then.
STRAY_COMMIT_GAP_DAYS: Final = 60


def _commit_log_end(days: pl.Series) -> date | None:
    """The last day of the commit log's contiguous coverage: its last day, unless that stands
    `STRAY_COMMIT_GAP_DAYS` or more after the day before it (and so on back)."""
    covered = sorted({d for d in days.to_list() if isinstance(d, date)})
    if not covered:
        return None
    end = covered[0]
    for day in covered[1:]:
        if (day - end).days >= STRAY_COMMIT_GAP_DAYS:
            break
        end = day
    return end


def _follow_up(ingested: _Ingested, cfg: AuditConfig) -> _Period:
    """The audited period, merged output per day, and which usage days merged work followed."""
    days_df = ingested.usage.days
    work = merged_work(ingested.commits, cfg)
    credits = work.credits.filter(within_period(pl.col("day"), cfg))
    outputs = output_days(credits)
    first_day = cfg.since or _day(days_df["day"].min())
    last_day = cfg.until or max(
        d for d in (_day(days_df["day"].max()), _day(outputs["day"].max())) if d is not None
    )
    commit_end = _commit_log_end(work.credits["day"]) if work.credits.height else None
    # Merges are only known up to the end of the commit log: later usage days are censored.
    merges_known_until = (
        min(d for d in (commit_end, cfg.until) if d is not None) if commit_end else cfg.until
    )
    if cfg.reference is not None and first_day is not None and last_day is not None:
        cfg.reference.check_period((last_day - first_day).days + 1)
    days_df = follow_up(days_df, outputs, merges_known_until)
    excluded = _exclusions(days_df["account"].unique().sort().to_list(), ingested.idmap, cfg)
    humans = days_df.filter(~pl.col("account").is_in(list(excluded)))
    window_auto = cfg.window_days is None
    window = cfg.window_days if cfg.window_days is not None else auto_window(humans, cfg)
    days_df = mark_interruptions(days_df, window, first_day, cfg)
    days_df = mark_followed(days_df, window, merges_known_until)
    return _Period(
        days_df,
        outputs,
        credits,
        first_day,
        last_day,
        merges_known_until,
        window,
        window_auto,
        excluded,
    )


@dataclass(frozen=True)
class _Assessment:
    #: Every account, with its gate (why it cannot be tested) and cohort.
    totals: pl.DataFrame
    #: The tested accounts' totals and days, onboarding left out.
    assessed: pl.DataFrame
    assessed_days: pl.DataFrame
    cohorts: pl.DataFrame
    #: The tested accounts' days with onboarding, which the mechanism checks read (`_days_for`).
    mechanism_days: pl.DataFrame


def _assess(
    period: _Period, idmap: IdentityMap, cfg: AuditConfig, uncosted: pl.DataFrame | None = None
) -> _Assessment:
    """Per-account totals, the evidence gates, and the cohorts the checks compare within.
    `uncosted`: the account-days with a usage row of unknown cost (`ingest.UsagePanel`)."""
    totals = account_totals(period.days, period.outputs, idmap, period.excluded)
    if cfg.measure == "cost":
        totals = totals.join(uncosted_days(period.days, uncosted), on="account", how="left")
    totals = apply_gates(totals, cfg)
    eligible_names = totals.filter(pl.col("gate").is_null() & ~pl.col("excluded"))["account"]
    # The outcome checks see usage outside onboarding only; the report shows all of it.
    eligible_days = measured(
        period.days.filter(pl.col("account").is_in(eligible_names.implode())), cfg
    )
    assessed_days = eligible_days.filter(~pl.col("onboarding"))
    assessed = account_totals(assessed_days, period.outputs, idmap, period.excluded)
    totals = _gate_onboarding_only(totals, assessed, cfg)
    cohorts = assign_cohorts(assessed, cfg)
    totals = totals.join(cohorts, on="account", how="left")
    return _Assessment(totals, assessed, assessed_days, cohorts, eligible_days)


def _gate_onboarding_only(
    totals: pl.DataFrame, assessed: pl.DataFrame, cfg: AuditConfig
) -> pl.DataFrame:
    """A joiner whose every active day is onboarding has nothing the outcome checks may judge and
    no cohort to be compared within: say so. (It used to pass the gates on its onboarding days and
    then run no check at all, reported as "no check could run": a blind launch organisation's
    joiner who started a loop in their third week, 3.2 billion tokens over 16 days.)"""
    seen = assessed["account"].implode()
    only_onboarding = (
        pl.col("gate").is_null() & ~pl.col("excluded") & ~pl.col("account").is_in(seen)
    )
    why = pl.format(
        "joined {}: all {} active days fall in its first {} days (onboarding), which are not "
        "judged",
        pl.col("first_day"),
        pl.col("active_days"),
        pl.lit(cfg.onboarding_days),
    )
    return totals.with_columns(
        pl.when(only_onboarding).then(why).otherwise(pl.col("gate")).alias("gate")
    )


def _days_for(check: Check, a: _Assessment) -> pl.DataFrame:
    """The days `check` reads. A joiner's first weeks (`AuditConfig.onboarding_days`) are left out
    of the outcome checks, whose usage they would judge before the joiner could ship; not out of
    the mechanism checks: nobody learning the ropes re-sends one request for hours or bunches
    usage before a quota, and a joiner who pads from their first week showed none of it (a blind
    launch organisation: a loop at ×20 from day 35 of a joiner of day 23, identical sizes on 4 of
    its 24 days seen, none counted)."""
    return a.mechanism_days if check.group is Group.MECHANISM else a.assessed_days


def measured(days: pl.DataFrame, cfg: AuditConfig) -> pl.DataFrame:
    """The account-days as the checks see them. Under `--measure cost` their `tokens` hold the
    day's cost in micro-dollars (Int64, so every check runs unchanged on a cost-weighted usage);
    the report's `tokens` stay tokens. Only accounts whose every day has a cost get here."""
    if cfg.measure != "cost":
        return days
    return days.with_columns((pl.col("cost_usd") * 1e6).round().cast(pl.Int64).alias("tokens"))


def uncosted_days(days: pl.DataFrame, uncosted: pl.DataFrame | None) -> pl.DataFrame:
    """`account, uncosted_days`: usage days without a cost at all (`has_cost` false) or with a
    row of unknown cost (an unpriced model): their cost would understate the account."""
    marked = days.select("account", "day", ~pl.col("has_cost").alias("_none"))
    if uncosted is not None and uncosted.height:
        marked = marked.join(
            uncosted.with_columns(pl.lit(True).alias("_part")), on=["account", "day"], how="left"
        ).with_columns((pl.col("_none") | pl.col("_part").fill_null(False)).alias("_none"))
    return marked.group_by("account").agg(
        pl.col("_none").sum().cast(pl.Int64).alias("uncosted_days")
    )


@dataclass(frozen=True)
class _Checked:
    results: pl.DataFrame
    groups: dict[str, Group]
    screened: frozenset[str]


def _run_checks(a: _Assessment, period: _Period, cfg: AuditConfig) -> _Checked:
    """Mechanism checks first: the accounts their evidence screens in are left out of the
    outcome checks' null models (`CheckData.null_excluded`)."""
    # What the checks work out from the assessed days alike, shared by all of them and freed
    # with this frame once they have run (31 MB at 900,000 account-days).
    derived: Derived = {}

    def run(check: Check, screened: frozenset[str] = frozenset()) -> pl.DataFrame:
        return run_by_cohort(
            check,
            a.assessed,
            _days_for(check, a),
            a.cohorts,
            period.window,
            cfg,
            period.outputs,
            screened,
            derived,
        )

    mechanisms = [run(c) for c in CHECKS if c.group is Group.MECHANISM]
    groups = {check.id: check.group for check in CHECKS}
    screened = screened_by_mechanism(mechanisms, groups, cfg)
    others = [run(c, screened) for c in CHECKS if c.group is not Group.MECHANISM]
    results = pl.concat([*mechanisms, *others]).sort("account", "check")
    return _Checked(results, groups, screened)


def _decide(a: _Assessment, period: _Period, checked: _Checked, cfg: AuditConfig) -> pl.DataFrame:
    """Statuses, q-values, scores and ranks, and which flags are fragile."""
    primary = primary_check().id
    excess = checked.results.filter((pl.col("check") == primary) & pl.col("applicable")).select(
        "account", pl.col("effect").alias("excess_tokens_x")
    )
    decided_totals = a.totals.join(excess, on="account", how="left")
    accounts = decide(decided_totals, checked.results, checked.groups, cfg, primary=primary)

    def rerun_with_window(window_days: int) -> pl.DataFrame:
        """The window-sensitive checks' results with another follow-up window."""
        wider = mark_followed(
            mark_interruptions(a.assessed_days, window_days, period.first_day, cfg),
            window_days,
            period.merges_known_until,
        )
        return pl.concat(
            run_by_cohort(check, a.assessed, wider, a.cohorts, window_days, cfg)
            for check in window_sensitive()
        )

    return mark_fragile(
        accounts,
        decided_totals,
        checked.results,
        checked.groups,
        cfg,
        rerun_with_window,
        period.window,
    )


def _report(
    inputs: _Inputs,
    ingested: _Ingested,
    period: _Period,
    a: _Assessment,
    checked: _Checked,
    accounts: pl.DataFrame,
    cfg: AuditConfig,
) -> AuditReport:
    unmatched_usage, unmatched_authors = _unmatched(
        period.days, period.outputs, period.credits, ingested.idmap, period.excluded
    )

    def fit_null_models() -> NullModels:
        """Each check's null on the whole organisation, as `run` would fit it."""
        # One `CheckData` per set of days: checks share what they work out (`CheckData.derived`).
        data = {
            id(days): CheckData(a.assessed, days, period.window, period.outputs, checked.screened)
            for days in (a.assessed_days, a.mechanism_days)
        }
        fitted = {check.id: check.fit(data[id(_days_for(check, a))], cfg) for check in CHECKS}
        first, last = period.first_day, period.last_day
        return NullModels(
            nulls={c: m for c, m in fitted.items() if m is not None},
            cohort_size=a.assessed.height,
            merge_rate=_cohort_merge_rate(a.assessed.filter(pl.col("active_days") > 0)),
            period_days=(last - first).days + 1 if first and last else 0,
        )

    return AuditReport(
        accounts=accounts,
        checks=checked.results,
        days=period.days,
        outputs=period.outputs,
        inputs=ingested.summaries,
        rejects=ingested.rejects,
        skipped=inputs.skipped,
        window_days=period.window,
        window_auto=period.window_auto,
        first_day=period.first_day,
        last_day=period.last_day,
        merges_known_until=period.merges_known_until,
        duplicate_requests=ingested.usage.duplicates,
        unmatched_usage=unmatched_usage,
        unmatched_authors=unmatched_authors,
        likely_aliases=likely_aliases(
            sorted(set(accounts["account"].to_list()) - set(period.excluded)),
            unmatched_authors,
            ingested.idmap.aliases,
        ),
        fit_null_models=fit_null_models if cfg.reference is None else None,
        reference=cfg.reference.describe() if cfg.reference is not None else None,
        unpriced=ingested.usage.unpriced,
        prices=(cfg.prices or shipped_prices()).describe(),
        measure=cfg.measure,
    )


def _day(value: object) -> date | None:
    return value if isinstance(value, date) else None


def _names(files: list[InputFile]) -> str:
    if len(files) == 1:
        return files[0].name
    return f"{len(files)} inputs" if files else "inputs"


def _summaries(
    loaded: list[LoadedInput],
    parsed: dict[str, int],
    used: dict[str, int],
    rejects: pl.DataFrame,
    zone_less: dict[str, int],
    spans: dict[str, tuple[date, date]],
    digests: dict[Path, Callable[[], str]],
) -> list[InputSummary]:
    """Per file: rows read (parsed rows plus unparseable lines), rows used, rows rejected.
    Counted independently, so that `rows == used + rejected` is a real check."""
    rejected = dict(rejects.group_by("file").len().iter_rows())
    out = []
    for x in loaded:
        name = x.file.name
        out.append(
            InputSummary(
                name=name,
                kind=x.kind.value,
                fmt=x.fmt,
                rows=parsed.get(name, 0) + len(x.unreadable),
                used=used.get(name, 0),
                rejected=int(rejected.get(name, 0)),
                digest=digests[x.file.path],
                zone_less=zone_less.get(name, 0),
                first=spans[name][0].isoformat() if name in spans else None,
                last=spans[name][1].isoformat() if name in spans else None,
                listing=x.listing,
            )
        )
    return sorted(out, key=lambda s: s.name)


def _enforce_bad_row_limits(
    inputs: list[InputSummary], rejects: pl.DataFrame, cfg: AuditConfig
) -> None:
    """A file with too many unusable rows is refused whole (exit 65) rather than half-read.

    A row repeated from another file or earlier in the same one (a request id, or an account's
    day of an aggregate export, already read) is not unusable: it is counted once, and listed
    with `--rejects`. Exports that overlap (cumulative downloads, a file saved twice) are how
    organisations keep them; counted as bad rows, two exports overlapping by half were refused."""
    repeats = [RejectCode.DUPLICATE_REQUEST.value, RejectCode.DUPLICATE_DAY.value]
    unusable = rejects.filter(~pl.col("code").is_in(repeats).fill_null(False))
    for s in inputs:
        own = unusable.filter(pl.col("file") == s.name)
        if own.is_empty():
            continue
        first = own.row(0, named=True)
        bad = own.height
        if bad == s.rows:
            raise DataError(
                s.name, f"no usable rows; first problem: {first['reason']}", line=first["line"]
            )
        too_many = cfg.max_bad_rows is not None and bad > cfg.max_bad_rows
        too_large_a_share = bad / s.rows > cfg.max_bad_ratio
        if too_many or too_large_a_share:
            limit = (
                f"more than --max-bad-rows {cfg.max_bad_rows}"
                if too_many
                else f"over --max-bad-ratio {cfg.max_bad_ratio:g}"
            )
            raise DataError(
                s.name,
                f"{bad} of {s.rows} rows unusable ({limit}); first: {first['reason']}",
                line=first["line"],
            )


def empty_report(
    inputs: list[InputSummary], rejects: pl.DataFrame, skipped: list[str], cfg: AuditConfig
) -> AuditReport:
    """The report of a run with no usable usage (only with --allow-empty): no accounts."""
    accounts = pl.DataFrame(schema=EMPTY_ACCOUNTS_SCHEMA)
    return AuditReport(
        accounts=accounts,
        checks=pl.DataFrame(schema=RESULT_SCHEMA),
        days=pl.DataFrame(schema={"account": pl.String, "day": pl.Date}),
        outputs=pl.DataFrame(schema={"account": pl.String, "day": pl.Date}),
        inputs=inputs,
        rejects=rejects,
        skipped=skipped,
        window_days=cfg.window_days or cfg.window_min,
        window_auto=cfg.window_days is None,
        first_day=cfg.since,
        last_day=cfg.until,
        merges_known_until=cfg.until,
        duplicate_requests=0,
    )


def _exclusions(accounts: list[str], idmap: IdentityMap, cfg: AuditConfig) -> dict[str, str]:
    out: dict[str, str] = {}
    for account in accounts:
        role = (idmap.roles.get(account) or "").lower()
        low = account.lower()
        if role in {"bot", "service", "service-account", "ci"}:
            out[account] = f"role '{role}' in identities"
        elif any(marker in low for marker in cfg.bot_markers) or _BOT_NAME.search(low):
            out[account] = "bot account"
    return out


ORGANISATION = "organisation"
_TIER: Final = {"suspicious": 2, "review": 1}


def mark_fragile(
    accounts: pl.DataFrame,
    totals: pl.DataFrame,
    results: pl.DataFrame,
    groups: dict[str, Group],
    cfg: AuditConfig,
    rerun_with_window: Callable[[int], pl.DataFrame],
    window: int,
) -> pl.DataFrame:
    """`fragile`: why a flag would not survive (null when it would). A flag is fragile when a
    `review` account drops out of its tier once the follow-up window is doubled (a late merger's
    flag must not hang on the window's exact length) or once its strongest check is left out.

    NOTE: a `suspicious` flag needs one check of each group by construction, so leaving out its
    strongest check always removes it, and the window moves neither of them: neither test says
    anything about a suspicious account, so neither is run for one.
    """
    flagged = accounts.filter(pl.col("flagged"))
    reasons: dict[str, list[str]] = {}
    if flagged.height:
        tier = dict(zip(accounts["account"].to_list(), accounts["status"].to_list(), strict=True))

        def lost(after: pl.DataFrame) -> set[str]:
            now = dict(zip(after["account"].to_list(), after["status"].to_list(), strict=True))
            return {
                a
                for a in flagged["account"].to_list()
                if _TIER.get(now.get(a, ""), 0) < _TIER[tier[a]]
            }

        reviewed = flagged.filter(pl.col("status") == "review")["account"]
        counted = [c for c, g in groups.items() if g is not Group.CONTEXT]
        strongest = (
            results.filter(
                pl.col("applicable")
                & pl.col("account").is_in(reviewed.implode())
                & pl.col("check").is_in(counted)
            )
            .sort("p_value", "check")
            .group_by("account", maintain_order=True)
            .first()
        )
        for (check,), members in strongest.group_by("check"):
            without = decide(
                totals,
                results.filter(pl.col("check") != check),
                groups,
                cfg,
                primary=primary_check().id,
            )
            for account in lost(without) & set(members["account"].to_list()):
                reasons.setdefault(account, []).append(f"not without {check}")
        # The window moves only the window-sensitive outcome checks (tier 1): a suspicious flag
        # rests on the primary test and a mechanism, so only review flags can depend on it.
        if reviewed.len():
            sensitive = [check.id for check in window_sensitive()]
            wider = pl.concat(
                [results.filter(~pl.col("check").is_in(sensitive)), rerun_with_window(2 * window)]
            )
            doubled = decide(totals, wider, groups, cfg, primary=primary_check().id)
            for account in lost(doubled):
                reasons.setdefault(account, []).append(f"not with a {2 * window}-day window")
    fragile = pl.DataFrame(
        {"account": list(reasons), "fragile": ["; ".join(v) for v in reasons.values()]},
        schema={"account": pl.String, "fragile": pl.String},
    )
    out = accounts.join(fragile, on="account", how="left")
    return out.with_columns(
        pl.when(pl.col("fragile").is_not_null())
        .then(pl.format("{}; fragile: {}", pl.col("reasons"), pl.col("fragile")))
        .otherwise(pl.col("reasons"))
        .alias("reasons")
    ).sort("rank")


def assign_cohorts(accounts: pl.DataFrame, cfg: AuditConfig) -> pl.DataFrame:
    """`account, cohort`: an account's role when enough tested accounts share it, else the
    whole organisation (research/methods.md §1: compare like with like, back off when thin)."""
    if cfg.reference is not None:
        # A reference is one organisation's null: everyone is compared with it.
        return accounts.select("account", pl.lit(ORGANISATION).alias("cohort"))
    role = pl.col("role").str.to_lowercase().str.strip_chars()
    sized = accounts.with_columns(role.alias("_role")).with_columns(
        pl.len().over("_role").alias("_n")
    )
    return sized.select(
        "account",
        pl.when(pl.col("_role").is_not_null() & (pl.col("_n") >= cfg.min_role_cohort))
        .then(pl.format("role {}", pl.col("_role")))
        .otherwise(pl.lit(ORGANISATION))
        .alias("cohort"),
    )


def screened_by_mechanism(
    mechanisms: list[pl.DataFrame], groups: dict[str, Group], cfg: AuditConfig
) -> frozenset[str]:
    """Accounts that pass tier 2's mechanism screen, combined and screened as `decide` does."""
    if not mechanisms:
        return frozenset()
    combined = combine_groups(pl.concat(mechanisms), groups, primary=primary_check().id)
    p = combined["p_mechanism"].fill_null(float("nan")).to_numpy().astype(np.float64)
    passed = mechanism_screen(p, cfg)
    return frozenset(a for a, ok in zip(combined["account"].to_list(), passed, strict=True) if ok)


def run_by_cohort(
    check: Check,
    accounts: pl.DataFrame,
    days: pl.DataFrame,
    cohorts: pl.DataFrame,
    window: int,
    cfg: AuditConfig,
    outputs: pl.DataFrame | None = None,
    null_excluded: frozenset[str] = frozenset(),
    derived: Derived | None = None,
) -> pl.DataFrame:
    """Run a check once per role cohort, and once over the whole organisation for the accounts
    whose role is too small to be a cohort; each account keeps the result of its own cohort.
    A check that is not `by_role` runs once, over the whole organisation. `derived`: the
    `CheckData.derived` of the checks' runs over these `days`, to share what they work out."""
    if not check.by_role:
        cohorts = cohorts.select("account", pl.lit(ORGANISATION).alias("cohort"))

    reference = cfg.reference.nulls.get(check.id) if cfg.reference is not None else None

    def within(names: pl.Series | None) -> CheckData:
        if names is None:
            return CheckData(
                accounts,
                days,
                window,
                outputs,
                null_excluded,
                reference,
                {} if derived is None else derived,
            )
        keep = pl.col("account").is_in(names.implode())
        return CheckData(
            accounts.filter(keep),
            days.filter(keep),
            window,
            outputs.filter(keep) if outputs is not None else None,
            null_excluded,
            reference,
        )

    parts = []
    for (cohort,), members in cohorts.group_by("cohort"):
        result = check.run(within(None if cohort == ORGANISATION else members["account"]), cfg)
        parts.append(result.filter(pl.col("account").is_in(members["account"].implode())))
    return pl.concat(parts).sort("account") if parts else check.run(within(None), cfg)


def account_totals(
    days: pl.DataFrame, outputs: pl.DataFrame, idmap: IdentityMap, excluded: dict[str, str]
) -> pl.DataFrame:
    """One row per usage account: usage, merged output, and follow-up totals."""
    usage = days.group_by("account").agg(
        pl.col("tokens").sum(),
        pl.col("requests").sum(),
        pl.len().cast(pl.Int64).alias("active_days"),
        pl.when(pl.col("has_cost").any()).then(pl.col("cost_usd").sum()).alias("cost_usd"),
        (~pl.col("censored")).sum().cast(pl.Int64).alias("followable_days"),
        (~pl.col("censored") & ~pl.col("followed")).sum().cast(pl.Int64).alias("barren_days"),
        pl.col("tokens").filter(~pl.col("censored")).sum().alias("followable_tokens"),
        pl.col("tokens")
        .filter(~pl.col("censored") & ~pl.col("followed"))
        .sum()
        .alias("barren_tokens"),
        pl.col("day").min().alias("first_day"),
        pl.col("day").max().alias("last_day"),
    )
    work = outputs.group_by("account").agg(
        pl.col("changes").sum().alias("merged_changes"),
        pl.col("lines").sum().alias("merged_lines"),
        pl.col("non_output_changes").sum().alias("non_output_changes"),
    )
    df = (
        usage.join(work, on="account", how="left")
        .with_columns(
            pl.col(c).fill_null(0) for c in ("merged_changes", "merged_lines", "non_output_changes")
        )
        .with_columns(
            pl.col("merged_changes").alias("changes"),
            pl.when(pl.col("merged_lines") > 0)
            .then(pl.col("tokens") / pl.col("merged_lines"))
            .alias("tokens_per_line"),
            pl.when(pl.col("followable_tokens") > 0)
            .then(pl.col("barren_tokens") / pl.col("followable_tokens"))
            .alias("barren_token_share"),
            pl.col("account")
            .replace_strict(idmap.teams, default=None, return_dtype=pl.String)
            .alias("team"),
            pl.col("account")
            .replace_strict(idmap.roles, default=None, return_dtype=pl.String)
            .alias("role"),
            pl.col("account").is_in(list(excluded)).alias("excluded"),
            pl.col("account")
            .replace_strict(excluded, default=None, return_dtype=pl.String)
            .alias("exclude_reason"),
        )
    )
    return df.sort("account")


def _cohort_merge_rate(humans: pl.DataFrame) -> float:
    """The cohort's median merged changes per active day."""
    if not humans.height:
        return 0.0
    return float(np.median((humans["merged_changes"] / humans["active_days"]).to_numpy()))


def apply_gates(totals: pl.DataFrame, cfg: AuditConfig) -> pl.DataFrame:
    """`gate`: why an account cannot be tested (null when it can). The expected number of merged
    changes uses the cohort's median rate per active day, so "no merges" is only evidence where
    merges would have been expected."""
    humans = totals.filter(~pl.col("excluded") & (pl.col("active_days") > 0))
    cohort_rate = _cohort_merge_rate(humans)
    if cfg.reference is not None:
        cohort_rate = cfg.reference.merge_rate
    expected = pl.col("followable_days") * cohort_rate
    # (condition, why): the first that holds is the account's gate.
    rules: list[tuple[pl.Expr, pl.Expr]] = [
        (
            pl.col("active_days") < cfg.min_active_days,
            pl.format(
                "only {} active days (needs {})", pl.col("active_days"), pl.lit(cfg.min_active_days)
            ),
        )
    ]
    if cfg.measure == "cost":
        cost = pl.col("cost_usd").fill_null(0.0)
        cents = (cost * 100).round().cast(pl.Int64)
        rules += [
            (
                pl.col("uncosted_days").fill_null(0) > 0,
                pl.format(
                    "cost unknown on {} usage days (no cost logged, or a model without a price; "
                    "a partial cost would understate it)",
                    pl.col("uncosted_days"),
                ),
            ),
            (
                cost < cfg.min_cost_usd,
                pl.format(
                    "light usage: ${}.{} (needs ${})",
                    cents // 100,
                    (cents % 100).cast(pl.String).str.zfill(2),
                    pl.lit(f"{cfg.min_cost_usd:.2f}"),
                ),
            ),
        ]
    else:
        rules.append(
            (
                pl.col("tokens") < cfg.min_tokens,
                pl.format(
                    "light usage: {} tokens (needs {})", pl.col("tokens"), pl.lit(cfg.min_tokens)
                ),
            )
        )
    rules += [
        (
            pl.col("followable_days") < cfg.min_followable_days,
            pl.format(
                "only {} active days have a follow-up window inside the data (needs {})",
                pl.col("followable_days"),
                pl.lit(cfg.min_followable_days),
            ),
        ),
        (
            expected < cfg.min_expected_changes,
            pl.format(
                "too few merges expected: {} at the cohort's rate (needs {})",
                expected.round(2),
                pl.lit(cfg.min_expected_changes),
            ),
        ),
    ]
    gate = pl.lit(None, dtype=pl.String)
    for condition, why in reversed(rules):
        gate = pl.when(condition).then(why).otherwise(gate)
    return totals.with_columns(gate.alias("gate"), expected.alias("expected_changes"))


def _unmatched(
    days: pl.DataFrame,
    outputs: pl.DataFrame,
    credits: pl.DataFrame,
    idmap: IdentityMap,
    excluded: dict[str, str],
) -> tuple[list[str], list[str]]:
    """Usage accounts with no merged change at all and commit authors with no usage: the two sides
    of the join that found no partner (a sign of a missing identities entry)."""
    usage_accounts = set(days["account"].unique().to_list())
    authors = set(credits["author"].unique().to_list()) if credits.height else set()
    no_commits = sorted(a for a in usage_accounts - authors if a not in excluded)
    no_usage = sorted(
        a for a in authors - usage_accounts if a not in excluded and not _is_bot_name(a)
    )
    return no_commits, no_usage


#: `-bot`, `_bot`, `[bot]`, `bot@…` as a word of the name, not `abbott` or `robotics`.
_BOT_NAME: Final = re.compile(r"(^|[-_.\[])bot($|[\]@._-])")


def _is_bot_name(name: str) -> bool:
    return bool(_BOT_NAME.search(name.lower()))
