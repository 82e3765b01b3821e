"""Run notebooks top to bottom in a real Jupyter kernel (nbclient) and save their outputs for the documentation site,
as valid nbformat and cleaned by nbdev (no run timestamps or execution counts).

    .venv/bin/python scripts/run_notebooks.py nbs/05_bounds.ipynb [more notebooks]

Cells flagged `#| slow` or `#| widgets` run too: mind the time of a notebook that has them.
"""
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbdev.clean import nbdev_clean


def run_and_save(path: str):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}}).execute()
    nbformat.validate(nb)
    nbformat.write(nb, path)
    nbdev_clean(fname=path)


if __name__ == "__main__":
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # figures saved inline, whatever the shell has
    for notebook in sys.argv[1:]:
        run_and_save(notebook)
        print("saved", notebook)
