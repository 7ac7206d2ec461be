"""One organisation, drawn in a fixed order: the people, their calendars, each person's usage day
by day and merged changes, the bots, an org-wide shock, then the frames."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from . import honest, tactics
from .base import DAY_S, DEFAULT_FAMILY, START, WORDS, Family, GeneratedOrg, Person, midnight
from .frames import COMMIT_SCHEMA, identities_frame, inflation_frame, truth_frame, usage_frame
from .people import draw_people
from .rows import Rows, random_sha


def generate_org(
    accounts: int = 200,
    days: int = 63,
    seed: int = 0,
    maxxer_share: float = 0.08,
    *,
    quota: float | None = None,
    shock: bool = False,
    family: Family = DEFAULT_FAMILY,
) -> GeneratedOrg:
    """Draw one synthetic organisation. Deterministic per argument set.

    `quota` (weekly tokens) adds quota hitters who top their week up to just over it; `shock`
    multiplies everybody's usage by U(1.3, 2) from one week on (a new model, a mandate).
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    people = draw_people(rng, accounts, maxxer_share, quota, family)
    _calendars(rng, people, days, quota)
    rows = Rows()
    merges: list[dict[str, object]] = []
    pr_counter = [1000]
    for p in people:
        active: list[int] = []
        _usage_for(rng, p, days, rows, active, family)
        merges += honest.merges_for(rng, p, people, days, active, pr_counter)
        if p.archetype == "camouflage":
            merges += tactics.camouflage_commits(rng, p, days, pr_counter)
    _ci_service(rows, days)
    merges += _dependabot(rng, days, pr_counter)
    shock_at = _shock(rng, days) if shock else None
    usage = usage_frame(rng, rows, shock_at)
    commits = pl.DataFrame(merges, schema=COMMIT_SCHEMA).sort("merged_at", "sha")
    return GeneratedOrg(
        usage, commits, identities_frame(people), truth_frame(people), inflation_frame(people)
    )


def _calendars(
    rng: np.random.Generator, people: list[Person], days: int, quota: float | None
) -> None:
    """Quotas, new joiners' first days and leave blocks."""
    for p in people:
        if p.archetype == "quota-hitter" and quota is not None:
            p.extra["quota"] = quota
        if p.archetype == "new-joiner":
            p.start_day = int(rng.integers(days // 3, max(days // 2, days // 3 + 1)))
        if p.archetype == "on-leave":
            length = int(rng.integers(7, 29))
            start = int(rng.integers(0, max(days - length, 1)))
            p.leave = (start, start + length)


def _usage_for(
    rng: np.random.Generator,
    p: Person,
    n_days: int,
    rows: Rows,
    active_days: list[int],
    fam: Family,
) -> None:
    """`p`'s requests day by day; the days they worked go to `active_days`."""
    padded_weeks, loop_start = tactics.plan_padding(rng, p, n_days, fam)
    pad_from = fam.launch_day
    week_tokens: dict[int, float] = {}
    for d in range(n_days):
        day_start = midnight(d).timestamp()
        if p.archetype == "quota-hitter" and d % 7 == 5 and d - 1 >= p.start_day:
            week = week_tokens.get(d // 7, 0.0)
            added = tactics.quota_top_up(rng, p, day_start, week, rows)
            if added > 0:
                week_tokens[d // 7] = week + added
        if p.archetype == "scripted-loop" and d >= loop_start and d >= p.start_day:
            tactics.scripted_loop_day(rng, p, day_start, rows)
        if not honest.active(rng, p, d):
            continue
        active_days.append(d)
        mult = tactics.day_multiplier(p, d, padded_weeks, pad_from)
        day_tokens = honest.working_day(rng, p, day_start, mult, rows)
        week_tokens[d // 7] = week_tokens.get(d // 7, 0.0) + day_tokens
        if p.archetype == "agent-power-user" and rng.uniform() < p.extra["overnight_p"]:
            honest.overnight_run(rng, p, day_start, day_tokens, rows, fam)
        if p.archetype == "on-call" and (d // 7 + int(p.extra["oncall_offset"])) % 4 == 0:
            honest.oncall_night(rng, p, day_start, rows)
        if p.archetype == "swarm-idler" and (pad_from is None or d >= pad_from):
            tactics.swarm_day(rng, p, day_start, rows)


def _ci_service(rows: Rows, days: int) -> None:
    """A CI service account: cron usage, no human behind it (must be excluded, never flagged)."""
    ci_ts = np.concatenate(
        [midnight(d).timestamp() + np.arange(0, DAY_S, 1800.0) for d in range(days)]
    )
    rows.add(
        "ci-bot@acme.example",
        ci_ts,
        np.full(ci_ts.size, 40_000.0),
        np.full(ci_ts.size, 800.0),
        0.9,
        0,
    )


def _dependabot(
    rng: np.random.Generator, days: int, pr_counter: list[int]
) -> list[dict[str, object]]:
    """A dependency bump every third day."""
    out: list[dict[str, object]] = []
    for d in range(0, days, 3):
        pr_counter[0] += 1
        out.append(
            {
                "merged_at": (START + timedelta(days=d)).isoformat() + "T06:00:00Z",
                "author": "dependabot[bot]",
                "lines_added": 12,
                "lines_deleted": 12,
                "sha": random_sha(rng),
                "pr_id": str(pr_counter[0]),
                "files_changed": 1,
                "message": f"chore(deps): bump {rng.choice(WORDS)} (#{pr_counter[0]})",
                "repo": "acme/platform",
            }
        )
    return out


def _shock(rng: np.random.Generator, days: int) -> tuple[float, float]:
    """When the org-wide shift starts (a week's Monday, as a timestamp) and its multiple."""
    week = int(rng.integers(max(days // 21, 1), max(days // 7 - days // 21, 2)))
    return midnight(7 * week).timestamp(), float(rng.uniform(1.3, 2.0))
