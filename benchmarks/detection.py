"""Detection quality on two independent families of organisations, mean and worst organisation.

Every organisation's generator parameters are drawn per seed from wide ranges, so that no rule
can sit just outside one generator's own settings:

- `simulate`: `tokenaudit.synthetic.simulate` with its `Family` ranges drawn per seed: honest spread of log
  tokens 0.5–1.2, overnight agent runs on 0–100 % of days lasting 1–24 h, every tactic from ×2
  to ×100 (intermittent padding ×2–30), quota on or off, an org-wide shock or not.
- `families`: `tokenaudit.synthetic.families`, a second generator that shares no code with the
  first (latent productivity and appetite, per-team habits, agent adoption that changes during the
  period, tool switches, CI jobs under a person's key, agent fleets that ship).

Scenarios per generator: `honest` (nobody pads), `mixed` (3–15 % tokenmaxxers of every tactic),
`launch` (a usage leaderboard launches mid-period and the tokenmaxxers pad from then on; scanned
without `--change-date`, with the right one, and with a wrong one three weeks earlier), `daily`
(the honest, mixed and launch organisations again, their usage summed per account and UTC day
as the vendors' admin APIs export it: no request timing, sizes or ids), and small teams of 5, 8, 15 and 30 people, with and without a reference saved from a 200-account
organisation of the same family (another seed). Per scenario it prints the mean over organisations and the worst
organisation of the family:

- P(≥ 1 honest `suspicious`); honest agent users (overnight, all-day, fleets, CI jobs under their
  key, on-call) `suspicious`; the share of honest people in `review`;
- the realised false discovery proportion of `suspicious`;
- recall of `suspicious` for scripted loops and trivial-merge padders at ×3 and above (with
  their mechanism); recall of `review` or above for plain padding at ×10 and above and for
  launch padding;
- average precision of `score` over every tactic but drip-feeding, and the naive tokens per
  merged line baseline's.

The audit runs in-process (`run_audit`, the library entry point `tokenaudit scan` calls), two
organisations at a time.

    python benchmarks/detection.py                 # 6 organisations per scenario (about 15 min)
    python benchmarks/detection.py --orgs 2 --generators families --scenarios honest mixed
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from tokenaudit.reference import Reference

#: Tactics whose mechanism counts toward `suspicious` (identical sizes, tiny merges, bunching).
MECHANISM_TACTICS = ("scripted-loop", "camouflage")
#: Tactics that are plain padding: more tokens, human timing, nothing else.
PLAIN_TACTICS = ("plain-padding", "intermittent", "swarm-idler")


@dataclass(frozen=True)
class Job:
    generator: str
    scenario: str
    seed: int
    accounts: int
    change: str = "none"  # none | right | wrong (launch scenario only)
    #: Compare with a reference saved from a 200-account organisation of the same family.
    reference: bool = False
    #: The period's length where the generator draws it (None: as drawn).
    days: int | None = None
    #: Scan the usage as daily per-account sums (the vendors' admin-API shape: no request
    #: timing, sizes or ids) instead of per-request rows.
    daily: bool = False


@dataclass(frozen=True)
class Org:
    """One generated organisation on disk and its truth, in one shape for both generators."""

    files: list[Path]
    truth: pl.DataFrame  # account, is_maxxer, tactic, inflation, mechanism, automation
    launch: date | None
    quota: float | None


def _simulate_org(job: Job, out: Path) -> Org:
    from tokenaudit.synthetic.simulate import START, Family, generate_org, write_org

    rng = np.random.default_rng(10_000 + job.seed)
    days = 63
    lo = float(rng.uniform(0.0, 0.6))
    run_lo = float(rng.uniform(1.0, 8.0))
    launch = int(rng.integers(days // 3, 2 * days // 3)) if job.scenario == "launch" else None
    fam = Family(
        spread=float(rng.uniform(0.5, 1.2)),
        overnight_p=(lo, min(1.0, lo + float(rng.uniform(0.0, 0.5)))),
        run_hours=(run_lo, min(24.0, run_lo + float(rng.uniform(1.0, 16.0)))),
        loop_mult=(2.0, 100.0),
        swarm_mult=(2.0, 100.0),
        camouflage_mult=(2.0, 100.0),
        pad_mult=(2.0, 30.0),
        launch_day=launch,
    )
    share = 0.0 if job.scenario == "honest" else float(rng.uniform(0.03, 0.15))
    quota = 5e7 if rng.uniform() < 0.5 else None
    org = generate_org(
        job.accounts,
        days,
        job.seed,
        share,
        quota=quota,
        shock=bool(rng.uniform() < 0.3),
        family=fam,
    )
    files = write_org(org, out, fmt="parquet")
    assert org.inflation is not None
    truth = org.truth.join(org.inflation, on="account", how="left").select(
        "account",
        "is_maxxer",
        pl.when(pl.col("is_maxxer")).then(pl.col("archetype")).alias("tactic"),
        "inflation",
        pl.col("archetype")
        .is_in(["scripted-loop", "camouflage", "quota-hitter"])
        .alias("mechanism"),
        pl.when(pl.col("archetype") == "agent-power-user")
        .then(pl.lit("overnight"))
        .when(pl.col("archetype") == "on-call")
        .then(pl.lit("on-call"))
        .alias("automation"),
    )
    return Org(
        [f for f in files if f.name != "truth.csv"],
        truth,
        START + timedelta(days=launch) if launch is not None else None,
        quota,
    )


def _families_org(job: Job, out: Path) -> Org:
    from tokenaudit.synthetic.families import build_org, draw_params, write_family_org

    params = draw_params(job.seed, scenario=job.scenario, accounts=job.accounts, days=job.days)
    org = build_org(params, job.seed)
    paths = write_family_org(org, out, fmt="parquet")
    truth = org.truth.select(
        "account",
        "is_maxxer",
        "tactic",
        "inflation",
        "mechanism",
        "automation",
    )
    launch = (
        params.start + timedelta(days=params.launch_day) if params.launch_day is not None else None
    )
    return Org([paths["usage"], paths["commits"], paths["identities"]], truth, launch, None)


def run_job(job: Job) -> dict[str, float]:
    from tokenaudit.audit import run_audit
    from tokenaudit.config import AuditConfig
    from tokenaudit.loaders import expand_paths

    with tempfile.TemporaryDirectory(prefix="tokenaudit-detection-") as tmp:
        out = Path(tmp)
        org = (_simulate_org if job.generator == "simulate" else _families_org)(job, out / "org")
        if job.daily:
            org = replace(
                org, files=[_daily(f) if f.name.startswith("usage") else f for f in org.files]
            )
        cfg = AuditConfig(quota=org.quota)
        if job.reference:
            cfg = replace(cfg, reference=_reference(job, out))
        if job.change != "none" and org.launch is not None:
            shift = timedelta(days=0 if job.change == "right" else -21)
            cfg = replace(cfg, change_date=org.launch + shift)
        work = out / "work"
        work.mkdir()
        report = run_audit(expand_paths(org.files), cfg, work)
    df = report.accounts.join(org.truth, on="account", how="inner")
    return figures(df, launch=job.scenario == "launch")


def _daily(usage: Path) -> Path:
    """The same usage as one row per account and UTC day (`daily_sums`), beside the original."""
    path = usage.with_name("usage-daily.parquet")
    daily_sums(pl.read_parquet(usage)).write_parquet(path)
    return path


def daily_sums(rows: pl.DataFrame) -> pl.DataFrame:
    """Per-request usage rows as one row per account and UTC day: token sums, cost, request count
    and the day's main model, nothing about the requests themselves (as the admin APIs export
    it)."""
    tokens = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    rows = rows.with_columns(
        pl.col("timestamp").str.slice(0, 10).alias("_day"),
        pl.sum_horizontal(*tokens).alias("_tok"),
    )
    main_model = (
        rows.group_by("account", "_day", "model")
        .agg(pl.col("_tok").sum())
        .sort(["account", "_day", "_tok", "model"], descending=[False, False, True, False])
        .unique(["account", "_day"], keep="first", maintain_order=True)
        .select("account", "_day", "model")
    )
    return (
        rows.group_by("account", "_day")
        .agg(
            *[pl.col(c).sum() for c in tokens],
            pl.col("cost_usd").sum().round(6),
            pl.len().cast(pl.Int64).alias("requests"),
        )
        .join(main_model, on=["account", "_day"], how="left")
        .sort("_day", "account")
        .rename({"_day": "timestamp"})
    )


def _reference(job: Job, out: Path) -> Reference:
    """A reference from another organisation of the same family: 200 accounts, mixed."""
    from tokenaudit.audit import run_audit
    from tokenaudit.config import AuditConfig
    from tokenaudit.loaders import expand_paths
    from tokenaudit.reference import dump_reference, load_reference

    days = None
    if job.generator == "families":
        from tokenaudit.synthetic.families import draw_params

        # The same length of period: a reference must stand for the scanned period.
        days = draw_params(job.seed, scenario=job.scenario, accounts=job.accounts).days
    big = Job(job.generator, "mixed", job.seed + 1000, 200, days=days)
    org = (_simulate_org if job.generator == "simulate" else _families_org)(big, out / "big")
    work = out / "big-work"
    work.mkdir()
    report = run_audit(expand_paths(org.files), AuditConfig(quota=org.quota), work)
    path = out / "reference.json"
    path.write_text(dump_reference(report, AuditConfig(quota=org.quota)))
    return load_reference(path)


def figures(df: pl.DataFrame, *, launch: bool = False) -> dict[str, float]:
    """Every figure of one organisation; counts as `hits/n` pairs where a pooled rate is wanted."""
    honest = df.filter(~pl.col("is_maxxer"))
    maxxers = df.filter(pl.col("is_maxxer"))
    suspicious = df.filter(pl.col("status") == "suspicious")
    agents = honest.filter(pl.col("automation").is_not_null())
    out: dict[str, float] = {
        "honest_any_suspicious": float((honest["status"] == "suspicious").any()),
        "honest_suspicious": float((honest["status"] == "suspicious").sum()),
        "honest_agents_suspicious": float((agents["status"] == "suspicious").sum()),
        "honest_agents": float(agents.height),
        "honest_review_share": float((honest["status"] == "review").mean() or 0.0),
        "fdp": float((~suspicious["is_maxxer"]).mean()) if suspicious.height else 0.0,
        "maxxers": float(maxxers.height),
    }

    def recall(name: str, members: pl.DataFrame, statuses: tuple[str, ...]) -> None:
        out[f"{name}_hits"] = float(members["status"].is_in(statuses).sum())
        out[f"{name}_n"] = float(members.height)

    at3 = pl.col("inflation").fill_null(0.0) >= 3
    at10 = pl.col("inflation").fill_null(0.0) >= 10
    recall(
        "loops_x3",
        maxxers.filter((pl.col("tactic") == "scripted-loop") & at3 & pl.col("mechanism")),
        ("suspicious",),
    )
    recall(
        "trivial_x3",
        maxxers.filter(
            pl.col("tactic").is_in(["camouflage", "trivial-merge"]) & at3 & pl.col("mechanism")
        ),
        ("suspicious",),
    )
    recall(
        "plain_x10",
        maxxers.filter(pl.col("tactic").is_in(PLAIN_TACTICS) & at10),
        ("suspicious", "review"),
    )
    recall(
        "launch",
        maxxers.filter(at3 if launch else pl.lit(False)),
        ("suspicious", "review"),
    )
    recall("any_flag", maxxers, ("suspicious", "review"))
    for tactic in sorted(set(maxxers["tactic"].drop_nulls().to_list())):
        recall(
            f"tactic:{tactic}", maxxers.filter(pl.col("tactic") == tactic), ("suspicious", "review")
        )
    people = df.filter(pl.col("tactic").fill_null("") != "drip-feeder")
    if people["is_maxxer"].any():
        out["ap"] = average_precision(people.sort("rank")["is_maxxer"].to_list())
        naive = people.with_columns(
            pl.when(pl.col("merged_lines") > 0)
            .then(pl.col("tokens") / pl.col("merged_lines"))
            .otherwise(float("inf"))
            .alias("_naive")
        ).sort(["_naive", "account"], descending=[True, False])
        out["naive_ap"] = average_precision(naive["is_maxxer"].to_list())
    return out


def average_precision(labels: list[bool]) -> float:
    hits, total = 0, 0.0
    for i, positive in enumerate(labels, start=1):
        if positive:
            hits += 1
            total += hits / i
    return total / hits if hits else math.nan


ROWS: tuple[tuple[str, str, str], ...] = (
    # key, label, which direction is worse
    ("honest_any_suspicious", "P(≥ 1 honest suspicious)", "max"),
    ("honest_suspicious", "honest people suspicious (count)", "max"),
    ("honest_agents_suspicious", "honest agent users suspicious (count)", "max"),
    ("honest_review_share", "honest people in review (share)", "max"),
    ("fdp", "realised FDP of suspicious", "max"),
    ("ap", "AP of score, all but drip-feeders", "min"),
    ("naive_ap", "AP of naive tokens per merged line", "min"),
)
RECALLS: tuple[tuple[str, str], ...] = (
    ("loops_x3", "recall suspicious: scripted loops ×3+ (identical sizes)"),
    ("trivial_x3", "recall suspicious: trivial-merge padders ×3+"),
    ("plain_x10", "recall review+: plain padding ×10+"),
    ("launch", "recall review+: launch padders ×3+"),
    ("any_flag", "recall review+: every tokenmaxxer"),
)


def summarise(label: str, results: list[dict[str, float]]) -> None:
    print(f"### {label}\n")
    print("| figure | mean | worst organisation |\n|---|---|---|")
    for key, name, worse in ROWS:
        values = [r[key] for r in results if key in r and not math.isnan(r[key])]
        if not values:
            continue
        worst = max(values) if worse == "max" else min(values)
        print(f"| {name} | {statistics.fmean(values):.3f} | {worst:.3f} |")
    for key, name in RECALLS:
        pairs = [(r[f"{key}_hits"], r[f"{key}_n"]) for r in results if r.get(f"{key}_n")]
        if not pairs:
            continue
        hits, n = sum(h for h, _ in pairs), sum(t for _, t in pairs)
        worst = min(h / t for h, t in pairs)
        print(f"| {name} | {hits / n:.2f} ({hits:.0f}/{n:.0f}) | {worst:.2f} |")
    tactics = sorted(
        {k[7:-5] for r in results for k in r if k.startswith("tactic:") and k.endswith("_hits")}
    )
    for tactic in tactics:
        pairs = [
            (r[f"tactic:{tactic}_hits"], r[f"tactic:{tactic}_n"])
            for r in results
            if r.get(f"tactic:{tactic}_n")
        ]
        hits, n = sum(h for h, _ in pairs), sum(t for _, t in pairs)
        print(f"| flagged (review+): {tactic} | {hits / n:.2f} ({hits:.0f}/{n:.0f}) | |")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--generators", nargs="+", default=["simulate", "families"])
    parser.add_argument(
        "--scenarios", nargs="+", default=["honest", "mixed", "launch", "daily", "small"]
    )
    parser.add_argument("--orgs", type=int, default=6, help="organisations per scenario")
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    print("# Detection on two families of organisations\n")
    print("`python " + " ".join(["benchmarks/detection.py", *sys.argv[1:]]) + "`\n")
    groups: dict[str, list[Job]] = defaultdict(list)
    seeds = range(args.first_seed, args.first_seed + args.orgs)
    for gen in args.generators:
        for scenario in args.scenarios:
            if scenario == "small":
                for size in (5, 8, 15, 30):
                    for s in seeds:
                        for ref in (False, True):
                            tag = ", with a reference" if ref else ""
                            groups[f"{gen}: {size} people, mixed{tag}"].append(
                                Job(gen, "mixed", s, size, reference=ref)
                            )
                            groups[f"{gen}: {size} people, honest{tag}"].append(
                                Job(gen, "honest", s, size, reference=ref)
                            )
                continue
            if scenario == "daily":
                for kind in ("honest", "mixed"):
                    groups[f"{gen}: {kind}, daily aggregates"] = [
                        Job(gen, kind, s, args.accounts, daily=True) for s in seeds
                    ]
                for change in ("none", "right"):
                    groups[f"{gen}: launch, --change-date {change}, daily aggregates"] = [
                        Job(gen, "launch", s, args.accounts, change, daily=True) for s in seeds
                    ]
                continue
            if scenario == "launch":
                for change in ("none", "right", "wrong"):
                    label = f"{gen}: launch, --change-date {change}"
                    groups[label] = [Job(gen, "launch", s, args.accounts, change) for s in seeds]
                continue
            groups[f"{gen}: {scenario}"] = [Job(gen, scenario, s, args.accounts) for s in seeds]
    jobs = [job for batch in groups.values() for job in batch]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        results = dict(zip(jobs, pool.map(run_job, jobs), strict=True))
    for label, batch in groups.items():
        summarise(
            f"{label} ({len(batch)} organisations of {batch[0].accounts})",
            [results[j] for j in batch],
        )
    print(f"_{time.perf_counter() - started:.0f} s in all._")


if __name__ == "__main__":
    main()
