"""Benchmark: msmm_iv out of core. A multisite trial of 1e8 rows (site, t, y, m; 100 sites) lies in parquet files;
msmm_iv (default: UJIVE, delete-a-site jackknife) reduces it where it lies — duckdb reading the parquet path, polars
(`pl.scan_parquet`), dask (`dd.read_parquet`, local threaded scheduler, and a LocalCluster of 2 worker processes) —
against numpy with the data loaded into a pandas frame first (loading reported, not timed).

Each route runs in a fresh process, so that its extra memory is the rise of the process's peak resident set (and, on
the cluster, the workers') over its level once imports are done, the engine has run a small warm-up call and (numpy)
the data are loaded: allocations of duckdb, polars and arrow are invisible to tracemalloc. Routes alternate within
each round; times are the minimum over rounds, memory the largest rise. All routes must give numpy's numbers (1e-10
relative) before the table is written; the LocalCluster, a minute a round here, runs once. A second table times
msmm_iv, tsls, pair_wald and mtr_bounds in memory at n = 1e7 against the one-pass floor of their data (a bincount
per summed column), with their peak memory.

    python benchmarks/bench_outofcore.py [--rows 100000000] [--sites 100] [--runs 3] [--memory-rows 10000000]
                                         [--in-memory-only]
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from _compare import append_results, check_equal, peak_memory, race, timed

DATA = Path(__file__).with_name("data")
ROUTES = ["numpy, in memory", "duckdb, parquet path", "polars, scan_parquet", "dask, local scheduler",
          "dask, LocalCluster (2 workers)"]
SLOWEST = ("dask, LocalCluster (2 workers)",)  # one run: minutes per round on 2 cores
CHUNK = 5_000_000


# --- the data: written a chunk at a time, never whole in memory ---------------------------------------------------

def site_parameters(n_sites: int, seed: int = 0) -> pd.DataFrame:
    "Per site: complier share γ, effect δ (mean 0.5, independent of γ) and baseline α."
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"gamma": rng.uniform(0.2, 0.7, n_sites), "delta": 0.5 + 0.3 * rng.normal(size=n_sites),
                         "alpha": rng.normal(size=n_sites)})


def trial_chunk(sites: pd.DataFrame, n: int, rng) -> pd.DataFrame:
    """n students of a multisite trial: site drawn uniformly, offer t by coin flip, take-up m by a latent u (always-
    takers u < 0.1, compliers next γ of the site), outcome y confounded by u."""
    site = rng.integers(0, len(sites), n, dtype=np.int32)
    t = (rng.random(n) < 0.5).astype(np.int8)
    u = rng.random(n)
    gamma, delta, alpha = (sites[c].to_numpy()[site] for c in ("gamma", "delta", "alpha"))
    m = (u < 0.1 + gamma * t).astype(np.int8)
    y = alpha + delta * m + 2.0 * (u - 0.5) + rng.normal(size=n)
    return pd.DataFrame({"site": site, "t": t, "m": m, "y": y})


def parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq
    return sum(pq.ParquetFile(f).metadata.num_rows for f in path.glob("*.parquet"))


def write_trial(rows: int, n_sites: int, seed: int = 0) -> Path:
    "The trial as a directory of parquet files of CHUNK rows each, reused when its row count matches."
    import pyarrow as pa
    import pyarrow.parquet as pq
    path = DATA / f"trial-{rows}-{n_sites}"
    if path.is_dir() and parquet_rows(path) == rows: return path
    partial = path.with_suffix(".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    sites = site_parameters(n_sites, seed)
    for i, start in enumerate(range(0, rows, CHUNK)):
        chunk = trial_chunk(sites, min(CHUNK, rows - start), np.random.default_rng([seed, i]))
        pq.write_table(pa.Table.from_pandas(chunk, preserve_index=False), partial / f"part-{i:04d}.parquet")
    shutil.rmtree(path, ignore_errors=True)
    partial.rename(path)
    return path


# --- one route, in its own process ---------------------------------------------------------------------------------

def reset_peak():
    "Set the process's peak resident set back to its current size (Linux), so that the next peak is this step's."
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss() -> int:
    "Bytes: the process's peak resident set since the last `reset_peak`."
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _read_route(route: str, path: Path):
    "The data as the route gives them to msmm_iv, seconds spent loading, and the dask client (or None)."
    if route.startswith("numpy"):
        return timed(lambda: pd.read_parquet(path)) + (None,)
    if route.startswith("duckdb"): return str(path), 0.0, None
    if route.startswith("polars"):
        import polars as pl
        return pl.scan_parquet(path / "*.parquet"), 0.0, None
    import dask.dataframe as dd
    client = None
    if "LocalCluster" in route:
        from distributed import Client, LocalCluster
        client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"))
    return dd.read_parquet(str(path)), 0.0, client


def _small_of_kind(route: str, df: pd.DataFrame):
    "`df` as the route's engine holds it: a warm-up call loads the engine's code (on the cluster's workers too)."
    if route.startswith("duckdb"):
        import duckdb
        return duckdb.from_df(df)
    if route.startswith("polars"):
        import polars as pl
        return pl.from_pandas(df).lazy()
    if route.startswith("dask"):
        import dask.dataframe as dd
        return dd.from_pandas(df, npartitions=2)
    return df


def run_route(route: str, path: Path) -> dict:
    "Time one msmm_iv call on `route` and measure the rise of peak resident memory it causes; a dict for JSON."
    import ivspill
    msmm_iv = lambda data: ivspill.msmm_iv(data, y="y", d="m", z="t", site="site")
    data, load_seconds, client = _read_route(route, path)
    msmm_iv(_small_of_kind(route, trial_chunk(site_parameters(10), 20_000, np.random.default_rng(1))))  # warm-up
    if client is not None: client.run(reset_peak)
    reset_peak()
    base, workers_base = peak_rss(), client.run(peak_rss) if client is not None else {}
    fit, seconds = timed(lambda: msmm_iv(data))
    extra = peak_rss() - base
    if client is not None:
        extra += sum(rss - workers_base[w] for w, rss in client.run(peak_rss).items())
        client.shutdown()
    input_bytes = int(data.memory_usage(index=False).sum()) if isinstance(data, pd.DataFrame) else 0
    return {"seconds": seconds, "extra": extra, "load": load_seconds, "input": input_bytes, "nobs": fit.nobs,
            "params": fit.params.to_dict(), "std_errors": fit.std_errors.to_dict()}


def in_subprocess(route: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--route", route, "--path", str(path)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the tables ----------------------------------------------------------------------------------------------------

def alternate(path: Path, runs: int, once) -> dict:
    "Each route's results (dicts of `run_route`), the routes taking turns within each round; `once`: first round only."
    results = {route: [] for route in ROUTES}
    for round_ in range(runs):
        for route in ROUTES:
            if round_ == 0 or route not in once:
                results[route].append(in_subprocess(route, path))
                print(f"round {round_ + 1}, {route}: {results[route][-1]['seconds']:.2f} s", flush=True)
    return results


def out_of_core(rows: int, n_sites: int, runs: int, once=SLOWEST):
    start = time.perf_counter()
    path = write_trial(rows, n_sites)
    print(f"data: {path} ({sum(f.stat().st_size for f in path.glob('*.parquet')) / 2**30:.2f} GiB, "
          f"{time.perf_counter() - start:.0f} s to write or check)", flush=True)
    results = alternate(path, runs, once)
    numpy = results[ROUTES[0]][0]
    fit = lambda r: SimpleNamespace(params=pd.Series(r["params"]), std_errors=pd.Series(r["std_errors"]))
    for route, rs in results.items():
        assert all(r["nobs"] == rows for r in rs)
        for r in rs: check_equal(fit(numpy), fit(r), {"m": "m"}, route, tol=1e-10)
    worst = lambda what: max(abs(r[what]["m"] / numpy[what]["m"] - 1) for rs in results.values() for r in rs)
    best = {route: min(r["seconds"] for r in rs) for route, rs in results.items()}
    extra = {route: max(r["extra"] for r in rs) for route, rs in results.items()}
    mib = lambda b: f"{b / 2**20:,.0f} MiB"
    ratio = best[ROUTES[1]] / best[ROUTES[0]]
    met = ratio <= 2 and extra[ROUTES[1]] <= 500 * 2**20
    append_results([
        f"### msmm_iv out of core: {rows:,} rows of parquet ({n_sites} sites), UJIVE + site jackknife", "",
        f"| route | seconds (min of {runs}) | × numpy in memory | extra process memory (largest) |",
        "|---|---|---|---|",
        *[f"| {route}{' (one run)' if route in once else ''} | {best[route]:.2f} | "
          f"{best[route] / best[ROUTES[0]]:.2f} | {mib(extra[route])} |" for route in ROUTES], "",
        f"Target for the parquet route through duckdb: at most 2× numpy's in-memory time and 500 MiB of extra memory. "
        f"Measured: {ratio:.2f}× and {mib(extra[ROUTES[1]])}: {'met' if met else 'not met'}.", "",
        f"numpy's input: {mib(numpy['input'])} in memory, read from parquet in "
        f"{min(r['load'] for r in results[ROUTES[0]]):.1f} s (not timed above); its extra memory is beyond that input. "
        f"Every run gives numpy's estimate and standard error to 1e-10 (largest relative differences: estimate "
        f"{worst('params'):.0e}, standard error {worst('std_errors'):.0e}); δ̂ = {numpy['params']['m']:.4f} "
        f"(SE {numpy['std_errors']['m']:.4f}). Memory: rise of the peak resident set over the process's level after "
        f"imports, workers included on the cluster. Load average over the last 5 minutes of the run: "
        f"{os.getloadavg()[1]:.1f} on 2 cores (other jobs shared the machine).", ""])


def in_memory(n: int, n_sites: int, runs: int):
    """The cell-sum estimators on n rows in memory against the one-pass floor of their data (a bincount per summed
    column by cell or group), with their peak memory beyond the input."""
    import ivspill
    from ivspill.pairs import simulate_pairs
    df = trial_chunk(site_parameters(n_sites), n, np.random.default_rng(2))
    site, t, y, m = (df[c].to_numpy() for c in ("site", "t", "y", "m"))
    pairs = simulate_pairs(n // 2, shares=(0, 0, 0.45, 0.25, 0.3), cell_probs=(0.2, 0.3, 0.3, 0.2),
                           seed=0)[["group", "z", "d", "y"]]
    group, z, d, y_pairs = (pairs[c].to_numpy() for c in ("group", "z", "d", "y"))

    def trial_floor():
        codes = 2 * site.astype(np.int64) + t
        return [np.bincount(codes)] + [np.bincount(codes, weights=v) for v in (y, m)]

    def pair_floor():
        return [np.bincount(group)] + [np.bincount(group, weights=v) for v in (z, d, y_pairs)]

    estimators = {  # name: (fit, its floor, the data)
        "msmm_iv (UJIVE, site jackknife)": (lambda: ivspill.msmm_iv(df, y="y", d="m", z="t", site="site"), trial_floor, df),
        "tsls (site effects, CR1 by site)": (lambda: ivspill.tsls(df, y="y", d="m", z="t", absorb="site", cluster="site"),
                                             trial_floor, df),
        "pair_wald (CR1 by pair)": (lambda: ivspill.pair_wald(pairs, y="y", d="d", z="z", group="group"), pair_floor,
                                    pairs),
        "mtr_bounds (delta method)": (lambda: ivspill.mtr_bounds(pairs, y="y", d="d", z="z", group="group"), pair_floor,
                                      pairs),
    }
    rows = [f"### The cell-sum estimators in memory: n = {n:,} rows", "",
            f"| estimator | seconds (min of {runs}) | floor (seconds) | × floor | peak memory beyond the input |",
            "|---|---|---|---|---|"]
    for name, (fit, floor, data) in estimators.items():
        fit()
        times = race({"fit": fit, "floor": floor}, runs=runs)
        size = data.memory_usage(index=False).sum()
        rows.append(f"| {name} | {times['fit']:.3f} | {times['floor']:.3f} | {times['fit'] / times['floor']:.1f} | "
                    f"{peak_memory(fit) / size:.2f}× ({size / 2**20:,.0f} MiB) |")
    compact = df.memory_usage(index=False).sum()
    wide = df.astype({"site": np.int64, "t": np.int64, "m": np.float64})  # the same data in 8-byte columns
    wide_peak = peak_memory(lambda: ivspill.msmm_iv(wide, y="y", d="m", z="t", site="site"))
    append_results(rows + ["", f"The trial ({n_sites} sites) has site int32, t and m int8, y float64 "
                           f"({compact / 2**20:,.0f} MiB); msmm_iv on the same data in 8-byte columns peaks at "
                           f"{wide_peak / wide.memory_usage(index=False).sum():.2f}× the input. The pairs "
                           f"({n // 2:,}, one-sided noncompliance) have 8-byte columns group, z, d, y. Floor: codes "
                           "2·site + t (trial) or the group (pairs), then `np.bincount` of the codes once for the "
                           "counts and once weighted by each summed column. Peak memory by tracemalloc.", ""])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-rows", type=int, default=10_000_000, help="n of the in-memory table")
    parser.add_argument("--route", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--in-memory-only", action="store_true", help="only the in-memory table")
    args = parser.parse_args()
    if args.route:
        print(json.dumps(run_route(args.route, args.path)))
    else:
        if not args.in_memory_only: out_of_core(args.rows, args.sites, args.runs)
        in_memory(args.memory_rows, args.sites, args.runs)
