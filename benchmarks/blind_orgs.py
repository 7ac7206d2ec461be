"""Detection quality on a third family of organisations, generated blind.

`detection.py` measures the audit on organisations from `tokenaudit.synthetic.simulate` and
`tokenaudit.synthetic.families`, both written alongside the checks. This benchmark's generator
was written from a description of the real world only, without reading tokenaudit's code,
tests or its other generators, so that its organisations cannot quietly share the detector's
assumptions. One deliberate exception: after reading README's overview, half of the CI jobs and
half of the identical-prompt loops fix their output length too, so that identical request sizes
are tested on honest scheduled jobs as well as on padders.

`generate(seed, scenario, n_accounts, out_dir)` writes usage.csv, commits.csv, identities.csv,
truth.csv (who is honest, archetype, tactic, drawn and realised inflation) and meta.json. What an
organisation holds, each drawn per seed:

- honest people: ordinary engineers in teams of 4–15 with a role each; reviewers (leads: few
  merges, little output), researchers (more tokens, few merges), light and heavy interactive
  users; a spread of log tokens per day of 0.5–1.2 across people; time zones UTC−8 to +9,
  vacations, part-timers, new joiners, people with a habit of many 1–3 line changes, model
  switchers, on-call night bursts; an org-wide holiday week and a push week; one agent-heavy team
  and one team that merges in releases;
- honest agent users: overnight runs, all-day agents, fleets of 3–10 sessions that ship more,
  adopters whose usage grows ×3–10 from a day in the period; CI jobs under a person's key every
  10–60 min, all day (weekends and vacations too) or in working hours;
- tactics, each at ×2–100 drawn log-uniform: scripted loops (identical sizes, or jittered
  ±5–20 %), plain padding in the person's own style, swarms of idle agents (5–20 sessions, high
  cache, little output), padding with trivial docs/typo merges, intermittent padding (25–60 % of
  the weeks), padding before a weekly leaderboard snapshot, and drip-feeding at ×1.3–2.

Usage is thinned to about 150,000 rows per organisation of 200 accounts and 9 weeks (the budget
scales with accounts and days): the longest machine sessions (agent runs, loops, CI jobs) are
aggregated first, keeping their tokens, which spaces long agent runs and loops 15–30 minutes
apart in heavy organisations. People's own requests are never thinned.

Scenarios: `honest` (nobody pads; in half the organisations each person has about a 30–60 %
chance of using agents and 8–15 % of running a CI job under their key), `mixed` (5–12 %
tokenmaxxers), `launch` (a leaderboard launches on day 21–40 and 8–15 % pad from then on, 30–60 %
of them from one team; honest adopters start within ±7 days of the launch; scanned without
`--change-date` and, as `launch+date`, with the right one). Each organisation is scanned with
`python -m tokenaudit scan` (`--workers 2`: two at a time, never more). Per scenario it prints the
organisations (size, rows, thinning, spread, agent share, flagged) and the mean and worst
organisation (recalls also pooled over organisations) of:

- P(≥ 1 honest `suspicious`), honest and honest agent users `suspicious`, the share of honest
  people in `review`; the false discovery proportion of `suspicious` and of `review` or above;
- recall of `suspicious` and of `review` or above per tactic at a drawn ×3 and above, of plain
  padding at ×10 and above, per loop style, and of drip-feeding;
- average precision of `score` over every tactic but drip-feeding, and the naive tokens per
  merged line baseline's;

then, per run and check, the share of honest people's p-values at or below 0.1, 0.01, 0.001
and 1e-4 (a check's null holds for honest people where the share is at most the level), honest
flags by kind, every honest account flagged and the first 30 missed tokenmaxxers per run. With
`--daily`, each organisation is also scanned from its usage summed per account and UTC day
(the vendors' admin-API shape: no request timing), as run `<scenario>+daily`. The text also
goes to `--out`.

    python benchmarks/blind_orgs.py                # 4 organisations per scenario, 200 accounts
    python benchmarks/blind_orgs.py --orgs 10 --workers 2
    python benchmarks/blind_orgs.py --orgs 2 --accounts 60 --scenarios honest mixed
    python benchmarks/blind_orgs.py --orgs 12 --scenarios honest --seed 555 --daily
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

#: The repository's root (benchmarks/..), for the default `--out`.
ROOT = Path(__file__).resolve().parent.parent
DAY = 86400.0
ROW_BUDGET_PER_200 = 145_000  # rows per 200 accounts x 9 weeks (scaled by size and length)

ROLES = ["backend", "frontend", "data", "sre", "mobile", "lead", "qa", "research"]
ROLE_SHARE = np.array([0.26, 0.18, 0.10, 0.09, 0.08, 0.10, 0.10, 0.09])
ROLE_MU = {
    "backend": 0.0,
    "frontend": -0.05,
    "data": 0.15,
    "sre": -0.3,
    "mobile": -0.15,
    "lead": -0.45,
    "qa": -0.6,
    "research": 0.35,
}
ROLE_LAM = {
    "backend": 0.8,
    "frontend": 1.0,
    "data": 0.5,
    "sre": 0.7,
    "mobile": 0.6,
    "lead": 0.25,
    "qa": 0.45,
    "research": 0.2,
}
ROLE_LINES = {
    "backend": 80,
    "frontend": 60,
    "data": 70,
    "sre": 25,
    "mobile": 70,
    "lead": 40,
    "qa": 45,
    "research": 120,
}
MODELS = {  # $ per million: input, output, cache read, cache write
    "claude-sonnet-4-5": (3.0, 15.0, 0.30, 3.75),
    "claude-opus-4-1": (15.0, 75.0, 1.50, 18.75),
    "claude-haiku-4-5": (1.0, 5.0, 0.10, 1.25),
    "gpt-5": (1.25, 10.0, 0.125, 1.25),
}
MODEL_NAMES = list(MODELS)
AGENT_KINDS = ("overnight", "allday", "fleet", "adopter", "ci")
TACTICS = ("loop", "plain", "swarm", "trivial", "intermittent", "snapshot", "drip")

FIRST = [
    "ana", "ben", "carla", "dev", "emma", "farid", "gita", "hugo", "ines", "jon", "kai", "lena",
    "mona", "nils", "omar", "pia", "quinn", "rui", "sara", "tom", "uma", "vik", "wen", "xav",
    "yara", "zoe", "ali", "bea", "chen", "dana", "eli", "fay", "gus", "hana", "ivan", "jade",
    "ken", "liv", "max", "nora", "oscar", "priya", "ravi", "sofia", "tariq", "ulla", "vera",
    "will", "yusuf", "zara", "aiko", "bram", "cyra", "dario", "elif", "finn", "gael", "hiro",
    "ilse", "joao", "kemal", "lucia", "mateo", "nadia", "ola", "petra", "rosa", "sven", "tao",
]  # fmt: skip
LAST = [
    "smith", "garcia", "kim", "mueller", "rossi", "novak", "silva", "tanaka", "okafor", "patel",
    "cohen", "dubois", "jensen", "kowalski", "lopez", "nguyen", "olsen", "perez", "quist", "ramos",
    "sato", "torres", "ueda", "vargas", "weber", "xu", "yilmaz", "zhang", "berg", "costa", "diaz",
    "eriksen", "fischer", "gomez", "hansen", "ito", "khan", "larsen", "moreau", "nakamura",
    "ortiz", "park", "reyes", "schmidt", "wagner", "ali", "brown", "chen", "evans", "ferreira",
    "grant", "haddad", "ivanova", "jones",
]  # fmt: skip
WORDS_VERB = [
    "add", "fix", "refactor", "remove", "update", "handle", "support", "migrate", "rework",
    "speed-up",
]  # fmt: skip
WORDS_OBJ = [
    "pagination", "retries", "auth-flow", "cache-layer", "schema", "billing-export",
    "search-index", "feature-flag", "webhook", "rate-limiter", "onboarding", "metrics-dashboard",
    "retry-queue", "sync-job", "parser", "config-loader", "error-page", "checkout-form",
    "image-upload", "alerts", "deploy-script", "test-fixtures", "data-pipeline", "csv-export",
    "push-notifications",
]  # fmt: skip
TRIVIAL_MSG = [
    "docs: fix typo in README",
    "docs: fix typo",
    "chore: whitespace",
    "docs: update comment",
    "chore: rename variable",
    "docs: reword sentence",
    "style: format",
    "chore: bump version",
    "docs: fix link",
    "chore: remove unused import",
]


# ----------------------------------------------------------------------------------------------
@dataclass
class Person:
    idx: int
    account: str
    login: str
    team: int
    role: str
    tz: int
    h0: float
    hlen: float
    z: float
    base: float  # honest interactive tokens per active local day
    lam: float  # merged changes per active day at the reference usage
    archetype: str = "ordinary"
    addons: list = field(default_factory=list)
    agent_kind: str = ""
    honest: bool = True
    tactic: str = ""
    inflation: float = 1.0
    pad_style: str = ""
    pad_from: int = 0
    join_day: int = 0
    vacation: tuple = ()
    part_days: tuple = ()  # weekdays worked by part-timers (0=Mon)
    weekend_p: float = 0.05
    cache: float = 0.6
    outsh: float = 0.12
    wsh: float = 0.2
    model: str = "claude-sonnet-4-5"
    sd_day: float = 0.5
    n_req: float = 8.0
    lag_mean: float = 2.0
    triv_share: float = 0.05
    lines_med: float = 60.0
    # agent parameters
    ag_nights: float = 0.0
    ag_dur: tuple = (1.0, 8.0)
    ag_mult: float = 1.0
    fleet_k: int = 0
    adopt_day: int = -1
    adopt_use: float = 1.0
    adopt_out: float = 1.0
    out_boost: float = 1.0
    ci_period: int = 0
    ci_allday: bool = True
    ci_tokens: int = 0
    ci_out_fixed: bool = True
    ci_start: int = 0
    loop_out_fixed: bool = False
    switch_day: int = -1
    switch_mult: float = 1.0
    switch_model: str = ""
    oncall_weeks: tuple = ()
    # bookkeeping
    honest_tokens: float = 0.0
    pad_tokens: float = 0.0
    honest_tokens_padwin: float = 0.0
    elasticity: float = 0.3


class Rows:
    """Accumulates usage rows as numpy chunks."""

    def __init__(self):
        self.cols = {k: [] for k in ("t", "acct", "inp", "out", "cr", "cw", "model", "sess")}

    def add(self, t, acct, sizes, cache, outsh, wsh, model, sess, out_override=None):
        t = np.asarray(t, float)
        sizes = np.maximum(np.asarray(sizes, float), 20.0)
        n = t.size
        cache = np.broadcast_to(np.asarray(cache, float), (n,))
        cr = np.floor(sizes * cache)
        fresh = sizes - cr
        fin = fresh / (1.0 + outsh)
        out = np.floor(fresh - fin) if out_override is None else np.asarray(out_override, float)
        cw = np.floor(fin * wsh)
        inp = np.maximum(np.floor(fin) - cw, 1.0)
        c = self.cols
        c["t"].append(t)
        c["acct"].append(np.full(n, acct, np.int32))
        c["inp"].append(inp)
        c["out"].append(np.maximum(out, 0.0))
        c["cr"].append(cr)
        c["cw"].append(cw)
        c["model"].append(np.full(n, model, np.int16))
        c["sess"].append(np.full(n, sess, np.int64) if np.ndim(sess) == 0 else np.asarray(sess))

    def n(self):
        return sum(a.size for a in self.cols["t"])


# ----------------------------------------------------------------------------------------------
def _lu(rng, a, b):
    """log-uniform draw in [a, b]"""
    return float(math.exp(rng.uniform(math.log(a), math.log(b))))


def generate(seed: int, scenario: str, n_accounts: int, out_dir: str) -> dict:
    import polars as pl

    assert scenario in ("honest", "mixed", "launch")
    ss = np.random.SeedSequence([int(seed), zlib.crc32(scenario.encode()), int(n_accounts)])
    rng = np.random.default_rng(ss)
    os.makedirs(out_dir, exist_ok=True)

    # ---------------- organisation-level draws
    n_days = int(rng.integers(56, 71))
    start = date(2026, 1, 5) + timedelta(days=7 * int(rng.integers(0, 30)))  # a Monday
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
    dow = np.array([(start + timedelta(days=d)).weekday() for d in range(n_days)])
    org_sd = float(rng.uniform(0.5, 1.2))  # honest log tokens/day spread across people
    mu_org = math.log(_lu(rng, 1.0e6, 8.0e6))
    elastic = math.log2(rng.uniform(1.1, 1.5))
    lam_org = _lu(rng, 0.6, 1.6)
    revert_rate = rng.uniform(0.005, 0.03)
    b_u, b_o = rng.uniform(0.2, 0.5), rng.uniform(0.3, 0.6)
    day_sd = rng.uniform(0.35, 0.8)
    high_agent = scenario == "honest" and rng.random() < 0.5
    if scenario == "honest":
        agent_share = rng.uniform(0.30, 0.60) if high_agent else rng.uniform(0.10, 0.30)
        ci_share = rng.uniform(0.08, 0.15) if high_agent else rng.uniform(0.02, 0.08)
    else:
        agent_share = rng.uniform(0.10, 0.35)
        ci_share = rng.uniform(0.02, 0.08)
    # org-wide shocks
    weeks = n_days // 7
    hol_week = int(rng.integers(1, weeks))
    push_week = int(rng.choice([w for w in range(1, weeks) if w != hol_week]))
    snapshot_dow = int(rng.integers(1, 6))  # leaderboard snapshot Tue..Sat -> padded Mon..Fri
    launch_day = int(rng.integers(21, 41)) if scenario == "launch" else -1

    day_mult = np.ones(n_days)
    act_mult = np.ones(n_days)
    day_mult[hol_week * 7 : hol_week * 7 + 7] = rng.uniform(0.2, 0.45)
    act_mult[hol_week * 7 : hol_week * 7 + 7] = rng.uniform(0.2, 0.4)
    push_x = rng.uniform(1.7, 2.3)
    day_mult[push_week * 7 : push_week * 7 + 7] *= push_x

    # ---------------- people, teams, roles
    n = int(n_accounts)
    sizes = []
    left = n
    while left > 0:
        s = int(rng.integers(4, 16))
        if left - s < 4 and left - s != 0:
            s = left if left <= 15 else left - 4
        sizes.append(s)
        left -= s
    n_teams = len(sizes)
    team_role = rng.choice(ROLES, size=n_teams, p=ROLE_SHARE)
    team_eff = rng.normal(0, 0.25, n_teams)
    agent_team = int(rng.integers(n_teams))
    batch_team = int((agent_team + 1 + rng.integers(n_teams - 1)) % n_teams) if n_teams > 1 else -1
    team_eff[agent_team] += rng.uniform(0.2, 0.6)
    team_lines = np.exp(rng.normal(0, 0.3, n_teams))
    team_repo = [f"acme/{r}-{k}" for k, r in enumerate(team_role)]
    release_period = int(rng.choice([7, 14]))
    release_dow = int(rng.integers(0, 5))

    used = set()
    people: list[Person] = []
    k = 0
    for tm, s in enumerate(sizes):
        for j in range(s):
            if j == 0 and s >= 5:
                role = "lead"
            elif rng.random() < 0.75:
                role = str(team_role[tm]) if team_role[tm] != "lead" else "backend"
            else:
                role = str(rng.choice(ROLES, p=ROLE_SHARE))
            while True:
                fn, ln = rng.choice(FIRST), rng.choice(LAST)
                acct = f"{fn}.{ln}@acme.example"
                if acct not in used:
                    used.add(acct)
                    break
            z = float(rng.normal())
            tz = int(np.clip(np.round(rng.normal(0.5, 4.5)), -8, 9))
            base = math.exp(
                mu_org + ROLE_MU[role] + team_eff[tm] + b_u * z + rng.normal(0, org_sd * 0.85)
            )
            lam = lam_org * ROLE_LAM[role] * math.exp(b_o * z + rng.normal(0, 0.35))
            p = Person(
                idx=k,
                account=acct,
                login=f"{fn[0]}{ln}{k}",
                team=tm,
                role=role,
                tz=tz,
                h0=rng.uniform(7, 11),
                hlen=rng.uniform(7, 10),
                z=z,
                base=base,
                lam=lam,
            )
            p.elasticity = max(0.05, elastic + rng.normal(0, 0.05))
            p.weekend_p = _lu(rng, 0.01, 0.25)
            p.cache = rng.uniform(0.2, 0.88)
            p.outsh = rng.uniform(0.04, 0.25)
            p.wsh = rng.uniform(0.05, 0.35)
            p.model = str(rng.choice(MODEL_NAMES, p=[0.6, 0.2, 0.1, 0.1]))
            p.sd_day = day_sd * rng.uniform(0.7, 1.3)
            p.lag_mean = rng.uniform(0.5, 5.0)
            p.triv_share = (
                float(rng.beta(1.2, 20)) if rng.random() > 0.06 else rng.uniform(0.15, 0.35)
            )
            if p.triv_share >= 0.15:
                p.addons.append("small-PRs")  # an honest habit of many 1-3 line changes
            p.lines_med = ROLE_LINES[role] * team_lines[tm] * math.exp(rng.normal(0, 0.3))
            if rng.random() < 0.08:
                p.join_day = int(rng.integers(7, 36))
            if rng.random() < rng.uniform(0.3, 0.6):
                L = int(rng.integers(7, 15))
                s0 = int(rng.integers(0, max(1, n_days - L)))
                p.vacation = (s0, s0 + L)
            if rng.random() < 0.05:
                p.part_days = tuple(
                    sorted(rng.choice(5, size=int(rng.integers(2, 5)), replace=False))
                )
                p.addons.append("part-time")
            people.append(p)
            k += 1

    # ---------------- honest archetypes
    ref = {r: math.exp(mu_org + ROLE_MU[r]) for r in ROLES}
    for p in people:
        u = rng.random()
        if p.role == "lead" and rng.random() < 0.8:
            p.archetype = "reviewer"
            p.lam *= rng.uniform(0.1, 0.35)
            p.outsh = rng.uniform(0.02, 0.08)
        elif p.role == "research" and rng.random() < 0.8:
            p.archetype = "researcher"
            p.base *= rng.uniform(1.0, 3.0)
            p.lam *= rng.uniform(0.1, 0.35)
            p.outsh = rng.uniform(0.01, 0.05)
            p.cache = rng.uniform(0.6, 0.92)
        elif u < 0.15:
            p.archetype = "light"
            p.base *= rng.uniform(0.08, 0.3)
        elif u < 0.27:
            p.archetype = "heavy-interactive"
            p.base *= rng.uniform(2.5, 6.0)
        p.n_req = float(np.clip(2 + 5 * (p.base / ref[p.role]) ** 0.3, 2, 16))
    # agent users (honest); the agent-heavy team gets more
    for p in people:
        if p.archetype in ("reviewer",) and rng.random() < 0.7:
            continue
        pr = agent_share * (2.0 if p.team == agent_team else 1.0)
        if rng.random() < min(pr, 0.9):
            kind = str(
                rng.choice(["overnight", "allday", "fleet", "adopter"], p=[0.35, 0.3, 0.15, 0.2])
            )
            setup_agent(rng, p, kind, n_days, launch_day=-1)
    for p in people:
        if rng.random() < ci_share:
            p.addons.append("ci")
            if not p.agent_kind:
                p.agent_kind = "ci"
            p.ci_allday = rng.random() < 0.6
            p.ci_period = int(rng.choice([20, 30, 60]) if p.ci_allday else rng.choice([10, 15, 30]))
            p.ci_tokens = int(_lu(rng, 800, 12000))
            p.ci_out_fixed = rng.random() < 0.5
            p.addons[-1] = "ci(fixed-out)" if p.ci_out_fixed else "ci(varied-out)"
            p.ci_start = int(rng.integers(0, n_days // 2)) if rng.random() < 0.4 else 0
        if p.role in ("sre", "backend") and rng.random() < 0.35:
            p.addons.append("on-call")
            per = int(rng.integers(4, 9))
            off = int(rng.integers(per))
            p.oncall_weeks = tuple(w for w in range(weeks + 1) if w % per == off)
        if rng.random() < 0.15:
            p.addons.append("switcher")
            p.switch_day = int(rng.integers(10, n_days - 10))
            p.switch_mult = _lu(rng, 0.6, 2.2)
            p.switch_model = str(rng.choice([m for m in MODEL_NAMES if m != p.model]))
    # launch-timed honest adopters
    if scenario == "launch":
        cand = [p for p in people if not p.agent_kind and p.archetype != "reviewer"]
        m = max(2, round(n * rng.uniform(0.04, 0.10)))
        for i in rng.choice(len(cand), size=min(m, len(cand)), replace=False):
            setup_agent(rng, cand[i], "adopter", n_days, launch_day=launch_day)
            cand[i].addons.append("launch-adopter")

    # ---------------- tokenmaxxers
    if scenario != "honest":
        share = rng.uniform(0.05, 0.12) if scenario == "mixed" else rng.uniform(0.08, 0.15)
        m = max(2, round(n * share))
        pool = [p for p in people if p.archetype not in ("reviewer",) and not p.ci_period]
        if scenario == "launch":
            # cluster: 30-60 % from one team
            ct = int(rng.integers(n_teams))
            inteam = [p for p in pool if p.team == ct]
            k_team = min(len(inteam), round(m * rng.uniform(0.3, 0.6)))
            chosen = list(rng.choice(len(inteam), size=k_team, replace=False)) if k_team else []
            picks = [inteam[i] for i in chosen]
            rest = [p for p in pool if p not in picks]
            picks += [rest[i] for i in rng.choice(len(rest), size=m - len(picks), replace=False)]
        else:
            picks = [pool[i] for i in rng.choice(len(pool), size=m, replace=False)]
        for p in picks:
            p.honest = False
            p.tactic = str(rng.choice(TACTICS, p=[0.18, 0.17, 0.15, 0.15, 0.12, 0.11, 0.12]))
            if p.tactic == "drip":
                p.inflation = rng.uniform(1.3, 2.0)
                p.pad_style = "plain"
            else:
                p.inflation = _lu(rng, 2.0, 100.0)
                if p.tactic in ("intermittent", "snapshot"):
                    p.pad_style = str(rng.choice(["plain", "loop", "loopjit", "swarm"]))
                elif p.tactic == "loop":
                    p.pad_style = "loop" if rng.random() < 0.5 else "loopjit"
                elif p.tactic == "trivial":
                    p.pad_style = "plain"
                else:
                    p.pad_style = p.tactic
            p.pad_from = launch_day if scenario == "launch" else 0
            p.loop_out_fixed = bool(rng.random() < 0.5)  # identical loops: output length fixed too
            if p.agent_kind in ("adopter",) and p.adopt_day >= 0:
                # keep maxxers simple: no honest adoption besides the padding
                p.agent_kind, p.adopt_day, p.adopt_use, p.adopt_out = "", -1, 1.0, 1.0
    # calibrate the honest spread across people of log tokens per active day to org_sd:
    # shrink (or stretch) each person's expected level towards the org's mean
    E = []
    for p in people:
        e = 1.0
        if p.agent_kind == "overnight":
            e += p.ag_nights * p.ag_mult * (sum(p.ag_dur) / 2) / 8 * 5 / 7
        elif p.agent_kind == "allday":
            e += p.ag_mult * 2 * 2.5 / 8
        elif p.agent_kind == "fleet":
            e += 0.85 * p.fleet_k * 0.85 * p.ag_mult * 5 / 8
        elif p.agent_kind == "adopter" and p.adopt_day >= 0:
            fr = max(0.0, (n_days - p.adopt_day) / n_days)
            e = (1 - fr) + fr * p.adopt_use
        E.append(math.log(p.base * e))
    E = np.array(E)
    shrink = org_sd / max(float(np.std(E)), 1e-6)
    for p, e in zip(people, E, strict=True):
        p.base *= math.exp((shrink - 1.0) * (e - E.mean()))
        p.n_req = float(np.clip(2 + 5 * (p.base / ref[p.role]) ** 0.3, 2, 16))

    # intermittent weeks, snapshot skip weeks
    pad_weeks = {}
    for p in people:
        if not p.honest:
            w0 = p.pad_from // 7 if p.pad_from > 0 else 0
            avail = list(range(w0, weeks + 1))
            if p.tactic == "intermittent":
                kk = max(2, round(len(avail) * rng.uniform(0.25, 0.6)))
                pad_weeks[p.idx] = set(
                    int(x) for x in rng.choice(avail, size=min(kk, len(avail)), replace=False)
                )
            else:
                pad_weeks[p.idx] = set(avail)

    # ---------------- per person-day simulation
    rows = Rows()
    flex = []  # deferred (flexible) sessions: dicts
    changes = []  # (person, creation day, honest)
    sess_counter = [0]

    def new_sess():
        sess_counter[0] += 1
        return sess_counter[0]

    for p in people:
        for d in range(n_days):
            if d < p.join_day:
                continue
            wd = dow[d]
            on_vac = bool(p.vacation) and p.vacation[0] <= d < p.vacation[1]
            weekend = wd >= 5
            if p.part_days and wd not in p.part_days and not weekend:
                active = False
            elif weekend:
                active = rng.random() < p.weekend_p
            else:
                active = rng.random() < 0.93 * act_mult[d]
            if on_vac:
                active = False
            daystart = t0 + d * DAY - p.tz * 3600.0
            mult = day_mult[d]
            if p.switch_day >= 0 and d >= p.switch_day:
                mult *= p.switch_mult
                model = p.switch_model
            else:
                model = p.model
            mi = MODEL_NAMES.index(model)
            honest_day = 0.0
            agent_day = 0.0
            if active:
                noise = math.exp(rng.normal(0, p.sd_day))
                tok = p.base * mult * noise * (0.5 if weekend else 1.0)
                honest_day += tok
                nreq = max(1, rng.poisson(p.n_req * (0.5 if weekend else 1.0)))
                _interactive(rng, rows, p, daystart, tok, nreq, mi, new_sess)
                # agents
                agent_day = _agents(
                    rng, p, d, daystart, mult * noise**0.5, mi, flex, new_sess, weekend
                )
                honest_day += agent_day
            # on-call night bursts (can happen on any day of an on-call week, not on vacation)
            if p.oncall_weeks and (d // 7) in p.oncall_weeks and not on_vac and rng.random() < 0.35:
                tok = p.base * rng.uniform(0.3, 1.5)
                st = daystart + rng.uniform(0, 5) * 3600  # 0-5 h local
                nr = int(rng.integers(5, 20))
                t = st + np.cumsum(rng.exponential(150, nr))
                sz = tok / nr * np.exp(rng.normal(0, 0.6, nr))
                rows.add(t, p.idx, sz, p.cache, p.outsh, p.wsh, mi, new_sess())
                honest_day += tok
                if rng.random() < 0.3:
                    changes.append((p.idx, d, "hotfix"))
            # CI job under the person's key: every day incl. weekends and vacations
            if p.ci_period and d >= max(p.ci_start, p.join_day):
                per = p.ci_period * 60.0
                if p.ci_allday:
                    t = np.arange(t0 + d * DAY, t0 + (d + 1) * DAY, per)
                else:
                    t = np.arange(daystart + 6 * 3600, daystart + 20 * 3600, per)
                t = t + rng.uniform(0.2, 3.0, t.size)  # scheduler latency, seconds
                flex.append(
                    dict(kind="ci", p=p.idx, t=t, size=p.ci_tokens, model=mi, fixed=p.ci_out_fixed)
                )
            # merged work (honest part)
            if active:
                ref_u = ref[p.role] * (0.5 if weekend else 1.0)
                u_eff = honest_day
                boost = p.out_boost
                if p.adopt_day >= 0 and d >= p.adopt_day:
                    u_eff = honest_day / p.adopt_use  # adoption's output effect is adopt_out
                    boost *= p.adopt_out
                lam_d = p.lam * (max(u_eff, 1.0) / ref_u) ** p.elasticity * boost
                lam_d *= 0.4 if weekend else 1.0
                for _ in range(rng.poisson(min(lam_d, 8.0))):
                    changes.append((p.idx, d, "work"))
            p.honest_tokens += honest_day
            if not p.honest and d >= p.pad_from:
                p.honest_tokens_padwin += honest_day
            # padding
            if not p.honest and active and d >= p.pad_from and (d // 7) in pad_weeks[p.idx]:
                expected = p.base * mult * math.exp(p.sd_day**2 / 2) + agent_day
                if p.tactic == "snapshot":
                    if wd != (snapshot_dow - 1) % 7:
                        continue
                    pad = (p.inflation - 1) * expected * 5.0
                else:
                    pad = (p.inflation - 1) * expected
                pad *= math.exp(rng.normal(0, 0.3))
                p.pad_tokens += pad
                _padding(rng, rows, flex, p, d, daystart, pad, mi, new_sess)
                if p.tactic == "trivial":
                    for _ in range(rng.poisson(rng.uniform(0.3, 1.5))):
                        changes.append((p.idx, d, "trivial"))

    # ---------------- row budget: thin flexible (machine) sessions
    budget = ROW_BUDGET_PER_200 * (n / 200.0) * (n_days / 63.0)
    fixed_rows = rows.n()
    avail = max(budget - fixed_rows, 0.25 * budget)
    counts = np.array([len(f["t"]) if f["kind"] == "ci" else f["nreq"] for f in flex], float)
    cap = float(counts.max()) if counts.size else 0.0
    if counts.sum() > avail:  # water-filling: aggregate the longest sessions first
        lo, hi = 2.0, cap
        for _ in range(40):
            mid = (lo + hi) / 2
            if np.minimum(counts, mid).sum() > avail:
                hi = mid
            else:
                lo = mid
        cap = lo
    factor = float(counts.sum() / max(np.minimum(counts, cap).sum(), 1.0)) if counts.size else 1.0
    for f, c in zip(flex, counts, strict=True):
        _materialise(rng, rows, f, max(1.0, c / cap) if cap > 0 else 1.0, people)

    # ---------------- merged changes -> commits
    commits = _commits(
        rng,
        people,
        changes,
        n_days,
        t0,
        dow,
        revert_rate,
        batch_team,
        release_period,
        release_dow,
        team_repo,
    )

    # ---------------- write
    c = rows.cols
    t = np.concatenate(c["t"])
    acct = np.concatenate(c["acct"])
    inp, out = np.concatenate(c["inp"]).astype(np.int64), np.concatenate(c["out"]).astype(np.int64)
    cr, cw = np.concatenate(c["cr"]).astype(np.int64), np.concatenate(c["cw"]).astype(np.int64)
    mdl = np.concatenate(c["model"])
    sess = np.concatenate(c["sess"])
    keep = (t >= t0) & (t < t0 + n_days * DAY)
    t, acct, inp, out, cr, cw, mdl, sess = (a[keep] for a in (t, acct, inp, out, cr, cw, mdl, sess))
    order = np.lexsort((acct, t))
    t, acct, inp, out, cr, cw, mdl, sess = (
        a[order] for a in (t, acct, inp, out, cr, cw, mdl, sess)
    )
    price = np.array([MODELS[m] for m in MODEL_NAMES])[mdl]
    cost = (inp * price[:, 0] + out * price[:, 1] + cr * price[:, 2] + cw * price[:, 3]) / 1e6
    tag = f"{zlib.crc32(f'{seed}{scenario}{n}'.encode()):08x}"
    ts_ms = np.round(t * 1000).astype(np.int64)
    names = np.array([p.account for p in people])
    usage = pl.DataFrame(
        {
            "timestamp": pl.Series(ts_ms)
            .cast(pl.Datetime("ms"))
            .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
            "account": names[acct],
            "input_tokens": inp,
            "output_tokens": out,
            "cache_read_tokens": cr,
            "cache_write_tokens": cw,
            "model": np.array(MODEL_NAMES)[mdl],
            "cost_usd": np.round(cost, 6),
            "request_id": [f"req_{tag}_{i:07d}" for i in range(t.size)],
            "session_id": [f"s_{tag}_{s:06d}" for s in sess],
        }
    )
    usage.write_csv(os.path.join(out_dir, "usage.csv"))
    pl.DataFrame(
        commits,
        schema=[
            "merged_at",
            "author",
            "lines_added",
            "lines_deleted",
            "sha",
            "pr_id",
            "files_changed",
            "message",
            "repo",
        ],
        orient="row",
    ).write_csv(os.path.join(out_dir, "commits.csv"))
    ident = []
    for p in people:
        ident.append((p.account, p.account, f"team-{p.team:02d}", p.role))
        ident.append((p.login, p.account, f"team-{p.team:02d}", p.role))
    pl.DataFrame(ident, schema=["alias", "account", "team", "role"], orient="row").write_csv(
        os.path.join(out_dir, "identities.csv")
    )
    # truth
    tok_by = np.bincount(acct, weights=(inp + out + cr + cw).astype(float), minlength=n)
    lines_by = np.zeros(n)
    nmerge = np.zeros(n)
    acc_idx = {p.account: p.idx for p in people}
    for row in commits:
        lines_by[acc_idx[row[1]]] += row[2]
        nmerge[acc_idx[row[1]]] += 1
    # realised honest spread of log tokens per active (UTC) day
    dayi = np.floor((t - t0) / DAY).astype(np.int64)
    key = acct.astype(np.int64) * 1000 + dayi
    uk = np.unique(key)
    act_days = np.bincount(uk // 1000, minlength=n)
    per_day = tok_by / np.maximum(act_days, 1)
    hmask = np.array([p.honest and act_days[p.idx] >= 5 for p in people])
    realised_sd = float(np.std(np.log(per_day[hmask]))) if hmask.sum() > 2 else float("nan")
    truth = []
    for p in people:
        honest_win = p.honest_tokens_padwin if p.pad_from > 0 else p.honest_tokens
        infl_overall = (p.honest_tokens + p.pad_tokens) / max(p.honest_tokens, 1.0)
        infl_win = (honest_win + p.pad_tokens) / max(honest_win, 1.0)
        truth.append(
            dict(
                account=p.account,
                team=f"team-{p.team:02d}",
                role=p.role,
                archetype=p.archetype,
                addons=";".join(p.addons),
                agent_kind=p.agent_kind,
                honest=p.honest,
                tactic=p.tactic,
                pad_style=p.pad_style
                + (
                    "(fixed-out)"
                    if p.pad_style == "loop" and p.loop_out_fixed
                    else "(varied-out)"
                    if p.pad_style == "loop"
                    else ""
                ),
                inflation=round(p.inflation, 3),
                inflation_window=round(infl_win, 3),
                inflation_overall=round(infl_overall, 3),
                pad_from=p.pad_from if not p.honest else -1,
                adopt_day=p.adopt_day,
                adopt_use=round(p.adopt_use, 2),
                adopt_out=round(p.adopt_out, 2),
                join_day=p.join_day,
                tz=p.tz,
                tokens=int(tok_by[p.idx]),
                merged=int(nmerge[p.idx]),
                merged_lines=int(lines_by[p.idx]),
            )
        )
    pl.DataFrame(truth).write_csv(os.path.join(out_dir, "truth.csv"))
    meta = dict(
        seed=seed,
        scenario=scenario,
        n_accounts=n,
        n_days=n_days,
        start=str(start),
        launch_date=str(start + timedelta(days=launch_day)) if launch_day >= 0 else None,
        launch_day=launch_day,
        rows=int(t.size),
        commits=len(commits),
        thinning=round(factor, 2),
        session_cap=round(cap, 1),
        org_sd=round(org_sd, 2),
        realised_sd=round(realised_sd, 2),
        elasticity=round(elastic, 3),
        agent_share=round(agent_share, 2),
        high_agent=high_agent,
        hol_week=hol_week,
        push_week=push_week,
        snapshot_dow=snapshot_dow,
        n_teams=n_teams,
        agent_team=f"team-{agent_team:02d}",
        batch_team=f"team-{batch_team:02d}",
    )
    with open(os.path.join(out_dir, "meta.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    return meta


def setup_agent(rng, p: Person, kind: str, n_days: int, launch_day: int):
    p.agent_kind = kind
    if kind == "overnight":
        p.ag_nights = rng.uniform(0.0, 1.0)
        lo = rng.uniform(1, 10)
        p.ag_dur = (lo, min(24.0, lo + rng.uniform(1, 14)))
        p.ag_mult = _lu(rng, 0.5, 4.0)  # tokens per run-hour relative to base/8
    elif kind == "allday":
        p.ag_mult = _lu(rng, 0.5, 4.0)
    elif kind == "fleet":
        p.fleet_k = int(rng.integers(3, 11))
        p.ag_mult = _lu(rng, 0.3, 1.5)  # per session
        p.out_boost = rng.uniform(1.3, 2.2)  # fleets ship a lot
    elif kind == "adopter":
        if launch_day >= 0:
            p.adopt_day = int(np.clip(launch_day + rng.integers(-7, 8), 1, n_days - 7))
        else:
            p.adopt_day = int(rng.integers(10, n_days - 14))
        p.adopt_use = rng.uniform(3.0, 10.0)
        p.adopt_out = rng.uniform(1.3, 3.0)
    if kind in ("overnight", "allday", "fleet"):
        p.cache = rng.uniform(0.7, 0.95)
        p.outsh = rng.uniform(0.05, 0.25)


def _interactive(rng, rows, p, daystart, tok, nreq, mi, new_sess):
    nsess = int(min(nreq, rng.integers(1, 5)))
    split = rng.multinomial(nreq, np.ones(nsess) / nsess)
    w = np.exp(rng.normal(0, 0.8, nreq))
    sizes = tok * w / w.sum()
    i = 0
    for k in split:
        if k == 0:
            continue
        st = daystart + (p.h0 + rng.uniform(0, p.hlen - 0.5)) * 3600
        t = st + np.cumsum(rng.exponential(rng.uniform(60, 400), k))
        rows.add(
            t,
            p.idx,
            sizes[i : i + k],
            np.clip(p.cache + rng.normal(0, 0.05, k), 0, 0.97),
            p.outsh * np.exp(rng.normal(0, 0.3, k)),
            p.wsh,
            mi,
            new_sess(),
        )
        i += k


def _agents(rng, p, d, daystart, mult, mi, flex, new_sess, weekend):
    """Plans honest agent sessions for an active day; returns their tokens."""
    tot = 0.0
    hour_tok = p.base / 8.0 * mult
    kind = p.agent_kind
    if kind == "adopter" and p.adopt_day >= 0 and d >= p.adopt_day:
        # adoption: usage x adopt_use overall, realised as all-day agent sessions
        extra = p.base * mult * (p.adopt_use - 1.0)
        nsess = int(rng.integers(1, 4))
        for _ in range(nsess):
            dur = rng.uniform(1, 5)
            st = daystart + (p.h0 + rng.uniform(0, max(0.5, p.hlen - dur))) * 3600
            flex.append(_agent_sess(rng, p, st, dur, extra / nsess, mi, new_sess()))
        tot += extra
    elif kind == "overnight" and not weekend and rng.random() < p.ag_nights:
        dur = rng.uniform(*p.ag_dur)
        st = daystart + (p.h0 + p.hlen + rng.uniform(0, 2)) * 3600
        tk = hour_tok * p.ag_mult * dur
        flex.append(_agent_sess(rng, p, st, dur, tk, mi, new_sess()))
        tot += tk
    elif kind == "allday" and (not weekend or rng.random() < 0.3):
        for _ in range(int(rng.integers(1, 4))):
            dur = rng.uniform(1, 4)
            st = daystart + (p.h0 + rng.uniform(0, max(0.5, p.hlen - dur))) * 3600
            tk = hour_tok * p.ag_mult * dur
            flex.append(_agent_sess(rng, p, st, dur, tk, mi, new_sess()))
            tot += tk
    elif kind == "fleet" and not weekend and rng.random() < 0.85:
        k = max(2, int(p.fleet_k * rng.uniform(0.5, 1.2)))
        for _ in range(k):
            dur = rng.uniform(2, 8)
            st = daystart + (p.h0 + rng.uniform(-1, 4)) * 3600
            tk = hour_tok * p.ag_mult * dur
            flex.append(_agent_sess(rng, p, st, dur, tk, mi, new_sess(), cap=40))
            tot += tk
    return tot


def _agent_sess(rng, p, st, dur_h, tokens, mi, sid, cache=None, outsh=None, mode="agent", cap=60):
    # a request (aggregate) every 1-5 min: regular polling; long runs are aggregated further
    # (at most `cap` rows a session) to keep the logs within the row budget
    interval = max(rng.uniform(60, 300), dur_h * 3600 / cap)
    nreq = max(2, int(dur_h * 3600 / interval))
    return dict(
        kind=mode,
        p=p.idx,
        st=st,
        interval=interval,
        nreq=nreq,
        tokens=tokens,
        model=mi,
        sess=sid,
        cache=p.cache if cache is None else cache,
        outsh=p.outsh if outsh is None else outsh,
        wsh=p.wsh,
        cycle=int(rng.integers(15, 60)),
    )


def _padding(rng, rows, flex, p, d, daystart, pad, mi, new_sess):
    style = p.pad_style
    if style in ("plain",):
        # ordinary-looking extra requests in working hours, the person's own style
        k = max(1, int(rng.poisson(p.n_req * min(math.sqrt(max(p.inflation - 1, 0.3)), 5.0))))
        _interactive(rng, rows, p, daystart, pad, k, mi, new_sess)
    elif style in ("loop", "loopjit"):
        dur = rng.uniform(2, 10)
        st = daystart + (p.h0 + rng.uniform(-2, p.hlen)) * 3600
        interval = rng.uniform(60, 180)
        nreq = max(5, int(dur * 3600 / interval))
        if nreq > 150:
            interval *= nreq / 150
            nreq = 150
        flex.append(
            dict(
                kind=style,
                p=p.idx,
                st=st,
                interval=interval,
                nreq=nreq,
                tokens=pad,
                model=mi,
                sess=new_sess(),
                cache=rng.uniform(0.0, 0.9),
                outsh=rng.uniform(0.01, 0.2),
                wsh=rng.uniform(0, 0.3),
                jit=rng.uniform(0.05, 0.2),
                out_fixed=p.loop_out_fixed,
            )
        )
    elif style == "swarm":
        k = int(rng.integers(5, 21))
        for _ in range(k):
            dur = rng.uniform(1, 8)
            st = daystart + (p.h0 + rng.uniform(-3, p.hlen)) * 3600
            flex.append(
                _agent_sess(
                    rng,
                    p,
                    st,
                    dur,
                    pad / k,
                    mi,
                    new_sess(),
                    cache=rng.uniform(0.9, 0.98),
                    outsh=rng.uniform(0.003, 0.02),
                    mode="agent",
                    cap=20,
                )
            )


def _materialise(rng, rows, f, factor, people):
    p = people[f["p"]]
    if f["kind"] == "ci":
        t = f["t"]
        if factor > 1:
            step = math.ceil(factor)
            t = t[::step]
            size = f["size"] * step  # aggregate: keep tokens
        else:
            size = f["size"]
        n = t.size
        if n == 0:
            return
        sizes = np.full(n, float(size))
        outv = (
            np.full(n, float(max(1, int(size * 0.05))))
            if f["fixed"]
            else np.maximum(1, np.round(size * 0.05 * np.exp(rng.normal(0, 0.3, n))))
        )
        rows.add(t, p.idx, sizes, 0.0, 0.05, 0.0, f["model"], 0, out_override=outv)
        # each cron invocation is its own session
        rows.cols["sess"][-1] = 10_000_000 + p.idx * 100_000 + np.arange(n) % 100_000
        return
    nreq = max(2, round(f["nreq"] / factor))
    interval = f["interval"] * f["nreq"] / nreq
    if f["kind"] == "agent":
        t = f["st"] + interval * np.arange(nreq) + rng.normal(0, 0.05 * interval, nreq)
        cyc = f["cycle"]
        ramp = 0.4 + 1.2 * (np.arange(nreq) % cyc) / cyc  # context grows, then compaction
        w = ramp * np.exp(rng.normal(0, 0.15, nreq))
        sizes = f["tokens"] * w / w.sum()
        cache = np.clip(f["cache"] + rng.normal(0, 0.03, nreq), 0, 0.99)
        rows.add(
            t,
            p.idx,
            sizes,
            cache,
            f["outsh"] * np.exp(rng.normal(0, 0.25, nreq)),
            f["wsh"],
            f["model"],
            f["sess"],
        )
    else:  # scripted loops
        t = f["st"] + interval * np.arange(nreq) + rng.uniform(0, 2.0, nreq)
        size = f["tokens"] / nreq
        if f["kind"] == "loop":
            sizes = np.full(nreq, float(round(size)))
            cr = np.floor(sizes * f["cache"])
            fresh = sizes - cr
            fin = np.floor(fresh / (1 + f["outsh"]))
            out = (
                fresh - fin
                if f["out_fixed"]
                else np.round((fresh - fin) * np.exp(rng.normal(0, 0.15, nreq)))
            )
            rows.add(
                t,
                p.idx,
                sizes,
                f["cache"],
                f["outsh"],
                f["wsh"],
                f["model"],
                f["sess"],
                out_override=out,
            )
        else:
            j = f["jit"]
            sizes = size * rng.uniform(1 - j, 1 + j, nreq)
            rows.add(
                t,
                p.idx,
                sizes,
                f["cache"],
                f["outsh"] * rng.uniform(1 - j, 1 + j, nreq),
                f["wsh"],
                f["model"],
                f["sess"],
            )


def _title(rng):
    return (
        f"{rng.choice(['feat', 'fix', 'refactor', 'perf'])}: {rng.choice(WORDS_VERB)} "
        f"{rng.choice(WORDS_OBJ)} (ENG-{int(rng.integers(1000, 99999))})"
    )


def _commits(
    rng,
    people,
    changes,
    n_days,
    t0,
    dow,
    revert_rate,
    batch_team,
    release_period,
    release_dow,
    team_repo,
):
    out = []
    pr_no = {}

    def emit(p, day, la, ld, msg, when=None):
        if day >= n_days:
            return None
        if when is None:
            when = t0 + day * DAY - p.tz * 3600 + (p.h0 + rng.uniform(0, p.hlen)) * 3600
        if when >= t0 + n_days * DAY or when < t0:
            return None
        repo = (
            team_repo[p.team]
            if rng.random() < 0.85
            else team_repo[int(rng.integers(len(team_repo)))]
        )
        pr_no[repo] = pr_no.get(repo, 100) + 1
        sha = rng.bytes(20).hex()
        ts = datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        files = int(1 + rng.poisson(max(la + ld, 1) / 60))
        row = [ts, p.account, int(la), int(ld), sha, f"{repo}#{pr_no[repo]}", files, msg, repo]
        out.append(row)
        return row

    # group batch-team work into releases
    batch_pending = {}
    for pi, d, kind in changes:
        p = people[pi]
        if kind == "trivial":  # camouflage: tiny docs/typo change merged the same or next day
            la = int(rng.integers(1, 3))
            ld = int(rng.integers(0, 4 - la))
            msg = str(rng.choice(TRIVIAL_MSG)) + f" ({int(rng.integers(1000, 99999))})"
            lag = int(rng.integers(0, 2))
            row = emit(p, d + lag, la, ld, msg)
            if row is not None and rng.random() < 0.2:
                emit(p, d + lag + int(rng.integers(0, 3)), ld, la, f'Revert "{msg}"')
            continue
        if rng.random() < p.triv_share:
            la = int(rng.integers(1, 3))
            ld = int(rng.integers(0, 4 - la))
            msg = str(rng.choice(TRIVIAL_MSG))
        else:
            la = max(1, round(p.lines_med * math.exp(rng.normal(0, 1.0))))
            ld = round(la * rng.beta(1.2, 3.0))
            msg = _title(rng)
        if kind == "hotfix":
            la = max(1, round(la * 0.3))
            msg = "fix: hotfix " + msg
        if p.team == batch_team:
            # next release day
            r = d + 1
            while (
                not (r % 7 == release_dow and (r // 7) % (release_period // 7) == 0)
                and r < d + release_period + 7
            ):
                r += 1
            batch_pending.setdefault((pi, r), []).append((la, ld, msg))
            continue
        lag = 0 if rng.random() < 0.3 else min(14, int(rng.geometric(1.0 / (1.0 + p.lag_mean))))
        if kind == "hotfix":
            lag = 0
        md = d + lag
        if md < n_days and dow[md] >= 5 and rng.random() < 0.8:
            md += 7 - dow[md]
        row = emit(p, md, la, ld, msg)
        if row is not None and rng.random() < revert_rate and not msg.startswith("docs"):
            rp = p if rng.random() < 0.6 else people[int(rng.integers(len(people)))]
            emit(rp, md + int(rng.integers(0, 6)), ld, la, f'Revert "{msg}"')
    for (pi, r), items in sorted(batch_pending.items()):
        p = people[pi]
        # release: merged together, 2-4 changes combined per pull request
        rng.shuffle(items)
        i = 0
        when0 = t0 + r * DAY + rng.uniform(14, 20) * 3600
        while i < len(items):
            g = items[i : i + int(rng.integers(1, 4))]
            i += len(g)
            la = sum(x[0] for x in g)
            ld = sum(x[1] for x in g)
            emit(
                p,
                r,
                la,
                ld,
                g[0][2] if len(g) == 1 else f"release: {g[0][2]} and {len(g) - 1} more",
                when=when0 + rng.uniform(0, 3600),
            )
    out.sort(key=lambda r: r[0])
    return out


# ================================================================================ runner
def _daily_usage(usage_csv):
    """The same usage as one row per account and UTC day (`detection.daily_sums`: the vendors'
    admin-API shape), written as Parquet beside the per-request CSV."""
    import polars as pl
    from detection import daily_sums

    tokens = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    rows = pl.read_csv(usage_csv, schema_overrides={c: pl.Int64 for c in tokens})
    path = os.path.join(os.path.dirname(usage_csv), "usage-daily.parquet")
    daily_sums(rows).write_parquet(path)
    return path


def _run_one(args):
    scenario, i, n_accounts, root, base_seed, daily = args
    seed = base_seed + 1000 * i + 7
    out = os.path.join(root, f"{scenario}-{n_accounts}-{i}")
    t = time.time()
    meta = generate(seed, scenario, n_accounts, out)
    gen_s = time.time() - t
    runs = {}
    variants = [(scenario, [])]
    if scenario == "launch":
        variants.append(("launch+date", ["--change-date", meta["launch_date"]]))
    usage = os.path.join(out, "usage.csv")
    if daily:
        daily_usage = _daily_usage(usage)
        variants += [(f"{name}+daily", extra) for name, extra in variants]
    for name, extra in variants:
        rep = os.path.join(out, f"report-{name.replace('+', '_')}.json")
        cmd = [
            sys.executable,
            "-m",
            "tokenaudit",
            "scan",
            "--usage",
            daily_usage if name.endswith("+daily") else usage,
            "--commits",
            os.path.join(out, "commits.csv"),
            "--identities",
            os.path.join(out, "identities.csv"),
            "--format",
            "json",
            "-o",
            rep,
            "--exit-zero",
            *extra,
        ]
        t = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"scan failed for {out}: {r.stderr[-2000:]}")
        runs[name] = dict(report=rep, scan_s=round(time.time() - t, 1))
    meta["gen_s"] = round(gen_s, 1)
    return scenario, i, out, meta, runs


def _ap(y, s):
    y = np.asarray(y, bool)
    s = np.asarray(s, float)
    if y.sum() == 0:
        return float("nan")
    s = np.where(np.isfinite(s), s, -np.inf)
    o = np.argsort(-s, kind="stable")
    ys = y[o]
    prec = np.cumsum(ys) / np.arange(1, len(ys) + 1)
    return float((prec * ys).sum() / ys.sum())


def _evaluate(out_dir, meta, report_path):
    import polars as pl

    truth = pl.read_csv(os.path.join(out_dir, "truth.csv")).to_dicts()
    with open(report_path) as fh:
        rep = json.load(fh)
    by = {a["account"].lower(): a for a in rep["accounts"]}
    rows = []
    for t in truth:
        a = by.get(t["account"].lower(), {})
        t = dict(t)
        t["status"] = a.get("status", "missing")
        t["score"] = a.get("score")
        t["reasons"] = a.get("reasons", "")
        t["excess_x"] = a.get("excess_tokens_x")
        t["tpl"] = t["tokens"] / (t["merged_lines"] + 1.0)
        t["p_checks"] = {
            c["id"]: c["p_value"]
            for c in a.get("checks", [])
            if c["applicable"] and c["p_value"] is not None
        }
        rows.append(t)
    return rows


CALIBRATION_LEVELS = (0.1, 0.01, 0.001, 0.0001)


def _calibration(by_variant):
    """Per run and check: P(p <= alpha) over every honest person's p-value of that check. A
    check's null holds for honest people where this is at most alpha; the review tier's
    Benjamini-Hochberg step reads p-values of 0.0005-0.01 at 200 accounts. With a date, the
    report's usage-jump p is the search's and the date's combined (Simes)."""
    lines = [
        "\n## Calibration on honest people (per check: share of honest p-values at or below α)\n",
        "| run | check | p-values | "
        + " | ".join(f"P(p ≤ {a:g})" for a in CALIBRATION_LEVELS)
        + " |",
        "|---|---|---|" + "---|" * len(CALIBRATION_LEVELS),
    ]
    for name, items in by_variant.items():
        pooled = {}
        for _f, _m, rows, _out in items:
            for r in rows:
                if r["honest"]:
                    for check, p in r["p_checks"].items():
                        pooled.setdefault(check, []).append(p)
        for check, ps in sorted(pooled.items()):
            v = np.asarray(ps)
            shares = " | ".join(f"{(v <= a).mean():.4f}" for a in CALIBRATION_LEVELS)
            lines.append(f"| {name} | {check} | {v.size} | {shares} |")
    return lines


AGENT_SET = {"overnight", "allday", "fleet", "adopter", "ci"}


def _org_figures(rows):
    f = {}
    hon = [r for r in rows if r["honest"]]
    mx = [r for r in rows if not r["honest"]]
    sus = [r for r in rows if r["status"] == "suspicious"]
    flg = [r for r in rows if r["status"] in ("suspicious", "review")]
    f["honest_sus"] = sum(r["status"] == "suspicious" for r in hon)
    f["any_honest_sus"] = float(f["honest_sus"] > 0)
    f["agent_sus"] = sum(
        r["status"] == "suspicious" and (r["agent_kind"] or "") in AGENT_SET for r in hon
    )
    f["honest_review_share"] = sum(r["status"] == "review" for r in hon) / max(1, len(hon))
    f["fdp_sus"] = sum(r["honest"] for r in sus) / len(sus) if sus else 0.0
    f["fdp_flag"] = sum(r["honest"] for r in flg) / len(flg) if flg else 0.0
    for tac in TACTICS:
        if tac == "drip":
            sel = [r for r in mx if r["tactic"] == tac]
        else:
            sel = [r for r in mx if r["tactic"] == tac and r["inflation"] >= 3]
        f[f"n_{tac}"] = len(sel)
        f[f"sus_{tac}"] = sum(r["status"] == "suspicious" for r in sel)
        f[f"flag_{tac}"] = sum(r["status"] in ("suspicious", "review") for r in sel)
    for sty in ("loop(fixed-out)", "loop(varied-out)", "loopjit"):
        sel = [
            r for r in mx if r["tactic"] == "loop" and r["pad_style"] == sty and r["inflation"] >= 3
        ]
        f[f"n_{sty}"] = len(sel)
        f[f"sus_{sty}"] = sum(r["status"] == "suspicious" for r in sel)
        f[f"flag_{sty}"] = sum(r["status"] in ("suspicious", "review") for r in sel)
    sel = [r for r in mx if r["tactic"] == "plain" and r["inflation"] >= 10]
    f["n_plain10"] = len(sel)
    f["flag_plain10"] = sum(r["status"] in ("suspicious", "review") for r in sel)
    ev = [r for r in rows if r["honest"] or r["tactic"] != "drip"]
    y = [not r["honest"] for r in ev]
    f["ap_score"] = _ap(y, [r["score"] if r["score"] is not None else -1e9 for r in ev])
    f["ap_tpl"] = _ap(y, [r["tpl"] for r in ev])
    f["n_honest"] = len(hon)
    f["n_maxx"] = len(mx)
    f["n_flag"] = len(flg)
    f["n_sus"] = len(sus)
    return f


def _fmt(x, pct=False):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if pct:
        return f"{100 * x:.1f}%"
    if isinstance(x, float):
        return f"{x:.2f}"
    return str(x)


def _table(name, figs, metas):
    L = []
    L.append(f"\n### Scenario `{name}` ({len(figs)} organisations)\n")
    L.append(
        "| org | people | honest | maxxers | usage rows | thinning | days | org sd | agent share | sus | review+ | scan s |"
    )
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for f, m in zip(figs, metas, strict=True):
        L.append(
            f"| {m['seed']} | {m['n_accounts']} | {f['n_honest']} | {f['n_maxx']} | {m['rows']} | "
            f"{m['thinning']} | {m['n_days']} | {m['org_sd']} | {m['agent_share']}"
            f"{' (high)' if m['high_agent'] else ''} | {f['n_sus']} | {f['n_flag']} | {m.get('scan_s', '')} |"
        )
    L.append("")
    L.append("| figure | mean | worst org | pooled |")
    L.append("|---|---|---|---|")

    def row(label, key, worst="max", pct=False):
        v = [f[key] for f in figs]
        w = max(v) if worst == "max" else min(v)
        L.append(f"| {label} | {_fmt(float(np.mean(v)), pct)} | {_fmt(w, pct)} | |")

    row("P(≥1 honest `suspicious`)", "any_honest_sus")
    row("honest `suspicious` (count)", "honest_sus")
    row("honest agent users `suspicious` (count)", "agent_sus")
    row("honest in `review` (share of honest)", "honest_review_share", pct=True)
    row("FDP of `suspicious`", "fdp_sus", pct=True)
    row("FDP of `review`+", "fdp_flag", pct=True)

    def rec(label, num, den):
        per = [f[num] / f[den] for f in figs if f[den] > 0]
        tot_n, tot_d = sum(f[num] for f in figs), sum(f[den] for f in figs)
        if not per:
            L.append(f"| {label} | – | – | 0/0 |")
            return
        L.append(f"| {label} | {_fmt(float(np.mean(per)))} | {_fmt(min(per))} | {tot_n}/{tot_d} |")

    if sum(f["n_maxx"] for f in figs):
        for tac in TACTICS:
            if tac == "drip":
                continue
            rec(f"recall `suspicious`, {tac} ×3+", f"sus_{tac}", f"n_{tac}")
        for tac in TACTICS:
            if tac == "drip":
                continue
            rec(f"recall `review`+, {tac} ×3+", f"flag_{tac}", f"n_{tac}")
        rec("recall `review`+, plain ×10+", "flag_plain10", "n_plain10")
        for sty, lab in (
            ("loop(fixed-out)", "identical sizes incl. output"),
            ("loop(varied-out)", "identical prompts, output ±15 %"),
            ("loopjit", "jittered ±5–20 %"),
        ):
            rec(f"loop ×3+, {lab}: recall `suspicious`", f"sus_{sty}", f"n_{sty}")
            rec(f"loop ×3+, {lab}: recall `review`+", f"flag_{sty}", f"n_{sty}")
        rec("drip-feed (×1.3–2): recall `suspicious`", "sus_drip", "n_drip")
        rec("drip-feed (×1.3–2): recall `review`+", "flag_drip", "n_drip")
        v = [f["ap_score"] for f in figs if not math.isnan(f["ap_score"])]
        L.append(
            f"| average precision, report `score` | {_fmt(float(np.mean(v)))} | {_fmt(min(v))} | |"
        )
        v = [f["ap_tpl"] for f in figs if not math.isnan(f["ap_tpl"])]
        L.append(
            f"| average precision, tokens per merged line | {_fmt(float(np.mean(v)))} | {_fmt(min(v))} | |"
        )
    return L


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--orgs", type=int, default=4)
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--scenarios", nargs="+", default=["honest", "mixed", "launch"])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument(
        "--root", default=None, help="where organisations are written (default: a new temp dir)"
    )
    ap.add_argument(
        "--out", default=None, help="markdown file (default benchmarks/results/blind-<accounts>.md)"
    )
    ap.add_argument(
        "--daily",
        action="store_true",
        help="also scan each organisation's usage as daily per-account sums (`<run>+daily`)",
    )
    a = ap.parse_args(argv)
    a.root = a.root or tempfile.mkdtemp(prefix="blind-orgs-")
    out_md = a.out or str(ROOT / "benchmarks" / "results" / f"blind-{a.accounts}.md")
    jobs = [(s, i, a.accounts, a.root, a.seed, a.daily) for s in a.scenarios for i in range(a.orgs)]
    t_start = time.time()
    if a.workers > 1:
        with ProcessPoolExecutor(max_workers=min(a.workers, 2)) as ex:
            res = list(ex.map(_run_one, jobs))
    else:
        res = [_run_one(j) for j in jobs]
    lines = [
        f"# Blind organisations: {a.orgs} per scenario, {a.accounts} accounts "
        f"(seed {a.seed}; {time.time() - t_start:.0f} s)\n"
    ]
    by_variant = {}
    for _scenario, _i, out, meta, runs in res:
        for name, r in runs.items():
            m = dict(meta)
            m["scan_s"] = r["scan_s"]
            rows = _evaluate(out, meta, r["report"])
            by_variant.setdefault(name, []).append((_org_figures(rows), m, rows, out))
    for name, items in by_variant.items():
        lines += _table(name, [x[0] for x in items], [x[1] for x in items])
    lines.append("\n## Honest flags by kind (all runs pooled; a person can be in several rows)\n")
    lines.append("| run | kind | honest people | `suspicious` | `review` |")
    lines.append("|---|---|---|---|---|")
    for name, items in by_variant.items():
        cnt = {}
        for _f, _m, rows, _out in items:
            for r in rows:
                if not r["honest"]:
                    continue
                kinds = (
                    {r["archetype"]}
                    | ({r["agent_kind"]} if r["agent_kind"] else set())
                    | set(x for x in str(r["addons"] or "").split(";") if x)
                )
                for k in kinds:
                    c = cnt.setdefault(k, [0, 0, 0])
                    c[0] += 1
                    c[1] += r["status"] == "suspicious"
                    c[2] += r["status"] == "review"
        for k, c in sorted(cnt.items()):
            lines.append(f"| {name} | {k} | {c[0]} | {c[1]} | {c[2]} |")
    lines += _calibration(by_variant)
    lines.append("\n## Honest accounts flagged (`review` or `suspicious`)\n")
    lines.append(
        "| run | org | account | role | archetype | agent/add-ons | status | score | excess× | reasons |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for name, items in by_variant.items():
        for _f, m, rows, _out in items:
            for r in rows:
                if r["honest"] and r["status"] in ("suspicious", "review"):
                    lines.append(
                        f"| {name} | {m['seed']} | {r['account']} | {r['role']} | {r['archetype']} | "
                        f"{r['agent_kind'] or ''} {r['addons'] or ''} | **{r['status']}** | {_fmt(r['score'])} | "
                        f"{_fmt(r['excess_x'])} | {str(r['reasons']).replace('|', '/')} |"
                    )
    lines.append(
        "\n## Missed tokenmaxxers (status below `review`; first 30 per run, drip-feeders last)\n"
    )
    lines.append(
        "| run | org | account | tactic | style | inflation (drawn, padded days) | realised over pad window | overall | pad from day | joined day | status | excess× | reasons |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, items in by_variant.items():
        miss = []
        for _f, m, rows, _out in items:
            for r in rows:
                if not r["honest"] and r["status"] not in ("suspicious", "review"):
                    miss.append((r["tactic"] == "drip", -r["inflation"], m["seed"], r))
        miss.sort(key=lambda x: (x[0], x[1]))
        for _, _, seed, r in miss[:30]:
            lines.append(
                f"| {name} | {seed} | {r['account']} | {r['tactic']} | {r['pad_style']} | "
                f"×{r['inflation']:.1f} | ×{r['inflation_window']:.1f} | ×{r['inflation_overall']:.1f} | {r['pad_from']} | "
                f"{r['join_day'] or ''} | {r['status']} | "
                f"{_fmt(r['excess_x'])} | {str(r['reasons']).replace('|', '/')[:200]} |"
            )
        lines.append(
            f"| {name} | | ({len(miss)} missed in total, of which drip {sum(x[0] for x in miss)}) | | | | | | | | | | |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    with open(out_md, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
