"""How often honest automation produces each request fingerprint: which ones may count.

On all-honest organisations of both generator families (parameters drawn per seed as in
`detection.py`), for every honest person whose usage includes automation (overnight or all-day
agent runs, agent fleets, CI jobs under their key, on-call), and for everybody else, the share
of people on whom a fingerprint passes its effect-size gate (at least 3 timed days and the
fingerprint's share of them) and the share on whom it reaches p ≤ 0.01 against the cohort. A
fingerprint counts toward `suspicious` only where honest automation does not produce it.

Neither generator sends keep-alive pings or runs batch jobs, so `--extra` (default 10 %) gives
that share of each organisation's honest people a keep-alive ping under their key, and as many
others a nightly batch job ("keep-alive ping" and "batch job" below, whatever else they run):
- the ping: the same small request (20–200 tokens, a 2-token answer) every 30–120 seconds, day
  and night, from the first request of the log to the last;
- the batch job: every night at 01:00 UTC, 300–3,000 requests back to back (one every 1–3
  seconds), each a fixed few-shot template of 2,000–12,000 tokens plus one item to classify
  (lognormal, median 60 tokens), answered with a one-token label.

    python benchmarks/fingerprints.py --orgs 4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))

from detection import Job, _families_org, _simulate_org
from scheduled_jobs import job_requests, log_span


def add_pings(usage_file: Path, accounts: list[str], seed: int) -> None:
    """Rewrite `usage_file` with a keep-alive ping under each of `accounts` (see the docstring)."""
    usage = pl.read_parquet(usage_file)
    first, last = log_span(usage)
    rng = np.random.default_rng(seed)
    pings = []
    for account in accounts:
        every = int(rng.integers(30, 121))
        pings.append(job_requests(account, first, last, every, int(rng.integers(20, 201))))
    pl.concat([usage, *pings], how="diagonal_relaxed").write_parquet(usage_file)


def add_batches(usage_file: Path, accounts: list[str], seed: int) -> None:
    """Rewrite `usage_file` with a nightly batch job under each of `accounts` (see the docstring)."""
    usage = pl.read_parquet(usage_file)
    stamps = usage["timestamp"].str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC")
    first = stamps.min().replace(hour=1, minute=0, second=0, microsecond=0)  # type: ignore[union-attr]
    nights = (stamps.max() - first).days  # type: ignore[operator]
    rng = np.random.default_rng(seed + 1)
    jobs = []
    for account in accounts:
        template = int(rng.integers(2_000, 12_001))
        for night in range(nights):
            n = int(rng.integers(300, 3_001))
            start = first.timestamp() + night * 86_400
            at = start + np.cumsum(rng.uniform(1.0, 3.0, n))
            items = np.rint(rng.lognormal(np.log(60), 0.7, n)).astype(np.int64)
            jobs.append(
                pl.DataFrame(
                    {
                        "timestamp": pl.Series((at * 1e6).astype(np.int64))
                        .cast(pl.Datetime("us", "UTC"))
                        .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
                        "account": [account] * n,
                        "input_tokens": items,
                        "output_tokens": [1] * n,
                        "cache_read_tokens": [template] * n,
                        "cache_write_tokens": [0] * n,
                    }
                )
            )
    pl.concat([usage, *jobs], how="diagonal_relaxed").write_parquet(usage_file)


def measure(job: Job, extra_share: float) -> pl.DataFrame:
    from tokenaudit.audit import run_audit
    from tokenaudit.checks.automation import FINGERPRINTS, MIN_SHARE, fingerprint_days
    from tokenaudit.config import AuditConfig
    from tokenaudit.loaders import expand_paths

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        org = (_simulate_org if job.generator == "simulate" else _families_org)(job, out / "org")
        honest = sorted(org.truth.filter(~pl.col("is_maxxer").fill_null(False))["account"])
        rng = np.random.default_rng(job.seed)
        chosen = list(rng.choice(honest, size=2 * round(extra_share * len(honest)), replace=False))
        pinged, batched = chosen[: len(chosen) // 2], chosen[len(chosen) // 2 :]
        usage_file = next(f for f in org.files if f.name.startswith("usage"))
        add_pings(usage_file, pinged, job.seed)
        add_batches(usage_file, batched, job.seed)
        (out / "w").mkdir()
        cfg = AuditConfig(quota=org.quota)
        report = run_audit(expand_paths(org.files), cfg, out / "w")
    counts = fingerprint_days(report.days, cfg)
    gates = [
        (
            (pl.col(f) >= cfg.mechanism_min_days)
            & (pl.col(f) >= MIN_SHARE.get(f, cfg.mechanism_min_share) * pl.col("timed"))
        ).alias(f)
        for f in FINGERPRINTS
    ]
    flags = counts.filter(pl.col("timed") >= cfg.mechanism_min_days).select("account", *gates)
    trivial = report.checks.filter(pl.col("check") == "trivial-merges").select(
        "account", (pl.col("p_value") <= 0.01).fill_null(False).alias("trivial-merges (p ≤ 0.01)")
    )
    return (
        flags.join(trivial, on="account", how="left")
        .join(org.truth, on="account", how="inner")
        .filter(~pl.col("is_maxxer"))
        .with_columns(
            pl.lit(job.generator).alias("generator"),
            pl.when(pl.col("account").is_in(pinged))
            .then(pl.lit("keep-alive ping"))
            .when(pl.col("account").is_in(batched))
            .then(pl.lit("batch job"))
            .otherwise(pl.col("automation"))
            .alias("automation"),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", type=int, default=4)
    parser.add_argument("--first-seed", type=int, default=700)
    parser.add_argument(
        "--extra", type=float, default=0.1, help="share of honest people given a ping, and a batch"
    )
    args = parser.parse_args()
    frames = [
        measure(Job(gen, "honest", seed, 200), args.extra)
        for gen in ("simulate", "families")
        for seed in range(args.first_seed, args.first_seed + args.orgs)
    ]
    df = pl.concat(frames, how="diagonal_relaxed")
    columns = [
        c
        for c in df.columns
        if c
        not in {
            "account",
            "is_maxxer",
            "tactic",
            "inflation",
            "mechanism",
            "automation",
            "generator",
        }
    ]
    print(
        f"# Fingerprints on honest people ({args.orgs} all-honest organisations of 200 per generator)\n"
    )
    print("| who | people | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    groups: dict[str, pl.DataFrame] = defaultdict(pl.DataFrame)
    for (gen, kind), part in df.with_columns(
        pl.col("automation").fill_null("no automation")
    ).group_by("generator", "automation"):
        groups[f"{gen}: {kind}"] = part
    for label in sorted(groups):
        part = groups[label]
        rates = [float(np.mean(part[c].fill_null(False).to_numpy())) for c in columns]
        print(f"| {label} | {part.height} | " + " | ".join(f"{r:.2f}" for r in rates) + " |")


if __name__ == "__main__":
    main()
