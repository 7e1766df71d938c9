"""Fixtures for the bundle tests: the official bundle JSON schema, made usable by Python's ``re``."""

from __future__ import annotations

import json

import pytest
from bundle_facts import SCHEMA_PATH
from jsonschema import Draft202012Validator


def translate_patterns(text: str) -> str:
    """The schema's interpolation patterns use ``\\p{L}`` (letter) and ``\\p{N}`` (digit), which
    Python's ``re`` lacks. ``[\\p{L}\\p{N}]`` (letter or digit) becomes ``[^\\W_]``; a lone
    ``\\p{L}`` becomes ``[^\\W\\d_]`` (a letter), a lone ``\\p{N}`` ``\\d``. (Translating inside a
    bracket first matters: ``[[^\\W\\d_]\\d]`` would be a broken nested set.)"""
    text = text.replace(r"[\\p{L}\\p{N}]", r"[^\\W_]")
    return text.replace(r"\\p{L}", r"[^\\W\\d_]").replace(r"\\p{N}", r"\\d")


@pytest.fixture(scope="session")
def bundle_validator() -> Draft202012Validator:
    """Validator of bundle configuration files: the vendored copy of databricks/cli's
    ``bundle/schema/jsonschema.json`` (``tests/bundle/schema``). A missing copy is a failure."""
    if not SCHEMA_PATH.is_file():
        pytest.fail(
            f"the vendored bundle JSON schema is missing: {SCHEMA_PATH} "
            "(restore it from git, or refresh it as tests/bundle/schema/README.md says)"
        )
    schema = json.loads(translate_patterns(SCHEMA_PATH.read_text(encoding="utf-8")))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)
