# fw: the two README commands are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test golden bench lint clean-lake

$(BIN)/fw: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/fw

setup: $(BIN)/fw

# Set up, fill the lake from the embedded synthetic default, run the main job.
demo: setup
	$(BIN)/fw demo

# The whole test suite (CI runs exactly this through .ci/run).
test: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

# Rewrite tests/cli/golden/demo.json from a fresh demo run (after a deliberate change of
# its numbers; review and commit the diff).
golden: setup
	FW_GOLDEN_UPDATE=1 $(BIN)/python -m pytest tests/cli/test_demo.py -q -rs -p no:cacheprovider

# Every benchmarks/bench_*.py in one run (issue 22's tables). bench_cold_start.py times
# `fw backtest` of the flagship on the demo lake and its trained model: filled once here.
data_lake/models: | $(BIN)/fw
	$(BIN)/fw demo

bench: setup data_lake/models
	$(BIN)/python benchmarks/run_all.py

lint: setup
	$(BIN)/ruff check framework live strategies tests benchmarks
