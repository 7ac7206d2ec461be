"""Tokenmaxxing tactics: each tactic's traits, the padding it adds day by day (scripted loops,
swarms of idle agents, quota top-ups, drip-feeding, intermittent weeks) and camouflage commits."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np

from .base import DAY_S, Family, Person, log_uniform, midnight
from .rows import Rows, commit_row

_CAMOUFLAGE_TITLES = [
    "style: whitespace",
    "chore: bump lockfile",
    "docs: comment",
    "chore: reformat",
]


def shape_tactic(p: Person, rng: np.random.Generator, fam: Family) -> None:
    """Give a tokenmaxxer their tactic's traits (quota hitters get their quota later)."""
    k = p.archetype
    if k == "scripted-loop":
        p.extra["loop_mult"] = log_uniform(rng, fam.loop_mult)
        p.extra["cadence_s"] = float(rng.choice([60.0, 120.0, 300.0]))
        p.extra["loop_start_frac"] = float(rng.uniform(0.0, 0.4))
    elif k == "swarm-idler":
        p.extra["swarm_mult"] = log_uniform(rng, fam.swarm_mult)
        p.cache_read_share = float(rng.uniform(0.94, 0.98))
    elif k == "camouflage":
        p.token_mult = float(rng.uniform(*fam.camouflage_mult))
        p.extra["trivial_per_week"] = float(rng.uniform(1, 3))
    elif k == "drip-feeder":
        p.extra["drip_to"] = float(rng.uniform(1.3, 3))
        p.extra["drip_weeks"] = float(rng.uniform(6, 10))
    elif k == "intermittent":
        p.extra["pad_mult"] = float(rng.uniform(*fam.pad_mult))
        p.extra["pad_share"] = float(rng.uniform(0.3, 0.5))


def plan_padding(
    rng: np.random.Generator, p: Person, n_days: int, fam: Family
) -> tuple[set[int], int]:
    """Before the first day: the intermittent padder's padded weeks, the drip-feeder's start and
    the day a scripted loop starts (a launch moves it to the launch day)."""
    padded_weeks: set[int] = set()
    if p.archetype == "intermittent":
        weeks = n_days // 7 + 1
        padded_weeks = {w for w in range(weeks) if rng.uniform() < p.extra["pad_share"]}
    if p.archetype == "drip-feeder":
        p.extra["drip_start"] = float(rng.integers(0, max(n_days // 3, 1)))
    loop_start = int(p.extra.get("loop_start_frac", 0.0) * n_days)
    if fam.launch_day is not None:
        loop_start = fam.launch_day
    return padded_weeks, loop_start


def day_multiplier(p: Person, d: int, padded_weeks: set[int], launch: int | None = None) -> float:
    """The multiple of the person's level they use on day `d` (a joiner's ramp, a drip, a padded
    week); a tokenmaxxer is honest before a launch."""
    if p.is_maxxer and launch is not None and d < launch:
        return 1.0
    mult = p.token_mult
    if p.archetype == "new-joiner":
        weeks_in = (d - p.start_day) / 7
        if weeks_in < p.extra["ramp_weeks"]:
            mult *= p.extra["ramp_mult"]
    if p.archetype == "drip-feeder":
        start = p.extra.get("drip_start", 0.0)
        progress = min(max((d - start) / (7 * p.extra["drip_weeks"]), 0.0), 1.0)
        mult *= 1 + (p.extra["drip_to"] - 1) * progress
    if p.archetype == "intermittent" and d // 7 in padded_weeks:
        mult *= p.extra["pad_mult"]
    return mult


def quota_top_up(
    rng: np.random.Generator, p: Person, day_start: float, week: float, rows: Rows
) -> float:
    """Friday evening: below the weekly quota, top it up to just over it. Returns the tokens
    added (0 when the week was over the quota already)."""
    short = p.extra["quota"] * rng.uniform(1.0, 1.05) - week
    if short <= 0:
        return 0.0
    friday_evening = day_start - DAY_S - p.tz * 3600 + rng.uniform(18, 21) * 3600
    k = int(rng.integers(30, 80))
    b_ts = friday_evening + np.cumsum(rng.lognormal(math.log(40), 1.0, size=k))
    w = rng.lognormal(0, 0.5, size=k)
    t = w / w.sum() * short
    rows.add_session(p.account, b_ts, t, 0.015, p.cache_read_share)
    return float(short)


def scripted_loop_day(rng: np.random.Generator, p: Person, day_start: float, rows: Rows) -> None:
    """A day of a script calling the model at a fixed cadence, around the clock."""
    cadence = p.extra["cadence_s"]
    n_loop = int(DAY_S // cadence)
    ts = day_start + np.arange(n_loop) * cadence + rng.normal(0, 0.5, size=n_loop)
    per_req = p.base_tokens * p.extra["loop_mult"] / n_loop
    prompt = np.full(n_loop, round(per_req * 0.985))
    output = np.full(n_loop, round(per_req * 0.015))
    rows.add(p.account, ts, prompt, output, 0.97, rows.new_session())


def swarm_day(rng: np.random.Generator, p: Person, day_start: float, rows: Rows) -> None:
    """A swarm is launched by hand, all at once, on toy tasks."""
    n_agents = int(rng.integers(4, 10))
    swarm_tokens = p.base_tokens * p.extra["swarm_mult"] * math.exp(rng.normal(0, 0.4))
    launch = day_start - p.tz * 3600 + (p.work_start + rng.uniform(0, p.work_hours - 2)) * 3600
    for _ in range(n_agents):
        local = launch + rng.uniform(0, 900)
        k = int(rng.integers(20, 60))
        a_ts = local + np.cumsum(rng.lognormal(math.log(40), 1.0, size=k))
        w = rng.lognormal(0, 0.6, size=k)
        t = w / w.sum() * swarm_tokens / n_agents
        rows.add_session(p.account, a_ts, t, 0.01, p.cache_read_share)


def camouflage_commits(
    rng: np.random.Generator, p: Person, n_days: int, pr_counter: list[int]
) -> list[dict[str, object]]:
    """Trivial changes every week so that the merge count looks alive; some are reverted."""
    end = midnight(n_days)
    out: list[dict[str, object]] = []
    for w in range(n_days // 7):
        for _ in range(int(rng.poisson(p.extra["trivial_per_week"]))):
            at = midnight(7 * w + int(rng.integers(0, 5))) + timedelta(
                hours=float(rng.uniform(9, 18) - p.tz)
            )
            if at >= end:
                continue
            pr_counter[0] += 1
            title = str(rng.choice(_CAMOUFLAGE_TITLES))
            number = pr_counter[0]
            lines = int(rng.integers(1, 4))
            out.append(commit_row(rng, p, at, lines, number, f"{title} #{number}"))
            if rng.uniform() < 0.2 and at + timedelta(days=2) < end:
                pr_counter[0] += 1
                revert = f'Revert "{title} #{pr_counter[0] - 1}"'
                out.append(commit_row(rng, p, at + timedelta(days=2), 1, pr_counter[0], revert))
    return out


def inflation(p: Person) -> float | None:
    """The token multiple a tactic adds over the person's honest level (None for honest people
    and for tactics that move tokens around rather than multiply them)."""
    if not p.is_maxxer:
        return None
    for key in ("loop_mult", "swarm_mult", "pad_mult", "drip_to"):
        if key in p.extra:
            return round(p.extra[key], 3)
    return round(p.token_mult, 3) if p.token_mult != 1.0 else None
