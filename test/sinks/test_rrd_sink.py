"""The .rrd sink's bound on what Rerun's file writer may still owe the disk."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from rerun_bridge.model.rows import Row
from rerun_bridge.replay import convert_bags
from rerun_bridge.replay.conversion import TopicSelection
from rerun_bridge.sinks.rrd import RrdSink
from test.conftest import NEATO_BAG, rrd_chunks, rrd_row_count, verify_rrd


def _cloud(index: int) -> list[Row]:
    positions = np.full((60_000, 3), index, dtype=np.float32)  # 720 kB: sent on its own, at once
    return [Row("/cloud", "Points3D", {"positions": positions})]


def test_past_the_backlog_bound_the_sink_waits_for_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bounded.rrd"
    sink = RrdSink(path, backlog_bytes=1)
    for index in range(5):
        sink.write(_cloud(index), {"log_time": index})
        # Each cloud goes out on its own and its send waits: the open file already holds it.
        assert rrd_row_count(path, "/cloud", "Points3D:positions") == index + 1
    sink.close()
    assert rrd_row_count(path, "/cloud", "Points3D:positions") == 5


def _static_frames(path: Path, entity_path: str) -> list[object]:
    return [
        value
        for entity, static, batch in rrd_chunks(path)
        if entity == entity_path and static and "CoordinateFrame:frame" in batch.schema.names
        for value in batch.column("CoordinateFrame:frame").to_pylist()
    ]


def test_an_entity_on_one_frame_throughout_gets_it_for_all_times(tmp_path: Path) -> None:
    """Before a topic's first message (a goal sent mid-run) Rerun's viewer placed its entity on the entity
    path's implicit frame and flagged every view showing it with an error (found by an audit): an entity
    that lay on one frame throughout also gets it as a static row. One whose frame changed does not."""
    path = tmp_path / "frames.rrd"
    points = {"positions": np.zeros((1, 3), dtype=np.float32)}
    with RrdSink(path) as sink:
        for second, frame in ((1, "a"), (2, "b")):
            sink.write(
                [Row("/moved", "Points3D", points), Row("/moved", "CoordinateFrame", {"frame": [frame]})],
                {"log_time": second * 1_000_000_000},
            )
        sink.write(
            [Row("/goal", "Points3D", points), Row("/goal", "CoordinateFrame", {"frame": ["map"]})],
            {"log_time": 19_000_000_000},
        )
    verify_rrd(path)
    assert _static_frames(path, "/goal") == [["map"]]
    assert _static_frames(path, "/moved") == []
    assert rrd_row_count(path, "/goal", "Points3D:positions") == 1


def test_a_header_less_velocity_is_placed_on_the_robots_body_frame_of_a_file_with_tf(tmp_path: Path) -> None:
    # The Neato's /cmd_vel (geometry_msgs/Twist, no header, no `frame` option) lay on Rerun's implicit
    # frame of its entity path, which no TF frame reaches: Rerun's viewer drew no arrow and flagged the 3D
    # view with an error. Then it stood at the TF root's origin, metres from the robot (audit); a velocity
    # command is the robot's (REP 103): base_link, as the embedded viewer draws it.
    with_tf = tmp_path / "with_tf.rrd"
    convert_bags(
        [NEATO_BAG], with_tf, selection=TopicSelection(include=re.compile(r"^/(cmd_vel|tf|tf_static|scan)$"))
    )
    verify_rrd(with_tf)
    assert _static_frames(with_tf, "/cmd_vel/arrow") == [["base_link"]]
    assert _static_frames(with_tf, "/scan") == [["base_laser_link"]]  # its own one frame, for all times
    assert rrd_row_count(with_tf, "/cmd_vel/arrow", "Arrows3D:vectors") == 88
    # Without TF there is no frame to give: everything lies on the implicit frames, and is drawn.
    alone = tmp_path / "alone.rrd"
    convert_bags([NEATO_BAG], alone, selection=TopicSelection(include=re.compile(r"^/cmd_vel$")))
    verify_rrd(alone)
    assert _static_frames(alone, "/cmd_vel/arrow") == []


def test_a_header_less_arrow_is_placed_on_the_one_frame_of_a_file_without_tf(tmp_path: Path) -> None:
    # The Neato's /scan and /cmd_vel without /tf: the embedded viewer draws both as they are. In Rerun's
    # viewer the arrow lay on its implicit frame and the scan on base_laser_link, which nothing relates: it
    # drew neither, and flagged the 3D view with an error. The arrow now shares the scan's frame.
    rrd = tmp_path / "no_tf.rrd"
    convert_bags([NEATO_BAG], rrd, selection=TopicSelection(include=re.compile(r"^/(cmd_vel|scan)$")))
    verify_rrd(rrd)
    assert _static_frames(rrd, "/cmd_vel/arrow") == [["base_laser_link"]]
    assert _static_frames(rrd, "/scan") == [["base_laser_link"]]
