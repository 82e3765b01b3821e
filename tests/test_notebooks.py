"""Every notebook in nbs/ runs as its own test, with the cells flagged in `tst_flags` (slow, widgets) skipped."""
from pathlib import Path

import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook

ROOT = Path(__file__).resolve().parents[1] / "nbs"
NBS = sorted(p for p in ROOT.rglob("*.ipynb") if not any(part.startswith(("_", ".")) for part in p.relative_to(ROOT).parts))


@pytest.mark.parametrize("notebook", NBS, ids=[str(p.relative_to(ROOT)) for p in NBS])
def test_notebook_runs(notebook):
    skip_flags = get_config(notebook.parent).tst_flags.split()
    ok, seconds = run_notebook(notebook, skip_flags=skip_flags, cell_timeout=600)
    assert ok, f"{notebook.name} failed (its traceback is printed above)"


def test_every_notebook_is_collected():
    names = {str(p.relative_to(ROOT)) for p in NBS}
    assert {"00_core.ipynb", "index.ipynb", "07_widgets.ipynb", "tutorials/star_multisite.ipynb"} <= names
