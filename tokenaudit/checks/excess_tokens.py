"""`excess-tokens`: are these tokens excessive for the merged output delivered?

Statistic: the robust z of an account's residual in a Siegel repeated-medians regression of
log(tokens per active day) on log((changes + 0.5) / active day) across the cohort,
    z_i = (e_i − median(e)) / MADn(e).
H0: the account's tokens lie in the honest cohort's conditional distribution given its output.
p-value: one-sided upper tail of a Student t whose degrees of freedom are fitted to the cohort's
residuals (an empirical null, Efron 2004): heavier-tailed cohorts give larger p-values.
Effect: exp(e_i − median(e)), "× tokens of peers with the same output".

The test sits on the token axis because honest output responds only weakly to extra tokens: an
inflator differs from an honest heavy user by the full inflation factor in tokens, but only by a
fraction of it in output; docs/statistics.md.
"""

from __future__ import annotations

import math
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
)
from tokenaudit.checks.peers import PEER_CHECK, peer_excess, peer_model
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is


class ExcessTokens:
    id: ClassVar[str] = PEER_CHECK
    group: ClassVar[Group] = Group.OUTCOME
    description: ClassVar[str] = "tokens per active day far above peers with the same merged output"
    primary: ClassVar[bool] = True
    window_sensitive: ClassVar[bool] = False
    by_role: ClassVar[bool] = True
    ranking_weight: ClassVar[float] = 1.0
    ranks_by_z: ClassVar[bool] = True
    confirms: ClassVar[bool] = True
    habitual: ClassVar[bool] = False

    def fit(self, data: CheckData, cfg: AuditConfig) -> NullModel | None:
        return peer_model(data.accounts, data.null_excluded)

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
        acc = data.accounts.sort("account")
        names = acc["account"].to_list()
        peers = peer_excess(acc, data.null_excluded, data.reference)
        if peers is None:
            return not_applicable(
                self.id, names, f"cohort of {len(names)} accounts is too small (needs {MIN_COHORT})"
            )
        t, x, days, raw, resid = peers.t, peers.x, peers.days, peers.raw, peers.resid
        slope, intercept, null = peers.slope, peers.intercept, peers.null
        centre, scale = null.centre, null.scale
        z = null.z(resid)
        p = null.p(resid)
        effect = np.exp(resid - centre)
        # Peers: the same output, and the same team's habit where the team is compared within.
        peer_rate = np.exp(intercept + slope * x + centre + (raw - resid))
        z_clear = (null.clear_level(CLEAR_P) - centre) / scale
        # Under --measure cost the axis is cost in micro-dollars, and the words say so.
        what = "cost" if cfg.measure == "cost" else "tokens"
        rows: list[ResultRow] = []
        for i, name in enumerate(names):
            summary = (
                f"×{effect[i]:.1f} the {what} of peers with the same output "
                f"({_amount(np.exp(t[i]), cfg)} vs {_amount(peer_rate[i], cfg)} per active day; "
                f"z={z[i]:.1f}, {p_is(float(p[i]))})"
            )
            clear_rate = peer_rate[i] * np.exp(z_clear * scale)
            clear = f"at most {_amount(clear_rate, cfg, unit=True)} per active day for its merged output"
            if slope > 0.05:
                shift = raw[i] - resid[i]
                need = np.exp((t[i] - intercept - centre - shift - z_clear * scale) / slope)
                need = need * days[i] - 0.5
                if need > acc["changes"][i]:
                    clear += (
                        f", or about {math.ceil(need)} non-trivial merged changes for its usage"
                    )
            brief = f"×{effect[i]:.1f} the {what} of same-output peers"
            rows.append(
                (name, True, float(z[i]), float(p[i]), float(effect[i]), summary, clear, brief)
            )
        return result_frame(self.id, rows)


def _amount(value: float, cfg: AuditConfig, *, unit: bool = False) -> str:
    """`$1.20` under --measure cost, else `1.2M` (`1.2M tokens` with `unit`)."""
    if cfg.measure == "cost":
        return f"${value / 1e6:,.2f}"
    return f"{_mtok(value)} tokens" if unit else _mtok(value)


def _mtok(tokens: float) -> str:
    return f"{tokens / 1e6:.1f}M" if tokens >= 1e5 else f"{tokens / 1e3:.0f}k"
