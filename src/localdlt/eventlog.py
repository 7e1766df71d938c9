"""The event log: a Delta table at ``<storage>/system/events`` with Databricks' columns.

``details`` is a JSON string shaped as on Databricks (``{"flow_progress": {...}}``); ``origin``
is a struct with ``pipeline_id``, ``pipeline_name``, ``update_id``, ``flow_name``,
``dataset_name``, ``batch_id``. Events are buffered and appended in one Delta commit per flush.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

log = logging.getLogger(__name__)

ORIGIN_SCHEMA = StructType(
    [
        StructField("pipeline_id", StringType()),
        StructField("pipeline_name", StringType()),
        StructField("update_id", StringType()),
        StructField("flow_name", StringType()),
        StructField("dataset_name", StringType()),
        StructField("batch_id", LongType()),
    ]
)
EVENT_SCHEMA = StructType(
    [
        StructField("id", StringType(), False),
        StructField("sequence", StructType([StructField("control_plane_seq_no", LongType())])),
        StructField("origin", ORIGIN_SCHEMA),
        StructField("timestamp", TimestampType()),
        StructField("message", StringType()),
        StructField("level", StringType()),
        StructField("maturity_level", StringType()),
        StructField("error", StringType()),
        StructField("details", StringType()),
        StructField("event_type", StringType()),
    ]
)


@dataclass(frozen=True)
class Origin:
    """Who the event is about."""

    flow_name: str | None = None
    dataset_name: str | None = None
    batch_id: int | None = None


class EventLog:
    """Buffered writer of one update's events."""

    def __init__(self, spark: SparkSession, path: Path, *, pipeline_id: str, pipeline_name: str, update_id: str) -> None:
        self._spark = spark
        self.path = path
        self.pipeline_id = pipeline_id
        self.pipeline_name = pipeline_name
        self.update_id = update_id
        self._rows: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        # Called with every event as a dict of its columns, in sequence order (event hooks).
        self.listeners: list[Callable[[dict[str, Any]], None]] = []
        # Increases across updates too: microseconds since the epoch, then +1 per event.
        self._seq = time.time_ns() // 1000

    def emit(
        self,
        event_type: str,
        message: str,
        details: dict[str, Any],
        *,
        origin: Origin = Origin(),
        level: str = "INFO",
        error: dict[str, Any] | None = None,
    ) -> None:
        """Record one event (written at the next :meth:`flush`)."""
        with self._lock:
            self._seq += 1
            self._rows.append(
                (
                    str(uuid.uuid4()),
                    (self._seq,),
                    (self.pipeline_id, self.pipeline_name, self.update_id, origin.flow_name, origin.dataset_name,
                     origin.batch_id),
                    datetime.now(timezone.utc),
                    message,
                    level,
                    "STABLE",
                    json.dumps(error) if error is not None else None,
                    json.dumps(details),
                    event_type,
                )
            )
            if self.listeners:
                event = _as_dict(self._rows[-1])
                for listener in self.listeners:
                    listener(event)
        log.debug("event %s: %s", event_type, message)

    def flush(self) -> None:
        """Append the buffered events to the Delta table (one commit)."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return
        df = self._spark.createDataFrame(rows, EVENT_SCHEMA)
        df.write.format("delta").mode("append").save(str(self.path))


def _as_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    event = dict(zip(EVENT_SCHEMA.fieldNames(), row))
    event["sequence"] = dict(zip(EVENT_SCHEMA["sequence"].dataType.fieldNames(), row[1]))  # type: ignore[attr-defined]
    event["origin"] = dict(zip(ORIGIN_SCHEMA.fieldNames(), row[2]))
    return event


def read_events(spark: SparkSession, storage: Path) -> Any:
    """The event log of ``storage`` as a DataFrame, ordered by sequence."""
    return spark.read.format("delta").load(str(storage / "system" / "events")).orderBy("sequence.control_plane_seq_no")
