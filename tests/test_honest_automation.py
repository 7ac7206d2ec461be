"""Honest automation under a person's key never makes them `suspicious`, nor puts them in `review`.

A keep-alive ping or a health check sent every minute under a person's key repeats itself
exactly, back to back, all day and every day — including the weekends and the weeks of leave on
which the person did not work. It is a sliver of their usage. Before what repeats weigh was
counted, 17 of 20 honest people given such a ping in an organisation of 200 were `suspicious`.
A nightly batch job classifying items behind one long few-shot template sends requests back to
back whose prompts are all within 1 % of each other, each answered with a one-token label: no
request is sent twice, and none may count as a loop's (`benchmarks/fingerprints.py`: 45–70 % of
such honest people showed "identical sizes" while prompts within 1 % counted as the same).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tokenaudit.audit import run_audit
from tokenaudit.config import AuditConfig
from tokenaudit.loaders import expand_paths
from tokenaudit.model import AuditReport
from tokenaudit.synthetic.families import build_org, draw_params, write_family_org
from tokenaudit.synthetic.simulate import generate_org, write_org

SEED = 91
PINGED = 15
BATCHED = 5


def _with_pings(usage: pl.DataFrame, accounts: list[str], every_s: int) -> pl.DataFrame:
    """`usage` plus, for each of `accounts`, the same 40-token request answered in 2 or 3 tokens
    every `every_s` seconds from the first request of the log to the last."""
    stamps = usage["timestamp"].str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC")
    ticks = pl.datetime_range(stamps.min(), stamps.max(), f"{every_s}s", eager=True)
    text = ticks.dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
    pings = [
        pl.DataFrame(
            {
                "timestamp": text,
                "account": [account] * text.len(),
                "input_tokens": [40] * text.len(),
                # "OK" and "OK.": a short answer wavers by a token.
                "output_tokens": [2 + i % 2 for i in range(text.len())],
                "cache_read_tokens": [0] * text.len(),
                "cache_write_tokens": [0] * text.len(),
                "model": ["claude-haiku-4-5"] * text.len(),
                "cost_usd": [0.00005] * text.len(),
            }
        )
        for account in accounts
    ]
    return pl.concat([usage, *pings], how="diagonal_relaxed")


def _with_batches(usage: pl.DataFrame, accounts: list[str], seed: int) -> pl.DataFrame:
    """`usage` plus, for each of `accounts`, a batch job every night at 01:00 UTC: 300–600
    requests back to back, each an 8,000-token few-shot template and one item to classify
    (lognormal, median 60 tokens), answered with a one-token label."""
    stamps = usage["timestamp"].str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC")
    first = stamps.min().replace(hour=1, minute=0, second=0, microsecond=0)  # type: ignore[union-attr]
    rng = np.random.default_rng(seed)
    jobs = []
    for account in accounts:
        for night in range((stamps.max() - first).days):  # type: ignore[operator]
            n = int(rng.integers(300, 601))
            at = first.timestamp() + night * 86_400 + np.cumsum(rng.uniform(1.0, 3.0, n))
            stamp = pl.Series((at * 1e6).astype(np.int64)).cast(pl.Datetime("us", "UTC"))
            jobs.append(
                pl.DataFrame(
                    {
                        "timestamp": stamp.dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
                        "account": [account] * n,
                        "input_tokens": np.rint(rng.lognormal(np.log(60), 0.7, n)).astype(int),
                        "output_tokens": [1] * n,
                        "cache_read_tokens": [8_000] * n,
                        "cache_write_tokens": [0] * n,
                    }
                )
            )
    return pl.concat([usage, *jobs], how="diagonal_relaxed")


def _audit(folder: Path, paths: dict[str, Path]) -> AuditReport:
    files = expand_paths([paths["usage"], paths["commits"], paths["identities"]])
    return run_audit(files, AuditConfig(), folder)


Audits = list[tuple[AuditReport, AuditReport, list[str]]]


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> Audits:
    """Per generator family: the audit of an all-honest organisation, the audit of the same
    organisation with pings under `PINGED` people's keys and batch jobs under `BATCHED`
    others', and who they all are."""
    out = []
    for family in ("families", "simulate"):
        plain = tmp_path_factory.mktemp(family)
        if family == "families":
            org = build_org(draw_params(SEED, scenario="honest", accounts=120, days=63), SEED)
            paths = write_family_org(org, plain, fmt="parquet")
        else:
            files = write_org(generate_org(120, 63, SEED, 0.0), plain, fmt="parquet")
            paths = {f.stem: f for f in files}
        people = sorted(set(pl.read_csv(paths["identities"])["account"].to_list()))
        chosen = np.random.default_rng(SEED).choice(people, size=PINGED + BATCHED, replace=False)
        pinged, batched = sorted(chosen[:PINGED]), sorted(chosen[PINGED:])
        without = _audit(plain, paths)
        usage = _with_pings(pl.read_parquet(paths["usage"]), pinged, every_s=60)
        _with_batches(usage, batched, SEED).write_parquet(paths["usage"])
        with_automation = _audit(tmp_path_factory.mktemp(f"{family}-automated"), paths)
        out.append((without, with_automation, [*pinged, *batched]))
    return out


def test_a_keep_alive_ping_or_a_batch_job_under_a_persons_key_makes_nobody_suspicious(
    audits: Audits,
) -> None:
    for _, with_pings, pinged in audits:
        accounts = with_pings.accounts
        assert accounts.filter(pl.col("status") == "suspicious").is_empty()
        shown = accounts.filter(pl.col("account").is_in(pinged))
        assert shown.height == PINGED + BATCHED  # every one of them is in the report
        assert (shown["p_mechanism"].fill_null(1.0) > 0.01).all()


def test_a_keep_alive_ping_puts_nobody_in_review_for_the_days_they_were_away(
    audits: Audits,
) -> None:
    # Counted as days of work, the ping's days before a joiner's start or during leave made
    # their return look like a jump in usage.
    for without, with_pings, pinged in audits:

        def in_review(report: AuditReport, pinged: list[str] = pinged) -> set[str]:
            flagged = report.accounts.filter(pl.col("status") == "review")["account"]
            return set(flagged.to_list()) & set(pinged)

        assert in_review(with_pings) <= in_review(without)
