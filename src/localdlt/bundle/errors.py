"""The error of the bundle reader, and its "did you mean" hint."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from localdlt.errors import PipelineDefinitionError


class BundleError(PipelineDefinitionError, ValueError):
    """A bundle file cannot be read, or a value in it cannot be resolved locally.

    A :class:`~localdlt.errors.PipelineDefinitionError`, so ``localdlt run`` reports it as one
    (message, exit code 3); also a ``ValueError`` for callers outside localdlt."""

    error_class = "BUNDLE_CONFIGURATION"


def did_you_mean(name: str, candidates: Mapping[str, Any] | list[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
