"""The "Does ivspill match …?" page: scripts/parity.py computes every comparison (ivspill against linearmodels,
statsmodels, rdrobust and the papers' published numbers, with the calls of the cross-check tests), and writes
nbs/parity.qmd from them. Here: every library comparison agrees within the tolerance its cross-check test allows, and
the page shows exactly these comparisons with these numbers (to the digits it prints), so it cannot fall behind the
code. The papers' rows are recomputed by `make replicate` (tests/test_replicate.py checks the command); here the
page must list every registered reproduction with its published value and tolerance, and a recomputed value inside
it."""
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import parity  # noqa: E402

from ivspill.core import registered_reproductions  # noqa: E402

LIBRARY_SECTIONS = ["linearmodels", "statsmodels", "rdrobust"]
PAPERS = "The papers' published numbers"


@pytest.fixture(scope="module")
def library_rows() -> dict[str, list[parity.Row]]:
    return {title: [row for compute in parity.SECTIONS[title] for row in compute()] for title in LIBRARY_SECTIONS}


def page_tables() -> dict[str, list[list[str]]]:
    "The rows of each table on the committed page, as lists of cell texts."
    tables, title = {}, None
    for line in parity.PAGE.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "): title = line[3:]; tables[title] = []
        elif title and line.startswith("| ") and not line.startswith(("| reference |", "| paper |")):
            tables[title].append([cell.strip().replace("\\|", "|") for cell in line.strip("|").split(" | ")])
    return tables


def test_every_library_comparison_agrees_within_its_tolerance(library_rows):
    failing = [f"{r.reference}: {r.what}: ivspill {r.ivspill!r}, reference {r.value!r}, tolerance {r.tolerance:.1e}"
               for rows in library_rows.values() for r in rows if not r.passes]
    assert not failing, "\n".join(failing)


def test_each_library_is_compared(library_rows):
    assert len(library_rows["linearmodels"]) >= 15 and len(library_rows["statsmodels"]) >= 5
    if parity._version("rdrobust") != "not installed": assert len(library_rows["rdrobust"]) == 5


def test_a_row_fails_when_the_numbers_differ_by_more_than_the_tolerance():
    assert parity.Row("lib", "x", 1.0, 1.0 + 2e-8, rtol=1e-8).passes is False
    assert parity.Row("lib", "x", 1.0, 1.0 + 5e-9, rtol=1e-8).passes is True
    assert parity.Row("paper", "x", np.nan, 1.0, atol=0.1).passes is False


def test_the_page_shows_these_comparisons_and_numbers(library_rows):
    tables = page_tables()
    assert list(tables) == [*LIBRARY_SECTIONS, PAPERS], "run `.venv/bin/python scripts/parity.py` to rewrite the page"
    for title, rows in library_rows.items():
        shown = tables[title]
        assert [cells[1] for cells in shown] == [r.what for r in rows], f"{title}: the page lists other comparisons"
        for cells, row in zip(shown, rows):
            ivspill, reference, difference, tolerance = map(float, cells[2:6])
            for printed, computed in [(ivspill, row.ivspill), (reference, row.value)]:
                assert abs(printed - computed) <= 1e-5 * abs(computed) + 1e-12, (row.what, printed, computed)
            assert abs(difference) <= tolerance and cells[6] == "yes", row.what
            assert np.isclose(tolerance, row.tolerance, rtol=0.06), row.what  # printed to two digits


def test_the_page_lists_every_reproduction_inside_its_tolerance():
    shown = {cells[1]: cells for cells in page_tables()[PAPERS]}
    registered = registered_reproductions()
    assert len(shown) == len(registered), "run `.venv/bin/python scripts/parity.py` to rewrite the page"
    for rep in registered:
        cells = shown[f"{rep.claim} ({rep.kind})"]
        ivspill, published, difference, tolerance = map(float, cells[2:6])
        assert abs(published - rep.published) <= 1e-5 * abs(rep.published) + 1e-12, rep.claim
        assert np.isclose(tolerance, rep.tolerance, rtol=0.06) and abs(ivspill - published) <= tolerance, rep.claim
        assert cells[6] == "yes", rep.claim
