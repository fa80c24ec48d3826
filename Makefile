# lossviz: `make run` runs the course at PROFILE (default quick) into runs/; `make test` runs all tests (the
# browser tests need Chromium: `make browser`); skipped tests are listed with their reasons (pytest.ini: -rs);
# `make publish` refreshes the outputs committed in notebooks/; `make slides` builds the reveal.js decks.
PROFILE ?= quick
DEVICE ?= auto
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WEB_STAMP := web/node_modules/.installed
# headless Chromium and its driver for the browser tests (Debian's packages; elsewhere set both paths)
LOSSVIZ_CHROMIUM ?= /usr/bin/chromium
LOSSVIZ_CHROMEDRIVER ?= /usr/bin/chromedriver
export LOSSVIZ_CHROMIUM LOSSVIZ_CHROMEDRIVER
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
NO_BROWSER := the browser tests need $(LOSSVIZ_CHROMIUM) and $(LOSSVIZ_CHROMEDRIVER): 'make browser' installs them \
	(apt-get install chromium chromium-driver); elsewhere install Chromium and its chromedriver and set \
	LOSSVIZ_CHROMIUM and LOSSVIZ_CHROMEDRIVER; 'make test-fast' leaves the browser tests out

.PHONY: setup browser run publish slides check test test-fast bench clean-runs

# the Python packages, reveal.js and MathJax, and Chromium where apt-get can install it
setup: $(STAMP) $(WEB_STAMP)
	@$(MAKE) --no-print-directory browser || echo "make setup: all set up but Chromium, which only the browser tests need"

browser:
	@if [ -x "$(LOSSVIZ_CHROMIUM)" ] && [ -x "$(LOSSVIZ_CHROMEDRIVER)" ]; then \
		echo "browser tests: $(LOSSVIZ_CHROMIUM) and $(LOSSVIZ_CHROMEDRIVER)"; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "$(SUDO) apt-get install chromium chromium-driver (for the browser tests)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; \
	else echo "no apt-get here: $(NO_BROWSER)"; exit 1; fi

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
	@[ -x "$(LOSSVIZ_CHROMIUM)" ] && [ -x "$(LOSSVIZ_CHROMEDRIVER)" ] || { echo "make test: $(NO_BROWSER)"; exit 1; }
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
