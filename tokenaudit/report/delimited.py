"""CSV and TSV: RFC 4180 quoting, untrusted cells neutralised for spreadsheets."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from tokenaudit.report.interface import RenderContext, Renderer

if TYPE_CHECKING:
    import polars as pl

    from tokenaudit.model import AuditReport


class CsvFormat(Renderer):
    name = "csv"
    extensions = (".csv",)

    def render(self, report: AuditReport, ctx: RenderContext) -> str:
        return render_delimited(ctx.shown, separator=",", raw=ctx.csv_raw)


class TsvFormat(Renderer):
    name = "tsv"
    extensions = (".tsv",)

    def render(self, report: AuditReport, ctx: RenderContext) -> str:
        return render_delimited(ctx.shown, separator="\t", raw=ctx.csv_raw)


def render_delimited(accounts: pl.DataFrame, *, separator: str, raw: bool = False) -> str:
    from tokenaudit.report.sanitize import spreadsheet_safe, visible
    from tokenaudit.report.values import cell_text, report_columns, report_rows
    from tokenaudit.schema import UNTRUSTED_COLUMNS

    columns = report_columns(accounts)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=separator, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in report_rows(accounts):
        cells = []
        for col in columns:
            text = cell_text(col, row[col])
            if col in UNTRUSTED_COLUMNS:
                text = visible(text)
                if not raw:
                    text = spreadsheet_safe(text)
            cells.append(text)
        writer.writerow(cells)
    return buf.getvalue()
