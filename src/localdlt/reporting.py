"""What an update tells the world about its flows: ``flow_progress`` status events, failures
(with the user's error behind py4j/streaming wrappers), per-batch metrics events, the WARN event
of a changed Auto Loader file, and the listener calls that go with each. Also the cadence of
event-log flushes (each flush is a Delta commit)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from localdlt.definitions import DatasetKind
from localdlt.errors import LocalDltError
from localdlt.eventlog import EventLog, Origin, batch_event_id
from localdlt.expectations import BatchQuality
from localdlt.graph import PipelineGraph, PlannedFlow
from localdlt.recovery import is_disk_full
from localdlt.results import FlowResult, FlowStatus
from localdlt.sources.kafka import explain_kafka_failure
from localdlt.sources.landing_gaps import GAP_MESSAGES

log = logging.getLogger(__name__)

Listener = Callable[[FlowResult], None]
EVENT_FLUSH_SECONDS = 5.0


class Reporter:
    """Flow results and their events for one update.

    ``results`` holds one :class:`FlowResult` per flow that writes (views have none);
    ``failed_datasets`` the targets of failed or skipped flows (their readers are skipped).
    """

    def __init__(self, graph: PipelineGraph, events: EventLog, listener: Listener | None) -> None:
        self.graph = graph
        self.events = events
        self.listener = listener
        self.results = {
            name: FlowResult(name, planned.flow.target)
            for name, planned in graph.flows.items()
            if graph.datasets[planned.flow.target].kind is not DatasetKind.VIEW
        }
        self.failed_datasets: set[str] = set()
        # The Delta app id of each streaming flow's checkpoint: names its batches' METRICS events.
        self.batch_app_ids: dict[str, str] = {}
        self._reported: dict[str, int] = {}
        self._last_flush = time.monotonic()

    def any_failed(self) -> bool:
        """Whether a flow of this update has failed."""
        return any(r.status == FlowStatus.FAILED for r in self.results.values())

    def set_status(self, planned: PlannedFlow, status: str, *, message: str | None = None) -> None:
        """Record ``status`` for the flow, emit its ``flow_progress`` event, call the listener."""
        result = self.results[planned.name]
        result.status = status
        text = message or (f"Flow '{planned.name}' has {status}." if status in ("COMPLETED", "FAILED")
                           else f"Flow '{planned.name}' is {status}.")
        self.events.emit("flow_progress", text, {"flow_progress": {"status": status}},
                         origin=Origin(flow_name=planned.name, dataset_name=planned.flow.target),
                         level="ERROR" if status == FlowStatus.FAILED else "INFO")
        if self.listener is not None:
            self.listener(result)

    def fail(self, planned: PlannedFlow, exc: BaseException) -> None:
        """Record the flow as FAILED with the user's error and emit the ERROR event."""
        result = self.results[planned.name]
        error = root_error(exc)
        if isinstance(error, LocalDltError):
            result.error, result.error_class = error.detail, error.error_class
        else:
            result.error, result.error_class = f"{type(error).__name__}: {error}", type(error).__name__
        result.error = explain_kafka_failure(result.error)  # names the broker address and topic
        if is_disk_full(result.error):
            first_line = result.error.strip().splitlines()[0]
            result.error = (f"No space left on device: the storage is full; this batch was not committed "
                            f"(Delta commits are atomic). Free space and run again: the next update resumes. "
                            f"({first_line})")
        self.failed_datasets.add(planned.flow.target)
        log.error("flow %s failed: %s", planned.name, result.error)
        result.status = FlowStatus.FAILED
        self.events.emit(
            "flow_progress", f"Flow '{planned.name}' has FAILED.", {"flow_progress": {"status": "FAILED"}},
            origin=Origin(flow_name=planned.name, dataset_name=planned.flow.target), level="ERROR",
            error={"exceptions": [{"class_name": result.error_class, "message": result.error}],
                   "fatal": True},
        )
        if self.listener is not None:
            self.listener(result)

    def report_batch(self, planned: PlannedFlow, quality: BatchQuality, batch_id: int | None) -> None:
        """Add a written batch's numbers to the flow's result and emit its METRICS event (for a
        streaming flow's batch, under the id :func:`~localdlt.eventlog.batch_event_id` gives it)."""
        self.results[planned.name].add(quality)
        details: dict[str, Any] = {"status": "RUNNING", "metrics": {"num_output_rows": quality.output_rows}}
        if quality.expectations or quality.dropped_records:
            details["data_quality"] = {
                "dropped_records": quality.dropped_records,
                "expectations": [
                    {"name": m.name, "dataset": m.dataset, "passed_records": m.passed_records,
                     "failed_records": m.failed_records} for m in quality.expectations
                ],
            }
        origin = Origin(flow_name=planned.name, dataset_name=planned.flow.target, batch_id=batch_id)
        app_id = self.batch_app_ids.get(planned.name)
        event_id = batch_event_id(app_id, planned.name, batch_id) if app_id and batch_id is not None else None
        self.events.emit("flow_progress", f"Flow '{planned.name}' is RUNNING.", {"flow_progress": details},
                         origin=origin, level="METRICS", event_id=event_id)
        if batch_id is not None:
            self._reported[planned.name] = batch_id
        if self.listener is not None:
            self.listener(self.results[planned.name])

    def reported(self, flow: str, batch_id: int) -> bool:
        """Whether this process emitted the METRICS event of ``flow``'s batch ``batch_id``."""
        return self._reported.get(flow) == batch_id

    def changed_file_reporter(self, flow: str) -> Callable[[str], None]:
        """The ``on_changed_file`` callback of a flow's Auto Loader: a WARN event and a log line."""
        target = self.graph.flows[flow].flow.target if flow in self.graph.flows else None

        def report(path: str, kind: str = "changed") -> None:
            if kind == "directory":
                message = (f"Flow '{flow}': '{path}' is a folder inside the landing folder; its files are "
                           "not ingested (only the folder's own files and k=v partition folders are read)")
                field = "skipped_directory"
            elif kind in GAP_MESSAGES:  # deleted after planning / no read permission (landing_gaps)
                message = f"Flow '{flow}': " + GAP_MESSAGES[kind].format(path=path)
                field = f"{kind}_file"
            else:
                message = (f"Flow '{flow}': file '{path}' was already ingested and has changed; "
                           "its new content is not read again (as with Auto Loader's allowOverwrites=false)")
                field = "changed_file"
            log.warning(message)
            self.events.emit("flow_progress", message, {"flow_progress": {"status": "RUNNING", field: path}},
                             origin=Origin(flow_name=flow, dataset_name=target), level="WARN")

        return report

    def maybe_flush(self) -> None:
        """Flush the event log if the last flush is a few seconds old."""
        # Each flush is a Delta commit: write events every few seconds, not one commit per event.
        if time.monotonic() - self._last_flush >= EVENT_FLUSH_SECONDS:
            self.events.flush()
            self._last_flush = time.monotonic()


class BackgroundFlush:
    """The event log's flushes, made from a thread of their own beside the flows (each flush is a
    Delta commit: never on a flow's path, never between two flows)."""

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="localdlt-events")
        self._flushing: Future[None] | None = None

    def tick(self) -> None:
        """Start a flush if none is running and the last one is a few seconds old; raise the
        error of the previous one (a full storage ends the update, as before)."""
        if self._flushing is None or self._flushing.done():
            if self._flushing is not None:
                self._flushing.result()
            self._flushing = self._thread.submit(self._reporter.maybe_flush)

    def close(self) -> None:
        """Wait for the running flush (raising its error) and release the thread."""
        self._thread.shutdown(wait=True)
        if self._flushing is not None:
            self._flushing.result()


def root_error(exc: BaseException) -> BaseException:
    """The user's error behind py4j/streaming wrappers when it is one of ours."""
    seen = exc
    while seen is not None:
        if isinstance(seen, LocalDltError):
            return seen
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return exc
