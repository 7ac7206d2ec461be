"""The quarantine file: every input row that could not be used, and why."""

from __future__ import annotations

import csv
import io
import re

import polars as pl

from tokenaudit.report.sanitize import spreadsheet_safe, visible

_COLUMN = re.compile(r"^column '(?P<column>[^']*)': (?P<reason>.*)$", re.DOTALL)


def render_rejects(rejects: pl.DataFrame) -> str:
    """CSV with `file,line,column,code,reason`, sorted by file and line; text is sanitised.
    `code` is the reason's `rejects.RejectCode` (stable, for programs; the reason is for people)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["file", "line", "column", "code", "reason"])
    if "code" not in rejects.columns:
        rejects = rejects.with_columns(pl.lit("other").alias("code"))
    ordered = rejects.sort("file", "line", "reason").select("file", "line", "reason", "code")
    for file, line, reason, code in ordered.iter_rows():
        match = _COLUMN.match(reason)
        column, text = (match["column"], match["reason"]) if match else ("", reason)
        writer.writerow(
            [
                spreadsheet_safe(visible(file)),
                line,
                spreadsheet_safe(visible(column)),
                code or "other",
                spreadsheet_safe(visible(text)),
            ]
        )
    return buf.getvalue()
