#!/usr/bin/env bash
# make setup: a working local stack from a fresh clone. Idempotent, and fast when already done:
# each step leaves a stamp keyed by the hash of what it installed from.
# Any failure prints ONE line that names what is missing and how to fix it.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "setup: $*" >&2; exit 1; }

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || fail "Python 3.11 not found ($PYTHON): install python3.11, or set PYTHON=/path/to/python3.11"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || fail "$PYTHON is not Python 3.11: set PYTHON=/path/to/python3.11"
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || fail "$PYTHON lacks venv/ensurepip: apt-get install python3.11-venv"

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
command -v "$JAVA" >/dev/null 2>&1 || fail "java not found: install Java 17+ (apt-get install openjdk-17-jdk-headless) or set JAVA_HOME"
JAVA_MAJOR=$("$JAVA" -version 2>&1 | sed -nE 's/.*version "([0-9]+).*/\1/p' | head -1)
[ "${JAVA_MAJOR:-0}" -ge 17 ] || fail "Java $JAVA_MAJOR found, Spark 4 needs Java 17+: install it or set JAVA_HOME"

mkdir -p .cache
stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
digest() { cat "$@" | sha256sum | cut -d' ' -f1; }

# 1. Python environment with the pinned packages.
PY_DIGEST=$(digest requirements.lock pyproject.toml)
if ! stamp_ok .venv/.setup-stamp "$PY_DIGEST"; then
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv || fail "could not create .venv with $PYTHON"
  echo "setup: installing pinned Python packages into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock >.cache/setup-pip.log 2>&1 \
    || fail "pip could not install requirements.lock ($(grep -m1 -iE 'error|could not' .cache/setup-pip.log)): is the package registry (PyPI or PIP_INDEX_URL) reachable? Log: .cache/setup-pip.log"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . >>.cache/setup-pip.log 2>&1 \
    || fail "pip could not install this project in editable mode: see .cache/setup-pip.log"
  echo "$PY_DIGEST" > .venv/.setup-stamp
fi

# 2. JVM jars, resolved once from Maven Central into .cache/jars (no resolution at session start).
# localdlt.jars prints its own one-line reason on failure.
.venv/bin/python -m localdlt.jars fetch jars/spark.txt --into .cache/jars/spark --intransitive --ivy-cache .cache/ivy >/dev/null 2>.cache/setup-jars.log \
  || fail "$(tail -1 .cache/setup-jars.log)"
.venv/bin/python -m localdlt.jars fetch jars/kafka-broker.txt --into .cache/jars/kafka-broker --ivy-cache .cache/ivy >/dev/null 2>.cache/setup-jars.log \
  || fail "$(tail -1 .cache/setup-jars.log)"
echo "setup: ready (.venv, .cache/jars)"
