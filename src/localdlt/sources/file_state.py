"""Listing of the landing files and the per-flow state that survives restarts.

Auto Loader keeps its own state (RocksDB in the checkpoint); the open-source file source only
remembers file *paths*. What the emulation needs beyond that lives in ``state_dir`` (a folder
private to the flow that the runtime deletes on full refresh):

* ``first_start.json`` — written once, at the very first start: whether existing files are to be
  ingested (``cloudFiles.includeExistingFiles`` is evaluated only then, as on Databricks) and, if
  not, which files existed.
* ``seen_files.json`` / ``reported_changes.json`` — size and modification time of every file
  when first seen, and of the last change reported, to notice a file that changes after it was
  ingested (the open-source source silently ignores it).
* ``inferred_schema.json`` — the schema inferred at first start, so restarts see the same schema.

Every file is replaced atomically (write to a temporary file, then ``os.replace``).
"""

from __future__ import annotations

import fnmatch
import glob
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

_GLOB_CHARS = set("*?[{")


@dataclass(frozen=True, order=True)
class FileEntry:
    """One data file as listed: modification time first so sorting gives the ingestion order."""

    mtime_ns: int
    path: str
    size: int


def local_path(path: str) -> str | None:
    """The local filesystem path of ``path`` (plain or ``file:`` URI), or None for remote storage."""
    parsed = urlparse(path)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and os.name == "nt"):
        raw = parsed.path if parsed.scheme == "file" else path
        return os.path.abspath(raw)
    return None


def _hidden(name: str) -> bool:
    # The open-source file index skips these (Spark's own metadata, temporary files of writers).
    return name.startswith(".") or (name.startswith("_") and "=" not in name)


def list_files(root: str, *, path_glob_filter: str | None = None) -> list[FileEntry]:
    """Every data file the open-source file source would see under ``root`` (a local folder,
    file or glob), oldest first. Hidden names (``.x``, ``_x``) are skipped as Spark skips them."""
    if any(char in root for char in _GLOB_CHARS):
        starts = sorted(glob.glob(root))
    else:
        starts = [root] if os.path.exists(root) else []
    entries: list[FileEntry] = []
    for start in starts:
        if os.path.isfile(start):
            candidates: Iterable[str] = [start]
        else:
            candidates = _walk(start)
        for candidate in candidates:
            if path_glob_filter and not fnmatch.fnmatchcase(os.path.basename(candidate), path_glob_filter):
                continue
            try:
                stat = os.stat(candidate)
            except FileNotFoundError:  # removed while listing
                continue
            entries.append(FileEntry(mtime_ns=stat.st_mtime_ns, path=candidate, size=stat.st_size))
    return sorted(entries)


def _walk(folder: str) -> Iterable[str]:
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(name for name in dirs if not _hidden(name))
        for name in sorted(files):
            if not _hidden(name):
                yield os.path.join(current, name)


def spark_file_paths(spark: SparkSession, paths: Iterable[str]) -> list[str]:
    """The form ``_metadata.file_path`` takes for local ``paths`` (``file:`` + Hadoop's URI
    encoding, e.g. a space becomes ``%20`` but ``+`` stays): asked of Hadoop itself so that the two
    always agree."""
    hadoop_path = spark._jvm.org.apache.hadoop.fs.Path  # type: ignore[union-attr]
    return ["file:" + hadoop_path(path).toUri().toString() for path in paths]


class FlowFileState:
    """The JSON documents kept in one flow's ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)

    def load(self, name: str) -> Any | None:
        """The parsed document ``name``, or None when it does not exist yet."""
        target = self.state_dir / name
        if not target.exists():
            return None
        return json.loads(target.read_text(encoding="utf-8"))

    def save(self, name: str, document: Any) -> None:
        """Replace ``name`` atomically (a crash leaves the old or the new document, never half)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=self.state_dir)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out, separators=(",", ":"))
            os.replace(temporary, self.state_dir / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def first_start(
        self, include_existing_files: bool, existing: Callable[[], tuple[list[str], list[str]]]
    ) -> dict[str, Any]:
        """The first-start record, written now if this is the first start.

        ``existing`` returns the local paths and the ``_metadata.file_path`` forms of the files
        present now; it is called only at the first start, and only when they are to be skipped.
        """
        record = self.load("first_start.json")
        if record is None:
            paths, uris = ([], []) if include_existing_files else existing()
            record = {
                "include_existing_files": include_existing_files,
                "existing_files": paths,
                "existing_file_uris": uris,
                "recorded_at": datetime.now(UTC).isoformat(),
            }
            self.save("first_start.json", record)
            if not include_existing_files:
                log.info("first start: %d existing file(s) will be skipped", len(record["existing_files"]))
        elif bool(record["include_existing_files"]) != include_existing_files:
            log.warning(
                "cloudFiles.includeExistingFiles changed after the first start; as on Databricks, "
                "the first start's value (%s) still applies until a full refresh",
                str(record["include_existing_files"]).lower(),
            )
        return record

    def changed_files(
        self, listing: Iterable[FileEntry], skip: set[str], *, report: bool = True
    ) -> list[str]:
        """Files seen at an earlier start whose size or modification time differ now, each change
        returned once.

        ``seen_files.json`` keeps the size and time a file had when first seen (the version that
        was ingested); ``reported_changes.json`` the version last reported. With ``report=False``
        (a caller with no callback, e.g. a planning pass) changes are returned but not marked as
        reported, so the next caller that has a callback still gets them.
        """
        seen: dict[str, list[int]] = self.load("seen_files.json") or {}
        reported: dict[str, list[int]] = self.load("reported_changes.json") or {}
        changed: list[str] = []
        new_seen = new_reported = False
        for entry in listing:
            if entry.path in skip:
                continue
            now = [entry.size, entry.mtime_ns]
            first = seen.get(entry.path)
            if first is None:
                seen[entry.path] = now
                new_seen = True
            elif first != now and reported.get(entry.path) != now:
                changed.append(entry.path)
                if report:
                    reported[entry.path] = now
                    new_reported = True
        if new_seen:
            self.save("seen_files.json", seen)
        if new_reported:
            self.save("reported_changes.json", reported)
        return changed
