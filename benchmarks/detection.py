"""Detection quality of `tokenaudit scan` on generated organisations.

Runs the real commands (`tokenaudit generate`, then `tokenaudit scan`) for several seeds with
tokenmaxxers and for all-honest populations, and prints:
- average precision (AP) and precision at k (k = number of tokenmaxxers) of the `score` ranking,
  next to the naive ranking by tokens per merged line;
- how many honest accounts end `suspicious` or `review`, by archetype;
- in all-honest populations, in how many seeds at least one account is `suspicious`.

    python benchmarks/detection.py                 # 5 seeds + 10 all-honest seeds, 200 accounts, 9 weeks
    python benchmarks/detection.py --seeds 10 --null-seeds 20
    python benchmarks/detection.py --quota 60000000   # adds quota hitters aiming at a weekly quota
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import polars as pl


def run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        sys.exit(f"command failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")


def average_precision(labels: list[bool]) -> float:
    """AP of a ranking given the labels in rank order."""
    hits, total = 0, 0.0
    for i, positive in enumerate(labels, start=1):
        if positive:
            hits += 1
            total += hits / i
    return total / hits if hits else math.nan


def precision_at(labels: list[bool], k: int) -> float:
    return sum(labels[:k]) / k if k else math.nan


def scan_org(workdir: Path, seed: int, args: argparse.Namespace, share: float) -> pl.DataFrame:
    org = workdir / f"org-{share}-{seed}"
    tool = [sys.executable, "-m", "tokenaudit"]
    quota = ["--quota", str(args.quota)] if args.quota else []
    run(
        [
            *tool,
            "generate",
            str(org),
            "--accounts",
            str(args.accounts),
            "--days",
            str(args.days),
            "--seed",
            str(seed),
            "--maxxer-share",
            str(share),
            "--file-format",
            "parquet",
            *quota,
        ]
    )
    report = org / "report.csv"
    run(
        [
            *tool,
            "scan",
            str(org / "usage.parquet"),
            str(org / "commits.parquet"),
            "--identities",
            str(org / "identities.csv"),
            "--format",
            "csv",
            "--all",
            "--exit-zero",
            "--output",
            str(report),
            *quota,
        ]
    )
    truth = pl.read_csv(org / "truth.csv").drop("quota", strict=False)
    return (
        pl.read_csv(report)
        .join(truth, on="account", how="left")
        .with_columns(
            pl.col("is_maxxer").fill_null(False),
            pl.col("archetype").fill_null("bot"),
            pl.lit(seed).alias("seed"),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--null-seeds", type=int, default=10)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--days", type=int, default=63)
    parser.add_argument("--share", type=float, default=0.08)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument(
        "--quota",
        type=float,
        default=None,
        help="weekly token quota: adds quota hitters, scans with --quota",
    )
    args = parser.parse_args()

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tokenaudit-bench-") as tmp:
        workdir = Path(tmp)
        rows = []
        honest_flags: Counter[tuple[str, str]] = Counter()
        honest_counts: Counter[str] = Counter()
        caught: Counter[tuple[str, str]] = Counter()
        maxxer_counts: Counter[str] = Counter()
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            df = scan_org(workdir, seed, args, args.share)
            ranked = df.sort("rank")
            labels = ranked["is_maxxer"].to_list()
            naive = df.with_columns(
                pl.when(pl.col("merged_lines") > 0)
                .then(pl.col("tokens") / pl.col("merged_lines"))
                .otherwise(float("inf"))
                .alias("naive")
            ).sort(["naive", "account"], descending=[True, False])
            k = sum(labels)
            rows.append(
                {
                    "seed": seed,
                    "maxxers": k,
                    "ap": average_precision(labels),
                    "p_at_k": precision_at(labels, k),
                    "naive_ap": average_precision(naive["is_maxxer"].to_list()),
                    "naive_p_at_k": precision_at(naive["is_maxxer"].to_list(), k),
                    "suspicious_true": df.filter(
                        pl.col("is_maxxer") & (pl.col("status") == "suspicious")
                    ).height,
                    "suspicious_false": df.filter(
                        ~pl.col("is_maxxer") & (pl.col("status") == "suspicious")
                    ).height,
                }
            )
            for r in df.iter_rows(named=True):
                if r["is_maxxer"]:
                    maxxer_counts[r["archetype"]] += 1
                    caught[(r["archetype"], r["status"])] += 1
                else:
                    honest_counts[r["archetype"]] += 1
                    if r["status"] in ("suspicious", "review"):
                        honest_flags[(r["archetype"], r["status"])] += 1
        null_any = 0
        null_flags = 0
        null_review = 0
        for seed in range(args.first_seed + 500, args.first_seed + 500 + args.null_seeds):
            df = scan_org(workdir, seed, args, 0.0)
            n_susp = df.filter(pl.col("status") == "suspicious").height
            null_any += n_susp > 0
            null_flags += n_susp
            null_review += df.filter(pl.col("status") == "review").height

    res = pl.DataFrame(rows)
    print(
        f"# tokenaudit detection benchmark: {args.accounts} accounts, {args.days} days, "
        f"{args.share:.0%} tokenmaxxers, seeds {args.first_seed}..{args.first_seed + args.seeds - 1}"
    )
    print()
    print("| seed | maxxers | AP | P@k | naive AP | naive P@k | suspicious: true / false |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['seed']} | {r['maxxers']} | {r['ap']:.3f} | {r['p_at_k']:.3f} | {r['naive_ap']:.3f} | "
            f"{r['naive_p_at_k']:.3f} | {r['suspicious_true']} / {r['suspicious_false']} |"
        )
    mean = res.mean()
    se = res.std() / math.sqrt(max(res.height, 1))
    print(
        f"| **mean ± se** | | **{mean['ap'][0]:.3f} ± {se['ap'][0]:.3f}** | {mean['p_at_k'][0]:.3f} ± {se['p_at_k'][0]:.3f} | "
        f"{mean['naive_ap'][0]:.3f} ± {se['naive_ap'][0]:.3f} | {mean['naive_p_at_k'][0]:.3f} | |"
    )
    print()
    ratio = mean["ap"][0] / mean["naive_ap"][0] if mean["naive_ap"][0] else math.inf
    print(f"AP ratio to the naive ranking: {ratio:.2f}×")
    print()
    print("Tokenmaxxers by tactic and status (all seeds):")
    print()
    print("| tactic | n | suspicious | review | ok | insufficient |")
    print("|---|---|---|---|---|---|")
    for arch in sorted(maxxer_counts):
        print(
            f"| {arch} | {maxxer_counts[arch]} | {caught[(arch, 'suspicious')]} | {caught[(arch, 'review')]} | "
            f"{caught[(arch, 'ok')]} | {caught[(arch, 'insufficient_data')]} |"
        )
    print()
    print("Honest accounts flagged, by archetype (all seeds):")
    print()
    print("| archetype | n | suspicious | review |")
    print("|---|---|---|---|")
    for arch in sorted(honest_counts):
        print(
            f"| {arch} | {honest_counts[arch]} | {honest_flags[(arch, 'suspicious')]} | {honest_flags[(arch, 'review')]} |"
        )
    print()
    print(
        f"All-honest populations: {null_any} of {args.null_seeds} seeds with at least one `suspicious` "
        f"({null_flags} suspicious, {null_review} review accounts in total)"
    )
    print(f"\n(ran in {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
