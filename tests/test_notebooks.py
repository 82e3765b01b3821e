"""Every notebook in nbs/ runs as its own test (nbdev's runner, with the cells flagged in `tst_flags` skipped), is
valid nbformat (so Jupyter and nbconvert open it), and every tutorial runs top to bottom in a real Jupyter kernel."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook

ROOT = Path(__file__).resolve().parents[1] / "nbs"
NBS = sorted(p for p in ROOT.rglob("*.ipynb") if not any(part.startswith(("_", ".")) for part in p.relative_to(ROOT).parts))
TUTORIALS = [p for p in NBS if p.parent.name == "tutorials"]
ids = lambda paths: [str(p.relative_to(ROOT)) for p in paths]
SMALL_ROWS = "200000"  # tutorials/large_data.ipynb writes IVSPILL_TUTORIAL_ROWS rows, 1e8 by default; tests: 2e5


@pytest.mark.parametrize("notebook", NBS, ids=ids(NBS))
def test_notebook_runs(notebook, monkeypatch):
    monkeypatch.setenv("IVSPILL_TUTORIAL_ROWS", SMALL_ROWS)
    skip_flags = get_config(notebook.parent).tst_flags.split()
    ok, seconds = run_notebook(notebook, skip_flags=skip_flags, cell_timeout=600)
    assert ok, f"{notebook.name} failed (its traceback is printed above)"


@pytest.mark.parametrize("notebook", NBS, ids=ids(NBS))
def test_notebook_is_valid_nbformat(notebook):
    nbformat.validate(nbformat.read(notebook, as_version=nbformat.NO_CONVERT))


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=ids(TUTORIALS))
def test_tutorial_runs_in_a_jupyter_kernel(tutorial, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # the kernel's own, not the tests' Agg
    monkeypatch.setenv("IVSPILL_TUTORIAL_ROWS", SMALL_ROWS)
    nb = nbformat.read(tutorial, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tutorial.parent)}}).execute()
    errors = [o for cell in nb.cells for o in cell.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert any(o.get("data", {}).get("image/png") for cell in nb.cells for o in cell.get("outputs", [])), "no figure"


def test_every_notebook_is_collected():
    assert {"00_core.ipynb", "index.ipynb", "07_widgets.ipynb", "tutorials/star_multisite.ipynb"} <= set(ids(NBS))
    assert len(TUTORIALS) >= 3
