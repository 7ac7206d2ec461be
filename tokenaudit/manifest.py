"""The run manifest: what a report was made from, so that it can be checked later
(`tokenaudit verify`).

`build_manifest` is pure: the CLI hands it the clock (`run_id`, start, wall time), the versions,
the effective settings and the files; it returns plain data in a fixed key order. Two runs on
the same inputs and settings give manifests that differ only in `run_id`, `started` and
`wall_seconds` (`VOLATILE`).

NOTE: the default `scan --format json` report carries no manifest, so that the same input gives
the same bytes (the golden tests): the manifest is written with `--manifest FILE`, and then also
embedded in a JSON report's `run.manifest`. `report_sha256` is the SHA-256 of the report as
`--format json` renders it without a manifest, whatever format was written: `verify` re-runs the
audit and compares that digest.

Each input's time range is the first and last instant of its used rows (usage and commit logs;
an account-day panel gives days); an input with no such rows (identities) gets its kind's days.
"""

from __future__ import annotations

import hashlib
import os
import platform
from dataclasses import dataclass
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tokenaudit.errors import path_text

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tokenaudit.model import AuditReport

#: Identifies a manifest document, standalone or embedded.
MANIFEST_KIND: Final = "tokenaudit-run-manifest"
MANIFEST_VERSION: Final = 1
#: The fields that differ between two runs of the same audit.
VOLATILE: Final = ("run_id", "started", "wall_seconds")
#: Settings files whose digests the manifest records (besides the inputs).
SETTINGS_FILES: Final = ("config", "suppressions", "baseline", "reference")


@dataclass(frozen=True)
class FileRecord:
    """A file as the manifest records it: where it is, how big, and its digest."""

    path: str | None
    size: int | None
    sha256: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


#: SHA-256 of files already read whole in this run, by (absolute path, size, modification time
#: in ns): a tree of gigabytes is hashed while it is read, not read again once per use.
_DIGESTS: dict[tuple[str, int, int], str] = {}


def _key(path: Path, stat: os.stat_result) -> tuple[str, int, int]:
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def remember_sha256(path: Path, stat: os.stat_result, digest: str) -> None:
    """The SHA-256 of a file read whole, that was `stat` before and after the reading."""
    _DIGESTS[_key(path, stat)] = digest


def sha256_file(path: Path) -> str:
    stat = path.stat()
    known = _DIGESTS.get(_key(path, stat))
    if known is not None:
        return known
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    if path.stat() == stat:
        remember_sha256(path, stat, digest.hexdigest())
    return digest.hexdigest()


def file_record(path: Path | None) -> FileRecord:
    """Path (absolute), size and SHA-256 of a file; empty fields when there is none to read."""
    if path is None:
        return FileRecord(None, None, None)
    resolved = path.resolve()
    # NOTE: a path that is not UTF-8 has no JSON spelling that leads back to it: it is not
    # recorded (`verify` says so) rather than recorded as a name that no file has.
    where = str(resolved) if path_text(resolved) == str(resolved) else None
    try:
        return FileRecord(where, resolved.stat().st_size, sha256_file(resolved))
    except OSError:
        return FileRecord(where, None, None)


def versions() -> dict[str, str | None]:
    """tokenaudit's version and those of Python, Polars, NumPy and SciPy."""

    def of(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    from tokenaudit import __version__

    return {
        "tokenaudit": __version__,
        "python": platform.python_version(),
        "polars": of("polars"),
        "numpy": of("numpy"),
        "scipy": of("scipy"),
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _as_instants(days: dict[str, str | None] | None) -> dict[str, str | None]:
    """A kind's day range in the per-file shape (`first`, `last`)."""
    days = days or {}
    return {"first": days.get("first_day"), "last": days.get("last_day")}


def _time_ranges(report: AuditReport) -> dict[str, dict[str, str | None]]:
    def span(frame: Any) -> dict[str, str | None]:
        if frame is None or frame.height == 0 or "day" not in frame.columns:
            return {"first_day": None, "last_day": None}
        return {"first_day": _iso(frame["day"].min()), "last_day": _iso(frame["day"].max())}

    ranges = {"usage": span(report.days), "commits": span(report.outputs)}
    ranges["panel"] = ranges["usage"]
    return ranges


def cohort_sizes(report: AuditReport) -> dict[str, int]:
    """Accounts per cohort (tested accounts only), by cohort name."""
    accounts = report.accounts
    if "cohort" not in accounts.columns:
        return {}
    counts = accounts.filter(accounts["cohort"].is_not_null())["cohort"].value_counts()
    return {str(c): int(n) for c, n in sorted(counts.iter_rows())}


def build_manifest(
    report: AuditReport,
    *,
    run_id: str,
    started: datetime,
    wall_seconds: float,
    settings: Mapping[str, Any],
    sources: Mapping[str, str],
    inputs: Mapping[str, FileRecord],
    files: Mapping[str, FileRecord],
    report_sha256: str,
    working_directory: str,
    today: date | None,
    tool_versions: Mapping[str, str | None],
) -> dict[str, Any]:
    """The manifest of one run (module docstring). `inputs` maps each input's name (as the
    report names it) to its file; `files` the settings files of `SETTINGS_FILES`."""
    ranges = _time_ranges(report)
    statuses = report.accounts["status"].value_counts() if report.accounts.height else None
    return {
        "kind": MANIFEST_KIND,
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_id,
        "started": started.isoformat(timespec="milliseconds"),
        "wall_seconds": round(wall_seconds, 3),
        "versions": dict(tool_versions),
        "working_directory": working_directory,
        "config": dict(settings),
        "config_sources": dict(sources),
        "inputs": [
            {
                "name": s.name,
                **inputs.get(s.name, FileRecord(None, None, None)).as_dict(),
                "sha256": s.sha256,
                "kind": s.kind,
                "format": s.fmt,
                "rows": s.rows,
                "used": s.used,
                "rejected": s.rejected,
                "time_range": {"first": s.first, "last": s.last}
                if s.first is not None
                else _as_instants(ranges.get(s.kind)),
            }
            for s in report.inputs
        ],
        "files": {
            name: files[name].as_dict() if name in files else None for name in SETTINGS_FILES
        },
        "period": {
            "first_day": _iso(report.first_day),
            "last_day": _iso(report.last_day),
            "merges_known_until": _iso(report.merges_known_until),
            "today": _iso(today),
        },
        "window": {"days": report.window_days, "auto": report.window_auto},
        "cohorts": cohort_sizes(report),
        "accounts": report.accounts.height,
        "statuses": {str(s): int(n) for s, n in sorted(statuses.iter_rows())}
        if statuses is not None
        else {},
        "report_sha256": report_sha256,
    }


def stable(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest without its `VOLATILE` fields (what two runs of one audit share)."""
    return {k: v for k, v in manifest.items() if k not in VOLATILE}


def identities_sha256(manifest: Mapping[str, Any]) -> list[str]:
    """The digests of the identities files among the inputs."""
    return [i["sha256"] for i in manifest.get("inputs", []) if i.get("kind") == "identities"]


def input_names(inputs: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(i.get("name")) for i in inputs]
