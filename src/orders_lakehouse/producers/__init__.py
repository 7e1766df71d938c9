"""Transports for order events: an atomic file producer and one Kafka producer for Kafka and Event Hubs.

Both take raw message bytes plus an optional key (the order id) and share one small interface,
``Producer``, so the simulator does not care where its messages go.
"""

from orders_lakehouse.producers.base import Producer, ProducerStats

__all__ = ["Producer", "ProducerStats"]
