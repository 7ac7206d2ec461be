"""`trivial-merges`: camouflage — merged changes that add nothing.

Statistic: x_i, the number of credited merged changes that do not count as output (tiny changes
of at most `trivial_max_lines` lines, reverts, and changes reverted within `revert_cancel_days`),
as a rate over the account's n_i active days (x_i capped at n_i).
H0: the account's rate comes from the cohort's distribution of honest rates, tested with a
beta-binomial whose null is fitted robustly (see `fit_beta_binomial(robust=True)`),
p = P(X ≥ x_i). The same effect-size gate as `automation` applies.

A rate per active day, not a share of all merges: a person who merges little (a reviewer) would
otherwise look like camouflage after two typo fixes.

Trivial merges do not inflate usage by themselves; they are the cover a tokenmaxxer puts up so
that the account seems to ship. So this is a mechanism (tier 2), never outcome evidence.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import polars as pl

from tokenaudit.checks.base import CheckData, Group, ResultRow, not_applicable, result_frame
from tokenaudit.checks.stats import beta_binomial_sf, fit_beta_binomial, p_is
from tokenaudit.config import AuditConfig

MIN_COHORT = 10
MIN_CHANGES = 5


class TrivialMerges:
    id: ClassVar[str] = "trivial-merges"
    group: ClassVar[Group] = Group.MECHANISM
    description: ClassVar[str] = "a high share of tiny, reverted or reverting merged changes"

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
        acc = data.accounts.sort("account")
        names = acc["account"].to_list()
        days = acc["active_days"].to_numpy().astype(np.int64)
        x_raw = acc["non_output_changes"].to_numpy().astype(np.int64)
        x_all = np.minimum(x_raw, days)
        if len(names) < MIN_COHORT:
            return not_applicable(
                self.id, names, f"cohort of {len(names)} accounts is too small (needs {MIN_COHORT})"
            )
        gated = (x_all >= MIN_CHANGES) & (x_all >= cfg.mechanism_min_share * days)
        # Without an account past the effect-size gate every p-value is 1: no null to fit.
        a, b = fit_beta_binomial(x_all, days, robust=True) if gated.any() else (1.0, 1.0)
        cohort_rate = a / (a + b) if gated.any() else float(x_all.sum() / max(days.sum(), 1))
        rows: list[ResultRow] = []
        for i, name in enumerate(names):
            x, n = int(x_all[i]), int(days[i])
            p = float(beta_binomial_sf(np.array([x]), np.array([n]), a, b)[0])
            if x < MIN_CHANGES or x < cfg.mechanism_min_share * n:
                p = 1.0
            summary = (
                f"{int(x_raw[i])} trivial or reverted merged changes in {n} active days "
                f"({x / n:.2f} a day vs cohort {cohort_rate:.2f}; {p_is(p)})"
            )
            limit = max(MIN_CHANGES - 1, math.ceil(cfg.mechanism_min_share * n) - 1)
            clear = f"at most {limit} trivial or reverted merged changes in {n} active days"
            brief = f"{int(x_raw[i])} trivial or reverted merges in {n} active days"
            rows.append((name, True, float(x), p, x / n, summary, clear, brief))
        return result_frame(self.id, rows)
