"""Build the documentation site offline from nbs/_quarto.yml with smalldocs (Quarto cannot be installed here):
the API reference pages, the site, and KaTeX served from the site itself instead of a CDN.

    python scripts/build_docs.py            # writes nbs/_site; open nbs/_site/index.html or serve the folder

KaTeX (MIT licence) comes from the npm registry: `make docs` (or `make test-site`) unpacks it into .venv/katex.
"""
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
    smalldocs("api", "build", "--dir", str(SITE_DIR))
    smalldocs("render", "--quiet", str(SITE_DIR))
    vendor_katex()
    print(f"site written to {OUT}")


if __name__ == "__main__":
    main()
