"""Every recording in ../shared/data converts, verifies with Rerun's own tool, and loses no message."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.convert.raw import raw_archetype
from rerun_bridge.pipeline import TopicKind
from rerun_bridge.replay import convert_bags
from rerun_bridge.sources.bag import open_bag
from rerun_bridge.store.chunk_store import ChunkStore
from test.conftest import (
    ABITOBOT_BAG,
    GPS_BAG,
    NEATO_BAG,
    RERUN_SUPPORTED_MCAP,
    ROSBAG2_RESOURCES,
    rrd_chunks,
    verify_rrd,
)

PY_RESOURCES = ROSBAG2_RESOURCES / "rosbag2_py" / "test" / "resources"
TEST_RESOURCES = ROSBAG2_RESOURCES / "rosbag2_tests" / "resources"
CPP_BAGS = ROSBAG2_RESOURCES / "rosbag2_cpp" / "test" / "rosbag2_cpp" / "bags"

RECORDINGS = {
    "neato": NEATO_BAG,
    "gps": GPS_BAG,
    "rerun_supported": RERUN_SUPPORTED_MCAP,
    "abitobot": ABITOBOT_BAG,
    "talker_mcap": PY_RESOURCES / "mcap" / "talker",
    "talker_sqlite": PY_RESOURCES / "sqlite3" / "talker",
    "wbag_mcap": PY_RESOURCES / "mcap" / "wbag",
    "wbag_sqlite": PY_RESOURCES / "sqlite3" / "wbag",
    "convert_a": PY_RESOURCES / "mcap" / "convert_a",
    "cdr_test_mcap": TEST_RESOURCES / "mcap" / "cdr_test",
    "cdr_test_sqlite": TEST_RESOURCES / "sqlite3" / "cdr_test",
    "services_mcap": TEST_RESOURCES / "mcap" / "bag_with_topics_and_service_events",
    "services_sqlite": TEST_RESOURCES / "sqlite3" / "bag_with_topics_and_service_events",
    "topics_and_services_mcap": CPP_BAGS / "topics_and_services.mcap",
    "topics_and_services_db3": CPP_BAGS / "topics_and_services.db3",
}

# The column that carries one row per message, by ROS type ("{entity}" is the topic's entity path).
PRIMARY_COLUMN = {
    "sensor_msgs/msg/Image": ("{entity}", ("Image:buffer", "DepthImage:buffer")),
    "sensor_msgs/msg/CompressedImage": ("{entity}", ("EncodedImage:blob", "EncodedDepthImage:blob")),
    "sensor_msgs/msg/CameraInfo": ("{entity}", ("Pinhole:image_from_camera",)),
    "sensor_msgs/msg/PointCloud2": ("{entity}", ("Points3D:positions",)),
    "sensor_msgs/msg/LaserScan": ("{entity}", ("Points3D:positions",)),
    "sensor_msgs/msg/Imu": ("{entity}", ("Scalars:scalars",)),
    "sensor_msgs/msg/JointState": ("{entity}", ("CoordinateFrame:frame",)),
    "sensor_msgs/msg/NavSatFix": ("{entity}", ("GeoPoints:positions",)),
    "sensor_msgs/msg/MagneticField": ("{entity}", ("Arrows3D:vectors",)),
    "sensor_msgs/msg/FluidPressure": ("{entity}", ("Scalars:scalars",)),
    "sensor_msgs/msg/Illuminance": ("{entity}", ("Scalars:scalars",)),
    "sensor_msgs/msg/Range": ("{entity}", ("Scalars:scalars",)),
    "sensor_msgs/msg/BatteryState": ("{entity}", ("Scalars:scalars",)),
    "sensor_msgs/msg/Temperature": ("{entity}", ("Scalars:scalars",)),
    "sensor_msgs/msg/RelativeHumidity": ("{entity}", ("Scalars:scalars",)),
    "nav_msgs/msg/Odometry": ("{entity}", ("InstancePoses3D:translations",)),
    "geometry_msgs/msg/PoseStamped": ("{entity}", ("InstancePoses3D:translations",)),
    "geometry_msgs/msg/Twist": ("{entity}", ("Scalars:scalars",)),
    "rcl_interfaces/msg/Log": ("{entity}", ("TextLog:text",)),
    "std_msgs/msg/String": ("{entity}", ("TextLog:text",)),
    "sensor_msgs/msg/Joy": ("{entity}/axes", ("Scalars:scalars",)),
    "sensor_msgs/msg/MultiEchoLaserScan": ("{entity}", ("Points3D:positions",)),
    "sensor_msgs/msg/PointCloud": ("{entity}", ("Points3D:positions",)),
    "sensor_msgs/msg/TimeReference": ("{entity}", ("TextLog:text",)),
    "sensor_msgs/msg/RegionOfInterest": ("{entity}", ("Boxes2D:centers",)),
    "rcl_interfaces/msg/ParameterEvent": ("{entity}", ("TextLog:text",)),
    "sensor_msgs/msg/MultiDOFJointState": ("{entity}", ("Points3D:positions",)),
}


def rows_by_column(rrd: Path) -> dict[tuple[str, str], int]:
    """Timed rows per (entity, column): a message's rows (static ones, such as an entity's frame for all
    times, are not counted)."""
    counts: dict[tuple[str, str], int] = {}
    for entity, static, batch in rrd_chunks(rrd):
        if static:
            continue
        for column in batch.schema.names:
            if ":" in column:
                key = (entity, column)
                counts[key] = counts.get(key, 0) + batch.num_rows - batch.column(column).null_count
    return counts


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_recording_converts_and_verifies(name: str, tmp_path: Path) -> None:
    source = RECORDINGS[name]
    rrd = tmp_path / "out.rrd"
    summary = convert_bags([source], rrd, tmp_path / "out.mcap")
    verify_rrd(rrd)
    counts = rows_by_column(rrd)
    with open_bag(source) as bag:
        expected = {t.name: t.message_count for t in bag.topics()}
        resolver = TypeResolver(bag.topics(), bag.ros_distro)
        decodable = {t.name for t in bag.topics() if resolver.choose(t.type_name).decoder is not None}
    for stats in summary.topics:
        assert stats.messages == expected[stats.topic], stats
        if stats.topic not in decodable:
            assert stats.kind is TopicKind.SKIPPED
            assert stats.skipped == stats.messages
            continue
        assert stats.errors == 0, stats
        if stats.kind is TopicKind.RAW:
            column = f"{raw_archetype(stats.type_name)}:message"
            assert counts.get((stats.entity_path, column), 0) == stats.messages, stats
        elif stats.type_name == "tf2_msgs/msg/TFMessage":
            continue  # one row per transform: checked against an independent decoder in test_tf_rows
        else:
            entity_template, columns = PRIMARY_COLUMN[stats.type_name]
            entity = entity_template.format(entity=stats.entity_path)
            found = max(counts.get((entity, column), 0) for column in columns)
            assert found == stats.messages, (stats, entity, columns)


def test_tf_rows_equal_transforms(tmp_path: Path) -> None:
    """/tf keeps one row per transform, /tf_static one static entity per child frame."""
    rrd = tmp_path / "neato.rrd"
    convert_bags([NEATO_BAG], rrd)
    with open_bag(NEATO_BAG) as bag:
        resolver = TypeResolver(bag.topics(), bag.ros_distro)
        decoder = resolver.choose("tf2_msgs/msg/TFMessage").decoder
        assert decoder is not None
        dynamic = sum(len(decoder(m.data).transforms) for m in bag.messages({"/tf"}))
        static_children = {
            t.child_frame_id for m in bag.messages({"/tf_static"}) for t in decoder(m.data).transforms
        }
    counts = rows_by_column(rrd)
    assert counts[("/tf", "Transform3D:translation")] == dynamic
    static_entities = {
        entity for entity, static, _batch in rrd_chunks(rrd) if static and entity.startswith("/tf_static/")
    }
    assert static_entities == {f"/tf_static/{child}" for child in static_children}


def test_undecodable_topics_do_not_stop_the_rest(tmp_path: Path) -> None:
    warnings: list[str] = []
    summary = convert_bags([NEATO_BAG], tmp_path / "n.rrd", warn=warnings.append)
    by_topic = {t.topic: t for t in summary.topics}
    assert by_topic["/bump"].kind is TopicKind.SKIPPED
    assert by_topic["/accel"].kind is TopicKind.SKIPPED
    assert by_topic["/scan"].rows > 0
    assert sum("/bump" in w for w in warnings) == 1


def test_a_malformed_message_is_counted_and_the_rest_flows(tmp_path: Path) -> None:
    """One message with cut CDR bytes: one warning naming the topic, one error counted, nothing else lost."""
    from rerun_bridge.model.records import MessageDefinition
    from rerun_bridge.sinks.mcap import McapSink

    source = PY_RESOURCES / "mcap" / "talker"
    damaged = tmp_path / "damaged.mcap"
    with open_bag(source) as bag, McapSink(damaged) as sink:
        channels = {}
        for info in bag.topics():
            definition = info.definition or MessageDefinition("ros2msg", "")
            channels[info.name] = sink.add_topic(info.name, info.type_name, definition)
        for index, message in enumerate(bag.messages({"/topic"})):
            data = bytes(message.data)
            if index == 4:
                data = data[:6]  # the string's length says more bytes follow than there are
            sink.write(channels["/topic"], message.log_time_ns, message.publish_time_ns, data)
    warnings: list[str] = []
    summary = convert_bags([damaged], tmp_path / "d.rrd", warn=warnings.append)
    stats = next(t for t in summary.topics if t.topic == "/topic")
    assert (stats.messages, stats.errors, stats.rows) == (10, 1, 9)
    assert sum("/topic" in w and "cannot decode" in w for w in warnings) == 1
    verify_rrd(tmp_path / "d.rrd")


def test_zero_header_stamps_are_warned_about_once_per_topic(tmp_path: Path) -> None:
    """The GPS bag's /vehicle_pose never sets its header stamps: its messages sit at their receive time
    on ros_time too (not at 1970), counted and warned about once."""
    summary = convert_bags([GPS_BAG], tmp_path / "gps.rrd")
    store = ChunkStore()
    for entity, static, batch in rrd_chunks(tmp_path / "gps.rrd"):
        store.append_chunk(entity, batch, static=static)
    pose_ros = store.time_range("ros_time", "/vehicle_pose")
    assert pose_ros is not None
    assert pose_ros == store.time_range("log_time", "/vehicle_pose")
    stats = {topic.topic: topic for topic in summary.topics}
    assert stats["/vehicle_pose"].zero_stamps == stats["/vehicle_pose"].messages > 0
    assert stats["/odometry"].zero_stamps == 0
    zero_warnings = [text for text in summary.warnings if "header stamps of zero" in text]
    assert len(zero_warnings) == 1
    assert "/vehicle_pose" in zero_warnings[0]


@pytest.mark.parametrize("start_s", [None, 10.0])
def test_the_rrds_start_time_is_the_recordings_not_the_conversions(
    tmp_path: Path, start_s: float | None
) -> None:
    """RecordingInfo:start_time held the moment of the conversion (806 days after the Neato bag's start),
    which a catalog or viewer sorts recordings by (audit): it is the bag's first message, or the window's
    start with --start."""
    from rerun_bridge.replay import TopicSelection

    with open_bag(NEATO_BAG) as bag:
        bounds = bag.time_bounds()
    assert bounds is not None
    start = bounds[0] + (round(start_s * 1e9) if start_s is not None else 0)
    selection = TopicSelection(start_ns=start) if start_s is not None else None
    rrd = tmp_path / "out.rrd"
    convert_bags([NEATO_BAG], rrd, selection=selection)
    found = [
        batch.column("RecordingInfo:start_time").flatten().cast(pa.int64()).to_pylist()
        for entity, _static, batch in rrd_chunks(rrd)
        if entity == "/__properties" and "RecordingInfo:start_time" in batch.schema.names
    ]
    assert found[-1] == [start]
