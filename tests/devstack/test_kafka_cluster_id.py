"""The local broker's KRaft cluster id never starts with ``-`` (kafka-storage would read it as an option)."""

import base64
import uuid

import pytest

from orders_lakehouse.devstack import kafka_broker


def test_an_id_starting_with_a_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    dashed = uuid.UUID(bytes=b"\xf8" + bytes(15))  # URL-safe base64 of 0b111110… starts with "-"
    plain = uuid.UUID(bytes=b"\x04" + bytes(15))
    assert base64.urlsafe_b64encode(dashed.bytes).decode().startswith("-")
    draws = iter([dashed, dashed, plain])
    monkeypatch.setattr(kafka_broker.uuid, "uuid4", lambda: next(draws))

    assert kafka_broker.new_cluster_id() == "BAAAAAAAAAAAAAAAAAAAAA"
    assert next(draws, None) is None  # all three drawn: both dashed ids were refused


def test_ids_are_22_url_safe_characters_and_differ() -> None:
    ids = {kafka_broker.new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert uuid.UUID(bytes=base64.urlsafe_b64decode(cluster_id + "==")).version == 4
