"""Real inputs, part two: the files people actually have. Cursor's dashboard CSV (both header
layouts), GitHub pull-request lists (REST and GraphQL), and payloads that drifted from the
documented shape (unknown fields, missing sections, numbers as strings, new enum values).

Every expected number is worked out by hand from the fixture rows, which are written out in
the comments; none is recomputed by the code under test."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tokenaudit.loaders import InputFile, exports, load_input
from tokenaudit.loaders.readers import normalise_column
from tokenaudit.schema import Kind

from .conftest import DATA

EXPORTS = DATA / "exports"
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def csv_records(name: str) -> list[tuple[int, dict[str, Any]]]:
    """The records `readers` hands to `exports.convert` for a CSV file: every cell as text,
    column names normalised, numbered by their line in the file."""
    df = pl.read_csv(EXPORTS / name, infer_schema=False)
    df = df.rename({c: normalise_column(c) for c in df.columns})
    return [(line, row) for line, row in enumerate(df.to_dicts(), start=2)]


def cursor(name: str) -> exports.Converted:
    converted = exports.convert(csv_records(name), None)
    assert converted is not None and converted.source == "cursor-usage-csv"
    return converted


def day_totals(rows: list[dict[str, Any]]) -> dict[str, tuple[int, ...]]:
    """(input, output, cache read, cache write, requests) per UTC day of converted rows."""
    days: dict[str, list[int]] = {}
    for row in rows:
        day = days.setdefault(row["timestamp"][:10], [0, 0, 0, 0, 0])
        for i, column in enumerate(TOKENS):
            day[i] += row[column]
        day[4] += row["requests"]
    return {d: tuple(v) for d, v in sorted(days.items())}


# ------------------------------------------------------------------------ Cursor dashboard CSV


def test_both_cursor_header_layouts_are_recognised_raw_or_normalised() -> None:
    older = "Date,Kind,Model,Max Mode,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost"
    newer = "Date,Cloud Agent ID,Automation ID,Kind,Model,Max Mode,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Requests"
    for header in (older, newer):
        raw = header.split(",")
        assert exports.is_csv_export(raw)
        assert exports.is_csv_export([normalise_column(c) for c in raw])
    assert exports.is_csv_export(["starttime", "prompt_tokens", "user"])  # LiteLLM, as before
    assert not exports.is_csv_export(["timestamp", "account", "input_tokens", "output_tokens"])


def test_cursor_older_layout_per_day_totals_and_every_quirk() -> None:
    converted = cursor("cursor_usage_csv_older.csv")
    # Columns: cache write (Input w/ Cache Write), input (w/o), cache read, output | total.
    # 2026-03-03  Included            1200 + 300 + 15000 + 500 = 17000 ✓
    #             Errored, No Charge     0 + 250 +     0 +   0 =   250 ✓ (tokens as reported)
    # 2026-03-02  Aborted, Not Charged 400 + 100 +  2000 +  50 =  2550 ✓ (tokens as reported)
    #             Free                 all blank                       (a request, no tokens)
    #             Included             all "-"                         (a request, no tokens)
    #             Quantum Boost         10 +  20 +    30 +  40 =   100 ✓ (a kind never seen)
    #             Included              10 +  20 +    30 +  40 =   100 ✗ (file says 999)
    assert day_totals(converted.rows) == {
        # (input, output, cache read, cache write, requests)
        "2026-03-02": (100 + 20, 50 + 40, 2000 + 30, 400 + 10, 4),
        "2026-03-03": (300 + 250, 500 + 0, 15000 + 0, 1200 + 0, 2),
    }
    assert converted.rejects == (
        (
            8,
            "token columns do not add up: Input (w/ Cache Write) + Input (w/o Cache Write) "
            "+ Cache Read + Output Tokens = 100, Total Tokens = 999",
        ),
    )
    assert [r["cost_usd"] for r in converted.rows] == [0.05, 0.0, None, None, None, 0.01]
    assert converted.optional == frozenset({"account"})  # personal: --account names it
    assert all("account" not in r for r in converted.rows)
    assert "2 errored or aborted requests counted with their tokens" in converted.note
    assert "2 requests report no tokens" in converted.note
    assert "'Quantum Boost' ×1" in converted.note


def test_cursor_newer_layout_without_cost_and_without_a_final_newline() -> None:
    assert not (EXPORTS / "cursor_usage_csv_newer.csv").read_bytes().endswith(b"\n")
    converted = cursor("cursor_usage_csv_newer.csv")
    # 2026-03-04  Included (Requests "2")    5000 + 1000 + 40000 + 2000 = 48000 ✓
    #             Included (Requests "0.5")     0 +  800 +  1200 +  400 =  2400 ✓ (cloud agent)
    #             Errored (Requests "-")     all blank                          (automation)
    # 2026-03-03  Free (Requests "Free")        0 +  100 +     0 +   20 =   120 ✓
    #             Included                  "abc": rejected, the value named
    assert day_totals(converted.rows) == {
        "2026-03-03": (100, 20, 0, 0, 1),
        "2026-03-04": (1000 + 800, 2000 + 400, 40000 + 1200, 5000 + 0, 3),
    }
    # `Requests` is Cursor's billing unit, not a count: every row is one request.
    assert [r["requests"] for r in converted.rows] == [1, 1, 1, 1]
    assert all(r["cost_usd"] is None for r in converted.rows)
    assert converted.rejects == ((6, "column 'Input (w/ Cache Write)': not a token count 'abc'"),)


def test_cursor_team_export_names_each_row_by_its_user_column() -> None:
    converted = cursor("cursor_usage_csv_team.csv")
    assert [r["account"] for r in converted.rows] == ["ana@shop.example", "ben@shop.example"]
    assert converted.optional == frozenset()  # --account does not override a named user
    assert [sum(r[c] for c in TOKENS) for r in converted.rows] == [110, 1000]
    assert [r["cost_usd"] for r in converted.rows] == [0.0, 0.12]
    assert converted.note == ""  # Included and On-Demand are known kinds


def test_cursor_team_row_without_a_user_is_rejected_for_it() -> None:
    records = csv_records("cursor_usage_csv_team.csv")
    records[0][1]["user"] = ""
    converted = exports.convert(records, None)
    assert converted is not None and converted.rows[0]["account"] is None  # validation rejects


# The readers.py hook (`_export_from_table` gated on `exports.is_csv_export`, and the
# converter's rejects passed on with the unreadable lines) must be in place for these two.
@pytest.mark.parametrize(
    ("name", "used", "rejected_line", "tokens"),
    [
        ("cursor_usage_csv_older.csv", 6, 8, 17250 + 2650),
        ("cursor_usage_csv_newer.csv", 4, 6, 50400 + 120),
    ],
)
def test_cursor_csv_end_to_end_through_the_loader(
    tmp_path: Path, name: str, used: int, rejected_line: int, tokens: int
) -> None:
    loaded = load_input(InputFile(EXPORTS / name, name), tmp_path, account="dev@shop.example")
    assert loaded is not None and loaded.kind is Kind.USAGE
    assert loaded.fmt == "cursor-usage-csv (csv)"
    frame = loaded.frame.collect()
    assert frame["_reject"].null_count() == frame.height == used
    assert set(frame["account"]) == {"dev@shop.example"}
    assert int(frame.select(pl.sum_horizontal(*TOKENS).sum()).item()) == tokens
    assert [line for line, _ in loaded.unreadable] == [rejected_line]


# ------------------------------------------------------------------------ GitHub pull requests


def test_github_rest_pulls_merged_means_merged_at_never_merge_commit_sha(tmp_path: Path) -> None:
    loaded = load_input(InputFile(EXPORTS / "github_rest_pulls.json", "pulls.json"), tmp_path)
    assert loaded is not None and loaded.kind is Kind.COMMITS
    assert loaded.fmt == "github-pulls (json)"
    frame = loaded.frame.collect().sort("pr_id")
    pulls = json.loads((EXPORTS / "github_rest_pulls.json").read_text())
    assert all(p["merge_commit_sha"] for p in pulls)  # set on the open and unmerged ones too
    # #101 open and #102 closed unmerged are not merged work; #103-#106 are.
    assert frame["pr_id"].to_list() == [f"shop/web#{n}" for n in (103, 104, 105, 106)]
    assert "2 pull requests not merged (1 closed, 1 open)" in loaded.note
    by_pr = {r["pr_id"]: r for r in frame.iter_rows(named=True)}
    # #103: its fork is gone (head.repo null); the repository comes from the base.
    assert by_pr["shop/web#103"]["author"] == "ben" and by_pr["shop/web#103"]["_reject"] is None
    # #104: the author's account was deleted (user null): rejected, with the reason.
    assert by_pr["shop/web#104"]["_reject"] == "column 'author': missing required value"
    assert by_pr["shop/web#105"]["author"] == "dependabot[bot]"
    # The list endpoint has no line counts: a change of unknown size, not a trivial one.
    assert by_pr["shop/web#103"]["lines_added"] is None
    assert (by_pr["shop/web#106"]["lines_added"], by_pr["shop/web#106"]["lines_deleted"]) == (
        120,
        30,
    )
    assert by_pr["shop/web#106"]["files_changed"] == 4
    assert "3 merged without line counts (size unknown, still a change)" in loaded.note


def test_a_change_of_unknown_size_is_merged_work_never_trivial(tmp_path: Path) -> None:
    from tokenaudit.config import AuditConfig
    from tokenaudit.panel import merged_work

    loaded = load_input(InputFile(EXPORTS / "github_rest_pulls.json", "pulls.json"), tmp_path)
    assert loaded is not None
    good = loaded.frame.collect().filter(pl.col("_reject").is_null()).drop("_reject")
    credits = merged_work(good, AuditConfig()).credits
    assert credits["counts"].to_list() == [True, True, True]


def test_github_graphql_pull_requests_with_a_null_author_and_a_bot(tmp_path: Path) -> None:
    loaded = load_input(InputFile(EXPORTS / "github_graphql_pulls.json", "gql.json"), tmp_path)
    assert loaded is not None and loaded.fmt == "gh-pr-list (json)"
    frame = loaded.frame.collect().sort("pr_id")
    assert frame["pr_id"].to_list() == ["shop/api#208", "shop/api#209", "shop/api#210"]
    assert frame["author"].to_list() == ["renovate[bot]", None, "ana"]
    assert frame["_reject"].to_list() == [None, "column 'author': missing required value", None]
    assert frame["lines_added"].to_list() == [10, 2, 80]
    assert loaded.note == "1 pull requests not merged"  # #207 is open


# ------------------------------------------------------------------------ drift

JSON_EXPORTS = [
    "anthropic_claude_code_analytics.json",
    "anthropic_usage_report.json",
    "openai_usage_completions.json",
    "cursor_usage_events.json",
    "ccusage_daily.json",
    "gh_pr_list.json",
    "github_rest_pulls.json",
    "github_graphql_pulls.json",
    "gitlab_merge_requests.json",
]
NDJSON_EXPORTS = [
    "claude_code_transcript.jsonl",
    "codex_session.jsonl",
    "copilot_users_1_day.ndjson",
]


def _drift(value: Any) -> Any:
    """The same payload as a newer or sloppier exporter writes it: every whole number as a
    string, and an unknown field (object-valued) in every object."""
    if isinstance(value, dict):
        return {k: _drift(v) for k, v in value.items()} | {"zz_added_later": {"x": 1}}
    if isinstance(value, list):
        return [_drift(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _write_drifted(name: str, tmp_path: Path) -> Path:
    path = tmp_path / name
    text = (EXPORTS / name).read_text()
    if name in NDJSON_EXPORTS:
        lines = []
        for raw in text.splitlines():
            try:
                lines.append(json.dumps(_drift(json.loads(raw))))
            except json.JSONDecodeError:
                lines.append(raw)  # the fixtures' truncated lines stay truncated
        path.write_text("\n".join(lines) + "\n")
    else:
        path.write_text(json.dumps(_drift(json.loads(text))))
    return path


def _summary(path: Path, tmp_path: Path) -> tuple[str, int, int, list[Any]]:
    loaded = load_input(InputFile(path, path.name), tmp_path, account="dev")
    assert loaded is not None
    frame = loaded.frame.collect()
    if loaded.kind is Kind.USAGE:
        totals = [
            int(frame.select(pl.col(c).filter(pl.col("_reject").is_null()).sum()).item())
            for c in TOKENS
        ]
    else:
        totals = sorted(frame["pr_id"].drop_nulls().to_list())
    return loaded.fmt.split(" ")[0], frame.height, frame["_reject"].null_count(), totals


@pytest.mark.parametrize("name", JSON_EXPORTS + NDJSON_EXPORTS)
def test_numbers_as_strings_and_unknown_fields_change_nothing(tmp_path: Path, name: str) -> None:
    original = _summary(EXPORTS / name, tmp_path)
    drifted = _summary(_write_drifted(name, tmp_path), tmp_path)
    assert drifted == original


def test_a_token_count_that_is_not_a_number_is_rejected_not_read_as_zero(tmp_path: Path) -> None:
    doc = json.loads((EXPORTS / "anthropic_usage_report.json").read_text())
    doc["data"][0]["results"][0]["cache_creation"]["ephemeral_1h_input_tokens"] = "n/a"
    path = tmp_path / "u.json"
    path.write_text(json.dumps(doc))
    loaded = load_input(InputFile(path, "u.json"), tmp_path)
    assert loaded is not None
    reasons = loaded.frame.collect()["_reject"].drop_nulls().to_list()
    assert reasons == ["column 'cache_write_tokens': not a whole number 'n/a'"]


def test_openai_newest_results_split_cache_writes_out_of_input(tmp_path: Path) -> None:
    doc = {
        "object": "page",
        "data": [
            {
                "object": "bucket",
                "start_time": 1772409600,
                "end_time": 1772496000,
                "results": [
                    {
                        "object": "organization.usage.completions.result",
                        # includes 400 cached, 150 written for 30 minutes and 50 for 12 hours
                        "input_tokens": 1000,
                        "input_cached_tokens": 400,
                        "input_cache_write_tokens": 150,
                        "input_cache_write_12h_tokens": 50,
                        "input_uncached_tokens": 400,
                        "output_tokens": 70,
                        "num_model_requests": 5,
                        "user_id": "user-abc",
                        "api_source": "agents_api",
                    }
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    }
    path = tmp_path / "o.json"
    path.write_text(json.dumps(doc))
    loaded = load_input(InputFile(path, "o.json"), tmp_path)
    assert loaded is not None
    row = loaded.frame.collect().row(0, named=True)
    assert (row["input_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]) == (
        400,
        400,
        200,
    )
    assert row["input_tokens"] == doc["data"][0]["results"][0]["input_uncached_tokens"]


def test_optional_sections_missing_are_counted_not_fatal(tmp_path: Path) -> None:
    doc = json.loads((EXPORTS / "anthropic_claude_code_analytics.json").read_text())
    del doc["data"][0]["model_breakdown"]
    doc["data"][1]["actor"] = {"type": "workload_actor", "api_key_name": "ci-deploy"}  # new type
    for item in doc["data"]:
        item.pop("tool_actions", None)
        item.pop("core_metrics", None)
    path = tmp_path / "a.json"
    path.write_text(json.dumps(doc))
    loaded = load_input(InputFile(path, "a.json"), tmp_path)
    assert (
        loaded is not None and loaded.note == "1 actor-days without a model breakdown (no tokens)"
    )
    frame = loaded.frame.collect()
    assert frame["_reject"].null_count() == frame.height
    assert "ci-deploy" in frame["account"].to_list()

    events = json.loads((EXPORTS / "cursor_usage_events.json").read_text())
    events["usageEvents"][0]["kind"] = "USAGE_EVENT_KIND_SOMETHING_NEW"
    del events["pagination"]
    path = tmp_path / "e.json"
    path.write_text(json.dumps(events))
    loaded = load_input(InputFile(path, "e.json"), tmp_path)
    assert loaded is not None and loaded.note == "2 events without token counts (request-priced)"
    assert loaded.frame.collect()["_reject"].null_count() == 3


def test_a_claude_line_type_never_seen_is_ignored_even_with_usage(tmp_path: Path) -> None:
    lines = [
        {"type": "summary", "summary": "s", "leafUuid": "u"},
        {
            "type": "brand-new",
            "sessionId": "s1",
            "timestamp": "2026-03-02T10:00:00Z",
            "message": {"role": "assistant", "usage": {"input_tokens": 5, "output_tokens": 5}},
        },
        {
            "type": "assistant",
            "sessionId": "s1",
            "timestamp": "2026-03-02T10:00:01Z",
            "requestId": "r1",
            "message": {
                "id": "m1",
                "role": "assistant",
                "model": "claude-x",
                "usage": {
                    "input_tokens": "3",
                    "output_tokens": "4",
                    "cache_read_input_tokens": "10",
                    "iterations": [],
                    "speed": "fast",
                },
            },
        },
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    loaded = load_input(InputFile(path, "t.jsonl"), tmp_path, account="dev")
    assert loaded is not None
    frame = loaded.frame.collect()
    assert frame.select(TOKENS).rows() == [(3, 4, 10, 0)] and frame["_reject"].to_list() == [None]


@pytest.mark.parametrize(
    ("doc", "why"),
    [
        ({"agentType": "Explore", "description": "d"}, "subagent's description"),
        ({"permissions": {"allow": []}, "model": "opus"}, "Claude Code settings"),
        ({"version": 2, "dailyActivity": [], "dailyModelTokens": []}, "/stats cache"),
        ({"pid": 1, "ideName": "VS Code", "transport": "ws"}, "keys: ideName, pid, transport"),
    ],
)
def test_configuration_files_are_refused_with_what_they_are(
    tmp_path: Path, doc: dict[str, Any], why: str
) -> None:
    from tokenaudit.errors import RefusedExport

    path = tmp_path / "x.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(RefusedExport, match=why):
        load_input(InputFile(path, "x.json"), tmp_path)
    # inside a scanned directory the same file is skipped with that reason
    from tokenaudit.audit import load_all

    loaded, skipped = load_all(
        [InputFile(path, "x.json", in_directory=True, root=tmp_path)], tmp_path
    )
    assert loaded == [] and len(skipped) == 1 and why.split(" (")[0].split(":")[0] in skipped[0]


def test_codex_prompt_history_is_not_usage(tmp_path: Path) -> None:
    from tokenaudit.errors import RefusedExport

    path = tmp_path / "history.jsonl"
    path.write_text(
        json.dumps({"session_id": "a", "ts": 1772409600, "text": "fix it"})
        + "\n"
        + json.dumps({"session_id": "a", "ts": 1772409700, "text": "now test it"})
        + "\n"
    )
    with pytest.raises(RefusedExport, match="Codex prompt history"):
        load_input(InputFile(path, "history.jsonl"), tmp_path)


def test_inputs_are_not_mutated_by_conversion() -> None:
    records = csv_records("cursor_usage_csv_older.csv")
    before = copy.deepcopy(records)
    exports.convert(records, None)
    assert records == before


# ------------------------------------------------------------------------ inspect on a whole home


def _inspect(*args: str) -> Any:
    from typer.testing import CliRunner

    from tokenaudit.cli import app

    from .conftest import CLI_ENV

    return CliRunner(env=CLI_ENV).invoke(app, ["inspect", *args, "--format", "json"])


def test_inspect_of_a_whole_claude_home_lists_every_file_once_with_what_or_why() -> None:
    tree = DATA / "claude_tree_2026"
    result = _inspect(str(tree), "--account", "dev")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    read = {Path(f["name"]).relative_to(tree).as_posix(): f["detected_as"] for f in doc["files"]}
    skipped = {Path(s["name"]).relative_to(tree).as_posix(): s for s in doc["skipped"]}
    on_disk = {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()}
    assert set(read) | set(skipped) == on_disk and not set(read) & set(skipped)
    assert all(d.startswith("claude-code-transcript") for d in read.values())
    assert len(read) == 5
    assert len(skipped) == 8
    assert all(s["reason"] and not s["stops_scan"] for s in skipped.values())


def test_inspect_lists_a_file_that_would_stop_a_scan_goes_on_and_exits_as_scan_would(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "good.csv").write_text("timestamp,account,input_tokens\n2026-03-02T10:00:00Z,ana,5\n")
    (home / "cut.json").write_text('[{"timestamp": "2026-03-02T10:00:00Z", "acc')
    result = _inspect(str(home))
    assert result.exit_code == 65, result.stderr
    assert "cut.json" in result.stderr and "scan would stop on this input (1 such" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    doc = json.loads(result.stdout)
    assert [Path(f["name"]).name for f in doc["files"]] == ["good.csv"]
    (cut,) = doc["skipped"]
    assert Path(cut["name"]).name == "cut.json" and cut["stops_scan"] is True
    assert cut["reason"].startswith("line 1: not valid JSON")


def test_inspect_table_lists_scan_stoppers_first_and_sums_up_long_runs_of_one_reason() -> None:
    from rich.console import Console

    from tokenaudit.inspection import Coverage, Inspection, SkippedFile
    from tokenaudit.report.inspect_view import render_inspection

    todos = [
        SkippedFile(f"todos/{i}.json", "a Claude Code to-do list, not a log") for i in range(8)
    ]
    broken = SkippedFile("projects/x/cut.json", "line 1: not valid JSON", stops_scan=True)
    inspection = Inspection([], [*todos, broken], Coverage(0, 0, 0, [], []))
    console = Console(record=True, width=200, color_system=None)
    render_inspection(inspection, console)
    lines = console.export_text().splitlines()
    start = lines.index("Not read: 9 file(s)")
    assert lines[start + 1] == "  projects/x/cut.json: scan stops here: line 1: not valid JSON"
    assert lines[start + 2 : start + 7] == [
        f"  todos/{i}.json: a Claude Code to-do list, not a log" for i in range(5)
    ]
    assert lines[start + 7] == "  … 3 more: a Claude Code to-do list, not a log"
