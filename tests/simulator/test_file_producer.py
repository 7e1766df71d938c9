"""The atomic file producer: a concurrent reader of the landing folder never sees a partial file."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import pytest

from orders_lakehouse.producers.files import AtomicFileProducer


def test_concurrent_reader_never_sees_a_partial_file(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    producer = AtomicFileProducer(
        landing, batch_size=1_000_000, max_batch_seconds=3600
    )  # we decide when files land
    stop = threading.Event()
    seen: dict[str, int] = {}
    problems: list[str] = []

    def reader() -> None:
        # What Spark's file source does: list the folder, read every new file once.
        while True:
            done = stop.is_set()
            for path in sorted(landing.iterdir()):
                if path.name in seen:
                    continue
                if not path.name.endswith(".json"):
                    problems.append(f"foreign name in landing: {path.name}")
                data = path.read_bytes()
                if not data.endswith(b"\n"):
                    problems.append(f"{path.name}: does not end with a newline ({len(data)} bytes)")
                lines = data.splitlines()
                for line in lines:
                    try:
                        json.loads(line)
                    except ValueError:
                        problems.append(f"{path.name}: partial line")
                seen[path.name] = len(lines)
            if done:
                return

    thread = threading.Thread(target=reader)
    thread.start()
    rng = random.Random(11)
    expected = 0
    padding = "x" * 2000  # big lines: a non-atomic write would be caught half-way
    for batch in range(150):
        for i in range(rng.randint(1, 60)):
            producer.send(f"ORD-{batch}", json.dumps({"batch": batch, "i": i, "pad": padding}).encode())
            expected += 1
        producer.flush()
    stop.set()
    thread.join(timeout=60)

    assert problems == []
    assert len(seen) == 150 == producer.stats.batches
    assert sum(seen.values()) == expected == producer.stats.delivered == producer.stats.sent
    assert list(producer.staging.iterdir()) == []  # nothing left half-way


def test_batches_land_by_size_and_on_close(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    with AtomicFileProducer(landing, batch_size=4, max_batch_seconds=3600) as producer:
        for i in range(10):
            producer.send(None, json.dumps({"i": i}).encode())
        assert len(list(landing.iterdir())) == 2  # two full batches of 4
    files = sorted(landing.iterdir())
    assert [len(f.read_bytes().splitlines()) for f in files] == [4, 4, 2]
    assert [json.loads(line)["i"] for f in files for line in f.read_bytes().splitlines()] == list(range(10))


def test_staging_inside_landing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as error:
        AtomicFileProducer(tmp_path / "landing", staging=tmp_path / "landing" / "tmp")
    assert str(error.value) == (
        f"staging: {tmp_path / 'landing' / 'tmp'} is inside the landing folder {tmp_path / 'landing'}; it "
        "must be outside"
    )
