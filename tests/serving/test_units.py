"""Small pure functions of serving: money rounding, time windows, event-log summaries."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orders_lakehouse.serving.kpis import _money
from orders_lakehouse.serving.quality import summarise
from orders_lakehouse.serving.timerange import InvalidRequestError, resolve_window


def test_money_rounds_half_up_to_the_cent() -> None:
    # float rounding would give 2.67 for 2.675 (binary representation); money rounds half up.
    assert [_money(Decimal("2.675")), _money(2.675), _money(None), _money(Decimal("0.004"))] == [
        2.68,
        2.68,
        0.0,
        0.0,
    ]


def test_window_rules() -> None:
    ten = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    assert resolve_window(ten, ten + timedelta(hours=1), 5, None) == (ten, ten + timedelta(hours=1))
    assert resolve_window(ten, None, 5, None) == (ten, ten + timedelta(minutes=5))
    assert resolve_window(None, ten, 5, None) == (ten - timedelta(minutes=5), ten)
    # Neither end: the minutes up to the latest data, inclusive of its minute.
    assert resolve_window(None, None, 60, ten) == (ten - timedelta(minutes=59), ten + timedelta(minutes=1))
    # Naive datetimes are UTC.
    assert resolve_window(datetime(2026, 11, 29, 10, 0), None, 1, None)[0] == ten
    start, end = resolve_window(None, None, 30, None)  # empty table: the last 30 minutes of the clock
    assert end - start == timedelta(minutes=30)
    with pytest.raises(InvalidRequestError, match="must be before until"):
        resolve_window(ten, ten, 5, None)


def test_summarise_skips_details_that_are_not_json(caplog: pytest.LogCaptureFixture) -> None:
    good = json.dumps(
        {
            "flow_progress": {
                "data_quality": {
                    "dropped_records": 2,
                    "expectations": [
                        {
                            "name": "valid_uf",
                            "dataset": "silver_order_events",
                            "passed_records": 8,
                            "failed_records": 2,
                        }
                    ],
                }
            }
        }
    )
    with caplog.at_level(logging.WARNING):
        result = summarise([good, "{not json", None, '"a string"'])
    assert result.model_dump() == {
        "since": None,
        "flow_progress_events": 4,
        "expectations": [
            {
                "dataset": "silver_order_events",
                "name": "valid_uf",
                "passed_records": 8,
                "failed_records": 2,
                "failure_rate": 0.2,
            }
        ],
        "datasets": [{"dataset": "silver_order_events", "dropped_records": 2}],
    }
    assert caplog.text.count("skipping an event whose details are not a JSON object") == 2
