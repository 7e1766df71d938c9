"""Per-event latency from what a continuous run left on disk, read without a JVM.

* produced: the moment the event's landing file became visible (its inode change time, set by
  the atomic rename that lands it), or the Kafka record's timestamp for the Kafka transport
  (kept in Bronze, found through the record's topic, partition and offset that Silver keeps);
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
import time
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow.parquet as pq


@dataclass(frozen=True)
class Commit:
    """One Delta commit: version, commit timestamp (epoch seconds) and the data files it added."""

    version: int
    timestamp: float
    added: tuple[str, ...]
    operation: str


def commits(table: Path, after: int = -1) -> list[Commit]:
    """The commits of a Delta table newer than version ``after``, oldest first (JSON log files;
    Delta keeps them for 30 days)."""
    log_dir = table / "_delta_log"
    found = []
    for name in os.listdir(log_dir):
        if not (name.endswith(".json") and name[:-5].isdigit()) or int(name[:-5]) <= after:
            continue
        actions = [json.loads(line) for line in (log_dir / name).read_text().splitlines() if line.strip()]
        info = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
        added = tuple(a["add"]["path"] for a in actions if "add" in a)
        found.append(
            Commit(int(name[:-5]), info.get("timestamp", 0) / 1000.0, added, info.get("operation", ""))
        )
    return sorted(found, key=lambda c: c.version)


KafkaKey = tuple[str, int, int]  # topic, partition, offset


def added_rows(table: Path, commit: Commit, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows of the Parquet files ``commit`` added (only those of ``columns`` the files have)."""
    rows: list[dict[str, Any]] = []
    for path in commit.added:
        file = pq.ParquetFile(table / unquote(path))
        present = [c for c in columns if c in file.schema_arrow.names]
        rows.extend(file.read(columns=present).to_pylist())
    return rows


def _kafka_key(row: dict[str, Any]) -> KafkaKey | None:
    if row.get("_kafka_topic") is None:
        return None
    return (row["_kafka_topic"], row["_kafka_partition"], row["_kafka_offset"])


SILVER_COLUMNS = ("event_id", "_source_file", "_kafka_topic", "_kafka_partition", "_kafka_offset")
BRONZE_KAFKA_COLUMNS = ("_kafka_topic", "_kafka_partition", "_kafka_offset", "_kafka_timestamp")


def silver_arrivals(table: Path, after: int = -1) -> dict[str, tuple[float, str | None, KafkaKey | None]]:
    """``event_id`` → (Silver commit time, source file, Kafka record) for every Silver row committed
    after version ``after`` (the first commit of an event id wins)."""
    arrivals: dict[str, tuple[float, str | None, KafkaKey | None]] = {}
    for commit in commits(table, after):
        _add_arrivals(arrivals, table, commit)
    return arrivals


def _add_arrivals(
    arrivals: dict[str, tuple[float, str | None, KafkaKey | None]], table: Path, commit: Commit
) -> None:
    for row in added_rows(table, commit, SILVER_COLUMNS):
        if row["event_id"] not in arrivals:
            arrivals[row["event_id"]] = (commit.timestamp, row.get("_source_file"), _kafka_key(row))


def kafka_append_times(bronze: Path, after: int = -1) -> dict[KafkaKey, float]:
    """(topic, partition, offset) → the record's Kafka timestamp (the broker's append time for a topic
    with ``message.timestamp.type=LogAppendTime``, the producer's send time otherwise), from Bronze,
    which keeps it (Silver keeps only the record's coordinates)."""
    if not (bronze / "_delta_log").is_dir():
        return {}
    times: dict[KafkaKey, float] = {}
    for commit in commits(bronze, after):
        _add_kafka_times(times, bronze, commit)
    return times


def _add_kafka_times(times: dict[KafkaKey, float], bronze: Path, commit: Commit) -> None:
    for row in added_rows(bronze, commit, BRONZE_KAFKA_COLUMNS):
        key = _kafka_key(row)
        if key is not None and row.get("_kafka_timestamp") is not None:
            times[key] = row["_kafka_timestamp"].timestamp()


def file_visible_times(landing: Path) -> dict[str, float]:
    """Landing file's absolute path → when it became visible."""
    times = {}
    for entry in os.scandir(landing):
        if entry.is_file():
            times[str(Path(entry.path).resolve())] = entry.stat().st_ctime
    return times


def local_path(uri: str) -> str:
    """``file:/x``, ``file:///x`` (Spark's ``_metadata.file_path`` spellings) or ``/x`` → ``/x``."""
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
    """Per-event (produced, Silver latency, Gold latency or None) lists for one run: ``landing`` is
    the landing folder of a files run, None for a Kafka run."""
    tables = storage / "tables"
    arrivals = silver_arrivals(tables / "silver_order_events")
    visible = file_visible_times(landing) if landing is not None else {}
    kafka = kafka_append_times(tables / "bronze_order_events") if landing is None else {}
    refreshes = gold_refreshes(tables / gold_flow, storage / "system" / "events", gold_flow)
    starts = [start for start, _ in refreshes]
    produced, silver, gold = [], [], []
    missing_source = 0
    for silver_at, source, record in arrivals.values():
        born = kafka.get(record) if record is not None else visible.get(local_path(source or ""))
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


class LatencyWatch:
    """Latency of the most recent events while a run goes on, for a live view: each call reads only
    the Silver (and Bronze) commits made since the previous one, and the event log for Gold.

    ``update()`` returns p50 / p95 / p99 to Silver and to Gold over the events whose Silver commit
    falls in the last ``window_s`` seconds (Gold: those already refreshed into ``gold_flow``).
    """

    def __init__(
        self, storage: Path, landing: Path | None, window_s: float = 60.0, gold_flow: str = "fact_orders"
    ) -> None:
        self.storage, self.landing, self.window_s, self.gold_flow = storage, landing, window_s, gold_flow
        self._silver_version = self._bronze_version = -1
        self._kafka: dict[KafkaKey, float] = {}
        self._recent: list[tuple[float, float]] = []  # (Silver commit time, produced time)

    def update(self) -> dict[str, dict[str, float | None]]:
        """Read what was committed since the last call; percentiles over the window."""
        tables = self.storage / "tables"
        silver_table, bronze_table = tables / "silver_order_events", tables / "bronze_order_events"
        if not (silver_table / "_delta_log").is_dir():
            return {"silver": percentiles([]), "gold": percentiles([])}
        if self.landing is None and (bronze_table / "_delta_log").is_dir():
            for commit in commits(bronze_table, self._bronze_version):
                _add_kafka_times(self._kafka, bronze_table, commit)
                self._bronze_version = commit.version
        arrivals: dict[str, tuple[float, str | None, KafkaKey | None]] = {}
        for commit in commits(silver_table, self._silver_version):
            _add_arrivals(arrivals, silver_table, commit)
            self._silver_version = commit.version
        visible = file_visible_times(self.landing) if self.landing is not None else {}
        for silver_at, source, record in arrivals.values():
            born = self._kafka.get(record) if record is not None else visible.get(local_path(source or ""))
            if born is not None:
                self._recent.append((silver_at, born))
        horizon = time.time() - self.window_s
        self._recent = [pair for pair in self._recent if pair[0] >= horizon]
        refreshes = gold_refreshes(
            tables / self.gold_flow, self.storage / "system" / "events", self.gold_flow
        )
        starts = [start for start, _ in refreshes]
        gold = []
        for silver_at, born in self._recent:
            index = bisect_left(starts, silver_at)
            if index < len(refreshes):
                gold.append(refreshes[index][1] - born)
        return {
            "silver": percentiles([silver_at - born for silver_at, born in self._recent]),
            "gold": percentiles(gold),
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
