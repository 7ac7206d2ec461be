"""`automation`: request timing and sizes that no person produces by hand.

Three day-level fingerprints, each read only on days with enough request-level rows:
- `no-sleep`: no pause of `sleep_gap_hours` or more touches the day (24/7 activity);
- `regular`: inter-request gaps within sessions are machine-regular, burstiness
  B = (σ − μ)/(σ + μ) < −0.5 (humans: 0.2–0.6; a fixed-cadence loop: −1; Goh & Barabási 2008);
- `same-size`: 30 % or more of consecutive requests have prompt and output sizes within ±1 %;
- `parallel`: `PARALLEL_SESSIONS` or more sessions running at once (a swarm of agents; needs
  session ids).
For each fingerprint, x_i flagged days of n_i timed days is tested against the cohort with a
beta-binomial whose null is fitted robustly (a contamination component absorbs the few extreme
accounts, `fit_beta_binomial(robust=True)`), p = P(X ≥ x_i). A fingerprint counts only with at least
`mechanism_min_days` days and a share of `mechanism_min_share` (an effect-size gate: with many
days, trivially small differences are significant). The check's p-value is the Bonferroni
minimum over the fingerprints (valid under any dependence between them).

Honest overnight agents can show some of this; that is why a mechanism alone never flags.
"""

from __future__ import annotations

import math
from typing import ClassVar, Final

import numpy as np
import polars as pl

from tokenaudit.checks.base import (
    CheckData,
    Group,
    ResultRow,
    not_applicable,
    result_frame,
    skipped,
)
from tokenaudit.checks.stats import (
    beta_binomial_sf,
    bonferroni_min,
    fit_beta_binomial,
    p_is,
)
from tokenaudit.config import AuditConfig

MIN_COHORT = 10
REGULAR_BURSTINESS: Final = -0.5
SAME_SIZE_SHARE: Final = 0.3
MIN_SESSION_GAPS: Final = 10
PARALLEL_SESSIONS: Final = 4
#: Share of timed days a fingerprint must reach to count. 24/7 activity needs most days: honest
#: overnight agent runs happen on some nights, a loop runs on all of them.
MIN_SHARE: Final = {"no-sleep": 0.6}

FINGERPRINTS: Final = ("no-sleep", "regular", "same-size", "parallel")
_WORDS: Final = {
    "no-sleep": "days without a {h:g} h pause (24/7 activity)",
    "regular": "days of machine-regular request intervals",
    "same-size": "days of identical consecutive request sizes",
    "parallel": "days with 4+ sessions running at once",
}
_BRIEF: Final = {
    "no-sleep": "24/7 activity",
    "regular": "machine-regular intervals",
    "same-size": "identical request sizes",
    "parallel": "4+ parallel sessions",
}


def fingerprint_days(days: pl.DataFrame, cfg: AuditConfig) -> pl.DataFrame:
    """Per account: `timed` days and, per fingerprint, how many of them show it."""
    timed = (pl.col("rows") >= cfg.min_requests_for_timing) & ~pl.col("aggregated")
    burst = (pl.col("gap_std") - pl.col("gap_mean")) / (pl.col("gap_std") + pl.col("gap_mean"))
    return (
        days.filter(timed)
        .with_columns(
            (pl.col("max_gap_h") < cfg.sleep_gap_hours).fill_null(False).alias("no-sleep"),
            ((pl.col("session_gaps") >= MIN_SESSION_GAPS) & (burst < REGULAR_BURSTINESS))
            .fill_null(False)
            .alias("regular"),
            (pl.col("same_size_pairs") >= SAME_SIZE_SHARE * (pl.col("rows") - 1)).alias(
                "same-size"
            ),
            (pl.col("max_parallel") >= PARALLEL_SESSIONS).fill_null(False).alias("parallel"),
        )
        .group_by("account")
        .agg(
            pl.len().cast(pl.Int64).alias("timed"),
            *[pl.col(f).sum().cast(pl.Int64) for f in FINGERPRINTS],
        )
    )


class Automation:
    id: ClassVar[str] = "automation"
    group: ClassVar[Group] = Group.MECHANISM
    description: ClassVar[str] = "24/7 activity, machine-regular intervals, identical request sizes"

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
        names = data.accounts.sort("account")["account"].to_list()
        counts = (
            pl.DataFrame({"account": names}, schema={"account": pl.String})
            .join(fingerprint_days(data.days, cfg), on="account", how="left")
            .with_columns(pl.col(c).fill_null(0) for c in ("timed", *FINGERPRINTS))
            .sort("account")
        )
        cohort = counts.filter(pl.col("timed") >= cfg.mechanism_min_days)
        if cohort.height < MIN_COHORT:
            why = (
                "no request-level timing (pre-aggregated usage)"
                if int(counts["timed"].sum()) == 0
                else f"request-level timing for only {cohort.height} accounts (needs {MIN_COHORT})"
            )
            return not_applicable(self.id, names, why)
        n = cohort["timed"].to_numpy().astype(np.int64)
        pvals: dict[str, np.ndarray] = {}
        for f in FINGERPRINTS:
            x = cohort[f].to_numpy().astype(np.int64)
            share = MIN_SHARE.get(f, cfg.mechanism_min_share)
            gate = (x >= cfg.mechanism_min_days) & (x >= share * n)
            if not gate.any():
                # Nobody passes the effect-size gate: every p-value is 1, no null to fit.
                pvals[f] = np.ones(x.size)
                continue
            a, b = fit_beta_binomial(x, n, robust=True)
            pvals[f] = np.where(gate, beta_binomial_sf(x, n, a, b), 1.0)
        index = {name: i for i, name in enumerate(cohort["account"].to_list())}
        rows: list[ResultRow] = []
        for row in counts.iter_rows(named=True):
            name = row["account"]
            if name not in index:
                why = (
                    "no request-level timing (pre-aggregated usage)"
                    if row["timed"] == 0
                    else f"only {row['timed']} days with {cfg.min_requests_for_timing}+ requests"
                )
                rows.append(skipped(name, why))
                continue
            i = index[name]
            per = {f: float(pvals[f][i]) for f in FINGERPRINTS}
            p_account = bonferroni_min(list(per.values()))
            strongest = min(FINGERPRINTS, key=lambda f: (per[f], f))
            share = row[strongest] / row["timed"]
            shown = [f for f in sorted(FINGERPRINTS, key=lambda f: (per[f], f)) if per[f] < 1.0]
            if shown:
                parts = [
                    f"{row[f]} of {row['timed']} {_WORDS[f].format(h=cfg.sleep_gap_hours)}"
                    for f in shown
                ]
                summary = "; ".join(parts) + f" ({p_is(p_account)})"
            else:
                summary = f"no machine-like timing on {row['timed']} timed days"
            limit = max(
                cfg.mechanism_min_days - 1, math.ceil(cfg.mechanism_min_share * row["timed"]) - 1
            )
            clear = f"no machine-like fingerprint on more than {limit} of {row['timed']} timed days"
            brief = (
                f"{_BRIEF[strongest]} on {row[strongest]} of {row['timed']} days"
                if shown
                else "no machine-like timing"
            )
            rows.append((name, True, float(share), p_account, float(share), summary, clear, brief))
        return result_frame(self.id, rows)
