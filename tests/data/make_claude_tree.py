"""Writes tests/data/claude_tree: a Claude Code projects tree with the quirks of real transcripts
(research/formats.md appendix): streamed lines whose output grows, a side-chain replayed in a
subagent file, gateway lines without request ids and with empty usage, <synthetic> lines, a
summary line without a timestamp, an unknown model, and a truncated last line.

It also writes tests/data/claude_tree_2026: a whole `~/.claude` in today's layout (Claude Code
2.1.x): subagent transcripts under `<session>/subagents/` each with its `agent-<id>.meta.json`
sidecar, every non-request line type (summary, ai-title, last-prompt, queue-operation,
file-history-snapshot, progress, system, attachment, and a type no version has written yet),
a session of summaries only, and the files that sit beside the projects (settings, prompt
history, /stats cache, to-do lists, plugin list, tool output). All names and text are invented.

    python tests/data/make_claude_tree.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).parent / "claude_tree" / "projects" / "-Users-dana-src-app"
S1 = "3c9a61f2-8d4e-4b0a-b5e7-1f2d3c4b5a69"
S2 = "7d1e0f55-2a6b-4c3d-9e8f-0a1b2c3d4e5f"


def assistant(
    ts: str,
    session: str,
    msg: str,
    req: str | None,
    usage: dict,
    model: str = "claude-sonnet-4-5-20250929",
    **extra: object,
) -> dict:
    line = {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": "/Users/dana/src/app",
        "sessionId": session,
        "version": "1.0.98",
        "type": "assistant",
        "message": {
            "model": model,
            "id": msg,
            "type": "message",
            "role": "assistant",
            "content": [],
            "usage": usage,
        },
        "uuid": f"u-{msg}-{ts}",
        "timestamp": ts,
    }
    if req is not None:
        line["requestId"] = req
    line.update(extra)
    return line


def usage(inp: int, out: int, read: int = 0, write: int = 0, split: bool = False) -> dict:
    u: dict = {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write,
    }
    if split:
        u["cache_creation"] = {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0}
    return u


def main() -> None:
    ROOT.mkdir(parents=True, exist_ok=True)
    (ROOT / S1 / "subagents").mkdir(parents=True, exist_ok=True)
    main_lines = [
        {"type": "summary", "summary": "Retry helper", "leafUuid": "x"},
        {
            "type": "user",
            "sessionId": S1,
            "timestamp": "2025-06-03T09:00:00.000Z",
            "message": {"role": "user", "content": "hi"},
        },
        # one message streamed over three lines; its output count grows
        assistant(
            "2025-06-03T09:00:01.000Z",
            S1,
            "msg_01A",
            "req_01A",
            usage(4, 3, 1000, 15220, split=True),
        ),
        assistant(
            "2025-06-03T09:00:02.000Z",
            S1,
            "msg_01A",
            "req_01A",
            usage(4, 120, 1000, 15220, split=True),
        ),
        assistant(
            "2025-06-03T09:00:03.000Z",
            S1,
            "msg_01A",
            "req_01A",
            usage(4, 263, 1000, 15220, split=True),
        ),
        assistant("2025-06-03T09:05:00.000Z", S1, "msg_01B", "req_01B", usage(10, 50, 20000, 0)),
        # an older-style side-chain inside the main file
        assistant(
            "2025-06-03T09:06:00.000Z",
            S1,
            "msg_01C",
            "req_01C",
            usage(7, 70, 5000, 100),
            isSidechain=True,
        ),
        # a client-side error message: no request was made
        assistant(
            "2025-06-03T09:07:00.000Z",
            S1,
            "4f0c2a9e-1b7d-4e55-9a61-2c8e0f3b7d10",
            None,
            usage(0, 0),
            model="<synthetic>",
        ),
        # through a gateway: no requestId, no msg_ prefix, partial lines with empty usage
        {
            **assistant("2025-06-03T10:00:00.000Z", S1, "gw-0001", None, {}),
            "message": {"model": "claude-sonnet-4-5-20250929", "id": "gw-0001", "usage": {}},
        },
        assistant("2025-06-03T10:00:05.000Z", S1, "gw-0001", None, usage(900, 40)),
        # an unknown model
        assistant(
            "2025-06-04T08:00:00.000Z",
            S1,
            "msg_01D",
            "req_01D",
            usage(3, 30, 300, 0),
            model="claude-future-9",
        ),
    ]
    text = "".join(json.dumps(x) + "\n" for x in main_lines)
    text += (
        '{"type":"assistant","sessionId":"'
        + S1
        + '","timestamp":"2025-06-04T08:01:00.000Z","message":{"id":"msg_01E","usa'
    )
    (ROOT / f"{S1}.jsonl").write_text(text)
    sub = [
        # the same side-chain message again, as newer versions write it to the subagent file
        assistant(
            "2025-06-03T09:06:00.000Z",
            S1,
            "msg_01C",
            "req_01C",
            usage(7, 70, 5000, 100),
            isSidechain=True,
            agentId="abc",
        ),
        assistant(
            "2025-06-03T09:06:30.000Z",
            S1,
            "msg_01F",
            "req_01F",
            usage(5, 12, 800, 0),
            isSidechain=True,
            agentId="abc",
        ),
    ]
    (ROOT / S1 / "subagents" / "agent-abc.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in sub)
    )
    s2 = [
        assistant("2025-06-04T12:00:00.000Z", S2, "msg_02A", "req_02A", usage(2, 25, 400, 0)),
        assistant("2025-06-04T12:00:01.000Z", S2, "msg_02A", "req_02A", usage(2, 25, 400, 0)),
        assistant("2025-06-04T12:00:02.000Z", S2, "msg_02A", "req_02A", usage(2, 302, 400, 0)),
    ]
    (ROOT / f"{S2}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in s2))


# ------------------------------------------------------------------ today's layout (2026)

TREE_2026 = Path(__file__).parent / "claude_tree_2026"
PROJECT_2026 = TREE_2026 / "projects" / "-home-dev-src-shop"
A1 = "5b0e7c1d-1111-4a2b-8c3d-000000000001"
A2 = "5b0e7c1d-2222-4a2b-8c3d-000000000002"
A3 = "5b0e7c1d-3333-4a2b-8c3d-000000000003"


def line_2026(kind: str, session: str | None, ts: str | None, **fields: object) -> dict:
    line: dict = {"type": kind}
    if session is not None:
        line |= {
            "parentUuid": None,
            "isSidechain": False,
            "userType": "external",
            "cwd": "/home/dev/src/shop",
            "sessionId": session,
            "version": "2.1.90",
            "gitBranch": "main",
        }
    if ts is not None:
        line["timestamp"] = ts
    return line | fields


def assistant_2026(
    ts: str,
    session: str,
    msg: str,
    req: str,
    inp: int,
    out: int,
    read: int,
    write: int,
    agent: str | None = None,
    model: str = "claude-opus-4-6",
) -> dict:
    usage = {
        "input_tokens": inp,
        "cache_creation_input_tokens": write,
        "cache_read_input_tokens": read,
        # the split is what counts when present; it always adds up to the total above here
        "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0},
        "output_tokens": out,
        "service_tier": "standard",
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
        "inference_geo": "",
        "iterations": [],
        "speed": "standard",
    }
    extra: dict = {"requestId": req, "uuid": f"u-{msg}-{ts}"}
    if agent is not None:
        extra |= {"isSidechain": True, "agentId": agent, "slug": "brisk-otter"}
    return line_2026(
        "assistant",
        session,
        ts,
        message={
            "model": model,
            "id": msg,
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "ok"}],
            "stop_reason": None,
            "usage": usage,
        },
        **extra,
    )


def write_jsonl(path: Path, lines: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def write_json(path: Path, doc: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def main_2026() -> None:
    """Day 1 is 2026-03-02, day 2 is 2026-03-03 (UTC). The expected per-day totals are worked
    out by hand in tests/test_real_exports.py."""
    d1, d2 = "2026-03-02", "2026-03-03"
    a1 = [
        {"type": "summary", "summary": "Checkout flow", "leafUuid": "u-prev"},
        {
            "type": "file-history-snapshot",
            "messageId": "u-first",
            "snapshot": {
                "messageId": "u-first",
                "trackedFileBackups": {},
                "timestamp": f"{d1}T09:00:00.000Z",
            },
            "isSnapshotUpdate": False,
        },
        line_2026(
            "queue-operation", A1, f"{d1}T09:00:00.000Z", operation="enqueue", content="add tests"
        ),
        line_2026(
            "user", A1, f"{d1}T09:00:01.000Z", message={"role": "user", "content": "add tests"}
        ),
        # msg_A streamed over two lines: output 5 then 150; the fuller line counts
        assistant_2026(f"{d1}T09:00:05.000Z", A1, "msg_A", "req_A", 10, 5, 1000, 200),
        assistant_2026(f"{d1}T09:00:09.000Z", A1, "msg_A", "req_A", 10, 150, 1000, 200),
        # a subagent's message echoed in the parent while it runs: not a request of the parent
        line_2026(
            "progress",
            A1,
            f"{d1}T09:01:00.000Z",
            data={
                "type": "agent_progress",
                "message": {
                    "type": "assistant",
                    "message": {"id": "msg_S1", "usage": {"input_tokens": 3, "output_tokens": 30}},
                },
            },
        ),
        line_2026("system", A1, f"{d1}T09:01:30.000Z", subtype="turn_duration", durationMs=91000),
        line_2026(
            "attachment", A1, f"{d1}T09:01:31.000Z", attachment={"type": "todo", "content": []}
        ),
        assistant_2026(f"{d1}T09:02:00.000Z", A1, "msg_B", "req_B", 4, 60, 1200, 50),
        line_2026("ai-title", A1, None, aiTitle="Add checkout tests"),
        line_2026("last-prompt", A1, None, lastPrompt="add tests"),
        # a client-side error message: no request was made
        line_2026(
            "assistant",
            A1,
            f"{d1}T09:03:00.000Z",
            message={
                "model": "<synthetic>",
                "id": "0c2a6b2e-6a63-4f0e-9a55-3f1c9e2f4d10",
                "role": "assistant",
                "content": [{"type": "text", "text": "API Error"}],
                "usage": {"input_tokens": 0, "output_tokens": 0},
            },
            isApiErrorMessage=True,
        ),
        # a line type no Claude Code version has written yet, even one carrying usage
        line_2026(
            "hook-event",
            A1,
            f"{d1}T09:04:00.000Z",
            message={"role": "assistant", "usage": {"input_tokens": 777, "output_tokens": 777}},
        ),
        assistant_2026(f"{d1}T23:30:00.000Z", A1, "msg_C", "req_C", 2, 40, 500, 100),
    ]
    write_jsonl(PROJECT_2026 / f"{A1}.jsonl", a1)
    sub1 = PROJECT_2026 / A1 / "subagents"
    write_json(
        sub1 / "agent-a1b2c3d.meta.json",
        {"agentType": "Explore", "description": "Find the cart tests"},
    )
    write_jsonl(
        sub1 / "agent-a1b2c3d.jsonl",
        [
            line_2026(
                "user",
                A1,
                f"{d1}T09:00:30.000Z",
                isSidechain=True,
                agentId="a1b2c3d",
                message={"role": "user", "content": "Find the cart tests"},
            ),
            assistant_2026(
                f"{d1}T09:00:40.000Z", A1, "msg_S1", "req_S1", 3, 8, 800, 0, agent="a1b2c3d"
            ),
            assistant_2026(
                f"{d1}T09:00:44.000Z", A1, "msg_S1", "req_S1", 3, 30, 800, 0, agent="a1b2c3d"
            ),
            # the parent's msg_B replayed in the side-chain: the same request, counted once
            assistant_2026(
                f"{d1}T09:02:00.000Z", A1, "msg_B", "req_B", 4, 60, 1200, 50, agent="a1b2c3d"
            ),
        ],
    )
    (PROJECT_2026 / A1 / "tool-results").mkdir(parents=True, exist_ok=True)
    (PROJECT_2026 / A1 / "tool-results" / "toolu_01XyZ.txt").write_text("Test output\n12 passed\n")
    a2 = [
        line_2026("queue-operation", A2, f"{d2}T08:00:00.000Z", operation="dequeue"),
        line_2026(
            "user", A2, f"{d2}T08:00:01.000Z", message={"role": "user", "content": "fix build"}
        ),
        assistant_2026(f"{d2}T08:00:10.000Z", A2, "msg_D", "req_D", 6, 90, 2000, 300),
        line_2026("system", A2, f"{d2}T08:05:00.000Z", subtype="compact_boundary"),
        assistant_2026(
            f"{d2}T23:59:59.000Z", A2, "msg_E", "req_E", 1, 10, 100, 0, model="claude-haiku-4-5"
        ),
        line_2026("ai-title", A2, None, aiTitle="Fix the build"),
    ]
    write_jsonl(PROJECT_2026 / f"{A2}.jsonl", a2)
    sub2 = PROJECT_2026 / A2 / "subagents"
    write_json(
        sub2 / "agent-e4f5a6b.meta.json",
        {"agentType": "general-purpose", "description": "Run the build"},
    )
    write_jsonl(
        sub2 / "agent-e4f5a6b.jsonl",
        [
            assistant_2026(
                f"{d2}T08:02:00.000Z", A2, "msg_S2", "req_S2", 5, 70, 600, 40, agent="e4f5a6b"
            )
        ],
    )
    # a session file of summaries only: a transcript with no requests
    write_jsonl(
        PROJECT_2026 / f"{A3}.jsonl",
        [
            {"type": "summary", "summary": "Old work", "leafUuid": "u-x"},
            {"type": "summary", "summary": "More", "leafUuid": "u-y"},
        ],
    )
    # what sits beside projects/ in ~/.claude
    write_json(
        TREE_2026 / "settings.json",
        {
            "$schema": "https://json.schemastore.org/claude-code-settings.json",
            "permissions": {"allow": ["Bash(npm test:*)"], "deny": []},
            "hooks": {},
            "env": {"DISABLE_TELEMETRY": "1"},
            "model": "opus",
        },
    )
    write_jsonl(
        TREE_2026 / "history.jsonl",
        [
            {
                "display": "add tests",
                "pastedContents": {},
                "timestamp": 1772442000000,
                "project": "/home/dev/src/shop",
                "sessionId": A1,
            }
        ],
    )
    write_json(
        TREE_2026 / "stats-cache.json",
        {
            "version": 2,
            "lastComputedDate": d2,
            "dailyActivity": [
                {"date": d1, "messageCount": 9, "sessionCount": 1, "toolCallCount": 3}
            ],
            "dailyModelTokens": [{"date": d1, "tokensByModel": {"claude-opus-4-6": 280}}],
            "modelUsage": {},
            "totalSessions": 3,
        },
    )
    write_json(
        TREE_2026 / "todos" / f"{A1}-agent-{A1}.json",
        [
            {
                "content": "Write cart tests",
                "status": "completed",
                "activeForm": "Writing cart tests",
            }
        ],
    )
    write_json(
        TREE_2026 / "plugins" / "installed_plugins.json",
        {"version": 2, "plugins": {"lint@tools": {"scope": "user", "version": "1.0.0"}}},
    )


if __name__ == "__main__":
    main_2026()
    main()
