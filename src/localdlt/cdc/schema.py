"""The CDC target-schema rule the planner needs: what table a CDC flow writes for a source
schema, without any I/O. Imports only the CDC engine (never the executor), so the planner can
use it without pulling in run-time code."""

from __future__ import annotations

from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql.types import LongType, StructType

from localdlt.cdc.snapshot import resolve_snapshot_columns
from localdlt.cdc.spec import CdcSpec, SnapshotCdcSpec
from localdlt.cdc.writer import CdcWriter


def build_spec(spec: dict[str, Any]) -> CdcSpec:
    """The engine's ``CdcSpec`` from the arguments recorded by ``create_auto_cdc_flow``."""
    return CdcSpec.from_kwargs(**spec)


def target_schema(spark: SparkSession, spec: dict[str, Any], source_schema: StructType) -> StructType:
    """The target schema the CDC engine gives ``source_schema`` for the recorded ``spec`` (a
    ``create_auto_cdc_flow`` or ``create_auto_cdc_from_snapshot_flow`` argument dict).

    A snapshot flow keeps keys + selected columns; SCD type 2 adds ``__START_AT``/``__END_AT``
    (typed like ``sequence_by``, or as the snapshot version, a long, for snapshot flows).
    Argument errors are ``ValueError``/``TypeError`` naming the argument.
    """
    if "sequence_by" not in spec:
        snapshot_spec = SnapshotCdcSpec.from_kwargs(**spec)
        return resolve_snapshot_columns(spark, snapshot_spec, source_schema, LongType()).target_schema()
    return CdcWriter(spark, build_spec(spec), "unused", "unused", "planning").target_schema(source_schema)
