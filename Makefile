# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FAKE_GATEWAY_PORT ?= 9090
# The PostgreSQL server the suite also runs on; Django creates and drops its own test_* database there.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: run test test-sqlite test-postgres lint bench chaos clean chromium

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

run: $(BIN)/.installed
	$(BIN)/smsgate init --demo-gateway http://127.0.0.1:$(FAKE_GATEWAY_PORT)
	$(BIN)/smsgate run --fake-gateway $(FAKE_GATEWAY_PORT)

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

test: lint chromium test-sqlite test-postgres

# Browser tests drive Debian's chromium (Playwright's own browser download cannot be used here).
chromium:
	@command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

# Two passes per database: the bulk in parallel, then the timing-sensitive tests (which start worker
# processes and measure rates) alone, so they do not compete with the rest for the two cores.
PYTEST := $(BIN)/pytest -q -p no:cacheprovider

test-sqlite: $(BIN)/.installed
	SMSGATE_HOME=$(CURDIR)/var/test-sqlite $(PYTEST) -n 2 -m "not slow"
	SMSGATE_HOME=$(CURDIR)/var/test-sqlite $(PYTEST) -m slow

test-postgres: $(BIN)/.installed
	SMSGATE_HOME=$(CURDIR)/var/test-postgres DATABASE_URL=$(TEST_DATABASE_URL) $(PYTEST) -n 2 -m "not slow"
	SMSGATE_HOME=$(CURDIR)/var/test-postgres DATABASE_URL=$(TEST_DATABASE_URL) $(PYTEST) -m slow

# The big fault runs: 20,000 messages through SIGKILLed workers, then a 30-minute soak.
chaos: $(BIN)/.installed
	SMSGATE_HOME=$(CURDIR)/var/chaos DATABASE_URL=$(TEST_DATABASE_URL) CHAOS_SCALE=4 $(BIN)/pytest -q -s tests/test_chaos.py
	$(BIN)/python bench/soak.py --minutes 30

bench: $(BIN)/.installed
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
