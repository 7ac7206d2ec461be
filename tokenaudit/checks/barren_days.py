"""`barren-days`: how often is an account's heavy usage not followed by merged work?

Statistic: x_i of n_i token-heavy, followable days (tokens at or above the account's own 25th
percentile; censored days excluded) with no counted merged change within the follow-up window.
H0: the account's barren rate is drawn from the cohort's distribution of honest rates,
p_i ~ Beta(a, b), so x_i ~ BetaBinomial(n_i, a, b), with (a, b) fitted by maximum likelihood on
the cohort (empirical Bayes).
p-value: P(X ≥ x_i), the upper tail including x_i (conservative: the distribution is discrete).
Effect: the raw barren share x_i / n_i, reported next to the cohort mean a / (a + b).

Honest reviewers, researchers and late mergers have high barren rates too, so this is outcome
evidence (tier 1) only, never proof of inflation. An account with no counted merged change in
the period is not tested: every one of its days is barren whatever its usage, so the count
measures its role (a reviewer, a researcher, a manager, work in repositories not scanned), not
its usage; `excess-tokens` still compares its tokens with peers of the same (no) output. Nor is
an account whose merged changes are too few to follow half its heavy days however they were
timed (c changes, a window of w days: at most c·(w + 1) days can lead to one): its count too says
how much it merged, which `excess-tokens` judges against its tokens, not when it used them. Tested,
a manager labelled as one, in a role too small to be its own cohort (1 merged change, 45 of 48
heavy days barren), and docs writers (30 of 31) were in `review` on two blind families
(`benchmarks/blind_confounders.py`, `benchmarks/blind_tactics.py`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import polars as pl

from tokenaudit.checks.base import (
    CLEAR_P,
    MIN_COHORT,
    CheckData,
    Group,
    NullModel,
    ResultRow,
    not_applicable,
    result_frame,
    skipped,
)
from tokenaudit.checks.stats import beta_binomial_sf, fit_beta_binomial, recentre_beta
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is

HEAVY_DAY_QUANTILE = 0.25
NO_MERGES = (
    "no merged change in the period: every day is barren whatever the usage, which says what "
    "the role is, not how the tokens were used (excess-tokens judges the usage)"
)


def heavy_day_counts(days: pl.DataFrame) -> pl.DataFrame:
    """Per account: `n` heavy followable days and `x` of them barren."""
    if days.is_empty():
        return pl.DataFrame(schema={"account": pl.String, "n": pl.Int64, "x": pl.Int64})
    heavy = pl.col("tokens") >= pl.col("tokens").quantile(HEAVY_DAY_QUANTILE, "lower").over(
        "account"
    )
    return (
        days.filter(heavy & ~pl.col("censored"))
        .group_by("account")
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            (~pl.col("followed")).sum().cast(pl.Int64).alias("x"),
        )
    )


def _counts(data: CheckData) -> pl.DataFrame:
    """Per account: `n` heavy followable days, `x` of them barren, `merged` (whether it has any
    counted merged change in the period) and `can_follow` (whether its merged changes could
    follow half of its heavy days, timed as well as they could be)."""
    changes = pl.col("changes").fill_null(0)
    return (
        data.accounts.select("account", changes.alias("_changes"), (changes > 0).alias("merged"))
        .join(heavy_day_counts(data.days), on="account", how="left")
        .with_columns(pl.col("n").fill_null(0), pl.col("x").fill_null(0))
        .with_columns(
            (2 * pl.col("_changes") * (data.window_days + 1) >= pl.col("n")).alias("can_follow")
        )
        .drop("_changes")
        .sort("account")
    )


def _testable(counts: pl.DataFrame, cfg: AuditConfig) -> pl.DataFrame:
    return counts.filter(
        (pl.col("n") >= cfg.min_followable_days) & pl.col("merged") & pl.col("can_follow")
    )


class BarrenDays:
    id: ClassVar[str] = "barren-days"
    group: ClassVar[Group] = Group.OUTCOME
    description: ClassVar[str] = "heavy-usage days not followed by merged work within the window"
    primary: ClassVar[bool] = False
    window_sensitive: ClassVar[bool] = True
    by_role: ClassVar[bool] = True
    ranking_weight: ClassVar[float] = 0.5
    ranks_by_z: ClassVar[bool] = False
    confirms: ClassVar[bool] = True
    habitual: ClassVar[bool] = False

    def fit(self, data: CheckData, cfg: AuditConfig) -> NullModel | None:
        testable = _testable(_counts(data), cfg)
        if testable.height < MIN_COHORT:
            return None
        x = testable["x"].to_numpy().astype(np.int64)
        n = testable["n"].to_numpy().astype(np.int64)
        a, b = fit_beta_binomial(x, n)
        return {"a": a, "b": b}

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
        counts = _counts(data)
        names = counts["account"].to_list()
        model = data.reference if data.reference is not None else self.fit(data, cfg)
        testable = _testable(counts, cfg)
        if model is None:
            return not_applicable(
                self.id,
                names,
                f"only {testable.height} accounts have enough followable days "
                f"(a cohort needs {MIN_COHORT}, or give --reference)",
            )
        x = testable["x"].to_numpy().astype(np.int64)
        n = testable["n"].to_numpy().astype(np.int64)
        a, b = model["a"], model["b"]
        if data.reference is not None:
            a, b = recentre_beta(a, b, x, n)
        p = beta_binomial_sf(x, n, a, b)
        cohort_mean = a / (a + b)
        tested = {
            name: (float(p[i]), int(x[i]), int(n[i]))
            for i, name in enumerate(testable["account"].to_list())
        }
        rows: list[ResultRow] = []
        # The clear level depends on n alone: worked out once per distinct n, not per account.
        most_clear: dict[int, int] = {}
        for name, n_all, merged, can_follow in counts.select(
            "account", "n", "merged", "can_follow"
        ).iter_rows():
            if not merged:
                rows.append(skipped(name, NO_MERGES))
                continue
            if not can_follow:
                rows.append(skipped(name, _too_few(n_all, data.window_days)))
                continue
            if name not in tested:
                rows.append(skipped(name, f"only {n_all} followable heavy days"))
                continue
            pv, xi, ni = tested[name]
            summary = (
                f"{xi} of {ni} heavy days not followed by merged work within {data.window_days} d "
                f"({xi / ni:.0%} vs cohort {cohort_mean:.0%}; {p_is(pv)})"
            )
            if ni not in most_clear:
                ks = np.arange(ni + 1)
                ok = ks[beta_binomial_sf(ks, np.full(ni + 1, ni), a, b) > CLEAR_P]
                most_clear[ni] = int(ok.max())
            clear = f"at most {most_clear[ni]} of {ni} heavy days without merged work within {data.window_days} d"
            brief = f"{xi} of {ni} heavy days without merged work within {data.window_days} d"
            rows.append((name, True, float(xi), pv, xi / ni, summary, clear, brief))
        return result_frame(self.id, rows)


def _too_few(heavy_days: int, window_days: int) -> str:
    return (
        f"too few merged changes to follow half of its {heavy_days} heavy days within "
        f"{window_days} d however they were timed: the count says how much it merged "
        "(excess-tokens judges that against its tokens), not when it used its tokens"
    )
