# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test test-script lint bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/demo.sh

# Tests run in parallel (pytest-xdist): each has its own HOME, TMPDIR and emulator. ssoexec
# starts as a fork of a test process that has botocore and typer loaded (tests/spawn.py);
# `make test-script` runs every start through the installed script instead. Measured on this
# 2-core machine, forks: -n 3 122 s, -n 4 118 s, -n 5 118 s, -n 6 129 s, -n 8 133 s. JOBS=0:
# one process.
JOBS ?= 4

test: $(INSTALLED)
	$(BIN)/python -m pytest -n $(JOBS) --dist worksteal

test-script: $(INSTALLED)
	SSOEXEC_TEST_SCRIPT=1 $(BIN)/python -m pytest -n $(JOBS) --dist worksteal

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Measured as users install it (not editable), in a venv of its own.
bench:
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet --disable-pip-version-check '.[test]'
	# the same version number again: without this, a second run would measure the old code
	.venv-bench/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps .
	.venv-bench/bin/python benchmarks/exec_overhead.py

clean:
	rm -rf $(VENV) .venv-bench *.egg-info .pytest_cache .ruff_cache
