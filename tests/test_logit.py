"""ivspill.core.fit_logit on data with tiny fitted probabilities but no separation: it must fit (statsmodels as the
oracle), and still refuse data that are separated."""
import numpy as np
import pytest
import statsmodels.api as sm

from ivspill.core import fit_logit


def test_tiny_probabilities_without_separation_fit_like_statsmodels():
    "One covariate value far in the tail gives a fitted probability near 2e-9: legitimate, not separation."
    rng = np.random.default_rng(0)
    x = rng.normal(size=2_000)
    x[0] = -10
    y = (rng.random(2_000) < 1 / (1 + np.exp(-2 * x))).astype(float)
    design = np.column_stack([np.ones(2_000), x])
    fit = fit_logit(design, y)
    assert fit.probs.min() < 1e-8
    np.testing.assert_allclose(fit.coef, sm.Logit(y, design).fit(disp=0).params, rtol=1e-6)


def test_separated_data_are_still_refused():
    rng = np.random.default_rng(1)
    w = rng.normal(size=200)
    with pytest.raises(ValueError, match="separation"):
        fit_logit(np.column_stack([np.ones(200), w]), (w > 0).astype(float))
