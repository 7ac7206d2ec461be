"""Team roll-ups ("normalised deployments"): per team and for the organisation, how many people
used how many tokens and dollars, and how much merged work followed.

A roll-up must never single out a person. Teams with fewer than `min_group` people are folded
into one "other teams" group; when that group is itself smaller than `min_group`, the smallest
named teams are folded into it too, one at a time, until it is large enough (or every team is in
it). So no row but the organisation's has fewer than `min_group` people, and the organisation
minus the rows shown is never a small group either. Accounts without a team form the group
"(no team)" and follow the same rule. Excluded accounts (bots, service accounts) are not people
and are left out.

Pure: `team_rollup` reads an `AuditReport` and returns a frame; rendering lives in `report`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import polars as pl

if TYPE_CHECKING:
    from polars.dataframe.group_by import GroupBy

    from tokenaudit.model import AuditReport

#: The smallest group a roll-up shows by default.
MIN_GROUP: Final = 5
NO_TEAM: Final = "(no team)"
OTHER: Final = "(other teams)"
ORGANISATION: Final = "(organisation)"

ROLLUP_SCHEMA: Final[dict[str, pl.DataType]] = {
    "group": pl.String(),
    #: "team", "other" (teams folded together) or "organisation".
    "kind": pl.String(),
    #: Teams in the group (the folded teams' names are not listed: a name and a size would say
    #: who is in it).
    "teams": pl.Int64(),
    "people": pl.Int64(),
    "flagged": pl.Int64(),
    "tokens": pl.Int64(),
    #: Dollars known for the group (null when no account in it has a cost).
    "cost_usd": pl.Float64(),
    #: Whether every person's usage in the group had a cost.
    "cost_complete": pl.Boolean(),
    "merged_changes": pl.Int64(),
    "merged_lines": pl.Int64(),
    "changes_per_mtok": pl.Float64(),
    "changes_per_kusd": pl.Float64(),
    "barren_token_share": pl.Float64(),
}


def fold_small_groups(sizes: dict[str, int], min_group: int) -> dict[str, str]:
    """Team → the group it is shown in: itself, or `OTHER` when it (or the other group it would
    leave behind) is smaller than `min_group`. Ties in size fold alphabetically first."""
    if min_group < 1:
        raise ValueError("min_group must be at least 1")
    into = {team: team if n >= min_group else OTHER for team, n in sizes.items()}

    def other_size() -> int:
        return sum(n for team, n in sizes.items() if into[team] == OTHER)

    # Fold the smallest remaining team until the other group is empty or large enough.
    while 0 < other_size() < min_group:
        shown = sorted((n, team) for team, n in sizes.items() if into[team] != OTHER)
        if not shown:
            break
        into[shown[0][1]] = OTHER
    return into


def team_rollup(report: AuditReport, *, min_group: int = MIN_GROUP) -> pl.DataFrame:
    """One row per shown team (by name), then the folded "other teams" group if any, then the
    organisation; columns as `ROLLUP_SCHEMA`.

    changes_per_mtok = merged_changes / (tokens / 10⁶); changes_per_kusd = merged_changes /
    (cost / 1000) (null without a cost); barren_token_share = Σ barren tokens / Σ tokens on days
    whose follow-up window lies inside the data (censored days count in neither)."""
    people = report.accounts.filter(~pl.col("excluded")).with_columns(
        pl.col("team").fill_null(NO_TEAM)
    )
    sizes = dict(people.group_by("team").len().sort("team").iter_rows())
    into = fold_small_groups({str(k): int(v) for k, v in sizes.items()}, min_group)
    grouped = people.with_columns(
        pl.col("team").replace_strict(into, return_dtype=pl.String).alias("group")
    )
    per_group = _aggregate(grouped.group_by("group")).with_columns(
        pl.when(pl.col("group") == OTHER)
        .then(pl.lit("other"))
        .otherwise(pl.lit("team"))
        .alias("kind")
    )
    organisation = _aggregate(
        people.with_columns(pl.lit(ORGANISATION).alias("group")).group_by("group")
    )
    organisation = organisation.with_columns(pl.lit("organisation").alias("kind"))
    order = {"team": 0, "other": 1, "organisation": 2}
    out = pl.concat([per_group, organisation], how="diagonal_relaxed")
    out = out.with_columns(pl.col("kind").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
    return out.sort("_o", "group").select(pl.col(c).cast(t) for c, t in ROLLUP_SCHEMA.items())


def _aggregate(groups: GroupBy) -> pl.DataFrame:
    frame = groups.agg(
        pl.col("team").n_unique().alias("teams"),
        pl.len().alias("people"),
        pl.col("flagged").sum().alias("flagged"),
        pl.col("tokens").sum().alias("tokens"),
        pl.col("cost_usd").sum().alias("cost_usd"),
        pl.col("cost_usd").is_not_null().all().alias("cost_complete"),
        pl.col("cost_usd").is_not_null().any().alias("_has_cost"),
        pl.col("merged_changes").sum().alias("merged_changes"),
        pl.col("merged_lines").sum().alias("merged_lines"),
        pl.col("barren_tokens").sum().alias("_barren"),
        pl.col("followable_tokens").sum().alias("_followable"),
    )
    return frame.with_columns(
        pl.when(pl.col("_has_cost")).then(pl.col("cost_usd")).alias("cost_usd"),
    ).with_columns(
        pl.when(pl.col("tokens") > 0)
        .then(pl.col("merged_changes") / (pl.col("tokens") / 1e6))
        .alias("changes_per_mtok"),
        pl.when(pl.col("cost_usd") > 0)
        .then(pl.col("merged_changes") / (pl.col("cost_usd") / 1000.0))
        .alias("changes_per_kusd"),
        pl.when(pl.col("_followable") > 0)
        .then(pl.col("_barren") / pl.col("_followable"))
        .alias("barren_token_share"),
    )
