"""``/latency``: event time -> visible in Silver (its data file's write time) and in Gold (the next
``fact_orders`` commit), computed from what the tables themselves record."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake
from fastapi.testclient import TestClient
from serving_gold_fixture import write_gold

from orders_lakehouse.serving.app import create_app
from orders_lakehouse.serving.settings import Settings

TS = pa.timestamp("us", tz="UTC")


def _silver(path: Path, event_times: list[datetime]) -> None:
    rows = pa.table(
        {"event_id": [f"e-{m.timestamp()}" for m in event_times], "event_time": event_times},
        schema=pa.schema([("event_id", pa.string()), ("event_time", TS)]),
    )
    write_deltalake(str(path), rows, mode="append")


def _nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(math.ceil(q / 100 * len(ordered)), 1) - 1], 3)


def test_latency_from_silver_file_times_and_the_next_gold_commit(tmp_path: Path) -> None:
    storage = write_gold(tmp_path / "run")
    silver = storage / "tables" / "silver_order_events"
    now = datetime.now(UTC)
    first = [now - timedelta(seconds=s) for s in (40, 30, 20, 12)]
    _silver(silver, first)
    fact = storage / "tables" / "fact_orders"
    write_deltalake(str(fact), DeltaTable(str(fact)).to_pyarrow_table(), mode="overwrite")  # a Gold commit
    second = [now - timedelta(seconds=3)]
    _silver(silver, second)  # not in Gold yet: counted for Silver only

    written = {
        Path(a["path"]).name: a["modification_time"]
        for a in pa.table(DeltaTable(str(silver)).get_add_actions(flatten=True)).to_pylist()
    }
    times = sorted(written.values())
    at = [t.timestamp() if isinstance(t, datetime) else t / 1000 for t in times]
    gold_commit = os.stat(fact / "_delta_log" / f"{1:020d}.json").st_mtime
    silver_samples = [at[0] - m.timestamp() for m in first] + [at[1] - m.timestamp() for m in second]
    gold_samples = [gold_commit - m.timestamp() for m in first]

    with TestClient(create_app(Settings(env="dev", storage=storage))) as client:
        body = client.get("/latency", params={"window_minutes": 15}).json()
    assert body == {
        "window_minutes": 15,
        "silver": {
            "p50_seconds": _nearest_rank(silver_samples, 50),
            "p95_seconds": _nearest_rank(silver_samples, 95),
            "events": 5,
        },
        "gold": {
            "p50_seconds": _nearest_rank(gold_samples, 50),
            "p95_seconds": _nearest_rank(gold_samples, 95),
            "events": 4,
        },
        "available": True,
    }
    # The oldest event (40 s before "now") is the Gold p95: written, then waited for the Gold commit.
    assert body["gold"]["p95_seconds"] >= 40
