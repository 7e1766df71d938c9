"""How long events take to become visible in Silver and in Gold, from what the pipeline writes.

Definition (docs/serving.md, "Latency"): an event is *visible in Silver* when the Delta data file
holding its Silver row is written (the add action's ``modificationTime``: Silver is a streaming
table, each row is written once), so its Silver latency is that time minus the event's
``event_time``. It is *visible in Gold* at the first ``fact_orders`` commit after that (Gold is
computed from Silver; commit times are the ``_delta_log`` commit files' times), so its Gold
latency is that commit time minus ``event_time``; events not yet in a Gold commit are left out.
Only the events of Silver files written during the last ``window`` minutes before Silver's newest
file count, so the figure describes the pipeline now, not its history.
"""

from __future__ import annotations

import bisect
import math
import os
from datetime import UTC, datetime
from pathlib import Path


from orders_lakehouse.serving import models
from orders_lakehouse.serving.backends.delta_cache import DeltaCache, Snapshot

EVENT_TIME = "event_time"


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0-100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(q / 100 * len(ordered)), 1)
    return round(ordered[rank - 1], 3)


def commit_times(table_path: Path) -> list[float]:
    """Epoch seconds of each commit file of a Delta table, ascending (cheap: one directory listing)."""
    log_dir = table_path / "_delta_log"
    if not log_dir.is_dir():
        return []
    return sorted(
        entry.stat().st_mtime
        for entry in os.scandir(log_dir)
        if entry.name.endswith(".json") and entry.name[:20].isdigit()
    )


def _layer(samples: list[float]) -> models.LayerLatency:
    return models.LayerLatency(
        p50_seconds=percentile(samples, 50), p95_seconds=percentile(samples, 95), events=len(samples)
    )


def measure(cache: DeltaCache, silver: Snapshot, gold_path: Path, window_minutes: int) -> models.Latency:
    """Silver and Gold latency of the events written to Silver in the last ``window_minutes``."""
    actions = silver.files
    written = {
        Path(p).name: t.timestamp() if isinstance(t, datetime) else t / 1000
        for p, t in zip(
            actions.column("path").to_pylist(), actions.column("modification_time").to_pylist(), strict=True
        )
    }
    if not written:
        empty = _layer([])
        return models.Latency(window_minutes=window_minutes, silver=empty, gold=empty, available=True)
    newest = max(written.values())
    recent = {name: at for name, at in written.items() if at >= newest - window_minutes * 60}
    gold_commits = commit_times(gold_path)
    silver_samples: list[float] = []
    gold_samples: list[float] = []
    for path in actions.column("path").to_pylist():
        at = recent.get(Path(path).name)
        if at is None:
            continue
        next_gold = bisect.bisect_right(gold_commits, at)
        in_gold = gold_commits[next_gold] if next_gold < len(gold_commits) else None
        for moment in cache.file_column(silver, path, EVENT_TIME):
            if moment is None:
                continue
            event = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
            silver_samples.append(max(at - event, 0.0))
            if in_gold is not None:
                gold_samples.append(max(in_gold - event, 0.0))
    return models.Latency(
        window_minutes=window_minutes,
        silver=_layer(silver_samples),
        gold=_layer(gold_samples),
        available=True,
    )
