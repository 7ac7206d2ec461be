"""What honest automation that repeats a request does to honest people: `suspicious` or not.

A request sent again and again unchanged is what a scripted loop looks like, and honest
automation sends some too. Identical sizes count between requests less than
`panel.SAME_SIZE_GAP_S` apart, in runs of `panel.MIN_REPEAT_RUN` or more, or where one prompt is
sent at a steady pace for hours (`panel.MIN_HELD_RUN`), and only where the repeats outweigh a
day of work. On all-honest organisations of both generator families,
`--people` honest people (any, or with `--who light` the lightest) each get one kind of it under
their key, and the script prints per organisation how many people are `suspicious` (every one of
them honest) and how many of those had it:

- `--kind job`: a health check, canary or cron job: `--tokens` prompt tokens, a 2-token answer,
  every `--period` seconds, day and night, from the first request of the log to the last;
- `--kind evals`: pass@5 evals on 2 in 5 of the person's working days: 100–400 questions (prompts
  of about 1,500 tokens), each sampled 5 times 1–4 seconds apart, a one-token answer;
- `--kind polls`: a script polling a build on each working day: 1–6 runs of 3–15 polls, 4–6
  minutes apart, a 30,000-token prompt (all but 200 read from the cache), a 9–11-token answer.

    python benchmarks/scheduled_jobs.py --period 60 --tokens 600
    python benchmarks/scheduled_jobs.py --period 300 --tokens 3000
    python benchmarks/scheduled_jobs.py --kind evals --who light
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import polars.selectors as cs

sys.path.insert(0, str(Path(__file__).parent))

from detection import Job, _families_org, _simulate_org


def job_requests(
    account: str, first: float, last: float, period_s: float, tokens: int
) -> pl.DataFrame:
    """One fixed request (`tokens` prompt tokens, a 2-token answer) under `account` every
    `period_s` seconds from `first` to `last` (epoch seconds)."""
    step = round(period_s * 1e6)
    at = (np.arange(round(first * 1e6), round(last * 1e6) + 1, step) / 1e6).tolist()
    return _requests(account, at, [tokens] * len(at), [2] * len(at))


def add_job(usage_file: Path, accounts: list[str], period_s: int, tokens: int) -> None:
    """Rewrite `usage_file` with the scheduled job (see the docstring) under each of `accounts`."""
    usage = pl.read_parquet(usage_file)
    first, last = log_span(usage)
    jobs = [job_requests(account, first, last, period_s, tokens) for account in accounts]
    pl.concat([usage, *jobs], how="diagonal_relaxed").write_parquet(usage_file)


def log_span(usage: pl.DataFrame) -> tuple[float, float]:
    """The first and the last request of the log, in epoch seconds."""
    stamps = usage["timestamp"].str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC")
    return stamps.min().timestamp(), stamps.max().timestamp()  # type: ignore[union-attr]


def own_days(usage: pl.DataFrame, files: list[Path]) -> pl.DataFrame:
    """`account, first, tokens`: each person's first request of each day they worked, and their
    tokens that day (usage accounts resolved through the organisation's identities file)."""
    ids = next((f for f in files if f.name.startswith("identities")), None)
    alias = dict(pl.read_csv(ids).select("alias", "account").iter_rows()) if ids else {}
    return (
        usage.with_columns(
            pl.col("account").replace(alias),
            pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC"),
            pl.sum_horizontal(cs.ends_with("_tokens")).alias("tokens"),
        )
        .group_by("account", pl.col("timestamp").dt.date().alias("day"))
        .agg(pl.col("timestamp").min().alias("first"), pl.col("tokens").sum())
        .sort("account", "day")
    )


def _requests(account: str, at: list[float], prompt: list[int], answer: list[int], cached: int = 0):
    n = len(at)
    return pl.DataFrame(
        {
            "timestamp": pl.Series(np.rint(np.array(at) * 1e6)).cast(pl.Int64).cast(pl.Datetime("us", "UTC"))
            .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
            "account": [account] * n,
            "input_tokens": prompt,
            "output_tokens": answer,
            "cache_read_tokens": [cached] * n,
            "cache_write_tokens": [0] * n,
        }
    )  # fmt: skip


def _sent(kind: str, firsts: pl.Series, rng: np.random.Generator) -> list[tuple[float, int, int]]:
    """(time, prompt tokens, answer tokens) of the evals or polls of one person who started work
    at `firsts` (see the docstring)."""
    sent: list[tuple[float, int, int]] = []
    for first in firsts:
        t = first.timestamp()
        if kind == "evals" and rng.random() < 0.4:
            for _ in range(int(rng.integers(100, 401))):
                size = int(rng.lognormal(np.log(1_500), 0.5))
                for _ in range(5):
                    t += rng.uniform(1, 4)
                    sent.append((t, size, 1))
        elif kind == "polls":
            for _ in range(int(rng.integers(1, 7))):
                for _ in range(int(rng.integers(3, 16))):
                    t += rng.uniform(240, 360)
                    sent.append((t, 200, int(rng.integers(9, 12))))
                t += rng.uniform(1_200, 5_400)
    return sent


def add_evals_or_polls(usage_file: Path, files: list[Path], accounts: list[str], kind: str) -> None:
    """Rewrite `usage_file` with pass@5 evals or build polls (see the docstring) under each of
    `accounts`, on the days they worked."""
    usage = pl.read_parquet(usage_file)
    days = own_days(usage, files)
    rng = np.random.default_rng(len(accounts))
    added = []
    for account in accounts:
        sent = _sent(kind, days.filter(pl.col("account") == account)["first"], rng)
        if sent:
            at, prompt, answer = (list(c) for c in zip(*sent, strict=True))
            cached = 29_800 if kind == "polls" else 0
            added.append(_requests(account, at, prompt, answer, cached))
    pl.concat([usage, *added], how="diagonal_relaxed").write_parquet(usage_file)


def measure(job: Job, args: argparse.Namespace) -> tuple[int, int]:
    """(people `suspicious`, of whom had the automation) in one all-honest organisation."""
    from tokenaudit.audit import run_audit
    from tokenaudit.config import AuditConfig
    from tokenaudit.loaders import expand_paths

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        org = (_simulate_org if job.generator == "simulate" else _families_org)(job, out / "org")
        usage_file = next(f for f in org.files if f.name.startswith("usage"))
        honest = org.truth.filter(~pl.col("is_maxxer").fill_null(False))["account"]
        if args.who == "light":
            totals = own_days(pl.read_parquet(usage_file), org.files).group_by("account").sum()
            light = totals.filter(pl.col("account").is_in(honest.implode())).sort(
                "tokens", "account"
            )
            chosen = light["account"].head(args.people).to_list()
        else:
            rng = np.random.default_rng(job.seed)
            chosen = list(rng.choice(sorted(honest), size=args.people, replace=False))
        if args.kind == "job":
            add_job(usage_file, chosen, args.period, args.tokens)
        else:
            add_evals_or_polls(usage_file, org.files, chosen, args.kind)
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
    parser.add_argument("--kind", choices=["job", "evals", "polls"], default="job")
    parser.add_argument("--who", choices=["any", "light"], default="any")
    parser.add_argument(
        "--min-run",
        type=int,
        default=None,
        help="count repeats in runs of this many requests instead of panel.MIN_REPEAT_RUN "
        "(1: runs of any length, to see what the rule keeps out)",
    )
    args = parser.parse_args()
    if args.min_run is not None:
        import tokenaudit.panel

        tokenaudit.panel.MIN_REPEAT_RUN = args.min_run
    who = f"{args.people} {'of the lightest ' if args.who == 'light' else ''}honest people's keys"
    if args.kind == "job":
        per_day = args.tokens * 86_400 / args.period
        what = (
            f"A {args.tokens}-token job every {args.period} s ({per_day / 1e6:.2f}M tokens a day)"
        )
    else:
        what = "pass@5 evals" if args.kind == "evals" else "Polls of a build"
    runs = "" if args.min_run is None else f" (repeats counted in runs of {args.min_run}+)"
    print(f"# {what} under {who}, all-honest organisations of 200{runs}\n")
    print("| generator | seed | suspicious | of whom had the job |")
    print("|---|---|---|---|")
    for gen in ("simulate", "families"):
        total = [0, 0]
        for seed in range(args.first_seed, args.first_seed + args.orgs):
            sus, with_job = measure(Job(gen, "honest", seed, 200), args)
            total[0] += sus
            total[1] += with_job
            print(f"| {gen} | {seed} | {sus} | {with_job} |", flush=True)
        print(f"| {gen} | all | {total[0]} | {total[1]} |", flush=True)


if __name__ == "__main__":
    main()
