"""Turning report rows into display values: one rounding policy for every format."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import polars as pl

#: Decimal places of each float column when rendered as text.
DECIMALS: Final = {
    "score": 2,
    "cost_usd": 2,
    "tokens_per_line": 1,
    "barren_token_share": 3,
    "excess_tokens_x": 2,
}


def q_text(q: float) -> str:
    return f"{q:.3g}" if q >= 1e-4 else f"{q:.2e}"


def cell_text(column: str, value: Any) -> str:
    """The text of one report cell (empty for null), as CSV, TSV and Markdown show it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if column == "q_value":
        return q_text(float(value))
    if column in DECIMALS:
        return f"{float(value):.{DECIMALS[column]}f}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def json_number(value: float | None, digits: int = 6) -> float | None:
    """Round to `digits` significant digits; NaN and infinities become null (strict JSON)."""
    if value is None or not math.isfinite(value):
        return None
    if value == 0:
        return 0.0
    return float(f"{value:.{digits}g}")


#: Columns a report carries after `REPORT_COLUMNS` when the run adds them (`--baseline`).
OPTIONAL_COLUMNS: Final = ("change", "first_flagged")


def report_columns(accounts: pl.DataFrame) -> tuple[str, ...]:
    """`REPORT_COLUMNS`, then the `OPTIONAL_COLUMNS` this report has."""
    from tokenaudit.schema import REPORT_COLUMNS

    return REPORT_COLUMNS + tuple(c for c in OPTIONAL_COLUMNS if c in accounts.columns)


def report_rows(accounts: pl.DataFrame) -> list[dict[str, Any]]:
    """The report columns of every account, in rank order."""
    return accounts.select(report_columns(accounts)).sort("rank").to_dicts()
