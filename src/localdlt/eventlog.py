"""The event log: a Delta table at ``<storage>/system/events`` with Databricks' columns.

``details`` is a JSON string shaped as on Databricks (``{"flow_progress": {...}}``); ``origin``
is a struct with ``pipeline_id``, ``pipeline_name``, ``update_id``, ``flow_name``,
``dataset_name``, ``batch_id``. Events are buffered and appended in one Delta commit per flush,
written with delta-rs (no Spark job); anything that reads Delta reads it, Spark included.

Nothing is lost to a ``kill -9``: each event is also journaled the moment it is emitted
(:mod:`localdlt.event_journal`), and the first event of the next update on the storage appends
what a dead update left (:meth:`EventLog.recover`). Flushes are idempotent Delta writes
(``txnAppId`` per update, ``txnVersion`` per journal segment), so a segment already flushed is
never written twice. A batch's METRICS event has a deterministic id (:func:`batch_event_id`), so a
replayed batch can tell whether its event was written before the process died.
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

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from localdlt import event_journal
from localdlt.recovery import StorageFullError, disk_full_message, is_disk_full

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

# The same columns for delta-rs, every one nullable (as Spark's writer stored them).
ARROW_SCHEMA = pa.schema([field.with_nullable(True) for field in to_arrow_schema(EVENT_SCHEMA)])


_BATCH_EVENT_NAMESPACE = uuid.UUID("5b0c8a53-1f5e-4f0e-9a43-0c5a3e6f1d2b")


def batch_event_id(app_id: str, flow: str, batch_id: int) -> str:
    """The id of the METRICS event of one committed batch: the same on every replay of the batch
    (a recreated checkpoint has a new ``app_id``, so its batch ids never collide with old ones)."""
    return str(uuid.uuid5(_BATCH_EVENT_NAMESPACE, f"{app_id}/{flow}/{batch_id}"))


@dataclass(frozen=True)
class Origin:
    """Who the event is about."""

    flow_name: str | None = None
    dataset_name: str | None = None
    batch_id: int | None = None


class EventLog:
    """Buffered, journaled writer of one update's events (see the module docstring)."""

    def __init__(
        self, spark: SparkSession, path: Path, *, pipeline_id: str, pipeline_name: str, update_id: str
    ) -> None:
        self._spark = spark
        self.path = path
        self.pipeline_id = pipeline_id
        self.pipeline_name = pipeline_name
        self.update_id = update_id
        self._rows: list[tuple[Any, ...]] = []
        self._segments: list[int] = []  # journal segments whose events are buffered
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._journal_root = path.parent / event_journal.JOURNAL_DIR
        self._journal: event_journal.EventJournal | None = None
        self._recovered = False
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
        event_id: str | None = None,
    ) -> None:
        """Record one event: journaled now (it survives a kill), written at the next :meth:`flush`.
        ``event_id``: a deterministic id (:func:`batch_event_id`), else a random one."""
        if not self._recovered:  # the update's first event: the storage lock is held by now
            self.recover()
        with self._lock:
            row = self._row(event_type, message, details, origin, level, error, event_id)
            if self._journal is None:
                self._journal = event_journal.EventJournal(self._journal_root, self.update_id)
            self._journal_append(row)
            self._rows.append(row)
            if self.listeners:
                event = _as_dict(self._rows[-1])
                for listener in self.listeners:
                    listener(event)
        log.debug("event %s: %s", event_type, message)

    def _row(self, event_type: str, message: str, details: dict[str, Any], origin: Origin, level: str,
             error: dict[str, Any] | None, event_id: str | None,
             update_id: str | None = None) -> tuple[Any, ...]:
        self._seq += 1
        return (
            event_id or str(uuid.uuid4()),
            (self._seq,),
            (self.pipeline_id, self.pipeline_name, update_id or self.update_id, origin.flow_name,
             origin.dataset_name, origin.batch_id),
            datetime.now(timezone.utc),
            message,
            level,
            "STABLE",
            json.dumps(error) if error is not None else None,
            json.dumps(details),
            event_type,
        )

    def _journal_append(self, row: tuple[Any, ...]) -> None:
        assert self._journal is not None
        try:
            self._journal.append(row)
        except OSError as exc:
            # A full or failing disk: the event stays buffered (the flush then fails the same way and
            # says so); only a crash before that flush could lose it.
            log.error("could not journal event %s (%s); it is in memory until the next flush", row[0], exc)

    def flush(self) -> None:
        """Append the buffered events to the Delta table (one idempotent commit). Raises
        :class:`~localdlt.recovery.StorageFullError` when the storage is full (the events stay
        journaled: the next start writes them)."""
        with self._flush_lock:
            with self._lock:
                rows, self._rows = self._rows, []
                if not rows:
                    return
                assert self._journal is not None
                self._segments.append(self._journal.rotate())
                segments = list(self._segments)
                journal = self._journal
            try:
                self._append(self.update_id, segments[-1], rows)
            except Exception as exc:
                with self._lock:  # written by the next flush, under a later segment number
                    self._rows[:0] = rows
                if is_disk_full(exc):
                    raise StorageFullError(disk_full_message(self.path.parent.parent),
                                           params={"storage": str(self.path.parent.parent)}) from exc
                raise
            with self._lock:
                self._segments = [s for s in self._segments if s not in segments]
                journal.discard(segments)
                if any(_final_state(row) for row in rows) and not self._rows:
                    # The update has ended and everything is in the event log: no journal left behind.
                    journal.close()
                    self._journal = None

    def _append(self, update_id: str, segment: int, rows: list[tuple[Any, ...]]) -> None:
        """Append ``rows`` as journal segment ``segment`` of ``update_id``: one Delta commit
        recording the transaction ``(txn_app_id(update_id), segment)``, skipped when that
        version (or a later one) is already recorded, Delta's ``txnAppId``/``txnVersion`` rule.

        Written with delta-rs, not Spark: a flush of a few dozen events was four Spark jobs and
        ~1 s of the driver JVM's CPU (``python -m bench eventlog``), taken from the flows every
        few seconds; here it is a Parquet file and a commit file. Only this process writes the
        event log (it holds the storage lock), so the check and the commit cannot race."""
        app_id = event_journal.txn_app_id(update_id)
        if (self.path / "_delta_log").is_dir():
            written = DeltaTable(str(self.path)).transaction_version(app_id)
            if written is not None and written >= segment:
                return  # a segment of a dead update that was committed before the process died
        table = pa.Table.from_pylist([_as_dict(row) for row in rows], schema=ARROW_SCHEMA)
        transaction = Transaction(app_id, segment, int(time.time() * 1000))
        write_deltalake(str(self.path), table, mode="append",
                        commit_properties=CommitProperties(app_transactions=[transaction]))

    def recover(self) -> int:
        """Append the journaled events of updates that died before flushing them (called by the
        first :meth:`emit`, under the storage lock). An update whose events show no final state
        gets an ``update_progress`` FAILED event saying it ended without completing. Returns how
        many events were written."""
        self._recovered = True

        def finished(update_id: str) -> bool:
            if not (self.path / "_delta_log").is_dir():
                return False
            events = self._spark.read.format("delta").load(str(self.path))
            states = [f'"state": "{state}"' for state in event_journal.FINAL_STATES]
            final = F.lit(False)
            for state in states:
                final = final | F.col("details").contains(state)
            return bool(events.where((F.col("origin.update_id") == update_id)
                                     & (F.col("event_type") == "update_progress") & final).limit(1).count())

        def interrupted(update_id: str, _last: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
            if finished(update_id):
                return None
            message = (f"Update {update_id[:6]} is FAILED: its process ended without completing "
                       f"(killed or crashed); found at the start of update {self.update_id[:6]}.")
            return self._row("update_progress", message, {"update_progress": {"state": "FAILED"}}, Origin(),
                             "ERROR", {"exceptions": [{"class_name": "ProcessEnded", "message": message}],
                                       "fatal": True}, None, update_id=update_id)

        count = event_journal.recover(self._journal_root, self._append, interrupted=interrupted,
                                      exclude=self.update_id)
        if count:
            log.warning("recovered %d event(s) of interrupted updates into the event log", count)
        return count

    def recorded(self, event_id: str) -> bool:
        """Whether an event with this id is buffered or already in the event log."""
        with self._lock:
            if any(row[0] == event_id for row in self._rows):
                return True
        if not (self.path / "_delta_log").is_dir():
            return False
        table = self._spark.read.format("delta").load(str(self.path))
        return bool(table.where(F.col("id") == event_id).limit(1).count())


def _final_state(row: tuple[Any, ...]) -> bool:
    if row[9] != "update_progress":
        return False
    return json.loads(row[8]).get("update_progress", {}).get("state") in event_journal.FINAL_STATES


def _as_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    event = dict(zip(EVENT_SCHEMA.fieldNames(), row))
    event["sequence"] = dict(zip(EVENT_SCHEMA["sequence"].dataType.fieldNames(), row[1]))  # type: ignore[attr-defined]
    event["origin"] = dict(zip(ORIGIN_SCHEMA.fieldNames(), row[2]))
    return event


def read_events(spark: SparkSession, storage: Path) -> Any:
    """The event log of ``storage`` as a DataFrame, ordered by sequence."""
    events = spark.read.format("delta").load(str(storage / "system" / "events"))
    return events.orderBy("sequence.control_plane_seq_no")
