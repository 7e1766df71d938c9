"""What an update returns: its status, and per flow the status, rows, batches and expectation metrics."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from localdlt.expectations import BatchQuality, ExpectationMetric


class FlowStatus:
    """Databricks' flow states used locally."""

    QUEUED = "QUEUED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    EXCLUDED = "EXCLUDED"
    STOPPED = "STOPPED"


@dataclass
class FlowResult:
    """One flow's outcome in an update (mutable while the update runs)."""

    name: str
    target: str
    status: str = FlowStatus.QUEUED
    rows_written: int = 0
    batches: int = 0
    dropped_records: int = 0
    expectations: dict[str, ExpectationMetric] = field(default_factory=dict)
    error: str | None = None
    error_class: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, quality: BatchQuality) -> None:
        """Add one batch's numbers."""
        with self._lock:
            self.batches += 1
            self.rows_written += quality.output_rows
            self.dropped_records += quality.dropped_records
            for metric in quality.expectations:
                seen = self.expectations.get(metric.name)
                if seen is None:
                    self.expectations[metric.name] = metric
                else:
                    self.expectations[metric.name] = ExpectationMetric(
                        metric.name, metric.dataset, seen.passed_records + metric.passed_records,
                        seen.failed_records + metric.failed_records,
                    )


@dataclass
class UpdateResult:
    """The outcome of one update."""

    update_id: str
    status: str
    flows: dict[str, FlowResult]

    @property
    def ok(self) -> bool:
        return self.status == "COMPLETED"

    def failed_flows(self) -> list[FlowResult]:
        return [flow for flow in self.flows.values() if flow.status == FlowStatus.FAILED]
