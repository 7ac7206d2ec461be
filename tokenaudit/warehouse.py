"""`panel-sql`: the account-day usage panel as one SQL statement for the warehouse the logs live in.

The statement reads a table (or view) with tokenaudit's canonical usage columns (`timestamp` as a
UTC timestamp, `account`, the four token counts, `requests`, `cost_usd`, `request_id`,
`session_id`, `source`; a view supplies NULL for any it lacks) and returns exactly
`schema.PANEL_SCHEMA`, the panel `panel.usage_days` builds: save the result (CSV, Parquet) and
give it to `scan` with the commit log. The statistics then run on thousands of rows instead of
billions.

Each step mirrors `panel.py` and `ingest.py`: identities resolved first, a request id counted
once per account (its fullest row), local days in `--tz`, gaps to the neighbouring requests in
time order (an account's first and last request count as followed by a long pause), sessions'
overlap, and the period filter after the gaps are known.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Final

from tokenaudit.panel import (
    BURST_GAP_S,
    DRIFT_MIN_ANSWER,
    HELD_CRON_P,
    HELD_PAUSE_S,
    HELD_RUN_S,
    MAX_GAP_HOURS,
    MIN_HELD_RUN,
    MIN_REPEAT_RUN,
    PROMPT_DRIFT_TOKENS,
    SAME_ANSWER_TOKENS,
    SAME_SIZE_GAP_S,
    STEADY_PACE,
)
from tokenaudit.schema import AGGREGATED_SOURCES, PANEL_SCHEMA, PHASE_PERIODS

#: GitHub noreply addresses stand for their login (identities.normalise_identity).
_NOREPLY: Final = r"^(?:[0-9]+\+)?([^@]+)@users\.noreply\.github\.com$"
_SESSION_GAP_S: Final = 30 * 60


@dataclass(frozen=True)
class Dialect:
    name: str
    quote: Callable[[str], str]
    regex: Callable[[str], str]
    matches: Callable[[str, str], str]
    extract: Callable[[str, str], str]
    local_date: Callable[[str, str], str]
    epoch_micros: Callable[[str], str]
    #: An exact median (the mean of the middle two of an even count), usable over a window (and
    #: as an aggregate where `group_runs`).
    median: Callable[[str], str]
    any_true: str
    double: str
    bigint: str
    note: str = ""
    #: Each run's sizes by a GROUP BY joined back to its requests instead of aggregates over a
    #: window partitioned by run (`_Statement.repeat_runs` says where each is faster).
    group_runs: bool = False


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _spark_string(text: str) -> str:
    # Spark SQL reads backslash escapes inside string literals.
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _spark_local_date(ts: str, tz: str) -> str:
    # `to_date` of a timestamp reads the day in the session's time zone; the day number of the
    # shifted instant does not, so a session left in its default zone still gets `tz`'s days.
    shifted = f"unix_micros(from_utc_timestamp({ts}, {_spark_string(tz)}))"
    return f"date_from_unix_date(CAST(FLOOR({shifted} / {86_400_000_000}) AS INT))"


DIALECTS: Final[dict[str, Dialect]] = {
    "duckdb": Dialect(
        name="duckdb",
        quote=lambda n: '"' + n.replace('"', '""') + '"',
        regex=_sql_string,
        matches=lambda e, r: f"regexp_matches({e}, {r})",
        extract=lambda e, r: f"regexp_extract({e}, {r}, 1)",
        local_date=lambda ts, tz: f"CAST(timezone({_sql_string(tz)}, {ts}) AS DATE)",
        epoch_micros=lambda ts: f"epoch_us({ts})",
        median=lambda e: f"quantile_cont({e}, 0.5)",
        any_true="bool_or",
        double="DOUBLE",
        bigint="BIGINT",
        group_runs=True,
    ),
    "spark": Dialect(
        name="spark",
        quote=lambda n: "`" + n.replace("`", "``") + "`",
        regex=_spark_string,
        matches=lambda e, r: f"({e} RLIKE {r})",
        extract=lambda e, r: f"regexp_extract({e}, {r}, 1)",
        local_date=_spark_local_date,
        epoch_micros=lambda ts: f"unix_micros({ts})",
        median=lambda e: f"percentile({e}, 0.5)",
        any_true="bool_or",
        double="DOUBLE",
        bigint="BIGINT",
        note=(
            "-- Spark: run with spark.sql.session.timeZone=UTC, so that a timestamp kept as text or\n"
            "-- TIMESTAMP_NTZ is read as UTC (days in --tz do not depend on the session's zone).\n"
        ),
    ),
    "bigquery": Dialect(
        name="bigquery",
        quote=lambda n: "`" + n.replace("`", "\\`") + "`",
        regex=lambda r: "r" + _sql_string(r),
        matches=lambda e, r: f"REGEXP_CONTAINS({e}, {r})",
        extract=lambda e, r: f"REGEXP_EXTRACT({e}, {r})",
        local_date=lambda ts, tz: f"DATE({ts}, {_sql_string(tz)})",
        epoch_micros=lambda ts: f"UNIX_MICROS({ts})",
        median=lambda e: f"PERCENTILE_CONT({e}, 0.5)",
        any_true="LOGICAL_OR",
        double="FLOAT64",
        bigint="INT64",
    ),
}


def _table(name: str, d: Dialect) -> str:
    """A table name as given, each dotted part quoted (project.dataset.table)."""
    return ".".join(d.quote(part) for part in name.split("."))


_TOKENS: Final = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
#: Columns a usage row carries from the source to the de-duplication, beside the account.
_CARRIED: Final = ("ts", *_TOKENS, "requests", "cost_usd", "request_id", "session_id", "source")


@dataclass(frozen=True)
class _Statement:
    """The pieces of one `panel_sql` statement; each method writes one common table expression."""

    d: Dialect
    tz: str

    def q(self, name: str) -> str:
        return self.d.quote(name)

    def whole(self, expr: str) -> str:
        return f"CAST({expr} AS {self.d.bigint})"

    def normalised(self, expr: str) -> str:
        folded = f"LOWER(TRIM({expr}))"
        regex = self.d.regex(_NOREPLY)
        return f"CASE WHEN {self.d.matches(folded, regex)} THEN {self.d.extract(folded, regex)} ELSE {folded} END"

    @property
    def total(self) -> str:
        return " + ".join(self.q(t) for t in _TOKENS)

    @property
    def burst_start(self) -> str:
        q = self.q
        return f"({q('gap_prev')} IS NULL OR {q('gap_prev')} >= {BURST_GAP_S})"

    def phase_angle(self, p: int) -> str:
        """The angle 2π·(t mod P)/P of a request's time within a cron period of P seconds."""
        return f"MOD({self.q('us')}, {p * 1_000_000}) * {2 * math.pi / (p * 1_000_000)!r}"

    def resultant(self, p: int) -> str:
        q, start = self.q, self.burst_start
        angle = self.phase_angle(p)
        cos = f"SUM(CASE WHEN {start} THEN COS({angle}) END)"
        sin = f"SUM(CASE WHEN {start} THEN SIN({angle}) END)"
        n = f"NULLIF(SUM(CASE WHEN {start} THEN 1 ELSE 0 END), 0)"
        return f"SQRT(POWER({cos}, 2) + POWER({sin}, 2)) / {n} AS {q(f'phase_{p}')}"

    def source_rows(self, table: str) -> str:
        q, ts = self.q, self.q("timestamp")
        return f"""WITH source_rows AS (
  SELECT
    {self.normalised(q("account"))} AS {q("spelling")},
    {ts} AS {q("ts")},
    {", ".join(f"COALESCE({q(t)}, 0) AS {q(t)}" for t in _TOKENS)},
    COALESCE({q("requests")}, 1) AS {q("requests")},
    CAST({q("cost_usd")} AS {self.d.double}) AS {q("cost_usd")},
    {q("request_id")}, {q("session_id")}, {q("source")}
  FROM {_table(table, self.d)}
  WHERE {ts} IS NOT NULL AND {q("account")} IS NOT NULL AND TRIM({q("account")}) <> ''
),"""

    def resolved(self, identities_table: str | None) -> str:
        q = self.q
        carried = ", ".join(f"s.{q(c)}" for c in _CARRIED)
        if identities_table is None:
            return f"""resolved AS (
  SELECT s.{q("spelling")} AS {q("account")}, {carried} FROM source_rows AS s
),"""
        ids = _table(identities_table, self.d)
        # An explicit alias wins over an account's own name; among aliases, the first account
        # in order (as `IdentityMap.from_frame` reads them).
        return f"""aliases AS (
  SELECT {q("alias")}, {q("account")} FROM (
    SELECT {q("alias")}, {q("account")},
      ROW_NUMBER() OVER (PARTITION BY {q("alias")} ORDER BY {q("priority")}, {q("account")}) AS {q("rank")}
    FROM (
      SELECT {self.normalised(q("alias"))} AS {q("alias")}, TRIM({q("account")}) AS {q("account")}, 0 AS {q("priority")}
      FROM {ids} WHERE {q("alias")} IS NOT NULL AND {q("account")} IS NOT NULL
      UNION ALL
      SELECT LOWER(TRIM({q("account")})), TRIM({q("account")}), 1
      FROM {ids} WHERE {q("account")} IS NOT NULL
    ) AS {q("candidates")}
  ) AS {q("ranked")} WHERE {q("rank")} = 1
),
resolved AS (
  SELECT COALESCE(a.{q("account")}, s.{q("spelling")}) AS {q("account")}, {carried}
  FROM source_rows AS s LEFT JOIN aliases AS a ON a.{q("alias")} = s.{q("spelling")}
),"""

    def distinct_requests(self) -> str:
        q = self.q
        columns = ", ".join(q(c) for c in ["account", *_CARRIED])
        return f"""distinct_requests AS (
  SELECT {columns} FROM (
    SELECT {columns},
      ROW_NUMBER() OVER (
        PARTITION BY {q("account")}, {q("request_id")}
        ORDER BY {self.total} DESC, {q("ts")}, {q("output_tokens")}
      ) AS {q("copy")}
    FROM resolved WHERE {q("request_id")} IS NOT NULL
  ) AS {q("numbered")} WHERE {q("copy")} = 1
  UNION ALL
  SELECT {columns} FROM resolved WHERE {q("request_id")} IS NULL
),"""

    def timed(self, since: date | None, until: date | None) -> str:
        q = self.q
        us = self.d.epoch_micros(q("ts"))
        sources = ", ".join(_sql_string(s) for s in sorted(AGGREGATED_SOURCES))
        period = []
        if since is not None:
            period.append(f"{q('day')} >= DATE '{since.isoformat()}'")
        if until is not None:
            period.append(f"{q('day')} <= DATE '{until.isoformat()}'")
        in_period = " AND ".join(period) or "TRUE"
        # Each `... OVER w` stands in parentheses: Spark reads `OVER w - x` as a window `w-x`.
        return f"""timed AS (
  SELECT
    {q("account")},
    {self.d.local_date(q("ts"), self.tz)} AS {q("day")},
    {q("ts")},
    {", ".join(q(t) for t in _TOKENS)},
    {q("requests")},
    {q("cost_usd")},
    {q("session_id")},
    ({q("requests")} > 1 OR COALESCE({q("source")} IN ({sources}), FALSE)) AS {q("aggregated_row")},
    {q("prompt")},
    {q("seq")},
    ({us} - (LAG({us}) OVER w)) / 1e6 AS {q("gap_prev")},
    ((LEAD({us}) OVER w) - {us}) / 1e6 AS {q("gap_next")},
    {us} AS {q("us")},
    LAG({q("prompt")}) OVER w AS {q("prev_prompt")},
    LAG({q("output_tokens")}) OVER w AS {q("prev_output")},
    ({us} - (LAG({us}) OVER ws)) / 1e6 AS {q("s_gap_prev")},
    LAG({q("prompt")}) OVER ws AS {q("s_prev_prompt")},
    LAG({q("output_tokens")}) OVER ws AS {q("s_prev_output")}
  FROM (
    SELECT p.*, ROW_NUMBER() OVER (
      PARTITION BY {q("account")} ORDER BY {q("ts")}, {q("prompt")}, {q("output_tokens")}
    ) AS {q("seq")}
    FROM (
      SELECT r.*, {q("input_tokens")} + {q("cache_read_tokens")} + {q("cache_write_tokens")} AS {q("prompt")}
      FROM distinct_requests AS r
    ) AS p
  ) AS {q("with_prompt")}
  WINDOW w AS (PARTITION BY {q("account")} ORDER BY {q("seq")}),
    ws AS (PARTITION BY {q("account")}, {q("session_id")} ORDER BY {q("seq")})
),
{self.repeat_runs()}
in_period AS (
  SELECT * FROM flagged WHERE {in_period}
),"""

    def repeat_runs(self) -> str:
        """Whether each request repeats the one before (`is_repeat`: as `panel._same_request_size`
        and `panel._repeat_flags` say) and how many requests its run holds (`run_length`: a
        request that does not repeat and the repeats after it); and
        whether its prompt is the one before's whatever the pause and answer (`is_held`), with
        that run's length and span in microseconds (`held_length`, `held_span`): as
        `panel._with_neighbours` works them out, in the account's stream of requests and, with
        the prefix `s_`, in its session's (requests without a session id make one stream).

        A run's sizes are aggregates over a window partitioned by run, or (`Dialect.group_runs`)
        one GROUP BY per kind of run joined back to its requests: the same panel, at another
        speed in each engine. Nearly every run is one request long, and DuckDB sorts and walks
        each of those tens of thousands of window partitions on its own; Spark plans the four
        joins as shuffles. 840k requests (`benchmarks/warehouse_engines.py`, back to back):
        DuckDB 18.5 s as windows, 9.1 s grouped; a local Spark (second statement) 68 s as
        windows, 250 s grouped."""
        q = self.q
        streams = (("", (q("account"),)), ("s_", (q("account"), q("session_id"))))
        flags = ", ".join(self._repeat_flags(prefix) for prefix, _ in streams)
        run_ids = ",\n    ".join(self._run_ids(prefix, by) for prefix, by in streams)
        head = f"""repeats AS (
  SELECT *, {flags}
  FROM timed
),
runs AS (
  SELECT *,
    {run_ids}
  FROM repeats
),"""
        same = [q("account"), q("ts"), q("prompt"), q("output_tokens")]
        if not self.d.group_runs:
            sized = ",\n    ".join(self._run_size_windows(prefix, by) for prefix, by in streams)
            return f"""{head}
sized_runs AS (
  SELECT *,
    {sized}
  FROM runs
),
flagged AS (
  SELECT *, ({self.repeats_in_stream("")}) OR (MAX(CASE WHEN {self.repeats_in_stream("s_")} THEN 1 ELSE 0 END) OVER (
      PARTITION BY {", ".join(same)}
    ) = 1) AS {q("is_same")}
  FROM sized_runs
),"""
        sizes = ",\n".join(self._run_size_tables(prefix, by) for prefix, by in streams)
        columns = ", ".join(self._run_size_columns(prefix) for prefix, _ in streams)
        joins = "\n  ".join(self._run_size_joins(prefix, by) for prefix, by in streams)
        # The same request (time, prompt, answer) seen in its session's stream as a repeat.
        on_same = " AND ".join(f"seen.{c} = sized_runs.{c}" for c in same)
        return f"""{head}
{sizes},
sized_runs AS (
  SELECT runs.*, {columns}
  FROM runs
  {joins}
),
repeated_in_a_session AS (
  SELECT {", ".join(same)}, MAX(CASE WHEN {self.repeats_in_stream("s_")} THEN 1 ELSE 0 END) AS {q("in_session")}
  FROM sized_runs
  GROUP BY {", ".join(same)}
),
flagged AS (
  SELECT sized_runs.*, ({self.repeats_in_stream("")}) OR (seen.{q("in_session")} = 1) AS {q("is_same")}
  FROM sized_runs JOIN repeated_in_a_session AS seen ON {on_same}
),"""

    def _repeat_flags(self, prefix: str) -> str:
        q = self.q
        prev_prompt, prev_output = q(f"{prefix}prev_prompt"), q(f"{prefix}prev_output")
        gap = q(f"{prefix}gap_prev")
        same = (
            f"{prev_prompt} IS NOT NULL AND {gap} < {SAME_SIZE_GAP_S}"
            f" AND ({q('prompt')} = {prev_prompt} OR (ABS({q('prompt')} - {prev_prompt})"
            f" <= {PROMPT_DRIFT_TOKENS} AND {q('output_tokens')} >= {DRIFT_MIN_ANSWER}))"
            f" AND ABS({q('output_tokens')} - {prev_output})"
            f" <= GREATEST(0.01 * {q('output_tokens')}, {SAME_ANSWER_TOKENS})"
        )
        held = f"{prev_prompt} IS NOT NULL AND {q('prompt')} = {prev_prompt} AND {gap} < {HELD_PAUSE_S}"
        return (
            f"COALESCE({same}, FALSE) AS {q(f'{prefix}is_repeat')}, "
            f"COALESCE({held}, FALSE) AS {q(f'{prefix}is_held')}"
        )

    def _run_ids(self, prefix: str, by: tuple[str, ...]) -> str:
        q = self.q
        # One order for every window (`seq`): ties in (time, prompt, answer) sorted apart by
        # each window would put a request in another's run.
        order = q("seq")

        def run_id(repeat: str) -> str:
            return f"""SUM(CASE WHEN {q(prefix + repeat)} THEN 0 ELSE 1 END) OVER (
      PARTITION BY {", ".join(by)} ORDER BY {order}
      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    )"""

        return (
            f"{run_id('is_repeat')} AS {q(prefix + 'repeat_run')},\n"
            f"    {run_id('is_held')} AS {q(prefix + 'held_run')}"
        )

    def _held_sizes(self, prefix: str, over: str) -> str:
        """A held run's length, span, pace and per cron period the sums of its requests'
        phase cosines and sines: aggregates over the window `over`, or ("") grouped."""
        q = self.q

        def agg(expr: str) -> str:
            return f"{expr} OVER ({over})" if over else expr

        pause = f"CASE WHEN {q(prefix + 'is_held')} THEN {q(prefix + 'gap_prev')} END"
        phases = ",\n    ".join(
            f"{agg(f'SUM({f}({self.phase_angle(p)}))')} AS {q(f'{prefix}held_{f.lower()}_{p}')}"
            for p in PHASE_PERIODS
            for f in ("COS", "SIN")
        )
        return f"""{agg("COUNT(*)")} AS {q(prefix + "held_length")},
    ({agg(f"MAX({q('us')})")}) - ({agg(f"MIN({q('us')})")}) AS {q(prefix + "held_span")},
    ({agg(f"MAX({pause})")}) <= {STEADY_PACE} * ({agg(self.d.median(pause))}) AS {q(prefix + "held_steadily")},
    {phases}"""

    def _run_size_windows(self, prefix: str, by: tuple[str, ...]) -> str:
        q = self.q
        keys = ", ".join(by)
        held_run = f"PARTITION BY {keys}, {q(prefix + 'held_run')}"
        return f"""COUNT(*) OVER (PARTITION BY {keys}, {q(prefix + "repeat_run")}) AS {q(prefix + "run_length")},
    {self._held_sizes(prefix, held_run)}"""

    def _run_size_tables(self, prefix: str, by: tuple[str, ...]) -> str:
        """Two tables: each repeat run's length, and each held run's sizes (`_held_sizes`)."""
        q = self.q
        keys = ", ".join(by)
        repeat_run, held_run = q(prefix + "repeat_run"), q(prefix + "held_run")
        return f"""{prefix}repeat_sizes AS (
  SELECT {keys}, {repeat_run}, COUNT(*) AS {q(prefix + "run_length")}
  FROM runs
  GROUP BY {keys}, {repeat_run}
),
{prefix}held_sizes AS (
  SELECT {keys}, {held_run},
    {self._held_sizes(prefix, "")}
  FROM runs
  GROUP BY {keys}, {held_run}
)"""

    def _run_size_columns(self, prefix: str) -> str:
        q = self.q
        held = ["held_length", "held_span", "held_steadily"] + [
            f"held_{f}_{p}" for p in PHASE_PERIODS for f in ("cos", "sin")
        ]
        return ", ".join(
            [f"{prefix}repeats.{q(prefix + 'run_length')}"]
            + [f"{prefix}helds.{q(prefix + c)}" for c in held]
        )

    def _run_size_joins(self, prefix: str, by: tuple[str, ...]) -> str:
        q = self.q

        def on(alias: str, run: str) -> str:
            # A session id may be missing: such requests make one stream, as in the windows.
            keys = [f"{alias}.{k} IS NOT DISTINCT FROM runs.{k}" for k in by]
            return " AND ".join([*keys, f"{alias}.{q(run)} = runs.{q(run)}"])

        repeats, helds = f"{prefix}repeats", f"{prefix}helds"
        return (
            f"JOIN {prefix}repeat_sizes AS {repeats} ON {on(repeats, prefix + 'repeat_run')}\n  "
            f"JOIN {prefix}held_sizes AS {helds} ON {on(helds, prefix + 'held_run')}"
        )

    def held_on_schedule(self, prefix: str = "") -> str:
        """Whether a held run keeps in step with a cron period (`panel._on_a_schedule`): Zar's
        approximation of Rayleigh's p per period, Bonferroni over the periods."""
        q = self.q
        n = f"CAST({q(prefix + 'held_length')} AS {self.d.double})"

        def rayleigh(p: int) -> str:
            cos, sin = q(f"{prefix}held_cos_{p}"), q(f"{prefix}held_sin_{p}")
            squared = f"POWER({cos}, 2) + POWER({sin}, 2)"
            return f"EXP(SQRT(1 + 4 * {n} + 4 * ({n} * {n} - ({squared}))) - (1 + 2 * {n}))"

        smallest = f"LEAST({', '.join(rayleigh(p) for p in PHASE_PERIODS)})"
        return f"({smallest} * {len(PHASE_PERIODS)} < {HELD_CRON_P})"

    def repeats_in_stream(self, prefix: str) -> str:
        """Whether a request repeats the one before as a loop does in one stream of requests
        (`panel._repeat_flags`)."""
        q = self.q

        def c(name: str) -> str:
            return q(prefix + name)

        return (
            f"({c('is_repeat')} AND {c('run_length')} >= {MIN_REPEAT_RUN}) OR ({c('is_held')}"
            f" AND {c('held_length')} >= {MIN_HELD_RUN} AND {c('held_span')} >= {HELD_RUN_S * 1_000_000}"
            f" AND {c('held_steadily')} AND NOT {self.held_on_schedule(prefix)})"
        )

    def overlap(self) -> str:
        q = self.q
        return f"""sessions AS (
  SELECT {q("account")}, {q("session_id")}, MIN({q("ts")}) AS {q("first_at")}, MAX({q("ts")}) AS {q("last_at")}, MIN({q("day")}) AS {q("day")}
  FROM in_period WHERE {q("session_id")} IS NOT NULL
  GROUP BY {q("account")}, {q("session_id")}
),
session_events AS (
  SELECT {q("account")}, {q("day")}, {q("first_at")} AS {q("at")}, 1 AS {q("delta")} FROM sessions
  UNION ALL
  SELECT {q("account")}, {q("day")}, {q("last_at")} AS {q("at")}, -1 AS {q("delta")} FROM sessions
),
overlap AS (
  SELECT {q("account")}, {q("day")}, MAX({q("running")}) AS {q("max_parallel")} FROM (
    SELECT {q("account")}, {q("day")},
      SUM({q("delta")}) OVER (
        PARTITION BY {q("account")} ORDER BY {q("at")}, {q("delta")}
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS {q("running")}
    FROM session_events
  ) AS {q("counted")}
  GROUP BY {q("account")}, {q("day")}
),"""

    def days(self) -> str:
        q, d, whole, start = self.q, self.d, self.whole, self.burst_start
        gap = f"CASE WHEN {q('gap_prev')} < {_SESSION_GAP_S} THEN {q('gap_prev')} END"
        same = q("is_same")
        phases = ",\n    ".join(self.resultant(p) for p in PHASE_PERIODS)
        return f"""days AS (
  SELECT
    {q("account")},
    {q("day")},
    {whole(f"SUM({self.total})")} AS {q("tokens")},
    {", ".join(f"{whole(f'SUM({q(t)})')} AS {q(t)}" for t in _TOKENS)},
    {whole(f"SUM({q('requests')})")} AS {q("requests")},
    COALESCE(SUM({q("cost_usd")}), 0) AS {q("cost_usd")},
    {d.any_true}({q("cost_usd")} IS NOT NULL) AS {q("has_cost")},
    {d.any_true}({q("aggregated_row")}) AS {q("aggregated")},
    {whole("COUNT(*)")} AS {q("rows")},
    CASE
      WHEN {d.any_true}({q("gap_prev")} IS NULL OR {q("gap_next")} IS NULL) THEN {MAX_GAP_HOURS}
      ELSE LEAST({MAX_GAP_HOURS}, GREATEST(MAX({q("gap_prev")}), MAX({q("gap_next")})) / 3600)
    END AS {q("max_gap_h")},
    {whole(f"COUNT({gap})")} AS {q("session_gaps")},
    AVG({gap}) AS {q("gap_mean")},
    STDDEV_SAMP({gap}) AS {q("gap_std")},
    CAST(SUM(CASE WHEN {same} THEN 1 ELSE 0 END) AS {d.bigint}) AS {q("same_size_pairs")},
    CAST(SUM(CASE WHEN {same} THEN {q("prompt")} + {q("output_tokens")} ELSE 0 END) AS {d.bigint}) AS {q("same_size_tokens")},
    {whole(f"SUM(CASE WHEN {start} THEN 1 ELSE 0 END)")} AS {q("burst_starts")},
    {phases}
  FROM in_period
  GROUP BY {q("account")}, {q("day")}
)"""

    def final(self) -> str:
        q = self.q
        columns = ", ".join(
            f"{self.whole(f'overlap.{q(c)}')} AS {q(c)}" if c == "max_parallel" else f"days.{q(c)}"
            for c in PANEL_SCHEMA
        )
        return f"""SELECT {columns}
FROM days LEFT JOIN overlap
  ON overlap.{q("account")} = days.{q("account")} AND overlap.{q("day")} = days.{q("day")}
ORDER BY days.{q("account")}, days.{q("day")}
"""


def panel_sql(
    dialect: str,
    *,
    table: str = "usage",
    identities_table: str | None = None,
    tz: str = "UTC",
    since: date | None = None,
    until: date | None = None,
) -> str:
    """The SELECT statement that builds the usage panel from `table` in `dialect`."""
    d = DIALECTS[dialect]
    sql = _Statement(d, tz)
    header = f"""-- tokenaudit panel-sql --dialect {d.name}: the account-day usage panel.
-- Reads {_table(table, d)}: canonical usage columns, a view supplying NULL for any it lacks.
-- Save the result (CSV or Parquet) and run: tokenaudit scan PANEL_FILE --commits COMMITS
{d.note}"""
    parts = [
        sql.source_rows(table),
        sql.resolved(identities_table),
        sql.distinct_requests(),
        sql.timed(since, until),
        sql.overlap(),
        sql.days(),
        sql.final(),
    ]
    return header + "\n".join(parts)
