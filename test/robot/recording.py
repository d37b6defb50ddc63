"""Small MCAP recordings of a robot, written with mcap_ros2's Writer (real CDR), and the .rrd rows the
bridge made of them, read back with rerun-sdk's own reader."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from mcap_ros2.writer import Writer
from rosbags.typesys import Stores, get_typestore

from test.conftest import rrd_chunks

STORE = get_typestore(Stores.ROS2_JAZZY)
START_NS = 1_700_000_000_000_000_000
STEP_NS = 100_000_000


def _stamp(ns: int) -> dict[str, int]:
    return {"sec": ns // 1_000_000_000, "nanosec": ns % 1_000_000_000}


@dataclass
class RobotRecording:
    """What to record: a description on a topic (or none), joint states, and TF edges parent -> child."""

    description: str | None = None
    description_topic: str = "/robot_description"
    joint_states: Sequence[dict[str, float]] = ()
    tf_children: Sequence[tuple[str, str]] = ()
    strings: dict[str, str] = field(default_factory=dict)  # other String topics: topic -> text
    #: TF recorded after the description, on /tf_static (robot_state_publisher's fixed joints), not before.
    tf_static_after: bool = False
    #: TF on /tf 1 ms after each joint state (robot_state_publisher's moving joints), not once before.
    tf_after_each_state: bool = False

    def state_time(self, index: int) -> int:
        return START_NS + (index + 1) * STEP_NS

    def write(self, path: Path) -> Path:
        with path.open("wb") as stream:
            writer = Writer(stream)
            schemas = {
                name: writer.register_msgdef(name, STORE.generate_msgdef(name, ros_version=2)[0])
                for name in ("std_msgs/msg/String", "sensor_msgs/msg/JointState", "tf2_msgs/msg/TFMessage")
            }
            if self.tf_children and not self.tf_static_after and not self.tf_after_each_state:
                writer.write_message("/tf", schemas["tf2_msgs/msg/TFMessage"], self._tf(), log_time=START_NS)
            if self.description is not None:
                message = {"data": self.description}
                writer.write_message(
                    self.description_topic, schemas["std_msgs/msg/String"], message, log_time=START_NS + 1
                )
            if self.tf_children and self.tf_static_after:
                tf_static = schemas["tf2_msgs/msg/TFMessage"]
                writer.write_message("/tf_static", tf_static, self._tf(), log_time=START_NS + 2)
            for topic, text in self.strings.items():
                writer.write_message(
                    topic, schemas["std_msgs/msg/String"], {"data": text}, log_time=START_NS + 2
                )
            for index, values in enumerate(self.joint_states):
                writer.write_message(
                    "/joint_states",
                    schemas["sensor_msgs/msg/JointState"],
                    _joint_state(values, self.state_time(index)),
                    log_time=self.state_time(index),
                )
                if self.tf_children and self.tf_after_each_state:
                    tf = schemas["tf2_msgs/msg/TFMessage"]
                    writer.write_message("/tf", tf, self._tf(), log_time=self.state_time(index) + 1_000_000)
            writer.finish()  # type: ignore[no-untyped-call]
        return path

    def _tf(self) -> dict[str, Any]:
        transforms = [
            {
                "header": {"stamp": _stamp(START_NS), "frame_id": parent},
                "child_frame_id": child,
                "transform": {"translation": {"x": 0.0, "y": 0.0, "z": 0.0}, "rotation": {"w": 1.0}},
            }
            for parent, child in self.tf_children
        ]
        return {"transforms": transforms}


def _joint_state(values: dict[str, float], stamp_ns: int) -> dict[str, Any]:
    return {
        "header": {"stamp": _stamp(stamp_ns), "frame_id": ""},
        "name": list(values),
        "position": list(values.values()),
        "velocity": [],
        "effort": [],
    }


@dataclass
class RrdRows:
    """An .rrd's rows by entity: static component values, and timed values as (ros_time, value)."""

    static: dict[str, dict[str, Any]] = field(default_factory=dict)
    timed: dict[str, dict[str, list[tuple[int, Any]]]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> RrdRows:
        rows = cls()
        for entity, static, batch in rrd_chunks(path):
            names = [name for name in batch.schema.names if ":" in name and not name.startswith("rerun")]
            if static:
                for name in names:
                    rows.static.setdefault(entity, {})[name] = batch.column(name)[0].as_py()
            elif "ros_time" in batch.schema.names:
                times = batch.column("ros_time").cast(pa.int64()).to_pylist()
                for name in names:
                    values = batch.column(name).to_pylist()
                    rows.timed.setdefault(entity, {}).setdefault(name, []).extend(
                        zip(times, values, strict=True)
                    )
        return rows

    def entities(self, prefix: str) -> set[str]:
        return {entity for entity in (*self.static, *self.timed) if entity.startswith(prefix)}


def matrix_of(translation: Iterable[float], quaternion: Iterable[float]) -> np.ndarray[Any, Any]:
    """A 4x4 matrix from a translation and an (x, y, z, w) unit quaternion."""
    x, y, z, w = quaternion
    matrix = np.eye(4)
    matrix[:3, :3] = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ]
    matrix[:3, 3] = list(translation)
    return matrix
