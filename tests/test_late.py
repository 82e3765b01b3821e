"""ivspill.late against independent computations: linearmodels IV2SLS / IVLIML with site dummies and explicit
site×T instruments (coefficients and standard errors to 1e-8), the dense 2SLS engine of ivspill.core for the
first-stage diagnostics, brute-force deletion for the jackknife, and Monte Carlo coverage."""
import numpy as np
import pandas as pd
import pytest
from linearmodels.iv import IV2SLS, IVLIML

from ivspill.core import ResultDisplay, TestResult, tsls
from ivspill.datasets import load_star
from ivspill.late import (msmm_coverage, msmm_iv, msmm_iv_reps, simulate_linear_site, simulate_multisite,
                          simulate_types, site_effects)

RTOL = 1e-8


def with_interactions(df, z, site):
    dummies = pd.get_dummies(df[site], prefix="site", dtype=float)
    instruments = dummies.mul(df[z], axis=0).add_prefix("t_x_")
    return dummies, instruments


def linearmodels_fit(df, *, y, d, z, site, cluster=None, estimator=IV2SLS):
    dummies, instruments = with_interactions(df, z, site)
    kwargs = {"cov_type": "clustered", "clusters": df[cluster]} if cluster else {"cov_type": "robust"}
    return estimator(df[y], dummies, df[d], instruments).fit(debiased=True, **kwargs)


@pytest.fixture(scope="module")
def sims():
    df = simulate_multisite(n_sites=30, n_per_site=120, gamma_sd=(0.5, 0.5), seed=5)
    df["classroom"] = df.site * 4 + np.arange(len(df)) % 4  # clusters nested in sites
    return df


@pytest.mark.parametrize("cluster", [None, "site", "classroom"])
@pytest.mark.parametrize("mediators", [["m1"], ["m1", "m2"]])
def test_msmm_iv_matches_linearmodels_2sls(sims, mediators, cluster):
    ours = msmm_iv(sims, y="y", d=mediators, z="t", site="site", cluster=cluster, rank_alpha=None)
    theirs = linearmodels_fit(sims, y="y", d=mediators, z="t", site="site", cluster=cluster)
    np.testing.assert_allclose(ours.params[mediators], theirs.params[mediators], rtol=RTOL)
    np.testing.assert_allclose(ours.std_errors[mediators], theirs.std_errors[mediators], rtol=RTOL)


@pytest.mark.parametrize("cluster", [None, "site"])
def test_msmm_iv_liml_matches_linearmodels(sims, cluster):
    mediators = ["m1", "m2"]
    ours = msmm_iv(sims, y="y", d=mediators, z="t", site="site", cluster=cluster, method="liml", rank_alpha=None)
    theirs = linearmodels_fit(sims, y="y", d=mediators, z="t", site="site", cluster=cluster, estimator=IVLIML)
    np.testing.assert_allclose(ours.diagnostics["kappa"], theirs.kappa, rtol=RTOL)
    np.testing.assert_allclose(ours.params[mediators], theirs.params[mediators], rtol=RTOL)
    np.testing.assert_allclose(ours.std_errors[mediators], theirs.std_errors[mediators], rtol=RTOL)


def test_msmm_iv_matches_linearmodels_on_star():
    star = load_star()
    mediators = ["small_1", "aide_1"]
    ours = msmm_iv(star, y="score_1", d=mediators, z="small_k", site="school", cluster="school", rank_alpha=None)
    theirs = linearmodels_fit(star, y="score_1", d=mediators, z="small_k", site="school", cluster="school")
    np.testing.assert_allclose(ours.params[mediators], theirs.params[mediators], rtol=RTOL)
    np.testing.assert_allclose(ours.std_errors[mediators], theirs.std_errors[mediators], rtol=RTOL)


@pytest.mark.parametrize("cluster", [None, "classroom"])
def test_first_stage_matches_dense_engine(sims, cluster):
    """Per-site moments give the same partial R², joint F and Sanderson–Windmeijer F as the dense engine run on the
    explicit site×T interaction matrix."""
    dummies, instruments = with_interactions(sims, "t", "site")
    dense_frame = pd.concat([sims, instruments], axis=1)
    dense = tsls(dense_frame, y="y", d=["m1", "m2"], z=list(instruments.columns), absorb="site", cluster=cluster)
    ours = msmm_iv(sims, y="y", d=["m1", "m2"], z="t", site="site", cluster=cluster, rank_alpha=None)
    for col in ["partial_r2", "f_stat", "sw_f_stat"]:
        np.testing.assert_allclose(ours.first_stage[col], dense.first_stage[col], rtol=1e-7)


def test_jackknife_equals_brute_force_deletion(sims):
    mediators = ["m1", "m2"]
    ours = msmm_iv(sims, y="y", d=mediators, z="t", site="site", cov_type="jackknife", rank_alpha=None)
    sites = sims.site.unique()
    loo = np.array([msmm_iv(sims[sims.site != s], y="y", d=mediators, z="t", site="site",
                        rank_alpha=None).params[mediators] for s in sites])
    dev = loo - loo.mean(axis=0)
    expected = (len(sites) - 1) / len(sites) * dev.T @ dev
    np.testing.assert_allclose(ours.cov.loc[mediators, mediators].to_numpy(), expected, rtol=1e-8)


@pytest.mark.parametrize("cov_type", ["clustered", "jackknife"])
def test_replications_equal_one_fit_each(cov_type):
    stacked = simulate_multisite(n_sites=12, n_per_site=80, gamma_sd=(0.5, 0.5), n_reps=4, seed=9)
    cluster = "site" if cov_type == "clustered" else None
    reps = msmm_iv_reps(stacked, y="y", d=["m1", "m2"], z="t", site="site", rep="rep", cluster=cluster,
                        cov_type=cov_type)
    for r, frame in stacked.groupby("rep"):
        one = msmm_iv(frame, y="y", d=["m1", "m2"], z="t", site="site", cluster=cluster, cov_type=cov_type,
                      rank_alpha=None)
        np.testing.assert_allclose(reps.loc[r, ["m1", "m2"]], one.params, rtol=1e-10)
        np.testing.assert_allclose(reps.loc[r, ["se_m1", "se_m2"]], one.std_errors, rtol=1e-10)


def test_bad_input_is_named(sims):
    with pytest.raises(ValueError, match="'t' must be binary"):
        msmm_iv(sims.assign(t=sims.t * 2), y="y", d="m1", z="t", site="site")
    with pytest.raises(ValueError, match="jackknife deletes one site"):
        msmm_iv(sims, y="y", d="m1", z="t", site="site", cluster="classroom", cov_type="jackknife")
    with pytest.raises(ValueError, match="method must be"):
        msmm_iv(sims, y="y", d="m1", z="t", site="site", method="gmm")


@pytest.mark.slow
def test_coverage_2000_replications():
    """All nine assumptions hold; 95% jackknife intervals for the superpopulation δ = (1, 0.5) over 2,000 replications
    of 100 sites × 300 (MC s.e. 0.005). Measured 0.939 and 0.941 (seed 16), 0.944 and 0.938 (500 replications): with
    100 sites the delete-one-site jackknife undercovers by about a point, so the band is [0.92, 0.97], ±4 MC s.e.
    around that, which holds for any seed and still rejects the clustered CR1 (0.90)."""
    coverage = msmm_coverage(2_000, cov_type="jackknife", seed=16, n_sites=100, n_per_site=300, gamma_sd=(0.5, 0.5),
                             confounding=0.5)
    assert coverage.between(0.92, 0.97).all(), coverage


def test_site_effects_is_a_displayed_result(sims):
    result = site_effects(sims, y="y", d=["m1", "m2"], z="t", site="site")
    assert isinstance(result, ResultDisplay) and isinstance(result.intercept_test, TestResult)
    assert result.summary().index.tolist() == ["m1", "m2", "free intercept"]
    np.testing.assert_allclose(result.summary().loc["free intercept", "p_value"], result.intercept_test.p_value)
    assert repr(result).startswith("Site effects — 30 sites") and "free intercept" in result.to_latex()
    assert "<table" in result._repr_html_()


@pytest.mark.parametrize("simulate", [simulate_linear_site, simulate_types, simulate_multisite])
def test_simulators_take_a_generator(simulate):
    "A generator made from an int gives the int's draws; None gives fresh ones."
    pd.testing.assert_frame_equal(simulate(seed=np.random.default_rng(7)), simulate(seed=7))
    assert len(simulate(seed=None)) == len(simulate(seed=7))
