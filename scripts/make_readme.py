"""Write README.md from nbs/index.ipynb (nbdev's own `nbdev-readme` needs Quarto, which is not installed here):
markdown cells as they are, code cells fenced, text outputs and tables as they were saved; hidden cells left out."""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cell_markdown(cell) -> str:
    source = "".join(cell["source"])
    if cell["cell_type"] == "markdown": return source
    if source.lstrip().startswith("#| hide"): return ""
    parts = [f"```python\n{source}\n```"]
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "text/markdown" in data: parts.append("".join(data["text/markdown"]))
        elif "text/plain" in data: parts.append("```\n" + "".join(data["text/plain"]).rstrip() + "\n```")
        elif out.get("output_type") == "stream": parts.append("```\n" + "".join(out["text"]).rstrip() + "\n```")
    return "\n\n".join(parts)


def main():
    nb = json.loads((ROOT / "nbs" / "index.ipynb").read_text())
    blocks = [cell_markdown(c) for c in nb["cells"]]
    header = "<!-- Written by scripts/make_readme.py from nbs/index.ipynb: edit the notebook, not this file. -->\n\n"
    (ROOT / "README.md").write_text(header + "\n\n".join(b for b in blocks if b) + "\n")


if __name__ == "__main__":
    main()
