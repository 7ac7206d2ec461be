"""`output-share` (context): tokens that neither shipped nor wrote — far above peers' for the
same merged output, and with a small share of them output tokens. Shown and ranked, never counted
in a decision.

Honest agents write code: their requests produce output tokens, and their tokens are followed by
merged work. Padding (a loop re-sending a prompt, a swarm on toy tasks, a long context re-read
for nothing) produces neither. `excess-tokens` sees only the second; an honest heavy agent user
and a padder at the same excess differ in the first.
Statistic: with s_i = −log(output tokens / fresh tokens) over the account's days with output
tokens (fresh = all tokens less cache reads, so a cached toolchain moves nobody), z_s its robust
z within the cohort (less the account's team's shrunken median, as `excess-tokens` does for
teams' habits), and z_e the account's `excess-tokens` z,
    J = (z_e + z_s) / √2.
H0: J is drawn from the cohort's distribution of J (`stats.EmpiricalNull`), which holds every
honest mix of reading and writing (a reviewer who reads a lot, a heavy user who writes); p-value
its upper tail, and 1 where the share is at or above the cohort's median (z_s ≤ 0: it wrote as
much as its peers, and its excess alone is `excess-tokens`' to judge; truncating can only raise
p-values, so the test stays valid). Effect: the account's output share as a multiple of the
cohort's median.

Why it never flags: how much a person reads for what they write is a habit as well as a
mechanism (code review, questions about a large codebase), and heavy honest users are not
always heavy writers. As context it moved swarms and plain padders up the ranking (measured in
docs/statistics.md).

Days without output tokens are left out: a total-only export (tokens without the input/output
split) reports none, and a person whose tool gives no split is not a person who writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar, Final

import numpy as np
import polars as pl

from tokenaudit.checks.base import (
    MIN_COHORT,
    CheckData,
    Group,
    NullModel,
    ResultRow,
    not_applicable,
    null_members,
    result_frame,
    skipped,
)
from tokenaudit.checks.peers import PEER_CHECK, peer_excess, within_team
from tokenaudit.checks.stats import EmpiricalNull, robust_scale
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is

#: Days with output tokens an account needs for its share to be read.
MIN_DAYS: Final = 4
#: The share's spread is never taken as less than this (log units).
MIN_SPREAD: Final = 0.05


def _shares(days: pl.DataFrame) -> dict[str, tuple[float, int]]:
    """Per account with `MIN_DAYS` days with output tokens: (output ÷ fresh tokens over those
    days, the days)."""
    if "output_tokens" not in days.columns or "cache_read_tokens" not in days.columns:
        return {}
    per = (
        days.filter(pl.col("output_tokens").fill_null(0) > 0)
        .group_by("account")
        .agg(
            pl.col("output_tokens").sum().alias("out"),
            (pl.col("tokens") - pl.col("cache_read_tokens").fill_null(0)).sum().alias("fresh"),
            pl.len().alias("n"),
        )
        .filter(pl.col("n") >= MIN_DAYS)
        .sort("account")
    )
    return {
        str(a): (min(out / fresh, 1.0) if fresh > 0 else 1.0, int(n))
        for a, out, fresh, n in per.select("account", "out", "fresh", "n").iter_rows()
    }


def _excess_z(data: CheckData, cfg: AuditConfig) -> dict[str, float]:
    """`excess-tokens`' z per account (against the reference's peer line when one is given)."""
    reference = cfg.reference.nulls.get(PEER_CHECK) if cfg.reference is not None else None
    peers = peer_excess(data.accounts, data.null_excluded, reference)
    if peers is None:
        return {}
    names = data.accounts.sort("account")["account"].to_list()
    return dict(zip(names, peers.z.tolist(), strict=True))


class _Joint:
    """The joint statistic of one cohort: its share centre and spread, and each account's J."""

    def __init__(
        self, data: CheckData, cfg: AuditConfig, model: Mapping[str, float] | None
    ) -> None:
        acc = data.accounts.sort("account")
        shares = _shares(data.days)
        excess = _excess_z(data, cfg)
        self.names = [n for n in acc["account"].to_list() if n in shares and n in excess]
        self.shares = shares
        s = np.array([-math.log(shares[n][0]) for n in self.names])
        in_null = null_members(self.names, data.null_excluded)
        if model is not None:
            self.centre, self.scale = model["share_centre"], model["share_scale"]
        elif len(self.names) >= MIN_COHORT:
            self.centre = float(np.median(s[in_null]))
            self.scale = robust_scale(s[in_null], floor=MIN_SPREAD)
        else:
            self.centre, self.scale = math.nan, math.nan
        team = acc.filter(pl.col("account").is_in(self.names))
        resid = within_team(team, s - self.centre, in_null) if len(self.names) else s
        self.z_share = resid / self.scale
        self.z_excess = np.array([excess[n] for n in self.names])
        self.joint = (self.z_excess + self.z_share) / math.sqrt(2)
        self.in_null = in_null


class OutputShare:
    id: ClassVar[str] = "output-share"
    group: ClassVar[Group] = Group.CONTEXT
    description: ClassVar[str] = (
        "tokens far above peers' for the same merged output, with few of them output tokens"
    )
    primary: ClassVar[bool] = False
    window_sensitive: ClassVar[bool] = False
    by_role: ClassVar[bool] = True
    ranking_weight: ClassVar[float] = 1.0
    ranks_by_z: ClassVar[bool] = True
    confirms: ClassVar[bool] = False
    habitual: ClassVar[bool] = False

    def fit(self, data: CheckData, cfg: AuditConfig) -> NullModel | None:
        joint = _Joint(data, cfg, None)
        if len(joint.names) < MIN_COHORT:
            return None
        null = EmpiricalNull.fit(joint.joint, joint.in_null, floor=0.05)
        return {"share_centre": joint.centre, "share_scale": joint.scale, **null.params()}

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
        names = data.accounts.sort("account")["account"].to_list()
        joint = _Joint(data, cfg, data.reference)
        if data.reference is not None:
            null = EmpiricalNull.from_params(data.reference).recentred(joint.joint)
        elif len(joint.names) >= MIN_COHORT:
            null = EmpiricalNull.fit(joint.joint, joint.in_null, floor=0.05)
        else:
            return not_applicable(
                self.id,
                names,
                f"only {len(joint.names)} accounts have output tokens on {MIN_DAYS}+ days and "
                f"an excess-tokens z (a cohort needs {MIN_COHORT}, or give --reference)",
            )
        at = {n: i for i, n in enumerate(joint.names)}
        p = null.p(joint.joint)
        z = null.z(joint.joint)
        typical = math.exp(-joint.centre)
        rows: list[ResultRow] = []
        for name in names:
            if name not in at:
                rows.append(
                    skipped(name, f"fewer than {MIN_DAYS} days with output tokens, or no excess")
                )
                continue
            i = at[name]
            share, n_days = joint.shares[name]
            multiple = share / typical
            if joint.z_share[i] <= 0:
                # It wrote as much as its peers for its tokens: whatever its excess, that is
                # excess-tokens' to judge, and this check has nothing to add to it.
                rows.append(
                    (
                        name,
                        True,
                        0.0,
                        1.0,
                        multiple,
                        f"output {share:.1%} of fresh tokens vs {typical:.1%} for peers "
                        f"({n_days} days): as much as peers write; context: it ranks, never flags",
                        "",
                        f"output {share:.1%} of fresh tokens, as peers (context, not counted)",
                    )
                )
                continue
            rows.append(
                (
                    name,
                    True,
                    float(z[i]),
                    float(p[i]),
                    multiple,
                    f"output {share:.1%} of fresh tokens vs {typical:.1%} for peers, with the "
                    f"tokens of same-output peers at excess z={joint.z_excess[i]:.1f} ({n_days} "
                    f"days; share z={joint.z_share[i]:.1f}, {p_is(float(p[i]))}); context: it "
                    "ranks, never flags",
                    "output tokens in line with peers' for its usage",
                    f"output {share:.1%} of fresh tokens vs peers' {typical:.1%} "
                    "(context, not counted)",
                )
            )
        return result_frame(self.id, rows)
