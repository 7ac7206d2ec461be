"""The command line as a user meets it: exit codes, formats, determinism, errors in one line."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokenaudit.cli import app
from tokenaudit.report import registry
from tokenaudit.schema import REPORT_COLUMNS

from .conftest import DATA


def scan(runner: CliRunner, org: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["scan", str(org), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def csv_report(small_org: Path) -> str:
    result = CliRunner().invoke(app, ["scan", str(small_org), "--format", "csv", "--exit-zero"])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_scan_ranks_every_account_with_exactly_the_report_columns(
    csv_report: str, small_truth: object
) -> None:
    rows = list(csv.DictReader(io.StringIO(csv_report)))
    assert tuple(rows[0].keys()) == REPORT_COLUMNS
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    assert {r["status"] for r in rows} <= {
        "suspicious",
        "review",
        "ok",
        "insufficient_data",
        "excluded",
    }
    assert any(r["status"] == "excluded" for r in rows)  # the CI service account


def test_top_of_the_ranking_is_tokenmaxxers(csv_report: str, small_truth: object) -> None:
    import polars as pl

    truth = small_truth
    assert isinstance(truth, pl.DataFrame)
    maxxers = set(truth.filter(pl.col("is_maxxer"))["account"].to_list())
    rows = list(csv.DictReader(io.StringIO(csv_report)))
    top = [r["account"] for r in rows[:3]]
    assert sum(a in maxxers for a in top) >= 2
    flagged = [r for r in rows if r["status"] == "suspicious"]
    assert flagged and all(r["account"] in maxxers for r in flagged)
    assert all(r["reasons"] for r in flagged)


@pytest.mark.parametrize("fmt", registry.names())
def test_every_format_is_byte_identical_on_rerun(
    runner: CliRunner, small_org: Path, fmt: str
) -> None:
    first = scan(runner, small_org, "--format", fmt, "--exit-zero")
    second = scan(runner, small_org, "--format", fmt, "--exit-zero")
    assert first[0] == 0
    assert first[1] == second[1]
    assert first[1].strip()


def test_json_carries_the_report_columns_run_metadata_and_each_check(
    runner: CliRunner, small_org: Path
) -> None:
    _code, out, _ = scan(runner, small_org, "--format", "json", "--exit-zero")
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    assert {"version", "inputs", "parameters", "as_of"} <= set(doc["run"])
    assert all(len(i["sha256"]) == 64 for i in doc["run"]["inputs"])
    account = doc["accounts"][0]
    assert set(REPORT_COLUMNS) <= set(account)
    assert {c["id"] for c in account["checks"]} >= {"excess-tokens", "barren-days", "automation"}
    assert "NaN" not in out and "Infinity" not in out


def test_ndjson_is_one_account_per_line(runner: CliRunner, small_org: Path) -> None:
    _, out, _ = scan(runner, small_org, "--format", "ndjson", "--exit-zero")
    lines = out.splitlines()
    assert all(json.loads(line)["rank"] == i for i, line in enumerate(lines, start=1))


def test_auto_format_is_csv_when_stdout_is_not_a_terminal(
    runner: CliRunner, small_org: Path
) -> None:
    _, out, _ = scan(runner, small_org, "--exit-zero")
    assert out.splitlines()[0] == ",".join(REPORT_COLUMNS)


def test_top_limits_the_rows(runner: CliRunner, small_org: Path) -> None:
    _, out, _ = scan(runner, small_org, "--format", "csv", "--top", "3", "--exit-zero")
    assert len(out.splitlines()) == 4


def test_exit_code_follows_fail_on(runner: CliRunner, small_org: Path, csv_report: str) -> None:
    statuses = {r["status"] for r in csv.DictReader(io.StringIO(csv_report))}
    assert "suspicious" in statuses
    assert scan(runner, small_org, "--format", "csv")[0] == 1
    assert scan(runner, small_org, "--format", "csv", "--exit-zero")[0] == 0
    assert scan(runner, small_org, "--format", "csv", "--fail-on", "never")[0] == 0


def test_output_file_is_written_whole_and_private(
    runner: CliRunner, small_org: Path, tmp_path: Path
) -> None:
    target = tmp_path / "report.csv"
    code, out, _ = scan(runner, small_org, "--output", str(target), "--exit-zero")
    assert code == 0 and out == ""
    assert target.read_text().splitlines()[0] == ",".join(REPORT_COLUMNS)
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]  # no temporary file left behind


def test_failed_run_leaves_the_previous_report_untouched(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "report.csv"
    target.write_text("previous report\n")
    result = runner.invoke(app, ["scan", str(DATA / "empty.csv"), "--output", str(target)])
    assert result.exit_code == 65
    assert target.read_text() == "previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]


def test_output_into_a_missing_directory_is_exit_73(
    runner: CliRunner, small_org: Path, tmp_path: Path
) -> None:
    code, _, err = scan(runner, small_org, "--output", str(tmp_path / "missing" / "r.csv"))
    assert code == 73
    assert err.count("\n") == 1 and "does not exist" in err


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["/nonexistent/usage.csv"], 66, "no such file"),
        ([str(DATA / "usage_no_account.csv")], 65, "missing required column 'account'"),
        ([str(DATA / "empty.csv")], 65, "file is empty"),
        ([str(DATA / "header_only.csv"), str(DATA / "commits_basic.csv")], 65, "no usable"),
        ([str(DATA / "usage_basic.csv")], 65, "no commit log"),
        ([str(DATA / "commits_basic.csv")], 65, "no usage log"),
    ],
)
def test_bad_input_gives_one_line_and_the_documented_exit_code(
    runner: CliRunner, args: list[str], code: int, needle: str
) -> None:
    result = runner.invoke(app, ["scan", *args])
    assert result.exit_code == code, result.stderr
    assert needle in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_bad_options_are_usage_errors(runner: CliRunner, small_org: Path) -> None:
    assert runner.invoke(app, ["scan", str(small_org), "--since", "yesterday"]).exit_code == 2
    assert runner.invoke(app, ["scan", str(small_org), "--window", "soon"]).exit_code == 2
    assert runner.invoke(app, ["scan", str(small_org), "--tz", "Mars/Olympus"]).exit_code == 2
    assert runner.invoke(app, ["scan", str(small_org), "--format", "xml"]).exit_code == 2
    result = runner.invoke(
        app, ["scan", str(small_org), "--since", "2026-05-01", "--until", "2026-04-01"]
    )
    assert result.exit_code == 2 and "after --until" in result.stderr


def test_stdin_is_read_when_path_is_dash(runner: CliRunner, small_org: Path) -> None:
    usage = (small_org / "usage.csv").read_bytes()
    result = runner.invoke(
        app,
        [
            "scan",
            "-",
            "--commits",
            str(small_org / "commits.csv"),
            "--identities",
            str(small_org / "identities.csv"),
            "--format",
            "csv",
            "--exit-zero",
        ],
        input=usage,
    )
    assert result.exit_code == 0, result.stderr
    whole = runner.invoke(app, ["scan", str(small_org), "--format", "csv", "--exit-zero"]).stdout
    assert result.stdout == whole


def test_since_and_until_restrict_the_period(runner: CliRunner, small_org: Path) -> None:
    _, out, _ = scan(
        runner,
        small_org,
        "--format",
        "json",
        "--since",
        "2026-03-09",
        "--until",
        "2026-03-29",
        "--exit-zero",
    )
    run = json.loads(out)["run"]
    assert run["period"]["first_day"] == "2026-03-09" and run["period"]["last_day"] == "2026-03-29"


def test_explain_shows_checks_timeline_and_what_would_clear_it(
    runner: CliRunner, small_org: Path, csv_report: str
) -> None:
    top = next(csv.DictReader(io.StringIO(csv_report)))
    result = runner.invoke(app, ["explain", top["account"], str(small_org)])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for needle in (
        "excess-tokens",
        "barren-days",
        "automation",
        "Timeline",
        "What would clear it",
        "signal for a conversation",
    ):
        assert needle in out
    assert "▁" in out or "█" in out


def test_explain_unknown_account_is_a_usage_error(runner: CliRunner, small_org: Path) -> None:
    result = runner.invoke(app, ["explain", "nobody@nowhere.example", str(small_org)])
    assert result.exit_code == 2 and "no account" in result.stderr


def test_generate_is_deterministic_per_seed(runner: CliRunner, tmp_path: Path) -> None:
    for name in ("a", "b"):
        result = runner.invoke(
            app,
            ["generate", str(tmp_path / name), "--accounts", "20", "--days", "14", "--seed", "4"],
        )
        assert result.exit_code == 0, result.stderr
    for f in ("usage.csv", "commits.csv", "identities.csv", "truth.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    truth = (tmp_path / "a" / "truth.csv").read_text().splitlines()
    assert truth[0] == "account,archetype,is_maxxer,team,role,quota" and len(truth) == 21


def test_version_and_help_do_not_import_the_heavy_libraries() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from tokenaudit.cli import main; sys.argv=['tokenaudit','--version'];\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('polars','scipy','rich.table') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ}, check=True
    )
    assert out.stdout.strip().endswith("[]")


def test_readme_shows_the_real_scan_help() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    runner = CliRunner(env={"COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"})
    help_text = runner.invoke(app, ["scan", "--help"], prog_name="tokenaudit").stdout
    assert f"```\n{help_text}```" in readme


def write_key(path: Path, size: int = 48) -> Path:
    path.write_bytes(os.urandom(size).hex().encode())
    path.chmod(0o600)
    return path


def test_pseudonymize_replaces_every_person_identifier_stably(
    runner: CliRunner, small_org: Path, tmp_path: Path
) -> None:
    key = write_key(tmp_path / "key")
    first = scan(runner, small_org, "--format", "json", "--exit-zero", "--pseudonymize", str(key))
    again = scan(runner, small_org, "--format", "json", "--exit-zero", "--pseudonymize", str(key))
    assert first[0] == 0 and first[1] == again[1]
    assert "@acme.example" not in first[1]
    assert key.read_text() not in first[1] + first[2]
    doc = json.loads(first[1])
    assert all(a["account"].startswith("p-") and len(a["account"]) == 18 for a in doc["accounts"])
    assert "still personal data" in doc["run"]["note"] and "still personal data" in first[2]
    other = scan(
        runner,
        small_org,
        "--format",
        "csv",
        "--exit-zero",
        "--pseudonymize",
        str(write_key(tmp_path / "k2")),
    )
    assert (
        set(json.loads(first[1])["accounts"][0]["account"])
        and doc["accounts"][0]["account"] not in other[1]
    )


def test_a_weak_or_exposed_key_is_refused(
    runner: CliRunner, small_org: Path, tmp_path: Path
) -> None:
    short = write_key(tmp_path / "short", size=8)
    result = runner.invoke(app, ["scan", str(small_org), "--pseudonymize", str(short)])
    assert result.exit_code == 2 and "at least 32" in result.stderr
    assert short.read_text() not in result.stderr
    exposed = write_key(tmp_path / "exposed")
    exposed.chmod(0o644)
    result = runner.invoke(app, ["scan", str(small_org), "--pseudonymize", str(exposed)])
    assert result.exit_code == 2 and "chmod 600" in result.stderr


def test_allow_empty_turns_no_usable_rows_into_an_empty_report(runner: CliRunner) -> None:
    args = [
        "scan",
        str(DATA / "header_only.csv"),
        str(DATA / "commits_basic.csv"),
        "--format",
        "csv",
    ]
    assert runner.invoke(app, args).exit_code == 65
    result = runner.invoke(app, [*args, "--allow-empty"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ",".join(REPORT_COLUMNS) + "\n"


def test_max_bad_rows_refuses_a_file_with_too_many_rejects(runner: CliRunner) -> None:
    args = [
        "scan",
        str(DATA / "usage_bad_rows.csv"),
        str(DATA / "commits_basic.csv"),
        "--allow-empty",
        "--format",
        "csv",
    ]
    assert runner.invoke(app, args).exit_code in (0, 1)
    result = runner.invoke(app, [*args, "--max-bad-rows", "2"])
    assert result.exit_code == 65
    assert "4 of 10 rows unusable (more than --max-bad-rows 2)" in result.stderr


def test_zone_less_timestamps_are_read_as_utc_and_counted(
    runner: CliRunner, tmp_path: Path
) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text((DATA / "usage_basic.csv").read_text())
    args = ["scan", str(usage), str(DATA / "commits_basic.csv"), "--format", "json", "--exit-zero"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "1 timestamps had no time zone and were read as UTC" in result.stderr
    item = next(i for i in json.loads(result.stdout)["run"]["inputs"] if i["kind"] == "usage")
    assert (
        item["zone_less_timestamps"] == 1 and item["rejected"] == 1
    )  # the other is a duplicate id
    strict = runner.invoke(app, [*args, "--assume-tz", "none", "--max-bad-ratio", "0.9"])
    item = next(i for i in json.loads(strict.stdout)["run"]["inputs"] if i["kind"] == "usage")
    # Rejected now: the zone-less row itself (so its twin is no longer a duplicate).
    assert item["zone_less_timestamps"] == 0 and item["rejected"] == 1
    assert "timestamp has no time zone" in strict.stderr


def test_pre_aggregated_usage_gives_the_same_outcome_evidence_as_the_requests(
    runner: CliRunner, small_org: Path, tmp_path: Path
) -> None:
    import polars as pl

    requests = pl.read_csv(small_org / "usage.csv").unique("request_id", keep="first")
    requests.write_csv(tmp_path / "requests.csv")
    daily = (
        requests.with_columns(pl.col("timestamp").str.slice(0, 10).alias("day"))
        .group_by("account", "day")
        .agg(
            pl.col(
                "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"
            ).sum(),
            pl.len().alias("requests"),
        )
        .rename({"day": "timestamp"})
    )
    daily.write_csv(tmp_path / "daily.csv")
    extra = [
        str(small_org / "commits.csv"),
        str(small_org / "identities.csv"),
        "--format",
        "json",
        "--exit-zero",
    ]
    raw = json.loads(runner.invoke(app, ["scan", str(tmp_path / "requests.csv"), *extra]).stdout)
    agg = json.loads(runner.invoke(app, ["scan", str(tmp_path / "daily.csv"), *extra]).stdout)

    def checks(doc: dict[str, object], check: str) -> dict[str, object]:
        return {
            a["account"]: next(c for c in a["checks"] if c["id"] == check)
            for a in doc["accounts"]  # type: ignore[attr-defined]
            if a["checks"]
        }

    for check in ("barren-days", "trivial-merges"):
        assert {a: c["p_value"] for a, c in checks(raw, check).items()} == {
            a: c["p_value"] for a, c in checks(agg, check).items()
        }, check
    # excess-tokens tests the same accounts on the same totals; only its null differs: from raw
    # requests, accounts that automation screens in are left out of it, and without request
    # timing nothing can screen them (less information, so no stronger evidence).
    raw_excess, agg_excess = checks(raw, "excess-tokens"), checks(agg, "excess-tokens")
    assert raw_excess.keys() == agg_excess.keys()
    assert all(raw_excess[a]["applicable"] == agg_excess[a]["applicable"] for a in raw_excess)
    automation = checks(agg, "automation")
    assert automation and not any(c["applicable"] for c in automation.values())
    assert all("pre-aggregated" in c["summary"] for c in automation.values())


def test_max_expanded_size_takes_sizes_and_refuses_nonsense(
    runner: CliRunner, small_org: Path
) -> None:
    from tokenaudit.cli_support import parse_size as _parse_size

    assert _parse_size("auto") is None
    assert _parse_size("512M") == 512 << 20
    assert _parse_size("2GiB") == 2 << 30
    assert _parse_size("100kb") == 100 << 10
    assert _parse_size("1048576") == 1 << 20
    code, _, err = scan(runner, small_org, "--max-expanded-size", "lots")
    assert code == 2 and "--max-expanded-size" in err


def test_memory_limit_takes_sizes_defaults_to_a_quarter_of_memory_and_refuses_nonsense(
    runner: CliRunner, small_org: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokenaudit import cli_support

    assert cli_support.memory_limit("512MB") == 512 << 20
    assert cli_support.memory_limit("1GB") == 1 << 30
    assert cli_support.memory_limit("1.5G") == 3 << 29
    assert cli_support.memory_limit("2048MiB") == 2 << 30
    monkeypatch.setattr(cli_support, "_available_memory", lambda: 24 << 30)
    assert cli_support.memory_limit("auto") == 4 << 30  # a quarter of 24G, capped at 4G
    monkeypatch.setattr(cli_support, "_available_memory", lambda: 2 << 30)
    assert cli_support.memory_limit("auto") == 512 << 20  # a container's 2G
    for bad in ("lots", "1K", "-1G"):
        code, _, err = scan(runner, small_org, "--memory-limit", bad)
        assert code == 2 and "--memory-limit" in err, (bad, err)


def test_scan_offers_the_expansion_limit(runner: CliRunner) -> None:
    assert "--max-expanded-size" in runner.invoke(app, ["scan", "--help"]).stdout


def test_explain_finds_an_account_by_any_spelling_of_it(
    runner: CliRunner, small_org: Path, csv_report: str
) -> None:
    first = next(csv.DictReader(io.StringIO(csv_report)))["account"]
    result = runner.invoke(app, ["explain", f"  {first.upper()} ", str(small_org)])
    assert result.exit_code == 0, result.stderr
    assert first in result.stdout


def test_save_reference_then_scan_and_explain_with_it(
    runner: CliRunner, small_org: Path, tmp_path: Path
) -> None:
    ref = tmp_path / "reference.json"
    code, _, err = scan(
        runner, small_org, "--format", "csv", "--exit-zero", "--save-reference", str(ref)
    )
    assert code == 0, err
    assert "@acme.example" not in ref.read_text(encoding="utf-8")
    code, out, err = scan(
        runner, small_org, "--format", "csv", "--exit-zero", "--reference", str(ref)
    )
    assert code == 0, err
    assert out.startswith("rank,account")
    account = next(csv.DictReader(io.StringIO(out)))["account"]
    result = runner.invoke(app, ["explain", account, str(small_org), "--reference", str(ref)])
    assert result.exit_code == 0, result.stderr


def test_a_reference_that_cannot_be_used_is_an_input_error(
    runner: CliRunner, small_org: Path, tmp_path: Path
) -> None:
    code, _, err = scan(runner, small_org, "--reference", str(tmp_path / "missing.json"))
    assert code == 66 and err.startswith("tokenaudit: error:") and len(err.splitlines()) == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    code, _, err = scan(runner, small_org, "--reference", str(bad))
    assert code == 65 and len(err.splitlines()) == 1
    # --save-reference is checked like -o, before the run.
    code, _, err = scan(runner, small_org, "--save-reference", str(tmp_path))
    assert code == 73 and "is a directory" in err


def test_every_audit_option_reaches_the_config() -> None:
    from datetime import date

    from tokenaudit.cli_options import AuditOptions, InputOptions
    from tokenaudit.cli_support import build_config

    cfg = build_config(
        InputOptions(
            since="2026-01-05",
            until="2026-02-01",
            tz="Europe/Berlin",
            window="7",
            quota=1e6,
            snapshot_day="Friday",
            week_start="sun",
            change_date="2026-01-19",
            owner="dana",
        ),
        AuditOptions(assume_tz="none", max_bad_rows=3, max_bad_ratio=0.2, strict=True),
    )
    assert (cfg.since, cfg.until, cfg.tz, cfg.window_days) == (
        date(2026, 1, 5),
        date(2026, 2, 1),
        "Europe/Berlin",
        7,
    )
    assert (cfg.quota, cfg.snapshot_day, cfg.week_start, cfg.change_date) == (
        1e6,
        5,
        6,
        date(2026, 1, 19),
    )
    assert (cfg.account, cfg.assume_tz, cfg.max_bad_rows, cfg.max_bad_ratio, cfg.strict) == (
        "dana",
        None,
        3,
        0.2,
        True,
    )
