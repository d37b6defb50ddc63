# The project's commands. `make demo` and `make test` each set everything up first (scripts/setup.sh).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Rerun analytics off and no user config touched: every tool run here gets its own config folders.
export XDG_CONFIG_HOME := $(CURDIR)/$(VENV)/.config
export XDG_DATA_HOME := $(CURDIR)/$(VENV)/.local
XVFB := xvfb-run -a -s "-screen 0 1920x1080x24"

.PHONY: setup demo test lint typecheck pytest fuzz bench clean

setup:
	bash scripts/setup.sh

demo: setup
	$(PY) -m rerun_bridge.demo --out demo_output

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

pytest: setup
	$(XVFB) $(PY) -m pytest -n 2 --dist loadgroup -q

test: lint typecheck pytest

# The fuzz tests with many more examples than the suite runs (docs/reliability.md).
fuzz: setup
	HYPOTHESIS_PROFILE=thorough $(PY) -m pytest -n 2 -q -p no:cacheprovider test/fuzz

bench: setup
	$(PY) bench/convert.py

clean:
	rm -rf demo_output .pytest_cache .mypy_cache .ruff_cache build *.egg-info
