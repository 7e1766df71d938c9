"""The emulation inside a real localdlt update: pipeline code reads format("cloudFiles") unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from localdlt.runner import run_update

# Two real updates (tables, checkpoints, event log): the most expensive test of this folder.
pytestmark = pytest.mark.slow

PIPELINE = """
import dlt


@dlt.table(name="raw_events")
def raw_events():
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .load(spark.conf.get("test.landing"))
        .select("*", "_metadata.file_path")
    )
"""


def test_update_ingests_rescues_and_warns_on_a_changed_file(
    spark: SparkSession, tmp_path: Path, land_file
) -> None:
    pipeline, landing, storage = tmp_path / "pipeline", tmp_path / "landing", tmp_path / "storage"
    pipeline.mkdir()
    (pipeline / "raw_events.py").write_text(PIPELINE)
    conf = {"test.landing": str(landing)}
    land_file(landing, "a.json", '{"id": 1, "x": "a"}\n{"id": 2}\n', mtime=1_700_000_000)
    assert run_update([pipeline], storage, spark=spark, configuration=conf).ok

    land_file(landing, "a.json", '{"id": 1, "x": "a"}\n{"id": 2}\n{"id": 3}\n', mtime=1_700_000_050)
    land_file(landing, "b.json", '{"id": 4, "y": 1}\n', mtime=1_700_000_100)
    assert run_update([pipeline], storage, spark=spark, configuration=conf).ok

    a, b = f"file:{landing / 'a.json'}", f"file:{landing / 'b.json'}"
    rows = spark.read.format("delta").load(str(storage / "tables" / "raw_events")).orderBy("id").collect()
    # The schema was inferred from a.json (strings); b.json's new field is rescued; a.json's
    # rewrite (id 3) is not ingested, as on Databricks ...
    assert [tuple(r) for r in rows] == [
        ("1", "a", None, a),
        ("2", None, None, a),
        ("4", None, f'{{"y":1,"_file_path":"{b}"}}', b),
    ]
    # ... but, unlike Databricks, it is said: one WARN event, from the flow that read it.
    warnings = (
        spark.read.format("delta")
        .load(str(storage / "system" / "events"))
        .where("level = 'WARN'")
        .select("origin.flow_name", "message")
        .collect()
    )
    assert [tuple(w) for w in warnings] == [
        (
            "raw_events",
            f"Flow 'raw_events': file '{landing / 'a.json'}' was already ingested and has changed; "
            "its new content is not read again (as with Auto Loader's allowOverwrites=false)",
        )
    ]
