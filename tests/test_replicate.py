"""The main job's command line, `ivspill-replicate`: options, a table that fits 100 columns, the closing line that
counts each kind of check separately, and the exit status."""
import inspect
import re

import pytest

from ivspill.core import REPRODUCTION_KINDS, REPRODUCTIONS, Reproduction, registered_reproductions, replicate_cli


def _run(capsys, *argv) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        replicate_cli(list(argv))
    return stop.value.code, capsys.readouterr().out


def test_help_describes_the_options_without_running_anything(capsys):
    code, out = _run(capsys, "--help")
    assert code == 0 and "reproductions pass" not in out
    assert all(option in out for option in ("--list", "--paper", "--kind", "--seed", "--verbose", "arithmetic"))


def test_every_reproduction_names_its_kind_and_random_ones_take_a_seed():
    reps = registered_reproductions()
    assert len(reps) >= 30 and {r.kind for r in reps} == set(REPRODUCTION_KINDS)
    for rep in reps:
        takes_seed = "seed" in inspect.signature(rep.compute).parameters
        assert takes_seed == (rep.seed is not None), f"{rep.claim}: seed {rep.seed}, compute takes seed: {takes_seed}"


def test_list_fits_100_columns_and_names_every_claim(capsys):
    replicate_cli(["--list", "--verbose"])
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 100
    rows = [line for line in out.splitlines() if re.match(rf"^ {{8}}({'|'.join(REPRODUCTION_KINDS)}) ", line)]
    assert len(rows) == len(registered_reproductions())


def test_a_run_prints_its_verdicts_and_counts_each_kind(capsys):
    code, out = _run(capsys, "--kind", "arithmetic", "--verbose")
    assert code == 0 and max(map(len, out.splitlines())) <= 100
    n = sum(r.kind == "arithmetic" for r in registered_reproductions())
    assert out.rstrip().splitlines()[-1] == f"{n} of {n} reproductions pass (arithmetic {n}/{n})"


def test_a_failing_reproduction_fails_the_job(capsys, monkeypatch):
    wrong = Reproduction("A paper that is not there", "a claim", 1.0, 0.1, lambda seed: 2.0 + seed, kind="simulation", seed=0)
    monkeypatch.setitem(REPRODUCTIONS, (wrong.paper, wrong.claim), wrong)
    code, out = _run(capsys, "--paper", "not there")
    assert code == 1 and "FAIL" in out and "[seed 0]" in out
    assert out.rstrip().splitlines()[-1] == "0 of 1 reproductions pass (simulation 0/1)"
    code, out = _run(capsys, "--paper", "not there", "--seed", "-1")  # the seed reaches the computation: 2 - 1 = 1
    assert code == 0 and "[seed -1]" in out


def test_a_filter_that_matches_nothing_is_an_error(capsys):
    code, _ = _run(capsys, "--paper", "no such paper")
    assert code != 0 and "no reproduction matches" in str(code)
