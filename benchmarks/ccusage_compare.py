"""Compare tokenaudit's per-day token totals of a Claude Code transcript tree with ccusage's.

ccusage 17.x (the JS releases that install and run offline from the npm registry) keeps the
*first* line of a streamed message; tokenaudit keeps the *fullest*. Everything else must agree.

    python benchmarks/ccusage_compare.py                       # tests/data/claude_tree
    python benchmarks/ccusage_compare.py --tree ~/.claude      # any CLAUDE_CONFIG_DIR
    python benchmarks/ccusage_compare.py --record              # refresh the recorded ccusage output

Needs `npm` on PATH (it installs ccusage@17.2.1 into a temporary directory).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

from tokenaudit.loaders import expand_paths, load_input
from tokenaudit.panel import split_duplicate_requests

ROOT = Path(__file__).parent.parent
CCUSAGE = "ccusage@17.2.1"
RECORDED = ROOT / "tests" / "data" / "claude_tree.ccusage-17.2.1.json"
COLUMNS = {
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cacheCreationTokens": "cache_write_tokens",
    "cacheReadTokens": "cache_read_tokens",
}


def tokenaudit_daily(tree: Path) -> pl.DataFrame:
    """Per UTC day token totals as tokenaudit counts them."""
    with tempfile.TemporaryDirectory() as tmp:
        frames = []
        for file in expand_paths([tree]):
            loaded = load_input(file, Path(tmp), account="me")
            if loaded is not None:
                frames.append(
                    loaded.frame.collect().filter(pl.col("_reject").is_null()).drop("_reject")
                )
    kept, _ = split_duplicate_requests(pl.concat(frames, how="vertical_relaxed"))
    return (
        kept.group_by(pl.col("timestamp").dt.date().cast(pl.String).alias("date"))
        .agg(pl.col(list(COLUMNS.values())).sum())
        .sort("date")
    )


def ccusage_daily(tree: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "install", "--silent", "--prefix", tmp, CCUSAGE], check=True)
        out = subprocess.run(
            [
                str(Path(tmp) / "node_modules" / ".bin" / "ccusage"),
                "daily",
                "--json",
                "--offline",
                "--timezone",
                "UTC",
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "CLAUDE_CONFIG_DIR": str(tree)},
        )
    return json.loads(out.stdout)


def compare(ours: pl.DataFrame, theirs: dict) -> pl.DataFrame:
    rows = [
        {"date": d["date"], **{c: int(d[k]) for k, c in COLUMNS.items()}} for d in theirs["daily"]
    ]
    ref = pl.DataFrame(rows)
    joined = ours.join(ref, on="date", how="full", suffix="_ccusage", coalesce=True).sort("date")
    return joined.with_columns(
        (pl.col(c) - pl.col(f"{c}_ccusage")).alias(f"{c}_diff") for c in COLUMNS.values()
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=Path, default=ROOT / "tests" / "data" / "claude_tree")
    parser.add_argument(
        "--record", action="store_true", help="write the ccusage output to the test data"
    )
    args = parser.parse_args()
    theirs = ccusage_daily(args.tree)
    if args.record:
        RECORDED.write_text(json.dumps(theirs, indent=2) + "\n")
    table = compare(
        tokenaudit_daily(
            args.tree / "projects" if (args.tree / "projects").is_dir() else args.tree
        ),
        theirs,
    )
    with pl.Config(tbl_rows=100, tbl_cols=20, tbl_width_chars=200):
        print(table)
    diffs = table.select(pl.col("^.*_diff$").abs().sum()).row(0)
    print(
        "\ndifferences (tokenaudit − ccusage), summed:",
        dict(zip([c + "_diff" for c in COLUMNS.values()], diffs, strict=True)),
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
