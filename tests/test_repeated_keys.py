"""A JSON or NDJSON object that names the same key twice, spelled identically, is refused as two
spellings of one column are (`test_json_keys`): Python's `json` would keep the last value in
silence, so `{"input_tokens": 5, "input_tokens": 900000}` would count 900,000 tokens unseen."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tokenaudit.loaders import InputFile, transcripts

from .conftest import DATA
from .test_hostile_inputs import run

COMMITS = "merged_at,author,lines_added\n2026-03-03T10:00:00Z,a@x,4\n"
RECORD = '{"timestamp": "2026-03-02T10:00:00Z", "account": "a@x", "input_tokens": 5'


def _scan(path: Path, *args: str) -> tuple[int, str, str]:
    commits = path.parent / "commits.csv"
    commits.write_text(COMMITS)
    return run("scan", str(path), "--commits", str(commits), "-f", "csv", "--exit-zero", *args)


def test_an_ndjson_line_with_the_same_key_twice_is_refused_naming_the_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "usage.ndjson"
    path.write_text(f'{RECORD}}}\n{RECORD}}}\n{RECORD}, "input_tokens": 900000}}\n')
    code, out, err = _scan(path)
    assert (code, out) == (65, "")
    assert err == f"tokenaudit: error: {path}:3: key 'input_tokens' appears twice in one object\n"


def test_a_json_record_with_the_same_key_twice_is_refused_naming_the_line_of_the_second(
    tmp_path: Path,
) -> None:
    # Pretty-printed, with the same key in a nested object first: the line is the record's own
    # second `input_tokens`, not the nested one.
    records = [
        {"timestamp": "2026-03-02T10:00:00Z", "account": "a@x", "input_tokens": 5},
        {"timestamp": "2026-03-02T10:00:00Z", "account": "a@x", "input_tokens": 5},
    ]
    text = json.dumps(records, indent=2).replace(
        '"input_tokens": 5\n  }\n]',
        '"input_tokens": 5,\n    "meta": {"input_tokens": 1},\n    "input_tokens": 900000\n  }\n]',
    )
    path = tmp_path / "usage.json"
    path.write_text(text)
    line = text.splitlines().index('    "input_tokens": 900000') + 1
    code, out, err = _scan(path)
    assert (code, out) == (65, "")
    assert err == (
        f"tokenaudit: error: {path}:{line}: key 'input_tokens' appears twice in one object\n"
    )


def test_a_key_repeated_in_a_nested_object_or_spelled_with_escapes_is_refused_alike(
    tmp_path: Path,
) -> None:
    path = tmp_path / "usage.json"
    path.write_text(
        '[{"timestamp": "2026-03-02T10:00:00Z", "account": "a@x", "input_tokens": 5},\n'
        ' {"timestamp": "2026-03-02T10:00:00Z", "account": "a@x", "input_tokens": 5,'
        ' "usage": {"cost": 1, "\\u0063ost": 2}}]\n'
    )
    code, out, err = _scan(path)
    assert (code, out) == (65, "")
    assert err == f"tokenaudit: error: {path}:2: key 'cost' appears twice in one object\n"


def test_a_claude_transcript_line_with_a_usage_key_twice_is_refused_naming_the_line(
    tmp_path: Path,
) -> None:
    # The batch reader of transcript trees leaves such a file to the NDJSON reader, which
    # refuses it: the same answer whichever reader sees it first.
    tree = tmp_path / "dana"
    shutil.copytree(DATA / "claude_tree", tree)
    path = next(p for p in sorted(tree.rglob("*.jsonl")) if '"input_tokens"' in p.read_text())
    lines = path.read_text().splitlines(keepends=True)
    number = next(
        i for i, t in enumerate(lines) if '"input_tokens": ' in t or '"input_tokens":' in t
    )
    lines[number] = lines[number].replace(
        '"input_tokens":', '"input_tokens": 900000, "input_tokens":', 1
    )
    path.write_text("".join(lines))
    assert transcripts.read_file(InputFile(path, str(path))) is None
    code, out, err = run(
        "scan", str(tree), "--commits", str(DATA / "commits_basic.csv"), "-f", "csv"
    )
    assert (code, out) == (65, ""), err
    assert err == (
        f"tokenaudit: error: {path}:{number + 1}: key 'input_tokens' appears twice in one object\n"
    )
