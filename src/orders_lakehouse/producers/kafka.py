"""One Kafka producer for the local broker (PLAINTEXT) and for Azure Event Hubs (its Kafka endpoint).

Only the connection settings differ between the two (``KafkaTarget``); the produce path, keys,
delivery confirmation and retries are the same code.

Delivery and retries, and why they live in the client:

* ``enable.idempotence=true`` (implies ``acks=all``): the broker de-duplicates the client's
  retries by producer id and sequence number, and librdkafka keeps at most 5 requests in flight
  per partition while preserving order. So a retried batch neither duplicates nor reorders an
  order's events — message key = ``order_id`` sends all of one order's events to one partition.
* Retries with exponential backoff are librdkafka's own (``retry.backoff.ms`` doubling up to
  ``retry.backoff.max.ms``, until ``delivery.timeout.ms``): only the client knows which in-flight
  batch failed and can retry it in sequence. Wrapping ``produce()`` in an application-level retry
  (tenacity) would re-send messages the client may already be retrying — duplicates and
  reordering. tenacity is used for the one failure handed back synchronously: the local queue is
  full (``BufferError``), where we serve delivery reports and try again with backoff.
* Every message has a delivery callback; ``flush`` waits for all of them and raises
  ``DeliveryError`` if any message failed or was not confirmed in time.
* At start-up, a metadata request (``list_topics``) proves the broker answers; if not,
  ``BrokerUnreachableError`` says so in one line instead of librdkafka retrying silently forever.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from orders_lakehouse.producers.base import ProducerStats

log = logging.getLogger(__name__)

CONNECTION_STRING_ENV = "EVENTHUBS_CONNECTION_STRING"
EVENTHUBS_PORT = 9093


class BrokerUnreachableError(RuntimeError):
    """No broker answered at the bootstrap address within the connect timeout."""


class DeliveryError(RuntimeError):
    """Some messages were not confirmed by the broker."""


@dataclass(frozen=True)
class KafkaTarget:
    """Where to produce: bootstrap servers, topic and the security settings that go with them."""

    bootstrap_servers: str
    topic: str
    security_protocol: str = "PLAINTEXT"
    connection_string: str | None = field(default=None, repr=False)  # never printed

    @property
    def is_eventhubs(self) -> bool:
        return self.connection_string is not None

    def client_config(self) -> dict[str, Any]:
        """librdkafka settings: the shared delivery settings plus SASL for Event Hubs."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "enable.idempotence": True,
            "acks": "all",
            "retry.backoff.ms": 100,
            "retry.backoff.max.ms": 2000,
            "delivery.timeout.ms": 120_000,
            "linger.ms": 20,  # small batches: latency matters more than throughput for a live stream
            "compression.type": "lz4" if not self.is_eventhubs else "none",
        }
        if self.is_eventhubs:
            # Event Hubs' Kafka endpoint: SASL PLAIN over TLS, literal user "$ConnectionString".
            # The other values follow Microsoft's recommended client configuration (idle
            # connections are closed after 240 s; requests above ~1 MB close the connection).
            config.update(
                {
                    "sasl.mechanisms": "PLAIN",
                    "sasl.username": "$ConnectionString",
                    "sasl.password": self.connection_string,
                    "request.timeout.ms": 60_000,
                    "metadata.max.age.ms": 180_000,
                    "connections.max.idle.ms": 180_000,
                    "socket.keepalive.enable": True,
                    "message.max.bytes": 1_000_000,
                }
            )
        return config


def local_target(bootstrap_servers: str, topic: str) -> KafkaTarget:
    """A PLAINTEXT broker, e.g. the local one from ``make kafka-up`` (``127.0.0.1:9092``)."""
    if not bootstrap_servers:
        raise ValueError("bootstrap_servers: give HOST:PORT of the Kafka broker")
    return KafkaTarget(bootstrap_servers, topic)


def create_topic(bootstrap_servers: str, topic: str, partitions: int = 2) -> str:
    """Create ``topic`` on a local broker (an existing one is kept), so that a stream reading it
    has partitions from the start; returns the topic."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers})  # referenced until the futures resolve
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        try:
            future.result(timeout=30)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return topic


def eventhubs_target(namespace: str, hub: str, environ: Mapping[str, str] = os.environ) -> KafkaTarget:
    """The Kafka endpoint of Event Hubs namespace ``namespace``; the hub is the topic.

    The connection string (namespace-level, or one with ``EntityPath``) comes from the
    ``EVENTHUBS_CONNECTION_STRING`` environment variable, never from the command line.
    """
    if not namespace:
        raise ValueError("namespace: give the Event Hubs namespace name (without .servicebus.windows.net)")
    secret = environ.get(CONNECTION_STRING_ENV)
    if not secret:
        raise ValueError(f"set {CONNECTION_STRING_ENV} to the Event Hubs connection string (Endpoint=sb://...)")
    host = namespace if "." in namespace else f"{namespace}.servicebus.windows.net"
    return KafkaTarget(f"{host}:{EVENTHUBS_PORT}", hub, "SASL_SSL", secret)


class KafkaProducer:
    """Produces to ``target.topic`` with key = order id and confirmed delivery.

    Example::

        with KafkaProducer(local_target("127.0.0.1:9092", "orders")) as producer:
            producer.send("ORD-1", b'{"event_id": "..."}')
        # leaving the block flushed: every message was acknowledged, or DeliveryError was raised
    """

    def __init__(
        self,
        target: KafkaTarget,
        *,
        connect_timeout: float = 10.0,
        flush_timeout: float = 130.0,
        extra_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.target = target
        self.flush_timeout = flush_timeout
        self.stats = ProducerStats()
        kind = "Event Hubs" if target.is_eventhubs else "Kafka"
        self.description = f"{kind} {target.bootstrap_servers} topic {target.topic}"
        self.errors: list[str] = []  # first few delivery errors, for the exception message
        config = {**target.client_config(), **(extra_config or {})}
        config["error_cb"] = self._on_client_error
        config["logger"] = logging.getLogger("librdkafka")  # librdkafka's own log lines go through logging
        self._producer = Producer(config)
        self._check_reachable(connect_timeout)

    def _check_reachable(self, timeout: float) -> None:
        try:
            self._producer.list_topics(timeout=timeout)
        except KafkaException as error:
            self._producer.purge()
            raise BrokerUnreachableError(
                f"Kafka broker {self.target.bootstrap_servers} unreachable: no answer within {timeout:g}s "
                f"({error.args[0].str() if error.args and isinstance(error.args[0], KafkaError) else error})"
            ) from None

    def _on_client_error(self, error: KafkaError) -> None:
        # Transient connection errors are retried by librdkafka itself; log them, don't raise here.
        log.warning("Kafka client: %s", error.str())

    def _on_delivery(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self.stats.failed += 1
            if len(self.errors) < 5:
                self.errors.append(error.str())
            return
        self.stats.delivered += 1

    @retry(
        retry=retry_if_exception_type(BufferError),
        wait=wait_exponential(multiplier=0.05, max=2.0),
        stop=stop_after_delay(60),
        reraise=True,
        before_sleep=lambda state: state.args[0]._producer.poll(0.1),  # serve callbacks: frees queue space
    )
    def _produce(self, key: str | None, value: bytes) -> None:
        try:
            self._producer.produce(self.target.topic, value=value, key=key, on_delivery=self._on_delivery)
        except KafkaException as error:  # refused by the client itself, e.g. above message.max.bytes
            reason = (
                error.args[0].str() if error.args and isinstance(error.args[0], KafkaError) else str(error)
            )
            raise DeliveryError(f"message of {len(value)} bytes (key {key}) refused: {reason}") from None

    def send(self, key: str | None, value: bytes) -> None:
        """Queue one message (key = order id); delivery reports are served as we go."""
        self._produce(key, value)
        self.stats.sent += 1
        self.stats.bytes += len(value)
        self._producer.poll(0)

    def flush(self) -> None:
        """Wait until the broker acknowledged every message sent so far; raise DeliveryError if not."""
        remaining = self._producer.flush(self.flush_timeout)
        self.stats.batches += 1
        if remaining:
            raise DeliveryError(
                f"{remaining} message(s) not confirmed by {self.target.bootstrap_servers} within "
                f"{self.flush_timeout:g}s"
            )
        if self.stats.failed:
            raise DeliveryError(
                f"{self.stats.failed} message(s) failed delivery to topic {self.target.topic}: "
                f"{'; '.join(self.errors)}"
            )

    def close(self) -> None:
        """Flush (raising on undelivered messages)."""
        self.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self._producer.flush(min(self.flush_timeout, 10.0))  # best effort: don't mask the original error
