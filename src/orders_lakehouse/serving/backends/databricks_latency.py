"""``/latency`` on a SQL warehouse: the local definition (docs/serving.md, "Latency") in one statement.

An event is *visible in Silver* when the data file holding its ``silver_order_events`` row was
written: ``_metadata.file_modification_time``, which for a Delta table is the add action's
``modificationTime`` (what the local backend reads from the log). It is *visible in Gold* at the
first ``fact_orders`` update that completed after that: on Databricks the Gold table is a
materialized view whose commit history SQL cannot join, so the completion comes from the pipeline
event log (``flow_progress`` events of the ``fact_orders`` flow with status ``COMPLETED``).
The next Gold completion of each Silver row is found with one window over a timeline of both
(a Gold completion sorts before a Silver write at the same instant: "after" is strict, as the
local ``bisect_right``). Percentiles are ``percentile_disc``, i.e. nearest rank, as locally.
Every name and value is a named parameter; the statement is text with no request input in it.
``greatest`` skips NULLs (``greatest(NULL, 0)`` is 0), so an event no Gold update followed yet
is kept NULL explicitly: it counts for Silver only. tests/serving/test_databricks_latency.py runs
this very text on Spark + delta-spark and compares it with the local backend's answer.
"""

from __future__ import annotations

from typing import Any

from orders_lakehouse.serving import models
from orders_lakehouse.serving.gold import FACT_ORDERS

LATENCY_SQL = """\
SELECT
  percentile_disc(0.5) WITHIN GROUP (ORDER BY silver_s) AS silver_p50,
  percentile_disc(0.95) WITHIN GROUP (ORDER BY silver_s) AS silver_p95,
  count(silver_s) AS silver_events,
  percentile_disc(0.5) WITHIN GROUP (ORDER BY gold_s) AS gold_p50,
  percentile_disc(0.95) WITHIN GROUP (ORDER BY gold_s) AS gold_p95,
  count(gold_s) AS gold_events
FROM (
  SELECT greatest(unix_micros(at) - unix_micros(event_time), 0) / 1000000.0 AS silver_s,
         IF(in_gold IS NULL, NULL, greatest(unix_micros(in_gold) - unix_micros(event_time), 0) / 1000000.0)
           AS gold_s
  FROM (
    SELECT event_time, at, is_silver,
           min(completed_at) OVER (ORDER BY at, is_silver ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)
             AS in_gold
    FROM (
      SELECT event_time, written_at AS at, CAST(NULL AS TIMESTAMP) AS completed_at, 1 AS is_silver
      FROM (
        SELECT `event_time`, `_metadata`.`file_modification_time` AS written_at,
               max(`_metadata`.`file_modification_time`) OVER () AS newest
        FROM IDENTIFIER(:silver_table)
      )
      WHERE written_at >= newest - make_dt_interval(0, 0, CAST(:window_minutes AS INT), 0)
      UNION ALL
      SELECT CAST(NULL AS TIMESTAMP), `timestamp`, `timestamp`, 0
      FROM IDENTIFIER(:event_log_table)
      WHERE `event_type` = 'flow_progress' AND `origin`.`flow_name` = :gold_flow
        AND get_json_object(`details`, '$.flow_progress.status') = 'COMPLETED'
    )
  )
  WHERE is_silver = 1 AND event_time IS NOT NULL
)"""


def parameters(silver_table: str, event_log_table: str, window_minutes: int) -> dict[str, Any]:
    """The statement's named parameters (values only: the backend types them)."""
    return {
        "silver_table": silver_table,
        "event_log_table": event_log_table,
        "gold_flow": FACT_ORDERS.name,
        "window_minutes": window_minutes,
    }


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def to_model(rows: list[dict[str, Any]], window_minutes: int) -> models.Latency:
    """The statement's one row as the ``/latency`` answer."""
    row = rows[0] if rows else {}

    def layer(prefix: str) -> models.LayerLatency:
        return models.LayerLatency(
            p50_seconds=_seconds(row.get(f"{prefix}_p50")),
            p95_seconds=_seconds(row.get(f"{prefix}_p95")),
            events=int(row.get(f"{prefix}_events") or 0),
        )

    return models.Latency(
        window_minutes=window_minutes, silver=layer("silver"), gold=layer("gold"), available=True
    )
