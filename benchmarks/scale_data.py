"""Large usage and commit logs for the scale benchmark, generated vectorised (seconds for 10M rows).

The organisation is fixed (accounts × days), so that more requests mean denser days, not more
account-days: that is what shows whether memory grows with requests or with account-days. About
0.5 % of requests are repeated with the same `request_id` (streamed exports do that), and commits
are 1 % of the requests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

START = datetime(2026, 1, 5, tzinfo=UTC)


def usage_frame(requests: int, accounts: int, days: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    base = int(requests / 1.005)
    # Heavy users make many more requests than light ones (lognormal activity).
    weight = rng.lognormal(0.0, 1.0, accounts)
    account = rng.choice(accounts, size=base, p=weight / weight.sum())
    day = rng.integers(0, days, base)
    # Working hours in the account's day, in seconds, with a sprinkling of night work.
    second = np.clip(rng.normal(14 * 3600, 3 * 3600, base), 0, 86_399).astype(np.int64)
    session = rng.integers(0, 4, base)
    ts_us = (int(START.timestamp()) + day * 86_400 + second) * 1_000_000 + rng.integers(
        0, 1_000_000, base
    )
    df = pl.DataFrame(
        {
            "_ts": ts_us,
            "_account": account,
            "input_tokens": rng.lognormal(7.0, 1.2, base).astype(np.int64),
            "output_tokens": rng.lognormal(6.0, 1.0, base).astype(np.int64),
            "cache_read_tokens": rng.lognormal(9.0, 1.5, base).astype(np.int64),
            "cache_write_tokens": rng.lognormal(6.5, 1.5, base).astype(np.int64),
            "_model": rng.integers(0, 3, base),
            "_session": account * 1_000_000 + day * 10 + session,
            "_id": np.arange(base, dtype=np.int64),
        }
    )
    repeats = df.sample(n=requests - base, seed=seed, with_replacement=True)
    df = pl.concat([df, repeats]).sample(fraction=1.0, shuffle=True, seed=seed)
    return df.select(
        pl.col("_ts")
        .cast(pl.Datetime("us", "UTC"))
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .alias("timestamp"),
        pl.format("user{}@example.com", pl.col("_account")).alias("account"),
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        pl.col("_model")
        .replace_strict({0: "claude-sonnet-4-5", 1: "claude-opus-4-1", 2: "claude-haiku-4-5"})
        .alias("model"),
        pl.format("req_{}", pl.col("_id").hash(seed).cast(pl.String)).alias("request_id"),
        pl.format("s{}", pl.col("_session")).alias("session_id"),
    )


def commits_frame(n: int, accounts: int, days: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed + 1)
    author = rng.integers(0, accounts, n)
    ts_us = (int(START.timestamp()) + rng.integers(0, days * 86_400, n)) * 1_000_000
    return pl.DataFrame(
        {
            "merged_at": pl.Series(ts_us).cast(pl.Datetime("us", "UTC")),
            "author": [f"user{a}@example.com" for a in author.tolist()],
            "lines_added": rng.lognormal(4.0, 1.3, n).astype(np.int64),
            "lines_deleted": rng.lognormal(3.0, 1.3, n).astype(np.int64),
            "sha": [f"{v:040x}" for v in rng.integers(0, 2**62, n).tolist()],
        }
    ).with_columns(
        pl.col("merged_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def write_org(
    directory: Path | str, requests: int, accounts: int = 1000, days: int = 90, seed: int = 7
) -> dict[str, Path]:
    """Write usage.csv, usage.parquet and commits.csv; returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    usage = usage_frame(requests, accounts, days, seed)
    paths = {
        "usage.csv": directory / "usage.csv",
        "usage.parquet": directory / "usage.parquet",
        "commits.csv": directory / "commits.csv",
    }
    usage.write_csv(paths["usage.csv"])
    # Parquet as a warehouse exports it: typed timestamps.
    usage.with_columns(
        pl.col("timestamp").str.to_datetime(time_zone="UTC", time_unit="us")
    ).write_parquet(paths["usage.parquet"])
    commits_frame(max(requests // 100, 1), accounts, days, seed).write_csv(paths["commits.csv"])
    return paths
