"""Never lose data, never let the input take over: properties over arbitrary input, and the
process-level contract (pipes, signals, threads, full disks)."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenaudit.errors import DataError, InputMissingError, WriteError
from tokenaudit.loaders import InputFile, load_input
from tokenaudit.report.delimited import render_delimited
from tokenaudit.report.sanitize import spreadsheet_safe, visible

from .test_report import accounts

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
INVISIBLE = {
    chr(c)
    for c in [
        *range(0x20),
        *range(0x7F, 0xA0),
        0x061C,
        0x200B,
        0x200E,
        0x200F,
        0x202A,
        0x202B,
        0x202C,
        0x202D,
        0x202E,
        0x2066,
        0x2067,
        0x2068,
        0x2069,
        0xFEFF,
    ]
}


def run_tool(
    *args: str, env: dict[str, str] | None = None, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokenaudit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


@SETTINGS
@given(
    data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".json", ".ndjson", ".gz", ""])
)
def test_arbitrary_bytes_are_read_or_refused_with_a_typed_error(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = tmp_path / f"input{suffix}"
    path.write_bytes(data)
    try:
        loaded = load_input(InputFile(path, path.name), tmp_path)
    except (DataError, InputMissingError):
        return
    if loaded is not None:
        loaded.frame.collect()


cell = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r"), max_size=12)


@SETTINGS
@given(rows=st.lists(st.tuples(cell, cell, cell), min_size=1, max_size=25))
def test_every_csv_row_is_used_or_rejected_never_dropped(
    tmp_path: Path, rows: list[tuple[str, str, str]]
) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["timestamp", "account", "input_tokens"])
    writer.writerows(rows)
    path = tmp_path / "usage.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    loaded = load_input(InputFile(path, path.name), tmp_path)
    assert loaded is not None
    frame = loaded.frame.collect()
    assert frame.height + len(loaded.unreadable) == len(rows)
    rejected = frame.filter(pl.col("_reject").is_not_null())
    assert rejected["_reject"].str.len_chars().min() or rejected.is_empty()
    good = frame.filter(pl.col("_reject").is_null())
    assert good["timestamp"].null_count() == 0 and good["account"].null_count() == 0


@SETTINGS
@given(text=st.text(max_size=40))
def test_sanitised_text_has_no_invisible_characters(text: str) -> None:
    shown = visible(text)
    assert not (set(shown) & INVISIBLE)
    assert not spreadsheet_safe(shown).startswith(("=", "+", "-", "@", "\t", "\r", "\n"))


@SETTINGS
@given(names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=5, unique=True))
def test_csv_report_reads_back_as_the_sanitised_names(names: list[str]) -> None:
    text = render_delimited(accounts(names), separator=",")
    back = [r["account"] for r in csv.DictReader(io.StringIO(text))]
    assert back == [spreadsheet_safe(visible(n)) for n in names]


def test_shuffled_rows_and_reordered_files_give_identical_bytes(
    tmp_path: Path, small_org: Path
) -> None:
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for name in ("usage.csv", "commits.csv", "identities.csv"):
        frame = pl.read_csv(small_org / name, infer_schema=False)
        frame.sample(fraction=1.0, shuffle=True, seed=9).write_csv(shuffled / f"z-{name}")
    base = run_tool(
        "scan",
        str(small_org / "usage.csv"),
        str(small_org / "commits.csv"),
        str(small_org / "identities.csv"),
        "--format",
        "json",
        "--exit-zero",
    )
    other = run_tool(
        "scan",
        str(shuffled / "z-identities.csv"),
        str(shuffled / "z-commits.csv"),
        str(shuffled / "z-usage.csv"),
        "--format",
        "json",
        "--exit-zero",
    )
    assert base.returncode == other.returncode == 0, other.stderr

    def accounts_only(out: str) -> str:
        return out[out.index('"accounts"') :]

    assert accounts_only(base.stdout) == accounts_only(other.stdout)


def test_overlapping_exports_count_each_request_once_and_are_not_refused(
    tmp_path: Path, small_org: Path
) -> None:
    # Two cumulative exports overlapping by 40 % of the rows, and one of them saved twice: every
    # request is counted once, the report is the single export's, and the repeats are listed.
    usage = pl.read_csv(small_org / "usage.csv", infer_schema=False)
    n = usage.height
    usage.head(int(n * 0.7)).write_csv(tmp_path / "export-1.csv")
    usage.tail(n - int(n * 0.3)).write_csv(tmp_path / "export-2.csv")
    usage.tail(n - int(n * 0.3)).write_csv(tmp_path / "export-2 (1).csv")
    args = ["--commits", str(small_org / "commits.csv"), "--format", "json", "--exit-zero"]
    whole = run_tool("scan", "--usage", str(small_org / "usage.csv"), *args)
    rejects = tmp_path / "rejects.csv"
    overlapping = run_tool(
        "scan",
        "--usage",
        str(tmp_path / "export-1.csv"),
        "--usage",
        str(tmp_path / "export-2.csv"),
        "--usage",
        str(tmp_path / "export-2 (1).csv"),
        "--rejects",
        str(rejects),
        *args,
    )
    assert overlapping.returncode == 0, overlapping.stderr

    def accounts_only(out: str) -> str:
        return out[out.index('"accounts"') :]

    assert accounts_only(overlapping.stdout) == accounts_only(whole.stdout)
    listed = pl.read_csv(rejects)
    first, second = int(n * 0.7), n - int(n * 0.3)
    # Every row read twice or three times, and the generator's own repeated request ids.
    assert listed.height >= first + 2 * second - n
    assert set(listed["code"].to_list()) == {"duplicate_request"}


def test_thread_count_does_not_change_the_output(small_org: Path) -> None:
    one = run_tool(
        "scan", str(small_org), "--format", "csv", "--exit-zero", env={"POLARS_MAX_THREADS": "1"}
    )
    many = run_tool(
        "scan", str(small_org), "--format", "csv", "--exit-zero", env={"POLARS_MAX_THREADS": "4"}
    )
    assert one.returncode == many.returncode == 0
    assert one.stdout == many.stdout


def test_a_closed_pipe_ends_quietly(small_org: Path) -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tokenaudit",
            "scan",
            str(small_org),
            "--format",
            "json",
            "--exit-zero",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.read(10)
        proc.stdout.close()  # the reader goes away, as `| head -c 10` does
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert code in (0, 141)


def test_ctrl_c_exits_130_and_leaves_no_temporary_files(small_org: Path, tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    target = tmp_path / "report.csv"
    target.write_text("previous\n")
    with subprocess.Popen(
        [sys.executable, "-m", "tokenaudit", "scan", str(small_org), "--output", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    if proc.returncode in (0, 1):  # it finished before the signal arrived
        pytest.skip("run finished before the interrupt")
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    assert target.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]


def test_a_full_disk_is_exit_74_and_keeps_the_old_report(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tokenaudit import output

    target = tmp_path / "report.csv"
    target.write_text("previous\n")

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", no_space)
    with pytest.raises(WriteError, match="No space left on device"):
        output.write_atomically(target, "new report\n")
    assert WriteError.exit_code == 74
    assert target.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]


def test_row_counts_conserve_per_file(small_org: Path, tmp_path: Path) -> None:
    import json

    messy = tmp_path / "usage.csv"
    lines = (small_org / "usage.csv").read_text().splitlines()
    lines[5] = "garbage,row"
    lines[9] = lines[9].replace("Z,", ",", 1)  # a timestamp without a zone
    messy.write_text("\n".join(lines) + "\n")
    result = run_tool(
        "scan",
        str(messy),
        str(small_org / "commits.csv"),
        str(small_org / "identities.csv"),
        "--format",
        "json",
        "--exit-zero",
        "--rejects",
        str(tmp_path / "rejects.csv"),
        "--assume-tz",
        "none",
    )
    assert result.returncode == 0, result.stderr
    inputs = json.loads(result.stdout)["run"]["inputs"]
    for item in inputs:
        assert item["rows"] == item["used"] + item["rejected"], item
    usage = next(i for i in inputs if i["kind"] == "usage")
    assert usage["rows"] == len(lines) - 1
    rejects = (tmp_path / "rejects.csv").read_text().splitlines()
    assert rejects[0] == "file,line,column,code,reason"
    assert any(",6," in r and "expected" in r for r in rejects)
    assert any(",10,timestamp,no_time_zone,timestamp has no time zone" in r for r in rejects)
    assert len(rejects) - 1 == sum(i["rejected"] for i in inputs)
