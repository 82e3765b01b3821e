"""Large data: the cell-sum estimators give the in-memory numbers (1e-10) on every input kind — pandas, polars eager
and lazy, a duckdb relation, a dask frame, a parquet path — and on a dask.distributed cluster; bad data get the same
named errors in every engine; in memory, estimators hold at most 1.5x the input beyond it."""
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import ivspill
from ivspill.late import simulate_multisite, simulate_linear_site

pl = pytest.importorskip("polars")
duckdb = pytest.importorskip("duckdb")
dd = pytest.importorskip("dask.dataframe")

KINDS = ["polars", "lazy", "duckdb", "dask", "parquet"]


def as_kind(df: pd.DataFrame, kind: str, tmp_path):
    "The same data as another input kind."
    if kind == "polars": return pl.from_pandas(df)
    if kind == "lazy": return pl.from_pandas(df).lazy()
    if kind == "duckdb": return duckdb.from_df(df)
    if kind == "dask": return dd.from_pandas(df, npartitions=4)
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(len(df)), 3)):  # a directory of files, like a partitioned export
        df.iloc[part].to_parquet(path / f"part{i}.parquet")
    return path


def assert_same(ours, reference, tol=1e-10):
    "Same params, covariance, counts and notes; relative to the scale of each number."
    scale = lambda a: np.maximum(np.abs(np.asarray(a, dtype=float)), 1.0)
    for a, b in [(ours.params, reference.params), (ours.cov, reference.cov)]:
        assert np.all(np.abs(np.asarray(a) - np.asarray(b)) <= tol * scale(b)), (a, b)
    assert ours.nobs == reference.nobs and ours.notes == reference.notes and ours.n_clusters == reference.n_clusters


@pytest.fixture(scope="module")
def multisite():
    df = simulate_multisite(n_sites=40, n_per_site=(2, 60), gamma_sd=(0.5, 0.5), seed=11)
    df["y"] += 5_000.0  # far from zero: the shifted sums must stay exact
    df["school"] = df["site"] * 4 + np.random.default_rng(0).integers(0, 4, len(df))  # clusters nested in sites
    return df


CALLS = {
    "msmm_iv ujive": lambda data: ivspill.msmm_iv(data, y="y", d=["m1", "m2"], z="t", site="site"),
    "msmm_iv 2sls CR1 by school": lambda data: ivspill.msmm_iv(data, y="y", d=["m1", "m2"], z="t", site="site",
                                                               method="2sls", cluster="school"),
    "msmm_iv liml robust": lambda data: ivspill.msmm_iv(data, y="y", d="m1", z="t", site="site", method="liml",
                                                        cov_type="robust"),
    "msmm_iv fuller bekker": lambda data: ivspill.msmm_iv(data, y="y", d="m1", z="t", site="site", method="fuller",
                                                          cov_type="bekker"),
    "wald robust": lambda data: ivspill.wald(data, y="y", d="m1", z="t"),
    "wald CR1": lambda data: ivspill.wald(data, y="y", d="m1", z="t", cluster="school"),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("call", list(CALLS))
def test_every_input_kind_gives_the_in_memory_numbers(multisite, call, kind, tmp_path):
    assert_same(CALLS[call](as_kind(multisite, kind, tmp_path)), CALLS[call](multisite))


@pytest.mark.parametrize("kind", KINDS)
def test_diagnostics_tests_and_site_tables_too(multisite, kind, tmp_path):
    data = as_kind(multisite, kind, tmp_path)
    ours, ref = (ivspill.msmm_iv(x, y="y", d="m1", z="t", site="site") for x in (data, multisite))
    pd.testing.assert_frame_equal(ours.first_stage, ref.first_stage, rtol=1e-10)
    assert np.allclose(ours.diagnostics["robust_set"].intervals, ref.diagnostics["robust_set"].intervals, rtol=1e-10, atol=0)
    ours, ref = (ivspill.msmm_score_test(x, y="y", d=["m1", "m2"], z="t", site="site", delta0=[1, 0.5])
                 for x in (data, multisite))
    assert ours.statistic == pytest.approx(ref.statistic, rel=1e-10)
    ours, ref = (ivspill.late.site_effects(x, y="y", d="m1", z="t", site="site") for x in (data, multisite))
    pd.testing.assert_frame_equal(ours.table, ref.table, rtol=1e-10)
    assert ours.intercept_test.statistic == pytest.approx(ref.intercept_test.statistic, rel=1e-10)


DAMAGES = {
    "non-binary instrument": (lambda df: df.assign(t=df["t"] * 2), "column 't' must be binary (0/1); it also takes the value(s) [2]"),
    "missing outcome": (lambda df: df.assign(y=df["y"].where(df.index % 10 > 0)), "column 'y' has"),
    "constant outcome": (lambda df: df.assign(y=1.0), "column 'y' has no variation"),
    "text mediator": (lambda df: df.assign(m1="a"), "column 'm1' must be numeric"),
    "absent column": (lambda df: df.drop(columns="m1"), "column(s) ['m1'] not in the data frame"),
    "a site without controls": (lambda df: df[~((df["site"] == 3) & (df["t"] == 0))],
                                "1 site(s) of 'site' lack treated or control units"),
}


@pytest.mark.parametrize("kind", ["pandas", *KINDS])
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_bad_data_get_the_same_named_error_in_every_engine(multisite, damage, kind, tmp_path):
    damaged, message = DAMAGES[damage]
    data = damaged(multisite).reset_index(drop=True)
    if kind != "pandas": data = as_kind(data, kind, tmp_path)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        ivspill.msmm_iv(data, y="y", d=["m1"], z="t", site="site")


def test_unsupported_input_is_refused():
    with pytest.raises(TypeError, match="expected a pandas, polars or dask DataFrame"):
        ivspill.msmm_iv({"y": [1.0]}, y="y", d="m1", z="t", site="site")


def test_a_dask_distributed_cluster_gives_the_in_memory_numbers(multisite, tmp_path):
    "The same call on a LocalCluster (two worker processes): the code that runs on a multi-node cluster."
    distributed = pytest.importorskip("distributed")
    path = as_kind(multisite, "parquet", tmp_path)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, processes=True) as cluster, \
            distributed.Client(cluster):
        data = dd.read_parquet(str(path))
        for call in ("msmm_iv ujive", "msmm_iv 2sls CR1 by school", "wald CR1"):
            assert_same(CALLS[call](data), CALLS[call](multisite))


@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(0)
    n = 2_000_000
    df = pd.DataFrame({"site": rng.integers(0, 100, n), "t": rng.integers(0, 2, n), "w": rng.normal(size=n)})
    df["m"] = (rng.random(n) < 0.2 + 0.5 * df["t"]).astype(float)
    df["y"] = df["m"] + rng.normal(size=n)
    return df


IN_MEMORY = {
    "msmm_iv": lambda df: ivspill.msmm_iv(df, y="y", d="m", z="t", site="site"),
    "tsls, absorbed sites, CR1": lambda df: ivspill.tsls(df, y="y", d="m", z="t", covariates="w", absorb="site",
                                                         cluster="site"),
    "tsls, constant, HC1": lambda df: ivspill.tsls(df, y="y", d="m", z="t", covariates="w"),
    "wald": lambda df: ivspill.wald(df, y="y", d="m", z="t"),
}


def test_compact_column_types_too(big):
    "The cell codes (8 bytes a row) are the largest array: with int32/int8 columns (14 bytes a row) still <= 1.5x."
    compact = big.astype({"site": np.int32, "t": np.int8, "m": np.int8})[["site", "t", "m", "y"]]
    IN_MEMORY["msmm_iv"](compact.head(10_000))
    tracemalloc.start()
    IN_MEMORY["msmm_iv"](compact)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak <= 1.5 * compact.memory_usage(index=False).sum(), peak / compact.memory_usage(index=False).sum()


@pytest.mark.parametrize("call", list(IN_MEMORY))
def test_in_memory_estimators_hold_less_than_half_the_input_beyond_it(big, call):
    "Peak memory beyond the input while an estimator runs on 2e6 rows: at most 1.5x the input."
    IN_MEMORY[call](big.head(10_000))  # imports and caches outside the measurement
    tracemalloc.start()
    IN_MEMORY[call](big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak <= 1.5 * big.memory_usage(index=False).sum(), peak / big.memory_usage(index=False).sum()


@pytest.fixture(scope="module")
def regression():
    "An IV regression with levels far from zero (y near 1,000, a control near 50): a test of the conditioning."
    rng = np.random.default_rng(5)
    n = 4_000
    df = pd.DataFrame({"site": rng.integers(0, 12, n), "cl": rng.integers(0, 60, n), "z1": rng.normal(size=n),
                       "z2": rng.integers(0, 2, n), "w": rng.normal(size=n) + 50})
    df["x1"] = df["z1"] + 0.5 * df["z2"] + rng.normal(size=n) + 3
    df["x2"] = df["z2"] - 0.3 * df["z1"] + rng.normal(size=n)
    df["y"] = 1_000 + df["x1"] - 0.5 * df["x2"] + 0.2 * df["w"] + rng.normal(size=n) * (1 + df["z2"])
    return df


TSLS = {
    "absorbed sites, CR1": dict(d=["x1", "x2"], z=["z1", "z2"], absorb="site", cluster="cl"),
    "control and constant, CR1": dict(d="x1", z=["z1", "z2"], covariates="w", cluster="cl"),
    "no constant, CR1 by site": dict(d="x1", z="z1", constant=False, cluster="site"),
    "unadjusted": dict(d=["x1", "x2"], z=["z1", "z2"], covariates="w", cov_type="unadjusted"),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("spec", list(TSLS))
def test_tsls_on_every_input_kind(regression, spec, kind, tmp_path):
    ours = ivspill.tsls(as_kind(regression, kind, tmp_path), y="y", **TSLS[spec])
    reference = ivspill.tsls(regression, y="y", **TSLS[spec])
    assert_same(ours, reference)
    pd.testing.assert_frame_equal(ours.first_stage, reference.first_stage, rtol=1e-9)


def test_tsls_with_a_constant_is_as_accurate_as_a_qr_solve(regression):
    """The columns are shifted by their means before their cross-products are formed: the normal equations of raw
    columns near 50 and 1,000 lose about 1e-8 of relative accuracy here; the shifted ones match a QR solve."""
    x = np.column_stack([np.ones(len(regression)), regression[["x1", "w"]]])
    qr = np.linalg.lstsq(x, regression["y"].to_numpy(), rcond=None)[0]
    for data in (regression, duckdb.from_df(regression)):
        fit = ivspill.ols(data, y="y", x=["x1", "w"], cluster="cl")
        assert np.allclose(fit.params[["const", "x1", "w"]], qr, rtol=1e-12, atol=0)


def test_row_level_standard_errors_need_the_rows(regression):
    with pytest.raises(ValueError, match="heteroskedasticity-robust .* need every row's score"):
        ivspill.tsls(duckdb.from_df(regression), y="y", d="x1", z="z1")


@pytest.fixture(scope="module")
def interference_data():
    from ivspill.interference import simulate_did_interference, simulate_iv_interference, simulate_rdd_interference
    did = simulate_did_interference(n=3_000, seed=3).assign(y1=lambda f: f["y1"] + 1_000.0)
    return {"did": did, "iv": simulate_iv_interference(n=3_000, seed=1).assign(cl=lambda f: f.index % 40),
            "rdd": simulate_rdd_interference(n=4_000, seed=2)}


INTERFERENCE = {
    "wald_lade CR1": ("iv", lambda data: ivspill.wald_lade(data, y="y", d="d", z="z", cluster="cl")),
    "did_adtt plain": ("did", lambda data: ivspill.did_adtt(data, y_pre="y0", y_post="y1", d="d", method="plain")),
    "did_adtt_dynamic plain": ("did", lambda data: ivspill.did_adtt_dynamic(data, y_pre="y0", y_post="y1", d="d",
                                                                            method="plain", anticipation=0.2)),
    "rdd_ade at h": ("rdd", lambda data: ivspill.rdd_ade(data, y="y", running="w", bandwidth=0.3, bias_bandwidth=0.5)),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("call", list(INTERFERENCE))
def test_interference_estimators_on_every_input_kind(interference_data, call, kind, tmp_path):
    design, fit = INTERFERENCE[call]
    assert_same(fit(as_kind(interference_data[design], kind, tmp_path)), fit(interference_data[design]))


def test_what_needs_every_row_says_so(interference_data):
    with pytest.raises(ValueError, match="give `bandwidth`"):
        ivspill.rdd_ade(duckdb.from_df(interference_data["rdd"]), y="y", running="w")
    with pytest.raises(ValueError, match="fits a model to every row"):
        ivspill.did_adtt(duckdb.from_df(interference_data["did"]), y_pre="y0", y_post="y1", d="d", covariates="w")


@pytest.mark.parametrize("kind", KINDS)
def test_a_boolean_instrument_is_binary_in_every_engine(multisite, kind, tmp_path):
    data = multisite.assign(t=multisite["t"].astype(bool))
    assert_same(ivspill.wald(as_kind(data, kind, tmp_path), y="y", d="m1", z="t"), ivspill.wald(multisite, y="y", d="m1", z="t"))
