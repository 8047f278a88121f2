"""Moments as the notifier writes them (UTC ISO-8601 with a Z) and durations as people say them."""

from __future__ import annotations

from datetime import UTC, datetime


def isoformat(moment: datetime | None) -> str | None:
    """UTC ISO-8601 with millisecond precision and a Z, so that strings sort as the moments do."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    """The inverse of isoformat; naive moments are taken as UTC."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def format_duration(seconds: float) -> str:
    """Two units at most, as people say it: 5s, 1m 5s, 1h 1m, 1d 1h."""
    seconds = max(int(seconds), 0)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def describe_duration(start: datetime | None, end: datetime | None) -> str | None:
    """The time from start to end as people say it, or None when either is unknown or they are out of order."""
    if start is None or end is None or end < start:
        return None
    return format_duration((end - start).total_seconds())
