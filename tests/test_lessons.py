"""The result notebooks' rendered pages read as lessons: no imports, private helpers or test asserts in the visible
code, numbered sections in order, and no references to internal notes. The page is read as the site renders it
(smalldocs' own notebook reader, which honours `#| include: false`, `#| echo: false` and `#| code-fold`), without a
build; tests/test_site.py checks the built pages in a browser.

Note: smalldocs reads a cell's `#|` lines as YAML, so nbdev's bare `#| hide` and `#| exporti` hide nothing on the
offline site; hidden cells say `#| include: false`, and their export directive is written `#| export: true` (which
nbdev reads as `#| export`)."""
import json
import re
from pathlib import Path

import pytest

notebook = pytest.importorskip("smalldocs.notebook", reason="smalldocs renders the site offline")

NBS = Path(__file__).resolve().parents[1] / "nbs"
LESSONS = ["00_core.ipynb", "01_late.ipynb", "02_targeting.ipynb", "03_pairs.ipynb", "04_interference.ipynb",
           "05_bounds.ipynb"]
DEVELOPMENT = re.compile(r"^(import |from \S+ import |assert |test_\w+\(|def _|class _|@\w+.*\n(def|class) _)", re.M)
# "fixture" alone is a test fixture; "**fixture**:" and "fixture": name the public reproduction kind
INTERNAL = re.compile(r"\bthe spec\b|\bspecs?/|errat|\bDGP\b|\bDGP-|\bfixture\b(?!\*\*:|\x22: )|\bF[1-9]\b", re.I)


def visible_code(text: str) -> list[str]:
    "The code blocks a reader sees on the rendered page of a notebook (its JSON text)."
    _, body = notebook.to_markdown(text)
    return re.findall(r"(`{3,})\{\.python \.cell-code[^}]*\}\n(.*?)\n\1", body, re.S)


def development_lines(text: str) -> list[str]:
    "Top-level imports, asserts, test calls and private definitions in the visible code of a notebook."
    return [m.group(0) for _, code in visible_code(text) for m in DEVELOPMENT.finditer(code)]


@pytest.mark.parametrize("name", LESSONS)
def test_no_development_detail_on_the_page(name):
    text = (NBS / name).read_text(encoding="utf-8")
    assert visible_code(text), f"{name}: no visible code at all: the reader is wrong"
    assert not development_lines(text), f"{name}: visible on the page: {development_lines(text)}"


@pytest.mark.parametrize("name", LESSONS)
def test_checks_stay_in_the_notebook(name):
    "Hiding is not deleting: the hidden cells still hold the checks that the notebook test run executes."
    cells = json.loads((NBS / name).read_text(encoding="utf-8"))["cells"]
    hidden = ["".join(c["source"]) for c in cells if c["cell_type"] == "code" and "#| include: false" in "".join(c["source"])]
    assert sum(len(re.findall(r"^\s*(assert |test_\w+\()", s, re.M)) for s in hidden) >= 10


@pytest.mark.parametrize("name", LESSONS)
def test_sections_in_order_and_no_internal_references(name):
    cells = json.loads((NBS / name).read_text(encoding="utf-8"))["cells"]
    prose = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    numbers = [int(n) for n in re.findall(r"^## (\d+)\.", prose, re.M)]
    assert numbers == list(range(1, len(numbers) + 1)), f"{name}: sections numbered {numbers}"
    shown = prose + "\n".join(code for _, code in visible_code((NBS / name).read_text(encoding="utf-8")))
    assert not INTERNAL.findall(shown), f"{name}: internal references {INTERNAL.findall(shown)}"


def test_the_reader_sees_what_is_shown_and_not_what_is_hidden():
    "The checks can fail: a visible import and a visible assert are found, hidden ones are not."
    def nb(*sources):
        return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "code", "id": f"x{i}", "metadata": {}, "outputs": [], "execution_count": None, "source": s}
            for i, s in enumerate(sources)]})
    assert development_lines(nb("import numpy as np\nx = 1", "#| hide\nassert x == 1")) == ["import ", "assert "]
    assert development_lines(nb("#| include: false\nimport numpy as np", "#| export: true\n#| include: false\ndef _f(): pass",
                                "y = 2")) == []
    assert development_lines(nb("#| exporti\ndef _g(): pass")) == ["def _"]  # nbdev's exporti alone hides nothing here
