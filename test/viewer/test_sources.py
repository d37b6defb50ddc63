"""Viewer sources: .rrd files and bags into one store, and the TF tree rebuilt from the store's rows."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import rerun as rr

from rerun_bridge.replay import convert_bags
from rerun_bridge.store.chunk_store import ChunkStore, StoreError
from rerun_bridge.store.columns import to_instances
from rerun_bridge.viewer.sources import SourceError, load_files, load_rrd
from rerun_bridge.viewer.transforms import SceneTransforms, build_tf_buffer
from test.viewer.conftest import SMALL_SAMPLE, START_NS, at, write_rrd

NS = 1_000_000_000


# -- the ImageFormat bug: Rerun component objects in converter rows ------------------------------------


def test_rerun_component_objects_are_stored_through_their_batch_class() -> None:
    formats = [
        rr.components.ImageFormat(width=4, height=3, color_model="RGB", channel_datatype="U8"),
        rr.components.ImageFormat(width=2, height=2, color_model="L", channel_datatype="U16"),
    ]
    converted = to_instances(formats)
    assert converted.equals(rr.components.ImageFormatBatch(formats).as_arrow_array())
    assert converted.to_pylist()[1] == {
        "width": 2,
        "height": 2,
        "pixel_format": None,
        "color_model": 1,
        "channel_datatype": 8,
    }

    store = ChunkStore()
    store.append_row("/image", {"log_time": 5}, {"Image:format": formats[:1], "Image:buffer": [bytes(36)]})
    stored = store.latest_at("/image", "log_time", 5)["Image:format"].to_pylist()
    assert stored == [
        {"width": 4, "height": 3, "pixel_format": None, "color_model": 2, "channel_datatype": 6}
    ]


def test_mixed_objects_still_raise_a_store_error() -> None:
    mixed: list[Any] = [rr.components.ImageFormat(width=1, height=1, color_model="L"), object()]
    with pytest.raises(StoreError, match="cannot convert batch of ImageFormat"):
        to_instances(mixed)


def test_bag_images_reach_the_store(sample_store: ChunkStore) -> None:
    values = sample_store.latest_at("/camera/image_raw", "ros_time", START_NS + NS)
    image_format = values["Image:format"].to_pylist()[0]
    assert (image_format["width"], image_format["height"]) == (
        SMALL_SAMPLE.image_width,
        SMALL_SAMPLE.image_height,
    )
    assert len(values["Image:buffer"][0].values) == SMALL_SAMPLE.image_width * SMALL_SAMPLE.image_height * 3


# -- loading -------------------------------------------------------------------------------------------


def _log_points_and_text(rec: Any) -> None:
    at(rec, 0.5)
    rr.log("/rrd/points", rr.Points3D([[1.0, 2.0, 3.0]], colors=[[255, 0, 0]]), recording=rec)
    at(rec, 1.0)
    rr.log("/rrd/points", rr.Points3D([[4.0, 5.0, 6.0]]), recording=rec)
    rr.log("/rrd/log", rr.TextLog("from the rrd", level="WARN"), recording=rec)


def test_rrd_and_bag_load_into_one_store(sample_bag: Path, tmp_path: Path) -> None:
    rrd = write_rrd(tmp_path / "extra.rrd", _log_points_and_text)
    loaded = load_files([sample_bag, rrd])
    store = loaded.store
    entities = store.entities()
    assert {"/rrd/points", "/rrd/log", "/lidar/points", "/camera/image_raw", "/tf"} <= set(entities)
    assert "ros_time" in store.timelines()
    early = store.latest_at("/rrd/points", "ros_time", START_NS + 700_000_000)
    assert early["Points3D:positions"].to_pylist() == [[1.0, 2.0, 3.0]]
    assert early["Points3D:colors"].to_pylist() == [0xFF0000FF]  # Rerun's Color: 0xRRGGBBAA
    late = store.latest_at("/rrd/points", "ros_time", START_NS + 1_500_000_000)
    assert late["Points3D:positions"].to_pylist() == [[4.0, 5.0, 6.0]]
    # The bag's data shares the same timeline and range.
    low, high = store.time_range("ros_time") or (0, 0)
    assert low <= START_NS + 500_000_000 <= high
    assert any("no converter" in warning for warning in loaded.warnings)


def test_a_bag_converted_to_rrd_shows_the_same_data(
    sample_bag: Path, sample_store: ChunkStore, tmp_path: Path
) -> None:
    rrd = tmp_path / "sample.rrd"
    convert_bags([sample_bag], rrd)
    from_rrd = ChunkStore()
    assert load_rrd(rrd, from_rrd) > 0
    time = START_NS + 1_234_000_000
    for entity, component in [
        ("/camera/image_raw", "Image:buffer"),
        ("/lidar/points", "Points3D:positions"),
        ("/rosout", "TextLog:text"),
    ]:
        direct = sample_store.latest_at(entity, "ros_time", time)[component]
        through_rrd = from_rrd.latest_at(entity, "ros_time", time)[component]
        assert direct.to_pylist() == through_rrd.to_pylist(), entity


def test_missing_and_broken_files_raise_source_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"no such \.rrd file"):
        load_files([tmp_path / "missing.rrd"])
    broken = tmp_path / "broken.rrd"
    broken.write_bytes(b"not an rrd at all")
    with pytest.raises(SourceError, match=r"broken\.rrd"):
        load_files([broken])
    with pytest.raises(SourceError):
        load_files([tmp_path / "missing_bag"])


# -- TF from the store ---------------------------------------------------------------------------------


def test_tf_buffer_holds_the_sample_transforms(sample_store: ChunkStore) -> None:
    buffer = build_tf_buffer(sample_store, "ros_time")
    assert {"odom", "base_link", "lidar_link", "camera_optical_frame", "front_left_wheel_link"} <= set(
        buffer.frames()
    )
    assert buffer.roots() == ["odom"]
    assert buffer.time_range("base_link", "lidar_link") is None  # static: valid at every time
    lidar = buffer.lookup_transform("base_link", "lidar_link", START_NS + 123)
    np.testing.assert_allclose(lidar.translation, [0.1, 0.0, 0.25])
    # odom -> base_link at a /tf stamp: the robot on its 3 m circle, 20 s per turn, facing along it.
    stamp = START_NS + 10 * (NS // 20)  # the 11th /tf message at 20 Hz
    t_s = (stamp - START_NS) / NS
    omega = 2 * math.pi / 20.0
    pose = buffer.lookup_transform("odom", "base_link", stamp)
    np.testing.assert_allclose(
        pose.translation,
        [3 * math.cos(omega * t_s - math.pi / 2), 3 * math.sin(omega * t_s - math.pi / 2), 0.1],
        atol=1e-9,
    )
    np.testing.assert_allclose(
        pose.rotation, [0, 0, math.sin(omega * t_s / 2), math.cos(omega * t_s / 2)], atol=1e-9
    )


def test_scene_transforms_hold_the_nearest_sample_outside_the_data(sample_store: ChunkStore) -> None:
    transforms = SceneTransforms(sample_store)
    buffer = transforms.buffer("ros_time")
    first, last = buffer.time_range("odom", "base_link") or (0, 0)
    before = transforms.transform("ros_time", "odom", "lidar_link", first - 5 * NS)
    after = transforms.transform("ros_time", "odom", "lidar_link", last + 5 * NS)
    assert before is not None
    assert after is not None
    np.testing.assert_allclose(
        before.translation, buffer.lookup_transform("odom", "lidar_link", first).translation
    )
    np.testing.assert_allclose(
        after.translation, buffer.lookup_transform("odom", "lidar_link", last).translation
    )
    assert transforms.transform("ros_time", "odom", "no_such_frame", first) is None
    assert transforms.transform("ros_time", "odom", "odom", first) is not None
    assert transforms.default_fixed_frame("ros_time") == "odom"
    assert transforms.buffer("ros_time") is buffer  # cached per timeline
    transforms.invalidate()
    assert transforms.buffer("ros_time") is not buffer


def test_rrd_transforms_with_named_frames_and_static_edges(tmp_path: Path) -> None:
    def log(rec: Any) -> None:
        rr.log(
            "/tf_static/sensor",
            rr.Transform3D(translation=[0.0, 2.0, 0.0], parent_frame="world", child_frame="sensor"),
            static=True,
            recording=rec,
        )
        for step in range(3):
            at(rec, step)
            rr.log(
                "/tf",
                rr.Transform3D(
                    translation=[float(step), 0.0, 0.0],
                    quaternion=rr.Quaternion(xyzw=[0.0, 0.0, 0.0, 1.0]),
                    parent_frame="world",
                    child_frame="robot",
                ),
                recording=rec,
            )

    store = ChunkStore()
    load_rrd(write_rrd(tmp_path / "tf.rrd", log), store)
    buffer = build_tf_buffer(store, "ros_time")
    assert buffer.time_range("world", "sensor") is None
    np.testing.assert_allclose(buffer.lookup_transform("world", "sensor", 0).translation, [0.0, 2.0, 0.0])
    halfway = buffer.lookup_transform("world", "robot", START_NS + 1_500_000_000)
    np.testing.assert_allclose(halfway.translation, [1.5, 0.0, 0.0])


def test_transform_rows_with_several_instances_are_skipped_not_misread() -> None:
    store = ChunkStore()
    store.append_row(
        "/tf",
        {"ros_time": 10},
        {
            "Transform3D:child_frame": pa.array(["a", "b"]),
            "Transform3D:parent_frame": pa.array(["root", "root"]),
        },
    )
    store.append_row(
        "/tf",
        {"ros_time": 20},
        {"Transform3D:child_frame": pa.array(["c"]), "Transform3D:parent_frame": pa.array(["root"])},
    )
    buffer = build_tf_buffer(store, "ros_time")
    assert buffer.frames() == ["c", "root"]
    np.testing.assert_allclose(buffer.lookup_transform("root", "c", 20).rotation, [0, 0, 0, 1])


@pytest.mark.parametrize("lazily", [False, True])
def test_a_bag_viewed_with_a_config_takes_its_topic_options(tmp_path: Path, lazily: bool) -> None:
    """`view` took no --config: a RegionOfInterest could not be given its camera_frame, so it never
    overlaid its image (audit). The config's topic options apply to bags converted whole and lazily."""
    from mcap_ros2.writer import Writer
    from rosbags.typesys import Stores, get_typestore

    from rerun_bridge.custom_types import command_line_types

    typestore = get_typestore(Stores.ROS2_JAZZY)
    bag = tmp_path / "roi.mcap"
    name = "sensor_msgs/msg/RegionOfInterest"
    with bag.open("wb") as stream:
        writer = Writer(stream, chunk_size=256)
        schema = writer.register_msgdef(name, typestore.generate_msgdef(name, ros_version=2)[0])
        for step in range(40):
            box = {"x_offset": 10, "y_offset": 20, "width": 30, "height": 40}
            writer.write_message("/camera/roi", schema, box, log_time=START_NS + step * 100_000_000)
        writer.finish()  # type: ignore[no-untyped-call]
    config = tmp_path / "bridge.yaml"
    config.write_text("topics:\n  /camera/roi:\n    options: {camera_frame: camera}\n", encoding="utf-8")
    types = command_line_types(config, [])
    loaded = load_files([bag], memory_budget_bytes=1 if lazily else None, types=types)
    assert bool(loaded.lazy) == lazily
    frame = loaded.store.latest_at("/camera/roi", "log_time", START_NS + 10**9).get("CoordinateFrame:frame")
    assert frame is not None
    assert frame.to_pylist() == ["camera_image_plane"]
