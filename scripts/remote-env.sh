#!/usr/bin/env bash
# make test-remote: the transform tests on a Databricks workspace through Databricks Connect.
#
# Databricks Connect ships its own pyspark and delta packages and must never share an environment
# with pyspark, so it lives in its own venv, .venv-remote (built from requirements-remote.txt; this
# project is installed into it without its dependencies, which would pull pyspark back in).
# With no workspace configured it prints why and exits 0 (skipped), before installing anything.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
VENV=.venv-remote
CONFIG_FILE="${DATABRICKS_CONFIG_FILE:-$HOME/.databrickscfg}"

skip() { echo "test-remote: SKIPPED: $*"; exit 0; }
fail() { echo "test-remote: $*" >&2; exit 1; }

# 1. A workspace: DATABRICKS_HOST, a chosen profile, or a DEFAULT profile (the SDK's own order).
if [ -z "${DATABRICKS_HOST:-}" ] && [ -z "${DATABRICKS_CONFIG_PROFILE:-}" ] \
   && ! grep -qs '^\[DEFAULT\]' "$CONFIG_FILE"; then
  skip "no Databricks workspace configured: set DATABRICKS_HOST (+ DATABRICKS_TOKEN), or DATABRICKS_CONFIG_PROFILE, or a [DEFAULT] profile in $CONFIG_FILE"
fi

# 2. The separate environment, rebuilt when requirements-remote.txt or pyproject.toml change.
command -v "$PYTHON" >/dev/null 2>&1 || fail "Python 3.11 not found ($PYTHON): set PYTHON=/path/to/python3.11"
DIGEST=$(cat requirements-remote.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$VENV/.remote-stamp" 2>/dev/null)" != "$DIGEST" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV" || fail "could not create $VENV with $PYTHON"
  echo "test-remote: installing requirements-remote.txt into $VENV"
  mkdir -p .cache
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-remote.txt \
    >.cache/remote-pip.log 2>&1 || fail "pip could not install requirements-remote.txt: see .cache/remote-pip.log"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . \
    >>.cache/remote-pip.log 2>&1 || fail "pip could not install this project into $VENV: see .cache/remote-pip.log"
  echo "$DIGEST" > "$VENV/.remote-stamp"
fi

# 3. Guard: pyspark must come from databricks-connect, never from a pyspark distribution.
"$VENV/bin/python" - <<'PY' || fail "$VENV has a pyspark or delta-spark distribution beside databricks-connect: delete $VENV and rerun"
import importlib.metadata as md
names = {d.metadata["Name"].lower() for d in md.distributions()}
raise SystemExit(1 if names & {"pyspark", "delta-spark", "pyspark-connect"} else 0)
PY

# 4. The tests. --confcutdir keeps tests/conftest.py (the local Spark + Kafka fixtures) out.
exec "$VENV/bin/python" -m pytest tests/remote --confcutdir=tests/remote -p no:cacheprovider "$@"
