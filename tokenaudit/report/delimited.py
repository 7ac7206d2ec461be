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
    from tokenaudit.report.values import cell_text, report_columns
    from tokenaudit.schema import UNTRUSTED_COLUMNS

    columns = report_columns(accounts)
    # Column by column, in rank order (`values.report_rows`' order): a dict per row and a
    # look-up per cell took half a second at 20,000 accounts.
    ranked = accounts.select(columns).sort("rank")
    texts = []
    for col in columns:
        cells = [cell_text(col, value) for value in ranked[col].to_list()]
        if col in UNTRUSTED_COLUMNS:
            cells = [visible(text) for text in cells]
            if not raw:
                cells = [spreadsheet_safe(text) for text in cells]
        texts.append(cells)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=separator, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows(zip(*texts, strict=True))
    return buf.getvalue()
