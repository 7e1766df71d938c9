"""Gold star schema for BI: ``fact_orders`` and the ``dim_customer`` / ``dim_product`` /
``dim_date`` dimensions, all batch functions over ``silver_order_events`` (materialized views).

Every attribute is picked by event time (``min_by`` / ``max_by``), never by arrival order, so the
tables are the same however the events were batched. Events of the same time are told apart by
their ``event_id`` (:data:`EVENT_ORDER`): without it Spark's pick among them is arbitrary, and an
incremental refresh could pick another one than a recompute.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from orders_lakehouse.transforms.current_state import STATUSES


# The order of events: by time, then by id (unique in Silver).
EVENT_ORDER = "struct(event_time, event_id)"


def _latest(column: str) -> F.Column:
    return F.expr(f"max_by({column}, {EVENT_ORDER}) FILTER (WHERE {column} IS NOT NULL)")


def _on_created(column: str) -> F.Column:
    return F.expr(f"min_by({column}, {EVENT_ORDER}) FILTER (WHERE status = 'created')")


def date_key(ts: F.Column) -> F.Column:
    """``yyyyMMdd`` integer of a UTC timestamp (the ``dim_date`` key)."""
    return F.date_format(ts, "yyyyMMdd").cast("int")


def fact_orders(events: DataFrame) -> DataFrame:
    """One row per ``order_id``: created attributes, latest status, milestones and delivery time.

    ``delivery_hours`` = hours from created to delivered (2 decimals); ``is_delivered_late`` =
    delivered after the promised date (UTC dates).
    """
    aggregated = events.groupBy("order_id").agg(
        _on_created("customer_id").alias("customer_id"),
        _on_created("channel").alias("channel"),
        _on_created("customer_state").alias("customer_state"),
        _latest("payment_method").alias("payment_method"),
        _latest("installments").alias("installments"),
        _on_created("size(items)").alias("items_count"),
        _on_created("aggregate(items, 0L, (acc, i) -> acc + i.quantity)").alias("units"),
        _on_created("subtotal").alias("subtotal"),
        _on_created("discount").alias("discount"),
        _on_created("shipping_amount").alias("shipping_amount"),
        _on_created("total").alias("total"),
        F.expr(f"max_by(status, {EVENT_ORDER})").alias("current_status"),
        *[F.expr(f"min(event_time) FILTER (WHERE status = '{s}')").alias(f"{s}_at") for s in STATUSES],
        F.expr("count(*) FILTER (WHERE status = 'payment_failed')").alias("payment_failures"),
        _latest("carrier").alias("carrier"),
        _latest("promised_date").alias("promised_date"),
    )
    hours = (F.unix_timestamp("delivered_at") - F.unix_timestamp("created_at")) / F.lit(3600)
    return aggregated.select(
        "order_id",
        date_key(F.col("created_at")).alias("order_date_key"),
        "customer_id",
        "channel",
        "customer_state",
        "payment_method",
        "installments",
        "items_count",
        "units",
        "subtotal",
        "discount",
        "shipping_amount",
        "total",
        "current_status",
        *[f"{s}_at" for s in STATUSES],
        "payment_failures",
        "carrier",
        "promised_date",
        F.round(hours, 2).cast("decimal(10,2)").alias("delivery_hours"),
        (F.to_date("delivered_at") > F.col("promised_date")).alias("is_delivered_late"),
    )


def dim_customer(events: DataFrame) -> DataFrame:
    """One row per ``customer_id`` with the latest known (PII-minimised) attributes."""
    return events.groupBy("customer_id").agg(
        _latest("customer_email_hash").alias("email_hash"),
        _latest("customer_document_masked").alias("document_masked"),
        _latest("customer_city").alias("city"),
        _latest("customer_state").alias("state"),
        F.expr("min(event_time) FILTER (WHERE status = 'created')").alias("first_order_at"),
        F.max("event_time").alias("last_event_at"),
        F.countDistinct("order_id").alias("orders"),
    )


def dim_product(events: DataFrame) -> DataFrame:
    """One row per ``sku`` seen on ``order_created`` items: latest name and unit price."""
    items = events.filter(F.col("status") == "created").select(
        "event_time", "event_id", F.explode("items").alias("item")
    )
    return (
        items.select(
            "event_time",
            "event_id",
            "item.sku",
            F.col("item.name").alias("name"),
            F.col("item.unit_price").alias("unit_price"),
        )
        .groupBy("sku")
        .agg(
            _latest("name").alias("name"),
            _latest("unit_price").alias("last_unit_price"),
            F.min("event_time").alias("first_seen_at"),
            F.max("event_time").alias("last_seen_at"),
        )
    )


def dim_date(events: DataFrame) -> DataFrame:
    """One row per calendar day (UTC) from the first to the last event date."""
    bounds = events.agg(
        F.to_date(F.min("event_time")).alias("lo"), F.to_date(F.max("event_time")).alias("hi")
    )
    days = bounds.filter(F.col("lo").isNotNull()).select(F.explode(F.sequence("lo", "hi")).alias("date"))
    return days.select(
        date_key(F.col("date")).alias("date_key"),
        "date",
        F.year("date").alias("year"),
        F.quarter("date").alias("quarter"),
        F.month("date").alias("month"),
        F.dayofmonth("date").alias("day"),
        F.weekday("date").alias("day_of_week"),  # 0 = Monday
        F.date_format("date", "EEEE").alias("day_name"),
        (F.weekday("date") >= 5).alias("is_weekend"),
    )
