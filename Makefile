# Two entry points for a fresh machine with only Python and make:
#   make run   composes #324, builds the web archive and sends #324 to a local sink
#   make test  runs the whole suite (what CI runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint golden bench mutate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# For `make run` only: a clearly fake signing key so the demo needs no setup. Real sends
# take WEEKLY_SECRET from the environment and refuse to start without one.
DEMO_SECRET := demo-secret-for-make-run-only-never-for-real-subscribers

# The demo starts from an empty outbox and ledger each time: this folder's relay is the
# local sink, so its .weekly/ only ever records demo sends.
run: $(STAMP)
	$(BIN)/weekly compose 324
	$(BIN)/weekly archive
	@rm -rf .weekly/outbox .weekly/ledger.sqlite*
	@mkdir -p .weekly
	@$(BIN)/weekly sink 2> .weekly/sink.log & sink=$$!; \
	trap 'kill $$sink 2>/dev/null' EXIT; \
	for i in $$(seq 50); do grep -q "weekly sink on" .weekly/sink.log && break; sleep 0.1; done; \
	kill -0 $$sink 2>/dev/null || { cat .weekly/sink.log; exit 1; }; \
	WEEKLY_SECRET=$(DEMO_SECRET) $(BIN)/weekly send 324 --list subscribers.example.csv --yes; \
	status=$$?; kill $$sink; wait $$sink 2>/dev/null; \
	echo "The messages are in .weekly/outbox/new/ ($$(ls .weekly/outbox/new | wc -l) files," \
		"one per delivery; the ledger is .weekly/ledger.sqlite: weekly status 324)"; \
	exit $$status

# pytest runs under coverage (branch, subprocesses too: [tool.coverage] in pyproject.toml),
# then the branch coverage of each package is printed and held to its floor.
test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	@rm -rf .coverage-data
	$(BIN)/coverage run -m pytest
	@$(BIN)/coverage combine -q
	$(BIN)/python .ci/coverage_floor.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# Rewrite the golden files under tests/golden/ from the current templates.
golden: $(STAMP)
	WEEKLY_UPDATE_GOLDEN=1 WEEKLY_GOLDEN_VIA_MAKE=1 $(BIN)/python -m pytest tests/test_golden.py tests/test_archive_golden.py

bench: $(STAMP)
	$(BIN)/python bench/compose.py
	$(BIN)/python bench/archive.py
	$(BIN)/python bench/dkim_sign.py
	$(BIN)/python bench/send.py

# Mutation testing, not part of `make test`: mutmut runs each mutant of deliver, store,
# audience and web against the tests of its module that reach it (pyproject.toml
# [tool.weekly.mutation]), with one PostgreSQL cluster for all its runs; then
# docs/mutation.md gets the scores. MUTANTS picks a subset by mutant name:
#   make mutate MUTANTS='weekly.deliver.outcomes*'
# CHILDREN is how many mutants run at once (8 unless given: .ci/mutate.py); more than the
# cores pays while mutants that hang wait out their bound using no CPU.
MUTANTS ?=
CHILDREN ?=
mutate: $(STAMP)
	MUTATE_CHILDREN=$(CHILDREN) $(BIN)/python .ci/mutate.py $(foreach name,$(MUTANTS),'$(name)')

clean:
	rm -rf $(VENV) build site .weekly .coverage-data mutants
