"""The audited period and the end of the commit log are what the bulk of the data says."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tokenaudit.audit import run_audit
from tokenaudit.config import AuditConfig
from tokenaudit.loaders import expand_paths
from tokenaudit.synthetic.simulate import generate_org, write_org


def _scan(where: Path, commits: pl.DataFrame) -> object:
    org = generate_org(40, 42, 9, 0.0)
    write_org(org, where, fmt="parquet")
    commits.write_parquet(where / "commits.parquet")
    files = expand_paths(
        [where / "usage.parquet", where / "commits.parquet", where / "identities.csv"]
    )
    return run_audit(files, AuditConfig(), where)


def test_a_stray_commit_far_in_the_future_does_not_uncensor_recent_usage(tmp_path: Path) -> None:
    commits = generate_org(40, 42, 9, 0.0).commits
    # The commit log stops two weeks before the usage does; one commit claims a date in 2099.
    cut = commits.filter(pl.col("merged_at") < "2026-03-30")
    stray = cut.tail(1).with_columns(
        pl.lit("2099-01-01T00:00:00Z").alias("merged_at"), pl.lit("f" * 40).alias("sha")
    )
    plain = _scan(tmp_path / "plain", cut)
    with_stray = _scan(tmp_path / "stray", pl.concat([cut, stray]))
    assert str(plain.merges_known_until) < "2026-03-30"  # type: ignore[attr-defined]
    assert with_stray.merges_known_until == plain.merges_known_until  # type: ignore[attr-defined]
