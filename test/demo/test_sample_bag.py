"""The synthetic sample recording: a valid rosbag2 MCAP bag that every reader agrees on."""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcap_ros2.reader import read_ros2_messages
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.demo.sample_bag import STATUS_TYPE, TOPICS, SampleSpec, write_sample
from rerun_bridge.sources.bag import open_bag
from rerun_bridge.sources.metadata import read_metadata
from test.blueprint.rbl_reader import rbl_views, read_rbl

SPEC = SampleSpec()
EXPECTED = SPEC.message_counts()


@pytest.fixture(scope="module")
def sample_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample") / "sample_bag")


def decoded_messages(bag_path: Path, topic: str) -> list[tuple[int, Any]]:
    """(log time, message) of one topic, decoded with the recording's own definitions."""
    with open_bag(bag_path) as bag:
        resolver = TypeResolver(bag.topics(), bag.ros_distro)
        decoder = resolver.choose(TOPICS[topic]).decoder
        assert decoder is not None
        return [(m.log_time_ns, decoder(m.data)) for m in bag.messages({topic})]


def test_layout_and_size(sample_bag: Path) -> None:
    assert sorted(p.name for p in sample_bag.iterdir()) == ["metadata.yaml", "sample_0.mcap"]
    assert (sample_bag / "sample_0.mcap").stat().st_size < 5_000_000


def test_metadata_lists_the_written_counts(sample_bag: Path) -> None:
    metadata = read_metadata(sample_bag / "metadata.yaml")
    assert metadata.version == 9
    assert metadata.storage_identifier == "mcap"
    assert metadata.ros_distro == "jazzy"
    assert metadata.relative_file_paths == ("sample_0.mcap",)
    assert metadata.starting_time_ns == SPEC.start_ns
    assert metadata.duration_ns == 9_990_000_000  # the last /imu/data message, 10 ms before the end
    assert {t.name: t.message_count for t in metadata.topics} == EXPECTED
    assert {t.name: t.type_name for t in metadata.topics} == TOPICS
    assert metadata.message_count == sum(EXPECTED.values())
    qos = {t.name: t.qos_profiles for t in metadata.topics}
    assert "durability: transient_local" in qos["/tf_static"]
    assert "durability: volatile" in qos["/tf"]


def test_readers_agree_on_counts(sample_bag: Path) -> None:
    with open_bag(sample_bag) as bag:
        assert {t.name: t.message_count for t in bag.topics()} == EXPECTED
        assert Counter(m.topic for m in bag.messages()) == EXPECTED
        assert not bag.problems
        # MCAP channel QoS is the text metadata.yaml holds as a list.
        assert bag.metadata is not None
        yaml_qos = {t.name: t.qos_profiles.strip() for t in bag.metadata.topics}
        assert {t.name: t.qos_profiles.strip() for t in bag.topics()} == yaml_qos

    # The mcap library decodes every message, the custom type from its MCAP schema.
    mcap_counts = Counter(m.channel.topic for m in read_ros2_messages(str(sample_bag / "sample_0.mcap")))
    assert mcap_counts == EXPECTED

    with AnyReader([sample_bag], default_typestore=get_typestore(Stores.ROS2_JAZZY)) as reader:
        assert Counter(c.topic for c, _t, _d in reader.messages()) == EXPECTED
        status = next(c for c in reader.connections if c.topic == "/diagnostics_custom")
        _conn, _time, raw = next(iter(reader.messages([status])))
        message: Any = reader.deserialize(raw, STATUS_TYPE)
        assert (message.name, message.level) == ("battery_voltage", 0)


def test_messages_in_log_time_order_with_header_stamps_equal_to_log_times(sample_bag: Path) -> None:
    with open_bag(sample_bag) as bag:
        times = [m.log_time_ns for m in bag.messages()]
        assert times == sorted(times)
        assert all(m.publish_time_ns == m.log_time_ns for m in bag.messages({"/imu/data"}))
    for topic in ("/imu/data", "/lidar/points", "/camera/image_raw", "/odom", "/gps/fix"):
        for log_time, msg in decoded_messages(sample_bag, topic):
            assert msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec == log_time


def test_custom_type_decodes_from_the_stored_schema_only(sample_bag: Path) -> None:
    assert STATUS_TYPE not in get_typestore(Stores.ROS2_JAZZY).fielddefs
    values = [msg for _t, msg in decoded_messages(sample_bag, "/diagnostics_custom")]
    assert len(values) == 10
    assert values[0].value == pytest.approx(25.2)
    assert [v.level for v in values] == [0] * 6 + [1] * 3 + [2]


def test_static_transforms(sample_bag: Path) -> None:
    [(_t, msg)] = decoded_messages(sample_bag, "/tf_static")
    edges = {(t.header.frame_id, t.child_frame_id): t.transform for t in msg.transforms}
    assert {
        ("base_link", "camera_link"),
        ("camera_link", "camera_optical_frame"),
        ("base_link", "lidar_link"),
        ("base_link", "imu_link"),
    } <= set(edges)
    optical = edges[("camera_link", "camera_optical_frame")].rotation
    assert (optical.x, optical.y, optical.z, optical.w) == (-0.5, 0.5, -0.5, 0.5)


def test_tf_moves_the_robot_on_a_circle(sample_bag: Path) -> None:
    messages = decoded_messages(sample_bag, "/tf")
    assert len(messages) == 500
    odom = [next(t for t in msg.transforms if t.child_frame_id == "base_link") for _t, msg in messages]
    xy = np.array([[t.transform.translation.x, t.transform.translation.y] for t in odom])
    np.testing.assert_allclose(np.hypot(xy[:, 0], xy[:, 1]), 3.0)
    assert xy[0] == pytest.approx([0.0, -3.0])
    wheels = {t.child_frame_id for t in messages[0][1].transforms} - {"base_link"}
    assert len(wheels) == 4


def test_point_cloud_is_an_organized_lidar_sweep_with_nans(sample_bag: Path) -> None:
    _t, cloud = decoded_messages(sample_bag, "/lidar/points")[0]
    assert (cloud.height, cloud.width, cloud.point_step) == (16, 128, 16)
    assert cloud.header.frame_id == "lidar_link"
    assert [f.name for f in cloud.fields] == ["x", "y", "z", "intensity"]
    assert not cloud.is_dense
    points = np.frombuffer(cloud.data, dtype="<f4").reshape(-1, 4)
    valid = ~np.isnan(points[:, 0])
    assert 0.005 < 1 - valid.mean() < 0.2
    ranges = np.linalg.norm(points[valid, :3], axis=1)
    assert ranges.max() <= 20.1
    assert points[valid, 2].min() == pytest.approx(-0.35, abs=0.05)  # the floor, seen from 0.35 m up


def test_camera(sample_bag: Path) -> None:
    images = decoded_messages(sample_bag, "/camera/image_raw")
    infos = decoded_messages(sample_bag, "/camera/camera_info")
    assert [t for t, _m in images] == [t for t, _m in infos]
    _t, image = images[0]
    assert (image.width, image.height, image.encoding, image.step) == (160, 120, "rgb8", 480)
    assert len(image.data) == 160 * 120 * 3
    assert not np.array_equal(images[0][1].data, images[1][1].data)  # the square moves
    k = infos[0][1].k
    assert (k[0], k[4], k[2], k[5]) == (100.0, 100.0, 80.0, 60.0)
    assert infos[0][1].header.frame_id == "camera_optical_frame"


def test_log_levels(sample_bag: Path) -> None:
    levels = {msg.level for _t, msg in decoded_messages(sample_bag, "/rosout")}
    assert levels == {10, 20, 30, 40, 50}


def test_deterministic(tmp_path: Path) -> None:
    spec = dataclasses.replace(SPEC, duration_s=1.0, cloud_count=3, image_count=2, name="tiny")

    def digest(folder: str, spec: SampleSpec) -> str:
        return hashlib.sha256(
            (write_sample(tmp_path / folder, spec) / "tiny_0.mcap").read_bytes()
        ).hexdigest()

    assert digest("a", spec) == digest("b", spec)
    assert digest("c", dataclasses.replace(spec, seed=1)) != digest("a", spec)


def test_rewrite_replaces_the_files(tmp_path: Path) -> None:
    spec = dataclasses.replace(SPEC, duration_s=0.5, cloud_count=1, image_count=1, name="tiny")
    write_sample(tmp_path / "bag", dataclasses.replace(spec, duration_s=1.0))
    write_sample(tmp_path / "bag", spec)
    with open_bag(tmp_path / "bag") as bag:
        assert {t.name: t.message_count for t in bag.topics()} == spec.message_counts()


def test_benchmark_spec_is_large() -> None:
    spec = SampleSpec.benchmark()
    counts = spec.message_counts()
    assert counts["/lidar/points"] == 2000
    assert counts["/camera/image_raw"] == 300
    assert counts["/imu/data"] == 40_000
    assert counts["/tf"] == 20_000
    payload = spec.cloud_count * spec.cloud_points * 20 + spec.image_count * 640 * 480 * 3
    assert payload > 1_000_000_000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cloud_points": 1000}, "multiple of 16"),
        ({"image_encoding": "yuv422"}, "image_encoding"),
        ({"imu_hz": -1.0}, "imu_hz"),
        ({"duration_s": 0.0}, "duration_s"),
    ],
)
def test_spec_validation(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SampleSpec(**change)


def test_demo_converts_and_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rerun_bridge.demo import main

    assert main(["--out", str(tmp_path / "demo")]) == 0
    out = capsys.readouterr().out
    assert "rerun rrd verify: ok" in out
    assert f"rerun {tmp_path / 'demo' / 'sample.rrd'}" in out
    for topic, count in EXPECTED.items():
        assert f"{count}/{count}" in next(line for line in out.splitlines() if line.startswith(topic + " "))
    assert (tmp_path / "demo" / "sample.mcap").stat().st_size > 1_000_000
    # Rerun's viewer opens it in the bridge's layout: the 3D scene and the camera's image view.
    views = {
        (view.class_identifier, view.origin)
        for view in rbl_views(read_rbl(tmp_path / "demo" / "sample.rrd").root)
    }
    assert {("3D", "/"), ("2D", "/camera/image_raw")} <= views
