# lossviz: `make run` runs the course at PROFILE (default quick); `make test` runs all tests.
PROFILE ?= quick
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test test-fast bench clean-runs

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m lossviz.runner --profile $(PROFILE)

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
