"""Input shared by the conformance tests: the clickstream rows of the expectation examples of
Databricks' documentation, with one row for each outcome of their rules (valid, too old, a null
page id, a null timestamp and title)."""

from __future__ import annotations

from typing import Any

CLICKSTREAM_ROWS: list[dict[str, Any]] = [
    {"timestamp": "2020-01-01T00:00:00", "current_page_id": 1, "current_page_title": "Home", "count": 5},
    {"timestamp": "2010-01-01T00:00:00", "current_page_id": 2, "current_page_title": "Cart", "count": 3},
    {"timestamp": "2021-06-01T00:00:00", "current_page_id": None, "current_page_title": "X", "count": 0},
    {"timestamp": None, "current_page_id": 4, "current_page_title": None, "count": 7},
]
