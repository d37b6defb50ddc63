"""A conversion from ``--start`` gets what a subscriber joining then would get: every message of the latched
topics before it, and the last one of each topic recorded transient local (a map server's /map)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcap_ros2.writer import Writer
from rosbags.typesys import Stores, get_typestore

from rerun_bridge.replay import convert_bags
from rerun_bridge.replay.conversion import TopicSelection
from test.conftest import rrd_chunks

STORE = get_typestore(Stores.ROS2_JAZZY)
START_NS = 1_700_000_000_000_000_000
SECOND = 1_000_000_000
LATCHED_QOS = "- history: keep_last\n  depth: 1\n  reliability: reliable\n  durability: transient_local\n"
VOLATILE_QOS = "- history: keep_last\n  depth: 10\n  reliability: reliable\n  durability: volatile\n"


def _grid(width: int, stamp_ns: int) -> dict[str, Any]:
    stamp = {"sec": stamp_ns // SECOND, "nanosec": stamp_ns % SECOND}
    return {
        "header": {"stamp": stamp, "frame_id": "map"},
        "info": {
            "map_load_time": stamp,
            "resolution": 0.5,
            "width": width,
            "height": 2,
            "origin": {"position": {"x": 0.0, "y": 0.0, "z": 0.0}, "orientation": {"w": 1.0}},
        },
        "data": [0] * (2 * width),
    }


def _write(path: Path) -> Path:
    """Maps at 1 s (2 cells wide) and 3 s (3 wide) on a transient-local /map, a volatile /chatter every
    second from 0 to 6 s."""
    with path.open("wb") as stream:
        writer = Writer(stream)
        schemas = {
            name: writer.register_msgdef(name, STORE.generate_msgdef(name, ros_version=2)[0])
            for name in ("nav_msgs/msg/OccupancyGrid", "std_msgs/msg/String")
        }
        for topic, name, qos in (
            ("/map", "nav_msgs/msg/OccupancyGrid", LATCHED_QOS),
            ("/chatter", "std_msgs/msg/String", VOLATILE_QOS),
        ):
            # mcap_ros2 registers channels without metadata: this one carries rosbag2's QoS, as recorded.
            writer._channel_ids[topic] = writer._writer.register_channel(
                topic=topic,
                message_encoding="cdr",
                schema_id=schemas[name].id,
                metadata={"offered_qos_profiles": qos},
            )
        events = [(second * SECOND, "/chatter", {"data": f"hello {second}"}) for second in range(7)]
        events += [(SECOND, "/map", _grid(2, START_NS + SECOND)), (3 * SECOND, "/map", _grid(3, START_NS))]
        for offset, topic, message in sorted(events, key=lambda event: event[0]):
            name = "nav_msgs/msg/OccupancyGrid" if topic == "/map" else "std_msgs/msg/String"
            writer.write_message(topic, schemas[name], message, log_time=START_NS + offset)
        writer.finish()  # type: ignore[no-untyped-call]
    return path


def _map_widths(rrd: Path) -> list[int]:
    widths = []
    for entity, _static, batch in rrd_chunks(rrd):
        if entity.startswith("/map") and "Image:format" in batch.schema.names:
            formats = batch.column("Image:format").to_pylist()
            widths += [value["width"] for values in formats for value in values]
    return widths


def test_the_last_map_before_the_start_is_converted_and_nothing_else_before_it(tmp_path: Path) -> None:
    bag = _write(tmp_path / "nav.mcap")
    rrd = tmp_path / "window.rrd"
    summary = convert_bags([bag], rrd, selection=TopicSelection(start_ns=START_NS + 4 * SECOND))
    by_topic = {topic.topic: topic for topic in summary.topics}
    assert by_topic["/map"].messages == 1  # the 3 s map only (found by an audit: 'no messages' before)
    assert _map_widths(rrd) == [3]
    assert by_topic["/chatter"].messages == 3  # 4, 5 and 6 s: a volatile topic's past is not carried


def test_without_a_start_every_map_is_converted(tmp_path: Path) -> None:
    bag = _write(tmp_path / "nav.mcap")
    rrd = tmp_path / "whole.rrd"
    summary = convert_bags([bag], rrd)
    assert {topic.topic: topic.messages for topic in summary.topics}["/map"] == 2
    assert sorted(_map_widths(rrd)) == [2, 3]
