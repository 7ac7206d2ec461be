"""Who is who: alias resolution across usage accounts and commit authors.

Emails and logins compare case-insensitively and after Unicode compatibility normalisation
(NFKC: `zoë` typed as one code point or as `o` + combining diaeresis, full-width letters, ligatures
are one person); GitHub noreply addresses (`12345+login@users.noreply.github.com`) stand for
their login; an identities file maps any spelling to one account. Unmatched identities are
reported by the caller, never dropped.

An account is *shown* as the identities file spells it, else as the usage logs spell it most
often (NFC; ties go to the spelling that sorts first), so a report joins back to the names
people use (`YuriiMotov`, not `yuriimotov`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from tokenaudit.errors import DataError, path_text

_NOREPLY = r"^(?:\d+\+)?([^@]+)@users\.noreply\.github\.com$"


def normalise_identity(expr: pl.Expr) -> pl.Expr:
    """The matching key of a spelling: trimmed, NFKC-normalised, lower-cased, and a GitHub noreply
    address reduced to the login it stands for."""
    folded = expr.str.strip_chars().str.normalize("NFKC").str.to_lowercase().str.strip_chars()
    login = folded.str.extract(_NOREPLY, 1)
    return pl.coalesce(login, folded)


@dataclass(frozen=True)
class IdentityMap:
    """Aliases (normalised) → account, and each account's team and role."""

    aliases: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    #: Matching key → the spelling shown for accounts the identities file does not name; learnt
    #: from the usage logs (`learn_spellings`) so that commit authors resolve to the same name.
    display: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, identities: pl.DataFrame) -> IdentityMap:
        """Build from canonical identity rows (`alias`, `account`, optional `team`, `role`).

        A later row never silently overrides an earlier one: rows are taken in (alias, account)
        order, so the result does not depend on file order.
        """
        if identities.is_empty():
            return cls()
        keyed = identities.with_columns(
            normalise_identity(pl.col("alias")).alias("_alias"),
            pl.col("account").str.strip_chars().alias("account"),
            normalise_identity(pl.col("account")).alias("_person"),
        )
        _refuse_conflicts(keyed)
        rows = keyed.sort("_alias", "account", "team", "role", nulls_last=True).unique(
            "_alias", keep="first", maintain_order=True
        )
        aliases: dict[str, str] = {}
        teams: dict[str, str] = {}
        roles: dict[str, str] = {}
        for alias, account, team, role in rows.select(
            "_alias", "account", "team", "role"
        ).iter_rows():
            aliases[alias] = account
            if team:
                teams.setdefault(account, team)
            if role:
                roles.setdefault(account, role)
        # An account name is an alias of itself, so usage logged under the account name resolves.
        accounts = sorted(set(aliases.values()))
        keys = (
            pl.DataFrame({"a": accounts}, schema={"a": pl.String})
            .select(normalise_identity(pl.col("a")))
            .to_series()
        )
        for account, key in zip(accounts, keys.to_list(), strict=True):
            aliases.setdefault(key, account)
        return cls(aliases, teams, roles)

    def resolve(self, expr: pl.Expr) -> pl.Expr:
        """Map any spelling to its account; unknown spellings become their display spelling if
        one was learnt, else their matching key."""
        norm = normalise_identity(expr)
        table = {**self.display, **self.aliases}
        if not table:
            return norm
        return norm.replace_strict(table, default=norm, return_dtype=pl.String)

    def is_named(self, account: str) -> bool:
        """Whether `account` is an account of the identities file (spelled as the file does)."""
        return account in self._named()

    def _named(self) -> frozenset[str]:
        return frozenset(self.aliases.values())

    def learn_spellings(self, counts: dict[tuple[str, str], int]) -> dict[str, str]:
        """Choose how to show each account the identities file does not name: its most frequent
        spelling in `counts` ((account key, spelling) → rows), ties to the first in sort order.
        Returns key → spelling for the keys whose spelling differs, and remembers it, so that
        later resolutions (commit authors) land on the same name."""
        named = self._named()
        best: dict[str, tuple[int, str]] = {}
        for (key, spelling), n in counts.items():
            if key in named or not spelling:
                continue
            current = best.get(key)
            if current is None or (-n, spelling) < (-current[0], current[1]):
                best[key] = (n, spelling)
        chosen = {key: spelling for key, (_, spelling) in best.items() if spelling != key}
        self.display.update(chosen)
        return chosen

    def resolve_column(self, frame: pl.DataFrame, column: str) -> pl.DataFrame:
        """`resolve` applied to the distinct spellings only, then mapped back: logs repeat a few
        hundred spellings millions of times, so this avoids normalising every row."""
        spellings = frame.select(pl.col(column).unique()).drop_nulls()
        mapping = spellings.with_columns(self.resolve(pl.col(column)).alias("_resolved"))
        table = dict(zip(mapping[column].to_list(), mapping["_resolved"].to_list(), strict=True))
        return frame.with_columns(
            pl.col(column).replace_strict(table, default=None, return_dtype=pl.String)
        )


def _refuse_conflicts(rows: pl.DataFrame) -> None:
    """Refuse (`DataError`, exit 65, at the later of two rows) an identities file that says two
    things about one spelling or one person: a spelling mapped to two people, a person who is
    also another person's alias (`ana,bob` and `bob,ana`), a person of two teams or two roles.

    NOTE: the first of the two in sort order used to win without a word, so the order of the
    file's rows decided whose merges a person was credited with, or whether a person was a bot
    (`role` `bot` on one row and `engineer` on another: excluded, never tested)."""
    if "_line" not in rows.columns or "_file" not in rows.columns:
        rows = rows.with_columns(
            pl.lit(None, pl.String).alias("_file"), pl.lit(None, pl.Int64).alias("_line")
        )
    rows = rows.sort("_file", "_line", "_alias", "account", nulls_last=True)
    # Roles are read lower-cased and trimmed wherever they are used: `Engineer` and `engineer`
    # say one thing.
    rows = rows.with_columns(pl.col("role").cast(pl.String).str.strip_chars().str.to_lowercase())
    people = dict(
        rows.select("_person", "account")
        .unique("_person", keep="first", maintain_order=True)
        .iter_rows()
    )
    for key, column, what in (
        ("_alias", "_person", "is an alias of"),
        ("_person", "team", "is in team"),
        ("_person", "role", "has role"),
    ):
        given = rows.filter(pl.col(key).is_not_null() & pl.col(column).is_not_null())
        # Only the rows of a key with two values are looked at one by one (files of millions).
        torn = given.group_by(key).agg(pl.col(column).n_unique()).filter(pl.col(column) > 1)
        seen: dict[str, tuple[Any, str, str | None, int | None]] = {}
        for name, value, shown, file, line in (
            given.filter(pl.col(key).is_in(torn[key].implode()))
            .select(key, column, "alias" if key == "_alias" else "account", "_file", "_line")
            .iter_rows()
        ):
            first = seen.setdefault(name, (value, shown, file, line))
            if first[0] == value:
                continue
            if column == "_person":
                value, before = people[value], people[first[0]]
            else:
                before = first[0]
            raise DataError(
                file or "the identities file",
                f"{shown!r} {what} {value!r} here and {before!r} on {_at(first[2], first[3], file)}"
                ": one spelling is one person, of one team and one role",
                line=line,
            )
    aliased = rows.filter(
        pl.col("_alias").is_in(list(people)) & (pl.col("_alias") != pl.col("_person"))
    )
    if aliased.height:
        alias, account, file, line = aliased.select("_alias", "account", "_file", "_line").row(0)
        raise DataError(
            file or "the identities file",
            f"{people[alias]!r} is a person of the identities file and, here, an alias of "
            f"{account!r}: one spelling is one person",
            line=line,
        )


def _at(file: str | None, line: int | None, here: str | None) -> str:
    """`line N` (of this file) or `FILE:N` (another): where the first of two rows is."""
    if line is None:
        return "another row"
    return f"line {line}" if file == here else f"{path_text(file or '')}:{line}"


#: The shortest spelling that may stand for a person's name: shorter ones ("li", "al") match
#: too many people to say anything.
_MIN_NAME_KEY = 5


def likely_aliases(
    accounts: list[str], authors: list[str], known: dict[str, str] | None = None
) -> dict[str, list[str]]:
    """Commit authors with no usage that are probably one of `accounts` (usage accounts) under
    another spelling: an address whose local part is a login the identities file maps (`known`,
    alias → account: `vesilva31@gmail.com` where `vesilva31` is mapped), or a personal address or
    login made of the account's name, digits and accents aside (`vesilva31@…`, `jsmith`,
    `smithj` for `vera.silva@…` / `john.smith@…`).

    Only a spelling that fits exactly one person is given, counting everyone the scan knows of:
    the usage accounts, the identities file's people and the authors named first.last (two
    Vera Silvas share every key, and so do John and Jane Smith). An author the identities file
    names as a person of their own is no hint. A hint for the identities file, never a mapping."""
    if not authors:
        return {}
    known = known or {}
    people = set(accounts)
    registered = set(known.values())
    mapped = ((_fold(alias), who) for alias, who in known.items() if "@" not in alias)
    logins = {key: who for key, who in mapped if who in people and len(key) >= _MIN_NAME_KEY}
    keys: dict[str, set[str]] = {}
    named_authors = [a for a in authors if len(_name_parts(a)) >= 2]
    for person in sorted(people | registered | set(named_authors)):
        for key in _name_keys(person):
            keys.setdefault(key, set()).add(person)
    found: dict[str, list[str]] = {}
    for author in authors:
        if author in registered:
            continue
        local = _fold(author.split("@", 1)[0])
        if "@" in author and local in logins:
            found.setdefault(logins[local], []).append(author)
            continue
        key = "".join(c for c in local if c.isalpha())
        owners = keys.get(key, set()) - {author}
        if len(key) >= _MIN_NAME_KEY and len(owners) == 1 and owners <= people:
            found.setdefault(next(iter(owners)), []).append(author)
    return {a: sorted(v) for a, v in sorted(found.items())}


def _fold(text: str) -> str:
    """Compatibility-normalised, accents dropped, case-folded: `José` and `jose` alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _name_parts(spelling: str) -> list[str]:
    """The letters of each part of a `first.last@…` (or `first-last`, `first_last`) spelling."""
    local = _fold(spelling.split("@", 1)[0])
    parts = ["".join(c for c in p if c.isalpha()) for p in re.split(r"[._-]", local)]
    return [p for p in parts if p]


def _name_keys(account: str) -> set[str]:
    """The spellings a person named by `account` (`first.last@…`) commonly picks for a login or
    a personal address: first and last name whole or by initial, in either order."""
    parts = _name_parts(account)
    if len(parts) < 2:
        return set()
    first, last = parts[0], parts[-1]
    return {
        first + last,
        last + first,
        first[0] + last,
        first[:2] + last,
        first[:3] + last,
        last + first[0],
    }
