"""The documentation site in a real browser: build it offline (scripts/build_docs.py), serve it on localhost, open
every page in headless Chromium and check that it loads with no console errors, that every internal link resolves,
and that every figure shows; screenshots of the home page and one result page go to build/screenshots/ for review.

`make test` skips it, saying why, where Chromium or KaTeX is missing; `make test-site` and CI (IVSPILL_REQUIRE_SITE=1)
run it and fail instead."""
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "nbs" / "_site"
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
KATEX = ROOT / ".venv" / "katex" / "package" / "dist"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _what_is_missing() -> str | None:
    "Why the site cannot be built and opened here, or None."
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (dev extra)"
    if not CHROMIUM: return "chromium is not installed (Debian package `chromium`); `make test-site` runs this test"
    if not KATEX.exists(): return "KaTeX is not unpacked (it comes from the npm registry): `make test-site` fetches it"
    return None


@pytest.fixture(scope="module")
def site_url():
    missing = _what_is_missing()
    if missing:
        if os.environ.get("IVSPILL_REQUIRE_SITE"): pytest.fail(f"the browser test must run here: {missing}")
        pytest.skip(missing)
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_docs.py")], check=True)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    handler = functools.partial(Quiet, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response: return response.status
    except urllib.error.HTTPError as e:
        return e.code


def test_every_page_in_chromium(site_url):
    from playwright.sync_api import sync_playwright
    pages = sorted(str(p.relative_to(SITE)) for p in SITE.rglob("*.html") if "site_libs" not in p.parts)
    assert {"index.html", "01_late.html", "05_bounds.html", "api/core.html", "tutorials/star_multisite.html"} <= set(pages)
    problems, links, n_images = [], set(), 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"failed request {r.url}"))
        page.on("response", lambda r: errors.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None)
        for name in pages:
            errors.clear()
            response = page.goto(site_url + name, wait_until="load")
            if response is None or response.status != 200: problems.append(f"{name}: HTTP {response and response.status}")
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.src, e.complete && e.naturalWidth > 0])")
            n_images += len(images)
            problems += [f"{name}: figure not shown {src}" for src, ok in images if not ok]
            links |= set(page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"))
            problems += [f"{name}: console: {e}" for e in errors]
            if name in ("index.html", "05_bounds.html"):
                page.screenshot(path=str(SHOTS / name.replace(".html", ".png")), full_page=False)
        browser.close()
    internal = {urldefrag(u)[0] for u in links if urlparse(u).netloc == urlparse(site_url).netloc}
    problems += [f"broken link {u}: HTTP {s}" for u in sorted(internal) if (s := _status(u)) != 200]
    assert not problems, "\n".join(problems)
    assert n_images >= 20, f"only {n_images} figures on the whole site"
    assert (SHOTS / "index.png").stat().st_size > 10_000 and (SHOTS / "05_bounds.png").stat().st_size > 10_000
