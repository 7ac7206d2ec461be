"""Synthetic organisations with known honest people and known tokenmaxxers.

Used by `tokenaudit generate`, by `sample_logs/` and by the benchmarks. The population follows
research/methods.md §7: heavy-tailed honest usage with a weak link between tokens and merged
output, the hard honest archetypes (explorers, reviewers, late mergers, new joiners, people on
leave, squash-merge victims, overnight agent users, on-call engineers) and tokenmaxxing tactics
(scripted loops, swarm idlers, camouflage commits, drip-feeding, intermittent padding).

Everything is drawn from one `numpy.random.Generator(PCG64(seed))`, in a fixed order, so a seed
gives the same files byte for byte.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
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

_TIMEZONES: Final = (-8.0, -7.0, -5.0, -3.0, 0.0, 1.0, 2.0, 3.0, 5.5, 8.0, 9.0)
_TEAMS: Final = ("payments", "platform", "search", "mobile", "data", "growth", "infra")
_FIRST: Final = (
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
_LAST: Final = (
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
_WORDS: Final = (
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
_PRICE_PER_MTOK: Final = {"input": 3.0, "output": 15.0, "cache_read": 0.30, "cache_write": 3.75}


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


@dataclass(frozen=True)
class GeneratedOrg:
    usage: pl.DataFrame
    commits: pl.DataFrame
    identities: pl.DataFrame
    truth: pl.DataFrame
    #: The token multiple each tokenmaxxer's tactic adds (for the benchmarks; not written).
    inflation: pl.DataFrame | None = None


def _people(
    rng: np.random.Generator,
    n: int,
    maxxer_share: float,
    quota: float | None = None,
    fam: Family = Family(),
) -> list[Person]:
    n_maxxers = round(n * maxxer_share)
    tactics = list(MAXXER_ARCHETYPES)
    weights = list(MAXXER_WEIGHTS)
    if quota is not None:
        tactics.append("quota-hitter")
        weights = [w * (1 - QUOTA_HITTER_SHARE) for w in weights] + [QUOTA_HITTER_SHARE]
    maxxer_tactics = list(rng.choice(len(tactics), size=n_maxxers, p=weights))
    # Spread tactics so that small samples still show each one.
    for i in range(min(n_maxxers, len(tactics))):
        maxxer_tactics[i] = i
    n_honest = n - n_maxxers
    hard_share = rng.uniform(0.03, 0.08, size=len(HONEST_ARCHETYPES))
    honest_kinds: list[str] = []
    for kind, share in zip(HONEST_ARCHETYPES, hard_share, strict=True):
        honest_kinds += [kind] * max(1 if n_honest >= 40 else 0, round(share * n_honest))
    honest_kinds = honest_kinds[:n_honest]
    honest_kinds += ["typical"] * (n_honest - len(honest_kinds))
    kinds = honest_kinds + [tactics[t] for t in maxxer_tactics]
    order = rng.permutation(len(kinds))
    kinds = [kinds[i] for i in order]
    used: set[str] = set()
    people = []
    for i, kind in enumerate(kinds):
        while True:
            first = str(rng.choice(_FIRST))
            last = str(rng.choice(_LAST))
            handle = f"{first}.{last}"
            if handle not in used:
                used.add(handle)
                break
            if len(used) >= len(_FIRST) * len(_LAST):
                handle = f"{first}.{last}{i}"
                used.add(handle)
                break
        account = f"{handle}@acme.example"
        login = f"{first}{last[0]}{i % 97}"
        gh_id = int(rng.integers(1_000_000, 99_999_999))
        style = rng.uniform()
        personal = f"{first}.{last}@mail.example" if style > 0.85 else None
        if style < 0.6:
            commit_identity = account if rng.uniform() < 0.8 else account.upper()[:1] + account[1:]
        elif style < 0.85:
            commit_identity = f"{gh_id}+{login}@users.noreply.github.com"
        else:
            commit_identity = personal or account
        p = Person(
            account=account,
            login=login,
            gh_id=gh_id,
            commit_identity=commit_identity,
            personal_email=personal,
            team=str(rng.choice(_TEAMS)),
            role="engineer",
            archetype=kind,
            is_maxxer=kind in tactics,
            tz=float(rng.choice(_TIMEZONES)),
            work_start=float(rng.uniform(7.5, 10.5)),
            work_hours=float(rng.uniform(7.0, 10.0)),
            base_tokens=float(7e6 * math.exp(rng.normal(0.0, fam.spread))),
            request_size=float(400e3 * math.exp(rng.normal(0.0, 0.4))),
            weekday_p=float(rng.uniform(0.7, 0.95)),
            weekend_p=0.0 if rng.uniform() < 0.8 else float(rng.uniform(0.1, 0.4)),
            elasticity=float(rng.uniform(0.15, 0.45)),
            frailty=float(math.exp(rng.normal(0.0, rng.uniform(0.4, 0.7)))),
            dispersion=float(rng.uniform(2.0, 6.0)),
            lag_median_days=1.5,
            cache_read_share=float(rng.uniform(0.80, 0.92)),
        )
        _shape_archetype(p, rng, fam)
        people.append(p)
    return people


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1]))))


def _shape_archetype(p: Person, rng: np.random.Generator, fam: Family) -> None:
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
    elif k == "scripted-loop":
        p.extra["loop_mult"] = _log_uniform(rng, fam.loop_mult)
        p.extra["cadence_s"] = float(rng.choice([60.0, 120.0, 300.0]))
        p.extra["loop_start_frac"] = float(rng.uniform(0.0, 0.4))
    elif k == "swarm-idler":
        p.extra["swarm_mult"] = _log_uniform(rng, fam.swarm_mult)
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


def _day_multiplier(
    p: Person, d: int, n_days: int, padded_weeks: set[int], launch: int | None = None
) -> float:
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


def _active(rng: np.random.Generator, p: Person, d: int) -> bool:
    if d < p.start_day:
        return False
    if p.leave and p.leave[0] <= d < p.leave[1]:
        return False
    weekday = (START + timedelta(days=d)).weekday()
    prob = p.weekday_p if weekday < 5 else p.weekend_p
    return bool(rng.uniform() < prob)


class _Rows:
    def __init__(self) -> None:
        self.ts: list[np.ndarray] = []
        self.account: list[str] = []
        self.count: list[int] = []
        self.prompt: list[np.ndarray] = []
        self.output: list[np.ndarray] = []
        self.cache_share: list[np.ndarray] = []
        self.session: list[np.ndarray] = []

    def add_session(
        self,
        account: str,
        ts: np.ndarray,
        tokens: np.ndarray,
        output_share: float,
        cache_share: float,
        counter: list[int],
    ) -> None:
        """One new session: `tokens` per request, split into prompt and output."""
        counter[0] += 1
        self.add(
            account,
            ts,
            np.round(tokens * (1 - output_share)),
            np.round(tokens * output_share),
            cache_share,
            counter[0],
        )

    def add(
        self,
        account: str,
        ts: np.ndarray,
        prompt: np.ndarray,
        output: np.ndarray,
        cache_share: float,
        session: int,
    ) -> None:
        self.ts.append(ts)
        self.account.append(account)
        self.count.append(ts.size)
        self.prompt.append(prompt)
        self.output.append(output)
        self.cache_share.append(np.full(ts.size, cache_share))
        self.session.append(np.full(ts.size, session, dtype=np.int64))


def _usage_for(
    rng: np.random.Generator,
    p: Person,
    n_days: int,
    rows: _Rows,
    active_days: list[int],
    session_counter: list[int],
    fam: Family = Family(),
) -> None:
    pad_from = fam.launch_day
    padded_weeks: set[int] = set()
    if p.archetype == "intermittent":
        weeks = n_days // 7 + 1
        padded_weeks = {w for w in range(weeks) if rng.uniform() < p.extra["pad_share"]}
    if p.archetype == "drip-feeder":
        p.extra["drip_start"] = float(rng.integers(0, max(n_days // 3, 1)))
    loop_start = int(p.extra.get("loop_start_frac", 0.0) * n_days)
    if pad_from is not None:
        loop_start = pad_from
    week_tokens: dict[int, float] = {}
    for d in range(n_days):
        day_start = (
            datetime.combine(START + timedelta(days=d), datetime.min.time(), UTC)
        ).timestamp()
        if p.archetype == "quota-hitter" and d % 7 == 5 and d - 1 >= p.start_day:
            # Friday evening: below the weekly quota, top it up to just over it.
            short = p.extra["quota"] * rng.uniform(1.0, 1.05) - week_tokens.get(d // 7, 0.0)
            if short > 0:
                friday_evening = day_start - DAY_S - p.tz * 3600 + rng.uniform(18, 21) * 3600
                k = int(rng.integers(30, 80))
                b_ts = friday_evening + np.cumsum(rng.lognormal(math.log(40), 1.0, size=k))
                w = rng.lognormal(0, 0.5, size=k)
                t = w / w.sum() * short
                rows.add_session(p.account, b_ts, t, 0.015, p.cache_read_share, session_counter)
                week_tokens[d // 7] = week_tokens.get(d // 7, 0.0) + short
        if p.archetype == "scripted-loop" and d >= loop_start and d >= p.start_day:
            cadence = p.extra["cadence_s"]
            n_loop = int(DAY_S // cadence)
            ts = day_start + np.arange(n_loop) * cadence + rng.normal(0, 0.5, size=n_loop)
            per_req = p.base_tokens * p.extra["loop_mult"] / n_loop
            prompt = np.full(n_loop, round(per_req * 0.985))
            output = np.full(n_loop, round(per_req * 0.015))
            session_counter[0] += 1
            rows.add(p.account, ts, prompt, output, 0.97, session_counter[0])
        if not _active(rng, p, d):
            continue
        active_days.append(d)
        mult = _day_multiplier(p, d, n_days, padded_weeks, pad_from)
        day_tokens = p.base_tokens * mult * math.exp(rng.normal(0.0, 0.6))
        week_tokens[d // 7] = week_tokens.get(d // 7, 0.0) + day_tokens
        n_req = int(np.clip(round(day_tokens / (p.request_size * max(mult, 1.0) ** 0.5)), 3, 400))
        ts = _session_times(rng, p, n_req, day_start, 45.0, 1.1)
        weights = rng.lognormal(0.0, 0.5, size=ts.size) * (1 + 0.02 * np.arange(ts.size))
        total = weights / weights.sum() * day_tokens
        out_share = rng.uniform(0.01, 0.03)
        session_counter[0] += 1
        rows.add(
            p.account,
            ts,
            np.round(total * (1 - out_share)),
            np.round(total * out_share),
            p.cache_read_share,
            session_counter[0],
        )
        if p.archetype == "agent-power-user" and rng.uniform() < p.extra["overnight_p"]:
            # An overnight agent run: long, regularly polling, and it ships (see output_mult).
            local_start = day_start - p.tz * 3600 + rng.uniform(20, 23) * 3600
            hours = rng.uniform(*fam.run_hours)
            n_run = int(hours * 3600 / 150)
            run_ts = local_start + np.cumsum(rng.lognormal(math.log(150), 0.5, size=n_run))
            run_tokens = day_tokens * rng.uniform(0.5, 1.5)
            w = rng.lognormal(0, 0.4, size=n_run) * (1 + 0.01 * np.arange(n_run))
            run_total = w / w.sum() * run_tokens
            rows.add_session(p.account, run_ts, run_total, 0.015, 0.97, session_counter)
        if p.archetype == "on-call" and (d // 7 + int(p.extra["oncall_offset"])) % 4 == 0:
            night = day_start - p.tz * 3600 + rng.uniform(0, 5) * 3600
            k = int(rng.integers(5, 25))
            n_ts = night + np.cumsum(rng.lognormal(math.log(60), 1.0, size=k))
            tokens = p.base_tokens * 0.3 * rng.lognormal(0, 0.5, size=k) / k
            rows.add_session(p.account, n_ts, tokens, 0.02, p.cache_read_share, session_counter)
        if p.archetype == "swarm-idler" and (pad_from is None or d >= pad_from):
            n_agents = int(rng.integers(4, 10))
            swarm_tokens = p.base_tokens * p.extra["swarm_mult"] * math.exp(rng.normal(0, 0.4))
            launch = (
                day_start - p.tz * 3600 + (p.work_start + rng.uniform(0, p.work_hours - 2)) * 3600
            )
            for _ in range(n_agents):
                # A swarm is launched by hand, all at once, on toy tasks.
                local = launch + rng.uniform(0, 900)
                k = int(rng.integers(20, 60))
                a_ts = local + np.cumsum(rng.lognormal(math.log(40), 1.0, size=k))
                w = rng.lognormal(0, 0.6, size=k)
                t = w / w.sum() * swarm_tokens / n_agents
                rows.add_session(p.account, a_ts, t, 0.01, p.cache_read_share, session_counter)


def _merges_for(
    rng: np.random.Generator,
    p: Person,
    people: list[Person],
    n_days: int,
    active_days: list[int],
    pr_counter: list[int],
) -> list[dict[str, object]]:
    end = datetime.combine(START + timedelta(days=n_days), datetime.min.time(), UTC)
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
            lag = rng.lognormal(math.log(p.lag_median_days), 1.0)
            merged = datetime.combine(
                START + timedelta(days=d), datetime.min.time(), UTC
            ) + timedelta(
                days=float(lag), hours=float(p.work_start - p.tz + rng.uniform(0, p.work_hours))
            )
            if merged >= end:
                continue  # not merged yet when the logs were taken
            lines = max(
                4, round(rng.lognormal(math.log(15 if p.archetype == "on-call" else 60), 1.2))
            )
            pr_counter[0] += 1
            title = f"{rng.choice(['feat', 'fix', 'refactor', 'perf'])}: {rng.choice(_WORDS)} {rng.choice(_WORDS)}"
            row = _commit(rng, p, merged, lines, pr_counter[0], title)
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
                    out.append(
                        _commit(
                            rng,
                            p,
                            revert_at,
                            lines,
                            pr_counter[0],
                            f'Revert "{title}"',
                        )
                    )
        if rng.uniform() < 0.04:  # honest people make trivial changes too
            pr_counter[0] += 1
            at = datetime.combine(START + timedelta(days=d), datetime.min.time(), UTC) + timedelta(
                hours=p.work_start - p.tz + 6
            )
            if at < end:
                out.append(
                    _commit(rng, p, at, int(rng.integers(1, 3)), pr_counter[0], "chore: fix typo")
                )
    if p.archetype == "camouflage":
        weeks = n_days // 7
        for w in range(weeks):
            for _ in range(int(rng.poisson(p.extra["trivial_per_week"]))):
                at = datetime.combine(
                    START + timedelta(days=7 * w + int(rng.integers(0, 5))),
                    datetime.min.time(),
                    UTC,
                ) + timedelta(hours=float(rng.uniform(9, 18) - p.tz))
                if at >= end:
                    continue
                pr_counter[0] += 1
                title = str(
                    rng.choice(
                        [
                            "style: whitespace",
                            "chore: bump lockfile",
                            "docs: comment",
                            "chore: reformat",
                        ]
                    )
                )
                out.append(
                    _commit(
                        rng,
                        p,
                        at,
                        int(rng.integers(1, 4)),
                        pr_counter[0],
                        f"{title} #{pr_counter[0]}",
                    )
                )
                if rng.uniform() < 0.2 and at + timedelta(days=2) < end:
                    pr_counter[0] += 1
                    out.append(
                        _commit(
                            rng,
                            p,
                            at + timedelta(days=2),
                            1,
                            pr_counter[0],
                            f'Revert "{title} #{pr_counter[0] - 1}"',
                        )
                    )
    return out


def _commit(
    rng: np.random.Generator, p: Person, merged: datetime, lines: int, number: int, title: str
) -> dict[str, object]:
    deleted = int(lines * rng.uniform(0, 0.5)) if lines > 3 else 0
    offset = timezone_str(p.tz)
    local = merged + timedelta(hours=p.tz)
    return {
        "merged_at": local.strftime("%Y-%m-%dT%H:%M:%S") + offset,
        "author": p.commit_identity,
        "lines_added": lines - deleted if lines > 3 else lines,
        "lines_deleted": deleted,
        "sha": "".join(f"{b:02x}" for b in rng.integers(0, 256, size=20, dtype=np.uint8).tolist()),
        "pr_id": str(number),
        "files_changed": int(1 + rng.poisson(2)),
        "message": f"{title} (#{number})" if not title.startswith("Revert") else title,
        "repo": f"acme/{p.team}",
    }


def timezone_str(hours: float) -> str:
    sign = "+" if hours >= 0 else "-"
    h = int(abs(hours))
    m = round((abs(hours) - h) * 60)
    return f"{sign}{h:02d}:{m:02d}"


def generate_org(
    accounts: int = 200,
    days: int = 63,
    seed: int = 0,
    maxxer_share: float = 0.08,
    *,
    quota: float | None = None,
    shock: bool = False,
    family: Family = Family(),
) -> GeneratedOrg:
    """Draw one synthetic organisation. Deterministic per argument set.

    `quota` (weekly tokens) adds quota hitters who top their week up to just over it; `shock`
    multiplies everybody's usage by U(1.3, 2) from one week on (a new model, a mandate).
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    people = _people(rng, accounts, maxxer_share, quota, family)
    for p in people:
        if p.archetype == "quota-hitter" and quota is not None:
            p.extra["quota"] = quota
        if p.archetype == "new-joiner":
            p.start_day = int(rng.integers(days // 3, max(days // 2, days // 3 + 1)))
        if p.archetype == "on-leave":
            length = int(rng.integers(7, 29))
            start = int(rng.integers(0, max(days - length, 1)))
            p.leave = (start, start + length)
    rows = _Rows()
    merges: list[dict[str, object]] = []
    session_counter = [0]
    pr_counter = [1000]
    for p in people:
        active: list[int] = []
        _usage_for(rng, p, days, rows, active, session_counter, family)
        merges += _merges_for(rng, p, people, days, active, pr_counter)
    # A CI service account: cron usage, no human behind it (must be excluded, never flagged).
    ci_ts = np.concatenate(
        [
            datetime.combine(START + timedelta(days=d), datetime.min.time(), UTC).timestamp()
            + np.arange(0, DAY_S, 1800.0)
            for d in range(days)
        ]
    )
    rows.add(
        "ci-bot@acme.example",
        ci_ts,
        np.full(ci_ts.size, 40_000.0),
        np.full(ci_ts.size, 800.0),
        0.9,
        0,
    )
    for d in range(0, days, 3):
        pr_counter[0] += 1
        merges.append(
            {
                "merged_at": (START + timedelta(days=d)).isoformat() + "T06:00:00Z",
                "author": "dependabot[bot]",
                "lines_added": 12,
                "lines_deleted": 12,
                "sha": "".join(
                    f"{b:02x}" for b in rng.integers(0, 256, size=20, dtype=np.uint8).tolist()
                ),
                "pr_id": str(pr_counter[0]),
                "files_changed": 1,
                "message": f"chore(deps): bump {rng.choice(_WORDS)} (#{pr_counter[0]})",
                "repo": "acme/platform",
            }
        )
    shock_at: tuple[float, float] | None = None
    if shock:
        week = int(rng.integers(max(days // 21, 1), max(days // 7 - days // 21, 2)))
        shock_start = datetime.combine(START + timedelta(days=7 * week), datetime.min.time(), UTC)
        shock_at = (shock_start.timestamp(), float(rng.uniform(1.3, 2.0)))
    usage = _usage_frame(rng, rows, shock_at)
    commits = pl.DataFrame(merges, schema=_COMMIT_SCHEMA).sort("merged_at", "sha")
    identities = _identities(people)
    truth = pl.DataFrame(
        {
            "account": [p.account for p in people],
            "archetype": [p.archetype for p in people],
            "is_maxxer": [p.is_maxxer for p in people],
            "team": [p.team for p in people],
            "role": [p.role for p in people],
            "quota": [p.extra.get("quota") for p in people],
        }
    ).sort("account")
    inflation = pl.DataFrame(
        {"account": [p.account for p in people], "inflation": [_inflation(p) for p in people]},
        schema={"account": pl.String, "inflation": pl.Float64},
    ).sort("account")
    return GeneratedOrg(usage, commits, identities, truth, inflation)


def _inflation(p: Person) -> float | None:
    """The token multiple a tactic adds over the person's honest level (None for honest people
    and for tactics that move tokens around rather than multiply them)."""
    if not p.is_maxxer:
        return None
    for key in ("loop_mult", "swarm_mult", "pad_mult", "drip_to"):
        if key in p.extra:
            return round(p.extra[key], 3)
    return round(p.token_mult, 3) if p.token_mult != 1.0 else None


_COMMIT_SCHEMA: Final = {
    "merged_at": pl.String,
    "author": pl.String,
    "lines_added": pl.Int64,
    "lines_deleted": pl.Int64,
    "sha": pl.String,
    "pr_id": pl.String,
    "files_changed": pl.Int64,
    "message": pl.String,
    "repo": pl.String,
}


def _usage_frame(
    rng: np.random.Generator, rows: _Rows, shock_at: tuple[float, float] | None = None
) -> pl.DataFrame:
    ts = np.concatenate(rows.ts)
    prompt = np.concatenate(rows.prompt)
    output = np.concatenate(rows.output)
    if shock_at is not None:
        # An org-wide shift: everyone uses more from this week on, for reasons of their own.
        scale = np.where(ts >= shock_at[0], shock_at[1], 1.0)
        prompt = np.round(prompt * scale)
        output = np.round(output * scale)
    output = output.astype(np.int64)
    cache_share = np.concatenate(rows.cache_share)
    session = np.concatenate(rows.session)
    account = np.repeat(np.array(rows.account, dtype=object), rows.count)
    cache_read = np.round(prompt * cache_share).astype(np.int64)
    cache_write = np.round(prompt * np.minimum(0.05, 1 - cache_share)).astype(np.int64)
    input_tokens = np.maximum(prompt.astype(np.int64) - cache_read - cache_write, 0)
    cost = (
        input_tokens * _PRICE_PER_MTOK["input"]
        + output * _PRICE_PER_MTOK["output"]
        + cache_read * _PRICE_PER_MTOK["cache_read"]
        + cache_write * _PRICE_PER_MTOK["cache_write"]
    ) / 1e6
    ids = rng.integers(0, 2**62, size=ts.size)
    df = pl.DataFrame(
        {
            "timestamp": (ts * 1e6).astype(np.int64),
            "account": account.tolist(),
            "input_tokens": input_tokens,
            "output_tokens": output,
            "cache_read_tokens": cache_read,
            "cache_write_tokens": cache_write,
            "model": "claude-sonnet-4-5",
            "cost_usd": np.round(cost, 6),
            "request_id": ids,
            "session_id": session,
        }
    ).with_columns(
        pl.col("timestamp")
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
        pl.format("req_{}", pl.col("request_id")).alias("request_id"),
        pl.format("ses_{}", pl.col("session_id")).alias("session_id"),
    )
    # Exports overlap: about 0.5 % of requests appear twice; a duplicate request_id counts once.
    dupes = df.filter(pl.Series(rng.uniform(size=df.height) < 0.005))
    return pl.concat([df, dupes]).sort("timestamp", "account", "request_id")


def _identities(people: list[Person]) -> pl.DataFrame:
    rows = []
    for p in people:
        rows.append((p.account, p.account, p.team, p.role))
        rows.append((p.login, p.account, p.team, p.role))
        rows.append((f"{p.gh_id}+{p.login}@users.noreply.github.com", p.account, p.team, p.role))
        if p.personal_email:
            rows.append((p.personal_email, p.account, p.team, p.role))
    rows.append(("ci-bot@acme.example", "ci-bot@acme.example", "platform", "bot"))
    return pl.DataFrame(rows, schema=["alias", "account", "team", "role"], orient="row").sort(
        "account", "alias"
    )


def write_org(
    org: GeneratedOrg, outdir: Path, *, fmt: str = "csv", compress: bool = False
) -> list[Path]:
    """Write usage, commits, identities and truth files; returns the paths written."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("usage", org.usage), ("commits", org.commits)):
        if fmt == "parquet":
            path = outdir / f"{name}.parquet"
            frame.write_parquet(path, compression="zstd", statistics=False)
        else:
            path = outdir / (f"{name}.csv.gz" if compress else f"{name}.csv")
            if compress:
                import gzip

                data = frame.write_csv(line_terminator="\n").encode()
                with gzip.GzipFile(path, "wb", mtime=0) as fh:
                    fh.write(data)
            else:
                frame.write_csv(path, line_terminator="\n")
        written.append(path)
    for name, frame in (("identities", org.identities), ("truth", org.truth)):
        path = outdir / f"{name}.csv"
        frame.write_csv(path, line_terminator="\n")
        written.append(path)
    return written
