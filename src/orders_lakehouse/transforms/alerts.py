"""``gold_order_alerts``: alert rules with thresholds from the pipeline configuration.

Each alert has a stable id, ``sha2(rule | window_start | dimension)``, so re-running the
pipeline (or a full refresh) gives the same ids and a deliverer can skip what it already sent.

Rules:

* ``payment_failure_rate``: per 5-minute window (all methods), failed / (paid + failed) above
  ``orders.alerts.payment_failure_rate``.
* ``order_silence``: a gap of more than ``orders.alerts.silence_minutes`` between consecutive
  ``order_created`` events, or between the last one and *now*. *Now* is the latest event time in
  Silver (not the wall clock), so the table is deterministic and replays give the same alerts.
* ``sla_breach``: a delivered order whose created→delivered time exceeds ``orders.alerts.sla_hours``
  (dimension = order id).
* ``dq_drop_rate``: quarantined / (silver + quarantined) over all data above
  ``orders.alerts.dq_drop_rate`` (no window: one alert whose observed value is updated).

``order_alerts`` is the reference definition over the whole history. The pipeline computes the
same rows from per-rule parts a materialized-view engine refreshes incrementally (see
``order_alerts_from_parts``): ``payment_failure_alerts`` (an aggregate keyed by window),
``sla_alerts_by_order`` (keyed by order), ``activity_buckets`` (per ``silence_minutes`` bucket of
event time: the created times that can start or end a silence, event counts, latest event) and a
count of quarantined rows; only the union, the silence gaps between buckets and the drop rate are
computed on top, over those small tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from orders_lakehouse.transforms.settings import ConfigurationError, PipelineSettings

ALERT_COLUMNS = (
    "alert_id",
    "rule",
    "severity",
    "window_start",
    "window_end",
    "dimension",
    "observed_value",
    "threshold",
    "message",
)
ALL = "all"


@dataclass(frozen=True)
class AlertThresholds:
    """Thresholds of the alert rules (from ``PipelineSettings``)."""

    payment_failure_rate: float = 0.2
    silence_minutes: int = 10
    sla_hours: int = 72
    dq_drop_rate: float = 0.05

    @classmethod
    def from_settings(cls, settings: PipelineSettings) -> "AlertThresholds":
        """The thresholds configured for the pipeline."""
        return cls(
            settings.payment_failure_rate, settings.silence_minutes, settings.sla_hours, settings.dq_drop_rate
        )


def alert_id(rule: Column, window_start: Column, dimension: Column) -> Column:
    """Hex SHA-256 of ``rule|window_start|dimension`` (window as ``yyyy-MM-dd HH:mm:ss`` UTC, or empty).

    Python equivalent: ``sha256(f"{rule}|{start or ''}|{dimension}".encode()).hexdigest()``.
    """
    start = F.coalesce(F.date_format(window_start, "yyyy-MM-dd HH:mm:ss"), F.lit(""))
    return F.sha2(F.concat_ws("|", rule, start, dimension), 256)


def _typed(df: DataFrame, name: str, type_name: str) -> Column:
    """Column ``name`` of ``df`` as ``type_name``, cast only when it is not already of that type (a
    key passed on unchanged stays a plain column: the engine can then replace its rows)."""
    column = F.col(name)
    return (column if dict(df.dtypes)[name] == type_name else column.cast(type_name)).alias(name)


def _finish(df: DataFrame, rule: str, severity: str, threshold: float) -> DataFrame:
    return df.select(
        alert_id(F.lit(rule), F.col("window_start"), F.col("dimension")).alias("alert_id"),
        F.lit(rule).alias("rule"),
        F.lit(severity).alias("severity"),
        _typed(df, "window_start", "timestamp"),
        _typed(df, "window_end", "timestamp"),
        _typed(df, "dimension", "string"),
        F.round(F.col("observed").cast("double"), 4).alias("observed_value"),
        F.lit(float(threshold)).alias("threshold"),
        F.col("message").cast("string").alias("message"),
    )


def payment_failure_alerts(payment_health: DataFrame, threshold: float) -> DataFrame:
    """Windows whose overall failure rate exceeds ``threshold`` (input: ``gold_payment_health``)."""
    per_window = payment_health.groupBy("window_start", "window_end").agg(
        F.sum("approved").alias("approved"), F.sum("failed").alias("failed")
    )
    rate = F.try_divide(F.col("failed"), F.col("approved") + F.col("failed"))  # 0/0 is no rate, not an error
    return _finish(
        per_window.filter(rate > threshold).select(
            "window_start",
            "window_end",
            F.lit(ALL).alias("dimension"),
            rate.alias("observed"),
            F.format_string(
                "payment failure rate %.2f above %.2f (%d failed, %d paid)",
                rate,
                F.lit(threshold),
                "failed",
                "approved",
            ).alias("message"),
        ),
        "payment_failure_rate",
        "high",
        threshold,
    )


def silence_alerts(events: DataFrame, silence_minutes: int) -> DataFrame:
    """Gaps without ``order_created`` longer than ``silence_minutes`` (now = latest event time)."""
    now = events.agg(F.max("event_time").alias("now"))
    created = events.filter(F.col("status") == "created").select("event_time").distinct()
    following = F.lead("event_time").over(Window.orderBy("event_time"))
    gaps = created.select(F.col("event_time").alias("window_start"), following.alias("next")).crossJoin(now)
    return _silence(gaps, silence_minutes)


def _silence(gaps: DataFrame, silence_minutes: int) -> DataFrame:
    """Alerts of the ``window_start, next, now`` gaps longer than ``silence_minutes``."""
    gaps = gaps.select("window_start", F.coalesce("next", "now").alias("window_end"))
    minutes = (F.unix_timestamp("window_end") - F.unix_timestamp("window_start")) / F.lit(60)
    return _finish(
        gaps.filter(minutes > silence_minutes).select(
            "window_start",
            "window_end",
            F.lit(ALL).alias("dimension"),
            minutes.alias("observed"),
            F.format_string(
                "no order created for %.1f minutes (limit %d)", minutes, F.lit(silence_minutes)
            ).alias("message"),
        ),
        "order_silence",
        "medium",
        silence_minutes,
    )


def sla_alerts(fact_orders: DataFrame, sla_hours: int) -> DataFrame:
    """Delivered orders slower than ``sla_hours`` from creation (input: ``fact_orders``)."""
    return _sla(fact_orders.filter(F.col("delivery_hours").cast("double") > sla_hours), sla_hours)


def sla_alerts_by_order(fact_orders: DataFrame, sla_hours: int) -> DataFrame:
    """``sla_alerts`` as an aggregate keyed by ``order_id`` (``fact_orders`` has one row per order,
    so each group is that row): an update of ``fact_orders`` then recomputes the alerts of the
    orders it touched only."""
    hours = F.col("delivery_hours").cast("double")
    per_order = (
        fact_orders.filter(hours > sla_hours)
        .groupBy("order_id")
        .agg(*[F.max(c).alias(c) for c in ("created_at", "delivered_at", "delivery_hours")])
    )
    return _sla(per_order, sla_hours)


def _sla(breaches: DataFrame, sla_hours: int) -> DataFrame:
    hours = F.col("delivery_hours").cast("double")
    return _finish(
        breaches.select(
            F.col("created_at").alias("window_start"),
            F.col("delivered_at").alias("window_end"),
            F.col("order_id").alias("dimension"),
            hours.alias("observed"),
            F.format_string(
                "order %s delivered in %.2f h (SLA %d h)", "order_id", hours, F.lit(sla_hours)
            ).alias("message"),
        ),
        "sla_breach",
        "medium",
        sla_hours,
    )


def dq_alerts(silver: DataFrame, quarantine: DataFrame, threshold: float) -> DataFrame:
    """One alert when the share of quarantined rows exceeds ``threshold``."""
    counts = silver.agg(F.count("*").alias("good")).crossJoin(quarantine.agg(F.count("*").alias("bad")))
    return _dq(counts, threshold)


def _dq(counts: DataFrame, threshold: float) -> DataFrame:
    """The alert of one ``good, bad`` row of counts when ``bad / (good + bad)`` exceeds ``threshold``."""
    rate = F.try_divide(F.col("bad"), F.col("good") + F.col("bad"))  # empty tables: no rate, no alert
    return _finish(
        counts.filter(rate > threshold).select(
            F.lit(None).cast("timestamp").alias("window_start"),
            F.lit(None).cast("timestamp").alias("window_end"),
            F.lit(ALL).alias("dimension"),
            rate.alias("observed"),
            F.format_string(
                "%d of %d rows quarantined (rate %.4f above %.4f)",
                "bad",
                F.col("good") + F.col("bad"),
                rate,
                F.lit(threshold),
            ).alias("message"),
        ),
        "dq_drop_rate",
        "high",
        threshold,
    )


def order_alerts(
    events: DataFrame,
    quarantine: DataFrame,
    payment_health: DataFrame,
    fact_orders: DataFrame,
    thresholds: AlertThresholds,
) -> DataFrame:
    """All alerts (columns :data:`ALERT_COLUMNS`)."""
    return (
        payment_failure_alerts(payment_health, thresholds.payment_failure_rate)
        .unionByName(silence_alerts(events, thresholds.silence_minutes))
        .unionByName(sla_alerts(fact_orders, thresholds.sla_hours))
        .unionByName(dq_alerts(events, quarantine, thresholds.dq_drop_rate))
    )


# -- the parts the pipeline refreshes incrementally ------------------------------------------------
def activity_buckets(events: DataFrame, silence_minutes: int) -> DataFrame:
    """Per bucket of ``silence_minutes`` of event time (``bucket_start``, aligned to the epoch; one
    second when ``silence_minutes`` is 0): ``events`` (rows), ``last_event`` and the first and last
    ``created`` times. Two consecutive created times in one bucket are less than
    ``silence_minutes`` apart in whole seconds, so every silence runs from a bucket's
    ``last_created`` to the next bucket's ``first_created`` (or *now*): the silence rule reads one
    row per bucket instead of every event. Mergeable aggregates only (count, min, max)."""
    if silence_minutes < 0:
        raise ConfigurationError(f"orders.alerts.silence_minutes must be >= 0, got {silence_minutes}")
    width = F.lit(max(silence_minutes * 60, 1))
    second = F.unix_seconds("event_time")
    created = F.when(F.col("status") == "created", F.col("event_time"))
    return events.groupBy(F.timestamp_seconds(second - F.pmod(second, width)).alias("bucket_start")).agg(
        F.count("*").alias("events"),
        F.max("event_time").alias("last_event"),
        F.min(created).alias("first_created"),
        F.max(created).alias("last_created"),
    )


def silence_alerts_from_buckets(buckets: DataFrame, silence_minutes: int) -> DataFrame:
    """``silence_alerts`` from ``activity_buckets`` of the same ``silence_minutes``."""
    now = buckets.agg(F.max("last_event").alias("now"))
    created = buckets.filter(F.col("first_created").isNotNull())
    following = F.lead("first_created").over(Window.orderBy("bucket_start"))
    gaps = created.select(F.col("last_created").alias("window_start"), following.alias("next")).crossJoin(now)
    return _silence(gaps, silence_minutes)


def quarantined_rows(quarantine: DataFrame) -> DataFrame:
    """One row: ``rows``, the number of quarantined rows (a global count)."""
    return quarantine.agg(F.count("*").alias("rows"))


def order_alerts_from_parts(
    payment_alerts: DataFrame,
    buckets: DataFrame,
    sla_alerts: DataFrame,
    quarantine_rows: DataFrame,
    thresholds: AlertThresholds,
) -> DataFrame:
    """``order_alerts`` from its incrementally maintained parts: the payment and SLA alert rows
    (``payment_failure_alerts``, ``sla_alerts_by_order``), ``activity_buckets`` (silence and the
    Silver row count) and ``quarantined_rows``."""
    good = buckets.agg(F.coalesce(F.sum("events"), F.lit(0)).cast("bigint").alias("good"))
    counts = good.crossJoin(quarantine_rows.select(F.col("rows").alias("bad")))
    return (
        payment_alerts.select(*ALERT_COLUMNS)
        .unionByName(silence_alerts_from_buckets(buckets, thresholds.silence_minutes))
        .unionByName(sla_alerts.select(*ALERT_COLUMNS))
        .unionByName(_dq(counts, thresholds.dq_drop_rate))
    )
