"""Calibration: on all-honest organisations no check's p-values are anti-conservative.

For each check, P(p ≤ α) must not exceed α by more than three binomial standard errors at
α = 0.01, 0.05 and 0.1 (a check that is exactly calibrated fails this about once in a thousand
organisations; these are fixed, so the test is deterministic). The populations come from both generator
families and include every hard honest archetype: explorers, reviewers, late mergers, new joiners, people on leave, squash
victims, overnight agent users, on-call engineers. `benchmarks/calibration.py` runs more.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tokenaudit.audit import run_audit
from tokenaudit.checks.registry import CHECKS
from tokenaudit.config import AuditConfig
from tokenaudit.loaders import InputFile, expand_paths
from tokenaudit.model import AuditReport
from tokenaudit.synthetic.families import build_org, draw_params, write_family_org
from tokenaudit.synthetic.simulate import generate_org, write_org

ALPHAS = (0.01, 0.05, 0.1)


@pytest.fixture(scope="module")
def honest_reports(tmp_path_factory: pytest.TempPathFactory) -> list[AuditReport]:
    reports = []
    # A quota and a snapshot day make `deadline-spikes` applicable too.
    cfg = AuditConfig(quota=5e7, snapshot_day=5)
    for seed in (71, 72, 73):
        out = tmp_path_factory.mktemp(f"honest{seed}")
        write_org(generate_org(150, 63, seed, 0.0), out, fmt="parquet")
        files = expand_paths(
            [out / "usage.parquet", out / "commits.parquet", out / "identities.csv"]
        )
        reports.append(run_audit(files, cfg, out))
    # The second generator, its parameters drawn per seed from wide ranges: heavy agent users,
    # fleets, CI jobs under a person's key, agent adoption during the period, tool switches.
    for seed in (81, 82):
        out = tmp_path_factory.mktemp(f"family{seed}")
        org = build_org(draw_params(seed, scenario="honest", accounts=150, days=63), seed)
        paths = write_family_org(org, out, fmt="parquet")
        files = expand_paths([paths["usage"], paths["commits"], paths["identities"]])
        reports.append(run_audit(files, cfg, out))
    return reports


@pytest.fixture(scope="module")
def honest_pvalues(honest_reports: list[AuditReport]) -> pl.DataFrame:
    return pl.concat(
        r.checks.filter(pl.col("applicable")).select("check", "p_value") for r in honest_reports
    )


def test_no_honest_person_is_suspicious_in_either_family(
    honest_reports: list[AuditReport],
) -> None:
    for report in honest_reports:
        assert report.accounts.filter(pl.col("status") == "suspicious").is_empty()


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


@pytest.fixture(scope="module")
def small_team_reports(tmp_path_factory: pytest.TempPathFactory) -> list[AuditReport]:
    """All-honest teams of 5, 8, 15 and 30 people, each scanned alone and against a reference
    saved from a 120-person all-honest organisation of the same generator."""
    from tokenaudit.reference import dump_reference, load_reference

    out = tmp_path_factory.mktemp("small")
    large = out / "large"
    write_org(generate_org(120, 63, 91, 0.0), large, fmt="parquet")
    big = run_audit(_files(large), AuditConfig(), large)
    (out / "reference.json").write_text(dump_reference(big, AuditConfig()), encoding="utf-8")
    reference = load_reference(out / "reference.json")
    reports = []
    for size, seed in ((5, 92), (8, 93), (15, 94), (30, 95), (8, 96), (15, 97)):
        team = out / f"team{size}-{seed}"
        write_org(generate_org(size, 63, seed, 0.0), team, fmt="parquet")
        for cfg in (AuditConfig(), AuditConfig(reference=reference)):
            reports.append(run_audit(_files(team), cfg, team))
    return reports


def _files(where: Path) -> list[InputFile]:
    return expand_paths(
        [where / "usage.parquet", where / "commits.parquet", where / "identities.csv"]
    )


def test_small_honest_teams_have_nobody_suspicious_with_or_without_a_reference(
    small_team_reports: list[AuditReport],
) -> None:
    for report in small_team_reports:
        assert report.accounts.filter(pl.col("status") == "suspicious").is_empty()


def test_a_reference_keeps_small_honest_teams_calibrated(
    small_team_reports: list[AuditReport],
) -> None:
    compared = [r for r in small_team_reports if r.reference is not None]
    values = pl.concat(r.checks.filter(pl.col("applicable")).select("p_value") for r in compared)[
        "p_value"
    ].to_numpy()
    assert values.size >= 100
    for alpha in ALPHAS:
        observed = float(np.mean(values <= alpha))
        limit = alpha + 3 * math.sqrt(alpha * (1 - alpha) / values.size)
        assert observed <= limit, f"P(p ≤ {alpha}) = {observed:.3f} > {limit:.3f}"
