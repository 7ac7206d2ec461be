"""One flagged account in the HTML report: the evidence `tokenaudit explain` prints (facts, every
check's p-value and summary, the group minima, what would clear it) and a weekly timeline of
tokens and merged changes with barren and censored days marked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokenaudit.report.html_svg import Day, esc, human, timeline
from tokenaudit.wording import REASON_P, format_p

if TYPE_CHECKING:
    import polars as pl

    from tokenaudit.model import AuditReport

_LEGEND = (
    '<p class="legend"><span><i class="followed"></i>tokens followed by merged work</span>'
    '<span><i class="barren"></i>barren (not followed)</span>'
    '<span><i class="censored"></i>censored (window runs past the data)</span>'
    '<span><i class="merged"></i>merged changes (below the axis)</span></p>'
)


def account_section(
    report: AuditReport,
    row: dict[str, Any],
    checks: pl.DataFrame | None,
    days: pl.DataFrame | None,
    outputs: pl.DataFrame | None,
    *,
    anchor: str,
) -> str:
    """The section of one account (see the module docstring)."""
    head = (
        f'<h3 id="{anchor}">{esc(row["account"])} <span class="badge {esc(row["status"])}">'
        f"{esc(row['status'])}</span></h3>"
    )
    rank = f"rank {row['rank']} of {report.accounts.height}, score {row['score']:.0f}"
    if row["q_value"] is not None:
        rank += f", q={format_p(row['q_value'])}"
    parts = [
        f'<section class="account">{head}',
        f'<p class="muted">{esc(rank)}</p>',
        f"<p>{esc(_facts(row))}</p>",
    ]
    if row.get("cohort"):
        parts.append(f'<p class="muted">Compared with: {esc(row["cohort"])}</p>')
    if row["reasons"]:
        parts.append(f"<p><strong>Why:</strong> {esc(row['reasons'])}</p>")
    rows = [] if checks is None else checks.sort("check").to_dicts()
    parts.append(_evidence(row, rows))
    parts.append(_timeline(row["account"], days, outputs))
    clears = [
        (c["check"], c["clear"])
        for c in rows
        if c["applicable"] and c["clear"] and c["p_value"] is not None and c["p_value"] <= REASON_P
    ]
    if clears:
        parts.append(
            "<p><strong>What would clear it</strong></p><ul>"
            + "".join(f"<li>{esc(check)}: {esc(text)}</li>" for check, text in clears)
            + "</ul>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def _facts(row: dict[str, Any]) -> str:
    facts = (
        f"{human(row['tokens'])} tokens in {row['requests']:,} requests on {row['active_days']} "
        f"active days; {row['merged_changes']} non-trivial merged changes "
        f"({row['merged_lines']:,} lines)"
    )
    if row.get("non_output_changes"):
        facts += f", {row['non_output_changes']} more not counted (trivial, reverts or reverted)"
    if row.get("cost_usd"):
        facts += f"; ${row['cost_usd']:,.2f}"
    if row["team"] or row["role"]:
        facts += f"; team {row['team'] or '-'}, role {row['role'] or '-'}"
    return facts


def _evidence(row: dict[str, Any], checks: list[dict[str, Any]]) -> str:
    body = []
    for c in checks:
        p = format_p(c["p_value"]) if c["p_value"] is not None else "n/a"
        body.append(
            f'<tr><td class="t">{esc(c["check"])}</td><td>{esc(p)}</td>'
            f'<td class="t">{esc(c["summary"] or "")}</td></tr>'
        )
    for key, label, text in (
        ("p_outcome", "= outcome", "Bonferroni minimum of the outcome checks"),
        ("p_mechanism", "= mechanism", "Bonferroni minimum of the mechanism checks"),
    ):
        if row.get(key) is not None:
            body.append(
                f'<tr><td class="t"><strong>{label}</strong></td><td>{esc(format_p(row[key]))}</td>'
                f'<td class="t">{text}</td></tr>'
            )
    return (
        '<table class="evidence"><thead><tr><th class="t">check</th><th>p</th>'
        '<th class="t">evidence</th></tr></thead><tbody>' + "".join(body) + "</tbody></table>"
    )


def _timeline(account: str, days: pl.DataFrame | None, outputs: pl.DataFrame | None) -> str:
    if days is None or days.is_empty():
        return ""
    series = [
        Day(d, int(t), "censored" if c else "followed" if f else "barren")
        for d, t, f, c in days.sort("day")
        .select("day", "tokens", "followed", "censored")
        .iter_rows()
    ]
    merges: dict[Any, int] = {}
    if outputs is not None:
        for d, n in outputs.sort("day").select("day", "changes").iter_rows():
            if n:
                merges[d] = int(n)
    chart = timeline(account, series, merges)
    return f"<p><strong>Weekly timeline</strong> (weeks start on Monday)</p>{_LEGEND}{chart}"
