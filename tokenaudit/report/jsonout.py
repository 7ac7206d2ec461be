"""JSON and NDJSON: the lossless channel. Strict JSON (no NaN), fixed key order,
`schema_version`, run metadata kept apart from the rows, no wall-clock values."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from tokenaudit import __version__
from tokenaudit.report.indented import indented
from tokenaudit.report.interface import RenderContext, Renderer
from tokenaudit.report.sanitize import visible
from tokenaudit.report.values import json_number, report_columns

if TYPE_CHECKING:
    import polars as pl

    from tokenaudit.config import AuditConfig
    from tokenaudit.model import AuditReport

SCHEMA_VERSION = 1
_FLOATS = {
    "score",
    "q_value",
    "cost_usd",
    "tokens_per_line",
    "barren_token_share",
    "excess_tokens_x",
}


class JsonFormat(Renderer):
    name = "json"
    extensions = (".json",)
    hashes_inputs = True

    def render(self, report: AuditReport, ctx: RenderContext) -> str:
        return render_json(report, ctx.cfg, ctx.shown, ctx.run_extra)


class NdjsonFormat(Renderer):
    name = "ndjson"
    extensions = (".ndjson", ".jsonl")
    hashes_inputs = True

    def render(self, report: AuditReport, ctx: RenderContext) -> str:
        return render_ndjson(report, ctx.shown)


def _checks_by_account(report: AuditReport) -> dict[str, list[dict[str, Any]]]:
    """Per account, its checks' results in check order, as JSON shows them (worked out a
    column at a time, as `account_records` is)."""
    rows = report.checks.sort("account", "check")
    columns = [
        rows["check"].to_list(),
        rows["applicable"].to_list(),
        *([json_number(v) for v in rows[c].to_list()] for c in ("statistic", "p_value", "effect")),
        *([visible(v or "") for v in rows[c].to_list()] for c in ("summary", "clear")),
    ]
    keys = ("id", "applicable", "statistic", "p_value", "effect", "summary", "clear")
    out: dict[str, list[dict[str, Any]]] = {}
    for account, *values in zip(rows["account"].to_list(), *columns, strict=True):
        out.setdefault(account, []).append(dict(zip(keys, values, strict=True)))
    return out


def account_records(report: AuditReport) -> list[dict[str, Any]]:
    """One JSON record per account, in rank order.

    NOTE: worked out a column at a time, then zipped into records: a step per field (its kind
    looked up, its value converted and stored) took 0.24 s for 20,000 accounts."""
    checks = _checks_by_account(report)
    suppressions = _suppressions(report)
    accounts = report.accounts.sort("rank")
    names = report_columns(accounts)
    columns = [_json_values(c, accounts[c].to_list()) for c in names]
    more = accounts.select("p_outcome", "p_mechanism", "p_primary", "team", "role", "cohort")
    columns += [[json_number(v) for v in more[c].to_list()] for c in more.columns[:3]]
    columns += [[visible(v) if v else None for v in more[c].to_list()] for c in more.columns[3:]]
    columns.append(accounts["fragile"].to_list())
    keys = [
        *names,
        *("p_outcome", "p_mechanism", "p_excess_tokens", "team", "role", "cohort", "fragile"),
    ]
    ids = accounts["account"].to_list()
    columns.append([checks.get(a, []) for a in ids])
    keys.append("checks")
    if suppressions is not None:
        columns.append([suppressions.get(a) for a in ids])
        keys.append("suppression")
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]


def _json_values(column: str, values: list[Any]) -> list[Any]:
    """A report column's values as JSON shows them: floats rounded (`json_number`), dates as
    ISO text, text made inert (`visible`)."""
    if column in _FLOATS:
        return [json_number(v) for v in values]
    return [
        v.isoformat() if isinstance(v, date) else visible(v) if isinstance(v, str) else v
        for v in values
    ]


def _suppressions(report: AuditReport) -> dict[str, dict[str, Any]] | None:
    """Per account a suppression applies to (or was lifted for): who, why, until, where from,
    the status it had, and why it was lifted; None when the run had no suppressions."""
    if "suppression_owner" not in report.accounts.columns:
        return None
    out = {}
    for r in report.accounts.filter(report.accounts["suppression_owner"].is_not_null()).iter_rows(
        named=True
    ):
        out[r["account"]] = {
            "owner": visible(r["suppression_owner"]),
            "reason": visible(r["suppression_reason"]),
            "until": r["suppression_until"].isoformat(),
            "source": visible(r["suppression_source"]),
            "status_before": r["suppressed_status"],
            "lifted": visible(r["suppression_note"]) if r["suppression_note"] else None,
        }
    return out


def run_metadata(report: AuditReport, cfg: AuditConfig) -> dict[str, Any]:
    return {
        "tool": "tokenaudit",
        "version": __version__,
        "as_of": report.last_day.isoformat() if report.last_day else None,
        "period": {
            "first_day": report.first_day.isoformat() if report.first_day else None,
            "last_day": report.last_day.isoformat() if report.last_day else None,
            "merges_known_until": report.merges_known_until.isoformat()
            if report.merges_known_until
            else None,
        },
        "parameters": {
            "window_days": report.window_days,
            "window": "auto" if report.window_auto else "fixed",
            "since": cfg.since.isoformat() if cfg.since else None,
            "until": cfg.until.isoformat() if cfg.until else None,
            "tz": cfg.tz,
            "assume_tz": cfg.assume_tz,
            "fdr_q": cfg.fdr_q,
            "fdr_method": "BY" if cfg.strict else "BH",
        },
        "inputs": [
            {
                "name": visible(s.name),
                "kind": s.kind,
                "format": s.fmt,
                "rows": s.rows,
                "used": s.used,
                "rejected": s.rejected,
                "zone_less_timestamps": s.zone_less,
                "sha256": s.sha256,
            }
            for s in report.inputs
        ],
        "duplicate_requests": report.duplicate_requests,
        "unmatched": {
            "usage_accounts_without_commits": [visible(a) for a in report.unmatched_usage],
            "commit_authors_without_usage": [visible(a) for a in report.unmatched_authors],
        },
        "pseudonymised": report.pseudonymised,
        "note": "Signals for human review, not a verdict: flags mean usage not followed by merged "
        "work in the scanned repositories."
        + (
            " Accounts are pseudonymised with a keyed hash; pseudonymised data is still personal data."
            if report.pseudonymised
            else ""
        ),
    }


def render_json(
    report: AuditReport,
    cfg: AuditConfig,
    accounts: pl.DataFrame,
    run_extra: dict[str, Any] | None = None,
) -> str:
    trimmed = replace(report, accounts=accounts)
    doc = {
        "schema_version": SCHEMA_VERSION,
        "run": {**run_metadata(report, cfg), **(run_extra or {})},
        "accounts": account_records(trimmed),
    }
    return indented(doc) + "\n"


def render_ndjson(report: AuditReport, accounts: pl.DataFrame) -> str:
    trimmed = replace(report, accounts=accounts)
    return "".join(
        json.dumps(rec, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"
        for rec in account_records(trimmed)
    )
