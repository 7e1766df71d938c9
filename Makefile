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

test: setup
	@scripts/setup-browser.sh
	$(PY) -m pytest $(PYTEST_ARGS)

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

reliability: setup
	$(PY) -m pytest tests/reliability $(PYTEST_ARGS)

clean:
	rm -rf .cache/kafka demo-output spark-warehouse
