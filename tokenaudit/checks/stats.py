"""Small statistical building blocks shared by the checks (SciPy is imported lazily)."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def robust_scale(values: FloatArray, floor: float) -> float:
    """Normal-consistent MAD, falling back to IQR/1.349, never below `floor` (a zero scale would
    make every non-median value infinitely significant)."""
    from scipy import stats

    mad = float(stats.median_abs_deviation(values, scale="normal"))
    if mad <= floor:
        mad = float(stats.iqr(values, scale="normal"))
    return max(mad, floor)


def student_t_df(z: FloatArray) -> float:
    """Degrees of freedom of a Student t fitted to standardised residuals by maximum likelihood,
    location and scale held fixed (the empirical null's tail shape). Heavier tails → larger
    p-values: the conservative direction. Clamped to [2, 60]."""
    from scipy import optimize, stats

    if z.size < 5:
        return 4.0

    def nll(log_nu: float) -> float:
        return -float(np.sum(stats.t.logpdf(z, math.exp(log_nu))))

    res = optimize.minimize_scalar(nll, bounds=(math.log(2.0), math.log(60.0)), method="bounded")
    return float(math.exp(res.x))


def fit_beta_binomial(x: NDArray[np.int64], n: NDArray[np.int64]) -> tuple[float, float]:
    """Maximum-likelihood Beta(a, b) of per-account rates from counts x out of n (n varies).

    Parametrised by mean m and intra-class correlation ρ, both kept away from 0 and 1: a cohort in
    which nobody shows the feature must not make a single occurrence infinitely significant, so the
    mean is floored at half an event over all trials.
    """
    from scipy import optimize, special, stats

    keep = n > 0
    x, n = x[keep], n[keep]
    if x.size == 0:
        return 1.0, 1.0
    m_floor = min(0.5 / max(float(n.sum()), 1.0), 0.01)
    m_floor = max(m_floor, 1e-4)

    def unpack(theta: NDArray[np.float64]) -> tuple[float, float]:
        m = m_floor + (1 - 2 * m_floor) * float(special.expit(theta[0]))
        rho = 0.005 + 0.94 * float(special.expit(theta[1]))
        k = (1 - rho) / rho
        return m * k, (1 - m) * k

    def nll(theta: NDArray[np.float64]) -> float:
        a, b = unpack(theta)
        return -float(np.sum(stats.betabinom.logpmf(x, n, a, b)))

    mean0 = float(np.clip(x.sum() / n.sum(), m_floor * 2, 1 - m_floor * 2))
    start = np.array([float(special.logit((mean0 - m_floor) / (1 - 2 * m_floor))), 0.0])
    res = optimize.minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-6, "maxiter": 2000})
    return unpack(res.x)


def beta_binomial_sf(x: NDArray[np.int64], n: NDArray[np.int64], a: float, b: float) -> FloatArray:
    """P(X ≥ x) under BetaBinomial(n, a, b): the upper tail including x."""
    from scipy import stats

    p = stats.betabinom.sf(x - 1, n, a, b)
    return np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)


def bonferroni_min(pvalues: list[float]) -> float:
    """Tippett/Bonferroni combination: valid under any dependence, and a p-value near 1 cannot
    veto strong evidence in another component (unlike the Cauchy combination)."""
    if not pvalues:
        return math.nan
    return min(1.0, len(pvalues) * min(pvalues))


def fdr_adjust(pvalues: FloatArray, *, dependent: bool) -> FloatArray:
    """Benjamini–Hochberg q-values (Benjamini–Yekutieli when `dependent`)."""
    from scipy import stats

    if pvalues.size == 0:
        return pvalues
    return np.asarray(stats.false_discovery_control(pvalues, method="by" if dependent else "bh"), dtype=np.float64)


def format_p(p: float) -> str:
    if p >= 0.001:
        return f"{p:.3f}".rstrip("0").rstrip(".") if p < 1 else "1"
    return f"{p:.0e}".replace("e-0", "e-")
