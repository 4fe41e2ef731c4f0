# The two commands of the README: `make run` (demo server) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BIND   ?= 127.0.0.1:8000

.PHONY: run test install lint typecheck pytest bench fuzz clean ui-deps i18n

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

## make test: venv, install, lint, format check, mypy on rules/, the browser for the UI tests, then pytest
test: install lint typecheck ui-deps pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy rules/

## the suite in $(PYTEST_WORKERS) processes (pytest-xdist), the tests of one file together in one
## of them (their module fixtures and order kept); every test has its own databases, ports and
## temporary directories. On 2 cores: 18 min 40 s serially, 10–15 min in two (one file can finish alone).
PYTEST_WORKERS ?= 2
pytest: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

## make ui-deps: Debian's chromium and Korean fonts for the admin-UI browser tests (tests/ui/).
## Installed with apt-get when missing; where apt cannot (not root, no apt, no network) it says so
## loudly and the browser tests skip with the reason.
UI_DEBS := chromium fonts-nanum
ui-deps:
	@missing=""; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	test -d /usr/share/fonts/truetype/nanum || missing="$$missing fonts-nanum"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	echo "ui-deps: installing$$missing (apt-get)"; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	   && apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; then \
	  exit 0; \
	fi; \
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"; \
	echo "!!! ui-deps: could not apt-get install$$missing: the admin-UI BROWSER TESTS WILL BE SKIPPED"; \
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"

## make i18n: re-extract the admin UI's messages, merge them into the English catalogs (the main one and the
## department desk's), compile them
i18n: install
	$(BIN)/pybabel extract -F admin_ui/babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  --project seonbyeol -o $(VENV)/admin_ui_messages.pot .
	$(BIN)/pybabel update -i $(VENV)/admin_ui_messages.pot -d admin_ui/translations -l en --no-fuzzy-matching \
	  --ignore-obsolete
	$(BIN)/pybabel compile -d admin_ui/translations -l en --statistics
	$(BIN)/pybabel extract -F admin_ui/babel_desk.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  --project seonbyeol -o $(VENV)/admin_ui_desk_messages.pot .
	$(BIN)/pybabel update -i $(VENV)/admin_ui_desk_messages.pot -d admin_ui/translations_desk -l en \
	  --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d admin_ui/translations_desk -l en --statistics

## make bench: the five benchmarks (engine, evaluate + batch over HTTP, re-screening, import), each
## printing MEASURE lines with its baseline and ratio; about 12-15 minutes on 2 cores. Needs wrk
## (apt-get install wrk) and PostgreSQL at SEONBYEOL_BENCH_PG (default postgres@127.0.0.1:5432).
BENCH_IMPORT_ROWS ?= 1000000
BENCH_RESIDENTS   ?= 300000
bench: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check zen-engine==2.1.3 || true
	command -v wrk >/dev/null || (apt-get install -y -q wrk >/dev/null 2>&1 || true)
	@mkdir -p $(VENV)/bench
	$(BIN)/python tests/bench/bench_engine.py --count 1000000 | tee $(VENV)/bench/engine.txt
	$(BIN)/python tests/bench/bench_api.py --backend both --seconds 8 --runs 3 | tee $(VENV)/bench/api.txt
	SEONBYEOL_EVALUATE_AUDIT_COMMIT=fast $(BIN)/python tests/bench/bench_api.py --backend postgresql --only evaluate \
	  --seconds 8 --runs 3 | tee $(VENV)/bench/api-fast-commit.txt
	$(BIN)/python tests/bench/bench_rescreen.py --residents $(BENCH_RESIDENTS) | tee $(VENV)/bench/rescreen.txt
	$(BIN)/python tests/bench/bench_import.py --rows $(BENCH_IMPORT_ROWS) --backend both --keep-csv $(VENV)/bench/residents.csv | tee $(VENV)/bench/import.txt
	@echo; echo "=== all measures ==="; grep -h '^MEASURE' $(VENV)/bench/*.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

## make fuzz: the larger schemathesis campaign (recorded in SECURITY.md): in process on SQLite and
## PostgreSQL with admin, department and nominator tokens (40 examples per operation and role, over
## 2,000 requests per backend), then `schemathesis run --checks all` against a live demo server per role
fuzz: install
	SEONBYEOL_FUZZ_EXAMPLES=$${SEONBYEOL_FUZZ_EXAMPLES:-40} $(BIN)/python -m pytest tests/api/test_fuzz_openapi.py -s -q
	$(BIN)/python tests/security/fuzz_live.py --examples $${SEONBYEOL_FUZZ_LIVE_EXAMPLES:-12}
