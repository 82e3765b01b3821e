"""The exercise notebooks in nbs/teaching/: every solution is folded on the site, displays nothing (an output would show
the answer below the fold) and is followed by a check; and the checks can fail: each notebook runs with a typical wrong
answer put in after a solution, and the check right after it must raise AssertionError (tests/test_notebooks.py runs
the notebooks as written, where every check passes)."""
import ast
import re
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest

TEACHING = Path(__file__).resolve().parents[1] / "nbs" / "teaching"
FOLD = '#| code-fold: true\n#| code-summary: "Solution"'

# (notebook, variable its solution defines, a typical wrong answer): each check must reject it
WRONG_ANSWERS = {
    "ex1_late_cwate.ipynb": [("cwate_true", "ate_true"),  # the ATE taken for the CWATE
                             ("wald_estimate", "ate_true"),  # reading the Wald ratio as the ATE
                             ("late_compliers", "wald_defiers"),  # the Wald ratio taken for the LATE under defiers
                             ("jobs_late", "jobs_itt")],  # the ITT taken for the effect of attending
    "ex2_targeting.ipynb": [("share_111", '(arum.group == "C_222").mean()'),
                            ("mean_y1_111", "arum.y1.mean()"),  # the population mean, not the group's
                            ("bad_share_true", "bad_share")],  # the estimate taken for the truth
    "ex3_pair_wald.ipynb": [("spill_true", '(pairs.y01 - pairs.y00)[pairs.type == "C"].mean()'),  # own type, not peer's
                            ("direct_true", "(pairs.y10 - pairs.y00).mean()")],  # everyone, not the compliers
    "ex4_interference.ipynb": [("ade_true", "0.5"),  # the spillover channel Π forgotten
                               ("ipw_reps", "(sims.d * sims.y / 0.5 - (1 - sims.d) * sims.y / 0.5).groupby(sims.rep).mean()"),
                               ("lade_true", "ivsim.delta.mean()")],  # the ADE taken for the LADE
    "ex5_mtr_bounds.ipynb": [("tau_d0_true", 'pairs.b[pairs.type == "C"].mean()'),  # type C, not the defined compliers
                             ("width_d0", 'curve["tau_D(0) upper"]')],
}
EXERCISES = sorted(TEACHING.glob("ex*.ipynb"))


def code_cells(path):
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def defines(source, name):
    return source.startswith(FOLD) and re.search(rf"^{name}\b[^=\n]*=|^[\w, ]*\b{name}\b[\w, ]*=", source, re.M)


def test_five_exercises_and_a_syllabus():
    assert [p.name for p in EXERCISES] == sorted(WRONG_ANSWERS) and (TEACHING / "syllabus.ipynb").exists()


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_every_solution_is_folded_and_checked(path):
    cells = code_cells(path)
    solutions = [i for i, s in enumerate(cells) if s.startswith(FOLD)]
    assert len(solutions) >= 4, "at least four tasks with a solution"
    for i in solutions:
        assert i + 1 < len(cells) and "assert" in cells[i + 1], f"solution cell {i} is not followed by a check"
        shown = [n for n in ast.parse(cells[i]).body if isinstance(n, ast.Expr)]
        assert not shown, f"solution cell {i} displays a value (its output would show the answer below the fold)"


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_checks_reject_wrong_answers(path, monkeypatch):
    monkeypatch.chdir(path.parent)
    cells, wrong = code_cells(path), dict(WRONG_ANSWERS[path.name])
    targets = {name: next(i for i, s in enumerate(cells) if defines(s, name)) for name in wrong}
    namespace, rejected = {}, []
    for i, source in enumerate(cells[:max(targets.values()) + 2]):
        exec(compile(source, f"{path.name}[{i}]", "exec"), namespace)
        plt.close("all")
        for name in [n for n, t in targets.items() if t == i]:
            mutated = dict(namespace)
            exec(f"{name} = {wrong[name]}", mutated)
            with pytest.raises(AssertionError):
                exec(compile(cells[i + 1], f"{path.name}[{i + 1}]", "exec"), mutated)
            rejected.append(name)
    assert sorted(rejected) == sorted(wrong)
