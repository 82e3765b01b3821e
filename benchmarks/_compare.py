"""Shared by the benchmarks: time two fits and report the speed-up and the largest relative differences."""
import time

import numpy as np


def timed(fit):
    "Run `fit()` and return its result and the seconds it took."
    start = time.perf_counter()
    result = fit()
    return result, time.perf_counter() - start


def report(ours, t_ours, theirs, t_theirs, names, labels=("ivspill", "linearmodels")):
    """Print both times, the speed-up and the largest relative differences of params and std_errors; `names` maps
    ivspill's parameter names to the other library's. Fails if the numbers differ by more than 1e-8."""
    ours_names, their_names = list(names), list(names.values())
    rel = lambda a, b: float(np.max(np.abs(np.asarray(a) / np.asarray(b) - 1)))
    d_params = rel(ours.params[ours_names], theirs.params[their_names])
    d_se = rel(ours.std_errors[ours_names], theirs.std_errors[their_names])
    width = max(map(len, labels)) + 1
    print(f"{labels[0] + ':':<{width}} {t_ours:8.2f} s")
    print(f"{labels[1] + ':':<{width}} {t_theirs:8.2f} s")
    print(f"{'speed-up:':<{width}} {t_theirs / t_ours:8.1f}x")
    print(f"max relative difference: params {d_params:.1e}, std errors {d_se:.1e}")
    assert d_params < 1e-8 and d_se < 1e-8, "numbers differ"
