"""Transcript trees at organisation scale: tokenaudit against ccusage, on a generated tree.

    python benchmarks/transcripts.py --size 1GB                  # Claude Code and Codex trees
    python benchmarks/transcripts.py --size 50MB --only claude --repeat 1
    python benchmarks/transcripts.py --size 1GB --out benchmarks/results/transcripts-1GB.md

Writes deterministic trees (`transcript_trees.py`, by --seed) under --workdir, then times, in
alternation and each --repeat times, whole processes (start-up included):

- `tokenaudit scan TREE --commits C --account A --format json -o OUT` (C: one merge a day by A,
  so that scan has its second input) against `ccusage daily --json --offline --timezone UTC`
  with `CLAUDE_CONFIG_DIR=TREE` (ccusage@17.2.1, installed once into a temporary directory by
  npm, the installation not timed, run through its installed bin rather than npx);
- the same scan of a Codex tree against `ccusage-codex daily --json --offline --timezone UTC`
  with `CODEX_HOME=TREE` (@ccusage/codex@17.0.3, the 17.x release of ccusage's Codex tool).

Wall seconds and peak resident memory (the process's own maximum RSS, from wait4) are
reported. Per-day totals are then checked, exactly, against what the generator wrote:
tokenaudit's against the fullest-line / counted-once rule, ccusage's against its own
(first line of a streamed message; every repeated Codex event), and their difference against
what those two rules alone explain. Needs `npm` on PATH.

`main(argv)` returns the Markdown it prints, so `scale.py` can call it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))

from transcript_trees import COLUMNS, claude_tree, codex_tree

ROOT = Path(__file__).parent.parent
CCUSAGE = "ccusage@17.2.1"
CCUSAGE_CODEX = "@ccusage/codex@17.0.3"
CLAUDE_MAP = {
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cacheReadTokens": "cache_read_tokens",
    "cacheCreationTokens": "cache_write_tokens",
}


def parse_size(text: str) -> int:
    units = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
    for unit, factor in units.items():
        if text.upper().endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants, now (0 once it is gone)."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, bytes, float]:
    """Wall seconds, peak RSS in MB of the largest process (wait4), its stdout, and the peak of
    the sum over the process and its children (sampled every 20 ms: reading processes)."""
    import threading

    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, env=env)
        peak = [0]
        running = threading.Event()

        def sample() -> None:
            while not running.wait(0.02):
                peak[0] = max(peak[0], _tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        running.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):  # scan exits 1 when it flags an account
            raise SystemExit(f"{cmd[0]} exited {proc.returncode}")
        out.seek(0)
        return seconds, usage.ru_maxrss / 1024, out.read(), peak[0] / 2**20


def install(package: str, workdir: Path) -> Path:
    prefix = workdir / "npm" / package.replace("/", "_").replace("@", "")
    if not (prefix / "node_modules").is_dir():
        subprocess.run(["npm", "install", "--silent", "--prefix", str(prefix), package], check=True)
    return prefix / "node_modules" / ".bin"


def commits(path: Path, first: date, days: int) -> Path:
    lines = ["merged_at,author,lines_added,lines_deleted,sha,message"]
    for i in range(days):
        day = first + timedelta(days=i)
        lines.append(f"{day}T17:00:00Z,A,{40 + i},{i},{i:040x},feat: change {i}")
    path.write_text("\n".join(lines) + "\n")
    return path


def tokenaudit_days(tree: Path) -> pl.DataFrame:
    """Per UTC day, what scan counts: the inputs loaded as scan loads them, repeated request
    ids counted once (untimed; the timed run is the scan process)."""
    from tokenaudit.audit import load_all
    from tokenaudit.loaders import expand_paths
    from tokenaudit.panel import split_duplicate_requests

    with tempfile.TemporaryDirectory() as tmp:
        loaded, _ = load_all(expand_paths([tree]), Path(tmp), "UTC", "A")
        rows = pl.concat([x.frame for x in loaded], how="vertical_relaxed").collect()
    rows = rows.filter(pl.col("_reject").is_null())
    kept, _ = split_duplicate_requests(rows, key=("request_id",))
    return (
        kept.group_by(pl.col("timestamp").dt.date().cast(pl.String).alias("date"))
        .agg(pl.col(list(COLUMNS)).sum())
        .sort("date")
    )


def ccusage_days(out: bytes, codex: bool) -> pl.DataFrame:
    daily = json.loads(out)["daily"]
    rows = []
    for d in daily:
        if codex:
            cached = int(d["cachedInputTokens"])
            values = {
                "input_tokens": int(d["inputTokens"]) - cached,
                "output_tokens": int(d["outputTokens"]),
                "cache_read_tokens": cached,
                "cache_write_tokens": 0,
            }
        else:
            values = {c: int(d[k]) for k, c in CLAUDE_MAP.items()}
        day = d["date"]
        if not day[:4].isdigit():  # ccusage-codex writes "Feb 01, 2026"
            from datetime import datetime

            day = datetime.strptime(day, "%b %d, %Y").date().isoformat()
        rows.append({"date": day, **values})
    return pl.DataFrame(rows).sort("date")


def expected_days(table: dict[str, dict[str, int]]) -> pl.DataFrame:
    return pl.DataFrame([{"date": d, **v} for d, v in table.items()]).sort("date")


def agree(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    cols = ["date", *COLUMNS]
    return a.select(cols).equals(b.select(cols))


def compare(kind: str, tree: Path, expected: dict[str, Any], bins: Path, args: Any) -> list[str]:
    codex = kind == "codex"
    tool = bins / ("ccusage-codex" if codex else "ccusage")
    env = {**os.environ, ("CODEX_HOME" if codex else "CLAUDE_CONFIG_DIR"): str(tree)}
    first = date(2026, 2, 1)
    log = commits(args.workdir / f"{kind}-commits.csv", first, 60)
    report = args.workdir / f"{kind}-report.json"
    scan = [
        sys.executable, "-m", "tokenaudit", "scan", str(tree), "--commits", str(log),
        "--account", "A", "--format", "json", "-o", str(report), "--exit-zero",
    ]  # fmt: skip
    theirs_cmd = [str(tool), "daily", "--json", "--offline", "--timezone", "UTC"]
    ours: list[tuple[float, float, float]] = []
    theirs: list[tuple[float, float, float]] = []
    out = b""
    for _ in range(args.repeat):
        seconds, mb, _, summed = run(scan)
        ours.append((seconds, mb, summed))
        seconds, mb, out, summed = run(theirs_cmd, env)
        theirs.append((seconds, mb, summed))
    ta_s = statistics.median(s for s, _, _ in ours)
    cc_s = statistics.median(s for s, _, _ in theirs)
    ta_mb, ta_sum = max(m for _, m, _ in ours), max(m for _, _, m in ours)
    cc_mb, cc_sum = max(m for _, m, _ in theirs), max(m for _, _, m in theirs)
    days_ours = tokenaudit_days(tree)
    days_theirs = ccusage_days(out, codex)
    exp_ours = expected_days(expected["ours"])
    exp_theirs = expected_days(expected["theirs"])
    total = json.loads(report.read_text())["accounts"][0]["tokens"]
    diff_ok = agree(
        days_ours.with_columns(pl.col(c) - days_theirs[c] for c in COLUMNS),
        exp_ours.with_columns(pl.col(c) - exp_theirs[c] for c in COLUMNS),
    )
    name = "Claude Code" if not codex else "Codex"
    reference = "ccusage 17.2.1 `daily`" if not codex else "@ccusage/codex 17.0.3 `daily`"
    rule = (
        "ccusage keeps a streamed message's first line, tokenaudit its fullest: they may differ "
        "in output tokens only, by Σ(fullest − first)"
        if not codex
        else "@ccusage/codex sums every repeated token_count event, tokenaudit counts a repeated "
        "cumulative total once: they may differ by the repeated events' usage"
    )
    lines = [
        f"### {name} tree: {expected['files']} files, {expected['bytes'] / 2**30:.2f} GiB, "
        f"{len(expected['ours'])} days (seed {args.seed})",
        "",
        "| tool | seconds (median of "
        + str(args.repeat)
        + ") | every run (s) | peak MB, largest process | peak MB, all its processes |",
        "|---|---:|---|---:|---:|",
        f"| tokenaudit scan | {ta_s:.1f} | {', '.join(f'{s:.1f}' for s, _, _ in ours)} "
        f"| {ta_mb:.0f} | {ta_sum:.0f} |",
        f"| {reference} | {cc_s:.1f} | {', '.join(f'{s:.1f}' for s, _, _ in theirs)} "
        f"| {cc_mb:.0f} | {cc_sum:.0f} |",
        "",
        f"Ratio tokenaudit / reference: **{ta_s / cc_s:.2f}** (target ≤ 0.50: "
        f"{'met' if ta_s / cc_s <= 0.5 else 'missed'}).",
        "",
        "Per-day totals (input, output, cache read, cache write), checked exactly:",
        "",
        f"- tokenaudit = the generator's fullest-line / counted-once totals on every day: "
        f"**{'yes' if agree(days_ours, exp_ours) else 'NO'}** "
        f"(scan's report: {total:,} tokens; these days: "
        f"{int(days_ours.select(pl.sum_horizontal(list(COLUMNS)).sum()).item()):,})",
        f"- reference = the generator's totals under its own rule on every day: "
        f"**{'yes' if agree(days_theirs, exp_theirs) else 'NO'}**",
        f"- tokenaudit − reference = exactly the difference the rules explain ({rule}): "
        f"**{'yes' if diff_ok else 'NO'}**",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="1GB", help="bytes of each tree (e.g. 1GB, 50MB)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["claude", "codex"])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ta-trees")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args(argv)
    size = parse_size(args.size)
    args.workdir.mkdir(parents=True, exist_ok=True)
    sections = [
        f"## Transcript trees at scale ({args.size}, seed {args.seed})",
        "",
        f"`python benchmarks/transcripts.py --size {args.size} --seed {args.seed} "
        f"--repeat {args.repeat}` on {os.cpu_count()} cores; whole processes, start-up "
        "included, the two tools run in alternation.",
        "",
    ]
    for kind in ("claude", "codex"):
        if args.only and kind != args.only:
            continue
        tree = args.workdir / f"{kind}-{args.size}-{args.seed}"
        meta = tree.with_suffix(".expected.json")
        if not meta.exists():
            import shutil

            shutil.rmtree(tree, ignore_errors=True)
            make = claude_tree if kind == "claude" else codex_tree
            meta.write_text(json.dumps(make(tree, size, seed=args.seed)))
        expected = json.loads(meta.read_text())
        bins = install(CCUSAGE if kind == "claude" else CCUSAGE_CODEX, args.workdir)
        sections += compare(kind, tree, expected, bins, args)
    text = "\n".join(sections)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return text


if __name__ == "__main__":
    main()
