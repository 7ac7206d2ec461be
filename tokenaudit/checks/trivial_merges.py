"""`trivial-merges`: camouflage — merged changes that add nothing.

Statistic: x_i of an account's n_i credited merged changes that do not count as output: tiny
changes (at most `trivial_max_lines` lines), reverts, and changes reverted within
`revert_cancel_days`.
H0: the account's share comes from the cohort's distribution of honest shares, tested with a
beta-binomial whose null is fitted robustly (see `fit_beta_binomial(robust=True)`),
p = P(X ≥ x_i). The same effect-size gate as `automation` applies.

Trivial merges do not inflate usage by themselves; they are the cover a tokenmaxxer puts up so
that the account seems to ship. So this is a mechanism (tier 2), never outcome evidence.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import polars as pl

from tokenaudit.checks.base import CheckData, Group, ResultRow, not_applicable, result_frame
from tokenaudit.checks.stats import beta_binomial_sf, fit_beta_binomial, format_p
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
        x_all = acc["non_output_changes"].to_numpy().astype(np.int64)
        n_all = x_all + acc["merged_changes"].to_numpy().astype(np.int64)
        testable = n_all >= MIN_CHANGES
        if int(testable.sum()) < MIN_COHORT:
            return not_applicable(self.id, names, f"only {int(testable.sum())} accounts have {MIN_CHANGES}+ merged changes")
        a, b = fit_beta_binomial(x_all[testable], n_all[testable], robust=True)
        cohort_share = a / (a + b)
        rows: list[ResultRow] = []
        for i, name in enumerate(names):
            x, n = int(x_all[i]), int(n_all[i])
            if n < MIN_CHANGES:
                rows.append((name, False, None, None, None, f"only {n} merged changes", ""))
                continue
            p = float(beta_binomial_sf(np.array([x]), np.array([n]), a, b)[0])
            if x < cfg.mechanism_min_days or x < cfg.mechanism_min_share * n:
                p = 1.0
            summary = f"{x} of {n} merged changes trivial or reverted ({x / n:.0%} vs cohort {cohort_share:.0%}; p={format_p(p)})"
            limit = max(cfg.mechanism_min_days - 1, math.ceil(cfg.mechanism_min_share * n) - 1)
            clear = f"at most {limit} of {n} merged changes trivial or reverted"
            rows.append((name, True, float(x), p, x / n, summary, clear))
        return result_frame(self.id, rows)
