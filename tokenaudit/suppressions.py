"""Suppressions: a reviewed account is silenced for a while, on the record, and never forever.

A suppressions file (TOML `[[suppression]]` tables, or CSV with a header) lists entries:

| field | required | meaning |
|---|---|---|
| `account` | yes | any spelling of the account (an alias of the identities file, an e-mail, a login) |
| `reason` | yes | why the flag is accepted (kept in the report) |
| `owner` | yes | who decided it |
| `until` | yes | last day it holds (YYYY-MM-DD); from the day after it has expired |
| `checks` | no | silence only flags that rest on these checks (CSV: `;`-separated) |
| `max_tokens` | no | a ceiling: above it the account is judged again |

`apply_suppressions` is a pure post-processing step over the decided accounts (frame in, frame
out). A flagged account (`suspicious` or `review`) matched by a valid entry becomes `suppressed`:
it keeps its row, rank, score and evidence; `reasons` starts with who suppressed it, why and
until when, and the status it had; `flagged` is false, so it never trips `--fail-on`.
Accounts that are not flagged are left as they are (there is nothing to silence).

**What a flag rests on** (for `checks`): the checks its reasons name, that is every applicable
check with p ≤ `REASON_P`, and for a `suspicious` account the check that confirmed it (its
smallest p among the checks that confirm, `Check.confirms`, whatever its size; among the
outcome checks only where trivial merges alone passed the screen, `decide.tier_qvalues`); if none
qualifies, its single strongest check. An entry with `checks` silences the flag only when every
check it rests on is listed: a flag that now also rests on another check is judged again, and
the report says so.

Not applied, with a warning: an entry whose `until` is before `today` (expired: the account is
judged as usual), an entry whose `max_tokens` the account's usage now passes (lifted), an entry
whose `checks` do not cover the flag, and an entry matching no account (stale: someone left, or
a spelling the data does not use).
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from tokenaudit.errors import ConfigError, InputMissingError, path_text
from tokenaudit.sidefiles import read_side_file
from tokenaudit.wording import REASON_P

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

FIELDS: Final = ("account", "reason", "owner", "until", "checks", "max_tokens")
REQUIRED: Final = ("account", "reason", "owner", "until")
#: The status a suppressed account gets.
SUPPRESSED: Final = "suppressed"
_FLAGGED: Final = ("suspicious", "review")
#: Columns `apply_suppressions` adds (null where no entry applies).
SUPPRESSION_COLUMNS: Final[dict[str, pl.DataType]] = {
    "suppression_owner": pl.String(),
    "suppression_reason": pl.String(),
    "suppression_until": pl.Date(),
    "suppression_source": pl.String(),
    "suppressed_status": pl.String(),
    "suppression_note": pl.String(),
}


@dataclass(frozen=True)
class Suppression:
    """One entry of a suppressions file; `source` is its `file:line`."""

    account: str
    reason: str
    owner: str
    until: date
    source: str
    checks: tuple[str, ...] | None = None
    max_tokens: int | None = None

    def describe(self) -> str:
        return f"{self.account!r} ({self.source})"


@dataclass(frozen=True)
class Applied:
    """The accounts with suppressions applied, and the warnings to show."""

    accounts: pl.DataFrame
    warnings: list[str]


# ----------------------------------------------------------------------------- reading


def load_suppressions(path: Path, known_checks: Iterable[str]) -> list[Suppression]:
    """Every entry of a TOML or CSV suppressions file (by content: TOML is tried when the name
    ends in `.toml` or the text has a `[[suppression]]` table). A malformed file is a
    `ConfigError` (exit 2) with `file:line`; a missing one is `InputMissingError` (66)."""
    try:
        raw = read_side_file(path, "the suppressions file")
    except OSError as exc:
        raise InputMissingError(str(path), f"cannot read: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad(path, None, "not UTF-8 text") from None
    checks = frozenset(known_checks)
    if path.suffix.lower() == ".toml" or re.search(r"^\s*\[\[\s*suppression\s*\]\]", text, re.M):
        return _from_toml(path, text, checks)
    return _from_csv(path, text, checks)


def _from_toml(path: Path, text: str, checks: frozenset[str]) -> list[Suppression]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(match.group(1)) if match else None
        raise _bad(path, line, f"not valid TOML: {exc}") from None
    headers = [
        n
        for n, line in enumerate(text.splitlines(), start=1)
        if re.match(r"^\s*\[\[\s*suppression\s*\]\]", line)
    ]
    for key in data:
        if key != "suppression":
            raise _bad(
                path,
                _line_of(text, key, 1, None),
                f"unknown key {key!r}: entries are [[suppression]] tables",
            )
    entries = data.get("suppression", [])
    # NOTE: `suppression = [1, 2]` is a list, but not of tables: it ended the run (exit 70).
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise _bad(
            path,
            _line_of(text, "suppression", 1, None),
            "'suppression' must be [[suppression]] tables",
        )
    out = []
    for i, entry in enumerate(entries):
        start = headers[i] if i < len(headers) else 1
        end = headers[i + 1] if i + 1 < len(headers) else None

        def where(key: str | None, start: int = start, end: int | None = end) -> int:
            return start if key is None else _line_of(text, key, start, end)

        out.append(_entry(path, dict(entry), where, checks))
    return out


def _bad(path: Path, line: int | None, why: str) -> ConfigError:
    """A malformed suppressions file is a usage error (exit 2), named with its `file:line`."""
    return ConfigError(
        f"{path_text(path)}:{line}: {why}" if line is not None else f"{path_text(path)}: {why}"
    )


def _line_of(text: str, key: str, start: int, end: int | None) -> int:
    """The line of `key = …` between lines `start` and `end` (exclusive), else `start`."""
    pattern = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
    for n, line in enumerate(text.splitlines(), start=1):
        if n >= start and (end is None or n < end) and pattern.match(line):
            return n
    return start


def _from_csv(path: Path, text: str, checks: frozenset[str]) -> list[Suppression]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as exc:
        raise _bad(path, 1, f"not valid CSV: {exc}") from None
    names = [h.strip().lower() for h in header]
    for name in names:
        if name not in FIELDS:
            raise _bad(path, 1, f"unknown column {name!r} (columns: {', '.join(FIELDS)})")
    for name in REQUIRED:
        if name not in names:
            raise _bad(path, 1, f"no {name!r} column (required: {', '.join(REQUIRED)})")
    out = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _bad(path, reader.line_num, f"not valid CSV: {exc}") from None
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            raise _bad(path, line, f"{len(row)} fields where the header has {len(names)}")
        entry: dict[str, Any] = {
            n: v.strip() for n, v in zip(names, row, strict=True) if v.strip() != ""
        }
        if "checks" in entry:
            entry["checks"] = [c for c in re.split(r"[;\s]+", entry["checks"]) if c]
        if "max_tokens" in entry:
            entry["max_tokens"] = _csv_int(path, line, entry["max_tokens"])
        out.append(_entry(path, entry, lambda _key, line=line: line, checks))
    return out


def _csv_int(path: Path, line: int, text: str) -> int:
    try:
        return int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise _bad(path, line, f"max_tokens: expected a whole number, got {text!r}") from None


def _entry(path: Path, entry: dict[str, Any], where: Any, checks: frozenset[str]) -> Suppression:
    def bad(key: str | None, why: str) -> ConfigError:
        return _bad(path, where(key), why)

    for key in entry:
        if key not in FIELDS:
            raise bad(key, f"unknown field {key!r} (fields: {', '.join(FIELDS)})")
    for key in REQUIRED:
        value = entry.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise bad(None, f"entry without {key!r}: every suppression needs {', '.join(REQUIRED)}")
    for key in ("account", "reason", "owner"):
        if not isinstance(entry[key], str):
            raise bad(key, f"{key}: expected text, got {entry[key]!r}")
    until = entry["until"]
    if isinstance(until, str):
        try:
            until = date.fromisoformat(until.strip())
        except ValueError:
            raise bad("until", f"until: expected a date YYYY-MM-DD, got {until!r}") from None
    if not isinstance(until, date) or hasattr(until, "hour"):
        raise bad("until", f"until: expected a date YYYY-MM-DD, got {until!r}")
    listed = entry.get("checks")
    if listed is not None:
        if isinstance(listed, str):
            listed = [listed]
        if (
            not isinstance(listed, list)
            or not listed
            or not all(isinstance(c, str) for c in listed)
        ):
            raise bad("checks", f"checks: expected a list of check ids, got {listed!r}")
        unknown = sorted(set(listed) - checks)
        if unknown:
            raise bad(
                "checks",
                f"checks: unknown check {unknown[0]!r} (checks: {', '.join(sorted(checks))})",
            )
    ceiling = entry.get("max_tokens")
    if ceiling is not None and (
        not isinstance(ceiling, int) or isinstance(ceiling, bool) or ceiling < 0
    ):
        raise bad("max_tokens", f"max_tokens: expected a whole number ≥ 0, got {ceiling!r}")
    return Suppression(
        account=entry["account"].strip(),
        reason=entry["reason"].strip(),
        owner=entry["owner"].strip(),
        until=until,
        source=f"{path_text(path)}:{where(None)}",
        checks=tuple(sorted(set(listed))) if listed is not None else None,
        max_tokens=ceiling,
    )


# ----------------------------------------------------------------------------- applying


def identity_keys(names: Sequence[str]) -> list[str]:
    """The matching key of each spelling (`identities.normalise_identity`)."""
    from tokenaudit.identities import normalise_identity

    if not names:
        return []
    frame = pl.DataFrame({"a": list(names)}, schema={"a": pl.String})
    return [str(k) for k in frame.select(normalise_identity(pl.col("a"))).to_series().to_list()]


def resolve_accounts(
    wanted: Sequence[str], accounts: Sequence[str], aliases: Mapping[str, str]
) -> list[str | None]:
    """Each wanted spelling's account in `accounts` (None when none): an exact name, a name
    that matches case- and Unicode-insensitively, or an alias (normalised key → account) of
    the identities file."""
    by_key = dict(zip(identity_keys(accounts), accounts, strict=True))
    aliased = {k: by_key.get(identity_keys([a])[0], a) for k, a in aliases.items()}
    exact = set(accounts)
    out: list[str | None] = []
    for name, key in zip(wanted, identity_keys(wanted), strict=True):
        if name in exact:
            out.append(name)
        elif key in by_key:
            out.append(by_key[key])
        elif key in aliased and aliased[key] in exact:
            out.append(aliased[key])
        else:
            out.append(None)
    return out


def resting_checks(
    checks: pl.DataFrame,
    outcome: frozenset[str],
    confirmed_by: Mapping[str, frozenset[str]] | None = None,
) -> dict[str, frozenset[str]]:
    """Per account, the checks its flag rests on (module docstring): p ≤ REASON_P, plus the
    strongest of `outcome`, the checks that confirm (for `suspicious`, the one that confirmed
    it), or of `confirmed_by[account]` where given (an account screened on a habitual mechanism
    alone is confirmed by the outcome checks only: `decide.tier_qvalues`); the strongest check
    when none is at or below REASON_P."""
    confirmed_by = confirmed_by or {}
    out: dict[str, frozenset[str]] = {}
    applicable = checks.filter(pl.col("applicable") & pl.col("p_value").is_not_null())
    for (account,), part in applicable.sort("account", "p_value", "check").group_by(
        "account", maintain_order=True
    ):
        strong = set(part.filter(pl.col("p_value") <= REASON_P)["check"].to_list())
        confirming = confirmed_by.get(str(account), outcome)
        best_outcome = part.filter(pl.col("check").is_in(list(confirming)))["check"].head(1)
        strong.update(best_outcome.to_list())
        if not strong:
            strong.update(part["check"].head(1).to_list())
        out[str(account)] = frozenset(strong)
    return out


def apply_suppressions(
    accounts: pl.DataFrame,
    checks: pl.DataFrame,
    entries: Sequence[Suppression],
    *,
    today: date,
    aliases: Mapping[str, str] | None = None,
    outcome_checks: frozenset[str] = frozenset(),
    confirmed_by: Mapping[str, frozenset[str]] | None = None,
) -> Applied:
    """The accounts with every valid, matching entry applied (module docstring), and the
    warnings for expired, stale, lifted and not-covering entries. `today` decides expiry."""
    names = [str(a) for a in accounts["account"].to_list()]
    matched = resolve_accounts([e.account for e in entries], names, aliases or {})
    rows = {r["account"]: r for r in accounts.select("account", "status", "tokens").to_dicts()}
    resting = resting_checks(checks, outcome_checks, confirmed_by)
    warnings: list[str] = []
    chosen: dict[str, tuple[Suppression, str | None]] = {}
    for entry, account in zip(entries, matched, strict=True):
        if entry.until < today:
            warnings.append(
                f"warning: suppression of {entry.describe()} by {entry.owner} expired on "
                f"{entry.until} (today is {today}); the account is judged as usual"
            )
            continue
        if account is None:
            warnings.append(
                f"warning: suppression of {entry.describe()} matches no account in the data "
                "(stale: someone who left, or a spelling the logs do not use); remove it"
            )
            continue
        row = rows[account]
        if row["status"] not in _FLAGGED:
            continue
        note = _lifted(entry, row, resting.get(account, frozenset()))
        if note is not None:
            warnings.append(f"warning: suppression of {entry.describe()} {note}; judged again")
        previous = chosen.get(account)
        if previous is None or (previous[1] is not None and note is None):
            chosen[account] = (entry, note)
    return Applied(_mark(accounts, chosen), warnings)


def _lifted(entry: Suppression, row: Mapping[str, Any], resting: frozenset[str]) -> str | None:
    """Why a matching, unexpired entry does not silence this flag (None: it does)."""
    tokens = row["tokens"] or 0
    if entry.max_tokens is not None and tokens > entry.max_tokens:
        return f"lifted: {tokens:,} tokens, past its ceiling of {entry.max_tokens:,}"
    if entry.checks is not None:
        outside = sorted(resting - set(entry.checks))
        if outside:
            return (
                f"does not cover this flag: it silences {', '.join(entry.checks)}, and the flag "
                f"now also rests on {', '.join(outside)}"
            )
    return None


def _mark(
    accounts: pl.DataFrame, chosen: Mapping[str, tuple[Suppression, str | None]]
) -> pl.DataFrame:
    values: dict[str, list[Any]] = {c: [] for c in SUPPRESSION_COLUMNS}
    statuses, flagged, reasons = [], [], []
    for account, status, flag, why in accounts.select(
        "account", "status", "flagged", "reasons"
    ).iter_rows():
        entry, note = chosen.get(account, (None, None))
        if entry is None:
            for c in values:
                values[c].append(None)
            statuses.append(status)
            flagged.append(flag)
            reasons.append(why)
            continue
        values["suppression_owner"].append(entry.owner)
        values["suppression_reason"].append(entry.reason)
        values["suppression_until"].append(entry.until)
        values["suppression_source"].append(entry.source)
        values["suppressed_status"].append(status if note is None else None)
        values["suppression_note"].append(note)
        if note is None:
            statuses.append(SUPPRESSED)
            flagged.append(False)
            head = f"suppressed until {entry.until} by {entry.owner}: {entry.reason} (was {status})"
        else:
            statuses.append(status)
            flagged.append(flag)
            head = f"suppression by {entry.owner} {note}"
        reasons.append(f"{head}; {why}" if why else head)
    return accounts.with_columns(
        pl.Series("status", statuses, dtype=pl.String),
        pl.Series("flagged", flagged, dtype=pl.Boolean),
        pl.Series("reasons", reasons, dtype=pl.String),
        *(pl.Series(c, v, dtype=SUPPRESSION_COLUMNS[c]) for c, v in values.items()),
    )
