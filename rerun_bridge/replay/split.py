"""One recording's conversion split into work units for several processes, planned from the bag's index.

A unit converts some topics over the whole selection (*whole* topics) and others within a time range
(*ranged* topics). Only topics whose converter remembers nothing between messages and reads no other
topic may be ranged (:data:`SPLITTABLE_TYPES`: images, point clouds, scans, IMU, camera info, GPS fixes):
a time range of them converts to exactly the rows the whole recording gives for that range. Everything else
(TF and tf_static, odometry trails, maps and their updates, markers and their lifetimes, joint states and
the robot model, types without converter, user mappings) stays whole, in unit 0, with its first time range.

The plan balances an estimated cost per unit: a message costs its size in bytes plus
:data:`MESSAGE_COST_BYTES` (per-message work: decode, convert, batch). Unit 0 takes the whole topics and
then ranged messages up to an equal share; the other units split the rest of the ranged messages by time
into equal shares (each smaller by a process's start, :data:`PROCESS_START_COST_BYTES`, which part 0,
running in the process already started, does not pay). Cuts fall between different log times: the
messages of one time stay together. Every unit reads only its own time range of the bag (each chunk is
read and decompressed once); the messages of whole topics in later ranges reach unit 0 through
:mod:`.forwarding`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.convert.registry import ConverterTable
from rerun_bridge.model.type_names import normalize_type_name
from rerun_bridge.sources.profile import TopicProfile

#: Types whose built-in converter is a pure function of one message (no topic state, no other topic).
SPLITTABLE_TYPES: Final = frozenset(
    {
        "sensor_msgs/msg/Image",
        "sensor_msgs/msg/CompressedImage",
        "sensor_msgs/msg/PointCloud2",
        "sensor_msgs/msg/LaserScan",
        "sensor_msgs/msg/Imu",
        "sensor_msgs/msg/CameraInfo",
        "sensor_msgs/msg/NavSatFix",
    }
)
#: What one message costs beyond its bytes, in bytes of big-message work (measured on bench/convert.py's
#: bag: a small message converted column-wise costs about as much as 2 kB of point cloud).
MESSAGE_COST_BYTES: Final = 2048
#: What starting a part's process costs (about 0.8 s of imports, at about 200 MB of cost a second): part 0
#: runs in the process already started, so it takes this much more than the others (at most half a
#: share more).
PROCESS_START_COST_BYTES: Final = 160 << 20


@dataclass(frozen=True, slots=True)
class WorkUnit:
    """The messages of a time range ``[start_ns, end_ns]`` (None: open) of the bag: unit 0 converts those
    of ``whole_topics`` and ``ranged_topics``, the others convert ``ranged_topics`` and hand the messages of
    ``whole_topics`` to unit 0 (:mod:`.forwarding`), which converts them after its own. ``cost``: the
    estimated work, in bytes."""

    number: int
    whole_topics: frozenset[str]
    ranged_topics: frozenset[str]
    start_ns: int | None
    end_ns: int | None
    cost: int

    def reads(self, topic: str) -> bool:
        """Whether it reads the topic's messages (of its time range)."""
        return topic in self.whole_topics or topic in self.ranged_topics

    @property
    def forwards(self) -> bool:
        """Whether it hands its whole topics' messages to unit 0 instead of converting them."""
        return self.number > 0

    def describe(self) -> str:
        """The unit in words, for errors."""
        start = "start" if self.start_ns is None else f"{self.start_ns} ns"
        end = "end" if self.end_ns is None else f"{self.end_ns} ns"
        return f"part {self.number} (log times {start} to {end})"


def splittable(type_name: str, converters: ConverterTable) -> bool:
    """Whether a topic of this type may be converted in time ranges (a built-in converter of
    :data:`SPLITTABLE_TYPES`, not replaced by a user mapping)."""
    name = normalize_type_name(type_name)
    return name in SPLITTABLE_TYPES and converters.lookup(name) is BUILTIN_CONVERTERS.lookup(name)


def plan_units(
    profile: Mapping[str, TopicProfile],
    topic_types: Mapping[str, str],
    jobs: int,
    converters: ConverterTable = BUILTIN_CONVERTERS,
    window: tuple[int | None, int | None] = (None, None),
    start_cost: int = PROCESS_START_COST_BYTES,
) -> list[WorkUnit]:
    """At most ``jobs`` units for the topics of ``topic_types`` (topic -> type; the selected ones),
    within ``window`` (inclusive log times). One unit when splitting cannot help. ``start_cost``: what
    each part but part 0 spends starting."""
    ranged = sorted(t for t, type_name in topic_types.items() if splittable(type_name, converters))
    whole = frozenset(topic_types) - frozenset(ranged)
    whole_cost = sum(_cost(profile.get(t), window)[1].sum() for t in whole)
    times, costs = _ranged_messages(profile, ranged, window)
    total = int(whole_cost + costs.sum())
    if jobs == 1 or not len(times):
        return [WorkUnit(0, frozenset(topic_types), frozenset(), None, None, total)]
    share = total / jobs
    # The others start later: each takes ``start`` less than unit 0 (at most half a share less).
    start = min(start_cost, share / 2)
    # Unit 0's ranged budget is what the whole topics leave of its share; the others split the rest.
    first = max(0.0, share + start * (jobs - 1) / jobs - whole_cost)
    rest = (costs.sum() - first) / (jobs - 1)
    bounds = [first + rest * k for k in range(jobs - 1)]
    cumulative = np.cumsum(costs)
    cuts: list[int] = []
    for bound in bounds:
        index = int(np.searchsorted(cumulative, bound, side="right"))
        if index >= len(times):
            break
        cut = int(times[index])
        if cuts and cut <= cuts[-1]:
            continue
        cuts.append(cut)
    return _units(frozenset(whole), frozenset(ranged), cuts, times, costs, int(whole_cost))


def _units(
    whole: frozenset[str],
    ranged: frozenset[str],
    cuts: list[int],
    times: np.ndarray,
    costs: np.ndarray,
    whole_cost: int,
) -> list[WorkUnit]:
    edges: list[int | None] = [None, *cuts, None]
    units: list[WorkUnit] = []
    for number in range(len(edges) - 1):
        start, end = edges[number], edges[number + 1]
        low = 0 if start is None else int(np.searchsorted(times, start, side="left"))
        high = len(times) if end is None else int(np.searchsorted(times, end, side="left"))
        cost = int(costs[low:high].sum()) + (whole_cost if number == 0 else 0)
        if high <= low and number > 0:
            continue
        units.append(
            WorkUnit(
                len(units),
                whole,
                ranged,
                start,
                None if end is None else end - 1,
                cost,
            )
        )
    return units


def _cost(
    profile: TopicProfile | None, window: tuple[int | None, int | None]
) -> tuple[np.ndarray, np.ndarray]:
    if profile is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    low, high = window
    keep = np.ones(len(profile.times), bool)
    if low is not None:
        keep &= profile.times >= low
    if high is not None:
        keep &= profile.times <= high
    return profile.times[keep], profile.sizes[keep] + MESSAGE_COST_BYTES


def _ranged_messages(
    profile: Mapping[str, TopicProfile], topics: Collection[str], window: tuple[int | None, int | None]
) -> tuple[np.ndarray, np.ndarray]:
    """Times (sorted) and costs of the ranged topics' messages."""
    pieces = [_cost(profile.get(t), window) for t in topics]
    if not pieces:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    times = np.concatenate([p[0] for p in pieces])
    costs = np.concatenate([p[1] for p in pieces])
    order = np.argsort(times, kind="stable")
    return times[order], costs[order]
