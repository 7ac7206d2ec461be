"""The human table (Rich). Untrusted text only ever reaches Rich as sanitised `Text`.

On a terminal the table fits the console by dropping the least important columns; account
names are folded, never cut. Anywhere else (a pipe, a file) it keeps every column and every
cell on one line, as wide as it needs: the same bytes for the same report, whatever the width
of the terminal the command ran from.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tokenaudit.report.interface import RenderContext, Renderer
from tokenaudit.report.sanitize import visible
from tokenaudit.report.values import OPTIONAL_COLUMNS, q_text, report_rows

if TYPE_CHECKING:
    import polars as pl
    from rich.console import Console

    from tokenaudit.model import AuditReport

STATUS_STYLE: Final = {
    "suspicious": "bold red",
    "review": "yellow",
    "ok": "green",
    "insufficient_data": "dim",
    "excluded": "dim",
    "suppressed": "cyan",
    "absent": "dim",
}


@dataclass(frozen=True)
class _Column:
    key: str
    header: str
    #: Lower = more important; the highest numbers are dropped first on narrow terminals.
    priority: int
    justify: str = "right"


_COLUMNS: Final = (
    _Column("rank", "#", 0),
    _Column("account", "account", 0, "left"),
    _Column("status", "status", 0, "left"),
    _Column("change", "change", 0, "left"),
    _Column("first_flagged", "since", 5, "left"),
    _Column("reasons", "why", 1, "left"),
    _Column("score", "score", 2),
    _Column("tokens", "tokens", 3),
    _Column("excess_tokens_x", "×peers", 4),
    _Column("merged_changes", "merged", 5),
    _Column("barren_token_share", "barren", 6),
    _Column("q_value", "q", 7),
    _Column("active_days", "days", 8),
    _Column("tokens_per_line", "tok/line", 9),
    _Column("merged_lines", "lines", 10),
    _Column("cost_usd", "cost $", 11),
    _Column("requests", "requests", 12),
)
#: The columns of a report without the optional ones (`values.OPTIONAL_COLUMNS`).
_COLUMNS_WITHOUT_OPTIONAL: Final = tuple(c.key for c in _COLUMNS if c.key not in OPTIONAL_COLUMNS)
_MIN_REASONS_WIDTH: Final = 20
#: Longer account names fold onto more lines; they are never cut.
_MAX_ACCOUNT_WIDTH: Final = 32
#: The width of a console that never limits a table (see `TableFormat.render`).
_UNBOUNDED: Final = 1 << 20


def human_count(n: float | None) -> str:
    if n is None:
        return ""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key in ("tokens", "requests", "tokens_per_line"):
        return human_count(float(value))
    if key == "score":
        return f"{value:.0f}"
    if key == "q_value":
        return q_text(float(value))
    if key == "barren_token_share":
        return f"{value:.0%}"
    if key == "excess_tokens_x":
        return f"×{value:.1f}"
    if key == "cost_usd":
        return f"{value:,.0f}"
    return str(value)


def _fit_columns(rows: list[dict[str, Any]], width: int) -> list[_Column]:
    keys = set(rows[0]) if rows else set(_COLUMNS_WITHOUT_OPTIONAL)
    present = [c for c in _COLUMNS if c.key in keys]
    widths = {
        c.key: max([len(c.header)] + [len(_cell(c.key, r[c.key])) for r in rows])
        for c in present
        if c.key != "reasons"
    }
    widths["reasons"] = _MIN_REASONS_WIDTH
    # The account column may fold, but it needs room for a reasonable name.
    widths["account"] = min(widths["account"], _MAX_ACCOUNT_WIDTH)
    chosen = present

    def total(cols: list[_Column]) -> int:
        return sum(widths[c.key] + 3 for c in cols) + 1

    while total(chosen) > width and len(chosen) > 3:
        chosen.remove(max(chosen, key=lambda c: (c.priority, c.key)))
    return chosen


class TableFormat(Renderer):
    """The human table: fitted to the terminal (with its colours), or whole anywhere else."""

    name = "table"
    extensions = (".txt",)
    default_rows = 25

    def render(self, report: AuditReport, ctx: RenderContext) -> str:
        from rich.console import Console

        plain = {"highlight": False, "markup": False, "emoji": False}
        if ctx.terminal:
            # Rendered as a console on stdout would print it, colours and width included.
            console = Console(**plain)  # type: ignore[arg-type]
            with console.capture() as captured:
                render_table(ctx.shown, console, hidden=ctx.hidden)
            return captured.get()
        buf = io.StringIO()
        # NOTE: a console of its own, never stdout's: Rich sizes a pipe to 80 columns (or
        # $COLUMNS), and a narrow table drops columns. Cells never wrap here, so the table is
        # as wide as its widest row, never `_UNBOUNDED`.
        console = Console(file=buf, width=_UNBOUNDED, color_system=None, **plain)  # type: ignore[arg-type]
        render_table(ctx.shown, console, hidden=ctx.hidden, whole=True)
        return buf.getvalue()


def render_table(
    accounts: pl.DataFrame,
    console: Console,
    *,
    hidden: int = 0,
    title: str | None = None,
    whole: bool = False,
) -> None:
    """The table on `console`: fitted to its width, or (`whole`) every column, unwrapped."""
    from rich.table import Table
    from rich.text import Text

    rows = report_rows(accounts)
    columns = _fit_columns(rows, _UNBOUNDED if whole else console.width)
    table = Table(title=title, show_lines=False, header_style="bold", expand=False, pad_edge=False)
    for c in columns:
        folds = c.key in ("account", "reasons") and not whole
        table.add_column(
            c.header,
            justify=c.justify,  # type: ignore[arg-type]
            overflow="fold",
            no_wrap=not folds,
            min_width=_MIN_REASONS_WIDTH if c.key == "reasons" else None,
            max_width=_MAX_ACCOUNT_WIDTH if c.key == "account" and folds else None,
            ratio=1 if c.key == "reasons" and folds else None,
        )
    for r in rows:
        cells: list[Text] = []
        for c in columns:
            if c.key in ("account", "reasons"):
                cells.append(Text(visible(str(r[c.key] or ""))))
            elif c.key == "status":
                cells.append(Text(r["status"], style=STATUS_STYLE.get(r["status"], "")))
            else:
                cells.append(Text(_cell(c.key, r[c.key])))
        table.add_row(*cells)
    console.print(table)
    if hidden:
        console.print(Text(f"… {hidden} more accounts (use --all or --top N)", style="dim"))
