"""ivspill.bounds: on random valid designs (irrelevance-respecting pair types, outcomes satisfying MTR and MTS) the
truth from the potential outcomes lies inside the exact-population bounds; affine invariance and relabelling; no
interference gives the LATE; bad designs are refused by name; coverage of the Imbens–Manski intervals; the entry
points return members of the result family and take any seed."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivspill.bounds import (MTR_TYPES, allowed_pairs, mtr_bounds, mtr_coverage, mtr_tests, mtr_truth, simulate_mtr_groups,
                            simulate_mtr_pairs)
from ivspill.core import Bounds, TestResult

ALLOWED = sorted({"".join(sorted((a, b), key=MTR_TYPES.index)) for a in MTR_TYPES for b in MTR_TYPES
                  if allowed_pairs().loc[a, b]})


@st.composite
def valid_designs(draw):
    """Integer weights on a random set of allowed pairs (so that exact populations exist), and outcomes whose four
    corner values Y_T(d, s) are ordered A ≥ S ≥ C ≥ P ≥ G ≥ N at every corner (MTS) and rise in d (MTR)."""
    weights = draw(st.lists(st.integers(0, 4), min_size=len(ALLOWED), max_size=len(ALLOWED)))
    pairs = {p: w for p, w in zip(ALLOWED, weights) if w > 0}
    if not pairs or not any(("C" in p) for p in pairs): pairs["CC"] = 2  # relevance: some compliers
    corners = np.array(draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=24, max_size=24))).reshape(4, 6)
    corners = -np.sort(-corners, axis=1)  # at each corner (d, s), types in decreasing order A..N
    y00, y01 = corners[0], corners[1]
    y10, y11 = y00 + np.abs(corners[2]), y01 + np.abs(corners[3])  # MTR: Y(1, s) ≥ Y(0, s)
    y10, y11 = -np.sort(-y10), -np.sort(-y11)  # keep the type ordering after adding the effects
    outcomes = {t: (y00[k], y10[k] - y00[k], y01[k] - y00[k], y11[k] - y10[k] - y01[k] + y00[k])
                for k, t in enumerate(MTR_TYPES)}
    return pairs, outcomes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(design=valid_designs())
def test_truth_inside_exact_population_bounds(design):
    pairs, outcomes = design
    total = sum(pairs.values())
    pop = simulate_mtr_pairs({k: v / total for k, v in pairs.items()}, n_pairs=4 * total, outcomes=outcomes,
                             noise_sd=0.0, exact=True)
    fit = mtr_bounds(pop, y="y", d="d", z="z", group="group", n_boot=2, min_share=1e-9)
    truth = mtr_truth(pop, 1)[fit.lower.index]
    identified = truth.notna()
    assert fit.contains(truth[identified], tol=1e-9)[identified].all(), (fit.summary(), truth)


def test_no_interference_gives_the_late():
    rng = np.random.default_rng(41)
    outcomes = {t: (rng.normal(), 1.0 + k, 0.0, 0.0) for k, t in enumerate(MTR_TYPES)}
    outcomes["A"], outcomes["N"] = (9, 0.5, 0, 0), (-9, 0.5, 0, 0)
    pop = simulate_mtr_pairs({"AA": .1, "AC": .2, "AN": .1, "CC": .3, "NC": .2, "NN": .1}, n_pairs=80,
                             outcomes=outcomes, noise_sd=0.0, exact=True)
    fit = mtr_bounds(pop, y="y", d="d", z="z", group="group", n_boot=2)
    late = outcomes["C"][1]
    np.testing.assert_allclose(fit.lower[["tau_D(0)", "tau_D(1)"]], late, atol=1e-10)
    np.testing.assert_allclose(fit.upper[["tau_D(0)", "tau_D(1)"]], late, atol=1e-10)
    np.testing.assert_allclose(fit.lower[["tau_S(0)", "tau_S(1)"]], 0.0, atol=1e-10)
    np.testing.assert_allclose(fit.upper[["tau_S(0)", "tau_S(1)"]], 0.0, atol=1e-10)


def test_affine_invariance_and_relabelling():
    """y → 3 + 2y maps the bounds to 2L, 2U; shuffling rows changes nothing."""
    sim = simulate_mtr_pairs({"AA": .05, "AN": .05, "AC": .1, "SS": .05, "SC": .1, "CC": .2, "CP": .05, "CG": .1,
                              "GG": .05, "NC": .15, "NN": .1}, n_pairs=3_000, seed=42)
    base = mtr_bounds(sim, y="y", d="d", z="z", group="group", n_boot=2)
    scaled = mtr_bounds(sim.assign(y=3 + 2 * sim.y), y="y", d="d", z="z", group="group", n_boot=2)
    close = dict(rtol=1e-10, atol=1e-12)  # rounding only: relative differences ≤ 2e-13 over seeds
    np.testing.assert_allclose(scaled.lower, 2 * base.lower, **close)
    np.testing.assert_allclose(scaled.upper, 2 * base.upper, **close)
    shuffled = mtr_bounds(sim.sample(frac=1.0, random_state=1), y="y", d="d", z="z", group="group", n_boot=2)
    np.testing.assert_allclose(shuffled.lower, base.lower, **close)


def test_bad_designs_are_refused():
    sim = simulate_mtr_pairs({"CC": .5, "NC": .5}, n_pairs=500, seed=43)
    group_level = sim.assign(z=sim.groupby("group").z.transform("first"))  # whole groups assigned together
    with pytest.raises(ValueError, match="individually randomised"):
        mtr_bounds(group_level, y="y", d="d", z="z", group="group")
    with pytest.raises(ValueError, match="different sizes"):
        mtr_bounds(pd.concat([sim, sim.iloc[:1].assign(group=-1)]), y="y", d="d", z="z", group="group")
    with pytest.raises(ValueError, match="violate irrelevance"):
        simulate_mtr_pairs({"AS": 1.0}, n_pairs=10)


def test_coverage_fast():
    """One-sided: the truths lie inside the identified sets, which Imbens–Manski intervals cover with probability → 1
    (measured 1.0 over five seeds of 60); ≥ 0.88 holds for any seed and excludes missing one truth in eight."""
    coverage = mtr_coverage(60, n_pairs=1_500, n_boot=99, seed=44)
    assert (coverage >= 0.88).all(), coverage


@pytest.mark.slow
def test_coverage_500_replications():
    """Imbens–Manski 95% intervals cover the true effect in at least 95% of 500 replications (1,500 pairs each)."""
    coverage = mtr_coverage(500, n_pairs=1_500, n_boot=199, seed=45)
    assert (coverage >= 0.95).all(), coverage


P1_PAIRS = {"AA": .05, "AN": .05, "AC": .1, "SS": .05, "SC": .1, "CC": .2, "CP": .05, "CG": .1, "GG": .05, "NC": .15,
            "NN": .1}


def test_entry_points_return_family_members():
    sim = simulate_mtr_pairs(P1_PAIRS, n_pairs=2_000, seed=46)
    fit = mtr_bounds(sim, y="y", d="d", z="z", group="group", n_boot=50)
    assert isinstance(fit, Bounds) and (fit.se_lower > 0).all() and (fit.se_upper > 0).all()
    assert fit.notes[0].startswith("1 peer(s) per unit") and not fit.crossed.any()
    for hypothesis, rows in (("irrelevance", 8), ("sutva", 2)):
        test = mtr_tests(sim, d="d", z="z", group="group", hypothesis=hypothesis, n_boot=50)
        assert isinstance(test, TestResult) and len(test.details) == rows and 0 <= test.p_value <= 1
    assert mtr_tests(sim, d="d", z="z", group="group", hypothesis="sutva", n_boot=50).df == 2
    with pytest.raises(ValueError, match="hypothesis must be one of"):
        mtr_tests(sim, d="d", z="z", group="group", hypothesis="mtr")
    with pytest.raises(TypeError):  # columns are keyword-only
        mtr_bounds(sim, "y", "d", "z", "group")
    with pytest.raises(TypeError):
        mtr_tests(sim, "d", "z", "group")


def test_half_line_has_an_infinite_end_and_interval():
    pop = simulate_mtr_groups({"C": .5, "G": .2, "N": .3}, m=2, n_groups=8_000, noise_sd=0.0, exact=True)
    fit = mtr_bounds(pop, y="y", d="d", z="z", group="group", n_boot=20, min_share=1e-9)
    assert fit.half_line["tau_D(1)"] and fit.lower["tau_D(1)"] == -np.inf and fit.se_lower["tau_D(1)"] == 0
    assert fit.conf_int().loc["tau_D(1)", "lower"] == -np.inf and np.isfinite(fit.conf_int().loc["tau_D(1)", "upper"])


def test_seeds_int_generator_or_none():
    """`seed` goes through ivspill.core.rng: an int reproduces, a Generator is used as it is, None is fresh entropy;
    the coverage loop draws one stream per replication (ivspill.core.rng_streams)."""
    pd.testing.assert_frame_equal(simulate_mtr_pairs(P1_PAIRS, 300, seed=np.random.default_rng(47)),
                                  simulate_mtr_pairs(P1_PAIRS, 300, seed=47))
    pd.testing.assert_frame_equal(simulate_mtr_groups({"C": .5, "N": .5}, n_groups=100, seed=np.random.default_rng(48)),
                                  simulate_mtr_groups({"C": .5, "N": .5}, n_groups=100, seed=48))
    assert len(simulate_mtr_pairs(P1_PAIRS, 300, seed=None)) == 600
    pd.testing.assert_series_equal(mtr_coverage(3, n_pairs=500, n_boot=20, seed=49),
                                   mtr_coverage(3, n_pairs=500, n_boot=20, seed=49))
    assert mtr_coverage(3, n_pairs=500, n_boot=20, seed=np.random.default_rng(50)).between(0, 1).all()
    with pytest.raises(TypeError, match="seed must be"):
        simulate_mtr_pairs(P1_PAIRS, 300, seed=1.5)
