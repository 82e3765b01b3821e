"""Proven ends of the CAI sensitivity bounds (designs too large to enumerate): they contain the sharp interval found by
brute force on random small designs, are exact with one free stratum (no relaxation), sharp when all strata are
coupled, finite on a LaLonde-sized design within seconds, reported by `cai_sensitivity` (gap, certified, certified
robustness value, two-sided ends), and a deliberately broken relaxation is caught."""
import time

import numpy as np
import pandas as pd
import pytest

from ivspill.datasets import load_lalonde
from ivspill.interference import (LALONDE_COVARIATES, _binomial_pmfs, _coordinate_search, _count_lp,
                                  _enumerated_optimum, _exact_designs, _proven_bound, _strata, _variance_band,
                                  cai_sensitivity)
from test_interference import _brute_force_bounds, random_strata_design  # brute force: all 2^N assignments × vertices



def proven_bound(design, bands, maximize):
    return _proven_bound(design, bands, maximize)[0]


def _bands(design, xi):
    return [_variance_band(n, c, xi, False) for n, c in zip(design.sizes, design.counts)]


def _violations(seed, n_designs, shrink=1.0):
    """On `n_designs` random small designs: the proven bounds (computed with the band of ξ' = 1 + (ξ − 1)·`shrink`;
    `shrink` < 1 is a deliberately broken relaxation) against the brute-force sharp interval at ξ, and the attained
    values of a coordinate search against it. Returns (bound violations, attained violations, gaps)."""
    rng = np.random.default_rng(seed)
    broken, attained, gaps = 0, 0, []
    for _ in range(n_designs):
        y, d, strata = random_strata_design(rng, int(rng.integers(2, 4)), 4, 8)
        xi = float(rng.choice([1.5, 2.0, 3.0, 5.0]))
        sharp_low, sharp_high = _brute_force_bounds(y, d, strata, xi)
        design = _exact_designs(y, d, strata, [1.0])[0]
        narrow = _bands(design, 1 + (xi - 1) * shrink)
        upper, lower = proven_bound(design, narrow, True), proven_bound(design, narrow, False)
        broken += (upper < sharp_high - 1e-9) + (lower > sharp_low + 1e-9)
        start = _binomial_pmfs(design.sizes, design.counts)
        found = [_coordinate_search(design, _bands(design, xi), maximize, start)[0] for maximize in (True, False)]
        attained += (found[0] > sharp_high + 1e-9) + (found[1] < sharp_low - 1e-9)
        gaps += [upper - sharp_high, sharp_low - lower]
    return broken, attained, np.array(gaps)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_proven_bounds_contain_the_sharp_interval_on_random_small_designs(seed):
    """12 random designs per seed (2-3 strata of 4-7 units, ξ from 1.5 to 5): the proven upper bound is ≥ the sharp
    maximum and the proven lower bound ≤ the sharp minimum (brute force: every assignment, every vertex combination),
    and the coordinate search's attained values lie inside the sharp interval."""
    broken, attained, gaps = _violations(seed, 12)
    assert broken == 0 and attained == 0
    assert np.isfinite(gaps).all()


def test_a_broken_relaxation_is_caught():
    """The same check on a relaxation that is deliberately too narrow (the certificate computed with a third of the
    band's excess over the benchmark variance) finds bounds that cut into the sharp interval: the check can fail."""
    broken, _, _ = _violations(1, 12, shrink=1 / 3)
    assert broken >= 3


def test_one_free_stratum_is_exact():
    """With one stratum the bound is the stratum LP's optimum (no relaxation): it equals HiGHS' solution of the LP
    (`_count_lp`, the coordinate step) to 1e-7, for both ends, on 8 random strata of 6-40 units."""
    rng = np.random.default_rng(7)
    for _ in range(8):
        y, d, strata = random_strata_design(rng, 1, 6, 41)
        design = _exact_designs(y, d, strata, [1.0])[0]
        bands, n, count = _bands(design, 2.0), int(design.sizes[0]), int(design.counts[0])
        a = design.laws[0] @ (np.arange(design.laws[0].shape[1]) >= design.threshold)  # P(T ≥ threshold | m)
        for maximize in (True, False):
            pi = _count_lp(a, n, count, *bands[0], maximize)
            np.testing.assert_allclose(proven_bound(design, bands, maximize), pi @ a, atol=1e-7)


@pytest.mark.parametrize("n_strata, low, high", [(2, 10, 21), (3, 5, 11)])
def test_coupled_strata_are_proven_sharp(n_strata, low, high):
    """Two strata of 10-20 units or three of 5-10 (beyond the brute force, within the exact engine's vertex
    enumeration, itself checked against brute force in test_interference), all coupled by one LP: the bound is never
    below the enumerated optimum and within 0.005 of it for at least 90% of 20 bounds (measured: two strata, seeds
    11-13, 59 of 60 within 0.001, the largest gap 0.004; three strata, 47 of 54 within 0.001, the largest 0.004)."""
    rng = np.random.default_rng(11)
    gaps = []
    while len(gaps) < 20:
        y, d, strata = random_strata_design(rng, n_strata, low, high)
        design = _exact_designs(y, d, strata, [1.0])[0]
        bands = _bands(design, float(rng.choice([1.5, 2.0, 3.0])))
        for maximize in (True, False):
            sharp = _enumerated_optimum(design, bands, maximize)
            if sharp is None: continue
            gaps.append((proven_bound(design, bands, maximize) - sharp[0]) * (1 if maximize else -1))
    gaps = np.array(gaps)
    assert gaps.min() > -1e-9
    assert np.mean(gaps < 0.005) >= 0.9


def test_lalonde_sized_design_gets_a_finite_gap_in_seconds():
    """LaLonde (614 men, six propensity strata of ~100, the upper tail of the two-sided test) at ξ = 1.25: the proven
    upper bound is above the attained one, the gap finite and below 0.2 (measured 0.10), in under 20 s (≈ 3 s when the
    machine is free)."""
    df = load_lalonde()
    groups = _strata(df, "treat", LALONDE_COVARIATES, None, None, 6)
    design = _exact_designs(df.re78.to_numpy(float), df.treat.to_numpy(float), groups, [1.0])[0]
    bands = _bands(design, 1.25)
    t0 = time.perf_counter()
    upper = proven_bound(design, bands, True)
    elapsed = time.perf_counter() - t0
    high = _coordinate_search(design, bands, True, _binomial_pmfs(design.sizes, design.counts))[0]
    assert 0 <= upper - high < 0.2
    assert elapsed < 20


def _two_strata(seed, size=70):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"s": np.repeat([0, 1], size)})
    df["d"] = (rng.random(2 * size) < np.where(df.s == 0, 0.3, 0.6)).astype(float)
    df["y"] = rng.normal(size=2 * size) + 0.5 * df.d
    return df


def test_cai_sensitivity_reports_proven_ends_gap_and_certified_robustness():
    """Two strata of 70 (too large to enumerate): the table has proven ends enclosing the attained bounds, a finite gap,
    `certified` exactly when the gap is ≤ SHARP_GAP, and the certified robustness value is never above the attained
    one (it is read from larger upper bounds); certify=False leaves the ends missing and says so."""
    for seed in (4, 8):
        result = cai_sensitivity(_two_strata(seed), y="y", d="d", strata="s", xi=(1, 1.5, 3))
        table = result.table
        assert (table.bound_upper >= table.p_upper - 1e-9).all() and (table.bound_lower <= table.p_lower + 1e-9).all()
        assert np.isfinite(table.gap).all() and (table.certified == (table.gap <= 1e-3)).all()
        if result.robustness_value_certified is not None and result.robustness_value is not None:
            assert result.robustness_value_certified <= result.robustness_value
    quick = cai_sensitivity(_two_strata(4), y="y", d="d", strata="s", xi=(1, 2), certify=False)
    assert np.isnan(quick.table.loc[2.0, "bound_upper"]) and quick.robustness_value_certified is None
    assert "certify=False" in quick.notes[0]


def test_two_sided_proven_ends_are_valid():
    """Two-sided: the proven upper end is twice a tail's proven maximum, the lower end twice the smaller of the tails'
    proven minima (one of them possibly 1 − the other tail's proven maximum); both enclose the attained two-sided
    bounds, and the one-sided runs' proven ends give the same numbers."""
    df = _two_strata(6)
    two = cai_sensitivity(df, y="y", d="d", strata="s", xi=(1, 1.5), alternative="two-sided").table.loc[1.5]
    right = cai_sensitivity(df, y="y", d="d", strata="s", xi=(1, 1.5), alternative="greater").table.loc[1.5]
    left = cai_sensitivity(df, y="y", d="d", strata="s", xi=(1, 1.5), alternative="less").table.loc[1.5]
    assert two.bound_lower <= two.p_lower + 1e-12 and two.p_upper <= two.bound_upper + 1e-12
    assert two.bound_upper <= 2 * min(right.bound_upper, left.bound_upper) + 1e-9
    assert two.bound_lower <= 2 * min(right.bound_lower, left.bound_lower) + 1e-9
    assert two.bound_lower >= min(2 * right.bound_lower, 2 * (1 - right.bound_upper), 2 * left.bound_lower) - 1e-9


def test_display_states_both_robustness_values():
    """When the proven upper bounds cross α earlier than the attained ones, the display says the true ξ* is at least the
    proven value (a result built by hand: the numbers of one LaLonde-calibrated Figure 1 data set, rounded)."""
    from ivspill.interference import CAISensitivity
    table = pd.DataFrame({"p_lower": [1e-5, 0, 0], "p_upper": [1e-5, 0.030, 0.071], "se_lower": 0.0, "se_upper": 0.0,
                          "bound_lower": [1e-5, 0, 0], "bound_upper": [1e-5, 0.051, 0.119], "gap": [0, 0.021, 0.048],
                          "certified": [True, False, False], "spread": 0.0}, index=pd.Index([1.0, 2.0, 5.0], name="xi"))
    result = CAISensitivity(table, 1e-5, 0.0, pd.DataFrame(), "greater", 0.05, 5.0, 4.1, (), "exact", 2.0)
    assert "ξ* = 5" in repr(result) and "the true ξ* is at least 2" in repr(result)


@pytest.mark.slow
def test_proven_bounds_contain_the_enumerated_optimum_on_many_designs():
    """1,000 bounds on random designs of 2-4 strata of 5-14 units, ξ from 1.25 to 8, with and without under-dispersion:
    the proven ends never cut into the enumerated sharp interval (the exact engine's enumeration, itself checked
    against brute force in test_interference)."""
    rng = np.random.default_rng(2026)
    checked = 0
    while checked < 1_000:
        y, d, strata = random_strata_design(rng, int(rng.integers(2, 5)), 5, 15)
        design = _exact_designs(y, d, strata, [1.0])[0]
        xi, under = float(rng.choice([1.25, 1.5, 2.0, 3.0, 5.0, 8.0])), bool(rng.random() < 0.3)
        bands = [_variance_band(n, c, xi, under) for n, c in zip(design.sizes, design.counts)]
        for maximize in (True, False):
            sharp = _enumerated_optimum(design, bands, maximize)
            if sharp is None: continue
            checked += 1
            assert (proven_bound(design, bands, maximize) - sharp[0]) * (1 if maximize else -1) > -1e-9
