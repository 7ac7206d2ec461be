"""HTML: one self-contained page (no external URL; style, script and charts inline) with the
run's summary, the ranked table (sortable, filterable by status and team), the organisation
view (tokens per active day against merged output with the fitted line; each check's p-values
against uniform), the team roll-up, and each flagged account's evidence with its weekly
timeline.

Deterministic: the same report gives the same bytes (no wall-clock value, every float rounded,
every list sorted by explicit keys). Every untrusted string passes through `html_svg.esc`
(the invisible-character escapes of `sanitize.visible`, then `html.escape`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

from tokenaudit.report.html_svg import esc
from tokenaudit.report.interface import Renderer

if TYPE_CHECKING:
    import polars as pl

    from tokenaudit.model import AuditReport, NullModels
    from tokenaudit.report.interface import RenderContext

_STATUSES: Final = ("suspicious", "review", "ok", "insufficient_data", "excluded")
#: (column, header, numeric, css class)
_TABLE: Final = (
    ("rank", "#", True, ""),
    ("account", "account", False, "t acct"),
    ("status", "status", False, "t"),
    ("team", "team", False, "t"),
    ("score", "score", True, ""),
    ("tokens", "tokens", True, ""),
    ("excess_tokens_x", "×peers", True, ""),
    ("merged_changes", "merged", True, ""),
    ("barren_token_share", "barren share", True, ""),
    ("q_value", "q", True, ""),
    ("active_days", "days", True, ""),
    ("tokens_per_line", "tok/line", True, ""),
    ("cost_usd", "cost $", True, ""),
    ("reasons", "why", False, "t why"),
)
#: Two-sided band of the fitted line: the central 95 % of the null's Student t.
_BAND: Final = 0.975


class HtmlFormat(Renderer):
    """A page to open in a browser, with plots; no new dependency (hand-written SVG)."""

    name = "html"
    extensions = (".html", ".htm")

    def render(self, report: AuditReport, ctx: RenderContext) -> str:
        return render_html(report, ctx)


def render_html(report: AuditReport, ctx: RenderContext) -> str:
    """The whole page (see the module docstring)."""
    from tokenaudit.report.html_assets import CSP, CSS, JS

    title = "tokenaudit report"
    if report.first_day and report.last_day:
        title += f" {report.first_day} to {report.last_day}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{esc(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        _header(report, title),
        _ranked_table(ctx.shown, ctx.hidden),
        _organisation(report),
        _teams(report),
        _flagged(report, ctx.shown),
        _footer(report),
        f"<script>{JS}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def _counts(accounts: pl.DataFrame) -> dict[str, int]:
    by = dict(accounts.group_by("status").len().iter_rows())
    return {s: int(by.get(s, 0)) for s in _STATUSES}


def _header(report: AuditReport, title: str) -> str:
    counts = _counts(report.accounts)
    summary = (
        f"{report.accounts.height} accounts, {report.first_day} to {report.last_day}, "
        f"window {report.window_days} d: " + ", ".join(f"{n} {s}" for s, n in counts.items())
    )
    inputs = "".join(
        f"<li>{esc(s.name)} ({esc(s.kind)}, {esc(s.fmt)}): {s.used:,} of {s.rows:,} rows used"
        + (f", {s.rejected:,} rejected" if s.rejected else "")
        + "</li>"
        for s in report.inputs
    )
    notes = [
        f"Follow-up window {report.window_days} days ({'auto' if report.window_auto else 'fixed'}); "
        f"merges known until {report.merges_known_until}.",
    ]
    if report.reference:
        notes.append(esc(report.reference) + ".")
    if report.pseudonymised:
        notes.append("Accounts are pseudonymised; pseudonymised data is still personal data.")
    return "\n".join(
        [
            f"<header><h1>{esc(title)}</h1>",
            f'<p class="summary" id="summary">{esc(summary)}</p>',
            '<p class="counts">'
            + "".join(
                f'<span><span class="badge {s}">{esc(s)}</span> {n}</span>'
                for s, n in counts.items()
            )
            + "</p>",
            f'<p class="muted">{" ".join(notes)}</p>',
            "<p>A flag means <em>usage not followed by merged work in the scanned repositories</em>: "
            "a signal for a conversation, never a verdict.</p>",
            f'<details><summary>Inputs ({len(report.inputs)})</summary><ul class="muted">{inputs}</ul></details>',
            "</header>",
        ]
    )


def _cell(column: str, value: Any) -> tuple[str, str]:
    """(display text, sort value) of one table cell, both escaped."""
    from tokenaudit.report.html_svg import human
    from tokenaudit.report.values import cell_text, q_text

    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "", ""
    if column in ("tokens",):
        return human(float(value)), str(value)
    if column == "q_value":
        return q_text(float(value)), f"{float(value):.6g}"
    if column == "barren_token_share":
        return f"{float(value):.0%}", f"{float(value):.6g}"
    if isinstance(value, float):
        return esc(cell_text(column, value)), f"{value:.6g}"
    if isinstance(value, int):
        return f"{value:,}", str(value)
    return esc(value), ""


def _ranked_table(shown: pl.DataFrame, hidden: int) -> str:
    teams = sorted({t for t in shown["team"].to_list() if t is not None})
    statuses = [s for s in _STATUSES if s in set(shown["status"].to_list())]
    head = "".join(
        f'<th class="{css}" data-type="{"n" if numeric else "s"}" scope="col">{esc(label)}</th>'
        for _, label, numeric, css in _TABLE
    )
    rows = []
    for row in shown.sort("rank").iter_rows(named=True):
        cells = []
        for column, _, numeric, css in _TABLE:
            text, sort = _cell(column, row[column])
            if column == "status":
                text = f'<span class="badge {esc(row["status"])}">{text}</span>'
            attr = f' data-v="{sort}"' if numeric else ""
            cells.append(
                f'<td class="{css}"{attr}>{text}</td>' if css else f"<td{attr}>{text}</td>"
            )
        rows.append(
            f'<tr data-status="{esc(row["status"])}" data-team="{esc(row["team"] or "")}">'
            + "".join(cells)
            + "</tr>"
        )
    more = f" ({hidden} more ranked accounts not shown: --all)" if hidden else ""
    return "\n".join(
        [
            '<section id="accounts"><h2>Ranked accounts</h2>',
            '<div class="controls">',
            '<label for="f-status">status</label><select id="f-status"><option value="">all</option>'
            + "".join(f'<option value="{esc(s)}">{esc(s)}</option>' for s in statuses)
            + "</select>",
            '<label for="f-team">team</label><select id="f-team"><option value="">all</option>'
            + "".join(f'<option value="{esc(t)}">{esc(t)}</option>' for t in teams)
            + "</select>",
            '<label for="f-text">search</label><input id="f-text" type="search">',
            f'<span class="muted"><span id="f-shown">{shown.height}</span> of {shown.height} shown{esc(more)}; '
            "click a column to sort</span>",
            "</div>",
            '<div class="tablewrap"><table id="ranked">',
            f"<thead><tr>{head}</tr></thead>",
            "<tbody>",
            *rows,
            "</tbody></table></div></section>",
        ]
    )


def _fitted_line(report: AuditReport) -> Any:
    """The excess-tokens line and 95 % band of the organisation's null, or None when the report
    cannot fit it (too small a cohort, a scan compared with a reference)."""
    from tokenaudit.report.html_svg import FittedLine

    if report.fit_null_models is None:
        return None
    models: NullModels = report.fit_null_models()
    null = models.nulls.get("excess-tokens")
    if not null or not all(k in null for k in ("slope", "intercept", "centre", "scale", "nu")):
        return None
    from scipy import stats

    q = float(stats.t.ppf(_BAND, max(null["nu"], 1.0)))
    return FittedLine(null["slope"], null["intercept"], null["centre"], q * null["scale"])


def _organisation(report: AuditReport) -> str:
    import polars as pl

    from tokenaudit.report.html_svg import Point, human, p_histogram, scatter

    acc = report.accounts.filter(
        ~pl.col("excluded") & (pl.col("active_days") > 0) & (pl.col("tokens") > 0)
    ).sort("account")
    points = [
        Point(
            x=math.log((r["changes"] + 0.5) / r["active_days"]),
            y=math.log(r["tokens"] / r["active_days"]),
            kind=r["status"],
            title=f"{r['account']} ({r['status']}): {human(r['tokens'] / r['active_days'])} "
            f"tokens per active day, {r['changes']} merged changes in {r['active_days']} days",
            label=r["account"] if r["flagged"] else "",
        )
        for r in acc.iter_rows(named=True)
    ]
    line = _fitted_line(report)
    chart = scatter(
        points,
        x_label="(merged changes + ½) per active day (log)",
        y_label="tokens per active day (log)",
        line=line,
        title="Tokens per active day against merged output",
    )
    fit_note = (
        "The line is the excess-tokens check's fit on the organisation (Siegel repeated medians), "
        "the band its null's central 95 %; teams compared within themselves are shifted by their "
        "habit before testing, so a point above the band is not yet a flag."
        if line is not None
        else "No fitted line: the organisation is too small for the check's own fit, or the scan "
        "used a reference."
    )
    hists = []
    applicable = report.checks.filter(pl.col("applicable") & pl.col("p_value").is_not_null())
    for check in sorted(set(applicable["check"].to_list())):
        ps = applicable.filter(pl.col("check") == check)["p_value"].to_list()
        hists.append(p_histogram(check, [min(max(float(p), 0.0), 1.0) for p in ps]))
    legend = "".join(f'<span><span class="badge {s}">{s}</span></span>' for s in _STATUSES[:4])
    return "\n".join(
        [
            '<section id="organisation"><h2>Organisation</h2>',
            "<h3>Tokens per active day against merged output</h3>",
            f'<p class="legend">{legend} flagged accounts are labelled; hover a point for its numbers.</p>',
            chart or '<p class="muted">No account with usage to plot.</p>',
            f'<p class="muted">{fit_note}</p>',
            "<h3>p-values of each check against uniform</h3>",
            '<p class="muted">Under the null every check\'s p-values are uniform (dashed line: the '
            "expected count per bin). A pile-up near 0 is accounts the check finds unusual; a pile-up "
            "near 1 is a conservative test or many accounts with nothing to find.</p>",
            f'<div class="charts">{"".join(hists)}</div>' if hists else "",
            "</section>",
        ]
    )


def _teams(report: AuditReport) -> str:
    from tokenaudit.teams import MIN_GROUP, team_rollup

    if report.accounts.is_empty() or report.accounts["team"].is_null().all():
        return ""
    from tokenaudit.report.html_teams import rollup_table

    return (
        '<section id="teams"><h2>Teams</h2>'
        + rollup_table(team_rollup(report, min_group=MIN_GROUP), MIN_GROUP)
        + "</section>"
    )


def _flagged(report: AuditReport, shown: pl.DataFrame) -> str:
    from tokenaudit.report.html_account import account_section

    flagged = shown.filter(shown["flagged"]).sort("rank")
    if flagged.is_empty():
        return (
            '<section id="flagged"><h2>Flagged accounts</h2><p>No account is flagged.</p></section>'
        )
    names = flagged["account"].to_list()
    days = report.days.filter(report.days["account"].is_in(names))
    outputs = report.outputs.filter(report.outputs["account"].is_in(names))
    checks = report.checks.filter(report.checks["account"].is_in(names))
    by_days = {k[0]: v for k, v in days.partition_by("account", as_dict=True).items()}
    by_out = {k[0]: v for k, v in outputs.partition_by("account", as_dict=True).items()}
    by_checks = {k[0]: v for k, v in checks.partition_by("account", as_dict=True).items()}
    sections = [
        account_section(
            report,
            row,
            by_checks.get(row["account"]),
            by_days.get(row["account"]),
            by_out.get(row["account"]),
            anchor=f"acct-{row['rank']}",
        )
        for row in flagged.iter_rows(named=True)
    ]
    index = " · ".join(
        f'<a href="#acct-{r["rank"]}">{esc(r["account"])}</a>'
        for r in flagged.iter_rows(named=True)
    )
    return "\n".join(
        [
            f'<section id="flagged"><h2>Flagged accounts ({flagged.height})</h2>',
            f"<p>{index}</p>",
            *sections,
            "</section>",
        ]
    )


def _footer(report: AuditReport) -> str:
    from tokenaudit import __version__

    return (
        f"<footer>tokenaudit {esc(__version__)}; data as of {report.last_day}. "
        "Signals for human review, not a verdict.</footer>"
    )
