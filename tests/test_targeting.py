"""ivspill.targeting: the LP engine equals the closed forms of Props 7 and 10 on random valid populations
(hypothesis), the truth lies in every reported identified set, the Appendix E matrices, bad input, solver failures,
the result family each entry point returns, and seeds."""
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivspill import targeting
from ivspill.core import Bounds, Estimates, TestResult
from ivspill.targeting import (PROP7, PROP10, head_start_replica, hp_matrices, identify, moments_from_arrays,
                               response_groups, selection_lp, simulate_arum, targeting_moments, targeting_test)

G23, G33 = response_groups(2, 3), response_groups(3, 3)
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def population_data(groups, shares, means):
    """P and E (rows z, columns t) implied by group shares and group means of every potential outcome (Lemma 1)."""
    n_z, n_t = groups.n_z, groups.n_t
    P, E = np.zeros((n_z, n_t)), np.zeros((n_z, n_t))
    for s, r in enumerate(groups.groups):
        for z in range(n_z):
            P[z, r[z]] += shares[s]
            E[z, r[z]] += shares[s] * means[s, r[z]]
    return P, E


@st.composite
def populations(draw, groups):
    s = len(groups.groups)
    shares = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=s, max_size=s)))
    means = np.array(draw(st.lists(st.floats(-2, 2), min_size=s * groups.n_t, max_size=s * groups.n_t))).reshape(s, -1)
    return shares / shares.sum(), means


def index(groups, name):
    return [g for g in groups.groups].index(tuple(int(c) for c in name))


def ends(bounds):
    return bounds.lower.item(), bounds.upper.item()


@SETTINGS
@given(pop=populations(G23))
def test_prop7_lp_equals_closed_form_and_contains_truth(pop):
    shares, means = pop
    i01, i21 = index(G23, "01"), index(G23, "21")
    if means[i01, 1] > means[i21, 1]:  # impose positive selection (3.6) by swapping the two groups' Y(1) means
        means[[i01, i21], 1] = means[[i21, i01], 1]
    P, E = population_data(G23, shares, means)
    m = moments_from_arrays(P, E)
    low, high = ends(selection_lp(G23, P, E, (["01"], 1, 0), [(1, ["01"], ["21"])]))
    assert low == -np.inf and abs(high - PROP7[("L01", "upper")](m)) < 1e-7
    low21, high21 = ends(selection_lp(G23, P, E, (["21"], 1, 2), [(1, ["01"], ["21"])]))
    assert high21 == np.inf and abs(low21 - PROP7[("L21", "lower")](m)) < 1e-7
    assert means[i01, 1] - means[i01, 0] <= high + 1e-9 and means[i21, 1] - means[i21, 2] >= low21 - 1e-9


@SETTINGS
@given(pop=populations(G33))
def test_prop10_lp_equals_closed_form_and_contains_truth(pop):
    shares, means = pop
    i112, i212 = index(G33, "112"), index(G33, "212")
    if means[i112, 1] < means[i212, 1]: means[[i112, i212], 1] = means[[i212, i112], 1]  # (3.9)
    if means[i212, 2] < means[i112, 2]: means[[i112, i212], 2] = means[[i212, i112], 2]  # (3.10)
    P, E = population_data(G33, shares, means)
    m = moments_from_arrays(P, E)
    for (members, t1, sel), key in [((["010", "012"], 1, [(1, ["212"], ["112"])]), ("LATE1(C_01*)", "lower")),
                                    ((["002", "012"], 2, [(2, ["112"], ["212"])]), ("LATE2(C_0*2)", "lower"))]:
        low, high = ends(selection_lp(G33, P, E, (members, t1, 0), sel))
        assert high == np.inf and abs(low - PROP10[key](m)) < 1e-7
        rows = [index(G33, g) for g in members]
        truth = shares[rows] @ (means[rows, t1] - means[rows, 0]) / shares[rows].sum()
        assert truth >= low - 1e-9


def test_appendix_e_matrices():
    hp = hp_matrices(G33)
    order = [(0, 0, 0), (1, 1, 1), (2, 2, 2), (0, 1, 0), (0, 0, 2), (0, 1, 2), (1, 1, 2), (2, 1, 2)]
    perm = [hp.groups.index(r) for r in order]
    np.testing.assert_array_equal(hp.B[0][:, perm], [[1, 0, 0, 1, 1, 1, 0, 0], [1, 0, 0, 0, 1, 0, 0, 0],
                                                     [1, 0, 0, 1, 0, 0, 0, 0]])
    np.testing.assert_array_equal(hp.B[1][:, perm], [[0, 1, 0, 0, 0, 0, 1, 0], [0, 1, 0, 1, 0, 1, 1, 1],
                                                     [0, 1, 0, 0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(hp.B[2][:, perm], [[0, 0, 1, 0, 0, 0, 0, 1], [0, 0, 1, 0, 0, 0, 0, 0],
                                                     [0, 0, 1, 0, 1, 1, 1, 1]])


def test_refuted_assumptions_and_bad_input():
    P = np.array([[0.5, 0.15, 0.35], [0.2, 0.65, 0.15]])
    E = np.array([[0.15, 0.30, 0.51], [0, 0.90, 0.27]])
    # outcomes known to lie in [5, 6] cannot produce these conditional average outcomes: the LP is infeasible
    with pytest.raises(ValueError, match="refuted"):
        selection_lp(G23, P, E, (["01"], 1, 0), [(1, ["01"], ["21"])], support=(5, 6))
    df = pd.DataFrame({"y": [1.0, 2, 3], "t": [0, 1, 2], "z": [0, 0, 0]})
    with pytest.raises(ValueError, match="outside its levels"):
        targeting_moments(df, y="y", d="t", z="z", d_levels=[0, 1])
    with pytest.raises(ValueError, match="no observations"):
        targeting_moments(df, y="y", d="t", z="z", z_levels=[0, 1])
    with pytest.raises(ValueError, match="one treatment, each once"):
        response_groups(3, 3, "universal", {1: {1, 2}})
    with pytest.raises(ValueError, match="implemented"):
        targeting_test(df.assign(z=[0, 1, 1]), d="t", z="z", targeting="strict")
    with pytest.raises(ValueError, match="takes one value"):
        targeting_test(df, d="t", z="z")


P23 = np.array([[0.5, 0.15, 0.35], [0.2, 0.65, 0.15]])
E23 = np.array([[0.15, 0.30, 0.51], [0, 0.90, 0.27]])
U_UNIVERSAL = np.array([[0, -0.2, 0.1], [0, 0.9, 0.1], [0, -0.2, 1.0]])


def test_a_solver_failure_raises_and_never_passes_for_a_half_line(monkeypatch):
    solve = targeting.linprog
    def failing(c, **lp):  # the feasibility problem (zero objective) solves; the bounds hit the iteration limit
        return solve(c, **lp) if not np.any(c) else SimpleNamespace(status=1, message="Iteration limit reached.")
    monkeypatch.setattr(targeting, "linprog", failing)
    with pytest.raises(RuntimeError, match="solver failed"):
        selection_lp(G23, P23, E23, (["01"], 1, 0), [(1, ["01"], ["21"])])


def test_each_entry_point_returns_its_family_member_and_displays():
    lp = selection_lp(G23, P23, E23, (["01"], 1, 0), [(1, ["01"], ["21"])])
    assert isinstance(lp, Bounds) and lp.half_line.item() and lp.se_upper.isna().item()
    assert any("no standard errors" in n for n in lp.notes)
    sim = simulate_arum(U_UNIVERSAL, 20_000, seed=1)
    test = targeting_test(sim, d="t", z="z", n_draws=2_000)
    assert isinstance(test, TestResult) and test.df == 4 and 0 <= test.p_value <= 1
    assert test.statistic == test.details.t.max() and "robust (HC0)" in test.notes[1]
    est = identify(sim, y="y", d="t", z="z")
    assert isinstance(est, Estimates) and est.params.notna().all() and est.std_errors.notna().all()
    assert list(est.diagnostics) == ["moments", "p segment"] and "not point identified" in est.notes[0]
    for result in (lp, test, est):
        assert result.title in repr(result) and "<table" in result._repr_html_()
        assert result.to_latex().startswith("\\begin{table}")


def test_covariance_labels():
    sim = simulate_arum(U_UNIVERSAL, 2_000, seed=1).assign(cluster=lambda d: np.arange(len(d)) % 50)
    assert targeting_moments(sim, y="y", d="t", z="z").cov_type == "robust (HC0)"
    assert targeting_moments(sim, y="y", d="t", z="z", cluster="cluster").cov_type == "clustered (CR0)"


def test_a_noiseless_replica_gets_zero_standard_errors_and_a_note_not_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = identify(head_start_replica(), y="y", d="t", z="z", model="2xT", d_levels=["n", "h", "c"])
        se = est.std_errors
    zero = ["E[Y(1)|C_11]", "E[Y(0)|C_00]", "E[Y(2)|C_22]"]  # means of groups with a constant outcome
    assert (se[zero] == 0).all() and (se.drop(zero) > 0).all()
    assert any("no sampling variance" in n and all(k in n for k in zero) for n in est.notes)


def test_seeds_go_through_core_rng():
    U = U_UNIVERSAL
    pd.testing.assert_frame_equal(simulate_arum(U, 500, seed=7), simulate_arum(U, 500, seed=np.random.default_rng(7)))
    assert len(simulate_arum(U, 500, seed=None)) == 500
    with pytest.raises(TypeError, match="seed must be"):
        simulate_arum(U, 500, seed=1.5)
    noisy = lambda seed: head_start_replica(2_000, noise_sd=1.0, seed=seed)
    pd.testing.assert_frame_equal(noisy(3), noisy(np.random.default_rng(3)))
