"""The result family in publication tables: ivspill results appear in maketables' ETable (the engine behind pyfixest's
etable) through the `__maketables_*__` plug-in attributes, beside a linearmodels fit of the same model."""
import numpy as np
import pandas as pd
import pytest

maketables = pytest.importorskip("maketables")
from linearmodels.iv import IV2SLS

from ivspill.core import Bounds, TestResult, tsls


@pytest.fixture(scope="module")
def df():
    rng = np.random.default_rng(0)
    n = 2_000
    data = pd.DataFrame({"z": rng.integers(0, 2, n), "u": rng.normal(size=n)})
    data["d"] = (rng.random(n) < 0.2 + 0.5 * data.z + 0.2 * (data.u > 0)).astype(float)
    data["y"] = 2.0 * data.d + data.u + rng.normal(size=n)
    return data


def test_estimates_in_an_etable_beside_linearmodels(df):
    fit = tsls(df, y="y", d="d", z="z")
    peer = IV2SLS.from_formula("y ~ 1 + [d ~ z]", df).fit(cov_type="robust")
    table = maketables.ETable([fit, peer]).make(type="tex")
    assert f"{fit.params['d']:.3f}" in table and f"({fit.std_errors['d']:.3f})" in table
    assert f"{peer.params['d']:.3f}" in table  # the same model: the same coefficient printed twice
    assert "2,000" in table and "robust (HC1)" in table


def test_bounds_and_tests_in_an_etable():
    bounds = Bounds(pd.Series({"effect": 0.25}), pd.Series({"effect": 1.5}), pd.Series({"effect": 0.1}),
                    pd.Series({"effect": 0.2}), title="MTR bounds")
    test = TestResult(4.2, 0.003, "max-t", "every inequality holds", df=3, title="Validity")
    table = maketables.ETable([bounds, test]).make(type="tex")
    assert "effect lower" in table and "0.250" in table and "(0.100)" in table and "1.500" in table
    assert "max-t" in table and "4.200" in table
