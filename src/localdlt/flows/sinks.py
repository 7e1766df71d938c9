"""Sinks other than Delta (which go through :mod:`localdlt.writes`).

- Kafka (``create_sink(format="kafka")``): a plain Structured Streaming Kafka write, its row
  counts reported from the query's progress.
- ForEachBatch (``@foreach_batch_sink``): the user's handler gets every micro-batch with its
  batch id; the ids handed over are marked next to the checkpoint, so a batch replayed by Spark
  after the handler returned is not handed over again, and each batch is reported once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame

from localdlt import storage
from localdlt.expectations import BatchQuality
from localdlt.flow_context import FlowContext
from localdlt.graph import PlannedFlow
from localdlt.recovery import run_replayed_batch
from localdlt.sources.kafka import rewrite_kafka_options

log = logging.getLogger(__name__)


def foreach_batch_function(context: FlowContext, planned: PlannedFlow) -> Callable[[DataFrame, int], None]:
    """The ``foreachBatch`` function of an append flow into a ``@foreach_batch_sink``."""
    target = context.graph.datasets[planned.flow.target]
    handler = target.sink_handler
    assert handler is not None
    checkpoint = context.layout.checkpoint(planned.name)

    def process(batch_df: DataFrame, batch_id: int) -> None:
        if batch_id <= storage.last_batch(checkpoint):
            log.info("flow %s: batch %d already handed to sink %s, skipped on replay", planned.name, batch_id,
                     target.name)
            run_replayed_batch(batch_df)  # its stateful operators must commit their state
            return
        # Persisted: the row count and the handler (which may read the batch several times)
        # share one computation of the micro-batch.
        batch_df = batch_df.persist()
        try:
            rows = batch_df.count()
            handler(batch_df, batch_id)
        finally:
            batch_df.unpersist()
        storage.mark_batch(checkpoint, batch_id)
        context.reporter.report_batch(planned, BatchQuality(rows, rows, 0, ()), batch_id)

    return process


def start_kafka_sink(
    context: FlowContext, planned: PlannedFlow, df: DataFrame, trigger: dict[str, Any]
) -> KafkaSinkQuery:
    """Start the Kafka write of ``df`` (the Databricks-only ``kafkashaded.`` JAAS class rewritten)."""
    target = context.graph.datasets[planned.flow.target]
    options = rewrite_kafka_options(dict(target.sink_options))

    def on_progress(rows: int) -> None:
        context.reporter.report_batch(planned, BatchQuality(rows, rows, 0, ()), None)

    checkpoint = context.layout.checkpoint(planned.name)
    query = (df.writeStream.format("kafka").options(**options)
             .option("checkpointLocation", str(checkpoint)).trigger(**trigger).start())
    return KafkaSinkQuery(query, on_progress)


class KafkaSinkQuery:
    """A Kafka sink query whose row counts are reported from its progress when it ends."""

    def __init__(self, query: Any, on_progress: Callable[[int], None]) -> None:
        self._query = query
        self._on_progress = on_progress
        self._reported: set[str] = set()

    def _report(self) -> None:
        for progress in self._query.recentProgress:
            batch = f"{_field(progress, 'runId')}:{_field(progress, 'batchId')}"
            rows = _field(progress, "numInputRows") or 0
            if batch not in self._reported and rows:
                self._reported.add(batch)
                self._on_progress(int(rows))

    def awaitTermination(self) -> None:  # noqa: N802 - StreamingQuery's name
        """Wait for the query to end, then report its batches."""
        try:
            self._query.awaitTermination()
        finally:
            self._report()

    @property
    def isActive(self) -> bool:  # noqa: N802
        """Whether the query runs (its new batches are reported first)."""
        self._report()
        return self._query.isActive

    @property
    def status(self) -> dict[str, Any]:
        """The query's current status (``isTriggerActive`` among others)."""
        return self._query.status

    def exception(self) -> Any:
        """The query's failure, if any."""
        return self._query.exception()

    def stop(self) -> None:
        """Stop the query and report its last batches."""
        self._query.stop()
        self._report()


def _field(progress: Any, name: str) -> Any:
    return progress.get(name) if isinstance(progress, dict) else getattr(progress, name, None)
