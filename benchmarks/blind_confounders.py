"""A blind test family of realistic confounders: organisations scanned with the real CLI.

Written from the input contract only (README's input formats, the identities file, `scan
--help`), without reading tokenaudit's source or its generators. Each organisation draws its
parameters from wide ranges: identity mess (commit aliases and usage keys partly unmapped), merge
lag and censoring, joiners, leavers, vacations, part-timers, non-coding roles (labelled or not),
honest heavy automation (overnight agents, fleets, CI jobs and review bots under a person's key,
big-context work), time zones UTC-8 … UTC+9, and org-wide events (hackathon, release freeze, a
model rollout doubling tokens). "mixed" and "launch" organisations hold 3-15 % tokenmaxxers
(×2-×100, log-uniform): loops, trivial PRs, padding, idle sessions, padding before leaderboard
snapshots; in "launch" they start on the leaderboard's launch day, scanned with and without
`--change-date`. The truth table sits beside, never inside, the scanned folder.

Usage:
    python benchmarks/blind_confounders.py [--orgs 4] [--sizes 60,200]
        [--scenarios honest,mixed,launch] [--seed 1] [--root /tmp/confounders] [--reuse]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

DAY = 86400


def words(s: str) -> list[str]:
    return s.split()


TZS = [-8.0, -7.0, -6.0, -5.0, -4.0, -3.0, 0.0, 1.0, 2.0, 3.0, 5.5, 8.0, 9.0]
FIRST = words(
    "ana ben carla dev eli fatima gus hana ivan jun kofi lena mateo nia omar priya quinn rosa sven tara ugo vera wei xena yusuf zoe"
)
LAST = words(
    "abe berg chen diaz eze fox gupta hart ito jensen kim lund moreau nakamura okafor park quist rossi silva tanaka ueda varga wong xu young zhou"
)
# role: (merged changes per active day relative to an engineer, token multiplier range)
NONCODING = {
    "manager": (0.03, 0.8, 4.0),
    "designer": (0.06, 0.6, 3.0),
    "data_scientist": (0.10, 1.0, 5.0),
    "support": (0.05, 0.8, 3.0),
}
AUTOMATION = ["overnight", "fleet", "ci", "review_bot", "big_context"]
TACTICS = ["loop", "trivial_pr", "padding", "idle", "snapshot"]
LAUNCH_TACTICS = ["loop", "trivial_pr", "padding", "idle"]
MODELS = ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"]
RANK = {"ok": 0, "insufficient_data": 1, "excluded": 1, "absent": -1, "review": 2, "suspicious": 3}


@dataclass
class Person:
    idx: int
    account: str
    login: str
    team: str
    tz: float
    role: str = "engineer"
    role_labelled: bool = True
    maxxer: bool = False
    tactic: str = ""
    inflation: float = 1.0
    tags: list[str] = field(default_factory=list)
    commit_aliases: list[str] = field(default_factory=list)
    alias_weights: list[float] = field(default_factory=list)
    usage_alias: str = ""
    usage_alias_share: float = 0.0
    aliases_all: list[str] = field(default_factory=list)
    base_tok: float = 3e6
    req_size: float = 50e3
    prod: float = 0.5
    lag_mean: float = 2.0
    batch: int = 0
    end_project: int = 0
    start: int = 0
    end: int = 10**6
    vacation: tuple[int, int] = (-1, -1)
    part_days: tuple[int, ...] = ()
    automation: str = ""
    pad_from: int = 0


class Rows:
    """Per-request usage rows as numpy chunks; accounts, sessions, models as integer codes."""

    def __init__(self) -> None:
        self.cols: dict[str, list[np.ndarray]] = defaultdict(list)
        self.sessions = 0

    def add(self, ts, inp, out, cr, cw, acct, sess, model=0) -> None:
        n = len(ts)
        if n == 0:
            return
        self.cols["ts"].append(np.asarray(ts, dtype=np.float64))
        for name, v in (("inp", inp), ("out", out), ("cr", cr), ("cw", cw)):
            self.cols[name].append(np.maximum(0, np.rint(np.broadcast_to(v, n))).astype(np.int64))
        for name, v in (("acct", acct), ("sess", sess), ("model", model)):
            self.cols[name].append(np.broadcast_to(np.asarray(v, dtype=np.int64), n).copy())

    def session(self, k: int = 1) -> int:
        self.sessions += k
        return self.sessions - k


def split(rng, total, n, cache, out_share, sigma=0.8):
    """Split `total` tokens over n requests: (input, output, cache read, cache write)."""
    w = rng.lognormal(0.0, sigma, n)
    tok = total * w / w.sum()
    cr, out, cw = tok * cache, tok * out_share, tok * 0.04
    return np.maximum(tok - cr - out - cw, 50), out, cr, cw


def make_org(rng, n: int, scenario: str, name: str):
    weeks = int(rng.integers(8, 14))
    D = weeks * 7
    start = dt.date(2026, 1, 5) + dt.timedelta(weeks=int(rng.integers(0, 30)))
    ev: dict = {"name": name, "scenario": scenario, "n": n, "weeks": weeks, "start": str(start)}
    ev["mess_share"] = float(rng.uniform(0.10, 0.30))
    ev["alias_mapped"] = float(rng.uniform(0.5, 1.0))
    ev["usage_alias_share"] = float(rng.uniform(0.05, 0.15))
    ev["role_labels"] = float(rng.choice([0.0, 0.5, 1.0]))
    ev["noncoding_share"] = float(rng.uniform(0.05, 0.20))
    ev["auto_share"] = float(rng.uniform(0.10, 0.30))
    ev["jl_share"] = float(rng.uniform(0.05, 0.20))
    ev["vac_share"] = float(rng.uniform(0.2, 0.6))
    ev["part_share"] = float(rng.uniform(0.03, 0.10))
    ev["slow_share"] = float(rng.uniform(0.0, 0.3))
    ev["usage_ts"] = str(rng.choice(["utc", "local"]))
    ev["tok_sigma"] = float(rng.uniform(0.6, 1.2))
    ev["hackathon"] = int(rng.integers(1, weeks - 1)) * 7 if rng.random() < 0.6 else -1
    ev["hack_x"] = float(rng.uniform(1.5, 3.0))
    ev["freeze"] = int(rng.integers(1, weeks - 1)) * 7 if rng.random() < 0.6 else -1
    ev["rollout"] = int(rng.integers(int(0.2 * D), int(0.8 * D))) if rng.random() < 0.6 else -1
    ev["rollout_x"] = float(rng.uniform(1.6, 2.4))
    ev["snap_weekday"] = int(rng.integers(0, 5))
    ev["snap_period"] = int(rng.choice([7, 14, 28]))
    ev["launch"] = int(rng.integers(int(0.35 * D), int(0.6 * D))) if scenario == "launch" else -1
    ev["launch_date"] = str(start + dt.timedelta(days=ev["launch"])) if ev["launch"] >= 0 else ""
    ev["maxxer_share"] = float(rng.uniform(0.03, 0.15)) if scenario != "honest" else 0.0
    n_teams = max(3, round(n / rng.uniform(8, 20)))
    teams = [f"team{t:02d}" for t in range(n_teams)]
    team_tz = {t: float(rng.choice(TZS)) for t in teams}
    n_max = max(1, round(ev["maxxer_share"] * n)) if scenario != "honest" else 0
    maxxers = set(rng.choice(n, n_max, replace=False).tolist())
    used, persons = set(), []
    for i in range(n):
        while True:
            f, la = str(rng.choice(FIRST)), str(rng.choice(LAST))
            k = f"{f}.{la}" + ("" if f"{f}.{la}" not in used else str(rng.integers(2, 99)))
            if k not in used:
                break
        used.add(k)
        team = str(rng.choice(teams))
        tz = team_tz[team] if rng.random() < 0.8 else float(rng.choice(TZS))
        login = f"{f[:2]}{la}{rng.integers(1, 99)}"
        p = Person(i, f"{k}@corp.example", login, team, tz, maxxer=i in maxxers)
        persons.append(p)
        z = rng.normal()
        p.base_tok = float(math.exp(math.log(3e6) + ev["tok_sigma"] * z))
        p.req_size = float(rng.lognormal(math.log(50e3), 0.5))
        p.prod = float(math.exp(math.log(0.5) + 0.3 * ev["tok_sigma"] * z + rng.normal(0, 0.5)))
        p.tags.append(f"tz:{tz:+g}")
        if not p.maxxer and rng.random() < ev["noncoding_share"]:
            p.role = str(rng.choice(list(NONCODING)))
            rel, lo, hi = NONCODING[p.role]
            p.prod *= rel * rng.uniform(0, 2)
            p.base_tok *= rng.uniform(lo, hi)
            p.role_labelled = bool(rng.random() < ev["role_labels"])
            p.tags.append(f"noncoding:{'labelled' if p.role_labelled else 'unlabelled'}")
            p.tags.append(f"role:{p.role}")
        # identity mess: commit aliases, then usage keys
        p.commit_aliases, p.alias_weights = [p.account], [1.0]
        p.aliases_all = [p.account, login]
        if rng.random() < ev["mess_share"]:
            extra = [f"{rng.integers(10**6, 10**8)}+{login}@users.noreply.github.com"]
            if rng.random() < 0.5:
                extra.append(f"{login}@gmail.com")
            if rng.random() < 0.3:
                extra = [extra[-1]] if len(extra) > 1 else extra
            p.commit_aliases += extra
            p.alias_weights = list(rng.dirichlet(np.ones(len(p.commit_aliases))))
            p.aliases_all += extra
            unmapped = [a for a in extra if rng.random() >= ev["alias_mapped"]]
            p.tags.append(
                "identity:commit_aliases_" + ("partly_unmapped" if unmapped else "mapped")
            )
            p.__dict__["unmapped"] = unmapped
        if rng.random() < ev["usage_alias_share"]:
            if rng.random() < 0.4:
                p.usage_alias = p.account.upper() if rng.random() < 0.5 else p.account.title()
                p.tags.append("identity:usage_case")
            else:
                p.usage_alias = str(
                    rng.choice([f"key-{login}-cli", f"{login}-laptop", f"sk-{login}"])
                )
                mapped = rng.random() < ev["alias_mapped"]
                p.tags.append(f"identity:usage_key_{'mapped' if mapped else 'unmapped'}")
                if not mapped:
                    p.__dict__.setdefault("unmapped", []).append(p.usage_alias)
            p.usage_alias_share = float(rng.uniform(0.2, 1.0))
            p.aliases_all.append(p.usage_alias)
        # presence
        r = rng.random()
        if r < ev["jl_share"] / 2:
            p.start = int(rng.integers(int(0.15 * D), int(0.6 * D)))
            p.tags.append("joiner")
        elif r < ev["jl_share"]:
            p.end = int(rng.integers(int(0.4 * D), int(0.85 * D)))
            p.tags.append("leaver")
        if rng.random() < ev["vac_share"]:
            v0 = int(rng.integers(0, D - 7))
            p.vacation = (v0, v0 + 7 * int(rng.integers(1, 4)))
            p.tags.append("vacation")
        if rng.random() < ev["part_share"]:
            p.part_days = tuple(sorted(rng.choice(5, 2, replace=False).tolist()))
            p.tags.append("part_time")
        # merge lag
        p.lag_mean = float(np.clip(rng.lognormal(math.log(1.5), 0.8), 0.1, 20))
        if rng.random() < ev["slow_share"]:
            p.lag_mean = float(rng.uniform(8, 20))
            p.tags.append("lag:slow_reviews")
        if rng.random() < 0.1:
            p.batch = int(rng.integers(14, 29))
            p.tags.append("lag:long_branch")
        if rng.random() < 0.1:
            p.end_project = int(rng.integers(1, 4))
            p.tags.append("censor:end_project")
        if (
            not p.maxxer
            and p.role in ("engineer", "data_scientist")
            and rng.random() < ev["auto_share"]
        ):
            p.automation = str(rng.choice(AUTOMATION))
            p.tags.append(f"auto:{p.automation}")
        if p.maxxer:
            p.tactic = str(rng.choice(LAUNCH_TACTICS if scenario == "launch" else TACTICS))
            p.inflation = float(math.exp(rng.uniform(math.log(2), math.log(100))))
            p.pad_from = (
                ev["launch"] if scenario == "launch" else int(rng.integers(0, int(0.3 * D)))
            )
    return ev, persons, D, start


def active(p: Person, d: int, rng) -> bool:
    if d < p.start or d >= p.end or p.vacation[0] <= d < p.vacation[1]:
        return False
    wd = d % 7
    if p.part_days:
        return wd in p.part_days and rng.random() < 0.95
    if wd >= 5:
        return rng.random() < 0.04
    return rng.random() < 0.9


def snapshot_day(ev, d: int) -> bool:
    """d lies in the 5 days before a leaderboard snapshot."""
    for k in range(1, 6):
        t = d + k
        if t % 7 == ev["snap_weekday"] and (t // 7) % (ev["snap_period"] // 7) == 0:
            return True
    return False


def generate(rng, n: int, scenario: str, name: str, folder: Path) -> dict:
    ev, persons, D, start = make_org(rng, n, scenario, name)
    t0 = dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp()
    accounts: list[str] = []
    acct_tz: list[float] = []

    def code(a: str, tz: float) -> int:
        accounts.append(a)
        acct_tz.append(tz)
        return len(accounts) - 1

    rows, merges = Rows(), []
    for p in persons:
        me = code(p.account, p.tz)
        alt = code(p.usage_alias, p.tz) if p.usage_alias else me
        model = int(rng.choice(3, p=[0.7, 0.2, 0.1]))
        cache = float(rng.uniform(0.5, 0.9))
        if p.automation == "big_context":
            p.base_tok *= rng.uniform(5, 20)
            cache = 0.97
        auto = {
            "nights": rng.uniform(0.3, 1.0),
            "sess": int(rng.integers(3, 13)),
            "period": int(rng.choice([10, 15, 30, 60])),
            "size": rng.uniform(3e3, 60e3),
            "ci_from": int(rng.integers(0, D // 2)),
            "bot_n": int(rng.integers(80, 400)),
            "boost": rng.uniform(1.0, 2.5),
            "night_n": rng.uniform(150, 600),
        }
        loop_iv = rng.uniform(20, 120)
        loop_counter = rng.random() < 0.5
        detail = p.__dict__.setdefault("detail", [])
        if p.maxxer:
            detail.append(f"pads from {start + dt.timedelta(days=p.pad_from)}")
            if p.tactic == "loop":
                detail.append(
                    "loop prompt with a counter" if loop_counter else "loop of identical requests"
                )
        if p.automation == "ci":
            detail.append(
                f"CI every {auto['period']} min from {start + dt.timedelta(days=auto['ci_from'])}"
            )
        if p.start:
            detail.append(f"joined {start + dt.timedelta(days=p.start)}")
        if p.end < D:
            detail.append(f"left {start + dt.timedelta(days=p.end)}")
        if p.vacation[0] >= 0:
            detail.append(
                f"vacation {start + dt.timedelta(days=p.vacation[0])}..{start + dt.timedelta(days=p.vacation[1])}"
            )
        if p.__dict__.get("unmapped"):
            detail.append(f"unmapped: {', '.join(p.__dict__['unmapped'])}")
        batch_off = int(rng.integers(0, max(1, p.batch)))
        for d in range(D):
            day0 = t0 + d * DAY
            if p.automation == "ci" and d >= auto["ci_from"]:
                k = 1440 // auto["period"]
                ts = day0 + np.arange(k) * auto["period"] * 60 + rng.uniform(0, 20, k)
                s = auto["size"] * (1 + rng.normal(0, 0.01, k))
                rows.add(
                    ts, s * 0.3, 300 + rng.integers(-20, 20, k), s * 0.7, 0, me, rows.session(1), 2
                )
            if p.automation == "review_bot" and d % 7 < 5:
                k = int(auto["bot_n"] * rng.uniform(0.7, 1.3))
                ts = day0 + np.sort(rng.uniform(0, DAY, k))
                rows.add(
                    ts,
                    rng.uniform(4e3, 20e3, k),
                    rng.uniform(30, 300, k),
                    rng.uniform(0, 20e3, k),
                    0,
                    me,
                    rows.session(1),
                    0,
                )
            if not active(p, d, rng):
                continue
            fx = ev["rollout_x"] if 0 <= ev["rollout"] <= d else 1.0
            hack = ev["hackathon"] >= 0 and ev["hackathon"] <= d < ev["hackathon"] + 5
            fx *= ev["hack_x"] if hack else 1.0
            tok = p.base_tok * rng.lognormal(0, 0.5) * fx
            nreq = int(np.clip(rng.poisson(tok / p.req_size), 3, 300))
            sh, span = rng.normal(9.5, 1.0), max(3.0, rng.normal(8, 1.0))
            nb = int(rng.integers(2, 5))
            centers = np.sort(rng.uniform(sh, sh + span, nb))
            b = rng.integers(0, nb, nreq)
            local = np.clip(centers[b] + rng.normal(0, 0.6, nreq), 0, 23.99)
            ts = day0 + (local - p.tz) * 3600
            inp, out, cr, cw = split(rng, tok, nreq, cache, rng.uniform(0.01, 0.04))
            s0 = rows.session(nb)
            sess = s0 + b
            acct = (
                np.where(rng.random(nreq) < p.usage_alias_share, alt, me) if p.usage_alias else me
            )
            rows.add(ts, inp, out, cr, cw, acct, sess, model)
            prod = p.prod * (0.3 if hack else 1.0)
            if p.automation == "overnight" and rng.random() < auto["nights"]:
                k = int(auto["night_n"] * rng.uniform(0.7, 1.3))
                local = 22 + np.cumsum(rng.exponential(90, k)) / 3600
                t = day0 + (local - p.tz) * 3600
                rows.add(
                    t,
                    *split(rng, k * rng.uniform(40e3, 120e3), k, 0.9, 0.02, 0.3),
                    me,
                    rows.session(1),
                    model,
                )
                prod *= auto["boost"]
            if p.automation == "fleet":
                for _ in range(auto["sess"]):
                    k = int(rng.uniform(80, 250))
                    local = rng.uniform(9, 15) + np.cumsum(rng.exponential(45, k)) / 3600
                    t = day0 + (local - p.tz) * 3600
                    rows.add(
                        t,
                        *split(rng, k * rng.uniform(30e3, 80e3), k, 0.85, 0.02, 0.4),
                        me,
                        rows.session(1),
                        model,
                    )
                prod *= auto["boost"] * 1.2
            # tokenmaxxing
            if p.maxxer and d >= p.pad_from and (p.tactic != "snapshot" or snapshot_day(ev, d)):
                extra = (p.inflation - 1) * tok
                if p.tactic == "loop":
                    k = int(np.clip(extra / 30e3, 50, 1440))
                    iv = min(loop_iv, (DAY - 600) / k)
                    t = (
                        day0
                        + (rng.uniform(0, 10) - p.tz) * 3600
                        + np.arange(k) * iv * (1 + rng.normal(0, 0.03, k))
                    )
                    s = extra / k
                    jit = np.arange(k) % 7 if loop_counter else 0
                    rows.add(
                        t, s * 0.3 + jit, s * 0.03, s * 0.64, s * 0.03, me, rows.session(1), model
                    )
                elif p.tactic == "idle":
                    k_s = int(rng.integers(2, 9))
                    iv = rng.uniform(180, 600)
                    per = int(min(1200 // k_s, rng.uniform(8, 14) * 3600 / iv))
                    for _ in range(k_s):
                        t = (
                            day0
                            + (rng.uniform(8, 10) - p.tz) * 3600
                            + np.cumsum(iv * (1 + rng.normal(0, 0.2, per)))
                        )
                        s = extra / (k_s * per)
                        rows.add(t, s * 0.02, s * 0.005, s * 0.975, 0, me, rows.session(1), model)
                else:  # padding, trivial_pr, snapshot: more and bigger requests, human timing
                    k = int(min(600, nreq * min(p.inflation - 1, 3)) + 1)
                    local = np.clip(
                        centers[rng.integers(0, nb, k)] + rng.normal(0, 0.8, k), 0, 23.99
                    )
                    t = day0 + (local - p.tz) * 3600
                    rows.add(
                        t,
                        *split(rng, extra, k, cache, 0.03),
                        me,
                        s0 + rng.integers(0, nb, k),
                        model,
                    )
                if p.tactic == "trivial_pr":
                    for _ in range(int(rng.integers(1, 6))):
                        merges.append((p, d + rng.uniform(0, 1.5), True))
            # merged work
            for _ in range(int(rng.poisson(prod))):
                if p.batch:
                    md = float(
                        ((d - batch_off) // p.batch + 1) * p.batch + batch_off + rng.uniform(0, 2)
                    )
                else:
                    md = d + min(30.0, rng.gamma(1.5, p.lag_mean / 1.5))
                if p.end_project and d >= D - 7 * p.end_project:
                    md += 30
                merges.append((p, md, rng.random() < 0.08))
    # usage CSV
    c = {k: np.concatenate(v) for k, v in rows.cols.items()}
    ms = np.rint(c["ts"] * 1000).astype(np.int64)
    keep = (ms >= t0 * 1000) & (ms < (t0 + D * DAY) * 1000)
    df = pl.DataFrame(
        {
            "ms": ms,
            "account": np.array(accounts, dtype=object)[c["acct"]],
            "off": np.array(acct_tz)[c["acct"]],
            "model": np.array(MODELS, dtype=object)[c["model"]],
            "input_tokens": c["inp"],
            "output_tokens": c["out"],
            "cache_read_tokens": c["cr"],
            "cache_write_tokens": c["cw"],
            "session_id": c["sess"],
        }
    ).filter(pl.Series(keep))
    df = df.sort("ms").with_row_index("rid")
    if ev["usage_ts"] == "utc":
        stamp = pl.from_epoch("ms", "ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    else:
        local = pl.from_epoch(pl.col("ms") + (pl.col("off") * 3600_000).cast(pl.Int64), "ms")
        stamp = local.dt.strftime("%Y-%m-%dT%H:%M:%S%.3f") + offset_expr()
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    df.select(
        stamp.alias("timestamp"),
        "account",
        "model",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        ("req_" + pl.col("rid").cast(pl.Utf8)).alias("request_id"),
        ("ses_" + pl.col("session_id").cast(pl.Utf8)).alias("session_id"),
    ).write_csv(data / "usage.csv")
    # commits CSV
    crow = []
    for k, (p, md, trivial) in enumerate(merges):
        if ev["freeze"] >= 0 and ev["freeze"] <= md < ev["freeze"] + 7:
            md = ev["freeze"] + 7 + rng.uniform(0, 2)
        wd = int(md) % 7
        md = math.floor(md) + (7 - wd if wd >= 5 else 0)
        if md >= D:
            continue  # censored: merged after the log ends
        local = rng.uniform(9, 18)
        when = dt.datetime.fromtimestamp(
            t0 + md * DAY + local * 3600, dt.timezone(dt.timedelta(hours=p.tz))
        )
        author = str(rng.choice(p.commit_aliases, p=p.alias_weights))
        if trivial:
            add = int(rng.integers(1, 3))
            dele, msg = (
                int(rng.integers(0, 4 - add)),
                str(rng.choice(["fix typo", "whitespace", "docs: reword"])),
            )
        else:
            add = int(rng.lognormal(math.log(40), 1.2)) + 4
            dele, msg = (
                int(add * rng.uniform(0, 0.6)),
                str(rng.choice(["feat: add", "fix: handle", "refactor:"])),
            )
        sha = hashlib.sha1(f"{name}-{k}".encode()).hexdigest()
        files = 1 + int(rng.poisson((add + dele) / 80))
        crow.append(
            (
                when.isoformat(),
                author,
                add,
                dele,
                sha,
                1000 + k,
                files,
                f"{msg} #{1000 + k}",
                f"corp/{p.team}",
            )
        )
    cols = [
        "merged_at",
        "author",
        "lines_added",
        "lines_deleted",
        "sha",
        "pr_id",
        "files_changed",
        "message",
        "repo",
    ]
    pl.DataFrame(crow, schema=cols, orient="row").sort("merged_at").write_csv(data / "commits.csv")
    # identities: every account; aliases mapped where the org's mapping covers them
    idr = []
    for p in persons:
        role = p.role if p.role_labelled and (p.role != "engineer" or ev["role_labels"] > 0) else ""
        idr.append((p.account, p.account, p.team, role))
        unmapped = p.__dict__.get("unmapped", [])
        for a in p.aliases_all[2:]:
            if a in unmapped or a.lower() == p.account:
                continue
            alias = p.login if "noreply" in a and rng.random() < 0.5 else a
            idr.append((alias, p.account, p.team, role))
    pl.DataFrame(idr, schema=["alias", "account", "team", "role"], orient="row").write_csv(
        data / "identities.csv"
    )
    truth = {
        "org": ev,
        "persons": [
            {
                "account": p.account,
                "aliases": p.aliases_all,
                "unmapped": p.__dict__.get("unmapped", []),
                "maxxer": p.maxxer,
                "tactic": p.tactic,
                "inflation": round(p.inflation, 2),
                "role": p.role,
                "tags": p.tags,
                "detail": p.__dict__.get("detail", []),
            }
            for p in persons
        ],
        "rows": df.height,
        "merges": len(crow),
    }
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def offset_expr() -> pl.Expr:
    """'+HH:MM' of the 'off' column (hours, may be fractional)."""
    mins = (pl.col("off") * 60).round().cast(pl.Int64)
    sign = pl.when(mins < 0).then(pl.lit("-")).otherwise(pl.lit("+"))
    a = mins.abs()
    return sign + (a // 60).cast(pl.Utf8).str.zfill(2) + ":" + (a % 60).cast(pl.Utf8).str.zfill(2)


def scan(folder: Path, change_date: str, report: Path) -> float:
    d = folder / "data"
    cmd = [sys.executable, "-m", "tokenaudit", "scan", "--usage", str(d / "usage.csv")]
    cmd += ["--commits", str(d / "commits.csv"), "--identities", str(d / "identities.csv")]
    cmd += ["--format", "json", "-o", str(report), "--exit-zero"]
    if change_date:
        cmd += ["--change-date", change_date]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"scan failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    (report.with_suffix(".stderr")).write_text(r.stderr)
    return time.perf_counter() - t


def tz_bin(tag: str) -> str:
    off = float(tag[3:])
    if off <= -5:
        return "tz:UTC-8..-5"
    if off < 0:
        return "tz:UTC-4..-3"
    return "tz:UTC+0..+3" if off <= 3 else "tz:UTC+5.5..+9"


def evaluate(truth: dict, report: dict, label: str) -> dict:
    """Person-level outcome of one scan: a person's status is the worst of its report accounts."""
    persons = truth["persons"]
    lookup = {}
    for i, p in enumerate(persons):
        for a in p["aliases"]:
            lookup[a.lower()] = i
    status = ["absent"] * len(persons)
    score = [-1.0] * len(persons)
    rows: list[list[dict]] = [[] for _ in persons]
    unattributed = []
    for a in report["accounts"]:
        name = a["account"].lower()
        if "users.noreply.github.com" in name:
            name = name.split("@")[0].split("+")[-1]
        i = lookup.get(name)
        if i is None:
            unattributed.append(a)
            continue
        rows[i].append(a)
        if RANK[a["status"]] > RANK[status[i]]:
            status[i] = a["status"]
        score[i] = max(score[i], a["score"] if a["score"] is not None else -1.0)
    honest = [i for i, p in enumerate(persons) if not p["maxxer"]]
    maxx = [i for i, p in enumerate(persons) if p["maxxer"]]
    susp = [i for i in range(len(persons)) if status[i] == "suspicious"]
    h_susp = [i for i in honest if status[i] == "suspicious"]
    h_rev = [i for i in honest if status[i] == "review"]
    order = sorted(range(len(persons)), key=lambda i: -score[i])
    hits, ap = 0, 0.0
    for r, i in enumerate(order, 1):
        if persons[i]["maxxer"]:
            hits += 1
            ap += hits / r
    flagged = []
    for i in h_susp + h_rev + [m for m in maxx if status[m] in ("ok", "insufficient_data")]:
        p = persons[i]
        for a in rows[i] or [{}]:
            checks = {
                c["id"]: c["p_value"] for c in a.get("checks", []) if c.get("p_value") is not None
            }
            flagged.append(
                {
                    "org": label,
                    "person": p["account"],
                    "report_account": a.get("account", "-"),
                    "status": a.get("status", status[i]),
                    "maxxer": p["maxxer"],
                    "tactic": p["tactic"],
                    "inflation": p["inflation"],
                    "tags": [t for t in p["tags"] if not t.startswith("tz:")]
                    + [tz_bin(p["tags"][0])],
                    "detail": p.get("detail", []),
                    "tokens": a.get("tokens"),
                    "merged": a.get("merged_changes"),
                    "days": a.get("active_days"),
                    "x": a.get("excess_tokens_x"),
                    "p": checks,
                    "reasons": a.get("reasons", ""),
                }
            )
    return {
        "label": label,
        "status": status,
        "honest": honest,
        "maxx": maxx,
        "any_h_susp": float(bool(h_susp)),
        "h_susp": len(h_susp),
        "h_review_share": len(h_rev) / max(1, len(honest)),
        "fdp": len(h_susp) / len(susp) if susp else 0.0,
        "ap": ap / len(maxx) if maxx else float("nan"),
        "flagged": flagged,
        "unattributed": [(a["account"], a["status"]) for a in unattributed],
    }


def person_tags(p: dict) -> list[str]:
    tags = [tz_bin(t) if t.startswith("tz:") else t for t in p["tags"]]
    if all(t.startswith("tz:") for t in p["tags"]):
        tags.append("no confounder")
    if any(
        t.startswith("identity:commit_aliases_partly") or t == "identity:usage_key_unmapped"
        for t in tags
    ):
        tags.append("identity:any_unmapped")
    if any(t.startswith("auto:") for t in tags):
        tags.append("auto:any")
    return tags


def fmt(v: float, d: int = 2) -> str:
    return "nan" if v != v else f"{v:.{d}f}"


def print_tables(results: dict) -> None:
    print("\n## Per scenario: honest flags and recall (mean / worst organisation)\n")
    print(
        "| scenario | size | orgs | P(≥1 honest susp) | honest susp mean / worst | honest review share mean / worst | FDP susp mean / worst | AP(score) mean / worst | recall review+ | recall susp (loop, trivial ×3+) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (sc, size), evs in sorted(results.items()):
        truths = [t for t, _ in evs]
        es = [e for _, e in evs]
        rec, tot, rs, ts = 0, 0, 0, 0
        for t, e in evs:
            for i in e["maxx"]:
                tot += 1
                rec += e["status"][i] in ("review", "suspicious")
                p = t["persons"][i]
                if p["tactic"] in ("loop", "trivial_pr") and p["inflation"] >= 3:
                    ts += 1
                    rs += e["status"][i] == "suspicious"
        aps = [e["ap"] for e in es if e["ap"] == e["ap"]]
        print(
            f"| {sc} | {size} | {len(truths)} | {fmt(np.mean([e['any_h_susp'] for e in es]))} "
            f"| {fmt(np.mean([e['h_susp'] for e in es]))} / {max(e['h_susp'] for e in es)} "
            f"| {fmt(np.mean([e['h_review_share'] for e in es]), 3)} / {fmt(max(e['h_review_share'] for e in es), 3)} "
            f"| {fmt(np.mean([e['fdp'] for e in es]))} / {fmt(max(e['fdp'] for e in es))} "
            f"| {fmt(np.mean(aps) if aps else float('nan'))} / {fmt(min(aps) if aps else float('nan'))} "
            f"| {rec}/{tot} | {rs}/{ts} |"
        )
    print(
        "\n## Honest people flagged, by confounder (all scans pooled; a person may carry several)\n"
    )
    for sc in sorted({k[0] for k in results}):
        stats: dict = defaultdict(lambda: [0, 0, 0, 0.0])
        for (s2, _), evs in results.items():
            if s2 != sc:
                continue
            for t, e in evs:
                per_org: dict = defaultdict(lambda: [0, 0])
                for i in e["honest"]:
                    st = e["status"][i]
                    for tag in person_tags(t["persons"][i]):
                        stats[tag][0] += 1
                        stats[tag][1] += st == "review"
                        stats[tag][2] += st == "suspicious"
                        per_org[tag][0] += 1
                        per_org[tag][1] += st in ("review", "suspicious")
                for tag, (n, f) in per_org.items():
                    stats[tag][3] = max(stats[tag][3], f / n)
        print(f"\n### {sc} (all sizes)\n")
        print(
            "| confounder | honest people | review | suspicious | flagged share | worst org share |"
        )
        print("|---|---|---|---|---|---|")
        for tag, (n, r, s, w) in sorted(
            stats.items(), key=lambda kv: -(kv[1][1] + kv[1][2]) / kv[1][0]
        ):
            print(f"| {tag} | {n} | {r} | {s} | {fmt((r + s) / n, 3)} | {fmt(w, 3)} |")
    print("\n## Recall of `review`+ (and `suspicious`) per tactic and inflation\n")
    print("| scenario | tactic | ×2–3 | ×3–10 | ×10–100 |")
    print("|---|---|---|---|---|")
    for sc in sorted({k[0] for k in results}):
        cell: dict = defaultdict(lambda: [0, 0, 0])
        for (s2, _), evs in results.items():
            if s2 != sc:
                continue
            for t, e in evs:
                for i in e["maxx"]:
                    p = t["persons"][i]
                    b = 0 if p["inflation"] < 3 else 1 if p["inflation"] < 10 else 2
                    tac = p["tactic"]
                    if tac == "loop":
                        tac += (
                            " (counter)"
                            if any("counter" in d for d in p["detail"])
                            else " (identical)"
                        )
                    c = cell[(tac, b)]
                    c[0] += 1
                    c[1] += e["status"][i] in ("review", "suspicious")
                    c[2] += e["status"][i] == "suspicious"
        for tac in sorted({k[0] for k in cell}):
            parts = []
            for b in range(3):
                n, r, s = cell[(tac, b)]
                parts.append(f"{r}/{n} ({s} susp)" if n else "-")
            print(f"| {sc} | {tac} | " + " | ".join(parts) + " |")


def print_people(results: dict) -> None:
    for title, want in (
        ("Honest people flagged", False),
        ("Tokenmaxxers ×10+ left ok / insufficient_data", True),
    ):
        print(f"\n## {title}\n")
        for (_sc, _size), evs in sorted(results.items()):
            for _, e in evs:
                for f in e["flagged"]:
                    if f["maxxer"] != want or (want and f["inflation"] < 10):
                        continue
                    ps = ", ".join(f"{k}={v:.2g}" for k, v in sorted(f["p"].items()))
                    who = f["person"] + (
                        "" if f["report_account"] == f["person"] else f" (as {f['report_account']})"
                    )
                    extra = f" {f['tactic']} ×{f['inflation']:.1f}" if want else ""
                    print(
                        f"- **{e['label']}** {who}{extra}: `{f['status']}`; {', '.join(f['tags'])}; "
                        f"tokens {f['tokens'] or 0:,}, merged {f['merged']}, days {f['days']}, ×{f['x']}; p: {ps}\n"
                        f"  - truth: {'; '.join(f['detail']) or '-'}\n"
                        f"  - {f['reasons']}"
                    )
    print("\n## Report accounts not attributable to a person\n")
    for (_sc, _size), evs in sorted(results.items()):
        for _, e in evs:
            if e["unattributed"]:
                print(f"- {e['label']}: {e['unattributed']}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--orgs", type=int, default=4)
    ap.add_argument("--sizes", default="60,200")
    ap.add_argument("--scenarios", default="honest,mixed,launch")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--root", type=Path, default=Path("/tmp/confounders"))
    ap.add_argument(
        "--reuse", action="store_true", help="keep organisations and reports already in --root"
    )
    args = ap.parse_args()
    results: dict = defaultdict(list)
    sizes = [int(s) for s in args.sizes.split(",")]
    scenarios = args.scenarios.split(",")
    t_all = time.perf_counter()
    for size in sizes:
        for si, sc in enumerate(scenarios):
            for k in range(args.orgs):
                name = f"{sc}-{size}-{k}"
                folder = args.root / name
                seed = args.seed * 1_000_003 + size * 1009 + si * 101 + k
                if not (args.reuse and (folder / "truth.json").exists()):
                    t = time.perf_counter()
                    generate(np.random.default_rng(seed), size, sc, name, folder)
                    print(f"# generated {name} in {time.perf_counter() - t:.1f}s", file=sys.stderr)
                truth = json.loads((folder / "truth.json").read_text())
                variants = (
                    [("", "launch"), (truth["org"]["launch_date"], "launch+date")]
                    if sc == "launch"
                    else [("", sc)]
                )
                for date, label in variants:
                    rep = folder / ("report-date.json" if date else "report.json")
                    if not (args.reuse and rep.exists()):
                        secs = scan(folder, date, rep)
                        print(f"# scanned {name} {label} in {secs:.1f}s", file=sys.stderr)
                    e = evaluate(
                        truth, json.loads(rep.read_text()), f"{name}{'+date' if date else ''}"
                    )
                    results[(label, size)].append((truth, e))
    print(
        f"# {sum(len(v) for v in results.values())} scans, {time.perf_counter() - t_all:.0f}s",
        file=sys.stderr,
    )
    print_tables(results)
    print_people(results)


if __name__ == "__main__":
    main()
