"""The independent organisation generator (tokenaudit.synthetic.families): shapes, determinism,
parameter ranges, identities, the daily (admin-API) shape, and that `tokenaudit scan` reads it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tokenaudit.synthetic.families import (
    MIXED_TACTICS,
    FamilyOrg,
    FamilyParams,
    build_org,
    draw_params,
    main,
    write_family_org,
)

USAGE = {
    "timestamp": pl.String,
    "account": pl.String,
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "cache_read_tokens": pl.Int64,
    "cache_write_tokens": pl.Int64,
    "model": pl.String,
    "cost_usd": pl.Float64,
    "request_id": pl.String,
    "session_id": pl.String,
}
COMMITS = {
    "merged_at": pl.String,
    "author": pl.String,
    "lines_added": pl.Int64,
    "lines_deleted": pl.Int64,
    "sha": pl.String,
    "pr_id": pl.String,
    "files_changed": pl.Int64,
    "message": pl.String,
    "repo": pl.String,
}
TOKENS = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"]


@pytest.fixture(scope="module")
def org() -> FamilyOrg:
    return build_org(draw_params(3, scenario="mixed", accounts=80, days=42), 3)


def _resolve(identities: pl.DataFrame, column: pl.Series) -> pl.Series:
    """Case-fold, reduce noreply addresses to their login, then map through the identities."""

    def norm(expr: pl.Expr) -> pl.Expr:
        folded = expr.str.to_lowercase()
        login = folded.str.extract(r"^(?:\d+\+)?([^@]+)@users\.noreply\.github\.com$", 1)
        return pl.coalesce(login, folded)

    table = identities.select(norm(pl.col("alias")).alias("a"), "account").unique("a")
    mapping = dict(zip(table["a"].to_list(), table["account"].to_list(), strict=True))
    return (
        column.to_frame("x")
        .select(norm(pl.col("x")).replace_strict(mapping, default=None))
        .to_series()
    )


def test_same_seed_same_frames_and_bytes(tmp_path: Path) -> None:
    params = draw_params(7, scenario="mixed", accounts=30, days=42)
    a, b = build_org(params, 7), build_org(params, 7)
    for name in ("usage", "commits", "identities", "truth"):
        assert getattr(a, name).equals(getattr(b, name)), name
    pa, pb = write_family_org(a, tmp_path / "a"), write_family_org(b, tmp_path / "b")
    for key, path in pa.items():
        assert path.read_bytes() == pb[key].read_bytes(), key
    assert draw_params(7, scenario="mixed", accounts=30, days=42) == params
    c = build_org(params, 8)
    assert not a.usage.equals(c.usage)
    assert not a.commits.equals(c.commits)
    assert draw_params(8, scenario="mixed") != draw_params(7, scenario="mixed")


def test_canonical_columns_and_dtypes(org: FamilyOrg) -> None:
    assert dict(org.usage.schema) == USAGE
    assert dict(org.commits.schema) == COMMITS
    assert org.identities.columns == ["alias", "account", "team", "role"]
    assert org.truth.columns[:10] == [
        "account",
        "archetype",
        "is_maxxer",
        "tactic",
        "inflation",
        "mechanism",
        "pad_start",
        "automation",
        "team",
        "role",
    ]
    assert org.truth.schema["pad_start"] == pl.Date
    assert org.usage["timestamp"].str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").all()
    assert org.commits["merged_at"].str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$").all()
    assert org.usage.select(pl.min_horizontal(TOKENS).min()).item() >= 0
    assert org.usage["request_id"].n_unique() == org.usage.height
    assert (org.usage["cost_usd"] >= 0).all()
    # rows are sorted, and the period is respected
    assert org.usage["timestamp"].is_sorted()
    assert org.commits["merged_at"].is_sorted()
    first = org.params.start.isoformat()
    assert org.usage["timestamp"].min() >= first  # type: ignore[operator]
    assert org.commits["merged_at"].min() >= first  # type: ignore[operator]


def test_truth_identities_cover_people_and_aliases(org: FamilyOrg) -> None:
    ids, truth = org.identities, org.truth
    people = set(ids.filter(pl.col("role") != "bot")["account"].to_list())
    assert set(truth["account"].to_list()) == people
    assert truth.height == org.params.accounts == len(people)
    assert truth["account"].n_unique() == truth.height
    # every alias names one account only (after case-folding and noreply reduction)
    norm = _resolve(ids, ids["alias"])
    assert (norm == ids["account"]).all()
    for frame, col in ((org.usage, "account"), (org.commits, "author")):
        resolved = _resolve(ids, frame[col].unique())
        assert resolved.null_count() == 0, col
    assert ids.filter(pl.col("role") == "bot")["account"].is_in(["ci-service"]).any()
    assert org.commits["author"].str.contains(r"dependabot\[bot\]").any()
    # spellings vary: emails, logins, noreply addresses, upper case
    authors = org.commits["author"]
    assert authors.str.contains("users.noreply.github.com").any()
    assert authors.str.contains("[A-Z]").any()
    # truth: maxxer fields set exactly for maxxers
    m = truth.filter(pl.col("is_maxxer"))
    h = truth.filter(~pl.col("is_maxxer"))
    assert m.height >= 1
    assert m["tactic"].null_count() == 0 and m["inflation"].null_count() == 0
    assert m["mechanism"].null_count() == 0 and m["pad_start"].null_count() == 0
    assert m["inflation"].is_between(2, 100).all()
    assert h["tactic"].null_count() == h.height and h["inflation"].null_count() == h.height
    assert m["automation"].null_count() == m.height
    assert set(truth["automation"].drop_nulls().to_list()) <= {
        "overnight",
        "all-day",
        "fleet",
        "ci-job",
        "on-call",
    }


def test_parameter_ranges() -> None:
    for seed in range(50):
        for scenario in ("honest", "mixed", "launch"):
            p = draw_params(seed, scenario=scenario)
            assert 60 <= p.accounts <= 2000
            assert 42 <= p.days <= 91
            assert 0.5 <= p.sd_between <= 1.2 and 0.3 <= p.sd_within <= 0.9
            assert 0 <= p.agent_share <= 0.5 and 0 <= p.token_elasticity <= 0.6
            assert 0.3 <= p.mechanism_prob <= 1 and 0.6 <= p.shock_mult <= 2
            assert 0 <= p.cache_read_centre <= 0.98
            assert 0.005 <= p.output_share_centre <= 0.15
            assert (p.shock_day is None) == (p.shock_mult == 1.0)
            assert sum(p.tactic_weights) == pytest.approx(1, abs=1e-4)
            if scenario == "honest":
                assert p.maxxer_share == 0 and p.launch_day is None
            else:
                assert 0.03 <= p.maxxer_share <= 0.15
            if scenario == "launch":
                assert p.launch_day is not None
                assert p.days // 3 <= p.launch_day < (2 * p.days) // 3
                assert 1 <= p.launch_honest_mult <= 1.3
            else:
                assert p.launch_day is None
    p = draw_params(1, scenario="mixed", accounts=123, days=50, maxxer_share=0.2)
    assert (p.accounts, p.days, p.maxxer_share) == (123, 50, 0.2)
    assert isinstance(p.as_dict()["start"], str)
    with pytest.raises(ValueError):
        draw_params(1, scenario="bogus")


def test_daily_mode_sums_match_requests() -> None:
    params = draw_params(4, scenario="mixed", accounts=40, days=42)
    per_request = build_org(params, 4)
    daily = build_org(params, 4, daily=True)
    assert daily.usage.columns == [*list(USAGE)[:8], "requests"]
    assert daily.usage["timestamp"].str.contains(r"^\d{4}-\d\d-\d\d$").all()
    summed = (
        per_request.usage.with_columns(pl.col("timestamp").str.slice(0, 10))
        .group_by("account", "timestamp")
        .agg(*[pl.col(c).sum() for c in TOKENS], pl.len().cast(pl.Int64).alias("requests"))
        .sort("account", "timestamp")
    )
    got = daily.usage.select("account", "timestamp", *TOKENS, "requests").sort(
        "account", "timestamp"
    )
    assert got.equals(summed)
    cost = per_request.usage["cost_usd"].sum()
    assert daily.usage["cost_usd"].sum() == pytest.approx(cost, rel=1e-6)
    assert daily.commits.equals(per_request.commits) and daily.truth.equals(per_request.truth)


@pytest.mark.parametrize("accounts", [5, 8])
def test_small_teams(accounts: int) -> None:
    org = build_org(draw_params(2, scenario="mixed", accounts=accounts, days=42), 2)
    n_max = int(org.truth["is_maxxer"].sum())
    assert org.truth.height == accounts
    assert n_max <= 2
    if accounts >= 8:
        assert n_max >= 1
    assert org.usage.height > 0 and org.commits.height > 0


def test_honest_and_launch_scenarios() -> None:
    honest = build_org(draw_params(5, scenario="honest", accounts=40, days=42), 5)
    assert not honest.truth["is_maxxer"].any()
    launch = build_org(draw_params(5, scenario="launch", accounts=60, days=63), 5)
    m = launch.truth.filter(pl.col("is_maxxer"))
    assert m.height >= 1 and (m["tactic"] == "launch-padder").all()
    day = launch.params.launch_day
    assert day is not None
    starts = m["pad_start"].to_list()
    assert all((s - launch.params.start).days >= day for s in starts)


def test_scripted_loop_mechanism_is_identical_requests() -> None:
    base = draw_params(6, scenario="mixed", accounts=40, days=42)
    weights = tuple(1.0 if t == "scripted-loop" else 0.0 for t in MIXED_TACTICS)
    params: FamilyParams = dataclasses.replace(
        base, tactic_weights=weights, mechanism_prob=1.0, maxxer_share=0.1
    )
    org = build_org(params, 6)
    loops = org.usage.filter(pl.col("session_id").str.starts_with("sloop-"))
    assert loops.height > 0
    sizes = loops.group_by("session_id").agg(pl.struct(TOKENS).n_unique().alias("distinct"))
    assert (sizes["distinct"] == 1).all()
    share = loops["output_tokens"].sum() / loops.select(pl.sum_horizontal(TOKENS)).sum().item()
    assert share < 0.01


def test_scan_reads_a_written_org(tmp_path: Path) -> None:
    org = build_org(draw_params(9, scenario="mixed", accounts=60, days=42), 9)
    paths = write_family_org(org, tmp_path)
    assert set(paths) == {"usage", "commits", "identities", "truth", "params"}
    rejects = tmp_path / "rejects.csv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tokenaudit",
            "scan",
            str(paths["usage"]),
            str(paths["commits"]),
            "--identities",
            str(paths["identities"]),
            "--format",
            "csv",
            "--all",
            "--exit-zero",
            "--rejects",
            str(rejects),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "reject" not in proc.stderr.lower(), proc.stderr
    if rejects.exists():
        assert len(rejects.read_text().strip().splitlines()) <= 1  # a header at most
    report = pl.read_csv(proc.stdout.encode())
    people = set(org.truth["account"].to_list())
    assert people <= set(report["account"].to_list())


def test_command_line_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--seed", "1", "--scenario", "mixed", "--accounts", "20", "--days", "42"]
    assert main([*args, "--format", "csv", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "20 people" in out and "maxxers" in out and "merges" in out
    assert (tmp_path / "usage.csv").exists() and (tmp_path / "params.json").exists()


def test_overrides_change_nothing_else() -> None:
    """Passing accounts/days keeps every other draw (day indices scale with the period)."""
    for seed in range(10):
        a = draw_params(seed, scenario="mixed")
        b = draw_params(seed, scenario="mixed", accounts=77, days=50)
        same = {"launch_day": None, "shock_day": None}
        assert dataclasses.replace(a, accounts=77, days=50, **same) == dataclasses.replace(
            b, **same
        )
        assert (a.shock_day is None) == (b.shock_day is None)
