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

pytest: install
	$(BIN)/python -m pytest

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

## make i18n: re-extract the admin UI's messages, merge them into the English catalog, compile it
i18n: install
	$(BIN)/pybabel extract -F admin_ui/babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  --project seonbyeol -o $(VENV)/admin_ui_messages.pot .
	$(BIN)/pybabel update -i $(VENV)/admin_ui_messages.pot -d admin_ui/translations -l en --no-fuzzy-matching \
	  --ignore-obsolete
	$(BIN)/pybabel compile -d admin_ui/translations -l en --statistics

bench: install
	$(BIN)/python tests/bench/bench_engine.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

## make fuzz: the larger schemathesis campaign (recorded in SECURITY.md)
fuzz: install
	SEONBYEOL_FUZZ_EXAMPLES=$${SEONBYEOL_FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest tests/api/test_fuzz_openapi.py -s -q
