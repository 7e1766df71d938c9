"""Parse the options pipeline code passed to ``spark.readStream.format("cloudFiles")``.

Spark option keys are case-insensitive, so every lookup here is too. ``cloudFiles.*`` keys are
Auto Loader's own; everything else is a plain reader option (``multiLine``, ``header``, ``sep``,
``pathGlobFilter``...) handed to the open-source reader as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from localdlt.sources.errors import CloudFilesOptionError

log = logging.getLogger(__name__)

SUPPORTED_FORMATS: tuple[str, ...] = ("json", "csv", "parquet", "text")
DEFAULT_RESCUED_COLUMN = "_rescued_data"
# Auto Loader's default batch size (the open-source file source has no maximum by default).
DEFAULT_MAX_FILES_PER_TRIGGER = 1000

_PREFIX = "cloudfiles."
_EMULATED = {
    "format",
    "inferColumnTypes",
    "schemaHints",
    "maxFilesPerTrigger",
    "maxBytesPerTrigger",
    "includeExistingFiles",
}
# Accepted because they have no local meaning (the runtime manages state in its own folder).
_NO_LOCAL_MEANING = {
    "schemaLocation",
    "schemaEvolutionMode",
    "useNotifications",
    "useIncrementalListing",
    "useManagedFileEvents",
    "backfillInterval",
    "validateOptions",
    "fetchParallelism",
    "resourceTag",
    "useStrictGlobber",
}
# Accepted, but the behaviour differs locally: say so once, at read time.
_NOT_EMULATED = {
    "allowOverwrites": "an overwritten file is never re-ingested locally (on_changed_file is called instead)",
    "cleanSource": "source files are left in place",
    "maxFileAge": "the local source keeps every file it has seen",
    "partitionColumns": "partition columns are discovered by the open-source reader only",
}


@dataclass(frozen=True)
class CloudFilesOptions:
    """The Auto Loader options that matter locally, validated."""

    format: str
    infer_column_types: bool = False
    schema_hints: str | None = None
    max_files_per_trigger: int | None = DEFAULT_MAX_FILES_PER_TRIGGER
    max_bytes_per_trigger: str | None = None
    include_existing_files: bool = True
    rescued_data_column: str | None = None
    """Set only when the option was given explicitly."""
    reader_options: dict[str, str] = field(default_factory=dict)
    """Plain reader options (not ``cloudFiles.*``, not ``rescuedDataColumn``), keys as given."""

    def reader_option(self, name: str, default: str | None = None) -> str | None:
        """A plain reader option by case-insensitive name."""
        wanted = name.lower()
        for key, value in self.reader_options.items():
            if key.lower() == wanted:
                return value
        return default


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise CloudFilesOptionError(f"option '{name}' must be true or false", params={"option": name})


def _parse_positive_int(name: str, value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    if number < 1:
        raise CloudFilesOptionError(f"option '{name}' must be a positive integer", params={"option": name})
    return number


def parse_options(options: Mapping[str, str]) -> CloudFilesOptions:
    """Validate ``options`` (as passed to ``.option()``) into :class:`CloudFilesOptions`.

    >>> parse_options({"cloudFiles.format": "json"}).max_files_per_trigger
    1000

    Raises :class:`CloudFilesOptionError` naming the option when ``cloudFiles.format`` is missing
    or not one of :data:`SUPPORTED_FORMATS`, or when a value has the wrong shape. Option values
    are never logged (options may hold credentials).
    """
    auto_loader: dict[str, str] = {}
    reader: dict[str, str] = {}
    rescued: str | None = None
    canonical = {name.lower(): name for name in _EMULATED | _NO_LOCAL_MEANING | set(_NOT_EMULATED)}
    for key, value in options.items():
        lowered = key.lower()
        if lowered.startswith(_PREFIX):
            suffix = lowered[len(_PREFIX) :]
            name = canonical.get(suffix)
            if name is None:
                # Databricks has many more (cloud notification settings, ...): none changes what a
                # local read returns, so accept it and say it is ignored.
                log.warning("Auto Loader option '%s' is not emulated locally and is ignored", key)
                continue
            auto_loader[name] = str(value)
        elif lowered == "rescueddatacolumn":
            rescued = str(value).strip()
            if not rescued:
                raise CloudFilesOptionError(
                    "option 'rescuedDataColumn' must name a column", params={"option": "rescuedDataColumn"}
                )
        else:
            reader[key] = str(value)

    fmt = auto_loader.get("format")
    if fmt is None or not fmt.strip():
        raise CloudFilesOptionError(
            "option 'cloudFiles.format' is required (one of: " + ", ".join(SUPPORTED_FORMATS) + ")",
            params={"option": "cloudFiles.format"},
        )
    fmt = fmt.strip().lower()
    if fmt not in SUPPORTED_FORMATS:
        raise CloudFilesOptionError(
            f"option 'cloudFiles.format' is '{fmt}'; the local emulation supports: "
            + ", ".join(SUPPORTED_FORMATS),
            params={"option": "cloudFiles.format", "value": fmt, "allowed": list(SUPPORTED_FORMATS)},
        )
    for name, why in _NOT_EMULATED.items():
        if name in auto_loader:
            log.warning("Auto Loader option 'cloudFiles.%s' is not emulated locally: %s", name, why)

    max_bytes = auto_loader.get("maxBytesPerTrigger")
    max_files: int | None
    if "maxFilesPerTrigger" in auto_loader:
        max_files = _parse_positive_int("cloudFiles.maxFilesPerTrigger", auto_loader["maxFilesPerTrigger"])
        if max_bytes is not None:
            # Auto Loader applies whichever limit is hit first; the open-source source takes one.
            raise CloudFilesOptionError(
                "options 'cloudFiles.maxFilesPerTrigger' and 'cloudFiles.maxBytesPerTrigger' cannot be "
                "combined locally (the open-source file source accepts only one of them)",
                params={"option": "cloudFiles.maxBytesPerTrigger"},
            )
    else:
        max_files = None if max_bytes is not None else DEFAULT_MAX_FILES_PER_TRIGGER

    hints = auto_loader.get("schemaHints")
    return CloudFilesOptions(
        format=fmt,
        infer_column_types=_parse_bool(
            "cloudFiles.inferColumnTypes", auto_loader.get("inferColumnTypes", "false")
        ),
        schema_hints=hints if hints and hints.strip() else None,
        max_files_per_trigger=max_files,
        max_bytes_per_trigger=max_bytes,
        include_existing_files=_parse_bool(
            "cloudFiles.includeExistingFiles", auto_loader.get("includeExistingFiles", "true")
        ),
        rescued_data_column=rescued,
        reader_options=reader,
    )
