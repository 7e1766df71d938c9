"""The orders pipeline's Gold views that used to be recomputed on every update, refreshed
incrementally by localdlt with the same rows as their reference definitions.

The real pipeline files ``dim_date.py``, ``gold_order_status_reached.py`` and
``gold_status_funnel.py`` run over a small Silver-shaped streaming table (only the columns they
read), three updates: the first computation, new events (a late one that moves the first day
back, a repeated (status, order) pair, a NULL order id, a cancellation), and an event that adds
no new pair. After each update the views equal ``star.dim_date`` / ``kpis.status_funnel``
recomputed over Silver, and the ``planning_information`` events name the technique.
"""

from __future__ import annotations

import json
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from localdlt.cli import main as cli
from localdlt.runner import run_update
from orders_lakehouse.transforms import kpis, star

REPO = Path(__file__).resolve().parents[3]
GOLD = REPO / "pipelines" / "orders" / "transformations"
VIEWS = ("dim_date", "gold_order_status_reached", "gold_status_funnel")
SILVER = """
import dlt

@dlt.table(name="silver_order_events")
def silver_order_events():
    schema = "event_id string, order_id string, status string, event_time timestamp"
    return spark.readStream.schema(schema).json(spark.conf.get("test.landing"))
"""
UPDATES = [
    [
        ("e1", "o1", "created", "2026-03-02T10:00:00Z"),
        ("e2", "o1", "paid", "2026-03-02T10:05:00Z"),
        ("e3", "o2", "created", "2026-03-03T09:00:00Z"),
        ("e4", "o2", "payment_failed", "2026-03-03T09:01:00Z"),
        ("e5", "o3", "created", "2026-03-04T23:59:00Z"),
    ],
    [
        ("e6", "o4", "created", "2026-02-27T08:00:00Z"),  # late: the first day moves back
        ("e7", "o1", "paid", "2026-03-02T10:06:00Z"),  # (paid, o1) again
        ("e8", "o2", "cancelled", "2026-03-05T00:10:00Z"),  # the last day moves on
        ("e9", None, "shipped", "2026-03-04T12:00:00Z"),  # no order id: not an order
        ("e10", "o1", "shipped", "2026-03-04T13:00:00Z"),
    ],
    [("e11", "o3", "created", "2026-03-04T23:59:30Z")],  # no new pair, no new day
]
FULL, GROUP, NO_OP = (
    "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE",
    "MAINTENANCE_TYPE_GROUP_AGGREGATE",
    "MAINTENANCE_TYPE_NO_OP",
)


def _sorted(df: DataFrame) -> list[tuple[object, ...]]:
    return sorted((tuple(r) for r in df.collect()), key=lambda r: tuple(str(v) for v in r))


def _planning(spark: SparkSession, storage: Path) -> dict[str, list[str]]:
    events = spark.read.format("delta").load(str(storage / "system" / "events"))
    rows = events.filter("event_type = 'planning_information'").orderBy("sequence.control_plane_seq_no")
    out: dict[str, list[str]] = {}
    for row in rows.collect():
        info = json.loads(row["details"])["planning_information"]
        chosen = [t["maintenance_type"] for t in info["technique_information"] if t["is_chosen"]]
        out.setdefault(row["origin"]["dataset_name"], []).extend(chosen)
    return out


def _appends_only(table: Path, after_version: int) -> bool:
    """Every commit of ``table`` after ``after_version`` only adds files (no remove action)."""
    logs = sorted((table / "_delta_log").glob("*.json"))
    actions = [
        json.loads(line)
        for log in logs
        if int(log.stem) > after_version
        for line in log.read_text().splitlines()
        if line.strip()
    ]
    return not any("remove" in a for a in actions)


def test_dim_date_and_status_funnel_refresh_incrementally(
    spark: SparkSession, tmp_path: Path, write_pipeline, landing  # noqa: ANN001
) -> None:
    pipeline = [write_pipeline({"silver.py": SILVER}), *[GOLD / f"{name}.py" for name in VIEWS]]
    storage = tmp_path / "storage"
    tables = storage / "tables"
    funnels, days = [], []
    for number, events in enumerate(UPDATES, 1):
        rows = [dict(zip(("event_id", "order_id", "status", "event_time"), e, strict=True)) for e in events]
        folder = landing("landing", f"{number}.json", rows)
        result = run_update(pipeline, storage, spark=spark, configuration={"test.landing": str(folder)})
        assert result.status == "COMPLETED", [f.error for f in result.failed_flows()]
        silver = spark.read.format("delta").load(str(tables / "silver_order_events"))
        funnel = spark.read.format("delta").load(str(tables / "gold_status_funnel"))
        dim_date = spark.read.format("delta").load(str(tables / "dim_date"))
        assert _sorted(funnel) == _sorted(kpis.status_funnel(silver)), number
        assert _sorted(dim_date) == _sorted(star.dim_date(silver)), number
        funnels.append(sorted((r.stage, r.orders, r.share_of_created) for r in funnel.collect()))
        days.append(sorted(r.date_key for r in dim_date.collect()))

    assert funnels[0] == [
        ("cancelled", 0, 0.0),
        ("created", 3, 1.0),
        ("delivered", 0, 0.0),
        ("paid", 1, 0.3333),
        ("payment_failed", 1, 0.3333),
        ("shipped", 0, 0.0),
    ]
    assert funnels[1] == funnels[2] == [
        ("cancelled", 1, 0.25),
        ("created", 4, 1.0),
        ("delivered", 0, 0.0),
        ("paid", 1, 0.25),
        ("payment_failed", 1, 0.25),
        ("shipped", 1, 0.25),
    ]
    assert days[0] == [20260302, 20260303, 20260304]
    assert days[1] == days[2] == [20260227, 20260228, 20260301, 20260302, 20260303, 20260304, 20260305]

    assert _planning(spark, storage) == {
        "dim_date": [FULL, GROUP, GROUP],
        "gold_order_status_reached": [FULL, GROUP, GROUP],
        # the third update added no pair: the core made no commit, so the funnel had nothing to do
        "gold_status_funnel": [FULL, GROUP, NO_OP],
    }
    # the core's incremental refreshes only appended: the funnel above saw an append-only source
    assert _appends_only(tables / "gold_order_status_reached", after_version=0)


def test_explain_names_the_incremental_techniques(
    spark: SparkSession, tmp_path: Path, write_pipeline, capsys  # noqa: ANN001
) -> None:
    pipeline = [write_pipeline({"silver.py": SILVER}), *[GOLD / f"{name}.py" for name in VIEWS]]
    arguments = [*map(str, pipeline), "--conf", f"test.landing={tmp_path}", "--format", "json"]
    assert cli(["explain", *arguments], spark=spark) == 0
    out = {e["dataset"]: (e["on_appends"], e["on_changes"]) for e in json.loads(capsys.readouterr().out)}
    generic = "MAINTENANCE_TYPE_GENERIC_AGGREGATE"
    assert out == {name: (GROUP, generic) for name in VIEWS}
