"""Canonical column names and dtypes, and the shape of the report."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import polars as pl

UTC_US: Final = pl.Datetime("us", "UTC")

USAGE_SCHEMA: Final[dict[str, pl.DataType]] = {
    "timestamp": UTC_US,
    "account": pl.String(),
    "input_tokens": pl.Int64(),
    "output_tokens": pl.Int64(),
    "cache_read_tokens": pl.Int64(),
    "cache_write_tokens": pl.Int64(),
    #: The part of `cache_write_tokens` written for one hour (priced higher); optional, nullable.
    "cache_write_1h_tokens": pl.Int64(),
    "requests": pl.Int64(),
    "model": pl.String(),
    "cost_usd": pl.Float64(),
    "request_id": pl.String(),
    "session_id": pl.String(),
    "source": pl.String(),
}
TOKEN_COLUMNS: Final = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")

COMMITS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "merged_at": UTC_US,
    "author": pl.String(),
    "lines_added": pl.Int64(),
    "lines_deleted": pl.Int64(),
    "sha": pl.String(),
    "pr_id": pl.String(),
    "files_changed": pl.Int64(),
    "message": pl.String(),
    "repo": pl.String(),
}

IDENTITY_SCHEMA: Final[dict[str, pl.DataType]] = {
    "alias": pl.String(),
    "account": pl.String(),
    "team": pl.String(),
    "role": pl.String(),
}

#: The account-day usage panel (`panel.usage_days`): what `panel-sql` builds in a warehouse and
#: what `scan` accepts instead of request logs.
PANEL_SCHEMA: Final[dict[str, pl.DataType]] = {
    "account": pl.String(),
    "day": pl.Date(),
    "tokens": pl.Int64(),
    **{t: pl.Int64() for t in TOKEN_COLUMNS},
    "requests": pl.Int64(),
    "cost_usd": pl.Float64(),
    "has_cost": pl.Boolean(),
    "aggregated": pl.Boolean(),
    "rows": pl.Int64(),
    "max_gap_h": pl.Float64(),
    "session_gaps": pl.Int64(),
    "gap_mean": pl.Float64(),
    "gap_std": pl.Float64(),
    "same_size_pairs": pl.Int64(),
    "same_size_tokens": pl.Int64(),
    "max_parallel": pl.Int64(),
    "burst_starts": pl.Int64(),
    **{f"phase_{period}": pl.Float64() for period in (60, 300, 600, 900, 1800, 3600)},
}
#: Cron periods (seconds) whose phase the first requests of bursts are tested against.
PHASE_PERIODS: Final = (60, 300, 600, 900, 1800, 3600)

#: Columns every loaded row carries so that a reject can name where it came from.
PROVENANCE: Final = ("_file", "_line")


class Kind(StrEnum):
    USAGE = "usage"
    COMMITS = "commits"
    IDENTITIES = "identities"
    PANEL = "panel"


class Status(StrEnum):
    SUSPICIOUS = "suspicious"
    REVIEW = "review"
    OK = "ok"
    INSUFFICIENT = "insufficient_data"
    EXCLUDED = "excluded"


#: Report columns, in order (DESIGN.md §3). Every format carries exactly these.
REPORT_COLUMNS: Final = (
    "rank",
    "account",
    "status",
    "flagged",
    "score",
    "q_value",
    "tokens",
    "requests",
    "active_days",
    "cost_usd",
    "merged_changes",
    "merged_lines",
    "tokens_per_line",
    "barren_token_share",
    "excess_tokens_x",
    "reasons",
)

#: Columns whose values come from the input (and so are untrusted text).
UNTRUSTED_COLUMNS: Final = frozenset({"account", "reasons"})


#: Sources whose rows are daily or bucketed totals, never single requests.
AGGREGATED_SOURCES: Final = frozenset(
    {
        "anthropic-claude-code-analytics",
        "anthropic-usage-report",
        "openai-usage",
        "ccusage-daily",
        "copilot-cli",
    }
)
