"""Auto Loader (``spark.readStream.format("cloudFiles")``) emulated on the open-source file source.

Example (what the runtime does when pipeline code reads ``cloudFiles``)::

    from pathlib import Path
    from localdlt.sources.cloud_files import read_cloud_files

    events = read_cloud_files(
        spark,
        "/data/landing",
        {"cloudFiles.format": "json", "cloudFiles.schemaHints": "amount DECIMAL(12,2)"},
        None,                                   # no schema: inferred, so _rescued_data is added
        state_dir=Path("/data/state/bronze"),   # private to the flow, kept across restarts
        on_changed_file=lambda path: print("changed after ingestion:", path),
    )
    events.writeStream.format("delta").option("checkpointLocation", "/data/cp").start("/data/bronze")

Differences from Databricks are listed in ``docs/localdlt-sources.md``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import DataStreamReader
from pyspark.sql.types import StringType, StructType

from localdlt.sources import landing_gaps, rescue
from localdlt.sources.cloud_files_options import DEFAULT_RESCUED_COLUMN, CloudFilesOptions, parse_options
from localdlt.sources.errors import CloudFilesOptionError
from localdlt.sources.file_state import FileEntry, FlowFileState, list_files, local_path, spark_file_paths
from localdlt.sources.schema_inference import corrupt_column_name, resolve_schema

log = logging.getLogger(__name__)

STATE_SUBDIR = "cloud_files_state"


def read_cloud_files(
    spark: SparkSession,
    path: str,
    options: dict[str, str],
    schema: StructType | str | None,
    *,
    state_dir: Path,
    on_changed_file: Callable[[str], None] | None = None,
) -> DataFrame:
    """A streaming DataFrame reading ``path`` as Auto Loader would.

    ``options`` are exactly what pipeline code passed to ``.option()`` (``cloudFiles.*`` and plain
    reader options); ``schema`` what it passed to ``.schema()``. ``state_dir`` keeps what must
    survive restarts (first-start file list, inferred schema, sizes of seen files).
    ``on_changed_file(path)`` is called once per change of a file seen at an earlier start: such a
    file is not ingested again (as on Databricks, where it is skipped silently).

    The rescued data column (``rescuedDataColumn``, default ``_rescued_data``) is added only when
    the schema is inferred or the option is set; otherwise the plain open-source reader runs.

    >>> df = read_cloud_files(spark, "/in", {"cloudFiles.format": "json"}, "id INT",
    ...                       state_dir=Path("/state"))  # doctest: +SKIP
    >>> df.columns  # doctest: +SKIP
    ['id']

    Raises :class:`~localdlt.sources.errors.CloudFilesOptionError` for a missing or unsupported
    ``cloudFiles.format`` (or an option value of the wrong shape) and
    :class:`~localdlt.sources.errors.CloudFilesSchemaError` when no schema is given and there is
    nothing to infer one from.
    """
    opts = parse_options(options)
    # A subfolder: the runtime may hand out a folder that Spark also writes into (its source log
    # under the checkpoint), whose numbered files must not mix with ours.
    state = FlowFileState(Path(state_dir) / STATE_SUBDIR)
    root = local_path(path)
    listing: list[FileEntry] | None = None
    if root is not None:
        listing = list_files(root, path_glob_filter=opts.reader_option("pathGlobFilter"))
    elif not opts.include_existing_files:
        raise CloudFilesOptionError(
            f"option 'cloudFiles.includeExistingFiles=false' needs a local path; '{path}' is remote storage",
            params={"option": "cloudFiles.includeExistingFiles"},
        )
    else:
        log.info("'%s' is not a local path: changed files cannot be detected", path)

    def existing() -> tuple[list[str], list[str]]:
        paths = [entry.path for entry in listing or []]
        return paths, spark_file_paths(spark, paths)

    first = state.first_start(opts.include_existing_files, existing)
    if listing is not None:
        _report_changes(state, listing, set(first["existing_files"]), on_changed_file)
        _report_directories(root, on_changed_file)
        skips_unreadable = (opts.reader_option(landing_gaps.IGNORE_MISSING_FILES) or "true").lower() == "true"
        if on_changed_file is not None:  # the runtime's execution pass, not its planning pass
            with _state_lock(state.state_dir):
                landing_gaps.report_gaps(
                    state,
                    Path(state_dir),
                    listing,
                    set(first["existing_files"]),
                    on_changed_file,
                    unreadable=skips_unreadable,
                )

    read_schema, inferred = resolve_schema(spark, opts, schema, root=path, listing=listing, state=state)
    rescued_column = opts.rescued_data_column or (DEFAULT_RESCUED_COLUMN if inferred else None)
    frame = _read(spark, path, opts, read_schema, rescued_column, skipped_uris=first["existing_file_uris"])
    log.info(
        "cloudFiles emulation: format=%s, %d column(s), schema %s, rescued column %s",
        opts.format,
        len(frame.columns),
        "inferred" if inferred else "given",
        rescued_column or "off",
    )
    return frame


def check_changed_files(
    path: str,
    options: dict[str, str],
    *,
    state_dir: Path,
    on_changed_file: Callable[[str], None],
) -> list[str]:
    """Look for ingested files that changed since they were seen, without opening a stream.

    :func:`read_cloud_files` does this when a flow's source is opened (each update, each restart).
    A long continuous run can also call this between micro-batches, with the same ``path``,
    ``options`` and ``state_dir``, so that a change is reported during the run. It is cheap (one
    listing of the landing folder, no Spark job) and reports each change once across both entry
    points. Returns the changed paths, which were also passed to ``on_changed_file``.

    >>> check_changed_files("/landing", {"cloudFiles.format": "json"}, state_dir=Path("/state"),
    ...                     on_changed_file=print)  # doctest: +SKIP
    []
    """
    opts = parse_options(options)
    root = local_path(path)
    state = FlowFileState(Path(state_dir) / STATE_SUBDIR)
    first = state.load("first_start.json")
    if root is None or first is None:  # remote storage, or the source was never opened
        return []
    listing = list_files(root, path_glob_filter=opts.reader_option("pathGlobFilter"))
    return _report_changes(state, listing, set(first["existing_files"]), on_changed_file)


def _report_changes(
    state: FlowFileState,
    listing: list[FileEntry],
    skipped: set[str],
    on_changed_file: Callable[[str], None] | None,
) -> list[str]:
    # One flow's state is read and rewritten as a whole: a check between batches (another
    # thread) and an opening of the source must not interleave.
    with _state_lock(state.state_dir):
        changed = state.changed_files(listing, skipped, report=on_changed_file is not None)
    for path in changed:
        # Databricks skips such a file silently (cloudFiles.allowOverwrites=false); say it.
        log.warning(
            "file changed after it was ingested; its new content is NOT ingested "
            "(Auto Loader ignores it too unless cloudFiles.allowOverwrites=true): %s",
            path,
        )
        if on_changed_file is not None:
            on_changed_file(path)
        # Without a callback the change is logged but stays unreported, so a later caller that
        # has one (the runtime's execution, after its planning pass) still gets it.
    return changed


def _report_directories(root: str | None, on_changed_file: Callable[..., None] | None) -> list[str]:
    """Folders inside the landing folder where data files are expected: the open-source file source
    does not read into them (a folder named ``k=v`` is a partition and is read), so say so."""
    if root is None or not os.path.isdir(root):
        return []
    found = sorted(entry.path for entry in os.scandir(root)
                   if entry.is_dir() and not entry.name.startswith((".", "_")) and "=" not in entry.name)
    for path in found:
        log.warning("'%s' is a folder inside the landing folder: its files are NOT ingested "
                    "(only the landing folder's own files and k=v partition folders are read)", path)
        if on_changed_file is not None:
            try:
                on_changed_file(path, kind="directory")
            except TypeError:  # a caller's one-argument callback: the log line above says it
                pass
    return found


_STATE_LOCKS: dict[Path, threading.Lock] = {}
_STATE_LOCKS_GUARD = threading.Lock()


def _state_lock(state_dir: Path) -> threading.Lock:
    with _STATE_LOCKS_GUARD:
        return _STATE_LOCKS.setdefault(state_dir.resolve(), threading.Lock())


def _stream_reader(spark: SparkSession, fmt: str, opts: CloudFilesOptions) -> DataStreamReader:
    reader = spark.readStream.format(fmt).options(**opts.reader_options)
    if opts.reader_option(landing_gaps.IGNORE_MISSING_FILES) is None:
        # A planned file that is gone (or unreadable) when its batch reads it: the batch goes on
        # without it instead of failing again at every restart (see landing_gaps).
        reader = reader.option(landing_gaps.IGNORE_MISSING_FILES, "true")
    if opts.max_files_per_trigger is not None:
        reader = reader.option("maxFilesPerTrigger", str(opts.max_files_per_trigger))
    if opts.max_bytes_per_trigger is not None:
        reader = reader.option("maxBytesPerTrigger", opts.max_bytes_per_trigger)
    return reader


def _skip_existing(frame: DataFrame, uris: list[str]) -> DataFrame:
    if not uris:
        return frame
    # The open-source source still lists (and records) these files; their rows never leave here.
    return frame.where(~F.col("_metadata.file_path").isin(uris))


def _read(
    spark: SparkSession,
    path: str,
    opts: CloudFilesOptions,
    schema: StructType,
    rescued_column: str | None,
    *,
    skipped_uris: list[str],
) -> DataFrame:
    corrupt = corrupt_column_name(spark, opts)
    has_corrupt = any(f.name == corrupt and isinstance(f.dataType, StringType) for f in schema.fields)
    corrupt_column = corrupt if has_corrupt else None

    if rescued_column is None or opts.format in ("parquet", "text"):
        # The plain open-source reader: no rescue asked for (pay nothing), or nothing to rescue in
        # a format whose reader types the columns itself (documented difference for parquet).
        base_schema = StructType([f for f in schema.fields if f.name != rescued_column])
        frame = _skip_existing(
            _stream_reader(spark, opts.format, opts).schema(base_schema).load(path), skipped_uris
        )
        if rescued_column is not None:
            frame = frame.withColumn(rescued_column, F.lit(None).cast("string"))
        return frame

    if opts.format == "json":
        multi_line = (opts.reader_option("multiLine", "false") or "false").lower() == "true"
        text = _stream_reader(spark, "text", opts)
        if multi_line:
            text = text.option("wholetext", "true")
        lines = _skip_existing(text.load(path), skipped_uris)
        return rescue.json_with_rescue(
            lines,
            schema,
            rescued_column=rescued_column,
            corrupt_column=corrupt_column,
            json_options=dict(opts.reader_options),
            multi_line=multi_line,
            mode=(opts.reader_option("mode", "PERMISSIVE") or "PERMISSIVE").upper(),
        )

    # csv
    strings = rescue.string_schema(schema, rescued_column=rescued_column, corrupt_column=corrupt_column)
    rows = (
        _stream_reader(spark, "csv", opts)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", corrupt_column or rescue.INTERNAL_CORRUPT)
        .schema(strings)
        .load(path)
    )
    return rescue.csv_with_rescue(
        _skip_existing(rows, skipped_uris),
        schema,
        rescued_column=rescued_column,
        corrupt_column=corrupt_column,
    )
