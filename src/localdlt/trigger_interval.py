"""``pipelines.trigger.interval``: how often a flow of a continuous update runs.

Databricks lets the interval be set for the whole pipeline (its configuration) or for one dataset
(``spark_conf`` of ``@dp.table`` / ``@dp.materialized_view``, or ``SET pipelines.trigger.interval``
above a SQL statement); the dataset's value wins. Its value is a number and a time unit: second(s),
minute(s), hour(s), day(s) (and millisecond(s), which Spark's trigger accepts). A streaming flow
runs a micro-batch that often (Spark's ``processingTime`` trigger); a materialized view is
refreshed at most that often.

Defaults differ from Databricks' (5 s for streams, 1 minute for views over Delta): localdlt's
streams trigger every second, and a view with no interval set anywhere is refreshed as soon as one of
its inputs commits (see :mod:`localdlt.refresher`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from localdlt.definitions import SourceLocation
from localdlt.errors import InvalidArgumentError

KEY = "pipelines.trigger.interval"
DEFAULT_STREAM_INTERVAL = "1 second"

_UNIT_SECONDS = {"millisecond": 0.001, "second": 1, "minute": 60, "hour": 3600, "day": 86400}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(millisecond|second|minute|hour|day)s?\s*$", re.IGNORECASE)


def seconds(value: str, *, where: str, location: SourceLocation | None = None) -> float:
    """The interval ``value`` in seconds; ``where`` names who set it in the error for a bad value."""
    match = _INTERVAL.match(str(value))
    if match is None:
        raise InvalidArgumentError(
            f"{KEY} of {where} must be a number and a time unit (millisecond(s), second(s), "
            f"minute(s), hour(s), day(s)), e.g. '10 seconds'; got {value!r}",
            params={"argument": KEY, "value": str(value), "where": where},
            location=location,
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]


def dataset_interval(spark_conf: Mapping[str, str], flow_conf: Mapping[str, str]) -> str | None:
    """The interval a dataset's or a flow's own ``spark_conf`` sets (the flow's wins), if any."""
    return flow_conf.get(KEY) or spark_conf.get(KEY)
