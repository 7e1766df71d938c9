"""Gold KPI tables (batch functions, materialized views): sales per minute, payment health,
status funnel, fulfilment SLA and top products.

``top_products`` is the reference definition; the pipeline computes the same rows in three
steps that a materialized-view engine can refresh incrementally (``order_items`` per order,
``product_sales`` per SKU over it, ``rank_products`` over that): see ``top_products_in_steps``."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from orders_lakehouse.transforms.current_state import STATUSES

UNKNOWN = "unknown"
PAYMENT_WINDOW = "5 minutes"


def _ranking() -> Window:
    return Window.orderBy(F.col("revenue").desc(), F.col("sku"))


def sales_per_minute(events: DataFrame) -> DataFrame:
    """Orders created per minute by channel, state and payment method: ``orders``, ``revenue``
    (sum of totals) and ``avg_ticket``; a missing dimension value is ``'unknown'``."""
    created = events.filter(F.col("status") == "created")
    return (
        created.select(
            F.date_trunc("minute", "event_time").alias("minute"),
            F.coalesce("channel", F.lit(UNKNOWN)).alias("channel"),
            F.coalesce("customer_state", F.lit(UNKNOWN)).alias("state"),
            F.coalesce("payment_method", F.lit(UNKNOWN)).alias("payment_method"),
            "order_id",
            "total",
        )
        .groupBy("minute", "channel", "state", "payment_method")
        .agg(
            F.countDistinct("order_id").alias("orders"), F.sum("total").cast("decimal(18,2)").alias("revenue")
        )
        .withColumn("avg_ticket", F.round(F.col("revenue") / F.col("orders"), 2).cast("decimal(18,2)"))
    )


def payment_health(events: DataFrame) -> DataFrame:
    """Approvals (``order_paid``) and failures (``order_payment_failed``) per payment method per
    5-minute event-time window, with ``approval_rate`` = approved / (approved + failed)."""
    # Grouped by the window's start and end columns (not the window struct) so the keys are
    # output columns: the view is then maintained by merging counts (GROUP_AGGREGATE).
    window = F.window("event_time", PAYMENT_WINDOW)
    payments = events.filter(F.col("status").isin("paid", "payment_failed")).select(
        window.start.alias("window_start"),
        window.end.alias("window_end"),
        F.coalesce("payment_method", F.lit(UNKNOWN)).alias("payment_method"),
        "status",
    )
    return (
        payments.groupBy("window_start", "window_end", "payment_method")
        .agg(
            F.expr("count(*) FILTER (WHERE status = 'paid')").alias("approved"),
            F.expr("count(*) FILTER (WHERE status = 'payment_failed')").alias("failed"),
        )
        .withColumn("approval_rate", F.round(F.col("approved") / (F.col("approved") + F.col("failed")), 4))
    )


def status_funnel(events: DataFrame) -> DataFrame:
    """Orders that reached each status (``stage_order`` 1..6 in lifecycle order) and the share
    of created orders; every status has a row, zero when no order reached it."""
    stages = events.sparkSession.createDataFrame(
        [(s, i + 1) for i, s in enumerate(STATUSES)], "stage string, stage_order int"
    )
    reached = events.groupBy(F.col("status").alias("stage")).agg(F.countDistinct("order_id").alias("orders"))
    created = events.filter(F.col("status") == "created").select(
        F.countDistinct("order_id").alias("created_orders")
    )
    return (
        stages.join(reached, "stage", "left")
        .crossJoin(created)
        .select(
            "stage",
            "stage_order",
            F.coalesce("orders", F.lit(0)).cast("bigint").alias("orders"),
            F.when(
                F.col("created_orders") > 0,
                F.round(F.coalesce("orders", F.lit(0)) / F.col("created_orders"), 4),
            ).alias("share_of_created"),
        )
    )


def fulfillment_sla(fact_orders: DataFrame, sla_hours: int) -> DataFrame:
    """Per delivery day (UTC) and carrier: delivered orders, exact p50 / p95 of created→delivered
    hours, deliveries after the promised date and deliveries slower than ``sla_hours``."""
    delivered = fact_orders.filter(F.col("delivered_at").isNotNull() & F.col("created_at").isNotNull())
    hours = F.col("delivery_hours").cast("double")
    return delivered.groupBy(
        F.to_date("delivered_at").alias("delivery_date"),
        F.coalesce("carrier", F.lit(UNKNOWN)).alias("carrier"),
    ).agg(
        F.count("*").alias("delivered_orders"),
        F.round(F.percentile(hours, F.lit(0.5)), 2).alias("p50_hours"),
        F.round(F.percentile(hours, F.lit(0.95)), 2).alias("p95_hours"),
        F.expr("count(*) FILTER (WHERE is_delivered_late)").alias("late_deliveries"),
        F.count(F.when(hours > sla_hours, True)).alias("sla_breaches"),
    )


def top_products(events: DataFrame) -> DataFrame:
    """Units, revenue (quantity × unit price) and orders per SKU over orders not cancelled,
    ranked by revenue (ties by SKU)."""
    cancelled = events.filter(F.col("status") == "cancelled").select("order_id").distinct()
    items = (
        events.filter(F.col("status") == "created")
        .join(cancelled, "order_id", "left_anti")
        .select("order_id", "event_time", F.explode("items").alias("item"))
    )
    return rank_products(_per_sku(items))


def _per_sku(items: DataFrame) -> DataFrame:
    """Name (latest), units, revenue and distinct orders per SKU of ``order_id, event_time, item``
    rows (one per item of a ``created`` event)."""
    return items.groupBy(F.col("item.sku").alias("sku")).agg(
        F.expr("max_by(item.name, event_time)").alias("name"),
        F.sum("item.quantity").cast("bigint").alias("units_sold"),
        F.sum(F.col("item.quantity") * F.col("item.unit_price")).cast("decimal(18,2)").alias("revenue"),
        F.countDistinct("order_id").alias("orders"),
    )


def order_items(events: DataFrame) -> DataFrame:
    """One row per ``order_id``: ``cancelled`` (a ``cancelled`` event of a non-NULL order id: the
    anti join of ``top_products`` never matches a NULL id) and ``created``, the ``created`` events'
    ``(event_time, items)`` sorted (a deterministic array). The per-order step of top products:
    an update recomputes only the orders its events touch."""
    # Every field nullable: Delta rejects NOT NULL fields inside an array (Silver's event_time is one).
    element = _nullable(T.StructType([events.schema["event_time"], events.schema["items"]]))
    created = F.when(F.col("status") == "created", F.struct("event_time", "items").cast(element))
    return events.groupBy("order_id").agg(
        (F.expr("count_if(status = 'cancelled') > 0") & F.col("order_id").isNotNull()).alias("cancelled"),
        # sort_array, not array_sort: the same order (no NULL element), and the one a refresh can
        # merge into the stored list (localdlt GROUP_AGGREGATE; Spark's own sort of a row set)
        F.sort_array(F.collect_list(created)).alias("created"),
    )


def product_sales(order_items: DataFrame) -> DataFrame:
    """Units, revenue, orders and latest name per SKU over ``order_items`` of orders not
    cancelled: the aggregate of ``top_products`` without the ranking (one row per SKU)."""
    events = order_items.filter(~F.col("cancelled")).select("order_id", F.explode("created").alias("event"))
    return _per_sku(
        events.select("order_id", "event.event_time", F.explode("event.items").alias("item"))
    )


def _nullable(data_type: T.DataType) -> T.DataType:
    """``data_type`` with every nested field, element and value nullable."""
    if isinstance(data_type, T.StructType):
        return T.StructType([T.StructField(f.name, _nullable(f.dataType), True) for f in data_type.fields])
    if isinstance(data_type, T.ArrayType):
        return T.ArrayType(_nullable(data_type.elementType), True)
    if isinstance(data_type, T.MapType):
        return T.MapType(data_type.keyType, _nullable(data_type.valueType), True)
    return data_type


def rank_products(product_sales: DataFrame) -> DataFrame:
    """``product_sales`` ranked by revenue (ties by SKU): a rank depends on every SKU's revenue."""
    return product_sales.withColumn("rank", F.row_number().over(_ranking()))


def top_products_in_steps(events: DataFrame) -> DataFrame:
    """``top_products`` computed through ``order_items`` → ``product_sales`` → ``rank_products``
    (the same rows; what the pipeline's three views compute)."""
    return rank_products(product_sales(order_items(events)))
