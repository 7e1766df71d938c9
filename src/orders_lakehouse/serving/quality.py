"""Data-quality numbers from the pipeline event log (Databricks' event log shape).

``flow_progress`` events carry, in their ``details`` JSON string,
``flow_progress.data_quality.expectations`` (a list of ``{name, dataset, passed_records,
failed_records}``) and ``flow_progress.data_quality.dropped_records``. As on Databricks, metrics
are reported once per micro-batch, so summing every ``flow_progress`` event gives the totals.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from orders_lakehouse.serving import gold, models
from orders_lakehouse.serving.backends.base import Backend, Filter, Query
from orders_lakehouse.serving.timerange import as_utc

log = logging.getLogger(__name__)


def summarise(details: list[str | None], since: datetime | None = None) -> models.DataQuality:
    """Sum the expectation metrics of ``flow_progress`` details strings.

    Example::

        summarise(['{"flow_progress": {"data_quality": {"dropped_records": 1, "expectations":'
                   ' [{"name": "valid_id", "dataset": "s", "passed_records": 9, "failed_records": 1}]}}}'])
    """
    passed: dict[tuple[str, str], int] = defaultdict(int)
    failed: dict[tuple[str, str], int] = defaultdict(int)
    dropped: dict[str, int] = defaultdict(int)
    for text in details:
        try:
            quality = (json.loads(text or "{}").get("flow_progress") or {}).get("data_quality") or {}
        except (json.JSONDecodeError, AttributeError):
            log.warning("skipping an event whose details are not a JSON object")
            continue
        expectations: list[dict[str, Any]] = quality.get("expectations") or []
        for item in expectations:
            key = (str(item.get("dataset")), str(item.get("name")))
            passed[key] += int(item.get("passed_records") or 0)
            failed[key] += int(item.get("failed_records") or 0)
        if expectations:
            # dropped_records is per flow; the flow's expectations name the dataset it writes.
            dropped[str(expectations[0].get("dataset"))] += int(quality.get("dropped_records") or 0)
    rows = [
        models.ExpectationQuality(
            dataset=dataset,
            name=name,
            passed_records=passed[(dataset, name)],
            failed_records=failed[(dataset, name)],
            failure_rate=(
                round(failed[(dataset, name)] / total, 4)
                if (total := passed[(dataset, name)] + failed[(dataset, name)])
                else None
            ),
        )
        for dataset, name in sorted(passed.keys() | failed.keys())
    ]
    return models.DataQuality(
        since=since,
        flow_progress_events=len(details),
        expectations=rows,
        datasets=[models.DatasetQuality(dataset=d, dropped_records=n) for d, n in sorted(dropped.items())],
    )


def data_quality(backend: Backend, *, since: datetime | None) -> models.DataQuality:
    """Expectation totals over the event log's ``flow_progress`` events (since ``since`` if given)."""
    table = gold.EVENT_LOG
    filters = [Filter(table.column("event_type"), "=", "flow_progress")]
    if since is not None:
        since = as_utc(since)
        filters.append(Filter(table.column("timestamp"), ">=", since))
    rows = backend.fetch(Query(table, (table.column("details"),), tuple(filters)))
    return summarise([row[table.column("details")] for row in rows], since)
