"""Exact checks of a localdlt storage folder against what the producer sent.

* :func:`layer_counts`: per layer, rows lost and duplicated against the sent messages (Bronze: the
  multiset of payloads; Silver: the valid event ids; quarantine: the bad messages) and the
  simulator's reconciliation (``orders_lakehouse.devstack.reconcile``).
* :func:`missing_events`: every batch a streaming flow committed to its table has exactly one
  ``flow_progress`` event with that batch id and the same row count as the Delta commit.
* :func:`table_differences`: two storage folders hold the same rows in the same tables (the run
  that was killed against an uninterrupted recompute of the same input).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from orders_lakehouse.devstack.reconcile import reconcile
from storage_probe import StorageProbe

INVALID_UTF8 = "<invalid utf-8>"
# Columns that hold processing time or where a row came from: equal input, different values. Where
# a row came from includes the Kafka position: of an event the producer sent twice, Silver keeps
# the copy its micro-batch saw first, and batch boundaries differ between a run that was killed and
# one that was not (the event's own columns are compared; its count is checked against the producer).
RUN_DEPENDENT = (
    "_ingested_at",
    "_source_file_modified_at",
    "_kafka_timestamp",
    "_kafka_partition",
    "_kafka_offset",
    "_processed_at",
    "_rescued_data",
    "_source_file",
)


@dataclass
class LayerCounts:
    """Rows lost / duplicated per layer and the reconciliation lines that did not match."""

    lost: dict[str, int] = field(default_factory=dict)
    duplicated: dict[str, int] = field(default_factory=dict)
    mismatches: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def total_lost(self) -> int:
        return sum(self.lost.values())

    @property
    def total_duplicated(self) -> int:
        return sum(self.duplicated.values())


def payload_key(value: bytes) -> tuple[int, str]:
    """How a sent message is recognised in Bronze: its length and text (invalid UTF-8 by length only)."""
    try:
        return len(value), value.decode("utf-8")
    except UnicodeDecodeError:
        return len(value), INVALID_UTF8


def _diff(expected: Counter, actual: Counter) -> tuple[int, int]:
    lost = sum((expected - actual).values())
    duplicated = sum((actual - expected).values())
    return lost, duplicated


def _load(spark: SparkSession, tables: Path, name: str) -> DataFrame:
    return spark.read.format("delta").load(str(tables / name))


def layer_counts(
    spark: SparkSession, tables: Path, sent: Iterable[bytes], truth: Mapping[str, Any]
) -> LayerCounts:
    """Compare Bronze, Silver and the quarantine with what was sent, exactly."""
    result = LayerCounts()
    expected_bronze = Counter(payload_key(v) for v in sent)
    bronze = _load(spark, tables, "bronze_order_events").select(
        "payload_bytes", F.when(F.col("payload_is_valid_utf8"), F.col("raw_payload")).otherwise(INVALID_UTF8)
    )
    actual_bronze = Counter((int(r[0]), r[1]) for r in bronze.collect())
    result.lost["bronze"], result.duplicated["bronze"] = _diff(expected_bronze, actual_bronze)

    silver_ids = Counter(
        r[0] for r in _load(spark, tables, "silver_order_events").select("event_id").collect()
    )
    result.lost["silver"], result.duplicated["silver"] = _diff(Counter(truth["valid_event_ids"]), silver_ids)

    quarantine = _load(spark, tables, "silver_order_events_quarantine").count()
    result.lost["quarantine"] = max(0, truth["bad_messages"] - quarantine)
    result.duplicated["quarantine"] = max(0, quarantine - truth["bad_messages"])

    result.mismatches = [(c.name, c.expected, c.actual) for c in reconcile(spark, tables, truth) if not c.ok]
    return result


def flow_events(spark: SparkSession, storage: Path) -> dict[tuple[str, int], list[int]]:
    """``(flow, batch id) -> [num_output_rows, ...]`` of the METRICS ``flow_progress`` events."""
    events = spark.read.format("delta").load(str(storage / "system" / "events"))
    rows = (
        events.where("event_type = 'flow_progress' AND origin.batch_id IS NOT NULL")
        .select("origin.flow_name", "origin.batch_id", "details")
        .collect()
    )
    found: dict[tuple[str, int], list[int]] = {}
    for flow, batch, details in rows:
        metrics = json.loads(details).get("flow_progress", {}).get("metrics")
        if metrics is not None:
            found.setdefault((flow, int(batch)), []).append(int(metrics.get("num_output_rows", 0)))
    return found


@dataclass
class EventAudit:
    """Committed batches checked, those without exactly one right event, and duplicate events."""

    batches: int = 0
    missing: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)


def missing_events(spark: SparkSession, storage: Path, flows: Iterable[str]) -> EventAudit:
    """Audit the event log of ``storage`` against the Delta commits of each streaming flow."""
    probe = StorageProbe(storage)
    events = flow_events(spark, storage)
    audit = EventAudit()
    for flow in flows:
        for commit in probe.flow_commits(flow, flow):
            audit.batches += 1
            reported = events.get((flow, commit.txn_version), [])
            if len(reported) > 1:
                audit.duplicated.append(f"{flow} batch {commit.txn_version}: {len(reported)} events")
            if commit.rows not in reported:
                audit.missing.append(
                    f"{flow} batch {commit.txn_version}: committed {commit.rows} rows, "
                    f"events {reported or 'none'}"
                )
    return audit


def table_rows(spark: SparkSession, tables: Path, name: str) -> Counter:
    """The rows of a table as a multiset of tuples, run-dependent columns left out."""
    df = _load(spark, tables, name)
    columns = sorted(c for c in df.columns if c not in RUN_DEPENDENT)
    return Counter(tuple(r) for r in df.select(*[F.col(f"`{c}`").cast("string") for c in columns]).collect())


def table_differences(
    spark: SparkSession, left: Path, right: Path, names: Iterable[str]
) -> dict[str, tuple[int, int]]:
    """``name -> (rows only in left, rows only in right)`` for each table that differs."""
    differences = {}
    for name in names:
        a, b = table_rows(spark, left, name), table_rows(spark, right, name)
        if a != b:
            differences[name] = (sum((a - b).values()), sum((b - a).values()))
    return differences


def missing_view_events(spark: SparkSession, storage: Path, views: Iterable[str]) -> EventAudit:
    """Audit the event log against the refreshes of materialized views: every data commit of a
    view's table (a refresh that wrote) must be matched by one METRICS ``flow_progress`` event of
    the view's flow, and no event id may appear twice. (A refresh that finds nothing new emits its
    event without a commit, so events may outnumber commits; commits may not outnumber events.)"""
    from localdlt.recovery import DATA_OPERATIONS

    events = spark.read.format("delta").load(str(storage / "system" / "events"))
    metrics = (
        events.where("event_type = 'flow_progress' AND level = 'METRICS' AND origin.batch_id IS NULL")
        .select("origin.flow_name", "id")
        .collect()
    )
    audit = EventAudit()
    for view in views:
        table = storage / "tables" / view
        commits = [v for v, info in _view_commits(table) if info.get("operation") in DATA_OPERATIONS]
        ids = [event_id for flow, event_id in metrics if flow == view]
        audit.batches += len(commits)
        if len(ids) < len(commits):
            audit.missing.append(f"{view}: {len(commits)} refresh commits {commits}, {len(ids)} events")
        repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
        if repeated:
            audit.duplicated.append(f"{view}: event ids written twice {repeated}")
    return audit


def _view_commits(table: Path) -> list[tuple[int, dict[str, Any]]]:
    found = []
    for file in sorted((table / "_delta_log").glob("*.json")):
        actions = [json.loads(line) for line in file.read_text().splitlines() if line.strip()]
        found.append((int(file.stem), next((a["commitInfo"] for a in actions if "commitInfo" in a), {})))
    return found
