"""QoS adapted to a topic's publishers, in plain data (no rclpy): the node turns it into a QoSProfile.

Rules, as foxglove_bridge and rosbag2 apply them: reliable only when every publisher offers reliable,
transient_local only when every publisher offers it. Latched topics (``/tf_static``, ``/robot_description``)
are always reliable and transient_local so that late joiners still get them.

Depth: for transient_local topics the sum of the publishers' depths clamped to [1, MAX_DEPTH] (it decides
how many latched messages a late joiner gets). Volatile topics get at least a stream depth
(:func:`stream_depth`): the reader's history is where DDS keeps samples while the Python side is busy, and
a reader whose history overflows loses samples for good. So protected topics (small state: IMU, TF,
joints) get PROTECTED_STREAM_DEPTH, seconds of a 400 Hz IMU, for little memory; big frames get
FRAME_STREAM_DEPTH, because a full history of 100 camera frames holds 280 MB that Fast DDS keeps
allocated, and a frame the bridge cannot take now is one it would shed anyway (big frames first).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

#: Topics published latched (transient local) whose data holds for the whole recording: subscribed so,
#: converted from before a replay's --start, kept loaded by the lazy bag viewer.
LATCHED_TOPICS: Final = frozenset({"/tf_static", "/robot_description"})
#: A rosbag2 ``offered_qos_profiles`` text (YAML) offering transient_local durability (1 in Humble's
#: numeric form).
_RECORDED_TRANSIENT_LOCAL: Final = re.compile(r"durability:\s*(1|transient_local)\b")
MIN_DEPTH: Final = 1
MAX_DEPTH: Final = 100
DEFAULT_DEPTH: Final = 10
#: 250 ms of a 400 Hz IMU, 3 s of a 30 Hz camera.
STREAM_DEPTH: Final = 100
#: 2.5 s of a 400 Hz IMU (1.25 s at twice the rate): a protected topic rides out a long stall of the
#: Python side. A few hundred bytes a sample: under a megabyte for an IMU, a few for a 20-frame TF.
PROTECTED_STREAM_DEPTH: Final = 1000
#: 330 ms of a 30 Hz camera: 28 MB of 720p frames rather than 280.
FRAME_STREAM_DEPTH: Final = 10
#: Types whose messages are big frames (megabytes).
FRAME_TYPES: Final = frozenset(
    {
        "sensor_msgs/msg/Image",
        "sensor_msgs/msg/CompressedImage",
        "sensor_msgs/msg/PointCloud2",
        "sensor_msgs/msg/PointCloud",
        "stereo_msgs/msg/DisparityImage",
        "nav_msgs/msg/OccupancyGrid",
    }
)


def stream_depth(type_name: str, protected: bool) -> int:
    """The reader depth of a volatile topic of ``type_name`` (a normalized type name)."""
    if protected:
        return PROTECTED_STREAM_DEPTH
    return FRAME_STREAM_DEPTH if type_name in FRAME_TYPES else STREAM_DEPTH


@dataclass(frozen=True, slots=True)
class OfferedQos:
    """What one publisher offers (from ``get_publishers_info_by_topic``)."""

    reliable: bool
    transient_local: bool
    depth: int


@dataclass(frozen=True, slots=True)
class RequestedQos:
    reliable: bool
    transient_local: bool
    depth: int
    #: History keep_all (only from a config's ``qos.history``): DDS keeps every sample, ``depth`` is unused.
    keep_all: bool = False

    def describe(self) -> str:
        history = "keep_all" if self.keep_all else f"depth {self.depth}"
        return (
            f"{'reliable' if self.reliable else 'best_effort'}, "
            f"{'transient_local' if self.transient_local else 'volatile'}, {history}"
        )


def _depth(offered: OfferedQos) -> int:
    # DDS discovery does not carry history depth: Fast DDS reports 0, which means "unknown" here.
    return offered.depth if offered.depth > 0 else DEFAULT_DEPTH


def adapt_qos(
    topic: str, publishers: Sequence[OfferedQos], volatile_depth: int = STREAM_DEPTH
) -> RequestedQos:
    """The subscription QoS that matches every publisher of ``topic``; a volatile one at least
    ``volatile_depth`` deep (:func:`stream_depth`)."""
    if topic in LATCHED_TOPICS:
        depth = sum(_depth(p) for p in publishers) if publishers else DEFAULT_DEPTH
        return RequestedQos(True, True, min(max(depth, MIN_DEPTH), MAX_DEPTH))
    if not publishers:  # a topic listed with its type, before anyone publishes: best effort matches every one
        return RequestedQos(False, False, volatile_depth)
    reliable = all(p.reliable for p in publishers)
    transient_local = all(p.transient_local for p in publishers)
    depth = min(max(sum(_depth(p) for p in publishers), MIN_DEPTH), MAX_DEPTH)
    return RequestedQos(reliable, transient_local, depth if transient_local else max(depth, volatile_depth))


def override_qos(
    requested: RequestedQos,
    reliable: bool | None,
    transient_local: bool | None,
    depth: int | None,
    keep_all: bool | None = None,
) -> RequestedQos:
    """A config's QoS override: each value set there replaces the adapted one."""
    return RequestedQos(
        requested.reliable if reliable is None else reliable,
        requested.transient_local if transient_local is None else transient_local,
        requested.depth if depth is None else depth,
        requested.keep_all if keep_all is None else keep_all,
    )


def recorded_transient_local(qos_profiles: str) -> bool:
    """Whether a recorded topic's publishers offered transient_local durability (a map server's /map): a
    subscriber joining later still gets its last messages."""
    return _RECORDED_TRANSIENT_LOCAL.search(qos_profiles) is not None
