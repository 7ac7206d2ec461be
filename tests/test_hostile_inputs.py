"""Never lose the run, never damage the machine (issue 16), and files that are not logs (11).

Each test is one failure seen in the field, stated as the behaviour that replaces it.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
import unicodedata
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenaudit.config import AuditConfig
from tokenaudit.errors import DataError, InputMissingError, OutputError, WriteError
from tokenaudit.identities import IdentityMap, normalise_identity
from tokenaudit.ingest import STRAY_GAP_DAYS, _main_stretch, build_usage_panel
from tokenaudit.loaders import InputFile, expand_paths, load_input
from tokenaudit.output import write_atomically
from tokenaudit.report.sanitize import visible

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
HEADER = "timestamp,account,input_tokens,output_tokens\n"
ROW = "2026-03-02T10:00:00Z,ana@acme.example,1000,200\n"


@pytest.fixture(scope="module")
def tiny_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-person, 3-week organisation: enough for a whole run, quick to scan."""
    from tokenaudit.synthetic.simulate import generate_org, write_org

    out = tmp_path_factory.mktemp("tiny")
    write_org(generate_org(accounts=12, days=21, seed=5, maxxer_share=0.1), out)
    return out


def tool(*args: str, **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tokenaudit", *args], **kwargs)  # type: ignore[call-overload]


def run(*args: str, env: dict[str, str] | None = None, **kwargs: object) -> tuple[int, str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "tokenaudit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )
    return result.returncode, result.stdout, result.stderr


def load(
    path: Path, tmp_path: Path, **kwargs: object
) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
    loaded = load_input(InputFile(path, path.name), tmp_path, **kwargs)  # type: ignore[arg-type]
    assert loaded is not None
    return loaded.frame.collect(), list(loaded.unreadable)


def rejected(frame: pl.DataFrame) -> dict[int, str]:
    bad = frame.filter(pl.col("_reject").is_not_null())
    return dict(zip(bad["_line"].to_list(), bad["_reject"].to_list(), strict=True))


# ----------------------------------------------------------------------------- 16.1 -o


def test_output_replaces_a_regular_file_keeping_its_mode_and_leaves_no_temp_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "report.csv"
    target.write_text("previous\n")
    target.chmod(0o644)
    write_atomically(target, "new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    fresh = tmp_path / "fresh.csv"
    write_atomically(fresh, "x\n")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600  # reports hold personal data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.csv", "report.csv"]


def test_output_through_a_symlink_keeps_the_link_and_replaces_its_target(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "latest.csv"
    target.write_text("previous\n")
    link = tmp_path / "report.csv"
    link.symlink_to(target)
    write_atomically(link, "new\n")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["latest.csv"]


def test_output_into_a_fifo_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_atomically(fifo, "rank,account\n")
    reader.join(timeout=10)
    assert got == [b"rank,account\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def _char_device(path: Path, major: int, minor: int) -> Path:
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot create a device node here: {exc}")
    return path


def test_output_onto_a_null_device_writes_through_it_and_it_stays_a_device(
    tmp_path: Path,
) -> None:
    null = _char_device(tmp_path / "null", 1, 3)
    before = null.stat()
    write_atomically(null, "report\n")
    after = null.stat()
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (
        before.st_mode,
        before.st_ino,
        before.st_rdev,
    )
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


def test_output_onto_a_full_device_is_an_io_error_and_the_device_stays(tmp_path: Path) -> None:
    full = _char_device(tmp_path / "full", 1, 7)
    with pytest.raises(WriteError, match="No space left"):
        write_atomically(full, "report\n")
    assert WriteError.exit_code == 74
    assert stat.S_ISCHR(full.stat().st_mode)


def test_output_onto_a_socket_or_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="directory"):
        write_atomically(tmp_path, "x")
    import socket

    sock_path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(OutputError, match="socket"):
            write_atomically(sock_path, "x")


def test_cli_output_to_dev_stdout_reaches_stdout_and_dev_full_is_74(tiny_org: Path) -> None:
    code, out, err = run("scan", str(tiny_org), "-f", "csv", "--exit-zero", "-o", "/dev/stdout")
    assert code == 0, err
    assert out.startswith("rank,account,status")
    assert os.path.islink("/dev/stdout") or stat.S_ISCHR(os.stat("/dev/stdout").st_mode)
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    code, _, err = run("scan", str(tiny_org), "-f", "csv", "--exit-zero", "-o", "/dev/full")
    assert code == 74, err
    assert "No space left" in err and "Traceback" not in err
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_directorys_links_and_special_files_are_named_as_skipped_never_dropped_in_silence(
    tiny_org: Path, tmp_path: Path
) -> None:
    # A walk that follows no links passed over a linked folder of older logs in silence (the
    # period shrank, the result changed); a dangling link and a FIFO likewise.
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("usage.csv", "commits.csv"):
        (logs / name).write_bytes((tiny_org / name).read_bytes())
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "older.csv").write_bytes((tiny_org / "usage.csv").read_bytes())
    (logs / "archive").symlink_to(archive)
    (logs / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    os.mkfifo(logs / "pipe.csv")
    code, _, err = run("scan", str(logs), "-o", str(tmp_path / "r.csv"), "--exit-zero")
    assert code == 0, err
    assert "skipped 3 file(s)" in err
    assert "archive (not a log: a link to a directory, not followed (name it to scan it))" in err
    assert "gone.csv (not a log: a link to nothing)" in err
    assert "pipe.csv (not a log: not a regular file)" in err
    # Where the only usage log is behind the link, the error says what was skipped.
    (logs / "usage.csv").unlink()
    code, _, err = run("scan", str(logs), "-o", str(tmp_path / "r.csv"))
    assert code == 65 and "no usage log among the inputs" in err
    assert "skipped: " in err and "a link to a directory" in err


SCAN_TINY_CSV: list[str] = [sys.executable, "-m", "tokenaudit", "scan", "-f", "csv", "--exit-zero"]


def test_output_to_dev_stdout_writes_to_stdout_as_the_shell_opened_it(
    tiny_org: Path, tmp_path: Path
) -> None:
    # Reopened, a `>>` file was truncated: what the shell had appended before was lost.
    kept = tmp_path / "nightly.csv"
    kept.write_text("EARLIER RUN\n")
    with kept.open("ab") as appended:
        code = subprocess.run(
            [*SCAN_TINY_CSV, str(tiny_org), "-o", "/dev/stdout"],
            stdout=appended,
            stderr=subprocess.DEVNULL,
            check=False,
        ).returncode
    assert code == 0
    text = kept.read_text()
    assert text.startswith("EARLIER RUN\nrank,account,status")


def test_outputs_that_would_land_in_one_file_or_in_an_input_are_refused_before_the_run(
    tiny_org: Path, tmp_path: Path
) -> None:
    report = tmp_path / "out.csv"
    code, _, err = run("scan", str(tiny_org), "-o", str(report), "--rejects", str(report))
    assert code == 2 and "--rejects" in err and "is also -o" in err
    assert not report.exists()
    usage = tmp_path / "usage.csv"
    usage.write_bytes((tiny_org / "usage.csv").read_bytes())
    before = usage.read_bytes()
    code, _, err = run(
        "scan", "--usage", str(usage), "--commits", str(tiny_org / "commits.csv"), "-o", str(usage)
    )
    assert code == 2 and "is also an input" in err
    assert usage.read_bytes() == before
    # Streams are written in place, never replaced: they may be shared.
    code, out, err = run(
        "scan",
        str(tiny_org),
        "-f",
        "csv",
        "--exit-zero",
        "-o",
        "/dev/stdout",
        "--rejects",
        "/dev/stdout",
    )
    assert code == 0, err
    assert "rank,account,status" in out


# ----------------------------------------------------------------------------- 16.2 memory


def _gzip_of_repeats(path: Path, header: bytes, block: bytes, times: int) -> None:
    """A gzip file expanding to `times` copies of `block` (after `header`): concatenated gzip
    members, so a large expansion costs nothing to build."""
    member = gzip.compress(block, compresslevel=9)
    with path.open("wb") as fh:
        fh.write(gzip.compress(header))
        for _ in range(times):
            fh.write(member)


def _peak_rss_mb(args: list[str], env: dict[str, str]) -> tuple[int, float, bytes]:
    """Run the CLI and sample its high-water RSS (VmHWM) until it ends.

    NOTE: not ru_maxrss: Linux carries the parent's RSS at fork over exec into the child's
    ru_maxrss, so a child of a large pytest process would report pytest's size."""
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc")
    peak_kb = 0
    with subprocess.Popen(
        [sys.executable, "-m", "tokenaudit", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    ) as proc:
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak_kb = max(peak_kb, int(line.split()[1]))
            except (OSError, ValueError, IndexError):
                pass
            time.sleep(0.01)
        assert proc.stderr is not None
        err = proc.stderr.read()
    return proc.returncode, peak_kb / 1024, err


def test_a_decompression_bomb_is_refused_within_bounded_memory_and_leaves_no_temp_files(
    tmp_path: Path,
) -> None:
    work = tmp_path / "tmp"
    work.mkdir()
    bomb = tmp_path / "usage.csv.gz"
    block = (ROW * ((1 << 20) // len(ROW))).encode()
    _gzip_of_repeats(bomb, HEADER.encode(), block, 300)  # ~300 MiB from ~1 MB
    code, peak, err = _peak_rss_mb(
        ["scan", str(bomb), "--commits", str(bomb)], {"TMPDIR": str(work)}
    )
    assert code == 65, err
    assert b"expands past 256M" in err and b"--max-expanded-size" in err
    # The 300 MiB expansion is refused at 256M; the child's own high-water mark (Python and
    # Polars imported) measured about 113 MB.
    assert peak < 400, f"peak RSS {peak:.0f} MB"
    assert list(work.iterdir()) == []
    code, peak, err = _peak_rss_mb(
        ["scan", str(bomb), "--commits", str(bomb), "--max-expanded-size", "20M"],
        {"TMPDIR": str(work)},
    )
    assert code == 65 and b"expands past 20M (--max-expanded-size)" in err, err
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("compressed", [True, False])
def test_an_overlong_line_is_one_unreadable_row_and_the_rest_is_read(
    tmp_path: Path, compressed: bool
) -> None:
    body = HEADER + ROW + "2026-03-02T11:00:00Z,x," + "9" * (3 << 20) + ",1\n" + ROW
    path = tmp_path / ("usage.csv.gz" if compressed else "usage.csv")
    path.write_bytes(gzip.compress(body.encode()) if compressed else body.encode())
    frame, unreadable = load(path, tmp_path)
    assert frame["_line"].to_list() == [2, 4]
    assert rejected(frame) == {}
    assert len(unreadable) == 1 and unreadable[0][0] == 3
    assert "longer than 1M" in unreadable[0][1]


# ----------------------------------------------------------------------------- 16.3 figures


def test_implausible_and_overflowing_token_counts_are_rejected_rows(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    path.write_text(
        HEADER
        + ROW
        + "2026-03-02T10:00:00Z,ana@acme.example,8000000000000000000,1\n"
        + "2026-03-02T10:00:00Z,ana@acme.example,2000000000000000,1\n"
        + "2026-03-02T10:00:00Z,ana@acme.example,1,99999999999999999999999\n"
    )
    frame, _ = load(path, tmp_path)
    reasons = rejected(frame)
    assert set(reasons) == {3, 4, 5}
    assert "too large" in reasons[3]
    assert "implausible count 2000000000000000" in reasons[4]
    assert "output_tokens" in reasons[5]


def test_a_csv_whose_lines_end_with_a_lone_cr_is_refused_saying_so(tmp_path: Path) -> None:
    # Its first "line" is the whole file: left out for its length, it read as "no header row".
    path = tmp_path / "usage.csv"
    path.write_text((HEADER + ROW * 25_000).replace("\n", "\r"), newline="")
    with pytest.raises(DataError, match="lone CR") as caught:
        load(path, tmp_path)
    assert caught.value.line == 1


def test_nan_is_not_a_number_rather_than_a_number_too_large(tmp_path: Path) -> None:
    # Polars orders NaN above every number, so it was called "number too large".
    path = tmp_path / "usage.csv"
    path.write_text(HEADER + "2026-03-02T10:00:00Z,ana@acme.example,NaN,1\n" + ROW)
    frame, _ = load(path, tmp_path)
    assert rejected(frame) == {2: "column 'input_tokens': not a whole number 'NaN'"}


def test_a_negative_or_implausible_cost_is_a_rejected_row(tmp_path: Path) -> None:
    # Accepted, a negative cost made an account's total negative and so "light usage" under
    # --measure cost; 1.7e308 summed to inf and ended the run (exit 70).
    path = tmp_path / "usage.csv"
    path.write_text(
        "timestamp,account,input_tokens,output_tokens,cost_usd\n"
        "2026-03-02T10:00:00Z,ana@acme.example,1000,200,0.02\n"
        "2026-03-02T10:00:00Z,ana@acme.example,1000,200,-1000\n"
        "2026-03-02T10:00:00Z,ana@acme.example,1000,200,1.7e308\n"
        "2026-03-02T10:00:00Z,ana@acme.example,1000,200,0\n"
    )
    frame, _ = load(path, tmp_path)
    reasons = rejected(frame)
    assert set(reasons) == {3, 4}
    assert "amount out of range" in reasons[3] and "'-1000'" in reasons[3]
    assert "over 1e9 USD" in reasons[4]


@pytest.mark.parametrize("shape", ["ndjson", "json"])
def test_a_lone_surrogate_in_json_is_a_rejected_row_not_the_end_of_the_run(
    tmp_path: Path, shape: str
) -> None:
    # JSON may escape half of a surrogate pair; decoded, no UTF-8 holds it, and Polars took
    # the run down with it (exit 70). Where the audit reads the value, the row is rejected.
    good = {"timestamp": "2026-03-02T10:00:00Z", "account": "ana@acme.example"}
    good |= {"input_tokens": 1000, "output_tokens": 200}
    lines = [json.dumps(good), json.dumps(good).replace("ana@", "an\\ud800a@")]
    lines.append(json.dumps(good | {"note": "cut \ud83d"}))  # a value nothing reads
    path = tmp_path / f"usage.{shape}"
    path.write_text("\n".join(lines) if shape == "ndjson" else "[" + ",".join(lines) + "]")
    frame, _ = load(path, tmp_path)
    reasons = rejected(frame)
    assert list(reasons) == [2]
    assert "column 'account': invalid UTF-8" in reasons[2]
    assert frame.height == 3


@pytest.mark.parametrize("shape", ["ndjson", "json"])
def test_a_json_object_array_or_boolean_is_no_account_name(tmp_path: Path, shape: str) -> None:
    # Read as its JSON text, `{"a": 1}` became an account of its own, reported as a person.
    # A number stays a name: user ids are often numbers.
    row = {"timestamp": "2026-03-02T10:00:00Z", "input_tokens": 1000, "output_tokens": 200}
    accounts: list[object] = ["ana@acme.example", {"a": 1}, ["b"], True, 12345]
    lines = [json.dumps(row | {"account": account}) for account in accounts]
    path = tmp_path / f"usage.{shape}"
    path.write_text("\n".join(lines) if shape == "ndjson" else "[" + ",".join(lines) + "]")
    frame, _ = load(path, tmp_path)
    reasons = rejected(frame)
    assert sorted(reasons) == [2, 3, 4]
    assert reasons[2] == (
        "column 'account': a JSON object, array or true/false, not text '{\"a\": 1}'"
    )
    assert sorted(frame.filter(pl.col("_reject").is_null())["account"].to_list()) == [
        "12345",
        "ana@acme.example",
    ]


def test_a_json_object_where_a_model_belongs_keeps_the_rows_tokens(tmp_path: Path) -> None:
    # Only a name is refused as JSON: the tokens of a row whose model is an object are still
    # somebody's (the model then has no price, and is counted as such).
    row = {"timestamp": "2026-03-02T10:00:00Z", "account": "ana@acme.example"}
    lines = [json.dumps(row | {"input_tokens": 10, "model": {"id": "gpt-4"}})] * 2
    path = tmp_path / "usage.ndjson"
    path.write_text("\n".join(lines))
    frame, _ = load(path, tmp_path)
    assert rejected(frame) == {}
    assert frame["model"].to_list() == ['{"id": "gpt-4"}'] * 2


def test_token_totals_that_would_wrap_around_stop_the_run(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    rows = "".join(
        f"2026-03-02T10:{i % 60:02d}:00Z,ana@acme.example,900000000000000,0\n" for i in range(6000)
    )
    path.write_text(HEADER + rows)
    loaded = load_input(InputFile(path, path.name), tmp_path)
    assert loaded is not None
    with pytest.raises(DataError, match=r"more than 2\^62"):
        build_usage_panel([loaded.frame], IdentityMap(), AuditConfig(), tmp_path, 0)


def test_a_stray_1970_row_on_a_bot_neither_moves_the_period_nor_anyones_status(
    small_org: Path, tmp_path: Path
) -> None:
    usage = (small_org / "usage.csv").read_text()
    _, first, *_ = usage.splitlines()
    stray = first.split(",")
    stray[0], stray[1] = "1970-01-01T00:00:00Z", "ci-bot@acme.example"
    (tmp_path / "usage.csv").write_text(usage + ",".join(stray) + "\n")
    args = ("--format", "json", "--exit-zero", "--all")
    common = (str(small_org / "commits.csv"), str(small_org / "identities.csv"))
    code, clean, err = run("scan", str(small_org / "usage.csv"), *common, *args)
    assert code == 0, err
    code, dirty, err = run(
        "scan", str(tmp_path / "usage.csv"), *common, *args, "--rejects", str(tmp_path / "r.csv")
    )
    assert code == 0, err
    assert "1 usage rows dated far outside the rest of the data (1970-01-01)" in err
    status = {a["account"]: a["status"] for a in json.loads(clean)["accounts"]}
    assert {a["account"]: a["status"] for a in json.loads(dirty)["accounts"]} == status
    rejects = (tmp_path / "r.csv").read_text()
    assert "timestamp 1970-01-01 is far outside the bulk of the data" in rejects
    assert "pass --since/--until to include it" in rejects


@SETTINGS
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=STRAY_GAP_DAYS), min_size=1, max_size=40),
    rows=st.lists(st.integers(min_value=1, max_value=1000), min_size=41, max_size=41),
)
def test_usage_without_a_long_empty_gap_is_never_quarantined(
    gaps: list[int], rows: list[int]
) -> None:
    day = date(2026, 1, 1)
    days = [day]
    for gap in gaps:
        day += timedelta(days=max(gap, 1))
        days.append(day)
    counts = pl.DataFrame({"day": days, "len": rows[: len(days)]})
    assert _main_stretch(counts, AuditConfig()) is None


def test_a_small_stretch_far_away_is_quarantined_unless_the_period_is_given() -> None:
    bulk = [date(2026, 3, 1) + timedelta(days=i) for i in range(40)]
    counts = pl.DataFrame({"day": [date(1970, 1, 1), *bulk], "len": [1] + [100] * 40})
    kept = _main_stretch(counts, AuditConfig())
    assert kept is not None and kept[:2] == (date(2026, 3, 1), date(2026, 4, 9))
    assert _main_stretch(counts, AuditConfig(since=date(1970, 1, 1))) is None


def test_an_unreadable_subdirectory_is_missing_input_not_silence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "logs" / "locked").mkdir(parents=True)
    (tmp_path / "logs" / "usage.csv").write_text(HEADER + ROW)
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InputMissingError, match="locked: cannot read directory: Permission denied"):
        expand_paths([tmp_path / "logs"])
    assert InputMissingError.exit_code == 66


# ----------------------------------------------------------------------------- 16.4 bad rows


@SETTINGS
@given(extra=st.integers(min_value=1, max_value=30), where=st.integers(min_value=0, max_value=5))
def test_a_row_with_too_many_fields_is_one_unreadable_row(
    tmp_path: Path, extra: int, where: int
) -> None:
    rows = [ROW] * 6
    rows[where] = "2026-03-02T10:00:00Z,ana@acme.example,1000,200" + ",x" * extra + "\n"
    path = tmp_path / "usage.csv"
    path.write_text(HEADER + "".join(rows))
    frame, unreadable = load(path, tmp_path)
    assert unreadable == [(where + 2, f"expected 4 fields, got {4 + extra}")]
    assert frame.height == 5 and rejected(frame) == {}


def test_an_unquoted_comma_in_a_commit_message_is_one_rejected_row(tmp_path: Path) -> None:
    path = tmp_path / "commits.csv"
    path.write_text(
        "merged_at,author,lines_added,message\n"
        "2026-03-02T10:00:00Z,ana,10,feat: x\n"
        "2026-03-03T10:00:00Z,ana,10,feat: x, and fix tests\n"
        "2026-03-04T10:00:00Z,ana,10,fix: y\n"
    )
    frame, unreadable = load(path, tmp_path)
    assert frame["_line"].to_list() == [2, 4]
    assert unreadable == [(3, "expected 4 fields, got 5")]


@SETTINGS
@given(depth=st.integers(min_value=5_000, max_value=200_000))
def test_an_ndjson_line_nested_arbitrarily_deep_is_one_unreadable_row(
    tmp_path: Path, depth: int
) -> None:
    good = json.dumps({"timestamp": "2026-03-02T10:00:00Z", "account": "a", "input_tokens": 5})
    deep = '{"timestamp": "2026-03-02T10:00:00Z", "x": ' + "[" * depth + "]" * depth + "}"
    path = tmp_path / "usage.ndjson"
    path.write_text(f"{good}\n{deep}\n{good}\n")
    frame, unreadable = load(path, tmp_path)
    assert frame["_line"].to_list() == [1, 3]
    assert [line for line, _ in unreadable] == [2]


@pytest.mark.parametrize("stamp", ["0000-03-02T10:00:00Z", "-0001-03-02T10:00:00Z", "9999-01-01"])
def test_a_timestamp_in_an_impossible_year_is_one_rejected_row(tmp_path: Path, stamp: str) -> None:
    path = tmp_path / "usage.csv"
    path.write_text(HEADER + ROW + f"{stamp},ana@acme.example,1,1\n" + ROW)
    frame, _ = load(path, tmp_path)
    assert list(rejected(frame)) == [3]
    assert "out of range" in rejected(frame)[3]
    assert frame["timestamp"].drop_nulls().dt.year().to_list() == [2026, 2026]


def test_the_run_goes_on_past_bad_rows_of_every_kind(tiny_org: Path, tmp_path: Path) -> None:
    usage = (tiny_org / "usage.csv").read_text().splitlines()
    fields = usage[1].split(",")
    usage.append(",".join([*fields, "extra"]))
    usage.append(",".join(["0000-01-01T00:00:00Z", *fields[1:]]))
    (tmp_path / "usage.csv").write_text("\n".join(usage) + "\n")
    code, out, err = run(
        "scan",
        str(tmp_path / "usage.csv"),
        str(tiny_org / "commits.csv"),
        str(tiny_org / "identities.csv"),
        "-f",
        "csv",
        "--exit-zero",
    )
    assert code == 0, err
    assert "2 input rows rejected" in err and out.startswith("rank,")


# ----------------------------------------------------------------------------- 16.5 streams


def _scan_shell(small_org: Path, redirect: str) -> tuple[int, str, str]:
    command = f"exec {sys.executable} -m tokenaudit scan {small_org} -f csv --exit-zero {redirect}"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    return result.returncode, result.stdout, result.stderr


def test_stdout_on_a_full_device_or_closed_is_74_with_one_line(tiny_org: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    for redirect in (">/dev/full", ">&-"):
        code, _, err = _scan_shell(tiny_org, redirect)
        assert code == 74, (redirect, err)
        assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("tokenaudit: ")


def test_a_closed_stdin_is_missing_input(tiny_org: Path) -> None:
    code, _, err = _scan_shell(tiny_org, f"- --commits {tiny_org / 'commits.csv'} <&-")
    assert code == 66, err
    assert "<stdin>: standard input is closed" in err


def test_a_closed_stderr_changes_nothing_for_a_clean_run(tiny_org: Path) -> None:
    code, out, _ = _scan_shell(tiny_org, "")
    closed_code, closed_out, _ = _scan_shell(tiny_org, "2>&-")
    assert (closed_code, closed_out) == (code, out)
    assert code == 0 and out.startswith("rank,")


# ----------------------------------------------------------------------------- 16.6 SIGTERM


def test_sigterm_cleans_up_keeps_the_old_report_and_exits_143(tmp_path: Path) -> None:
    work = tmp_path / "tmp"
    work.mkdir()
    big = tmp_path / "usage.csv.gz"
    block = (ROW * ((1 << 20) // len(ROW))).encode()
    _gzip_of_repeats(big, HEADER.encode(), block, 3000)  # 3 GiB: still decompressing at 1.5 s
    target = tmp_path / "report.csv"
    target.write_text("previous\n")
    with tool(
        "scan",
        str(big),
        "--commits",
        str(big),
        "--max-expanded-size",
        "8G",
        "-o",
        str(target),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(work)},
    ) as proc:
        time.sleep(1.5)
        if proc.poll() is not None:
            pytest.skip("run ended before the signal")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert b"Traceback" not in err and b"terminated" in err
    assert target.read_text() == "previous\n"
    assert list(work.iterdir()) == []


_STUCK_IN_NATIVE_CODE = """
import hashlib, sys, threading, time
from tokenaudit import _entry
from tokenaudit.cli_support import workdir

def stuck_in_native_code():
    # Releases the GIL and checks no signal for a minute, as a Polars query over 10M rows does:
    # Python cannot run the handler until it returns.
    hashlib.pbkdf2_hmac("sha256", b"x", b"y", 2 * 10**8)

def announce_once_inside(scratch, main_thread):
    # A signal sent before the main thread is inside the native call is handled at the next
    # bytecode, which is not what this test is about: say where the scratch directory is only
    # once the main thread has sat in the function for a while (building the call's arguments
    # takes microseconds, so it is then inside the call).
    still = 0
    while still < 3:
        frame = sys._current_frames().get(main_thread)
        inside = frame is not None and frame.f_code.co_name == "stuck_in_native_code"
        still = still + 1 if inside else 0
        time.sleep(0.1)
    print(scratch, flush=True)

_entry.install_signal_handling()
with workdir() as scratch:
    (scratch / "part.parquet").write_bytes(b"spilled")
    main_thread = threading.get_ident()
    threading.Thread(target=announce_once_inside, args=(scratch, main_thread), daemon=True).start()
    stuck_in_native_code()
"""


def test_sigterm_ends_a_run_stuck_in_native_code_within_the_grace_and_removes_its_files() -> None:
    from tokenaudit._entry import SIGNAL_GRACE_S

    with subprocess.Popen(
        [sys.executable, "-c", _STUCK_IN_NATIVE_CODE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        scratch = Path(proc.stdout.readline().strip())
        assert (scratch / "part.parquet").exists()
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - started
    assert proc.returncode == 143, err
    assert err == "tokenaudit: terminated\n"
    assert SIGNAL_GRACE_S <= took < SIGNAL_GRACE_S + 10
    assert not scratch.exists()


# ----------------------------------------------------------------------------- 16.7 identities


@SETTINGS
@given(name=st.text(min_size=1, max_size=20))
def test_spellings_that_look_the_same_are_one_identity(name: str) -> None:
    forms = [unicodedata.normalize(f, name) for f in ("NFC", "NFD", "NFKC", "NFKD")]
    keys = pl.DataFrame({"a": forms}).select(normalise_identity(pl.col("a"))).to_series()
    assert keys.n_unique() == 1


def test_accounts_are_shown_as_spelled_most_often_and_zoe_is_one_person(tmp_path: Path) -> None:
    nfc, nfd = "zo\u00eb", "zoe\u0308"
    rows = [("YuriiMotov", 3), ("yuriimotov", 1), (nfc, 2), (nfd, 1), ("Bob", 1), ("bob", 1)]
    path = tmp_path / "usage.csv"
    path.write_text(
        HEADER
        + "".join(
            f"2026-03-0{i + 1}T10:00:00Z,{name},100,1\n" for name, n in rows for i in range(n)
        )
    )
    loaded = load_input(InputFile(path, path.name), tmp_path)
    assert loaded is not None
    idmap = IdentityMap()
    days = build_usage_panel([loaded.frame], idmap, AuditConfig(), tmp_path, 0).days
    assert sorted(set(days["account"])) == ["Bob", "YuriiMotov", nfc]
    # Commit authors resolve to the same names, so the two sides still meet.
    authors = pl.DataFrame({"author": ["yuriimotov", "ZOË", "BOB"]})
    assert idmap.resolve_column(authors, "author")["author"].to_list() == [
        "YuriiMotov",
        nfc,
        "Bob",
    ]


def test_the_identities_file_spelling_wins(tmp_path: Path) -> None:
    idmap = IdentityMap.from_frame(
        pl.DataFrame(
            {
                "alias": ["yurii@acme.example"],
                "account": ["Yurii.Motov"],
                "team": [None],
                "role": [None],
            },
            schema={"alias": pl.String, "account": pl.String, "team": pl.String, "role": pl.String},
        )
    )
    spellings = pl.DataFrame({"a": ["YURII@acme.example", "yurii.motov", "YuriiMotov"]})
    resolved = spellings.select(idmap.resolve(pl.col("a"))).to_series().to_list()
    assert resolved == ["Yurii.Motov", "Yurii.Motov", "yuriimotov"]


@SETTINGS
@given(text=st.text(alphabet=st.characters(categories=["Cf", "Cc", "Zl", "Zp", "Co"]), min_size=1))
def test_every_format_and_control_character_is_shown_escaped(text: str) -> None:
    shown = visible("a" + text + "b")
    assert all(unicodedata.category(c) not in {"Cf", "Cc", "Zl", "Zp", "Co"} for c in shown)


@pytest.mark.parametrize("char", ["\u00ad", "\U000e0001", "\U000e007f", "\U0001d173", "\u2064"])
def test_named_invisible_characters_are_escaped(char: str) -> None:
    assert visible(f"bob{char}") == f"bob\\u{{{ord(char):04x}}}"


# ----------------------------------------------------------------------------- 16.8 messages


@pytest.mark.parametrize("codec", ["utf-16", "utf-32", "utf-16-be"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_read(tmp_path: Path, codec: str) -> None:
    text = HEADER + ROW + "2026-03-02T10:00:00Z,zoë@acme.example,5,5\n"
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    path = tmp_path / "usage.txt"
    path.write_bytes(data)
    frame, unreadable = load(path, tmp_path)
    assert unreadable == [] and rejected(frame) == {}
    assert frame["account"].to_list() == ["ana@acme.example", "zoë@acme.example"]


def test_utf16_without_a_byte_order_mark_says_so(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    path.write_bytes((HEADER + ROW).encode("utf-16-le"))
    with pytest.raises(DataError, match=r"UTF-16 .* save it as UTF-8"):
        load(path, tmp_path)


def test_a_wall_clock_time_in_the_dst_gap_says_so(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    path.write_text(HEADER + ROW + "2026-03-08T02:30:00,ana@acme.example,1,1\n")
    frame, _ = load(path, tmp_path, assume_tz="America/New_York")
    assert "falls in the daylight-saving gap" in rejected(frame)[3]
    assert "America/New_York" in rejected(frame)[3]


# ----------------------------------------------------------------------------- 11 directories


def test_files_that_are_not_logs_are_skipped_and_counted_inside_a_directory(
    tiny_org: Path, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("usage.csv", "commits.csv", "identities.csv"):
        (logs / name).write_bytes((tiny_org / name).read_bytes())
    junk = [
        "README.md",
        "notes.txt",
        "settings.json",
        "settings.local.json",
        ".DS_Store",
        "agent-1.meta.json",
        "uv.lock",
        "logo.png",
        "todos/a.json",
        "shell-snapshots/s.sh",
        "statsig/x",
        "ide/1.lock",
        "plugins/p.json",
    ]
    for name in junk:
        (logs / name).parent.mkdir(exist_ok=True)
        (logs / name).write_text("{not a log")
    code, out, err = run("scan", str(logs), "-f", "csv", "--exit-zero")
    assert code == 0, err
    assert out.startswith("rank,")
    assert f"skipped {len(junk)} file(s) that are not logs" in err
    code, _, err = run("scan", str(logs / "README.md"), "-f", "csv")
    assert code == 65, err


def test_an_empty_directory_or_one_without_logs_is_missing_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run("scan", str(empty))
    assert code == 66 and str(empty) in err and "holds no log files" in err, err
    (empty / "README.md").write_text("hello")
    code, _, err = run("scan", str(empty))
    assert code == 66 and "1 file(s) that are not logs skipped" in err, err


@pytest.mark.parametrize("separator", ["", "\n", "\n\n  "])
def test_gh_api_paginate_output_is_one_list_numbered_across_pages(
    tmp_path: Path, separator: str
) -> None:
    def page(first: int) -> str:
        return json.dumps(
            [
                {"merged_at": f"2026-03-0{i}T10:00:00Z", "author": "ana", "lines_added": i}
                for i in (first, first + 1)
            ]
        )

    path = tmp_path / "prs.json"
    path.write_text(page(1) + separator + page(3) + separator + page(5))
    frame, unreadable = load(path, tmp_path)
    assert unreadable == []
    assert frame["_line"].to_list() == [1, 2, 3, 4, 5, 6]
    assert frame["lines_added"].to_list() == [1, 2, 3, 4, 5, 6]
