"""Timelines: names, kinds and the conversions between ROS time and Rerun time columns.

Every converted row is placed on ``log_time`` (when the message was received or recorded) and, when the
message has a ``std_msgs/Header``, on ``ros_time`` (its header stamp). Messages without a header are on
``log_time`` only, as in Rerun's own MCAP loader. Both are timestamps in nanoseconds since the Unix epoch.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final

ROS_TIME: Final = "ros_time"
LOG_TIME: Final = "log_time"

NANOS_PER_SECOND: Final = 1_000_000_000


class TimelineKind(Enum):
    """How a timeline's values are read: like Rerun's ``TimeColumn`` kinds."""

    TIMESTAMP = "timestamp"  # ns since the Unix epoch
    DURATION = "duration"  # ns
    SEQUENCE = "sequence"  # plain integers


TIMELINE_KINDS: Final[dict[str, TimelineKind]] = {
    ROS_TIME: TimelineKind.TIMESTAMP,
    LOG_TIME: TimelineKind.TIMESTAMP,
}


def kind_of(timeline: str) -> TimelineKind:
    """Unknown timelines are sequences (frame numbers, message indices)."""
    return TIMELINE_KINDS.get(timeline, TimelineKind.SEQUENCE)


def stamp_to_ns(stamp: Any) -> int:
    """A ``builtin_interfaces/Time`` (``sec`` / ``nanosec``, or ROS 1 style ``secs`` / ``nsecs``) in ns."""
    sec = getattr(stamp, "sec", None)
    if sec is None:
        sec = stamp.secs
        nanosec = stamp.nsecs
    else:
        nanosec = stamp.nanosec
    return int(sec) * NANOS_PER_SECOND + int(nanosec)


def header_stamp_ns(msg: Any) -> int | None:
    """The header stamp of a message in ns, or None when it has no header."""
    header = getattr(msg, "header", None)
    if header is None:
        return None
    stamp = getattr(header, "stamp", None)
    if stamp is None:
        return None
    return stamp_to_ns(stamp)


def parse_time_arg(text: str) -> int:
    """``--start`` / ``--end`` values: seconds since the epoch (float) or an ISO 8601 date-time, to ns."""
    from datetime import UTC, datetime, timedelta

    try:
        return round(float(text) * NANOS_PER_SECOND)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise ValueError(
            f"not a time: {text!r} (use seconds from the recording's start, seconds since the epoch or an "
            "ISO 8601 date-time)"
        ) from err
    # Exact to the microsecond (a float of epoch seconds is not); a time without offset is local time.
    since_epoch = when.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return since_epoch // timedelta(microseconds=1) * 1000
