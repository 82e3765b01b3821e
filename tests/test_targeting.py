"""ivspill.targeting: the LP engine equals the closed forms of Props 7 and 10 on random valid populations
(hypothesis), the truth lies in every reported identified set, the Appendix E matrices, and bad input."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivspill.targeting import (PROP7, PROP10, hp_matrices, moments_from_arrays, response_groups, selection_lp,
                               targeting_moments, targeting_test)

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


@SETTINGS
@given(pop=populations(G23))
def test_prop7_lp_equals_closed_form_and_contains_truth(pop):
    shares, means = pop
    i01, i21 = index(G23, "01"), index(G23, "21")
    if means[i01, 1] > means[i21, 1]:  # impose positive selection (3.6) by swapping the two groups' Y(1) means
        means[[i01, i21], 1] = means[[i21, i01], 1]
    P, E = population_data(G23, shares, means)
    m = moments_from_arrays(P, E)
    low, high = selection_lp(G23, P, E, (["01"], 1, 0), [(1, ["01"], ["21"])])
    assert low == -np.inf and abs(high - PROP7[("L01", "upper")](m)) < 1e-7
    low21, high21 = selection_lp(G23, P, E, (["21"], 1, 2), [(1, ["01"], ["21"])])
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
        low, high = selection_lp(G33, P, E, (members, t1, 0), sel)
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
        targeting_moments(df, "y", "t", "z", t_levels=[0, 1])
    with pytest.raises(ValueError, match="no observations"):
        targeting_moments(df, "y", "t", "z", z_levels=[0, 1])
    with pytest.raises(ValueError, match="one treatment, each once"):
        response_groups(3, 3, "universal", {1: {1, 2}})
    with pytest.raises(ValueError, match="implemented"):
        targeting_test(df, "t", "z", targeting="strict")
