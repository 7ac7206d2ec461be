"""The usage panel in bounded memory: splitting usage into buckets by account changes nothing."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tokenaudit.config import AuditConfig
from tokenaudit.identities import IdentityMap
from tokenaudit.ingest import UsagePanel, build_usage_panel, by_account_and_day, near_period
from tokenaudit.loaders import InputFile, load_input
from tokenaudit.schema import Kind


def panel(
    org: Path,
    tmp_path: Path,
    buckets: int,
    cfg: AuditConfig | None = None,
    pushdown: bool = True,
    csv: str = "usage.csv",
) -> UsagePanel:
    loaded = load_input(InputFile(org / csv, csv, Kind.USAGE), tmp_path)
    assert loaded is not None
    workdir = Path(tempfile.mkdtemp(dir=tmp_path))
    return build_usage_panel(
        [loaded.frame],
        IdentityMap(),
        cfg or AuditConfig(),
        workdir,
        0,
        buckets=buckets,
        pushdown=pushdown,
    )


@pytest.mark.parametrize("buckets", [3, 8])
def test_the_panel_does_not_depend_on_how_many_buckets_usage_is_split_into(
    small_org: Path, tmp_path: Path, buckets: int
) -> None:
    # The generated log plus rows that must be rejected, one without an account at all.
    text = (small_org / "usage.csv").read_text()
    bad = [
        "not-a-time,ana@acme.example,1,1,1,1,m,0.1,r-bad-1,s1",
        "2026-03-05T10:00:00Z,,1,1,1,1,m,0.1,r-bad-2,s1",
        "2026-03-05T10:00:00Z,ana@acme.example,-5,1,1,1,m,0.1,r-bad-3,s1",
    ]
    (tmp_path / "usage.csv").write_text(text + "\n".join(bad) + "\n")
    whole = panel(tmp_path, tmp_path, 1)
    split = panel(tmp_path, tmp_path, buckets)
    assert whole.rejects.filter(pl.col("_reject").str.contains("duplicate").not_()).height == 3
    assert split.buckets == buckets
    assert_frame_equal(whole.days, split.days)
    assert_frame_equal(
        whole.rejects.sort(pl.all()), split.rejects.sort(pl.all()), check_row_order=True
    )
    assert (whole.duplicates, whole.parsed, whole.used) == (
        split.duplicates,
        split.parsed,
        split.used,
    )
    assert whole.duplicates > 0  # the generated logs repeat streamed requests


def test_rows_far_outside_the_period_are_skipped_while_reading(
    small_org: Path, tmp_path: Path
) -> None:
    everything = panel(small_org, tmp_path, 1)
    first = everything.days["day"].min()
    assert isinstance(first, date)
    since = date.fromordinal(first.toordinal() + 14)
    until = date.fromordinal(first.toordinal() + 20)
    cfg = AuditConfig(since=since, until=until)
    period = panel(small_org, tmp_path, 2, cfg)
    assert period.days["day"].min() == since and period.days["day"].max() == until
    # Only the period and two days either side of it are read at all...
    assert sum(period.parsed.values()) < sum(everything.parsed.values()) / 2
    # ...and the panel is the one made by reading every row.
    assert_frame_equal(period.days, panel(small_org, tmp_path, 1, cfg, pushdown=False).days)


def test_the_period_filter_keeps_rows_without_a_timestamp_so_they_are_counted() -> None:
    cfg = AuditConfig(since=date(2026, 3, 1), until=date(2026, 3, 31))
    frame = pl.DataFrame(
        {"timestamp": [None, "2026-01-01T00:00:00Z", "2026-03-10T00:00:00Z"]}
    ).with_columns(pl.col("timestamp").str.to_datetime(time_zone="UTC"))
    assert frame.filter(near_period(cfg)).height == 2


def test_bursts_started_by_a_cron_job_are_phase_locked_and_a_persons_are_not(
    tmp_path: Path,
) -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    start = 1_772_000_000  # a Monday in 2026, 06:13:20 UTC
    cron = [start + k * 900 + 7 + j * 20 for k in range(40) for j in range(3)]
    person = sorted(start + rng.uniform(0, 36_000, size=120))
    rows = [("cron@acme.example", t) for t in cron] + [("ana@acme.example", t) for t in person]
    usage = pl.DataFrame(
        {
            "timestamp": [f"{t:.3f}" for _, t in rows],
            "account": [a for a, _ in rows],
            "input_tokens": [1000] * len(rows),
        }
    )
    usage.write_csv(tmp_path / "u.csv")
    days = panel(tmp_path, tmp_path, 1, csv="u.csv").days
    by = {r["account"]: r for r in days.iter_rows(named=True)}
    assert by["cron@acme.example"]["burst_starts"] == 40
    assert by["cron@acme.example"]["phase_900"] > 0.99
    assert by["ana@acme.example"]["phase_900"] < 0.5


def test_a_typed_parquet_scan_skips_rows_outside_the_period_and_keeps_line_numbers(
    small_org: Path, tmp_path: Path
) -> None:
    from tokenaudit.panel import period_bounds

    usage = pl.read_csv(small_org / "usage.csv").with_columns(
        pl.col("timestamp").str.to_datetime(time_zone="UTC")
    )
    usage.write_parquet(tmp_path / "typed.parquet", row_group_size=5_000)
    cfg = AuditConfig(since=date(2026, 3, 16), until=date(2026, 3, 22))
    loaded = load_input(
        InputFile(tmp_path / "typed.parquet", "typed.parquet", Kind.USAGE),
        tmp_path,
        period=period_bounds(cfg),
    )
    assert loaded is not None
    assert "SELECTION" in loaded.frame.explain()  # the predicate reaches the Parquet reader
    read = loaded.frame.select("_line", "timestamp").collect()
    lo, hi = period_bounds(cfg)
    assert read.height < usage.height / 2
    assert read["timestamp"].is_between(lo, hi, closed="left").all()
    original = usage.with_row_index("_line", offset=1).with_columns(pl.col("_line").cast(pl.Int64))
    joined = read.join(original, on="_line", suffix="_in_file")
    assert joined.height == read.height
    assert (joined["timestamp"] == joined["timestamp_in_file"]).all()


def test_one_pass_in_memory_and_account_buckets_on_disk_give_the_same_report(
    small_org: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--memory-limit only decides how the panel is built: with duplicates within and across
    files, rejected rows, stray timestamps and two usage files, the report and the rejects are
    byte-identical whether the usage fits the budget (one pass), is read in one pass and worked
    on in account parts, or is split into buckets on disk."""
    from typer.testing import CliRunner

    from tokenaudit import ingest
    from tokenaudit.cli import app

    lines = (small_org / "usage.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    strays = [
        f"2019-06-0{d}T10:00:00Z,ana@acme.example,10,10,10,10,claude-sonnet-4-5,,r-stray-{d},s9"
        for d in (1, 2)
    ]
    bad = [
        "not-a-time,ana@acme.example,1,1,1,1,m,0.1,r-bad-1,s1",
        "2026-03-05T10:00:00Z,,1,1,1,1,m,0.1,r-bad-2,s1",
        "2026-03-05T10:00:00Z,ana@acme.example,-5,1,1,1,m,0.1,r-bad-3,s1",
    ]
    (tmp_path / "a.csv").write_text("\n".join([header, *rows[::2], *strays, *bad]) + "\n")
    # The second file repeats a few hundred of the first file's requests (a re-export).
    (tmp_path / "b.csv").write_text("\n".join([header, *rows[1::2], *rows[:600:2]]) + "\n")
    used: list[int] = []
    split = ingest._split

    def recording(rows: pl.LazyFrame, buckets: int, *args: object) -> list[pl.LazyFrame]:
        used.append(buckets)
        return split(rows, buckets, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest, "_split", recording)

    def report(tag: str) -> tuple[str, str]:
        out, rejects = tmp_path / f"{tag}.csv", tmp_path / f"{tag}-rejects.csv"
        args = ["scan", "--usage", str(tmp_path / "a.csv"), "--usage", str(tmp_path / "b.csv")]
        args += ["--commits", str(small_org / "commits.csv"), "--format", "csv", "--exit-zero"]
        args += ["-o", str(out), "--rejects", str(rejects), "--memory-limit", "1GB"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.stderr
        return out.read_text(), rejects.read_text()

    worked: list[int] = []
    work_parts = ingest.work_parts

    def recording_work(*args: int | None) -> int:
        worked.append(work_parts(*args))  # type: ignore[arg-type]
        return worked[-1]

    monkeypatch.setattr(ingest, "work_parts", recording_work)
    in_memory = report("memory")
    assert used == [1] and worked == [1], (used, worked)
    # As if working on a row took a megabyte: the rows read in one pass are worked on in parts.
    monkeypatch.setattr(ingest, "WORK_BYTES_PER_ROW", 1 << 20)
    in_parts = report("parts")
    assert used[-1] == 1 and worked[-1] > 1, (used, worked)
    # As if holding a row took a megabyte: 1GB no longer holds the rows, which go to buckets.
    monkeypatch.setattr(ingest, "HELD_BYTES_PER_ROW", 1 << 20)
    bucketed = report("buckets")
    assert used[-1] > 1, used
    assert in_memory == in_parts == bucketed
    assert "r-stray" not in in_memory[0] and "far outside the bulk" in in_memory[1]
    assert "duplicate of the row kept at" in in_memory[1]


def test_account_days_sort_as_by_name_and_day() -> None:
    rows = [
        ("zoë", date(2026, 1, 2)),
        ("Zed", date(1969, 12, 31)),
        ("ana", date(2026, 1, 1)),
        ("zoë", date(1960, 5, 1)),
        ("ana", date(2099, 1, 1)),
        ("Ängel", date(2026, 1, 1)),
        ("zoe", date(2026, 1, 1)),
    ]
    days = pl.DataFrame(rows, schema={"account": pl.String, "day": pl.Date}, orient="row")
    days = days.with_row_index("tokens")
    for frame in (days, days.head(1), days.clear()):
        assert by_account_and_day(frame).equals(frame.sort("account", "day"))
