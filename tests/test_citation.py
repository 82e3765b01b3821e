"""How to cite ivspill: CITATION.cff names the software at its current version and the five papers it implements; the
README (written from nbs/index.ipynb) says which module implements which paper; the changelog has the current version
and is a page of the site."""
from pathlib import Path

import pytest

import ivspill

yaml = pytest.importorskip("yaml", reason="PyYAML reads CITATION.cff (it comes with the dev extra's smalldocs)")

ROOT = Path(__file__).resolve().parents[1]
PAPERS = {  # module: first author's family name, a word of the title
    "late": ("Reardon", "site-by-treatment"), "targeting": ("Lee", "targeting"), "pairs": ("Vazquez-Bare", "spillover"),
    "interference": ("Owusu", "interference"), "bounds": ("Nibbering", "interference"),
}


def test_citation_cff_names_the_software_and_the_five_papers():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["message"]
    assert str(cff["version"]) == ivspill.__version__ and cff["license"] == "Apache-2.0"
    references = {ref["authors"][0]["family-names"]: ref for ref in cff["references"]}
    assert len(cff["references"]) == 5
    for module, (author, word) in PAPERS.items():
        ref = references[author]
        assert word.lower() in ref["title"].lower() and f"ivspill.{module}" in ref["notes"] and ref["year"] >= 2013


def test_readme_says_how_to_cite_each_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How to cite", 1)[1].split("\n## ", 1)[0]
    assert "CITATION.cff" in section
    for module, (author, _) in PAPERS.items():
        row = next(line for line in section.splitlines() if line.startswith(f"| `ivspill.{module}` |"))
        assert author in row, module


def test_changelog_has_the_current_version_and_a_page():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert any(line.startswith("## ") and ivspill.__version__ in line for line in changelog.splitlines())
    assert "{{< include ../CHANGELOG.md >}}" in (ROOT / "nbs" / "changelog.qmd").read_text(encoding="utf-8")
