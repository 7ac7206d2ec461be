"""Every rejected row carries a `RejectCode` beside its human reason: in the loaders' frames, in
the unreadable lines, in the report's rejects and in the `--rejects` file's `code` column."""

from __future__ import annotations

import csv
import io
import pickle
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from tokenaudit.cli import app
from tokenaudit.loaders import InputFile, load_input
from tokenaudit.rejects import Reason, RejectCode, code_of
from tokenaudit.report.rejects import render_rejects
from tokenaudit.schema import Kind

from .conftest import CLI_ENV

HEADER = "timestamp,account,input_tokens,output_tokens,request_id\n"


def _good_rows(n: int = 60) -> list[str]:
    return [f"2026-03-{2 + i % 20:02d}T10:{i % 60:02d}:00Z,ana,100,10,r{i}\n" for i in range(n)]


def _write(tmp_path: Path) -> tuple[Path, Path]:
    usage = tmp_path / "usage.csv"
    usage.write_text(
        HEADER
        + "".join(_good_rows())
        + "not-a-time,ana,1,1,b1\n"  # 62
        + "2026-03-05T10:00:00Z,,1,1,b2\n"  # 63
        + "2026-03-05T10:00:00Z,ana,-5,1,b3\n"  # 64
        + "2026-03-05T10:00:00Z,ana,2000000000000000,1,b4\n"  # 65
        + "2026-03-05T10:00:00Z,ana,1,1,b5,extra\n"  # 66
        + "2026-03-05T10:00:00Z,ana,1.5,1,b6\n"  # 67
        + "2026-03-05 10:00:00,ana,1,1,b7\n"  # 68: no zone, --assume-tz none
        + "05/03/2026,ana,1,1,b8\n"  # 69
        + "2026-03-02T10:00:00Z,ana,100,10,r0\n"  # 70: a repeated request id
        + "1990-01-01T10:00:00Z,ana,100,10,s1\n"  # 71: a stray date
    )
    commits = tmp_path / "commits.csv"
    commits.write_text("merged_at,author,lines_added\n2026-03-03T10:00:00Z,ana,40\n")
    return usage, commits


def test_the_rejects_file_has_a_code_for_every_reason(tmp_path: Path) -> None:
    usage, commits = _write(tmp_path)
    out = tmp_path / "rejects.csv"
    result = CliRunner(env=CLI_ENV).invoke(
        app,
        [
            "scan",
            str(usage),
            "--commits",
            str(commits),
            "--rejects",
            str(out),
            "--assume-tz",
            "none",
            "--exit-zero",
            "-f",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == ["file", "line", "column", "code", "reason"]
    codes = {int(r["line"]): r["code"] for r in rows}
    assert codes == {
        62: "bad_timestamp",
        63: "missing_value",
        64: "negative_count",
        65: "implausible_count",
        66: "too_many_fields",
        67: "bad_number",
        68: "no_time_zone",
        69: "ambiguous_date",
        70: "duplicate_request",
        71: "stray_date",
    }
    assert all(r["code"] in set(RejectCode) for r in rows)
    # The notes count by code, and say the same as before.
    assert "1 repeated request ids counted once" in result.stderr
    assert "1 usage rows dated far outside the rest" in result.stderr


def test_unreadable_json_lines_have_codes(tmp_path: Path) -> None:
    path = tmp_path / "usage.ndjson"
    good = '{"timestamp": "2026-03-02T10:00:00Z", "account": "ana", "input_tokens": 5}\n'
    path.write_bytes(
        (good * 6).encode()
        + b"{not json\n"
        + b"[1, 2]\n"
        + b'{"account": "\xff"}\n'
        + b"[" * 5000
        + b"\n"
    )
    loaded = load_input(InputFile(path, path.name), tmp_path)
    assert loaded is not None
    assert [(line, code_of(r)) for line, r in loaded.unreadable] == [
        (7, RejectCode.BAD_JSON),
        (8, RejectCode.NOT_AN_OBJECT),
        (9, RejectCode.NOT_UTF8),
        (10, RejectCode.TOO_DEEP),
    ]
    # They still read as (line, text) pairs.
    assert loaded.unreadable[0][1].startswith("not valid JSON")


def test_canonical_rows_carry_their_code(tmp_path: Path) -> None:
    usage, _ = _write(tmp_path)
    loaded = load_input(InputFile(usage, usage.name, Kind.USAGE), tmp_path)
    assert loaded is not None
    frame = loaded.frame.collect()
    rejected = frame.filter(pl.col("_reject").is_not_null())
    assert rejected["_reject_code"].null_count() == 0
    assert (
        frame.filter(pl.col("_reject").is_null())["_reject_code"].null_count()
        == frame.filter(pl.col("_reject").is_null()).height
    )


def test_a_reason_keeps_its_code_and_compares_as_text() -> None:
    reason = Reason(RejectCode.BAD_JSON, "not valid JSON (x)")
    assert reason == "not valid JSON (x)" and code_of(reason) is RejectCode.BAD_JSON
    assert code_of(pickle.loads(pickle.dumps(reason))) is RejectCode.BAD_JSON
    assert code_of("some adapter's words") is RejectCode.OTHER


def test_render_rejects_without_codes_says_other() -> None:
    frame = pl.DataFrame({"file": ["a.csv"], "line": [2], "reason": ["column 'x': bad"]})
    assert render_rejects(frame).splitlines() == [
        "file,line,column,code,reason",
        "a.csv,2,x,other,bad",
    ]
