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
from typing import ClassVar, Final

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
from tokenaudit.checks.stats import EmpiricalNull, siegel_slope
from tokenaudit.config import AuditConfig
from tokenaudit.wording import p_is


class ExcessTokens:
    id: ClassVar[str] = "excess-tokens"
    group: ClassVar[Group] = Group.OUTCOME
    description: ClassVar[str] = "tokens per active day far above peers with the same merged output"
    primary: ClassVar[bool] = True
    window_sensitive: ClassVar[bool] = False
    by_role: ClassVar[bool] = True
    ranking_weight: ClassVar[float] = 1.0

    def fit(self, data: CheckData, cfg: AuditConfig) -> NullModel | None:
        acc = data.accounts.sort("account")
        names = acc["account"].to_list()
        if len(names) < MIN_COHORT:
            return None
        t, x, _ = _axes(acc)
        # The null (line, centre, scale, tail) comes from the accounts not screened out.
        in_null = np.array([name not in data.null_excluded for name in names])
        if in_null.sum() < MIN_COHORT:
            in_null = np.ones(len(names), dtype=bool)
        slope, intercept = siegel_slope(x[in_null], t[in_null])
        resid = _within_team(acc, t - (intercept + slope * x), in_null)
        null = EmpiricalNull.fit(resid, in_null, floor=0.05)
        return {"slope": slope, "intercept": intercept, **null.params()}

    def run(self, data: CheckData, cfg: AuditConfig) -> pl.DataFrame:
        acc = data.accounts.sort("account")
        names = acc["account"].to_list()
        model = data.reference if data.reference is not None else self.fit(data, cfg)
        if model is None:
            return not_applicable(
                self.id, names, f"cohort of {len(names)} accounts is too small (needs {MIN_COHORT})"
            )
        t, x, days = _axes(acc)
        slope, intercept = model["slope"], model["intercept"]
        null = EmpiricalNull.from_params(model)
        raw = t - (intercept + slope * x)
        if data.reference is not None:
            null, resid = null.recentred(raw), raw
        else:
            in_null = np.array([name not in data.null_excluded for name in names])
            resid = _within_team(acc, raw, in_null)
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


#: Teams of this many tested accounts or more are compared within the team as well.
TEAM_MIN: Final = 4
#: Shrinkage of a team's median residual: a team of n moves by n / (n + TEAM_SHRINK) of it.
TEAM_SHRINK: Final = 5.0


def _within_team(acc: pl.DataFrame, resid: np.ndarray, in_null: np.ndarray) -> np.ndarray:
    """Residuals less their team's (shrunken) median residual: teams have habits — one works in a
    cached toolchain, another sends whole repositories as context — and an honest person of a
    heavy team is not excessive for that team. The median ignores the few tokenmaxxers of a team;
    the shrinkage keeps a small team's median from moving anyone far. Without a `team` column
    (no identities file) nothing moves."""
    if "team" not in acc.columns:
        return resid
    teams = acc["team"].to_list()
    out = resid.copy()
    for team in sorted({t for t in teams if t is not None}):
        members = np.array([t == team for t in teams])
        fitted = members & in_null
        if fitted.sum() < TEAM_MIN:
            continue
        shrink = fitted.sum() / (fitted.sum() + TEAM_SHRINK)
        out[members] -= shrink * float(np.median(resid[fitted]))
    return out


def _axes(acc: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(log tokens per active day, log (changes + ½) per active day, active days)."""
    days = acc["active_days"].to_numpy().astype(np.float64)
    t = np.log(acc["tokens"].to_numpy().astype(np.float64) / days)
    x = np.log((acc["changes"].to_numpy().astype(np.float64) + 0.5) / days)
    return t, x, days


def _amount(value: float, cfg: AuditConfig, *, unit: bool = False) -> str:
    """`$1.20` under --measure cost, else `1.2M` (`1.2M tokens` with `unit`)."""
    if cfg.measure == "cost":
        return f"${value / 1e6:,.2f}"
    return f"{_mtok(value)} tokens" if unit else _mtok(value)


def _mtok(tokens: float) -> str:
    return f"{tokens / 1e6:.1f}M" if tokens >= 1e5 else f"{tokens / 1e3:.0f}k"
