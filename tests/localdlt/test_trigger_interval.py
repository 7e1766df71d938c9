"""``pipelines.trigger.interval`` for the whole pipeline or one dataset (Databricks' "set trigger
interval for continuous pipelines"): parsed, checked when the graph is planned, and given to each
stream's ``processingTime`` trigger (the views' spacing is in ``test_refresher.py``)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from localdlt.errors import InvalidArgumentError
from localdlt.results import FlowResult
from localdlt.runner import run_update, validate
from localdlt.trigger_interval import seconds


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10 seconds", 10.0), ("1 second", 1.0), ("2 Minutes", 120.0), ("1 hour", 3600.0), ("1 day", 86400.0),
     ("500 milliseconds", 0.5), ("1.5 seconds", 1.5), (" 3 minute ", 180.0)],
)  # fmt: skip
def test_an_interval_is_a_number_and_a_unit(value: str, expected: float) -> None:
    assert seconds(value, where="x") == expected


@pytest.mark.parametrize("value", ["10 sec", "soon", "", "-1 seconds", "10", "seconds"])
def test_anything_else_is_refused_with_who_set_it(value: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        seconds(value, where="flow 'silver'")
    assert info.value.detail == (
        "pipelines.trigger.interval of flow 'silver' must be a number and a time unit (millisecond(s), "
        f"second(s), minute(s), hour(s), day(s)), e.g. '10 seconds'; got {value!r}"
    )


def test_a_bad_dataset_interval_fails_validation_at_its_definition(spark: Any, write_pipeline: Any) -> None:
    folder = write_pipeline({"p.py": (
        "import dlt\n"
        "@dlt.table(spark_conf={'pipelines.trigger.interval': 'often'})\n"
        "def a():\n"
        "    return spark.range(1)\n"
    )})  # fmt: skip
    with pytest.raises(InvalidArgumentError) as info:
        validate([folder], spark=spark)
    assert info.value.params == {
        "argument": "pipelines.trigger.interval", "value": "often", "where": "flow 'a'"}
    assert str(info.value.location) == f"{folder / 'p.py'}:2"


def test_a_bad_interval_set_in_sql_fails_validation(spark: Any, write_pipeline: Any) -> None:
    folder = write_pipeline({"p.sql": (
        "SET pipelines.trigger.interval = every now and then;\n"
        "CREATE MATERIALIZED VIEW v AS SELECT 1 AS id;\n"
    )})  # fmt: skip
    with pytest.raises(InvalidArgumentError) as info:
        validate([folder], spark=spark)
    assert info.value.params["value"] == "every now and then" and info.value.params["where"] == "flow 'v'"


def test_a_bad_pipeline_interval_fails_before_the_update(
    spark: Any, tmp_path: Path, write_pipeline: Any
) -> None:
    folder = write_pipeline({"p.py": "import dlt\n@dlt.table\ndef a():\n    return spark.range(1)\n"})
    conf = {"pipelines.trigger.interval": "1x"}
    with pytest.raises(InvalidArgumentError, match="of the pipeline configuration must be"):
        run_update([folder], tmp_path / "storage", spark=spark, configuration=conf)
    assert not (tmp_path / "storage" / "system").exists()  # no update was started


PIPELINE = """
import dlt
from pyspark.sql import functions as F

@dlt.table(spark_conf={"pipelines.trigger.interval": "7 seconds"})
def bronze():
    return spark.readStream.schema("id INT").json(spark.conf.get("test.landing"))

@dlt.table
def silver():
    return dlt.read_stream("bronze").withColumn("twice", F.col("id") * 2)
"""


def test_each_stream_triggers_at_its_datasets_interval_else_the_pipelines(
    spark: Any, tmp_path: Path, write_pipeline: Any, landing: Any, rows: Any
) -> None:
    folder = landing("in", "1.json", [{"id": 1}, {"id": 2}])
    stop = threading.Event()
    triggers: dict[str, str] = {}

    def listener(flow: FlowResult) -> None:
        if flow.name == "silver" and flow.rows_written >= 2 and not triggers:
            for query in spark.streams.active:  # both streams still run: read their triggers
                execution = query._jsq.streamingQuery()
                flow_name = Path(execution.resolvedCheckpointRoot()).name
                triggers[flow_name] = execution.trigger().toString()
            stop.set()

    storage = tmp_path / "storage"
    result = run_update(
        [write_pipeline({"p.py": PIPELINE})], storage, spark=spark, continuous=True, duration=300,
        stop_event=stop, listener=listener,
        configuration={"test.landing": str(folder), "pipelines.trigger.interval": "500 milliseconds"},
    )  # fmt: skip
    assert result.ok, result.failed_flows()
    assert triggers == {"bronze": "ProcessingTimeTrigger(7000)", "silver": "ProcessingTimeTrigger(500)"}
    assert rows(storage / "tables" / "silver", "id", "twice") == [(1, 2), (2, 4)]
