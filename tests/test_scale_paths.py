"""The fast paths of the scale work give the numbers of the plain ones, bit for bit.

Each test holds a shortcut (slices instead of partitions, one vectorised call instead of one per
account, hashes taken while reading, fewer columns gathered) against the straightforward code it
replaced, on inputs with the awkward cases: ties, whole counts, several files, nulls."""

from __future__ import annotations

import math
from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from tokenaudit.checks import heavy_weeks
from tokenaudit.checks.stats import EmpiricalNull
from tokenaudit.config import AuditConfig
from tokenaudit.ingest import per_file
from tokenaudit.panel import (
    _account_time_order,
    _cancelled_by_reverts,
    follow_up,
    hash_ids,
    mark_interruptions,
    narrow_usage,
    usage_days,
)
from tokenaudit.schema import TOKEN_COLUMNS


def _best_as_before(r: np.ndarray, n: np.ndarray, changes: np.ndarray) -> heavy_weeks.Found:
    """`heavy_weeks._best` as it was: every side summed on its own, `ndarray.mean`."""
    order = np.argsort(-r, kind="stable")
    r, n, changes = r[order], n[order], changes[order]
    weeks = r.size
    best: heavy_weeks.Found | None = None
    for k in range(max(1, math.ceil(weeks / 4)), weeks // 2 + 1):
        d_l = float(r[:k].mean() - r[k:].mean())
        rate_h = (float(changes[:k].sum()) + 0.5) / float(n[:k].sum())
        rate_o = (float(changes[k:].sum()) + 0.5) / float(n[k:].sum())
        d_o = math.log(rate_h / rate_o)
        d = d_l - max(d_o, 0.0)
        if best is None or d > best[0]:
            best = (d, math.exp(d_l), math.exp(d_o), k, weeks)
    assert best is not None
    return best


@pytest.mark.parametrize("seed", range(5))
def test_heavy_weeks_best_is_the_same_float_as_summing_each_side(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for weeks in [6, 7, 8, 9, 13, 16, 17, 40, 53]:
        r = rng.normal(0, rng.uniform(0.1, 3), weeks)
        r[rng.integers(0, weeks, 2)] = r[0]  # ties in the order
        n = rng.integers(2, 8, weeks).astype(np.float64)
        changes = rng.poisson(rng.uniform(0, 6), weeks).astype(np.float64)
        assert heavy_weeks._best(r, n, changes) == _best_as_before(r, n, changes)


def test_heavy_weeks_statistics_per_account_are_those_of_each_partition() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for a in range(30):
        for w in range(int(rng.integers(3, 14))):
            rows.append((f"user{a:02d}", w, float(rng.normal()), int(rng.integers(2, 7)), 1))
    weeks = pl.DataFrame(
        rows, schema=["account", "week", "r", "n", "changes"], orient="row"
    ).with_columns(pl.col("changes") * pl.col("week") % 3)

    def as_before() -> dict[str, heavy_weeks.Found]:
        out = {}
        for part in weeks.sort("account", "week").partition_by("account"):
            if part.height >= heavy_weeks.MIN_WEEKS:
                out[str(part["account"][0])] = _best_as_before(
                    part["r"].to_numpy().astype(np.float64),
                    part["n"].to_numpy().astype(np.float64),
                    part["changes"].to_numpy().astype(np.float64),
                )
        return out

    original = heavy_weeks._weeks
    heavy_weeks._weeks = lambda data, cfg: weeks  # type: ignore[assignment]
    try:
        found = heavy_weeks._statistics(None, AuditConfig())  # type: ignore[arg-type]
    finally:
        heavy_weeks._weeks = original
    assert found == as_before()
    assert list(found) == sorted(found)


def test_a_null_gives_each_value_the_p_and_z_of_a_call_of_its_own() -> None:
    rng = np.random.default_rng(3)
    null = EmpiricalNull(0.3, 1.7, 4.2)
    values = np.concatenate([rng.normal(0, 3, 2000), [0.3, -0.0, 1e6, -1e6]])
    together_p, together_z = null.p(values).tolist(), null.z(values).tolist()
    for v, p, z in zip(values.tolist(), together_p, together_z, strict=True):
        assert p == float(null.p(np.array([v]))[0])
        assert z == float(null.z(np.array([v]))[0])


def test_the_account_time_order_sorts_by_account_time_and_ties() -> None:
    rng = np.random.default_rng(11)
    n = 5000
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = pl.DataFrame(
        {
            "_acc": rng.integers(0, 40, n).astype(np.uint32),
            # Whole minutes: many requests of one account share an instant.
            "timestamp": [start + timedelta(minutes=int(m)) for m in rng.integers(0, 3000, n)],
            "_prompt": rng.integers(0, 4, n),
            "output_tokens": rng.integers(0, 3, n),
            "_i": np.arange(n),
        }
    )
    order = _account_time_order(rows, "timestamp", "_prompt", "output_tokens")
    assert order is not None
    keys = ["_acc", "timestamp", "_prompt", "output_tokens"]
    expected = rows.sort(keys, maintain_order=True)
    assert rows.gather(order).select(keys).equals(expected.select(keys))
    assert _account_time_order(rows.head(1), "timestamp").tolist() == [0]
    assert _account_time_order(rows.head(0), "timestamp").tolist() == []


def _usage(n: int, seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    start = datetime(2026, 2, 1, tzinfo=UTC)
    return pl.DataFrame(
        {
            "account": [f"user{i}" for i in rng.integers(0, 12, n)],
            "timestamp": [start + timedelta(seconds=int(s)) for s in rng.integers(0, 9e5, n)],
            **{t: rng.integers(0, 5000, n) for t in TOKEN_COLUMNS},
            "requests": np.ones(n, dtype=np.int64),
            "cost_usd": [None if i % 7 == 0 else 0.001 * i for i in range(n)],
            "source": ["canonical"] * n,
            "session_id": [None if i % 5 == 0 else f" s{i % 40} " for i in range(n)],
            "request_id": [None if i % 9 == 0 else f"r{i % (n - 50)}" for i in range(n)],
            "_file": ["a.csv"] * n,
            "_line": np.arange(2, n + 2),
        }
    ).with_columns(pl.col("account", "_file").cast(pl.Categorical))


def test_ids_hashed_while_reading_narrow_to_the_same_rows() -> None:
    usage = _usage(3000)
    plain = narrow_usage(usage.lazy()).collect()
    early = narrow_usage(usage.with_columns(hash_ids()).lazy(), ids_hashed=True).collect()
    assert early.equals(plain, null_equal=True)


def test_usage_days_are_those_of_the_rows_in_any_order() -> None:
    usage = narrow_usage(_usage(4000).lazy()).collect()
    cfg = AuditConfig()
    days = usage_days(usage, cfg).sort("account", "day")
    shuffled = usage_days(usage.sample(fraction=1.0, shuffle=True, seed=1), cfg)
    # Sums of costs depend on the order they are added in; everything else must be equal.
    assert (
        shuffled.sort("account", "day")
        .drop("cost_usd")
        .equals(days.drop("cost_usd"), null_equal=True)
    )
    assert days.height == usage.select("account", usage_days_key(cfg)).unique().height


def usage_days_key(cfg: AuditConfig) -> pl.Expr:
    return pl.col("timestamp").dt.convert_time_zone(cfg.tz).dt.date().alias("day")


def test_rows_per_file_are_counted_the_same_from_the_codes() -> None:
    one = pl.DataFrame({"_file": ["a.csv"] * 5, "x": range(5)}).with_columns(
        pl.col("_file").cast(pl.Categorical)
    )
    two = pl.DataFrame({"_file": ["a.csv", "b.csv", "a.csv"]}).with_columns(
        pl.col("_file").cast(pl.Categorical)
    )
    with_null = pl.DataFrame({"_file": ["a.csv", None]}).with_columns(
        pl.col("_file").cast(pl.Categorical)
    )
    assert per_file(one) == {"a.csv": 5}
    assert per_file(two) == {"a.csv": 2, "b.csv": 1}
    assert per_file(one.head(0)) == {}
    assert per_file(with_null) == {"a.csv": 1, None: 1}
    assert per_file(pl.DataFrame({"_file": ["x", "x"]})) == {"x": 2}


def test_a_commit_log_without_messages_has_no_reverts() -> None:
    frame = pl.DataFrame(
        {
            "message": [None, None],
            "sha": ["abc1234", "def5678"],
            "merged_at": [datetime(2026, 1, 1, tzinfo=UTC)] * 2,
        },
        schema_overrides={"message": pl.String},
    )
    assert _cancelled_by_reverts(frame, AuditConfig()) == {"revert": [], "reverted": []}


def _account_days(seed: int) -> pl.DataFrame:
    """Account-days with pauses of every length, joiners and one-day accounts."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(60):
        day = D0 + timedelta(days=int(rng.integers(0, 80)))
        for _ in range(int(rng.integers(1, 40))):
            rows.append((f"user{a:02d}", day))
            day += timedelta(days=int(rng.choice([1, 1, 2, 3, 8, 15, 30])))
    return pl.DataFrame(rows, schema=["account", "day"], orient="row").with_columns(
        pl.lit(1000).alias("tokens"), pl.lit(None, dtype=pl.Int64).alias("delay_days")
    )


D0 = datetime(2026, 1, 5).date()


@pytest.mark.parametrize("seed", range(3))
def test_interruptions_of_ordered_account_days_are_those_of_the_windows(seed: int) -> None:
    # In order, but without the flag a sort leaves (as `by_account_and_day` gives them).
    days = pl.DataFrame(_account_days(seed).sort("account", "day").to_dict(as_series=False))
    assert not days["account"].flags["SORTED_ASC"]
    cfg = AuditConfig()
    for window in (3, 10, 21):
        for start in (None, D0, D0 + timedelta(days=40)):
            fast = mark_interruptions(days, window, start, cfg)
            # Shuffled, the rows take the general path: a sort and windows per account.
            general = mark_interruptions(
                days.sample(fraction=1.0, shuffle=True, seed=window), window, start, cfg
            )
            assert fast.equals(general)
            # A group-by on a column flagged sorted adds floats up in another order.
            assert fast["account"].flags == general["account"].flags
            assert fast["interrupted"].any()
    again = mark_interruptions(mark_interruptions(days, 7, D0, cfg), 14, D0, cfg)
    assert again.columns == [*days.columns, "onboarding", "interrupted"]
    assert again.equals(mark_interruptions(days, 14, D0, cfg))


def test_the_follow_up_of_ordered_account_days_is_that_of_sorted_ones() -> None:
    days = _account_days(9).drop("delay_days")
    outputs = days.filter(pl.col("day").dt.weekday() == 3).select(
        "account", "day", pl.lit(1).alias("changes")
    )
    ordered = pl.DataFrame(days.sort("account", "day").to_dict(as_series=False))
    shuffled = days.sample(fraction=1.0, shuffle=True, seed=2)
    end = D0 + timedelta(days=100)
    fast, general = follow_up(ordered, outputs, end), follow_up(shuffled, outputs, end)
    assert fast.equals(general)
    assert fast["account"].flags == general["account"].flags


def _sides_as_before(series: Any, split: int, min_side: int) -> tuple[Any, ...] | None:
    """`usage_jump._Series.sides` as it was: one split at a time, every contrast summed anew."""
    n_b = bisect_left(series._days, split)
    n_a = len(series._days) - n_b
    if n_b < min_side or n_a < min_side:
        return None
    d_l = float(np.add.reduce(series.r[n_b:]) / n_a - np.add.reduce(series.r[:n_b]) / n_b)
    first, past = series._first_merge, series._past_last
    at = min(max(bisect_left(series._merge_days, split), first), past)
    merged = series._merged_before
    rate_b = (float(merged[at] - merged[first]) + 0.5) / n_b
    rate_a = (float(merged[past] - merged[at]) + 0.5) / n_a
    return d_l, math.log(rate_a / rate_b), math.exp(d_l), n_b, n_a


@pytest.mark.parametrize("seed", range(4))
def test_usage_jump_options_are_the_sides_of_each_split(seed: int) -> None:
    from tokenaudit.checks.usage_jump import _Series

    rng = np.random.default_rng(seed)
    # Sparse days: several weekly splits fall between the same two active days.
    day_no = np.unique(rng.integers(0, 120, int(rng.integers(5, 60)))).astype(np.int64)
    r = rng.normal(0, 1.5, day_no.size)
    merged = {int(d): int(rng.integers(1, 4)) for d in rng.integers(-5, 130, 12)}
    series = _Series(day_no, r, merged)
    splits = list(range(int(day_no[0]) - 3, int(day_no[-1]) + 4, 7))
    for min_side in (1, 3, 7):
        expected = [
            (t, *v) for t in splits if (v := _sides_as_before(series, t, min_side)) is not None
        ]
        assert series.options(splits, min_side) == expected


@pytest.mark.parametrize(
    ("unit_us", "n", "low"),
    [
        (1_000, 400_000, 1_767_000_000_000_000),  # milliseconds: the short periods by table
        (1_000_000, 20_000, 1_767_000_000_000_000),  # seconds: every period by table
        (1, 50_000, 1_767_000_000_000_000),  # microseconds: none
        (1_000_000, 20_000, -2_000_000_000_000_000),  # before 1970: worked out directly
    ],
)
def test_phase_cosines_looked_up_are_those_worked_out(unit_us: int, n: int, low: int) -> None:
    from tokenaudit.panel import _cos_sin, _phase_units
    from tokenaudit.schema import PHASE_PERIODS

    rng = np.random.default_rng(unit_us % 97)
    ts = rng.integers(low // unit_us, low // unit_us + 10**13 // unit_us, n) * unit_us
    series = pl.Series("timestamp", ts, dtype=pl.Int64)
    units = {p: (cos, sin) for p, cos, sin in _phase_units(series)}
    assert list(units) == list(PHASE_PERIODS)
    direct = _cos_sin(series.alias("r").to_frame(), *PHASE_PERIODS)
    for p in PHASE_PERIODS:
        assert np.array_equal(units[p][0], direct[f"cos_{p}"].to_numpy())
        assert np.array_equal(units[p][1], direct[f"sin_{p}"].to_numpy())
    assert all(cos.size == 0 for _, cos, _ in _phase_units(series.head(0)))


def test_rows_per_account_from_the_codes_are_those_of_a_group_by() -> None:
    from tokenaudit.ingest import _distinct, _rows_per_account

    rng = np.random.default_rng(4)
    # Other columns' categories share the codes' space: accounts are not the only names.
    pl.Series(["claude-opus-4-1", "a.csv"]).cast(pl.Categorical)
    accounts = pl.Series(
        "account", [f"u{i}@x" for i in rng.integers(0, 300, 20_000)], dtype=pl.Categorical
    )
    with_null = pl.Series("account", ["a", None, "b", "a"], dtype=pl.Categorical)
    for column in (accounts, with_null, accounts.head(0), accounts.head(1)):
        distinct = _distinct(column)
        fast = _rows_per_account(distinct).sort("account")
        plain = column.to_frame().group_by("account").len().drop_nulls("account").sort("account")
        assert fast.equals(plain)
        assert fast.schema == plain.schema
        # Each row's position among the distinct values names its own value (-1: a null).
        at = pl.Series(distinct.index)
        back = distinct.values.gather(at.set(at < 0, None))  # type: ignore[arg-type]
        assert back.equals(column, check_names=False, null_equal=True)
        assert distinct.nulls == column.null_count()
