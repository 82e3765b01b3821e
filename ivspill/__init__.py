"""ivspill: instrumental variables when the textbook assumptions break.

The estimators a user needs first are here at the top: `from ivspill import tsls, msmm_iv, pair_wald, mtr_bounds`.
Each module holds one result (`late`, `targeting`, `pairs`, `interference`, `bounds`) with its teaching helpers;
`core` the shared machinery and the result family; `datasets` the real data; `sim` every simulator;
`widgets` (needs the `notebooks` extra) the classroom explorers. Theory tools that take numbers rather than data
(`late.cwate`, `targeting.response_groups`, `targeting.tsls_weights`, `pairs.itt_decomposition`) stay in their modules.
"""
__version__ = "0.0.1"

from . import bounds, core, datasets, interference, late, pairs, sim, targeting
from .bounds import mtr_bounds, mtr_tests
from .core import Bounds, ConfidenceSet, Estimates, IVResults, TestResult, compare, delta_method, ols, tsls
from .interference import cai_sensitivity, did_adtt, did_adtt_dynamic, ipw_ade, rdd_ade, wald_lade
from .late import msmm_iv, msmm_score_test, site_effects, wald
from .pairs import compliance_shares, group_itt, multiarm_pair_wald, naive_iv, pair_wald, validity_test
from .targeting import identify, mto_identify, selection_bounds, selection_lp, targeting_test, three_step_test

__all__ = [
    # two-stage least squares and the result family
    "tsls", "ols", "delta_method", "compare", "Estimates", "IVResults", "Bounds", "TestResult", "ConfidenceSet",
    # LATE vs CWATE, multisite multiple-mediator IV
    "wald", "msmm_iv", "msmm_score_test", "site_effects",
    # targeting instruments
    "targeting_test", "three_step_test", "identify", "mto_identify", "selection_bounds", "selection_lp",
    # the pair Wald
    "compliance_shares", "group_itt", "pair_wald", "naive_iv", "validity_test", "multiarm_pair_wald",
    # interference
    "ipw_ade", "wald_lade", "rdd_ade", "did_adtt", "did_adtt_dynamic", "cai_sensitivity",
    # MTR bounds
    "mtr_bounds", "mtr_tests",
    # modules
    "core", "late", "targeting", "pairs", "interference", "bounds", "datasets", "sim",
]
