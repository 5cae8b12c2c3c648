# The two commands of the README:  `make run` (set up, index corpus/, open the chat) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: setup run test lint eval gate bench browser clean

setup: $(VENV)/.installed

# Packages install with uv (from PyPI): the same pins as pip, in 21 s instead of 179 s on a fresh 2-core
# machine. uv does not read pip's configuration, so the indexes and wheel folders pip is set up with (here,
# this machine's local mirrors, which hold the CPU build of torch) are passed on. Should uv fail, pip installs.
pip_conf = $(shell $(PYTHON) -m pip config get global.$(1) 2>/dev/null)
UV_SOURCES = --index-strategy unsafe-best-match --native-tls \
  $(addprefix --index-url ,$(call pip_conf,index-url)) \
  $(addprefix --extra-index-url ,$(call pip_conf,extra-index-url)) \
  $(addprefix --find-links ,$(sort $(call pip_conf,find-links) $(PIP_FIND_LINKS)))

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(PY) $(UV_SOURCES) torch==2.13.0 -e '.[dev]' \
	  || $(PY) -m pip install --quiet torch==2.13.0 -e '.[dev]'
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
