"""The peer line: an account's tokens against those of peers with the same merged output.

`excess-tokens` tests it; `output-share` reads it alongside how much of the usage was output.
One computation, so that both say the same thing about the same account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
import polars as pl

from tokenaudit.checks.base import MIN_COHORT, NullModel, null_members
from tokenaudit.checks.stats import EmpiricalNull, FloatArray, siegel_slope

#: The check whose reference null (`--reference`) the peer line is.
PEER_CHECK: Final = "excess-tokens"
#: Teams of this many tested accounts or more are compared within the team as well.
TEAM_MIN: Final = 4
#: Shrinkage of a team's median residual: a team of n moves by n / (n + TEAM_SHRINK) of it.
TEAM_SHRINK: Final = 5.0


@dataclass(frozen=True)
class PeerExcess:
    """Per account (in account order): log tokens per active day `t`, log (changes + ½) per
    active day `x`, active `days`, the residual from the line `raw`, the same less the team's
    habit `resid` (what the null judges), and the line and null."""

    t: FloatArray
    x: FloatArray
    days: FloatArray
    raw: FloatArray
    resid: FloatArray
    slope: float
    intercept: float
    null: EmpiricalNull

    @property
    def z(self) -> FloatArray:
        return self.null.z(self.resid)


def peer_model(accounts: pl.DataFrame, null_excluded: frozenset[str]) -> NullModel | None:
    """The line (Siegel's repeated medians of t on x) and the null of its residuals, fitted to
    the accounts not screened out (all of them when too few are left); None below `MIN_COHORT`."""
    acc = accounts.sort("account")
    names = acc["account"].to_list()
    if len(names) < MIN_COHORT:
        return None
    t, x, _ = _axes(acc)
    in_null = null_members(names, null_excluded)
    slope, intercept = _line(x[in_null].tobytes(), t[in_null].tobytes())
    resid = within_team(acc, t - (intercept + slope * x), in_null)
    null = EmpiricalNull.fit(resid, in_null, floor=0.05)
    return {"slope": slope, "intercept": intercept, **null.params()}


@lru_cache(maxsize=8)
def _line(x: bytes, t: bytes) -> tuple[float, float]:
    """Siegel's line through the points (x, t), given as float64 bytes so that it can be
    remembered: `excess-tokens` and `output-share` fit the same cohort's line in one run, and
    at 20,000 light accounts one fit is 0.4 s."""
    return siegel_slope(np.frombuffer(x), np.frombuffer(t))


def peer_excess(
    accounts: pl.DataFrame,
    null_excluded: frozenset[str],
    reference: Mapping[str, float] | None,
) -> PeerExcess | None:
    """Every account against the peer line: the reference's (its null moved towards this team,
    `EmpiricalNull.recentred`) when one is given, else this cohort's; None when the cohort is
    too small to give one."""
    acc = accounts.sort("account")
    model = reference if reference is not None else peer_model(acc, null_excluded)
    if model is None:
        return None
    t, x, days = _axes(acc)
    slope, intercept = model["slope"], model["intercept"]
    null = EmpiricalNull.from_params(model)
    raw = t - (intercept + slope * x)
    if reference is not None:
        null, resid = null.recentred(raw), raw
    else:
        resid = within_team(acc, raw, null_members(acc["account"].to_list(), null_excluded))
    return PeerExcess(t, x, days, raw, resid, slope, intercept, null)


def within_team(acc: pl.DataFrame, resid: FloatArray, in_null: np.ndarray) -> FloatArray:
    """Residuals less their team's (shrunken) median residual: teams have habits — one works in a
    cached toolchain, another sends whole repositories as context — and an honest person of a
    heavy team is not excessive for that team. The median ignores the few tokenmaxxers of a team;
    the shrinkage keeps a small team's median from moving anyone far. Without a `team` column
    (no identities file) nothing moves. `acc` and `resid` are in the same order."""
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


def _axes(acc: pl.DataFrame) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(log tokens per active day, log (changes + ½) per active day, active days)."""
    days = acc["active_days"].to_numpy().astype(np.float64)
    t = np.log(acc["tokens"].to_numpy().astype(np.float64) / days)
    x = np.log((acc["changes"].to_numpy().astype(np.float64) + 0.5) / days)
    return t, x, days
