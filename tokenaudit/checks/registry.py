"""All checks, in the order their results are listed."""

from __future__ import annotations

from typing import Final

from tokenaudit.checks.automation import Automation
from tokenaudit.checks.barren_days import BarrenDays
from tokenaudit.checks.base import Check
from tokenaudit.checks.deadline_spikes import DeadlineSpikes
from tokenaudit.checks.excess_tokens import ExcessTokens
from tokenaudit.checks.heavy_weeks import HeavyWeeks
from tokenaudit.checks.output_share import OutputShare
from tokenaudit.checks.trivial_merges import TrivialMerges
from tokenaudit.checks.usage_jump import UsageJump
from tokenaudit.checks.weekday_spikes import WeekdaySpikes

CHECKS: Final[tuple[Check, ...]] = (
    ExcessTokens(),
    BarrenDays(),
    UsageJump(),
    HeavyWeeks(),
    WeekdaySpikes(),
    OutputShare(),
    Automation(),
    TrivialMerges(),
    DeadlineSpikes(),
)


def check_by_id(check_id: str) -> Check:
    for check in CHECKS:
        if check.id == check_id:
            return check
    raise KeyError(check_id)


def primary_check() -> Check:
    """The outcome test a `suspicious` flag's excess is measured by."""
    (primary,) = [check for check in CHECKS if check.primary]
    return primary


def window_sensitive() -> tuple[Check, ...]:
    """Checks whose answer depends on the follow-up window."""
    return tuple(check for check in CHECKS if check.window_sensitive)
