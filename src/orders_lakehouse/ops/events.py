"""Read a pipeline's event log over REST and derive flow and expectation metrics from it.

The REST call is made through the SDK's API client (same auth, retries and errors), not through
``w.pipelines.list_pipeline_events``: the SDK's typed ``PipelineEvent`` has no ``details`` field, and
``details`` is where the flow metrics and the expectation results are.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from databricks.sdk import WorkspaceClient

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # events per request (the API may return fewer)


@dataclass(frozen=True)
class Event:
    """One event-log entry, with ``details`` parsed (a dict, empty when absent)."""

    id: str
    timestamp: str
    event_type: str
    level: str
    message: str
    update_id: str | None
    flow_name: str | None
    dataset_name: str | None
    details: dict[str, Any]
    error: dict[str, Any] | None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Event:
        """An event from the REST payload (``details`` is an object there, a JSON string in the
        event-log table: both are accepted)."""
        origin = raw.get("origin") or {}
        details = raw.get("details") or {}
        if isinstance(details, str):
            details = json.loads(details)
        return cls(
            id=str(raw.get("id", "")),
            timestamp=str(raw.get("timestamp", "")),
            event_type=str(raw.get("event_type", "")),
            level=str(raw.get("level", "")),
            message=str(raw.get("message", "")),
            update_id=origin.get("update_id"),
            flow_name=origin.get("flow_name"),
            dataset_name=origin.get("dataset_name"),
            details=details,
            error=raw.get("error"),
        )


def event_filter(*, update_id: str | None = None, levels: list[str] | None = None) -> str | None:
    """The API's SQL-like filter: ``update_id = '…'`` (the form the Databricks CLI uses) and
    ``level in (…)``, joined with AND."""
    clauses = []
    if update_id:
        clauses.append(f"update_id = '{_quote(update_id)}'")
    if levels:
        clauses.append("level in (" + ", ".join(f"'{_quote(level.upper())}'" for level in levels) + ")")
    return " AND ".join(clauses) or None


def iter_events(w: WorkspaceClient, pipeline_id: str, *, filter: str | None = None) -> Iterator[Event]:
    """Every matching event, newest first, following ``next_page_token``.

    A page token may only travel with ``max_results`` (the API rejects other fields beside it), so
    later pages send just those two."""
    query: dict[str, Any] = {"max_results": PAGE_SIZE}
    if filter:
        query["filter"] = filter
    path = f"/api/2.0/pipelines/{pipeline_id}/events"
    while True:
        page = w.api_client.do("GET", path, query=query, headers={"Accept": "application/json"})
        for raw in page.get("events") or []:
            yield Event.from_json(raw)
        token = page.get("next_page_token")
        if not token:
            return
        query = {"max_results": PAGE_SIZE, "page_token": token}


def recent_events(
    w: WorkspaceClient, pipeline_id: str, *, limit: int, filter: str | None = None
) -> list[Event]:
    """The ``limit`` newest matching events, oldest first (the order a log is read in)."""
    events: list[Event] = []
    for event in iter_events(w, pipeline_id, filter=filter):
        events.append(event)
        if len(events) >= limit:
            break
    return list(reversed(events))


@dataclass(frozen=True)
class ExpectationMetrics:
    """One expectation of one dataset over an update: rows that passed and that failed it."""

    dataset: str
    name: str
    passed_records: int
    failed_records: int

    @property
    def failure_rate(self) -> float:
        """failed / (passed + failed), 0.0 when no row was checked."""
        total = self.passed_records + self.failed_records
        return self.failed_records / total if total else 0.0


@dataclass(frozen=True)
class FlowMetrics:
    """One flow over an update: rows written, rows dropped by expectations, last status."""

    flow_name: str
    output_rows: int
    dropped_records: int
    status: str


def expectation_metrics(events: list[Event]) -> list[ExpectationMetrics]:
    """Sum of ``details.flow_progress.data_quality.expectations`` per (dataset, expectation).

    A flow reports its metrics once per micro-batch, so summing every ``flow_progress`` event of
    an update gives the update's totals."""
    totals: dict[tuple[str, str], list[int]] = {}
    for event in events:
        if event.event_type != "flow_progress":
            continue
        quality = (event.details.get("flow_progress") or {}).get("data_quality") or {}
        for item in _as_list(quality.get("expectations")):
            key = (str(item.get("dataset", event.dataset_name or "")), str(item.get("name", "")))
            counts = totals.setdefault(key, [0, 0])
            counts[0] += int(item.get("passed_records") or 0)
            counts[1] += int(item.get("failed_records") or 0)
    return [
        ExpectationMetrics(dataset=dataset, name=name, passed_records=passed, failed_records=failed)
        for (dataset, name), (passed, failed) in sorted(totals.items())
    ]


def flow_metrics(events: list[Event]) -> list[FlowMetrics]:
    """Per flow: summed ``metrics.num_output_rows`` and ``data_quality.dropped_records``, and the
    status of its newest ``flow_progress`` event (``events`` in any order)."""
    rows: dict[str, list[int]] = {}
    status: dict[str, tuple[str, str]] = {}
    for event in events:
        if event.event_type != "flow_progress" or not event.flow_name:
            continue
        progress = event.details.get("flow_progress") or {}
        counts = rows.setdefault(event.flow_name, [0, 0])
        counts[0] += int((progress.get("metrics") or {}).get("num_output_rows") or 0)
        counts[1] += int((progress.get("data_quality") or {}).get("dropped_records") or 0)
        if event.flow_name not in status or event.timestamp >= status[event.flow_name][0]:
            status[event.flow_name] = (event.timestamp, str(progress.get("status", "")))
    return [
        FlowMetrics(flow_name=name, output_rows=out, dropped_records=dropped, status=status[name][1])
        for name, (out, dropped) in sorted(rows.items())
    ]


def _as_list(value: Any) -> list[dict[str, Any]]:
    # The event-log table stores the expectations array as a JSON string inside details.
    if isinstance(value, str):
        value = json.loads(value)
    return [item for item in value or [] if isinstance(item, dict)]


def _quote(text: str) -> str:
    return text.replace("'", "''")
