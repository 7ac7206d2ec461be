"""The quarantine file: every input row that could not be used, and why."""

from __future__ import annotations

import csv
import io
import re

import polars as pl

from tokenaudit.report.sanitize import spreadsheet_safe, visible

_COLUMN = re.compile(r"^column '(?P<column>[^']*)': (?P<reason>.*)$", re.DOTALL)


def render_rejects(rejects: pl.DataFrame) -> str:
    """CSV with `file,line,column,reason`, sorted by file and line; text is sanitised."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["file", "line", "column", "reason"])
    for file, line, reason in rejects.sort("file", "line", "reason").iter_rows():
        match = _COLUMN.match(reason)
        column, text = (match["column"], match["reason"]) if match else ("", reason)
        writer.writerow(
            [
                spreadsheet_safe(visible(file)),
                line,
                spreadsheet_safe(visible(column)),
                spreadsheet_safe(visible(text)),
            ]
        )
    return buf.getvalue()
