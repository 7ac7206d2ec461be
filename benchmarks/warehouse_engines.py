"""The account-day panel built three ways on the same generated organisation, timed and compared:
tokenaudit in memory (`ingest.build_usage_panel`), `panel-sql --dialect duckdb` in DuckDB, and
`panel-sql --dialect spark` in a local Spark (skipped when pyspark or Java is missing).

Each engine's panel must equal tokenaudit's column by column (floats to 1e-9); the script exits 1
otherwise. Spark's time includes neither its start nor reading the input into a view, only the
statement and writing its Parquet; its first statement in a fresh JVM is slower than the next
(both are printed).

    pip install -e ".[bench,spark]"
    python benchmarks/warehouse_engines.py                       # 300 accounts, 60 days
    python benchmarks/warehouse_engines.py --accounts 1000 --days 90
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

from tokenaudit.config import AuditConfig
from tokenaudit.identities import IdentityMap
from tokenaudit.ingest import build_usage_panel
from tokenaudit.loaders import InputFile, load_input
from tokenaudit.schema import Kind
from tokenaudit.synthetic.simulate import generate_org, write_org
from tokenaudit.warehouse import panel_sql


def _good(path: Path, kind: Kind, work: Path) -> pl.DataFrame:
    loaded = load_input(InputFile(path, path.name, kind), work)
    assert loaded is not None
    return loaded.frame.filter(pl.col("_reject").is_null()).collect()


def _same(name: str, ours: pl.DataFrame, theirs: pl.DataFrame) -> bool:
    try:
        assert_frame_equal(
            ours, theirs.sort("account", "day"), check_exact=False, rel_tol=1e-9, abs_tol=1e-9
        )
    except AssertionError as error:
        print(f"{name}: DIFFERS from tokenaudit's panel\n{error}")
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--tz", default="Europe/Berlin")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tokenaudit-warehouse-"))
    try:
        write_org(generate_org(accounts=args.accounts, days=args.days, seed=7), work)
        usage = _good(work / "usage.csv", Kind.USAGE, work)
        ids = _good(work / "identities.csv", Kind.IDENTITIES, work)
        usage.drop("_file", "_line", "_reject", "_zone_less").write_parquet(work / "u.parquet")
        ids.select("alias", "account").write_parquet(work / "i.parquet")
        print(f"{usage.height:,} requests, {args.accounts} accounts, {args.days} days, {args.tz}")

        start = time.perf_counter()
        loaded = load_input(InputFile(work / "u.parquet", "u.parquet", Kind.USAGE), work)
        assert loaded is not None
        cfg = AuditConfig(tz=args.tz)
        ours = build_usage_panel([loaded.frame], IdentityMap.from_frame(ids), cfg, work, 0).days
        print(f"tokenaudit (in memory): {time.perf_counter() - start:8.2f} s, {ours.height:,} rows")
        ok = True

        con = duckdb.connect()
        con.execute(f"CREATE VIEW usage AS SELECT * FROM read_parquet('{work / 'u.parquet'}')")
        con.execute(f"CREATE VIEW ids AS SELECT * FROM read_parquet('{work / 'i.parquet'}')")
        sql = panel_sql("duckdb", identities_table="ids", tz=args.tz)
        start = time.perf_counter()
        con.execute(f"COPY ({sql}) TO '{work / 'duckdb.parquet'}' (FORMAT parquet)")
        print(f"DuckDB panel-sql:       {time.perf_counter() - start:8.2f} s")
        ok &= _same("DuckDB", ours, pl.read_parquet(work / "duckdb.parquet"))

        if importlib.util.find_spec("pyspark") is None or shutil.which("java") is None:
            print("Spark panel-sql:        skipped (pyspark or Java missing)")
            return 0 if ok else 1
        from pyspark.sql import SparkSession

        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        spark = (
            SparkSession.builder.master("local[*]")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", str(os.cpu_count() or 2))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.local.dir", str(work / "spark-local"))
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        try:
            spark.read.parquet(str(work / "u.parquet")).createOrReplaceTempView("usage")
            spark.read.parquet(str(work / "i.parquet")).createOrReplaceTempView("ids")
            sql = panel_sql("spark", identities_table="ids", tz=args.tz)
            for run in ("first", "second"):
                out = work / f"spark-{run}"
                start = time.perf_counter()
                spark.sql(sql).write.parquet(str(out))
                print(f"Spark panel-sql ({run}): {time.perf_counter() - start:7.2f} s")
            parts = sorted(out.glob("part-*.parquet"))
            ok &= _same("Spark", ours, pl.concat([pl.read_parquet(p) for p in parts]))
        finally:
            spark.stop()
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
