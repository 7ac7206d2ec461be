"""Our scipy.special-based statistics agree with the scipy.stats routines they replace."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tokenaudit.checks import stats as stats_module
from tokenaudit.checks.stats import (
    beta_binomial_sf,
    bonferroni_min,
    fdr_adjust,
    fit_beta_binomial,
    robust_scale,
    siegel_slope,
    student_t_isf,
    student_t_sf,
)


def test_siegel_slope_matches_scipy_hierarchical_method() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=60)
    y = 2.0 + 0.7 * x + rng.standard_t(3, size=60)
    ours = siegel_slope(x, y)
    ref = stats.siegelslopes(y, x, method="hierarchical")
    assert ours == pytest.approx((ref.slope, ref.intercept), rel=1e-9)


def test_siegel_slope_survives_constant_x() -> None:
    assert siegel_slope(np.zeros(5), np.arange(5.0)) == (0.0, 2.0)


@pytest.mark.parametrize("n", [7, 650])  # either side of numpy's 600-column nanmedian switch
def test_siegel_slope_in_blocks_is_the_whole_matrix_exactly(
    n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(n)
    x = np.round(rng.normal(size=n), 1)  # ties: rows with some undefined slopes
    x[: n // 3] = 0.0
    y = rng.standard_t(3, size=n)
    whole = siegel_slope(x, y)
    for cells in (1, n + 1, 5 * n - 1):  # a row, rows and a remainder
        monkeypatch.setattr(stats_module, "SIEGEL_BLOCK_CELLS", cells)
        assert siegel_slope(x, y) == whole


@pytest.mark.parametrize("seed", range(6))
def test_siegel_slope_is_the_row_by_row_nan_median_exactly(seed: int) -> None:
    # The ordered pairs with infinities for the unusable ones against each row's usable slopes
    # on their own, over both parities of n and of each row's ties.
    rng = np.random.default_rng(seed)
    for n in (1, 2, 3, 4, 9, 10, 61, 64):
        x = rng.normal(size=n)
        y = rng.normal(size=n)
        for xs in (x, np.round(x), np.round(2 * x) / 2, np.full(n, 1.5), rng.integers(0, 2, n)):
            xs = xs.astype(np.float64)
            assert siegel_slope(xs, y) == stats_module._siegel_slope_rows(xs, y)


@pytest.mark.parametrize("seed", range(2))
def test_siegel_slope_by_band_is_every_row_exactly(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The band (`_banded_medians`) against every row's median, to the bit: ties in x, zero
    # slopes (rounded y; the band refuses a middle of ±0), both parities of n.
    rng = np.random.default_rng(seed)
    monkeypatch.setattr(stats_module, "SIEGEL_BANDED_FROM", 0)
    for n in (2, 3, 10, 61, 64, 401, 1_200):
        x = rng.normal(size=n)
        y = rng.standard_t(3, size=n)
        for xs in (x, np.round(x), np.round(2 * x) / 2, rng.integers(0, 2, n)):
            for ys in (y, np.round(y)):
                xs, ys = xs.astype(np.float64), ys.astype(np.float64)
                ours = np.array(siegel_slope(xs, ys))
                every_row = np.array(stats_module._siegel_slope_rows(xs, ys))
                assert ours.tobytes() == every_row.tobytes()


def test_student_t_tail_matches_scipy() -> None:
    z = np.array([-2.0, 0.0, 1.5, 4.0])
    assert student_t_sf(z, 3.7) == pytest.approx(stats.t.sf(z, 3.7), rel=1e-9)
    assert student_t_isf(0.05, 3.7) == pytest.approx(stats.t.isf(0.05, 3.7), rel=1e-9)


def test_beta_binomial_tail_matches_scipy() -> None:
    x = np.array([0, 1, 5, 20, 21])
    n = np.array([20, 20, 20, 20, 20])
    expected = np.where(x > n, 0.0, stats.betabinom.sf(x - 1, n, 0.7, 3.2))
    assert beta_binomial_sf(x, n, 0.7, 3.2) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_fdr_adjust_matches_scipy_for_bh_and_by() -> None:
    p = np.array([0.001, 0.04, 0.03, 0.5, 0.01, 0.2, 0.9])
    assert fdr_adjust(p, dependent=False) == pytest.approx(
        stats.false_discovery_control(p, method="bh")
    )
    assert fdr_adjust(p, dependent=True) == pytest.approx(
        stats.false_discovery_control(p, method="by")
    )
    assert fdr_adjust(np.array([]), dependent=False).size == 0


@pytest.mark.parametrize("dependent", [False, True])
def test_fdr_adjust_over_a_larger_family_counts_the_missing_hypotheses_as_p_one(
    dependent: bool,
) -> None:
    p = np.array([0.0004, 0.002, 0.03, 0.5, 0.9])
    padded = np.concatenate([p, np.ones(195)])
    assert fdr_adjust(p, dependent=dependent, family=200) == pytest.approx(
        fdr_adjust(padded, dependent=dependent)[:5]
    )
    # A family smaller than the p-values given changes nothing.
    assert fdr_adjust(p, dependent=dependent, family=3) == pytest.approx(
        fdr_adjust(p, dependent=dependent)
    )


def test_beta_binomial_fit_recovers_known_parameters() -> None:
    rng = np.random.default_rng(7)
    n = rng.integers(20, 60, size=400)
    rates = rng.beta(2.0, 6.0, size=400)
    x = rng.binomial(n, rates)
    a, b = fit_beta_binomial(x, n)
    assert a / (a + b) == pytest.approx(0.25, abs=0.02)


def test_robust_fit_is_not_stretched_by_a_few_accounts_that_always_show_the_feature() -> None:
    n = np.full(100, 40)
    x = np.zeros(100, dtype=np.int64)
    x[:90] = np.random.default_rng(3).binomial(40, 0.02, size=90)
    x[90:] = 40  # ten accounts show the fingerprint every day
    a, b = fit_beta_binomial(x, n, robust=True)
    assert beta_binomial_sf(np.array([40]), np.array([40]), a, b)[0] < 1e-4
    plain = fit_beta_binomial(x, n)
    assert beta_binomial_sf(np.array([40]), np.array([40]), *plain)[0] > 1e-3


def test_robust_scale_never_returns_zero_for_zero_inflated_values() -> None:
    assert robust_scale(np.zeros(50), floor=0.05) == 0.05


def test_bonferroni_min_is_not_vetoed_by_a_p_value_near_one() -> None:
    assert bonferroni_min([1.0, 0.001]) == pytest.approx(0.002)


def test_mann_whitney_matches_scipy_exact_and_asymptotic() -> None:
    from tokenaudit.checks.usage_jump import mann_whitney_less

    rng = np.random.default_rng(2)
    small_a, small_b = rng.normal(size=5), rng.normal(0.8, size=6)
    assert mann_whitney_less(small_a, small_b) == pytest.approx(
        stats.mannwhitneyu(small_a, small_b, alternative="less", method="exact").pvalue
    )
    big_a, big_b = rng.normal(size=20), rng.normal(0.5, size=25)
    assert mann_whitney_less(big_a, big_b) == pytest.approx(
        stats.mannwhitneyu(big_a, big_b, alternative="less", method="asymptotic").pvalue, rel=1e-6
    )


def test_a_reference_null_is_moved_to_a_teams_median_and_widened_to_its_spread_never_narrowed() -> (
    None
):
    from tokenaudit.checks.stats import EmpiricalNull

    reference = EmpiricalNull(centre=0.0, scale=0.2, nu=30.0)
    wide_team = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 0.2])
    judged = reference.recentred(wide_team)
    assert judged.centre == 0.2
    assert judged.scale > 0.5
    assert judged.nu == reference.nu
    narrow_team = np.array([-0.01, 0.0, 0.01, 0.0, 0.02])
    assert reference.recentred(narrow_team).scale == 0.2
    # Too few to have a spread: only the centre moves.
    assert reference.recentred(np.array([3.0, 4.0, 5.0])).scale == 0.2


def test_a_null_fitted_to_a_small_cohort_keeps_honest_heavy_tails_at_their_level() -> None:
    """Honest usage has heavy tails (a Student t with 4 degrees of freedom here). Fitted to 12
    accounts, the plug-in null gives a new honest account p ≤ 0.01 more than twice as often as it
    should; read on the predictive distribution (the centre's and the scale's own error), about
    as often as it should."""
    from dataclasses import replace

    from tokenaudit.checks.stats import EmpiricalNull

    rng = np.random.default_rng(3)
    plug_in = predictive = 0.0
    rounds = 300
    for _ in range(rounds):
        cohort = rng.standard_t(4, 12)
        newcomers = rng.standard_t(4, 400)
        null = EmpiricalNull.fit(cohort, np.ones(12, dtype=bool), floor=0.0)
        assert null.n == 12
        predictive += float(np.mean(null.p(newcomers) <= 0.01)) / rounds
        plug_in += float(np.mean(replace(null, n=float("inf")).p(newcomers) <= 0.01)) / rounds
    assert plug_in > 0.02
    assert predictive <= 0.012


def test_the_predictive_null_converges_to_the_fitted_one_and_old_references_read_as_before() -> (
    None
):
    from tokenaudit.checks.stats import EmpiricalNull

    z = np.array([1.0, 2.5, 4.0])
    fitted = student_t_sf(z, 5.0)
    small, large = EmpiricalNull(0.0, 1.0, 5.0, 15.0), EmpiricalNull(0.0, 1.0, 5.0, 5000.0)
    assert np.all(small.p(z) > large.p(z))
    assert np.all(large.p(z) > fitted)
    assert large.p(z) == pytest.approx(fitted, rel=0.03)
    # A reference saved before `n` was kept has no size: it reads as the fitted t, as it did.
    saved = EmpiricalNull(0.0, 1.0, 5.0).params()
    assert "n" not in saved
    assert EmpiricalNull.from_params(saved).p(z) == pytest.approx(fitted, rel=1e-12)
    assert EmpiricalNull.from_params(small.params()).n == 15.0
    # What would clear an account is read on the same distribution.
    for p in (0.05, 0.01, 0.001):
        assert small.p(np.array([small.clear_level(p)]))[0] == pytest.approx(p, rel=1e-6)
