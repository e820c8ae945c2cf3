# fieldsync — every target sets up what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
MUTATION_STAMP := $(VENV)/.installed-mutation
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test test-sqlite test-postgres soak bench mutation openapi generate clean

# The console's browser tests drive Debian's Chromium (tests/test_console_browser.py): it and
# the CJK fonts come from apt when missing and we may (root, apt-get); else those tests skip.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@if ! dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk \
	      || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk) \
	      || echo "apt-get could not install chromium and fonts-noto-cjk: the browser tests will skip"; \
	  else \
	    echo "chromium or fonts-noto-cjk missing and apt-get not usable here: the browser tests will skip"; \
	  fi; \
	fi
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/fieldsync db upgrade
	$(BIN)/fieldsync demo
	$(BIN)/fieldsync serve --host 127.0.0.1 --port 8000

# The two halves run side by side, one per core; each writes its own log, shown when
# both are done, and the target fails when either half does. The browser tests' screenshots
# (a folder per test) are kept in .test-logs/screenshots/<database>, the last run's only.
SHOTS := $(CURDIR)/.test-logs/screenshots
test: $(STAMP)
	@rm -rf $(SHOTS); mkdir -p .test-logs; \
	FIELDSYNC_SCREENSHOTS=$(SHOTS)/sqlite $(BIN)/python -m pytest -q -p no:cacheprovider \
		> .test-logs/sqlite.log 2>&1 & sqlite=$$!; \
	FIELDSYNC_SCREENSHOTS=$(SHOTS)/postgres FIELDSYNC_TEST_DATABASE_URL=$(PG_TEST_URL) \
		$(BIN)/python -m pytest -q -p no:cacheprovider > .test-logs/postgres.log 2>&1 & postgres=$$!; \
	failed=0; wait $$sqlite || failed=1; wait $$postgres || failed=1; \
	echo "== make test on SQLite"; cat .test-logs/sqlite.log; \
	echo "== make test on PostgreSQL"; cat .test-logs/postgres.log; \
	echo "== screenshots of the console's pages: $(SHOTS)"; \
	exit $$failed

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest -q

test-postgres: $(STAMP)
	FIELDSYNC_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

# Every benchmark in one process run; writes bench/RESULTS.md (see bench/README.md).
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

# The long runs (tests marked soak) at full size, on SQLite and on PostgreSQL.
soak: $(STAMP)
	FIELDSYNC_SOAK=1 $(BIN)/python -m pytest -q -p no:cacheprovider -m soak
	FIELDSYNC_SOAK=1 FIELDSYNC_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q -p no:cacheprovider -m soak

$(MUTATION_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,mutation]'
	touch $(MUTATION_STAMP)

# Mutation run over sync/rules, server/authz.py, server/scopes.py and server/domain with
# the fast tests ([tool.mutmut] in pyproject.toml), one child process; lists the
# surviving mutants (docs/sync-invariants.md, "Mutation testing"). Resumes where the last
# run stopped (mutants/); MUTANTS='sync.rules.*' narrows it, rm -rf mutants starts afresh.
MUTANTS ?=
mutation: $(MUTATION_STAMP)
	$(BIN)/mutmut run --max-children 1 $(MUTANTS)
	$(BIN)/mutmut results

openapi: $(STAMP)
	$(BIN)/fieldsync openapi write openapi.yaml

# Every generated file a test checks fresh: openapi.yaml, docs/entities.md, client_schema/sql/.
generate: openapi
	$(BIN)/fieldsync docs write docs/entities.md
	$(BIN)/fieldsync client-schema write client_schema/sql

clean:
	rm -rf $(VENV) instance .pytest_cache mutants
