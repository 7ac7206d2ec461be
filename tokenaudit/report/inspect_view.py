"""Rendering of `inspect`: a Rich view for people, JSON for machines."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tokenaudit.inspection import Inspection
from tokenaudit.report.sanitize import visible
from tokenaudit.report.table import human_count


def render_inspection_json(inspection: Inspection) -> str:
    return (
        json.dumps(_inert(inspection.as_dict()), ensure_ascii=False, allow_nan=False, indent=2)
        + "\n"
    )


def _inert(value: Any) -> Any:
    """Every string in the document made visible (file names and accounts come from the input)."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {k: _inert(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_inert(v) for v in value]
    return value


def render_inspection(inspection: Inspection, console: Console) -> None:
    table = Table(title="Inputs", title_justify="left", header_style="bold")
    for header, justify in (
        ("file", "left"),
        ("kind", "left"),
        ("detected as", "left"),
        ("rows", "right"),
        ("used", "right"),
        ("rejected", "right"),
        ("from", "left"),
        ("to", "left"),
        ("accounts", "right"),
    ):
        table.add_column(header, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for f in inspection.files:
        table.add_row(
            Text(visible(f.name)),
            Text(f.kind),
            Text(visible(f.detected_as)),
            Text(f"{f.rows:,}"),
            Text(f"{f.used:,}"),
            Text(f"{f.rejected:,}"),
            Text((f.first or "")[:19]),
            Text((f.last or "")[:19]),
            Text(str(f.accounts)),
        )
    console.print(table)
    for f in inspection.files:
        for reason, n in f.rejects_by_reason[:5]:
            console.print(
                Text(f"  {visible(f.name)}: {n:,} rejected: {visible(reason)}", style="yellow")
            )
        if f.note:
            console.print(Text(f"  {visible(f.name)}: {visible(f.note)}", style="dim"))
    _render_skipped(inspection, console)
    c = inspection.coverage
    console.print(
        Text(
            f"Identity coverage: {c.matched} matched of {c.usage_accounts} usage accounts and "
            f"{c.commit_authors} commit authors",
            style="bold",
        )
    )
    for account, tokens in c.usage_without_commits[:10]:
        console.print(
            Text(f"  usage, no merged change: {visible(account)} ({human_count(tokens)} tokens)")
        )
    if len(c.usage_without_commits) > 10:
        console.print(Text(f"  … {len(c.usage_without_commits) - 10} more", style="dim"))
    for author, changes in c.commits_without_usage[:10]:
        console.print(Text(f"  merged changes, no usage: {visible(author)} ({changes} changes)"))
    if len(c.commits_without_usage) > 10:
        console.print(Text(f"  … {len(c.commits_without_usage) - 10} more", style="dim"))


#: Skipped files shown per reason before the rest are summed up (a `~/.claude` holds hundreds
#: of to-do lists); the JSON form lists every one.
_SKIPPED_PER_REASON = 5


def _render_skipped(inspection: Inspection, console: Console) -> None:
    if not inspection.skipped:
        return
    console.print(Text(f"Not read: {len(inspection.skipped)} file(s)", style="bold"))
    by_reason: dict[tuple[bool, str], list[str]] = {}
    for s in inspection.skipped:
        by_reason.setdefault((s.stops_scan, s.reason), []).append(s.name)
    # Files that would stop a scan first: they are the ones to act on.
    for (stops, reason), names in sorted(
        by_reason.items(), key=lambda kv: (not kv[0][0], kv[0][1])
    ):
        style = "red" if stops else "dim"
        why = f"scan stops here: {reason}" if stops else reason
        for name in names[:_SKIPPED_PER_REASON]:
            console.print(Text(f"  {visible(name)}: {visible(why)}", style=style))
        if len(names) > _SKIPPED_PER_REASON:
            more = len(names) - _SKIPPED_PER_REASON
            console.print(Text(f"  … {more} more: {visible(why)}", style=style))
