"""Large data for the estimators on groups (pairs, households): `pair_wald`, `compliance_shares`, `pooled_shares`,
`group_itt`, `complier_characteristics`, `mtr_bounds` and `mtr_tests` give the in-memory numbers (1e-10) on every input kind — polars eager and lazy, a duckdb relation, a dask frame, a
parquet path — and on a dask.distributed cluster, with the group sums computed in the engine; bad data get the same
named error in every engine; the in-memory pair Wald holds less than 1.5x its input beyond the input."""
import re
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import ivspill
from ivspill.bounds import simulate_mtr_groups, simulate_mtr_pairs
from ivspill.pairs import OSN_DESIGN, simulate_pairs
from test_large_data import KINDS, as_kind

dd = pytest.importorskip("dask.dataframe")


def assert_same(ours, reference, tol=1e-10):
    """Same names, counts and notes; params to `tol` (relative, absolute below 1) and covariances to `tol` in units of
    sd_i·sd_j (a covariance that is zero up to rounding is compared on the scale of its variances)."""
    assert list(ours.params.index) == list(reference.params.index)
    assert ours.nobs == reference.nobs and ours.n_clusters == reference.n_clusters and ours.notes == reference.notes
    b = reference.params.to_numpy()
    assert np.all(np.abs(ours.params.to_numpy() - b) <= tol * np.maximum(np.abs(b), 1.0)), (ours.params, reference.params)
    sd = np.sqrt(np.diag(reference.cov.to_numpy()))
    gap = np.abs(ours.cov.to_numpy() - reference.cov.to_numpy())
    assert np.all(gap <= tol * np.maximum(np.outer(sd, sd), 1e-300)), gap.max()


@pytest.fixture(scope="module")
def pairs():
    df = simulate_pairs(3_000, **OSN_DESIGN, seed=11)[["group", "z", "d", "y"]]
    df["y"] += 50.0  # away from zero: the group scores are centred at the cell means before summing
    df["group"] = "hh" + df["group"].astype(str)  # string labels, rows shuffled: the engine must pair them itself
    df = df.sample(frac=1.0, random_state=1).reset_index(drop=True)
    df["ps"] = np.where(df["z"] == 1, 0.3, 0.2)  # known design probabilities, one per pair cell side
    df["age"] = np.random.default_rng(3).normal(40.0, 10.0, len(df))  # a characteristic measured before assignment
    return df


@pytest.fixture(scope="module")
def groups():
    "Two-sided noncompliance in groups of 2 and 3 and units alone: every branch of compliance_shares."
    mixed = pd.concat([simulate_mtr_pairs(n_pairs=1_500, seed=2),
                       simulate_mtr_groups({"C": .5, "G": .2, "N": .2, "A": .1}, m=2, n_groups=1_000, seed=2)
                       .assign(group=lambda f: f.group + 100_000)], ignore_index=True)[["group", "z", "d", "y"]]
    singles = pd.DataFrame({"group": [-1, -2, -3], "z": [1, 0, 1], "d": [1, 0, 0], "y": [0.0, 1.0, 2.0]})
    # d as integers: polars refuses `is_in([0, 1])` on a float column in core's binary check (reported to the lead)
    return pd.concat([mixed, singles], ignore_index=True).astype({"d": int})


CALLS = {
    "pair_wald": lambda data: ivspill.pair_wald(data, y="y", d="d", z="z", group="group"),
    "pair_wald pscore, no CR1": lambda data: ivspill.pair_wald(data, y="y", d="d", z="z", group="group", pscore="ps",
                                                               small_sample="none"),
    "compliance_shares pairs": lambda data: ivspill.compliance_shares(data, d="d", z="z", group="group"),
    "group_itt pairs": lambda data: ivspill.group_itt(data, y="y", z="z", group="group"),
    "complier_characteristics": lambda data: ivspill.pairs.complier_characteristics(data, x=["age", "y"], d="d", z="z",
                                                                                    group="group"),
    "complier_characteristics pscore, no CR1": lambda data: ivspill.pairs.complier_characteristics(
        data, x="age", d="d", z="z", group="group", pscore="ps", small_sample="none"),
}
GROUP_CALLS = {
    "compliance_shares groups of 3": lambda data: ivspill.compliance_shares(data, d="d", z="z", group="group"),
    "compliance_shares mixed sizes": lambda data: ivspill.compliance_shares(data, d="d", z="z", group="group"),
    "group_itt mixed sizes and units alone": lambda data: ivspill.group_itt(data, y="y", z="z", group="group"),
}


@pytest.fixture(scope="module")
def in_memory(pairs):
    return {name: call(pairs) for name, call in CALLS.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_pairs_give_the_in_memory_numbers(pairs, in_memory, kind, tmp_path):
    "Every call on every kind; dask, whose every query costs seconds here, runs the plain pair Wald only."
    data = as_kind(pairs, kind, tmp_path)
    for name, call in CALLS.items():
        if kind == "dask" and name != "pair_wald": continue
        ours, ref = call(data), in_memory[name]
        assert_same(ours, ref)
        for part in ("itt", "first_stage", "potential_outcomes", "moments"):
            # Prop. 2's potential outcomes divide differences of means near 50 by shares: summing the same numbers in
            # another order moves them: by 1e-10 in duckdb here, by 2e-12 in pandas with the rows reordered
            if hasattr(ref, part): assert_same(getattr(ours, part), getattr(ref, part),
                                               tol=1e-8 if part == "potential_outcomes" else 1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_groups_of_any_size_give_the_in_memory_numbers(groups, kind, tmp_path):
    three = groups[groups.group >= 100_000].reset_index(drop=True)
    for name, call in GROUP_CALLS.items():
        if kind == "dask" and name.endswith("of 3"): continue  # dask: the mixed sizes go through groups of 3 as well
        df = three if name.endswith("of 3") else groups
        folder = tmp_path / name.replace(" ", "_")
        folder.mkdir()
        assert_same(call(as_kind(df, kind, folder)), call(df))
    if kind != "dask":  # the public pooled_shares: the same reduction (dask: covered by the mixed sizes above)
        call = lambda data: ivspill.pairs.pooled_shares(data, d="d", z="z", group="group")
        assert_same(call(as_kind(groups, kind, tmp_path)), call(groups))


def test_the_reduction_is_the_row_level_computation(pairs):
    "The cell means and their clustered covariance from cell sums and group scores equal the row-level ones."
    frame = ivspill.pairs.pair_frame(pairs, group="group", z="z", d="d", y="y")
    direct = ivspill.pairs.pair_moments(frame, ivspill.pairs._osn_values(frame), only=ivspill.pairs.OSN_MOMENTS)
    assert_same(ivspill.pair_wald(pairs, y="y", d="d", z="z", group="group").moments, direct, tol=1e-12)


def _unassigned_taker(df):
    out = df.copy()
    out.loc[out.index[out.z == 0][0], "d"] = 1
    return out


DAMAGES = {
    "non-binary assignment": lambda df: df.assign(z=df["z"] * 2),
    "missing outcome": lambda df: df.assign(y=df["y"].where(df.index % 10 > 0)),
    "constant outcome": lambda df: df.assign(y=1.0),
    "text take-up": lambda df: df.assign(d="a"),
    "absent column": lambda df: df.drop(columns="d"),
    "a group of three": lambda df: pd.concat([df, df.iloc[:1]], ignore_index=True),
    "take-up without assignment": _unassigned_taker,
    "no pair assigns one member only": lambda df: df[df.groupby("group").z.transform("sum") != 1].reset_index(drop=True),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_bad_data_get_the_pandas_error_in_every_engine(pairs, damage, kind, tmp_path):
    """The same message as pandas (up to the engine's name of a dtype). The last two damages are found in the reduced
    tables by the same Python code for every engine: dask, whose every query costs seconds here, skips them."""
    if kind == "dask" and damage in list(DAMAGES)[-2:]: pytest.skip("found after the reduction, by engine-free code")
    data = DAMAGES[damage](pairs)
    with pytest.raises(ValueError) as expected:
        ivspill.pair_wald(data, y="y", d="d", z="z", group="group")
    with pytest.raises(ValueError) as engine:
        ivspill.pair_wald(as_kind(data, kind, tmp_path), y="y", d="d", z="z", group="group")
    dtype = lambda message: re.sub(r"dtype \S+", "dtype …", message)
    assert dtype(str(engine.value)) == dtype(str(expected.value))


def test_covariates_need_the_rows_and_are_collected(pairs):
    "The logit of the pairs' cells needs unit rows: another input kind is collected, with the same numbers."
    pl = pytest.importorskip("polars")
    df = pairs.assign(x=pairs.groupby("group").y.transform("mean"))
    call = lambda data: ivspill.pair_wald(data, y="y", d="d", z="z", group="group", covariates="x")
    assert_same(call(pl.from_pandas(df).lazy()), call(df))


@pytest.mark.slow
def test_a_dask_distributed_cluster_gives_the_in_memory_numbers(pairs, in_memory, tmp_path):
    """The group windows and the two passes on a LocalCluster (two worker processes); slow (about 30 s here), while
    tests/test_large_data.py runs the cluster machinery itself in the default run."""
    distributed = pytest.importorskip("distributed")
    path = as_kind(pairs, "parquet", tmp_path)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, processes=True) as cluster, \
            distributed.Client(cluster):
        assert_same(CALLS["pair_wald"](dd.read_parquet(str(path))), in_memory["pair_wald"])


def test_in_memory_pair_wald_holds_less_than_its_input():
    "Peak memory beyond the input while pair_wald runs on 2e6 units: at most 1.5x the input (measured: about 1.3x)."
    rng = np.random.default_rng(0)
    n_pairs = 1_000_000
    cell = rng.integers(0, 4, n_pairs)
    z = np.column_stack([cell & 1, cell >> 1]).ravel()
    d = z * (rng.random(2 * n_pairs) < 0.6)
    df = pd.DataFrame({"group": np.repeat(np.arange(n_pairs), 2), "z": z, "d": d,
                       "y": d + 0.5 * d.reshape(-1, 2)[:, ::-1].ravel() + rng.normal(size=2 * n_pairs)})
    ivspill.pair_wald(df.head(10_000), y="y", d="d", z="z", group="group")  # imports and caches outside the measurement
    tracemalloc.start()
    ivspill.pair_wald(df, y="y", d="d", z="z", group="group")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak <= 1.5 * df.memory_usage(index=False).sum(), peak / df.memory_usage(index=False).sum()


def assert_same_bounds(ours, reference, tol=1e-10):
    "Same ends, bootstrap standard errors and correlations (relative, absolute below 1), sources, notes and groups."
    for part in ("lower", "upper", "se_lower", "se_upper", "corr"):
        a, b = getattr(ours, part), getattr(reference, part)
        assert list(a.index) == list(b.index)
        a, b = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        assert np.array_equal(np.isfinite(a), np.isfinite(b)), (part, a, b)
        finite = np.isfinite(b)
        assert np.all(np.abs(a[finite] - b[finite]) <= tol * np.maximum(np.abs(b[finite]), 1.0)), (part, a, b)
    assert ours.notes == reference.notes and ours.n_clusters == reference.n_clusters
    pd.testing.assert_frame_equal(ours.sources, reference.sources, rtol=tol)


BOUNDS = lambda data: ivspill.mtr_bounds(data, y="y", d="d", z="z", group="group")
BOOTSTRAP_BOUNDS = lambda data: ivspill.mtr_bounds(data, y="y", d="d", z="z", group="group", se="bootstrap", n_boot=49,
                                                   seed=3)


@pytest.mark.parametrize("kind", KINDS)
def test_mtr_bounds_give_the_in_memory_numbers(groups, kind, tmp_path):
    """Point bounds with delta-method and group-bootstrap standard errors from group totals computed in the engine:
    pairs (two-sided) and, but for dask, groups of two and three sizes with units alone."""
    two = groups[groups.group.between(0, 99_999)].reset_index(drop=True)
    for fit in (BOUNDS, BOOTSTRAP_BOUNDS): assert_same_bounds(fit(as_kind(two, kind, tmp_path)), fit(two))
    if kind == "dask": return
    folder = tmp_path / "mixed"
    folder.mkdir()
    assert_same_bounds(BOUNDS(as_kind(groups, kind, folder)), BOUNDS(groups))


@pytest.mark.parametrize("hypothesis", ["irrelevance", "sutva"])
@pytest.mark.parametrize("kind", ["polars", "duckdb", "parquet"])
def test_mtr_tests_give_the_in_memory_numbers(groups, kind, hypothesis, tmp_path):
    "The tests of Props 1–2 from group totals computed in the engine, on groups of two and three sizes."
    run = lambda data: ivspill.mtr_tests(data, d="d", z="z", group="group", hypothesis=hypothesis, n_boot=99, seed=4)
    ours, reference = run(as_kind(groups, kind, tmp_path)), run(groups)
    np.testing.assert_allclose([ours.statistic, ours.p_value], [reference.statistic, reference.p_value], rtol=1e-10)
    pd.testing.assert_frame_equal(ours.details, reference.details, rtol=1e-10)
    assert ours.notes == reference.notes


BOUNDS_DAMAGES = {
    "text outcome": lambda df: df.assign(y="a"),
    "missing take-up": lambda df: df.assign(d=df["d"].where(df.index % 7 > 0)),
    "units alone only": lambda df: df.assign(group=np.arange(len(df))),
    "one instrument value": lambda df: df.assign(z=1),
}


@pytest.mark.parametrize("kind", ["polars", "duckdb", "parquet"])
@pytest.mark.parametrize("damage", list(BOUNDS_DAMAGES))
def test_mtr_bounds_bad_data_get_the_pandas_error(groups, damage, kind, tmp_path):
    data = BOUNDS_DAMAGES[damage](groups[groups.group.between(0, 99_999)].reset_index(drop=True))
    with pytest.raises(ValueError) as expected:
        BOUNDS(data)
    with pytest.raises(ValueError) as engine:
        BOUNDS(as_kind(data, kind, tmp_path))
    dtype = lambda message: re.sub(r"dtype \S+", "dtype …", message)
    assert dtype(str(engine.value)) == dtype(str(expected.value))
