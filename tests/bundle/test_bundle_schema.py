"""Every bundle file validates against the official bundle JSON schema (our substitute for
``databricks bundle validate``, which needs a workspace), and the schema check really bites."""

from __future__ import annotations

from pathlib import Path

import pytest
from bundle_facts import REPO, bundle_files, load_yaml
from jsonschema import Draft202012Validator


def _errors(validator: Draft202012Validator, document: dict) -> list[str]:
    """Each error as ``path: message``, narrowed through the schema's ``oneOf`` (real type or
    ``${...}`` string) to the most relevant underlying error."""
    found = []
    for error in validator.iter_errors(document):
        while error.context:
            # the deepest error wins; at equal depth, not the "is not of type 'string'" of the
            # ${...} alternative
            error = max(
                error.context, key=lambda e: (len(e.absolute_path), e.validator not in ("type", "pattern"))
            )
        found.append(f"{'/'.join(map(str, error.absolute_path))}: {error.message}")
    return sorted(found)


@pytest.mark.parametrize("path", bundle_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_bundle_file_is_valid(bundle_validator, path: Path):
    assert _errors(bundle_validator, load_yaml(path)) == []


def test_patterns_accept_interpolation_and_reject_other_strings(bundle_validator):
    pipeline = load_yaml(REPO / "resources" / "orders.pipeline.yml")
    settings = pipeline["resources"]["pipelines"]["orders"]

    settings["continuous"] = "${var.continuous}"  # a reference where a boolean goes: allowed
    assert _errors(bundle_validator, pipeline) == []

    settings["continuous"] = "yes"
    assert _errors(bundle_validator, pipeline) == [
        "resources/pipelines/orders/continuous: 'yes' is not of type 'boolean'"
    ]


def test_unknown_field_is_reported(bundle_validator):
    pipeline = load_yaml(REPO / "resources" / "orders.pipeline.yml")
    pipeline["resources"]["pipelines"]["orders"]["bogus"] = 1

    assert _errors(bundle_validator, pipeline) == [
        "resources/pipelines/orders: Additional properties are not allowed ('bogus' was unexpected)"
    ]


def test_alert_without_required_fields_is_reported(bundle_validator):
    alert = load_yaml(REPO / "resources" / "orders_silence.alert.yml")
    del alert["resources"]["alerts"]["orders_silence"]["schedule"]

    errors = _errors(bundle_validator, alert)

    assert errors == ["resources/alerts/orders_silence: 'schedule' is a required property"]
