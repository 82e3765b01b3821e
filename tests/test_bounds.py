"""ivspill.bounds: on random valid designs (irrelevance-respecting pair types, outcomes satisfying MTR and MTS) the
truth from the potential outcomes lies inside the exact-population bounds; affine invariance and relabelling; no
interference gives the LATE; bad designs are refused by name; coverage of the Imbens–Manski intervals; the entry
points return members of the result family and take any seed."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivspill.bounds import (FLAT_OUTCOMES, MTR_TYPES, P1_PAIRS, allowed_pairs, mtr_bounds, mtr_coverage, mtr_tests,
                            mtr_truth, simulate_mtr_groups, simulate_mtr_pairs)
from ivspill.core import Bounds, TestResult, rng_streams

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
    with pytest.raises(ValueError, match="violate irrelevance"):
        simulate_mtr_pairs({"AS": 1.0}, n_pairs=10)


@st.composite
def sparse_spillover_designs(draw):
    """Sampled (not exact) pairs with few or no spillover compliers, so that ω̂ falls on either side of 0 by sampling
    noise; P1's outcomes keep every bounding mean far from the others (μ_high − μ_low ≥ 1.5)."""
    base = {"AA": .1, "AC": .2, "AN": .1, "CC": .3, "NC": .2, "NN": .1}
    extra = draw(st.sampled_from(["SS", "SC", "CP", "CG", "GG"]))
    share = draw(st.sampled_from([0.0, 0.005, 0.02]))
    return {**base, extra: share} if share else base, draw(st.integers(0, 2**31))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(design=sparse_spillover_designs())
def test_bounds_never_inverted(design):
    """For either sign of ω̂: lower ≤ upper, no lower end at +∞ nor upper end at −∞, and the interval contains the
    set at every level (the bounding means are far apart in these designs, so a crossing would be an ordering bug)."""
    probs, seed = design
    fit = mtr_bounds(simulate_mtr_pairs(probs, n_pairs=2_000, seed=seed), y="y", d="d", z="z", group="group",
                     n_boot=30, seed=seed)
    assert (fit.lower <= fit.upper).all() and not fit.crossed.any(), fit.summary()
    assert not (fit.lower == np.inf).any() and not (fit.upper == -np.inf).any()
    for level in (0.5, 0.9, 0.99):
        ci = fit.conf_int(level)
        assert (ci.lower <= fit.lower).all() and (fit.upper <= ci.upper).all()


def test_negative_omega_keeps_the_order():
    """The design of the issue that showed τ_D(1) = [2.73, −∞) and τ_S(1) = [∞, −0.23]: SS pairs are spillover
    compliers for neither τ_D(1) nor τ_S(1), so their ω is about 0 and ω̂ < 0 on about half of the seeds."""
    signs = set()
    for seed in range(1, 7):
        fit = mtr_bounds(simulate_mtr_pairs({"CC": .3, "AA": .2, "NN": .3, "SS": .2}, 3000, seed=seed), y="y", d="d",
                         z="z", group="group", n_boot=50)
        signs |= set(np.sign(fit.sources.omega[["tau_D(1)", "tau_S(1)"]].astype(float)))
        assert (fit.lower <= fit.upper).all(), fit.summary()
        assert fit.upper["tau_D(1)"] == np.inf and fit.lower["tau_S(1)"] == -np.inf  # half-lines on the right side
        if (fit.sources.omega < 0).any(): assert any("projected on [0, 1]" in n for n in fit.notes)
    assert signs == {-1.0, 1.0}  # both signs of ω̂ were met


def test_crossed_ends_are_flagged_not_swapped():
    """FLAT_OUTCOMES: every bounding mean equals the spillover compliers' mean, so the set is a point with ω > 0 and
    the estimated ends cross on about half of the samples; they are shown as estimated, flagged and noted."""
    crossed = 0
    for seed in range(8):
        sim = simulate_mtr_pairs(P1_PAIRS, n_pairs=1_500, outcomes=FLAT_OUTCOMES, seed=seed)
        fit = mtr_bounds(sim, y="y", d="d", z="z", group="group", n_boot=50, seed=seed)
        crossed += int(fit.crossed.sum())
        if fit.crossed.any():
            assert any("not swapped" in n for n in fit.notes)
            row = fit.summary().loc[fit.crossed]
            assert (row.lower > row.upper).all() and (row.ci_lower < row.ci_upper).all()
    assert crossed > 0


def test_conf_int_any_level_without_refitting():
    sim = simulate_mtr_pairs(P1_PAIRS, n_pairs=2_000, seed=51)
    fit = mtr_bounds(sim, y="y", d="d", z="z", group="group", n_boot=99)
    widths = [(fit.conf_int(level).upper - fit.conf_int(level).lower) for level in (0.5, 0.8, 0.95, 0.99)]
    assert all((a < b).all() for a, b in zip(widths, widths[1:]))  # nested: wider at higher levels
    assert (fit.se_lower > 0).all() and (fit.se_upper > 0).all() and fit.corr.between(-1, 1).all()
    assert fit.n_clusters == 2_000


# Coverage of the true effect by the 95% intervals, on designs where the identified set is a point (FLAT_OUTCOMES: every
# type alike, so every bounding mean equals the spillover compliers' mean; the estimated ends cross on about half of
# the samples), so that coverage should be 95%, neither less nor more. Measured with 1,000 replications (τ_D(0),
# τ_D(1), τ_S(0), τ_S(1)), delta method: 1,500 pairs 0.957 0.961 0.958 0.953 (seed 11) and 0.955 0.939 0.956 0.942
# (seed 53); 200 pairs 0.964 0.943 0.946 0.955 (seed 11) and 0.972 0.955 0.957 0.966 (seed 53); pairs and triads
# pooled 0.957 0.955 0.943 0.950. Group bootstrap: 1,500 pairs 0.960 0.946 0.956 0.948; 200 pairs 0.986 0.974 0.969
# 0.983 (seed 53), too conservative.
TRIADS = {"A": .1, "S": .1, "C": .4, "P": .05, "G": .1, "N": .25}  # type shares of the triads (m = 2)
POINT_DESIGNS = {"1,500 pairs": 1_500, "200 pairs (few groups)": 200}


@pytest.mark.parametrize("n_pairs, n_reps", [(1_500, 150), (200, 300)], ids=POINT_DESIGNS.keys())
def test_coverage_near_point_identification_fast(n_pairs, n_reps):
    """Band [0.88, 0.995]: 4 Monte Carlo standard errors below 0.95 with 150 replications, and it excludes certain
    coverage (plain Imbens–Manski on ends taken in order covered 0.96–0.985 here, Stoye's version 0.93–0.96). With
    200 pairs coverage is about 0.97, so 300 replications keep the chance that all cover below 1e-3."""
    coverage = mtr_coverage(n_reps, n_pairs=n_pairs, outcomes=FLAT_OUTCOMES, seed=52)
    assert coverage.between(0.88, 0.995).all(), coverage


@pytest.mark.slow
@pytest.mark.parametrize("n_pairs, se, highest", [(1_500, "delta", 0.97), (1_500, "bootstrap", 0.97),
                                                   (200, "delta", 0.98)], ids=["1,500 pairs", "1,500 pairs, bootstrap",
                                                                               "200 pairs (few groups)"])
def test_coverage_near_point_identification_1000_replications(n_pairs, se, highest):
    """1,000 replications: coverage of the true (point) effect within [0.93, 0.97]. With 200 pairs (about 50 groups
    per instrument cell) the delta-method intervals over-cover by about 1.5 points (0.964 and 0.973 for τ_D(0) on two
    seeds), so the band there is [0.93, 0.98]: a measured limit of the interval with few groups, not hidden."""
    coverage = mtr_coverage(1_000, n_pairs=n_pairs, se=se, n_boot=199, outcomes=FLAT_OUTCOMES, seed=53)
    assert coverage.between(0.93, highest).all(), coverage


def _pooled_coverage(n_reps: int, seed) -> pd.Series:
    """Coverage over replications of 1,000 pairs and 1,500 triads (FLAT_OUTCOMES, point-identified sets) pooled over
    group sizes, the truth being the effect averaged over every target unit of the sizes that identify it."""
    covered = []
    for stream in rng_streams(seed, n_reps):
        pairs = simulate_mtr_pairs(P1_PAIRS, n_pairs=1_000, outcomes=FLAT_OUTCOMES, seed=stream)
        triads = simulate_mtr_groups(TRIADS, m=2, n_groups=1_500, outcomes=FLAT_OUTCOMES, seed=stream)
        fit = mtr_bounds(pd.concat([pairs, triads.assign(group=triads.group + 10**6)], ignore_index=True), y="y",
                         d="d", z="z", group="group")
        units = {1: _target_effects(pairs, 1), 2: _target_effects(triads, 2)}
        truth = pd.Series({k: pd.concat([units[int(m)][k] for m in fit.sources.loc[k, "sizes (peers)"].split(", ")]).mean()
                           for k in fit.lower.index})
        covered.append((fit.ci_lower <= truth) & (truth <= fit.ci_upper))
    return pd.DataFrame(covered).mean()


def test_coverage_pooled_over_sizes_fast():
    "Estimated size weights (delta method through them): 100 replications, band [0.88, 0.995] as above."
    coverage = _pooled_coverage(100, seed=55)
    assert coverage.between(0.88, 0.995).all(), coverage


@pytest.mark.slow
def test_coverage_pooled_over_sizes_1000_replications():
    coverage = _pooled_coverage(1_000, seed=56)
    assert coverage.between(0.93, 0.97).all(), coverage


NO_SPILLOVER_COMPLIERS = {"AA": .25, "NN": .45, "CC": .1, "NC": .1, "AC": .1}  # no S, G or P types: ω = 0 for all


def test_coverage_at_no_spillover_compliers_fast():
    "150 replications of the design below: coverage at least 0.90 (one-sided: this design covers a little more than 95%)."
    coverage = mtr_coverage(150, n_pairs=1_500, pair_probs=NO_SPILLOVER_COMPLIERS, outcomes=FLAT_OUTCOMES, seed=58)
    assert (coverage >= 0.9).all(), coverage


@pytest.mark.slow
def test_coverage_at_no_spillover_compliers_1000_replications():
    """With no spillover compliers (ω = 0, the set the point B, on the boundary of ω's range) the ends use ω̂ projected
    on [0, 1], which widens the estimated set by nonnegative noise: the intervals cover a little more than 95%,
    0.963–0.970 (seed 57; before the outcomes were centred, 0.978–0.985). Band [0.93, 0.98]: the usual lower end, and
    one point more above for this boundary."""
    coverage = mtr_coverage(1_000, n_pairs=1_500, pair_probs=NO_SPILLOVER_COMPLIERS, outcomes=FLAT_OUTCOMES, seed=57)
    assert coverage.between(0.93, 0.98).all(), coverage


def _target_effects(pop: pd.DataFrame, m: int) -> dict:
    "Each effect's unit-level values over its target subpopulation (definitions (2)–(3) of the paper)."
    y = lambda d, s: pop.a + pop.b * d + pop.c * s / m + pop.e * d * s / m + pop.eps
    return {"tau_D(0)": (y(1, 0) - y(0, 0))[(pop.d10 > pop.d00) & (pop.s00 == 0)],
            "tau_D(1)": (y(1, m) - y(0, m))[(pop.d11 > pop.d01) & (pop.s11 == m)],
            "tau_S(0)": (y(0, pop.s01) - y(0, 0))[(pop.s01 != pop.s00) & (pop.s00 == 0) & (pop.d00 == 0)],
            "tau_S(1)": (y(1, pop.s11) - y(1, 0))[(pop.s11 != pop.s10) & (pop.s10 == 0) & (pop.d11 == 1)]}


def test_pooled_over_group_sizes_contains_the_pooled_truth():
    """Exact populations of pairs (P1) and triads (F6 types) together: the pooled bounds (each size weighted by its
    units' share × its identified target share) contain the effect averaged over every target unit of both sizes,
    computed from the potential outcomes; each size alone gives its own bounds."""
    pairs = simulate_mtr_pairs(P1_PAIRS, n_pairs=80, noise_sd=0.0, exact=True)
    triads = simulate_mtr_groups(TRIADS, m=2, n_groups=64_000,
                                 noise_sd=0.0, exact=True)
    mixed = pd.concat([pairs, triads.assign(group=triads.group + 10**6)], ignore_index=True)
    fit = mtr_bounds(mixed, y="y", d="d", z="z", group="group", n_boot=5, min_share=1e-9)
    by_size = {1: _target_effects(pairs, 1), 2: _target_effects(triads, 2)}
    for effect in fit.lower.index:
        units = pd.concat([by_size[m][effect] for m in (1, 2) if effect in mtr_bounds(
            triads if m == 2 else pairs, y="y", d="d", z="z", group="group", n_boot=2, min_share=1e-9).lower.index])
        assert fit.lower[effect] - 1e-9 <= units.mean() <= fit.upper[effect] + 1e-9, (effect, units.mean(), fit.summary())
    assert fit.sources.loc["tau_D(0)", "sizes (peers)"] == "1, 2" and fit.sources.loc["tau_S(0)", "sizes (peers)"] == "1"
    assert "pooled over group sizes" in fit.notes[0] and fit.n_clusters == 80 + 64_000


def test_sizes_without_cells_are_named_and_singletons_left_out():
    sim = simulate_mtr_pairs(P1_PAIRS, n_pairs=1_000, seed=54)
    lone = pd.DataFrame({"group": [-1, -2], "z": [0, 1], "d": [0, 1], "y": [0.0, 1.0]})
    fit = mtr_bounds(pd.concat([sim, lone], ignore_index=True), y="y", d="d", z="z", group="group", n_boot=20)
    assert "{0: 'no peers'}" in fit.notes[-1]
    single = mtr_bounds(sim, y="y", d="d", z="z", group="group", n_boot=20)
    np.testing.assert_allclose(fit.lower, single.lower, rtol=1e-12)  # one size with peers: its own bounds


def test_mtr_tests_without_cell_11():
    """Without pairs in which both are assigned, Prop. 1's first equality and Prop. 2's four d = 0 inequalities (cells
    00, 10, 01) are tested, and a note names what is left out."""
    sim = simulate_mtr_pairs(P1_PAIRS, n_pairs=3_000, seed=55)
    no11 = sim[sim.groupby("group").z.transform("min").eq(0)]
    sutva = mtr_tests(no11, d="d", z="z", group="group", hypothesis="sutva", n_boot=99)
    assert list(sutva.details.index) == ["Prop 1: D(01) - D(00) = P[S,P]"] and sutva.df == 1 and sutva.p_value < 1e-6
    irrelevance = mtr_tests(no11, d="d", z="z", group="group", n_boot=99)
    assert len(irrelevance.details) == 4 and all("(d=0)" in r for r in irrelevance.details.index)
    assert irrelevance.p_value > 0.001 and any("not tested" in n for n in irrelevance.notes)
    only_00 = sim[sim.groupby("group").z.transform("max").eq(0)]
    with pytest.raises(ValueError):
        mtr_tests(only_00, d="d", z="z", group="group", n_boot=19)


def _pair_units(sim: pd.DataFrame) -> pd.DataFrame:
    "Each unit of a pair data set with its instrument cell (own z, peer's z) and its peer's take-up."
    groups = sim.groupby("group")
    peer_d, peer_z = groups.d.transform("sum") - sim.d, groups.z.transform("sum") - sim.z
    return sim.assign(cell=sim.z.astype(int).astype(str) + peer_z.astype(int).astype(str), peer_d=peer_d)


def one_sided_wald_ratio():
    """The bounds of a one-sided pair design (3,000 pairs), where τ_S(0) is point identified (Theorem 2.1) as
    −Δ[Y(1−D)] / Δ[(1−D)·1{peer untreated}] between cells 01 and 00: a Wald ratio, i.e. minus the 2SLS coefficient
    with the cell-01 indicator as instrument; and that 2SLS in linearmodels, clustered by pair (no small-sample
    factor). Returns (bounds, 2SLS fit, √(G/(G−1)) with G the groups behind the bounds)."""
    from linearmodels.iv import IV2SLS
    sim = simulate_mtr_pairs({"CC": .4, "CG": .2, "NC": .2, "NN": .2}, n_pairs=3_000, seed=4)
    fit = mtr_bounds(sim, y="y", d="d", z="z", group="group")
    u = _pair_units(sim)
    u = u.assign(v0=(1 - u.d) * (u.peer_d == 0), y_untreated=u.y * (1 - u.d), in_01=(u.cell == "01") * 1.0,
                 const=1.0)[u.cell.isin(["01", "00"])]
    iv = IV2SLS(u.y_untreated, u[["const"]], u[["v0"]], u[["in_01"]]).fit(cov_type="clustered", clusters=u.group)
    return fit, iv, np.sqrt(fit.n_clusters / (fit.n_clusters - 1))


def test_delta_se_of_a_point_identified_effect_equals_clustered_2sls():
    """`one_sided_wald_ratio`: the delta-method standard error of τ_S(0) equals linearmodels' group-clustered 2SLS
    standard error times √(G/(G−1)) (groups outside the two cells contribute nothing to the sums)."""
    pytest.importorskip("linearmodels")
    fit, iv, factor = one_sided_wald_ratio()
    assert any("one-sided" in n for n in fit.notes)
    np.testing.assert_allclose([fit.lower["tau_S(0)"], fit.upper["tau_S(0)"]], -iv.params["v0"], rtol=1e-10)
    np.testing.assert_allclose([fit.se_lower["tau_S(0)"], fit.se_upper["tau_S(0)"]], iv.std_errors["v0"] * factor,
                               rtol=1e-7)  # numerical Jacobian: measured 1.5e-11


def test_delta_se_of_a_share_equals_clustered_ols():
    """The target share of τ_D(0) is a difference of cell means of (1−D)·1{peer untreated} (cell 00 minus 10): its
    delta-method standard error equals statsmodels' group-clustered OLS standard error on the cell indicator
    (without small-sample correction) times √(G/(G−1))."""
    import statsmodels.api as sm
    sim = simulate_mtr_pairs(P1_PAIRS, n_pairs=3_000, seed=6)
    fit = mtr_bounds(sim, y="y", d="d", z="z", group="group")
    u = _pair_units(sim)
    u = u.assign(v0=(1 - u.d) * (u.peer_d == 0))[u.cell.isin(["10", "00"])]
    ols = sm.OLS(u.v0.to_numpy(float), sm.add_constant((u.cell == "10").to_numpy(float))).fit(
        cov_type="cluster", cov_kwds={"groups": u.group.to_numpy(), "use_correction": False})
    g = fit.n_clusters
    np.testing.assert_allclose(fit.sources.loc["tau_D(0)", "target_share"], -ols.params[1], rtol=1e-10)
    np.testing.assert_allclose(fit.sources.loc["tau_D(0)", "se_target_share"], ols.bse[1] * np.sqrt(g / (g - 1)),
                               rtol=1e-7)


@pytest.mark.parametrize("mixed", [False, True])
def test_delta_and_bootstrap_standard_errors_agree(mixed):
    """The delta method and the group bootstrap estimate the same standard errors of the ends (and shares), also
    pooled over group sizes, where the weights are estimated. 2,999 draws: a bootstrap SE is within ±2.6% (2 Monte
    Carlo SEs, 1/√(2B)) of its limit; with the delta method's own O(1/G) difference, tolerance 8% (measured at most
    3.5% over six seeds of the pooled design)."""
    sim = simulate_mtr_pairs(P1_PAIRS, n_pairs=3_000, seed=7)
    if mixed:  # triads with many spillover compliers: ω̂ well inside (0, 1), away from its projection's kink
        triads = simulate_mtr_groups({"A": .1, "S": .2, "C": .3, "P": .1, "G": .2, "N": .1}, m=2, n_groups=2_000,
                                     seed=7)
        sim = pd.concat([sim, triads.assign(group=triads.group + 10**6)], ignore_index=True)
    delta = mtr_bounds(sim, y="y", d="d", z="z", group="group")
    boot = mtr_bounds(sim, y="y", d="d", z="z", group="group", se="bootstrap", n_boot=2_999, seed=8)
    pd.testing.assert_series_equal(delta.lower, boot.lower)
    for column in ("se_lower", "se_upper"):
        np.testing.assert_allclose(getattr(delta, column), getattr(boot, column), rtol=0.08)
    np.testing.assert_allclose(delta.corr, boot.corr, atol=0.1)
    if not mixed:
        np.testing.assert_allclose(delta.sources.se_target_share.astype(float),
                                   boot.sources.se_target_share.astype(float), rtol=0.08)


def test_omega_zero_by_design_is_a_point_and_by_chance_a_half_line():
    """τ_D(0) under one-sided noncompliance (only C and N types): a peer who is not assigned never takes up, so no
    unit can be a spillover complier: ω̂ = 0 with no sampling variance, and the half-line side is the point B.
    With always-takers among the peers (AA, NN, CC, NC, AC pairs, exact population) ω̂ = 0 only by the balance of the
    sample: ω may be positive in the population the sample comes from, so the sides stay half-lines, with finite
    standard errors of the finite ends and no NaN."""
    by_design = mtr_bounds(simulate_mtr_pairs({"CC": .4, "NC": .3, "NN": .3}, n_pairs=2_000, seed=9), y="y", d="d",
                           z="z", group="group")
    row = by_design.summary().loc["tau_D(0)"]
    assert by_design.sources.omega["tau_D(0)"] == 0 and row.lower == row.upper and np.isfinite(row.lower)
    assert row.se_lower > 0 and by_design.sources.lower_from["tau_D(0)"] == "point identified (ω = 0)"
    by_chance = mtr_bounds(simulate_mtr_pairs({"AA": .25, "NN": .45, "CC": .1, "NC": .1, "AC": .1}, n_pairs=4_000,
                                              exact=True, seed=1), y="y", d="d", z="z", group="group",
                           assumptions=("mts",))
    assert (by_chance.sources.omega == 0).all() and by_chance.half_line.all()
    finite = np.isfinite(by_chance.lower)
    assert np.isfinite(by_chance.se_lower[finite]).all() and (by_chance.se_lower[finite] > 0).all()
    assert not by_chance.ci_lower.isna().any() and not by_chance.ci_upper.isna().any()


def test_bounds_and_standard_errors_do_not_depend_on_the_outcome_origin():
    """Outcomes are centred at their mean before the bounds are computed, so adding a constant to y changes neither
    the ends (also when ω̂ falls outside [0, 1] and is projected) nor their standard errors, even at y + 1e9, where
    raw moments would cancel; scaling y scales both."""
    sim = simulate_mtr_pairs({"AA": .25, "NN": .45, "CC": .1, "NC": .1, "AC": .1}, n_pairs=1_500, seed=2)
    base = mtr_bounds(sim, y="y", d="d", z="z", group="group")
    assert ((base.sources.omega < 0) | (base.sources.omega > 1)).any()  # the projection is at work here
    for shift in (10.0, 1e6, 1e9):
        moved = mtr_bounds(sim.assign(y=sim.y + shift), y="y", d="d", z="z", group="group")
        tol = 1e-12 * shift + 1e-9
        for name in ("lower", "upper"):
            a, b = getattr(moved, name), getattr(base, name)
            assert (np.isinf(a) == np.isinf(b)).all() and np.allclose(a[np.isfinite(b)], b[np.isfinite(b)], atol=tol)
        for name in ("se_lower", "se_upper"):
            np.testing.assert_allclose(getattr(moved, name), getattr(base, name), rtol=1e-6)
        signs = np.array([1, -1, 1, -1])  # of ω in τ = B + s·ω·μ for τ_D(0), τ_D(1), τ_S(0), τ_S(1)
        np.testing.assert_allclose(moved.sources.B.astype(float) - base.sources.B.astype(float),
                                   -signs * base.sources.omega.astype(float) * shift, atol=10 * tol)  # B moves by −s·ω̂·c
    scaled = mtr_bounds(sim.assign(y=3 * sim.y), y="y", d="d", z="z", group="group")
    np.testing.assert_allclose(scaled.se_lower, 3 * base.se_lower, rtol=1e-6)


def test_a_cell_of_one_group_does_not_count():
    """A cell filled by a single group has no sampling variance: the effects that need it are not identified (named
    in a note), rather than reported with a standard error of zero for that cell's means."""
    triads = simulate_mtr_groups({"A": .2, "C": .5, "N": .3, "S": .1, "G": .1}, m=2, n_groups=3_000, p_z=0.12, seed=20)
    assigned = triads.groupby("group").z.sum()
    drop = assigned[assigned == 3].index[1:]  # keep one group with all three assigned (cell 11)
    fit = mtr_bounds(triads[~triads.group.isin(drop)], y="y", d="d", z="z", group="group", min_share=0.0)
    assert "tau_D(1)" not in fit.lower.index
    assert any("holds a single group" in n and "tau_D(1)" in n for n in fit.notes)


def test_se_must_be_named():
    with pytest.raises(ValueError, match="se must be 'delta' or 'bootstrap'"):
        mtr_bounds(simulate_mtr_pairs(P1_PAIRS, n_pairs=200, seed=1), y="y", d="d", z="z", group="group", se="hc1")


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


def test_share_table_equals_the_true_subpopulation_shares():
    """§5's shares: on exact populations (pairs P1 and F6's triads) each effect's identified target share equals the
    share of units in its target subpopulation, counted from the potential take-ups; the bounding means' shares are
    the true shares of their subpopulations' units (P[NN] for τ_D(0)'s lower side: both never-takers)."""
    pairs = simulate_mtr_pairs(P1_PAIRS, n_pairs=80, noise_sd=0.0, exact=True)
    triads = simulate_mtr_groups(TRIADS, m=2, n_groups=64_000,
                                 noise_sd=0.0, exact=True)
    for pop, m in ((pairs, 1), (triads, 2)):
        fit = mtr_bounds(pop, y="y", d="d", z="z", group="group", n_boot=3, min_share=1e-9)
        truth = {k: len(v) / len(pop) for k, v in _target_effects(pop, m).items()}
        np.testing.assert_allclose(fit.sources.target_share.astype(float), [truth[k] for k in fit.lower.index], atol=1e-12)
    fit = mtr_bounds(pairs, y="y", d="d", z="z", group="group", n_boot=3)
    both_never = ((pairs.type == "N") & (pairs.groupby("group").type.transform(lambda t: (t == "N").all()))).mean()
    np.testing.assert_allclose(fit.sources.loc["tau_D(0)", "share_lower_mean"], both_never, atol=1e-12)


def test_weak_denominators_are_named():
    fit = mtr_bounds(simulate_mtr_pairs(P1_PAIRS, n_pairs=300, seed=2), y="y", d="d", z="z", group="group", n_boot=99)
    assert any(n.startswith("weak denominators") for n in fit.notes)
    assert (fit.sources[["se_target_share", "se_share_lower_mean", "se_share_upper_mean"]].astype(float) > 0).all().all()


def test_mtr_tests_pooled_over_group_sizes():
    """Pairs (P1: SUTVA fails in take-up) and triads together: each contrast averaged over the sizes that allow it;
    SUTVA is rejected, irrelevance not; too few groups in the needed cells is a named error, not a fake p-value."""
    triads = simulate_mtr_groups({"C": .5, "G": .2, "N": .3}, m=2, n_groups=3_000, seed=64)
    mixed = pd.concat([simulate_mtr_pairs(P1_PAIRS, 3_000, seed=65), triads.assign(group=triads.group + 10**6)])
    sutva = mtr_tests(mixed, d="d", z="z", group="group", hypothesis="sutva", n_boot=199)
    assert sutva.p_value < 1e-6 and len(sutva.details) == 2 and "pooled over group sizes" in sutva.notes[-1]
    assert mtr_tests(mixed, d="d", z="z", group="group", n_boot=199).p_value > 0.001
    tiny = simulate_mtr_pairs(P1_PAIRS, n_pairs=25, seed=66)
    assert any("from so few groups" in n for n in mtr_tests(tiny, d="d", z="z", group="group", n_boot=199).notes)
    sim = simulate_mtr_pairs(P1_PAIRS, n_pairs=400, seed=67)
    cell = sim.groupby("group").z.transform(lambda z: f"{z.iloc[0]}{z.iloc[1]}")
    in_00 = sim.group[cell == "00"].unique()
    one_pair = sim[cell.isin(["10", "01"]) | sim.group.isin(in_00[:1])]  # cell 00: one pair, no sampling variance
    with pytest.raises(ValueError, match="no implication can be tested"):
        mtr_tests(one_pair, d="d", z="z", group="group", n_boot=199)
    two_pairs = sim[cell.isin(["10", "01"]) | sim.group.isin(in_00[:2])]  # about e⁻² of the resamples lose both
    with pytest.raises(ValueError, match="sampling variance cannot be estimated"):
        mtr_tests(two_pairs, d="d", z="z", group="group", n_boot=199)
