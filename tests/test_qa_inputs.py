"""Inputs a QA pass found mishandled, each stated as the behaviour that replaces it: nothing is
lost without being counted, a failed write is never exit 0, and a hostile shape cannot exhaust
the machine."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from tokenaudit.loaders import InputFile, load_input
from tokenaudit.loaders.readers import MAX_QUOTED_LINES
from tokenaudit.rejects import RejectCode, code_of

from .test_hostile_inputs import run

HEADER = "timestamp,account,input_tokens,output_tokens,request_id\n"


def _rows(n: int, start: int = 0) -> list[str]:
    return [
        f"2026-03-{2 + i % 20:02d}T10:{i % 60:02d}:00Z,ana@acme.example,100,10,r{i}\n"
        for i in range(start, start + n)
    ]


def load(path: Path, tmp_path: Path, *, careful: bool = True) -> tuple[pl.DataFrame, list]:
    loaded = load_input(InputFile(path, path.name), tmp_path, careful=careful)
    assert loaded is not None
    return loaded.frame.collect(), list(loaded.unreadable)


# ----------------------------------------------------------------------------- a stray quote


def test_a_quote_left_open_makes_every_line_it_swallows_a_rejected_row(tmp_path: Path) -> None:
    # Line 12 opens a quote ('"my laptop key') that nothing closes: the reader sees one short
    # record from line 12 to the end. Each of those 289 lines is counted as lost.
    path = tmp_path / "usage.csv"
    bad = '2026-03-02T10:00:00Z,"my laptop key,5,5,rq\n'
    path.write_text(HEADER + "".join(_rows(10)) + bad + "".join(_rows(288, 10)))
    frame, unreadable = load(path, tmp_path)
    assert frame.height == 10
    assert [line for line, _ in unreadable] == list(range(12, 301))
    assert {code_of(reason) for _, reason in unreadable} == {RejectCode.UNTERMINATED_QUOTE}
    assert "line 300" in unreadable[0][1] and "'account'" in unreadable[0][1]


def test_a_quote_left_open_in_a_usage_csv_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    bad = '2026-03-02T10:00:00Z,"my laptop key,5,5,rq\n'
    path.write_text(HEADER + "".join(_rows(10)) + bad + "".join(_rows(200, 10)))
    commits = tmp_path / "commits.csv"
    commits.write_text("merged_at,author,lines_added\n2026-03-03T10:00:00Z,ana@acme.example,4\n")
    code, _, err = run("scan", str(path), "--commits", str(commits), "-f", "json", "--exit-zero")
    assert code == 65, err
    assert "Traceback" not in err
    assert "usage.csv:12: 201 of 211 rows unusable" in err and "unterminated quote" in err


@pytest.mark.parametrize("careful", [True, False])
def test_two_stray_quotes_far_apart_are_not_one_row_of_a_thousand_lines(
    tmp_path: Path, careful: bool
) -> None:
    # Two stray quotes in the same column close each other: the record between them has the
    # right number of fields, but its cell runs over MAX_QUOTED_LINES lines.
    path = tmp_path / "usage.csv"
    opens = '2026-03-02T10:00:00Z,"my laptop key,5,5,ra\n'
    closes = '2026-03-02T10:00:00Z,my other" key,5,5,rb\n'
    gap = MAX_QUOTED_LINES + 5
    path.write_text(HEADER + opens + "".join(_rows(gap)) + closes + "".join(_rows(3, gap)))
    try:
        frame, unreadable = load(path, tmp_path, careful=careful)
    except pl.exceptions.PolarsError:
        assert not careful  # the quick reading gives way to the careful one (audit.py)
        frame, unreadable = load(path, tmp_path, careful=True)
    assert [line for line, _ in unreadable] == list(range(2, gap + 4))
    assert frame["_line"].to_list() == [gap + 4, gap + 5, gap + 6]


def test_a_quoted_cell_with_a_few_line_breaks_is_still_one_row(tmp_path: Path) -> None:
    path = tmp_path / "commits.csv"
    path.write_text(
        "merged_at,author,lines_added,message\n"
        '2026-03-02T10:00:00Z,ana,10,"feat: x\n\nCo-authored-by: Bob <bob@x>"\n'
        "2026-03-03T10:00:00Z,ana,10,fix: y\n"
    )
    frame, unreadable = load(path, tmp_path)
    assert unreadable == []
    assert frame.height == 2 and frame["message"][0].endswith("<bob@x>")


# ----------------------------------------------------------------------------- stdout


@pytest.fixture(scope="module")
def small_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenaudit.synthetic.simulate import generate_org, write_org

    out = tmp_path_factory.mktemp("org")
    write_org(generate_org(accounts=12, days=21, seed=5, maxxer_share=0.1), out)
    return out


@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_a_report_cut_short_by_a_file_size_limit_is_74_even_unbuffered(
    small_org: Path, tmp_path: Path, unbuffered: str
) -> None:
    # PYTHONUNBUFFERED=1 (most Python Docker images) made stdout a raw file whose short writes
    # were ignored: the report was cut at the limit and the run said 0.
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))

    report = tmp_path / "report.json"
    args = ["scan", str(small_org), "-f", "json", "--exit-zero"]
    with report.open("wb") as out:
        result = subprocess.run(
            [sys.executable, "-m", "tokenaudit", *args],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": unbuffered},
            preexec_fn=limit,
            check=False,
        )
    assert report.stat().st_size == 4096
    assert result.returncode == 74, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("tokenaudit: error: writing")


# ----------------------------------------------------------------------------- wide files


def _wide(path: Path, extra: int) -> Path:
    header = ["timestamp", "account", "input_tokens"] + [f"c{i}" for i in range(extra)]
    rows = [f"2026-03-{d:02d}T10:00:00Z,a@x,5" + ",x" * extra for d in range(1, 20)]
    path.write_text(",".join(header) + "\n" + "\n".join(rows) + "\n")
    return path


def _peak_rss_mb(*args: str) -> tuple[int, float]:
    """The exit code and peak resident memory (MB) of one tokenaudit run in a fresh parent."""
    probe = (
        "import resource, subprocess, sys\n"
        "code = subprocess.run(sys.argv[1:], capture_output=True).returncode\n"
        "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, sys.executable, "-m", "tokenaudit", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), int(out[1]) / 1024


def test_a_wide_csv_costs_memory_in_proportion_to_its_size(tmp_path: Path) -> None:
    # 19 rows of 990 columns (43 KB) took 1.1 GB: the row check, pushed into the scan as a
    # predicate naming every column, grew with the square of the column count.
    usage = _wide(tmp_path / "wide.csv", 990)
    commits = tmp_path / "commits.csv"
    commits.write_text("merged_at,author,lines_added\n2026-03-03T10:00:00Z,a@x,4\n")
    code, peak = _peak_rss_mb("scan", str(usage), "--commits", str(commits), "--exit-zero")
    assert code == 0
    assert peak < 500


def test_a_csv_with_more_columns_than_any_log_is_refused_naming_its_header(
    tmp_path: Path,
) -> None:
    from tokenaudit.loaders.readers import MAX_COLUMNS

    usage = _wide(tmp_path / "wide.csv", MAX_COLUMNS)
    commits = tmp_path / "commits.csv"
    commits.write_text("merged_at,author,lines_added\n2026-03-03T10:00:00Z,a@x,4\n")
    code, _, err = run("scan", str(usage), "--commits", str(commits), "--exit-zero")
    assert code == 65
    assert err.strip().splitlines()[-1] == (
        f"tokenaudit: error: {usage}:1: {MAX_COLUMNS + 3:,} columns in the header; no log "
        f"has more than {MAX_COLUMNS:,} (is it a log, and is its separator ','?)"
    )


# ----------------------------------------------------------------------------- options


@pytest.mark.parametrize("zone", ["localtime", "posix/Europe/Berlin", "right/UTC", "Factory"])
@pytest.mark.parametrize("option", ["--tz", "--assume-tz"])
def test_a_zoneinfo_file_that_is_no_zone_name_is_a_usage_error(
    tmp_path: Path, zone: str, option: str
) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        pytest.skip(f"this system's zoneinfo has no {zone}")
    usage = tmp_path / "usage.csv"
    usage.write_text(HEADER + "".join(_rows(3)))
    code, _, err = run("scan", str(usage), option, zone, "--exit-zero")
    assert code == 2, err
    assert "Traceback" not in err and f"'{zone}' is not a time zone name" in err


# ----------------------------------------------------------------------------- LiteLLM


def _litellm(tmp_path: Path, name: str, change: dict[str, object]) -> pl.DataFrame:
    import csv

    source = Path(__file__).parent / "data" / "exports" / "litellm_spendlogs.csv"
    with source.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for column, how in change.items():
            row[column] = how(row[column]) if callable(how) else str(how)
    path = tmp_path / name
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    loaded = load_input(InputFile(path, name), tmp_path)
    assert loaded is not None
    return loaded.frame.collect().sort("_line").drop("_file")


def test_litellm_cache_hits_written_as_t_or_1_are_not_usage(tmp_path: Path) -> None:
    # A Postgres CSV copy of LiteLLM_SpendLogs writes booleans as t/f: the cache hits were
    # counted as usage, silently.
    original = _litellm(tmp_path, "a.csv", {})
    for true, false in (("t", "f"), ("1", "0")):
        flip = {"cache_hit": lambda v, t=true, f=false: t if v == "True" else f}
        assert _litellm(tmp_path, f"{true}.csv", flip).equals(original)


def test_litellm_start_times_with_a_negative_offset_keep_it(tmp_path: Path) -> None:
    original = _litellm(tmp_path, "a.csv", {})
    shifted = _litellm(tmp_path, "b.csv", {"startTime": lambda v: v.replace(" ", "T") + "-05:00"})
    assert shifted["_reject"].null_count() == shifted.height
    assert (shifted["timestamp"] - original["timestamp"]).unique().to_list() == [timedelta(hours=5)]


@pytest.mark.parametrize(
    "option",
    [
        ["--until", "9999-12-31"],
        ["--since", "0001-01-01"],
        ["--change-date", "9999-12-31"],
        ["--top", "99999999999999999999999"],
    ],
)
def test_an_option_value_past_what_the_run_can_hold_is_a_usage_error(
    tmp_path: Path, option: list[str]
) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text(HEADER + "".join(_rows(3)))
    code, _, err = run("scan", str(usage), *option, "--exit-zero")
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err and option[0] in err


@pytest.mark.parametrize(
    "option",
    ["--config", "--suppressions", "--baseline", "--reference", "--prices", "--pseudonymize"],
)
def test_a_side_file_that_is_no_regular_file_is_refused_before_it_is_read(
    option: str, tmp_path: Path
) -> None:
    # /dev/zero read whole took 4.8 GB in 7 s; a FIFO waited for ever.
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "timestamp,account,input_tokens,output_tokens\n2026-03-02T10:00:00Z,a@x,10,5\n"
    )
    code, _, err = run("scan", str(usage), option, "/dev/zero", "--exit-zero")
    assert code == 66, err
    assert "is not a regular file" in err and "Traceback" not in err


@pytest.mark.parametrize("option", ["--baseline", "--reference", "--prices"])
def test_a_side_file_nested_too_deep_is_a_data_error(option: str, tmp_path: Path) -> None:
    usage = tmp_path / "usage.csv"
    usage.write_text(
        "timestamp,account,input_tokens,output_tokens\n2026-03-02T10:00:00Z,a@x,10,5\n"
    )
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = run("scan", str(usage), option, str(deep), "--exit-zero")
    assert code == 65, err
    assert "nested too deep" in err and "Traceback" not in err
