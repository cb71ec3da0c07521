# ione: `make demo` and `make test` set everything up on first use (a .venv with the project and
# its extras, reinstalled whenever pyproject.toml changes) and then do their job.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PYTEST_ARGS ?=

.PHONY: demo test test-slow lint format bench clean help

help:
	@echo "make demo       run the 2020 brain-memristor-silicon experiment (three sites, ~90 s)"
	@echo "make test       lint, type-check and run the test suite (slow tests excluded)"
	@echo "make test-slow  run only the tests marked slow"
	@echo "make bench      run the benchmarks against the peers and print the tables"
	@echo "make format     format the code with ruff"
	@echo "make clean      remove the virtual environment and caches"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# One stamp per set of extras; each is rebuilt when pyproject.toml is newer than it.
$(VENV)/.stamp-base: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.stamp-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

$(VENV)/.stamp-bench: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@touch $@

# The 2020 experiment: three sites as three processes, linked through emulated internet paths;
# prints the per-phase table and writes the run folder with report.html
# (examples/runs/serb2020/...). `ione demo` still shows the wire alone.
demo: $(VENV)/.stamp-base
	$(BIN)/ione run examples/serb2020.toml

lint: $(VENV)/.stamp-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: $(VENV)/.stamp-test
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# pytest exits 5 when it collected no tests: that is a broken suite, not a pass.
test: lint
	@$(PY) -m pytest $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$code

test-slow: $(VENV)/.stamp-test
	@$(PY) -m pytest -m slow $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "no slow tests collected" >&2; exit 1; fi; exit $$code

bench: $(VENV)/.stamp-bench
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
