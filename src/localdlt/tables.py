"""Create the Delta tables of a pipeline and register them in the session catalog."""

from __future__ import annotations

import logging
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

from localdlt.definitions import Dataset

log = logging.getLogger(__name__)


def _quote(name: str) -> str:
    return ".".join(f"`{part}`" for part in name.split("."))


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def exists(path: Path) -> bool:
    return (path / "_delta_log").is_dir()


# The change data feed is on for every table localdlt writes (unless the pipeline sets the
# property itself): materialized views read it to refresh incrementally (localdlt.mv).
DEFAULT_PROPERTIES = {"delta.enableChangeDataFeed": "true"}


def create_if_missing(spark: SparkSession, dataset: Dataset, path: Path, schema: StructType | None) -> None:
    """Create the empty Delta table with the dataset's schema, partitions, properties (plus
    :data:`DEFAULT_PROPERTIES`) and comment."""
    if exists(path):
        return
    properties = {**DEFAULT_PROPERTIES, **dataset.table_properties}
    declared = dataset.schema
    if isinstance(declared, str):
        # A DDL string may hold generated columns or constraints: let SQL parse it.
        parts = [f"CREATE TABLE IF NOT EXISTS delta.`{path}` ({declared}) USING DELTA"]
        if dataset.partition_cols:
            parts.append("PARTITIONED BY (" + ", ".join(f"`{c}`" for c in dataset.partition_cols) + ")")
        if dataset.cluster_by:  # liquid clustering (cluster_by of the dataset)
            parts.append("CLUSTER BY (" + ", ".join(f"`{c}`" for c in dataset.cluster_by) + ")")
        if dataset.comment:
            parts.append("COMMENT " + _sql_string(dataset.comment))
        if properties:
            props = ", ".join(f"{_sql_string(k)} = {_sql_string(v)}" for k, v in properties.items())
            parts.append(f"TBLPROPERTIES ({props})")
        spark.sql(" ".join(parts))
        return
    columns = declared if isinstance(declared, StructType) else schema
    if columns is None or not columns.fields:
        return  # unknown yet: the first write creates the table
    builder = DeltaTable.createIfNotExists(spark).location(str(path)).addColumns(columns)
    if dataset.partition_cols:
        builder = builder.partitionedBy(*dataset.partition_cols)
    if dataset.cluster_by:  # liquid clustering (cluster_by of the dataset)
        builder = builder.clusterBy(*dataset.cluster_by)
    for key, value in properties.items():
        builder = builder.property(key, value)
    if dataset.comment:
        builder = builder.comment(dataset.comment)
    builder.execute()


# (session id, table name) -> path of the catalog entries this process made: skip re-registering.
_registered: dict[tuple[int, str], str] = {}


def register(spark: SparkSession, name: str, path: Path) -> None:
    """Make ``spark.read.table(name)`` read the table at ``path`` (an external table entry in the
    session catalog; a previous entry of ours pointing elsewhere is replaced)."""
    if not exists(path):
        return
    key = (id(spark), name)
    if _registered.get(key) == str(path) and spark.catalog.tableExists(".".join(name.split(".")[-2:])):
        return
    parts = name.split(".")[-2:]
    if len(parts) == 2:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS `{parts[0]}`")
    ident = _quote(".".join(parts))
    try:
        if spark.catalog.tableExists(".".join(parts)):
            table = spark.catalog.getTable(".".join(parts))
            if table.tableType != "EXTERNAL":
                log.warning("not registering %s: a managed table of that name exists", name)
                return
            spark.sql(f"DROP TABLE IF EXISTS {ident}")
        spark.sql(f"CREATE TABLE {ident} USING DELTA LOCATION {_sql_string(str(path))}")
        _registered[key] = str(path)
    except Exception as exc:  # noqa: BLE001 - registration is a convenience, never fatal
        log.warning("could not register table %s in the session catalog: %s", name, exc)
