"""Shared query parameters, bounded so that no value can overflow date arithmetic (a 422 instead)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator

# Orders-lakehouse data is from this century; the bounds leave room for any window arithmetic
# (timedelta of up to a year either way) without reaching datetime's year 1 / 9999 limits.
MIN_YEAR, MAX_YEAR = 1970, 2199
BOUNDS = f"between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31"


def _bounded_datetime(value: datetime | None) -> datetime | None:
    if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be {BOUNDS}")
    if value is not None and value.utcoffset() is not None:
        try:
            value.astimezone()  # an offset that pushes the instant past the bounds
        except (OverflowError, ValueError):
            raise ValueError(f"must be {BOUNDS}") from None
    return value


def _bounded_date(value: date | None) -> date | None:
    if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be {BOUNDS}")
    return value


BoundedDatetime = Annotated[datetime | None, AfterValidator(_bounded_datetime)]
BoundedDate = Annotated[date | None, AfterValidator(_bounded_date)]

Since = Annotated[BoundedDatetime, Query(description=f"window start (RFC 3339; naive = UTC), {BOUNDS}")]
Until = Annotated[BoundedDatetime, Query(description=f"window end, exclusive, {BOUNDS}")]
Minutes = Annotated[
    int, Query(ge=1, le=1440, description="window length when since/until are not both given")
]
