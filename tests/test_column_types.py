"""A column of the wrong type: one that holds no scalar (a Parquet list or struct) refuses the
file naming the column and its type; a boolean read as a count is rejected row by row in every
format, as JSON's `true` always was."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from .test_hostile_inputs import run

COMMITS = "merged_at,author,lines_added\n2026-03-03T10:00:00Z,ana@acme.example,4\n"


def _usage(n: int = 6) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "timestamp": [f"2026-03-{2 + i:02d}T10:00:00Z" for i in range(n)],
            "account": ["ana@acme.example"] * n,
            "input_tokens": [100 + i for i in range(n)],
        }
    )


@pytest.mark.parametrize(
    ("column", "nested", "shown"),
    [
        ("input_tokens", pl.col("input_tokens").implode().over("account"), "List(Int64)"),
        ("account", pl.concat_list("account"), "List(String)"),
        ("input_tokens", pl.struct("input_tokens"), "Struct({'input_tokens': Int64})"),
        ("timestamp", pl.concat_list("timestamp"), "List(String)"),
    ],
)
def test_a_parquet_column_that_holds_no_scalar_is_exit_65_naming_file_column_and_type(
    tmp_path: Path, column: str, nested: pl.Expr, shown: str
) -> None:
    path = tmp_path / "usage.parquet"
    _usage().with_columns(nested.alias(column)).write_parquet(path)
    (tmp_path / "commits.csv").write_text(COMMITS)
    code, out, err = run("scan", str(path), "--commits", str(tmp_path / "commits.csv"))
    assert code == 65
    assert out == ""
    assert err == (
        f"tokenaudit: error: {path}: column '{column}': holds {shown} values; "
        "a column tokenaudit reads needs one value per row\n"
    )


def test_a_nested_commit_column_is_refused_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "commits.parquet"
    pl.DataFrame(
        {"merged_at": ["2026-03-03T10:00:00Z"], "author": ["ana"], "lines_added": [[4]]}
    ).write_parquet(path)
    usage = tmp_path / "usage.csv"
    _usage().write_csv(usage)
    code, _, err = run("scan", str(usage), "--commits", str(path))
    assert code == 65
    assert f"{path}: column 'lines_added': holds List(Int64) values" in err


def test_a_nested_column_that_is_not_read_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "usage.parquet"
    _usage().with_columns(pl.concat_list("account").alias("tags")).write_parquet(path)
    (tmp_path / "commits.csv").write_text(COMMITS)
    code, _, err = run("scan", str(path), "--commits", str(tmp_path / "commits.csv"), "-f", "csv")
    assert code in (0, 1), err


@pytest.mark.parametrize("fmt", ["parquet", "ndjson"])
def test_a_boolean_token_count_is_rejected_row_by_row_in_parquet_as_in_json(
    tmp_path: Path, fmt: str
) -> None:
    frame = _usage().with_columns(
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.lit(True))
        .otherwise(None)
        .alias("output_tokens")
    )
    path = tmp_path / f"usage.{fmt}"
    if fmt == "parquet":
        frame.write_parquet(path)
    else:
        frame.write_ndjson(path)
    (tmp_path / "commits.csv").write_text(COMMITS)
    rejects = tmp_path / "rejects.csv"
    code, _, err = run(
        "scan", str(path), "--commits", str(tmp_path / "commits.csv"), "-f", "csv",
        "--rejects", str(rejects), "--exit-zero",
    )  # fmt: skip
    assert code == 0, err
    assert rejects.read_text().splitlines()[1:] == [
        f"{path},3,output_tokens,bad_number,not a whole number 'true'"
    ]
