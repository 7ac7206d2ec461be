"""`tokenaudit verify REPORT.json`: are a report's inputs still the same, and does the audit
still give the same report?

This module reads the manifest (a JSON report's `run.manifest`, or a `--manifest FILE`),
re-hashes every file it names (`check_files`), turns the recorded settings into `scan`'s
arguments for the re-run (`rerun_args`, run in the recorded working directory), and compares the re-run's report with the recorded one
(`compare_reports`). Running the audit again is the CLI's part.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tokenaudit.errors import DataError, InputMissingError
from tokenaudit.manifest import MANIFEST_KIND, SETTINGS_FILES, sha256_file
from tokenaudit.settings import INPUTS_KEY
from tokenaudit.sidefiles import read_side_file

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: Settings left out of the re-run: where the report goes and how the run ends (the re-run
#: writes its own JSON report and no side files).
NOT_RERUN: Final = frozenset(
    {
        "format",
        "output",
        "rejects",
        "save-reference",
        "manifest",
        "verbose",
        "debug",
        "exit-zero",
        "fail-on",
        "config",
    }
)
#: What a key of the recorded settings must look like to become `--key` on the re-run: an
#: option's long name. NOTE: a key is written as one argument, so `output=/home/me/.bashrc`
#: (with `true`) was `--output=/home/me/.bashrc`, which Click reads as `--output` and the
#: re-run then wrote its report over that file: `verify` of a report someone sent replaced any
#: file the user could write.
_OPTION_NAME: Final = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*\Z")


@dataclass(frozen=True)
class Recorded:
    """A manifest, and the report it came with (None for a standalone manifest file)."""

    manifest: dict[str, Any]
    report: dict[str, Any] | None


@dataclass(frozen=True)
class FileCheck:
    """One recorded file: `same`, `changed`, `missing` or `not recorded` (stdin, a git
    repository's history: re-read by the re-run itself)."""

    role: str
    name: str
    path: str | None
    state: str


def load_recorded(path: Path) -> Recorded:
    """The manifest in `path`: a JSON report made with `--manifest`, or the manifest file."""
    try:
        doc = json.loads(read_side_file(path, "the report").decode("utf-8"))
    except FileNotFoundError:
        raise InputMissingError(str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputMissingError(str(path), f"cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise DataError(str(path), f"not JSON: {exc.msg}", line=exc.lineno) from None
    except RecursionError:
        raise DataError(str(path), "not JSON: nested too deep") from None
    if isinstance(doc, dict) and doc.get("kind") == MANIFEST_KIND:
        _check_shape(path, doc)
        return Recorded(doc, None)
    run = doc.get("run") if isinstance(doc, dict) else None
    manifest = run.get("manifest") if isinstance(run, dict) else None
    if not isinstance(manifest, dict) or manifest.get("kind") != MANIFEST_KIND:
        raise DataError(
            str(path),
            "no run manifest: verify needs a report made with --manifest FILE (the JSON report "
            "then carries it in run.manifest), or that manifest file",
        )
    _check_shape(path, manifest)
    if _report_sha256(doc) != manifest.get("report_sha256"):
        # NOTE: the re-run is compared with the manifest's digest, not with the report's rows:
        # a report whose rows were edited after it was written (an account's status turned to
        # ok) was "the same report" however it read.
        raise DataError(
            str(path),
            "the report's content is not what its manifest recorded (report_sha256): it was "
            "changed after it was written, and verify cannot vouch for it",
        )
    return Recorded(manifest, doc)


def _report_sha256(doc: dict[str, Any]) -> str | None:
    """The SHA-256 of the report `doc` as `--format json` renders it without its manifest
    (what the manifest's `report_sha256` is); None when no report renders so (NaN)."""
    run = {k: v for k, v in doc["run"].items() if k != "manifest"}
    try:
        text = json.dumps({**doc, "run": run}, ensure_ascii=False, allow_nan=False, indent=2)
    except ValueError:
        return None
    return hashlib.sha256((text + "\n").encode("utf-8", "surrogatepass")).hexdigest()


def _check_shape(path: Path, manifest: Mapping[str, Any]) -> None:
    """Refuse (`DataError`, 65) a manifest whose fields are not of the types `scan` writes, or
    whose settings could not be the options of a re-run (module docstring of `rerun_args`)."""

    def bad(why: str) -> DataError:
        return DataError(str(path), f"not a manifest tokenaudit wrote: {why}")

    files = manifest.get("files")
    records = manifest.get("inputs", [])
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise bad("'inputs' is not a list of records")
    if files is not None and not isinstance(files, dict):
        raise bad("'files' is not an object")
    for record in [*records, *(r for r in (files or {}).values() if r is not None)]:
        if not isinstance(record, dict):
            raise bad("a settings file's record is not an object")
        for key in ("name", "path", "sha256"):
            if not isinstance(record.get(key), str | None):
                raise bad(f"a file's {key!r} is not text: {record.get(key)!r}")
    for key in ("working_directory", "report_sha256"):
        if not isinstance(manifest.get(key), str | None):
            raise bad(f"{key!r} is not text")
    config = manifest.get("config") or {}
    if not isinstance(config, dict):
        raise bad("'config' is not an object")
    for key, value in config.items():
        if not _OPTION_NAME.match(key):
            raise bad(f"the setting {key!r} is not an option's name")
        values = value if isinstance(value, list) else [value]
        if key == INPUTS_KEY and not isinstance(value, list | None):
            raise bad(f"{INPUTS_KEY!r} is not a list of paths")
        if not all(_plain(v) for v in values):
            raise bad(f"the setting {key!r} has a value that is no option's: {value!r}")


def _plain(value: Any) -> bool:
    """Whether `value` is a value an option takes (text, a finite number, a flag, unset)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int | bool | None)


def check_files(manifest: Mapping[str, Any]) -> list[FileCheck]:
    """Every input and settings file of the manifest, re-hashed."""
    out = []
    for item in manifest.get("inputs", []):
        out.append(_check(f"input ({item.get('kind')})", item))
    for role in SETTINGS_FILES:
        item = (manifest.get("files") or {}).get(role)
        if item:
            out.append(_check(role, item))
    return out


def _check(role: str, item: Mapping[str, Any]) -> FileCheck:
    # No path and no name: a settings file whose path is not UTF-8 (`manifest.file_record`).
    name = str(item.get("name") or item.get("path") or "(its path is not UTF-8)")
    path = item.get("path")
    if path is None:
        return FileCheck(role, name, None, "not recorded")
    target = Path(path)
    if not target.is_file():
        return FileCheck(role, name, path, "missing")
    try:
        digest = sha256_file(target)
    except OSError:
        return FileCheck(role, name, path, "missing")
    return FileCheck(role, name, path, "same" if digest == item.get("sha256") else "changed")


def rerun_args(manifest: Mapping[str, Any], own: Sequence[str] = ()) -> list[str]:
    """The recorded settings as `scan` arguments (for the recorded working directory):
    `--key=value` per value (repeated for a list), `--key` for a true flag; unset values,
    false flags (the defaults) and `NOT_RERUN` left out; then `own` (the re-run's own output
    options); the inputs last, after `--`.

    NOTE: a value is glued to its option (`--tz=VALUE`), so that no recorded value is ever read
    as an option of its own: a report someone sent, with `"account": true` before
    `"tz": "--output=~/.bashrc"`, made `--account --tz --output=~/.bashrc`, whose `--output`
    took effect. And `own` comes after every recorded setting, so the last word on where the
    re-run writes is the re-run's."""
    config = manifest.get("config") or {}
    args: list[str] = []
    for key, value in config.items():
        if key in NOT_RERUN or key == INPUTS_KEY or value is None or value is False:
            continue
        if not _OPTION_NAME.match(key):
            continue  # `load_recorded` refuses such a manifest; never an argument of our own
        if value is True:
            args.append(f"--{key}")
            continue
        for item in value if isinstance(value, list) else [value]:
            args.append(f"--{key}={item}")
    inputs = config.get(INPUTS_KEY) or []
    return [*args, *own] + (["--", *map(str, inputs)] if inputs else [])


def compare_reports(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two JSON reports, their manifests aside: accounts added, removed
    or changed (with the fields), and run metadata."""
    out = []
    old_run = {k: v for k, v in (old.get("run") or {}).items() if k != "manifest"}
    new_run = {k: v for k, v in (new.get("run") or {}).items() if k != "manifest"}
    for key in sorted(set(old_run) | set(new_run)):
        if old_run.get(key) != new_run.get(key):
            out.append(f"run.{key} differs")
    before = {a["account"]: a for a in old.get("accounts", [])}
    after = {a["account"]: a for a in new.get("accounts", [])}
    for name in sorted(set(before) - set(after)):
        out.append(f"account {name!r} is no longer in the report")
    for name in sorted(set(after) - set(before)):
        out.append(f"account {name!r} is new in the report")
    for name in sorted(set(before) & set(after)):
        fields = sorted(
            k
            for k in set(before[name]) | set(after[name])
            if before[name].get(k) != after[name].get(k)
        )
        if fields:
            detail = ", ".join(fields[:6]) + (" …" if len(fields) > 6 else "")
            was, now = before[name].get("status"), after[name].get("status")
            moved = f" (status {was} → {now})" if was != now else ""
            out.append(f"account {name!r}: {detail}{moved}")
    return out
