"""The 2SLS engine against linearmodels' IV2SLS (the oracle) on random data: coefficients, standard errors and
first-stage statistics to 1e-8 relative. Absorbed fixed effects are compared with site dummies in linearmodels;
CR1 is linearmodels' `debiased=True` clustered covariance, HC1 its `debiased=True` robust covariance."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from linearmodels.iv import IV2SLS

from ivspill.core import ols, tsls

RTOL = 1e-8


def simulate(n_endog, n_instr, n_sites=12, n=1500, seed=0):
    rng = np.random.default_rng(seed + 100 * n_endog + n_instr)
    site = rng.integers(0, n_sites, n)
    z = rng.normal(size=(n, n_instr)) + rng.normal(size=n_sites)[site, None]
    u = rng.normal(size=n) + 0.5 * rng.normal(size=n_sites)[site]  # confounder, correlated within sites
    w = rng.normal(size=(n, 2))
    pi = rng.normal(size=(n_instr, n_endog)) + np.eye(n_instr, n_endog) * 2
    x = z @ pi + u[:, None] + 0.3 * w[:, :1] + rng.normal(size=(n, n_endog))
    y = x @ np.arange(1, n_endog + 1) + w @ [0.5, -0.5] + u + rng.normal(size=n) * (1 + np.abs(z[:, 0]))
    df = pd.DataFrame({"y": y, "site": site})
    df[[f"x{j}" for j in range(n_endog)]] = x
    df[[f"z{j}" for j in range(n_instr)]] = z
    df[["w0", "w1"]] = w
    return df


def linearmodels_fit(df, endog, instr, absorb, cov_type):
    exog = df[["w0", "w1"]]
    exog = exog.join(pd.get_dummies(df.site, prefix="s", dtype=float)) if absorb else sm.add_constant(exog)
    kwargs = {"clusters": df.site} if cov_type == "clustered" else {}
    lm_cov = {"robust": "robust", "clustered": "clustered", "unadjusted": "unadjusted"}[cov_type]
    return IV2SLS(df.y, exog, df[endog], df[instr]).fit(cov_type=lm_cov, debiased=True, **kwargs)


@pytest.mark.parametrize("cov_type", ["robust", "clustered", "unadjusted"])
@pytest.mark.parametrize("absorb", [False, True], ids=["no_fe", "site_fe"])
@pytest.mark.parametrize("n_instr", [1, 60])
@pytest.mark.parametrize("n_endog", [1, 3])
def test_tsls_matches_linearmodels(n_endog, n_instr, absorb, cov_type):
    endog, instr = [f"x{j}" for j in range(n_endog)], [f"z{j}" for j in range(n_instr)]
    df = simulate(n_endog, max(n_instr, n_endog))
    if n_instr < n_endog:  # 3 endogenous regressors, 1 instrument: under-identified, must be refused clearly
        with pytest.raises(ValueError, match="order condition"):
            tsls(df, y="y", d=endog, z=instr, covariates=["w0", "w1"], absorb="site" if absorb else None)
        return
    cluster = "site" if cov_type == "clustered" else None
    ours = tsls(df, y="y", d=endog, z=instr, covariates=["w0", "w1"], absorb="site" if absorb else None,
                cluster=cluster, cov_type=cov_type)
    theirs = linearmodels_fit(df, endog, instr, absorb, cov_type)
    names = endog + ["w0", "w1"] + ([] if absorb else ["const"])
    np.testing.assert_allclose(ours.params[names], theirs.params[names], rtol=RTOL)
    np.testing.assert_allclose(ours.std_errors[names], theirs.std_errors[names], rtol=RTOL)
    np.testing.assert_allclose(ours.cov.loc[names, names], theirs.cov.loc[names, names], rtol=1e-7, atol=1e-14)
    diag = theirs.first_stage.diagnostics
    np.testing.assert_allclose(ours.first_stage.partial_r2, diag.loc[endog, "partial.rsquared"], rtol=RTOL)


@pytest.mark.parametrize("cov_type", ["robust", "clustered", "unadjusted"])
def test_first_stage_f_matches_statsmodels(cov_type):
    """First-stage F = Wald test of the excluded instruments / q in the full first-stage regression, with the same
    covariance and small-sample factor as statsmodels OLS (HC1; cluster with its default correction)."""
    df = simulate(2, 5, seed=7)
    endog, instr = ["x0", "x1"], [f"z{j}" for j in range(5)]
    cluster = "site" if cov_type == "clustered" else None
    ours = tsls(df, y="y", d=endog, z=instr, covariates=["w0", "w1"], cluster=cluster, cov_type=cov_type)
    exog = sm.add_constant(df[instr + ["w0", "w1"]])
    sm_cov = {"robust": ("HC1", {}), "clustered": ("cluster", {"groups": df.site}), "unadjusted": ("nonrobust", {})}
    for x in endog:
        kind, kw = sm_cov[cov_type]
        fit = sm.OLS(df[x], exog).fit(cov_type=kind, cov_kwds=kw or None)
        wald = fit.wald_test(" = 0, ".join(instr) + " = 0", scalar=True, use_f=False).statistic
        np.testing.assert_allclose(ours.first_stage.loc[x, "f_stat"], wald / len(instr), rtol=RTOL)


def test_sanderson_windmeijer_homoskedastic_formula():
    """With unadjusted covariance the conditional F equals the textbook construction: 2SLS of x_j on the other
    endogenous regressor, then the F test of the instruments on its residual, over q - p + 1."""
    df = simulate(2, 4, seed=3)
    instr = [f"z{j}" for j in range(4)]
    ours = tsls(df, y="y", d=["x0", "x1"], z=instr, covariates=["w0", "w1"], cov_type="unadjusted")
    aux = IV2SLS(df.x0, sm.add_constant(df[["w0", "w1"]]), df[["x1"]], df[instr]).fit(cov_type="unadjusted")
    resid = df.x0 - aux.params["const"] - df[["w0", "w1", "x1"]] @ aux.params[["w0", "w1", "x1"]]
    ols = sm.OLS(resid, sm.add_constant(df[instr + ["w0", "w1"]])).fit()
    wald = ols.wald_test(" = 0, ".join(instr) + " = 0", scalar=True, use_f=False).statistic
    np.testing.assert_allclose(ours.first_stage.loc["x0", "sw_f_stat"], wald / (4 - 2 + 1), rtol=RTOL)


@pytest.mark.parametrize("cov_type", ["robust", "clustered", "unadjusted"])
def test_ols_matches_statsmodels(cov_type):
    df = simulate(1, 1, seed=11)
    cluster = "site" if cov_type == "clustered" else None
    ours = ols(df, y="y", x=["x0", "w0", "w1"], cluster=cluster, cov_type=cov_type)
    kind, kw = {"robust": ("HC1", None), "clustered": ("cluster", {"groups": df.site}), "unadjusted": ("nonrobust", None)}[cov_type]
    theirs = sm.OLS(df.y, sm.add_constant(df[["x0", "w0", "w1"]])).fit(cov_type=kind, cov_kwds=kw)
    np.testing.assert_allclose(ours.params[theirs.params.index], theirs.params, rtol=RTOL)
    np.testing.assert_allclose(ours.std_errors[theirs.params.index], theirs.bse, rtol=RTOL)
