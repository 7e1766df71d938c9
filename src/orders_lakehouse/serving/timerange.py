"""Resolving the ``since`` / ``until`` / ``minutes`` parameters into one checked window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MAX_WINDOW = timedelta(days=7)


class InvalidRequestError(ValueError):
    """Parameters that are each valid but make no sense together (answered with HTTP 400)."""


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resolve_window(
    since: datetime | None, until: datetime | None, minutes: int, latest: datetime | None
) -> tuple[datetime, datetime]:
    """The half-open window ``[since, until)``.

    Both ends given: used as they are. One end given: the window is ``minutes`` long from it.
    None given: the ``minutes`` up to the latest data (``latest``, inclusive), so a dashboard over
    a replayed or historical run shows data, not an empty "last hour".

    Raises :class:`InvalidRequestError` when ``since >= until`` or the window exceeds 7 days.
    """
    length = timedelta(minutes=minutes)
    if since is not None and until is not None:
        start, end = as_utc(since), as_utc(until)
    elif since is not None:
        start = as_utc(since)
        end = start + length
    elif until is not None:
        end = as_utc(until)
        start = end - length
    else:
        anchor = as_utc(latest) if latest is not None else datetime.now(UTC).replace(second=0, microsecond=0)
        end = anchor + timedelta(minutes=1)
        start = end - length
    if start >= end:
        raise InvalidRequestError(f"since ({start.isoformat()}) must be before until ({end.isoformat()})")
    if end - start > MAX_WINDOW:
        days = (end - start).total_seconds() / 86400
        raise InvalidRequestError(
            f"the time range may span at most {MAX_WINDOW.days} days, got {days:.2f} days"
        )
    return start, end
