# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/demo.sh

test: $(INSTALLED)
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Measured as users install it (not editable), in a venv of its own.
bench:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet --disable-pip-version-check '.[test]'
	.venv-bench/bin/python benchmarks/exec_overhead.py

clean:
	rm -rf $(VENV) .venv-bench *.egg-info .pytest_cache .ruff_cache
