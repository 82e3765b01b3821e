"""ivspill.interference: influence-function standard errors against Monte Carlo spread, the sensitivity machinery
against brute force and its invariants, Proposition 1's two-stage sampler, the paper's Tables 1 and S2 within the
registered tolerances with a seed other than the main job's, and the sensitivity result's display and seeds."""
import numpy as np
import pandas as pd
import pytest

from ivspill.core import REPRODUCTIONS, ResultDisplay
from ivspill.interference import (CAISensitivity, _count_lp, cai_sensitivity, count_covariance, did_adtt,
                                  fisher_rejection_rates, ipw_ade, ipw_table2, simulate_common_shock,
                                  simulate_did_interference, simulate_iv_interference, simulate_lalonde_calibrated,
                                  simulate_rdd_interference)


@pytest.mark.parametrize("method", ["ipw", "or"])
def test_did_standard_errors_match_monte_carlo_spread(method):
    """400 replications: the ratio (measured 0.92-1.0 over seeds) has Monte Carlo s.e. ≈ 0.035, so [0.8, 1.2] holds for
    any seed; it excludes standard errors 20% off (e.g. ignoring the estimated score)."""
    sims = simulate_did_interference(1_000, 400, rho=0.0, seed=31)
    fits = [did_adtt(g, y_pre="y0", y_post="y1", d="d", covariates=["w"], method=method)
            for _, g in sims.groupby("rep")]
    estimates = np.array([f.params["ADTT"] for f in fits])
    mean_se = np.mean([f.std_errors["ADTT"] for f in fits])
    assert 0.8 < mean_se / estimates.std(ddof=1) < 1.2, (mean_se, estimates.std(ddof=1))


@pytest.mark.parametrize("method", ["ht", "hajek", "aipw"])
def test_ipw_is_unbiased_for_the_ade_under_cai(method):
    sims = simulate_common_shock(500, 200, rho=0.0, seed=32)
    estimates = np.array([ipw_ade(g, y="y", d="d", covariates=["w"], method=method).params["ADE"]
                          for _, g in sims.groupby("rep")])
    assert abs(estimates.mean() - sims.delta.mean()) < 4 * estimates.std(ddof=1) / np.sqrt(len(estimates))


def test_count_lp_solution():
    """LP vertex: at most three support points, the required mean, variance inside the band."""
    rng = np.random.default_rng(33)
    n, count, xi = 40, 13, 2.0
    var_b = count * (n - count) / n
    for maximize in (True, False):
        pi = _count_lp(rng.random(n + 1), n, count, var_b, xi * var_b, maximize)
        m = np.arange(n + 1)
        assert (pi > 1e-9).sum() <= 3
        np.testing.assert_allclose(pi @ m, count, atol=1e-8)
        assert var_b - 1e-7 <= pi @ m**2 - count**2 <= xi * var_b + 1e-7


def test_two_stage_sampler_reproduces_proposition_1():
    """Draw assignments by the two-stage mechanism (count from π, then a uniform subset) and compare the empirical
    covariance of two units' assignments with Proposition 1."""
    rng = np.random.default_rng(34)
    n, draws = 8, 400_000
    pi = np.array([0.3, 0, 0, 0.1, 0.2, 0.1, 0, 0, 0.3])
    counts = rng.choice(n + 1, size=draws, p=pi)
    ranks = rng.random((draws, n)).argsort(axis=1)
    d = (ranks < counts[:, None]).astype(float)
    empirical = np.cov(d[:, 0], d[:, 1])[0, 1]
    assert abs(empirical - count_covariance(pi)) < 0.005  # the empirical covariance's s.e. is ≈ 0.0008: 6 s.e.


def test_benchmark_p_value_equals_brute_force():
    """The ξ = 1 p-value from permutation tables equals a direct simulation of the stratified Bernoulli design
    (independent draws of every unit's assignment, the rank statistic recomputed), within four s.e. of the difference
    of two Monte Carlo p-values; 5,000 permutation tables make the tables' own error negligible (with 400 it doubles
    the spread)."""
    rng = np.random.default_rng(35)
    n = 300
    df = pd.DataFrame({"x": rng.normal(size=n)})
    df["d"] = (rng.random(n) < 1 / (1 + np.exp(-df.x))).astype(int)
    df["y"] = df.x + 0.25 * df.d + rng.normal(size=n)
    result = cai_sensitivity(df, y="y", d="d", covariates=["x"], xi=(1,), n_strata=4, n_base=40_000, n_tables=5_000,
                             seed=1)
    e = result.strata.share.to_numpy()
    groups = pd.qcut(_logit_scores(df), 4, labels=False)
    ranks = df.y.groupby(groups).rank().to_numpy()
    draws = (rng.random((40_000, n)) < e[groups][None, :]).astype(float)
    brute = (1 + np.sum(draws @ ranks >= result.t_obs - 1e-9)) / 40_001
    assert abs(brute - result.p_benchmark) < 4 * np.sqrt(brute * (1 - brute) / 40_000) * np.sqrt(2)


def _logit_scores(df):
    import statsmodels.api as sm
    x = sm.add_constant(df[["x"]])
    return sm.Logit(df.d, x).fit(disp=0).predict(x)


def test_sensitivity_invariants():
    """Bounds collapse to p(1) at ξ = 1 and are monotone in ξ; a p(1) > α run is flagged uninformative."""
    rng = np.random.default_rng(36)
    df = pd.DataFrame({"x": rng.normal(size=400)})
    df["d"] = (rng.random(400) < 0.4).astype(int)
    df["y"] = df.x + 0.3 * df.d + rng.normal(size=400)
    result = cai_sensitivity(df, y="y", d="d", covariates=["x"], xi=(1, 1.5, 3), n_base=10_000, n_inner=1_000,
                             n_final=10_000, seed=2)
    table = result.table
    assert table.loc[1.0, "p_lower"] == table.loc[1.0, "p_upper"] == result.p_benchmark
    assert table.p_upper.is_monotonic_increasing and table.p_lower.is_monotonic_decreasing
    opposite = df.assign(y=df.x - 0.5 * df.d + rng.normal(size=400))  # p(1) ≈ 1 against "greater", for any seed
    assert not cai_sensitivity(opposite, y="y", d="d", covariates=["x"], xi=(1,), n_base=5_000, seed=3).informative


def test_bad_input():
    df = simulate_common_shock(100, seed=37)
    with pytest.raises(ValueError, match="must start at 1"):
        cai_sensitivity(df, y="y", d="d", covariates=["w"], xi=(1.5, 2))
    with pytest.raises(ValueError, match="alternative"):
        cai_sensitivity(df, y="y", d="d", covariates=["w"], alternative="both")
    with pytest.raises(ValueError, match="'d' must be binary"):
        ipw_ade(df.assign(d=df.d * 2), y="y", d="d", covariates=["w"])
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        ipw_ade(df.assign(e=1.0), y="y", d="d", pscore="e")


@pytest.mark.parametrize("kwargs, message", [(dict(alpha=5), "alpha"), (dict(alpha=0.0), "alpha"),
                                             (dict(n_base=0), "n_base"), (dict(n_tables=0), "n_tables"),
                                             (dict(n_strata=0), "n_strata"), (dict(n_final=2.5), "n_final"),
                                             (dict(xi=(1, np.inf)), "finite"), (dict(xi=(1, np.nan)), "finite")])
def test_sensitivity_refuses_bad_settings(kwargs, message):
    df = simulate_common_shock(100, seed=37)
    with pytest.raises(ValueError, match=message):
        cai_sensitivity(df, y="y", d="d", covariates=["w"], **kwargs)


def test_degenerate_data_get_named_errors():
    """Nobody or one treated, a separating covariate, collinear covariates, non-binary instrument or treatment."""
    from ivspill.interference import wald_lade
    df = simulate_common_shock(200, seed=42)
    for d, message in [(0.0, "no variation"), (np.r_[1.0, np.zeros(199)], "both arms")]:
        for method in ("ht", "hajek", "aipw"):
            with pytest.raises(ValueError, match=message): ipw_ade(df.assign(d=d), y="y", d="d", covariates=["w"],
                                                                  method=method)
    with pytest.raises(ValueError, match="separation"):
        ipw_ade(df.assign(s=df.d), y="y", d="d", covariates=["w", "s"])
    panel = simulate_did_interference(200, seed=42)
    with pytest.raises(ValueError, match="collinear"):
        did_adtt(panel.assign(w2=2 * panel.w), y_pre="y0", y_post="y1", d="d", covariates=["w", "w2"], method="or")
    with pytest.raises(ValueError, match="no variation"):
        did_adtt(panel.assign(d=1.0), y_pre="y0", y_post="y1", d="d", covariates=["w"])
    iv = simulate_iv_interference(200, seed=42)
    for column in ("z", "d"):
        with pytest.raises(ValueError, match=f"'{column}' must be binary"):
            wald_lade(iv.assign(**{column: iv[column] * 2 + iv.index % 3}), y="y", d="d", z="z")


def test_uninformative_run_has_no_robustness_value():
    df = simulate_common_shock(300, seed=43)
    opposite = df.assign(y=-3 * df.d + np.random.default_rng(43).normal(size=300))  # p(1) ≈ 1 against "greater"
    result = cai_sensitivity(opposite, y="y", d="d", covariates=["w"], xi=(1, 2), n_base=2_000, n_inner=200,
                             n_final=2_000, n_tables=50, seed=1)
    assert result.p_benchmark > 0.5 and result.robustness_value is None
    assert result.robustness_value_interpolated is None and "not informative" in repr(result)


def reproduced_with_seed(claim: str, seed: int) -> dict:
    "The registered reproductions whose claim starts with `claim`, run with `seed`: claim → (value, published, tolerance)."
    chosen = [r for r in REPRODUCTIONS.values() if r.claim.startswith(claim)]
    return {r.claim: (r.run(seed), r.published, r.tolerance) for r in chosen}


def test_lalonde_table1_with_another_seed():
    """Paper Table 1 (two-sided Bonferroni p-value bounds at ξ = 1, 1.25, 1.5) within the registered tolerances — four
    s.d. of the difference of our and the paper's Monte Carlo figures — with a seed other than the main job's."""
    rows = reproduced_with_seed("Table 1 (LaLonde)", seed=2)
    assert len(rows) == 5 and all(abs(v - published) <= tol for v, published, tol in rows.values()), rows


@pytest.mark.slow
def test_table_s2_with_another_seed():
    """Paper Table S2 (< 0.01, 0.857, 0.817, 1.000) with its 300 replications and 20,000 draws per p-value, within the
    registered tolerances (four s.e. of the difference of two 300-replication rates), with a seed other than the
    main job's."""
    rows = reproduced_with_seed("Table S2", seed=8)
    assert len(rows) == 4 and all(abs(v - published) <= tol for v, published, tol in rows.values()), rows


def _sensitivity(p_upper, alternative="greater"):
    "A CAISensitivity with upper bounds `p_upper` at ξ = 1, 2, 4 and its robustness value (the first ξ above α)."
    xis = [1.0, 2.0, 4.0]
    table = pd.DataFrame({"p_lower": [p_upper[0]] * 3, "p_upper": p_upper}, index=pd.Index(xis, name="xi"))
    above = [x for x, p in zip(xis, p_upper) if p > 0.05]
    return CAISensitivity(table, p_upper[0], 1234.5, pd.DataFrame(), alternative, 0.05, above[0] if above else None,
                          2.5 if above and above[0] > 1 else None)


@pytest.mark.parametrize("p_upper, verdict", [([0.01, 0.02, 0.03], "not reached on the grid"),
                                              ([0.01, 0.02, 0.3], "ξ* = 4"), ([0.4, 0.5, 0.6], "not informative")])
def test_sensitivity_display_states_the_verdict(p_upper, verdict):
    text = repr(_sensitivity(p_upper))
    assert verdict in text and "None" not in text and "T_obs = 1,234.5" in text


def test_lower_tail_is_explained():
    assert "p = P(T ≤ T_obs)" in repr(_sensitivity([0.01, 0.02, 0.3], alternative="less"))


def test_cai_sensitivity_is_a_displayed_result_and_takes_any_seed():
    df = simulate_common_shock(300, seed=np.random.default_rng(38))
    draws = dict(xi=(1, 2), n_base=2_000, n_inner=200, n_final=2_000, n_tables=50)
    for seed in (np.random.default_rng(39), None, 39):
        result = cai_sensitivity(df, y="y", d="d", covariates=["w"], alternative="less", **draws, seed=seed)
        assert isinstance(result, ResultDisplay) and result.t_obs > 0
        pd.testing.assert_frame_equal(result.summary(), result.table)
        assert repr(result).startswith("CAI sensitivity") and "p\\_upper" in result.to_latex()
        assert "<table" in result._repr_html_()
    with pytest.raises(TypeError, match="seed"):
        cai_sensitivity(df, y="y", d="d", covariates=["w"], **draws, seed=1.5)


def test_seeded_functions_take_a_generator():
    """A generator made from an int gives the int's draws; the replication tables run on a generator or None."""
    for simulate in (simulate_common_shock, simulate_iv_interference, simulate_rdd_interference,
                     simulate_did_interference):
        pd.testing.assert_frame_equal(simulate(50, 2, seed=np.random.default_rng(40)), simulate(50, 2, seed=40))
    pd.testing.assert_frame_equal(simulate_lalonde_calibrated(2, seed=np.random.default_rng(40)),
                                  simulate_lalonde_calibrated(2, seed=40))
    for seed in (np.random.default_rng(41), None):
        assert ipw_table2(rhos=(0.0, 1.0), n=100, n_reps=20, seed=seed).shape == (2, 7)
        assert fisher_rejection_rates(((0, 0),), n_reps=2, seed=seed).shape == (1, 2)


@pytest.mark.parametrize("multinomial", [False, True])
def test_fit_logit_matches_statsmodels(multinomial):
    """`core.fit_logit` against statsmodels' Logit/MNLogit: coefficients and fitted probabilities to 1e-6 (statsmodels'
    own convergence tolerance), the influence-based covariance to HC0's `cov_params` to 1e-8 (the same sandwich), and
    to the model-based `cov_params` within 15% (they agree asymptotically; the model is correctly specified)."""
    import statsmodels.api as sm
    from scipy.special import softmax
    from ivspill.core import fit_logit
    rng = np.random.default_rng(40)
    n = 3_000
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    if multinomial:
        probs = softmax(np.column_stack([np.zeros(n), x @ [[0.3, -0.2], [0.5, 1.0], [-0.4, 0.2]]]), axis=1)
        outcome = (rng.random(n)[:, None] > probs.cumsum(axis=1)).sum(axis=1)
        model = sm.MNLogit(outcome, x)
    else:
        outcome = (rng.random(n) < 1 / (1 + np.exp(-x @ [0.2, 0.8, -0.5]))).astype(float)
        model = sm.Logit(outcome, x)
    fit = fit_logit(x, outcome, multinomial=multinomial)
    hc0, classic = model.fit(disp=0, cov_type="HC0"), model.fit(disp=0)
    np.testing.assert_allclose(fit.coef, np.asarray(hc0.params), atol=1e-6)
    np.testing.assert_allclose(fit.probs, np.asarray(hc0.predict()), atol=1e-6)
    cov = fit.influence.T @ fit.influence / n**2
    np.testing.assert_allclose(cov, np.asarray(hc0.cov_params()), rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(np.diag(cov), np.diag(np.asarray(classic.cov_params())), rtol=0.15)


def test_fit_logit_named_errors():
    """Complete separation (w > 0 ⇔ treated), quasi-complete separation (one group all treated), no variation, a
    non-binary outcome without `multinomial=True`, collinear columns: each a named ValueError."""
    from ivspill.core import fit_logit
    rng = np.random.default_rng(41)
    w = rng.normal(size=200)
    x, group = np.column_stack([np.ones(200), w]), (w > 0).astype(float)
    cases = [(x, group, "separation"),
             (np.column_stack([np.ones(200), group]), np.where(group == 1, 1.0, rng.integers(0, 2, 200)), "separation"),
             (x, np.zeros(200), "no variation"), (x, rng.integers(0, 3, 200), "multinomial=True"),
             (np.column_stack([x, 2 * w]), (rng.random(200) < 0.5).astype(float), "collinear")]
    for design, outcome, message in cases:
        with pytest.raises(ValueError, match=message): fit_logit(design, outcome)


def _ipw_coverage(n, n_reps, a1, nonlinear, seed):
    """Coverage of the 95% intervals of `ipw_ade` with a logit score estimated on w, per method, on the common-shock
    design without interference (ρ = 0, no exposure effects: every Δ_i = 0.5 from the potential outcomes), and, if
    `nonlinear`, w² + sin(3w) added to both potential outcomes (AIPW's linear outcome regressions misspecified)."""
    sims = simulate_common_shock(n, n_reps, rho=0.0, a1=a1, alpha=(0.0, 1.0, 0.0), tau=(0.5, 0.0), seed=seed)
    assert np.allclose(sims.delta, 0.5)
    if nonlinear: sims["y"] = sims.y + sims.w**2 + np.sin(3 * sims.w)
    coverage = {}
    for method in ("ht", "hajek", "aipw"):
        intervals = np.array([ipw_ade(g, y="y", d="d", covariates=["w"], method=method).conf_int().iloc[0]
                              for _, g in sims.groupby("rep")])
        coverage[method] = np.mean((intervals[:, 0] <= 0.5) & (0.5 <= intervals[:, 1]))
    return coverage


def test_ipw_coverage_with_estimated_score_fast():
    """200 replications: the band [0.88, 0.995] is about ±3 Monte Carlo s.e. (0.015) around 0.95 and excludes the
    near-100% coverage of standard errors that treat the estimated score as known."""
    coverage = _ipw_coverage(500, 200, 0.8, False, seed=44)
    assert all(0.88 <= c <= 0.995 for c in coverage.values()), coverage


@pytest.mark.slow
@pytest.mark.parametrize("n, a1, nonlinear", [(500, 0.8, False), (1_000, 0.8, True)])
def test_ipw_coverage_with_estimated_score(n, a1, nonlinear):
    """1,000 replications (Monte Carlo s.e. 0.007): HT, Hájek and AIPW cover within [0.93, 0.97] on the paper's design
    and on one whose outcome is nonlinear in w (measured 0.94-0.955 over seeds 1, 2). Known limitation, not tested:
    with weak overlap (a1 = 1.5, scores down to 0.01) HT and Hájek intervals cover 0.90-0.93 at n = 500-2,000."""
    coverage = _ipw_coverage(n, 1_000, a1, nonlinear, seed=45)
    assert all(0.93 <= c <= 0.97 for c in coverage.values()), coverage


def _brute_force_vertices(n, count, low, high):
    "Every basic feasible pmf of the stratum's sensitivity set, by solving each 2- and 3-point support (itertools)."
    import itertools
    found = []
    for support in itertools.chain(itertools.combinations(range(n + 1), 2), itertools.combinations(range(n + 1), 3)):
        rows = [np.ones(len(support)), np.array(support, float)]
        for variance in ([None] if len(support) == 2 else [low, high]):
            system = np.array(rows + ([] if variance is None else [np.array(support, float) ** 2]))
            rhs = [1.0, count] if variance is None else [1.0, count, variance + count**2]
            weights = np.linalg.lstsq(system, rhs, rcond=None)[0]
            if not np.allclose(system @ weights, rhs) or (weights < -1e-12).any(): continue
            pi = np.zeros(n + 1); pi[list(support)] = np.clip(weights, 0, None)
            m = np.arange(n + 1); var = pi @ m**2 - count**2
            if low - 1e-9 <= var <= high + 1e-9: found.append(pi)
    return np.array(found)


def _brute_force_bounds(y, d, strata, xi):
    """Lower and upper p-value bounds at ξ by brute force: P(T ≥ T_obs | counts) by enumerating all 2^N assignments
    (each count vector's subsets are equally likely), then the p-value at every combination of stratum vertices."""
    ranks = pd.Series(y).groupby(strata).rank(method="average").to_numpy()
    t_obs, n_units = ranks @ d, len(y)
    every = ((np.arange(2**n_units)[:, None] >> np.arange(n_units)) & 1).astype(float)
    labels = np.unique(strata)
    shape = [int(np.sum(strata == s)) + 1 for s in labels]
    counts = np.stack([every[:, strata == s].sum(axis=1) for s in labels], axis=1).astype(int)
    cell = np.ravel_multi_index(counts.T, shape)
    tail = np.bincount(cell, every @ ranks >= t_obs - 1e-9, np.prod(shape)) / np.bincount(cell, None, np.prod(shape))
    values = tail.reshape(shape)
    for s, size in zip(labels, shape):
        count = int(d[strata == s].sum()); var_b = count * (size - 1 - count) / (size - 1)
        vertices = _brute_force_vertices(size - 1, count, var_b, min(xi * var_b, count * (size - 1 - count)))
        values = np.tensordot(values, vertices, axes=([0], [1]))
    return values.min(), values.max()


def random_strata_design(rng, n_strata, low, high):
    """y, d, strata: strata of `low`..`high` − 1 units with 1..n_s − 1 treated each, a random effect, and ties (y rounded:
    average ranks) in a third of the draws."""
    strata = np.repeat(np.arange(n_strata), rng.integers(low, high, n_strata))
    d = np.zeros(len(strata))
    for s in range(n_strata):
        units = np.flatnonzero(strata == s)
        d[rng.choice(units, rng.integers(1, len(units)), replace=False)] = 1
    y = rng.normal(size=len(strata)) + rng.normal() * d
    return (np.round(y) if rng.random() < 1 / 3 else y), d, strata


@pytest.mark.parametrize("batch", range(6))
def test_sharp_bounds_equal_brute_force_on_small_designs(batch):
    """60 random small designs (2-3 strata of 4-8 units, ties in a third of them, ξ from 1.5 to 5): the certified
    bounds of `cai_sensitivity` equal brute-force enumeration (all assignments × all vertex combinations) to 1e-9,
    both exact. (The coordinate-wise search alone missed 21% of such designs by more than 0.005.)"""
    rng = np.random.default_rng(100 + batch)
    for _ in range(10):
        n_strata = int(rng.integers(2, 4))
        y, d, strata = random_strata_design(rng, n_strata, 4, 9 if n_strata == 2 else 7)
        xi = float(rng.choice([1.5, 2.0, 3.0, 5.0]))
        result = cai_sensitivity(pd.DataFrame({"y": y, "d": d, "s": strata}), y="y", d="d", strata="s", xi=(1, xi))
        lower, upper = _brute_force_bounds(y, d, strata, xi)
        assert result.table.loc[xi, "certified"]
        np.testing.assert_allclose(result.table.loc[xi, ["p_lower", "p_upper"]].to_numpy(float), [lower, upper],
                                   atol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("claim", ["Table 1 (LaLonde)", "Table S3 (STAR)"])
def test_tables_1_and_s3_reproduce_for_ten_seeds(claim):
    """The registered Table 1 and Table S3 reproductions (tolerances: four s.d. of the difference of the paper's and our
    Monte Carlo figures; ours is exact for LaLonde) hold for seeds 11-20."""
    for seed in range(11, 21):
        rows = reproduced_with_seed(claim, seed)
        assert rows and all(abs(v - published) <= tol for v, published, tol in rows.values()), (seed, rows)


@pytest.mark.parametrize("seed, cutoff", [(46, 0.0), (47, 0.0), (48, 0.15), (49, -0.2)])
def test_rdd_matches_rdrobust(seed, cutoff):
    """`rdd_ade` against rdrobust with its defaults (mserd bandwidths, p = 1, q = 2, triangular kernel, nearest-neighbour
    variance): bandwidths h and b, the conventional and bias-corrected estimates, the conventional and robust standard
    errors and the robust bias-corrected interval, all to 1e-6; then at a given h (b = h)."""
    rdrobust = pytest.importorskip("rdrobust").rdrobust
    from ivspill.interference import mserd_bandwidths, rdd_ade
    sim = simulate_rdd_interference(1_500, seed=seed)
    x, y = sim.w.to_numpy(), sim.y.to_numpy()
    theirs = rdrobust(y, x, c=cutoff)
    h, b = mserd_bandwidths(x - cutoff, y)
    np.testing.assert_allclose([h, b], theirs.bws.iloc[:, 0].to_numpy(), rtol=1e-6)
    ours = rdd_ade(sim, y="y", running="w", cutoff=cutoff)
    np.testing.assert_allclose(ours.params.to_numpy(), theirs.coef.iloc[[0, 1], 0].to_numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.std_errors.to_numpy(), theirs.se.iloc[[0, 2], 0].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.conf_int().loc["ADE_bc"].to_numpy(), theirs.ci.iloc[2].to_numpy(), rtol=1e-6,
                               atol=1e-8)
    given = rdrobust(y, x, c=cutoff, h=0.3)
    np.testing.assert_allclose(rdd_ade(sim, y="y", running="w", cutoff=cutoff, bandwidth=0.3).params.to_numpy(),
                               given.coef.iloc[[0, 1], 0].to_numpy(), rtol=1e-6, atol=1e-8)


def test_rdd_robust_interval_covers():
    """200 replications of the sharp design without a common shock: the robust bias-corrected 95% interval covers each
    replication's average direct effect (mean of Δ_i(D_−i) from its potential outcomes) within [0.88, 0.995] (Monte
    Carlo s.e. 0.015). Measured 0.925 for seeds 50 and 51 — slightly below 0.95, as rdrobust's own intervals at this
    size (about 200 observations within h), which ours reproduce to 1e-6; the band catches gross errors only."""
    from ivspill.interference import rdd_ade
    sims = simulate_rdd_interference(1_000, 200, seed=50)
    truth = sims.groupby("rep").delta.mean().to_numpy()
    intervals = np.array([rdd_ade(g, y="y", running="w").conf_int().loc["ADE_bc"].to_numpy()
                          for _, g in sims.groupby("rep")])
    coverage = np.mean((intervals[:, 0] <= truth) & (truth <= intervals[:, 1]))
    assert 0.88 <= coverage <= 0.995, coverage


def test_rdd_refuses_a_running_variable_with_too_few_values_on_a_side():
    sim = simulate_rdd_interference(400, seed=47)
    from ivspill.interference import rdd_ade
    with pytest.raises(ValueError, match="distinct value"):
        rdd_ade(sim.assign(w=np.where(sim.w >= 0, 0.5, sim.w)), y="y", running="w")
    with pytest.raises(ValueError, match="distinct value"):
        rdd_ade(sim.assign(w=np.where(sim.w >= 0, np.round(sim.w, 1), sim.w)), y="y", running="w", bandwidth=0.15)


def test_monte_carlo_engine_agrees_with_the_exact_one_within_its_standard_error(monkeypatch):
    """Forcing the Monte Carlo engine (as for strata too large for exact laws) on a design the exact engine also
    handles: p(1) and the ξ = 2 bounds within 4 reported s.e. (plus 0.01 for the bounds: the Monte Carlo search's
    coordinate-wise optima may fall short of the sharp ones, and its s.e. leaves out the tables' error; 5,000 tables
    make that small)."""
    import ivspill.interference as interference
    df = simulate_common_shock(300, seed=48)
    kwargs = dict(y="y", d="d", covariates=["w"], xi=(1, 2), n_strata=3, seed=5)
    exact = cai_sensitivity(df, **kwargs).table
    monkeypatch.setattr(interference, "EXACT_CELLS", 0)
    mc = cai_sensitivity(df, **kwargs, n_tables=5_000, n_base=40_000, n_final=40_000)
    assert mc.engine == "monte carlo" and (mc.table.se_upper > 0).all()
    assert abs(mc.table.loc[1.0, "p_upper"] - exact.loc[1.0, "p_upper"]) <= 4 * mc.table.loc[1.0, "se_upper"]
    for end in ("lower", "upper"):
        assert abs(mc.table.loc[2.0, f"p_{end}"] - exact.loc[2.0, f"p_{end}"]) <= 4 * mc.table.loc[2.0, f"se_{end}"] + 0.01


@pytest.mark.parametrize("one_sided", [False, True])
def test_fuzzy_rdd_matches_rdrobust(one_sided):
    """Fuzzy RDD (take-up jumps from 0.2, or 0 with one-sided noncompliance, to 0.8 at the cutoff) against
    rdrobust(fuzzy=...): bandwidths, conventional and bias-corrected ratios, conventional and robust standard errors
    to 1e-6 (with perfect compliance on a side both use the sharp bandwidths)."""
    rdrobust = pytest.importorskip("rdrobust").rdrobust
    from ivspill.interference import rdd_ade
    rng = np.random.default_rng(152)
    sim = simulate_rdd_interference(2_000, seed=52)
    take_up = (rng.random(len(sim)) < np.where(sim.w >= 0, 0.8, 0.0 if one_sided else 0.2)).astype(float)
    df = sim.assign(t=take_up, y=sim.y + 1.5 * take_up)
    ours = rdd_ade(df, y="y", running="w", d="t")
    theirs = rdrobust(df.y.to_numpy(), df.w.to_numpy(), fuzzy=take_up)
    assert list(ours.params.index) == ["LADE", "LADE_bc"]
    np.testing.assert_allclose(ours.params.to_numpy(), theirs.coef.iloc[[0, 1], 0].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.std_errors.to_numpy(), theirs.se.iloc[[0, 2], 0].to_numpy(), rtol=1e-6)
    assert f"h = {theirs.bws.iloc[0, 0]:.4g}" in ours.notes[0]


def test_rdd_bandwidth_undefined_is_a_named_error_as_in_rdrobust():
    """A fuzzy design that is sharp near the cutoff (take-up = 1{w ≥ 0} there, but far from it, |w| > 0.6, the other
    way round): the treatment's pilot fit is flat, rdrobust stops ("Not enough variability ..."), and so do we, with a named
    error instead of a NaN bandwidth."""
    rdrobust = pytest.importorskip("rdrobust").rdrobust
    from ivspill.interference import rdd_ade
    sim = simulate_rdd_interference(2_000, seed=51)
    take_up = (((sim.w >= 0) & (sim.w < 0.6)) | (sim.w < -0.6)).astype(float)
    df = sim.assign(t=take_up, y=sim.y + 1.5 * take_up)
    with pytest.raises(Exception, match="variability"), np.errstate(all="ignore"):
        rdrobust(df.y.to_numpy(), df.w.to_numpy(), fuzzy=take_up.to_numpy())
    with pytest.raises(ValueError, match="bandwidth is undefined"):
        rdd_ade(df, y="y", running="w", d="t")


def test_stratum_balance_by_hand():
    """The stratified standardised difference of one covariate recomputed by a loop over two given strata, and a
    stratum without controls left out of the average."""
    from ivspill.interference import stratum_balance
    df = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6, 7, 8, 9], "d": [1, 0, 1, 0, 1, 1, 0, 1, 1],
                       "s": ["a", "a", "a", "a", "b", "b", "b", "c", "c"]})
    table = stratum_balance(df, d="d", covariates=["x"], strata="s")
    scale = np.sqrt((df.x[df.d == 1].var() + df.x[df.d == 0].var()) / 2)
    diff_a, diff_b = (2.0 - 3.0) / scale, (5.5 - 7.0) / scale  # stratum c has no controls
    assert np.isclose(table.loc["x", "stratified"], (4 * diff_a + 3 * diff_b) / 7)
    assert np.isclose(table.loc["x", "max_within"], max(abs(diff_a), abs(diff_b)))


# Theorem 5: dynamic DiD
_GH = np.polynomial.hermite_e.hermegauss(80)  # ∫ f(w) φ(w) dw ≈ Σ weights·f(nodes) / √(2π)
# ADTT without interference (spillover = 0): E[1 + W/2 | D = 1] with D ~ Bern(Λ(W)), W ~ N(0, 1), by quadrature
_DYNAMIC_ADTT = 1 + 0.5 * (_GH[1] @ (_GH[0] / (1 + np.exp(-_GH[0])))) / (_GH[1] @ (1 / (1 + np.exp(-_GH[0]))))


def test_dynamic_adtt_quadrature_equals_the_potential_outcomes_mean():
    "The coverage studies' truth, by quadrature, against the treated's mean direct effect in 10⁶ simulated units."
    from ivspill.interference import simulate_did_dynamic
    sims = simulate_did_dynamic(1_000_000, spillover=0.0, seed=60)
    effects = sims.delta[sims.d == 1]
    assert abs(effects.mean() - _DYNAMIC_ADTT) < 4 * effects.std() / np.sqrt(len(effects))


def _dynamic_coverage(n, n_reps, method, anticipation, seed):
    """Coverage of the 95% interval of `did_adtt_dynamic` (logit score on w) for the ADTT, without interference, when
    the period-0 outcomes carry an anticipation effect of `anticipation` and the estimator is told its true value."""
    from ivspill.interference import did_adtt_dynamic, simulate_did_dynamic
    sims = simulate_did_dynamic(n, n_reps, anticipation=anticipation, spillover=0.0, seed=seed)
    intervals = np.array([did_adtt_dynamic(g, y_pre="y0", y_post="y1", d="d", covariates=["w"], method=method,
                                           anticipation=anticipation).conf_int().iloc[0]
                          for _, g in sims.groupby("rep")])
    return np.mean((intervals[:, 0] <= _DYNAMIC_ADTT) & (_DYNAMIC_ADTT <= intervals[:, 1]))


def test_dynamic_did_coverage_fast():
    """200 replications: [0.88, 0.995] is about ±3 Monte Carlo s.e. (0.015) around 0.95."""
    assert 0.88 <= _dynamic_coverage(500, 200, "ipw", 0.0, seed=61) <= 0.995


@pytest.mark.slow
@pytest.mark.parametrize("n, method, anticipation", [(500, "ipw", 0.0), (500, "or", 0.0), (1_000, "ipw", 0.5)])
def test_dynamic_did_coverage(n, method, anticipation):
    """1,000 replications (Monte Carlo s.e. 0.007): measured 0.945 (ipw) and 0.950 (or) at n = 500 with seed 1.
    Measured, not tested: 0.934 at n = 200 (small-sample logit) and 0.933 for the realised ADTT under interference
    (spillover = 1), where the no-interference standard error does not apply."""
    assert 0.93 <= _dynamic_coverage(n, 1_000, method, anticipation, seed=62) <= 0.97


def test_dynamic_did_named_errors():
    from ivspill.interference import did_adtt_dynamic, simulate_did_dynamic
    sims = simulate_did_dynamic(300, seed=63)
    for value in (np.nan, np.inf):
        with pytest.raises(ValueError, match="finite"):
            did_adtt_dynamic(sims, y_pre="y0", y_post="y1", d="d", covariates=["w"], anticipation=value)
    with pytest.raises(ValueError, match="no variation"):
        did_adtt_dynamic(sims.assign(d=0.0), y_pre="y0", y_post="y1", d="d", covariates=["w"])


# Theorems 2-4: bias oracles from potential outcomes against Monte Carlo
def _oracle_with_se(oracle, population, term, n_batches=10):
    batches = [oracle(part)[term] for _, part in population.groupby(population.rep % n_batches)]
    return oracle(population)[term], np.std(batches, ddof=1) / np.sqrt(n_batches)


def _monte_carlo_biases(seed):
    """Each functional minus its truth on a pooled population (MC s.e. from clusters or batches), and each theorem's
    oracle on an INDEPENDENT population of the same design, with its batch-means s.e."""
    from ivspill.interference import (did_bias_oracle, iv_bias_oracle, local_linear_jump, marginal_pscore,
                                      rdd_bias_oracle, wald_lade)
    iv = simulate_iv_interference(2_000, 300, rho=2.0, seed=seed)
    wald = wald_lade(iv, y="y", d="d", z="z", cluster="rep")
    rdd = simulate_rdd_interference(250, 3_200, common_sd=0.5, common_mean=0.5, seed=seed)
    jumps = local_linear_jump(rdd.y.to_numpy().reshape(20, -1), rdd.w.to_numpy().reshape(20, -1), 0.2)[0]
    did = simulate_did_interference(2_000, 400, rho=1.5, seed=seed)
    d, change, w = (a.reshape(20, -1) for a in (did.d.to_numpy(), (did.y1 - did.y0).to_numpy(), did.w.to_numpy()))
    odds = (lambda e: e * (1 - d) / (1 - e))(marginal_pscore(w, 1.5, a0=0.0, a1=1.0))
    did_batches = (d * change).sum(1) / d.sum(1) - (odds * change).sum(1) / odds.sum(1)
    other = seed + 1_000
    return {"iv": (wald.params["LADE"] - iv.delta[iv.type == "C"].mean(), wald.std_errors["LADE"],
                   *_oracle_with_se(iv_bias_oracle, simulate_iv_interference(2_000, 300, rho=2.0, seed=other),
                                    "Bias_IV")),
            "rdd": (jumps.mean() - rdd.delta.mean(), jumps.std(ddof=1) / np.sqrt(20),
                    *_oracle_with_se(rdd_bias_oracle, simulate_rdd_interference(250, 3_200, common_sd=0.5,
                                                                                common_mean=0.5, seed=other), "Bias_2")),
            "did": (did_batches.mean() - did.delta[did.d == 1].mean(), did_batches.std(ddof=1) / np.sqrt(20),
                    *_oracle_with_se(did_bias_oracle, simulate_did_interference(2_000, 400, rho=1.5, seed=other),
                                     "Bias_DiD"))}


@pytest.mark.parametrize("seed", [70, 71])
def test_bias_oracles_match_monte_carlo(seed):
    """Theorems 2-4: the Monte Carlo bias of the Wald ratio, the sharp-RDD jump and Abadie's DiD functional equals the
    theorem's bias term computed by its oracle, within 4 combined Monte Carlo s.e. (the jump also 0.01 for its local
    linear smoothing bias at h = 0.2). Measured over seeds 3-9: within 2.3 s.e. Each bias is > 4 s.e. from zero."""
    for name, (mc_bias, mc_se, oracle_bias, oracle_se) in _monte_carlo_biases(seed).items():
        combined = np.hypot(mc_se, oracle_se)
        assert abs(mc_bias - oracle_bias) < 4 * combined + (0.01 if name == "rdd" else 0), (name, mc_bias, oracle_bias)
        assert abs(oracle_bias) > 4 * combined, (name, oracle_bias, combined)


def test_bias_oracles_vanish_without_a_common_shock():
    "Theorems 2-4 (ii): with independent assignment every oracle's bias is zero up to its own Monte Carlo error."
    from ivspill.interference import did_bias_oracle, iv_bias_oracle, rdd_bias_oracle
    for oracle, population, term in [
            (iv_bias_oracle, simulate_iv_interference(1_000, 100, rho=0.0, seed=72), "Bias_IV"),
            (rdd_bias_oracle, simulate_rdd_interference(250, 400, seed=72), "Bias_2"),
            (did_bias_oracle, simulate_did_interference(1_000, 100, rho=0.0, seed=72), "Bias_DiD")]:
        bias, se = _oracle_with_se(oracle, population, term)
        assert abs(bias) <= 4 * se + 1e-12, (term, bias, se)


# Figure 1: robustness values over calibrated data sets
def test_heavy_tailed_errors_are_positive_spikes():
    "The heavy-tailed specification adds 10σ̂ to about 1% of the untreated outcomes, and nothing else changes."
    base = simulate_lalonde_calibrated(200, seed=80)
    heavy = simulate_lalonde_calibrated(200, errors="heavy-tailed", seed=80)
    shift = (heavy.re78 - base.re78).to_numpy()
    spikes = shift > 0
    assert np.allclose(shift[~spikes], 0) and np.ptp(shift[spikes]) < 1e-6 * shift[spikes].max()
    assert abs(spikes.mean() - 0.01) < 4 * np.sqrt(0.01 * 0.99 / len(shift))
    with pytest.raises(ValueError, match="errors must be"):
        simulate_lalonde_calibrated(1, errors="cauchy", seed=80)


@pytest.mark.slow
@pytest.mark.parametrize("errors, paper_xi_star", [("gaussian", 2.9), ("heavy-tailed", 1.1)])
def test_figure1_paper_robustness_value_lies_within_the_simulated_spread(errors, paper_xi_star):
    """A SIMULATION reproduction of Figure 1 (§4.5): the paper reports ξ* ≈ 2.9 (Gaussian errors, τ = 8,000) and
    ≈ 1.1 (heavy-tailed, τ = 4,000), each from ONE simulated data set, so its number is one draw from a distribution.
    We draw 30 data sets of each specification and check that the paper's value lies between the smallest and the
    largest interpolated ξ* (exact p-values, no Monte Carlo error within a data set).
    Measured (seed 1, 20 data sets): Gaussian median 3.70, range 2.64–5.03, the paper's 2.9 at about our 15th
    percentile; heavy-tailed median 1.15, range 1.04–1.45 (one data set uninformative, p(1) = 0.07), the paper's 1.1 at
    about our 20th percentile. Seed 2 (30 data sets): Gaussian 1.56–5.49 (median 3.66, 30% below 2.9), heavy-tailed
    1.00–1.64 (median 1.14, 23% below 1.1). At the 15th percentile, 30 data sets all above the paper's value has
    probability 0.85³⁰ ≈ 0.008.
    Also checked, with wide margins: the paper's qualitative statements (Gaussian: p(1) < 0.01, median ξ* > 2.5;
    heavy-tailed: median ξ* < 1.5, the upper bound above 0.05 at ξ = 1.25 in most data sets, 90% measured)."""
    from ivspill.interference import figure1_robustness
    runs = figure1_robustness(errors, n_datasets=30, seed=2)
    xi_star = runs.xi_star_interpolated.dropna()
    assert len(xi_star) >= 20, runs  # uninformative data sets (p(1) > 0.05): 1 in 20 (seed 1), 4 in 30 (seed 2)
    assert xi_star.min() <= paper_xi_star <= xi_star.max(), xi_star.describe()
    if errors == "heavy-tailed": assert xi_star.median() < 1.5 and (runs["p_upper(1.25)"] > 0.05).mean() >= 0.6
    else: assert xi_star.median() > 2.5 and (runs["p_upper(1)"] < 0.01).all()
