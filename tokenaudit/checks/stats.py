"""Statistical building blocks shared by the checks.

Written on `scipy.special` and `scipy.optimize` only: `scipy.stats` costs about a second to
import, more than a whole audit of a small organisation. Each function names the `scipy.stats`
routine it matches; tests/test_stats.py holds them to it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


#: The n × n matrix of pairwise slopes is worked out this many cells at a time (a block of rows):
#: whole, it took n² × 8 bytes an array, several arrays at once — 4.6 GB at 10,767 tested
#: accounts, 12.8 GB at 19,130 — where a block takes 2 MB. A block that stays in the CPU's cache
#: between its passes (divide, count, partition) is worked on faster: at 10,767 points, 16 MB
#: blocks took 0.69 s a line, 2 MB blocks 0.41 s.
SIEGEL_BLOCK_CELLS: Final = 1 << 18


#: From this many points on, `siegel_slope` works out the median of a row only where it can
#: decide the line (`_banded_medians`); below, every row's (the band's passes cost more there).
SIEGEL_BANDED_FROM: Final = 2_000


def siegel_slope(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """Siegel's repeated-medians line (50 % breakdown point), as `scipy.stats.siegelslopes` with
    `method="hierarchical"`: slope = median_i median_{j: x_j ≠ x_i} (y_j − y_i)/(x_j − x_i);
    intercept = median(y − slope·x).

    Each row's median depends on that row alone, so the rows are taken a block at a time
    (`SIEGEL_BLOCK_CELLS`): the same numbers as the whole matrix, in bounded memory.

    NOTE: the pairs are taken in order of x (medians do not depend on order), so the k pairs a
    row cannot use (x_j = x_i, itself included) are neighbours: as many −∞ as +∞ among them
    (one more −∞ when k is odd) leave the median of the row's usable slopes at a fixed place of
    the whole row, found by one partition of the block. Dropping them from each row one by one
    (`_siegel_slope_rows`) took half as long again."""
    n = len(x)
    if n == 0 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return _siegel_slope_rows(x, y)
    pairs = _SlopeRows.of(x, y)
    usable = _banded_medians(pairs) if n >= SIEGEL_BANDED_FROM else None
    if usable is None:
        usable = pairs.row_medians(np.arange(n))[pairs.ties < n]
    if not usable.size:
        return 0.0, float(np.median(y))
    slope = float(np.median(usable))
    return slope, float(np.median(y - slope * x))


@dataclass(frozen=True)
class _SlopeRows:
    """The rows of Siegel's matrix of pairwise slopes, points in order of x (see `siegel_slope`):
    row i holds (y_j − y_i)/(x_j − x_i) for every j, its unusable pairs (x_j = x_i) −∞ and +∞."""

    xs: FloatArray
    ys: FloatArray
    tie_start: IntArray
    minus_end: IntArray
    tie_end: IntArray
    #: Per row: how many pairs it cannot use (itself included).
    ties: IntArray

    @classmethod
    def of(cls, x: FloatArray, y: FloatArray) -> _SlopeRows:
        order = np.argsort(x, kind="stable")
        xs, ys = x[order], y[order]
        tie_start = np.searchsorted(xs, xs, side="left")
        ties = np.searchsorted(xs, xs, side="right") - tie_start
        return cls(xs, ys, tie_start, tie_start + (ties + 1) // 2, tie_start + ties, ties)

    def blocks(self, rows: IntArray) -> list[IntArray]:
        """`rows` a block at a time (`SIEGEL_BLOCK_CELLS`)."""
        size = max(1, SIEGEL_BLOCK_CELLS // len(self.xs))
        return [rows[i : i + size] for i in range(0, len(rows), size)]

    def slopes(self, rows: IntArray, room: FloatArray | None = None) -> FloatArray:
        """The matrix's `rows`, each the same numbers whichever block it is in; written into
        `room` (2 × block rows × n) when given.

        NOTE: a block is larger than glibc's threshold for mapping memory afresh, so each new
        array of it faulted its pages in again: reusing `room` took 0.9 s down to 0.4 s at
        10,767 points."""
        shape = (len(rows), len(self.xs))
        out = np.empty(shape) if room is None else room[0, : len(rows)]
        dx = np.empty(shape) if room is None else room[1, : len(rows)]
        np.subtract(self.ys[None, :], self.ys[rows, None], out=out)
        np.subtract(self.xs[None, :], self.xs[rows, None], out=dx)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(out, dx, out=out)
        spans = zip(
            self.tie_start[rows].tolist(),
            self.minus_end[rows].tolist(),
            self.tie_end[rows].tolist(),
            strict=True,
        )
        for row, (first, minus, last) in enumerate(spans):
            out[row, first:minus] = -np.inf
            out[row, minus:last] = np.inf
        return out

    def row_medians(self, rows: IntArray) -> FloatArray:
        """The median of each of `rows`' usable slopes (see `medians`), a block at a time."""
        blocks = self.blocks(rows)
        room = np.empty((2, len(blocks[0]), len(self.xs))) if blocks else None
        medians = [self.medians(self.slopes(block, room), block) for block in blocks]
        return np.concatenate(medians) if medians else np.empty(0)

    def medians(self, slopes: FloatArray, rows: IntArray) -> FloatArray:
        """The median of each row's usable slopes (`slopes` of `rows`, reordered in place);
        meaningless for a row without any (`ties` = n), which the caller drops."""
        n = len(self.xs)
        # A row of n slopes with ⌈k/2⌉ −∞ and ⌊k/2⌋ +∞: its usable slopes' median is the element
        # `middle` or `middle + 1`, or their mean, by the parities of n and k.
        middle = (n - 1) // 2
        if n >= 2:
            slopes.partition([middle, middle + 1], axis=1)
            lower, upper = slopes[:, middle], slopes[:, middle + 1]
        else:
            lower = upper = slopes[:, 0]
        even_k = self.ties[rows] % 2 == 0
        with np.errstate(invalid="ignore"):
            if n % 2 == 0:
                return np.where(even_k, (lower + upper) / 2, upper)
            return np.where(even_k, lower, (lower + upper) / 2)


def _banded_medians(pairs: _SlopeRows) -> FloatArray | None:
    """The usable rows' medians as `siegel_slope` takes their median, but with −∞ (+∞) for the
    rows whose median is below (above) a band that holds the median of medians; None when the
    band missed it (the caller then works out every row).

    A spread of rows (every ⌈n/s⌉-th in order of x) guesses the band [a, b]. One pass over the
    matrix then counts each row's slopes below a and above b: a row whose elements `middle` and
    `middle + 1` are both below a (above b) has its median there, whatever it is; the others get
    theirs worked out as in the whole matrix, from the same row. The partitions were the cost
    (1.7 s of the 2.2 s of the two lines at 5M `many-light`, 10,767 points); counting is a few
    times cheaper, and 1,803 of the 10,767 rows are still partitioned.

    NOTE: exact, not an approximation. A value v in [a, b] has as many values below it (and
    equal to it) whether the rows outside the band hold their medians or ∓∞, so when the middle
    elements of the result lie in the band they are the true ones, and `np.median` returns the
    same float. A middle element of 0 is refused: −0.0 and +0.0 compare equal, and which of them
    a partition puts there depends on the rest of the array."""
    n = len(pairs.xs)
    middle = (n - 1) // 2
    usable_rows = pairs.ties < n
    spread = np.unique(np.linspace(0, n - 1, _band_sample(n)).astype(np.int64))
    spread = spread[usable_rows[spread]]
    if spread.size < 2:
        return None
    guesses = pairs.row_medians(spread)
    if not np.isfinite(guesses).all():
        return None
    margin = 3 * 0.5 / math.sqrt(spread.size)  # three standard errors of the sample median
    a, b = np.quantile(guesses, [max(0.0, 0.5 - margin), min(1.0, 0.5 + margin)])
    out = np.empty(n)
    blocks = pairs.blocks(np.arange(n))
    room = np.empty((2, len(blocks[0]), n))
    flags = np.empty((len(blocks[0]), n), dtype=bool)
    for rows in blocks:
        slopes = pairs.slopes(rows, room)
        marks = flags[: len(rows)]
        below = np.count_nonzero(np.less(slopes, a, out=marks), axis=1) >= middle + 2
        above = np.count_nonzero(np.greater(slopes, b, out=marks), axis=1) >= n - middle
        out[rows[below]] = -np.inf
        out[rows[above]] = np.inf
        inside = ~(below | above)
        out[rows[inside]] = pairs.medians(slopes[inside], rows[inside])
    usable = out[usable_rows]
    m = usable.size
    centre = np.partition(usable, [(m - 1) // 2, m // 2])[[(m - 1) // 2, m // 2]]
    if not ((centre >= a) & (centre <= b) & (centre != 0)).all():
        return None
    return usable


def _band_sample(n: int) -> int:
    """How many rows guess the band: (2n)^(2/3), which balances the rows guessed against those
    the band leaves to work out (about n·3/√s)."""
    return min(n, max(64, math.ceil(math.pow(2 * n, 2 / 3))))


def _siegel_slope_rows(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """`siegel_slope` for any x and y (NaN and infinities too), each row's unusable pairs
    dropped from it as NaN."""
    n = len(x)
    rows = max(1, SIEGEL_BLOCK_CELLS // max(n, 1))
    medians = []
    for start in range(0, n, rows):
        dx = x[None, :] - x[start : start + rows, None]
        dy = y[None, :] - y[start : start + rows, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            slopes = np.where(dx != 0, dy / dx, np.nan)
        del dx, dy
        usable = ~np.all(np.isnan(slopes), axis=1)
        if usable.any():
            medians.append(np.nanmedian(slopes[usable], axis=1))
    if not medians:
        return 0.0, float(np.median(y))
    slope = float(np.median(np.concatenate(medians)))
    return slope, float(np.median(y - slope * x))


def robust_scale(values: FloatArray, floor: float) -> float:
    """Normal-consistent MAD, falling back to IQR/1.349, never below `floor` (a zero scale would
    make every non-median value infinitely significant)."""
    mad = 1.482602218505602 * float(np.median(np.abs(values - np.median(values))))
    if mad <= floor:
        q75, q25 = np.percentile(values, [75, 25])
        mad = float(q75 - q25) / 1.3489795003921634
    return max(mad, floor)


def student_t_logpdf(z: FloatArray, nu: float) -> FloatArray:
    from scipy import special

    return np.asarray(
        special.gammaln((nu + 1) / 2)
        - special.gammaln(nu / 2)
        - 0.5 * math.log(nu * math.pi)
        - (nu + 1) / 2 * np.log1p(z * z / nu),
        dtype=np.float64,
    )


def student_t_sf(z: FloatArray, nu: float) -> FloatArray:
    """P(T > z) for Student's t with `nu` degrees of freedom (`scipy.stats.t.sf`)."""
    from scipy import special

    return np.clip(np.asarray(special.stdtr(nu, -z), dtype=np.float64), 0.0, 1.0)


def student_t_isf(p: float, nu: float) -> float:
    """The z with P(T > z) = p (`scipy.stats.t.isf`)."""
    from scipy import special

    return float(special.stdtrit(nu, 1.0 - p))


def student_t_df(z: FloatArray, censor_above: float | None = None) -> float:
    """Degrees of freedom of a Student t fitted to standardised residuals by maximum likelihood,
    location and scale held fixed (the empirical null's tail shape). Heavier tails → larger
    p-values: the conservative direction. Clamped to [2, 60].

    With `censor_above` = c, a residual beyond ±c only says "beyond c" (it contributes
    log P(|T| > c) / 2 per side, not its density): the few most extreme accounts, which are the
    ones under test, then cannot fatten the null's tail until it explains them."""
    from scipy import optimize

    if z.size < 5:
        return 4.0
    inside = z if censor_above is None else z[np.abs(z) <= censor_above]
    n_out = z.size - inside.size

    def nll(log_nu: float) -> float:
        nu = math.exp(log_nu)
        total = float(np.sum(student_t_logpdf(inside, nu)))
        if n_out and censor_above is not None:
            tail = float(student_t_sf(np.array([censor_above]), nu)[0])
            total += n_out * math.log(max(tail, 1e-300))
        return -total

    res = optimize.minimize_scalar(nll, bounds=(math.log(2.0), math.log(60.0)), method="bounded")
    return float(math.exp(res.x))


def _betabinom_logpmf(k: FloatArray, n: FloatArray, a: float, b: float) -> FloatArray:
    from scipy import special

    return np.asarray(
        special.gammaln(n + 1)
        - special.gammaln(k + 1)
        - special.gammaln(n - k + 1)
        + special.betaln(k + a, n - k + b)
        - special.betaln(a, b),
        dtype=np.float64,
    )


def fit_beta_binomial(x: IntArray, n: IntArray, *, robust: bool = False) -> tuple[float, float]:
    """Maximum-likelihood Beta(a, b) of per-account rates from counts x out of n (n varies).

    Parametrised by mean m and intra-class correlation ρ, both kept away from 0 and 1: a cohort in
    which nobody shows the feature must not make a single occurrence infinitely significant, so the
    mean is floored at half an event over all trials.

    `robust=True` fits the null inside a two-component mixture, (1 − ε)·BetaBinomial + ε·Uniform{0..n}
    with ε ≤ 0.3: a few extreme accounts (the very behaviour under test) are absorbed by the uniform
    component instead of stretching the null until it explains them (Efron's empirical null, applied
    to counts). Use it for mechanism fingerprints, whose honest distribution is a bulk near zero:
    the null's density is then also kept non-increasing towards a rate of 1 (b ≥ 1), otherwise a
    U-shaped Beta would happily "explain" every account that shows the fingerprint all the time.
    """
    from scipy import optimize, special

    keep = n > 0
    xf, nf = x[keep].astype(np.float64), n[keep].astype(np.float64)
    if xf.size == 0:
        return 1.0, 1.0
    m_floor = max(min(0.5 / max(float(nf.sum()), 1.0), 0.01), 1e-4)
    log_choose = special.gammaln(nf + 1) - special.gammaln(xf + 1) - special.gammaln(nf - xf + 1)

    def unpack(theta: FloatArray) -> tuple[float, float, float]:
        m = m_floor + (1 - 2 * m_floor) * float(special.expit(theta[0]))
        rho = 0.005 + 0.94 * float(special.expit(theta[1]))
        eps = 0.3 * float(special.expit(theta[2])) if robust else 0.0
        k = (1 - rho) / rho
        a, b = m * k, (1 - m) * k
        if robust and b < 1.0:
            a, b = a / b, 1.0
        return a, b, eps

    def nll(theta: FloatArray) -> float:
        a, b, eps = unpack(theta)
        log_pmf = log_choose + special.betaln(xf + a, nf - xf + b) - special.betaln(a, b)
        if robust:
            like = (1 - eps) * np.exp(log_pmf) + eps / (nf + 1)
            return -float(np.sum(np.log(np.maximum(like, 1e-300))))
        return -float(np.sum(log_pmf))

    def start(mean: float, rho_logit: float, eps_logit: float) -> FloatArray:
        mean = float(np.clip(mean, m_floor * 2, 1 - m_floor * 2))
        return np.array(
            [float(special.logit((mean - m_floor) / (1 - 2 * m_floor))), rho_logit, eps_logit]
        )

    starts = [start(float(xf.sum() / nf.sum()), 0.0, -2.0)]
    if robust:
        # The mixture likelihood has a local optimum where an overdispersed null explains the
        # outliers; also start from a tight null around the bulk with the outliers set apart.
        rates = xf / nf
        bulk = rates <= np.quantile(rates, 0.8)
        outlying = float(np.clip(np.mean(rates > 0.5), 0.005, 0.29))
        starts.append(
            start(
                float(xf[bulk].sum() / max(nf[bulk].sum(), 1.0)),
                -4.0,
                float(special.logit(outlying / 0.3)),
            )
        )
    best = min(
        (
            optimize.minimize(
                nll,
                s0,
                method="Nelder-Mead",
                options={"xatol": 2e-3, "fatol": 1e-5, "maxiter": 1000},
            )
            for s0 in starts
        ),
        key=lambda r: float(r.fun),
    )
    a, b, _ = unpack(best.x)
    return a, b


def beta_binomial_sf(x: IntArray, n: IntArray, a: float, b: float) -> FloatArray:
    """P(X ≥ x) under BetaBinomial(n, a, b), the upper tail including x
    (`scipy.stats.betabinom.sf(x - 1, n, a, b)`).

    The tail is computed once per distinct n (a reversed cumulative sum of the pmf), so a cohort
    of thousands of accounts with a few dozen distinct day counts costs a few dozen pmf vectors.
    """
    x = np.asarray(x, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    out = np.empty(x.size, dtype=np.float64)
    for ni in np.unique(n).tolist():
        at = n == ni
        k = np.arange(ni + 1, dtype=np.float64)
        pmf = np.exp(_betabinom_logpmf(k, np.full(k.size, float(ni)), a, b))
        tail = np.append(np.cumsum(pmf[::-1])[::-1], 0.0)
        out[at] = tail[np.clip(x[at], 0, ni + 1)]
    out[x <= 0] = 1.0
    return np.clip(out, 0.0, 1.0)


def binomial_sf(x: IntArray, n: IntArray, rate: float | FloatArray) -> FloatArray:
    """P(X ≥ x) under Binomial(n, rate), the upper tail including x (a rate per account or one
    for all)."""
    from scipy import special

    x = np.asarray(x)
    return np.asarray(np.where(x > 0, special.bdtrc(x - 1, n, rate), 1.0), dtype=np.float64)


def bonferroni_min(pvalues: list[float]) -> float:
    """Tippett/Bonferroni combination: valid under any dependence, and a p-value near 1 cannot
    veto strong evidence in another component (unlike the Cauchy combination)."""
    if not pvalues:
        return math.nan
    return min(1.0, len(pvalues) * min(pvalues))


def fdr_adjust(pvalues: FloatArray, *, dependent: bool, family: int = 0) -> FloatArray:
    """Benjamini–Hochberg q-values, or Benjamini–Yekutieli when `dependent`
    (`scipy.stats.false_discovery_control`), over a family of max(`family`, len(pvalues))
    hypotheses: the ones not given count as p = 1 (they can never be discoveries)."""
    size = pvalues.size
    if size == 0:
        return pvalues.astype(np.float64)
    m = max(size, family)
    order = np.argsort(pvalues, kind="stable")
    ranked = pvalues[order] * m / np.arange(1, size + 1)
    if dependent:
        ranked = ranked * float(np.sum(1.0 / np.arange(1, m + 1)))
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(size, dtype=np.float64)
    q[order] = np.clip(q_sorted, 0.0, 1.0)
    return q


#: Share of the upper side's standardised values whose exact size the tail-shape fit does not use.
#: A trade-off measured on both generator families (benchmarks/detection.py), not a free choice:
#: censoring 30 % lifted recall of padders (a ×160 padder had p = 0.01 at 15 %), but where honest
#: overnight-agent users are 15 % or more of a role cohort they then only counted as "beyond",
#: the tail came out light, and 7 % of one all-honest organisation went to `review`.
#: Honest people come first.
CENSORED_SHARE = 0.15
#: Asymptotic efficiency of the median absolute deviation at the normal, relative to the SD.
MAD_EFFICIENCY: Final = 0.37


@dataclass(frozen=True)
class EmpiricalNull:
    """An empirical null (Efron 2004) for a one-sided, upper-tail statistic: centre = median,
    scale = the larger of the normal-consistent MAD and the upper semi-MAD (honest heavy users
    spread the tested side more than the other), tail = a Student t whose degrees of freedom are
    fitted to the upper side mirrored, with the most extreme `CENSORED_SHARE` of it censored (the
    accounts under test must not fatten the null until it explains them).

    p-values are read on the predictive distribution of a new account, not on the fitted one: the
    centre and scale are estimated from `n` accounts, and in a cohort of 20 the scale's own error
    is a quarter of it, so a z of 3.5 on the plug-in null may be 2.8 on the true one
    (`predictive`).

    Its four numbers are all a reference population needs to carry (`--save-reference`)."""

    centre: float
    scale: float
    nu: float
    #: How many accounts the null was fitted to (a reference saved before it was kept: unknown,
    #: counted as many, which is what the plug-in null assumed).
    n: float = math.inf

    @classmethod
    def fit(
        cls,
        values: FloatArray,
        in_null: NDArray[np.bool_],
        floor: float,
        censored_share: float = CENSORED_SHARE,
    ) -> EmpiricalNull:
        """Fitted to `values[in_null]`, the most extreme `censored_share` of the upper side
        censored."""
        fit = values[in_null]
        centre = float(np.median(fit))
        above = fit[fit > centre] - centre
        upper = 1.482602218505602 * float(np.median(above)) if above.size >= 5 else 0.0
        scale = max(robust_scale(fit, floor=floor), upper)
        z_fit = (fit - centre) / scale
        side = z_fit[z_fit > 0]
        censor = float(np.quantile(side, 1 - censored_share)) if side.size >= 20 else None
        nu = student_t_df(np.concatenate([side, -side]) if side.size >= 5 else z_fit, censor)
        return cls(centre, scale, nu, float(fit.size))

    @classmethod
    def from_params(cls, params: Mapping[str, float], prefix: str = "") -> EmpiricalNull:
        return cls(
            params[f"{prefix}centre"],
            params[f"{prefix}scale"],
            params[f"{prefix}nu"],
            params.get(f"{prefix}n", math.inf),
        )

    def params(self, prefix: str = "") -> dict[str, float]:
        out = {
            f"{prefix}centre": self.centre,
            f"{prefix}scale": self.scale,
            f"{prefix}nu": self.nu,
        }
        if math.isfinite(self.n):
            out[f"{prefix}n"] = self.n
        return out

    def z(self, values: FloatArray) -> FloatArray:
        return (values - self.centre) / self.scale

    def predictive(self) -> tuple[float, float]:
        """(scale multiple, degrees of freedom) of the predictive null: the Student t a new honest
        account's z follows when the centre and scale were estimated from `n` accounts.

        The median's variance is π/2 · σ²/n, so a new account's distance from the estimated
        centre has its scale × √(1 + π/(2n)). The scale is a median absolute deviation, whose
        sampling error is that of a standard deviation on df = 0.37 (n − 1) degrees of freedom
        (its efficiency at the normal): z is the fitted t divided by √(χ²(df)/df), whose tail is
        at least as heavy as the heavier of the two, and a t with 1/ν' = 1/ν + 1/df is heavier
        than both. Against that mixture integrated numerically (ν 2.5–60, n 15–200, z 2.5 and
        3.5) its p is at most 21 % larger at n = 15, 15 % at n = 60 and 6 % at n = 200:
        conservative, and one t evaluation per account (the mixture cost 0.6 s at 20,000
        accounts). At n = 200 it moves p by a few per cent; in a cohort of 30 a plug-in
        p = 0.003 is 0.008 (ν = 10, z = 3.5)."""
        if not math.isfinite(self.n):
            return 1.0, self.nu
        n = max(self.n, 2.0)
        df = MAD_EFFICIENCY * (n - 1.0)
        return math.sqrt(1.0 + math.pi / (2.0 * n)), 1.0 / (1.0 / self.nu + 1.0 / df)

    def p(self, values: FloatArray) -> FloatArray:
        """One-sided upper-tail p-values on the predictive null (`predictive`)."""
        widen, nu = self.predictive()
        return student_t_sf(self.z(values) / widen, nu)

    def recentred(self, values: FloatArray) -> EmpiricalNull:
        """This (reference) null with its centre raised to the team's median statistic when that
        is higher (see `recentre_beta` for why), and its scale widened to the team's own robust
        scale when that is wider. A reference is another organisation's spread: a team whose
        people differ more from each other than that organisation's did (measured: a reference
        whose usage-jump scale was a third of a generated team's put honest agent adopters of
        the team in `review` at p = 1e-4 to 2e-8) is judged by its own, never by a narrower one."""
        if values.size < MIN_TEAM_FOR_MEDIAN:
            return self
        centre = max(self.centre, float(np.median(values)))
        scale = self.scale
        if values.size >= MIN_TEAM_FOR_SCALE:
            scale = max(scale, robust_scale(values, floor=0.0))
        return EmpiricalNull(centre, scale, self.nu, self.n)

    def clear_level(self, p: float) -> float:
        """The value of the statistic whose p-value is `p`."""
        widen, nu = self.predictive()
        return self.centre + student_t_isf(p, nu) * widen * self.scale


#: A reference's null is moved to the team's own median when the team has at least this many
#: accounts to take a median of.
MIN_TEAM_FOR_MEDIAN = 3
#: ... and widened to the team's own spread when it has at least this many.
MIN_TEAM_FOR_SCALE = 5


def recentre_beta(a: float, b: float, x: IntArray, n: IntArray) -> tuple[float, float]:
    """A reference's Beta(a, b) of honest rates, its mean raised to this team's median rate when
    that is higher (same concentration a + b). A reference comes from another organisation: a
    habit the whole team shares (small pull requests, a cached toolchain) is not evidence
    against any one of them, and a median ignores one tokenmaxxer in a team of three or more.
    Never lowered: a team's median can only make the test more conservative."""
    has = n > 0
    if has.sum() < MIN_TEAM_FOR_MEDIAN:
        return a, b
    median = float(np.median(x[has] / n[has]))
    mean, k = a / (a + b), a + b
    if median <= mean:
        return a, b
    m = min(median, 0.999)
    return m * k, (1 - m) * k
