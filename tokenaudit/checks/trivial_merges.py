"""`trivial-merges`: camouflage — merged changes that add nothing.

Statistic: x_i, the number of credited merged changes that do not count as output (tiny changes
of at most `trivial_max_lines` lines, reverts, and changes reverted within `revert_cancel_days`),
both as a share of the account's m_i credited merges and as a rate over its n_i active days.
H0: the account's share or its rate comes from the cohort's distribution of honest ones, each
tested with a beta-binomial whose null is fitted robustly (see `fit_beta_binomial(robust=True)`),
and against what the account's own change sizes explain: with the sizes of one person's changes
lognormal (log-sd `SIZE_SPREAD`), the mean size of its changes that count as output fixes the
share π_i of its changes that are tiny, and P(X ≥ x_i | m_i, π_i) is binomial (x_i counts reverts
too, which π_i does not expect: the leg rejects sooner for them, never later).
p = the largest of the three (intersection–union: all must be unusual). The same effect-size gate
as `automation` applies. The share is unusual against the cohort's, or against the person's own
earlier merges (`later_than_own_work`: camouflage put up from a leaderboard's launch is diluted
by the weeks before it, but all of it comes after; the smaller p of the two, a level of at most
2α for that leg alone, and the intersection–union's level is α wherever the rate or the size is
ordinary; docs/statistics.md).

All three, because each alone names honest people: a rate alone names those who ship a lot
(agent users opening many small pull requests merge more of every size), a share alone names
those who merge little (a reviewer's few typo fixes are most of their merges), and either names
those whose changes are all small: in teams of 15 (`benchmarks/detection.py --scenarios small`,
`families`), two honest people whose other changes averaged 8 and 11 lines — the smallest of
their organisations, 14 of 17 and 24 of 53 changes tiny — passed the screen at p = 1e-4 and
2e-5, one of them an overnight-agent user, and were `suspicious`. A cohort of 15 has too few
such people for the fitted null to hold them; their own sizes explain them (p = 0.99 and 1).
Camouflage is tiny changes on top of work of normal size, and unusual on all three.

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
from tokenaudit.checks.stats import (
    beta_binomial_sf,
    binomial_sf,
    fit_beta_binomial,
    recentre_beta,
)
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is

MIN_CHANGES = 5
#: The log-sd of one person's change sizes that `tiny_share` assumes: the widest either generator
#: draws (`families` 0.7–1.5, `simulate` 1.2). Wider makes more tiny changes expected of a given
#: mean size, so the size leg vetoes more; a person whose sizes spread wider still is spared less
#: by it, never judged more harshly than before it existed (a leg can only raise p).
SIZE_SPREAD = 1.5


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
    #: Honest people have the habit too: some ship in micro-changes (`benchmarks/blind_orgs.py`
    #: "small-PRs": 15–35 % of their changes 1–3 lines, up to half of their merges observed),
    #: which the fitted null cannot hold.
    habitual: ClassVar[bool] = True

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
        counted = acc["merged_changes"].to_numpy().astype(np.int64)
        mean_size = acc["merged_lines"].to_numpy().astype(np.float64) / np.maximum(counted, 1)
        # Nothing that counted to size an account by: it is taken at the cohort's typical size.
        # Every merge trivial is the plainest camouflage (a third, blind family's padders), and
        # the share and rate legs keep the reviewer with a few typo fixes out.
        typical = float(np.median(mean_size[counted > 0])) if (counted > 0).any() else math.inf
        mean_size = np.where(counted > 0, mean_size, typical)
        tiny = tiny_share(mean_size, cfg.trivial_max_lines)
        p_size = binomial_sf(x, merges, tiny)
        # The effect-size gate of the share's cohort leg holds for this one too.
        p_later = np.where(
            _effect_size_gate(x, merges, cfg), later_than_own_work(data.outputs, names), 1.0
        )
        rows: list[ResultRow] = []
        for i, name in enumerate(names):
            # Intersection–union: all three unusual, or none counts. The share is unusual against
            # the cohort's, or against the person's own earlier merges.
            later = float(p_later[i]) < float(p_share[i])
            p = max(min(float(p_share[i]), float(p_later[i])), float(p_rate[i]), float(p_size[i]))
            xi, ni, di = int(x[i]), int(merges[i]), int(days[i])
            share = xi / ni if ni else 0.0
            own = (
                f"and {tiny[i]:.0%} for its size of change, {mean_size[i]:.0f} lines"
                if counted[i]
                else f"and {tiny[i]:.0%} for the cohort's size of change, {mean_size[i]:.0f} lines"
            )
            summary = (
                f"{xi} of {ni} merged changes trivial or reverted ({share:.0%} vs cohort "
                f"{share_rate:.0%} {own}; {xi / di:.2f} a day vs {day_rate:.2f}; {p_is(p)})"
            )
            if later and p < 0.05:
                summary += (
                    f"; its trivial merges came after its other merges ({p_is(float(p_later[i]))})"
                )
            limit = max(MIN_CHANGES - 1, math.ceil(cfg.mechanism_min_share * ni) - 1)
            clear = f"at most {limit} of {ni} merged changes trivial or reverted"
            brief = f"{xi} of {ni} merges trivial or reverted"
            rows.append((name, True, float(xi), p, share, summary, clear, brief))
        return result_frame(self.id, rows)


def tiny_share(mean_size: np.ndarray, max_lines: int) -> np.ndarray:
    """The share of a person's changes with at most `max_lines` lines when their sizes are
    lognormal with log-sd `SIZE_SPREAD` and those above `max_lines` average `mean_size` lines.

    The mean above the cut, exp(μ + σ²/2)·Φ((μ + σ² − c)/σ) / Φ((μ − c)/σ) with c the log of the
    cut, rises with μ: it is solved for μ by bisection, all accounts at once."""
    from scipy import special

    sigma = SIZE_SPREAD
    cut = math.log(max_lines + 0.5)
    target = np.log(np.maximum(mean_size, max_lines + 0.6))
    lo, hi = np.full(target.shape, -30.0), np.full(target.shape, 30.0)
    for _ in range(64):
        mu = (lo + hi) / 2
        log_mean = (
            mu
            + sigma**2 / 2
            + special.log_ndtr((mu + sigma**2 - cut) / sigma)
            - special.log_ndtr((mu - cut) / sigma)
        )
        above = log_mean > target
        hi, lo = np.where(above, mu, hi), np.where(above, lo, mu)
    return np.asarray(special.ndtr((cut - (lo + hi) / 2) / sigma), dtype=np.float64)


def later_than_own_work(outputs: pl.DataFrame | None, names: list[str]) -> np.ndarray:
    """Per account (in `names` order): one-sided p that its trivial merges come later than its
    merges that count (Mann–Whitney on merge days, ties by day, normal approximation with the
    tie correction and continuity); 1 where either kind has fewer than `MIN_CHANGES` merges (the
    approximation is poor there: one counted merge first and 14 trivial ones after is p = 0.07
    exactly, 0.04 by the normal curve)."""
    if outputs is None or outputs.is_empty():
        return np.ones(len(names))
    t, c = pl.col("non_output_changes").cast(pl.Float64), pl.col("changes").cast(pl.Float64)
    per = (
        outputs.filter(pl.col("account").is_in(names))
        .group_by("account", "day")
        .agg(t.sum().alias("t"), c.sum().alias("c"))
        .sort("account", "day")
        .with_columns(
            (pl.col("c").cum_sum().over("account") - pl.col("c")).alias("c_before"),
            (pl.col("t") + pl.col("c")).alias("tau"),
        )
        .group_by("account")
        .agg(
            (pl.col("t") * (pl.col("c_before") + 0.5 * pl.col("c"))).sum().alias("u"),
            pl.col("t").sum().alias("n1"),
            pl.col("c").sum().alias("n2"),
            (pl.col("tau") ** 3 - pl.col("tau")).sum().alias("ties"),
        )
    )
    from scipy import special

    n1, n2 = per["n1"].to_numpy(), per["n2"].to_numpy()
    n = n1 + n2
    var = n1 * n2 / 12.0 * ((n + 1) - per["ties"].to_numpy() / np.maximum(n * (n - 1), 1))
    z = (per["u"].to_numpy() - n1 * n2 / 2.0 - 0.5) / np.sqrt(np.maximum(var, 1e-12))
    enough = (n1 >= MIN_CHANGES) & (n2 >= MIN_CHANGES) & (var > 0)
    p = np.where(enough, special.ndtr(-z), 1.0)
    by = dict(zip(per["account"].to_list(), p.tolist(), strict=True))
    return np.array([by.get(a, 1.0) for a in names], dtype=np.float64)


def _counts(acc: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trivial or reverted merges, all credited merges, active days) per account."""
    x = acc["non_output_changes"].to_numpy().astype(np.int64)
    merges = x + acc["merged_changes"].to_numpy().astype(np.int64)
    return x, merges, acc["active_days"].to_numpy().astype(np.int64)


def _effect_size_gate(x: np.ndarray, n: np.ndarray, cfg: AuditConfig) -> np.ndarray:
    """Whether x of n is enough to count at all (the mechanism checks' effect-size gate)."""
    gate: np.ndarray = (x >= MIN_CHANGES) & (x >= cfg.mechanism_min_share * n) & (n > 0)
    return gate


def _tail(
    x: np.ndarray,
    n: np.ndarray,
    cfg: AuditConfig,
    reference: Mapping[str, float] | None,
    kind: str,
) -> tuple[np.ndarray, float]:
    """(P(X ≥ x_i) under the cohort's (or the reference's) robust beta-binomial, its rate), with
    the effect-size gate of the mechanism checks (1 below it)."""
    gated = _effect_size_gate(x, n, cfg)
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
