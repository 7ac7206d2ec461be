"""Blind family of organisations: realistic tokenmaxxing tactics and honest look-alikes.

Written without reading tokenaudit's source, its generators or the other benchmarks: only the
README's input formats and ``scan --help``. Requests are modelled as a Claude-Code-style agent
produces them (a growing, mostly cached context per session; fresh sessions start smaller),
chat sessions as people type them. Each organisation is scanned through the real CLI, one scan
at a time, and honest-flag and recall figures are printed (mean and worst organisation).

Usage:
    python benchmarks/blind_tactics.py [--orgs 4] [--sizes 60,200]
        [--scenarios honest,mixed,launch] [--seed 9100] [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

EPOCH = 1767571200  # 2026-01-05T00:00:00Z, a Monday
DAY = 86400
TACTICS = ("agent_loop", "re_ask", "prototype", "snapshot", "model_inflation", "parallel_idle")
HONEST = (
    "regular",
    "heavy_shipper",
    "proto_later",
    "incident",
    "docs",
    "new_hire",
    "intern",
    "adopter",
)
BANDS = (("×2–3", 2, 3), ("×3–10", 3, 10), ("×10–100", 10, 101))
SONNET, OPUS, HAIKU = "claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"


@dataclass
class Person:
    idx: int
    login: str
    email: str
    team: str
    role: str
    archetype: str
    tactic: str | None = None
    inflation: float = 1.0
    rows: list = field(default_factory=list)  # (ts, inp, out, cr, cw, model, session)
    commits: list = field(default_factory=list)  # (ts, lines_added, lines_deleted, files, msg)
    nsess: int = 0
    extra: float = 0.0
    window_honest: float = 1.0

    @property
    def achieved(self) -> float:
        return 1.0 + self.extra / self.window_honest if self.tactic else 1.0


# ---------------------------------------------------------------- request generation


def session(rng, p: Person, t0, n, c0, out_med, grow_med, gap_med, model, max_ctx=180_000):
    """One session: the prompt grows each turn by the last answer plus a tool result/question."""
    n = max(1, int(n))
    out = np.maximum(1, rng.lognormal(math.log(out_med), 0.9, n)).astype(np.int64)
    grow = np.maximum(10, rng.lognormal(math.log(grow_med), 1.1, n)).astype(np.int64)
    inc = out + grow
    prompt = int(c0) + np.concatenate([[0], np.cumsum(inc[:-1])])
    keep = prompt <= max_ctx
    keep[0] = True
    n = int(keep.sum()) if keep.all() else int(np.argmin(keep))
    n = max(1, n)
    out, prompt = out[:n], prompt[:n]
    gaps = rng.lognormal(math.log(gap_med), 0.7, n) + out / 70.0
    gaps[0] = 0.0
    ts = t0 + np.cumsum(gaps)
    inp = rng.integers(1, 60, n)
    sys_cached = min(int(c0), 14_000)
    cr = np.concatenate([[sys_cached], prompt[:-1]])
    # the cache lives 5 minutes: a long pause re-writes the whole prompt
    cold = np.concatenate([[False], gaps[1:] > 300])
    cr = np.where(cold, sys_cached, cr)
    cr = np.minimum(cr, prompt - inp)
    cw = np.maximum(0, prompt - inp - cr)
    p.nsess += 1
    p.rows.append((ts, inp, out, cr, cw, model, p.nsess))
    return float(ts[-1]), int((inp + out + cr + cw).sum())


def agent(rng, p, t0, scale=1.0, model=None, turns=None, **kw):
    model = model or rng.choice([SONNET, SONNET, SONNET, SONNET, OPUS, HAIKU])
    n = turns if turns is not None else rng.integers(4, 60)
    return session(
        rng,
        p,
        t0,
        n,
        rng.uniform(12_000, 40_000) * scale,
        kw.get("out_med", rng.uniform(150, 900)),
        kw.get("grow_med", rng.uniform(300, 3000)),
        kw.get("gap_med", rng.uniform(4, 25)),
        model,
        kw.get("max_ctx", 180_000),
    )


def chat(rng, p, t0, scale=1.0, model=SONNET, **kw):
    return session(
        rng,
        p,
        t0,
        kw.get("turns", rng.integers(1, 7)),
        rng.uniform(1_500, 20_000) * scale,
        kw.get("out_med", rng.uniform(150, 1500)),
        kw.get("grow_med", rng.uniform(30, 600)),
        kw.get("gap_med", rng.uniform(30, 240)),
        model,
        kw.get("max_ctx", 1_000_000),
    )


def day_start(rng, d, tz):
    return EPOCH + d * DAY + (rng.uniform(8.0, 10.5) - tz) * 3600


def honest_day(rng, p, d, tz, lam_agent, lam_chat, mult=1.0, night=False):
    """A human working day: agent and chat sessions in sequence, with human gaps."""
    na = rng.poisson(lam_agent * mult)
    nc = rng.poisson(lam_chat * math.sqrt(mult))
    kinds = ["a"] * na + ["c"] * nc
    rng.shuffle(kinds)
    t = day_start(rng, d, tz) - (rng.uniform(0, 6) * 3600 if night else 0)
    tok = 0
    for k in kinds:
        t += rng.lognormal(math.log(600), 1.0)
        t, n = agent(rng, p, t) if k == "a" else chat(rng, p, t)
        tok += n
    return tok


# ---------------------------------------------------------------- commits


def merges(rng, p, d, rate, lines_med, tz, ndays, lag_max=4, size=1.0, msg="feat"):
    for _ in range(rng.poisson(rate)):
        md = d + int(rng.integers(0, lag_max + 1))
        if md % 7 >= 5 and rng.random() < 0.9:
            md += 7 - md % 7
        if md >= ndays:
            continue
        ts = EPOCH + md * DAY + (rng.uniform(9, 19) - tz) * 3600
        la = max(1, int(rng.lognormal(math.log(lines_med * size), 1.0)))
        ld = int(la * rng.uniform(0.05, 0.6))
        p.commits.append((ts, la, ld, int(rng.integers(1, 4 + la // 60)), msg))


# ---------------------------------------------------------------- an organisation


def build_org(rng, size, scenario, root: Path):
    weeks = int(rng.integers(8, 11))
    ndays = weeks * 7
    frac = 0.0 if scenario == "honest" else rng.uniform(0.03, 0.15)
    nmax = 0 if scenario == "honest" else max(1, round(frac * size))
    launch = 7 * int(rng.integers(3, weeks - 3)) if scenario == "launch" else None
    snap_wd = int(rng.integers(0, 5))
    snap_every = int(rng.choice([1, 2]))
    team_sizes = []
    while sum(team_sizes) < size:
        team_sizes.append(int(rng.integers(4, 13)))
    teams = [f"team{i}" for i, s in enumerate(team_sizes) for _ in range(s)][:size]
    adopt_team = rng.choice(sorted(set(teams))) if rng.random() < 0.7 else None
    adopt_day = 7 * int(rng.integers(2, weeks - 2)) + int(rng.integers(0, 3))
    w = np.array([0.42, 0.12, 0.08, 0.08, 0.08, 0.08, 0.08, 0.0])
    w = w * rng.uniform(0.5, 1.5, len(w))
    w /= w.sum()
    people = []
    for i in range(size):
        arch = str(rng.choice(HONEST, p=w))
        if adopt_team is not None and teams[i] == adopt_team and arch == "regular":
            arch = "adopter"
        login = f"dev{i:03d}"
        role = "intern" if arch == "intern" else "engineer"
        people.append(Person(i, login, f"{login}@corp.example", teams[i], role, arch))
    cands = [q for q in people if q.archetype in ("regular", "heavy_shipper", "docs", "intern")]
    for q in rng.choice(cands, size=min(nmax, len(cands)), replace=False) if nmax else []:
        q.tactic = str(rng.choice(TACTICS))
        q.inflation = float(math.exp(rng.uniform(math.log(2), math.log(100))))
    up_u, up_c = rng.uniform(1.0, 1.4), rng.uniform(1.0, 1.2)  # everyone after a launch
    sigma = rng.uniform(0.4, 1.0)
    for p in people:
        gen_person(rng, p, ndays, launch, snap_wd, snap_every, adopt_day, sigma, (up_u, up_c))
    org = dict(
        weeks=weeks,
        launch=launch,
        snap_wd=snap_wd,
        snap_every=snap_every,
        adopt_team=adopt_team,
        adopt_day=adopt_day,
        frac=frac,
    )
    write_org(people, root, org)
    return people, org


def gen_person(rng, p, ndays, launch, snap_wd, snap_every, adopt_day, sigma, up):
    tz = rng.uniform(-1, 3)
    lvl = math.exp(rng.normal(0, sigma))
    lam_a, lam_c = rng.uniform(0.5, 3.0) * lvl, rng.uniform(0.3, 4.0)
    rate, lines = rng.uniform(0.25, 1.2), rng.lognormal(math.log(70), 0.5)
    a = p.archetype
    start, ramp = 0, 0
    windows: list[tuple[int, int]] = []
    if a == "heavy_shipper":
        lam_a *= rng.uniform(3, 7)
        rate, lines = rate * rng.uniform(1.5, 3), lines * rng.uniform(1.5, 3)
    elif a == "docs":
        lam_a, lam_c, rate, lines = lam_a * 0.4, lam_c * 1.5, rng.uniform(0.05, 0.25), 120
    elif a == "intern":
        lam_a, rate, lines = lam_a * 0.6, rng.uniform(1.5, 4.0), rng.uniform(8, 25)
    elif a == "new_hire":
        start, ramp = int(rng.integers(7, 25)), int(rng.integers(14, 28))
    elif a in ("incident", "proto_later"):
        for _ in range(int(rng.integers(1, 3))):
            s = int(rng.integers(0, ndays - 10))
            windows.append((s, s + int(rng.integers(4, 14))))
    leave = int(rng.integers(0, ndays - 7)) if rng.random() < 0.25 else -99
    vac = set(range(leave, leave + int(rng.integers(3, 10))))
    honest_tok = np.zeros(ndays)
    for d in range(start, ndays):
        wd = d % 7
        inwin = any(s <= d < e for s, e in windows)
        weekend_work = a == "incident" and inwin and rng.random() < 0.6
        if (wd >= 5 and not weekend_work and rng.random() > 0.05) or d in vac:
            continue
        if rng.random() < 0.08:
            continue
        mult, cmult, lag, size, msg = 1.0, 1.0, 4, 1.0, "feat"
        if ramp:
            f = min(1.0, 0.25 + (d - start) / ramp)
            mult, cmult = f, max(0.0, f - 0.35) / 0.65
        if a == "adopter" and d >= adopt_day:
            mult, cmult = rng.uniform(3, 6), rng.uniform(1.5, 3)
        if launch is not None and d >= launch:
            mult, cmult = mult * up[0], cmult * up[1]
        if inwin and a == "incident":
            mult, cmult, size, msg = rng.uniform(3, 5), 1.8, 0.4, "fix"
        if inwin and a == "proto_later":
            mult, cmult = rng.uniform(2.5, 4), 0.15
        mult *= math.exp(rng.normal(0, 0.35))
        honest_tok[d] = honest_day(
            rng, p, d, tz, lam_a, lam_c, mult, night=a == "incident" and inwin
        )
        merges(rng, p, d, rate * cmult, lines, tz, ndays, lag, size, "docs" if a == "docs" else msg)
    for _s, e in windows if a == "proto_later" else []:
        land = e + int(rng.integers(5, 22))  # the prototype lands 1-3 weeks later
        for _ in range(int(rng.integers(1, 4))):
            merges(rng, p, land, 1.0, 1500, tz, ndays, 3)
    if p.tactic:
        tactic(rng, p, ndays, launch, snap_wd, snap_every, honest_tok, tz)


def tactic(rng, p, ndays, launch, snap_wd, snap_every, honest_tok, tz):
    first = launch + int(rng.integers(0, 4)) if launch is not None else int(rng.integers(0, 15))
    days = [d for d in range(first, ndays) if d % 7 < 5]
    if p.tactic == "agent_loop":
        days = [d for d in range(first, ndays) if d % 7 < 5 or rng.random() < 0.5]
    if p.tactic == "snapshot":
        k = int(rng.integers(2, 4))
        cyc = 7 * snap_every
        days = [d for d in range(first, ndays) if 0 < (snap_wd - d) % cyc <= k]
    p.window_honest = max(float(honest_tok[first:].sum()), 1.0)
    target = (p.inflation - 1.0) * max(p.window_honest, 2e6)
    if not days:
        return
    weights = rng.lognormal(0, 0.4, len(days))
    daily = target * weights / weights.sum()
    kind = p.tactic
    probe = Person(-1, "", "", "", "", "")
    spec = {  # (session maker, human-timed, sessions in parallel)
        "agent_loop": (
            dict(turns=400, gap_med=rng.uniform(6, 20)),
            False,
            1,
        ),
        "re_ask": (dict(), True, 1),
        "prototype": (
            dict(out_med=rng.uniform(1500, 6000), grow_med=rng.uniform(200, 1500)),
            True,
            1,
        ),
        "snapshot": (dict(), True, 1),
        "model_inflation": (dict(turns=rng.integers(1, 4), model=OPUS), True, 1),
        "parallel_idle": (
            dict(
                turns=rng.integers(20, 120),
                out_med=rng.uniform(40, 200),
                grow_med=rng.uniform(40, 300),
                gap_med=rng.uniform(30, 240),
            ),
            False,
            int(rng.integers(3, 9)),
        ),
    }
    kw, human, streams = spec[kind]

    def make(q, t, scale):
        if kind == "re_ask":
            return chat(rng, q, t, scale=scale, max_ctx=1_000_000, **kw)
        if kind == "model_inflation":  # a whole repository pasted into every question
            c0 = min(950_000, rng.uniform(80_000, 190_000) * scale)
            return session(rng, q, t, kw["turns"], c0, rng.uniform(150, 900), 100, 90, OPUS, 2e6)
        mc = min(1_000_000, 180_000 * scale)
        return agent(rng, q, t, scale=scale, max_ctx=mc, **kw)

    pr = [make(probe, 0.0, 1.0) for _ in range(12)]
    mean, dur = float(np.mean([x[1] for x in pr])), float(np.mean([x[0] for x in pr]))
    gap = 600.0 if human else 60.0
    fit = 14 * 3600 / (dur + gap)  # sessions one person or one agent gets through in a day
    need = float(daily.max()) / mean
    if not human:
        streams = min(12, max(streams, math.ceil(need / fit)))
    scale = max(1.0, need / (fit * streams))
    for d, want in zip(days, daily, strict=True):
        for _ in range(streams):
            t = t_start = day_start(rng, d, tz) + rng.uniform(0, 1800)
            got, budget = 0, want / streams
            while got < budget and t < t_start + 20 * 3600:
                t += rng.lognormal(math.log(400), 0.9) if human else rng.uniform(5, 120)
                t, n = make(p, t, scale)
                got += n
                p.extra += n


# ---------------------------------------------------------------- files


def write_org(people, root: Path, org):
    frames = []
    for p in people:
        for ts, inp, out, cr, cw, model, sid in p.rows:
            frames.append(
                pl.DataFrame(
                    {
                        "t": ts.astype(np.int64),
                        "account": [p.email] * len(ts),
                        "model": [model] * len(ts),
                        "input_tokens": inp.astype(np.int64),
                        "output_tokens": out.astype(np.int64),
                        "cache_read_tokens": cr.astype(np.int64),
                        "cache_write_tokens": cw.astype(np.int64),
                        "session_id": [f"{p.login}-s{sid}"] * len(ts),
                    }
                )
            )
        p.rows = []
    u = pl.concat(frames)
    u = u.with_columns(
        timestamp=pl.from_epoch("t", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        request_id=pl.format("req_{}", pl.int_range(pl.len())),
    ).sort("t")
    cols = ["timestamp", "account", "model", "input_tokens", "output_tokens"]
    cols += ["cache_read_tokens", "cache_write_tokens", "request_id", "session_id"]
    u.select(cols).write_csv(root / "usage.csv")
    crow = []
    for p in people:
        for k, (ts, la, ld, nf, msg) in enumerate(p.commits):
            crow.append((int(ts), p.login, la, ld, f"{p.idx:04x}{k:06x}", f"{p.idx}{k}", nf, msg))
    c = pl.DataFrame(
        crow,
        schema=["t", "author", "lines_added", "lines_deleted", "sha", "pr_id", "files", "message"],
        orient="row",
    )
    c = c.with_columns(
        merged_at=pl.from_epoch("t", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        files_changed=pl.col("files"),
        message=pl.col("message") + ": change " + pl.col("pr_id"),
        repo=pl.lit("corp/monorepo"),
    ).sort("t")
    c.select(
        "merged_at", "author", "lines_added", "lines_deleted", "sha", "pr_id", "files_changed"
    ).hstack(c.select("message", "repo")).write_csv(root / "commits.csv")
    ids = [(p.email, p.email, p.team, p.role) for p in people]
    ids += [(p.login, p.email, p.team, p.role) for p in people]
    pl.DataFrame(ids, schema=["alias", "account", "team", "role"], orient="row").write_csv(
        root / "identities.csv"
    )
    truth = [
        (p.email, p.archetype, p.tactic or "", round(p.inflation, 2), round(p.achieved, 2), p.team)
        for p in people
    ]
    pl.DataFrame(
        truth,
        schema=["account", "archetype", "tactic", "inflation", "achieved", "team"],
        orient="row",
    ).write_csv(root / "truth.csv")
    (root / "org.json").write_text(json.dumps(org, default=str))
    return len(u)


def scan(root: Path, change_date: str | None, tag: str):
    out = root / f"report-{tag}.json"
    cmd = [sys.executable, "-m", "tokenaudit", "scan", "--usage", str(root / "usage.csv")]
    cmd += ["--commits", str(root / "commits.csv"), "--identities", str(root / "identities.csv")]
    cmd += ["--format", "json", "-o", str(out), "--exit-zero"]
    if change_date:
        cmd += ["--change-date", change_date]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"scan failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(out.read_text())["accounts"], time.perf_counter() - t0


# ---------------------------------------------------------------- figures


def avg_precision(scores, labels):
    order = np.argsort(-np.asarray(scores), kind="stable")
    lab = np.asarray(labels)[order]
    if lab.sum() == 0:
        return float("nan")
    hits = np.cumsum(lab)
    return float((hits / np.arange(1, len(lab) + 1))[lab == 1].mean())


def evaluate(people, accounts):
    by = {a["account"].lower(): a for a in accounts}
    res = dict(flags=[], misses=[], per=[])
    scores, labels = [], []
    n_h = hs = hr = ns = 0
    for p in people:
        a = by.get(p.email.lower())
        st = a["status"] if a else "absent"
        scores.append(a["score"] if a and a.get("score") is not None else 0.0)
        labels.append(1 if p.tactic else 0)
        if p.tactic:
            res["per"].append((p.tactic, p.achieved, st))
            if p.achieved >= 10 and st == "ok":
                res["misses"].append((p, a))
        else:
            n_h += 1
            hs += st == "suspicious"
            hr += st in ("review", "suspicious")
            if st in ("review", "suspicious"):
                res["flags"].append((p, a))
        ns += st == "suspicious"
    res.update(
        n_honest=n_h,
        honest_susp=hs,
        honest_review_share=hr / max(1, n_h),
        fdp=hs / ns if ns else 0.0,
        ap=avg_precision(scores, labels),
        statuses={
            s: sum(a["status"] == s for a in accounts) for s in {a["status"] for a in accounts}
        },
    )
    return res


def pvals(a):
    if not a:
        return ""
    keys = ("q_value", "p_mechanism", "p_outcome", "p_excess_tokens")
    parts = [f"{k}={a.get(k):.3g}" for k in keys if isinstance(a.get(k), int | float)]
    chk = [
        f"{c['id']} p={c['p_value']:.2g}"
        for c in a.get("checks", [])
        if c.get("applicable") and c.get("p_value") is not None and c["p_value"] < 0.05
    ]
    return "; ".join(parts) + (" | checks p<0.05: " + ", ".join(chk) if chk else "")


def fmt(vals, pct=False, worst=max):
    v = [x for x in vals if not (isinstance(x, float) and math.isnan(x))]
    if not v:
        return "–"
    m, w = float(np.mean(v)), worst(v)
    return f"{m:.1%} / {w:.1%}" if pct else f"{m:.2f} / {w:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orgs", type=int, default=4)
    ap.add_argument("--sizes", default="60,200")
    ap.add_argument("--scenarios", default="honest,mixed,launch")
    ap.add_argument("--seed", type=int, default=9100)
    ap.add_argument("--root", type=Path, default=None)
    args = ap.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="blind-tactics-"))
    root.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    scen = args.scenarios.split(",")
    results: dict[tuple[str, int], list] = {}
    t_all = time.perf_counter()
    for size in sizes:
        for si, sc in enumerate(scen):
            for k in range(args.orgs):
                seed = args.seed + 1000 * size + 100 * si + k
                rng = np.random.default_rng(seed)
                d = root / f"{sc}-{size}-{k}"
                d.mkdir(parents=True, exist_ok=True)
                t0 = time.perf_counter()
                people, org = build_org(rng, size, sc, d)
                tg = time.perf_counter() - t0
                variants = [("", None)]
                if sc == "launch":
                    cd = time.strftime("%Y-%m-%d", time.gmtime(EPOCH + org["launch"] * DAY))
                    variants = [("-nodate", None), ("+date", cd)]
                for tag, cd in variants:
                    accounts, ts = scan(d, cd, tag.strip("-+") or "plain")
                    r = evaluate(people, accounts)
                    r.update(seed=seed, org=d.name, variant=sc + tag)
                    results.setdefault((sc + tag, size), []).append(r)
                    print(
                        f"# {d.name}{tag} seed={seed} gen {tg:.0f}s scan {ts:.0f}s "
                        f"maxxers={sum(1 for p in people if p.tactic)} statuses={r['statuses']}",
                        file=sys.stderr,
                    )
    report(results)
    print(f"\n(total {time.perf_counter() - t_all:.0f} s; data and reports in {root})")


def report(results):
    print("## Summary (mean / worst organisation)\n")
    print(
        "| scenario | size | orgs | P(≥1 honest susp.) | honest susp. count | honest review+ share "
        "| FDP of suspicious | AP of score |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for (sc, size), rs in results.items():
        p1 = float(np.mean([r["honest_susp"] > 0 for r in rs]))
        print(
            f"| {sc} | {size} | {len(rs)} | {p1:.2f} | "
            f"{fmt([float(r['honest_susp']) for r in rs])} | "
            f"{fmt([r['honest_review_share'] for r in rs], True)} | "
            f"{fmt([r['fdp'] for r in rs], True)} | {fmt([r['ap'] for r in rs], worst=min)} |"
        )
    print("\n## Recall per tactic and inflation band (review+ / suspicious; n)\n")
    print("| scenario | size | tactic | " + " | ".join(b[0] for b in BANDS) + " |")
    print("|---|---|---|" + "---|" * len(BANDS))
    for (sc, size), rs in results.items():
        per = [x for r in rs for x in r["per"]]
        if not per:
            continue
        for t in TACTICS:
            cells = []
            for _, lo, hi in BANDS:
                xs = [st for tt, m, st in per if tt == t and lo <= m < hi]
                if not xs:
                    cells.append("–")
                    continue
                rv = sum(s in ("review", "suspicious") for s in xs) / len(xs)
                su = sum(s == "suspicious" for s in xs) / len(xs)
                cells.append(f"{rv:.2f} / {su:.2f} ({len(xs)})")
            print(f"| {sc} | {size} | {t} | " + " | ".join(cells) + " |")
    print("\n## Honest people flagged (review or suspicious)\n")
    any_flag = False
    for (_sc, _size), rs in results.items():
        for r in rs:
            for p, a in r["flags"]:
                any_flag = True
                print(
                    f"- {r['variant']} {r['org']} (seed {r['seed']}): {p.email} [{p.archetype}, "
                    f"team {p.team}] **{a['status']}** score {a['score']} — {a['reasons']} "
                    f"({pvals(a)})"
                )
    if not any_flag:
        print("none")
    print("\n## Tokenmaxxers at ×10+ left `ok`\n")
    miss = 0
    for (_sc, _size), rs in results.items():
        for r in rs:
            for p, a in r["misses"]:
                miss += 1
                extra = f"tokens {a['tokens']:,}, merged {a['merged_changes']}" if a else ""
                print(
                    f"- {r['variant']} {r['org']}: {p.email} {p.tactic} ×{p.achieved:.1f} "
                    f"({p.archetype} base) {extra} — {(a or {}).get('reasons', '')}"
                )
    if not miss:
        print("none")


if __name__ == "__main__":
    main()
