"""Pseudonymisation: every person identifier in a report becomes a keyed HMAC-SHA256 pseudonym.

Keyed, never a plain hash: an unkeyed hash of an e-mail address falls to a dictionary of the staff
directory. The same key gives the same pseudonyms run after run (reports stay comparable); a new
key makes periods unlinkable. Pseudonymised data is still personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import stat
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from tokenaudit.errors import ConfigError

if TYPE_CHECKING:
    from tokenaudit.model import AuditReport

MIN_KEY_BYTES = 32
PREFIX = "p-"


def read_key(path: Path) -> bytes:
    """The key file's bytes (surrounding whitespace dropped); at least 32 bytes, and not readable
    by others. The key itself never appears in any message."""
    try:
        mode = path.stat().st_mode
        key = path.read_bytes().strip()
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


def pseudonymise_report(report: AuditReport, key: bytes) -> AuditReport:
    """The same report with every account and author replaced by its pseudonym."""
    names = (
        set(report.accounts["account"].to_list())
        | set(report.unmatched_usage)
        | set(report.unmatched_authors)
    )
    mapping = {n: pseudonym(key, n) for n in sorted(names)}

    def swap(frame: pl.DataFrame) -> pl.DataFrame:
        if "account" not in frame.columns:
            return frame
        return frame.with_columns(
            pl.col("account").replace_strict(mapping, default=pl.col("account"))
        )

    return replace(
        report,
        accounts=swap(report.accounts),
        checks=swap(report.checks),
        days=swap(report.days),
        outputs=swap(report.outputs),
        unmatched_usage=sorted(mapping[a] for a in report.unmatched_usage),
        unmatched_authors=sorted(mapping[a] for a in report.unmatched_authors),
        pseudonymised=True,
    )
