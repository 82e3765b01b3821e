"""ivspill.late against independent computations: linearmodels IV2SLS / IVLIML with site dummies and explicit
site×T instruments (coefficients and standard errors to 1e-8), the dense 2SLS engine of ivspill.core for the
first-stage diagnostics, brute-force deletion for the jackknife, and Monte Carlo coverage."""
import numpy as np
import pandas as pd
import pytest
from linearmodels.iv import IV2SLS, IVLIML

from ivspill.core import ResultDisplay, TestResult, tsls
from ivspill.datasets import load_star
from ivspill.late import (falsification_rates, msmm_coverage, msmm_iv, msmm_iv_reps, msmm_score_test,
                          simulate_linear_site, simulate_multisite, simulate_types, site_effects)

RTOL = 1e-8


def with_interactions(df, z, site):
    dummies = pd.get_dummies(df[site], prefix="site", dtype=float)
    instruments = dummies.mul(df[z], axis=0).add_prefix("t_x_")
    return dummies, instruments


def linearmodels_fit(df, *, y, d, z, site, cluster=None, estimator=IV2SLS, cov_type="robust", **options):
    dummies, instruments = with_interactions(df, z, site)
    kwargs = {"cov_type": "clustered", "clusters": df[cluster]} if cluster else {"cov_type": cov_type}
    return estimator(df[y], dummies, df[d], instruments, **options).fit(debiased=True, **kwargs)


def cov_type_of(cluster):
    "msmm_iv's default is UJIVE with the site jackknife: the comparisons with linearmodels ask for HC1 or CR1."
    return None if cluster else "robust"


@pytest.fixture(scope="module")
def sims():
    df = simulate_multisite(n_sites=30, n_per_site=120, gamma_sd=(0.5, 0.5), seed=5)
    df["classroom"] = df.site * 4 + np.arange(len(df)) % 4  # clusters nested in sites
    return df


@pytest.mark.parametrize("cluster", [None, "site", "classroom"])
@pytest.mark.parametrize("mediators", [["m1"], ["m1", "m2"]])
def test_msmm_iv_matches_linearmodels_2sls(sims, mediators, cluster):
    ours = msmm_iv(sims, y="y", d=mediators, z="t", site="site", cluster=cluster, rank_alpha=None, method="2sls",
                   cov_type=cov_type_of(cluster))
    theirs = linearmodels_fit(sims, y="y", d=mediators, z="t", site="site", cluster=cluster)
    np.testing.assert_allclose(ours.params[mediators], theirs.params[mediators], rtol=RTOL)
    np.testing.assert_allclose(ours.std_errors[mediators], theirs.std_errors[mediators], rtol=RTOL)


@pytest.mark.parametrize("cluster", [None, "site"])
def test_msmm_iv_liml_matches_linearmodels(sims, cluster):
    mediators = ["m1", "m2"]
    ours = msmm_iv(sims, y="y", d=mediators, z="t", site="site", cluster=cluster, method="liml", rank_alpha=None,
                   cov_type=cov_type_of(cluster))
    theirs = linearmodels_fit(sims, y="y", d=mediators, z="t", site="site", cluster=cluster, estimator=IVLIML)
    np.testing.assert_allclose(ours.diagnostics["kappa"], theirs.kappa, rtol=RTOL)
    np.testing.assert_allclose(ours.params[mediators], theirs.params[mediators], rtol=RTOL)
    np.testing.assert_allclose(ours.std_errors[mediators], theirs.std_errors[mediators], rtol=RTOL)


def test_msmm_iv_matches_linearmodels_on_star():
    star = load_star()
    mediators = ["small_1", "aide_1"]
    ours = msmm_iv(star, y="score_1", d=mediators, z="small_k", site="school", cluster="school", rank_alpha=None,
                   method="2sls")
    theirs = linearmodels_fit(star, y="score_1", d=mediators, z="small_k", site="school", cluster="school")
    np.testing.assert_allclose(ours.params[mediators], theirs.params[mediators], rtol=RTOL)
    np.testing.assert_allclose(ours.std_errors[mediators], theirs.std_errors[mediators], rtol=RTOL)


@pytest.mark.parametrize("method,options", [("2sls", {}), ("liml", {}), ("fuller", {"fuller": 1})])
@pytest.mark.parametrize("cov_type", ["unadjusted", "robust"])
def test_kclass_and_unadjusted_match_linearmodels(sims, method, options, cov_type):
    "2SLS, LIML and Fuller (α = 1) with homoskedastic and HC1 covariances: linearmodels' IV2SLS / IVLIML."
    mediators = ["m1", "m2"]
    ours = msmm_iv(sims, y="y", d=mediators, z="t", site="site", method=method, cov_type=cov_type, rank_alpha=None)
    theirs = linearmodels_fit(sims, y="y", d=mediators, z="t", site="site", cov_type=cov_type,
                              estimator=IV2SLS if method == "2sls" else IVLIML, **options)
    np.testing.assert_allclose(ours.params[mediators], theirs.params[mediators], rtol=RTOL)
    np.testing.assert_allclose(ours.std_errors[mediators], theirs.std_errors[mediators], rtol=RTOL)


def leave_one_out_first_stage(df, mediators, z, site):
    "Kolesár's UJIVE instrument by brute force: mean of the other units of one's arm minus of the other units of one's site."
    x, s, t = df[mediators].to_numpy(), df[site].to_numpy(), df[z].to_numpy()
    rows = []
    for i in range(len(df)):
        arm, same_site = (s == s[i]) & (t == t[i]), s == s[i]
        arm[i] = same_site[i] = False
        rows.append(x[arm].mean(axis=0) - x[same_site].mean(axis=0))
    return np.array(rows)


def test_ujive_equals_brute_force(sims):
    "UJIVE's estimate and site-clustered covariance against an explicit leave-one-out loop (40 sites × 24 units)."
    small = sims[sims.site < 40].groupby("site").head(24)
    mediators = ["m1", "m2"]
    x_hat = leave_one_out_first_stage(small, mediators, "t", "site")
    y, x = small["y"].to_numpy(), small[mediators].to_numpy()
    a = x_hat.T @ x
    delta = np.linalg.solve(a, x_hat.T @ y)
    scores = pd.DataFrame(x_hat * (y - x @ delta)[:, None]).groupby(small["site"].to_numpy()).sum().to_numpy()
    k = len(scores)
    cov = k / (k - 1) * np.linalg.inv(a) @ scores.T @ scores @ np.linalg.inv(a).T
    ours = msmm_iv(small, y="y", d=mediators, z="t", site="site", method="ujive", cluster="site", rank_alpha=None)
    np.testing.assert_allclose(ours.params[mediators], delta, rtol=RTOL)
    np.testing.assert_allclose(ours.cov.to_numpy(), cov, rtol=1e-7)


def test_bekker_matches_dense_formula(sims):
    """Bekker's many-instrument covariance of LIML from explicit matrices: residuals, the projection on the site×T
    instruments after partialling out the sites, and Hansen–Hausman–Newey (2008)'s V̂ = H⁻¹ΣH⁻¹."""
    small = sims[sims.site < 20]
    mediators = ["m1", "m2"]
    ours = msmm_iv(small, y="y", d=mediators, z="t", site="site", method="liml", cov_type="bekker", rank_alpha=None)
    dummies, instruments = with_interactions(small, "t", "site")
    w = dummies.to_numpy()
    annihilate = np.eye(len(w)) - w @ np.linalg.pinv(w)
    q = annihilate @ instruments.to_numpy()
    proj = q @ np.linalg.pinv(q)
    y, x = annihilate @ small["y"].to_numpy(), annihilate @ small[mediators].to_numpy()
    u = y - x @ ours.params[mediators].to_numpy()
    alpha = u @ proj @ u / (u @ u)
    x_bar = x - np.outer(u, u @ x / (u @ u))
    sigma2 = u @ u / (len(u) - w.shape[1] - len(mediators))
    h = x.T @ proj @ x - alpha * x.T @ x
    middle = sigma2 * ((1 - alpha) ** 2 * x_bar.T @ proj @ x_bar + alpha**2 * x_bar.T @ (np.eye(len(u)) - proj) @ x_bar)
    np.testing.assert_allclose(ours.cov.to_numpy(), np.linalg.inv(h) @ middle @ np.linalg.inv(h), rtol=1e-7)


def test_first_stage_matches_dense_engine(sims):
    """Per-site moments give the same partial R², homoskedastic F and Sanderson–Windmeijer F as the dense engine run
    on the explicit site×T interaction matrix; the jackknife signal is Σ_i X̂_i X_i of the brute-force UJIVE instrument."""
    dummies, instruments = with_interactions(sims, "t", "site")
    dense_frame = pd.concat([sims, instruments], axis=1)
    dense = tsls(dense_frame, y="y", d=["m1", "m2"], z=list(instruments.columns), absorb="site", cov_type="unadjusted")
    ours = msmm_iv(sims, y="y", d=["m1", "m2"], z="t", site="site", rank_alpha=None)
    for col, theirs in [("partial_r2", "partial_r2"), ("f_homoskedastic", "f_stat"), ("sw_f_homoskedastic", "sw_f_stat")]:
        np.testing.assert_allclose(ours.first_stage[col], dense.first_stage[theirs], rtol=1e-7)
    small = sims[sims.site < 10]
    x_hat = leave_one_out_first_stage(small, ["m1"], "t", "site")[:, 0]
    signal = pd.Series(x_hat * small["m1"].to_numpy()).groupby(small["site"].to_numpy()).sum()
    one = msmm_iv(small, y="y", d="m1", z="t", site="site")
    np.testing.assert_allclose(one.first_stage.loc["m1", "f_jackknife"], signal.sum() / np.sqrt(signal @ signal),
                               rtol=1e-8)


def test_jackknife_equals_brute_force_deletion(sims):
    mediators = ["m1", "m2"]
    ours = msmm_iv(sims, y="y", d=mediators, z="t", site="site", rank_alpha=None)  # the default
    assert ours.cov_type == "delete-one-site jackknife" and ours.df_resid == sims.site.nunique() - 1
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
    with pytest.raises(ValueError, match="UJIVE's jackknife first stage pairs units"):
        msmm_iv(sims, y="y", d="m1", z="t", site="site", method="ujive", cov_type="robust")
    with pytest.raises(ValueError, match="Bekker's covariance is for LIML and Fuller"):
        msmm_iv(sims, y="y", d="m1", z="t", site="site", cov_type="bekker")
    with pytest.raises(ValueError, match="delta0 needs one value per mediator"):
        msmm_score_test(sims, y="y", d=["m1", "m2"], z="t", site="site", delta0=[1.0, 0.5, 0.0])


DESIGNS = {  # the coverage study of the notebook: every design with one mediator, δ = 1
    "few large sites": dict(n_sites=30, n_per_site=600, delta=(1.0,), gamma_mean=(0.5,), gamma_sd=(0.3,)),
    "many small sites": dict(n_sites=400, n_per_site=(4, 10), delta=(1.0,), gamma_mean=(0.8,), gamma_sd=(0.3,),
                             assignment="complete"),
    "effects spread with compliance": dict(n_sites=100, n_per_site=200, delta=(1.0,), gamma_mean=(0.5,),
                                           gamma_sd=(0.4,), effect_sd_site=1.0, effect_spread=2.0),
    "weak, many small sites": dict(n_sites=300, n_per_site=(3, 8), delta=(1.0,), gamma_mean=(0.4,), gamma_sd=(0.2,),
                                   assignment="complete"),
    "no between-site effect variation": dict(n_sites=50, n_per_site=100, delta=(1.0,), gamma_mean=(0.5,),
                                             gamma_sd=(0.3,), effect_sd_site=0.0),
}
# Which intervals each design must support, from the notebook's coverage table (seeds 7, 8; and 21, 22 for the few
# large sites): those whose coverage was 0.94 or more. The others are shown failing there, for reasons the notebook
# gives: 2SLS's many-instrument bias, LIML's estimand when effects vary with compliance, conditional (HC1,
# homoskedastic, Bekker) standard errors when effects vary across sites, homoskedastic LIML with many instruments.
VALID = {
    "few large sites": [("ujive", "jackknife"), ("score test", "site clusters")],
    "many small sites": [("liml", "jackknife"), ("fuller", "jackknife"), ("liml", "bekker"), ("fuller", "bekker"),
                         ("ujive", "jackknife"), ("ujive", "clustered"), ("score test", "site clusters")],
    "effects spread with compliance": [("ujive", "jackknife"), ("score test", "site clusters")],
    "weak, many small sites": [("score test", "site clusters")],
    "no between-site effect variation": [("liml", "jackknife"), ("liml", "robust"), ("liml", "bekker"),
                                         ("fuller", "bekker"), ("ujive", "jackknife"), ("score test", "site clusters")],
}
ALL_SE = ("jackknife", "clustered", "robust", "unadjusted", "bekker")


FAST_SIZES = {"few large sites": 150, "effects spread with compliance": 80}  # fewer units per site, same sites


@pytest.mark.parametrize("name", DESIGNS)
def test_coverage_fast(name):
    """250 replications (with smaller sites where they are large: the site-level intervals' coverage depends on the
    number of sites): MC s.e. 0.014 at 0.95, so the band [0.88, 0.995] is about four MC s.e. either side and holds
    for any seed; the weak design is flagged in most replications."""
    design = {**DESIGNS[name], "n_per_site": FAST_SIZES.get(name, DESIGNS[name]["n_per_site"])}
    table = msmm_coverage(250, seed=None, cov_types=ALL_SE, **design)["m1"]
    assert table[VALID[name]].between(0.88, 0.995).all(), table
    if name.startswith("weak"): assert table[("flagged weak", "share")] > 0.5, table


@pytest.mark.slow
@pytest.mark.parametrize("name", DESIGNS)
def test_coverage_2000_replications(name):
    """2,000 replications per design, in two batches of 1,000 (MC s.e. 0.005): every valid interval in [0.93, 0.97],
    about 2.4 MC s.e. below the lowest measured coverage (0.942, UJIVE with few large sites)."""
    batches = [msmm_coverage(1_000, seed=None, cov_types=ALL_SE, **DESIGNS[name])["m1"] for _ in range(2)]
    table = sum(batches) / 2
    assert table[VALID[name]].between(0.93, 0.97).all(), table


def test_falsification_test_size_and_power():
    """The corrected no-intercept test holds its size where the naive free-intercept test does not (errors in
    variables), and detects a direct effect of T. 400 replications: MC s.e. 0.011 at 0.05, band [0.01, 0.10]; 50
    sites of 80 units."""
    small, default = DESIGNS["many small sites"], {"n_per_site": 80}
    for design in (default, small):
        rates = falsification_rates(400, seed=None, **design)
        assert 0.01 <= rates["corrected (jackknife)"] <= 0.10, rates
    assert falsification_rates(400, seed=None, **small)["naive free intercept"] > 0.5
    assert falsification_rates(400, seed=None, direct_effect=0.5, **default)["corrected (jackknife)"] > 0.5


@pytest.mark.slow
def test_falsification_test_size_2000_replications():
    "Size within [0.03, 0.07] on the default design and on many small sites (MC s.e. 0.005 at 0.05)."
    for design in ({}, DESIGNS["many small sites"]):
        assert 0.03 <= falsification_rates(2_000, seed=None, **design)["corrected (jackknife)"] <= 0.07


def test_site_effects_is_a_displayed_result(sims):
    result = site_effects(sims, y="y", d=["m1", "m2"], z="t", site="site")
    assert isinstance(result, ResultDisplay) and isinstance(result.intercept_test, TestResult)
    assert result.summary().index.tolist() == ["m1", "m2", "free intercept"]
    assert result.intercept_test.df == sims.site.nunique() - 1 and 0 <= result.intercept_test.p_value <= 1
    assert repr(result).startswith("Site effects — 30 sites") and "free intercept" in result.to_latex()
    assert "<table" in result._repr_html_()


def test_weak_design_is_flagged_with_a_robust_set():
    """Many tiny sites with little compliance: the result says the instruments are weak, in its notes and its
    diagnostics, and its robust set (a ConfidenceSet that may be unbounded) contains UJIVE's estimate."""
    weak = simulate_multisite(n_sites=300, n_per_site=(3, 8), delta=(1.0,), gamma_mean=(0.1,), gamma_sd=(0.05,),
                              assignment="complete", seed=3)
    fit = msmm_iv(weak, y="y", d="m1", z="t", site="site", method="ujive")
    assert fit.diagnostics["weak"] and any("weak instruments" in note for note in fit.notes)
    assert fit.diagnostics["robust_set"].contains(fit.params["m1"])
    strong = msmm_iv(simulate_multisite(delta=(1.0,), gamma_mean=(0.5,), gamma_sd=(0.5,), seed=3), y="y", d="m1",
                     z="t", site="site")
    assert not strong.diagnostics["weak"] and strong.diagnostics["robust_set"].kind == "interval"


def test_score_test_inverts_to_the_robust_set(sims):
    "The score test's p-value crosses 0.05 exactly at the ends of the 95% robust set."
    one = msmm_iv(sims, y="y", d="m1", z="t", site="site")
    (lower, upper), = one.diagnostics["robust_set"].intervals
    for end in (lower, upper):
        test = msmm_score_test(sims, y="y", d="m1", z="t", site="site", delta0=end)
        np.testing.assert_allclose(test.p_value, 0.05, rtol=1e-6)
    assert msmm_score_test(sims, y="y", d="m1", z="t", site="site", delta0=one.params["m1"]).p_value > 0.05


def test_star_and_thornton_first_stages_are_finite():
    "Small schools and villages with exact first stages no longer give an infinite F."
    from ivspill.datasets import load_thornton_hiv
    star = load_star()
    fit = msmm_iv(star, y="score_1", d="small_1", z="small_k", site="school")
    thornton = load_thornton_hiv()
    thornton = thornton[thornton.groupby("village").incentive.transform("nunique") == 2]
    hiv = msmm_iv(thornton, y="hiv2004", d="learned", z="incentive", site="village")
    for result in (fit, hiv):
        assert np.isfinite(result.first_stage.drop(columns="jackknife_pvalue")).all().all(), result.first_stage


@pytest.mark.parametrize("simulate", [simulate_linear_site, simulate_types, simulate_multisite])
def test_simulators_take_a_generator(simulate):
    "A generator made from an int gives the int's draws; None gives fresh ones."
    pd.testing.assert_frame_equal(simulate(seed=np.random.default_rng(7)), simulate(seed=7))
    assert len(simulate(seed=None)) == len(simulate(seed=7))
