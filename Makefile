# The two commands of the README: `make replicate` (the main job) and `make test` (the whole test suite).
# Both create the virtual environment and install ivspill with its extras on first use; they need only Python and
# make. KaTeX (from the npm registry) is fetched only by the documentation targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# the install stamp is named by pyproject.toml's content, not its time: nbdev-export rewrites the file unchanged
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
KATEX := $(VENV)/katex/package/dist

.PHONY: install replicate test test-slow test-site bench export docs docs-quarto

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,data,notebooks]"
	touch $(STAMP)

$(KATEX): | $(STAMP)
	@command -v npm >/dev/null || { echo "the documentation site needs npm (to fetch KaTeX from the npm registry)" >&2; exit 1; }
	cd $(VENV) && npm pack katex@0.16.11 --silent && mkdir -p katex && tar xzf katex-0.16.11.tgz -C katex

install: $(STAMP)

replicate: install  ## reproduce the papers' published numbers
	$(BIN)/ivspill-replicate

test: install  ## the whole default test suite: every notebook, cross-checks, property tests (and the site where it can)
	$(BIN)/pytest

test-slow: install  ## the long simulations marked slow
	$(BIN)/pytest -m slow

test-site: install $(KATEX)  ## the documentation site in headless Chromium (needs the Debian package chromium)
	IVSPILL_REQUIRE_SITE=1 $(BIN)/pytest tests/test_site.py

bench: install  ## benchmarks against the peers' fastest correct routes (single-threaded BLAS); tables in benchmarks/RESULTS.md
	$(BIN)/pip install --quiet -e ".[bench]"
	rm -f benchmarks/RESULTS.md
	cd benchmarks && for script in bench_*.py; do \
		OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 ../$(BIN)/python $$script || exit 1; done

export: install  ## notebooks -> package and README
	$(BIN)/nbdev-export
	$(BIN)/python scripts/make_readme.py

docs: install $(KATEX)  ## the documentation site, offline (smalldocs), into nbs/_site
	$(BIN)/python scripts/build_docs.py

docs-quarto: install  ## the same site with Quarto, where Quarto is installed
	$(BIN)/python scripts/build_docs.py --pages-only && $(BIN)/nbdev-docs
