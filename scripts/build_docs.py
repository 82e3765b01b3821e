"""Build the documentation site offline from nbs/_quarto.yml with smalldocs (Quarto cannot be installed here):
the API reference pages, the "Does ivspill match ...?" page (nbs/parity.qmd, computed by scripts/parity.py from
the same comparisons that tests/test_parity.py asserts), the site, and KaTeX served from the site itself instead of a
CDN.

    python scripts/build_docs.py            # writes nbs/_site; open nbs/_site/index.html or serve the folder
    python scripts/build_docs.py --keep-parity   # reuse nbs/parity.qmd as it is (faster; its test checks it)
    python scripts/build_docs.py --pages-only    # write the generated pages only (then Quarto can render the site)

KaTeX (MIT licence) comes from the npm registry: `make docs` (or `make test-site`) unpacks it into .venv/katex.
"""
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE_DIR, OUT = ROOT / "nbs", ROOT / "nbs" / "_site"
KATEX_CDN = "https://cdn.jsdelivr.net/npm/katex@0.16.11/dist"
KATEX_LOCAL = ROOT / ".venv" / "katex" / "package" / "dist"


def smalldocs(*args):
    "Run the smalldocs command of this environment; stop on failure."
    subprocess.run([str(Path(sys.executable).with_name("smalldocs")), *args], check=True)


LESSONS = {"core": "00_core.ipynb", "late": "01_late.ipynb", "targeting": "02_targeting.ipynb",
           "pairs": "03_pairs.ipynb", "interference": "04_interference.ipynb", "bounds": "05_bounds.ipynb"}


def task_groups() -> list[tuple[str, list[str]]]:
    "The top-level names as `ivspill/__init__.py` groups them in `__all__`, one comment line per task; modules left out."
    import ivspill
    block = (ROOT / "ivspill" / "__init__.py").read_text(encoding="utf-8").split("__all__ = [", 1)[1].split("]", 1)[0]
    groups = []
    for line in map(str.strip, block.splitlines()):
        if line.startswith("#"): groups.append((line.lstrip("# "), []))
        elif line and groups: groups[-1][1].extend(re.findall(r'"(\w+)"', line))
    groups = [(task, [n for n in names if not inspect.ismodule(getattr(ivspill, n))]) for task, names in groups]
    return [(task, names) for task, names in groups if names]


def summary(obj, width: int = 200) -> str:
    "The first sentence of a docstring (abbreviations such as `Prop.` kept), on one line, at most `width` characters."
    text = " ".join((inspect.getdoc(obj) or "").split("\n\n")[0].split())
    text = re.split(r"(?<!Prop)(?<!Cor)(?<!Eq)(?<!e\.g)(?<!i\.e)(?<!Thm)(?<!Fig)\.\s", text, maxsplit=1)[0].rstrip(".")
    if len(text) > width: text = text[:width].rsplit(" ", 1)[0] + " …"
    return text.replace("|", "\\|")


def write_api_index() -> Path:
    """The API reference's front page, api/index.qmd: the functions a user needs first grouped by task, each with its
    one-line summary and links to its reference entry and to the lesson that teaches it with a worked example."""
    import ivspill
    out = ["---", 'title: "API by task"', "---", "",
           "The names `from ivspill import ...` gives, grouped by the task they do; each links to its reference entry "
           "(signature, parameters, returns). Every estimator takes a data frame, then keyword-only column names, and "
           "returns a member of the result family. Worked examples: the [Quickstart](../quickstart.ipynb) (one per "
           "paper, ten lines each) and the lesson of each module.", ""]
    for task, names in task_groups():
        modules = sorted({getattr(ivspill, n).__module__.split(".")[-1] for n in names})
        lessons = ", ".join(f"[{m}](../{LESSONS[m]})" for m in modules if m in LESSONS)
        out += [f"## {task[0].upper() + task[1:]}", "", f"Lesson with examples: {lessons}." if lessons else "", "",
                "| name | what it does |", "|---|---|"]
        for name in names:
            obj = getattr(ivspill, name)
            page = obj.__module__.split(".")[-1]
            out.append(f"| [`{name}`]({page}.qmd#{name}) | {summary(obj)} |")
        out.append("")
    path = SITE_DIR / "api" / "index.qmd"
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def vendor_katex():
    "Copy KaTeX into the site and point every page at it, with the relative path of the page's depth."
    if not KATEX_LOCAL.exists():
        sys.exit(f"KaTeX not found at {KATEX_LOCAL}: run `make docs` (it unpacks KaTeX from the npm registry)")
    shutil.copytree(KATEX_LOCAL, OUT / "site_libs" / "katex", dirs_exist_ok=True)
    for page in OUT.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if KATEX_CDN in text:
            offset = "../" * (len(page.relative_to(OUT).parts) - 1)
            page.write_text(text.replace(KATEX_CDN, f"{offset}site_libs/katex"), encoding="utf-8")


def main():
    if "--keep-parity" not in sys.argv or not (SITE_DIR / "parity.qmd").exists():
        sys.path.insert(0, str(ROOT / "scripts"))
        import parity
        print("wrote", parity.write_page())
    smalldocs("api", "build", "--dir", str(SITE_DIR))
    write_api_index()
    if "--pages-only" in sys.argv: return
    smalldocs("render", "--quiet", str(SITE_DIR))
    vendor_katex()
    print(f"site written to {OUT}")


if __name__ == "__main__":
    main()
