"""Rotation: every part is a complete file that opens on its own."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np

from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.model.rows import Row
from rerun_bridge.sinks.rotation import RotatingMcapSink, RotatingRrdSink, RotationPolicy, part_path
from rerun_bridge.sources.bag import open_bag
from test.conftest import rrd_chunks, verify_rrd


def test_part_names() -> None:
    assert part_path("/tmp/run.rrd", 3, rotating=False) == Path("/tmp/run.rrd")
    assert part_path("/tmp/run.rrd", 3, rotating=True) == Path("/tmp/run_0003.rrd")
    assert "%" not in str(part_path("/tmp/run_%Y.mcap", 0, rotating=True))


def test_the_rrd_and_the_mcap_of_one_start_share_their_name(tmp_path: Path) -> None:
    """Named from one start time, not each from its own clock reading (which could straddle a second)."""
    started = time.mktime((2026, 12, 6, 5, 15, 40, 0, 0, -1)) + 0.999
    template = str(tmp_path / "recording_%Y%m%d_%H%M%S")
    rrd = RotatingRrdSink(f"{template}.rrd", RotationPolicy(), "test", "rec-1", started_at=started)
    mcap = RotatingMcapSink(f"{template}.mcap", RotationPolicy(), started_at=started)
    rrd.close()
    mcap.close()
    assert [path.name for path in (*rrd.paths, *mcap.paths)] == [
        "recording_20261206_051540.rrd",
        "recording_20261206_051540.mcap",
    ]


def test_a_restarted_recording_never_overwrites_the_files_of_the_run_before(tmp_path: Path) -> None:
    """A node restarted with the same paths (after a crash, by systemd) goes on after its predecessor's
    files, one warning each, instead of writing over them as ``rr.save`` and a new MCAP would."""
    reports: list[tuple[int, str]] = []

    def record(template: str, policy: RotationPolicy, parts: int, value: float) -> list[Path]:
        sink = RotatingRrdSink(template, policy, "test", "rec-1", report=lambda *r: reports.append(r))
        mcap = RotatingMcapSink(
            template.replace(".rrd", ".mcap"), policy, report=lambda *r: reports.append(r)
        )
        mcap.add_topic("/chatter", "std_msgs/msg/String", MessageDefinition("ros2msg", "string data"))
        for part in range(parts):
            sink.write([Row("/imu", "Scalars", {"scalars": np.array([value])})], {"log_time": part})
            mcap.write(1, part, part, b"\x00\x01\x00\x00\x01\x00\x00\x00\x00")
            if part < parts - 1:  # rotation by time, as the node's flushes check it
                time.sleep(0.15)
                sink.flush()
                mcap.flush()
        sink.close()
        mcap.close()
        return [*sink.paths, *mcap.paths]

    def imu_values(path: Path) -> list[float]:
        return [
            float(value)
            for entity, _static, batch in rrd_chunks(path)
            if entity == "/imu" and "Scalars:scalars" in batch.schema.names
            for row in batch.column("Scalars:scalars").to_pylist()
            for value in row
        ]

    single = str(tmp_path / "run.rrd")
    assert [p.name for p in record(single, RotationPolicy(), 1, 1.0)] == ["run.rrd", "run.mcap"]
    assert [p.name for p in record(single, RotationPolicy(), 1, 2.0)] == ["run_0001.rrd", "run_0001.mcap"]
    assert imu_values(tmp_path / "run.rrd") == [1.0]
    assert imu_values(tmp_path / "run_0001.rrd") == [2.0]
    assert (
        logging.WARNING,
        f"{tmp_path / 'run.rrd'} exists (an earlier run's): writing {tmp_path / 'run_0001.rrd'} instead",
    ) in reports

    rotating = str(tmp_path / "rot.rrd")
    first = record(rotating, RotationPolicy(max_seconds=0.1), 2, 1.0)
    second = record(rotating, RotationPolicy(max_seconds=0.1), 2, 2.0)
    assert [p.name for p in first] == ["rot_0000.rrd", "rot_0001.rrd", "rot_0000.mcap", "rot_0001.mcap"]
    assert [p.name for p in second] == ["rot_0002.rrd", "rot_0003.rrd", "rot_0002.mcap", "rot_0003.mcap"]
    assert [imu_values(p) for p in first[:2] + second[:2]] == [[1.0], [1.0], [2.0], [2.0]]
    for path in first + second:
        if path.suffix == ".rrd":
            verify_rrd(path)
        else:
            with open_bag(path) as bag:
                assert sum(1 for _ in bag.messages()) == 1


def test_rrd_parts_each_carry_the_static_data(tmp_path: Path) -> None:
    sink = RotatingRrdSink(str(tmp_path / "run.rrd"), RotationPolicy(max_seconds=0.2), "test", "rec-1")
    components = {"translation": np.zeros((1, 3)), "child_frame": ["camera"]}
    static = Row("/tf_static/camera", "Transform3D", components, static=True)
    sink.write([static], {})
    for part in range(2):
        for i in range(5):
            row = Row("/imu", "Scalars", {"scalars": np.array([float(part * 10 + i)])})
            sink.write([row], {"log_time": (part * 10 + i) * 1_000_000})
        time.sleep(0.25)
        sink.flush()
    sink.close()
    assert len(sink.paths) == 3  # the last flush opened a third, empty-but-valid part
    for path in sink.paths:
        verify_rrd(path)
        entities = {(entity, static) for entity, static, _batch in rrd_chunks(path)}
        assert ("/tf_static/camera", True) in entities
    imu_rows = [
        sum(
            b.num_rows for e, _s, b in rrd_chunks(path) if e == "/imu" and "Scalars:scalars" in b.schema.names
        )
        for path in sink.paths
    ]
    assert imu_rows == [5, 5, 0]


def test_mcap_parts_keep_channels_and_latched_messages(tmp_path: Path) -> None:
    sink = RotatingMcapSink(str(tmp_path / "run.mcap"), RotationPolicy(max_bytes=2_000))
    definition = MessageDefinition("ros2msg", "string data")
    latched = sink.add_topic("/robot_description", "std_msgs/msg/String", definition, latched=True)
    chatter = sink.add_topic("/chatter", "std_msgs/msg/String", definition)
    sink.write(latched, 1, 1, b"\x00\x01\x00\x00\x05\x00\x00\x00urdf\x00")
    for i in range(100):
        sink.write(chatter, 10 + i, 10 + i, b"\x00\x01\x00\x00" + os.urandom(200))  # incompressible
        if i % 20 == 19:
            sink.flush()
    sink.close()
    assert len(sink.paths) >= 3
    total = 0
    for path in sink.paths:
        with open_bag(path) as bag:
            counts: dict[str, int] = {}
            for message in bag.messages():
                counts[message.topic] = counts.get(message.topic, 0) + 1
        assert counts.get("/robot_description") == 1, path
        total += counts.get("/chatter", 0)
    assert total == 100
