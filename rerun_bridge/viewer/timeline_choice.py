"""Which timeline the viewer opens on: the one that spans the data sensibly.

``ros_time`` (header stamps) is the natural choice, but a robot's clock can be far from the receive times
(sim time, a clock from another day, stamps of 0 in files written before the bridge placed them at their
receive time), or a few stamped topics cover a sliver of a long recording. Then ``log_time`` is the
timeline that shows the recording. The rule, per entity that is on both timelines:

* **far**: the median over those entities of ``|first ros_time - first log_time|`` is above
  :data:`MAX_CLOCK_OFFSET_NS` (60 s);
* **sliver or sprawl**: ``ros_time`` spans less than :data:`MIN_SPAN_RATIO` (half) or more than
  :data:`MAX_SPAN_RATIO` (twice) of ``log_time``'s span.

Either one picks ``log_time``, and so does, for the viewer's own choice (not a blueprint's ``ros_time``):

* **unstamped**: an entity has rows on ``log_time`` and none on ``ros_time`` (a header-less message:
  ``/cmd_vel``'s Twist, a ``std_msgs`` number): on ``ros_time`` its views would be empty.

Without both timelines: ``ros_time``, else ``log_time``, else the first. Only time bounds are read (no
rows), so a lazily opened recording decides from its index, and an .rrd's default layout from what its
sink noted as it wrote (:class:`rerun_bridge.sinks.sent_catalog.SentCatalog`).
"""

from __future__ import annotations

import statistics
from typing import Final, NamedTuple, Protocol

from rerun_bridge.model.timeline import LOG_TIME, ROS_TIME

MAX_CLOCK_OFFSET_NS: Final = 60 * 1_000_000_000
MIN_SPAN_RATIO: Final = 0.5
MAX_SPAN_RATIO: Final = 2.0
_PREFERRED: Final = (ROS_TIME, LOG_TIME)


class TimeIndex(Protocol):
    """The time bounds the choice reads: a chunk store, or what an .rrd sink noted."""

    def entities(self) -> list[str]: ...

    def timelines(self) -> list[str]: ...

    def time_range(self, timeline: str, entity_path: str | None = None) -> tuple[int, int] | None: ...


class TimelineChoice(NamedTuple):
    """The chosen timeline and, when ``ros_time`` was passed over, why (for a note)."""

    timeline: str | None
    reason: str = ""


def preferred_timeline(timelines: list[str]) -> str | None:
    """``ros_time``, else ``log_time``, else the first one: the choice by name alone."""
    for name in _PREFERRED:
        if name in timelines:
            return name
    return timelines[0] if timelines else None


#: What the bridge writes about itself (the live node's diagnostics, a conversion's outcome): on
#: log_time by nature, they are no topic without stamps (the live node's 11 diagnostics plots were
#: named "11 more topics" that made the viewer open on log_time: found by an audit).
_BRIDGE_OWN: Final = "/rerun_bridge/"


def choose_timeline(store: TimeIndex) -> TimelineChoice:
    """The timeline to open ``store`` on, by the rule in this module's docstring."""
    timelines = store.timelines()
    named = preferred_timeline(timelines)
    if named != ROS_TIME or LOG_TIME not in timelines:
        return TimelineChoice(named)
    ranges = _entity_ranges(store)
    off = _stamps_off(store, ranges)
    if off is not None:
        return off
    unstamped = [
        entity
        for entity, (ros, log) in ranges.items()
        if ros is None and log is not None and not entity.startswith(_BRIDGE_OWN)
    ]
    # Named by topic: an entity below another one listed (a Twist's /cmd_vel/arrow) is the same topic.
    topics = [e for e in unstamped if not any(e.startswith(other.rstrip("/") + "/") for other in unstamped)]
    if topics:
        others = len(topics) - 1
        named = topics[0] if not others else f"{topics[0]} and {others} more topic{'s' if others > 1 else ''}"
        verb = "has" if len(topics) == 1 else "have"
        return TimelineChoice(LOG_TIME, f"{named} {verb} no header stamps (no ros_time): log_time shown")
    return TimelineChoice(ROS_TIME)


_Range = tuple[int, int] | None


def _entity_ranges(store: TimeIndex) -> dict[str, tuple[_Range, _Range]]:
    """Each entity's (ros_time, log_time) bounds, read once for every rule."""
    return {
        entity: (store.time_range(ROS_TIME, entity), store.time_range(LOG_TIME, entity))
        for entity in store.entities()
    }


def _stamps_off(store: TimeIndex, ranges: dict[str, tuple[_Range, _Range]]) -> TimelineChoice | None:
    """``log_time`` when the header stamps are far from the receive times, or span a sliver or a sprawl
    of the recording; None when they span it sensibly."""
    offsets = [abs(ros[0] - log[0]) for ros, log in ranges.values() if ros is not None and log is not None]
    if offsets and statistics.median(offsets) > MAX_CLOCK_OFFSET_NS:
        seconds = statistics.median(offsets) / 1e9
        return TimelineChoice(LOG_TIME, f"ros_time is {seconds:.0f} s from the receive times: log_time shown")
    ros_bounds, log_bounds = store.time_range(ROS_TIME), store.time_range(LOG_TIME)
    if ros_bounds is None or log_bounds is None:
        return None
    log_span = log_bounds[1] - log_bounds[0]
    ros_span = ros_bounds[1] - ros_bounds[0]
    if log_span > 0 and not MIN_SPAN_RATIO <= ros_span / log_span <= MAX_SPAN_RATIO:
        return TimelineChoice(
            LOG_TIME,
            f"ros_time spans {ros_span / 1e9:.3g} s of a {log_span / 1e9:.3g} s recording: log_time shown",
        )
    return None


def blueprint_timeline(timeline: str, store: TimeIndex) -> TimelineChoice:
    """The timeline a blueprint names, when the data has it (else none, said), except that ``ros_time``
    yields to ``log_time`` when the stamps do not span the data (a scenario's "scrub on ros_time" on a
    robot whose clock is off would show a sliver of it); header-less topics do not move it (the scenario
    asked for the stamps). The embedded viewer and ``convert --blueprint`` (for Rerun's viewer) both
    apply it."""
    if timeline not in store.timelines():
        return TimelineChoice(None, f"the blueprint's timeline {timeline!r} has no data here")
    if timeline == ROS_TIME and LOG_TIME in store.timelines():
        off = _stamps_off(store, _entity_ranges(store))
        if off is not None:
            return TimelineChoice(off.timeline, f"the blueprint's {off.reason}")
    return TimelineChoice(timeline)
