"""`automation`: request timing and sizes that no person produces by hand.

Three day-level fingerprints, each read only on days with enough request-level rows:
- `no-sleep`: no pause of `sleep_gap_hours` or more touches the day (24/7 activity);
- `regular`: inter-request gaps within sessions are machine-regular, burstiness
  B = (σ − μ)/(σ + μ) < −0.5 (humans: 0.2–0.6; a fixed-cadence loop: −1; Goh & Barabási 2008);
- `same-size`: requests that repeat the one before carry 30 % or more of the day's tokens (the
  prompt the same size to the token, or within `panel.PROMPT_DRIFT_TOKENS` where the answer is
  `panel.DRIFT_MIN_ANSWER` tokens or more: a loop that numbers its requests; the answer within
  ±1 % or `panel.SAME_ANSWER_TOKENS`),
  the second sent within 6 minutes of the first (`panel.SAME_SIZE_GAP_S`), in a run of 20 or
  more such requests (`panel.MIN_REPEAT_RUN`: not an eval's few samples of one question); or
  the same prompt, whatever the answer, sent at a steady pace for 2 hours or more
  (`panel.MIN_HELD_RUN`: a loop paced slower, its answers sampled); and the repeats outweigh a
  typical day of work (`_same_size`);
- `parallel`: `PARALLEL_SESSIONS` or more sessions running at once (a swarm of agents; needs
  session ids);
- `phase-locked`: bursts of requests start at the same point of a cron period (1, 5, 10, 15, 30
  or 60 minutes) all day: Rayleigh's test of the burst starts' phases, p below
  `PHASE_P` after Bonferroni over the periods, with at least `MIN_BURSTS` bursts (a person starts
  work at random points of any such period);
- `cache-ratio`: the share of prompt tokens read from the cache is far from the cohort's
  (|robust z| > `CACHE_Z` on the logit scale, cohort median and MAD over all timed days): a
  loop re-sending one context reads nearly everything from the cache, a script that defeats the
  cache reads nothing. Shown as context only (`CONTEXT_ONLY`), never counted.
For each fingerprint, x_i flagged days of n_i timed days is tested: `same-size` against a fixed
honest day rate (`OWN_STREAM_DAY_RATE`, binomial), the others against the cohort with a
beta-binomial whose null is fitted robustly (a contamination component absorbs the few extreme
accounts, `fit_beta_binomial(robust=True)`), p = P(X ≥ x_i). A fingerprint counts only with at least
`mechanism_min_days` days and a share of `mechanism_min_share` (an effect-size gate: with many
days, trivially small differences are significant). The check's p-value is the Bonferroni
minimum over the counted fingerprints (valid under any dependence between them).

Only `same-size` counts as evidence (`EVIDENCE`): re-sending the same request again and again is
what busywork looks like and what working agents, whose context and answers change from one turn
to the next, do not produce. A scheduled job under a person's key may send one request, the same
every time, on a cron period: it shows the fingerprint only where its repeats outweigh a day of
work (`_same_size`; the CI jobs every 10–60 minutes of an independently generated family never
do, and nobody honest there shows it; a heavy one does, as a loop would).
The others are produced
by honest automation as well (`CONTEXT_ONLY`) and are shown, never counted. A mechanism alone
never flags.
"""

from __future__ import annotations

import math
from typing import ClassVar, Final

import numpy as np
import polars as pl

from tokenaudit.checks.base import (
    MIN_BURSTS,
    MIN_COHORT,
    PHASE_P,
    REPEAT_SHARE,
    CheckData,
    Group,
    NullModel,
    ResultRow,
    cron_phase_p,
    not_applicable,
    result_frame,
    skipped,
    work_day_reference,
)
from tokenaudit.checks.stats import (
    beta_binomial_sf,
    binomial_sf,
    bonferroni_min,
    fit_beta_binomial,
    recentre_beta,
)
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is

REGULAR_BURSTINESS: Final = -0.5
SAME_SIZE_SHARE: Final = 0.3
MIN_SESSION_GAPS: Final = 10
PARALLEL_SESSIONS: Final = 4
#: Share of timed days a fingerprint must reach to count. 24/7 activity needs most days: honest
#: overnight agent runs happen on some nights, a loop runs on all of them.
MIN_SHARE: Final = {"no-sleep": 0.6}

#: Reported, never counted: fingerprints that honest automation produces as well. Measured on
#: the honest automation of two independent families of generated organisations
#: (`benchmarks/fingerprints.py`, figures in README): overnight and all-day agent runs are
#: sleepless and poll at machine-regular intervals, agent fleets run many sessions at once, CI
#: jobs under a person's key start in step with cron, and heavy agent use reads nearly all its
#: prompt from the cache. Each of these says "a machine did this", not "busywork"; counted, they
#: put honest agent users through tier 2 (4 of 5 overnight-agent users of one independently
#: generated organisation were `suspicious`). They stay in the evidence as context.
CONTEXT_ONLY: Final = ("no-sleep", "regular", "parallel", "phase-locked", "cache-ratio")
CACHE_Z: Final = 3.5

FINGERPRINTS: Final = (
    "no-sleep",
    "regular",
    "same-size",
    "parallel",
    "phase-locked",
    "cache-ratio",
)
EVIDENCE: Final = tuple(f for f in FINGERPRINTS if f not in CONTEXT_ONLY)
_WORDS: Final = {
    "no-sleep": "days without a {h:g} h pause (24/7 activity)",
    "regular": "days of machine-regular request intervals",
    "same-size": "days of identical consecutive request sizes",
    "parallel": "days with 4+ sessions running at once",
    "phase-locked": "days of bursts starting in step with a cron period",
    "cache-ratio": "days with a cache-read share far from the cohort's",
}
_BRIEF: Final = {
    "no-sleep": "24/7 activity",
    "regular": "machine-regular intervals",
    "same-size": "identical request sizes",
    "parallel": "4+ parallel sessions",
    "phase-locked": "cron-like burst starts",
    "cache-ratio": "abnormal cache-read share",
}


def cache_logit() -> pl.Expr:
    prompt = pl.col("input_tokens") + pl.col("cache_read_tokens") + pl.col("cache_write_tokens")
    share = (pl.col("cache_read_tokens") / prompt).clip(0.001, 0.999)
    return pl.when(prompt > 0).then((share / (1 - share)).log())


def _same_size() -> pl.Expr:
    """Per timed day: requests that repeat the one before (within minutes, in a run of
    `panel.MIN_REPEAT_RUN` or more; or held at a steady pace for hours, `panel.MIN_HELD_RUN`)
    carry 30 % of the day's tokens or more, and the
    repeats are more than a sliver of the account's work: they weigh at least `_own_day`
    (`base.work_day_reference`, the larger of the account's own typical day of work and half of
    everyone's; where nobody ever worked, half of the day's tokens). Measured: a 42-token ping
    every minute under 20 honest people's keys in an organisation of 200 put 17 of them in
    `suspicious` when repeats were only counted, and when they had to be half of their own day's
    tokens still passed the screen on the 30–40 days of 82 that nobody worked (the ping is all
    there is on them). A panel saved without `same_size_tokens` (before it existed) shows no
    such day: what the repeats weigh is unknown.
    The share is of tokens, not of requests: a loop running beside the person's own work, a few
    large requests an hour among their hundreds (the blind family's loops, once its logs are
    thinned: 10-30 repeats among 150-300 requests a day, 30-90 % of the day's tokens), is most of
    the day's usage and a tenth of its requests (counted by requests, one loop at ×10 of that
    family showed no such day at all)."""
    repeats = pl.col("same_size_tokens")
    own_day = pl.col("_own_day").fill_null(REPEAT_SHARE * pl.col("tokens"))
    return ((repeats >= SAME_SIZE_SHARE * pl.col("tokens")) & (repeats >= own_day)).fill_null(False)


def fingerprint_days(days: pl.DataFrame, cfg: AuditConfig) -> pl.DataFrame:
    """Per account: `timed` days and, per fingerprint, how many of them show it."""
    timed = (pl.col("rows") >= cfg.min_requests_for_timing) & ~pl.col("aggregated")
    burst = (pl.col("gap_std") - pl.col("gap_mean")) / (pl.col("gap_std") + pl.col("gap_mean"))
    if "same_size_tokens" not in days.columns:
        days = days.with_columns(pl.lit(None, dtype=pl.Int64).alias("same_size_tokens"))
    timed_days = (
        days.with_columns(work_day_reference().alias("_own_day"))
        .filter(timed)
        .with_columns(cache_logit().alias("_cache"))
    )
    centre = timed_days["_cache"].median()
    spread = timed_days.select((pl.col("_cache") - pl.col("_cache").median()).abs().median()).item()
    scale = 1.4826 * float(spread) if spread else None
    cache_far = (
        ((pl.col("_cache") - centre).abs() / scale > CACHE_Z).fill_null(False)
        if scale and centre is not None
        else pl.lit(False)
    )
    phase = cron_phase_p()
    return (
        timed_days.with_columns(
            (pl.col("max_gap_h") < cfg.sleep_gap_hours).fill_null(False).alias("no-sleep"),
            ((pl.col("session_gaps") >= MIN_SESSION_GAPS) & (burst < REGULAR_BURSTINESS))
            .fill_null(False)
            .alias("regular"),
            _same_size().alias("same-size"),
            (pl.col("max_parallel") >= PARALLEL_SESSIONS).fill_null(False).alias("parallel"),
            ((pl.col("burst_starts") >= MIN_BURSTS) & (phase < PHASE_P))
            .fill_null(False)
            .alias("phase-locked"),
            cache_far.alias("cache-ratio"),
        )
        .group_by("account")
        .agg(
            pl.len().cast(pl.Int64).alias("timed"),
            *[pl.col(f).sum().cast(pl.Int64) for f in FINGERPRINTS],
        )
    )


#: Identical request sizes are tested against this fixed rate, in a cohort of any size: an honest
#: person has a day on which repeats carry 30 % of its tokens and outweigh a day of work
#: (`_same_size`) with probability at most 5 %. Measured: no honest person of the three generator
#: families, agent users, fleets, CI jobs, evals and polls included, had such days at all
#: (`benchmarks/fingerprints.py`, `benchmarks/blind_orgs.py`, `benchmarks/scheduled_jobs.py`);
#: 5 % leaves a wide margin for real organisations. A null fitted to the cohort let padders who
#: are many in one cohort hide each other: 7 loop padders of one role cohort of a blind launch
#: organisation, on 30-60 % of their days, were explained by a heavy-tailed beta-binomial (a → 0;
#: p 0.009-0.02, none `suspicious`), which the likelihood preferred to calling them
#: contamination. What the fixed rate gives up: where honest people commonly run a heavy job with
#: one fixed prompt, a cohort null would have absorbed some of them (a fitted null did not keep
#: 20 such honest people of 200 out of the screen either, `benchmarks/results/scheduled-jobs.md`).
OWN_STREAM_DAY_RATE: Final = 0.05


def _counts(data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
    names = data.accounts.sort("account")["account"].to_list()
    return (
        pl.DataFrame({"account": names}, schema={"account": pl.String})
        .join(fingerprint_days(data.days, cfg), on="account", how="left")
        .with_columns(pl.col(c).fill_null(0) for c in ("timed", *FINGERPRINTS))
        .sort("account")
    )


class Automation:
    id: ClassVar[str] = "automation"
    group: ClassVar[Group] = Group.MECHANISM
    description: ClassVar[str] = (
        "24/7 activity, machine-regular or cron-locked timing, identical request sizes, "
        "parallel sessions, an abnormal cache-read share"
    )
    primary: ClassVar[bool] = False
    window_sensitive: ClassVar[bool] = False
    by_role: ClassVar[bool] = True
    ranking_weight: ClassVar[float] = 1.0
    ranks_by_z: ClassVar[bool] = False
    confirms: ClassVar[bool] = False
    habitual: ClassVar[bool] = False

    def fit(self, data: CheckData, cfg: AuditConfig) -> NullModel | None:
        cohort = _counts(data, cfg).filter(pl.col("timed") >= cfg.mechanism_min_days)
        if cohort.height < MIN_COHORT:
            return None
        n = cohort["timed"].to_numpy().astype(np.int64)
        model: NullModel = {}
        for f in FINGERPRINTS:
            a, b = fit_beta_binomial(cohort[f].to_numpy().astype(np.int64), n, robust=True)
            model |= {f"{f}_a": a, f"{f}_b": b}
        return model

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
        counts = _counts(data, cfg)
        names = counts["account"].to_list()
        cohort = counts.filter(pl.col("timed") >= cfg.mechanism_min_days)
        if cohort.height == 0 or (cohort.height < MIN_COHORT and int(counts["timed"].sum()) == 0):
            why = (
                "no request-level timing (pre-aggregated usage)"
                if int(counts["timed"].sum()) == 0
                else f"no account has {cfg.mechanism_min_days}+ days with "
                f"{cfg.min_requests_for_timing}+ requests"
            )
            return not_applicable(self.id, names, why)
        n = cohort["timed"].to_numpy().astype(np.int64)
        own_stream = data.reference is None and cohort.height < MIN_COHORT
        pvals: dict[str, np.ndarray] = {}
        for f in FINGERPRINTS:
            x = cohort[f].to_numpy().astype(np.int64)
            share = MIN_SHARE.get(f, cfg.mechanism_min_share)
            gate = (x >= cfg.mechanism_min_days) & (x >= share * n)
            if f == "same-size" or own_stream:
                # The fingerprint whose honest rate is known without a cohort is tested against
                # that rate (see `OWN_STREAM_DAY_RATE`), in a cohort of any size; with too few
                # accounts for a cohort null, the others are not tested.
                p_own = binomial_sf(x, n, OWN_STREAM_DAY_RATE) if f == "same-size" else 1.0
                pvals[f] = np.where(gate, p_own, 1.0)
                continue
            if data.reference is not None:
                a, b = recentre_beta(data.reference[f"{f}_a"], data.reference[f"{f}_b"], x, n)
            elif not gate.any():
                # Nobody passes the effect-size gate: every p-value is 1, no null to fit.
                pvals[f] = np.ones(x.size)
                continue
            else:
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
            per = {f: float(pvals[f][i]) for f in EVIDENCE}
            p_account = bonferroni_min(list(per.values()))
            strongest = min(EVIDENCE, key=lambda f: (per[f], f))
            share = row[strongest] / row["timed"]
            shown = [f for f in sorted(EVIDENCE, key=lambda f: (per[f], f)) if per[f] < 1.0]
            parts = [
                f"{row[f]} of {row['timed']} {_WORDS[f].format(h=cfg.sleep_gap_hours)}"
                for f in shown
            ]
            summary = (
                "; ".join(parts) + f" ({p_is(p_account)})"
                if shown
                else f"no identical request sizes on {row['timed']} timed days"
            )
            context = [f for f in CONTEXT_ONLY if float(pvals[f][i]) < 0.05]
            if context:
                summary += "; context, not evidence: " + "; ".join(
                    f"{row[f]} of {row['timed']} {_WORDS[f].format(h=cfg.sleep_gap_hours)} "
                    f"({p_is(float(pvals[f][i]))})"
                    for f in context
                )
            limit = max(
                cfg.mechanism_min_days - 1, math.ceil(cfg.mechanism_min_share * row["timed"]) - 1
            )
            clear = f"identical request sizes on at most {limit} of {row['timed']} timed days"
            brief = (
                f"{_BRIEF[strongest]} on {row[strongest]} of {row['timed']} days"
                if shown
                else "no identical request sizes"
            )
            rows.append((name, True, float(share), p_account, float(share), summary, clear, brief))
        return result_frame(self.id, rows)
