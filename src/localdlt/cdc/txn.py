"""Idempotent Delta writes keyed by (application id, batch id).

Delta records ``SetTransaction(appId, version)`` in the commit and skips a later write whose
version is not greater than the recorded one for that app id (``txn.txnVersion(appId) >=
txnVersion``). Appends take the ``txnAppId`` / ``txnVersion`` writer options; MERGE has no
writer options, so it reads the session confs ``spark.databricks.delta.write.txnAppId`` /
``txnVersion`` (delta-io/delta PR #1555). Those confs are set just around the one MERGE and
always restored, so that no other write of the session inherits them.

Each table written gets its own app id (a second write to the same table with the same
(appId, version) would be skipped).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from delta.tables import DeltaMergeBuilder
from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

TXN_APP_ID_CONF = "spark.databricks.delta.write.txnAppId"
TXN_VERSION_CONF = "spark.databricks.delta.write.txnVersion"
# Our MERGE sources are already materialised (localCheckpoint): Delta need not copy them again.
MATERIALIZE_SOURCE_CONF = "spark.databricks.delta.merge.materializeSource"

# Session confs are shared by every thread using the session: one idempotent MERGE at a time
# per process. (In foreachBatch each query has its own cloned session, so this rarely waits.)
_SESSION_CONF_LOCK = threading.Lock()


@contextmanager
def session_txn(
    spark: SparkSession, app_id: str, version: int, extra: dict[str, str] | None = None
) -> Iterator[None]:
    """Set the Delta txn session confs (and ``extra`` ones) for the writes inside the block,
    then restore them."""
    confs = {TXN_APP_ID_CONF: app_id, TXN_VERSION_CONF: str(version), **(extra or {})}
    with _SESSION_CONF_LOCK:
        previous = {key: spark.conf.get(key, None) for key in confs}
        for key, value in confs.items():
            spark.conf.set(key, value)
        try:
            yield
        finally:
            for key, value in previous.items():
                if value is None:
                    spark.conf.unset(key)
                else:
                    spark.conf.set(key, value)


class MergeResult:
    """What one idempotent MERGE did: ``skipped`` when Delta had already committed this
    (app id, version); otherwise the row counts Delta reports."""

    __slots__ = ("skipped", "inserted", "updated", "deleted")

    def __init__(self, skipped: bool, inserted: int = 0, updated: int = 0, deleted: int = 0) -> None:
        self.skipped = skipped
        self.inserted = inserted
        self.updated = updated
        self.deleted = deleted

    def __repr__(self) -> str:
        return (
            f"MergeResult(skipped={self.skipped}, inserted={self.inserted}, updated={self.updated}, "
            f"deleted={self.deleted})"
        )


def idempotent_merge(
    spark: SparkSession, builder: DeltaMergeBuilder, app_id: str, version: int
) -> MergeResult:
    """Run ``builder`` under (app_id, version). A MERGE that Delta skips returns no metrics
    row, which is how a replay is recognised."""
    with session_txn(spark, app_id, version, extra={MATERIALIZE_SOURCE_CONF: "none"}):
        rows = builder.execute().collect()
    if not rows:
        log.info("MERGE skipped: (%s, %s) already committed", app_id, version)
        return MergeResult(skipped=True)
    row = rows[0]
    return MergeResult(
        False, int(row["num_inserted_rows"]), int(row["num_updated_rows"]), int(row["num_deleted_rows"])
    )


def idempotent_append(frame: DataFrame, path: str, app_id: str, version: int) -> None:
    """Append ``frame`` to the Delta table at ``path`` unless (app_id, version) is already committed."""
    (
        frame.write.format("delta")
        .mode("append")
        .option("txnAppId", app_id)
        .option("txnVersion", version)
        .save(path)
    )
