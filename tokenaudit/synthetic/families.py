"""Families of synthetic organisations drawn from wide parameter ranges (a latent-variable model).

This generator is deliberately independent of `tokenaudit.synthetic.simulate`: it imports nothing
from `tokenaudit`, and its structure is different. Where `simulate` gives each archetype a fixed
token multiplier around one lognormal base, here every person is a point in a latent space and every
behaviour is a consequence of latent traits, team habits, role, the calendar and explicit
automation or padding processes. Benchmarks draw many organisations (`draw_params(seed, ...)`) and
build each (`build_org(params, seed)`); everything comes from one `numpy.random.Generator(PCG64)`
per call, in a fixed order, so the same (params, seed) gives identical frames and files.

Structure
---------
* **Teams** of varied size (lognormal around `team_size_median`, 2–40 people), each with its own
  token habit (log multiplier, SD `team_token_sd`), merge cadence (SD `team_cadence_sd`), PR size
  (lognormal median around `pr_lines_median`), repositories and a UTC offset (most teams at
  `home_tz`; a `remote_team_share` elsewhere).
* **Roles** (engineer, frontend, data, sre, research, lead) drawn with per-org weights; each shifts
  tokens, merge rate, PR size and merge lag (research: many tokens, few late merges; lead: few
  merges; sre: small PRs and on-call nights).
* **Latent traits** per person: productivity z_p and AI appetite z_a, standard normal with
  correlation `corr_prod_appetite`. Log typical daily tokens = team + role + appetite, rescaled so
  the between-person SD is exactly `sd_between`; day-to-day noise SD `sd_within`, a weekly rhythm
  (lighter Fridays, quiet weekends except for weekend workers), org holidays, a leave block per
  person on leave (sometimes with a pre-leave spike), new joiners (nothing before their start,
  heavier tokens and ramping merges after), and shocks.
* **Merged output**: per person-day a gamma-Poisson (negative binomial, dispersion
  `nb_dispersion`) count of work units with mean merge_rate × exp(productivity) × team cadence ×
  role × (person's tokens / org median)^elasticity × (day's tokens / person's typical)^elasticity ×
  agent gains × joiner ramp. Each unit merges after a lognormal lag (person median 0.3–10 days,
  late mergers 14–30) inside office hours (weekend merges mostly slip to Monday). Work from the 21
  days before the period merges inside it. PR lines lognormal per team and role; some reverts
  (`Revert "…"` / `This reverts commit <sha>.`), some squash merges credited to a teammate (with a
  `Co-authored-by:` trailer half the time), dependabot bumps and CI release commits.
* **Identities**: each person has a canonical account (`first.last`), a corporate e-mail, a GitHub
  login, a noreply address (`12345+login@users.noreply.github.com`) and upper-case variants; usage
  uses the e-mail or login, commits mix all spellings; people who switch tools use a second usage
  alias (an API-key name or a new e-mail) from `switch_day`. Every alias is in `identities`.
* **Honest automation** (field `automation` in truth; one kind per person, honest people only):
  ``overnight``/``all-day`` agent runs (a regular polling loop: interval 20 s–10 min, jitter CV
  0.01–0.6 from near-cron to jittered, run length 1–24 h, on a per-person share 0–100 % of active
  days, run days ×1.5–15 tokens, output share 1–15 %, and merged output ×1.1–2 on run days),
  ``fleet`` (4–20 parallel sessions launched together, 1–8 h, merged output ×1.2–3 on fleet days),
  ``ci-job`` (a cron job 5–60 min under the person's API key, near-identical request sizes, modest
  volume, no merges of its own) and ``on-call`` (SREs: night bursts in on-call weeks). Agent users
  are chosen with weights exp(0.7·z_a); some start or stop using agents mid-period (truth
  `adoption`).
* **Tokenmaxxers** (mixed and launch): inflation log-uniform ×2–×100 per person (the tactic adds
  (inflation − 1) × the person's typical honest day on each padded day; the snapshot gamer adds
  (inflation − 1) × a typical honest week on the days before the snapshot); each tactic carries
  its machine fingerprint with probability `mechanism_prob` (truth `mechanism`):

  ========================  ===============================================  ==========================================
  tactic                    with mechanism                                   without
  ========================  ===============================================  ==========================================
  ``scripted-loop``         identical requests at a fixed cadence             jittered sizes, human gaps, office hours
                            (10 s–5 min), 24/7 (half) or office hours;
                            output < 1 %
  ``trivial-merge``         inflated tokens + tiny merges (1–3 lines,         inflated tokens + small merges (5–20 lines)
                            typo/format), some reverted; counts look normal
  ``plain-padding``         (never: human timing, nothing else)              tokens × k with human timing
  ``swarm-idler``           5–30 parallel sessions launched at once,         sequential sessions, human gaps
                            toy tasks, output < 1 %
  ``drip-feeder``           linear ramp to × k over 3–8 weeks by a loop      the same ramp with human timing
  ``snapshot-gamer``        the week's padding on the day before the         spread over the 3 days before, human
                            snapshot weekday, by a loop                      timing
  ``intermittent``          × k in 30–50 % of calendar weeks, by a loop              the same weeks, human timing
  ``launch-padder``         × k from `launch_day`, by a loop                 the same, human timing
  ========================  ===============================================  ==========================================

  ("by a loop" = regular cadence and identical request sizes, office hours.) In the ``launch``
  scenario every maxxer is a launch padder, `launch_day` lies in the middle third of the period
  and honest people shift their usage × U(1, `launch_honest_mult`) at launch.
* **Bots**: a CI service account (``ci-service``, role ``bot``) with cron usage every day, and
  ``dependabot[bot]`` commits (sometimes also ``renovate[bot]``).

Org-level parameter ranges (each drawn per organisation by `draw_params`)
-------------------------------------------------------------------------
accounts log-uniform 60–2000 (callers usually pass it; 5+ works) · days U{42..91} · start a date in
2024-09 – 2025-10 · maxxer_share U(0.03, 0.15) (0 for honest) · launch_day U(D/3, 2D/3) (launch) ·
team_size_median U(4, 14) · team_token_sd U(0.05, 0.5) · team_cadence_sd U(0.1, 0.5) · role weights
Dirichlet around (0.45, 0.15, 0.1, 0.1, 0.08, 0.12) · home_tz U{-8..9} h · remote_team_share
U(0, 0.5) · corr_prod_appetite U(-0.2, 0.8) · sd_between U(0.5, 1.2) · sd_within U(0.3, 0.9) ·
cache_read_centre U(0, 0.95) (person: centre + N(0, 0.08), clipped 0–0.98) · median_daily_tokens
log-uniform 0.3M–3M × (1 + 5 × cache centre) · requests_per_day (human requests on a median day)
log-uniform 15–80 (a person's request size grows with the square root of their typical day) · output_share_centre log-uniform 0.005–0.15 (person: × lognormal(0, 0.5), clipped
0.005–0.15) · weekday_active U(0.7, 0.97) · weekend_worker_share U(0.05, 0.3) · holidays U{0..3} ·
leave_share U(0.03, 0.25) · joiner_share U(0, 0.12) · switch_share U(0, 0.3) · agent_share U(0, 0.5)
· fleet_share U(0, 0.35) · adoption_change_share U(0, 0.4) · ci_job_share U(0, 0.1) · oncall
P = 0.8 · oncall_night_prob U(0.2, 0.7) · merge_rate U(0.15, 0.9) per active day · productivity_sd
U(0.3, 0.8) · nb_dispersion U(1.5, 8) · token_elasticity U(0, 0.6) · lag_centre_days log-uniform
0.5–4 · late_merger_share U(0, 0.08) · pr_lines_median log-uniform 15–150 · pr_lines_sigma
U(0.7, 1.5) · revert_rate U(0, 0.04) · squash_share U(0, 0.12) · shock with P = 0.3 at
shock_day U(D/5, 4D/5), × shock_mult log-uniform 0.6–2 · launch_honest_mult U(1, 1.3) (launch) ·
mechanism_prob U(0.3, 1) · tactic_weights Dirichlet(2, …) over the seven mixed tactics ·
maxxer_productivity_shift U(-0.7, 0) · snapshot_weekday U{0..6} (0 = Monday).

Output shapes
-------------
Usage rows are requests (≤ 600 per account-day; sizes grow when a day would need more), or with
``daily=True`` one row per usage account and UTC day (``requests`` = count, ``model`` = the day's
main model, no request or session ids). Timestamps are UTC; days in truth and in `pad_start` are
UTC dates (local office hours follow each team's offset).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import polars as pl

Arr = npt.NDArray[Any]

SCENARIOS: Final = ("honest", "mixed", "launch")
MIXED_TACTICS: Final = (
    "scripted-loop",
    "trivial-merge",
    "plain-padding",
    "swarm-idler",
    "drip-feeder",
    "snapshot-gamer",
    "intermittent",
)
TACTICS: Final = (*MIXED_TACTICS, "launch-padder")
ROLES: Final = ("engineer", "frontend", "data", "sre", "research", "lead")
_ROLE_WEIGHTS: Final = (0.45, 0.15, 0.10, 0.10, 0.08, 0.12)
# per role: log token shift, merge-rate multiple, PR-size multiple, lag multiple
_ROLE_EFFECTS: Final = {
    "engineer": (0.0, 1.0, 1.0, 1.0),
    "frontend": (0.0, 1.3, 0.6, 0.8),
    "data": (0.2, 0.7, 1.2, 1.2),
    "sre": (-0.1, 0.8, 0.3, 0.6),
    "research": (0.6, 0.3, 2.0, 2.5),
    "lead": (-0.2, 0.35, 0.8, 1.0),
}
AUTOMATION_KINDS: Final = ("overnight", "all-day", "fleet", "ci-job", "on-call")
MODELS: Final = ("claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "gpt-5", "gpt-5-mini")
# USD per million tokens: input, output, cache read, cache write
PRICES: Final = np.array(
    [
        [3.0, 15.0, 0.30, 3.75],
        [15.0, 75.0, 1.50, 18.75],
        [1.0, 5.0, 0.10, 1.25],
        [1.25, 10.0, 0.125, 0.0],
        [0.25, 2.0, 0.025, 0.0],
    ]
)
USAGE_COLUMNS: Final = (
    "timestamp",
    "account",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "model",
    "cost_usd",
    "request_id",
    "session_id",
)
DAILY_COLUMNS: Final = (*USAGE_COLUMNS[:8], "requests")
COMMIT_COLUMNS: Final = (
    "merged_at",
    "author",
    "lines_added",
    "lines_deleted",
    "sha",
    "pr_id",
    "files_changed",
    "message",
    "repo",
)
IDENTITY_COLUMNS: Final = ("alias", "account", "team", "role")
TRUTH_COLUMNS: Final = (
    "account",
    "archetype",
    "is_maxxer",
    "tactic",
    "inflation",
    "mechanism",
    "pad_start",
    "automation",
    "team",
    "role",
    # extras (latent and calendar facts a benchmark may want to stratify by)
    "z_productivity",
    "z_appetite",
    "typical_daily_tokens",
    "merge_rate",
    "lag_median_days",
    "adoption",
    "join_date",
    "leave_days",
    "switch_date",
    "squash_share",
)

DAY_S: Final = 86_400
PRE_DAYS: Final = 21  # work before the period that merges inside it
CAP_REQUESTS: Final = 600  # per account-day
INFLATION_RANGE: Final = (2.0, 100.0)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST: Final = _words(
    "ada alan alice amir ana arjun ben bea carla chen chloe dan dara david elena eli emma femi "
    "finn gita grace hana hugo ian ines ivan jade james jon kai kara lars lena leo lin luca maya "
    "mei mia nadia nico noor olga omar pablo priya quinn rafa rosa sam sara tariq tomas uma "
    "vera wei yara yusuf zoe"
)
_LAST: Final = _words(
    "adams baker banerjee costa diaz dubois evans fischer garcia gupta hansen hoang ito jensen "
    "kim kowalski larsen lee lopez mendes meyer moreau nakamura novak obi okafor olsen park "
    "patel petrov quinn rossi sato schmidt silva singh smith suzuki tan taylor torres ueda "
    "varga wagner wang weber wilson wong yilmaz zhang"
)
_TEAM_NAMES: Final = _words(
    "payments search growth platform infra mobile web data ml identity billing checkout "
    "catalog notifications ledger risk onboarding api edge storage observability security "
    "support analytics pricing"
)
_FEATURE_WORDS: Final = _words(
    "cache retry parser handler pagination export webhook migration index schema client "
    "scheduler config auth session queue metrics dashboard importer validator renderer"
)
_TRIVIAL_MSGS: Final = (
    "fix typo",
    "fix typo in README",
    "format",
    "run formatter",
    "whitespace",
    "lint",
    "update comment",
    "fix spacing",
    "bump version",
    "tidy imports",
)
_SMALL_MSGS: Final = (
    "tweak config",
    "small cleanup",
    "adjust log level",
    "rename variable",
    "update docs",
    "minor refactor",
    "tidy up tests",
)


@dataclass(frozen=True)
class FamilyParams:
    """Every generator parameter of one organisation (see the module docstring for ranges)."""

    accounts: int
    days: int
    start: date
    scenario: str
    maxxer_share: float
    launch_day: int | None
    team_size_median: float
    team_token_sd: float
    team_cadence_sd: float
    role_weights: tuple[float, ...]
    home_tz: int
    remote_team_share: float
    corr_prod_appetite: float
    sd_between: float
    sd_within: float
    median_daily_tokens: float
    requests_per_day: float
    output_share_centre: float
    cache_read_centre: float
    weekday_active: float
    weekend_worker_share: float
    holidays: int
    leave_share: float
    joiner_share: float
    switch_share: float
    agent_share: float
    fleet_share: float
    adoption_change_share: float
    ci_job_share: float
    oncall: bool
    oncall_night_prob: float
    merge_rate: float
    productivity_sd: float
    nb_dispersion: float
    token_elasticity: float
    lag_centre_days: float
    late_merger_share: float
    pr_lines_median: float
    pr_lines_sigma: float
    revert_rate: float
    squash_share: float
    shock_day: int | None
    shock_mult: float
    launch_honest_mult: float
    mechanism_prob: float
    tactic_weights: tuple[float, ...]
    maxxer_productivity_shift: float
    snapshot_weekday: int

    def as_dict(self) -> dict[str, object]:
        """JSON-ready: the date as ISO text, tuples as lists, plus the names the weights refer to."""
        out: dict[str, object] = {}
        for key, value in asdict(self).items():
            if isinstance(value, date):
                out[key] = value.isoformat()
            elif isinstance(value, tuple):
                out[key] = list(value)
            else:
                out[key] = value
        out["role_names"] = list(ROLES)
        out["tactic_names"] = list(MIXED_TACTICS)
        out["snapshot_weekday_name"] = _WEEKDAYS[self.snapshot_weekday]
        return out


_WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class FamilyOrg:
    """One generated organisation: canonical frames plus the truth and the parameters."""

    usage: pl.DataFrame
    commits: pl.DataFrame
    identities: pl.DataFrame
    truth: pl.DataFrame
    params: FamilyParams


def _loguniform(rng: np.random.Generator, lo: float, hi: float, size: Any = None) -> Any:
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size))


def draw_params(
    seed: int,
    *,
    scenario: str,
    accounts: int | None = None,
    days: int | None = None,
    maxxer_share: float | None = None,
) -> FamilyParams:
    """Draw one organisation's parameters from the wide ranges in the module docstring."""
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}, not {scenario!r}")
    rng = np.random.Generator(np.random.PCG64([seed, 0x5EED]))
    # every value is drawn whether or not the caller overrides it, so an override changes nothing else
    acc_draw = round(float(_loguniform(rng, 60, 2000)))
    days_draw = int(rng.integers(42, 92))
    n_acc = acc_draw if accounts is None else int(accounts)
    if n_acc < 1:
        raise ValueError("accounts must be at least 1")
    n_days = days_draw if days is None else int(days)
    if n_days < 7:
        raise ValueError("days must be at least 7")
    start = date(2024, 9, 2) + timedelta(days=int(rng.integers(0, 400)))
    share_draw = float(rng.uniform(0.03, 0.15))
    if scenario == "honest":
        share = 0.0
    else:
        share = share_draw if maxxer_share is None else float(maxxer_share)
    launch_draw = int(rng.integers(n_days // 3, max(n_days // 3 + 1, (2 * n_days) // 3)))
    role_w = rng.dirichlet(np.array(_ROLE_WEIGHTS) * 20.0)
    cache_centre = float(rng.uniform(0.0, 0.95))
    shock = bool(rng.random() < 0.3)
    shock_day = int(rng.integers(n_days // 5, max(n_days // 5 + 1, (4 * n_days) // 5)))
    shock_mult = float(_loguniform(rng, 0.6, 2.0))
    launch_mult = float(rng.uniform(1.0, 1.3))
    return FamilyParams(
        accounts=n_acc,
        days=n_days,
        start=start,
        scenario=scenario,
        maxxer_share=share,
        launch_day=launch_draw if scenario == "launch" else None,
        role_weights=tuple(round(float(w), 6) for w in role_w),
        cache_read_centre=cache_centre,
        shock_day=shock_day if shock else None,
        shock_mult=shock_mult if shock else 1.0,
        launch_honest_mult=launch_mult if scenario == "launch" else 1.0,
        **_draw_org_habits(rng, cache_centre),
        **_draw_work_habits(rng),
    )


def _draw_org_habits(rng: np.random.Generator, cache_centre: float) -> dict[str, Any]:
    """Teams, time zones, latent traits, tokens and the calendar (`FamilyParams` fields)."""
    return {
        "team_size_median": float(rng.uniform(4, 14)),
        "team_token_sd": float(rng.uniform(0.05, 0.5)),
        "team_cadence_sd": float(rng.uniform(0.1, 0.5)),
        "home_tz": int(rng.integers(-8, 10)),
        "remote_team_share": float(rng.uniform(0.0, 0.5)),
        "corr_prod_appetite": float(rng.uniform(-0.2, 0.8)),
        "sd_between": float(rng.uniform(0.5, 1.2)),
        "sd_within": float(rng.uniform(0.3, 0.9)),
        "median_daily_tokens": float(_loguniform(rng, 3e5, 3e6)) * (1 + 5 * cache_centre),
        "requests_per_day": float(_loguniform(rng, 15, 80)),
        "output_share_centre": float(_loguniform(rng, 0.005, 0.15)),
        "weekday_active": float(rng.uniform(0.7, 0.97)),
        "weekend_worker_share": float(rng.uniform(0.05, 0.3)),
        "holidays": int(rng.integers(0, 4)),
        "leave_share": float(rng.uniform(0.03, 0.25)),
        "joiner_share": float(rng.uniform(0.0, 0.12)),
        "switch_share": float(rng.uniform(0.0, 0.3)),
        "agent_share": float(rng.uniform(0.0, 0.5)),
        "fleet_share": float(rng.uniform(0.0, 0.35)),
        "adoption_change_share": float(rng.uniform(0.0, 0.4)),
        "ci_job_share": float(rng.uniform(0.0, 0.1)),
    }


def _draw_work_habits(rng: np.random.Generator) -> dict[str, Any]:
    """On-call, merged output and the tactics' settings (`FamilyParams` fields)."""
    return {
        "oncall": bool(rng.random() < 0.8),
        "oncall_night_prob": float(rng.uniform(0.2, 0.7)),
        "merge_rate": float(rng.uniform(0.15, 0.9)),
        "productivity_sd": float(rng.uniform(0.3, 0.8)),
        "nb_dispersion": float(rng.uniform(1.5, 8.0)),
        "token_elasticity": float(rng.uniform(0.0, 0.6)),
        "lag_centre_days": float(_loguniform(rng, 0.5, 4.0)),
        "late_merger_share": float(rng.uniform(0.0, 0.08)),
        "pr_lines_median": float(_loguniform(rng, 15, 150)),
        "pr_lines_sigma": float(rng.uniform(0.7, 1.5)),
        "revert_rate": float(rng.uniform(0.0, 0.04)),
        "squash_share": float(rng.uniform(0.0, 0.12)),
        "mechanism_prob": float(rng.uniform(0.3, 1.0)),
        "tactic_weights": tuple(
            round(float(w), 6) for w in rng.dirichlet(np.full(len(MIXED_TACTICS), 2.0))
        ),
        "maxxer_productivity_shift": float(rng.uniform(-0.7, 0.0)),
        "snapshot_weekday": int(rng.integers(0, 7)),
    }


# --------------------------------------------------------------------------------------------
# population


@dataclass
class _People:
    n: int
    login: list[str]
    email: list[str]
    gh_login: list[str]
    noreply: list[str]
    full_name: list[str]
    team: Arr  # int index
    team_names: list[str]
    team_tz: Arr  # hours, per team
    team_repos: list[list[str]]
    role: Arr  # int index into ROLES
    z_prod: Arr
    z_app: Arr
    mu: Arr  # log typical daily tokens
    lam: Arr  # merges per active day
    lag_median: Arr
    lag_sigma: Arr
    pr_median: Arr
    out_share: Arr
    cache: Arr
    cw_rest: Arr
    req_size: Arr
    model: Arr  # primary model index
    model2: Arr
    day_start: Arr  # local hour
    window: Arr  # hours
    think: Arr  # seconds
    brk: Arr  # break probability
    p_active: Arr
    p_weekend: Arr
    spelling_w: Arr  # (n, 5) weights over commit spellings
    maxxer: Arr  # bool
    tactic: list[str | None] = field(default_factory=list)
    inflation: Arr = field(default_factory=lambda: np.zeros(0))
    mechanism: Arr = field(default_factory=lambda: np.zeros(0, bool))
    automation: list[str | None] = field(default_factory=list)


def _names(rng: np.random.Generator, n: int) -> tuple[list[str], list[str], list[str]]:
    firsts = rng.integers(0, len(_FIRST), n)
    lasts = rng.integers(0, len(_LAST), n)
    nums = rng.integers(1, 100, n)
    seen: dict[str, int] = {}
    logins: list[str] = []
    ghs: list[str] = []
    full: list[str] = []
    gh_seen: set[str] = set()
    for i in range(n):
        f, la = _FIRST[firsts[i]], _LAST[lasts[i]]
        base = f"{f}.{la}"
        count = seen.get(base, 0)
        seen[base] = count + 1
        logins.append(base if count == 0 else f"{base}{count + 1}")
        gh = f"{f}{la[:3]}{nums[i]}"
        while gh in gh_seen:
            gh += "x"
        gh_seen.add(gh)
        ghs.append(gh)
        full.append(f"{f.title()} {la.title()}")
    return logins, ghs, full


@dataclass
class _Teams:
    index: Arr  # team of each person
    names: list[str]
    tz: Arr  # hours, per team
    tokens: Arr  # log token habit, per team
    cadence: Arr  # merge cadence multiple, per team
    pr_lines: Arr  # PR-size median, per team
    repos: list[list[str]]


def _teams(p: FamilyParams, rng: np.random.Generator, n: int) -> _Teams:
    """Teams of varied size, each with its habits, repositories and UTC offset."""
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(np.clip(round(p.team_size_median * rng.lognormal(0, 0.6)), 2, 40)))
    sizes[-1] -= sum(sizes) - n
    if sizes[-1] < 1:
        sizes.pop()
        sizes[-1] += n - sum(sizes)
    n_teams = len(sizes)
    team_names = [
        _TEAM_NAMES[t % len(_TEAM_NAMES)] + ("" if t < len(_TEAM_NAMES) else f"-{t // 24 + 1}")
        for t in range(n_teams)
    ]
    remote = rng.random(n_teams) < p.remote_team_share
    team_tz = np.where(remote, rng.integers(-8, 10, n_teams), p.home_tz).astype(float)
    team_tok = rng.normal(0, p.team_token_sd, n_teams)
    team_cad = rng.lognormal(0, p.team_cadence_sd, n_teams)
    team_pr = p.pr_lines_median * rng.lognormal(0, 0.4, n_teams)
    n_repos = rng.integers(1, 4, n_teams)
    team_repos = [
        [f"acme/{team_names[t]}" + ("" if r == 0 else f"-{r + 1}") for r in range(n_repos[t])]
        for t in range(n_teams)
    ]
    index = np.repeat(np.arange(n_teams), sizes)
    return _Teams(index, team_names, team_tz, team_tok, team_cad, team_pr, team_repos)


def _population(p: FamilyParams, rng: np.random.Generator, domain: str) -> _People:
    """Everyone's team, role, latent traits, rates, habits and identities."""
    n = p.accounts
    teams = _teams(p, rng, n)
    team = teams.index
    role = rng.choice(len(ROLES), n, p=np.array(p.role_weights) / sum(p.role_weights))
    eff = np.array([_ROLE_EFFECTS[r] for r in ROLES])[role]
    # latent traits
    z_app = rng.standard_normal(n)
    rho = p.corr_prod_appetite
    z_prod = rho * z_app + math.sqrt(1 - rho * rho) * rng.standard_normal(n)
    raw = teams.tokens[team] + eff[:, 0] + z_app
    sd = float(raw.std()) if n > 1 and raw.std() > 0 else 1.0
    mu = math.log(p.median_daily_tokens) + p.sd_between * (raw - raw.mean()) / sd
    typical = np.exp(mu)
    lam = (
        p.merge_rate
        * np.exp(p.productivity_sd * z_prod - p.productivity_sd**2 / 2)
        * teams.cadence[team]
        * eff[:, 1]
        * (typical / p.median_daily_tokens) ** p.token_elasticity
    )
    habits = _habits(p, rng, n, teams.pr_lines[team], eff, typical)
    logins, ghs, full = _names(rng, n)
    ids = rng.integers(10_000, 99_999_999, n)
    return _People(
        n=n,
        login=logins,
        email=[f"{lg}@{domain}" for lg in logins],
        gh_login=ghs,
        noreply=[f"{ids[i]}+{ghs[i]}@users.noreply.github.com" for i in range(n)],
        full_name=full,
        team=team,
        team_names=teams.names,
        team_tz=teams.tz,
        team_repos=teams.repos,
        role=role,
        z_prod=z_prod,
        z_app=z_app,
        mu=mu,
        lam=lam,
        maxxer=np.zeros(n, bool),
        **habits,
    )


def _habits(
    p: FamilyParams, rng: np.random.Generator, n: int, team_pr: Arr, eff: Arr, typical: Arr
) -> dict[str, Any]:
    """Merge lags, PR sizes, request mix and size, models, office hours, working days and how
    each person spells themselves in commits (`_People` fields by name)."""
    lag_median = np.clip(p.lag_centre_days * rng.lognormal(0, 0.6, n) * eff[:, 3], 0.3, 10.0)
    late = rng.random(n) < p.late_merger_share
    lag_median = np.where(late, rng.uniform(14, 30, n), lag_median)
    lag_sigma = rng.uniform(0.4, 1.1, n)
    pr_median = team_pr * eff[:, 2] * rng.lognormal(0, 0.3, n)
    out_share = np.clip(p.output_share_centre * rng.lognormal(0, 0.5, n), 0.005, 0.15)
    cache = np.clip(p.cache_read_centre + rng.normal(0, 0.08, n), 0.0, 0.98)
    cw_rest = rng.uniform(0.3, 0.85, n) * np.minimum(1.0, cache / 0.3)
    req_size = (
        p.median_daily_tokens
        / p.requests_per_day
        * np.sqrt(typical / p.median_daily_tokens)
        * rng.lognormal(0, 0.3, n)
    )
    vendor = rng.random()  # anthropic-only, openai-only or both
    m_pool = [0, 1, 2] if vendor < 0.5 else ([3, 4] if vendor < 0.7 else [0, 1, 3])
    model = rng.choice(m_pool, n)
    model2 = rng.choice(m_pool, n)
    day_start = np.clip(rng.normal(9.3, 1.2, n), 6.0, 12.0)
    window = rng.uniform(7.5, 11.0, n)
    think = _loguniform(rng, 15, 150, n)
    brk = rng.uniform(0.02, 0.1, n)
    p_active = np.clip(p.weekday_active + rng.normal(0, 0.06, n), 0.5, 0.995)
    p_weekend = np.where(
        rng.random(n) < p.weekend_worker_share, rng.uniform(0.15, 0.5, n), rng.uniform(0, 0.04, n)
    )
    spelling_w = rng.dirichlet(np.array([3.0, 1.0, 1.5, 1.0, 0.4]), n)
    return {
        "lag_median": lag_median,
        "lag_sigma": lag_sigma,
        "pr_median": pr_median,
        "out_share": out_share,
        "cache": cache,
        "cw_rest": cw_rest,
        "req_size": req_size,
        "model": model,
        "model2": model2,
        "day_start": day_start,
        "window": window,
        "think": think,
        "brk": brk,
        "p_active": p_active,
        "p_weekend": p_weekend,
        "spelling_w": spelling_w,
    }


def _n_maxxers(p: FamilyParams, rng: np.random.Generator) -> int:
    if p.scenario == "honest" or p.maxxer_share <= 0:
        return 0
    expected = p.maxxer_share * p.accounts
    k = int(math.floor(expected) + (rng.random() < expected - math.floor(expected)))
    if p.accounts >= 8:
        k = max(k, 1)
    if p.accounts <= 30:
        k = min(k, 2)
    return min(k, max(p.accounts - 1, 0))


# --------------------------------------------------------------------------------------------
# the segment table: one row per stretch of requests with one timing and one size process


class _Segments:
    """Columns of request segments, appended kind by kind, expanded into requests at the end."""

    NAMES: Final = (
        "person",  # person index; bots are n + b
        "alias",  # index into the usage alias list
        "day",  # day index in the period (UTC-based local day)
        "start",  # seconds from the period start, UTC
        "dur",  # seconds the segment may span
        "n",  # requests
        "k",  # parallel sessions
        "human",  # 1: human gaps (think times and breaks); 0: regular loop
        "cv",  # gap jitter of a regular loop (log-sd)
        "think",  # human median gap (s)
        "brk",  # human break probability
        "lat",  # mean extra latency per request (s, exponential)
        "spread",  # parallel sessions start within this many seconds
        "tokens",  # tokens the segment carries
        "size_cv",  # request-size log-sd; 0 = identical requests
        "out",  # output share
        "cache",  # cache-read share of the prompt
        "cw",  # cache-write share of the rest of the prompt
        "model",
        "kind",
    )

    def __init__(self) -> None:
        self.parts: dict[str, list[Arr]] = {name: [] for name in self.NAMES}

    def add(self, **cols: Any) -> None:
        size = len(cols["person"])
        if size == 0:
            return
        for name in self.NAMES:
            value = np.asarray(cols[name])
            self.parts[name].append(np.broadcast_to(value, (size,)).copy())

    def table(self) -> dict[str, Arr]:
        return {
            name: (np.concatenate(self.parts[name]) if self.parts[name] else np.zeros(0))
            for name in self.NAMES
        }


_KIND_NAMES: Final = ("h", "a", "f", "ci", "oc", "loop", "sw", "pad", "bot")


@dataclass
class _Plan:
    active: Arr  # (n, E) bool
    honest: Arr  # (n, E) honest human tokens
    run_day: Arr  # (n, E) bool: an agent run that day
    merge_mult: Arr  # (n, E) multiplier on the day's merge mean (agent gains, joiner ramp)
    dow: Arr  # (E,) weekday of each extended day
    join_day: Arr  # (n,) period day or -PRE-1
    leave_days: Arr
    switch_day: Arr  # (n,) period day or large
    adoption: list[str | None]
    squash: Arr


def build_org(params: FamilyParams, seed: int, *, daily: bool = False) -> FamilyOrg:
    """Generate one organisation from `params`; deterministic in (params, seed)."""
    p = params
    rng = np.random.Generator(np.random.PCG64(seed))
    people = _population(p, rng, "acme.example")
    n, days = people.n, p.days
    d_idx = np.arange(PRE_DAYS + days) - PRE_DAYS  # period day of each extended day
    dow = (p.start.weekday() + d_idx) % 7
    typical = np.exp(people.mu)
    _choose_maxxers(p, rng, people)
    is_agent = _choose_automation(p, rng, people)
    cal = _calendar(p, rng, people, d_idx, dow)
    honest = _honest_tokens(p, rng, people, cal, d_idx, dow, typical)
    runs = _agent_runs(p, rng, people, is_agent, cal, honest, typical)
    aliases = _aliases(p, rng, people)
    switch_day = aliases.switch_day

    seg = _Segments()
    tz = people.team_tz[people.team]
    pe_p, pe_e = np.nonzero(cal.active[:, PRE_DAYS:])
    _human_segments(seg, rng, people, tz, pe_p, pe_e, honest[pe_p, pe_e + PRE_DAYS], 0, switch_day)
    rp, re_ = np.nonzero(runs.run_day[:, PRE_DAYS:])
    _agent_segments(
        seg, rng, people, tz, rp, re_, honest[rp, re_ + PRE_DAYS], runs.run_mult, switch_day
    )
    _ci_segments(seg, rng, people, tz, days, dow[PRE_DAYS:], n)
    _oncall_segments(seg, rng, p, people, tz, days, switch_day)
    pad_start = _maxxer_segments(seg, rng, p, people, tz, cal.active, dow, typical, switch_day)
    _bot_segments(seg, rng, days, n, aliases.bot)
    req = _expand(seg.table(), rng, days)

    squash = np.where(rng.random(n) < p.squash_share, rng.uniform(0.3, 0.6, n), 0.0)
    plan = _Plan(
        active=cal.active,
        honest=honest,
        run_day=runs.run_day,
        merge_mult=runs.merge_mult,
        dow=dow,
        join_day=cal.join_day,
        leave_days=cal.leave_days,
        switch_day=switch_day,
        adoption=runs.adoption,
        squash=squash,
    )
    commits = _commits(rng, p, people, plan, tz)
    usage = _usage_frame(req, aliases.names, seed, daily, _epoch_ms(p.start))
    identities = _identities(people, aliases)
    truth = _truth(p, people, plan, pad_start, typical)
    return FamilyOrg(usage=usage, commits=commits, identities=identities, truth=truth, params=p)


def _choose_maxxers(p: FamilyParams, rng: np.random.Generator, people: _People) -> None:
    """Who pads, with which tactic, by how much, and whether with the tactic's mechanism."""
    n = people.n
    n_max = _n_maxxers(p, rng)
    maxxers = np.sort(rng.choice(n, n_max, replace=False)) if n_max else np.zeros(0, int)
    people.maxxer[maxxers] = True
    tactic: list[str | None] = [None] * n
    inflation = np.full(n, np.nan)
    mechanism = np.zeros(n, bool)
    tw = np.array(p.tactic_weights) / sum(p.tactic_weights)
    for i in maxxers:
        t = "launch-padder" if p.scenario == "launch" else MIXED_TACTICS[rng.choice(len(tw), p=tw)]
        tactic[i] = t
        inflation[i] = float(_loguniform(rng, *INFLATION_RANGE))
        mechanism[i] = t != "plain-padding" and bool(rng.random() < p.mechanism_prob)
    people.z_prod[maxxers] += p.maxxer_productivity_shift
    people.lam[maxxers] *= math.exp(p.productivity_sd * p.maxxer_productivity_shift)
    people.tactic, people.inflation, people.mechanism = tactic, inflation, mechanism


def _choose_automation(p: FamilyParams, rng: np.random.Generator, people: _People) -> Arr:
    """Honest automation (agent runs, fleets, CI jobs, on-call); returns who runs agents."""
    n = people.n
    honest_idx = np.flatnonzero(~people.maxxer)
    automation: list[str | None] = [None] * n
    n_agents = round(p.agent_share * len(honest_idx))
    if n_agents:
        w = np.exp(0.7 * people.z_app[honest_idx])
        agents = np.sort(rng.choice(honest_idx, n_agents, replace=False, p=w / w.sum()))
        for i in agents:
            u = rng.random()
            automation[i] = (
                "fleet" if u < p.fleet_share else ("overnight" if rng.random() < 0.5 else "all-day")
            )
    free = np.array([i for i in honest_idx if automation[i] is None], dtype=int)
    n_ci = round(p.ci_job_share * len(free))
    if n_ci:
        for i in rng.choice(free, n_ci, replace=False):
            automation[i] = "ci-job"
    sre = ROLES.index("sre")
    if p.oncall:
        for i in honest_idx:
            if automation[i] is None and people.role[i] == sre and rng.random() < 0.7:
                automation[i] = "on-call"
    people.automation = automation
    return np.array([a in ("overnight", "all-day", "fleet") for a in automation])


@dataclass
class _Calendar:
    active: Arr  # (n, E) bool
    leave_days: Arr  # (n,) leave days inside the period
    spike: Arr  # (n, E) token multiple of the days before a leave
    join_day: Arr  # (n,) period day or -PRE-1
    joiner_mult: Arr  # (n, E) a new joiner's heavier tokens
    merge_ramp: Arr  # (n, E) a new joiner's ramping merges


def _calendar(
    p: FamilyParams, rng: np.random.Generator, people: _People, d_idx: Arr, dow: Arr
) -> _Calendar:
    """Active days, holidays, leave (sometimes after a spike) and new joiners."""
    n, e_days = people.n, len(d_idx)
    weekend = dow >= 5
    draw = rng.random((n, e_days))
    active = np.where(
        weekend[None, :], draw < people.p_weekend[:, None], draw < people.p_active[:, None]
    )
    weekdays_in = np.flatnonzero((~weekend) & (d_idx >= 0))
    hol = (
        rng.choice(weekdays_in, min(p.holidays, len(weekdays_in)), replace=False)
        if p.holidays
        else np.zeros(0, int)
    )
    hol_mask = np.zeros(e_days, bool)
    hol_mask[hol] = True
    active &= ~(hol_mask[None, :] & (rng.random((n, e_days)) > 0.05))
    leave_days = np.zeros(n, int)
    spike = np.ones((n, e_days))
    on_leave = rng.random(n) < p.leave_share
    for i in np.flatnonzero(on_leave):
        length = int(rng.integers(5, 22))
        s = int(rng.integers(PRE_DAYS - 5, max(PRE_DAYS - 4, e_days - length // 2)))
        active[i, max(s, 0) : s + length] = False
        leave_days[i] = max(0, min(e_days, s + length) - max(s, PRE_DAYS))
        if rng.random() < 0.3 and s - 2 >= 0:
            spike[i, s - 2 : s] = rng.uniform(1.5, 2.5)
    cal = _Calendar(
        active=active,
        leave_days=leave_days,
        spike=spike,
        join_day=np.full(n, -PRE_DAYS - 1),
        joiner_mult=np.ones((n, e_days)),
        merge_ramp=np.ones((n, e_days)),
    )
    _joiners(p, rng, cal)
    return cal


def _joiners(p: FamilyParams, rng: np.random.Generator, cal: _Calendar) -> None:
    """New joiners: nothing before their first day, heavier tokens and ramping merges after."""
    n, e_days = len(cal.join_day), PRE_DAYS + p.days
    joiners = rng.random(n) < p.joiner_share
    for i in np.flatnonzero(joiners):
        jd = int(rng.integers(min(7, p.days - 1), max(8, int(0.6 * p.days))))
        cal.join_day[i] = jd
        je = jd + PRE_DAYS
        cal.active[i, :je] = False
        t_since = np.arange(e_days) - je
        boost = rng.uniform(1.5, 3.0)
        tau = rng.uniform(10, 30)
        ramp = rng.uniform(14, 42)
        cal.joiner_mult[i] = np.where(t_since >= 0, 1 + (boost - 1) * np.exp(-t_since / tau), 1.0)
        cal.merge_ramp[i] = np.clip(t_since / ramp, 0.0, 1.0)


def _honest_tokens(
    p: FamilyParams,
    rng: np.random.Generator,
    people: _People,
    cal: _Calendar,
    d_idx: Arr,
    dow: Arr,
    typical: Arr,
) -> Arr:
    """Honest human tokens per person and extended day (0 when not active)."""
    n, e_days = people.n, PRE_DAYS + p.days
    dow_mult = np.exp(np.array([0.05, 0.08, 0.05, 0.0, -0.2, -0.5, -0.6]) + rng.normal(0, 0.05, 7))
    day_noise = rng.normal(0, p.sd_within, (n, e_days))
    shock = np.ones(e_days)
    if p.shock_day is not None:
        shock[d_idx >= p.shock_day] = p.shock_mult
    launch = np.ones((n, e_days))
    if p.launch_day is not None:
        per = rng.uniform(1.0, p.launch_honest_mult, n)
        launch[:, d_idx >= p.launch_day] = per[:, None]
        launch[people.maxxer] = 1.0
    honest = (
        typical[:, None]
        * np.exp(day_noise - p.sd_within**2 / 2)
        * dow_mult[dow][None, :]
        * shock[None, :]
        * launch
        * cal.joiner_mult
        * cal.spike
    )
    return np.where(cal.active, honest, 0.0)


@dataclass
class _Runs:
    run_day: Arr  # (n, E) bool: an agent run that day
    run_mult: Arr  # (n,) token multiple of a run day
    merge_mult: Arr  # (n, E) multiplier on the day's merge mean
    adoption: list[str | None]


def _agent_runs(
    p: FamilyParams,
    rng: np.random.Generator,
    people: _People,
    is_agent: Arr,
    cal: _Calendar,
    honest: Arr,
    typical: Arr,
) -> _Runs:
    """Agent run days (with adoption starting or stopping mid-period) and their merge gains."""
    n, e_days = people.n, PRE_DAYS + p.days
    active, days = cal.active, p.days
    run_share = rng.uniform(0, 1, n)
    run_mult = _loguniform(rng, 1.5, 15, n)
    run_gain = np.where(
        np.array([a == "fleet" for a in people.automation]),
        rng.uniform(1.2, 3.0, n),
        rng.uniform(1.1, 2.0, n),
    )
    adoption: list[str | None] = [None] * n
    allowed = np.ones((n, e_days), bool)
    for i in np.flatnonzero(is_agent):
        if rng.random() < p.adoption_change_share:
            a_day = int(rng.integers(days // 5, max(days // 5 + 1, (4 * days) // 5))) + PRE_DAYS
            if rng.random() < 0.5:
                adoption[i] = "start"
                allowed[i, :a_day] = False
            else:
                adoption[i] = "stop"
                allowed[i, a_day:] = False
    run_day = is_agent[:, None] & active & allowed & (rng.random((n, e_days)) < run_share[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        tok_ratio = np.where(active, honest / typical[:, None], 1.0)
    total_ratio = tok_ratio * np.where(run_day, run_mult[:, None], 1.0)
    merge_mult = (
        np.power(np.maximum(total_ratio, 1e-6), p.token_elasticity)
        * np.where(run_day, run_gain[:, None], 1.0)
        * cal.merge_ramp
    )
    return _Runs(run_day, run_mult, merge_mult, adoption)


@dataclass
class _Aliases:
    """The usage aliases: index i is person i's primary alias, n + i their alias after a tool
    switch, 2n + i their CI key, 3n the CI service."""

    names: list[str]
    primary: list[str]
    secondary: list[str]
    ci_key: list[str]
    switch_day: Arr  # (n,) period day or large
    switch_kind: Arr  # (n,) 0 none, 1 api key, 2 new e-mail

    @property
    def bot(self) -> int:
        return len(self.names) - 1


def _aliases(p: FamilyParams, rng: np.random.Generator, people: _People) -> _Aliases:
    """Usage aliases, and tool switches to a second alias (an API key or a new e-mail)."""
    n, days = people.n, p.days
    switch_day = np.full(n, 10**6)
    switch_kind = np.zeros(n, int)
    for i in range(n):
        if rng.random() < p.switch_share:
            switch_day[i] = int(rng.integers(days // 6, max(days // 6 + 1, (5 * days) // 6)))
            switch_kind[i] = 1 if rng.random() < 0.6 else 2
    usage_primary = [people.email[i] if rng.random() < 0.8 else people.login[i] for i in range(n)]
    key_names = [f"key-{people.login[i].replace('.', '-')}-{rng.integers(1, 9)}" for i in range(n)]
    new_mail = [f"{people.login[i].replace('.', '_')}@newco.example" for i in range(n)]
    secondary = [
        key_names[i] if switch_kind[i] == 1 else (new_mail[i] if switch_kind[i] == 2 else "")
        for i in range(n)
    ]
    ci_key = [f"ci-{people.gh_login[i]}" for i in range(n)]
    names = [*usage_primary, *secondary, *ci_key, "svc-ci@acme.example"]
    return _Aliases(names, usage_primary, secondary, ci_key, switch_day, switch_kind)


def _alias_for(people_idx: Arr, day: Arr, switch_day: Arr, n: int) -> Arr:
    return np.where(day >= switch_day[people_idx], people_idx + n, people_idx)


def _human_segments(
    seg: _Segments,
    rng: np.random.Generator,
    people: _People,
    tz: Arr,
    pi: Arr,
    day: Arr,
    tokens: Arr,
    kind: int,
    switch_day: Arr,
    *,
    out: Arr | None = None,
    size_mult: float | Arr = 1.0,
) -> None:
    """Office-hours work with human think times and breaks, one segment per person-day."""
    if len(pi) == 0:
        return
    start_h = people.day_start[pi] + rng.normal(0, 0.6, len(pi))
    size = people.req_size[pi] * size_mult * rng.lognormal(0, 0.2, len(pi))
    nreq = np.maximum(1, np.ceil(tokens / size)).astype(np.int64)
    model = np.where(rng.random(len(pi)) < 0.85, people.model[pi], people.model2[pi])
    seg.add(
        person=pi,
        alias=_alias_for(pi, day, switch_day, people.n),
        day=day,
        start=day * DAY_S + (start_h - tz[pi]) * 3600.0,
        dur=people.window[pi] * 3600.0,
        n=nreq,
        k=1,
        human=1,
        cv=0.0,
        think=people.think[pi],
        brk=people.brk[pi],
        lat=1.0,
        spread=0.0,
        tokens=tokens,
        size_cv=0.8,
        out=people.out_share[pi] if out is None else out,
        cache=people.cache[pi],
        cw=people.cw_rest[pi],
        model=model,
        kind=kind,
    )


def _agent_segments(
    seg: _Segments,
    rng: np.random.Generator,
    people: _People,
    tz: Arr,
    pi: Arr,
    day: Arr,
    honest: Arr,
    run_mult: Arr,
    switch_day: Arr,
) -> None:
    """Unattended agent runs: a polling loop (or a fleet of parallel loops) on run days."""
    if len(pi) == 0:
        return
    n = people.n
    # per-person run habits, drawn for everyone so the stream does not depend on who runs
    poll = _loguniform(rng, 20, 600, n)
    cv = _loguniform(rng, 0.01, 0.6, n)
    run_len = _loguniform(rng, 1, 24, n)
    fleet_k = rng.integers(4, 21, n)
    agent_out = rng.uniform(0.01, 0.15, n)
    agent_cache = people.cache + (0.98 - people.cache) * rng.uniform(0, 0.7, n)
    kinds = np.array([people.automation[i] or "" for i in range(n)])
    kind = kinds[pi]
    fleet = kind == "fleet"
    overnight = kind == "overnight"
    start_h = np.where(
        overnight,
        rng.uniform(18, 23.5, len(pi)),
        np.where(fleet, rng.uniform(9, 15, len(pi)), rng.uniform(8, 11, len(pi))),
    )
    dur_h = np.clip(run_len[pi] * rng.lognormal(0, 0.3, len(pi)), 1, 24)
    dur_h = np.where(fleet, np.minimum(dur_h, 8.0), dur_h)
    k = np.where(fleet, fleet_k[pi], 1)
    nreq = np.maximum(k, np.floor(dur_h * 3600 / poll[pi]) * k).astype(np.int64)
    tokens = honest * (run_mult[pi] - 1.0) * rng.lognormal(0, 0.2, len(pi))
    seg.add(
        person=pi,
        alias=_alias_for(pi, day, switch_day, n),
        day=day,
        start=day * DAY_S + (start_h - tz[pi]) * 3600.0,
        dur=dur_h * 3600.0,
        n=nreq,
        k=k,
        human=0,
        cv=cv[pi],
        think=0.0,
        brk=0.0,
        lat=2.0,
        spread=30.0,
        tokens=tokens,
        size_cv=0.4,
        out=agent_out[pi],
        cache=agent_cache[pi],
        cw=people.cw_rest[pi],
        model=people.model[pi],
        kind=np.where(fleet, 2, 1),
    )


def _ci_segments(
    seg: _Segments,
    rng: np.random.Generator,
    people: _People,
    tz: Arr,
    days: int,
    dow: Arr,
    n: int,
) -> None:
    """CI jobs under a person's API key: cron-phased, near-identical requests, modest volume."""
    owners = [i for i in range(n) if people.automation[i] == "ci-job"]
    for i in owners:
        period = float(rng.choice([5, 10, 15, 20, 30, 60])) * 60.0
        all_day = rng.random() < 0.5
        weekdays_only = rng.random() < 0.6
        phase = float(rng.integers(0, int(period // 60))) * 60.0
        size = float(_loguniform(rng, 2e3, 2e4))
        d = np.arange(days)
        if weekdays_only:
            d = d[dow[d] < 5]
        if len(d) == 0:
            continue
        if all_day:
            start, dur = d * DAY_S + phase, np.full(len(d), float(DAY_S))
        else:
            first = math.floor((8 - tz[i]) * 3600 / period) * period
            start, dur = d * DAY_S + first + phase, np.full(len(d), 10 * 3600.0)
        nreq = np.floor(dur / period).astype(np.int64)
        seg.add(
            person=np.full(len(d), i),
            alias=2 * n + i,
            day=d,
            start=start,
            dur=nreq * period,
            n=nreq,
            k=1,
            human=0,
            cv=0.0005,
            think=0.0,
            brk=0.0,
            lat=float(rng.uniform(0.5, 5)),
            spread=0.0,
            tokens=nreq * size,
            size_cv=0.004,
            out=float(rng.uniform(0.01, 0.05)),
            cache=people.cache[i],
            cw=people.cw_rest[i],
            model=people.model[i],
            kind=3,
        )


def _oncall_segments(
    seg: _Segments,
    rng: np.random.Generator,
    p: FamilyParams,
    people: _People,
    tz: Arr,
    days: int,
    switch_day: Arr,
) -> None:
    """On-call weeks: bursts of human-timed requests in the small hours."""
    oncall = np.array([i for i in range(people.n) if people.automation[i] == "on-call"], int)
    if len(oncall) == 0:
        return
    rot = max(2, len(oncall))
    offset = rng.permutation(rot)[: len(oncall)]
    weeks = (np.arange(days) + p.start.weekday()) // 7  # calendar weeks (Monday first)
    on = ((weeks[None, :] + offset[:, None]) % rot == 0) & (
        rng.random((len(oncall), days)) < p.oncall_night_prob
    )
    oi, day = np.nonzero(on)
    pi = oncall[oi]
    tokens = np.exp(people.mu[pi]) * _loguniform(rng, 0.2, 1.5, len(pi))
    start_h = rng.uniform(0, 4.5, len(pi))
    seg.add(
        person=pi,
        alias=_alias_for(pi, day, switch_day, people.n),
        day=day,
        start=day * DAY_S + (start_h - tz[pi]) * 3600.0,
        dur=rng.uniform(0.5, 3, len(pi)) * 3600.0,
        n=np.maximum(1, np.ceil(tokens / people.req_size[pi])).astype(np.int64),
        k=1,
        human=1,
        cv=0.0,
        think=people.think[pi] * 0.7,
        brk=0.02,
        lat=1.0,
        spread=0.0,
        tokens=tokens,
        size_cv=0.8,
        out=people.out_share[pi],
        cache=people.cache[pi],
        cw=people.cw_rest[pi],
        model=people.model[pi],
        kind=4,
    )


def _loop_segments(
    seg: _Segments,
    rng: np.random.Generator,
    people: _People,
    tz: Arr,
    pi: Arr,
    day: Arr,
    tokens: Arr,
    switch_day: Arr,
    *,
    around_clock: bool,
    cadence: float,
    start_h: float | Arr = 9.0,
    dur_h: float | Arr = 9.0,
) -> None:
    """A padding script: fixed cadence, identical request sizes, tiny output."""
    if len(pi) == 0:
        return
    if around_clock:
        start = day * DAY_S + 0.0
        dur = np.full(len(pi), float(DAY_S))
    else:
        start = day * DAY_S + (start_h - tz[pi]) * 3600.0
        dur = np.broadcast_to(np.asarray(dur_h, float) * 3600.0, (len(pi),)).copy()
    nreq = np.maximum(1, np.floor(dur / cadence)).astype(np.int64)
    seg.add(
        person=pi,
        alias=_alias_for(pi, day, switch_day, people.n),
        day=day,
        start=start,
        dur=nreq * cadence,
        n=nreq,
        k=1,
        human=0,
        cv=0.001,
        think=0.0,
        brk=0.0,
        lat=0.2,
        spread=0.0,
        tokens=tokens,
        size_cv=0.0,
        out=float(rng.uniform(0.001, 0.009)),
        cache=people.cache[pi],
        cw=people.cw_rest[pi],
        model=people.model[pi],
        kind=5,
    )


def _padding(
    rng: np.random.Generator, p: FamilyParams, t: str, mech: bool, act_i: Arr, wd: Arr
) -> tuple[Arr, int, bool]:
    """A tactic's padding calendar: the share of the extra tokens on each period day, the day a
    drip starts, and whether a scripted loop runs around the clock."""
    days = p.days
    period_days = np.arange(days)
    mult = np.zeros(days)  # share of `extra` on each period day
    first = 0
    around = False
    if t == "scripted-loop":
        around = mech and rng.random() < 0.5
        if around:
            mult[:] = 1.0
        elif mech:
            mult[wd < 5] = 1.0
        else:
            mult[act_i] = 1.0
    elif t in ("trivial-merge", "plain-padding"):
        mult[act_i] = 1.0
    elif t == "swarm-idler":
        mult[act_i & (rng.random(days) < rng.uniform(0.5, 1.0))] = 1.0
    elif t == "drip-feeder":
        first = int(rng.integers(0, max(1, days // 3)))
        ramp = float(rng.uniform(21, 56))
        mult = np.clip((period_days - first) / ramp, 0, 1) * act_i
    elif t == "snapshot-gamer":
        spike_wd = (p.snapshot_weekday - 1) % 7
        if mech:
            mult[wd == spike_wd] = 5.0
        else:
            for back in (1, 2, 3):
                mult[wd == (p.snapshot_weekday - back) % 7] = 5.0 / 3.0
    elif t == "intermittent":
        week = (period_days + p.start.weekday()) // 7  # calendar weeks (Monday first)
        n_weeks = int(week[-1]) + 1
        padded = rng.random(n_weeks) < rng.uniform(0.3, 0.5)
        if not padded.any():
            padded[rng.integers(0, n_weeks)] = True
        mult[padded[week] & act_i] = 1.0
    elif t == "launch-padder":
        first = p.launch_day if p.launch_day is not None else days // 2
        mult[(period_days >= first) & act_i] = 1.0
    return mult, first, around


def _maxxer_segments(
    seg: _Segments,
    rng: np.random.Generator,
    p: FamilyParams,
    people: _People,
    tz: Arr,
    active: Arr,
    dow: Arr,
    typical: Arr,
    switch_day: Arr,
) -> list[date | None]:
    """Each maxxer's padding on top of their honest work; returns each person's pad start."""
    pad_start: list[date | None] = [None] * people.n
    act = active[:, PRE_DAYS:]
    wd = dow[PRE_DAYS:]
    for i in np.flatnonzero(people.maxxer):
        t = str(people.tactic[i])
        k = float(people.inflation[i])
        mech = bool(people.mechanism[i])
        extra = (k - 1.0) * typical[i]
        cadence = float(_loguniform(rng, 10, 300))
        mult, first, around = _padding(rng, p, t, mech, act[i], wd)
        # trivial merges, plain padding and swarms have their own timing
        style_loop = mech and t not in ("trivial-merge", "plain-padding", "swarm-idler")
        padded_days = np.flatnonzero(mult > 0)
        if len(padded_days):
            first = int(padded_days[0]) if t != "drip-feeder" else first
            pad_start[i] = p.start + timedelta(days=first)
        if len(padded_days) == 0:
            continue
        tokens = extra * mult[padded_days] * rng.lognormal(0, 0.15, len(padded_days))
        pi = np.full(len(padded_days), i)
        if t == "swarm-idler":
            _swarm(seg, rng, people, tz, pi, padded_days, tokens, switch_day, mech)
        elif style_loop:
            if t == "snapshot-gamer":
                _loop_segments(
                    seg, rng, people, tz, pi, padded_days, tokens, switch_day,
                    around_clock=False, cadence=cadence,
                    start_h=float(rng.uniform(8, 14)), dur_h=float(rng.uniform(2, 8)),
                )  # fmt: skip
            else:
                _loop_segments(
                    seg, rng, people, tz, pi, padded_days, tokens, switch_day,
                    around_clock=around, cadence=cadence,
                    start_h=people.day_start[i], dur_h=people.window[i],
                )  # fmt: skip
        else:
            low_out = t == "scripted-loop"
            out = np.full(len(pi), float(rng.uniform(0.001, 0.009))) if low_out else None
            _human_segments(
                seg, rng, people, tz, pi, padded_days, tokens, 7, switch_day,
                out=out, size_mult=float(rng.uniform(1.0, 3.0)),
            )  # fmt: skip
    return pad_start


def _swarm(
    seg: _Segments,
    rng: np.random.Generator,
    people: _People,
    tz: Arr,
    pi: Arr,
    day: Arr,
    tokens: Arr,
    switch_day: Arr,
    mech: bool,
) -> None:
    """Many toy-task sessions: launched together (mechanism) or one after another."""
    i = int(pi[0])
    width = int(rng.integers(5, 31)) if mech else 1
    poll = float(rng.uniform(30, 120))
    start_h = people.day_start[i] + rng.uniform(0, 4, len(pi))
    dur_h = rng.uniform(1, 6, len(pi))
    nreq = np.maximum(width, np.floor(dur_h * 3600 / poll) * width).astype(np.int64)
    seg.add(
        person=pi,
        alias=_alias_for(pi, day, switch_day, people.n),
        day=day,
        start=day * DAY_S + (start_h - tz[pi]) * 3600.0,
        dur=dur_h * 3600.0,
        n=nreq,
        k=width,
        human=0 if mech else 1,
        cv=0.3,
        think=poll,
        brk=0.08,
        lat=2.0,
        spread=20.0,
        tokens=tokens,
        size_cv=0.5,
        out=float(rng.uniform(0.001, 0.009)),
        cache=np.minimum(0.98, people.cache[pi] + 0.1),
        cw=people.cw_rest[pi],
        model=people.model[pi],
        kind=6,
    )


def _bot_segments(seg: _Segments, rng: np.random.Generator, days: int, n: int, alias: int) -> None:
    """The CI service account: a cron job every day, all day."""
    period = float(rng.choice([5, 10, 15, 30])) * 60.0
    d = np.arange(days)
    nreq = np.full(days, int(DAY_S // period), dtype=np.int64)
    size = float(_loguniform(rng, 3e3, 3e4))
    seg.add(
        person=np.full(days, n),
        alias=alias,
        day=d,
        start=d * DAY_S + float(rng.integers(0, int(period))),
        dur=nreq * period,
        n=nreq,
        k=1,
        human=0,
        cv=0.0005,
        think=0.0,
        brk=0.0,
        lat=1.0,
        spread=0.0,
        tokens=nreq * size,
        size_cv=0.003,
        out=0.02,
        cache=0.5,
        cw=0.5,
        model=2,
        kind=8,
    )


# --------------------------------------------------------------------------------------------
# requests


def _group_excl_cumsum(values: Arr, new_group: Arr) -> tuple[Arr, Arr, Arr]:
    """Exclusive cumulative sum within contiguous groups; group totals; group index per row."""
    starts = np.flatnonzero(new_group)
    grp = np.cumsum(new_group) - 1
    cs = np.cumsum(values)
    before = cs[starts] - values[starts]
    excl = cs - values - before[grp]
    totals = np.add.reduceat(values, starts) if len(starts) else np.zeros(0)
    return excl, totals, grp


def _expand(s: dict[str, Arr], rng: np.random.Generator, days: int) -> pl.DataFrame:
    """Segments → requests (numeric columns), capped at CAP_REQUESTS per account-day.

    Segments are expanded in chunks of about a million requests (memory stays small and fast);
    the chunking depends only on the segment table, so the result is deterministic.
    """
    n = s["n"].astype(np.int64)
    # the cap: scale every segment of an account-day down alike; sizes grow to keep the tokens
    key = s["alias"].astype(np.int64) * (days + 2) + s["day"].astype(np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    per_day = np.bincount(inv, weights=n, minlength=len(uniq))
    factor = np.minimum(1.0, CAP_REQUESTS / np.maximum(per_day, 1))[inv]
    n = np.maximum(1, np.floor(n * factor)).astype(np.int64)
    k = np.minimum(np.maximum(1, s["k"].astype(np.int64)), n)
    s = {**s, "n": n, "k": k, "mean": s["tokens"] / n, "m": -(-n // k)}
    chunk = (np.cumsum(n) - n) // 2**20
    bounds = [0, *(np.flatnonzero(np.diff(chunk)) + 1).tolist(), len(n)]
    parts = [_expand_chunk(s, lo, hi, rng, days) for lo, hi in itertools.pairwise(bounds)]
    return pl.concat(parts, rechunk=False)


def _expand_chunk(
    s: dict[str, Arr], lo: int, hi: int, rng: np.random.Generator, days: int
) -> pl.DataFrame:
    n = s["n"][lo:hi]
    total = int(n.sum())
    local = np.repeat(np.arange(hi - lo), n)
    sid = local + lo
    j = np.arange(total) - (np.cumsum(n) - n)[local]

    def col(name: str) -> Arr:
        return s[name][lo:hi][local]

    m = col("m")
    sess = j // m
    step = j - sess * m
    human = col("human") > 0
    z = rng.standard_normal(total)
    is_break = human & (rng.random(total) < col("brk"))
    gaps = np.where(human, col("think"), 1.0) * np.exp(np.where(human, 1.0, col("cv")) * z)
    n_break = int(is_break.sum())
    gaps[is_break] = rng.lognormal(math.log(1800), 0.7, n_break)
    new_group = step == 0
    excl, totals, grp = _group_excl_cumsum(gaps, new_group)
    brk_cum, _, _ = _group_excl_cumsum(is_break.astype(float), new_group)
    dur = col("dur")
    tot = np.maximum(totals[grp], 1e-9)
    # a regular loop spreads its requests evenly over the segment; human work runs from its
    # start (plus a random slack when it is shorter than the window) and is squeezed when longer
    slack = rng.random(len(totals))[grp]
    hum_t = excl * np.minimum(1.0, dur / tot) + np.maximum(0.0, dur - tot) * slack * 0.5
    reg_t = excl / tot * dur
    launch = rng.random(len(totals))[grp] * col("spread")
    t = (
        col("start")
        + np.where(human, hum_t, reg_t)
        + launch
        + col("lat") * rng.exponential(1.0, total)
    )
    session = sess + brk_cum.astype(np.int64)
    # sizes: identical requests when size_cv is 0
    size_cv = col("size_cv")
    varied = size_cv > 0
    tok = col("mean") * np.exp(size_cv * rng.standard_normal(total) - size_cv**2 / 2)
    out_share = col("out")
    cache = col("cache")
    nv = int(varied.sum())
    out_share[varied] *= np.exp(0.3 * rng.standard_normal(nv))
    cache[varied] = np.clip(cache[varied] + 0.03 * rng.standard_normal(nv), 0, 0.995)
    tok_i = np.maximum(0, np.rint(tok)).astype(np.int64)
    out = np.minimum(tok_i, np.rint(tok_i * np.clip(out_share, 0, 0.9)).astype(np.int64))
    prompt = tok_i - out
    cr = np.rint(prompt * cache).astype(np.int64)
    cw = np.rint((prompt - cr) * col("cw")).astype(np.int64)
    inp = prompt - cr - cw
    keep = (t >= 0) & (t < days * DAY_S)
    model = col("model")[keep].astype(np.int64)
    price = PRICES[model]
    inp, out, cr, cw = inp[keep], out[keep], cr[keep], cw[keep]
    cost = (inp * price[:, 0] + out * price[:, 1] + cr * price[:, 2] + cw * price[:, 3]) / 1e6
    return pl.DataFrame(
        {
            "ms": np.floor(t[keep] * 1000).astype(np.int64),
            "alias": col("alias")[keep].astype(np.int64),
            "input_tokens": inp,
            "output_tokens": out,
            "cache_read_tokens": cr,
            "cache_write_tokens": cw,
            "model": model,
            "cost_usd": np.round(cost, 6),
            "seg": sid[keep].astype(np.int64),
            "session": session[keep],
            "kind": col("kind")[keep].astype(np.int64),
        }
    )


def _usage_frame(
    frame: pl.DataFrame, alias_names: list[str], seed: int, daily: bool, epoch_ms: int
) -> pl.DataFrame:
    # requests are generated segment by segment, so a stable sort on (time, alias) keeps the
    # segment and position order for ties
    frame = frame.sort("ms", "alias", maintain_order=True)
    names = pl.Series("names", alias_names, dtype=pl.String)
    models = pl.Series("models", list(MODELS), dtype=pl.String)
    kinds = pl.Series("kinds", list(_KIND_NAMES), dtype=pl.String)
    if daily:
        tokens = (
            pl.col("input_tokens")
            + pl.col("output_tokens")
            + pl.col("cache_read_tokens")
            + pl.col("cache_write_tokens")
        )
        day = (pl.col("ms") // (DAY_S * 1000)).alias("day")
        main_model = (
            frame.with_columns(day, tokens.alias("_tok"))
            .group_by("alias", "day", "model")
            .agg(pl.col("_tok").sum())
            .sort(["alias", "day", "_tok", "model"], descending=[False, False, True, False])
            .unique(["alias", "day"], keep="first", maintain_order=True)
            .select("alias", "day", "model")
        )
        agg = (
            frame.with_columns(day)
            .group_by("alias", "day")
            .agg(
                pl.col("input_tokens").sum(),
                pl.col("output_tokens").sum(),
                pl.col("cache_read_tokens").sum(),
                pl.col("cache_write_tokens").sum(),
                # whole micro-dollars add up exactly, in any order
                (pl.col("cost_usd") * 1e6).round().cast(pl.Int64).sum().alias("cost_usd"),
                pl.len().cast(pl.Int64).alias("requests"),
            )
            .join(main_model, on=["alias", "day"], how="left")
            .sort("day", "alias")
        )
        return agg.select(
            pl.from_epoch(pl.col("day") * DAY_S + epoch_ms // 1000, time_unit="s")
            .dt.strftime("%Y-%m-%d")
            .alias("timestamp"),
            _gather(names, "alias").alias("account"),
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            _gather(models, "model").alias("model"),
            (pl.col("cost_usd") / 1e6).round(6),
            "requests",
        )
    return pl.DataFrame(
        [
            pl.from_epoch(frame["ms"] + epoch_ms, time_unit="ms")
            .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
            .alias("timestamp"),
            names.gather(frame["alias"]).alias("account"),
            frame["input_tokens"],
            frame["output_tokens"],
            frame["cache_read_tokens"],
            frame["cache_write_tokens"],
            models.gather(frame["model"]).alias("model"),
            frame["cost_usd"],
            (
                f"r{seed}-" + pl.int_range(frame.height, dtype=pl.Int64, eager=True).cast(pl.String)
            ).alias("request_id"),
            (
                "s"
                + kinds.gather(frame["kind"])
                + "-"
                + frame["seg"].cast(pl.String)
                + "-"
                + frame["session"].cast(pl.String)
            ).alias("session_id"),
        ]
    )


def _epoch_ms(start: date) -> int:
    """Milliseconds from 1970 to the period's first midnight, UTC."""
    return int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()) * 1000


def _gather(values: pl.Series, index_col: str) -> pl.Expr:
    """Integer codes → their names."""
    return pl.col(index_col).replace_strict(
        list(range(len(values))), values.to_list(), return_dtype=pl.String
    )


# --------------------------------------------------------------------------------------------
# merged output


def _spellings(people: _People, i: int) -> list[str]:
    email = people.email[i]
    local, _, dom = email.partition("@")
    upper_email = ".".join(w.title() for w in local.split(".")) + "@" + dom.title()
    return [email, people.gh_login[i], people.noreply[i], upper_email, people.gh_login[i].upper()]


def _message(rng: np.random.Generator, team: str) -> str:
    kind = ("feat", "fix", "refactor", "chore", "perf", "test", "docs")[
        int(rng.choice(7, p=[0.35, 0.3, 0.12, 0.08, 0.05, 0.07, 0.03]))
    ]
    verb = ("add", "handle", "rework", "speed up", "cover", "remove", "support")[
        int(rng.integers(0, 7))
    ]
    w1, w2 = rng.choice(len(_FEATURE_WORDS), 2, replace=False)
    return f"{kind}({team}): {verb} {_FEATURE_WORDS[w1]} {_FEATURE_WORDS[w2]}"


_Row = tuple[float, int, int, int, int, str, str, int]
# (seconds, person, spelling, added, deleted, message, repo, is_trivial)


def _commits(
    rng: np.random.Generator, p: FamilyParams, people: _People, plan: _Plan, tz: Arr
) -> pl.DataFrame:
    """Every merged change of the period: people's work, trivial-merge padding, reverts, bots."""
    members: dict[int, list[int]] = {}
    for i in range(people.n):
        members.setdefault(int(people.team[i]), []).append(i)
    rows = _work_merges(rng, p, people, plan, tz, members)
    rows += _trivial_merges(rng, p, people, plan, tz)
    rows = [r for r in rows if 0 <= r[0] < p.days * DAY_S]
    rows.sort(key=lambda r: (r[0], r[1], r[6], r[5]))
    out = _with_reverts(rng, p, people, rows, members)
    out += _bot_commits(rng, p, people)
    return _commit_frame(rng, p, out)


def _work_merges(
    rng: np.random.Generator,
    p: FamilyParams,
    people: _People,
    plan: _Plan,
    tz: Arr,
    members: dict[int, list[int]],
) -> list[_Row]:
    """Units of work per person-day (gamma-Poisson), each merged after a lag in office hours,
    some squashed under a teammate's name."""
    n, days = people.n, p.days
    e_days = PRE_DAYS + days
    mean = people.lam[:, None] * plan.active * plan.merge_mult
    frailty = rng.gamma(p.nb_dispersion, 1.0 / p.nb_dispersion, (n, e_days))
    units = rng.poisson(mean * frailty)
    pi, e = np.nonzero(units)
    reps = units[pi, e]
    pi, e = np.repeat(pi, reps), np.repeat(e, reps)
    m = len(pi)
    lag = np.exp(np.log(people.lag_median[pi]) + people.lag_sigma[pi] * rng.standard_normal(m))
    mday = np.floor(e - PRE_DAYS + rng.uniform(0.3, 0.8, m) + lag).astype(np.int64)
    wd = (p.start.weekday() + mday) % 7
    slip = (wd >= 5) & (rng.random(m) < 0.85)
    mday = np.where(slip, mday + (7 - wd), mday)
    hour = rng.uniform(9.5, 18.5, m)
    t = mday * DAY_S + (hour - tz[pi]) * 3600.0
    lines = np.maximum(
        1,
        np.rint(np.exp(np.log(people.pr_median[pi]) + p.pr_lines_sigma * rng.standard_normal(m))),
    ).astype(np.int64)
    add_share = rng.beta(4, 2, m)
    rows: list[_Row] = []
    in_period = (t >= 0) & (t < days * DAY_S)
    repo_pick = rng.random(m)
    spell_u = rng.random(m)
    squash_u = rng.random(m)
    for r in np.flatnonzero(in_period):
        i = int(pi[r])
        team = int(people.team[i])
        repos = people.team_repos[team]
        repo = "acme/shared" if repo_pick[r] < 0.08 else repos[int(repo_pick[r] * len(repos))]
        msg = _message(rng, people.team_names[team])
        author = i
        if plan.squash[i] > 0 and squash_u[r] < plan.squash[i] and len(members[team]) > 1:
            mates = [x for x in members[team] if x != i]
            author = mates[int(rng.integers(0, len(mates)))]
            if rng.random() < 0.5:
                msg += f"\n\nCo-authored-by: {people.full_name[i]} <{people.email[i]}>"
        spell = int(np.searchsorted(np.cumsum(people.spelling_w[author]), spell_u[r]))
        added = int(np.rint(lines[r] * add_share[r]))
        rows.append(
            (float(t[r]), author, min(spell, 4), added, int(lines[r] - added), msg, repo, 0)
        )
    return rows


def _trivial_merges(
    rng: np.random.Generator, p: FamilyParams, people: _People, plan: _Plan, tz: Arr
) -> list[_Row]:
    """Trivial-merge padders: many small merges so the counts look normal."""
    rows: list[_Row] = []
    for i in np.flatnonzero(people.maxxer).tolist():
        if people.tactic[i] != "trivial-merge":
            continue
        rate = p.merge_rate * float(rng.uniform(0.7, 1.5))
        act_days = np.flatnonzero(plan.active[i, PRE_DAYS:])
        counts = rng.poisson(rate, len(act_days))
        team = int(people.team[i])
        for d, c in zip(act_days, counts, strict=True):
            for _ in range(int(c)):
                if people.mechanism[i]:
                    total = int(rng.integers(1, 4))
                    msg = _TRIVIAL_MSGS[int(rng.integers(0, len(_TRIVIAL_MSGS)))]
                else:
                    total = int(rng.integers(5, 21))
                    msg = _SMALL_MSGS[int(rng.integers(0, len(_SMALL_MSGS)))]
                added = int(rng.integers(0, total + 1))
                sec = float(d * DAY_S + (rng.uniform(9.5, 18.5) - tz[i]) * 3600.0)
                sec += float(np.floor(rng.uniform(0, 1.5))) * DAY_S
                spell = int(np.searchsorted(np.cumsum(people.spelling_w[i]), rng.random()))
                repo = people.team_repos[team][int(rng.integers(0, len(people.team_repos[team])))]
                rows.append((sec, i, min(spell, 4), added, total - added, msg, repo, 1))
    return rows


def _with_reverts(
    rng: np.random.Generator,
    p: FamilyParams,
    people: _People,
    rows: list[_Row],
    members: dict[int, list[int]],
) -> list[dict[str, object]]:
    """The rows as commits, each followed by its revert when it is reverted inside the period
    (trivial merges more often, by the author or sometimes a teammate)."""
    days = p.days
    shas = [_sha(rng) for _ in rows]
    revert_p = np.array(
        [p.revert_rate if r[7] == 0 else (0.15 if people.mechanism[r[1]] else 0.05) for r in rows]
    )
    revert_u = rng.random(len(rows))
    out: list[dict[str, object]] = []
    for idx, (sec, author, spell, added, deleted, msg, repo, _triv) in enumerate(rows):
        files = 1 + int(rng.poisson(math.sqrt(added + deleted) / 2))
        out.append(
            _commit_row(
                sec, _spellings(people, author)[spell], added, deleted, shas[idx], repo, files, msg
            )
        )
        if revert_u[idx] < revert_p[idx]:
            rsec = sec + float(rng.uniform(0.05, 10)) * DAY_S
            if rsec < days * DAY_S:
                reverter = author
                team = int(people.team[author])
                if rng.random() < 0.3 and len(members[team]) > 1:
                    reverter = members[team][int(rng.integers(0, len(members[team])))]
                first_line = msg.split("\n")[0]
                rmsg = f'Revert "{first_line}"\n\nThis reverts commit {shas[idx]}.'
                rspell = _spellings(people, reverter)[int(rng.integers(0, 3))]
                out.append(_commit_row(rsec, rspell, deleted, added, _sha(rng), repo, files, rmsg))
    return out


def _commit_frame(
    rng: np.random.Generator, p: FamilyParams, out: list[dict[str, object]]
) -> pl.DataFrame:
    """Commits in time order with canonical columns; PR numbers count up per repository."""
    frame = pl.DataFrame(
        out,
        schema={
            "ms": pl.Int64,
            "author": pl.String,
            "lines_added": pl.Int64,
            "lines_deleted": pl.Int64,
            "sha": pl.String,
            "repo": pl.String,
            "files_changed": pl.Int64,
            "message": pl.String,
        },
        orient="row",
    ).sort("ms", "repo", "sha")
    base = {repo: int(rng.integers(100, 5000)) for repo in sorted(set(frame["repo"].to_list()))}
    frame = frame.with_columns(
        (
            pl.int_range(pl.len()).over("repo")
            + pl.col("repo").replace_strict(base, return_dtype=pl.Int64)
        ).alias("_num")
    )
    return frame.select(
        pl.from_epoch(pl.col("ms") + _epoch_ms(p.start), time_unit="ms")
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        .alias("merged_at"),
        "author",
        "lines_added",
        "lines_deleted",
        "sha",
        pl.format("{}#{}", pl.col("repo"), pl.col("_num")).alias("pr_id"),
        "files_changed",
        "message",
        "repo",
    )


def _sha(rng: np.random.Generator) -> str:
    return "".join(f"{int(x):08x}" for x in rng.integers(0, 2**32, 5, dtype=np.uint64))


def _commit_row(
    sec: float, author: str, added: int, deleted: int, sha: str, repo: str, files: int, msg: str
) -> dict[str, object]:
    return {
        "ms": math.floor(sec) * 1000,
        "author": author,
        "lines_added": int(added),
        "lines_deleted": int(deleted),
        "sha": sha,
        "repo": repo,
        "files_changed": int(files),
        "message": msg,
    }


_BOTS: Final = (
    ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
    ("renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com"),
)
_PACKAGES: Final = _words("requests urllib3 lodash react pytest numpy axios protobuf grpcio boto3")


def _bot_commits(
    rng: np.random.Generator, p: FamilyParams, people: _People
) -> list[dict[str, object]]:
    repos = sorted({r for rs in people.team_repos for r in rs} | {"acme/shared"})
    out: list[dict[str, object]] = []
    renovate = rng.random() < 0.3
    for b, (login, noreply) in enumerate(_BOTS):
        if b == 1 and not renovate:
            continue
        rate = float(rng.uniform(0.2, 1.5))
        for d in range(p.days):
            if (p.start.weekday() + d) % 7 >= 5:
                continue
            for _ in range(int(rng.poisson(rate))):
                pkg = _PACKAGES[int(rng.integers(0, len(_PACKAGES)))]
                a, b2, c = (int(x) for x in rng.integers(0, 20, 3))
                msg = f"Bump {pkg} from {a}.{b2}.{c} to {a}.{b2}.{c + 1}"
                added = int(rng.integers(1, 40))
                sec = d * DAY_S + float(rng.uniform(0, DAY_S))
                author = login if rng.random() < 0.7 else noreply
                repo = repos[int(rng.integers(0, len(repos)))]
                out.append(_commit_row(sec, author, added, added, _sha(rng), repo, 1, msg))
    # weekly release commits by the CI service account
    for d in range(int(rng.integers(0, 7)), p.days, 7):
        sec = d * DAY_S + float(rng.uniform(0, DAY_S))
        msg = f"chore(release): v1.{d // 7}.{int(rng.integers(0, 10))}"
        repo = repos[int(rng.integers(0, len(repos)))]
        out.append(_commit_row(sec, "svc-ci@acme.example", 2, 2, _sha(rng), repo, 2, msg))
    return out


# --------------------------------------------------------------------------------------------
# identities and truth


def _identities(people: _People, al: _Aliases) -> pl.DataFrame:
    """Every spelling of every person, their usage aliases, the bots."""
    usage_primary, secondary, ci_key = al.primary, al.secondary, al.ci_key
    switch_kind, automation = al.switch_kind, people.automation
    rows: list[tuple[str, str, str, str]] = []
    for i in range(people.n):
        account = people.login[i]
        team = people.team_names[int(people.team[i])]
        role = ROLES[int(people.role[i])]
        aliases = [account, usage_primary[i], *_spellings(people, i)]
        if switch_kind[i]:
            aliases.append(secondary[i])
        if automation[i] == "ci-job":
            aliases.append(ci_key[i])
        seen: set[str] = set()
        for alias in aliases:
            if alias not in seen:
                seen.add(alias)
                rows.append((alias, account, team, role))
    for alias in ("svc-ci@acme.example", "ci-service"):
        rows.append((alias, "ci-service", "infra", "bot"))
    for login, noreply in _BOTS:
        rows.append((login, login, "infra", "bot"))
        rows.append((noreply, login, "infra", "bot"))
    return pl.DataFrame(rows, schema=list(IDENTITY_COLUMNS), orient="row").sort("account", "alias")


def _archetype(people: _People, plan: _Plan, i: int) -> str:
    if people.maxxer[i]:
        return str(people.tactic[i])
    auto = people.automation[i]
    if auto is not None:
        return {
            "overnight": "agent-overnight",
            "all-day": "agent-all-day",
            "fleet": "agent-fleet",
            "ci-job": "ci-job-owner",
            "on-call": "on-call",
        }[auto]
    if people.lag_median[i] >= 14:
        return "late-merger"
    if plan.join_day[i] >= 0:
        return "new-joiner"
    if plan.leave_days[i] > 0:
        return "on-leave"
    if plan.squash[i] > 0:
        return "squash-victim"
    role = ROLES[int(people.role[i])]
    return {"research": "researcher"}.get(role, role)


def _truth(
    p: FamilyParams, people: _People, plan: _Plan, pad_start: list[date | None], typical: Arr
) -> pl.DataFrame:
    n = people.n
    maxxer = [bool(x) for x in people.maxxer]
    frame = pl.DataFrame(
        {
            "account": people.login,
            "archetype": [_archetype(people, plan, i) for i in range(n)],
            "is_maxxer": maxxer,
            "tactic": people.tactic,
            "inflation": [
                round(float(people.inflation[i]), 4) if maxxer[i] else None for i in range(n)
            ],
            "mechanism": [bool(people.mechanism[i]) if maxxer[i] else None for i in range(n)],
            "pad_start": pad_start,
            "automation": people.automation,
            "team": [people.team_names[int(t)] for t in people.team],
            "role": [ROLES[int(r)] for r in people.role],
            "z_productivity": [round(float(x), 4) for x in people.z_prod],
            "z_appetite": [round(float(x), 4) for x in people.z_app],
            "typical_daily_tokens": [int(x) for x in np.rint(typical)],
            "merge_rate": [round(float(x), 4) for x in people.lam],
            "lag_median_days": [round(float(x), 3) for x in people.lag_median],
            "adoption": plan.adoption,
            "join_date": [
                p.start + timedelta(days=int(d)) if d >= 0 else None for d in plan.join_day
            ],
            "leave_days": [int(x) for x in plan.leave_days],
            "switch_date": [
                p.start + timedelta(days=int(d)) if d < p.days else None for d in plan.switch_day
            ],
            "squash_share": [round(float(x), 4) for x in plan.squash],
        },
        schema={
            "account": pl.String,
            "archetype": pl.String,
            "is_maxxer": pl.Boolean,
            "tactic": pl.String,
            "inflation": pl.Float64,
            "mechanism": pl.Boolean,
            "pad_start": pl.Date,
            "automation": pl.String,
            "team": pl.String,
            "role": pl.String,
            "z_productivity": pl.Float64,
            "z_appetite": pl.Float64,
            "typical_daily_tokens": pl.Int64,
            "merge_rate": pl.Float64,
            "lag_median_days": pl.Float64,
            "adoption": pl.String,
            "join_date": pl.Date,
            "leave_days": pl.Int64,
            "switch_date": pl.Date,
            "squash_share": pl.Float64,
        },
    )
    return frame.sort("account")


# --------------------------------------------------------------------------------------------
# files and the command line


def write_family_org(org: FamilyOrg, outdir: Path, *, fmt: str = "parquet") -> dict[str, Path]:
    """Write usage, commits and truth as `fmt` (parquet or csv), identities as CSV, params.json."""
    if fmt not in ("parquet", "csv"):
        raise ValueError("fmt must be 'parquet' or 'csv'")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, frame in (("usage", org.usage), ("commits", org.commits), ("truth", org.truth)):
        path = outdir / f"{name}.{fmt}"
        if fmt == "parquet":
            frame.write_parquet(path, statistics=False)
        else:
            frame.write_csv(path)
        paths[name] = path
    paths["identities"] = outdir / "identities.csv"
    org.identities.write_csv(paths["identities"])
    paths["params"] = outdir / "params.json"
    paths["params"].write_text(json.dumps(org.params.as_dict(), indent=2, sort_keys=True) + "\n")
    return paths


def summary(org: FamilyOrg) -> str:
    """A few lines for people: size, volume and who the tokenmaxxers are."""
    truth = org.truth
    requests = (
        int(org.usage["requests"].sum()) if "requests" in org.usage.columns else org.usage.height
    )
    lines = [
        f"scenario {org.params.scenario}: {truth.height} people, {org.params.days} days "
        f"from {org.params.start.isoformat()}",
        f"usage rows {org.usage.height}, requests {requests}, merges {org.commits.height}",
        f"maxxers {int(truth['is_maxxer'].sum())}",
    ]
    per = (
        truth.filter(pl.col("is_maxxer"))
        .group_by("tactic")
        .agg(pl.len().alias("n"), pl.col("mechanism").sum().alias("mech"))
        .sort("tactic")
    )
    for tactic, count, mech in per.iter_rows():
        lines.append(f"  {tactic}: {count} ({mech} with mechanism)")
    auto = truth.filter(pl.col("automation").is_not_null()).group_by("automation").len()
    for kind, count in auto.sort("automation").iter_rows():
        lines.append(f"  honest automation {kind}: {count}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tokenaudit.synthetic.families",
        description="Draw and write one synthetic organisation of a family.",
    )
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", choices=SCENARIOS, default="mixed")
    parser.add_argument("--accounts", type=int, default=None)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--maxxer-share", type=float, default=None)
    parser.add_argument("--daily", action="store_true")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    args = parser.parse_args(argv)
    params = draw_params(
        args.seed,
        scenario=args.scenario,
        accounts=args.accounts,
        days=args.days,
        maxxer_share=args.maxxer_share,
    )
    org = build_org(params, args.seed, daily=args.daily)
    paths = write_family_org(org, args.outdir, fmt=args.format)
    print(summary(org))
    print("wrote " + ", ".join(str(path) for path in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
