"""Shared by the benchmarks: equal numbers first, then the minimum of alternating runs, a ratio table and ivspill's
peak memory, printed and appended to benchmarks/RESULTS.md. `make bench` runs them with single-threaded BLAS."""
import time
import tracemalloc
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).with_name("RESULTS.md")


def timed(fit):
    "Run `fit()` and return its result and the seconds it took."
    start = time.perf_counter()
    result = fit()
    return result, time.perf_counter() - start


def check_equal(ours, theirs, names, label, tol=1e-8):
    """The largest relative differences of params and std_errors between two fits (`names` maps ivspill's names to
    the other's); fails above `tol`: a benchmark times only routes that give the same numbers."""
    rel = lambda a, b: float(np.max(np.abs(np.asarray(a, dtype=float) / np.asarray(b, dtype=float) - 1)))
    ours_names, their_names = list(names), list(names.values())
    diffs = (rel(ours.params[ours_names], _values(theirs, "params", their_names)),
             rel(ours.std_errors[ours_names], _values(theirs, "std_errors", their_names)))
    assert max(diffs) < tol, f"{label} differs from ivspill: params {diffs[0]:.1e}, std errors {diffs[1]:.1e}"
    return f"{label}: params {diffs[0]:.0e}, std errors {diffs[1]:.0e}"


def _values(fit, what, names):
    "params / std_errors of a linearmodels, pyfixest or ivspill fit."
    if hasattr(fit, "coef"): return (fit.coef() if what == "params" else fit.se())[names]  # pyfixest
    return getattr(fit, what)[names]


def race(contenders: dict, runs: int = 3, once=()) -> dict:
    """Minimum seconds of each contender over `runs` rounds, the contenders alternating within each round; those
    named in `once` (slow references) run in the first round only."""
    best = dict.fromkeys(contenders, np.inf)
    for round_ in range(runs):
        for name, fit in contenders.items():
            if round_ == 0 or name not in once: best[name] = min(best[name], timed(fit)[1])
    return best


def peak_memory(fit) -> int:
    "Peak bytes allocated while `fit()` runs (tracemalloc: Python and numpy allocations)."
    tracemalloc.start()
    fit()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def report(title: str, times: dict, agreement: list, peak: int, input_bytes: int, runs: int = 3, once=()):
    "Print a table of times and ratios to the first contender (ivspill), and append it to RESULTS.md."
    ours = next(iter(times.values()))
    lines = [f"### {title}", "", f"| route | seconds (min of {runs}) | ivspill is |", "|---|---|---|"]
    lines += [f"| {name}{' (one run)' if name in once else ''} | {seconds:.3f} | "
              f"{'—' if i == 0 else f'{seconds / ours:.1f}× faster'} |" for i, (name, seconds) in enumerate(times.items())]
    lines += ["", "Equal numbers (largest relative differences): " + "; ".join(agreement) + ".",
              f"ivspill's peak memory: {peak / 2**20:,.0f} MiB = {peak / input_bytes:.2f}× the input "
              f"({input_bytes / 2**20:,.0f} MiB).", ""]
    append_results(lines)


def append_results(lines: list):
    "Print a table (its markdown lines) and append it to RESULTS.md."
    text = "\n".join(lines)
    print(text, flush=True)
    with RESULTS.open("a") as out: out.write(text + "\n")


def linearmodels_demeaned(df, y, endog, instruments, site):
    """linearmodels' fastest correct route with site fixed effects: IV2SLS on within-site demeaned data (the demeaning
    is part of the route and of its time), CR1 by site, standard errors rescaled by √((n − k)/(n − k − K)) for the K
    absorbed effects that the demeaned regression does not count."""
    from types import SimpleNamespace
    from linearmodels.iv import IV2SLS
    columns = [y, *endog, *instruments]
    demeaned = df[columns] - df.groupby(site)[columns].transform("mean")
    fit = IV2SLS(demeaned[y], None, demeaned[endog], demeaned[instruments]).fit(
        cov_type="clustered", clusters=df[site], debiased=True)
    n, k, n_sites = len(df), len(endog), df[site].nunique()
    return SimpleNamespace(params=fit.params, std_errors=fit.std_errors * np.sqrt((n - k) / (n - k - n_sites)))
