"""Claude Code transcript trees agree with ccusage's own daily report, except where ccusage 17.x
keeps the first line of a streamed message and tokenaudit the fullest (the pinned difference).
The ccusage output was recorded with `python benchmarks/ccusage_compare.py --record`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl
import pytest

from .conftest import DATA

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

from ccusage_compare import compare, tokenaudit_daily


def test_daily_totals_equal_ccusage_except_streamed_output_growth() -> None:
    recorded = json.loads((DATA / "claude_tree.ccusage-17.2.1.json").read_text())
    table = compare(tokenaudit_daily(DATA / "claude_tree" / "projects"), recorded)
    assert table["date"].to_list() == ["2025-06-03", "2025-06-04"]
    for column in ("input_tokens", "cache_read_tokens", "cache_write_tokens"):
        assert table[f"{column}_diff"].to_list() == [0, 0], column
    # msg_01A streamed 3 → 120 → 263 output tokens; msg_02A 25 → 25 → 302.
    assert table["output_tokens_diff"].to_list() == [263 - 3, 302 - 25]


def test_tree_quirks_are_each_handled() -> None:
    from tokenaudit.loaders import expand_paths, load_input

    files = expand_paths([DATA / "claude_tree"])
    assert len(files) == 3
    loaded = [load_input(f, Path("/tmp"), account="dana") for f in files]
    rows = pl.concat([x.frame.collect() for x in loaded if x is not None], how="vertical_relaxed")
    assert rows["_reject"].null_count() == rows.height
    ids = rows["request_id"].to_list()
    assert "gw-0001:" in ids  # a gateway message without requestId still counts, once
    assert ids.count("msg_01C:req_01C") == 2  # the replayed side-chain: one copy per file …
    truncated = [x for x in loaded if x is not None and x.unreadable]
    assert len(truncated) == 1 and truncated[0].unreadable[0][1].startswith("not valid JSON")
    assert "<synthetic>" not in rows["model"].to_list()
    assert "claude-future-9" in rows["model"].to_list()  # unknown models are kept, never priced


# ---------------------------------------------------------------- today's layout (Claude Code 2.1.x)
#
# tests/data/claude_tree_2026 is a whole `~/.claude` (written by tests/data/make_claude_tree.py):
# subagent transcripts with their agent-<id>.meta.json sidecars, every line type that is not a
# request, and the files that sit beside projects/.

TREE_2026 = DATA / "claude_tree_2026"

#: Each request of the tree, by hand: (input, output, cache read, cache write).
DAY_1 = {
    "msg_A": (10, 150, 1000, 200),  # streamed: output 5, then 150; the fuller line counts
    "msg_B": (4, 60, 1200, 50),  # also replayed in the subagent's side-chain: counted once
    "msg_C": (2, 40, 500, 100),  # 23:30 UTC: still day 1
    "msg_S1": (3, 30, 800, 0),  # the Explore subagent, streamed 8 → 30
}
DAY_2 = {
    "msg_D": (6, 90, 2000, 300),
    "msg_E": (1, 10, 100, 0),  # 23:59:59 UTC: still day 2
    "msg_S2": (5, 70, 600, 40),  # a subagent file of one line
}
# Not requests, and so in neither day: the subagent's message echoed by a `progress` line,
# the <synthetic> error message, and a `hook-event` line (a type no version wrote yet) that
# even carries usage (777 / 777).


def _sums(messages: dict[str, tuple[int, int, int, int]]) -> tuple[int, ...]:
    return (*(sum(m[i] for m in messages.values()) for i in range(4)), len(messages))


def _load_tree(account: str | None = "dev") -> tuple[list, list[str]]:
    from tokenaudit.audit import load_all
    from tokenaudit.loaders import expand_paths

    return load_all(expand_paths([TREE_2026]), Path("/tmp"), "UTC", account)


def test_todays_tree_per_day_totals_match_the_hand_count() -> None:
    from tokenaudit.panel import split_duplicate_requests

    loaded, _ = _load_tree()
    rows = pl.concat([x.frame.collect() for x in loaded], how="vertical_relaxed")
    assert rows["_reject"].null_count() == rows.height  # no line of any type is rejected
    kept, dropped = split_duplicate_requests(rows.drop("_reject"))
    assert dropped.height == 1  # msg_B's side-chain replay
    days = (
        kept.group_by(pl.col("timestamp").dt.date().cast(pl.String).alias("day"))
        .agg(
            pl.col(
                "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"
            ).sum(),
            pl.len().alias("requests"),
        )
        .sort("day")
    )
    assert days.rows() == [("2026-03-02", *_sums(DAY_1)), ("2026-03-03", *_sums(DAY_2))]
    assert _sums(DAY_1) == (19, 280, 3500, 350, 4) and _sums(DAY_2) == (12, 170, 2700, 340, 3)
    assert set(kept["account"]) == {"dev"}


def test_sidecars_and_files_beside_the_projects_are_skipped_each_with_a_reason() -> None:
    loaded, skipped = _load_tree()
    read = sorted(Path(x.file.name).name for x in loaded)
    assert read == [
        "5b0e7c1d-1111-4a2b-8c3d-000000000001.jsonl",
        "5b0e7c1d-2222-4a2b-8c3d-000000000002.jsonl",
        "5b0e7c1d-3333-4a2b-8c3d-000000000003.jsonl",  # summaries only: a session, no requests
        "agent-a1b2c3d.jsonl",
        "agent-e4f5a6b.jsonl",
    ]
    # Skipped, each with its reason (from its content, or from its name or folder when the
    # directory walk already knows it is no log), never an error that stops the scan.
    reasons = {Path(s.split(" (", 1)[0]).name: s.split(" (", 1)[1] for s in skipped if " (" in s}
    assert sorted(reasons) == sorted(
        [
            "agent-a1b2c3d.meta.json",
            "agent-e4f5a6b.meta.json",
            "settings.json",
            "history.jsonl",
            "stats-cache.json",
            next(TREE_2026.glob("todos/*.json")).name,
            "installed_plugins.json",
            "toolu_01XyZ.txt",
        ]
    )
    assert all(r.strip(") ") for r in reasons.values())


#: Each file beside the transcripts, named on its own (so that only its content can tell), and
#: what it is refused as.
BESIDE = [
    ("projects/*/*/subagents/agent-a1b2c3d.meta.json", "subagent's description"),
    ("settings.json", "Claude Code settings, not a log"),
    ("history.jsonl", "Claude Code prompt history: no tokens"),
    ("stats-cache.json", "count the same tokens twice"),
    ("todos/*.json", "a Claude Code to-do list, not a log"),
    ("plugins/installed_plugins.json", "keys: plugins, version"),
]


@pytest.mark.parametrize(("pattern", "why"), BESIDE)
def test_files_beside_the_transcripts_are_recognised_from_their_content(
    pattern: str, why: str
) -> None:
    from tokenaudit.errors import RefusedExport
    from tokenaudit.loaders import InputFile, load_input

    path = next(TREE_2026.glob(pattern))
    with pytest.raises(RefusedExport) as refused:
        load_input(InputFile(path, path.name), Path("/tmp"))
    assert why in refused.value.why


def test_without_account_the_tree_belongs_to_the_folder_named() -> None:
    loaded, _ = _load_tree(account=None)
    accounts = {a for x in loaded for a in x.frame.collect()["account"].to_list()}
    assert accounts == {"claude_tree_2026"}


def test_scan_of_todays_tree_with_a_commit_log(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tokenaudit.cli import app

    from .conftest import CLI_ENV

    commits = tmp_path / "commits.csv"
    commits.write_text(
        "merged_at,author,lines_added,lines_deleted,sha\n"
        "2026-03-02T17:00:00Z,dev,120,4,aaa1\n"
        "2026-03-03T17:00:00Z,dev,40,2,aaa2\n"
    )
    result = CliRunner(env=CLI_ENV).invoke(
        app,
        ["scan", str(TREE_2026), "--account", "dev", "--commits", str(commits), "-f", "json"],
    )
    assert result.exit_code in (0, 1), result.stderr
    assert "skipped" in result.stderr and "agent-<id>.meta.json" not in result.stdout
    (row,) = json.loads(result.stdout)["accounts"]
    hand = sum(_sums(DAY_1)[:4]) + sum(_sums(DAY_2)[:4])
    assert (row["account"], row["tokens"], row["requests"]) == ("dev", hand, 7)
    assert hand == 4149 + 3222
