"""Speed and memory of `tokenaudit scan` at 1M, 5M and 10M requests, next to hand-written DuckDB SQL.

For each size and shape of organisation, the same generated logs (commits at 1 % of the
requests) are written as CSV and as typed Parquet. Shapes:

- `project`: 1,000 accounts over 90 days (the project's own data);
- `many-light`: 20,000 accounts over 90 days (many light users);
- `few-heavy`: 20 accounts over 90 days (a few very heavy users);
- `year`: 1,000 accounts over 365 days (a year-long span).

Then, in the same run on the same machine, each of these runs in its own process, so that its
peak memory (max RSS) is its own:

- `tokenaudit scan --usage U --commits C --format csv -o report.csv` (the whole audit: loading,
  validation, de-duplication, the panel, every check, the report), with the default
  `--memory-limit` (and once more under `--memory-limit 1GB` at the largest size, `project`,
  CSV: the bucketed path);
- the DuckDB reference: one SQL query doing the equivalent loading work (cast and validate the
  columns, keep one row per (account, request id), account-day totals, the follow-up-window join
  to merged changes), in two formulations (ROW_NUMBER and GROUP BY arg_max); the faster is the
  reference.

It also times `tokenaudit --help` and `tokenaudit --version`.

    pip install -e ".[bench]"
    python benchmarks/scale.py                                   # everything (~40 min)
    python benchmarks/scale.py --sizes 1000000 --shapes project  # a subset
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DUCKDB_SCRIPT = r"""
import sys, duckdb
usage, commits, variant = sys.argv[1:4]
reader = (f"read_csv('{usage}', header=true, all_varchar=true)" if usage.endswith('.csv')
          else f"read_parquet('{usage}')")
if variant == "row_number":
    dedup = '''SELECT * FROM typed WHERE request_id IS NULL
      UNION ALL
      SELECT * FROM typed WHERE request_id IS NOT NULL
      QUALIFY row_number() OVER (PARTITION BY account, request_id ORDER BY t DESC) = 1'''
else:
    dedup = '''SELECT * FROM typed WHERE request_id IS NULL
      UNION ALL
      SELECT arg_max(ts, t), account, arg_max(i, t), arg_max(o, t), arg_max(cr, t), arg_max(cw, t),
             request_id, max(t)
      FROM typed WHERE request_id IS NOT NULL GROUP BY account, request_id'''
query = f'''
WITH typed AS (
  SELECT CAST("timestamp" AS TIMESTAMPTZ) AS ts, lower(trim(account)) AS account,
         CAST(input_tokens AS BIGINT) i, CAST(output_tokens AS BIGINT) o,
         CAST(cache_read_tokens AS BIGINT) cr, CAST(cache_write_tokens AS BIGINT) cw,
         request_id,
         CAST(input_tokens AS BIGINT) + CAST(output_tokens AS BIGINT)
           + CAST(cache_read_tokens AS BIGINT) + CAST(cache_write_tokens AS BIGINT) AS t
  FROM {reader}
  WHERE "timestamp" IS NOT NULL AND account IS NOT NULL
), requests AS ({dedup}
), days AS (
  SELECT account, CAST(ts AS DATE) AS day, sum(t) AS tokens, sum(i) AS i, sum(o) AS o,
         sum(cr) AS cr, sum(cw) AS cw, count(*) AS requests
  FROM requests GROUP BY ALL
), merges AS (
  SELECT DISTINCT lower(trim(author)) AS account,
         CAST(CAST(merged_at AS TIMESTAMPTZ) AS DATE) AS merge_day
  FROM read_csv('{commits}', header=true, all_varchar=true)
)
SELECT d.*, min(m.merge_day) AS next_merge_day
FROM days AS d LEFT JOIN merges AS m
  ON m.account = d.account AND m.merge_day BETWEEN d.day AND d.day + 14
GROUP BY ALL
'''
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
print(con.execute(f"SELECT count(*) FROM ({query})").fetchone()[0])
"""


def measure(cmd: list[str]) -> tuple[float, float, str, float]:
    """(wall seconds, peak RSS in MB, stdout, CPU seconds) of one command in its own process.

    CPU time (user + system, every thread) is reported beside the wall time: on a machine
    shared with other work the wall time grows with the load, the CPU time much less."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"failed ({code}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024, out.strip(), usage.ru_utime + usage.ru_stime


def best_of(cmd: list[str], repeats: int) -> tuple[float, float, float]:
    """(best wall seconds, largest peak MB, least CPU seconds) of `repeats` runs."""
    runs = [measure(cmd) for _ in range(repeats)]
    return min(r[0] for r in runs), max(r[1] for r in runs), min(r[3] for r in runs)


#: Organisation shapes: (accounts, days).
SHAPES: dict[str, tuple[int, int]] = {
    "project": (1000, 90),
    "many-light": (20_000, 90),
    "few-heavy": (20, 90),
    "year": (1000, 365),
}


def generate(directory: Path, n: int, shape: str) -> dict[str, Path]:
    """The logs of `n` requests in `shape`, generated in a child process: a child forked from
    a parent holding gigabytes of data starts with that parent's resident memory, which its
    peak would then include."""
    accounts, days = SHAPES[shape]
    if not (directory / "commits.csv").exists():
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from scale_data import write_org; "
                f"write_org({str(directory)!r}, {n}, accounts={accounts}, days={days})",
            ],
            check=True,
            cwd=Path(__file__).parent,
        )
        sys.stderr.write(
            f"generated {n:,} requests ({shape}) in {time.perf_counter() - started:.0f} s\n"
        )
    return {name: directory / name for name in ("usage.csv", "usage.parquet", "commits.csv")}


def scan_command(usage: Path, commits: Path, report: Path, limit: str | None) -> list[str]:
    cmd = [sys.executable, "-m", "tokenaudit", "scan", "--usage", str(usage)]
    cmd += ["--commits", str(commits), "--format", "csv", "--output", str(report), "--exit-zero"]
    return cmd + (["--memory-limit", limit] if limit else [])


def duckdb_run(usage: Path, commits: Path, repeats: int) -> tuple[float, float, float]:
    runs = [
        best_of([sys.executable, "-c", DUCKDB_SCRIPT, str(usage), str(commits), variant], repeats)
        for variant in ("row_number", "arg_max")
    ]
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000, 10_000_000])
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument(
        "--formats", nargs="+", choices=["csv", "parquet"], default=["csv", "parquet"]
    )
    parser.add_argument(
        "--limited",
        default="1GB",
        help="--memory-limit of the extra run at the largest size ('none': no extra run)",
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per measurement (best time)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tokenaudit-scale-"))
    tool = [sys.executable, "-m", "tokenaudit"]
    print(f"# Scale: tokenaudit scan vs DuckDB ({platform.machine()}, {os.cpu_count()} cores)\n")
    command = f"python benchmarks/scale.py --sizes {' '.join(map(str, args.sizes))}"
    command += f" --shapes {' '.join(args.shapes)} --formats {' '.join(args.formats)}"
    print(f"{command} --limited {args.limited}\n")
    for what in (["--help"], ["--version"]):
        wall, _, _ = best_of([*tool, *what], 5)
        print(f"- `tokenaudit {what[0]}`: {wall:.2f} s (best of 5)")
    print()
    print(
        "| requests | shape | input | memory limit | size MB | scan s | scan CPU s | scan peak MB "
        "| DuckDB s | DuckDB CPU s | DuckDB peak MB | scan ÷ DuckDB |"
    )
    print("|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    largest = max(args.sizes)
    for n in args.sizes:
        for shape in args.shapes:
            paths = generate(workdir / f"{shape}-{n}", n, shape)
            limits: dict[str, list[str | None]] = {fmt: [None] for fmt in args.formats}
            if n == largest and shape == "project" and args.limited != "none":
                limits.setdefault("csv", []).append(args.limited)
            for fmt, runs in limits.items():
                usage = paths[f"usage.{fmt}"]
                duck_s, duck_mb, duck_cpu = duckdb_run(usage, paths["commits.csv"], args.repeats)
                for limit in runs:
                    report = workdir / f"report-{shape}-{n}-{fmt}-{limit or 'auto'}.csv"
                    cmd = scan_command(usage, paths["commits.csv"], report, limit)
                    scan_s, scan_mb, scan_cpu = best_of(cmd, args.repeats)
                    size = usage.stat().st_size / 1e6
                    print(
                        f"| {n:,} | {shape} | {fmt} | {limit or 'auto'} | {size:,.0f} | "
                        f"{scan_s:.1f} | {scan_cpu:.1f} | {scan_mb:,.0f} | {duck_s:.1f} | "
                        f"{duck_cpu:.1f} | {duck_mb:,.0f} | {scan_s / duck_s:.2f} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
