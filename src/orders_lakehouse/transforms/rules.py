"""Every data-quality rule of the pipeline, kept as data: ``{name: SQL boolean expression}``.

The pipeline shells declare these as expectations; the quarantine transform uses the very same
dict to compute ``failed_rules``. A rule passes only when its expression is TRUE (NULL fails),
which is how expectations count and how :func:`all_pass` / :func:`failed_rule_names` treat them.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from orders_lakehouse.contract.spark_schema import enum_values

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
MAX_PAYLOAD_BYTES = 262_144  # 256 KiB: far above any real order event, below pathological payloads
MAX_AMOUNT = 1_000_000  # BRL; anything at or above is treated as absurd


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def silver_event_rules(future_tolerance_seconds: int = 300) -> dict[str, str]:
    """The Silver rule set over the columns of :func:`orders_lakehouse.transforms.silver.stage_events`.

    One rule per contract constraint (plus payload-level checks); ``future_tolerance_seconds``
    is ``orders.future_tolerance_seconds``.
    """
    amounts = ("subtotal", "discount", "shipping_amount", "total")
    return {
        "payload_is_valid_utf8": "_checks.payload_is_valid_utf8",
        "payload_within_size_limit": f"payload_bytes <= {MAX_PAYLOAD_BYTES}",
        "payload_is_json_object": "_checks.payload_is_json_object",
        "fields_have_contract_types": "size(_checks.invalid_fields) = 0",
        "event_id_is_uuid": f"event_id RLIKE '{UUID_PATTERN}'",
        "event_type_is_known": _in("event_type", enum_values("event_type")),
        "event_time_present": "event_time IS NOT NULL",
        "event_time_not_in_future": (
            f"event_time <= _ingested_at + make_dt_interval(0, 0, 0, {int(future_tolerance_seconds)})"
        ),
        "schema_version_is_1": "schema_version = 1",
        "order_id_present": "length(order_id) > 0",
        "customer_id_present": "length(customer_id) > 0",
        "customer_email_is_valid": "_checks.customer_email_is_valid IS NOT FALSE",
        "customer_document_is_valid_cpf": "_checks.customer_document_is_valid_cpf IS NOT FALSE",
        "customer_state_is_uf": "customer_state IS NULL OR "
        + _in("customer_state", enum_values("customer", "state")),
        "channel_is_known": "channel IS NULL OR " + _in("channel", enum_values("channel")),
        "created_has_channel": "event_type IS DISTINCT FROM 'order_created' OR channel IS NOT NULL",
        "created_has_items": "event_type IS DISTINCT FROM 'order_created' OR coalesce(size(items), 0) > 0",
        "items_are_valid": (
            "items IS NULL OR forall(items, i -> length(i.sku) > 0 AND i.quantity >= 1 AND i.unit_price >= 0)"
        ),
        "created_has_amounts": "event_type IS DISTINCT FROM 'order_created' OR ("
        + " AND ".join(f"{a} IS NOT NULL" for a in amounts)
        + ")",
        "amounts_not_negative": " AND ".join(f"coalesce({a} >= 0, true)" for a in amounts),
        "amounts_not_absurd": " AND ".join(f"coalesce({a} < {MAX_AMOUNT}, true)" for a in amounts)
        + f" AND (items IS NULL OR forall(items, i -> coalesce(i.unit_price < {MAX_AMOUNT}, true)))",
        "total_adds_up": (
            "total IS NULL OR "
            "abs(total - (subtotal - coalesce(discount, 0) + coalesce(shipping_amount, 0))) <= 0.01"
        ),
        "currency_is_brl": "currency IS NULL OR " + _in("currency", enum_values("amounts", "currency")),
        "payment_method_is_known": "payment_method IS NULL OR "
        + _in("payment_method", enum_values("payment", "method")),
        "installments_in_range": "installments IS NULL OR installments BETWEEN 1 AND 24",
        "payment_status_is_known": "payment_status IS NULL OR "
        + _in("payment_status", enum_values("payment", "status")),
        "cancelled_has_reason": (
            "event_type IS DISTINCT FROM 'order_cancelled' OR length(trim(cancel_reason)) > 0"
        ),
    }


# Allowed status transitions of an order (previous status -> next status, by event time).
# NULL previous = first event of the order. Repeating payment_failed (retries) is legal.
LEGAL_TRANSITIONS: dict[str | None, tuple[str, ...]] = {
    None: ("created",),
    "created": ("paid", "payment_failed", "cancelled"),
    "payment_failed": ("paid", "payment_failed", "cancelled"),
    "paid": ("shipped", "cancelled"),
    "shipped": ("delivered",),
    "delivered": (),
    "cancelled": (),
}


def transition_rules() -> dict[str, str]:
    """Warn rules on ``silver_order_status_transitions`` (rows are counted, never dropped)."""
    return {"legal_status_transition": "is_legal_transition"}


def all_pass(rules: dict[str, str]) -> Column:
    """TRUE when every rule is TRUE (NULL counts as failed), never NULL."""
    if not rules:
        return F.lit(True)
    cond = F.lit(True)
    for expression in rules.values():
        cond = cond & F.coalesce(F.expr(f"({expression})"), F.lit(False))
    return cond


def any_fails_sql(rules: dict[str, str]) -> str:
    """The inverted rule set as one SQL expression (the quarantine table's expectation)."""
    return "NOT (" + " AND ".join(f"coalesce(({e}), false)" for e in rules.values()) + ")"


def failed_rule_names(rules: dict[str, str]) -> Column:
    """Array of the names of the rules a row fails, in rule order (empty when it passes)."""
    flags = [F.when(~F.coalesce(F.expr(f"({e})"), F.lit(False)), F.lit(name)) for name, e in rules.items()]
    return F.filter(F.array(*flags), lambda x: x.isNotNull())


def fact_order_rules() -> dict[str, str]:
    """Warn rules on ``fact_orders``: an order seen without its ``order_created`` event (late or
    lost upstream) is kept, and counted."""
    return {"order_has_created_event": "created_at IS NOT NULL"}
