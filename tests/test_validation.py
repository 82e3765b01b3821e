"""Property tests: whatever is wrong with a frame, the entry points raise the promised ValueError/TypeError naming the
column and the problem, never a numpy or pandas traceback and never a silent NaN."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivspill.core import cell_moments, check_cells, check_frame, cluster_bootstrap, tsls

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def frames(draw):
    n = draw(st.integers(8, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    z = np.r_[0, 1, rng.integers(0, 2, n - 2)]
    return pd.DataFrame({"y": rng.normal(size=n), "d": (z * rng.integers(0, 2, n)) | (rng.random(n) < 0.2),
                         "z": z, "g": rng.integers(0, 4, n).astype(str), "w": rng.normal(size=n)}).astype(
                             {"d": int})


CORRUPTIONS = {
    "missing column": (lambda df, c: df.drop(columns=c), "not in the data frame"),
    "missing value": (lambda df, c: df.assign(**{c: df[c].where(df.index != df.index[0])}), "missing value"),
    "not numeric": (lambda df, c: df.assign(**{c: df[c].astype(str) + "x"}), "must be numeric"),
    "infinite": (lambda df, c: df.assign(**{c: df[c].astype(float).where(df.index != df.index[-1], np.inf)}), "infinite"),
    "not binary": (lambda df, c: df.assign(**{c: df[c].where(df.index != df.index[0], 2)}), "must be binary"),
}


@SETTINGS
@given(df=frames(), corruption=st.sampled_from(sorted(CORRUPTIONS)), column=st.sampled_from(["y", "d", "z"]))
def test_check_frame_names_column_and_problem(df, corruption, column):
    corrupt, message = CORRUPTIONS[corruption]
    if corruption == "not binary" and column == "y": column = "d"
    bad = corrupt(df, column)
    with pytest.raises(ValueError, match=message) as err:
        check_frame(bad, numeric=["y", "w"], binary=["d", "z"], keys=["g"])
    assert f"'{column}'" in str(err.value) or column in str(err.value)


@SETTINGS
@given(df=frames(), corruption=st.sampled_from(["missing column", "missing value", "not numeric", "infinite"]),
       column=st.sampled_from(["y", "d", "z", "w"]))
def test_tsls_rejects_bad_frames_cleanly(df, corruption, column):
    corrupt, message = CORRUPTIONS[corruption]
    with pytest.raises(ValueError, match=message) as err:
        tsls(corrupt(df, column), y="y", d="d", z="z", covariates="w")
    assert column in str(err.value)


@SETTINGS
@given(df=frames())
def test_tsls_on_valid_frames_is_finite_or_refused(df):
    """A valid frame gives finite estimates and standard errors, or a ValueError that says why (e.g. zero first
    stage, collinearity): never a NaN, never another exception."""
    try:
        fit = (tsls(df, y="y", d="d", z="z", covariates="w", cluster="g") if df.g.nunique() > 1
               else tsls(df, y="y", d="d", z="z", covariates="w"))
    except ValueError as e:
        assert any(s in str(e) for s in ("first stage", "collinear", "no variation", "observations")), str(e)
        return
    assert np.isfinite(fit.params).all() and np.isfinite(fit.std_errors).all()


@SETTINGS
@given(df=frames())
def test_single_cluster_is_refused(df):
    with pytest.raises(ValueError, match="'g' has 1 cluster"):
        tsls(df.assign(g="only"), y="y", d="d", z="z", cluster="g")


@SETTINGS
@given(df=frames(), drop=st.sampled_from([(0, 0), (0, 1), (1, 0), (1, 1)]))
def test_empty_instrument_cell_is_named(df, drop):
    bad = df[~((df.d == drop[0]) & (df.z == drop[1]))]
    with pytest.raises(ValueError, match=f"'d': {drop[0]}, 'z': {drop[1]}"):
        check_cells(bad, ["d", "z"], levels=[[0, 1], [0, 1]])


@SETTINGS
@given(df=frames())
def test_cell_moments_counts_add_up(df):
    moments = cell_moments(df, ["z", "g"], ["y", "d"])
    assert moments["n"].sum() == len(df)
    np.testing.assert_allclose((moments["n"] * moments["y"]).sum(), df.y.sum(), atol=1e-12)  # the sum may be ≈ 0


def test_not_a_frame_is_a_type_error():
    with pytest.raises(TypeError, match="DataFrame"):
        tsls(np.zeros((5, 3)), y="y", d="d", z="z")


def test_bootstrap_needs_two_clusters():
    with pytest.raises(ValueError, match="at least 2"):
        cluster_bootstrap(np.ones(4), np.zeros(4), lambda t: t[:, 0])


def test_columns_are_keyword_only():
    df = pd.DataFrame({"y": [1.0, 2, 3, 4], "d": [0, 1, 1, 0], "z": [0, 1, 0, 1]})
    with pytest.raises(TypeError, match="positional argument"):
        tsls(df, "y", "d", "z")
