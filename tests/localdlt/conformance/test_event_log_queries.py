"""Databricks' documented event-log queries ("Monitor pipelines with the event log": the raw view
of ``event_log(...)``, the latest update, lineage, data quality) run unchanged on a local run."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance_data import CLICKSTREAM_ROWS

from localdlt import storage as storage_layout
from localdlt.errors import InvalidArgumentError
from localdlt.event_log_sql import sql, translate
from localdlt.runner import run_update

EXAMPLES = Path(__file__).parent / "examples"

# As on the page, with the pipeline id filled in ({pipeline_id}).
RAW_AND_LATEST = """
CREATE OR REPLACE TEMP VIEW event_log_raw AS SELECT * FROM event_log("{pipeline_id}");
CREATE OR REPLACE TEMP VIEW latest_update AS SELECT origin.update_id AS id FROM event_log_raw
  WHERE event_type = 'create_update' ORDER BY timestamp DESC LIMIT 1;
"""
LINEAGE = """
SELECT
  details:flow_definition.output_dataset as output_dataset,
  details:flow_definition.input_datasets as input_dataset
FROM
  event_log_raw,
  latest_update
WHERE
  event_type = 'flow_definition'
  AND
  origin.update_id = latest_update.id
"""
DATA_QUALITY = """
SELECT
  row_expectations.dataset as dataset,
  row_expectations.name as expectation,
  SUM(row_expectations.passed_records) as passing_records,
  SUM(row_expectations.failed_records) as failing_records
FROM
  (
    SELECT
      explode(
        from_json(
          details:flow_progress:data_quality:expectations,
          "array<struct<name: string, dataset: string, passed_records: int, failed_records: int>>"
        )
      ) row_expectations
    FROM
      event_log_raw,
      latest_update
    WHERE
      event_type = 'flow_progress'
      AND origin.update_id = latest_update.id
  )
GROUP BY
  row_expectations.dataset,
  row_expectations.name
"""


def test_documented_monitoring_queries_run_unchanged(spark, tmp_path: Path, landing) -> None:
    folder = landing(
        "clicks",
        "1.json",
        CLICKSTREAM_ROWS,
    )
    storage = tmp_path / "storage"
    conf = {"conformance.clickstream_path": str(folder)}
    run_update([EXAMPLES / "expectations"], storage, spark=spark, configuration=conf)
    latest = run_update([EXAMPLES / "expectations"], storage, spark=spark, configuration=conf)  # no new rows
    pipeline_id = storage_layout.pipeline_id(storage_layout.Layout(storage.resolve()))
    try:
        sql(spark, storage, RAW_AND_LATEST.format(pipeline_id=pipeline_id))
        assert spark.sql("SELECT id FROM latest_update").first()["id"] == latest.update_id
        lineage = sorted(tuple(r) for r in sql(spark, storage, LINEAGE).collect())
        assert lineage == [
            ("clickstream_all_rules", '["clickstream_raw"]'),
            ("clickstream_clean", '["clickstream_raw"]'),
            ("clickstream_counted", '["clickstream_raw"]'),
            ("clickstream_raw", "[]"),
        ]
        # The latest update read nothing new: its flow_progress events carry no expectations.
        assert sql(spark, storage, DATA_QUALITY).collect() == []
        spark.sql(f"CREATE OR REPLACE TEMP VIEW latest_update AS SELECT '{_first_update(spark)}' AS id")
        quality = sorted(tuple(r) for r in sql(spark, storage, DATA_QUALITY).collect())
        assert quality == [
            ("clickstream_all_rules", "valid_count", 3, 1),
            ("clickstream_all_rules", "valid_current_page", 2, 2),
            ("clickstream_clean", "valid timestamp", 2, 2),
            ("clickstream_clean", "valid_current_page", 2, 2),
            ("clickstream_counted", "valid_count", 3, 1),
        ]
        by_table = sql(
            spark,
            storage,
            "SELECT count(*) AS n FROM event_log(TABLE(main.default.clickstream_raw)) "
            "WHERE event_type = 'create_update'",
        ).first()["n"]
        assert by_table == 2
    finally:
        spark.catalog.dropTempView("event_log_raw")
        spark.catalog.dropTempView("latest_update")


def _first_update(spark) -> str:
    return spark.sql(
        "SELECT origin.update_id AS id FROM event_log_raw WHERE event_type = 'create_update' "
        "ORDER BY timestamp LIMIT 1"
    ).first()["id"]


def test_event_log_of_another_pipeline_or_an_unknown_table_is_refused(tmp_path: Path) -> None:
    layout = storage_layout.Layout(tmp_path.resolve())
    pipeline_id = storage_layout.pipeline_id(layout)
    with pytest.raises(InvalidArgumentError, match=f"the pipeline of .* has id '{pipeline_id}'"):
        translate("SELECT * FROM event_log('not-this-one')", tmp_path)
    with pytest.raises(InvalidArgumentError, match="no dataset 'nope'"):
        translate("SELECT * FROM event_log(TABLE(nope))", tmp_path)
    assert translate(
        f"SELECT details:flow_progress.metrics.num_output_rows AS n FROM event_log('{pipeline_id}') e",
        tmp_path,
    ) == [
        "SELECT GET_JSON_OBJECT(details, '$.flow_progress.metrics.num_output_rows') AS n "
        f"FROM delta.`{layout.events}` AS e"
    ]
