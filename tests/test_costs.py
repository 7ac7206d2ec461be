"""Cost that is right: rows without a logged cost priced where the panel is built, unknown
models named (never priced at zero), 1-hour cache writes at their own rate from a Claude Code
transcript to the report, `--prices` and `--measure cost`."""

from __future__ import annotations

import json
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tokenaudit.cli import app
from tokenaudit.config import AuditConfig
from tokenaudit.identities import IdentityMap
from tokenaudit.ingest import UsagePanel, build_usage_panel
from tokenaudit.loaders import InputFile, load_input
from tokenaudit.model import UNPRICED_SCHEMA as REPORT_UNPRICED_SCHEMA
from tokenaudit.pricing import UNPRICED_SCHEMA, load_prices
from tokenaudit.schema import Kind

from .conftest import CLI_ENV

HEADER = "timestamp,account,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,model,cost_usd,request_id\n"


def _panel(path: Path, tmp_path: Path, cfg: AuditConfig, buckets: int = 1) -> UsagePanel:
    loaded = load_input(InputFile(path, path.name, Kind.USAGE), tmp_path)
    assert loaded is not None
    workdir = Path(tempfile.mkdtemp(dir=tmp_path))
    return build_usage_panel([loaded.frame], IdentityMap(), cfg, workdir, 0, buckets=buckets)


@pytest.mark.parametrize("buckets", [1, 3])
def test_the_panel_prices_only_rows_without_a_cost(tmp_path: Path, buckets: int) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text(
        HEADER
        # A logged cost is kept, whatever the table says.
        + "2026-03-02T10:00:00Z,ana,1000000,0,0,0,claude-sonnet-4-5,9.5,r1\n"
        # Priced: Sonnet 4.5 input, $3 per million.
        + "2026-03-02T11:00:00Z,ana,1000000,0,0,0,claude-sonnet-4-5,,r2\n"
        # Priced: Haiku 4.5 output, $5 per million.
        + "2026-03-03T11:00:00Z,bo,0,2000000,0,0,claude-haiku-4-5,,r3\n"
        # Unknown: a null cost, counted by model, never zero.
        + "2026-03-03T12:00:00Z,bo,500,500,0,0,mystery-model-9,,r4\n"
        + "2026-03-04T12:00:00Z,bo,100,0,0,0,mystery-model-9,,r5\n"
        # A duplicate of r5: counted once, here too.
        + "2026-03-04T12:00:00Z,bo,100,0,0,0,mystery-model-9,,r5\n"
        # Rejected rows are not counted as unpriced.
        + "not-a-time,bo,100,0,0,0,mystery-model-9,,r6\n"
    )
    built = _panel(usage, tmp_path, AuditConfig(), buckets)
    days = {
        (a, d.day): (c, h)
        for a, d, c, h in built.days.select("account", "day", "cost_usd", "has_cost").iter_rows()
    }
    assert days[("ana", 2)] == (pytest.approx(9.5 + 3.0), True)
    assert days[("bo", 3)] == (pytest.approx(10.0), True)  # the unknown row adds nothing
    assert days[("bo", 4)] == (0.0, False)
    assert built.unpriced.schema == UNPRICED_SCHEMA == REPORT_UNPRICED_SCHEMA
    assert built.unpriced.rows() == [("mystery-model-9", 2, 1100)]
    assert built.uncosted.rows() == [("bo", date(2026, 3, 3)), ("bo", date(2026, 3, 4))]


def _org(
    tmp_path: Path,
    models: dict[str, tuple[str, float]],
    days: int = 35,
    seed: int = 3,
    cost: bool = False,
) -> Path:
    """Usage (one request a day, `models[account]` = (model, token factor)) and commits (one
    merged change a day each) for a cohort of honest Sonnet users plus `models`."""
    rng = np.random.default_rng(seed)
    start = date(2026, 3, 2)
    usage = [HEADER]
    commits = ["merged_at,author,lines_added,lines_deleted,sha\n"]
    people = {f"p{i:02d}": ("claude-sonnet-4-5", 1.0) for i in range(14)} | models
    n = 0
    for account, (model, factor) in people.items():
        level = float(rng.lognormal(0.0, 0.25))
        for d in range(days):
            day = start + timedelta(days=d)
            tokens = int(1_000_000 * factor * level * float(rng.lognormal(0.0, 0.3)))
            n += 1
            logged = f"{tokens * 3 / 1e6:.4f}" if cost else ""
            usage.append(f"{day}T10:00:00Z,{account},{tokens},0,0,0,{model},{logged},r{n}\n")
            commits.append(f"{day}T16:00:00Z,{account},40,5,{n:040x}\n")
    (tmp_path / "usage.csv").write_text("".join(usage))
    (tmp_path / "commits.csv").write_text("".join(commits))
    return tmp_path


def _scan(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    runner = CliRunner(env=CLI_ENV)
    out = runner.invoke(
        app,
        [
            "scan",
            str(tmp_path / "usage.csv"),
            "--commits",
            str(tmp_path / "commits.csv"),
            "-f",
            "json",
            "--exit-zero",
            "--all",
            *args,
        ],
    )
    return out.exit_code, out.stdout, out.stderr


def _excess(report: str) -> dict[str, float]:
    """Each account's excess-tokens p-value."""
    doc = json.loads(report)
    return {
        a["account"]: c["p_value"]
        for a in doc["accounts"]
        for c in a.get("checks", [])
        if c["id"] == "excess-tokens" and c.get("p_value") is not None
    }


def test_measure_cost_changes_which_account_is_excessive_and_tokens_stay_tokens(
    tmp_path: Path,
) -> None:
    # "heavy" uses five times the cohort's tokens on Haiku 3 ($0.25 input: a twelfth of Sonnet,
    # so under half the cohort's cost); "opus" uses the cohort's tokens on Opus 4.1 ($15: five
    # times Sonnet's cost).
    org = _org(tmp_path, {"heavy": ("claude-3-haiku", 5.0), "opus": ("claude-opus-4-1", 1.0)})
    code, by_tokens, _ = _scan(org)
    assert code == 0, by_tokens
    code, by_cost, err = _scan(org, "--measure", "cost")
    assert code == 0, err
    p_tokens, p_cost = _excess(by_tokens), _excess(by_cost)
    # By tokens, "heavy" is the cohort's most excessive account and "opus" is unremarkable; by
    # cost, the other way round.
    assert min(p_tokens, key=p_tokens.__getitem__) == "heavy"
    assert p_tokens["heavy"] < 0.05 and p_tokens["opus"] > 0.3
    assert min(p_cost, key=p_cost.__getitem__) == "opus"
    assert p_cost["opus"] < 0.05 and p_cost["heavy"] > 0.3
    tokens = {a["account"]: a["tokens"] for a in json.loads(by_tokens)["accounts"]}
    costs = {a["account"]: a for a in json.loads(by_cost)["accounts"]}
    for account, row in costs.items():
        assert row["tokens"] == tokens[account]  # the report's tokens are tokens either way
    assert costs["opus"]["cost_usd"] == pytest.approx(costs["opus"]["tokens"] * 15 / 1e6)


def test_measure_cost_leaves_accounts_with_unknown_cost_untested(tmp_path: Path) -> None:
    org = _org(tmp_path, {"lab": ("in-house-7b", 1.0)})
    code, out, err = _scan(org, "--measure", "cost")
    assert code == 0, err
    lab = next(a for a in json.loads(out)["accounts"] if a["account"] == "lab")
    assert lab["status"] == "insufficient_data"
    assert "cost unknown on 35 usage days" in lab["reasons"]
    assert "in-house-7b (35 rows," in err and "not zero" in err
    # With a price for it, the account is tested like the others, and nothing is unpriced.
    prices = tmp_path / "prices.toml"
    prices.write_text(
        '[models."in-house-7b"]\ninput = 3\noutput = 15\ncache_read = 0.3\n'
        "cache_write_5m = 3.75\ncache_write_1h = 6\n"
    )
    code, out, err = _scan(org, "--measure", "cost", "--prices", str(prices))
    assert code == 0, err
    lab = next(a for a in json.loads(out)["accounts"] if a["account"] == "lab")
    assert lab["status"] != "insufficient_data" and "no price" not in err


def test_the_cost_gate_replaces_the_token_gate(tmp_path: Path) -> None:
    # 35 days of 20k Haiku 3 tokens: 700k tokens (over the token gate) for $0.18 (under $1).
    org = _org(tmp_path, {"tiny": ("claude-3-haiku", 0.02)})
    tiny = {}
    for measure in ("tokens", "cost"):
        code, out, err = _scan(org, "--measure", measure)
        assert code == 0, err
        tiny[measure] = next(a for a in json.loads(out)["accounts"] if a["account"] == "tiny")
    assert "light usage" not in (tiny["tokens"]["reasons"] or "")
    assert tiny["cost"]["status"] == "insufficient_data"
    assert (
        "light usage: $0." in tiny["cost"]["reasons"] and "(needs $1.00)" in tiny["cost"]["reasons"]
    )


def test_unknown_models_are_named_on_stderr_by_default(tmp_path: Path) -> None:
    org = _org(tmp_path, {"lab": ("in-house-7b", 1.0)})
    code, out, err = _scan(org)
    assert code == 0
    assert "warning: 35 usage rows of 1 model(s) have no cost and no price" in err
    assert "in-house-7b (35 rows, " in err and "prices as of 2026-11-30" in err
    lab = next(a for a in json.loads(out)["accounts"] if a["account"] == "lab")
    assert lab["cost_usd"] is None  # unknown, not $0


def test_logged_costs_need_no_price_and_give_no_warning(tmp_path: Path) -> None:
    org = _org(tmp_path, {"lab": ("in-house-7b", 1.0)}, cost=True)
    code, _, err = _scan(org, "--measure", "cost")
    assert code == 0 and "no price" not in err


def test_prices_file_errors_and_quota_under_cost(tmp_path: Path) -> None:
    org = _org(tmp_path, {}, days=10)
    code, _, err = _scan(org, "--prices", str(tmp_path / "missing.toml"))
    assert code == 66 and "missing.toml" in err
    bad = tmp_path / "bad.toml"
    bad.write_text('[models."x"]\ninput = "cheap"\n')
    code, _, err = _scan(org, "--prices", str(bad))
    assert code == 65 and "bad.toml" in err
    code, _, err = _scan(org, "--measure", "cost", "--quota", "1000000")
    assert code == 2 and "--quota" in err
    code, _, err = _scan(org, "--measure", "dollars")
    assert code == 2


TRANSCRIPT_LINE = {
    "type": "assistant",
    "timestamp": "2026-03-02T10:00:00.000Z",
    "sessionId": "s1",
    "requestId": "req_1",
    "message": {
        "id": "msg_1",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "usage": {
            "input_tokens": 1000,
            "output_tokens": 100,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 3000,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 1000,
                "ephemeral_1h_input_tokens": 2000,
            },
        },
    },
}


def test_one_hour_cache_writes_are_priced_at_their_rate_from_a_transcript(tmp_path: Path) -> None:
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "session.jsonl").write_text(json.dumps(TRANSCRIPT_LINE) + "\n")
    (tmp_path / "commits.csv").write_text(
        "merged_at,author,lines_added,lines_deleted,sha\n2026-03-02T16:00:00Z,alice,40,5,abc\n"
    )
    loaded = load_input(
        InputFile(folder / "session.jsonl", "session.jsonl", Kind.USAGE, root=folder), tmp_path
    )
    assert loaded is not None
    row = loaded.frame.collect().row(0, named=True)
    assert (row["cache_write_tokens"], row["cache_write_1h_tokens"]) == (3000, 2000)
    runner = CliRunner(env=CLI_ENV)
    out = runner.invoke(
        app,
        [
            "scan",
            str(folder),
            "--commits",
            str(tmp_path / "commits.csv"),
            "-f",
            "json",
            "--exit-zero",
        ],
    )
    assert out.exit_code == 0, out.stderr
    [alice] = json.loads(out.stdout)["accounts"]
    # Sonnet 4.5: 1000·$3 + 100·$15 + 1000·$3.75 (5-minute) + 2000·$6 (1-hour), per million.
    assert alice["cost_usd"] == pytest.approx((3000 + 1500 + 3750 + 12000) / 1e6)


def test_the_1h_column_has_canonical_spellings(tmp_path: Path) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "timestamp,account,input_tokens,cache_creation_input_tokens,ephemeral_1h_input_tokens,model\n"
        "2026-03-02T10:00:00Z,ana,0,1000000,1000000,claude-sonnet-4-5\n"
    )
    built = _panel(usage, tmp_path, AuditConfig())
    assert built.days["cost_usd"].item() == pytest.approx(6.0)
    priced = _panel(usage, tmp_path, AuditConfig(prices=load_prices()))
    assert priced.days["cost_usd"].item() == pytest.approx(6.0)
