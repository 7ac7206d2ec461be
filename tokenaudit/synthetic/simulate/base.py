"""The types and constants every part of the generator shares: the calendar, the archetypes,
the name pools, a person's drawn traits (`Person`), the ranges they are drawn from (`Family`) and
the generated organisation (`GeneratedOrg`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final

import numpy as np
import polars as pl

START: Final = date(2026, 3, 2)  # a Monday; fixed so that output never depends on the clock
DAY_S: Final = 86_400

HONEST_ARCHETYPES: Final = (
    "explorer",
    "reviewer",
    "late-merger",
    "new-joiner",
    "on-leave",
    "squash-victim",
    "agent-power-user",
    "on-call",
)
MAXXER_ARCHETYPES: Final = (
    "scripted-loop",
    "swarm-idler",
    "camouflage",
    "drip-feeder",
    "intermittent",
)
#: Share of tokenmaxxers per tactic (research/methods.md §7, without the quota hitter).
MAXXER_WEIGHTS: Final = (0.25, 0.20, 0.20, 0.15, 0.20)
#: With a weekly quota, quota hitters take this share of the tokenmaxxers (the rest scale down).
QUOTA_HITTER_SHARE: Final = 0.20

TIMEZONES: Final = (-8.0, -7.0, -5.0, -3.0, 0.0, 1.0, 2.0, 3.0, 5.5, 8.0, 9.0)
TEAMS: Final = ("payments", "platform", "search", "mobile", "data", "growth", "infra")
FIRST_NAMES: Final = (
    "ana",
    "ben",
    "chen",
    "dana",
    "eli",
    "fatima",
    "goran",
    "hana",
    "ivan",
    "jun",
    "kofi",
    "lea",
    "marco",
    "nina",
    "omar",
    "priya",
    "quinn",
    "rosa",
    "sam",
    "tariq",
    "uma",
    "victor",
    "wen",
    "xavi",
    "yara",
    "zoe",
)
LAST_NAMES: Final = (
    "abe",
    "bauer",
    "costa",
    "diaz",
    "eriksen",
    "fischer",
    "garcia",
    "haddad",
    "ito",
    "jensen",
    "kim",
    "lopez",
    "mori",
    "novak",
    "okafor",
    "patel",
    "quist",
    "rossi",
    "silva",
    "tanaka",
    "ueda",
    "vance",
    "wong",
    "xu",
    "yilmaz",
    "zhou",
)
WORDS: Final = (
    "ledger",
    "retry",
    "cache",
    "parser",
    "auth",
    "billing",
    "search",
    "index",
    "queue",
    "export",
    "webhook",
    "schema",
    "metrics",
    "flag",
    "session",
    "report",
    "upload",
    "invoice",
    "sync",
    "limits",
)
PRICE_PER_MTOK: Final = {"input": 3.0, "output": 15.0, "cache_read": 0.30, "cache_write": 3.75}


@dataclass
class Person:
    account: str
    login: str
    gh_id: int
    commit_identity: str
    personal_email: str | None
    team: str
    role: str
    archetype: str
    is_maxxer: bool
    tz: float
    work_start: float
    work_hours: float
    base_tokens: float
    request_size: float
    weekday_p: float
    weekend_p: float
    elasticity: float
    frailty: float
    dispersion: float
    lag_median_days: float
    cache_read_share: float
    output_mult: float = 1.0
    token_mult: float = 1.0
    start_day: int = 0
    leave: tuple[int, int] | None = None
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Family:
    """The ranges an organisation's people are drawn from. The defaults are `generate`'s; the
    detection benchmark draws each organisation's ranges from much wider ones, so that no rule
    can sit just outside them."""

    #: SD of log tokens per day between honest people.
    spread: float = 1.0
    #: Agent power users: share of days with an overnight run, and the run's length (hours).
    overnight_p: tuple[float, float] = (0.3, 0.5)
    run_hours: tuple[float, float] = (4.0, 9.0)
    #: Token multiples of the tactics.
    loop_mult: tuple[float, float] = (10.0, 100.0)
    swarm_mult: tuple[float, float] = (5.0, 30.0)
    camouflage_mult: tuple[float, float] = (5.0, 20.0)
    pad_mult: tuple[float, float] = (3.0, 10.0)
    #: A leaderboard launch: every tokenmaxxer is honest before this day and pads from it on.
    launch_day: int | None = None


#: `generate`'s ranges.
DEFAULT_FAMILY: Final = Family()


@dataclass(frozen=True)
class GeneratedOrg:
    usage: pl.DataFrame
    commits: pl.DataFrame
    identities: pl.DataFrame
    truth: pl.DataFrame
    #: The token multiple each tokenmaxxer's tactic adds (for the benchmarks; not written).
    inflation: pl.DataFrame | None = None


def log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1]))))


def midnight(day: int) -> datetime:
    """The start of the period's `day` (0 = START), UTC."""
    return datetime.combine(START + timedelta(days=day), datetime.min.time(), UTC)


def timezone_str(hours: float) -> str:
    sign = "+" if hours >= 0 else "-"
    h = int(abs(hours))
    m = round((abs(hours) - h) * 60)
    return f"{sign}{h:02d}:{m:02d}"
