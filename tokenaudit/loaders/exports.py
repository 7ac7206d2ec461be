"""Real exports: each adapter recognises one vendor format from its content and turns it into
canonical rows (text or numbers under canonical column names, plus `_line`), which then pass the
same validation as any canonical file.

Token semantics are kept right at this boundary (research/formats.md): Anthropic reports
uncached input apart from cache reads, OpenAI's `input_tokens` includes cached tokens (split
here), Anthropic costs are in cents, and a streamed Claude Code message is counted once, by its
fullest line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from tokenaudit.schema import Kind

Records = list[tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class Converted:
    """An export turned into canonical rows."""

    source: str
    kind: Kind
    rows: list[dict[str, Any]]
    #: Canonical columns this source cannot supply, so that they are not required of it.
    optional: frozenset[str] = frozenset()
    #: A one-line note on records that are not rows (not merged, cache hits …), or "".
    note: str = ""
    #: Set when the export is recognised but cannot serve (no per-person data): the reason.
    refuse: str = ""


#: Sources whose rows are daily or bucketed totals, never single requests.
AGGREGATED_SOURCES: Final = frozenset(
    {
        "anthropic-claude-code-analytics",
        "anthropic-usage-report",
        "openai-usage",
        "ccusage-daily",
        "copilot-cli",
    }
)


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _most(records: Records, has: Callable[[dict[str, Any]], bool]) -> bool:
    """A format is recognised when most of its first records look like it: one damaged record
    must not turn a whole export into an unknown file."""
    head = [r for _, r in records[:20]]
    return bool(head) and sum(1 for r in head if has(r)) * 2 >= len(head)


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


# --------------------------------------------------------------------------- usage


def claude_code_transcript(records: Records, doc: Any) -> Converted | None:
    """`~/.claude/projects/**.jsonl`: one line per content block; lines of one message share
    `message.id` + `requestId` and their `output_tokens` grow, so the fullest line counts."""
    if not any("sessionId" in r or "parentUuid" in r for _, r in records[:50]):
        return None
    best: dict[str, tuple[int, dict[str, Any]]] = {}
    order: list[str] = []
    for line, r in records:
        message = r.get("message")
        usage = _get(message, "usage")
        if (
            not isinstance(usage, dict)
            or "input_tokens" not in usage
            or "output_tokens" not in usage
        ):
            continue  # user turns, summaries, gateway partial lines with "usage": {}
        model = _get(message, "model")
        if model == "<synthetic>":
            continue  # client-side error messages: no request was made
        msg_id = _get(message, "id") or ""
        req_id = r.get("requestId") or ""
        key = f"{msg_id}:{req_id}" if msg_id or req_id else f"line:{line}"
        creation = usage.get("cache_creation")
        cache_write = (
            _int(_get(creation, "ephemeral_5m_input_tokens"))
            + _int(_get(creation, "ephemeral_1h_input_tokens"))
            if isinstance(creation, dict)
            else _int(usage.get("cache_creation_input_tokens"))
        )
        row = {
            "timestamp": r.get("timestamp"),
            "input_tokens": usage.get("input_tokens"),
            "output_tokens": usage.get("output_tokens"),
            "cache_read_tokens": _int(usage.get("cache_read_input_tokens")),
            "cache_write_tokens": cache_write,
            "model": model,
            "request_id": key,
            "session_id": r.get("sessionId"),
            "cost_usd": r.get("costUSD"),
        }
        size = (
            _int(row["output_tokens"])
            + _int(row["input_tokens"])
            + cache_write
            + row["cache_read_tokens"]
        )
        if key not in best:
            order.append(key)
            best[key] = (line, row | {"_size": size})
        elif size > best[key][1]["_size"]:
            best[key] = (line, row | {"_size": size})
    rows = [
        {"_line": best[k][0], **{c: v for c, v in best[k][1].items() if c != "_size"}}
        for k in order
    ]
    return Converted("claude-code-transcript", Kind.USAGE, rows, optional=frozenset({"account"}))


def anthropic_claude_code_analytics(records: Records, doc: Any) -> Converted | None:
    """Claude Code Analytics API: one row per actor, UTC day and (remote/local, terminal);
    per-model tokens; `estimated_cost.amount` in cents."""
    if not _most(records, lambda r: "actor" in r and "model_breakdown" in r):
        return None
    rows = []
    for line, r in records:
        actor = r.get("actor") or {}
        account = actor.get("email_address") or actor.get("api_key_name")
        for i, model in enumerate(r.get("model_breakdown") or []):
            tokens = model.get("tokens") or {}
            cents = _get(model, "estimated_cost", "amount")
            rows.append(
                {
                    "_line": line,
                    "timestamp": r.get("date"),
                    "account": account,
                    "input_tokens": tokens.get("input"),
                    "output_tokens": tokens.get("output"),
                    "cache_read_tokens": tokens.get("cache_read"),
                    "cache_write_tokens": tokens.get("cache_creation"),
                    "requests": max(_int(_get(r, "core_metrics", "num_sessions")), 1)
                    if i == 0
                    else 0,
                    "model": model.get("model"),
                    "cost_usd": float(cents) / 100 if isinstance(cents, int | float) else None,
                }
            )
    return Converted("anthropic-claude-code-analytics", Kind.USAGE, rows)


def _refused(source: str, why: str) -> Converted:
    """A recognised export that cannot serve per-person usage, and why."""
    return Converted(source, Kind.USAGE, [], refuse=why)


def anthropic_cost_report(records: Records, doc: Any) -> Converted | None:
    """The cost report has no user dimension: recognised, and refused with the reason."""
    buckets = [r for _, r in records[:20]]
    if not buckets or not all("starting_at" in b and "results" in b for b in buckets):
        return None
    results = [res for b in buckets for res in (b.get("results") or [])]
    if not results or not all("amount" in res and "output_tokens" not in res for res in results):
        return None
    return _refused(
        "anthropic-cost-report",
        "an Anthropic cost report has no per-user dimension; export the usage report "
        "grouped by account_id (GET /v1/organizations/usage_report/messages?group_by[]=account_id)",
    )


def cursor_daily_usage(records: Records, doc: Any) -> Converted | None:
    """Cursor daily usage data counts requests but no tokens: recognised, and refused."""
    if not _most(records, lambda r: "email" in r and "date" in r and "agentRequests" in r):
        return None
    return _refused(
        "cursor-daily-usage",
        "Cursor daily usage data has request counts but no tokens; export the usage events "
        "(filtered-usage-events) instead",
    )


def anthropic_usage_report(records: Records, doc: Any) -> Converted | None:
    """Messages usage report: buckets of results grouped by account, API key or workspace."""
    if not _most(records, lambda r: "starting_at" in r and "results" in r):
        return None
    rows = []
    for line, bucket in records:
        for res in bucket.get("results") or []:
            creation = res.get("cache_creation") or {}
            rows.append(
                {
                    "_line": line,
                    "timestamp": bucket.get("starting_at"),
                    "account": res.get("account_id")
                    or res.get("api_key_id")
                    or res.get("service_account_id"),
                    "input_tokens": res.get("uncached_input_tokens"),
                    "output_tokens": res.get("output_tokens"),
                    "cache_read_tokens": res.get("cache_read_input_tokens"),
                    "cache_write_tokens": _int(creation.get("ephemeral_5m_input_tokens"))
                    + _int(creation.get("ephemeral_1h_input_tokens"))
                    + _int(res.get("cache_creation_5m_input_tokens"))
                    + _int(res.get("cache_creation_1h_input_tokens")),
                    "model": res.get("model"),
                }
            )
    return Converted("anthropic-usage-report", Kind.USAGE, rows)


def openai_usage(records: Records, doc: Any) -> Converted | None:
    """OpenAI usage API (completions): `input_tokens` includes `input_cached_tokens`."""
    if not _most(records, lambda r: "start_time" in r and "results" in r):
        return None
    rows = []
    for line, bucket in records:
        for res in bucket.get("results") or []:
            cached = _int(res.get("input_cached_tokens"))
            total_in = res.get("input_tokens")
            rows.append(
                {
                    "_line": line,
                    "timestamp": bucket.get("start_time"),
                    "account": res.get("user_id") or res.get("api_key_id") or res.get("project_id"),
                    "input_tokens": _int(total_in) - cached if total_in is not None else None,
                    "output_tokens": res.get("output_tokens"),
                    "cache_read_tokens": cached,
                    "requests": res.get("num_model_requests"),
                    "model": res.get("model"),
                }
            )
    return Converted("openai-usage", Kind.USAGE, rows)


def ccusage_daily(records: Records, doc: Any) -> Converted | None:
    """`ccusage daily --json`: local-time days, no identity (the account comes from --account)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("daily"), list):
        return None
    rows = []
    for i, day in enumerate(doc["daily"], start=1):
        if not isinstance(day, dict):
            continue
        rows.append(
            {
                "_line": i,
                "timestamp": day.get("date"),
                "input_tokens": day.get("inputTokens"),
                "output_tokens": day.get("outputTokens"),
                "cache_read_tokens": day.get("cacheReadTokens"),
                "cache_write_tokens": day.get("cacheCreationTokens"),
                "cost_usd": day.get("totalCost"),
            }
        )
    return Converted("ccusage-daily", Kind.USAGE, rows, optional=frozenset({"account"}))


def cursor_usage_events(records: Records, doc: Any) -> Converted | None:
    """Cursor `filtered-usage-events`: epoch-millisecond strings; no event id."""
    if not _most(records, lambda r: "userEmail" in r and "timestamp" in r):
        return None
    rows = []
    for line, r in records:
        usage = r.get("tokenUsage") or {}
        cents = usage.get("totalCents")
        rows.append(
            {
                "_line": line,
                "timestamp": r.get("timestamp"),
                "account": r.get("userEmail"),
                "input_tokens": _int(usage.get("inputTokens")),
                "output_tokens": _int(usage.get("outputTokens")),
                "cache_read_tokens": _int(usage.get("cacheReadTokens")),
                "cache_write_tokens": _int(usage.get("cacheWriteTokens")),
                "model": r.get("model"),
                "cost_usd": float(cents) / 100 if isinstance(cents, int | float) else None,
            }
        )
    return Converted("cursor-usage-events", Kind.USAGE, rows)


def litellm_spend_logs(records: Records, doc: Any) -> Converted | None:
    """LiteLLM `SpendLogs`: cache-hit rows repeat the token counts at zero spend and are not
    usage; the `user` column is often empty, then the key alias, team or hashed key stands in."""
    if not _most(records, lambda r: "starttime" in r and "prompt_tokens" in r):
        return None
    import json

    rows = []
    cache_hits = 0
    for line, r in records:
        if str(r.get("cache_hit") or "").lower() == "true":
            cache_hits += 1
            continue
        meta: Any = r.get("metadata")
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except ValueError:
                meta = {}
        alias = meta.get("user_api_key_alias") if isinstance(meta, dict) else None
        started = r.get("starttime")
        if (
            isinstance(started, str)
            and started
            and not started.endswith("Z")
            and "+" not in started[10:]
        ):
            started += "+00:00"  # LiteLLM writes UTC without saying so
        rows.append(
            {
                "_line": line,
                "timestamp": started,
                "account": r.get("user") or alias or r.get("team_id") or r.get("api_key"),
                "input_tokens": r.get("prompt_tokens"),
                "output_tokens": r.get("completion_tokens"),
                "model": r.get("model"),
                "cost_usd": r.get("spend"),
                "request_id": r.get("request_id"),
                "session_id": r.get("session_id"),
            }
        )
    note = f"{cache_hits} cache-hit rows are not usage" if cache_hits else ""
    return Converted("litellm-spend-logs", Kind.USAGE, rows, note=note)


def codex_session(records: Records, doc: Any) -> Converted | None:
    """Codex CLI rollouts: `token_count` events carry a cumulative total (often repeated) and the
    last request's usage; de-duplicating by the cumulative total and summing the last usage
    reproduces the final total. Older shapes carry no usage at all (zero rows, not an error)."""
    if isinstance(doc, dict) and "session" in doc and isinstance(doc.get("items"), list):
        return Converted(
            "codex-session",
            Kind.USAGE,
            [],
            optional=frozenset({"account"}),
            note="no token usage recorded",
        )
    if not records:
        return None
    head = [r for _, r in records[:5]]
    current = all({"timestamp", "type", "payload"} <= set(r) for r in head)
    legacy = "instructions" in head[0] and "git" in head[0] and "id" in head[0]
    if not (current or legacy):
        return None
    rows: list[dict[str, Any]] = []
    session = model = None
    last_total: Any = None
    for line, r in records:
        payload: dict[str, Any] = r["payload"] if isinstance(r.get("payload"), dict) else {}
        kind = r.get("type")
        if kind == "session_meta":
            session = payload.get("id")
        elif kind == "turn_context":
            model = payload.get("model") or model
        elif kind == "event_msg" and payload.get("type") == "token_count":
            info = payload.get("info")
            if not isinstance(info, dict):
                continue  # the first event can have info: null
            total = info.get("total_token_usage")
            if total == last_total:
                continue  # a repeated cumulative total is the same request reported again
            last_total = total
            last = info.get("last_token_usage") or {}
            cached = _int(last.get("cached_input_tokens"))
            rows.append(
                {
                    "_line": line,
                    "timestamp": r.get("timestamp"),
                    "input_tokens": _int(last.get("input_tokens")) - cached,
                    "output_tokens": _int(last.get("output_tokens")),
                    "cache_read_tokens": cached,
                    "model": model,
                    "session_id": session,
                }
            )
    note = "" if rows else "no token usage recorded"
    return Converted("codex-session", Kind.USAGE, rows, optional=frozenset({"account"}), note=note)


def copilot_user_report(records: Records, doc: Any) -> Converted | None:
    """GitHub Copilot per-user daily report (NDJSON): only CLI usage carries tokens, and its
    prompt tokens include cached ones (no split is given)."""
    if not _most(records, lambda r: "user_login" in r and "day" in r):
        return None
    rows = []
    without = 0
    for line, r in records:
        cli = r.get("totals_by_cli")
        usage = _get(cli, "token_usage")
        if not isinstance(usage, dict):
            without += 1
            continue
        rows.append(
            {
                "_line": line,
                "timestamp": r.get("day"),
                "account": r.get("user_login"),
                "input_tokens": usage.get("prompt_tokens_sum"),
                "output_tokens": usage.get("output_tokens_sum"),
                "requests": _get(cli, "request_count"),
            }
        )
    note = f"{without} user-days without CLI token data" if without else ""
    return Converted("copilot-cli", Kind.USAGE, rows, note=note)


def copilot_report_envelope(records: Records, doc: Any) -> Converted | None:
    if not isinstance(doc, dict) or "download_links" not in doc:
        return None
    return _refused(
        "copilot-report-envelope",
        "this is the Copilot report envelope; download the NDJSON files its download_links name",
    )


# --------------------------------------------------------------------------- commits


def gh_pr_list(records: Records, doc: Any) -> Converted | None:
    """`gh pr list --json …`: only merged pull requests are merged work."""
    if not _most(records, lambda r: "number" in r and ("mergedAt" in r or "mergedat" in r)):
        return None
    rows = []
    skipped = 0
    for line, r in records:
        merged = r.get("mergedAt")
        if not merged:
            skipped += 1
            continue
        author = r.get("author") or {}
        login = author.get("login")
        if author.get("is_bot") and login and not login.endswith("[bot]"):
            login = f"{login}[bot]"
        url = r.get("url") or ""
        repo = "/".join(url.split("/")[3:5]) if url.count("/") >= 4 else None
        rows.append(
            {
                "_line": line,
                "merged_at": merged,
                "author": login,
                "lines_added": r.get("additions"),
                "lines_deleted": r.get("deletions"),
                "pr_id": f"{repo or ''}#{r.get('number')}",
                "sha": _get(r, "mergeCommit", "oid"),
                "files_changed": r.get("changedFiles"),
                "message": r.get("title"),
                "repo": repo,
            }
        )
    note = f"{skipped} pull requests not merged" if skipped else ""
    return Converted(
        "gh-pr-list", Kind.COMMITS, rows, optional=frozenset({"lines_added"}), note=note
    )


def gitlab_merge_requests(records: Records, doc: Any) -> Converted | None:
    """GitLab merge requests API: list items carry no line counts (size unknown, still a change)."""
    if not _most(records, lambda r: "iid" in r and "merged_at" in r):
        return None
    rows = []
    skipped = 0
    for line, r in records:
        if r.get("state") != "merged" or not r.get("merged_at"):
            skipped += 1
            continue
        rows.append(
            {
                "_line": line,
                "merged_at": r.get("merged_at"),
                "author": _get(r, "author", "username"),
                "pr_id": f"{r.get('project_id')}!{r.get('iid')}",
                "sha": r.get("squash_commit_sha") or r.get("merge_commit_sha") or r.get("sha"),
                "message": r.get("title"),
                "repo": str(r.get("project_id")),
            }
        )
    note = f"{skipped} merge requests not merged" if skipped else ""
    return Converted(
        "gitlab-merge-requests", Kind.COMMITS, rows, optional=frozenset({"lines_added"}), note=note
    )


# --------------------------------------------------------------------------- identities


def org_users(records: Records, doc: Any) -> Converted | None:
    """Anthropic or OpenAI organisation user lists: provider user id → e-mail."""
    if not _most(records, lambda r: "id" in r and "email" in r):
        return None
    rows = [{"_line": line, "alias": r.get("id"), "account": r.get("email")} for line, r in records]
    return Converted("org-users", Kind.IDENTITIES, rows)


ADAPTERS: Final[tuple[Callable[[Records, Any], Converted | None], ...]] = (
    claude_code_transcript,
    anthropic_claude_code_analytics,
    anthropic_cost_report,
    anthropic_usage_report,
    cursor_daily_usage,
    openai_usage,
    ccusage_daily,
    codex_session,
    copilot_user_report,
    copilot_report_envelope,
    cursor_usage_events,
    litellm_spend_logs,
    gh_pr_list,
    gitlab_merge_requests,
    org_users,
)


def convert(records: Records, doc: Any) -> Converted | None:
    """The first adapter that recognises the content, or None for canonical (flat) files."""
    for adapter in ADAPTERS:
        converted = adapter(records, doc)
        if converted is not None:
            return converted
    return None


def rows_frame(converted: Converted) -> pl.DataFrame:
    """Canonical rows as text columns (numbers written as JSON numbers), with `_line`."""
    import json

    from tokenaudit.schema import COMMITS_SCHEMA, IDENTITY_SCHEMA, USAGE_SCHEMA

    schema_of = {
        Kind.USAGE: USAGE_SCHEMA,
        Kind.COMMITS: COMMITS_SCHEMA,
        Kind.IDENTITIES: IDENTITY_SCHEMA,
    }
    # An export with no rows still has its columns, so that it reads as empty, not as malformed.
    names: dict[str, None] = {} if converted.rows else dict.fromkeys(schema_of[converted.kind])
    for row in converted.rows:
        for key in row:
            if key != "_line":
                names.setdefault(key, None)
    data: dict[str, list[Any]] = {n: [] for n in names}
    for row in converted.rows:
        for n in names:
            value = row.get(n)
            data[n].append(
                None if value is None else value if isinstance(value, str) else json.dumps(value)
            )
    data["_line"] = [row["_line"] for row in converted.rows]
    schema: dict[str, Any] = {n: pl.String for n in names} | {"_line": pl.Int64}
    return pl.DataFrame(data, schema=schema)
