"""Calibration: on all-honest organisations no check's p-values are anti-conservative.

For each check, P(p ≤ α) must not exceed α by more than three binomial standard errors at
α = 0.01, 0.05 and 0.1 (a check that is exactly calibrated fails this about once in a thousand
organisations; these are fixed, so the test is deterministic). The populations include every hard
honest archetype: explorers, reviewers, late mergers, new joiners, people on leave, squash
victims, overnight agent users, on-call engineers. `benchmarks/calibration.py` runs more.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from tokenaudit.audit import run_audit
from tokenaudit.checks.registry import CHECKS
from tokenaudit.config import AuditConfig
from tokenaudit.loaders import expand_paths
from tokenaudit.simulate import generate_org, write_org

ALPHAS = (0.01, 0.05, 0.1)


@pytest.fixture(scope="module")
def honest_pvalues(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    frames = []
    # A quota and a snapshot day make `deadline-spikes` applicable too.
    cfg = AuditConfig(quota=5e7, snapshot_day=5)
    for seed in (71, 72, 73):
        out = tmp_path_factory.mktemp(f"honest{seed}")
        write_org(generate_org(150, 63, seed, 0.0), out, fmt="parquet")
        files = expand_paths(
            [out / "usage.parquet", out / "commits.parquet", out / "identities.csv"]
        )
        report = run_audit(files, cfg, out)
        frames.append(report.checks.filter(pl.col("applicable")).select("check", "p_value"))
    return pl.concat(frames)


@pytest.mark.parametrize("check", [c.id for c in CHECKS])
def test_no_check_is_anti_conservative_on_honest_people(
    honest_pvalues: pl.DataFrame, check: str
) -> None:
    values = honest_pvalues.filter(pl.col("check") == check)["p_value"].to_numpy()
    assert values.size >= 150, f"{check}: only {values.size} applicable accounts"
    for alpha in ALPHAS:
        observed = float(np.mean(values <= alpha))
        limit = alpha + 3 * math.sqrt(alpha * (1 - alpha) / values.size)
        assert observed <= limit, f"{check}: P(p ≤ {alpha}) = {observed:.3f} > {limit:.3f}"
