"""``rerun-bridge info --timing``: header stamps against receive times, gaps and TF edges, on the real
recordings and on one written here with known clocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcap_ros2.writer import Writer
from rosbags.typesys import Stores, get_typestore

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.cli import main
from rerun_bridge.model.timeline import header_stamp_ns
from rerun_bridge.sources.bag import open_bag
from rerun_bridge.stamp_timing import _stamp_from_cdr, _stamp_place, duration_text
from test.conftest import GPS_BAG, NEATO_BAG, RERUN_SUPPORTED_MCAP

START = 1_700_000_000_000_000_000
MS = 1_000_000
_TYPESTORE = get_typestore(Stores.ROS2_JAZZY)


def _notes(capsys: pytest.CaptureFixture[str], path: Path) -> list[str]:
    assert main(["info", "--timing", str(path)]) == 0
    return [
        line.removeprefix("note: ")
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("note: ")
    ]


@pytest.mark.parametrize("bag_path", [NEATO_BAG, RERUN_SUPPORTED_MCAP], ids=["neato", "rerun_mcap"])
def test_stamps_read_from_the_cdr_bytes_are_the_decoded_headers(bag_path: Path) -> None:
    """The fast path (a first-field header's stamp read from bytes 4 to 12) against the full decoder, for
    every message of every such topic of two real recordings."""
    with open_bag(bag_path) as bag:
        topics = bag.topics()
        resolver = TypeResolver(topics, bag.ros_distro)
        choices = {topic.name: resolver.choose(topic.type_name) for topic in topics}
        first_field = {
            name
            for name, choice in choices.items()
            if _stamp_place(choice, next(topic.type_name for topic in topics if topic.name == name))
            == "first field"
        }
        assert len(first_field) >= 3
        compared = 0
        for message in bag.messages(first_field):
            decoder = choices[message.topic].decoder
            assert decoder is not None
            assert _stamp_from_cdr(message.data) == header_stamp_ns(decoder(message.data)), message.topic
            compared += 1
        assert compared > 50


def test_the_gps_bags_robot_clock_and_unset_stamps_are_said(capsys: pytest.CaptureFixture[str]) -> None:
    """The GPS bag's stamps come from a robot clock about two months behind the recorder's (its README);
    its /vehicle_pose poses are never stamped."""
    notes = _notes(capsys, GPS_BAG)
    behind = [note for note in notes if note.startswith("header stamps more than 1.00 s behind receive time")]
    assert len(behind) == 1
    named = dict(item.rstrip(")").split(" (") for item in behind[0].split(": ", 1)[1].split(", "))
    assert set(named) == {"/gps", "/odometry"}
    assert all(50 < float(delay.removesuffix(" days")) < 80 for delay in named.values())
    assert "/vehicle_pose: 2034 message(s) stamped 0 (never set)" in notes
    # /rosout and /parameter_events speak when there is something to say: their gaps are no dropouts.
    assert not [note for note in notes if "dropout" in note]


def test_the_neatos_stable_scan_is_stamped_late_against_its_tf(capsys: pytest.CaptureFixture[str]) -> None:
    notes = _notes(capsys, NEATO_BAG)
    offset = [note for note in notes if note.startswith("stamps lag receive time more than those of /tf ")]
    assert len(offset) == 1
    assert offset[0].endswith("joined by stamp, they are that far apart")
    # Both scans the Neato's driver re-stamps lag, the one it projects less.
    assert "/stable_scan (382.3 ms more), /projected_stable_scan (182.3 ms more)" in offset[0]
    # Static TF is stamped when its publisher started: minutes old, and not a clock problem.
    assert not [note for note in notes if note.startswith("/tf_static")]


def _header(stamp_ns: int, frame: str = "base_link") -> dict[str, Any]:
    return {"stamp": {"sec": stamp_ns // 10**9, "nanosec": stamp_ns % 10**9}, "frame_id": frame}


def _transform(stamp_ns: int, parent: str, child: str) -> dict[str, Any]:
    return {
        "header": _header(stamp_ns, parent),
        "child_frame_id": child,
        "transform": {"rotation": {"w": 1.0}},
    }


def test_known_clocks_offsets_backward_stamps_and_a_stale_tf_edge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """10 s at 10 Hz: /imu stamped 5 ms before receipt, /camera 250 ms (an offset of 245 ms), /lidar 3 s
    ahead (another clock) with one stamp going back; TF odom -> base_link stops for 2 s at 4 s, while
    map -> odom goes on; a String topic has no stamps."""
    bag = tmp_path / "clocks.mcap"
    with bag.open("wb") as stream:
        writer = Writer(stream)
        schemas = {
            name: writer.register_msgdef(name, _TYPESTORE.generate_msgdef(name, ros_version=2)[0])
            for name in (
                "sensor_msgs/msg/Imu",
                "sensor_msgs/msg/CompressedImage",
                "sensor_msgs/msg/LaserScan",
                "tf2_msgs/msg/TFMessage",
                "std_msgs/msg/String",
            )
        }
        for step in range(100):
            now = START + step * 100 * MS
            lidar_stamp = now + 3000 * MS - (200 * MS if step == 50 else 0)
            writer.write_message(
                "/imu", schemas["sensor_msgs/msg/Imu"], {"header": _header(now - 5 * MS)}, log_time=now
            )
            writer.write_message(
                "/camera",
                schemas["sensor_msgs/msg/CompressedImage"],
                {"header": _header(now - 250 * MS), "format": "jpeg"},
                log_time=now,
            )
            writer.write_message(
                "/lidar", schemas["sensor_msgs/msg/LaserScan"], {"header": _header(lidar_stamp)}, log_time=now
            )
            # map -> odom goes on; odom -> base_link stops for 2 s; a localizer re-sends world -> map with
            # the stamp of its first fix.
            edges = [_transform(now - MS, "map", "odom"), _transform(START, "world", "map")]
            if not 40 <= step < 60:
                edges.append(_transform(now - MS, "odom", "base_link"))
            if step == 0:  # two static edges in one message, stamped 0 as some publishers leave them
                statics = [_transform(0, "base_link", "lidar"), _transform(0, "base_link", "camera")]
                writer.write_message(
                    "/tf_static", schemas["tf2_msgs/msg/TFMessage"], {"transforms": statics}, log_time=now
                )
            writer.write_message(
                "/tf", schemas["tf2_msgs/msg/TFMessage"], {"transforms": edges}, log_time=now
            )
            writer.write_message("/chatter", schemas["std_msgs/msg/String"], {"data": "hi"}, log_time=now)
        writer.finish()  # type: ignore[no-untyped-call]
    assert main(["info", "--timing", str(bag)]) == 0
    out = capsys.readouterr().out
    timing_rows = {line.split()[0]: line.split() for line in out.split("\ntiming:")[1].splitlines()[3:]}
    assert timing_rows["/imu"][1:5] == ["100", "100", "5.0", "ms"]  # count, stamped, the median delay
    assert timing_rows["/chatter"][1:4] == ["100", "0", "-"]
    # Static TF: one row of its transforms, no period or gaps, its stamps 0 not judged (see the notes).
    assert timing_rows["/tf_static"][1:] == ["2", "0", "-", "-", "-", "-"]
    notes = [line.removeprefix("note: ") for line in out.splitlines() if line.startswith("note: ")]
    assert sorted(notes) == sorted(
        [
            "header stamps more than 1.00 s ahead of receive time (a clock not synchronised with the "
            "recorder's): /lidar (3.00 s)",
            "/lidar: header stamps go back 1 time(s), first at 5.00 s, by up to 100.0 ms",
            "/tf odom -> base_link: nothing for 2.10 s from 3.90 s on, 21 times its usual period of 100.0 ms "
            "(a stale TF edge)",
            "/tf world -> map: header stamps stand still: 99 of 100 repeat the one before (a stale TF edge: "
            "sent again with an old stamp)",
            "stamps lag receive time more than those of /tf map -> odom (1.0 ms): /camera (249.0 ms more): "
            "joined by stamp, they are that far apart",
        ]
    )


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (250_000, "250 us"),
        (-12_345_678, "-12.3 ms"),
        (3_200_000_000, "3.20 s"),
        (5_702_400 * 10**9, "66.0 days"),
    ],
)
def test_durations_read_in_their_unit(nanos: int, text: str) -> None:
    assert duration_text(nanos) == text
