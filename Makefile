# The two commands of the README: `make run` (demo server) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BIND   ?= 127.0.0.1:8000

.PHONY: run test install lint typecheck pytest bench fuzz clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: venv, install, migrate, load the Seongdong-gu demo (once), serve on $(BIND)
run: install
	$(BIN)/seonbyeol init-db
	$(BIN)/seonbyeol demo
	$(BIN)/seonbyeol serve --bind $(BIND)

## make test: venv, install, lint, format check, mypy on rules/, then pytest
test: install lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy rules/

pytest: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python tests/bench/bench_engine.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

## make fuzz: the larger schemathesis campaign (recorded in SECURITY.md)
fuzz: install
	SEONBYEOL_FUZZ_EXAMPLES=$${SEONBYEOL_FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest tests/api/test_fuzz_openapi.py -s -q
