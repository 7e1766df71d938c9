"""A Kafka stream's batch replayed after a crash, run on its own before the stream proper starts.

When a process dies between a micro-batch's plan (``offsets/N`` in the checkpoint) and its commit
(``commits/N``), Spark replays batch N at the next start without asking the sources for their
latest offsets first. Spark 4.1's Kafka source then fails the batch's progress report —
``KafkaMicroBatchStream.metrics`` dereferences latest offsets it never fetched (a
``NullPointerException``) — after the batch ran and committed. Left alone, every restart after such
a kill fails once, and a continuous update stops. So localdlt runs the replayed batch first, as a
query of its own, and accepts that query's failure only if the batch did commit: the data, the
exactly-once write (Delta ``txnAppId``/``txnVersion``) and the batch's event are those of the
ordinary batch function; only Spark's progress report of that one batch is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyspark.errors import StreamingQueryException

from localdlt import storage

log = logging.getLogger(__name__)

KAFKA_SOURCE = "KafkaSourceProvider"


def reads_kafka(df: Any) -> bool:
    """Whether the streaming DataFrame reads a Kafka source (from its analysed plan)."""
    return KAFKA_SOURCE in df._jdf.queryExecution().analyzed().toString()


def replay_pending_kafka_batch(
    flow: str, checkpoint: Path, df: Any, start: Callable[[dict[str, Any]], Any]
) -> None:
    """Run the batch a crash left planned but uncommitted in ``checkpoint`` as a query of its own
    (``start(trigger)`` starts the flow's query), when ``df`` reads Kafka; raise its error unless
    the batch committed (see the module docstring)."""
    batch = storage.pending_batch(checkpoint)
    if batch is None or not reads_kafka(df):
        return
    log.info("flow %s: replaying batch %d, planned before a crash and never committed", flow, batch)
    query = start({"availableNow": True})
    try:
        query.awaitTermination()
    except StreamingQueryException as exc:
        if batch not in storage.log_entries(checkpoint / "commits"):
            raise
        log.warning(
            "flow %s: replayed batch %d committed, but Spark's progress report of it failed (%s); "
            "the stream goes on from batch %d",
            flow, batch, str(exc).splitlines()[0][:300], batch + 1,
        )  # fmt: skip
