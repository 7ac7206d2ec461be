"""Honest automation under a person's key never makes them `suspicious`, nor puts them in `review`.

A keep-alive ping or a health check sent every minute under a person's key repeats itself
exactly, back to back, all day and every day — including the weekends and the weeks of leave on
which the person did not work. It is a sliver of their usage. Before what repeats weigh was
counted, 17 of 20 honest people given such a ping in an organisation of 200 were `suspicious`.
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


def _with_pings(usage: pl.DataFrame, accounts: list[str], every_s: int) -> pl.DataFrame:
    """`usage` plus, for each of `accounts`, the same 40-token request answered in 2 tokens
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
                "output_tokens": [2] * text.len(),
                "cache_read_tokens": [0] * text.len(),
                "cache_write_tokens": [0] * text.len(),
                "model": ["claude-haiku-4-5"] * text.len(),
                "cost_usd": [0.00005] * text.len(),
            }
        )
        for account in accounts
    ]
    return pl.concat([usage, *pings], how="diagonal_relaxed")


def _audit(folder: Path, paths: dict[str, Path]) -> AuditReport:
    files = expand_paths([paths["usage"], paths["commits"], paths["identities"]])
    return run_audit(files, AuditConfig(), folder)


Audits = list[tuple[AuditReport, AuditReport, list[str]]]


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> Audits:
    """Per generator family: the audit of an all-honest organisation, the audit of the same
    organisation with pings under `PINGED` people's keys, and who they are."""
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
        pinged = sorted(np.random.default_rng(SEED).choice(people, size=PINGED, replace=False))
        without = _audit(plain, paths)
        usage = pl.read_parquet(paths["usage"])
        _with_pings(usage, pinged, every_s=60).write_parquet(paths["usage"])
        out.append((without, _audit(tmp_path_factory.mktemp(f"{family}-pinged"), paths), pinged))
    return out


def test_a_keep_alive_ping_under_a_persons_key_makes_nobody_suspicious(audits: Audits) -> None:
    for _, with_pings, pinged in audits:
        accounts = with_pings.accounts
        assert accounts.filter(pl.col("status") == "suspicious").is_empty()
        shown = accounts.filter(pl.col("account").is_in(pinged))
        assert shown.height == PINGED  # every pinged person is in the report
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
