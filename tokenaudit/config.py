"""Every tunable default of an audit, in one frozen place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from tokenaudit.pricing import PriceTable
    from tokenaudit.reference import Reference

#: What the checks compare (`--measure`): tokens, or their cost in micro-dollars.
Measure = Literal["tokens", "cost"]
MEASURES: Final[tuple[Measure, ...]] = ("tokens", "cost")


@dataclass(frozen=True)
class AuditConfig:
    """Parameters of one audit run. Defaults are the documented ones."""

    since: date | None = None
    until: date | None = None
    #: IANA zone used to cut timestamps into days; UTC unless the org lives elsewhere.
    tz: str = "UTC"
    #: Follow-up window in days; None means "auto" (cohort p90 usage-to-merge lag, clamped).
    window_days: int | None = None
    window_min: int = 3
    window_max: int = 21
    #: False discovery rate for both tiers (Benjamini–Hochberg).
    fdr_q: float = 0.10
    #: Tier 2 confirms a screened mechanism only where the outcome evidence (Bonferroni minimum
    #: over the outcome checks, or a confirming context check's p: `Check.confirms`) is at or
    #: below this fixed level: the tokens are more than the merged output explains. Fixed, so that it means the same however many accounts pass the
    #: screen (see decide.py).
    confirm_p: float = 0.2
    #: ... and where the screen passed on a habitual mechanism alone (`Check.habitual`), on the
    #: outcome tests only, at this level (decide.py says how it was chosen).
    confirm_p_habit: float = 0.1
    #: Benjamini–Yekutieli instead of Benjamini–Hochberg (valid under any dependence).
    strict: bool = False
    #: A merged change touching this many lines or fewer is trivial: it is not counted as output.
    trivial_max_lines: int = 3
    #: A revert cancels the change it reverts when both are merged within this many days.
    revert_cancel_days: int = 14
    #: A file with a larger share of unusable rows is refused (exit 65), not half-read.
    max_bad_ratio: float = 0.5
    #: ... and so is one with more unusable rows than this (None: no count limit).
    max_bad_rows: int | None = None
    #: No usable usage at all gives an empty report (exit 0) instead of exit 65.
    allow_empty: bool = False
    #: The zone of timestamps written without one (they are counted and reported); None rejects them.
    assume_tz: str | None = "UTC"
    #: The account of exports that name none (Claude Code transcripts, ccusage reports).
    account: str | None = None
    #: Deadlines of a usage leaderboard: a weekly token quota, the weekday (1 = Monday … 7 = Sunday)
    #: its snapshot is taken, and the weekday weeks start on (0 = Monday … 6 = Sunday).
    quota: float | None = None
    #: A known date of change (a leaderboard launch, a mandate): `usage-jump` tests it instead of
    #: searching for the date.
    change_date: date | None = None
    snapshot_day: int | None = None
    #: The fitted null models of a larger scan (`--reference`): every check compares the accounts
    #: with them instead of fitting its own to a cohort that may be too small.
    reference: Reference | None = None
    week_start: int = 0
    #: Prices of the rows without `cost_usd` (`--prices FILE`); None: the shipped, dated table.
    prices: PriceTable | None = None
    #: What the checks see as an account's usage: "tokens", or "cost" (each day's cost in
    #: micro-dollars in place of its tokens: an Opus token weighs five Sonnet tokens). Under
    #: "cost", an account with a usage day of unknown cost is `insufficient_data` (a partial cost
    #: would understate it), and `min_cost_usd` replaces `min_tokens`. Reports show both.
    measure: Measure = "tokens"
    #: Leave: a pause of more than this many days without usage.
    leave_gap_days: int = 7
    #: New joiners: first usage this many days after the data starts; their first
    #: `onboarding_days` never count against them.
    joiner_after_days: int = 14
    onboarding_days: int = 28
    #: A role with at least this many tested accounts is its own cohort; smaller roles are
    #: compared with the whole organisation.
    min_role_cohort: int = 10
    #: Evidence gates: below these an account is `insufficient_data`, never tested.
    min_active_days: int = 5
    min_followable_days: int = 4
    min_expected_changes: float = 2.0
    min_tokens: int = 100_000
    #: ... the same gate under --measure cost, in USD. 100k tokens cost $0.03 (Sonnet cache
    #: reads) to $2.50 (Opus output); $1 is light use of any model, whatever its mix of kinds.
    min_cost_usd: float = 1.0
    #: Automation fingerprints: a day needs this many requests before its timing is read.
    min_requests_for_timing: int = 12
    #: A "sleep gap": the longest pause a human day has (hours).
    sleep_gap_hours: float = 5.0
    #: Effect-size gates of a mechanism feature: at least this many flagged days, and this share.
    mechanism_min_days: int = 3
    mechanism_min_share: float = 0.2
    #: Memory the usage panel may take, in bytes (`--memory-limit`): usage whose working set fits
    #: is processed in memory in one pass, larger usage in account buckets spilled to disk.
    #: None: no limit (one pass). The command line's default is a quarter of the machine's
    #: memory, at most 4 GiB.
    memory_limit: int | None = None
    #: Account names matching these (case-insensitive substrings) are bots, excluded from tests.
    bot_markers: tuple[str, ...] = field(
        default=(
            "[bot]",
            "dependabot",
            "github-actions",
            "renovate",
            "-bot@",
            "ci-bot",
            "noreply@github.com",
        )
    )
