"""Every public entry point in one registry, and a fuzz test over all of them: each is called on a small valid design
and then on degenerate versions of it (missing values, wrong types, an empty frame, duplicated or constant columns,
all or none treated, mixed label types). Every call must end in a member of the result family without a silent NaN
or a fake significance, or in a ValueError/TypeError raised by ivspill itself that names the problem — never in a
crash deep inside pandas or numpy."""
import traceback
from dataclasses import dataclass
from functools import cache
from typing import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ivspill
from ivspill import sim
from ivspill.core import Bounds, ConfidenceSet, Estimates, ResultDisplay, TestResult
from ivspill.interference import LALONDE_COVARIATES

FAMILY = (Estimates, Bounds, TestResult, ConfidenceSet, ResultDisplay)


@dataclass(frozen=True)
class EntryPoint:
    "A public entry point: how to call it on a frame, the frame it expects, and the roles of its columns."
    call: Callable[[pd.DataFrame], object]
    design: Callable[[], pd.DataFrame]
    outcome: str  # a constant outcome must not give a significant effect
    binary: tuple = ()  # 0/1 columns (treatment, instrument): all ones, all zeros
    keys: tuple = ()  # labels (groups, sites): mixed types


@cache
def _iv_design():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"site": rng.integers(0, 8, n), "z": rng.integers(0, 2, n), "u": rng.normal(size=n)})
    df["d"] = (rng.random(n) < 0.2 + 0.5 * df.z + 0.2 * (df.u > 0)).astype(float)
    df["y"] = 2.0 * df.d + df.u + rng.normal(size=n)
    return df


_designs = {
    "iv": _iv_design,
    "multisite": cache(lambda: sim.simulate_multisite(n_sites=30, n_per_site=60, seed=1).drop(columns="rep")),
    "arum": cache(lambda: sim.simulate_arum(n=3_000, seed=1)),
    "pairs": cache(lambda: sim.simulate_pairs(n_pairs=300, seed=1)),
    "shock": cache(lambda: sim.simulate_common_shock(n=300, seed=1).drop(columns="rep")),
    "iv_interference": cache(lambda: sim.simulate_iv_interference(n=400, seed=1).drop(columns="rep")),
    "rdd": cache(lambda: sim.simulate_rdd_interference(n=400, seed=1).drop(columns="rep").assign(
        running=lambda d: d.w)),
    "did": cache(lambda: sim.simulate_did_interference(n=400, seed=1).drop(columns="rep")),
    "mtr": cache(lambda: sim.simulate_mtr_pairs(n_pairs=300, seed=1)),
    "mixed sizes": cache(lambda: pd.concat([sim.simulate_mtr_pairs(n_pairs=300, seed=1), sim.simulate_mtr_groups(
        {"C": .5, "G": .2, "N": .3}, m=2, n_groups=200, seed=1).assign(group=lambda d: d.group + 10_000)],
        ignore_index=True)),
}

ENTRY_POINTS = {
    "tsls": EntryPoint(lambda df: ivspill.tsls(df, y="y", d="d", z="z"), _designs["iv"], "y", ("d", "z")),
    "tsls absorbed": EntryPoint(lambda df: ivspill.tsls(df, y="y", d="d", z="z", absorb="site", cluster="site"),
                                _designs["iv"], "y", ("z",), ("site",)),
    "ols": EntryPoint(lambda df: ivspill.ols(df, y="y", x="d"), _designs["iv"], "y", ("d",)),
    "wald": EntryPoint(lambda df: ivspill.wald(df, y="y", d="d", z="z"), _designs["iv"], "y", ("d", "z")),
    "msmm_iv": EntryPoint(lambda df: ivspill.msmm_iv(df, y="y", d=["m1", "m2"], z="t", site="site"), _designs["multisite"], "y",
                          ("t",), ("site",)),
    "site_effects": EntryPoint(lambda df: ivspill.site_effects(df, y="y", d=["m1", "m2"], z="t", site="site"),
                               _designs["multisite"], "y", ("t",), ("site",)),
    "msmm_score_test": EntryPoint(lambda df: ivspill.msmm_score_test(df, y="y", d=["m1", "m2"], z="t", site="site",
                                                                     delta0=[1.0, 0.5]),
                                  _designs["multisite"], "y", ("t",), ("site",)),
    "targeting_test": EntryPoint(lambda df: ivspill.targeting_test(df, d="t", z="z", n_draws=2_000), _designs["arum"], "t",
                                 (), ("t", "z")),
    "identify": EntryPoint(lambda df: ivspill.identify(df, y="y", d="t", z="z"), _designs["arum"], "y", (), ("t", "z")),
    "three_step_test": EntryPoint(lambda df: ivspill.three_step_test(df, d="t", z="z", n_draws=2_000), _designs["arum"],
                                  "t", (), ("t", "z")),
    "mto_identify": EntryPoint(lambda df: ivspill.mto_identify(df, y="y", d="t", z="z"), _designs["arum"], "y", (),
                               ("t", "z")),
    "compliance_shares": EntryPoint(lambda df: ivspill.compliance_shares(df, d="d", z="z", group="group"), _designs["pairs"], "d",
                                    ("d", "z"), ("group",)),
    "pair_wald": EntryPoint(lambda df: ivspill.pair_wald(df, y="y", d="d", z="z", group="group"), _designs["pairs"], "y",
                            ("d", "z"), ("group",)),
    "naive_iv": EntryPoint(lambda df: ivspill.naive_iv(df, y="y", d="d", z="z", group="group"), _designs["pairs"], "y", ("d", "z"),
                           ("group",)),
    "validity_test": EntryPoint(lambda df: ivspill.validity_test(df, y="y", d="d", z="z", group="group", n_draws=2_000),
                                _designs["pairs"], "y", ("d", "z"), ("group",)),
    "multiarm_pair_wald": EntryPoint(lambda df: ivspill.multiarm_pair_wald(df, y="y", d="d", z="z", group="group"),
                                     _designs["pairs"], "y", ("d", "z"), ("group",)),
    "ipw_ade": EntryPoint(lambda df: ivspill.ipw_ade(df, y="y", d="d", covariates=["w"]), _designs["shock"], "y", ("d",)),
    "wald_lade": EntryPoint(lambda df: ivspill.wald_lade(df, y="y", d="d", z="z"), _designs["iv_interference"], "y",
                            ("d", "z")),
    "rdd_ade": EntryPoint(lambda df: ivspill.rdd_ade(df, y="y", running="running"), _designs["rdd"], "y"),
    "rdd_ade fuzzy": EntryPoint(lambda df: ivspill.rdd_ade(df, y="y", running="running", d="d"), _designs["rdd"], "y",
                                ("d",)),
    "did_adtt": EntryPoint(lambda df: ivspill.did_adtt(df, y_pre="y0", y_post="y1", d="d", covariates=["w"]), _designs["did"], "y1",
                           ("d",)),
    "did_adtt_dynamic": EntryPoint(lambda df: ivspill.did_adtt_dynamic(df, y_pre="y0", y_post="y1", d="d",
                                                                   covariates=["w"]), _designs["did"], "y1", ("d",)),
    "cai_sensitivity": EntryPoint(lambda df: ivspill.cai_sensitivity(df, y="y", d="d", covariates=["w"], xi=(1, 2),
                                                                       n_base=2_000, seed=0),
                                  _designs["shock"], "y", ("d",)),
    "mtr_bounds": EntryPoint(lambda df: ivspill.mtr_bounds(df, y="y", d="d", z="z", group="group", n_boot=19, seed=0),
                             _designs["mtr"], "y", ("d", "z"), ("group",)),
    "group_itt": EntryPoint(lambda df: ivspill.group_itt(df, y="y", z="z", group="group"), _designs["mixed sizes"], "y",
                            ("z",), ("group",)),
    "mtr_bounds on mixed sizes": EntryPoint(lambda df: ivspill.mtr_bounds(df, y="y", d="d", z="z", group="group", n_boot=19,
                                                                    seed=0), _designs["mixed sizes"], "y", ("d", "z"), ("group",)),
    "compliance_shares on mixed sizes": EntryPoint(lambda df: ivspill.compliance_shares(df, d="d", z="z", group="group"),
                                                 _designs["mixed sizes"], "d", ("d", "z"), ("group",)),
    "mtr_tests": EntryPoint(lambda df: ivspill.mtr_tests(df, d="d", z="z", group="group", n_boot=19, seed=0), _designs["mtr"],
                            "d", ("d", "z"), ("group",)),
}


def _damage(df: pd.DataFrame, how: str, column: str, share: float) -> pd.DataFrame:
    "A degenerate version of `df`: `how` applied to `column`."
    df = df.copy()
    n_bad = max(1, int(share * len(df)))
    if how == "missing": df.loc[df.index[:n_bad], column] = np.nan
    elif how == "text": df[column] = df[column].astype(str)
    elif how == "empty": df = df.iloc[:0]
    elif how == "duplicated": df = pd.concat([df, df[[column]]], axis=1)
    elif how == "constant": df[column] = df[column].iloc[0]
    elif how == "all ones": df[column] = 1
    elif how == "all zeros": df[column] = 0
    elif how == "mixed labels": df[column] = [v if i % 2 else str(v) for i, v in enumerate(df[column])]
    elif how == "few rows": df = df.iloc[:n_bad]
    return df


def _columns_to_damage(entry: EntryPoint, how: str, df: pd.DataFrame) -> list:
    "The columns a damage applies to: labels get mixed types, 0/1 columns all ones or zeros, any column the rest."
    return list({"mixed labels": entry.keys, "all ones": entry.binary, "all zeros": entry.binary}.get(how, df.columns))


def _numbers(result) -> np.ndarray:
    "The numbers a reader of `result` sees."
    parts = {Estimates: lambda r: [r.params, r.std_errors], Bounds: lambda r: [r.lower, r.upper],
             TestResult: lambda r: [[r.statistic, r.p_value]], ConfidenceSet: lambda r: [np.ravel(r.intervals)]}
    for kind, get in parts.items():
        if isinstance(result, kind): return np.concatenate([np.asarray(p, dtype=float).ravel() for p in get(result)])
    return np.array([])


def outcome(entry: EntryPoint, df: pd.DataFrame, constant_outcome: bool = False) -> str:
    """'result', 'named error', 'deep crash: ...', 'not in the family: ...', 'silent NaN' or 'fake significance'."""
    try:
        result = entry.call(df)
    except (ValueError, TypeError) as error:
        origin = traceback.extract_tb(error.__traceback__)[-1].filename
        return "named error" if "ivspill" in origin else f"deep crash: {type(error).__name__}: {error} ({origin})"
    except Exception as error:  # noqa: BLE001 — every other exception is a defect
        return f"deep crash: {type(error).__name__}: {error}"
    if not isinstance(result, FAMILY): return f"not in the family: {type(result).__name__}"
    numbers = _numbers(result)
    if np.isnan(numbers).any() and not getattr(result, "notes", ()): return "silent NaN"
    if constant_outcome and isinstance(result, Estimates) and (result.pvalues < 0.05).any(): return "fake significance"
    return "result"


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_every_entry_point_returns_a_family_member_on_its_design(name):
    entry = ENTRY_POINTS[name]
    assert outcome(entry, entry.design()) == "result"


DAMAGES = ["missing", "text", "empty", "duplicated", "constant", "all ones", "all zeros", "mixed labels", "few rows"]


@settings(max_examples=420, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(name=st.sampled_from(sorted(ENTRY_POINTS)), how=st.sampled_from(DAMAGES), pick=st.integers(0, 10),
       share=st.sampled_from([0.01, 0.3, 1.0]))
def test_degenerate_input_gets_a_named_error_or_an_honest_result(name, how, pick, share):
    entry = ENTRY_POINTS[name]
    df = entry.design()
    targets = _columns_to_damage(entry, how, df)
    if not targets: return
    column = targets[pick % len(targets)]
    got = outcome(entry, _damage(df, how, column, share), constant_outcome=(how == "constant" and column == entry.outcome))
    assert got in ("result", "named error"), f"{name}, {how} {column!r}: {got}"


def test_every_damage_of_every_entry_point():
    """The exhaustive version of the fuzz test: every entry point × every damage × every column it applies to (about
    1,300 calls), where hypothesis samples."""
    bad, n_calls = [], 0
    for name, entry in ENTRY_POINTS.items():
        df = entry.design()
        for how in DAMAGES:
            for column in _columns_to_damage(entry, how, df):
                got = outcome(entry, _damage(df, how, column, 0.3),
                              constant_outcome=(how == "constant" and column == entry.outcome))
                n_calls += 1
                if got not in ("result", "named error"): bad.append(f"{name}, {how} {column!r}: {got}")
    assert n_calls > 1_000 and not bad, "\n".join(bad)


SIMULATOR_DEFAULTS = {  # each estimator on the simulator that illustrates it, with the simulator's defaults
    "tsls on simulate_linear_site": lambda s: ivspill.tsls(sim.simulate_linear_site(seed=s), y="y", d="m", z="t"),
    "ols on simulate_linear_site": lambda s: ivspill.ols(sim.simulate_linear_site(seed=s), y="y", x="m"),
    "site_effects on simulate_multisite": lambda s: ivspill.site_effects(sim.simulate_multisite(seed=s), y="y",
                                                                         d=["m1", "m2"], z="t", site="site"),
    "naive_iv on simulate_pairs": lambda s: ivspill.naive_iv(sim.simulate_pairs(seed=s), y="y", d="d", z="z",
                                                             group="group"),
    "validity_test on simulate_pairs": lambda s: ivspill.validity_test(sim.simulate_pairs(seed=s), y="y", d="d", z="z",
                                                                       group="group", n_draws=5_000, seed=s),
    "multiarm_pair_wald on simulate_pairs": lambda s: ivspill.multiarm_pair_wald(sim.simulate_pairs(seed=s), y="y",
                                                                                 d="d", z="z", group="group"),
    "wald on simulate_linear_site": lambda s: ivspill.wald(sim.simulate_linear_site(seed=s), y="y", d="m", z="t"),
    "wald on simulate_types": lambda s: ivspill.wald(sim.simulate_types(seed=s), y="y", d="m", z="t"),
    "msmm_iv on simulate_multisite": lambda s: ivspill.msmm_iv(sim.simulate_multisite(seed=s), y="y", d=["m1", "m2"],
                                                               z="t", site="site"),
    "identify on head_start_replica": lambda s: ivspill.identify(sim.head_start_replica(seed=s), y="y", d="t", z="z",
                                                                 model="2xT", d_levels=["n", "h", "c"]),
    "pair_wald on simulate_pairs": lambda s: ivspill.pair_wald(sim.simulate_pairs(seed=s), y="y", d="d", z="z",
                                                                   group="group"),
    "compliance_shares on simulate_pairs": lambda s: ivspill.compliance_shares(sim.simulate_pairs(seed=s), d="d", z="z",
                                                                               group="group"),
    "targeting_test on simulate_arum": lambda s: ivspill.targeting_test(sim.simulate_arum(seed=s), d="t", z="z",
                                                                        n_draws=5_000, seed=s),
    "identify on simulate_arum": lambda s: ivspill.identify(sim.simulate_arum(seed=s), y="y", d="t", z="z"),
    "mtr_bounds on simulate_mtr_pairs": lambda s: ivspill.mtr_bounds(sim.simulate_mtr_pairs(seed=s), y="y", d="d", z="z",
                                                                     group="group", n_boot=49, seed=s),
    "mtr_tests on simulate_mtr_pairs": lambda s: ivspill.mtr_tests(sim.simulate_mtr_pairs(seed=s), d="d", z="z", group="group",
                                                                   n_boot=49, seed=s),
    "cai_sensitivity on simulate_lalonde_calibrated": lambda s: ivspill.cai_sensitivity(
        sim.simulate_lalonde_calibrated(seed=s), y="re78", d="treat", covariates=LALONDE_COVARIATES, xi=(1, 2),
        n_base=2_000, certify=False, seed=s),  # the proofs of the bounds: tests/test_cai_gap.py
    "ipw_ade on simulate_common_shock": lambda s: ivspill.ipw_ade(sim.simulate_common_shock(seed=s), y="y", d="d",
                                                                  covariates=["w"]),
    "wald_lade on simulate_iv_interference": lambda s: ivspill.wald_lade(sim.simulate_iv_interference(seed=s), y="y",
                                                                         d="d", z="z"),
    "rdd_ade on simulate_rdd_interference": lambda s: ivspill.rdd_ade(sim.simulate_rdd_interference(seed=s), y="y",
                                                                      running="w"),
    "did_adtt on simulate_did_interference": lambda s: ivspill.did_adtt(sim.simulate_did_interference(seed=s),
                                                                        y_pre="y0", y_post="y1", d="d", covariates=["w"]),
    "did_adtt_dynamic on simulate_did_dynamic": lambda s: ivspill.did_adtt_dynamic(
        ivspill.interference.simulate_did_dynamic(seed=s), y_pre="y0", y_post="y1", d="d", covariates=["w"]),
}


@pytest.mark.parametrize("name", SIMULATOR_DEFAULTS)
def test_every_estimator_runs_on_its_simulators_defaults(name):
    for seed in range(5):
        result = SIMULATOR_DEFAULTS[name](seed)
        assert isinstance(result, FAMILY) and not np.isnan(_numbers(result)).any(), (name, seed, result)


FORMULAS = {  # top-level functions that take numbers or results, not a data frame
    "delta_method": lambda: ivspill.delta_method(lambda b: b[:1] / b[1:], ivspill.tsls(_iv_design(), y="y", d="d", z="z")),
    "selection_bounds": lambda: ivspill.selection_bounds(
        ivspill.targeting.targeting_moments(sim.simulate_arum(n=3_000, seed=1), y="y", d="t", z="z"),
        ivspill.targeting.PROP10),
    "selection_lp": lambda: ivspill.selection_lp(
        ivspill.targeting.response_groups(2, 3), np.array([[0.5, 0.15, 0.35], [0.2, 0.65, 0.15]]),
        np.array([[0.15, 0.30, 0.51], [0, 0.90, 0.27]]), (["01"], 1, 0), [(1, ["01"], ["21"])]),
}


def test_the_top_level_api_is_covered_and_returns_the_family():
    functions = {n for n in ivspill.__all__ if callable(getattr(ivspill, n)) and not isinstance(getattr(ivspill, n), type)}
    registered = {name.split()[0] for name in ENTRY_POINTS} | set(FORMULAS) | {"compare"}
    assert functions == registered, functions ^ registered
    for make in FORMULAS.values(): assert isinstance(make(), FAMILY)
    assert all(getattr(ivspill, m).__doc__ for m in ("core", "late", "targeting", "pairs", "interference", "bounds",
                                                     "datasets", "sim"))


def test_data_frame_first_then_keyword_only_arguments_in_one_vocabulary():
    import inspect
    vocabulary = {"y", "y_pre", "y_post", "d", "z", "x", "covariates", "site", "group", "cluster", "running", "pscore",
                  "strata", "absorb"}
    for name in {name.split()[0] for name in ENTRY_POINTS}:
        params = list(inspect.signature(getattr(ivspill, name)).parameters.values())
        assert params[0].name == "df" and params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, name
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:]), name
        columns = [p.name for p in params[1:] if p.default is inspect.Parameter.empty]  # the required ones: columns
        assert set(columns) <= vocabulary, (name, columns)
