"""Calibration of every check on all-honest organisations: P(p <= alpha) should not exceed alpha.

Generates organisations without tokenmaxxers (the honest population includes the hard archetypes:
explorers, reviewers, late mergers, new joiners, people on leave, squash victims, overnight agent
users, on-call engineers), runs the audit in-process and prints, per check, the share of applicable
p-values at or below 0.01, 0.05 and 0.1 with its binomial standard error (p-values within one
organisation share a fit, so the real error is somewhat larger).

    python benchmarks/calibration.py                  # 6 organisations of 200 accounts, 9 weeks
    python benchmarks/calibration.py --seeds 20 --accounts 400
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from tokenaudit.audit import run_audit
from tokenaudit.config import AuditConfig
from tokenaudit.loaders import expand_paths
from tokenaudit.synthetic.simulate import generate_org, write_org

ALPHAS = (0.01, 0.05, 0.1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--first-seed", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--days", type=int, default=63)
    args = parser.parse_args()
    pvalues = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            write_org(generate_org(args.accounts, args.days, seed, 0.0), out, fmt="parquet")
            files = expand_paths(
                [out / "usage.parquet", out / "commits.parquet", out / "identities.csv"]
            )
            report = run_audit(files, AuditConfig(), out)
        pvalues.append(report.checks.filter(pl.col("applicable")).select("check", "p_value"))
    table = pl.concat(pvalues)
    print(
        f"# Calibration on {args.seeds} all-honest organisations ({args.accounts} accounts, {args.days} days)\n"
    )
    print("| check | p-values | " + " | ".join(f"P(p ≤ {a})" for a in ALPHAS) + " |")
    print("|---|---|" + "---|" * len(ALPHAS))
    for (check,), group in sorted(table.group_by("check"), key=lambda item: item[0]):
        values = group["p_value"].to_numpy()
        cells = [
            f"{np.mean(values <= a):.4f} ± {np.sqrt(a * (1 - a) / values.size):.4f}" for a in ALPHAS
        ]
        print(f"| {check} | {values.size} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
