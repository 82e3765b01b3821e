"""Does ivspill match ...? Each comparison below computes a number with ivspill and the same number with a reference —
a well-kept library (linearmodels, statsmodels, rdrobust) or a paper's published table (the reproductions registered
in `ivspill.core.REPRODUCTIONS`) — on the data and with the calls of the cross-check tests named in its row, and
states the tolerance those tests allow. One list of rows serves both readers:

- tests/test_parity.py asserts every row within its tolerance, and that the page shows these rows and numbers;
- scripts/build_docs.py writes the site's page nbs/parity.qmd from them (`write_page`).

So the page shows only numbers a test checks, and cannot fall behind the code.

    .venv/bin/python scripts/parity.py          # print the rows; write nbs/parity.qmd
"""
import importlib.metadata
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "nbs" / "parity.qmd"


@dataclass(frozen=True)
class Row:
    "One number computed twice: by ivspill and by the reference, equal within `atol + rtol·|reference|`."
    reference: str  # the library, or the paper
    what: str  # the quantity and the design
    ivspill: float
    value: float  # the reference's number
    rtol: float = 0.0
    atol: float = 0.0
    test: str = ""  # the test that checks the same call

    @property
    def difference(self) -> float: return self.ivspill - self.value

    @property
    def tolerance(self) -> float: return self.atol + self.rtol * abs(self.value)

    @property
    def passes(self) -> bool: return bool(np.isfinite(self.ivspill) and abs(self.difference) <= self.tolerance)


def _version(package: str) -> str:
    try: return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError: return "not installed"


# ---------------------------------------------------------------- linearmodels
# The designs and reference fits are the cross-check tests' own helpers, imported from tests/: the same calls.

def _tests():
    "Put tests/ on the import path, where the cross-check tests' designs and reference fits are."
    if str(ROOT / "tests") not in sys.path: sys.path.insert(0, str(ROOT / "tests"))


def tsls_rows() -> list[Row]:
    "`tsls` against linearmodels' IV2SLS (debiased): robust, clustered and unadjusted, with and without site effects."
    _tests()
    from test_tsls_crosscheck import linearmodels_fit, simulate
    from ivspill import tsls
    rows, test = [], "test_tsls_crosscheck.py::test_tsls_matches_linearmodels"
    for n_endog, n_instr, absorb, cov_type in [(1, 1, False, "unadjusted"), (1, 60, True, "robust"),
                                               (3, 60, True, "clustered")]:
        endog, instr = [f"x{j}" for j in range(n_endog)], [f"z{j}" for j in range(n_instr)]
        df = simulate(n_endog, n_instr)
        ours = tsls(df, y="y", d=endog, z=instr, covariates=["w0", "w1"], absorb="site" if absorb else None,
                    cluster="site" if cov_type == "clustered" else None, cov_type=cov_type)
        theirs = linearmodels_fit(df, endog, instr, absorb, cov_type)
        design = (f"{n_endog} endogenous, {n_instr} instrument{'s' * (n_instr > 1)}"
                  f"{', site effects' if absorb else ''}, {cov_type}")
        rows += [Row("linearmodels IV2SLS", f"2SLS coefficient of x0 ({design})", ours.params["x0"],
                     theirs.params["x0"], rtol=1e-8, test=test),
                 Row("linearmodels IV2SLS", f"2SLS standard error of x0 ({design})", ours.std_errors["x0"],
                     theirs.std_errors["x0"], rtol=1e-8, test=test),
                 Row("linearmodels IV2SLS", f"first-stage partial R² of x0 ({design})",
                     ours.first_stage.partial_r2["x0"], theirs.first_stage.diagnostics.loc["x0", "partial.rsquared"],
                     rtol=1e-8, test=test)]
    return rows


def msmm_rows() -> list[Row]:
    """`msmm_iv` (2SLS and LIML with site×treatment instruments) against linearmodels with site dummies and explicit
    interactions, on the simulation and on Project STAR, as in tests/test_late.py."""
    _tests()
    from linearmodels.iv import IV2SLS, IVLIML
    from test_late import linearmodels_fit
    from ivspill import msmm_iv
    from ivspill.sim import simulate_multisite
    sims = simulate_multisite(n_sites=30, n_per_site=120, gamma_sd=(0.5, 0.5), seed=5)  # the tests' `sims`
    mediators, rows = ["m1", "m2"], []
    for method, estimator, test in [("2sls", IV2SLS, "test_msmm_iv_matches_linearmodels_2sls"),
                                    ("liml", IVLIML, "test_msmm_iv_liml_matches_linearmodels")]:
        ours = msmm_iv(sims, y="y", d=mediators, z="t", site="site", cluster="site", rank_alpha=None, method=method)
        theirs = linearmodels_fit(sims, y="y", d=mediators, z="t", site="site", cluster="site", estimator=estimator)
        label, where = f"linearmodels {estimator.__name__}", "(30 sites × 120, clustered by site)"
        rows += [Row(label, f"MSMM-IV {method.upper()} effect of m1 {where}", ours.params["m1"], theirs.params["m1"],
                     rtol=1e-8, test=f"test_late.py::{test}"),
                 Row(label, f"MSMM-IV {method.upper()} standard error of m1 {where}", ours.std_errors["m1"],
                     theirs.std_errors["m1"], rtol=1e-8, test=f"test_late.py::{test}")]
    try:
        from ivspill.datasets import load_star
        star = load_star()
    except ImportError:  # the `data` extra is missing: the STAR rows are left out
        return rows
    d = ["small_1", "aide_1"]
    ours = msmm_iv(star, y="score_1", d=d, z="small_k", site="school", cluster="school", rank_alpha=None, method="2sls")
    theirs = linearmodels_fit(star, y="score_1", d=d, z="small_k", site="school", cluster="school")
    test = "test_late.py::test_msmm_iv_matches_linearmodels_on_star"
    return rows + [Row("linearmodels IV2SLS", "Project STAR: effect of a small class in grade 1 on the grade-1 score",
                       ours.params["small_1"], theirs.params["small_1"], rtol=1e-8, test=test),
                   Row("linearmodels IV2SLS", "Project STAR: its standard error (clustered by school)",
                       ours.std_errors["small_1"], theirs.std_errors["small_1"], rtol=1e-8, test=test)]


def pair_wald_rows() -> list[Row]:
    "`pair_wald` against Theorem 1's saturated 2SLS in linearmodels (CR1), as in tests/test_pairs.py."
    _tests()
    from test_pairs import OSN, saturated_linearmodels
    from ivspill import pair_wald
    from ivspill.sim import simulate_pairs
    df = simulate_pairs(3_000, cell_probs=(0.2, 0.3, 0.3, 0.2), seed=21, **OSN)  # the tests' `osn`, with cell 11
    ours, theirs = pair_wald(df, y="y", d="d", z="z", group="group"), saturated_linearmodels(df)
    test, effects = "test_pairs.py::test_theorem1_against_linearmodels", [("direct", "d"), ("spillover", "d_peer")]
    return [Row("linearmodels IV2SLS", f"pair Wald {name} effect (3,000 pairs; saturated 2SLS)", ours.params[name],
                theirs.params[col], rtol=1e-10, test=test) for name, col in effects] + \
           [Row("linearmodels IV2SLS", f"pair Wald {name} standard error (clustered by pair)", ours.std_errors[name],
                theirs.std_errors[col], rtol=1e-10, test=test) for name, col in effects]


def bounds_rows() -> list[Row]:
    """`mtr_bounds` where a bound is a Wald ratio (τ_S(0) under one-sided noncompliance) against linearmodels' clustered
    2SLS, as in tests/test_bounds.py."""
    _tests()
    from test_bounds import one_sided_wald_ratio
    fit, iv, factor = one_sided_wald_ratio()
    test = "test_bounds.py::test_delta_se_of_a_point_identified_effect_equals_clustered_2sls"
    return [Row("linearmodels IV2SLS", "MTR bounds: τ_S(0), one-sided (a Wald ratio; 3,000 pairs)",
                fit.lower["tau_S(0)"], -iv.params["v0"], rtol=1e-10, test=test),
            Row("linearmodels IV2SLS", "its delta-method standard error × √((G−1)/G) (clustered by pair)",
                fit.se_lower["tau_S(0)"] / factor, iv.std_errors["v0"], rtol=1e-7, test=test)]


# ---------------------------------------------------------------- statsmodels

def statsmodels_rows() -> list[Row]:
    "`ols`, the first-stage F and `core.fit_logit` against statsmodels, as in the tests named in each row."
    import statsmodels.api as sm
    _tests()
    from test_tsls_crosscheck import simulate
    from ivspill import ols, tsls
    from ivspill.core import fit_logit
    df = simulate(1, 1, seed=11)
    ours = ols(df, y="y", x=["x0", "w0", "w1"], cluster="site", cov_type="clustered")
    theirs = sm.OLS(df.y, sm.add_constant(df[["x0", "w0", "w1"]])).fit(cov_type="cluster", cov_kwds={"groups": df.site})
    test = "test_tsls_crosscheck.py::test_ols_matches_statsmodels"
    rows = [Row("statsmodels OLS", "OLS coefficient of x0 (clustered by site)", ours.params["x0"], theirs.params["x0"],
                rtol=1e-8, test=test),
            Row("statsmodels OLS", "OLS standard error of x0 (CR1, 12 clusters)", ours.std_errors["x0"],
                theirs.bse["x0"], rtol=1e-8, test=test)]
    df = simulate(2, 5, seed=7)
    instr = [f"z{j}" for j in range(5)]
    ours = tsls(df, y="y", d=["x0", "x1"], z=instr, covariates=["w0", "w1"], cov_type="robust")
    fit = sm.OLS(df.x0, sm.add_constant(df[instr + ["w0", "w1"]])).fit(cov_type="HC1")
    wald = fit.wald_test(" = 0, ".join(instr) + " = 0", scalar=True, use_f=False).statistic
    rows.append(Row("statsmodels OLS", "first-stage F of x0 (5 instruments, HC1 Wald / q)",
                    ours.first_stage.loc["x0", "f_stat"], wald / len(instr), rtol=1e-8,
                    test="test_tsls_crosscheck.py::test_first_stage_f_matches_statsmodels"))
    rng = np.random.default_rng(40)
    x = np.column_stack([np.ones(3_000), rng.normal(size=(3_000, 2))])
    outcome = (rng.random(3_000) < 1 / (1 + np.exp(-x @ [0.2, 0.8, -0.5]))).astype(float)
    logit, theirs = fit_logit(x, outcome), sm.Logit(outcome, x).fit(disp=0, cov_type="HC0")
    test = "test_interference.py::test_fit_logit_matches_statsmodels"
    return rows + [Row("statsmodels Logit", "propensity-score logit: slope of x1 (3,000 draws)", logit.coef[1],
                       np.asarray(theirs.params)[1], atol=1e-6, test=test),
                   Row("statsmodels Logit", "its HC0 standard error (influence function)",
                       np.sqrt((logit.influence.T @ logit.influence)[1, 1]) / 3_000, np.asarray(theirs.bse)[1],
                       rtol=1e-6, atol=1e-10, test=test)]


# ---------------------------------------------------------------- rdrobust

def rdrobust_rows() -> list[Row]:
    "`rdd_ade` against rdrobust's defaults (mserd, p = 1, q = 2, triangular kernel), as in tests/test_interference.py."
    try:
        from rdrobust import rdrobust
    except ImportError:
        return []
    from ivspill import rdd_ade
    from ivspill.sim import simulate_rdd_interference
    sim = simulate_rdd_interference(1_500, seed=46)
    theirs = rdrobust(sim.y.to_numpy(), sim.w.to_numpy(), c=0.0)
    ours = rdd_ade(sim, y="y", running="w")
    test = "test_interference.py::test_rdd_matches_rdrobust"
    pick = [("conventional estimate", ours.params.iloc[0], theirs.coef.iloc[0, 0]),
            ("bias-corrected estimate", ours.params.iloc[1], theirs.coef.iloc[1, 0]),
            ("conventional standard error", ours.std_errors.iloc[0], theirs.se.iloc[0, 0]),
            ("robust standard error", ours.std_errors.iloc[1], theirs.se.iloc[2, 0]),
            ("robust 95% interval, lower end", ours.conf_int().iloc[1, 0], theirs.ci.iloc[2, 0])]
    return [Row("rdrobust", f"sharp RDD {what} (1,500 units, mserd bandwidth)", a, b, rtol=1e-6, atol=1e-8, test=test)
            for what, a, b in pick]


# ---------------------------------------------------------------- the papers' tables

def paper_rows() -> list[Row]:
    "Every reproduction registered in `ivspill.core.REPRODUCTIONS`: the published number, recomputed."
    from ivspill.core import run_reproductions
    table = run_reproductions()
    return [Row(r.paper, f"{r.claim} ({r.kind})", r.ivspill, r.published, atol=r.tolerance,
                test="make replicate") for r in table.itertuples()]


SECTIONS = {  # title on the page: the functions that compute its rows
    "linearmodels": [tsls_rows, msmm_rows, pair_wald_rows, bounds_rows],
    "statsmodels": [statsmodels_rows],
    "rdrobust": [rdrobust_rows],
    "The papers' published numbers": [paper_rows],
}


def all_rows() -> dict[str, list[Row]]:
    "Compute every comparison, by section."
    return {title: [row for compute in functions for row in compute()] for title, functions in SECTIONS.items()}


def _number(v: float) -> str:
    return "—" if not np.isfinite(v) else f"{v:.6g}"


def _small(v: float) -> str:
    return "0" if v == 0 else f"{v:.1e}"


def page_text(rows: dict[str, list[Row]]) -> str:
    "The Markdown of the page: one table per section; every number as `ROW_FORMAT` writes it."
    versions = ", ".join(f"{p} {_version(p)}" for p in ("linearmodels", "statsmodels", "rdrobust"))
    n = sum(map(len, rows.values()))
    n_pass = sum(r.passes for rs in rows.values() for r in rs)
    out = ["---", 'title: "Does ivspill match …?"',
           'description: "ivspill\'s numbers next to linearmodels, statsmodels, rdrobust and the papers\' tables"',
           "page-layout: full", "toc: false", "---", "",
           "Every number below is computed twice by `scripts/parity.py` (`make docs` runs it): by ivspill, and by a "
           "well-kept library or the paper that published it, with the data and the calls of the cross-check test "
           "named in the row (the test's own helpers). The difference is ivspill minus the reference; the tolerance "
           "is the one the test allows (relative tolerances are shown converted to absolute ones). The page and "
           "tests/test_parity.py read the same list of comparisons, so the page cannot show a number the tests do "
           "not check.", "",
           f"**{n_pass} of {n} comparisons agree within their tolerance.** References: {versions}.", ""]
    for title, section in rows.items():
        out += [f"## {title}", ""]
        if not section:
            out += ["Not installed where this page was built: these comparisons were left out.", ""]
            continue
        reference_column = "paper" if title.startswith("The papers") else "reference"
        columns = [reference_column, "quantity", "ivspill", "reference value", "difference", "tolerance", "agrees",
                   "test"]
        out += ["::: {.parity}", "", "| " + " | ".join(columns) + " |",
                "|---|---|--:|--:|--:|--:|:-:|---|"]
        out += [ROW_FORMAT.format(reference=r.reference, what=r.what.replace("|", "\\|"), ivspill=_number(r.ivspill),
                                  value=_number(r.value), difference=_small(r.difference),
                                  tolerance=_small(r.tolerance), agrees="yes" if r.passes else "**NO**",
                                  test=f"`{r.test}`") for r in section]
        out += ["", ":::", ""]
    return "\n".join(out)


ROW_FORMAT = "| {reference} | {what} | {ivspill} | {value} | {difference} | {tolerance} | {agrees} | {test} |"


def write_page(rows: dict[str, list[Row]] | None = None) -> Path:
    "Write nbs/parity.qmd from the rows (computed here when not given)."
    PAGE.write_text(page_text(all_rows() if rows is None else rows), encoding="utf-8")
    return PAGE


if __name__ == "__main__":
    computed = all_rows()
    for title, section in computed.items():
        print(f"\n{title}")
        for r in section:
            verdict = "ok  " if r.passes else "FAIL"
            print(f"  {verdict} {r.ivspill:>14.8g} {r.value:>14.8g} {r.difference:>9.1e}  {r.what[:60]}")
    print("wrote", write_page(computed))
