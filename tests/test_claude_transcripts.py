"""Claude Code transcript trees agree with ccusage's own daily report, except where ccusage 17.x
keeps the first line of a streamed message and tokenaudit the fullest (the pinned difference).
The ccusage output was recorded with `python benchmarks/ccusage_compare.py --record`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import polars as pl

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
