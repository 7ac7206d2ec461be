"""Markdown: a pipe table for tickets and wiki pages."""

from __future__ import annotations

import polars as pl

from tokenaudit.report.sanitize import visible
from tokenaudit.report.values import cell_text, report_rows
from tokenaudit.schema import REPORT_COLUMNS

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\|`*_[]<>#"})


def render_markdown(accounts: pl.DataFrame) -> str:
    lines = [
        "| " + " | ".join(REPORT_COLUMNS) + " |",
        "|" + "|".join("---" for _ in REPORT_COLUMNS) + "|",
    ]
    for row in report_rows(accounts):
        cells = [visible(cell_text(c, row[c])).translate(_MD_SPECIAL) for c in REPORT_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
