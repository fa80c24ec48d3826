# lossviz: `make run` runs the course at PROFILE (default quick) into runs/; `make test` runs all tests;
# `make publish` refreshes the outputs committed in notebooks/; `make slides` builds the reveal.js decks.
PROFILE ?= quick
DEVICE ?= auto
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WEB_STAMP := web/node_modules/.installed

.PHONY: setup run publish slides check test test-fast bench clean-runs

setup: $(STAMP) $(WEB_STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-build-isolation -e ".[course,lab,dev]"
	touch $(STAMP)

# reveal.js and MathJax from the npm registry, copied beside the decks and pages so they work offline
$(WEB_STAMP): web/package.json
	cd web && npm install --no-package-lock --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

run: $(STAMP) $(WEB_STAMP)
	$(PY) -m lossviz.suite.runner --profile $(PROFILE) --device $(DEVICE)

# re-execute notebooks/ in place at the quick profile, so the committed notebooks show real outputs
publish: $(STAMP)
	$(PY) -m lossviz.suite.publish

# decks of the published notebooks into runs/published/slides, and of the run at PROFILE (if it was run)
slides: $(STAMP) $(WEB_STAMP)
	$(PY) -m lossviz.suite.slides build notebooks --out runs/published/slides
	@if ls runs/$(PROFILE)/[0-9][0-9]*_*.ipynb >/dev/null 2>&1; then \
		$(PY) -m lossviz.suite.slides build runs/$(PROFILE); \
	else echo "no executed notebooks in runs/$(PROFILE): 'make run PROFILE=$(PROFILE)' builds them and their decks"; fi

# the checks first (seconds): the house plan (ARCHITECTURE.md, .importlinter), lint, types; then every test
check: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check lossviz tests bench
	$(VENV)/bin/mypy

test: check $(WEB_STAMP)
	$(PY) -m pytest -q tests

test-fast: check $(WEB_STAMP)
	$(PY) -m pytest -q tests -m "not notebooks and not browser"

bench: $(STAMP)
	$(PY) bench/train_throughput.py
	$(PY) bench/surface_throughput.py
	$(PY) bench/hessian.py
	$(PY) bench/hessian_map.py
	$(PY) bench/test_log.py

clean-runs:
	rm -rf runs
