"""Hand-made check inputs whose answers are known."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import numpy as np
import polars as pl

from tokenaudit.checks.base import CheckData
from tokenaudit.schema import PHASE_PERIODS

D0 = date(2026, 3, 2)


def synthetic_cohort(
    n_accounts: int = 40, n_days: int = 30, seed: int = 0
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(accounts, days) of an ordinary honest cohort: lognormal usage, a weak link to output,
    human timing."""
    rng = np.random.default_rng(seed)
    day_rows = []
    acc_rows = []
    for i in range(n_accounts):
        name = f"user{i:03d}@acme.example"
        base = 7e6 * np.exp(rng.normal(0, 1.0))
        active = sorted(
            rng.choice(n_days, size=int(rng.integers(15, n_days)), replace=False).tolist()
        )
        changes = int(rng.poisson(0.4 * len(active) * (base / 7e6) ** 0.3))
        cache_share = float(rng.uniform(0.8, 0.92))
        for d in active:
            rows = int(rng.integers(15, 60))
            tokens = int(base * np.exp(rng.normal(0, 0.6)))
            prompt = int(tokens * 0.97)
            bursts = int(rng.integers(3, 12))
            day_rows.append(
                {
                    "account": name,
                    "day": D0 + timedelta(days=d),
                    "tokens": tokens,
                    "input_tokens": int(prompt * (0.95 - cache_share)),
                    "output_tokens": tokens - prompt,
                    "cache_read_tokens": int(prompt * cache_share),
                    "cache_write_tokens": prompt
                    - int(prompt * (0.95 - cache_share))
                    - int(prompt * cache_share),
                    "burst_starts": bursts,
                    # Phases of randomly timed bursts: mean resultant length ~ 1/sqrt(n).
                    **{
                        f"phase_{p}": float(min(1.0, rng.rayleigh(1 / np.sqrt(2 * bursts))))
                        for p in PHASE_PERIODS
                    },
                    "rows": rows,
                    "aggregated": False,
                    "max_gap_h": float(rng.uniform(10, 16)),
                    "session_gaps": rows - 3,
                    "gap_mean": 60.0,
                    "gap_std": float(rng.uniform(60, 150)),
                    "same_size_pairs": (pairs := int(rng.integers(0, 2))),
                    "same_size_tokens": pairs * tokens // rows,
                    "max_parallel": int(rng.integers(1, 3)),
                    "followed": bool(rng.uniform() < 0.8),
                    "censored": d > n_days - 5,
                }
            )
        acc_rows.append(
            {
                "account": name,
                "active_days": len(active),
                "changes": changes,
                "merged_changes": changes,
                # 80 lines a change, a common size (no draw: the cohort's other columns keep
                # the random stream they were written for).
                "merged_lines": changes * 80,
                "non_output_changes": int(rng.poisson(0.05 * len(active))),
            }
        )
    days = pl.DataFrame(day_rows)
    totals = days.group_by("account").agg(pl.col("tokens").sum())
    accounts = pl.DataFrame(acc_rows).join(totals, on="account").sort("account")
    return accounts, days.sort("account", "day")


def check_data(accounts: pl.DataFrame, days: pl.DataFrame, window: int = 5) -> CheckData:
    return CheckData(accounts=accounts, days=days, window_days=window)


def with_account(
    accounts: pl.DataFrame,
    days: pl.DataFrame,
    name: str,
    *,
    token_factor: float = 1.0,
    changes: int | None = None,
    day_overrides: Mapping[str, object] | None = None,
    non_output: int | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add `name`: a copy of the first account with its tokens scaled, and day columns replaced."""
    first = accounts.row(0, named=True)["account"]
    new_days = days.filter(pl.col("account") == first).with_columns(
        pl.lit(name).alias("account"),
        (pl.col("tokens") * token_factor).cast(pl.Int64).alias("tokens"),
    )
    for col, value in (day_overrides or {}).items():
        # A value, or an expression of the copied day (e.g. a share of its tokens).
        column = value if isinstance(value, pl.Expr) else pl.lit(value)
        new_days = new_days.with_columns(column.cast(days.schema[col]).alias(col))
    row = accounts.filter(pl.col("account") == first).with_columns(
        pl.lit(name).alias("account"), pl.lit(int(new_days["tokens"].sum())).alias("tokens")
    )
    if changes is not None:
        row = row.with_columns(
            pl.lit(changes).alias("changes"), pl.lit(changes).alias("merged_changes")
        )
    if non_output is not None:
        row = row.with_columns(pl.lit(non_output).alias("non_output_changes"))
    row = row.select(accounts.columns).cast(dict(accounts.schema))
    new_days = new_days.select(days.columns).cast(dict(days.schema))
    return pl.concat([accounts, row]).sort("account"), pl.concat([days, new_days]).sort(
        "account", "day"
    )
