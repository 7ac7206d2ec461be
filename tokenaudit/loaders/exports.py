"""Real exports: each adapter recognises one vendor format from its content and turns it into
canonical rows (text or numbers under canonical column names, plus `_line`), which then pass the
same validation as any canonical file.

Token semantics are kept right at this boundary (README, "Real exports"): Anthropic reports
uncached input apart from cache reads, OpenAI's `input_tokens` includes cached tokens (split
here), Anthropic costs are in cents, and a streamed Claude Code message is counted once, by its
fullest line.

Adapters tolerate drift: unknown fields are ignored, missing optional sections are counted in the
note, numbers written as strings are read as numbers (a token value that is no number is passed
on as it is, so that validation rejects the row and names it, never read as 0), and new enum
values (line types, kinds, states) are read or skipped, never fatal. Files that sit beside the
logs (Claude Code settings, subagent sidecars, prompt histories …) are refused with what they
are, which a scanned directory turns into a skip with a note.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Final

import polars as pl

from tokenaudit.rejects import Reason, RejectCode
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
    #: What the pages of a paginated listing say of it: "continues" (every page says more
    #: follow), "ends" (a page says none do) or "" (no pages, or they do not say).
    listing: str = ""
    #: Set when the export is recognised but cannot serve (no per-person data): the reason.
    refuse: str = ""
    #: Records recognised but unusable, each with its reason: (line, reason). They are rejects
    #: like any other (counted, listed by --rejects), never silently dropped.
    rejects: tuple[tuple[int, str], ...] = ()


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _obj(value: Any) -> dict[str, Any]:
    """A JSON object, or {} for a section that is missing, null or of another type."""
    return value if isinstance(value, dict) else {}


def _most(records: Records, has: Callable[[dict[str, Any]], bool]) -> bool:
    """A format is recognised when most of its first records look like it: one damaged record
    must not turn a whole export into an unknown file."""
    head = [r for _, r in records[:20]]
    return bool(head) and sum(1 for r in head if has(r)) * 2 >= len(head)


_DIGITS: Final = re.compile(r"^\s*[+-]?\d+\s*$")
_NUMBER: Final = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
#: A time that says its zone: `Z` or an offset (`+02:00`, `-0500`, `-05`) at its end.
_ZONED: Final = re.compile(r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")
#: `cache_hit` as LiteLLM writes it (True) and as a Postgres CSV copy of the table does (t).
_TRUE: Final = frozenset({"true", "t", "1", "yes", "y"})


def _number(value: Any) -> float | None:
    """A JSON number, or a number written as a string (exports drift between the two)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value.strip())
    return None


def _int(value: Any) -> int:
    """A count where a missing value means 0 (sizes, session counts); never used for a token
    column, where a value that is not a number must be rejected, not read as 0 (see `_count`)."""
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else 0


def _count(value: Any) -> Any:
    """A token count for the canonical row: a whole number (strings like "12" included), None
    when absent, or the value as it was, so that validation rejects it and names it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value  # exact, however large (a float would round past 2**53)
    if isinstance(value, str) and _DIGITS.match(value):
        return int(value)
    number = _number(value)
    if number is not None and number.is_integer():
        return int(number)
    return value


def _add(*values: Any) -> Any:
    """The sum of several counts (absent ones are 0), or the first value that is not a count,
    so that validation rejects the row naming it; None when all are absent."""
    present = [_count(v) for v in values if v is not None]
    if not present:
        return None
    for v in present:
        if not isinstance(v, int):
            return v
    return sum(present)


class _RowKeys:
    """Ids for the rows of an export that has none (reports of account × period, events
    without an event id), so that a row downloaded twice counts once: two overlapping
    downloads of one report, or a weekly pull of "the last 7 days", repeat rows, and a repeated
    `request_id` counts once. An id is the source and the whole row as the export gave it
    (its period, every group field and every amount), plus how many rows before it in the same
    file were the same: a file that itself holds two such rows keeps both; a second file with
    the same rows matches them one by one.

    The amounts are part of it because the fields that name a group do not say everything a
    download was filtered by: OpenAI's usage for one project, or Anthropic's for one
    workspace, not grouped by it, gives the same user and day in each file with that field
    null, and those are different tokens. A period downloaded while it was still running and
    again when complete is therefore counted twice (its first, partial row too), and nothing
    in the rows can tell the two cases apart; README says not to keep a partial download
    beside a complete one. Of the two errors, charging a person with a project's tokens twice
    was chosen over dropping another project's tokens, which no reader of the report could
    ever see.

    NOTE: without ids, an Anthropic, OpenAI, Copilot or Cursor report scanned beside an
    overlapping download of itself counted its tokens twice, in silence."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._seen: Counter[str] = Counter()

    def __call__(self, *parts: Any) -> str:
        text = json.dumps([self._source, *parts], sort_keys=True, default=str)
        before = self._seen[text]
        self._seen[text] += 1
        return f"{text}#{before}"


def _dollars_from_cents(cents: Any) -> float | None:
    number = _number(cents)
    return number / 100 if number is not None else None


# --------------------------------------------------------------------------- usage


#: Line types that only Claude Code transcripts write: a file made of them alone (a session with
#: only summaries, say) is still a transcript, with no requests in it.
_CLAUDE_ONLY_LINE_TYPES: Final = frozenset(
    {"summary", "file-history-snapshot", "queue-operation", "ai-title", "last-prompt"}
)


def _is_claude_line(r: dict[str, Any]) -> bool:
    return (
        "sessionId" in r
        or "parentUuid" in r
        or "leafUuid" in r
        or r.get("type") in _CLAUDE_ONLY_LINE_TYPES
    )


def _is_request_line(r: dict[str, Any]) -> bool:
    """Only assistant messages are requests. Every other line type (user turns, summaries,
    progress lines that echo a subagent's messages, system notes, attachments, titles, and
    any type a later Claude Code version adds) is skipped as a whole, never rejected line by
    line: a new line type must not turn a good transcript into a refused one."""
    kind = r.get("type")
    if kind is None:  # very old lines had no type: the message's role says what it is
        return bool(_get(r, "message", "role") == "assistant")
    return bool(kind == "assistant")


def claude_code_transcript(records: Records, doc: Any) -> Converted | None:
    """`~/.claude/projects/**.jsonl`: one line per content block; lines of one message share
    `message.id` + `requestId` and their `output_tokens` grow, so the fullest line counts."""
    if not any(_is_claude_line(r) for _, r in records[:50]):
        return None
    return Converted(
        "claude-code-transcript",
        Kind.USAGE,
        claude_code_rows(records),
        optional=frozenset({"account"}),
    )


def claude_code_rows(records: Iterable[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The rows of a Claude Code transcript's records (lines that are not requests may be left
    out beforehand: they make no row): the fullest line of each message + request id, in order
    of first appearance. Only the winning lines are turned into rows."""
    best: dict[str, tuple[int, dict[str, Any], int]] = {}
    for line, r in records:
        if not _is_request_line(r):
            continue
        message = r.get("message")
        if not isinstance(message, dict):
            continue  # no usage
        usage = message.get("usage")
        if (
            not isinstance(usage, dict)
            or "input_tokens" not in usage
            or "output_tokens" not in usage
        ):
            continue  # gateway partial lines with "usage": {}
        if message.get("model") == "<synthetic>":
            continue  # client-side error messages: no request was made
        msg_id = message.get("id") or ""
        req_id = r.get("requestId") or ""
        key = f"{msg_id}:{req_id}" if msg_id or req_id else f"line:{line}"
        size = _claude_size(usage)
        kept = best.get(key)
        if kept is None or size > kept[2]:
            best[key] = (line, r, size)  # a dict keeps its keys in order of first appearance
    return [{"_line": line, **_claude_row(r, key)} for key, (line, r, _) in best.items()]


#: Whole numbers below this are exact as floats: `_int` of them is themselves.
_EXACT: Final = 1 << 53


def _size_of(value: Any) -> int:
    """`_int(_count(value))`: what a count adds to a line's size (0 for no count)."""
    if type(value) is int and -_EXACT < value < _EXACT:
        return value
    return _int(_count(value))


def _claude_size(usage: dict[str, Any]) -> int:
    """input + output + cache read + cache write of a line, as its row would sum them."""
    creation = usage.get("cache_creation")
    if isinstance(creation, dict):
        five, hour = (
            creation.get("ephemeral_5m_input_tokens"),
            creation.get("ephemeral_1h_input_tokens"),
        )
        if (five is None or type(five) is int) and (hour is None or type(hour) is int):
            write = _size_of((five or 0) + (hour or 0))
        else:
            write = _int(_add(five, hour))
    else:
        write = _size_of(usage.get("cache_creation_input_tokens"))
    return (
        _size_of(usage.get("input_tokens"))
        + _size_of(usage.get("output_tokens"))
        + _size_of(usage.get("cache_read_input_tokens"))
        + write
    )


def _claude_row(r: dict[str, Any], key: str) -> dict[str, Any]:
    message = r.get("message")
    usage: dict[str, Any] = _get(message, "usage")
    creation = usage.get("cache_creation")
    cache_write = (
        _add(
            _get(creation, "ephemeral_5m_input_tokens"),
            _get(creation, "ephemeral_1h_input_tokens"),
        )
        if isinstance(creation, dict)
        else _count(usage.get("cache_creation_input_tokens"))
    )
    one_hour = _get(creation, "ephemeral_1h_input_tokens") if isinstance(creation, dict) else None
    return {
        "timestamp": r.get("timestamp"),
        "input_tokens": _count(usage.get("input_tokens")),
        "output_tokens": _count(usage.get("output_tokens")),
        "cache_read_tokens": _count(usage.get("cache_read_input_tokens")),
        "cache_write_tokens": cache_write,
        # The part of the writes cached for an hour (priced at 2× input, not 1.25×).
        "cache_write_1h_tokens": _count(one_hour),
        "model": _get(message, "model"),
        "request_id": key,
        "session_id": r.get("sessionId"),
        "cost_usd": r.get("costUSD"),
    }


# --------------------------------------------------------------------------- not logs
#
# Files that sit beside the logs in `~/.claude` or `~/.codex` and are recognisably something
# else. They are refused with what they are, so that a scanned directory skips them with a
# note instead of stopping, and `inspect` can say why each was left out.


def claude_subagent_sidecar(records: Records, doc: Any) -> Converted | None:
    """`subagents/agent-<id>.meta.json`: the subagent's type and task, beside its transcript."""
    if not isinstance(doc, dict) or "agentType" not in doc or records:
        return None
    return _refused(
        "claude-code-subagent-meta",
        "a Claude Code subagent's description (agent-<id>.meta.json), not a log; its usage is "
        "in the agent-<id>.jsonl beside it",
    )


#: Keys of Claude Code's settings.json (user, project and local); two of them identify it.
_CLAUDE_SETTINGS_KEYS: Final = frozenset(
    {
        "permissions",
        "hooks",
        "env",
        "model",
        "statusLine",
        "enabledPlugins",
        "includeCoAuthoredBy",
        "attribution",
        "apiKeyHelper",
        "cleanupPeriodDays",
        "outputStyle",
        "alwaysThinkingEnabled",
        "enableAllProjectMcpServers",
        "enabledMcpjsonServers",
        "forceLoginMethod",
        "awsAuthRefresh",
        "feedbackSurveyState",
        "theme",
        "$schema",
    }
)


def claude_settings(records: Records, doc: Any) -> Converted | None:
    if not isinstance(doc, dict) or records:
        return None
    if len(_CLAUDE_SETTINGS_KEYS & set(doc)) < 2 and not isinstance(doc.get("permissions"), dict):
        return None
    return _refused("claude-code-settings", "Claude Code settings, not a log")


def claude_stats_cache(records: Records, doc: Any) -> Converted | None:
    """`~/.claude/stats-cache.json` (what /stats shows): day totals per model without the
    input/output/cache split, computed from the transcripts beside it."""
    if not isinstance(doc, dict) or not ({"dailyModelTokens", "dailyActivity"} & set(doc)):
        return None
    return _refused(
        "claude-code-stats-cache",
        "Claude Code's /stats cache: totals recomputed from the transcripts beside it (reading "
        "both would count the same tokens twice)",
    )


def prompt_history(records: Records, doc: Any) -> Converted | None:
    """`~/.claude/history.jsonl` and `~/.codex/history.jsonl`: the prompts typed, no usage."""
    claude = _most(records, lambda r: "display" in r and "project" in r and "message" not in r)
    codex = _most(records, lambda r: {"session_id", "ts", "text"} <= set(r))
    if not (claude or codex):
        return None
    tool = "Claude Code" if claude else "Codex"
    return _refused(
        f"{tool.split()[0].lower()}-prompt-history", f"{tool} prompt history: no tokens"
    )


def claude_todos(records: Records, doc: Any) -> Converted | None:
    """`~/.claude/todos/*.json`: a session's to-do list."""
    if not _most(records, lambda r: "content" in r and "status" in r and "activeForm" in r):
        return None
    return _refused("claude-code-todos", "a Claude Code to-do list, not a log")


def json_document_without_records(records: Records, doc: Any) -> Converted | None:
    """A JSON object with no list anywhere at its top (plugin lists, version files, IDE locks,
    credentials): configuration, not a log. Tried last, after every export that is such an
    object. Only the key names are shown, never values (they may be secrets)."""
    if records or not isinstance(doc, dict) or any(isinstance(v, list) for v in doc.values()):
        return None
    keys = sorted(str(k) for k in doc)
    shown = ", ".join(keys[:6]) + (" …" if len(keys) > 6 else "")
    return _refused(
        "json-document",
        f"a JSON document with no list of records (keys: {shown or 'none'}), not a log",
    )


def anthropic_claude_code_analytics(records: Records, doc: Any) -> Converted | None:
    """Claude Code Analytics API: one row per actor, UTC day and (remote/local, terminal);
    per-model tokens; `estimated_cost.amount` in cents."""
    if not _most(records, lambda r: "actor" in r and "model_breakdown" in r):
        return None
    rows = []
    without = 0
    key = _RowKeys("anthropic-claude-code-analytics")
    for line, r in records:
        actor = _obj(r.get("actor"))
        # A new actor type is read by whichever identity field it carries.
        account = actor.get("email_address") or actor.get("api_key_name")
        breakdown = [m for m in (r.get("model_breakdown") or []) if isinstance(m, dict)]
        if not breakdown:
            without += 1  # an actor-day with sessions but no per-model tokens: no usage row
        for i, model in enumerate(breakdown):
            tokens = _obj(model.get("tokens"))
            rows.append(
                {
                    "_line": line,
                    "timestamp": r.get("date"),
                    "account": account,
                    "input_tokens": _count(tokens.get("input")),
                    "output_tokens": _count(tokens.get("output")),
                    "cache_read_tokens": _count(tokens.get("cache_read")),
                    "cache_write_tokens": _count(tokens.get("cache_creation")),
                    "requests": max(_int(_get(r, "core_metrics", "num_sessions")), 1)
                    if i == 0
                    else 0,
                    "model": model.get("model"),
                    "cost_usd": _dollars_from_cents(_get(model, "estimated_cost", "amount")),
                    "request_id": key(r.get("date"), actor, r, model),
                }
            )
    note = f"{without} actor-days without a model breakdown (no tokens)" if without else ""
    return Converted("anthropic-claude-code-analytics", Kind.USAGE, rows, note=note)


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
    key = _RowKeys("anthropic-usage-report")
    for line, bucket in records:
        for res in bucket.get("results") or []:
            if not isinstance(res, dict):
                continue
            creation = _obj(res.get("cache_creation"))
            rows.append(
                {
                    "_line": line,
                    "timestamp": bucket.get("starting_at"),
                    "account": res.get("account_id")
                    or res.get("api_key_id")
                    or res.get("service_account_id"),
                    "input_tokens": _count(res.get("uncached_input_tokens")),
                    "output_tokens": _count(res.get("output_tokens")),
                    "cache_read_tokens": _count(res.get("cache_read_input_tokens")),
                    # Both cache windows, nested (the API) or flattened (some client libraries).
                    "cache_write_tokens": _add(
                        creation.get("ephemeral_5m_input_tokens"),
                        creation.get("ephemeral_1h_input_tokens"),
                        res.get("cache_creation_5m_input_tokens"),
                        res.get("cache_creation_1h_input_tokens"),
                    ),
                    "cache_write_1h_tokens": _add(
                        creation.get("ephemeral_1h_input_tokens"),
                        res.get("cache_creation_1h_input_tokens"),
                    ),
                    "model": res.get("model"),
                    "request_id": key(bucket.get("starting_at"), bucket.get("ending_at"), res),
                }
            )
    if rows and all(row["account"] is None for row in rows):
        return _refused(
            "anthropic-usage-report",
            "an Anthropic usage report not grouped by account, API key or service account: "
            "nobody to credit it to; export it grouped (group_by[]=account_id)",
        )
    return Converted("anthropic-usage-report", Kind.USAGE, rows)


def openai_usage(records: Records, doc: Any) -> Converted | None:
    """OpenAI usage API (completions): `input_tokens` includes `input_cached_tokens`."""
    if not _most(records, lambda r: "start_time" in r and "results" in r):
        return None
    results = [res for _, b in records[:20] for res in (b.get("results") or [])]
    if results and all(
        isinstance(res, dict) and "amount" in res and "input_tokens" not in res for res in results
    ):
        return _refused(
            "openai-costs",
            "an OpenAI costs report has dollars but no tokens and no per-user dimension; export "
            "the completions usage grouped by user (GET /v1/organization/usage/completions"
            "?group_by=user_id)",
        )
    rows = []
    key = _RowKeys("openai-usage")
    for line, bucket in records:
        for res in bucket.get("results") or []:
            if not isinstance(res, dict):
                continue
            cached = _count(res.get("input_cached_tokens"))
            # Newer results count cache writes (30-minute and 12-hour retention) apart, and
            # `input_tokens` then includes them as well as the cached tokens.
            written = _add(
                res.get("input_cache_write_tokens"), res.get("input_cache_write_12h_tokens")
            )
            total_in = _count(res.get("input_tokens"))
            uncached: Any = total_in
            if isinstance(total_in, int):
                parts = [p for p in (cached, written) if p is not None]
                bad = next((p for p in parts if not isinstance(p, int)), None)
                uncached = bad if bad is not None else total_in - sum(parts)
            rows.append(
                {
                    "_line": line,
                    "timestamp": bucket.get("start_time"),
                    "account": res.get("user_id") or res.get("api_key_id") or res.get("project_id"),
                    "input_tokens": uncached,
                    "output_tokens": _count(res.get("output_tokens")),
                    "cache_read_tokens": cached,
                    "cache_write_tokens": written,
                    "requests": _count(res.get("num_model_requests")),
                    "model": res.get("model"),
                    "request_id": key(bucket.get("start_time"), bucket.get("end_time"), res),
                }
            )
    if rows and all(row["account"] is None for row in rows):
        return _refused(
            "openai-usage",
            "OpenAI usage not grouped by user, API key or project (no user_id, api_key_id or "
            "project_id in any result): nobody to credit it to; export it with group_by=user_id",
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
                "input_tokens": _count(day.get("inputTokens")),
                "output_tokens": _count(day.get("outputTokens")),
                "cache_read_tokens": _count(day.get("cacheReadTokens")),
                "cache_write_tokens": _count(day.get("cacheCreationTokens")),
                "cost_usd": day.get("totalCost"),
            }
        )
    return Converted("ccusage-daily", Kind.USAGE, rows, optional=frozenset({"account"}))


def cursor_usage_events(records: Records, doc: Any) -> Converted | None:
    """Cursor `filtered-usage-events`: epoch-millisecond strings; no event id."""
    if not _most(records, lambda r: "userEmail" in r and "timestamp" in r):
        return None
    rows = []
    without = 0
    key = _RowKeys("cursor-usage-events")
    for line, r in records:
        usage = r.get("tokenUsage")
        if not isinstance(usage, dict):
            # Request-priced calls (isTokenBasedCall false) carry no token counts: the request
            # happened (its timing counts) with no tokens reported.
            without += 1
            usage = {}
        cents = usage.get("totalCents")
        rows.append(
            {
                "_line": line,
                "timestamp": r.get("timestamp"),
                "account": r.get("userEmail"),
                "input_tokens": _count(usage.get("inputTokens")) or 0,
                "output_tokens": _count(usage.get("outputTokens")) or 0,
                "cache_read_tokens": _count(usage.get("cacheReadTokens")) or 0,
                "cache_write_tokens": _count(usage.get("cacheWriteTokens")) or 0,
                "model": r.get("model"),
                "cost_usd": _dollars_from_cents(cents),
                "request_id": key(r.get("timestamp"), r.get("userEmail"), r.get("model"), usage),
            }
        )
    note = f"{without} events without token counts (request-priced)" if without else ""
    return Converted("cursor-usage-events", Kind.USAGE, rows, note=note)


# Cursor's dashboard CSV (`usage-events-YYYY-MM-DD.csv`). Header names are compared with
# everything but letters and digits dropped, so that the raw header and the reader's
# normalised one (`input_(w/_cache_write)`) are the same key.
_CURSOR_CACHE_WRITE: Final = "inputwcachewrite"
_CURSOR_INPUT: Final = "inputwocachewrite"
_CURSOR_TOKEN_COLUMNS: Final = (
    (_CURSOR_CACHE_WRITE, "Input (w/ Cache Write)", "cache_write_tokens"),
    (_CURSOR_INPUT, "Input (w/o Cache Write)", "input_tokens"),
    ("cacheread", "Cache Read", "cache_read_tokens"),
    ("outputtokens", "Output Tokens", "output_tokens"),
)
#: User columns of team exports, most specific first.
_CURSOR_USER_COLUMNS: Final = ("useremail", "email", "user", "username")
#: Kinds seen in real exports. Any other kind is read the same way and counted in the note.
_CURSOR_KINDS: Final = frozenset(
    {
        "included",
        "free",
        "errored, no charge",
        "aborted, not charged",
        "on-demand",
        "usage-based",
        "user api key",
        "included in business",
        "included in pro",
    }
)
#: Cells that mean "no number here": the token or cost columns of rows Cursor did not meter.
_CURSOR_BLANK: Final = frozenset({"", "-", "free", "included"})


def _header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _is_cursor_csv(keys: set[str]) -> bool:
    # NOTE: `Kind` is not required: the oldest layout (`Date,Model,Input (w/ Cache Write),
    # Input (w/o Cache Write),Cache Read,Output Tokens,Total Tokens,Cost,Cost to you`) has none,
    # and was read as a canonical CSV without an account (exit 65 even with --account).
    return {"date", "model", "totaltokens"} <= keys and (
        _CURSOR_CACHE_WRITE in keys or _CURSOR_INPUT in keys
    )


def is_csv_export(columns: Iterable[str]) -> bool:
    """Whether a CSV header (raw or normalised names) is a vendor export that `convert` maps:
    LiteLLM spend logs or Cursor's dashboard usage CSV. Other CSV files are read as canonical."""
    names = {str(c) for c in columns}
    return {"starttime", "prompt_tokens"} <= names or _is_cursor_csv(
        {_header_key(c) for c in names}
    )


def _cursor_cell(value: Any) -> int | str | None:
    """A token cell: a whole number, None for a blank ("", "-", "Free"), or the text itself
    when it is neither (the row is then rejected, naming it)."""
    text = "" if value is None else str(value).strip()
    if text.lower() in _CURSOR_BLANK:
        return None
    number = _number(text.replace(",", ""))
    if number is not None and number.is_integer() and number >= 0:
        return int(number)
    return text


def _cursor_problem(cells: dict[str, int | str | None], total: int | str | None) -> Reason | None:
    """Why a Cursor CSV row cannot be used (a cell that is no count, or counts that do not add
    up to `Total Tokens`), or None."""
    for _, label, col in _CURSOR_TOKEN_COLUMNS:
        if isinstance(cells[col], str):
            return Reason(
                RejectCode.BAD_NUMBER, f"column '{label}': not a token count '{cells[col]}'"
            )
    if isinstance(total, str):
        return Reason(RejectCode.BAD_NUMBER, f"column 'Total Tokens': not a token count '{total}'")
    parts = sum(v for v in cells.values() if isinstance(v, int))
    if isinstance(total, int) and parts != total:
        return Reason(
            RejectCode.INCONSISTENT_TOTAL,
            "token columns do not add up: Input (w/ Cache Write) + Input (w/o Cache Write) "
            f"+ Cache Read + Output Tokens = {parts}, Total Tokens = {total}",
        )
    return None


def cursor_usage_csv(records: Records, doc: Any) -> Converted | None:
    """Cursor dashboard usage CSV, oldest (`Date,Model,…,Total Tokens,Cost,Cost to you`, no
    `Kind`), older (`…,Total Tokens,Cost`) and newer (`Date,Cloud Agent ID,Automation ID,…,Total
    Tokens,Requests`) layouts; team exports add a user column. `Cost` is the request's price,
    `Cost to you` what the plan billed of it: the price is kept.

    Each row is one request. "Input (w/ Cache Write)" is the cache write, "Input (w/o Cache
    Write)" the plain input; with Cache Read and Output Tokens they add up to Total Tokens,
    which is checked on every row (a row that does not add up is rejected with both sums).
    Tokens are recorded as reported whatever the kind: errored, aborted and free requests ran
    the model, they were only not billed. Blank, "-" and "Free" token cells are no tokens.
    `Requests` is Cursor's billing unit (0.5, 2, "Free"), not a count, so each row is one
    request; `Cost` is kept when it is a dollar amount and is unknown otherwise ("Included")."""
    if not records:
        return None
    keys = {_header_key(str(k)) for k in records[0][1]}
    if not _is_cursor_csv(keys):
        return None
    user_keys = [k for k in _CURSOR_USER_COLUMNS if k in keys]
    rows: list[dict[str, Any]] = []
    rejects: list[tuple[int, str]] = []
    kinds: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    no_tokens = 0
    key = _RowKeys("cursor-usage-csv")
    for line, raw in records:
        r = {_header_key(str(k)): v for k, v in raw.items()}
        kind = str(r.get("kind") or "").strip()
        kinds[kind.lower()] += 1
        if "kind" in keys and kind.lower() not in _CURSOR_KINDS:
            unknown[kind or "(blank)"] += 1
        cells = {col: _cursor_cell(r.get(key)) for key, _, col in _CURSOR_TOKEN_COLUMNS}
        total = _cursor_cell(r.get("totaltokens"))
        bad = _cursor_problem(cells, total)
        if bad is not None:
            rejects.append((line, bad))
            continue
        if all(v is None for v in cells.values()) and total is None:
            no_tokens += 1
        cost_text = str(r.get("cost") or "").strip().replace("$", "").replace(",", "")
        row: dict[str, Any] = {
            "_line": line,
            "timestamp": r.get("date"),
            **{col: cells[col] or 0 for _, _, col in _CURSOR_TOKEN_COLUMNS},
            "requests": 1,
            "model": r.get("model"),
            "cost_usd": _number(cost_text),
            # The user is not part of it: a person's own export and the team's name one
            # request the same (the account, resolved, is part of every request's key).
            "request_id": key(r.get("date"), r.get("model"), kind, cells, total),
        }
        if user_keys:
            row["account"] = next((r[k] for k in user_keys if r.get(k)), None)
        rows.append(row)
    notes = []
    unbilled = kinds["errored, no charge"] + kinds["aborted, not charged"]
    if unbilled:
        notes.append(f"{unbilled} errored or aborted requests counted with their tokens")
    if no_tokens:
        notes.append(f"{no_tokens} requests report no tokens")
    if unknown:
        listed = ", ".join(f"'{k}' ×{n}" for k, n in sorted(unknown.items()))
        notes.append(f"kinds not seen before, read like the others: {listed}")
    return Converted(
        "cursor-usage-csv",
        Kind.USAGE,
        rows,
        optional=frozenset() if user_keys else frozenset({"account"}),
        note="; ".join(notes),
        rejects=tuple(rejects),
    )


def litellm_spend_logs(records: Records, doc: Any) -> Converted | None:
    """LiteLLM `SpendLogs`: cache-hit rows repeat the token counts at zero spend and are not
    usage; the `user` column is often empty, then the key alias, team or hashed key stands in."""
    # The CSV reader has lower-cased the header; the JSON of `/spend/logs` says `startTime`.
    if not _most(records, lambda r: {"starttime", "prompt_tokens"} <= {str(k).lower() for k in r}):
        return None
    records = [(line, {str(k).lower(): v for k, v in r.items()}) for line, r in records]

    rows = []
    cache_hits = 0
    for line, r in records:
        if str(r.get("cache_hit") or "").strip().lower() in _TRUE:
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
        if isinstance(started, str) and started and not _ZONED.search(started[10:]):
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
    rows = codex_rows(records)
    note = "" if rows else "no token usage recorded"
    return Converted("codex-session", Kind.USAGE, rows, optional=frozenset({"account"}), note=note)


#: The only line types of a Codex rollout that `codex_rows` reads.
CODEX_LINE_TYPES: Final = frozenset({"session_meta", "turn_context", "event_msg"})


def codex_rows(records: Iterable[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The rows of a Codex rollout's records (lines of types other than `CODEX_LINE_TYPES` may
    be left out beforehand): one per new cumulative total, with the last request's usage."""
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
            last = info.get("last_token_usage")
            if not isinstance(last, dict):
                # Some versions write only the cumulative total: the request is its growth.
                last = _growth(_obj(total), _obj(last_total))
            last_total = total
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
    return rows


_CODEX_COUNTS: Final = ("input_tokens", "cached_input_tokens", "output_tokens")


def _growth(total: dict[str, Any], before: dict[str, Any]) -> dict[str, int]:
    """What a cumulative Codex total added to the one before it; the total itself when it
    fell (a total that starts again counts from zero)."""
    grown = {k: _int(total.get(k)) - _int(before.get(k)) for k in _CODEX_COUNTS}
    if any(v < 0 for v in grown.values()):
        return {k: _int(total.get(k)) for k in _CODEX_COUNTS}
    return grown


def copilot_user_report(records: Records, doc: Any) -> Converted | None:
    """GitHub Copilot per-user daily report (NDJSON): only CLI usage carries tokens, and its
    prompt tokens include cached ones (no split is given)."""
    if not _most(records, lambda r: "user_login" in r and "day" in r):
        return None
    rows = []
    without = 0
    key = _RowKeys("copilot-cli")
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
                "input_tokens": _count(usage.get("prompt_tokens_sum")),
                "output_tokens": _count(usage.get("output_tokens_sum")),
                "requests": _count(_get(cli, "request_count")),
                "request_id": key(
                    *(r.get(k) for k in ("day", "user_id", "user_login")),
                    *(r.get(k) for k in ("organization_id", "enterprise_id")),
                    cli,
                ),
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


def _graphql_nodes(doc: Any) -> list[dict[str, Any]]:
    """Pull-request nodes of a raw GraphQL response (`{"data": {…{"nodes": […]}}}`, or
    `edges[].node`), wherever under `data` the query put them."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if key in ("nodes", "edges") and isinstance(inner, list):
                    items = [
                        i.get("node") if key == "edges" and isinstance(i, dict) else i
                        for i in inner
                    ]
                    prs = [i for i in items if isinstance(i, dict) and "mergedAt" in i]
                    if prs:
                        found.extend(prs)
                        continue
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    if isinstance(doc, dict) and isinstance(doc.get("data"), dict):
        walk(doc["data"])
    return found


#: Go's zero time: how gh 1.x wrote a time field it had not fetched.
_GO_ZERO_TIME: Final = "0001-01-01T00:00:00Z"


def gh_pr_list(records: Records, doc: Any) -> Converted | None:
    """`gh pr list --json …` or a GraphQL pull-request query: only merged pull requests are
    merged work (`mergedAt` set). `author` is null when the account is gone (the row is then
    rejected for its missing author); apps are `is_bot` (gh) or `__typename: Bot` (GraphQL).
    A pull request in state MERGED without `mergedAt` (a list made without that field, or by a
    gh that did not fetch it) is merged work of unknown time: a rejected row, not "not merged"."""
    if not records:
        records = list(enumerate(_graphql_nodes(doc), start=1))
    # NOTE: `number` is not required: `gh pr list --json author,mergedAt,additions,deletions`
    # is a complete list of merged work, and without the number it was read as a canonical
    # file whose every `author` (an object) was a rejected row.
    if not _most(
        records,
        lambda r: (
            ("number" in r or isinstance(r.get("author"), dict))
            and ("mergedAt" in r or "mergedat" in r)
        ),
    ):
        return None
    rows = []
    skipped = 0
    for line, r in records:
        merged = r.get("mergedAt")
        if merged == _GO_ZERO_TIME:
            merged = None  # what old gh versions wrote for a time they did not fetch
        if not merged and str(r.get("state") or "").upper() != "MERGED":
            skipped += 1
            continue
        author = _obj(r.get("author"))
        login = author.get("login")
        is_bot = author.get("is_bot") or author.get("__typename") == "Bot"
        if is_bot and isinstance(login, str):
            # gh names an app `app/<slug>`; GitHub's REST API and git call it `<slug>[bot]`.
            login = login.removeprefix("app/")
            login = login if login.endswith("[bot]") else f"{login}[bot]"
        repo = _github_repo(r)
        rows.append(
            {
                "_line": line,
                "merged_at": merged,
                "author": login,
                "lines_added": _count(r.get("additions")),
                "lines_deleted": _count(r.get("deletions")),
                "pr_id": _pr_id(r, repo),
                "sha": _get(r, "mergeCommit", "oid"),
                "files_changed": _count(r.get("changedFiles")),
                "message": r.get("title"),
                "repo": repo,
            }
        )
    note = f"{skipped} pull requests not merged" if skipped else ""
    return Converted(
        "gh-pr-list", Kind.COMMITS, rows, optional=frozenset({"lines_added"}), note=note
    )


_PULL_URL: Final = re.compile(r"/pulls?/(\d+)/?$")


def _pr_id(r: dict[str, Any], repo: str | None) -> str | None:
    """A pull request's id, `owner/name#number`: its `number`, else the one its `url` ends
    with, else None (a list made without either: such rows cannot be told apart, and each
    counts)."""
    number = r.get("number")
    if number is None:
        url = r.get("url") or r.get("html_url")
        found = _PULL_URL.search(url) if isinstance(url, str) else None
        number = found.group(1) if found else None
    return None if number is None else f"{repo or ''}#{number}"


def _github_repo(r: dict[str, Any]) -> str | None:
    """owner/name of a pull request's base repository (the head repository can be gone)."""
    name = _get(r, "base", "repo", "full_name") or _get(r, "baseRepository", "nameWithOwner")
    if name:
        return str(name)
    for url in (r.get("html_url"), r.get("url"), _get(r, "pull_request", "html_url")):
        if isinstance(url, str) and "/repos/" in url:
            return "/".join(url.split("/repos/", 1)[1].split("/")[:2])
        if isinstance(url, str) and url.count("/") >= 4:
            return "/".join(url.split("/")[3:5])
    return None


def github_pulls(records: Records, doc: Any) -> Converted | None:
    """GitHub REST pull requests (`GET /repos/{o}/{r}/pulls?state=all`, `gh api --paginate`),
    and search results that nest `merged_at` under `pull_request`.

    Merged means `merged_at` is set. `merge_commit_sha` is not evidence: GitHub fills it with
    a test merge on open and closed-unmerged pull requests too. The list endpoint has no line
    counts: such a pull request is a change of unknown size (null lines), which still counts
    as merged work and is never called trivial."""

    def merged_at(r: dict[str, Any]) -> Any:
        return r.get("merged_at") if "merged_at" in r else _get(r, "pull_request", "merged_at")

    def looks(r: dict[str, Any]) -> bool:
        nested = isinstance(r.get("pull_request"), dict)
        return "number" in r and ("merged_at" in r or nested) and ("user" in r or "head" in r)

    if not _most(records, looks):
        return None
    rows = []
    states: Counter[str] = Counter()
    no_lines = 0
    for line, r in records:
        when = merged_at(r)
        if not when and r.get("merged") is not True:
            states[str(r.get("state") or "unknown")] += 1
            continue
        user = _obj(r.get("user"))
        login = user.get("login")
        if user.get("type") == "Bot" and login and not str(login).endswith("[bot]"):
            login = f"{login}[bot]"
        repo = _github_repo(r)
        if r.get("additions") is None:
            no_lines += 1
        rows.append(
            {
                "_line": line,
                "merged_at": when,
                "author": login,  # null when the account was deleted: rejected, with a reason
                "lines_added": _count(r.get("additions")),
                "lines_deleted": _count(r.get("deletions")),
                "pr_id": _pr_id(r, repo),
                # Once merged, this is the merge or squash commit on the base branch.
                "sha": r.get("merge_commit_sha"),
                "files_changed": _count(r.get("changed_files")),
                "message": r.get("title"),
                "repo": repo,
            }
        )
    notes = []
    if states:
        listed = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
        notes.append(f"{sum(states.values())} pull requests not merged ({listed})")
    if no_lines:
        notes.append(f"{no_lines} merged without line counts (size unknown, still a change)")
    return Converted(
        "github-pulls",
        Kind.COMMITS,
        rows,
        optional=frozenset({"lines_added"}),
        note="; ".join(notes),
    )


def gitlab_merge_requests(records: Records, doc: Any) -> Converted | None:
    """GitLab merge requests API: list items carry no line counts (size unknown, still a change).
    A merge request in state `merged` whose `merged_at` is null (GitLab has none for some old
    merges) is merged work of unknown time: a rejected row, not "not merged"."""
    if not _most(records, lambda r: "iid" in r and "merged_at" in r):
        return None
    rows = []
    skipped = 0
    for line, r in records:
        state = r.get("state")
        if not (state == "merged" or (state is None and r.get("merged_at"))):
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
    # Files that are not logs first: a prompt history has Claude's `sessionId` too.
    prompt_history,
    claude_subagent_sidecar,
    claude_settings,
    claude_stats_cache,
    claude_todos,
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
    cursor_usage_csv,
    litellm_spend_logs,
    gh_pr_list,
    github_pulls,
    gitlab_merge_requests,
    org_users,
    # Last: a JSON object no adapter above took and that holds no records is configuration.
    json_document_without_records,
)


#: Adapters of JSON Lines formats, whose records are the file's lines.
_LINE_ADAPTERS: Final[tuple[Callable[[Records, Any], Converted | None], ...]] = (
    prompt_history,
    claude_code_transcript,
    codex_session,
    copilot_user_report,
)


#: Keys that a page of a paginated listing carries beside its records (Anthropic and OpenAI
#: `has_more`/`next_page`, GitHub search `total_count`, Cursor `pagination` …).
_PAGE_KEYS: Final = frozenset(
    {
        "has_more",
        "next_page",
        "first_id",
        "last_id",
        "total_count",
        "incomplete_results",
        "pagination",
        "totalUsageEventsCount",
        "next_cursor",
        "nextCursor",
    }
)


def _page_records(page: dict[str, Any]) -> list[Any] | None:
    """The records of one page of a listing (its `data` or `items`, or its one list), or None
    when the object is not such a page."""
    if not _PAGE_KEYS & set(page):
        return None
    for key in ("data", "items"):
        if isinstance(page.get(key), list):
            return list(page[key])
    lists = [v for v in page.values() if isinstance(v, list)]
    return lists[0] if len(lists) == 1 else None


def _paged_lines(records: Records) -> bool:
    """Whether the file's records are the pages of a listing written one per line (`curl …;
    echo` in a loop, `jq -c` of each page)."""
    return bool(records) and _most(records, lambda r: _page_records(r) is not None)


def _unpaged(records: Records) -> tuple[Records, list[tuple[int, str]]]:
    """The records of every page written one per line, each numbered by its page's line; and
    the items that are not objects, as rejects."""
    out: Records = []
    bad: list[tuple[int, str]] = []
    for line, page in records:
        items = _page_records(page)
        for item in [page] if items is None else items:
            if isinstance(item, dict):
                out.append((line, item))
            else:
                kind = type(item).__name__
                bad.append((line, Reason(RejectCode.NOT_AN_OBJECT, f"a record is a JSON {kind}")))
    return out, bad


def _more_pages(page: dict[str, Any]) -> bool | None:
    """Whether a page says the listing goes on after it (None: it does not say)."""
    for flag in (page.get("has_more"), _get(page, "pagination", "hasNextPage")):
        if isinstance(flag, bool):
            return flag
        if isinstance(flag, str) and flag.strip().lower() in ("true", "false"):
            return flag.strip().lower() == "true"  # a client that wrote every value as text
    return None


def _listing(pages: list[dict[str, Any]]) -> str:
    """ "continues" when every page says more pages follow (the listing's last page is not
    among them: saved in another file, or not at all), "ends" when a page says none do, ""
    when they do not say."""
    flags = [f for f in map(_more_pages, pages) if f is not None]
    if not flags:
        return ""
    return "continues" if all(flags) else "ends"


def convert(records: Records, doc: Any) -> Converted | None:
    """The first adapter that recognises the content, or None for canonical (flat) files."""
    paged = _paged_lines(records)
    if isinstance(doc, dict) and _page_records(doc) is not None:
        listing = _listing([doc])
    else:
        listing = _listing([r for _, r in records if isinstance(r, dict)]) if paged else ""
    records, bad = _unpaged(records) if paged else (records, [])
    converted = _convert(records, doc)
    if converted is None:
        return None
    if listing:
        converted = replace(converted, listing=listing)
    if not bad:
        return converted
    return replace(converted, rejects=(*converted.rejects, *bad))


def _convert(records: Records, doc: Any) -> Converted | None:
    if not records and isinstance(doc, dict):
        # A JSON Lines file of one line (a subagent that made one request, a day of one
        # Copilot user) reads as a single JSON object: that object is its one record.
        for adapter in _LINE_ADAPTERS:
            converted = adapter([(1, doc)], None)
            if converted is not None:
                return converted
    for adapter in ADAPTERS:
        converted = adapter(records, doc)
        if converted is not None:
            return converted
    return None


def rows_frame(converted: Converted) -> tuple[pl.DataFrame, frozenset[str]]:
    """Canonical rows as text columns (numbers written as JSON numbers), with `_line`; and the
    columns whose values could not be text (`textframe.text_frame`)."""
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
    from tokenaudit.loaders.textframe import text_frame

    return text_frame(data, schema)
