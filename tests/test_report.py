"""Renderers: untrusted text stays inert in every format."""

from __future__ import annotations

import csv
import io
import json

import polars as pl
from rich.console import Console

from tokenaudit.report.delimited import render_delimited
from tokenaudit.report.markdown import render_markdown
from tokenaudit.report.sanitize import spreadsheet_safe, visible
from tokenaudit.report.table import render_table
from tokenaudit.report.values import json_number
from tokenaudit.schema import REPORT_COLUMNS

HOSTILE = [
    '=HYPERLINK("http://evil.example","x")',
    "+1-555",
    "@SUM(A1)",
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\",
    "abc\u202edcba",
    "zero\u200bwidth",
    "[bold]markup[/]",
    "tab\tnew\nline",
]


def accounts(names: list[str]) -> pl.DataFrame:
    n = len(names)
    return pl.DataFrame(
        {
            "rank": list(range(1, n + 1)),
            "account": names,
            "status": ["review"] * n,
            "flagged": [True] * n,
            "score": [50.0] * n,
            "q_value": [0.01] * n,
            "tokens": [10**9] * n,
            "requests": [100] * n,
            "active_days": [20] * n,
            "cost_usd": [None] * n,
            "merged_changes": [0] * n,
            "merged_lines": [0] * n,
            "tokens_per_line": [None] * n,
            "barren_token_share": [1.0] * n,
            "excess_tokens_x": [12.5] * n,
            "reasons": ["excess-tokens: ×12.5 (p=0.001)"] * n,
        },
        schema_overrides={"cost_usd": pl.Float64, "tokens_per_line": pl.Float64},
    )


def test_visible_escapes_control_bidi_and_zero_width_characters() -> None:
    assert visible("\x1b[31m") == "\\u{001b}[31m"
    assert visible("a\u202eb") == "a\\u{202e}b"
    assert visible("a\u200bb") == "a\\u{200b}b"
    assert visible("plain text ×") == "plain text ×"
    assert visible("\\u{001b}") == "\\\\u{001b}"  # a forged escape cannot pass for a real one


def test_spreadsheet_formulas_are_neutralised() -> None:
    for trigger in ("=1", "+1", "-1", "@x", "\t1", "\r1", "\n1"):
        assert spreadsheet_safe(trigger).startswith("'")
    assert spreadsheet_safe("dana@acme.example") == "dana@acme.example"


def test_csv_cells_from_input_cannot_become_formulas_or_escapes() -> None:
    text = render_delimited(accounts(HOSTILE), separator=",")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0].keys()) == REPORT_COLUMNS
    for row in rows:
        assert not row["account"].startswith(("=", "+", "-", "@", "\t", "\r", "\n"))
        assert "\x1b" not in row["account"] and "\u202e" not in row["account"]
    assert "\x1b" not in text


def test_csv_raw_keeps_formula_prefixes_but_still_escapes_controls() -> None:
    text = render_delimited(accounts(["=1+1"]), separator=",", raw=True)
    assert "\n1,=1+1," in text


def test_table_never_interprets_markup_or_passes_escapes() -> None:
    buf = io.StringIO()
    render_table(accounts(HOSTILE), Console(file=buf, width=200, color_system=None))
    out = buf.getvalue()
    assert "\x1b" not in out and "\u202e" not in out
    assert "[bold]markup[/]" in out


def test_markdown_escapes_pipes_and_controls() -> None:
    out = render_markdown(accounts(["a|b", "\x1b[2J"]))
    assert "a\\|b" in out and "\x1b" not in out
    assert all(line.count(" | ") == len(REPORT_COLUMNS) - 1 for line in out.splitlines()[2:])


def test_json_numbers_are_finite_or_null() -> None:
    assert json_number(float("nan")) is None
    assert json_number(float("inf")) is None
    assert json_number(1.23456789e-7) == 1.23457e-7
    json.dumps([json_number(x) for x in (0.0, 1e300)], allow_nan=False)
