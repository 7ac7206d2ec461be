"""`trivial-merges`: camouflage — merged changes that add nothing.

Statistic: x_i, the number of credited merged changes that do not count as output (tiny changes
of at most `trivial_max_lines` lines, reverts, and changes reverted within `revert_cancel_days`),
both as a share of the account's m_i credited merges and as a rate over its n_i active days.
H0: the account's share or its rate comes from the cohort's distribution of honest ones, each
tested with a beta-binomial whose null is fitted robustly (see `fit_beta_binomial(robust=True)`),
p = max(P(X ≥ x_i | m_i), P(X ≥ x_i | n_i)) (intersection–union: both must be unusual). The same
effect-size gate as `automation` applies to each.

Both, because each alone names honest people: a rate alone names those who ship a lot (agent
users opening many small pull requests merge more of every size), a share alone names those who
merge little (a reviewer's few typo fixes are most of their merges). Camouflage is both.

Trivial merges do not inflate usage by themselves; they are the cover a tokenmaxxer puts up so
that the account seems to ship. So this is a mechanism (tier 2), never outcome evidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import polars as pl

from tokenaudit.checks.base import (
    MIN_COHORT,
    CheckData,
    Group,
    NullModel,
    ResultRow,
    not_applicable,
    result_frame,
)
from tokenaudit.checks.stats import beta_binomial_sf, fit_beta_binomial, recentre_beta
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is

MIN_CHANGES = 5


class TrivialMerges:
    id: ClassVar[str] = "trivial-merges"
    group: ClassVar[Group] = Group.MECHANISM
    description: ClassVar[str] = "a high share of tiny, reverted or reverting merged changes"
    primary: ClassVar[bool] = False
    window_sensitive: ClassVar[bool] = False
    by_role: ClassVar[bool] = True
    ranking_weight: ClassVar[float] = 1.0
    ranks_by_z: ClassVar[bool] = False
    confirms: ClassVar[bool] = False

    def fit(self, data: CheckData, cfg: AuditConfig) -> NullModel | None:
        if data.accounts.height < MIN_COHORT:
            return None
        x, merges, days = _counts(data.accounts)
        model: NullModel = {}
        for kind, trials in (("share", merges), ("rate", days)):
            xs = np.minimum(x, trials)
            has = trials > 0
            a, b = fit_beta_binomial(xs[has], trials[has], robust=True) if has.any() else (1.0, 1.0)
            model |= {f"{kind}_a": a, f"{kind}_b": b}
        return model

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
        acc = data.accounts.sort("account")
        names = acc["account"].to_list()
        if data.reference is None and len(names) < MIN_COHORT:
            return not_applicable(
                self.id,
                names,
                f"cohort of {len(names)} accounts is too small (needs {MIN_COHORT}, or --reference)",
            )
        x, merges, days = _counts(acc)
        p_share, share_rate = _tail(x, merges, cfg, data.reference, "share")
        p_rate, day_rate = _tail(np.minimum(x, days), days, cfg, data.reference, "rate")
        rows: list[ResultRow] = []
        for i, name in enumerate(names):
            # Intersection–union: both unusual, or neither counts.
            p = max(float(p_share[i]), float(p_rate[i]))
            xi, ni, di = int(x[i]), int(merges[i]), int(days[i])
            share = xi / ni if ni else 0.0
            summary = (
                f"{xi} of {ni} merged changes trivial or reverted ({share:.0%} vs cohort "
                f"{share_rate:.0%}; {xi / di:.2f} a day vs {day_rate:.2f}; {p_is(p)})"
            )
            limit = max(MIN_CHANGES - 1, math.ceil(cfg.mechanism_min_share * ni) - 1)
            clear = f"at most {limit} of {ni} merged changes trivial or reverted"
            brief = f"{xi} of {ni} merges trivial or reverted"
            rows.append((name, True, float(xi), p, share, summary, clear, brief))
        return result_frame(self.id, rows)


def _counts(acc: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trivial or reverted merges, all credited merges, active days) per account."""
    x = acc["non_output_changes"].to_numpy().astype(np.int64)
    merges = x + acc["merged_changes"].to_numpy().astype(np.int64)
    return x, merges, acc["active_days"].to_numpy().astype(np.int64)


def _tail(
    x: np.ndarray,
    n: np.ndarray,
    cfg: AuditConfig,
    reference: Mapping[str, float] | None,
    kind: str,
) -> tuple[np.ndarray, float]:
    """(P(X ≥ x_i) under the cohort's (or the reference's) robust beta-binomial, its rate), with
    the effect-size gate of the mechanism checks (1 below it)."""
    gated = (x >= MIN_CHANGES) & (x >= cfg.mechanism_min_share * n) & (n > 0)
    if reference is not None:
        a, b = recentre_beta(reference[f"{kind}_a"], reference[f"{kind}_b"], x, n)
    elif not gated.any():
        # Nobody passes the effect-size gate: every p-value is 1, no null to fit.
        return np.ones(x.size), float(x.sum() / max(int(n.sum()), 1))
    else:
        has = n > 0
        a, b = fit_beta_binomial(x[has], n[has], robust=True)
    p = beta_binomial_sf(x, np.maximum(n, 1), a, b)
    return np.where(gated, p, 1.0), a / (a + b)
