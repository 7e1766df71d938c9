"""Print pipeline events and metrics as tables (rich) or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orders_lakehouse.ops.events import Event, ExpectationMetrics, FlowMetrics


def events_table(events: list[Event], title: str) -> Table:
    """Time, level, type, flow and message of each event; the error's first line under it."""
    table = Table(title=escape(title), show_lines=False)
    for column in ("timestamp", "level", "event_type", "flow", "message"):
        table.add_column(column, overflow="fold")
    for event in events:
        # Names and messages are data, not markup: "[dev ana] ..." must print as is.
        message = escape(event.message)
        if event.error:
            message += "\n" + escape(_error_summary(event.error))
        level = f"[red]{escape(event.level)}[/red]" if event.level == "ERROR" else escape(event.level)
        table.add_row(
            escape(event.timestamp), level, escape(event.event_type), escape(event.flow_name or ""), message
        )
    return table


def quality_tables(
    flows: list[FlowMetrics], expectations: list[ExpectationMetrics], title: str
) -> list[Table]:
    """A table of flows (rows written / dropped) and one of expectations (passed / failed)."""
    flow_table = Table(title=escape(f"{title}: flows"))
    for column, justify in (
        ("flow", "left"),
        ("status", "left"),
        ("output rows", "right"),
        ("dropped rows", "right"),
    ):
        flow_table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for flow in flows:
        flow_table.add_row(
            escape(flow.flow_name), escape(flow.status), str(flow.output_rows), str(flow.dropped_records)
        )
    quality_table = Table(title=escape(f"{title}: expectations"))
    for column, justify in (
        ("dataset", "left"),
        ("expectation", "left"),
        ("passed", "right"),
        ("failed", "right"),
        ("failed %", "right"),
    ):
        quality_table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for item in expectations:
        failed = f"[red]{item.failed_records}[/red]" if item.failed_records else "0"
        quality_table.add_row(
            escape(item.dataset),
            escape(item.name),
            str(item.passed_records),
            failed,
            f"{item.failure_rate * 100:.2f}",
        )
    return [flow_table, quality_table]


def print_json(console: Console, payload: object) -> None:
    """Plain JSON on stdout (no colour, no wrapping) for scripts."""
    console.file.write(json.dumps(payload, indent=2, sort_keys=True, default=_default) + "\n")


def _default(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[arg-type]
    raise TypeError(f"not JSON serialisable: {value!r}")


def _error_summary(error: dict) -> str:
    exceptions = error.get("exceptions") or []
    if exceptions:
        first = exceptions[0]
        return f"{first.get('class_name', 'error')}: {first.get('message', '')}".strip()
    return json.dumps(error)[:300]
