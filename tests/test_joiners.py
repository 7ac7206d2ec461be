"""A joiner's first weeks (`AuditConfig.onboarding_days`) are left out of the outcome checks,
which would judge their usage before they could ship, but not out of the mechanism checks: a
joiner who runs a loop from their first week shows its identical requests like anyone else."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from tokenaudit.audit import AuditReport, run_audit
from tokenaudit.config import AuditConfig
from tokenaudit.loaders import expand_paths
from tokenaudit.synthetic.families import build_org, draw_params, write_family_org

SEED = 11


def _loop(alias: str, first: datetime, days: int) -> pl.DataFrame:
    """The same 200k-token request every 2 minutes from 10:00 to 16:00 on `days` days."""
    at = [
        first + timedelta(days=d, hours=10, minutes=2 * i) for d in range(days) for i in range(180)
    ]
    n = len(at)
    return pl.DataFrame(
        {
            "timestamp": [t.strftime("%Y-%m-%dT%H:%M:%S.000Z") for t in at],
            "account": [alias] * n,
            "input_tokens": [200_000] * n,
            "output_tokens": [800] * n,
            "cache_read_tokens": [0] * n,
            "cache_write_tokens": [0] * n,
        }
    )


def _joiner_audit(tmp_path: Path, join_day: int, loop_days: int) -> tuple[str, AuditReport]:
    """An all-honest organisation in which one person's usage starts on `join_day` with a loop
    of `loop_days` days."""
    org = build_org(draw_params(SEED, scenario="honest", accounts=120, days=63), SEED)
    paths = write_family_org(org, tmp_path, fmt="parquet")
    ids = pl.read_csv(paths["identities"])
    usage = pl.read_parquet(paths["usage"])
    stamps = pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC")
    start = usage.select(stamps.min()).item().replace(hour=0, minute=0, second=0, microsecond=0)
    joins = start + timedelta(days=join_day)
    person = sorted(set(ids["account"].to_list()))[7]
    aliases = ids.filter(pl.col("account") == person)["alias"].to_list()
    # Nothing of theirs before they join.
    mine = pl.col("account").is_in(aliases)
    usage = usage.filter(~mine | (stamps >= joins))
    usage = pl.concat([usage, _loop(aliases[0], joins, loop_days)], how="diagonal_relaxed")
    usage.write_parquet(paths["usage"])
    report = run_audit(
        expand_paths([paths["usage"], paths["commits"], paths["identities"]]),
        AuditConfig(),
        tmp_path / "work",
    )
    return person, report


def test_a_joiner_who_loops_from_their_first_week_shows_identical_requests(
    tmp_path: Path,
) -> None:
    person, report = _joiner_audit(tmp_path, join_day=20, loop_days=20)
    row = report.checks.filter((pl.col("account") == person) & (pl.col("check") == "automation"))
    assert row.height == 1 and row["applicable"].item()
    assert row["p_value"].item() < 1e-6
    assert "identical consecutive request sizes" in row["summary"].item()


def test_a_joiner_seen_only_in_their_first_weeks_is_insufficient_data_and_says_why(
    tmp_path: Path,
) -> None:
    person, report = _joiner_audit(tmp_path, join_day=45, loop_days=15)
    row = report.accounts.filter(pl.col("account") == person)
    assert row["status"].item() == "insufficient_data"
    assert row["reasons"].item().startswith("insufficient data: joined ")
    # Their own usage from day 45 on and the loop: every day within 28 days of the first.
    assert re.search(
        r"all \d+ active days fall in its first 28 days \(onboarding\)", row["reasons"].item()
    )
