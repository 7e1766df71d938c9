"""Fixtures for the bundle tests: the official bundle JSON schema, made usable by Python's ``re``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from bundle_facts import SCHEMA_CANDIDATES
from jsonschema import Draft202012Validator


def _schema_path() -> Path | None:
    explicit = os.environ.get("BUNDLE_SCHEMA")
    if explicit:
        return Path(explicit)
    return next((p for p in SCHEMA_CANDIDATES if p.is_file()), None)


def translate_patterns(text: str) -> str:
    """The schema's interpolation patterns use ``\\p{L}`` (letter) and ``\\p{N}`` (digit), which
    Python's ``re`` lacks. ``[\\p{L}\\p{N}]`` (letter or digit) becomes ``[^\\W_]``; a lone
    ``\\p{L}`` becomes ``[^\\W\\d_]`` (a letter), a lone ``\\p{N}`` ``\\d``. (Translating inside a
    bracket first matters: ``[[^\\W\\d_]\\d]`` would be a broken nested set.)"""
    text = text.replace(r"[\\p{L}\\p{N}]", r"[^\\W_]")
    return text.replace(r"\\p{L}", r"[^\\W\\d_]").replace(r"\\p{N}", r"\\d")


@pytest.fixture(scope="session")
def bundle_validator() -> Draft202012Validator:
    """Validator of bundle configuration files (``databricks bundle schema``, databricks/cli
    ``bundle/schema/jsonschema.json``). Set ``BUNDLE_SCHEMA`` to a copy of it, e.g.
    ``databricks bundle schema > schema.json``; skipped when there is none."""
    path = _schema_path()
    if path is None or not path.is_file():
        pytest.skip("bundle JSON schema not found: set BUNDLE_SCHEMA=<file> (databricks bundle schema > file)")
    schema = json.loads(translate_patterns(path.read_text(encoding="utf-8")))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)
