"""Per-event latency from what a continuous run left on disk, read without a JVM.

* produced: the moment the event's landing file became visible (its inode change time, set by
  the atomic rename that lands it), or the Kafka record timestamp for the Kafka transport;
* visible in Silver: the timestamp of the Delta commit of ``silver_order_events`` that added
  the event's row (read from ``_delta_log``, the added Parquet files mapped to their rows);
* visible in Gold: ``fact_orders`` is a materialized view, recomputed from a snapshot of Silver.
  A refresh that *started* (its RUNNING event in the event log, emitted before the query is
  built) after the event's Silver commit reads a snapshot that holds it, so the event is visible
  in Gold at the commit of the first such refresh. (A refresh that started a little earlier may
  already have held it: this errs on the late side, never early.)
"""

from __future__ import annotations

import json
import os
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq


@dataclass(frozen=True)
class Commit:
    """One Delta commit: version, commit timestamp (epoch seconds) and the data files it added."""

    version: int
    timestamp: float
    added: tuple[str, ...]
    operation: str


def commits(table: Path) -> list[Commit]:
    """Every commit of a Delta table, oldest first (JSON log files; Delta keeps them for 30 days)."""
    log_dir = table / "_delta_log"
    found = []
    for name in os.listdir(log_dir):
        if not (name.endswith(".json") and name[:-5].isdigit()):
            continue
        actions = [json.loads(line) for line in (log_dir / name).read_text().splitlines() if line.strip()]
        info = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
        added = tuple(a["add"]["path"] for a in actions if "add" in a)
        found.append(
            Commit(int(name[:-5]), info.get("timestamp", 0) / 1000.0, added, info.get("operation", ""))
        )
    return sorted(found, key=lambda c: c.version)


def silver_arrivals(table: Path) -> dict[str, tuple[float, str | None, float | None]]:
    """``event_id`` → (Silver commit time, source file, Kafka timestamp) for every Silver row."""
    from urllib.parse import unquote

    arrivals: dict[str, tuple[float, str | None, float | None]] = {}
    for commit in commits(table):
        for path in commit.added:
            file = pq.ParquetFile(table / unquote(path))
            # Silver keeps the file path, not the Kafka timestamp (the Kafka transport is not measured).
            columns = [
                c for c in ("event_id", "_source_file", "_kafka_timestamp") if c in file.schema_arrow.names
            ]
            data = file.read(columns=columns)
            kafka = (
                data.column("_kafka_timestamp").to_pylist()
                if "_kafka_timestamp" in columns
                else [None] * len(data)
            )
            for event_id, source, stamp in zip(
                data.column("event_id").to_pylist(), data.column("_source_file").to_pylist(), kafka
            ):
                if event_id not in arrivals:
                    arrivals[event_id] = (commit.timestamp, source, stamp.timestamp() if stamp else None)
    return arrivals


def file_visible_times(landing: Path) -> dict[str, float]:
    """Landing file's absolute path → when it became visible."""
    times = {}
    for entry in os.scandir(landing):
        if entry.is_file():
            times[str(Path(entry.path).resolve())] = entry.stat().st_ctime
    return times


def local_path(uri: str) -> str:
    """``file:/x``, ``file:///x`` (Spark's ``_metadata.file_path`` spellings) or ``/x`` → ``/x``."""
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri).path) if uri.startswith("file:") else uri


def gold_refreshes(table: Path, events_table: Path, flow: str) -> list[tuple[float, float]]:
    """(start, commit time) of each refresh of materialized view ``flow``: starts from the event
    log's RUNNING events, each paired with the first overwrite commit at or after it."""
    from deltalake import DeltaTable

    if not (table / "_delta_log").is_dir() or not (events_table / "_delta_log").is_dir():
        return []
    rows = (
        DeltaTable(str(events_table))
        .to_pyarrow_table(columns=["origin", "timestamp", "details", "level"])
        .to_pylist()
    )
    starts = sorted(
        r["timestamp"].timestamp() for r in rows
        if r["origin"]["flow_name"] == flow and r["level"] == "INFO"
        and json.loads(r["details"]).get("flow_progress", {}).get("status") == "RUNNING"
    )  # fmt: skip
    writes = [c.timestamp for c in commits(table) if c.added]
    pairs = []
    for start in starts:
        index = bisect_left(writes, start)
        if index < len(writes):
            pairs.append((start, writes[index]))
    return pairs


def latencies(storage: Path, landing: Path | None, gold_flow: str = "fact_orders") -> dict[str, Any]:
    """Per-event (produced, Silver latency, Gold latency or None) lists for one continuous run."""
    arrivals = silver_arrivals(storage / "tables" / "silver_order_events")
    visible = file_visible_times(landing) if landing is not None else {}
    refreshes = gold_refreshes(storage / "tables" / gold_flow, storage / "system" / "events", gold_flow)
    starts = [start for start, _ in refreshes]
    produced, silver, gold = [], [], []
    missing_source = 0
    for silver_at, source, kafka_at in arrivals.values():
        born = kafka_at if kafka_at is not None else visible.get(local_path(source or ""))
        if born is None:
            missing_source += 1
            continue
        produced.append(born)
        silver.append(silver_at - born)
        index = bisect_left(starts, silver_at)
        gold.append(refreshes[index][1] - born if index < len(refreshes) else None)
    return {
        "produced": produced,
        "silver": silver,
        "gold": gold,
        "missing_source": missing_source,
        "gold_refreshes": len(refreshes),
    }


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50 / p95 / p99 / max in seconds (None when there are no values)."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": round(ordered[-1], 3),
        "n": len(ordered),
    }


def backlog_grows(produced: list[float], latency: list[float]) -> bool:
    """Whether latency grew over the run: the last third's median exceeds twice the first
    third's plus 2 s (a pipeline that keeps up has flat latency; one that falls behind, a ramp)."""
    pairs = sorted(zip(produced, latency))
    if len(pairs) < 30:
        return False
    third = len(pairs) // 3
    first = sorted(v for _, v in pairs[:third])[third // 2]
    last = sorted(v for _, v in pairs[-third:])[third // 2]
    return last > 2 * first + 2.0


def stamp(moment: float) -> str:
    """ISO time of an epoch second (for reports)."""
    return datetime.fromtimestamp(moment).isoformat(timespec="seconds")
