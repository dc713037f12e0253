# Two entry points for a fresh machine with only Python and make:
#   make run   composes the newest example issue end to end and builds the web archive
#   make test  runs the whole suite (what CI runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint golden bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/weekly compose 324
	$(BIN)/weekly archive

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# Rewrite the golden files under tests/golden/ from the current templates.
golden: $(STAMP)
	WEEKLY_UPDATE_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden.py tests/test_archive_golden.py

bench: $(STAMP)
	$(BIN)/python bench/compose.py
	$(BIN)/python bench/archive.py
	$(BIN)/python bench/dkim_sign.py

clean:
	rm -rf $(VENV) build site .weekly
