"""Benchmark: the paper's computations at the paper's sizes, timed (targets: each under 10 s on 2 cores).

1. LaLonde Table 1: two-sided CAI sensitivity grid ξ ∈ {1, 1.25, 1.5} with the paper's Monte Carlo sizes
   (50,000 draws at ξ = 1, 2,500 per coordinate iteration, 30,000 final).
2. Table 2: 1,000 replications of N = 500 for each of the four ρ, HT-IPW with the marginal score.

Times: the minimum of 3 alternating runs.

    python benchmarks/bench_interference.py
"""
from _compare import append_results, race

from ivspill.datasets import load_lalonde
from ivspill.interference import LALONDE_COVARIATES, cai_sensitivity, ipw_table2

lalonde = load_lalonde()
computations = {
    "LaLonde Table 1: CAI sensitivity grid ξ ∈ {1, 1.25, 1.5}, two-sided, the paper's draw counts":
        lambda: cai_sensitivity(lalonde, y="re78", d="treat", covariates=LALONDE_COVARIATES, xi=(1, 1.25, 1.5),
                                alternative="two-sided", n_base=50_000, n_inner=2_500, n_final=30_000, seed=1),
    "Table 2: 4 × 1,000 replications of N = 500, HT-IPW with the marginal score": lambda: ipw_table2(n_reps=1_000),
}
table1, table2 = (fit() for fit in computations.values())
print(table1.table.round(3).to_string())
print(table2[["mean_ipw", "ade_target", "bias", "rmse"]].round(3).to_string())
times = race(computations)
append_results(["### interference: the paper's computations at the paper's sizes (target: each under 10 s)", "",
                "| computation | seconds (min of 3) |", "|---|---|",
                *[f"| {name} | {seconds:.2f} |" for name, seconds in times.items()], ""])
