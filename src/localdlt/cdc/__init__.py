"""The CDC engine of localdlt: Databricks' ``create_auto_cdc_flow`` (``apply_changes``) and
``create_auto_cdc_from_snapshot_flow`` (``apply_changes_from_snapshot``) on open-source
Spark + Delta Lake, SCD type 1 and 2, applied micro-batch by micro-batch with Delta MERGE.

All CDC code lives here: :mod:`~localdlt.cdc.api` (the ``dlt``/``dp`` registration functions),
:mod:`~localdlt.cdc.schema` (the target-schema rule the planner uses),
:mod:`~localdlt.cdc.runner` (run-time wiring: given a read resolver and a metrics callback), and
the engine (``spec``, ``columns``, ``scd1``, ``scd2``, ``snapshot``, ``writer``, ``txn``), which
this package exports.

Example::

    from localdlt.cdc import CdcSpec, CdcWriter

    spec = CdcSpec(target="customers", source="customer_changes", keys=("id",), sequence_by="ts",
                   apply_as_deletes="op = 'DELETE'", except_column_list=["op", "ts"])
    writer = CdcWriter(spark, spec, "/data/tables/customers", "/data/checkpoints/customers/cdc", app_id)
    changes.writeStream.foreachBatch(writer.write_batch).option("checkpointLocation", ck).start()
"""

from localdlt.cdc.columns import END_AT, START_AT, ResolvedColumns
from localdlt.cdc.snapshot import (
    SnapshotOrderError,
    apply_snapshot,
    iterate_snapshots,
    last_snapshot_version,
)
from localdlt.cdc.spec import (
    DEFAULT_TOMBSTONE_GC_THRESHOLD_SECONDS,
    TOMBSTONE_GC_THRESHOLD_CONF,
    CdcError,
    CdcNullKeyError,
    CdcNullSequenceError,
    CdcSchemaError,
    CdcSpec,
    CdcSpecError,
    CdcValidationError,
    SnapshotCdcSpec,
)
from localdlt.cdc.writer import CdcBatchMetrics, CdcWriter, tombstone_gc_threshold

__all__ = [
    "DEFAULT_TOMBSTONE_GC_THRESHOLD_SECONDS",
    "END_AT",
    "START_AT",
    "TOMBSTONE_GC_THRESHOLD_CONF",
    "CdcBatchMetrics",
    "CdcError",
    "CdcNullKeyError",
    "CdcNullSequenceError",
    "CdcSchemaError",
    "CdcSpec",
    "CdcSpecError",
    "CdcValidationError",
    "CdcWriter",
    "ResolvedColumns",
    "SnapshotCdcSpec",
    "SnapshotOrderError",
    "apply_snapshot",
    "iterate_snapshots",
    "last_snapshot_version",
    "tombstone_gc_threshold",
]
