"""Who is who: alias resolution across usage accounts and commit authors.

Emails and logins compare case-insensitively; GitHub noreply addresses
(`12345+login@users.noreply.github.com`) stand for their login; an identities file maps any
spelling to one account. Unmatched identities are reported by the caller, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

_NOREPLY = r"^(?:\d+\+)?([^@]+)@users\.noreply\.github\.com$"


def normalise_identity(expr: pl.Expr) -> pl.Expr:
    """Case-fold, trim, and reduce GitHub noreply addresses to the login they stand for."""
    folded = expr.str.strip_chars().str.to_lowercase()
    login = folded.str.extract(_NOREPLY, 1)
    return pl.coalesce(login, folded)


@dataclass(frozen=True)
class IdentityMap:
    """Aliases (normalised) → account, and each account's team and role."""

    aliases: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, identities: pl.DataFrame) -> IdentityMap:
        """Build from canonical identity rows (`alias`, `account`, optional `team`, `role`).

        A later row never silently overrides an earlier one: rows are taken in (alias, account)
        order, so the result does not depend on file order.
        """
        if identities.is_empty():
            return cls()
        rows = (
            identities.with_columns(
                normalise_identity(pl.col("alias")).alias("_alias"),
                pl.col("account").str.strip_chars().alias("account"),
            )
            .sort("_alias", "account", "team", "role", nulls_last=True)
            .unique("_alias", keep="first", maintain_order=True)
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
        for account in sorted(set(aliases.values())):
            aliases.setdefault(account.strip().lower(), account)
        return cls(aliases, teams, roles)

    def resolve(self, expr: pl.Expr) -> pl.Expr:
        """Map any spelling to its account; unknown spellings become their normalised form."""
        norm = normalise_identity(expr)
        if not self.aliases:
            return norm
        return norm.replace_strict(self.aliases, default=norm, return_dtype=pl.String)

    def resolve_column(self, frame: pl.DataFrame, column: str) -> pl.DataFrame:
        """`resolve` applied to the distinct spellings only, then mapped back: logs repeat a few
        hundred spellings millions of times, so this avoids normalising every row."""
        spellings = frame.select(pl.col(column).unique()).drop_nulls()
        mapping = spellings.with_columns(self.resolve(pl.col(column)).alias("_resolved"))
        table = dict(zip(mapping[column].to_list(), mapping["_resolved"].to_list(), strict=True))
        return frame.with_columns(
            pl.col(column).replace_strict(table, default=None, return_dtype=pl.String)
        )
