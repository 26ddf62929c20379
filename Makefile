# Two commands matter: `make run` (the whole service on the embedded default) and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/checkout)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/15)

.PHONY: run test install install-test install-bench bench check-services lint format schema clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt

install-test: $(BIN)/python
	$(BIN)/pip install -q -r requirements-test.txt

PORT ?= 8000

# web, one worker and one beat (Procfile) under honcho; Ctrl-C stops all three.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --port $(PORT)
	@# Ctrl-C is how this stops: honcho's 130 for it is success, any other status is not.
	WEB_PORT=$(PORT) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile; \
		status=$$?; [ $$status -eq 0 ] || [ $$status -eq 130 ] || exit $$status

install-bench: install
	$(BIN)/pip install -q -r requirements-bench.txt

# The service as in production (gunicorn, production settings, PostgreSQL, Redis) under wrk, next to the
# raw-SQL yardstick (../shared/bench, or its copy in bench/yardstick/) run by pgbench; needs `wrk` and `pgbench` (apt-get install wrk).
# Uses its own databases (checkout_bench, yardstick). BENCH_ARGS="--duration 5 --only a" for a short run.
bench: install-bench
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || \
		{ echo "make bench: needs wrk (apt-get install wrk)"; exit 1; }
	@$(MAKE) --no-print-directory check-services TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
	$(BIN)/python -m bench.run $(BENCH_ARGS)

check-services:
	@$(BIN)/python scripts/check_services.py "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"

test: install-test
	@$(MAKE) --no-print-directory check-services
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" DJANGO_SETTINGS_MODULE=config.settings.test \
		$(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# One suite at a time per machine: every clone's tests use the same test database and Redis db.
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" DJANGO_SETTINGS_MODULE=config.settings.test \
		flock --verbose /tmp/checkout-reservations-tests.lock $(BIN)/pytest --create-db $(PYTEST_ARGS)

lint:
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format:
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf var/db.sqlite3* var/exports var/broker var/celerybeat-schedule*
