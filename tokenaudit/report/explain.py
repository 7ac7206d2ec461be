"""`explain`: every check's evidence for one account, its daily timeline, and what would clear it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

import polars as pl
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tokenaudit.model import AuditReport
from tokenaudit.report.sanitize import visible
from tokenaudit.report.table import STATUS_STYLE, human_count
from tokenaudit.wording import REASON_P, format_p

_BARS: Final = " ▁▂▃▄▅▆▇█"
_FOLLOW: Final = {"followed": ("f", "green"), "barren": ("b", "red"), "censored": ("c", "dim")}


def render_explain(report: AuditReport, account: str, console: Console) -> None:
    row = report.accounts.filter(pl.col("account") == account).row(0, named=True)
    head = Text()
    head.append(visible(account), style="bold")
    head.append("  ")
    head.append(row["status"], style=STATUS_STYLE.get(row["status"], ""))
    head.append(f"  rank {row['rank']} of {report.accounts.height}, score {row['score']:.0f}")
    if row["q_value"] is not None:
        head.append(f", q={format_p(row['q_value'])}")
    console.print(head)
    facts = (
        f"{human_count(row['tokens'])} tokens in {row['requests']:,} requests on {row['active_days']} active days; "
        f"{row['merged_changes']} non-trivial merged changes ({row['merged_lines']:,} lines)"
    )
    if row["non_output_changes"]:
        facts += f", {row['non_output_changes']} more not counted (trivial, reverts or reverted)"
    if row["team"] or row["role"]:
        facts += f"; team {visible(row['team'] or '-')}, role {visible(row['role'] or '-')}"
    console.print(Text(facts))
    if row.get("cohort"):
        console.print(Text(f"Compared with: {visible(row['cohort'])}", style="dim"))
    console.print(
        Text(
            f"Follow-up window {report.window_days} days ({'auto' if report.window_auto else 'fixed'}); "
            f"merges known until {report.merges_known_until}.",
            style="dim",
        )
    )
    if row["gate"] or row["excluded"]:
        console.print(Text(row["reasons"], style="yellow"))

    checks = report.checks.filter(pl.col("account") == account).sort("check")
    table = Table(title="Checks", title_justify="left", header_style="bold", expand=False)
    table.add_column("check", no_wrap=True)
    table.add_column("p", justify="right", no_wrap=True)
    table.add_column("evidence", overflow="fold")
    for c in checks.iter_rows(named=True):
        p = format_p(c["p_value"]) if c["p_value"] is not None else "n/a"
        table.add_row(Text(c["check"]), Text(p), Text(visible(c["summary"] or "")))
    if row["p_outcome"] is not None:
        table.add_row(
            Text("= outcome", style="bold"),
            Text(format_p(row["p_outcome"])),
            Text("Bonferroni minimum of the outcome checks"),
        )
    if row["p_mechanism"] is not None:
        table.add_row(
            Text("= mechanism", style="bold"),
            Text(format_p(row["p_mechanism"])),
            Text("Bonferroni minimum of the mechanism checks"),
        )
    console.print(table)

    _timeline(report, account, console)

    clears = [
        (c["check"], c["clear"])
        for c in checks.iter_rows(named=True)
        if c["applicable"] and c["clear"] and c["p_value"] is not None and c["p_value"] <= REASON_P
    ]
    if row["flagged"] and clears:
        console.print(Text("What would clear it", style="bold"))
        for check, text in clears:
            console.print(Text(f"  {check}: {visible(text)}"))
    console.print(
        Text(
            "Usage not followed by merged work in the scanned repositories is a signal for a "
            "conversation, not a verdict.",
            style="dim",
        )
    )


def _timeline(report: AuditReport, account: str, console: Console) -> None:
    days = report.days.filter(pl.col("account") == account)
    outputs = report.outputs.filter(pl.col("account") == account)
    if days.is_empty():
        return
    seen = days["day"].to_list() + outputs["day"].to_list()
    first: date = min(seen)
    last: date = max(seen)
    start = first - timedelta(days=first.weekday())
    tokens = dict(zip(days["day"].to_list(), days["tokens"].to_list(), strict=True))
    status = {
        d: ("censored" if c else "followed" if f else "barren")
        for d, f, c in zip(
            days["day"].to_list(),
            days["followed"].to_list(),
            days["censored"].to_list(),
            strict=True,
        )
    }
    merged = dict(zip(outputs["day"].to_list(), outputs["changes"].to_list(), strict=True))
    peak = max(tokens.values()) or 1
    console.print(
        Text(
            "Timeline (one line a week, Mon→Sun): tokens · merged changes · follow-up", style="bold"
        )
    )
    week = start
    while week <= last:
        line = Text(week.isoformat() + "  ")
        for i in range(7):
            d = week + timedelta(days=i)
            t = tokens.get(d, 0)
            level = 0 if t == 0 else max(1, round(8 * (t / peak) ** 0.5))
            line.append(_BARS[level], style="cyan")
        line.append("  ")
        for i in range(7):
            n = merged.get(week + timedelta(days=i), 0)
            line.append(
                "·" if n == 0 else (str(n) if n < 10 else "+"), style="bold" if n else "dim"
            )
        line.append("  ")
        for i in range(7):
            s = status.get(week + timedelta(days=i))
            glyph, style = _FOLLOW.get(s, (" ", "")) if s else (" ", "")
            line.append(glyph, style=style)
        week_tokens = sum(tokens.get(week + timedelta(days=i), 0) for i in range(7))
        line.append(f"  {human_count(week_tokens):>7}", style="dim")
        console.print(line)
        week += timedelta(days=7)
    console.print(
        Text(
            "f followed by merged work within the window · b barren · c censored (window runs past the data)",
            style="dim",
        )
    )
