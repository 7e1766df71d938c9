"""The orders pipeline's Gold views that used to be recomputed on every update, refreshed
incrementally by localdlt with the same rows as their reference definitions.

The real pipeline files ``dim_date.py``, ``gold_order_status_reached.py`` and
``gold_status_funnel.py`` run over a small Silver-shaped streaming table (only the columns they
read), three updates: the first computation, new events (a late one that moves the first day
back, a repeated (status, order) pair, a NULL order id, a cancellation), and an event that adds
no new pair. After each update the views equal ``star.dim_date`` / ``kpis.status_funnel``
recomputed over Silver, and the ``planning_information`` events name the technique.

``gold_top_products`` and ``gold_order_alerts`` run with their private parts (and the real
``gold_payment_health`` / ``fact_orders`` they read) over a wider Silver stand-in and a quarantine,
four updates: first computation; a cancellation of an old order, a second created event of an
order, a late creation splitting a silence, payments pulling a window's failure rate down to the
threshold and a delivery breaking the SLA; a creation closing the open silence and a new failing
window; nothing new. After each update both equal ``kpis.top_products`` / ``alerts.order_alerts``
recomputed from Silver alone, with known rows.
"""

from __future__ import annotations

import json
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from localdlt.cli import main as cli
from localdlt.runner import run_update
from orders_lakehouse.transforms import alerts, kpis, star

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
        # the cost model off: these fixtures are tiny, and the incremental techniques are under test
        configuration = {"test.landing": str(folder), "localdlt.mv.costModel": "false"}
        result = run_update(pipeline, storage, spark=spark, configuration=configuration)
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


# -- gold_top_products and gold_order_alerts from their incremental parts ----------------------------
PARTS = (
    "gold_payment_health",
    "fact_orders",
    "gold_order_items",
    "gold_product_sales",
    "gold_top_products",
    "gold_payment_failure_alerts",
    "gold_sla_breach_alerts",
    "gold_order_activity",
    "gold_quarantined_rows",
    "gold_order_alerts",
)
SILVER_WIDE = """
import dlt

SCHEMA = (
    "event_id string, order_id string, status string, event_time timestamp, customer_id string, "
    "channel string, customer_state string, payment_method string, installments int, "
    "items array<struct<sku: string, name: string, quantity: int, unit_price: decimal(18,2)>>, "
    "subtotal decimal(18,2), discount decimal(18,2), shipping_amount decimal(18,2), "
    "total decimal(18,2), carrier string, promised_date date"
)

@dlt.table(name="silver_order_events")
def silver_order_events():
    return spark.readStream.schema(SCHEMA).json(spark.conf.get("test.landing"))

@dlt.table(name="silver_order_events_quarantine")
def silver_order_events_quarantine():
    return spark.readStream.schema("event_id string").json(spark.conf.get("test.quarantine"))
"""


def _item(sku: str, name: str, quantity: int, price: str) -> dict[str, object]:
    return {"sku": sku, "name": name, "quantity": quantity, "unit_price": price}


def _event(event_id: str, order_id: str | None, status: str, time: str, **extra: object) -> dict[str, object]:
    return {"event_id": event_id, "order_id": order_id, "status": status, "event_time": time, **extra}


MUG, BOOK, PEN, CUP = (
    _item("SKU-MUG", "Mug", 2, "10.00"),
    _item("SKU-BOOK", "Book", 1, "50.00"),
    _item("SKU-PEN", "Pen", 3, "5.00"),
    _item("SKU-CUP", "Cup", 1, "7.00"),
)
PART_UPDATES: list[tuple[list[dict[str, object]], list[dict[str, object]]]] = [
    (  # silver events, quarantined rows
        [
            _event("e1", "o1", "created", "2026-03-02T10:00:00Z", items=[MUG, BOOK]),
            _event("e2", "o1", "paid", "2026-03-02T10:01:00Z", payment_method="pix"),
            _event("e3", "o2", "created", "2026-03-02T10:03:00Z", items=[BOOK]),
            _event("e4", "o2", "payment_failed", "2026-03-02T10:04:00Z", payment_method="credit_card"),
            _event("e5", "o3", "created", "2026-03-02T10:30:00Z", items=[PEN]),  # 27 min of silence
            _event("e6", None, "created", "2026-03-02T10:35:00Z", items=[CUP]),  # no order id: kept
            _event("e7", None, "cancelled", "2026-03-02T10:36:00Z"),  # cancels no order
            _event("e8", "o1", "shipped", "2026-03-02T10:40:00Z", carrier="Correios"),
        ],
        [{"event_id": "q1"}],  # 1 of 9 rows quarantined: above 5%
    ),
    (
        [
            _event("e9", "o2", "cancelled", "2026-03-02T10:50:00Z"),  # an old order: BOOK loses it
            _event("e10", "o4", "created", "2026-03-02T10:12:00Z", items=[MUG]),  # late: splits a silence
            _event("e11", "o3", "created", "2026-03-02T10:31:00Z", items=[PEN]),  # o3 created twice
            _event("e12", "o2", "paid", "2026-03-02T10:02:00Z", payment_method="pix"),
            _event("e13", "o3", "paid", "2026-03-02T10:03:00Z", payment_method="boleto"),
            _event("e14", "o4", "paid", "2026-03-02T10:04:30Z", payment_method="pix"),  # rate 1/5: no alert
            _event("e15", "o1", "delivered", "2026-03-05T11:00:00Z"),  # 73 h: SLA breach; now moves
        ],
        [],
    ),
    (
        [
            _event("e16", "o5", "created", "2026-03-05T11:30:00Z", items=[BOOK, CUP]),  # closes the gap
            _event("e17", "o3", "delivered", "2026-03-03T10:00:00Z"),  # within the SLA
            _event("e18", "o5", "payment_failed", "2026-03-05T11:31:00Z", payment_method="pix"),
        ],
        [{"event_id": "q2"}],
    ),
    ([], []),  # nothing new
]
GENERIC = "MAINTENANCE_TYPE_GENERIC_AGGREGATE"


def _reference_alerts(silver: DataFrame, quarantine: DataFrame) -> DataFrame:
    return alerts.order_alerts(
        events=silver,
        quarantine=quarantine,
        payment_health=kpis.payment_health(silver),
        fact_orders=star.fact_orders(silver),
        thresholds=alerts.AlertThresholds(),
    )


def test_top_products_and_alerts_refresh_from_incremental_parts(
    spark: SparkSession, tmp_path: Path, write_pipeline, landing  # noqa: ANN001
) -> None:
    pipeline = [write_pipeline({"silver.py": SILVER_WIDE}), *[GOLD / f"{name}.py" for name in PARTS]]
    storage = tmp_path / "storage"
    tables = storage / "tables"
    tops, rules = [], []
    for number, (events, quarantined) in enumerate(PART_UPDATES, 1):
        silver_folder = tmp_path / "landing"
        quarantine_folder = tmp_path / "quarantine"
        for folder in (silver_folder, quarantine_folder):
            folder.mkdir(exist_ok=True)
        if events:
            landing("landing", f"{number}.json", events)
        if quarantined:
            landing("quarantine", f"{number}.json", quarantined)
        configuration = {
            "test.landing": str(silver_folder),
            "test.quarantine": str(quarantine_folder),
            "localdlt.mv.costModel": "false",  # tiny fixtures: the incremental techniques are under test
        }
        result = run_update(pipeline, storage, spark=spark, configuration=configuration)
        assert result.status == "COMPLETED", [f.error for f in result.failed_flows()]
        silver = spark.read.format("delta").load(str(tables / "silver_order_events"))
        quarantine = spark.read.format("delta").load(str(tables / "silver_order_events_quarantine"))
        top = spark.read.format("delta").load(str(tables / "gold_top_products"))
        alert_rows = spark.read.format("delta").load(str(tables / "gold_order_alerts"))
        assert _sorted(top) == _sorted(kpis.top_products(silver)), number
        assert _sorted(alert_rows) == _sorted(_reference_alerts(silver, quarantine)), number
        ranked = top.orderBy("rank").collect()
        tops.append([(r.rank, r.sku, r.units_sold, str(r.revenue), r.orders) for r in ranked])
        rules.append(sorted((r.rule, str(r.window_start), r.observed_value) for r in alert_rows.collect()))

    assert tops[0] == [
        (1, "SKU-BOOK", 2, "100.00", 2),
        (2, "SKU-MUG", 2, "20.00", 1),
        (3, "SKU-PEN", 3, "15.00", 1),
        (4, "SKU-CUP", 1, "7.00", 0),  # only the order without id: no distinct order
    ]
    # o2 cancelled: BOOK keeps o1's copy only; MUG gets o4; PEN counts o3's two created events
    assert tops[1] == [
        (1, "SKU-BOOK", 1, "50.00", 1),
        (2, "SKU-MUG", 4, "40.00", 2),
        (3, "SKU-PEN", 6, "30.00", 1),
        (4, "SKU-CUP", 1, "7.00", 0),
    ]
    assert tops[3] == tops[2] == [
        (1, "SKU-BOOK", 2, "100.00", 2),
        (2, "SKU-MUG", 4, "40.00", 2),
        (3, "SKU-PEN", 6, "30.00", 1),
        (4, "SKU-CUP", 2, "14.00", 1),
    ]
    assert rules[0] == [
        ("dq_drop_rate", "None", 0.1111),  # 1 of 9
        ("order_silence", "2026-03-02 10:03:00", 27.0),
        ("payment_failure_rate", "2026-03-02 10:00:00", 0.5),
    ]
    # the late 10:12 creation splits the silence; now (the delivery) opens a 4,345-minute one;
    # three more payments bring the window's failure rate to 0.2 (not above); o1 took 73 h
    assert rules[1] == [
        ("dq_drop_rate", "None", 0.0625),  # 1 of 16
        ("order_silence", "2026-03-02 10:12:00", 18.0),
        ("order_silence", "2026-03-02 10:35:00", 4345.0),
        ("sla_breach", "2026-03-02 10:00:00", 73.0),
    ]
    assert rules[3] == rules[2] == [
        ("dq_drop_rate", "None", 0.1),  # 2 of 20
        ("order_silence", "2026-03-02 10:12:00", 18.0),
        ("order_silence", "2026-03-02 10:35:00", 4375.0),  # closed by o5 at 11:30 on 03-05
        ("payment_failure_rate", "2026-03-05 11:30:00", 1.0),
        ("sla_breach", "2026-03-02 10:00:00", 73.0),
    ]
    full4 = [FULL, FULL, FULL, NO_OP]
    assert _planning(spark, storage) == {
        "gold_payment_health": [FULL, GROUP, GROUP, NO_OP],
        "fact_orders": [FULL, GROUP, GROUP, NO_OP],  # max_by / min_by merged from their buffers
        "gold_order_items": [FULL, GROUP, GROUP, NO_OP],  # a sorted list and count_if, merged
        # the SKUs the new events touch, recomputed (a cancellation is a pre-image of
        # gold_order_items' change data feed: the SKUs of the order it cancels)
        "gold_product_sales": [FULL, GENERIC, GENERIC, NO_OP],
        "gold_top_products": full4,  # the ranking of the per-SKU table
        # windows of gold_payment_health rewritten (update 2) or only appended (update 3)
        "gold_payment_failure_alerts": [FULL, GENERIC, GROUP, NO_OP],
        "gold_sla_breach_alerts": [FULL, GENERIC, GENERIC, NO_OP],
        "gold_order_activity": [FULL, GROUP, GROUP, NO_OP],
        "gold_quarantined_rows": [FULL, NO_OP, GROUP, NO_OP],  # no quarantined row in update 2
        "gold_order_alerts": full4,  # the union of the parts
    }
    assert _blockers(spark, storage, "gold_top_products") == {
        ("WINDOW_FUNCTION_WITHOUT_PARTITION_BY", "Window")
    }
    assert _blockers(spark, storage, "gold_order_alerts") == {("OPERATOR_NOT_SUPPORTED", "Union")}


def _blockers(spark: SparkSession, storage: Path, dataset: str) -> set[tuple[str, str | None]]:
    """(sub-type, operator) of the structural issues named by ``dataset``'s complete recomputes
    after its first computation."""
    events = spark.read.format("delta").load(str(storage / "system" / "events"))
    rows = events.filter("event_type = 'planning_information'").filter(
        events.origin.dataset_name == dataset
    )
    found: set[tuple[str, str | None]] = set()
    for row in rows.collect():
        techniques = json.loads(row["details"])["planning_information"]["technique_information"]
        chosen = next(t for t in techniques if t["is_chosen"])["maintenance_type"]
        issues = [i for t in techniques for i in t.get("incrementalization_issues", [])]
        if chosen != FULL or any(i["issue_type"] == "CHANGE_SET_MISSING" for i in issues):
            continue
        for issue in issues:
            sub = issue.get("plan_not_incrementalizable_sub_type")
            if sub and issue.get("operator_name") and issue["issue_type"] == "PLAN_NOT_INCREMENTALIZABLE":
                found.add((sub, issue["operator_name"]))
    return found


def test_explain_names_the_parts_techniques_and_the_tops_blockers(
    spark: SparkSession, tmp_path: Path, write_pipeline, capsys  # noqa: ANN001
) -> None:
    pipeline = [write_pipeline({"silver.py": SILVER_WIDE}), *[GOLD / f"{name}.py" for name in PARTS]]
    arguments = [*map(str, pipeline), "--format", "json"]
    arguments += ["--conf", f"test.landing={tmp_path}", "--conf", f"test.quarantine={tmp_path}"]
    assert cli(["explain", *arguments], spark=spark) == 0
    explained = json.loads(capsys.readouterr().out)
    out = {e["dataset"]: (e["on_appends"], e["on_changes"]) for e in explained}
    structural = {
        e["dataset"]: [(i.get("plan_not_incrementalizable_sub_type"), i.get("operator_name")) for i in issues]
        for e in explained
        if (issues := e["structural"])
    }
    assert structural == {  # only the two tops have a query that blocks every incremental technique
        "gold_top_products": [("WINDOW_FUNCTION_WITHOUT_PARTITION_BY", "Window")],
        "gold_order_alerts": [("OPERATOR_NOT_SUPPORTED", "Union")],
    }
    assert out == {
        "gold_payment_health": (GROUP, GENERIC),
        "fact_orders": (GROUP, GENERIC),
        "gold_order_items": (GROUP, GENERIC),
        # mergeable (max_by, count DISTINCT), but its source is updated: GENERIC in the run above
        "gold_product_sales": (GROUP, GENERIC),
        "gold_top_products": (FULL, FULL),
        "gold_payment_failure_alerts": (GROUP, GENERIC),
        "gold_sla_breach_alerts": (GROUP, GENERIC),
        "gold_order_activity": (GROUP, GENERIC),
        "gold_quarantined_rows": (GROUP, GENERIC),
        "gold_order_alerts": (FULL, FULL),
    }
