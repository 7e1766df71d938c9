"""Reads of a materialized view's query pinned to one Delta version per stored input, so that
what the refresh records is exactly what it read (a stream may commit meanwhile)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame

from localdlt import deltalog


class PinnedResolver:
    """Wraps the executor's resolver: every batch read of a stored dataset gets ``versionAsOf``
    (its latest version when first read); views stay inlined by the wrapped resolver."""

    def __init__(self, inner: Any, table_path: Any, stored: set[str]) -> None:
        self._inner = inner
        self._table_path = table_path
        self._stored = stored
        self.versions: dict[str, int] = {}
        self.names: dict[str, str] = {}

    def read_dataset(self, name: str, *, streaming: bool, explicit: bool,
                     options: dict[str, str] | None = None) -> DataFrame | None:
        if streaming or name not in self._stored:
            return self._inner.read_dataset(name, streaming=streaming, explicit=explicit, options=options)
        path = str(Path(self._table_path(name)))
        version = self.versions.setdefault(path, deltalog.latest_version(Path(path)))
        self.names[path] = name
        pinned = {**(options or {}), "versionAsOf": str(version)} if version >= 0 else options
        return self._inner.read_dataset(name, streaming=False, explicit=explicit, options=pinned)

    def cloud_files(self, path: str, options: dict[str, str], schema: Any) -> DataFrame:
        return self._inner.cloud_files(path, options, schema)
