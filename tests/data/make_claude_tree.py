"""Writes tests/data/claude_tree: a Claude Code projects tree with the quirks of real transcripts
(research/formats.md appendix): streamed lines whose output grows, a side-chain replayed in a
subagent file, gateway lines without request ids and with empty usage, <synthetic> lines, a
summary line without a timestamp, an unknown model, and a truncated last line.

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


if __name__ == "__main__":
    main()
