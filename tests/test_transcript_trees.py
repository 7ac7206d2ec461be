"""Transcript trees read in batches (`loaders.transcripts`) give, file by file, exactly what
`load_input` gives: the same rows (fullest line per message + request id, <synthetic> and
empty-usage lines left out, the 5m/1h cache split), the same rejects with the same line numbers,
the same notes. A tree of edge cases is checked here, and the generated trees of
`benchmarks/transcript_trees.py` are checked against the per-day totals they were built with."""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import polars as pl
import pytest

from tokenaudit.audit import load_all
from tokenaudit.loaders import InputFile, expand_paths, load_input, readers, transcripts
from tokenaudit.loaders.transcripts import CLAUDE, load_transcripts, recognise
from tokenaudit.panel import split_duplicate_requests

from .conftest import DATA

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))

from transcript_trees import COLUMNS, claude_tree, codex_tree

FIXTURES = Path("/work/shared/research/fixtures")


def _frame(lf: pl.LazyFrame) -> pl.DataFrame:
    return lf.collect().sort("_line")


def assert_same_as_load_input(files: list[InputFile], tmp: Path, account: str = "dev") -> int:
    """Every file the batch reader takes loads as `load_input` loads it; returns how many."""
    fast = load_transcripts(files, tmp, assume_tz="UTC", account=account)
    for position, item in fast.items():
        old = load_input(files[position], tmp, assume_tz="UTC", account=account)
        assert old is not None, files[position].name
        assert (item.kind, item.fmt, item.unit, item.note) == (
            old.kind,
            old.fmt,
            old.unit,
            old.note,
        )
        assert item.unreadable == old.unreadable, files[position].name
        assert [getattr(r, "code", None) for _, r in item.unreadable] == [
            getattr(r, "code", None) for _, r in old.unreadable
        ]
        assert item.expected_rows == old.expected_rows
        new_rows, old_rows = _frame(item.frame), _frame(old.frame)
        assert new_rows.schema == old_rows.schema
        assert new_rows.equals(old_rows), files[position].name
    return len(fast)


def test_the_fixture_trees_load_as_load_input_loads_them(tmp_path: Path) -> None:
    for tree in ("claude_tree", "claude_tree_2026"):
        files = expand_paths([DATA / tree])
        assert assert_same_as_load_input(files, tmp_path) >= 3


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="research fixtures not present")
def test_the_research_fixtures_load_as_load_input_loads_them(tmp_path: Path) -> None:
    files = [
        InputFile(FIXTURES / n, n) for n in ("claude_code_transcript.jsonl", "codex_session.jsonl")
    ]
    assert assert_same_as_load_input(files, tmp_path) == 2


# ----------------------------------------------------------------------------- edge cases


def _assistant(msg: str | None, req: str | None, usage: object, **extra: object) -> dict:
    line: dict = {
        "type": "assistant",
        "sessionId": "s-1",
        "timestamp": "2026-03-02T10:00:00.000Z",
        "message": {"id": msg, "model": "claude-sonnet-4-5", "role": "assistant", "usage": usage},
    }
    if req is not None:
        line["requestId"] = req
    line.update(extra)
    return line


def _u(inp: object, out: object, read: object = 0, write: object = 0, **more: object) -> dict:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": write,
        **more,
    }


def _write(path: Path, lines: list[object], end: bytes = b"\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for line in lines:
        out.append(line if isinstance(line, bytes) else json.dumps(line).encode())
    path.write_bytes(end.join(out) + end)
    return path


def edge_tree(root: Path) -> Path:
    """Every quirk the batch reader must treat as `load_input` does, across several files."""
    projects = root / "projects" / "-Users-dev-app"
    main = [
        {"type": "summary", "summary": "naïve — 日本語 🚀", "leafUuid": "x"},
        {"type": "user", "sessionId": "s-1", "message": {"role": "user", "content": "é" * 50}},
        # streamed: 3 → 120 → 263 output; the fullest line counts
        _assistant("m1", "r1", _u(4, 3, 1000, 15220)),
        _assistant("m1", "r1", _u(4, 120, 1000, 15220)),
        b"",
        _assistant("m1", "r1", _u(4, 263, 1000, 15220)),
        # the 5m/1h split replaces cache_creation_input_tokens
        _assistant(
            "m2",
            "r2",
            _u(
                1,
                10,
                0,
                999,
                cache_creation={"ephemeral_5m_input_tokens": 30, "ephemeral_1h_input_tokens": 70},
            ),
        ),
        _assistant("m3", "r3", _u(1, 1, cache_creation="not an object")),
        # <synthetic>, empty usage, no usage, usage of another type: no row
        _assistant("m4", None, _u(0, 0), isApiErrorMessage=True)
        | {"message": {"model": "<synthetic>", "id": "m4", "usage": _u(0, 0)}},
        _assistant("m5", "r5", {}),
        _assistant("m6", "r6", None),
        _assistant("m7", "r7", [1, 2]),
        _assistant("m8", "r8", {"input_tokens": 5}),
        # numbers as strings, floats, values no count can be (rejected by validation, named)
        _assistant("m9", "r9", _u("12", "7")),
        _assistant("m10", "r10", _u(2.0, 3)),
        _assistant("m11", "r11", _u("lots", 3)),
        _assistant("m12", "r12", _u(-4, 3)),
        _assistant("m13", "r13", _u(True, 3)),
        _assistant("m14", "r14", _u(2**70, 3)),
        # no ids: each line its own request; a gateway without requestId
        _assistant(None, None, _u(1, 2)),
        _assistant("gw-1", None, _u(1, 2)),
        # bad timestamps
        _assistant("m15", "r15", _u(1, 2), timestamp=None),
        _assistant("m16", "r16", _u(1, 2), timestamp="yesterday"),
        _assistant("m17", "r17", _u(1, 2), timestamp="2026-03-02T10:00:00"),
        # other line types, even with usage, are not requests; old lines without a type are
        {"type": "progress", "sessionId": "s-1", "message": {"id": "m18", "usage": _u(9, 9)}},
        {
            "sessionId": "s-1",
            "timestamp": "2026-03-02T11:00:00Z",
            "requestId": "r19",
            "message": {"role": "assistant", "id": "m19", "usage": _u(2, 2)},
        },
        # lines that are no JSON object
        b"{not json",
        b"[1, 2, 3]",
        b"42",
        b'"text"',
        b"\xff\xfe not utf-8",
        b"[" * 100_000 + b"]" * 100_000,
        b"   ",
        _assistant("m20", "r20", _u(1, 2), costUSD=0.25, isSidechain=False),
    ]
    _write(projects / "s-1.jsonl", main)
    # A side-chain replaying m1's first line (same ids, in another file), and its own request.
    _write(
        projects / "s-1" / "subagents" / "agent-a1.jsonl",
        [
            _assistant("m1", "r1", _u(4, 3, 1000, 15220), isSidechain=True),
            _assistant("a1", "ra1", _u(3, 30, 800), isSidechain=True),
        ],
    )
    # CRLF line ends, and a truncated last line with no newline.
    crlf = [_assistant("c1", "rc1", _u(1, 5)), _assistant("c2", "rc2", _u(2, 6))]
    _write(projects / "crlf.jsonl", crlf, end=b"\r\n")
    with (projects / "crlf.jsonl").open("ab") as fh:
        fh.write(json.dumps(_assistant("c3", "rc3", _u(1, 1))).encode()[:40])
    # A file of summaries only: a transcript, no requests.
    _write(projects / "summaries.jsonl", [{"type": "summary", "summary": "a", "leafUuid": "1"}] * 3)
    # Codex: info null, repeated totals, a model change, other event types.
    total = {"input_tokens": 100, "cached_input_tokens": 40, "output_tokens": 7}
    event = {
        "type": "event_msg",
        "timestamp": "2026-03-02T10:00:05Z",
        "payload": {
            "type": "token_count",
            "info": {"total_token_usage": total, "last_token_usage": total},
        },
    }
    total2 = {"input_tokens": 250, "cached_input_tokens": 90, "output_tokens": 20}
    last2 = {"input_tokens": 150, "cached_input_tokens": 50, "output_tokens": 13}
    _write(
        root / "sessions" / "2026" / "03" / "02" / "rollout-1.jsonl",
        [
            {
                "timestamp": "2026-03-02T10:00:00Z",
                "type": "session_meta",
                "payload": {"id": "cx-1"},
            },
            {
                "timestamp": "2026-03-02T10:00:01Z",
                "type": "turn_context",
                "payload": {"model": "gpt-5-codex"},
            },
            {
                "timestamp": "2026-03-02T10:00:02Z",
                "type": "event_msg",
                "payload": {"type": "token_count", "info": None},
            },
            {
                "timestamp": "2026-03-02T10:00:03Z",
                "type": "response_item",
                "payload": {"type": "message", "content": "ü" * 100},
            },
            event,
            event,
            b"{broken",
            {
                "timestamp": "2026-03-02T10:00:09Z",
                "type": "turn_context",
                "payload": {"model": "gpt-5"},
            },
            {
                "timestamp": "2026-03-02T10:00:10Z",
                "type": "event_msg",
                "payload": {
                    "type": "token_count",
                    "info": {"total_token_usage": total2, "last_token_usage": last2},
                },
            },
        ],
    )
    _write(
        root / "sessions" / "2026" / "03" / "02" / "rollout-empty.jsonl",
        [
            {
                "timestamp": "2026-03-02T10:00:00Z",
                "type": "session_meta",
                "payload": {"id": "cx-2"},
            },
            {
                "timestamp": "2026-03-02T10:00:01Z",
                "type": "turn_context",
                "payload": {"model": "gpt-5"},
            },
        ],
    )
    return root


def test_edge_cases_load_as_load_input_loads_them(tmp_path: Path) -> None:
    tree = edge_tree(tmp_path / "tree")
    files = expand_paths([tree])
    assert assert_same_as_load_input(files, tmp_path) == 6


def test_edge_cases_keep_the_rules(tmp_path: Path) -> None:
    tree = edge_tree(tmp_path / "tree")
    fast = load_transcripts(expand_paths([tree]), tmp_path, assume_tz="UTC", account="dev")
    rows = pl.concat([x.frame for x in fast.values()], how="vertical_relaxed").collect()
    good = rows.filter(pl.col("_reject").is_null())
    kept, dropped = split_duplicate_requests(good.drop("_reject"))
    by_id = {r["request_id"]: r for r in kept.iter_rows(named=True)}
    assert by_id["m1:r1"]["output_tokens"] == 263  # the fullest of the streamed lines
    assert dropped.height == 1  # the side-chain's replay of m1, counted once
    assert (by_id["m2:r2"]["cache_write_tokens"], by_id["m2:r2"]["cache_write_1h_tokens"]) == (
        100,
        70,
    )
    assert "<synthetic>" not in kept["model"].to_list()
    assert not {"m4:", "m5:r5", "m6:r6", "m7:r7", "m8:r8", "m18:"} & set(by_id)
    assert by_id["m9:r9"]["input_tokens"] == 12 and "m19:r19" in by_id
    codex = kept.filter(pl.col("source") == "codex-session").sort("_line")
    assert codex.select("input_tokens", "cache_read_tokens", "output_tokens").rows() == [
        (60, 40, 7),
        (100, 50, 13),
    ]
    assert codex["model"].to_list() == ["gpt-5-codex", "gpt-5"]
    unreadable = {x.file.path.name: [line for line, _ in x.unreadable] for x in fast.values()}
    assert unreadable["s-1.jsonl"] == [27, 28, 29, 30, 31, 32]
    assert unreadable["crlf.jsonl"] == [3] and unreadable["rollout-1.jsonl"] == [7]


def test_an_over_long_line_is_one_unreadable_line_as_in_load_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_NDJSON_LINE_BYTES", 4096)
    tree = tmp_path / "tree"
    big = _assistant("big", "rb", _u(1, 2)) | {"pad": "x" * 20_000}
    _write(
        tree / "projects" / "p" / "s.jsonl",
        [_assistant("m1", "r1", _u(1, 2)), big, _assistant("m2", "r2", _u(3, 4))],
    )
    files = expand_paths([tree])
    assert assert_same_as_load_input(files, tmp_path) == 1
    (item,) = load_transcripts(files, tmp_path, account="dev").values()
    assert [line for line, _ in item.unreadable] == [2]
    assert "longer than 4K" in item.unreadable[0][1]


@pytest.mark.parametrize("seed", range(12))
def test_random_files_of_awkward_lines_load_as_load_input_loads_them(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines longer than the limit (first, last, spanning reads, without a final newline),
    invalid UTF-8 beside valid text, blank and CRLF lines, junk: all where load_input has them."""
    import random

    monkeypatch.setattr(readers, "MAX_NDJSON_LINE_BYTES", 4096)
    rng = random.Random(seed)
    choices = [
        lambda i: json.dumps(_assistant(f"m{i % 7}", "r", _u(1, i))).encode(),
        lambda i: json.dumps(
            _assistant(f"m{i}", "r", _u(1, 2)) | {"t": "ü日🚀" * rng.randrange(1, 600)},
            ensure_ascii=False,
        ).encode(),
        lambda i: json.dumps(
            _assistant(f"m{i}", "r", _u(1, 2)) | {"pad": "x" * rng.randrange(3000, 12000)}
        ).encode(),
        lambda i: b"",
        lambda i: b"  \t",
        lambda i: b'{"type": "assistant", "x": "\xff\xfe"}',
        lambda i: b"{truncated",
        lambda i: json.dumps(_assistant(f"m{i}", "r", _u(1, 2))).encode() + b"\r",
        lambda i: b"[" * rng.randrange(1, 3000),
        lambda i: b'{"a": "\\ud800"}',
    ]
    first = json.dumps(_assistant("m0", "r", _u(1, 1))).encode()
    lines = [first] + [rng.choice(choices)(i) for i in range(1, 60)]
    body = b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b"")
    path = tmp_path / "projects" / "p" / "s.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(body)
    files = expand_paths([tmp_path / "projects"])
    assert assert_same_as_load_input(files, tmp_path) == 1


def test_files_it_cannot_be_sure_of_are_left_to_load_input(tmp_path: Path) -> None:
    line = json.dumps(_assistant("m1", "r1", _u(1, 2))).encode()
    plain = _write(tmp_path / "a.jsonl", [line, line])
    packed = tmp_path / "b.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    single = _write(tmp_path / "c.jsonl", [line])  # one line reads as a JSON document
    utf16 = tmp_path / "d.jsonl"
    utf16.write_bytes(b"\xff\xfe" + plain.read_text().encode("utf-16-le"))
    history = _write(
        tmp_path / "history.jsonl", [{"display": "hi", "project": "/p", "sessionId": "s"}] * 3
    )
    names = [plain, packed, single, utf16, history]
    files = [InputFile(p, p.name) for p in names]
    assert [recognise(f) for f in files] == [CLAUDE, None, None, None, None]
    from tokenaudit.schema import Kind

    assert recognise(InputFile(plain, "a", forced_kind=Kind.COMMITS)) is None
    # Read together, each file is read as it is read alone.
    readable = files[:4]
    loaded, skipped = load_all(readable, tmp_path, "UTC", "dev")
    assert not skipped and [x.file for x in loaded] == readable
    for item, file in zip(loaded, readable, strict=True):
        old = load_input(file, tmp_path, assume_tz="UTC", account="dev")
        assert old is not None and _frame(item.frame).equals(_frame(old.frame))


def test_batches_of_any_size_give_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = edge_tree(tmp_path / "tree")
    files = expand_paths([tree])

    def rows() -> pl.DataFrame:
        fast = load_transcripts(files, tmp_path, assume_tz="UTC", account="dev")
        return pl.concat([fast[k].frame.collect() for k in sorted(fast)]).sort("_file", "_line")

    whole = rows()
    monkeypatch.setattr(transcripts, "BATCH_ROWS", 1)
    assert rows().equals(whole)


def test_an_owner_is_needed_before_a_tree_is_read(tmp_path: Path) -> None:
    from tokenaudit.errors import DataError

    path = _write(tmp_path / "a.jsonl", [_assistant("m1", "r1", _u(1, 2))] * 2)
    with pytest.raises(DataError, match="names no account"):
        load_transcripts([InputFile(path, "a.jsonl")], tmp_path)


def test_the_period_prunes_as_load_input_does(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    tree = edge_tree(tmp_path / "tree")
    files = expand_paths([tree])
    period = (datetime(2026, 3, 3, tzinfo=UTC), None)
    fast = load_transcripts(files, tmp_path, assume_tz="UTC", account="dev", period=period)
    for position, item in fast.items():
        old = load_input(files[position], tmp_path, assume_tz="UTC", account="dev", period=period)
        assert old is not None and _frame(item.frame).equals(_frame(old.frame))


# ----------------------------------------------------------------------------- generated trees


def _days(tree: Path, tmp: Path) -> pl.DataFrame:
    loaded, _ = load_all(expand_paths([tree]), tmp, "UTC", "A")
    rows = pl.concat([x.frame for x in loaded], how="vertical_relaxed").collect()
    kept, _ = split_duplicate_requests(rows.filter(pl.col("_reject").is_null()).drop("_reject"))
    return (
        kept.group_by(pl.col("timestamp").dt.date().cast(pl.String).alias("date"))
        .agg(pl.col(list(COLUMNS)).sum())
        .sort("date")
    )


@pytest.mark.parametrize("make", [claude_tree, codex_tree])
def test_generated_trees_count_what_they_were_built_with(make: object, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    expected = make(tree, 600_000, seed=3)  # type: ignore[operator]
    want = pl.DataFrame([{"date": d, **v} for d, v in expected["ours"].items()]).sort("date")
    assert _days(tree, tmp_path).equals(want.select("date", *COLUMNS))
    files = expand_paths([tree])
    assert assert_same_as_load_input(files, tmp_path, account="A") == len(files)


def test_generated_trees_are_the_same_for_the_same_seed(tmp_path: Path) -> None:
    a = claude_tree(tmp_path / "a", 200_000, seed=5)
    b = claude_tree(tmp_path / "b", 200_000, seed=5)
    assert a == b
    first = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.jsonl"))
    assert first == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.jsonl"))
    shutil.rmtree(tmp_path / "b")


# ----------------------------------------------------------------------------- the fullest line


def _reference_rows(records: list[tuple[int, dict]]) -> list[dict]:
    """`exports.claude_code_transcript`'s rows as written before transcripts were read at
    scale (a row built for every line, then compared): the rule the faster code must keep."""
    from tokenaudit.loaders.exports import _add, _count, _get, _int, _is_request_line

    best: dict = {}
    order: list = []
    for line, r in records:
        if not _is_request_line(r):
            continue
        message = r.get("message")
        usage = _get(message, "usage")
        if (
            not isinstance(usage, dict)
            or "input_tokens" not in usage
            or "output_tokens" not in usage
        ):
            continue
        model = _get(message, "model")
        if model == "<synthetic>":
            continue
        msg_id = _get(message, "id") or ""
        req_id = r.get("requestId") or ""
        key = f"{msg_id}:{req_id}" if msg_id or req_id else f"line:{line}"
        creation = usage.get("cache_creation")
        cache_write = (
            _add(
                _get(creation, "ephemeral_5m_input_tokens"),
                _get(creation, "ephemeral_1h_input_tokens"),
            )
            if isinstance(creation, dict)
            else _count(usage.get("cache_creation_input_tokens"))
        )
        one_hour = (
            _get(creation, "ephemeral_1h_input_tokens") if isinstance(creation, dict) else None
        )
        row = {
            "timestamp": r.get("timestamp"),
            "input_tokens": _count(usage.get("input_tokens")),
            "output_tokens": _count(usage.get("output_tokens")),
            "cache_read_tokens": _count(usage.get("cache_read_input_tokens")),
            "cache_write_tokens": cache_write,
            "cache_write_1h_tokens": _count(one_hour),
            "model": model,
            "request_id": key,
            "session_id": r.get("sessionId"),
            "cost_usd": r.get("costUSD"),
        }
        size = sum(
            _int(row[c])
            for c in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
        )
        if key not in best:
            order.append(key)
            best[key] = (line, row | {"_size": size})
        elif size > best[key][1]["_size"]:
            best[key] = (line, row | {"_size": size})
    return [
        {"_line": best[k][0], **{c: v for c, v in best[k][1].items() if c != "_size"}}
        for k in order
    ]


@pytest.mark.parametrize("seed", range(20))
def test_the_fullest_line_rule_is_kept_on_any_values(seed: int) -> None:
    import random

    from tokenaudit.loaders.exports import claude_code_rows

    rng = random.Random(seed)
    values = [
        0, 1, 7, 120, 263, 2**53 - 1, 2**53 + 1, 2**70 + 1, -4, True, False, None, 2.0, 2.5,
        float("inf"), "12", " 12 ", "1e3", "abc", "", [1], {"a": 1},
    ]  # fmt: skip

    def count() -> object:
        return rng.choice(values) if rng.random() < 0.3 else rng.randrange(0, 5000)

    def usage() -> object:
        if rng.random() < 0.05:
            return rng.choice([{}, None, [], {"input_tokens": 1}])
        u = {"input_tokens": count(), "output_tokens": count()}
        for name in ("cache_read_input_tokens", "cache_creation_input_tokens"):
            if rng.random() < 0.8:
                u[name] = count()
        if rng.random() < 0.5:
            u["cache_creation"] = (
                {"ephemeral_5m_input_tokens": count(), "ephemeral_1h_input_tokens": count()}
                if rng.random() < 0.9
                else rng.choice([None, "x", 5])
            )
        return u

    records = []
    for line in range(1, 400):
        record = {
            "type": rng.choice(["assistant"] * 8 + ["user", "progress", None]),
            "requestId": rng.choice([f"r{rng.randrange(30)}", None, ""]),
            "sessionId": "s",
            "timestamp": f"2026-03-02T10:{line % 60:02d}:00Z",
            "message": {
                "id": rng.choice([f"m{rng.randrange(30)}", None, ""]),
                "role": rng.choice(["assistant", "user"]),
                "model": rng.choice(["claude-x", "<synthetic>", None]),
                "usage": usage(),
            },
        }
        if record["type"] is None:
            del record["type"]
        records.append((line, record))
    assert claude_code_rows(records) == _reference_rows(records)


# ----------------------------------------------------------------------------- several processes


def _rows_of(fast: dict) -> pl.DataFrame:
    return pl.concat([fast[k].frame.collect() for k in sorted(fast)]).sort("_file", "_line")


def test_several_processes_read_what_one_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = edge_tree(tmp_path / "tree")
    claude_tree(tree / "more", 100_000, seed=2)
    files = expand_paths([tree])
    alone = load_transcripts(files, tmp_path, assume_tz="UTC", account="dev")
    monkeypatch.setattr(transcripts, "PARALLEL_FILES", 1)
    monkeypatch.setattr(transcripts, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(transcripts, "_workers", lambda files: 2)
    digests: list[str] = []
    together = load_transcripts(
        files,
        tmp_path,
        assume_tz="UTC",
        account="dev",
        parallel=True,
        on_digest=lambda path, stat, digest: digests.append(digest),
    )
    assert sorted(together) == sorted(alone)
    assert _rows_of(together).equals(_rows_of(alone))
    assert [together[k].unreadable for k in sorted(together)] == [
        alone[k].unreadable for k in sorted(alone)
    ]
    from tokenaudit.manifest import sha256_file

    assert sorted(digests) == sorted(sha256_file(files[k].path) for k in together)


def test_processes_that_die_leave_the_rest_to_this_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import concurrent.futures
    from concurrent.futures.process import BrokenProcessPool

    tree = edge_tree(tmp_path / "tree")
    files = expand_paths([tree])
    alone = load_transcripts(files, tmp_path, assume_tz="UTC", account="dev")

    class Dying:
        def __init__(self, **_: object) -> None:
            pass

        def __enter__(self) -> Dying:
            return self

        def __exit__(self, *_: object) -> None:
            return None

        def map(self, fn, items, chunksize: int = 1):  # type: ignore[no-untyped-def]
            yield fn(items[0])
            raise BrokenProcessPool("a worker died")

    monkeypatch.setattr(transcripts, "_workers", lambda files: 2)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Dying)
    fast = load_transcripts(files, tmp_path, assume_tz="UTC", account="dev", parallel=True)
    assert _rows_of(fast).equals(_rows_of(alone))
