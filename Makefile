# The two commands of the README:  `make run` (set up, index corpus/, open the chat) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: setup run test lint eval gate bench browser clean

setup: $(VENV)/.installed

# torch first: pip finds the CPU build of 2.13.0 on this machine's disk; unpinned it would pull CUDA.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: setup
	$(BIN)/assistant ingest
	$(BIN)/assistant serve

browser:
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Debian's chromium for the browser tests..."; \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null; }

lint: setup
	$(BIN)/ruff check assistant tests benchmarks
	$(BIN)/ruff format --check assistant tests benchmarks

test: setup browser lint
	$(BIN)/pytest -q

eval: setup
	$(BIN)/assistant eval --out eval-report

# CI's answer-quality gate: the test question set on the embedded model against the regression floor
# (eval/regression.yaml, the measured levels minus a margin); eval/thresholds.yaml holds the targets.
gate: setup
	$(BIN)/assistant eval --out eval-report --thresholds eval/regression.yaml

bench: setup
	$(BIN)/assistant bench --sizes 1000 --json bench.json

clean:
	rm -rf $(VENV) data eval-report test-artifacts
