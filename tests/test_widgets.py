"""The classroom explorers of `ivspill.widgets` in a real Jupyter kernel (nbclient, matplotlib's inline backend as in
Jupyter): each explorer builds and displays as a widget, every control is moved programmatically (to both ends of its
range, through every choice), and after every move a new figure is inside the widget's `Output` — none under the
cell — while no other control changed; the share controls cannot express an impossible design."""
import base64
import json

import nbformat
import pytest
from nbclient import NotebookClient

EXPLORERS = {"cwate_explorer": "n=2_000", "pair_wald_explorer": "n_pairs=2_000", "bounds_explorer": "n_pairs=400"}

SETUP = """
import json
from ipywidgets import HTML, Output, ValueWidget
from ivspill import widgets as explorers

def parts(explorer):
    "The explorer's controls, its read-only notes and its output."
    controls = [c for c in explorer.children if isinstance(c, ValueWidget) and not isinstance(c, HTML)]
    notes = [c for c in explorer.children if isinstance(c, HTML)]
    return controls, notes, next(c for c in explorer.children if isinstance(c, Output))

def figure(output):
    "The PNG (base64) the output holds, or None."
    pngs = [o["data"]["image/png"] for o in output.outputs if "image/png" in o.get("data", {})]
    return pngs[0] if len(pngs) == 1 else None

def targets(control):
    "Where to move a control: both ends of a slider (read when the move is made), every choice of a selection."
    if hasattr(control, "options"):
        return [option[1] if isinstance(option, tuple) else option for option in control.options]
    return [lambda: control.max, lambda: control.min]

def move(explorer, name, control, target, log):
    "Empty the output, move one control, and log what the widget holds afterwards."
    controls, notes, output = parts(explorer)
    before, previous = [c.value for c in controls], figure(output)
    output.outputs = ()
    control.value = target() if callable(target) else target
    log.append({"explorer": name, "control": control.description, "moved": before[controls.index(control)] != control.value,
                "figure": figure(output) is not None, "new_figure": figure(output) not in (None, previous),
                "others_unchanged": all(b == c.value for b, c in zip(before, controls) if c is not control),
                "values": [repr(c.value) for c in controls], "notes": [n.value for n in notes],
                "text": [o.get("text", "") for o in output.outputs]})
"""


def kernel_cells():
    cells = [SETUP, "built = {}"]
    for name, sizes in EXPLORERS.items():
        cells.append(f"built[{name!r}] = explorers.{name}({sizes})\nbuilt[{name!r}]")  # displayed as a widget
    cells.append("""
log = []
for name, explorer in built.items():
    controls, notes, output = parts(explorer)
    log.append({"explorer": name, "control": "(built)", "figure": figure(output) is not None, "moved": False})
    for control in controls:
        for target in targets(control):
            move(explorer, name, control, target, log)
share_c, share_gc = parts(built["pair_wald_explorer"])[0][:2]
move(built["pair_wald_explorer"], "pair_wald_explorer", share_c, 75, log)
move(built["pair_wald_explorer"], "pair_wald_explorer", share_gc, 100, log)  # beyond what the compliers leave
share_ss = parts(built["bounds_explorer"])[0][0]
share_ss.max = 50  # past the slider's own end: more SS pairs than the 40% of CC pairs they replace
move(built["bounds_explorer"], "refused", share_ss, 50, log)
move(built["bounds_explorer"], "bounds_explorer", share_ss, 20, log)  # and back to a design that exists
share_ss.max = 40
print(json.dumps(log))""")
    return cells


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    "The notebook of kernel_cells, run in a fresh python3 kernel with Jupyter's inline matplotlib backend."
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in kernel_cells()])
        NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True,
                       resources={"metadata": {"path": str(tmp_path_factory.mktemp("widgets"))}}).execute()
    return nb


@pytest.fixture(scope="module")
def log(executed):
    return json.loads("".join(o["text"] for o in executed.cells[-1].outputs if o.get("name") == "stdout"))


def test_every_explorer_displays_as_a_widget_and_no_figure_escapes(executed):
    errors = [o for cell in executed.cells for o in cell.outputs if o.output_type == "error"]
    assert not errors, errors
    for cell in executed.cells[2:2 + len(EXPLORERS)]:
        kinds = [set(o.get("data", {})) for o in cell.outputs]
        assert kinds and all("application/vnd.jupyter.widget-view+json" in k for k in kinds), (cell.source, kinds)
    outside = [cell.source[:40] for cell in executed.cells for o in cell.outputs if "image/png" in o.get("data", {})]
    assert not outside, f"figures under cells instead of inside the widgets: {outside}"


def test_every_control_moves_and_every_move_redraws_inside_the_widget(log):
    assert {entry["explorer"] for entry in log if entry["control"] == "(built)" and entry["figure"]} == set(EXPLORERS)
    moves = [entry for entry in log if entry["moved"] and entry["explorer"] in EXPLORERS]
    for name in EXPLORERS:  # every control of every explorer made at least one real move
        controls = {e["control"] for e in log if e["explorer"] == name and e["control"] != "(built)"}
        assert controls and controls == {e["control"] for e in moves if e["explorer"] == name}, name
    assert len(moves) >= 14
    failed = [e for e in moves if not (e["figure"] and e["new_figure"] and e["others_unchanged"])]
    assert not failed, failed


def test_the_figures_are_pngs_a_front_end_receives(executed):
    "nbclient keeps the widget state a front end is sent: each explorer's Output model holds a PNG."
    state = executed.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    pngs = [o["data"]["image/png"] for model in state.values() if model["model_name"] == "OutputModel"
            for o in model["state"].get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(pngs) == len(EXPLORERS)
    assert all(base64.b64decode(png).startswith(b"\x89PNG\r\n\x1a\n") for png in pngs)


def test_complier_shares_cannot_pass_100_percent(log):
    pairs = [e for e in log if e["explorer"] == "pair_wald_explorer" and e["control"] != "(built)"]
    for entry in pairs:
        share_c, share_gc = (int(v) for v in entry["values"][:2])
        assert share_c + share_gc <= 100, entry
        assert f"<b>{100 - share_c - share_gc}%</b>" in entry["notes"][0], entry  # the rest, shown read-only
    pushed = pairs[-1]  # GC asked for 100% with C at 75%: it stops at the 25% the compliers leave
    assert pushed["values"][:2] == ["75", "25"] and pushed["figure"]


def test_social_complier_share_shows_the_complier_pairs_left(log):
    for entry in (e for e in log if e["explorer"] == "bounds_explorer" and e["control"] != "(built)"):
        assert f"<b>{40 - int(entry['values'][0])}%</b>" in entry["notes"][0], entry


def test_a_refused_design_is_explained_in_place_of_the_figure(log):
    "A design the library refuses (its ValueError) shows as a sentence inside the widget, not a traceback or a figure."
    refused = [e for e in log if e["explorer"] == "refused"]
    assert len(refused) == 1 and refused[0]["moved"] and not refused[0]["figure"]
    assert refused[0]["text"][0].startswith("No figure for this design") and "choose 0 to 0.4" in refused[0]["text"][0]
