"""Real exports, recognised from content and mapped with their token semantics kept right.
The example payloads live under tests/data/exports, one file per case."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

import polars as pl
import pytest

from tokenaudit.errors import DataError
from tokenaudit.loaders import InputFile, load_input
from tokenaudit.loaders.git import read_repository
from tokenaudit.schema import Kind

from .conftest import DATA

EXPORTS = DATA / "exports"


def load(name: str, tmp_path: Path, **kwargs: str) -> tuple[str, Kind, pl.DataFrame]:
    path = EXPORTS / name
    loaded = load_input(InputFile(path, name), tmp_path, **kwargs)  # type: ignore[arg-type]
    assert loaded is not None
    frame = loaded.frame.collect()
    assert frame["_reject"].null_count() == frame.height, frame["_reject"].drop_nulls().to_list()
    return loaded.fmt, loaded.kind, frame


def test_claude_code_transcript_counts_each_streamed_message_once_by_its_fullest_line(
    tmp_path: Path,
) -> None:
    fmt, kind, frame = load("claude_code_transcript.jsonl", tmp_path, account="dana@acme.example")
    assert fmt.startswith("claude-code-transcript") and kind is Kind.USAGE
    assert frame["request_id"].n_unique() == frame.height
    assert set(frame["account"]) == {"dana@acme.example"}
    lines = []
    for text in (EXPORTS / "claude_code_transcript.jsonl").read_text().splitlines():
        # The fixture has a truncated line; the loader reports it as unreadable.
        with contextlib.suppress(json.JSONDecodeError):
            lines.append(json.loads(text))
    outputs: dict[str, int] = {}
    for line in lines:
        usage = (line.get("message") or {}).get("usage") or {}
        if "output_tokens" in usage and line["message"].get("model") != "<synthetic>":
            key = f"{line['message'].get('id', '')}:{line.get('requestId', '')}"
            outputs[key] = max(outputs.get(key, 0), usage["output_tokens"])
    assert frame["output_tokens"].sum() == sum(outputs.values())
    loaded = load_input(
        InputFile(EXPORTS / "claude_code_transcript.jsonl", "t"), tmp_path, account="d"
    )
    assert loaded is not None and [reason for _, reason in loaded.unreadable] == [
        "not valid JSON (Invalid control character at)"
    ]


def test_transcripts_without_an_account_need_one(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="--account"):
        load_input(InputFile(EXPORTS / "claude_code_transcript.jsonl", "t.jsonl"), tmp_path)
    loaded = load_input(
        InputFile(
            EXPORTS / "claude_code_transcript.jsonl",
            "t.jsonl",
            in_directory=True,
            root=Path("/logs/dana"),
        ),
        tmp_path,
    )
    assert loaded is not None and set(loaded.frame.collect()["account"]) == {"dana"}


def test_anthropic_claude_code_analytics_is_per_model_with_cents_as_dollars(tmp_path: Path) -> None:
    _, _, frame = load("anthropic_claude_code_analytics.json", tmp_path)
    doc = json.loads((EXPORTS / "anthropic_claude_code_analytics.json").read_text())
    first = doc["data"][0]["model_breakdown"][0]
    row = frame.row(0, named=True)
    assert row["cache_read_tokens"] == first["tokens"]["cache_read"]
    assert row["cost_usd"] == pytest.approx(first["estimated_cost"]["amount"] / 100)
    assert (frame["source"] == "anthropic-claude-code-analytics").all()


def test_openai_input_tokens_are_split_into_uncached_and_cached(tmp_path: Path) -> None:
    _, _, frame = load("openai_usage_completions.json", tmp_path)
    row = frame.row(0, named=True)
    assert row["input_tokens"] == 41822310 - 39006551
    assert row["cache_read_tokens"] == 39006551
    assert row["requests"] == 3120
    assert str(row["timestamp"]).startswith("2025-06-04")


def test_anthropic_usage_report_adds_both_cache_creation_windows(tmp_path: Path) -> None:
    _, _, frame = load("anthropic_usage_report.json", tmp_path)
    assert frame.row(0, named=True)["cache_write_tokens"] == 2101877
    assert frame.row(0, named=True)["account"].startswith("user_")


def test_organisation_user_lists_are_identities(tmp_path: Path) -> None:
    _, kind, frame = load("anthropic_org_users.json", tmp_path)
    assert kind is Kind.IDENTITIES
    assert frame.row(0, named=True)["alias"].startswith("user_")


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("anthropic_cost_report.json", "no per-user dimension"),
        ("cursor_daily_usage.json", "no tokens"),
    ],
)
def test_exports_without_per_person_tokens_are_refused_with_the_reason(
    tmp_path: Path, name: str, needle: str
) -> None:
    with pytest.raises(DataError, match=needle):
        load_input(InputFile(EXPORTS / name, name), tmp_path)


def test_litellm_cache_hits_are_not_usage_and_times_are_utc(tmp_path: Path) -> None:
    loaded = load_input(InputFile(EXPORTS / "litellm_spendlogs.csv", "s.csv"), tmp_path)
    assert loaded is not None and "cache-hit" in loaded.note
    frame = loaded.frame.collect()
    assert frame["_reject"].null_count() == frame.height
    assert frame.row(0, named=True)["account"] == "dana.kowalski@acme.example"


def test_cursor_usage_events_read_epoch_millisecond_strings(tmp_path: Path) -> None:
    _, _, frame = load("cursor_usage_events.json", tmp_path)
    assert frame["timestamp"].dt.year().to_list() == [2025] * frame.height
    assert frame.row(0, named=True)["cost_usd"] == pytest.approx(2.0573)


def test_gh_pr_list_keeps_merged_pull_requests_only(tmp_path: Path) -> None:
    loaded = load_input(InputFile(EXPORTS / "gh_pr_list.json", "prs.json"), tmp_path)
    assert loaded is not None and loaded.kind is Kind.COMMITS and "not merged" in loaded.note
    frame = loaded.frame.collect()
    prs = json.loads((EXPORTS / "gh_pr_list.json").read_text())
    assert frame.height == sum(1 for p in prs if p.get("mergedAt"))


def test_gitlab_merge_requests_count_as_changes_of_unknown_size(tmp_path: Path) -> None:
    loaded = load_input(InputFile(EXPORTS / "gitlab_merge_requests.json", "mrs.json"), tmp_path)
    assert loaded is not None
    frame = loaded.frame.collect()
    assert frame["_reject"].null_count() == frame.height
    assert frame["lines_added"].null_count() == frame.height


def git(repo: Path, *args: str, **env: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, env={**os.environ, **env}
    )


def test_git_repository_first_parent_history_with_co_authors_mailmap_and_exclusions(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    who = {"GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text("".join(f"line {i}\n" for i in range(10)))
    (repo / "poetry.lock").write_text("x\n" * 500)
    (repo / "logo.png").write_bytes(b"\x89PNG\x00\x01")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "feat: start", "--author", "Dana <DANA@acme.example>", **who)
    (repo / "app.py").write_text("".join(f"line {i}\n" for i in range(20)))
    git(
        repo,
        "commit",
        "-q",
        "-am",
        "feat: more\n\nCo-authored-by: Eli <eli@acme.example>\nCo-authored-by: Claude <noreply@anthropic.com>",
        "--author",
        "Dana Personal <dana@mail.example>",
        **who,
    )
    git(repo, "checkout", "-q", "-b", "topic")
    (repo / "lib.py").write_text("a\nb\nc\nd\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "feat: lib", "--author", "Eli <eli@acme.example>", **who)
    git(repo, "checkout", "-q", "main")
    git(
        repo,
        "merge",
        "-q",
        "--no-ff",
        "topic",
        "-m",
        "Merge pull request #1",
        **who,
        GIT_AUTHOR_NAME="Eli",
        GIT_AUTHOR_EMAIL="eli@acme.example",
    )
    (repo / ".mailmap").write_text("Dana <dana@acme.example> Dana Personal <dana@mail.example>\n")

    frame = read_repository(repo, "main")
    count = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--first-parent", "--count", "main"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert frame["sha"].n_unique() == int(count.stdout)  # every first-parent change, and only those
    by_message = {m: g for (m,), g in frame.group_by("message")}
    start = by_message["feat: start"]
    assert start["lines_added"].to_list() == ["10"]  # lock file and binary excluded
    more = by_message["feat: more"].sort("author")
    assert more["author"].to_list() == [
        "dana@acme.example",
        "eli@acme.example",
    ]  # mailmap; no AI credit
    assert sorted(int(x) for x in more["lines_added"]) == [5, 5]
    merge = by_message["Merge pull request #1"]
    assert merge["author"].to_list() == ["eli@acme.example"] and merge["lines_added"].to_list() == [
        "4"
    ]


def test_codex_cumulative_counters_become_per_request_amounts(tmp_path: Path) -> None:
    _, _, frame = load("codex_session.jsonl", tmp_path, account="jun")
    # The last cumulative total in the file is input 21877 (17920 cached) and output 1502.
    assert frame["input_tokens"].sum() + frame["cache_read_tokens"].sum() == 21877
    assert frame["cache_read_tokens"].sum() == 17920
    assert frame["output_tokens"].sum() == 1502


def test_copilot_report_uses_cli_tokens_only_and_the_envelope_is_refused(tmp_path: Path) -> None:
    loaded = load_input(InputFile(EXPORTS / "copilot_users_1_day.ndjson", "c.ndjson"), tmp_path)
    assert loaded is not None and "without CLI token data" in loaded.note
    frame = loaded.frame.collect()
    assert frame["account"].to_list() == ["dkowalski"] and frame["input_tokens"].to_list() == [
        51220340
    ]
    with pytest.raises(DataError, match="envelope"):
        load_input(InputFile(EXPORTS / "copilot_users_1_day_envelope.json", "e.json"), tmp_path)


def test_inspect_names_every_file_of_a_mixed_directory(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tokenaudit.cli import app

    result = CliRunner().invoke(
        app, ["inspect", str(EXPORTS), "--account", "jun", "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    detected = {Path(f["name"]).name: f["detected_as"].split(" ")[0] for f in doc["files"]}
    assert detected == {
        "anthropic_claude_code_analytics.json": "anthropic-claude-code-analytics",
        "anthropic_org_users.json": "org-users",
        "anthropic_usage_report.json": "anthropic-usage-report",
        "ccusage_daily.json": "ccusage-daily",
        "claude_code_transcript.jsonl": "claude-code-transcript",
        "codex_session.jsonl": "codex-session",
        "copilot_users_1_day.ndjson": "copilot-cli",
        "cursor_usage_csv_newer.csv": "cursor-usage-csv",
        "cursor_usage_csv_older.csv": "cursor-usage-csv",
        "cursor_usage_csv_team.csv": "cursor-usage-csv",
        "cursor_usage_events.json": "cursor-usage-events",
        "gh_pr_list.json": "gh-pr-list",
        "github_graphql_pulls.json": "gh-pr-list",
        "github_rest_pulls.json": "github-pulls",
        "gitlab_merge_requests.json": "gitlab-merge-requests",
        "litellm_spendlogs.csv": "litellm-spend-logs",
        "openai_org_users.json": "org-users",
        "openai_usage_completions.json": "openai-usage",
    }
    assert [Path(s["name"]).name for s in doc["skipped"]] == [
        "anthropic_cost_report.json",
        "copilot_users_1_day_envelope.json",
        "cursor_daily_usage.json",
    ]
    assert all(s["reason"] and not s["stops_scan"] for s in doc["skipped"])
    for f in doc["files"]:
        assert f["rows"] == f["used"] + f["rejected"]
    coverage = doc["identity_coverage"]
    assert coverage["commits_without_usage"] and coverage["usage_without_commits"]


JSON_EXPORTS = [
    "anthropic_claude_code_analytics.json",
    "anthropic_usage_report.json",
    "openai_usage_completions.json",
    "cursor_usage_events.json",
    "gh_pr_list.json",
    "gitlab_merge_requests.json",
]
NDJSON_EXPORTS = [
    "claude_code_transcript.jsonl",
    "codex_session.jsonl",
    "copilot_users_1_day.ndjson",
]


def _drop_first(value: object, keys: set[str]) -> bool:
    """Remove the first occurrence of any of `keys` from a nested document (in place)."""
    if isinstance(value, dict):
        for key in list(value):
            if key in keys:
                del value[key]
                return True
        return any(_drop_first(v, keys) for v in value.values())
    if isinstance(value, list):
        return any(_drop_first(v, keys) for v in value)
    return False


FIELDS = {
    "output_tokens",
    "outputTokens",
    "output",
    "additions",
    "tokenUsage",
    "merged_at",
    "mergedAt",
}


@pytest.mark.parametrize("name", JSON_EXPORTS)
def test_a_field_missing_from_one_record_is_rejected_or_defaulted_never_a_crash(
    tmp_path: Path, name: str
) -> None:
    doc = json.loads((EXPORTS / name).read_text())
    assert _drop_first(doc, FIELDS)
    _drop_first(doc, {"model"})
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    loaded = load_input(InputFile(path, name), tmp_path, account="x")
    assert loaded is not None
    assert loaded.fmt.split(" ")[0] != "json"  # still recognised as its export
    loaded.frame.collect()


@pytest.mark.parametrize("name", JSON_EXPORTS)
def test_a_json_export_cut_off_halfway_is_a_data_error_naming_the_line(
    tmp_path: Path, name: str
) -> None:
    text = (EXPORTS / name).read_text()
    path = tmp_path / name
    path.write_text(text[: len(text) // 2])
    with pytest.raises(DataError, match=r":\d+: not valid JSON"):
        load_input(InputFile(path, name), tmp_path)


@pytest.mark.parametrize("name", NDJSON_EXPORTS)
def test_a_truncated_last_line_is_reported_and_the_rest_is_read(tmp_path: Path, name: str) -> None:
    lines = (EXPORTS / name).read_text().splitlines()
    lines = [line for line in lines if line.strip()]
    path = tmp_path / name
    path.write_text("\n".join([*lines, lines[-1][: len(lines[-1]) // 2]]) + "\n")
    loaded = load_input(InputFile(path, name), tmp_path, account="x")
    assert loaded is not None
    assert [line for line, _ in loaded.unreadable][-1] == len(lines) + 1
    assert loaded.frame.collect().height >= 1


def test_unknown_models_are_kept_and_their_cost_is_never_invented(tmp_path: Path) -> None:
    doc = json.loads((EXPORTS / "openai_usage_completions.json").read_text())
    doc["data"][0]["results"][0]["model"] = "gpt-99-unknown"
    path = tmp_path / "u.json"
    path.write_text(json.dumps(doc))
    loaded = load_input(InputFile(path, "u.json"), tmp_path)
    assert loaded is not None
    frame = loaded.frame.collect()
    row = frame.filter(pl.col("model") == "gpt-99-unknown").row(0, named=True)
    assert row["cost_usd"] is None and row["_reject"] is None
