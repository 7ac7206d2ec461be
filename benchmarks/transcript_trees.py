"""Deterministic Claude Code and Codex transcript trees of a given size, with what each tool must
count per day (used by `benchmarks/transcripts.py` and, small, by the tests).

A Claude Code tree is `TREE/projects/<encoded cwd>/<session>.jsonl` plus
`<session>/subagents/agent-<id>.jsonl` side-chains, with what real transcripts have: a message
streamed over several lines (one per content block) whose `output_tokens` grow, user lines
quoting large tool results, summaries and other non-request lines, `<synthetic>` error
messages, gateway partial lines with `"usage": {}`, a side-chain replaying a parent message
(the same `message.id` and `requestId`, in another file), non-ASCII text, and now and then a
truncated last line or a garbage line. Sessions stay within one UTC day, so the day of a
message is the same whichever of its lines a tool keeps.

A Codex tree is `TREE/sessions/YYYY/MM/DD/rollout-…-<uuid>.jsonl`: `session_meta`,
`turn_context`, response items with large tool outputs, and `token_count` events (the first
with `info: null`, some repeated with the same cumulative total).

Expected per-day totals are returned for both rules in play:

- Claude: tokenaudit keeps a streamed message's fullest line; ccusage 17.x its first. They
  differ only in `output_tokens`, by the sum over streamed messages of (fullest − first).
- Codex: tokenaudit counts a repeated cumulative total once; @ccusage/codex 17.x sums the last
  usage of every event, repeats included. They differ by the repeated events' usage.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
_WORDS = [
    "the",
    "retry",
    "client",
    "backs",
    "off",
    "exponentially",
    "when",
    "the",
    "ledger",
    "service",
    "answers",
    "503",
    "and",
    "records",
    "each",
    "attempt",
    "—",
    "naïve",
    "caches",
    "fail;",
    "überprüfen",
    "Sie",
    "die",
    "Eingabe;",
    "日本語のテキスト;",
    "emoji",
    "🚀",
    "ok;",
    "def",
    "handler(event):",
    "return",
    "{'status':",
    "200,",
    "'body':",
    "json.dumps(event)}",
    "SELECT",
    "id,",
    "amount",
    "FROM",
    "payments",
    "WHERE",
    "settled_at",
    "IS",
    "NULL",
    "ORDER",
    "BY",
    "id;",
]


@dataclass
class Expected:
    """Per UTC day: what tokenaudit must count, and what the reference tool counts."""

    ours: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    )
    theirs: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    )

    def add(self, which: str, day: str, values: dict[str, int]) -> None:
        table = self.ours if which == "ours" else self.theirs
        for c, v in values.items():
            table[day][c] += v

    def as_json(self) -> dict[str, Any]:
        return {
            "ours": {d: dict(v) for d, v in sorted(self.ours.items())},
            "theirs": {d: dict(v) for d, v in sorted(self.theirs.items())},
        }


class _Text:
    """Text of a given length cut from a fixed pool (cheap, deterministic, partly non-ASCII)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pool = " ".join(rng.choice(_WORDS) for _ in range(200_000))

    def __call__(self, n: int) -> str:
        start = self.rng.randrange(0, len(self.pool) - n - 1)
        return self.pool[start : start + n]


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _dump(line: dict[str, Any]) -> str:
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


# ----------------------------------------------------------------------------- Claude Code


class _ClaudeSession:
    def __init__(
        self, gen: ClaudeTree, project: str, session: str, start: datetime, sidechain: bool
    ) -> None:
        self.gen, self.project, self.session, self.t = gen, project, session, start
        self.sidechain = sidechain
        self.lines: list[str] = []
        self.firsts: list[str] = []  # first lines of streamed messages (for replays)

    def base(self) -> dict[str, Any]:
        self.t += timedelta(milliseconds=self.gen.rng.randrange(200, 10_000))
        return {
            "parentUuid": str(uuid.UUID(int=self.gen.rng.getrandbits(128))),
            "isSidechain": self.sidechain,
            "userType": "external",
            "cwd": "/Users/dev/src/" + self.project,
            "sessionId": self.session,
            "version": "2.0.14",
            "gitBranch": "main",
            "uuid": str(uuid.UUID(int=self.gen.rng.getrandbits(128))),
            "timestamp": _iso(self.t),
        }

    def user(self, text: str) -> None:
        self.lines.append(
            _dump(self.base() | {"type": "user", "message": {"role": "user", "content": text}})
        )

    def tool_result(self, size: int) -> None:
        content = [
            {
                "type": "tool_result",
                "tool_use_id": f"toolu_{self.gen.rng.getrandbits(64):016x}",
                "content": self.gen.text(size),
            }
        ]
        line = self.base() | {
            "type": "user",
            "message": {"role": "user", "content": content},
            "toolUseResult": {
                "stdout": self.gen.text(size // 4),
                "stderr": "",
                "interrupted": False,
            },
        }
        self.lines.append(_dump(line))

    def message(self) -> None:
        """One request: streamed over 1-4 lines (one per content block), output growing."""
        rng = self.gen.rng
        msg = f"msg_{rng.getrandbits(96):024x}"
        req = f"req_{rng.getrandbits(96):024x}"
        model = rng.choice(
            ["claude-sonnet-4-5-20250929"] * 6 + ["claude-opus-4-1-20250805", "claude-haiku-4-5"]
        )
        write = rng.choice([0, 0, rng.randrange(100, 30_000)])
        one_hour = rng.choice([0, 0, 0, write // 2])
        usage = {
            "input_tokens": rng.randrange(1, 50),
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": rng.randrange(0, 150_000),
            "cache_creation": {
                "ephemeral_5m_input_tokens": write - one_hour,
                "ephemeral_1h_input_tokens": one_hour,
            },
            "output_tokens": 0,
            "service_tier": "standard",
        }
        blocks = rng.choice([1, 2, 2, 3, 3, 4])
        final = rng.randrange(20, 4000)
        outputs = (
            [*sorted(rng.sample(range(1, final), blocks - 1)), final] if blocks > 1 else [final]
        )
        day = self.t.date().isoformat()
        for i, out in enumerate(outputs):
            kind = (
                "tool_use"
                if i == blocks - 1 and rng.random() < 0.6
                else rng.choice(["thinking", "text"])
            )
            block: dict[str, Any]
            if kind == "tool_use":
                block = {
                    "type": "tool_use",
                    "id": f"toolu_{rng.getrandbits(64):016x}",
                    "name": rng.choice(["Read", "Edit", "Bash", "Grep"]),
                    "input": {
                        "file_path": "/Users/dev/src/x.py",
                        "new_string": self.gen.text(rng.randrange(50, 3000)),
                    },
                }
            elif kind == "thinking":
                block = {
                    "type": "thinking",
                    "thinking": self.gen.text(rng.randrange(100, 2000)),
                    "signature": "Eo" + "A" * 200,
                }
            else:
                block = {"type": "text", "text": self.gen.text(rng.randrange(20, 1500))}
            line = self.base() | {
                "type": "assistant",
                "requestId": req,
                "message": {
                    "model": model,
                    "id": msg,
                    "type": "message",
                    "role": "assistant",
                    "content": [block],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": usage | {"output_tokens": out},
                },
            }
            line["timestamp"] = _iso(self.t)
            text = _dump(line)
            self.lines.append(text)
            if i == 0:
                self.firsts.append(text)
        counted = {
            "input_tokens": usage["input_tokens"],
            "cache_read_tokens": usage["cache_read_input_tokens"],
            "cache_write_tokens": write,
        }
        self.gen.expected.add("ours", day, counted | {"output_tokens": final})
        self.gen.expected.add("theirs", day, counted | {"output_tokens": outputs[0]})

    def noise(self) -> None:
        """A line that is not a request, and counts for no tool."""
        rng = self.gen.rng
        r = rng.random()
        if r < 0.3:
            line: dict[str, Any] = {
                "type": "summary",
                "summary": self.gen.text(60),
                "leafUuid": str(uuid.UUID(int=rng.getrandbits(128))),
            }
        elif r < 0.5:
            line = self.base() | {
                "type": "system",
                "subtype": "compact_boundary",
                "content": self.gen.text(80),
                "level": "info",
            }
        elif r < 0.65:
            line = {
                "type": "file-history-snapshot",
                "messageId": str(uuid.UUID(int=rng.getrandbits(128))),
                "snapshot": {"trackedFileBackups": {}, "timestamp": _iso(self.t)},
            }
        elif r < 0.8:
            # A client-side error message: model <synthetic>, zero usage.
            line = self.base() | {
                "type": "assistant",
                "isApiErrorMessage": True,
                "message": {
                    "model": "<synthetic>",
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "text", "text": "API Error: 529 overloaded"}],
                    "usage": {
                        "input_tokens": 0,
                        "output_tokens": 0,
                        "cache_read_input_tokens": 0,
                        "cache_creation_input_tokens": 0,
                    },
                },
            }
        else:
            # A gateway's partial line: no usage yet.
            line = self.base() | {
                "type": "assistant",
                "requestId": f"req_{rng.getrandbits(64):x}",
                "message": {
                    "model": "claude-sonnet-4-5-20250929",
                    "id": f"msg_{rng.getrandbits(64):x}",
                    "role": "assistant",
                    "content": [],
                    "usage": {},
                },
            }
        self.lines.append(_dump(line))


class ClaudeTree:
    def __init__(self, root: Path, seed: int) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.text = _Text(self.rng)
        self.expected = Expected()
        self.bytes = 0
        self.files = 0

    def _write(self, path: Path, lines: list[str], damage: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "\n".join(lines) + "\n"
        if damage:
            # A session being written when it was copied: its last line cut short.
            body += lines[-1][: len(lines[-1]) // 2] + "\n"
        data = body.encode("utf-8")
        path.write_bytes(data)
        self.bytes += len(data)
        self.files += 1

    def session(self, project: str, first_day: date, days: int) -> None:
        rng = self.rng
        sid = str(uuid.UUID(int=rng.getrandbits(128)))
        day = first_day + timedelta(days=rng.randrange(days))
        start = datetime(
            day.year, day.month, day.day, rng.randrange(2, 18), rng.randrange(60), tzinfo=UTC
        )
        main = _ClaudeSession(self, project, sid, start, sidechain=False)
        if rng.random() < 0.5:
            main.noise()
        turns = max(1, int(rng.lognormvariate(3.0, 0.9)))
        agents: list[_ClaudeSession] = []
        for _ in range(min(turns, 60)):
            main.user(self.text(rng.randrange(20, 400)))
            for _ in range(rng.randrange(1, 5)):
                main.message()
                if rng.random() < 0.7:
                    main.tool_result(int(rng.lognormvariate(8.0, 1.2)))
                if rng.random() < 0.08:
                    main.noise()
            if rng.random() < 0.06:
                agent = _ClaudeSession(self, project, sid, main.t, sidechain=True)
                agent.user(self.text(300))
                for _ in range(rng.randrange(1, 8)):
                    agent.message()
                    agent.tool_result(int(rng.lognormvariate(7.5, 1.0)))
                if main.firsts and rng.random() < 0.5:
                    # A side-chain replaying a parent message: same message and request id.
                    agent.lines.append(rng.choice(main.firsts))
                main.t = agent.t
                agents.append(agent)
        if main.t.date() != start.date():
            raise AssertionError("a session crossed midnight")  # kept short enough not to
        if rng.random() < 0.02:
            main.lines.insert(rng.randrange(1, len(main.lines) + 1), "{not json at all")
        folder = self.root / "projects" / ("-Users-dev-src-" + project)
        self._write(folder / f"{sid}.jsonl", main.lines, damage=rng.random() < 0.03)
        for agent in agents:
            name = f"agent-{rng.getrandbits(32):08x}"
            self._write(folder / sid / "subagents" / f"{name}.jsonl", agent.lines, damage=False)


def claude_tree(root: Path, size: int, seed: int = 1, days: int = 60) -> dict[str, Any]:
    """Write a Claude Code tree of about `size` bytes; returns the expected per-day totals."""
    gen = ClaudeTree(root, seed)
    projects = [f"proj{i:02d}-{gen.rng.choice(['api', 'web', 'infra', 'ml'])}" for i in range(40)]
    first = date(2026, 2, 1)
    while gen.bytes < size:
        gen.session(gen.rng.choice(projects), first, days)
    return {"files": gen.files, "bytes": gen.bytes, **gen.expected.as_json()}


# ----------------------------------------------------------------------------- Codex


def _codex_session(rng: random.Random, text: _Text, day: date, expected: Expected) -> list[str]:
    sid = str(uuid.UUID(int=rng.getrandbits(128)))
    t = datetime(day.year, day.month, day.day, rng.randrange(7, 19), rng.randrange(60), tzinfo=UTC)

    def at() -> str:
        nonlocal t
        t += timedelta(milliseconds=rng.randrange(100, 20_000))
        return _iso(t)

    model = rng.choice(["gpt-5-codex", "gpt-5", "gpt-5-codex"])
    lines = [
        {
            "timestamp": at(),
            "type": "session_meta",
            "payload": {
                "id": sid,
                "timestamp": _iso(t),
                "cwd": "/home/dev/src/app",
                "originator": "codex_cli_rs",
                "cli_version": "0.46.0",
                "instructions": text(rng.randrange(2000, 12000)),
                "source": "cli",
                "model_provider": "openai",
                "git": {"branch": "main", "commit_hash": f"{rng.getrandbits(160):040x}"},
            },
        },
        {
            "timestamp": at(),
            "type": "turn_context",
            "payload": {
                "cwd": "/home/dev/src/app",
                "approval_policy": "on-request",
                "sandbox_policy": {"mode": "workspace-write"},
                "model": model,
                "effort": "medium",
                "summary": "auto",
            },
        },
        {
            "timestamp": at(),
            "type": "event_msg",
            "payload": {"type": "token_count", "info": None, "rate_limits": None},
        },
    ]
    total = {
        "input_tokens": 0,
        "cached_input_tokens": 0,
        "output_tokens": 0,
        "reasoning_output_tokens": 0,
        "total_tokens": 0,
    }
    for _ in range(min(60, max(1, int(rng.lognormvariate(3.2, 0.8))))):
        lines.append(
            {
                "timestamp": at(),
                "type": "response_item",
                "payload": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text(rng.randrange(30, 500))}],
                },
            }
        )
        lines.append(
            {
                "timestamp": at(),
                "type": "event_msg",
                "payload": {"type": "agent_reasoning", "text": text(rng.randrange(100, 1200))},
            }
        )
        call = f"call_{rng.getrandbits(64):x}"
        lines.append(
            {
                "timestamp": at(),
                "type": "response_item",
                "payload": {
                    "type": "function_call",
                    "name": "shell",
                    "arguments": json.dumps({"command": ["bash", "-lc", text(80)]}),
                    "call_id": call,
                },
            }
        )
        lines.append(
            {
                "timestamp": at(),
                "type": "response_item",
                "payload": {
                    "type": "function_call_output",
                    "call_id": call,
                    "output": json.dumps(
                        {
                            "output": text(int(rng.lognormvariate(8.2, 1.1))),
                            "metadata": {"exit_code": 0},
                        }
                    ),
                },
            }
        )
        inp = rng.randrange(2000, 120_000)
        cached = rng.randrange(0, inp)
        out = rng.randrange(10, 3000)
        reasoning = rng.randrange(0, out)
        last = {
            "input_tokens": inp,
            "cached_input_tokens": cached,
            "output_tokens": out,
            "reasoning_output_tokens": reasoning,
            "total_tokens": inp + out,
        }
        total = {k: total[k] + last[k] for k in total}
        event = {
            "timestamp": at(),
            "type": "event_msg",
            "payload": {
                "type": "token_count",
                "info": {
                    "total_token_usage": dict(total),
                    "last_token_usage": last,
                    "model_context_window": 272000,
                },
                "rate_limits": {"primary": {"used_percent": 3.0}},
            },
        }
        lines.append(event)
        day_s = t.date().isoformat()  # the event's own day (a session may run past midnight)
        counted = {"input_tokens": inp - cached, "cache_read_tokens": cached, "output_tokens": out}
        expected.add("ours", day_s, counted)
        expected.add("theirs", day_s, counted)
        if rng.random() < 0.3:
            # The same cumulative total reported again: one request, counted once by tokenaudit
            # and once more by @ccusage/codex 17.x.
            lines.append(event | {"timestamp": at()})
            expected.add("theirs", day_s, counted)
    return [_dump(line) for line in lines]


def codex_tree(root: Path, size: int, seed: int = 1, days: int = 60) -> dict[str, Any]:
    """Write a Codex sessions tree of about `size` bytes; returns the expected per-day totals."""
    rng = random.Random(seed)
    text = _Text(rng)
    expected = Expected()
    written = files = 0
    first = date(2026, 2, 1)
    while written < size:
        day = first + timedelta(days=rng.randrange(days))
        lines = _codex_session(rng, text, day, expected)
        stamp = f"{day.isoformat()}T{rng.randrange(24):02d}-{rng.randrange(60):02d}-00"
        path = root / "sessions" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
        path.mkdir(parents=True, exist_ok=True)
        data = ("\n".join(lines) + "\n").encode("utf-8")
        (path / f"rollout-{stamp}-{uuid.UUID(int=rng.getrandbits(128))}.jsonl").write_bytes(data)
        written += len(data)
        files += 1
    return {"files": files, "bytes": written, **expected.as_json()}
