"""Error classes of the emulated sources: a stable ``error_class`` plus ``params``, like Spark's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CloudFilesError(ValueError):
    """Base class: ``[ERROR_CLASS] message``; ``params`` hold the values the message names."""

    error_class = "CLOUD_FILES_ERROR"

    def __init__(self, message: str, *, params: Mapping[str, Any] | None = None) -> None:
        self.params: dict[str, Any] = dict(params or {})
        self.detail = message
        super().__init__(f"[{self.error_class}] {message}")


class CloudFilesOptionError(CloudFilesError):
    """An Auto Loader option is missing, unknown in value, or cannot be emulated; the message names it."""

    error_class = "CLOUD_FILES_INVALID_OPTION"


class CloudFilesSchemaError(CloudFilesError):
    """No schema could be found: none given, and nothing to infer it from (or a bad schema/hint)."""

    error_class = "CLOUD_FILES_SCHEMA_ERROR"
