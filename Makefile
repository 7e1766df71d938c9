# The two commands a fresh clone needs are `make demo` and `make test`; both run `make setup`.
SHELL := /bin/bash
PY := .venv/bin/python
KAFKA_PORT ?= 9092
DURATION ?=
DEMO_ARGS ?=
SOURCE ?= files
PYTEST_ARGS ?=

.PHONY: setup test test-remote demo kafka-up kafka-down bench reliability clean

setup:
	@scripts/setup.sh

# The reliability scenarios are too slow for the suite: `make test` deselects them and
# `make reliability` runs them (CI runs both). Test files run in parallel (pytest-xdist): one
# SparkSession per worker, each file on one worker (tests/conftest.py groups the files that
# must share one). One Spark JVM keeps ~1.4 of 2 cores busy; TEST_WORKERS=0 runs all in one process.
TEST_WORKERS ?= 2
test: setup
	@scripts/setup-browser.sh
	$(PY) -m pytest -m "not reliability" -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

demo: setup
	$(PY) -m orders_lakehouse.devstack.demo $(if $(DURATION),--duration $(DURATION)) --source $(SOURCE) $(DEMO_ARGS)

# Transform tests on a Databricks workspace through databricks-connect, in its own .venv-remote
# (never beside pyspark); skips with the reason when no workspace is configured.
test-remote:
	@scripts/remote-env.sh $(PYTEST_ARGS)

kafka-up: setup
	@$(PY) -m orders_lakehouse.devstack.kafka_broker up --port $(KAFKA_PORT)

kafka-down:
	@$(PY) -m orders_lakehouse.devstack.kafka_broker down

bench: setup
	$(PY) -m bench

# Fault injection (docs/RELIABILITY.md): kill -9 loops (files, Kafka), landing-folder hazards,
# storage faults (the full disk mounts a tmpfs, the unreadable file runs as user nobody: run as
# root), a standalone cluster. Scenario files run in parallel (each on one pytest-xdist worker).
# Ends with the ledger's one line: faults=N survived=N lost=0 duplicated=0 events_missing=0
RELIABILITY_WORKERS ?= 2
reliability: setup
	$(PY) -m pytest -m reliability -n $(RELIABILITY_WORKERS) --dist loadfile tests/reliability tests/cluster $(PYTEST_ARGS)

clean:
	rm -rf .cache/kafka demo-output spark-warehouse
