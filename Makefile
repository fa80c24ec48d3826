# lossviz: `make run` runs the course at PROFILE (default quick) into runs/; `make test` runs all tests;
# `make publish` refreshes the outputs committed in notebooks/.
PROFILE ?= quick
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run publish test test-fast bench clean-runs

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m lossviz.runner --profile $(PROFILE)

# re-execute notebooks/ in place at the quick profile, so the committed notebooks show real outputs
publish: $(STAMP)
	$(PY) -m lossviz.publish

test: $(STAMP)
	$(PY) -m pytest -q tests

test-fast: $(STAMP)
	$(PY) -m pytest -q tests -m "not notebooks"

bench: $(STAMP)
	$(PY) bench/train_throughput.py
	$(PY) bench/surface_throughput.py
	$(PY) bench/hessian.py

clean-runs:
	rm -rf runs
