"""Detection quality of `tokenaudit scan`, scenario by scenario, with Monte Carlo error.

Runs the real commands (`tokenaudit generate`, then `tokenaudit scan`) on generated
organisations: all-honest, 2 %, 5 % and 10 % tokenmaxxers, and a 30 % contamination stress
test, at 60, 200 and 1000 accounts (nine weeks, a weekly quota so that quota hitters exist), over
several seeds each. Per scenario it prints, as mean ± standard error over seeds:

- average precision (AP) and ROC-AUC of `score`, and precision at 10;
- the same AP for the naive ranking (tokens per merged line) and, when scikit-learn is installed
  (`pip install -e ".[bench]"`), an Isolation Forest on the same per-account report columns;
- recall of `suspicious` (q ≤ 0.10 in tier 2) per tokenmaxxer tactic, and of any flag;
- the realised false discovery proportion of `suspicious`;
- the share of honest accounts in the top token decile flagged `suspicious`, and of each hard
  honest archetype;
- how often the top reason names the check that fits the injected tactic;
- for all-honest populations, P(at least one `suspicious`).

    python benchmarks/detection.py                       # the full grid (about 10 minutes)
    python benchmarks/detection.py --sizes 200 --shares 0 0.05 --seeds 3
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl

#: Which checks speak to each tactic: the top reason of a caught account should be one of them.
TACTIC_CHECKS = {
    "scripted-loop": {"automation"},
    "swarm-idler": {"automation"},
    "camouflage": {"trivial-merges"},
    "quota-hitter": {"deadline-spikes"},
    "intermittent": {"usage-jump", "barren-days", "excess-tokens"},
    "drip-feeder": {"excess-tokens", "barren-days"},
}
HARD_HONEST = ("agent-power-user", "explorer", "reviewer", "late-merger", "on-call")
DEFAULT_SEEDS = {60: 8, 200: 4, 1000: 1}


def run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        sys.exit(f"command failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr}")


def average_precision(labels: list[bool]) -> float:
    hits, total = 0, 0.0
    for i, positive in enumerate(labels, start=1):
        if positive:
            hits += 1
            total += hits / i
    return total / hits if hits else math.nan


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann–Whitney form: P(a random positive scores above a random negative), ties half."""
    pos, neg = scores[labels], scores[~labels]
    if pos.size == 0 or neg.size == 0:
        return math.nan
    order = np.argsort(np.concatenate([pos, neg]), kind="stable")
    ranks = np.empty(order.size)
    ranks[order] = np.arange(1, order.size + 1)
    values = np.concatenate([pos, neg])
    for v in np.unique(values):
        tied = values == v
        ranks[tied] = ranks[tied].mean()
    return float((ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


def ranked_ap(df: pl.DataFrame, column: str) -> float:
    ranked = df.sort([column, "account"], descending=[True, False])
    return average_precision(ranked["is_maxxer"].to_list())


def isolation_forest_ap(df: pl.DataFrame, seed: int) -> float:
    try:
        from sklearn.ensemble import IsolationForest
    except ImportError:
        return math.nan
    features = df.select(
        pl.col("tokens").log1p(),
        pl.col("requests").log1p(),
        pl.col("active_days"),
        pl.col("merged_changes").log1p(),
        pl.col("merged_lines").log1p(),
        pl.col("barren_token_share").fill_null(0.0),
        pl.col("cost_usd").fill_null(0.0).log1p(),
    ).to_numpy()
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(features)
    anomaly = -forest.score_samples(features)
    return ranked_ap(df.with_columns(pl.Series("_iforest", anomaly)), "_iforest")


def scan_org(workdir: Path, accounts: int, share: float, seed: int, quota: float) -> pl.DataFrame:
    tool = [sys.executable, "-m", "tokenaudit"]
    org = workdir / f"org-{accounts}-{share}-{seed}"
    quota_args = ["--quota", str(quota)]
    run(
        [
            *tool,
            "generate",
            str(org),
            "--accounts",
            str(accounts),
            "--days",
            "63",
            "--seed",
            str(seed),
            "--maxxer-share",
            str(share),
            "--file-format",
            "parquet",
            *quota_args,
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
            *quota_args,
        ]
    )
    truth = pl.read_csv(org / "truth.csv").select("account", "archetype", "is_maxxer")
    return (
        pl.read_csv(report)
        .join(truth, on="account", how="left")
        .with_columns(pl.col("is_maxxer").fill_null(False), pl.col("archetype").fill_null("bot"))
    )


def seed_figures(df: pl.DataFrame, seed: int) -> dict[str, float]:
    """Every figure of one organisation (NaN where it does not apply)."""
    people = df.filter(pl.col("archetype") != "bot")
    labels = people["is_maxxer"].to_numpy()
    suspicious = people.filter(pl.col("status") == "suspicious")
    naive = people.with_columns(
        pl.when(pl.col("merged_lines") > 0)
        .then(pl.col("tokens") / pl.col("merged_lines"))
        .otherwise(float("inf"))
        .alias("_naive")
    )
    top_decile = people.filter(pl.col("tokens") >= people["tokens"].quantile(0.9))
    honest_top = top_decile.filter(~pl.col("is_maxxer"))
    out: dict[str, float] = {
        "any_suspicious": float(suspicious.height > 0),
        "fdp": (suspicious.filter(~pl.col("is_maxxer")).height / suspicious.height)
        if suspicious.height
        else 0.0,
        "honest_top_decile_flagged": (
            honest_top.filter(pl.col("status") == "suspicious").height / honest_top.height
            if honest_top.height
            else math.nan
        ),
    }
    if labels.any():
        ranked = people.sort("rank")["is_maxxer"].to_list()
        out |= {
            "ap": average_precision(ranked),
            "auc": roc_auc(people["score"].to_numpy(), labels),
            "p_at_10": sum(ranked[:10]) / 10,
            "naive_ap": ranked_ap(naive, "_naive"),
            "iforest_ap": isolation_forest_ap(people, seed),
            "ap_without_drip": average_precision(
                people.filter(pl.col("archetype") != "drip-feeder")
                .sort("rank")["is_maxxer"]
                .to_list()
            ),
        }
        caught = suspicious.filter(pl.col("is_maxxer"))
        if caught.height:
            matches = [
                reason.split(":")[0] in TACTIC_CHECKS.get(tactic, set())
                for reason, tactic in caught.select("reasons", "archetype").iter_rows()
            ]
            out["top_reason_matches"] = sum(matches) / len(matches)
    for tactic in TACTIC_CHECKS:
        members = people.filter(pl.col("archetype") == tactic)
        if members.height:
            out[f"recall:{tactic}"] = (members["status"] == "suspicious").mean()  # type: ignore[assignment]
            out[f"flagged:{tactic}"] = members["flagged"].mean()  # type: ignore[assignment]
    for archetype in HARD_HONEST:
        members = people.filter(pl.col("archetype") == archetype)
        if members.height:
            out[f"honest:{archetype}"] = (members["status"] == "suspicious").mean()  # type: ignore[assignment]
    return out


def mean_se(values: list[float]) -> str:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "–"
    m = statistics.fmean(values)
    if len(values) < 2:
        return f"{m:.3f}"
    return f"{m:.3f} ± {statistics.stdev(values) / math.sqrt(len(values)):.3f}"


def pooled(values: list[tuple[int, int]]) -> str:
    hits = sum(h for h, _ in values)
    n = sum(t for _, t in values)
    return f"{hits / n:.2f} ({hits}/{n})" if n else "–"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[60, 200, 1000])
    parser.add_argument("--shares", type=float, nargs="+", default=[0.0, 0.02, 0.05, 0.10, 0.30])
    parser.add_argument("--seeds", type=int, default=None, help="seeds per scenario")
    parser.add_argument("--first-seed", type=int, default=3000)
    parser.add_argument(
        "--quota", type=float, default=5e7, help="weekly token quota of every person"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print("# Detection scenarios\n")
    print(
        "python benchmarks/detection.py "
        f"--sizes {' '.join(map(str, args.sizes))} --shares {' '.join(map(str, args.shares))}"
        + (f" --seeds {args.seeds}" if args.seeds else "")
        + "\n"
    )
    with tempfile.TemporaryDirectory(prefix="tokenaudit-bench-") as tmp:
        for accounts in args.sizes:
            n_seeds = args.seeds or DEFAULT_SEEDS.get(accounts, 2)
            quota = args.quota
            for share in args.shares:
                figures: dict[str, list[float]] = defaultdict(list)
                counts: dict[str, list[tuple[int, int]]] = defaultdict(list)
                for seed in range(args.first_seed, args.first_seed + n_seeds):
                    df = scan_org(Path(tmp), accounts, share, seed, quota)
                    for key, value in seed_figures(df, seed).items():
                        figures[key].append(float(value))
                    people = df.filter(pl.col("archetype") != "bot")
                    for tactic in TACTIC_CHECKS:
                        members = people.filter(pl.col("archetype") == tactic)
                        counts[f"recall:{tactic}"].append(
                            ((members["status"] == "suspicious").sum(), members.height)
                        )
                    for archetype in HARD_HONEST:
                        members = people.filter(pl.col("archetype") == archetype)
                        counts[f"honest:{archetype}"].append(
                            ((members["status"] == "suspicious").sum(), members.height)
                        )
                    suspicious = people.filter(pl.col("status") == "suspicious")
                    counts["suspicious"].append(
                        (int(suspicious["is_maxxer"].sum()), suspicious.height)
                    )
                label = f"{accounts} accounts, {share:.0%} tokenmaxxers, {n_seeds} seeds"
                print(f"## {label}\n")
                print("| figure | value |\n|---|---|")
                for key, name in (
                    ("ap", "AP of score"),
                    ("ap_without_drip", "AP of score, drip-feeders left out"),
                    ("auc", "ROC-AUC of score"),
                    ("p_at_10", "precision at 10"),
                    ("naive_ap", "AP of naive tokens per merged line"),
                    ("iforest_ap", "AP of Isolation Forest (report columns)"),
                    ("fdp", "realised FDP of suspicious"),
                    ("any_suspicious", "P(≥ 1 suspicious)"),
                    ("honest_top_decile_flagged", "honest top-decile users flagged suspicious"),
                    ("top_reason_matches", "top reason matches the tactic (true positives)"),
                ):
                    if figures.get(key):
                        print(f"| {name} | {mean_se(figures[key])} |")
                print(f"| suspicious: true / all | {pooled(counts['suspicious'])} |")
                for tactic in TACTIC_CHECKS:
                    if sum(t for _, t in counts[f"recall:{tactic}"]):
                        print(
                            f"| recall of {tactic} (suspicious) | {pooled(counts[f'recall:{tactic}'])} |"
                        )
                for archetype in HARD_HONEST:
                    if sum(t for _, t in counts[f"honest:{archetype}"]):
                        print(
                            f"| honest {archetype} flagged suspicious | {pooled(counts[f'honest:{archetype}'])} |"
                        )
                print(flush=True)
    print(f"_{time.perf_counter() - started:.0f} s in all._")


if __name__ == "__main__":
    main()
