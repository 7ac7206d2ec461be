"""Markdown: a pipe table for tickets and wiki pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenaudit.report.interface import RenderContext, Renderer

if TYPE_CHECKING:
    import polars as pl

    from tokenaudit.model import AuditReport

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\|`*_[]<>#"})


class MarkdownFormat(Renderer):
    name = "markdown"
    extensions = (".md",)

    def render(self, report: AuditReport, ctx: RenderContext) -> str:
        return render_markdown(ctx.shown)


def render_markdown(accounts: pl.DataFrame) -> str:
    from tokenaudit.report.sanitize import visible
    from tokenaudit.report.values import cell_text, report_columns, report_rows

    columns = report_columns(accounts)
    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    for row in report_rows(accounts):
        cells = [visible(cell_text(c, row[c])).translate(_MD_SPECIAL) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
