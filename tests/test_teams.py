"""Team roll-ups: the numbers per team and for the organisation, and the minimum group size that
keeps a roll-up from singling anybody out."""

from __future__ import annotations

import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenaudit.model import AuditReport
from tokenaudit.report.html_teams import ROLLUP_FORMATS, render_rollup
from tokenaudit.teams import NO_TEAM, ORGANISATION, OTHER, fold_small_groups, team_rollup


def _report(people: list[dict[str, object]]) -> AuditReport:
    """A report holding only the account columns a roll-up reads."""
    base = {
        "excluded": False,
        "flagged": False,
        "cost_usd": None,
        "merged_changes": 0,
        "merged_lines": 0,
        "barren_tokens": 0,
        "followable_tokens": 0,
        "tokens": 0,
    }
    rows = [{**base, **p} for p in people]
    accounts = pl.DataFrame(
        rows,
        schema={
            "account": pl.String,
            "team": pl.String,
            "excluded": pl.Boolean,
            "flagged": pl.Boolean,
            "tokens": pl.Int64,
            "cost_usd": pl.Float64,
            "merged_changes": pl.Int64,
            "merged_lines": pl.Int64,
            "barren_tokens": pl.Int64,
            "followable_tokens": pl.Int64,
        },
    )
    empty = pl.DataFrame()
    return AuditReport(
        accounts=accounts,
        checks=empty,
        days=empty,
        outputs=empty,
        inputs=[],
        rejects=empty,
        skipped=[],
        window_days=7,
        window_auto=True,
        first_day=None,
        last_day=None,
        merges_known_until=None,
        duplicate_requests=0,
    )


def _team(name: str | None, n: int, **values: object) -> list[dict[str, object]]:
    return [{"account": f"{name}-{i}", "team": name, **values} for i in range(n)]


def test_totals_rates_and_shares_by_hand() -> None:
    report = _report(
        [
            *_team(
                "core",
                5,
                tokens=2_000_000,
                cost_usd=4.0,
                merged_changes=3,
                merged_lines=120,
                barren_tokens=500_000,
                followable_tokens=1_000_000,
            ),
            {**_team("core", 1, tokens=0)[0], "account": "core-flagged", "flagged": True},
            {"account": "dependabot[bot]", "team": "core", "excluded": True, "tokens": 10**9},
        ]
    )
    rollup = team_rollup(report)
    assert rollup["group"].to_list() == ["core", ORGANISATION]
    core = rollup.row(0, named=True)
    assert core["people"] == 6 and core["flagged"] == 1 and core["teams"] == 1
    assert core["tokens"] == 10_000_000  # the bot is not a person
    assert core["cost_usd"] == pytest.approx(20.0) and core["cost_complete"] is False
    assert core["merged_changes"] == 15 and core["merged_lines"] == 600
    assert core["changes_per_mtok"] == pytest.approx(15 / 10)
    assert core["changes_per_kusd"] == pytest.approx(15 / 0.02)
    assert core["barren_token_share"] == pytest.approx(2_500_000 / 5_000_000)
    assert rollup.row(1, named=True)["people"] == 6


def test_small_teams_fold_into_other_and_other_grows_until_it_is_large_enough() -> None:
    report = _report(
        [
            *_team("big", 10, tokens=100),
            *_team("mid", 6, tokens=100),
            *_team("tiny", 2, tokens=100),
            *_team(None, 1, tokens=100),
        ]
    )
    rollup = team_rollup(report, min_group=5)
    # tiny (2) and the one person without a team (1) make 3 < 5: the smallest named team (mid,
    # 6) joins them, so that neither the other group nor the organisation minus the rows shown
    # is a group of three.
    assert rollup.select("group", "kind", "teams", "people").rows() == [
        ("big", "team", 1, 10),
        (OTHER, "other", 3, 9),
        (ORGANISATION, "organisation", 4, 19),
    ]
    assert fold_small_groups({"a": 5, NO_TEAM: 5}, 5) == {"a": "a", NO_TEAM: NO_TEAM}
    # Every team small: everybody in one group, which may then be under the minimum.
    assert set(fold_small_groups({"a": 1, "b": 2}, 5).values()) == {OTHER}
    with pytest.raises(ValueError, match="min_group"):
        fold_small_groups({"a": 1}, 0)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdefghij"), st.integers(1, 30), min_size=1, max_size=10),
    st.integers(1, 12),
)
def test_no_group_but_the_organisation_is_ever_smaller_than_the_minimum(
    sizes: dict[str, int], min_group: int
) -> None:
    into = fold_small_groups(sizes, min_group)
    groups: dict[str, int] = {}
    for team, n in sizes.items():
        groups[into[team]] = groups.get(into[team], 0) + n
    total = sum(sizes.values())
    if total >= min_group:
        assert all(n >= min_group for n in groups.values()), (sizes, groups)
    # A team large enough on its own is only folded to make the other group large enough.
    other = groups.get(OTHER, 0)
    for team, n in sizes.items():
        if n >= min_group and into[team] == OTHER:
            assert other - n < min_group


def test_the_roll_up_of_a_scan_adds_up(small_org: object) -> None:
    from pathlib import Path

    from tokenaudit.audit import run_audit
    from tokenaudit.config import AuditConfig
    from tokenaudit.loaders import expand_paths

    assert isinstance(small_org, Path)
    report = run_audit(expand_paths([small_org]), AuditConfig(), small_org)
    rollup = team_rollup(report, min_group=5)
    org = rollup.filter(pl.col("kind") == "organisation").row(0, named=True)
    parts = rollup.filter(pl.col("kind") != "organisation")
    assert (parts["people"] >= 5).all()
    for column in ("people", "flagged", "tokens", "merged_changes", "merged_lines"):
        assert parts[column].sum() == org[column], column
    humans = report.accounts.filter(~pl.col("excluded"))
    assert org["people"] == humans.height and org["flagged"] == humans["flagged"].sum()


def test_every_format_renders_and_keeps_names_inert() -> None:
    hostile = '=cmd|" /C calc"!A0 <script>x</script>\u202e'
    report = _report(
        [*_team(hostile, 5, tokens=1_000_000, merged_changes=2), *_team("ok", 5, tokens=10)]
    )
    rollup = team_rollup(report)
    for fmt in ROLLUP_FORMATS:
        text = render_rollup(rollup, fmt, min_group=5)
        assert "\u202e" not in text, fmt
        if fmt in ("html", "markdown"):
            assert "<script>" not in text, fmt  # plain text, CSV and JSON are inert as they are
        assert text == render_rollup(rollup, fmt, min_group=5)
    assert "'=cmd" in render_rollup(rollup, "csv")
    doc = json.loads(render_rollup(rollup, "json", min_group=5))
    assert doc["min_group"] == 5 and [g["group"] for g in doc["groups"]][-1] == ORGANISATION
    assert "&lt;script&gt;" in render_rollup(rollup, "html")
    with pytest.raises(ValueError, match="unknown roll-up format"):
        render_rollup(rollup, "yaml")


def test_the_teams_command(tmp_path: object) -> None:
    from pathlib import Path

    from typer.testing import CliRunner

    from tokenaudit.cli import app

    from .conftest import CLI_ENV

    assert isinstance(tmp_path, Path)
    runner = CliRunner(env=CLI_ENV)
    root = Path(__file__).parent.parent
    result = runner.invoke(app, ["teams", str(root / "sample_logs"), "--exit-zero", "-f", "csv"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("group,kind,teams,people,flagged,tokens,cost_usd")
    assert lines[-1].startswith("(organisation),organisation,")
    page = tmp_path / "teams.html"
    more = runner.invoke(
        app, ["teams", str(root / "sample_logs"), "--min-group", "12", "-o", str(page)]
    )
    assert more.exit_code == 1  # sample_logs has suspicious accounts; --fail-on as for scan
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "fewer than 12 people" in text
