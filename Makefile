# valetkey: `make demo` runs the whole system on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit chromium bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/valetkey demo

# Debian's Chromium for the browser tests (Playwright drives it; nothing is downloaded outside the registries).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "WARNING: could not install chromium"; \
	else echo "WARNING: /usr/bin/chromium is missing; run 'sudo apt-get install -y chromium' (browser tests will say they were skipped)"; fi

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)

typecheck: $(STAMP)
	$(BIN)/mypy src

test: $(STAMP) chromium lint typecheck
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# valetkey lab: its tests, then valetkey's client, openid-client, oauth4webapi and Authlib through
# every fault, their real results written into docs/lab.md (the npm clients install on first use).
.PHONY: lab
lab: $(STAMP)
	$(BIN)/pytest -q tests/lab tests/test_architecture.py
	$(BIN)/python -m tests.lab.publish
