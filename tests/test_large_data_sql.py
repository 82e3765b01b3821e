"""Cell sums computed elsewhere: the SQL that `cell_sums_sql` writes, run unchanged by duckdb (on a parquet file) and
by the standard library's sqlite3 (an in-memory database), gives a table that, wrapped in `SumsTable`, makes every
estimator that reduces its data to cell sums give the in-memory pandas numbers (1e-10, relative to each number's
scale); damaged data get the pandas path's error class and message."""
import re
import sqlite3
from contextlib import closing
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import ivspill
from ivspill.core import SumsTable, cell_sums, cell_sums_sql
from ivspill.interference import simulate_did_interference, simulate_iv_interference
from ivspill.late import simulate_multisite
from test_large_data import CALLS as ROW_CALLS
from test_large_data import assert_same  # params, covariance, counts and notes to 1e-10 of their scale

duckdb = pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")  # parquet files for duckdb

ENGINES = ["duckdb", "sqlite3"]


def run_sql(df: pd.DataFrame, engine: str, folder, *, by, values) -> pd.DataFrame:
    "The query of cell_sums_sql over `df`: duckdb reads it from a parquet file, sqlite3 from an in-memory database."
    if engine == "duckdb":
        path = folder / f"rows{len(list(folder.iterdir()))}.parquet"
        df.to_parquet(path)
        return duckdb.sql(cell_sums_sql(f"read_parquet('{path}')", by=by, values=values)).df()
    with closing(sqlite3.connect(":memory:")) as db:
        df.to_sql("observations", db, index=False)
        return pd.read_sql(cell_sums_sql("observations", by=by, values=values), db)


def sums_table(df, engine, folder, *, by, values) -> SumsTable:
    return SumsTable(run_sql(df, engine, folder, by=by, values=values), by=by, values=values)


@pytest.fixture(scope="module")
def multisite():
    "20k pupils in 50 sites (some with an arm of one pupil), schools nested in sites, levels far from zero."
    df = simulate_multisite(n_sites=50, n_per_site=(2, 800), seed=11).drop(columns="rep")
    rng = np.random.default_rng(0)
    df["y"] += 5_000.0  # far from zero: the shifted sums must stay exact
    df["school"] = df["site"] * 4 + rng.integers(0, 4, len(df))
    df["w"] = 50 + rng.normal(size=len(df))
    df["z1"] = rng.normal(size=len(df))
    df["m2"] += 0.5 * df["z1"]  # a second instrument for tsls
    return df


MULTISITE = dict(by=["site", "school", "t"], values=["y", "m1", "m2", "t", "w", "z1"])  # one GROUP BY for all below


@pytest.fixture(scope="module")
def tables(multisite, tmp_path_factory):
    "The multisite rows reduced once by each engine, as fine as every estimator below needs (site × school × arm)."
    folder = tmp_path_factory.mktemp("sql")
    return {engine: sums_table(multisite, engine, folder, **MULTISITE) for engine in ENGINES}


CALLS = {**ROW_CALLS,  # msmm_iv (UJIVE; 2SLS with CR1 by school; LIML robust; Fuller, Bekker) and wald
    "tsls absorbed sites, CR1 by school": lambda data: ivspill.tsls(data, y="y", d="m1", z="t", covariates="w",
                                                                    absorb="site", cluster="school"),
    "tsls two regressors, constant, CR1 by site": lambda data: ivspill.tsls(data, y="y", d=["m1", "m2"], z=["t", "z1"],
                                                                            covariates="w", cluster="site"),
    "tsls unadjusted, one cell": lambda data: ivspill.tsls(data, y="y", d="m1", z="t", covariates="w",
                                                           cov_type="unadjusted"),
    "ols absorbed sites, CR1 by school": lambda data: ivspill.ols(data, y="y", x=["m1", "w"], absorb="site",
                                                                  cluster="school"),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("call", list(CALLS))
def test_the_sums_give_the_in_memory_numbers(multisite, tables, call, engine):
    assert_same(CALLS[call](tables[engine]), CALLS[call](multisite))


DIAGNOSTICS = {  # tables and statistics beyond the estimates, as arrays
    "msmm_iv first stage": lambda data: ivspill.msmm_iv(data, y="y", d="m1", z="t", site="site").first_stage,
    "msmm_iv robust set": lambda data: ivspill.msmm_iv(data, y="y", d="m1", z="t", site="site").diagnostics[
        "robust_set"].intervals,
    "score test": lambda data: ivspill.msmm_score_test(data, y="y", d=["m1", "m2"], z="t", site="site",
                                                       delta0=[1, 0.5]).statistic,
    "site effects": lambda data: ivspill.site_effects(data, y="y", d="m1", z="t", site="site").table,
    "intercept test": lambda data: ivspill.site_effects(data, y="y", d="m1", z="t", site="site").intercept_test.p_value,
    "tsls first stage": lambda data: ivspill.tsls(data, y="y", d="m1", z="t", covariates="w", absorb="site",
                                                  cluster="school").first_stage,
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("diagnostic", list(DIAGNOSTICS))
def test_diagnostics_tests_and_site_tables_too(multisite, tables, diagnostic, engine):
    ours, reference = (np.asarray(DIAGNOSTICS[diagnostic](x), dtype=float) for x in (tables[engine], multisite))
    np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=0)


def test_the_coarser_cells_are_the_sums_of_the_finer(multisite, tables):
    "Cell means and within-cell sums of squares by site × arm, from the site × school × arm table, against pandas."
    cells = cell_sums(tables["sqlite3"], by=["site", "t"], values=["y", "m1"])
    groups = multisite.groupby(["site", "t"])
    np.testing.assert_allclose(cells.sums / cells.n[:, None] + cells.shift, groups[["y", "m1"]].mean(), rtol=1e-12)
    within = cells.cross[:, 0, 0] - cells.sums[:, 0] ** 2 / cells.n
    np.testing.assert_allclose(within, groups["y"].var(ddof=0) * groups.size(), rtol=1e-8)
    assert list(map(tuple, cells.keys.to_numpy().tolist())) == groups.size().index.tolist()


@pytest.fixture(scope="module")
def interference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sql_interference")
    iv = simulate_iv_interference(n=20_000, seed=1).drop(columns=["rep", "type"]).assign(cl=lambda f: f.index % 40)
    did = simulate_did_interference(n=20_000, seed=3).drop(columns="rep").assign(y1=lambda f: f["y1"] + 1_000.0)
    return {"iv": iv, "did": did, **{
        (engine, "iv"): sums_table(iv, engine, folder, by=["cl", "z"], values=["y", "d"]) for engine in ENGINES}, **{
        (engine, "did"): sums_table(did, engine, folder, by=["d"], values=["y0", "y1"]) for engine in ENGINES}}


INTERFERENCE = {
    "wald_lade CR1": ("iv", lambda data: ivspill.wald_lade(data, y="y", d="d", z="z", cluster="cl")),
    "wald_lade robust": ("iv", lambda data: ivspill.wald_lade(data, y="y", d="d", z="z")),
    "did_adtt plain": ("did", lambda data: ivspill.did_adtt(data, y_pre="y0", y_post="y1", d="d", method="plain")),
    "did_adtt_dynamic plain": ("did", lambda data: ivspill.did_adtt_dynamic(data, y_pre="y0", y_post="y1", d="d",
                                                                            method="plain", anticipation=0.2)),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("call", list(INTERFERENCE))
def test_interference_estimators_from_sums(interference, call, engine):
    design, fit = INTERFERENCE[call]
    assert_same(fit(interference[engine, design]), fit(interference[design]))


def same_error(pandas_call, table_call, prefix=None):
    "Both calls raise the same error class; the same message, or (tables say where they looked) the same `prefix`."
    with pytest.raises(Exception) as on_rows:
        pandas_call()
    with pytest.raises(type(on_rows.value), match=re.escape(prefix or str(on_rows.value))) as on_sums:
        table_call()
    if prefix is None: assert str(on_sums.value) == str(on_rows.value)
    else: assert str(on_rows.value).startswith(prefix)


DAMAGES = {  # a damage, then a prefix of the message where the table's own differs
    "missing outcome": (lambda df: df.assign(y=df["y"].where(df.index % 10 > 0)), None),
    "non-binary instrument": (lambda df: df.assign(t=df["t"] * 2), None),
    "constant outcome": (lambda df: df.assign(y=1.0), None),
    "missing site labels": (lambda df: df.assign(site=df["site"].where(df.index % 7 > 0)), None),
    "text mediator": (lambda df: df.assign(m1="a"), "column 'm1' must be numeric; it has dtype"),
    "a site without controls": (lambda df: df[~((df["site"] == 3) & (df["t"] == 0))], None),  # an empty cell
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_data_get_the_pandas_error(multisite, damage, engine, tmp_path):
    damaged, prefix = DAMAGES[damage]
    data = damaged(multisite[["site", "t", "y", "m1"]])
    if engine == "duckdb" and damage == "text mediator": pytest.skip("duckdb refuses the query itself: AVG of text")
    table = sums_table(data, engine, tmp_path, by=["site", "t"], values=["y", "m1"])
    call = lambda x: ivspill.msmm_iv(x, y="y", d="m1", z="t", site="site")
    same_error(lambda: call(data), lambda: call(table), prefix)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_treatment_strictly_between_zero_and_one_is_not_binary(interference, engine, tmp_path):
    "Extremes 0 and 1 but a value of 0.5 inside: found from Σ d(1 − d) > 0."
    iv = interference["iv"].assign(d=lambda f: f["d"].where(f.index != 17, 0.5))
    table = sums_table(iv, engine, tmp_path, by=["cl", "z"], values=["y", "d"])
    call = lambda x: ivspill.wald_lade(x, y="y", d="d", z="z", cluster="cl")
    same_error(lambda: call(iv), lambda: call(table), "column 'd' must be binary (0/1); it also takes ")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        call(table)


def test_columns_and_keys_the_table_lacks(multisite, tables):
    table = tables["sqlite3"]
    same_error(lambda: ivspill.msmm_iv(multisite, y="y", d="m3", z="t", site="site"),
               lambda: ivspill.msmm_iv(table, y="y", d="m3", z="t", site="site"), "column(s) ['m3'] not in the ")
    coarse = SumsTable(table.frame.groupby(["site", "t"], as_index=False).sum().assign(
        **{f"shift_{v}": table.frame[f"shift_{v}"].iloc[0] for v in MULTISITE["values"]}).drop(columns="school"),
        by=["site", "t"], values=MULTISITE["values"])  # a coarser GROUP BY, added up here
    assert_same(CALLS["msmm_iv ujive"](coarse), CALLS["msmm_iv ujive"](multisite))
    with pytest.raises(ValueError, match=re.escape("column(s) ['school'] not in the table of cell sums (keys ['site',")):
        CALLS["msmm_iv 2sls CR1 by school"](coarse)
    by_site = SumsTable(coarse.frame.groupby("site", as_index=False).sum().drop(columns="t").assign(
        **{f"shift_{v}": table.frame[f"shift_{v}"].iloc[0] for v in MULTISITE["values"]}), by="site",
        values=MULTISITE["values"])
    with pytest.raises(ValueError, match=re.escape("column(s) ['t'] are not keys of the table of cell sums")):
        CALLS["msmm_iv ujive"](by_site)  # the arms were summed together: no GROUP BY by arm
    with pytest.raises(ValueError, match=re.escape("column(s) ['site'] are not summed in the table")):
        ivspill.tsls(table, y="y", d="m1", z="site", cluster="school")


def test_what_needs_the_rows_says_so(tables, interference):
    with pytest.raises(ValueError, match="heteroskedasticity-robust .* need every row's score"):
        ivspill.tsls(tables["duckdb"], y="y", d="m1", z="t", covariates="w")
    with pytest.raises(ValueError, match="fits a model to every row"):
        ivspill.did_adtt(interference["duckdb", "did"], y_pre="y0", y_post="y1", d="d", covariates="y0")
    with pytest.raises(TypeError, match="this one needs the rows"):
        ivspill.pair_wald(tables["duckdb"], y="y", d="m1", z="t", group="site")


def test_the_table_is_checked_when_it_is_wrapped(tables):
    frame = tables["duckdb"].frame
    upper = SumsTable(frame.rename(columns=str.upper), **MULTISITE)  # warehouses that upper-case unquoted names
    assert_same(CALLS["wald CR1"](upper), CALLS["wald CR1"](tables["duckdb"]), tol=0)
    numeric = [c for c in frame.columns if c.startswith(("shift_", "sum_", "cross_", "min_", "max_"))]
    decimals = frame.astype({c: object for c in numeric}).assign(  # a driver that returns NUMERIC results as decimals
        **{c: frame[c].map(lambda v: Decimal(repr(v))) for c in numeric})
    assert_same(CALLS["msmm_iv ujive"](SumsTable(decimals, **MULTISITE)), CALLS["msmm_iv ujive"](tables["duckdb"]))
    with pytest.raises(ValueError, match=re.escape("lacks the column(s) ['cross_y_m1']")):
        SumsTable(frame.drop(columns="cross_y_m1"), **MULTISITE)
    with pytest.raises(ValueError, match="centred at different shifts"):  # partial sums, each about its own mean
        SumsTable(frame.assign(shift_y=frame["shift_y"] + np.arange(len(frame))), **MULTISITE)
    nan = frame.assign(sum_y=frame["sum_y"].where(frame.index > 0))  # NaN that an engine counted as a value
    with pytest.raises(ValueError, match="column 'y' has NaN values, which the engine counted as present"):
        ivspill.wald(SumsTable(nan, **MULTISITE), y="y", d="m1", z="t")
    with pytest.raises(ValueError, match="has no rows"):
        ivspill.wald(SumsTable(frame.assign(n=0), **MULTISITE), y="y", d="m1", z="t")


def test_the_sql_takes_only_plain_distinct_names():
    with pytest.raises(ValueError, match="not plain SQL identifiers"):
        cell_sums_sql("t", by="site", values=["test score"])
    with pytest.raises(ValueError, match="twice .SQL ignores case"):
        cell_sums_sql("t", by="site", values=["y", "Y"])
    with pytest.raises(ValueError, match=re.escape("['n']")):
        cell_sums_sql("t", by="n", values=["y"])  # a key named like the count
    assert "GROUP BY" not in cell_sums_sql("t", by=[], values=["y"])  # no keys: one cell, the whole table
