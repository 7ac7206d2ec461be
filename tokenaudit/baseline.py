"""Baselines: what changed since an earlier run (`--baseline PREVIOUS.json`).

The baseline is the `--format json` report of an earlier run. Every account gains `change` and
`first_flagged`:

- `new`: flagged now (`suspicious` or `review`), not then (absent, `ok`, `insufficient_data`,
  `excluded`, `suppressed`: a suppression that expired is news);
- `worse` / `better`: flagged both times and the status moved (`review` → `suspicious` is worse),
  or flagged then and `suppressed` now (better: on the record, not cleared);
- `resolved`: flagged then, not flagged now; an account flagged then and absent from today's data
  is listed too, with status `absent`, after every other row;
- `unchanged`: otherwise (flagged both times with the same status, or flagged neither time).

`first_flagged` is the day (the audited period's last day) an account was first seen flagged or
suppressed in an unbroken run of reports: carried forward from the baseline, or today's when the
account is flagged anew (a baseline without the field counts from its own last day). It is empty
for accounts that are neither; a resolved account keeps the baseline's so that the report shows
how long it was flagged.

A baseline of another `schema_version` is refused (`DataError`, exit 65); one made with another
configuration is used, and `config_differences` names what differs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from tokenaudit.errors import DataError, InputMissingError
from tokenaudit.sidefiles import read_side_file

if TYPE_CHECKING:
    from collections.abc import Mapping

#: Severity of a status for `change`: flagged is 2 and above.
LEVELS: Final = {"suspicious": 3, "review": 2, "suppressed": 1}
FLAGGED_LEVEL: Final = 2
#: The status of an account flagged in the baseline and absent from today's data.
ABSENT: Final = "absent"
CHANGES: Final = ("new", "worse", "better", "resolved", "unchanged")
#: Run parameters and settings that legitimately differ from run to run (the period, where the
#: report goes, how it ends): not reported as configuration differences.
NOT_CONFIGURATION: Final = frozenset(
    {
        "since",
        "until",
        "inputs",
        "format",
        "output",
        "top",
        "all",
        "fail-on",
        "exit-zero",
        "csv-raw",
        "rejects",
        "verbose",
        "debug",
        "manifest",
        "baseline",
        "save-reference",
        "today",
        "window_days",
    }
)


@dataclass(frozen=True)
class Baseline:
    """What a previous report says: each account's status and first flagged day."""

    path: str
    as_of: date | None
    statuses: dict[str, str]
    first_flagged: dict[str, date]
    parameters: dict[str, Any] = field(default_factory=dict)
    #: The effective settings, when the report carried a run manifest.
    settings: dict[str, Any] | None = None
    pseudonymised: bool = False


def load_baseline(path: Path, schema_version: int) -> Baseline:
    """Read a previous `--format json` report. Missing: `InputMissingError` (66); not a JSON
    report, or of another schema version: `DataError` (65)."""
    try:
        text = read_side_file(path, "the baseline report").decode("utf-8")
    except FileNotFoundError:
        raise InputMissingError(str(path), "no such baseline report") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputMissingError(str(path), f"cannot read the baseline: {exc}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            str(path), f"not a JSON report (--format json): {exc.msg}", line=exc.lineno
        ) from None
    except RecursionError:
        raise DataError(str(path), "not a JSON report (--format json): nested too deep") from None
    if not isinstance(doc, dict) or "accounts" not in doc or "run" not in doc:
        raise DataError(str(path), "not a tokenaudit JSON report (--format json)")
    version = doc.get("schema_version")
    if version != schema_version:
        raise DataError(
            str(path),
            f"a report of schema version {version!r}; this tokenaudit compares with version "
            f"{schema_version} only (rerun the old scan with this version to make a baseline)",
        )
    run = doc["run"] if isinstance(doc["run"], dict) else {}
    if not isinstance(doc["accounts"], list):
        raise DataError(str(path), "not a tokenaudit JSON report: 'accounts' is not a list")
    if not isinstance(run.get("parameters") or {}, dict):
        raise DataError(
            str(path), "not a tokenaudit JSON report: 'run.parameters' is not an object"
        )
    as_of = _date(run.get("as_of"))
    statuses: dict[str, str] = {}
    first: dict[str, date] = {}
    for rec in doc["accounts"]:
        if not isinstance(rec, dict) or not isinstance(rec.get("account"), str):
            raise DataError(str(path), "an account record without an account name")
        name, status = unescaped(rec["account"]), str(rec.get("status"))
        statuses[name] = status
        day = _date(rec.get("first_flagged"))
        if day is None and LEVELS.get(status, 0) >= 1:
            day = as_of
        if day is not None and LEVELS.get(status, 0) >= 1:
            first[name] = day
    manifest = run.get("manifest")
    settings = manifest.get("config") if isinstance(manifest, dict) else None
    return Baseline(
        path=str(path),
        as_of=as_of,
        statuses=statuses,
        first_flagged=first,
        parameters=dict(run.get("parameters") or {}),
        settings=dict(settings) if isinstance(settings, dict) else None,
        pseudonymised=bool(run.get("pseudonymised", False)),
    )


#: An escape `report.sanitize.visible` writes: a doubled backslash, or `\\u{XXXX}`.
_ESCAPE: Final = re.compile(r"\\(?:(\\)|u\{([0-9a-f]{4,6})\})")


def unescaped(text: str) -> str:
    """The account name a JSON report shows as `text`: the inverse of `report.sanitize.visible`,
    which doubles every backslash and writes each invisible character as `\\u{XXXX}`.

    NOTE: compared as written, `ACME\\jdoe` (shown `ACME\\\\jdoe`) was never the account of
    the report before: flagged, it was `new` in every run (`--fail-on new` failed each time)
    and listed again as `absent`."""
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: "\\" if m.group(1) else chr(int(m.group(2), 16)), text)


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def config_differences(
    baseline: Baseline,
    parameters: Mapping[str, Any],
    settings: Mapping[str, Any] | None,
    *,
    pseudonymised: bool,
) -> list[str]:
    """`name: then → now` for every analysis setting that differs (the period, output options
    and the window's auto-chosen length excluded; see `NOT_CONFIGURATION`)."""
    out = []

    def differ(name: str, then: Any, now: Any) -> None:
        if name not in NOT_CONFIGURATION and then != now:
            out.append(f"{name}: {_show(then)} → {_show(now)}")

    for key in sorted(set(baseline.parameters) | set(parameters)):
        differ(key, baseline.parameters.get(key), parameters.get(key))
    if baseline.settings is not None and settings is not None:
        for key in sorted(set(baseline.settings) | set(settings)):
            if key in parameters or key in baseline.parameters:
                continue  # named above
            differ(key, baseline.settings.get(key), settings.get(key))
    if baseline.pseudonymised != pseudonymised:
        out.append(f"pseudonymised: {baseline.pseudonymised} → {pseudonymised}")
    return out


def _show(value: Any) -> str:
    return "unset" if value is None else json.dumps(value, ensure_ascii=False)


def change_of(then: str | None, now: str) -> str:
    """The `change` of an account whose status was `then` (None: absent) and is `now`."""
    before, after = LEVELS.get(then or "", 0), LEVELS.get(now, 0)
    if after >= FLAGGED_LEVEL:
        if before < FLAGGED_LEVEL:
            return "new"
        return "unchanged" if after == before else ("worse" if after > before else "better")
    if before >= FLAGGED_LEVEL:
        return "better" if after >= 1 else "resolved"
    return "unchanged"


def compare(accounts: pl.DataFrame, baseline: Baseline, *, as_of: date | None) -> pl.DataFrame:
    """`accounts` with `change` and `first_flagged` (module docstring), and a row of status
    `absent` for each account flagged in the baseline and missing today."""
    changes, firsts = [], []
    for account, status in accounts.select("account", "status").iter_rows():
        then = baseline.statuses.get(account)
        changes.append(change_of(then, status))
        carried = baseline.first_flagged.get(account)
        if LEVELS.get(status, 0) >= 1:
            firsts.append(carried if carried is not None else as_of)
        else:
            firsts.append(carried if LEVELS.get(then or "", 0) >= FLAGGED_LEVEL else None)
    out = accounts.with_columns(
        pl.Series("change", changes, dtype=pl.String),
        pl.Series("first_flagged", firsts, dtype=pl.Date),
    )
    present = set(accounts["account"].to_list())
    gone = sorted(
        a
        for a, s in baseline.statuses.items()
        if a not in present and LEVELS.get(s, 0) >= FLAGGED_LEVEL
    )
    if not gone:
        return out
    start = max([int(r) for r in out["rank"].drop_nulls().to_list()], default=0) + 1
    when = f" on {baseline.as_of}" if baseline.as_of else ""
    extra = pl.DataFrame(
        {
            "rank": list(range(start, start + len(gone))),
            "account": gone,
            "status": [ABSENT] * len(gone),
            "flagged": [False] * len(gone),
            "reasons": [f"not in this run's data; was {baseline.statuses[a]}{when}" for a in gone],
            "change": ["resolved"] * len(gone),
            "first_flagged": [baseline.first_flagged.get(a) for a in gone],
        },
        schema={
            "rank": out.schema["rank"],
            "account": pl.String(),
            "status": pl.String(),
            "flagged": pl.Boolean(),
            "reasons": pl.String(),
            "change": pl.String(),
            "first_flagged": pl.Date(),
        },
    )
    return pl.concat([out, extra], how="diagonal_relaxed")


def newly_flagged(accounts: pl.DataFrame) -> bool:
    """Whether any account's change is `new` (what `--fail-on new` exits 1 on)."""
    return "change" in accounts.columns and bool((accounts["change"] == "new").any())
