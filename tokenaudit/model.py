"""What an audit produces: the report every renderer reads. Its own module, so that renderers
depend on the result and never on the orchestrator that made it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Final

import polars as pl


@dataclass(frozen=True)
class InputSummary:
    name: str
    kind: str
    fmt: str
    rows: int
    used: int
    rejected: int
    #: Gives the file's SHA-256 (`sha256`): worked out while the audit ran when its report was
    #: to show it, else only if something asks (a CSV report never does, and hashing 1.1 GB of
    #: CSV took 0.9 s of CPU).
    digest: Callable[[], str] = field(compare=False, repr=False)
    #: Timestamps without a zone, read in --assume-tz.
    zone_less: int = 0
    #: The first and last instant (or day) of its used rows, ISO 8601; None when it has none.
    first: str | None = None
    last: str | None = None
    #: What its pages say of the paginated listing they come from: "continues" (every page
    #: says more follow), "ends", or "".
    listing: str = ""

    @property
    def sha256(self) -> str:
        return self.digest()


@dataclass(frozen=True)
class NullModels:
    """What a reference population carries: each check's fitted null model on the whole
    organisation, and what it was fitted on. Named numbers only, never a person."""

    nulls: dict[str, dict[str, float]]
    cohort_size: int
    merge_rate: float
    period_days: int


@dataclass(frozen=True)
class AuditReport:
    """Everything a renderer or `explain` needs; all frames are collected and sorted."""

    accounts: pl.DataFrame
    checks: pl.DataFrame
    days: pl.DataFrame
    outputs: pl.DataFrame
    inputs: list[InputSummary]
    rejects: pl.DataFrame
    skipped: list[str]
    window_days: int
    window_auto: bool
    first_day: date | None
    last_day: date | None
    merges_known_until: date | None
    duplicate_requests: int
    unmatched_usage: list[str] = field(default_factory=list)
    unmatched_authors: list[str] = field(default_factory=list)
    #: Usage account → commit authors with no usage that are probably it under another spelling
    #: (`identities.likely_aliases`): a hint for --identities, never a mapping.
    likely_aliases: dict[str, list[str]] = field(default_factory=dict)
    pseudonymised: bool = False
    #: Fits every check's null model on the organisation (for `--save-reference`); computed only
    #: when asked for, since a scan itself does not need them all.
    fit_null_models: Callable[[], NullModels] | None = None
    #: "compared with the reference …" when the scan used `--reference`.
    reference: str | None = None
    #: Used usage rows that have no cost and whose model has no price: `model, rows, tokens`,
    #: most tokens first (`pricing.unpriced_models`). Their cost is unknown, never zero.
    unpriced: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=UNPRICED_SCHEMA))
    #: The price table rows without a logged cost were priced from ("prices as of 2026-11-30").
    prices: str = ""
    #: What the checks compared (`--measure`): "tokens", or "cost" (`tokens` columns of the
    #: report are tokens either way).
    measure: str = "tokens"


UNPRICED_SCHEMA: Final[dict[str, pl.DataType]] = {
    "model": pl.String(),
    "rows": pl.Int64(),
    "tokens": pl.Int64(),
}


EMPTY_ACCOUNTS_SCHEMA: Final[dict[str, pl.DataType]] = {
    "rank": pl.Int64(),
    "account": pl.String(),
    "status": pl.String(),
    "flagged": pl.Boolean(),
    "score": pl.Float64(),
    "q_value": pl.Float64(),
    "tokens": pl.Int64(),
    "requests": pl.Int64(),
    "active_days": pl.Int64(),
    "cost_usd": pl.Float64(),
    "merged_changes": pl.Int64(),
    "merged_lines": pl.Int64(),
    "tokens_per_line": pl.Float64(),
    "barren_token_share": pl.Float64(),
    "excess_tokens_x": pl.Float64(),
    "reasons": pl.String(),
    "p_outcome": pl.Float64(),
    "p_mechanism": pl.Float64(),
    "p_primary": pl.Float64(),
    "team": pl.String(),
    "role": pl.String(),
    "cohort": pl.String(),
    "fragile": pl.String(),
}
