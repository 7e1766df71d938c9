"""The demo's live terminal view: what the simulator sent and what the pipeline made of it.

Table sizes, alerts, freshness and latency are read from the Delta tables with delta-rs
(``deltalake``) and their logs (:mod:`~orders_lakehouse.devstack.latency`):
no JVM work, so watching the pipeline does not slow it down. Per-flow dropped rows and errors
come from localdlt's listener (``FlowResult`` of each flow, updated every micro-batch).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table

from orders_lakehouse.devstack.latency import LatencyWatch

log = logging.getLogger(__name__)

LAYERS = ("bronze", "silver", "gold", "dim", "fact")


def delta_count(path: Path) -> int | None:
    """Rows of the Delta table at ``path`` (None while it does not exist or cannot be read)."""
    if not (path / "_delta_log").is_dir():
        return None
    try:
        from deltalake import DeltaTable

        return DeltaTable(str(path)).to_pyarrow_dataset().count_rows()
    except Exception as error:  # noqa: BLE001 - a table mid-creation must not break the view
        log.debug("cannot count %s: %s", path, error)
        return None


def delta_rows(path: Path, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """All rows of a small Delta table as dicts ([] when it does not exist or cannot be read)."""
    if not (path / "_delta_log").is_dir():
        return []
    try:
        from deltalake import DeltaTable

        dataset = DeltaTable(str(path)).to_pyarrow_dataset()
        wanted = [c for c in (columns or dataset.schema.names) if c in dataset.schema.names]
        return dataset.to_table(columns=wanted).to_pylist()
    except Exception as error:  # noqa: BLE001
        log.debug("cannot read %s: %s", path, error)
        return []


def newest_event_time(path: Path) -> datetime | None:
    """max(event_time) of a Delta table (None when unknown)."""
    if not (path / "_delta_log").is_dir():
        return None
    try:
        import pyarrow.compute as pc
        from deltalake import DeltaTable

        column = (
            DeltaTable(str(path)).to_pyarrow_dataset().to_table(columns=["event_time"]).column("event_time")
        )
        newest = pc.max(column).as_py()
        if newest is None:
            return None
        return newest if newest.tzinfo else newest.replace(tzinfo=timezone.utc)
    except Exception as error:  # noqa: BLE001
        log.debug("cannot read event_time of %s: %s", path, error)
        return None


@dataclass
class DemoState:
    """Everything the view shows; written by the demo's threads, read by the view."""

    source: str
    tables_dir: Path
    started: float = field(default_factory=time.monotonic)
    phase: str = "starting"
    sent: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    flows: dict[str, Any] = field(default_factory=dict)  # flow name -> localdlt FlowResult
    counts: dict[str, int | None] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    freshness: float | None = None
    latency_watch: LatencyWatch | None = None  # per-event latency of the last minute, when set
    latency: dict[str, dict[str, float | None]] = field(default_factory=dict)
    dashboard: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_flow(self, result: Any) -> None:
        """localdlt listener: keep the latest result of each flow."""
        with self.lock:
            self.flows[result.name] = result

    def refresh_tables(self) -> None:
        """Re-read table sizes, alerts and freshness from the Delta tables."""
        counts = {}
        if self.tables_dir.is_dir():
            for path in sorted(self.tables_dir.iterdir()):
                counts[path.name] = delta_count(path)
        alerts = delta_rows(self.tables_dir / "gold_order_alerts")
        newest = newest_event_time(self.tables_dir / "silver_order_events")
        latency = self._read_latency()
        with self.lock:
            self.counts = counts
            self.alerts = alerts
            self.freshness = (datetime.now(timezone.utc) - newest).total_seconds() if newest else None
            self.latency = latency

    def _read_latency(self) -> dict[str, dict[str, float | None]]:
        if self.latency_watch is None:
            return {}
        try:
            return self.latency_watch.update()
        except Exception as error:  # noqa: BLE001 - a commit mid-write must not break the view
            log.debug("cannot read latencies: %s", error)
            return self.latency


def latency_text(latency: dict[str, dict[str, float | None]]) -> str:
    """``p95 produced → Silver 1.2 s, → Gold 4.0 s (last minute)`` from :meth:`LatencyWatch.update`."""
    silver, gold = latency["silver"]["p95"], latency.get("gold", {}).get("p95")
    gold_text = f", → Gold [bold]{gold:.1f}s[/]" if gold is not None else ""
    return f"p95 produced → Silver [bold]{silver:.1f}s[/]{gold_text} (events of the last minute)"


def _alert_text(alert: dict[str, Any]) -> str:
    for key in ("message", "description", "alert_message", "detail"):
        if alert.get(key):
            kind = alert.get("alert_type") or alert.get("rule") or alert.get("kind") or ""
            return f"{kind}: {alert[key]}" if kind else str(alert[key])
    return ", ".join(f"{k}={v}" for k, v in list(alert.items())[:4])


def render(state: DemoState) -> Group:
    """The view: producer line, freshness and latency, tables with rows / dropped, alerts."""
    with state.lock:
        elapsed = time.monotonic() - state.started
        categories = ", ".join(f"{k} {v}" for k, v in sorted(state.by_category.items()))
        header = Table.grid(padding=(0, 2))
        header.add_row(
            f"[bold]{state.phase}[/]",
            f"{elapsed:5.0f}s",
            f"source [cyan]{state.source}[/]",
            f"sent [bold]{state.sent}[/] ({categories})",
        )
        if state.freshness is not None:
            header.add_row(
                "", "", "freshness", f"newest event in Silver is [bold]{state.freshness:.1f}s[/] old"
            )
        if state.latency.get("silver", {}).get("p95") is not None:
            header.add_row("", "", "latency", latency_text(state.latency))
        if state.dashboard:
            header.add_row("", "", "dashboard", state.dashboard)
        tables = Table(title="tables", expand=False)
        tables.add_column("table")
        tables.add_column("rows", justify="right")
        tables.add_column("dropped (expectations)", justify="right")
        tables.add_column("flow status")
        dropped = {r.target: r.dropped_records for r in state.flows.values()}
        status = {r.target: (r.status, r.error) for r in state.flows.values()}
        names = sorted(
            set(state.counts) | set(status),
            key=lambda n: (next((i for i, p in enumerate(LAYERS) if n.startswith(p)), 9), n),
        )
        for name in names:
            count = state.counts.get(name)
            flow_status, error = status.get(name, ("", None))
            style = "red" if flow_status == "FAILED" else ""
            tables.add_row(
                name,
                "…" if count is None else str(count),
                str(dropped.get(name, "")),
                f"[{style}]{flow_status}[/]" if style else flow_status,
            )
        failures = [
            f"[red]{r.name}: {(r.error or '')[:160]}[/]" for r in state.flows.values() if r.status == "FAILED"
        ]
        alerts = [_alert_text(a) for a in state.alerts[-5:]]
        alert_panel = Panel("\n".join(alerts) or "none", title=f"alerts ({len(state.alerts)})", expand=False)
    return Group(header, tables, alert_panel, *failures)
