"""The team roll-up (`teams.team_rollup`) in every output format: an HTML table (inside the scan
report, or as its own page for `tokenaudit teams --format html`), a plain-text table, CSV, TSV,
JSON and Markdown. Group names are data: escaped like account names."""

from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING, Any, Final

from tokenaudit.report.html_svg import esc, human
from tokenaudit.report.sanitize import spreadsheet_safe, visible

if TYPE_CHECKING:
    from pathlib import Path

    import polars as pl

#: The roll-up formats (`tokenaudit teams --format`).
ROLLUP_FORMATS: Final = ("table", "csv", "tsv", "json", "ndjson", "markdown", "html")
#: (column, header) of the human formats.
_HUMAN: Final = (
    ("group", "group"),
    ("people", "people"),
    ("flagged", "flagged"),
    ("tokens", "tokens"),
    ("cost_usd", "cost $"),
    ("merged_changes", "merged"),
    ("merged_lines", "lines"),
    ("changes_per_mtok", "merged/Mtok"),
    ("changes_per_kusd", "merged/$1k"),
    ("barren_token_share", "barren share"),
)
_DIGITS: Final = {
    "cost_usd": 2,
    "changes_per_mtok": 3,
    "changes_per_kusd": 2,
    "barren_token_share": 3,
}


def _text(column: str, value: Any, *, human_units: bool) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if column == "tokens" and human_units:
        return human(float(value))
    if column == "barren_token_share" and human_units:
        return f"{float(value):.0%}"
    if column in _DIGITS:
        return f"{float(value):.{_DIGITS[column]}f}"
    return str(value)


def _note(rollup: pl.DataFrame, min_group: int | None) -> str:
    note = "Groups of fewer than {} people are folded into “(other teams)”.".format(
        min_group if min_group is not None else "the minimum"
    )
    if not rollup.filter(rollup["kind"] == "team")["cost_complete"].all():
        note += " Cost covers only usage with a known or computed price."
    return note


def rollup_table(rollup: pl.DataFrame, min_group: int | None = None) -> str:
    """The roll-up as an HTML table (no page around it)."""
    head = "".join(
        f'<th class="{"t" if c == "group" else ""}" scope="col">{esc(h)}</th>' for c, h in _HUMAN
    )
    body = []
    for row in rollup.iter_rows(named=True):
        cells = "".join(
            f'<td class="t">{esc(row[c])}</td>'
            if c == "group"
            else f"<td>{esc(_text(c, row[c], human_units=True))}</td>"
            for c, _ in _HUMAN
        )
        strong = ' class="org"' if row["kind"] == "organisation" else ""
        body.append(f"<tr{strong}>{cells}</tr>")
    return (
        f'<table class="rollup"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        f'<p class="muted">{esc(_note(rollup, min_group))} Merged work is non-trivial merged '
        "changes; barren share is the share of tokens on days not followed by merged work.</p>"
    )


def rollup_page(rollup: pl.DataFrame, min_group: int | None, title: str) -> str:
    """The roll-up as a self-contained HTML page (same style and policy as the scan report)."""
    from tokenaudit.report.html_assets import CSP, CSS

    return (
        "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en">',
                '<head><meta charset="utf-8">',
                f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{esc(title)}</title><style>{CSS}</style></head>",
                f"<body><h1>{esc(title)}</h1>",
                rollup_table(rollup, min_group),
                "</body>",
                "</html>",
            ]
        )
        + "\n"
    )


def render_rollup(
    rollup: pl.DataFrame, fmt: str, *, min_group: int | None = None, title: str = "Team roll-up"
) -> str:
    """The roll-up in `fmt` (one of `ROLLUP_FORMATS`)."""
    if fmt == "html":
        return rollup_page(rollup, min_group, title)
    if fmt in ("csv", "tsv"):
        out = io.StringIO()
        writer = csv.writer(out, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(rollup.columns)
        for row in rollup.iter_rows(named=True):
            writer.writerow(
                [spreadsheet_safe(visible(_text(c, v, human_units=False))) for c, v in row.items()]
            )
        return out.getvalue()
    if fmt == "json":
        rows = [{c: _json(v) for c, v in row.items()} for row in rollup.iter_rows(named=True)]
        doc = {"min_group": min_group, "groups": rows}
        return json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=2) + "\n"
    if fmt == "ndjson":
        return "".join(
            json.dumps({c: _json(v) for c, v in row.items()}, ensure_ascii=False, allow_nan=False)
            + "\n"
            for row in rollup.iter_rows(named=True)
        )
    if fmt == "markdown":
        return _markdown(rollup)
    if fmt == "table":
        return _plain(rollup) + _note(rollup, min_group) + "\n"
    raise ValueError(f"unknown roll-up format {fmt!r}; choose from {', '.join(ROLLUP_FORMATS)}")


def rollup_format(fmt: str, output: Path | None, terminal: bool) -> str:
    """The roll-up format `--format` picks: `auto` is the -o file's extension (.html, .csv, .json,
    …), else a table on a terminal and CSV otherwise, as for `scan`."""
    if fmt != "auto":
        if fmt not in ROLLUP_FORMATS:
            raise ValueError(
                f"the team roll-up has no {fmt} format; choose from {', '.join(ROLLUP_FORMATS)}"
            )
        return fmt
    if output is not None:
        from tokenaudit.report import registry

        renderer = registry.for_extension(output.suffix)
        if renderer is not None and renderer.name in ROLLUP_FORMATS:
            return renderer.name
        return "csv"
    return "table" if terminal else "csv"


def _json(value: Any) -> Any:
    from tokenaudit.report.values import json_number

    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, str):
        return visible(value)
    return value


_MD_SPECIAL: Final = str.maketrans({c: "\\" + c for c in "\\|`*_[]<>#"})


def _markdown(rollup: pl.DataFrame) -> str:
    lines = [
        "| " + " | ".join(h for _, h in _HUMAN) + " |",
        "|" + "|".join("---" if c == "group" else "---:" for c, _ in _HUMAN) + "|",
    ]
    for row in rollup.iter_rows(named=True):
        cells = [
            visible(_text(c, row[c], human_units=True)).translate(_MD_SPECIAL) for c, _ in _HUMAN
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _plain(rollup: pl.DataFrame) -> str:
    rows = [[h for _, h in _HUMAN]] + [
        [visible(_text(c, row[c], human_units=True)) for c, _ in _HUMAN]
        for row in rollup.iter_rows(named=True)
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HUMAN))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in rows
    ]
    return "\n".join(lines) + "\n"
