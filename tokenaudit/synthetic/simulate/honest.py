"""Honest people: the hard archetypes' traits, a working day's sessions, overnight agent runs,
on-call nights, and merged changes (squashed, reverted and trivial ones included)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np

from .base import START, WORDS, Family, Person, midnight
from .rows import Rows, commit_row


def shape_honest(p: Person, rng: np.random.Generator, fam: Family) -> None:
    """Give an honest archetype its traits (typical people and people on leave have none)."""
    k = p.archetype
    if k == "explorer":
        p.token_mult = float(rng.uniform(2, 5))
        p.output_mult = float(rng.uniform(0.2, 0.5))
        p.lag_median_days = 10.0
        p.role = "research" if rng.uniform() < 0.5 else "engineer"
    elif k == "reviewer":
        p.token_mult = float(rng.uniform(0.8, 2))
        p.output_mult = float(rng.uniform(0.0, 0.3))
        p.role = "lead" if rng.uniform() < 0.7 else "engineer"
    elif k == "late-merger":
        p.lag_median_days = float(rng.uniform(14, 30))
    elif k == "new-joiner":
        p.extra["ramp_weeks"] = float(rng.integers(2, 7))
        p.extra["ramp_mult"] = float(rng.uniform(1.5, 3))
    elif k == "squash-victim":
        p.extra["squashed"] = float(rng.uniform(0.3, 0.6))
    elif k == "agent-power-user":
        p.token_mult = float(rng.uniform(5, 20))
        p.output_mult = float(rng.uniform(1.5, 3))
        p.cache_read_share = float(rng.uniform(0.95, 0.98))
        p.extra["overnight_p"] = float(rng.uniform(*fam.overnight_p))
    elif k == "on-call":
        p.token_mult = float(rng.uniform(1, 2))
        p.role = "sre"
        p.extra["oncall_offset"] = float(rng.integers(0, 4))


def active(rng: np.random.Generator, p: Person, d: int) -> bool:
    """Whether `p` works on day `d` (never before they start or while on leave)."""
    if d < p.start_day:
        return False
    if p.leave and p.leave[0] <= d < p.leave[1]:
        return False
    weekday = (START + timedelta(days=d)).weekday()
    prob = p.weekday_p if weekday < 5 else p.weekend_p
    return bool(rng.uniform() < prob)


def _session_times(
    rng: np.random.Generator,
    p: Person,
    n_req: int,
    day_start_utc: float,
    gap_median: float,
    gap_sigma: float,
) -> np.ndarray:
    """Human sessions inside the person's local working hours."""
    n_sess = int(min(1 + rng.poisson(1.5), max(n_req // 3, 1)))
    split = rng.multinomial(n_req, np.full(n_sess, 1.0 / n_sess))
    local_start = day_start_utc - p.tz * 3600
    out = []
    for k in split:
        if k == 0:
            continue
        start = local_start + (p.work_start + rng.uniform(0, p.work_hours - 1)) * 3600
        gaps = rng.lognormal(math.log(gap_median), gap_sigma, size=k)
        out.append(start + np.cumsum(gaps))
    return np.concatenate(out) if out else np.empty(0)


def working_day(
    rng: np.random.Generator, p: Person, day_start: float, mult: float, rows: Rows
) -> float:
    """A day's requests at the keyboard, `mult` times the person's level; returns its tokens."""
    day_tokens = p.base_tokens * mult * math.exp(rng.normal(0.0, 0.6))
    n_req = int(np.clip(round(day_tokens / (p.request_size * max(mult, 1.0) ** 0.5)), 3, 400))
    ts = _session_times(rng, p, n_req, day_start, 45.0, 1.1)
    weights = rng.lognormal(0.0, 0.5, size=ts.size) * (1 + 0.02 * np.arange(ts.size))
    total = weights / weights.sum() * day_tokens
    out_share = rng.uniform(0.01, 0.03)
    rows.add(
        p.account,
        ts,
        np.round(total * (1 - out_share)),
        np.round(total * out_share),
        p.cache_read_share,
        rows.new_session(),
    )
    return day_tokens


def overnight_run(
    rng: np.random.Generator,
    p: Person,
    day_start: float,
    day_tokens: float,
    rows: Rows,
    fam: Family,
) -> None:
    """An overnight agent run: long, regularly polling, and it ships (see output_mult)."""
    local_start = day_start - p.tz * 3600 + rng.uniform(20, 23) * 3600
    hours = rng.uniform(*fam.run_hours)
    n_run = int(hours * 3600 / 150)
    run_ts = local_start + np.cumsum(rng.lognormal(math.log(150), 0.5, size=n_run))
    run_tokens = day_tokens * rng.uniform(0.5, 1.5)
    w = rng.lognormal(0, 0.4, size=n_run) * (1 + 0.01 * np.arange(n_run))
    run_total = w / w.sum() * run_tokens
    rows.add_session(p.account, run_ts, run_total, 0.015, 0.97)


def oncall_night(rng: np.random.Generator, p: Person, day_start: float, rows: Rows) -> None:
    """A burst of requests in the small hours of an on-call week."""
    night = day_start - p.tz * 3600 + rng.uniform(0, 5) * 3600
    k = int(rng.integers(5, 25))
    n_ts = night + np.cumsum(rng.lognormal(math.log(60), 1.0, size=k))
    tokens = p.base_tokens * 0.3 * rng.lognormal(0, 0.5, size=k) / k
    rows.add_session(p.account, n_ts, tokens, 0.02, p.cache_read_share)


def merges_for(
    rng: np.random.Generator,
    p: Person,
    people: list[Person],
    n_days: int,
    active_days: list[int],
    pr_counter: list[int],
) -> list[dict[str, object]]:
    """The changes `p` merged from the work of their active days (before the logs end)."""
    end = midnight(n_days)
    mean_rate = 0.4 * (p.base_tokens / 7e6) ** p.elasticity * p.frailty * p.output_mult
    out: list[dict[str, object]] = []
    teammates = [q for q in people if q.team == p.team and q is not p and not q.is_maxxer] or [
        q for q in people if q is not p
    ]
    for d in active_days:
        rate = mean_rate
        if p.archetype == "new-joiner":
            weeks_in = (d - p.start_day) / 7
            rate *= 0.0 if weeks_in < 2 else min(1.0, (weeks_in - 1) / 3)
        n_pr = (
            int(rng.negative_binomial(p.dispersion, p.dispersion / (p.dispersion + rate)))
            if rate > 0
            else 0
        )
        for _ in range(n_pr):
            out += _pull_request(rng, p, d, end, teammates, pr_counter)
        if rng.uniform() < 0.04:  # honest people make trivial changes too
            pr_counter[0] += 1
            at = midnight(d) + timedelta(hours=p.work_start - p.tz + 6)
            if at < end:
                out.append(
                    commit_row(
                        rng, p, at, int(rng.integers(1, 3)), pr_counter[0], "chore: fix typo"
                    )
                )
    return out


def _pull_request(
    rng: np.random.Generator,
    p: Person,
    d: int,
    end: datetime,
    teammates: list[Person],
    pr_counter: list[int],
) -> list[dict[str, object]]:
    """One piece of day `d`'s work: its merge (credited to a teammate if squashed, with `p`'s
    share half the time), sometimes its revert; nothing if it is not merged by `end`."""
    out: list[dict[str, object]] = []
    lag = rng.lognormal(math.log(p.lag_median_days), 1.0)
    merged = midnight(d) + timedelta(
        days=float(lag), hours=float(p.work_start - p.tz + rng.uniform(0, p.work_hours))
    )
    if merged >= end:
        return out  # not merged yet when the logs were taken
    lines = max(4, round(rng.lognormal(math.log(15 if p.archetype == "on-call" else 60), 1.2)))
    pr_counter[0] += 1
    title = f"{rng.choice(['feat', 'fix', 'refactor', 'perf'])}: {rng.choice(WORDS)} {rng.choice(WORDS)}"
    row = commit_row(rng, p, merged, lines, pr_counter[0], title)
    if p.archetype == "squash-victim" and rng.uniform() < p.extra["squashed"]:
        mate = teammates[int(rng.integers(0, len(teammates)))]
        row["author"] = mate.commit_identity
        if rng.uniform() < 0.5:
            share = dict(row)
            share["author"] = p.commit_identity
            share["lines_added"] = int(row["lines_added"]) // 2  # type: ignore[call-overload]
            share["lines_deleted"] = int(row["lines_deleted"]) // 2  # type: ignore[call-overload]
            out.append(share)
    out.append(row)
    if rng.uniform() < 0.02:
        revert_at = merged + timedelta(days=float(rng.uniform(0.5, 5)))
        if revert_at < end:
            pr_counter[0] += 1
            out.append(commit_row(rng, p, revert_at, lines, pr_counter[0], f'Revert "{title}"'))
    return out
