"""Pseudonymisation: every person identifier in a report becomes a keyed HMAC-SHA256 pseudonym.

Keyed, never a plain hash: an unkeyed hash of an e-mail address falls to a dictionary of the staff
directory. The same key gives the same pseudonyms run after run (reports stay comparable); a new
key makes periods unlinkable. Pseudonymised data is still personal data.

Free text that a report carries (reasons, a suppression's owner and reason, suppression
warnings) has every identifier the run knows replaced as well: the accounts, the unmatched
authors and usage accounts, and the suppressions' accounts and owners. A name typed into a
reason that the run does not know (a first name, a nickname) cannot be recognised.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import stat
import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from tokenaudit.errors import ConfigError
from tokenaudit.sidefiles import read_side_file

if TYPE_CHECKING:
    from tokenaudit.model import AuditReport

MIN_KEY_BYTES = 32
#: A key file is a few dozen bytes; anything far larger is the wrong file (or a device).
KEY_FILE_BYTES = 4096
PREFIX = "p-"


def read_key(path: Path) -> bytes:
    """The key file's bytes (surrounding whitespace dropped); at least 32 bytes, and not readable
    by others. The key itself never appears in any message."""
    try:
        mode = path.stat().st_mode
        key = read_side_file(path, "--pseudonymize: the key file", limit=KEY_FILE_BYTES).strip()
    except OSError as exc:
        raise ConfigError(f"--pseudonymize: cannot read key file {path}: {exc.strerror}") from exc
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"--pseudonymize: key file {path} holds {len(key)} bytes; it needs at least {MIN_KEY_BYTES} "
            "random bytes (for example: head -c 48 /dev/urandom | base64 > key)"
        )
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"--pseudonymize: key file {path} is readable by others; chmod 600 it")
    return key


def pseudonym(key: bytes, identifier: str) -> str:
    """HMAC-SHA256 of the NFC-normalised, case-folded, trimmed identifier; 16 hex digits (64 bits)."""
    text = unicodedata.normalize("NFC", identifier).casefold().strip()
    return PREFIX + hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


#: Free-text columns of the accounts frame that may name people.
_TEXT_COLUMNS = ("reasons", "suppression_owner", "suppression_reason")


def _identifiers(report: AuditReport) -> set[str]:
    return (
        set(report.accounts["account"].to_list())
        | set(report.unmatched_usage)
        | set(report.unmatched_authors)
    )


def report_scrubber(report: AuditReport, key: bytes, other_names: Iterable[str] = ()) -> Scrubber:
    """The scrubber of a report's free text: its identifiers and `other_names` (suppression
    owners, say)."""
    return Scrubber(key, _identifiers(report) | {n for n in other_names if n.strip()})


def pseudonymise_report(
    report: AuditReport, key: bytes, scrub: Scrubber | None = None
) -> AuditReport:
    """The same report with every account and author replaced by its pseudonym, in identifier
    columns and in its free text (with `scrub`, by default `report_scrubber(report, key)`)."""
    names = _identifiers(report)
    mapping = {n: pseudonym(key, n) for n in sorted(names)}
    scrub = scrub if scrub is not None else report_scrubber(report, key)

    def swap(frame: pl.DataFrame) -> pl.DataFrame:
        if "account" not in frame.columns:
            return frame
        return frame.with_columns(
            pl.col("account").replace_strict(mapping, default=pl.col("account"))
        )

    accounts = swap(report.accounts).with_columns(
        pl.col(c).map_elements(scrub.text, return_dtype=pl.String)
        for c in _TEXT_COLUMNS
        if c in report.accounts.columns
    )
    return replace(
        report,
        accounts=accounts,
        checks=swap(report.checks),
        days=swap(report.days),
        outputs=swap(report.outputs),
        unmatched_usage=sorted(mapping[a] for a in report.unmatched_usage),
        unmatched_authors=sorted(mapping[a] for a in report.unmatched_authors),
        likely_aliases={
            mapping[a]: sorted(mapping[x] for x in xs) for a, xs in report.likely_aliases.items()
        },
        pseudonymised=True,
    )


class Scrubber:
    """Replaces each of `names` wherever it stands as a whole identifier in a text (any case),
    the longest first, so that `ana.costa@acme.example` is not half-replaced as `ana.costa`."""

    def __init__(self, key: bytes, names: Iterable[str]) -> None:
        self._key = key
        folded = {unicodedata.normalize("NFC", n).casefold().strip() for n in names}
        ordered = sorted((n for n in folded if n), key=lambda n: (-len(n), n))
        self._pattern = (
            re.compile(
                r"(?<![\w@.+-])(" + "|".join(re.escape(n) for n in ordered) + r")(?![\w@+-]|\.\w)",
                re.IGNORECASE,
            )
            if ordered
            else None
        )

    def text(self, value: str | None) -> str | None:
        if value is None or self._pattern is None:
            return value
        normal = unicodedata.normalize("NFC", value)
        return self._pattern.sub(lambda m: pseudonym(self._key, m.group(1)), normal)

    def value(self, value: Any) -> Any:
        """`value` with every string in it scrubbed (lists and dicts walked)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value
