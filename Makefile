# valetkey: `make demo` runs the whole system on SQLite; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit chromium bench clean fuzz soak test-uvicorn-latest

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

# The fuzz suite for longer: random seeds, 3,000 examples per property, no known failure set aside
# (VALETKEY_FUZZ=explore keeps them aside to look for new ones; VALETKEY_FUZZ_EXAMPLES=N).
fuzz: $(STAMP)
	VALETKEY_FUZZ=$${VALETKEY_FUZZ:-long} $(BIN)/pytest -m fuzz

# The fault suite for longer: a 30-second database outage under load, ten kill -9 restarts.
soak: $(STAMP)
	VALETKEY_SOAK=1 $(BIN)/pytest -m faults

bench: $(STAMP)
	$(BIN)/python -m bench

# The scheduled check (weekly, and before moving the pin): `valetkey serve`'s HTTP protocol
# (valetkey.runtime) builds on uvicorn's httptools protocol classes, which are not public API, so
# pyproject.toml pins uvicorn to the minor release it is tested with. This installs the project with
# uvicorn's newest release, unpinned, in a throwaway virtualenv and runs the tests that drive that
# protocol. It fails when a new release breaks it; docs/runtime.md says what to do then.
test-uvicorn-latest:
	@set -e; venv=$$(mktemp -d); trap 'rm -rf "$$venv"' EXIT; \
	$(PYTHON) -m venv "$$venv"; \
	"$$venv/bin/pip" install --quiet -e '.[dev]'; \
	"$$venv/bin/pip" install --quiet --upgrade uvicorn 2>&1 | grep -v "incompatible" || true; \
	"$$venv/bin/python" -c 'import uvicorn; print("testing the lean path on uvicorn", uvicorn.__version__)'; \
	"$$venv/bin/pytest" -q tests/server tests/lifecycle tests/e2e

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# valetkey lab: its tests, then valetkey's client, openid-client, oauth4webapi and Authlib through
# every fault, their real results written into docs/lab.md (the npm clients install on first use).
.PHONY: lab
lab: $(STAMP)
	$(BIN)/pytest -q tests/lab tests/test_architecture.py
	$(BIN)/python -m tests.lab.publish
