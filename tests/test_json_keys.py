"""A JSON or NDJSON record with two keys that name one column is refused, as a CSV header
that names a column twice is: neither value is kept in silence."""

from __future__ import annotations

import json
from pathlib import Path

from .test_hostile_inputs import run

COMMITS = "merged_at,author,lines_added\n2026-03-03T10:00:00Z,a@x,4\n"


def _record(**extra: object) -> dict[str, object]:
    return {"timestamp": "2026-03-02T10:00:00Z", "account": "a@x", "input_tokens": 10, **extra}


def _scan(path: Path) -> tuple[int, str, str]:
    commits = path.with_name("commits.csv")
    commits.write_text(COMMITS)
    return run("scan", str(path), "--commits", str(commits), "-f", "csv", "--exit-zero")


def test_an_ndjson_line_with_two_spellings_of_one_column_is_exit_65_naming_line_and_keys(
    tmp_path: Path,
) -> None:
    path = tmp_path / "usage.ndjson"
    lines = [_record(), _record(), _record(**{"Input Tokens": 999_999_999_999})]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    code, out, err = _scan(path)
    assert (code, out) == (65, "")
    assert err == (
        f"tokenaudit: error: {path}:3: keys 'input_tokens' and 'Input Tokens' both name "
        "column 'input_tokens'\n"
    )


def test_a_json_record_with_two_spellings_of_one_column_is_exit_65_naming_the_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / "usage.json"
    path.write_text(json.dumps([_record(), _record(**{"INPUT-TOKENS": 5})]))
    code, out, err = _scan(path)
    assert (code, out) == (65, "")
    assert err == (
        f"tokenaudit: error: {path}: record 2: keys 'input_tokens' and 'INPUT-TOKENS' both "
        "name column 'input_tokens'\n"
    )


def test_the_same_csv_header_is_refused_alike(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    path.write_text("timestamp,account,input_tokens,Input Tokens\n2026-03-02T10:00:00Z,a@x,1,2\n")
    code, _, err = _scan(path)
    assert code == 65
    assert "column 'input_tokens' appears twice in the header" in err


def test_keys_that_name_different_columns_in_different_records_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "usage.ndjson"
    rows = [_record(model="m"), {**_record(), "Model": "n"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = _scan(path)
    assert code == 0, err
    assert out.startswith("rank,account,")
