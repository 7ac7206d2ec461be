"""Suppressions: on the record, never forever, and never hiding a flag they were not made for."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tokenaudit.errors import ConfigError, InputMissingError
from tokenaudit.suppressions import (
    Suppression,
    apply_suppressions,
    load_suppressions,
    resolve_accounts,
    resting_checks,
)

CHECKS = ("excess-tokens", "barren-days", "usage-jump", "automation", "trivial-merges")
OUTCOME = frozenset({"excess-tokens", "barren-days", "usage-jump"})
TODAY = date(2026, 4, 13)


def accounts() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rank": [1, 2, 3, 4],
            "account": ["Ana.Costa@acme.example", "ben@acme.example", "cy@acme.example", "di"],
            "status": ["suspicious", "review", "review", "ok"],
            "flagged": [True, True, True, False],
            "score": [90.0, 60.0, 50.0, 10.0],
            "tokens": [9_000_000, 2_000_000, 1_000_000, 500_000],
            "reasons": ["excess-tokens: ×5 (p=1e-6)", "barren-days: 9 of 10 (p=0.001)", "x", ""],
        }
    )


def checks() -> pl.DataFrame:
    rows = [
        ("Ana.Costa@acme.example", "excess-tokens", True, 1e-6),
        ("Ana.Costa@acme.example", "automation", True, 1e-4),
        ("Ana.Costa@acme.example", "barren-days", True, 0.3),
        ("ben@acme.example", "barren-days", True, 0.001),
        ("ben@acme.example", "excess-tokens", True, 0.4),
        ("cy@acme.example", "excess-tokens", True, 0.08),
        ("cy@acme.example", "usage-jump", False, None),
        ("di", "excess-tokens", True, 0.9),
    ]
    return check_rows(rows)


def check_rows(rows: list[tuple[str, str, bool, float | None]]) -> pl.DataFrame:
    """A report's check rows: account, check, applicable, p_value."""
    return pl.DataFrame(
        rows,
        schema={
            "account": pl.String,
            "check": pl.String,
            "applicable": pl.Boolean,
            "p_value": pl.Float64,
        },
        orient="row",
    )


def entry(account: str, **kw: object) -> Suppression:
    base: dict[str, object] = {
        "reason": "research spike",
        "owner": "eng-manager",
        "until": TODAY,
        "source": "s.toml:1",
    }
    base.update(kw)
    return Suppression(account=account, **base)  # type: ignore[arg-type]


def apply(*entries: Suppression, aliases: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return apply_suppressions(
        accounts(), checks(), entries, today=TODAY, aliases=aliases, outcome_checks=OUTCOME
    )


def row(frame: pl.DataFrame, account: str) -> dict[str, object]:
    return frame.filter(pl.col("account") == account).row(0, named=True)


# ----------------------------------------------------------------------------- applying


def test_a_suppressed_account_keeps_its_row_and_evidence_and_is_not_flagged() -> None:
    out = apply(entry("ben@acme.example"))
    ben = row(out.accounts, "ben@acme.example")
    assert ben["status"] == "suppressed" and ben["flagged"] is False
    assert ben["rank"] == 2 and ben["score"] == 60.0 and ben["tokens"] == 2_000_000
    assert str(ben["reasons"]).startswith(
        "suppressed until 2026-04-13 by eng-manager: research spike (was review); barren-days"
    )
    assert ben["suppression_owner"] == "eng-manager" and ben["suppressed_status"] == "review"
    assert ben["suppression_until"] == TODAY and ben["suppression_source"] == "s.toml:1"
    assert out.warnings == []
    # Nobody else moved.
    others = out.accounts.filter(pl.col("account") != "ben@acme.example")
    assert others.select(accounts().columns).equals(
        accounts().filter(pl.col("account") != "ben@acme.example")
    )


def test_an_entry_that_expired_yesterday_warns_and_the_account_is_judged() -> None:
    out = apply(entry("ben@acme.example", until=TODAY - timedelta(days=1), source="s.toml:7"))
    assert row(out.accounts, "ben@acme.example")["status"] == "review"
    assert len(out.warnings) == 1
    assert "'ben@acme.example' (s.toml:7)" in out.warnings[0]
    assert "expired on 2026-04-12" in out.warnings[0] and "judged as usual" in out.warnings[0]


def test_an_entry_for_someone_who_left_is_stale() -> None:
    out = apply(entry("gone@acme.example", source="s.toml:3"))
    assert out.accounts.select(accounts().columns).equals(accounts())
    assert len(out.warnings) == 1 and "matches no account" in out.warnings[0]
    assert "s.toml:3" in out.warnings[0]


def test_any_spelling_or_alias_resolves() -> None:
    out = apply(
        entry(" ANA.costa@ACME.example "),
        entry("31173196+benb@users.noreply.github.com"),
        aliases={"benb": "ben@acme.example"},
    )
    assert row(out.accounts, "Ana.Costa@acme.example")["status"] == "suppressed"
    assert row(out.accounts, "ben@acme.example")["status"] == "suppressed"
    assert resolve_accounts(["BEN@acme.example", "nobody"], ["ben@acme.example"], {}) == [
        "ben@acme.example",
        None,
    ]


def test_an_unflagged_account_is_left_alone() -> None:
    out = apply(entry("di"))
    assert row(out.accounts, "di")["status"] == "ok" and out.warnings == []


def test_checks_silence_only_a_flag_resting_on_them() -> None:
    rests = resting_checks(checks(), OUTCOME)
    # p ≤ 0.05 and the strongest outcome check; a weak flag rests on its best outcome check.
    assert rests["Ana.Costa@acme.example"] == {"excess-tokens", "automation"}
    assert rests["ben@acme.example"] == {"barren-days"}
    assert rests["cy@acme.example"] == {"excess-tokens"}
    covered = apply(entry("ben@acme.example", checks=("barren-days",)))
    assert row(covered.accounts, "ben@acme.example")["status"] == "suppressed"
    partial = apply(entry("Ana.Costa@acme.example", checks=("excess-tokens",)))
    ana = row(partial.accounts, "Ana.Costa@acme.example")
    assert ana["status"] == "suspicious" and ana["flagged"] is True
    assert "now also rests on automation" in str(ana["reasons"])
    assert ana["suppression_note"] is not None and ana["suppressed_status"] is None
    assert len(partial.warnings) == 1 and "judged again" in partial.warnings[0]


def test_a_flag_screened_on_a_habit_rests_on_the_outcome_check_that_confirmed_it() -> None:
    # Trivial merges alone passed the screen, so only an outcome check could confirm the flag
    # (decide.tier_qvalues): a weekly context check with a smaller p is not what it rests on.
    frame = check_rows(
        [
            ("eli", "trivial-merges", True, 1e-8),
            ("eli", "heavy-weeks", True, 0.055),
            ("eli", "excess-tokens", True, 0.06),
        ]
    )
    confirming = OUTCOME | {"heavy-weeks"}
    assert resting_checks(frame, confirming)["eli"] == {"trivial-merges", "heavy-weeks"}
    on_habit = resting_checks(frame, confirming, {"eli": OUTCOME})
    assert on_habit["eli"] == {"trivial-merges", "excess-tokens"}


def test_a_ceiling_passed_lifts_the_suppression() -> None:
    kept = apply(entry("ben@acme.example", max_tokens=2_000_000))
    assert row(kept.accounts, "ben@acme.example")["status"] == "suppressed"
    lifted = apply(entry("ben@acme.example", max_tokens=1_500_000))
    ben = row(lifted.accounts, "ben@acme.example")
    assert ben["status"] == "review" and "past its ceiling of 1,500,000" in str(ben["reasons"])
    assert "lifted" in lifted.warnings[0]


def test_a_valid_entry_wins_over_a_lifted_one_for_the_same_account() -> None:
    out = apply(entry("ben@acme.example", max_tokens=1), entry("ben@acme.example"))
    assert row(out.accounts, "ben@acme.example")["status"] == "suppressed"


# ----------------------------------------------------------------------------- reading


def test_toml_entries_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "suppressions.toml"
    path.write_text(
        "# reviewed 2026-03-30\n"
        "[[suppression]]\n"
        'account = "ben@acme.example"\n'
        'reason = "evaluating agents"\n'
        'owner = "lee"\n'
        "until = 2026-06-30\n"
        'checks = ["barren-days"]\n'
        "max_tokens = 50_000_000\n"
        "\n"
        "[[suppression]]\n"
        'account = "cy"\n'
        'reason = "on leave"\n'
        'owner = "lee"\n'
        'until = "2026-05-01"\n'
    )
    got = load_suppressions(path, CHECKS)
    assert [e.source for e in got] == [f"{path}:2", f"{path}:10"]
    assert got[0].checks == ("barren-days",) and got[0].max_tokens == 50_000_000
    assert got[0].until == date(2026, 6, 30) and got[1].until == date(2026, 5, 1)


def test_csv_entries(tmp_path: Path) -> None:
    path = tmp_path / "suppressions.csv"
    path.write_text(
        "account,reason,owner,until,checks,max_tokens\n"
        "ben@acme.example,evaluating agents,lee,2026-06-30,barren-days;usage-jump,5000000\n"
        "\n"
        "cy,on leave,lee,2026-05-01,,\n"
    )
    got = load_suppressions(path, CHECKS)
    assert [e.source for e in got] == [f"{path}:2", f"{path}:4"]
    assert got[0].checks == ("barren-days", "usage-jump") and got[0].max_tokens == 5_000_000
    assert got[1].checks is None and got[1].max_tokens is None


@pytest.mark.parametrize(
    ("name", "text", "line", "words"),
    [
        (
            "s.toml",
            '[[suppression]]\naccount = "a"\nowner = "o"\nuntil = 2026-01-01\n',
            1,
            "'reason'",
        ),
        (
            "s.toml",
            '[[suppression]]\naccount = "a"\nreason = "r"\nowner = "o"\nuntil = "soon"\n',
            5,
            "YYYY-MM-DD",
        ),
        (
            "s.toml",
            '[[suppression]]\naccount = "a"\nreason = "r"\nowner = "o"\nuntil = 2026-01-01\nowners = "x"\n',
            6,
            "unknown field 'owners'",
        ),
        (
            "s.toml",
            '[[suppression]]\naccount = "a"\nreason = "r"\nowner = "o"\nuntil = 2026-01-01\nchecks = ["barren"]\n',
            6,
            "unknown check 'barren'",
        ),
        (
            "s.toml",
            '[[suppression]]\naccount = "a"\nreason = "r"\nowner = "o"\nuntil = 2026-01-01\nmax_tokens = -1\n',
            6,
            "max_tokens",
        ),
        ("s.toml", "suppresion = 1\n", 1, "unknown key 'suppresion'"),
        ("s.toml", "[[suppression]]\naccount = \n", 2, "not valid TOML"),
        ("s.csv", "account,reason,owner\na,r,o\n", 1, "no 'until' column"),
        ("s.csv", "account,reason,owner,until,note\n", 1, "unknown column 'note'"),
        ("s.csv", "account,reason,owner,until\na,r,o,2026-01-01\nb,r,o\n", 3, "3 fields"),
        ("s.csv", "account,reason,owner,until\na,,o,2026-01-01\n", 2, "'reason'"),
        (
            "s.csv",
            "account,reason,owner,until,max_tokens\na,r,o,2026-01-01,lots\n",
            2,
            "whole number",
        ),
    ],
)
def test_a_malformed_file_names_its_line(
    tmp_path: Path, name: str, text: str, line: int, words: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_suppressions(path, CHECKS)
    assert str(err.value).startswith(f"{path}:{line}:"), str(err.value)
    assert words in str(err.value)


def test_a_missing_file_is_missing_input(tmp_path: Path) -> None:
    with pytest.raises(InputMissingError):
        load_suppressions(tmp_path / "none.toml", CHECKS)


# ----------------------------------------------------------------------------- the CLI

#: generate_org(60, 42, 5, 0.1): two `suspicious` accounts; the audited period ends 2026-04-13.
FLAGGED = ("goran.bauer@acme.example", "jun.vance@acme.example")
PERIOD_END = date(2026, 4, 13)


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenaudit.synthetic.simulate import generate_org, write_org

    out = tmp_path_factory.mktemp("suppressions_org")
    write_org(generate_org(60, 42, 5, 0.1), out)
    (out / "truth.csv").unlink()
    (out / "suppressions.toml").write_text(
        "[[suppression]]\n"
        'account = "goranb56"\n'  # a login from the identities file
        'reason = "agent evaluation (INFRA-412)"\n'
        'owner = "lee.wong"\n'
        "until = 2026-06-30\n"
        "\n"
        "[[suppression]]\n"
        'account = "JUN.VANCE@acme.example"\n'
        'reason = "migration week"\n'
        'owner = "lee.wong"\n'
        f"until = {PERIOD_END - timedelta(days=1)}\n"  # expired yesterday
        "\n"
        "[[suppression]]\n"
        'account = "left.last.year@acme.example"\n'
        'reason = "n/a"\n'
        'owner = "lee.wong"\n'
        "until = 2026-12-31\n"
    )
    return out


def scan(org: Path, *args: str) -> Any:
    from typer.testing import CliRunner

    from tokenaudit.cli import app

    from .conftest import CLI_ENV

    files = [str(org / f) for f in ("usage.csv", "commits.csv", "identities.csv")]
    runner = CliRunner(env={**CLI_ENV, "COLUMNS": "250"})
    return runner.invoke(app, ["scan", *files, "--all", *args])


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "ndjson", "markdown"])
def test_suppressed_expired_and_stale_in_every_format(org: Path, fmt: str) -> None:
    result = scan(org, "--suppressions", str(org / "suppressions.toml"), "--format", fmt)
    assert result.exit_code == 1, result.stderr  # jun's suppression expired: judged as usual
    err = result.stderr
    assert f"suppressions.toml:7) by lee.wong expired on {PERIOD_END - timedelta(days=1)}" in err
    assert "'left.last.year@acme.example'" in err and "matches no account" in err
    out = result.stdout
    if fmt != "json":  # one line per account
        goran = next(line for line in out.splitlines() if FLAGGED[0] in line)
        jun = next(line for line in out.splitlines() if FLAGGED[1] in line)
        assert "suppressed" in goran and "lee.wong" in goran
        assert "suppressed" not in jun and "suspicious" in jun
    if fmt in ("json", "ndjson"):
        docs = (
            json.loads(out)["accounts"]
            if fmt == "json"
            else [json.loads(line) for line in out.splitlines()]
        )
        assert next(d for d in docs if d["account"] == FLAGGED[1])["status"] == "suspicious"
        rec = next(d for d in docs if d["account"] == FLAGGED[0])
        assert rec["status"] == "suppressed" and rec["flagged"] is False
        assert rec["suppression"] == {
            "owner": "lee.wong",
            "reason": "agent evaluation (INFRA-412)",
            "until": "2026-06-30",
            "source": f"{org / 'suppressions.toml'}:1",
            "status_before": "suspicious",
            "lifted": None,
        }
        assert rec["checks"], "the evidence stays"
    if fmt == "json":
        run = json.loads(out)["run"]["suppressions"]
        assert run["today"] == str(PERIOD_END) and run["suppressed"] == 1
        assert len(run["warnings"]) == 2


def test_a_suppressed_account_never_trips_fail_on(org: Path, tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "account,reason,owner,until\n" + "".join(f"{a},reviewed,lee,2026-06-30\n" for a in FLAGGED)
    )
    result = scan(org, "--suppressions", str(path), "--fail-on", "review", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count(",suppressed,false,") == 2


def test_today_can_be_given(org: Path) -> None:
    path = str(org / "suppressions.toml")
    result = scan(org, "--suppressions", path, "--today", "2026-04-12", "--format", "csv")
    assert result.exit_code == 0, result.stderr  # both entries hold on the 12th
    assert "expired" not in result.stderr


def test_a_malformed_file_is_exit_2_with_its_line(org: Path, tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[suppression]]\naccount = "a"\nreason = "r"\nowner = "o"\nuntil = "soon"\n')
    result = scan(org, "--suppressions", str(path))
    assert result.exit_code == 2
    assert f"{path}:5: until: expected a date" in result.stderr


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_pseudonymised_reports_name_nobody_in_suppression_text(
    org: Path, tmp_path: Path, fmt: str
) -> None:
    key = tmp_path / "key"
    key.write_bytes(b"k" * 48)
    key.chmod(0o600)
    path = tmp_path / "s.toml"
    path.write_text(
        "[[suppression]]\n"
        'account = "goranb56"\n'
        f'reason = "{FLAGGED[0]} runs the agent evaluation for Lee.Wong (INFRA-412)"\n'
        'owner = "lee.wong"\n'
        "until = 2026-06-30\n"
        "\n"
        "[[suppression]]\n"
        'account = "left.last.year@acme.example"\n'
        'reason = "n/a"\n'
        'owner = "kim.obi"\n'
        "until = 2026-12-31\n"
    )
    result = scan(org, "--suppressions", str(path), "--pseudonymize", str(key), "--format", fmt)
    assert result.exit_code == 1, result.stderr
    out = result.stdout
    for name in ("acme.example", "lee.wong", "Lee.Wong", "kim.obi", "goranb56", "goran"):
        assert name not in out
    assert "INFRA-412" in out, "the rest of the reason stays"
    if fmt == "json":
        doc = json.loads(out)
        rec = next(a for a in doc["accounts"] if a["status"] == "suppressed")
        assert rec["suppression"]["owner"].startswith("p-")
        assert rec["suppression"]["reason"].startswith(rec["account"] + " runs")
        assert all("p-" in w for w in doc["run"]["suppressions"]["warnings"])
