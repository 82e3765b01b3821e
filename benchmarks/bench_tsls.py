"""Benchmark: ivspill's 2SLS engine against its peers' fastest correct routes on the same data.

n = 1,000,000 observations in 50 sites, binary treatment T, mediators instrumented by the 50 site×T interactions,
site fixed effects, standard errors clustered by site (CR1). Routes: linearmodels IV2SLS on within-site demeaned
data with the degrees-of-freedom factor (its fastest correct route), linearmodels with 50 site dummies (for
reference), and — on a one-endogenous design, the only IV pyfixest fits — pyfixest `feols` with
`ssc(k_fixef="full")` and `lean=True`. Every route is checked to give ivspill's numbers (1e-8) before it is timed;
times are the minimum of 3 alternating runs.

    python benchmarks/bench_tsls.py [--n 1000000] [--sites 50]
"""
import argparse

import numpy as np
import pandas as pd
from _compare import check_equal, linearmodels_demeaned, peak_memory, race, report
from linearmodels.iv import IV2SLS

from ivspill.core import tsls


def simulate(n, n_sites, seed=0):
    rng = np.random.default_rng(seed)
    site = rng.integers(0, n_sites, n)
    t = rng.integers(0, 2, n).astype(float)
    u = rng.normal(size=n)
    gamma = rng.uniform(0.2, 0.8, size=(n_sites, 2))  # site-specific compliance of each mediator
    m = gamma[site] * t[:, None] + 0.5 * u[:, None] + rng.normal(size=(n, 2))
    y = m @ [1.0, -0.5] + u + rng.normal(size=n) + 0.1 * site
    df = pd.DataFrame({"y": y, "m1": m[:, 0], "m2": m[:, 1], "site": site})
    instruments = pd.DataFrame((site[:, None] == np.arange(n_sites)) * t[:, None],
                               columns=[f"t_site{s}" for s in range(n_sites)])
    return pd.concat([df, instruments], axis=1)


def two_mediators(df, instr):
    endog = ["m1", "m2"]
    routes = {
        "ivspill tsls": lambda: tsls(df, y="y", d=endog, z=instr, absorb="site", cluster="site"),
        "linearmodels, demeaned + dof": lambda: linearmodels_demeaned(df, "y", endog, instr, "site"),
        "linearmodels, site dummies": lambda: IV2SLS(df.y, pd.get_dummies(df.site, prefix="site", dtype=float),
                                                     df[endog], df[instr]).fit(cov_type="clustered",
                                                                               clusters=df.site, debiased=True),
    }
    return routes, {m: m for m in endog}


def one_mediator(df, instr):
    import pyfixest as pf
    formula = f"y ~ 1 | site | m1 ~ {' + '.join(instr)}"
    routes = {
        "ivspill tsls": lambda: tsls(df, y="y", d="m1", z=instr, absorb="site", cluster="site"),
        "pyfixest feols (lean)": lambda: pf.feols(formula, data=df, vcov={"CRV1": "site"},
                                                  ssc=pf.ssc(k_fixef="full"), lean=True),
        "linearmodels, demeaned + dof": lambda: linearmodels_demeaned(df, "y", ["m1"], instr, "site"),
    }
    return routes, {"m1": "m1"}


def main(n, n_sites):
    df = simulate(n, n_sites)
    instr = [c for c in df.columns if c.startswith("t_site")]
    input_bytes = df.memory_usage(index=False).sum()
    for label, design in [("two mediators", two_mediators), ("one mediator", one_mediator)]:
        routes, names = design(df, instr)
        ours = next(iter(routes.values()))()
        agreement = [check_equal(ours, fit(), names, name) for name, fit in list(routes.items())[1:]]
        report(f"tsls, {label}: n = {n:,}, {n_sites} sites, {len(instr)} instruments, site effects, CR1 by site",
               race(routes), agreement, peak_memory(next(iter(routes.values()))), input_bytes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=50)
    args = parser.parse_args()
    main(args.n, args.sites)
