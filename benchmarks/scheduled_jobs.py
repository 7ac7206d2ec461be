"""What a heavy scheduled job with a fixed prompt does to honest people: `suspicious` or not.

A health check, a canary or a cron job that sends the same prompt on a period of a few minutes
repeats itself as exactly as a scripted loop. Identical sizes count only between requests less
than `panel.SAME_SIZE_GAP_S` apart and only where the repeats outweigh a day of work, so such a
job is counted when its period is short enough and its weight per day large enough. This
script measures how often that names an honest person: on all-honest organisations of both
generator families, `--people` honest people each get the job under their key (`--tokens`
prompt tokens, a 2-token answer, every `--period` seconds, day and night, from the first request
of the log to the last), and it prints per organisation how many people are `suspicious` (every
one of them honest) and how many of those had the job.

    python benchmarks/scheduled_jobs.py --period 60 --tokens 600
    python benchmarks/scheduled_jobs.py --period 300 --tokens 3000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))

from detection import Job, _families_org, _simulate_org


def add_job(usage_file: Path, accounts: list[str], period_s: int, tokens: int) -> None:
    """Rewrite `usage_file` with the scheduled job (see the docstring) under each of `accounts`."""
    usage = pl.read_parquet(usage_file)
    stamps = usage["timestamp"].str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC")
    ticks = pl.datetime_range(stamps.min(), stamps.max(), f"{period_s}s", eager=True)
    at = ticks.dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    n = ticks.len()
    jobs = [
        pl.DataFrame(
            {
                "timestamp": at,
                "account": [account] * n,
                "input_tokens": [tokens] * n,
                "output_tokens": [2] * n,
                "cache_read_tokens": [0] * n,
                "cache_write_tokens": [0] * n,
            }
        )
        for account in accounts
    ]
    pl.concat([usage, *jobs], how="diagonal_relaxed").write_parquet(usage_file)


def measure(job: Job, people: int, period_s: int, tokens: int) -> tuple[int, int]:
    """(people `suspicious`, of whom had the job) in one all-honest organisation."""
    from tokenaudit.audit import run_audit
    from tokenaudit.config import AuditConfig
    from tokenaudit.loaders import expand_paths

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        org = (_simulate_org if job.generator == "simulate" else _families_org)(job, out / "org")
        honest = sorted(org.truth.filter(~pl.col("is_maxxer").fill_null(False))["account"])
        chosen = list(np.random.default_rng(job.seed).choice(honest, size=people, replace=False))
        add_job(next(f for f in org.files if f.name.startswith("usage")), chosen, period_s, tokens)
        (out / "w").mkdir()
        report = run_audit(expand_paths(org.files), AuditConfig(quota=org.quota), out / "w")
    flagged = report.accounts.filter(pl.col("status") == "suspicious")["account"]
    return flagged.len(), int(flagged.is_in(chosen).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orgs", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=500)
    parser.add_argument("--people", type=int, default=20, help="honest people given the job")
    parser.add_argument("--period", type=int, default=60, help="seconds between the job's requests")
    parser.add_argument("--tokens", type=int, default=600, help="the job's prompt tokens")
    args = parser.parse_args()
    per_day = args.tokens * 86_400 / args.period
    print(
        f"# A {args.tokens}-token job every {args.period} s ({per_day / 1e6:.2f}M tokens a day) "
        f"under {args.people} honest people's keys, all-honest organisations of 200\n"
    )
    print("| generator | seed | suspicious | of whom had the job |")
    print("|---|---|---|---|")
    for gen in ("simulate", "families"):
        total = [0, 0]
        for seed in range(args.first_seed, args.first_seed + args.orgs):
            sus, with_job = measure(
                Job(gen, "honest", seed, 200), args.people, args.period, args.tokens
            )
            total[0] += sus
            total[1] += with_job
            print(f"| {gen} | {seed} | {sus} | {with_job} |", flush=True)
        print(f"| {gen} | all | {total[0]} | {total[1]} |", flush=True)


if __name__ == "__main__":
    main()
