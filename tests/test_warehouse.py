"""`panel-sql`: the warehouse builds the same account-day panel as tokenaudit, and `scan` accepts it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from tokenaudit.cli import app
from tokenaudit.config import AuditConfig
from tokenaudit.identities import IdentityMap
from tokenaudit.ingest import build_usage_panel
from tokenaudit.loaders import InputFile, load_input
from tokenaudit.schema import PANEL_SCHEMA, Kind
from tokenaudit.warehouse import DIALECTS, panel_sql

duckdb = pytest.importorskip("duckdb")  # in the test and dev extras


def good_rows(path: Path, kind: Kind, tmp_path: Path) -> pl.DataFrame:
    loaded = load_input(InputFile(path, path.name, kind), tmp_path)
    assert loaded is not None
    return loaded.frame.filter(pl.col("_reject").is_null()).collect()


def warehouse_tables(org: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The usage and identity logs as a warehouse would hold them: typed Parquet, canonical
    columns (timestamps as UTC instants)."""
    usage = good_rows(org / "usage.csv", Kind.USAGE, tmp_path)
    identities = good_rows(org / "identities.csv", Kind.IDENTITIES, tmp_path)
    usage.drop("_file", "_line", "_reject", "_zone_less").write_parquet(tmp_path / "u.parquet")
    identities.select("alias", "account").write_parquet(tmp_path / "i.parquet")
    return tmp_path / "u.parquet", tmp_path / "i.parquet"


def duckdb_run(sql: str, org: Path, tmp_path: Path) -> pl.DataFrame:
    """`sql` run by DuckDB over tables `usage` and `ids`; the result as saved to panel.parquet."""
    usage, ids = warehouse_tables(org, tmp_path)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE usage AS SELECT * FROM read_parquet('{usage}')")
    con.execute(f"CREATE TABLE ids AS SELECT * FROM read_parquet('{ids}')")
    con.execute(f"COPY ({sql}) TO '{tmp_path / 'panel.parquet'}' (FORMAT parquet)")
    return pl.read_parquet(tmp_path / "panel.parquet")


def duckdb_panel(org: Path, tmp_path: Path, **options: object) -> pl.DataFrame:
    sql = panel_sql("duckdb", identities_table="ids", **options)  # type: ignore[arg-type]
    return duckdb_run(sql, org, tmp_path)


def tokenaudit_panel(org: Path, tmp_path: Path, cfg: AuditConfig) -> pl.DataFrame:
    loaded = load_input(InputFile(org / "usage.csv", "usage.csv", Kind.USAGE), tmp_path)
    assert loaded is not None
    identities = good_rows(org / "identities.csv", Kind.IDENTITIES, tmp_path)
    idmap = IdentityMap.from_frame(identities)
    return build_usage_panel([loaded.frame], idmap, cfg, tmp_path, 0).days


def test_the_duckdb_panel_equals_tokenaudits_own(small_org: Path, tmp_path: Path) -> None:
    options = {"tz": "Europe/Berlin", "since": date(2026, 3, 9), "until": date(2026, 4, 5)}
    theirs = duckdb_panel(small_org, tmp_path, **options)
    ours = tokenaudit_panel(small_org, tmp_path, AuditConfig(**options))  # type: ignore[arg-type]
    assert dict(theirs.schema) == PANEL_SCHEMA
    assert ours.height > 500
    # Sums and counts are exact; means and deviations of gaps agree to floating-point rounding.
    # (Rows are compared in Polars' order: a warehouse may collate text differently.)
    theirs = theirs.sort("account", "day")
    assert_frame_equal(ours, theirs, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


def test_scan_reads_the_panel_and_reports_what_the_requests_give(
    small_org: Path, tmp_path: Path
) -> None:
    duckdb_panel(small_org, tmp_path)
    runner = CliRunner()
    common = [str(small_org / "commits.csv"), str(small_org / "identities.csv"), "--format"]
    from_requests = runner.invoke(
        app, ["scan", str(small_org / "usage.csv"), *common, "csv", "--exit-zero"]
    )
    from_panel = runner.invoke(
        app, ["scan", "--usage", str(tmp_path / "panel.parquet"), *common, "csv", "--exit-zero"]
    )
    assert from_panel.exit_code == 0, from_panel.stderr
    assert from_panel.stdout == from_requests.stdout


def test_a_panel_and_request_logs_together_are_refused(small_org: Path, tmp_path: Path) -> None:
    duckdb_panel(small_org, tmp_path)
    paths = [str(tmp_path / "panel.parquet"), str(small_org / "usage.csv")]
    result = CliRunner().invoke(app, ["scan", *paths, str(small_org / "commits.csv")])
    assert result.exit_code == 65
    assert "not both" in result.stderr


def test_a_repeated_panel_row_is_quarantined_not_counted_twice(
    small_org: Path, tmp_path: Path
) -> None:
    panel = duckdb_panel(small_org, tmp_path)
    pl.concat([panel, panel.head(3)]).write_csv(tmp_path / "twice.csv")
    args = ["scan", str(tmp_path / "twice.csv"), str(small_org / "commits.csv")]
    result = CliRunner().invoke(app, [*args, "--format", "json", "--exit-zero"])
    assert result.exit_code == 0, result.stderr
    twice = next(
        i for i in json.loads(result.stdout)["run"]["inputs"] if i["name"].endswith("twice.csv")
    )
    assert (twice["rows"], twice["used"], twice["rejected"]) == (panel.height + 3, panel.height, 3)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_panel_sql_prints_one_statement_per_dialect_with_names_quoted(dialect: str) -> None:
    result = CliRunner().invoke(
        app, ["panel-sql", "--dialect", dialect, "--table", 'logs.us"age`x', "--tz", "Asia/Tokyo"]
    )
    assert result.exit_code == 0, result.stderr
    sql = result.stdout
    assert "Asia/Tokyo" in sql and sql.count(";") == 0
    quoted = {"duckdb": '"us""age`x"', "spark": '`us"age``x`', "bigquery": '`us"age\\`x`'}
    assert quoted[dialect] in sql


def test_panel_sql_rejects_an_unknown_dialect_a_bad_zone_and_control_characters() -> None:
    runner = CliRunner()
    injected = runner.invoke(app, ["panel-sql", "--dialect", "duckdb", "--table", "u\nDROP x"])
    assert injected.exit_code == 2
    assert runner.invoke(app, ["panel-sql", "--dialect", "oracle"]).exit_code == 2
    bad_zone = runner.invoke(app, ["panel-sql", "--dialect", "duckdb", "--tz", "Mars/Base"])
    assert bad_zone.exit_code == 2


def test_inspect_describes_a_panel_input(small_org: Path, tmp_path: Path) -> None:
    panel = duckdb_panel(small_org, tmp_path)
    result = CliRunner().invoke(
        app, ["inspect", str(tmp_path / "panel.parquet"), "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    (described,) = json.loads(result.stdout)["files"]
    assert (described["kind"], described["used"]) == ("panel", panel.height)


# ----------------------------------------------------------------------------- a real SQL parser
# DuckDB and Spark run their dialects (here and in test_spark.py); BigQuery cannot run in a test,
# so its statement is at least read by sqlglot's BigQuery parser, and translated to DuckDB and run.

PERIOD: dict[str, object] = {
    "tz": "Europe/Berlin",
    "since": date(2026, 3, 9),
    "until": date(2026, 4, 5),
}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_every_dialect_is_one_select_that_a_sql_parser_reads(dialect: str) -> None:
    sqlglot = pytest.importorskip("sqlglot")  # in the test and dev extras
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel

    sql = panel_sql(dialect, table="proj.logs.usage", identities_table="proj.logs.people", **PERIOD)  # type: ignore[arg-type]
    (statement,) = sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.RAISE)
    assert isinstance(statement, exp.Select)
    assert statement.named_selects == list(PANEL_SCHEMA)
    read = {
        ".".join(part for part in (t.catalog, t.db, t.name) if part)
        for t in statement.find_all(exp.Table)
    }
    ctes = {cte.alias for cte in statement.find_all(exp.CTE)}
    assert read - ctes == {"proj.logs.usage", "proj.logs.people"}


def test_the_bigquery_statement_translated_to_duckdb_builds_the_same_panel(
    small_org: Path, tmp_path: Path
) -> None:
    """sqlglot reads the BigQuery dialect's functions (DATE(ts, zone), REGEXP_CONTAINS,
    LOGICAL_OR, UNIX_MICROS, FLOAT64 ...) by their BigQuery meaning; DuckDB runs the translation."""
    sqlglot = pytest.importorskip("sqlglot")
    bigquery = panel_sql("bigquery", identities_table="ids", **PERIOD)  # type: ignore[arg-type]
    (translated,) = sqlglot.transpile(bigquery, read="bigquery", write="duckdb")
    theirs = duckdb_run(translated, small_org, tmp_path).sort("account", "day")
    ours = duckdb_panel(small_org, tmp_path, **PERIOD).sort("account", "day")
    assert dict(theirs.schema) == PANEL_SCHEMA
    assert_frame_equal(ours, theirs, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


def _panels_of(
    lines: list[str],
    people: list[str],
    tmp_path: Path,
    header: str = "timestamp,account,input_tokens,output_tokens",
) -> pl.DataFrame:
    """The panel of usage `lines` (CSV rows after the `header`) built by tokenaudit, checked
    equal to the one DuckDB builds from the same rows."""
    org = tmp_path / "org"
    org.mkdir(parents=True)
    (org / "usage.csv").write_text("\n".join([header, *lines]) + "\n")
    (org / "identities.csv").write_text("alias,account\n" + "".join(f"{p},{p}\n" for p in people))
    theirs = duckdb_panel(org, tmp_path).sort("account", "day")
    ours = tokenaudit_panel(org, tmp_path, AuditConfig())
    assert_frame_equal(ours, theirs, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    return ours


def test_the_warehouse_counts_repeats_only_in_long_runs_as_tokenaudit_does(tmp_path: Path) -> None:
    # An eval sampling each question five times (runs of 5) and a loop re-sending one request
    # 30 times (a run of 30), a minute apart: only the loop's requests repeat, numbered or not.
    lines = []
    for i in range(40):  # the eval: 8 questions, 5 samples each
        lines.append(f"2026-03-02T09:{i:02d}:00Z,eve@x,{1_500 + i // 5},1")
    for i in range(30):  # the loop
        lines.append(f"2026-03-02T11:{i:02d}:00Z,lou@x,4000,200")
    for i in range(30):  # a loop numbering its requests: prompts a few tokens apart
        lines.append(f"2026-03-02T13:{i:02d}:00Z,num@x,{4000 + (5 * i) % 7},200")
    for i in range(30):  # a batch job labelling items of nearly one size
        lines.append(f"2026-03-02T15:{i:02d}:00Z,lab@x,{4000 + (5 * i) % 7},1")
    ours = _panels_of(lines, ["eve@x", "lou@x", "num@x", "lab@x"], tmp_path)
    assert ours.select("account", "same_size_pairs").rows() == [
        ("eve@x", 0),
        ("lab@x", 0),
        ("lou@x", 29),
        ("num@x", 29),
    ]


def test_the_warehouse_counts_a_prompt_held_for_hours_as_tokenaudit_does(tmp_path: Path) -> None:
    # A loop sleeping 20 minutes after each answer, its answers sampled, for three hours (10
    # requests: held); the same request every 20 minutes on the clock (a scheduled job: in step
    # with a cron period); and polls of three builds, 15 polls 6 minutes apart and 40 minutes
    # between builds (held for five hours, but not at a steady pace).
    def at(seconds: int) -> str:
        return (
            f"2026-03-02T{9 + seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}Z"
        )

    lines = []
    for i in range(10):
        lines.append(f"{at(1237 * i)},lou@x,90000,{800 + 37 * i}")
        lines.append(f"{at(1200 * i + 7)},job@x,90000,800")
    for i in range(45):  # 15 polls 6 minutes apart, then 40 minutes until the next build
        lines.append(f"{at(60 * (124 * (i // 15) + 6 * (i % 15)) + 11)},pol@x,30000,10")
    ours = _panels_of(lines, ["lou@x", "job@x", "pol@x"], tmp_path)
    assert ours.select("account", "same_size_pairs").rows() == [
        ("job@x", 0),
        ("lou@x", 9),
        ("pol@x", 0),
    ]


def test_a_loop_in_a_session_of_its_own_repeats_between_its_owners_requests(
    tmp_path: Path,
) -> None:
    # A loop re-sending one request every minute for half an hour in a session of its own while
    # its owner works in another, their requests in between: in the account's stream no request
    # repeats the one before, in the loop's session 29 do. Without session ids there is one
    # stream, the account's; and an eval's five samples of a question in a session of their own
    # are still a run of five.
    lines = []
    for i in range(30):
        loop = f"2026-03-02T11:{i:02d}:00Z,{{who}},4000,200"
        work = f"2026-03-02T11:{i:02d}:30Z,{{who}},{1_000 + 97 * i},{300 + 11 * i}"
        lines += [loop.format(who="lou@x") + ",loop", work.format(who="lou@x") + ",work"]
        lines += [loop.format(who="ann@x") + ",", work.format(who="ann@x") + ","]
    for i in range(40):
        lines.append(f"2026-03-02T09:{i:02d}:00Z,eve@x,{1_500 + i // 5},1,q{i // 5}")
        lines.append(f"2026-03-02T09:{i:02d}:30Z,eve@x,{900 + 13 * i},40,chat")
    ours = _panels_of(
        lines,
        ["lou@x", "ann@x", "eve@x"],
        tmp_path,
        header="timestamp,account,input_tokens,output_tokens,session_id",
    )
    assert ours.select("account", "same_size_pairs").rows() == [
        ("ann@x", 0),
        ("eve@x", 0),
        ("lou@x", 29),
    ]


def test_twins_sent_at_one_instant_from_two_sessions_give_one_answer(tmp_path: Path) -> None:
    # A prompt held for hours in one session, then two identical requests at the same instant,
    # one in that session and one without a session id: nothing orders the twins, so neither
    # the sort nor the warehouse may decide the count. (Before one order served every window,
    # DuckDB put the twin in the held run on some runs: 2 repeats, and 0 on others.)
    lines = [
        "2026-10-24T21:34:58Z,p1@x,5000,830,s0",
        "2026-10-24T22:36:38Z,p1@x,5000,897,s0",
        "2026-10-24T23:57:07Z,p1@x,5000,829,s0",
        "2026-10-25T01:17:37Z,p1@x,5000,815,s0",
        "2026-10-25T04:01:02Z,p1@x,90000,200,",
        "2026-10-25T04:01:02Z,p1@x,90000,200,s0",
    ]
    header = "timestamp,account,input_tokens,output_tokens,session_id"
    for run in range(3):
        ours = _panels_of(lines, ["p1@x"], tmp_path / str(run), header=header)
        assert ours["same_size_pairs"].to_list() == [0, 0]


def test_which_twin_the_sort_puts_first_changes_nothing(tmp_path: Path) -> None:
    # A loop every minute in session s0, someone's own request just before its 10th, and that
    # 10th sent twice at the same instant, once more without a session id. In the account's
    # stream the first twin follows the other request and the second repeats the first; in s0's
    # stream the s0 twin repeats the loop. The logs in either order give one panel.
    def at(minute: int, second: int = 0) -> str:
        return f"2026-03-02T10:{minute:02d}:{second:02d}Z"

    loop = [f"{at(i)},lou@x,4000,200,s0" for i in range(30)]
    other = f"{at(8, 59)},lou@x,1234,56,"
    twin = f"{at(9)},lou@x,4000,200,"
    header = "timestamp,account,input_tokens,output_tokens,session_id"
    first = _panels_of([*loop, other, twin], ["lou@x"], tmp_path / "a", header=header)
    second = _panels_of([twin, other, *loop], ["lou@x"], tmp_path / "b", header=header)
    assert_frame_equal(first, second)
    assert first["same_size_pairs"].to_list() == [30]
