"""A joiner's first weeks (`AuditConfig.onboarding_days`) are left out of the outcome checks,
which would judge their usage before they could ship, but not out of the mechanism checks: a
joiner who runs a loop from their first week shows its identical requests like anyone else."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from tokenaudit.audit import run_audit
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


def test_a_joiner_who_loops_from_their_first_week_shows_identical_requests(
    tmp_path: Path,
) -> None:
    org = build_org(draw_params(SEED, scenario="honest", accounts=120, days=63), SEED)
    paths = write_family_org(org, tmp_path, fmt="parquet")
    ids = pl.read_csv(paths["identities"])
    usage = pl.read_parquet(paths["usage"])
    stamps = pl.col("timestamp").str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC")
    start = usage.select(stamps.min()).item().replace(hour=0, minute=0, second=0, microsecond=0)
    joins = start + timedelta(days=20)
    person = sorted(set(ids["account"].to_list()))[7]
    aliases = ids.filter(pl.col("account") == person)["alias"].to_list()
    # Nothing of theirs before day 20: they join then, and loop through their first 20 days.
    mine = pl.col("account").is_in(aliases)
    usage = usage.filter(~mine | (stamps >= joins))
    usage = pl.concat([usage, _loop(aliases[0], joins, 20)], how="diagonal_relaxed")
    usage.write_parquet(paths["usage"])
    report = run_audit(
        expand_paths([paths["usage"], paths["commits"], paths["identities"]]),
        AuditConfig(),
        tmp_path / "work",
    )
    row = report.checks.filter((pl.col("account") == person) & (pl.col("check") == "automation"))
    assert row.height == 1 and row["applicable"].item()
    assert row["p_value"].item() < 1e-6
    assert "identical consecutive request sizes" in row["summary"].item()
