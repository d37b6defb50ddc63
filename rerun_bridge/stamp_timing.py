"""How a recording's clocks line up: what ``rerun-bridge info --timing`` measures and prints.

Robot bugs are often join bugs: each sensor looks right alone, but its header stamps drift from the
others', or a TF edge stops being updated. For every topic this reads each message's header stamp (the
first field of most sensor types, read straight from the CDR bytes; other types are decoded) against
the time the recorder received it, and the gaps between receptions; for ``/tf`` (and any TFMessage topic)
the same per edge, parent -> child. :func:`findings` turns the numbers into plain sentences: stamps far
behind or ahead of receive time (an unsynchronised clock), topics whose delays differ (a time offset
between sensors), stamps that go back, gaps many times a topic's usual period (a dropout; for a TF edge,
a stale leg).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from rerun_bridge.cdr.decoding import DecoderChoice
from rerun_bridge.model.records import RawMessage
from rerun_bridge.model.timeline import NANOS_PER_SECOND, header_stamp_ns, stamp_to_ns
from rerun_bridge.model.type_names import normalize_type_name

HEADER_TYPE: Final = "std_msgs/msg/Header"
TF_TYPE: Final = "tf2_msgs/msg/TFMessage"
#: Stamps more than this far from receive time are another clock (sim time, an unsynchronised robot).
OTHER_CLOCK_NS: Final = NANOS_PER_SECOND
#: Topics on one clock whose median delays differ by more than this are said to be offset.
OFFSET_NS: Final = 100_000_000
#: A gap is a dropout when it is this many times the series' usual period ...
GAP_PERIODS: Final = 5.0
#: ... and at least this long (a 1 kHz topic missing 5 ms is noise).
GAP_MIN_NS: Final = 500_000_000
#: Stamps before this (1 January 2000) are sim time or a clock that was never set.
EPOCH_2000_NS: Final = 946_684_800 * NANOS_PER_SECOND
_LITTLE_ENDIAN: Final = struct.Struct("<iI")
_BIG_ENDIAN: Final = struct.Struct(">iI")


@dataclass(slots=True)
class _Series:
    receive: list[int] = field(default_factory=list)
    stamps: list[int] = field(default_factory=list)
    #: Receive time of each stamped message (``stamps``' partner).
    stamped_at: list[int] = field(default_factory=list)
    unset: int = 0
    undecodable: int = 0


@dataclass(frozen=True, slots=True)
class SeriesTiming:
    """One topic's (or TF edge's) timing. Delays are receive time minus header stamp (positive: the stamp
    is in the past, as latency makes it); None where nothing was stamped."""

    name: str
    count: int
    stamped: int
    unset: int
    undecodable: int
    delay_median_ns: int | None
    delay_low_ns: int | None
    delay_high_ns: int | None
    backwards: int
    #: When the first step back came (from the recording's start) and the largest step back.
    first_back_at_ns: int | None
    largest_back_ns: int | None
    #: Stamps equal to the one before: a publisher re-sending an old stamp (a frozen TF edge).
    repeated: int
    period_ns: int | None
    longest_gap_ns: int | None
    longest_gap_at_ns: int | None
    sim_time: bool
    #: Stamps both before 2000 (sim time) and after: a clock that switched, whose median means nothing.
    mixed_clock: bool

    @property
    def standing_still(self) -> bool:
        """Whether most stamps repeat the one before: the delay then grows with the recording, and says
        nothing about a clock."""
        return self.stamped >= 3 and self.repeated * 2 >= self.stamped


class StampTiming:
    """Gathers the stamps and receive times of a recording's messages, topic by topic."""

    def __init__(self, choices: Mapping[str, DecoderChoice], type_names: Mapping[str, str]) -> None:
        self._choices = choices
        self._series: dict[str, _Series] = {}
        self._stamps = {topic: _stamp_place(choices.get(topic), name) for topic, name in type_names.items()}

    def add(self, message: RawMessage) -> None:
        place = self._stamps.get(message.topic, _NO_STAMP)
        if place == _TF:
            self._add_tf(message)
            return
        series = self._series.setdefault(message.topic, _Series())
        series.receive.append(message.log_time_ns)
        if place == _NO_STAMP:
            return  # no header: only its receive times count
        if place == _FIRST_FIELD:
            stamp = _stamp_from_cdr(message.data)
        else:
            decoded = self._decode(message)
            stamp = None if decoded is None else header_stamp_ns(decoded)
        if stamp is None:
            series.undecodable += 1
        elif stamp == 0:
            series.unset += 1
        else:
            series.stamps.append(stamp)
            series.stamped_at.append(message.log_time_ns)

    def _decode(self, message: RawMessage) -> Any:
        choice = self._choices.get(message.topic)
        if choice is None or choice.decoder is None:
            return None
        try:
            return choice.decoder(message.data)
        except Exception:  # a damaged message: counted as not decodable, the rest goes on
            return None

    def _add_tf(self, message: RawMessage) -> None:
        decoded = self._decode(message)
        if decoded is None:
            self._series.setdefault(message.topic, _Series()).undecodable += 1
            return
        static = is_static_tf(message.topic)
        for transform in decoded.transforms:
            parent = str(transform.header.frame_id).lstrip("/")
            child = str(transform.child_frame_id).lstrip("/")
            # Static edges are sent once, stamped when their publisher started: one row for the topic.
            name = message.topic if static else f"{message.topic} {parent} -> {child}"
            series = self._series.setdefault(name, _Series())
            series.receive.append(message.log_time_ns)
            stamp = stamp_to_ns(transform.header.stamp)
            if stamp == 0:
                series.unset += 1
            else:
                series.stamps.append(stamp)
                series.stamped_at.append(message.log_time_ns)

    def timings(self, start_ns: int) -> list[SeriesTiming]:
        """Each series' timing, by name; gap positions in ns from ``start_ns``."""
        return [_summary(name, series, start_ns) for name, series in sorted(self._series.items())]


#: Where a topic's messages keep their stamp.
_NO_STAMP, _FIRST_FIELD, _NESTED, _TF = "none", "first field", "nested", "tf"


def is_static_tf(topic: str) -> bool:
    """``/tf_static`` (in any namespace): edges latched once, whose stamps say nothing about delays."""
    return topic.rsplit("/", 1)[-1] == "tf_static"


def _stamp_place(choice: DecoderChoice | None, type_name: str) -> str:
    """Where the type keeps its stamp: a first field ``header`` (read from the CDR bytes), a header further
    in (decoded), each transform of a TFMessage, or nowhere (a type that does not decode has none)."""
    type_name = normalize_type_name(type_name)
    if type_name == TF_TYPE:
        return _TF
    if choice is None or choice.typestore is None or type_name not in choice.typestore.fielddefs:
        return _NO_STAMP
    fields = choice.typestore.fielddefs[type_name][1]
    headers = [name for name, kind in fields if isinstance(kind, tuple) and kind[1:] == (HEADER_TYPE,)]
    if not headers:
        return _NO_STAMP
    return _FIRST_FIELD if fields[0][0] == headers[0] else _NESTED


def _stamp_from_cdr(data: bytes | memoryview) -> int | None:
    """``header.stamp`` of a CDR message whose first field is a Header (after the 4-byte encapsulation
    header, whose second byte says the byte order); None when the message is too short."""
    if len(data) < 12:
        return None
    layout = _LITTLE_ENDIAN if data[1] & 1 else _BIG_ENDIAN
    sec, nanosec = layout.unpack_from(data, 4)
    return int(sec) * NANOS_PER_SECOND + int(nanosec)


def _summary(name: str, series: _Series, start_ns: int) -> SeriesTiming:
    receive = np.asarray(series.receive, dtype=np.int64)
    stamps = np.asarray(series.stamps, dtype=np.int64)
    stamped_at = np.asarray(series.stamped_at, dtype=np.int64)
    delays = stamped_at - stamps
    # Latched once (static TF): no period, no gaps.
    gaps = np.diff(receive) if not is_static_tf(name) else np.zeros(0, dtype=np.int64)
    longest = int(np.argmax(gaps)) if len(gaps) else None
    median, low, high = (
        (int(value) for value in np.percentile(delays, [50, 5, 95])) if len(delays) else (None, None, None)
    )
    steps = np.diff(stamps)
    back = np.flatnonzero(steps < 0)
    return SeriesTiming(
        name=name,
        count=len(receive),
        stamped=len(stamps),
        unset=series.unset,
        undecodable=series.undecodable,
        delay_median_ns=median,
        delay_low_ns=low,
        delay_high_ns=high,
        backwards=len(back),
        first_back_at_ns=int(stamped_at[back[0] + 1] - start_ns) if len(back) else None,
        largest_back_ns=int(-steps[back].min()) if len(back) else None,
        repeated=int((steps == 0).sum()),
        period_ns=int(np.median(gaps)) if len(gaps) else None,
        longest_gap_ns=None if longest is None else int(gaps[longest]),
        longest_gap_at_ns=None if longest is None else int(receive[longest] - start_ns),
        sim_time=bool(len(stamps)) and bool((stamps < EPOCH_2000_NS).all()),
        mixed_clock=0 < int((stamps < EPOCH_2000_NS).sum()) < len(stamps),
    )


def duration_text(nanos: int) -> str:
    """A signed duration in the unit that reads best: ``-12.3 ms``, ``3.20 s``, ``61.3 days``."""
    size = abs(nanos)
    if size < 1_000_000:
        return f"{nanos / 1e3:.0f} us"
    if size < NANOS_PER_SECOND:
        return f"{nanos / 1e6:.1f} ms"
    if size < 120 * NANOS_PER_SECOND:
        return f"{nanos / 1e9:.2f} s"
    if size < 2 * 3600 * NANOS_PER_SECOND:
        return f"{nanos / 60e9:.1f} min"
    if size < 2 * 86400 * NANOS_PER_SECOND:
        return f"{nanos / 3600e9:.1f} h"
    return f"{nanos / 86400e9:.1f} days"


def clock_of(timing: SeriesTiming) -> str:
    """Which clock a series' stamps follow: ``recorder`` (within a second of receive time), ``sim``
    (stamps before 2000), ``other`` (an unsynchronised clock); "" without stamps or for static TF."""
    if (
        timing.delay_median_ns is None
        or is_static_tf(timing.name)
        or timing.standing_still
        or timing.mixed_clock
    ):
        return ""
    if timing.sim_time:
        return "sim"
    return "recorder" if abs(timing.delay_median_ns) <= OTHER_CLOCK_NS else "other"


def findings(timings: Iterable[SeriesTiming]) -> list[str]:
    """What stands out, one sentence each: clocks apart, offsets between topics on one clock, stamps that
    stand still or go back, stamps never set, messages whose stamp could not be read, gaps of stamped
    topics and TF edges (an unstamped topic such as /cmd_vel is sent when there is something to say: its
    gaps are not dropouts). ``/tf_static`` is latched once, stamped when its publisher started (or 0):
    not judged."""
    timings = list(timings)
    said: list[str] = []
    by_clock: dict[str, list[SeriesTiming]] = {}
    for timing in timings:
        by_clock.setdefault(clock_of(timing), []).append(timing)
        edge = " -> " in timing.name
        if is_static_tf(timing.name):
            continue
        if timing.standing_still:
            what = " (a stale TF edge: sent again with an old stamp)" if edge else ""
            said.append(
                f"{timing.name}: header stamps stand still: {timing.repeated} of {timing.stamped} repeat the "
                f"one before{what}"
            )
        if timing.mixed_clock:
            said.append(f"{timing.name}: header stamps switch between sim time and another clock")
        if timing.backwards:
            said.append(
                f"{timing.name}: header stamps go back {timing.backwards} time(s), first at "
                f"{(timing.first_back_at_ns or 0) / NANOS_PER_SECOND:.2f} s, by up to "
                f"{duration_text(timing.largest_back_ns or 0)}"
            )
        if timing.unset:
            what = "transform(s)" if edge else "message(s)"
            said.append(f"{timing.name}: {timing.unset} {what} stamped 0 (never set)")
        if timing.undecodable:
            said.append(
                f"{timing.name}: the stamp of {timing.undecodable} message(s) could not be read (damaged)"
            )
        gap, period = timing.longest_gap_ns, timing.period_ns
        if (
            timing.stamped
            and gap is not None
            and period
            and gap >= GAP_MIN_NS
            and gap >= GAP_PERIODS * period
        ):
            what = "a stale TF edge" if edge else "a dropout"
            since = (timing.longest_gap_at_ns or 0) / NANOS_PER_SECOND
            said.append(
                f"{timing.name}: nothing for {duration_text(gap)} from {since:.2f} s on, "
                f"{gap / period:.0f} times its usual period of {duration_text(period)} ({what})"
            )
    said[:0] = _clock_notes(by_clock.get("sim", []), by_clock.get("other", []))
    for clock, members in sorted(by_clock.items()):
        if clock:
            said.extend(_offset_notes(clock, members))
    return said


def _most_apart(clock: str) -> int:
    """How far apart delays on ``clock`` may be and still be one clock's offset."""
    return OTHER_CLOCK_NS if clock != "recorder" else 1 << 62


def _offset_notes(clock: str, members: list[SeriesTiming]) -> list[str]:
    """The topics of one clock whose stamps lag more than :data:`OFFSET_NS` behind the least delayed's,
    each with how much more. Off the recorder's clock, stamps seconds apart are other clocks (or stamps
    made long before sending), not one clock's offset; there the delays themselves mean nothing."""
    if len(members) < 2:
        return []
    fastest = min(members, key=lambda timing: timing.delay_median_ns or 0)
    fast = fastest.delay_median_ns or 0
    later = sorted(
        (
            (timing, (timing.delay_median_ns or 0) - fast)
            for timing in members
            if OFFSET_NS < (timing.delay_median_ns or 0) - fast <= _most_apart(clock)
        ),
        key=lambda pair: -pair[1],
    )
    if not later:
        return []
    named = ", ".join(f"{timing.name} ({duration_text(more)} more)" for timing, more in later)
    base = f"{fastest.name} ({duration_text(fast)})" if clock == "recorder" else fastest.name
    return [
        f"stamps lag receive time more than those of {base}: {named}: joined by stamp, they are that far "
        "apart"
    ]


def _clock_notes(sim: list[SeriesTiming], other: list[SeriesTiming]) -> list[str]:
    """One note for the topics on sim time, one for those stamped well behind receive time, one for those
    ahead of it, each naming its topics (with their delays)."""
    notes = []
    if sim:
        notes.append(
            f"stamps are sim time (or a clock never set): {', '.join(timing.name for timing in sim)}"
        )
    behind = [timing for timing in other if (timing.delay_median_ns or 0) > 0]
    ahead = [timing for timing in other if (timing.delay_median_ns or 0) < 0]
    for members, side in ((behind, "behind"), (ahead, "ahead of")):
        if members:
            named = ", ".join(
                f"{timing.name} ({duration_text(abs(timing.delay_median_ns or 0))})" for timing in members
            )
            why = "a clock not synchronised with the recorder's"
            if side == "behind":
                why += ", or stamps made long before sending"
            notes.append(
                f"header stamps more than {duration_text(OTHER_CLOCK_NS)} {side} receive time ({why}): "
                f"{named}"
            )
    return notes
