"""Whether these tests can run here (Databricks Connect installed, a workspace configured), the
remote session, and local fixture files turned into DataFrames (a remote session cannot read
this machine's files)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def skip_reason() -> str | None:
    """Why the remote tests cannot run, or None when they can."""
    if importlib.util.find_spec("databricks.connect") is None:
        return (
            "databricks-connect is not installed in this environment (it must not be: it replaces pyspark); "
            "run `make test-remote` (scripts/remote-env.sh) for the remote tests"
        )
    from databricks.sdk.config import Config

    try:
        config = Config()
    except ValueError as error:  # the SDK's "cannot configure default credentials"
        return f"no Databricks workspace configured: {error}"
    if not config.host:
        return "no Databricks workspace configured: set DATABRICKS_HOST or DATABRICKS_CONFIG_PROFILE"
    return None


def remote_spark() -> Any:
    """A Databricks Connect session: the configured cluster, else serverless compute (the
    fallback Databricks' own bundle templates use)."""
    from databricks.connect import DatabricksSession
    from databricks.sdk.config import Config

    config = Config()
    if not (config.cluster_id or config.serverless_compute_id or os.environ.get("SPARK_REMOTE")):
        os.environ["DATABRICKS_SERVERLESS_COMPUTE_ID"] = "auto"
    builder = DatabricksSession.builder
    if hasattr(builder, "validateSession"):
        builder = builder.validateSession()  # DB Connect must not be newer than the compute
    return builder.getOrCreate()


def landing_frame(spark: Any, folder: Path) -> Any:
    """The rows ``spark.read.format("text").load(folder).select("*", "_metadata")`` gives, built
    from the files on this machine: one row per line, with the file path and modification time."""
    from pyspark.sql.types import StringType, StructField, StructType, TimestampType

    schema = StructType(
        [
            StructField("value", StringType()),
            StructField(
                "_metadata",
                StructType(
                    [
                        StructField("file_path", StringType()),
                        StructField("file_modification_time", TimestampType()),
                    ]
                ),
            ),
        ]
    )
    rows = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        modified = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.timezone.utc)
        text = path.read_bytes().decode("utf-8", errors="replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # a final newline ends the last line, it does not start a new one
        rows.extend((line.removesuffix("\r"), (f"file:{path}", modified)) for line in lines)
    return spark.createDataFrame(rows, schema)


def transform_test_helpers() -> ModuleType:
    """tests/unit/transforms/conftest.py loaded as a plain module, for its comparison helpers
    (``expected``, ``table_rows``): the remote tests compare with the same expected files."""
    path = REPO / "tests" / "unit" / "transforms" / "conftest.py"
    spec = importlib.util.spec_from_file_location("transforms_test_helpers", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
