"""`panel-sql --dialect spark` run for real, on a local Spark: its panel equals DuckDB's and
tokenaudit's own column by column, and `scan` of it gives the same report as the requests.

Needs Java 17+ (Debian: openjdk-17-jre-headless) and pyspark (the `spark` extra); .ci/run installs
both. Without them the tests skip on a developer's machine and fail in CI (CI set).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from tests.test_warehouse import PERIOD, duckdb_panel, tokenaudit_panel, warehouse_tables
from tokenaudit.cli import app
from tokenaudit.config import AuditConfig
from tokenaudit.schema import PANEL_SCHEMA
from tokenaudit.warehouse import panel_sql


def _missing() -> str | None:
    """What a local Spark lacks here, or None."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (apt-get install openjdk-17-jre-headless)"
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[spark]')"
    return None


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One small local Spark for the module: two threads, two shuffle partitions, no UI, bound to
    the loopback address, its scratch space in a temporary directory."""
    missing = _missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Spark tests: {missing}")
        pytest.skip(f"{missing}; CI runs these tests")
    from pyspark.sql import SparkSession

    scratch = tmp_path_factory.mktemp("spark")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # no look-up of the machine's own address
        session = (
            SparkSession.builder.master("local[2]")
            .appName("tokenaudit-tests")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.memory", "1g")
            # The JIT's first tier only: the optimising compiler costs these short queries more
            # CPU than it saves (about 40 % of the JVM's CPU time here); results are the same.
            .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
            .config("spark.local.dir", str(scratch / "local"))
            .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        try:
            yield session
        finally:
            session.stop()


def spark_panel(spark: Any, org: Path, tmp_path: Path, **options: Any) -> list[Path]:
    """Run `panel-sql --dialect spark` over the org's logs; the Parquet part files Spark wrote."""
    usage, ids = warehouse_tables(org, tmp_path)
    spark.read.parquet(str(usage)).createOrReplaceTempView("usage")
    spark.read.parquet(str(ids)).createOrReplaceTempView("ids")
    out = tmp_path / "spark_panel"
    spark.sql(panel_sql("spark", identities_table="ids", **options)).write.parquet(str(out))
    parts = sorted(out.glob("part-*.parquet"))
    assert parts, sorted(p.name for p in out.iterdir())
    return parts


def read_parts(parts: list[Path]) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(p) for p in parts]).sort("account", "day")


@pytest.fixture(scope="module")
def period_panel(
    spark: Any, small_org: Path, tmp_path_factory: pytest.TempPathFactory
) -> pl.DataFrame:
    """Spark's panel of the small org in Berlin's days, over four weeks, identities resolved."""
    return read_parts(spark_panel(spark, small_org, tmp_path_factory.mktemp("period"), **PERIOD))


def test_the_spark_panel_equals_duckdbs_and_tokenaudits_own(
    period_panel: pl.DataFrame, small_org: Path, tmp_path: Path
) -> None:
    assert dict(period_panel.schema) == PANEL_SCHEMA
    ours = tokenaudit_panel(small_org, tmp_path, AuditConfig(**PERIOD))  # type: ignore[arg-type]
    duckdbs = duckdb_panel(small_org, tmp_path, **PERIOD).sort("account", "day")
    assert ours.height > 500
    # Sums and counts exactly; means, deviations and phase lengths to floating-point rounding.
    assert_frame_equal(ours, period_panel, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    assert_frame_equal(duckdbs, period_panel, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


def test_the_days_do_not_depend_on_the_spark_sessions_time_zone(
    spark: Any, period_panel: pl.DataFrame, small_org: Path, tmp_path: Path
) -> None:
    """The statement asks for a UTC session, but a session left in its own zone (here Tokyo's)
    still counts Berlin's days: a day is not read through the session's zone."""
    spark.conf.set("spark.sql.session.timeZone", "Asia/Tokyo")
    try:
        tokyo = read_parts(spark_panel(spark, small_org, tmp_path, **PERIOD))
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert_frame_equal(period_panel, tokyo, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)


def test_scan_of_the_spark_panel_reports_what_the_requests_give(
    spark: Any, small_org: Path, tmp_path: Path
) -> None:
    parts = spark_panel(spark, small_org, tmp_path)
    runner = CliRunner()
    common = [str(small_org / "commits.csv"), str(small_org / "identities.csv"), "--format"]
    from_requests = runner.invoke(
        app, ["scan", str(small_org / "usage.csv"), *common, "csv", "--exit-zero"]
    )
    from_panel = runner.invoke(
        app, ["scan", *(str(p) for p in parts), *common, "csv", "--exit-zero"]
    )
    assert from_requests.exit_code == 0, from_requests.stderr
    assert from_panel.exit_code == 0, from_panel.stderr
    assert from_panel.stdout == from_requests.stdout
    assert from_panel.stdout.count("\n") > 50
