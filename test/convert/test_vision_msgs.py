"""vision_msgs detections end to end: an MCAP that carries the definitions (rosbags has no vision_msgs
typestore), converted by convert_bags into a real .rrd that Rerun verifies."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from rerun_bridge.convert.registry import ConvertContext
from rerun_bridge.convert.vision_msgs import convert_detection_3d_array
from rerun_bridge.errors import PartialConversionError
from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.pipeline import TopicKind
from rerun_bridge.replay import convert_bags
from rerun_bridge.sinks.mcap import McapSink
from test.conftest import rrd_column, verify_rrd
from test.convert.golden_harness import build_message

#: vision_msgs 4 (Humble on), written from its documented fields.
VISION_MSGS = {
    "Point2D": "float64 x\nfloat64 y\n",
    "Pose2D": "vision_msgs/Point2D position\nfloat64 theta\n",
    "BoundingBox2D": "vision_msgs/Pose2D center\nfloat64 size_x\nfloat64 size_y\n",
    "BoundingBox3D": "geometry_msgs/Pose center\ngeometry_msgs/Vector3 size\n",
    "ObjectHypothesis": "string class_id\nfloat64 score\n",
    "ObjectHypothesisWithPose": (
        "vision_msgs/ObjectHypothesis hypothesis\ngeometry_msgs/PoseWithCovariance pose\n"
    ),
    "Detection2D": (
        "std_msgs/Header header\nvision_msgs/ObjectHypothesisWithPose[] results\n"
        "vision_msgs/BoundingBox2D bbox\nstring id\n"
    ),
    "Detection2DArray": "std_msgs/Header header\nvision_msgs/Detection2D[] detections\n",
    "Detection3D": (
        "std_msgs/Header header\nvision_msgs/ObjectHypothesisWithPose[] results\n"
        "vision_msgs/BoundingBox3D bbox\nstring id\n"
    ),
    "Detection3DArray": "std_msgs/Header header\nvision_msgs/Detection3D[] detections\n",
}
TOPICS = {
    "/detections_2d": "vision_msgs/msg/Detection2DArray",
    "/detections_3d": "vision_msgs/msg/Detection3DArray",
}
STAMP = {"sec": 1700000000, "nanosec": 0}


def vision_typestore() -> Typestore:
    store = get_typestore(Stores.ROS2_JAZZY)
    for name, text in VISION_MSGS.items():
        store.register(get_types_from_msg(text, f"vision_msgs/msg/{name}"))
    return store


def detection(hypotheses: list[tuple[str, float]], bbox: dict[str, Any]) -> dict[str, Any]:
    results = [{"hypothesis": {"class_id": name, "score": score}} for name, score in hypotheses]
    return {"results": results, "bbox": bbox}


MESSAGES = {
    "/detections_2d": {
        "header": {"stamp": STAMP, "frame_id": "camera"},
        "detections": [
            detection(
                [("cat", 0.9)],
                {"center": {"position": {"x": 30.0, "y": 40.0}}, "size_x": 10.0, "size_y": 20.0},
            )
        ],
    },
    "/detections_3d": {
        "header": {"stamp": STAMP, "frame_id": "lidar"},
        "detections": [
            detection(
                [("car", 0.4), ("truck", 0.6)],
                {
                    "center": {"position": {"x": 1.0, "y": 2.0, "z": 3.0}, "orientation": {"w": 1.0}},
                    "size": {"x": 2.0, "y": 4.0, "z": 6.0},
                },
            ),
        ],
    },
}


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    folder = tmp_path_factory.mktemp("vision")
    store = vision_typestore()
    recording = folder / "detections.mcap"
    with McapSink(recording) as sink:
        for topic, type_name in TOPICS.items():
            text, _digest = store.generate_msgdef(type_name, ros_version=2)
            channel = sink.add_topic(topic, type_name, MessageDefinition("ros2msg", text))
            message = build_message(store, type_name, MESSAGES[topic])
            data = bytes(store.serialize_cdr(message, type_name))
            sink.write(channel, 1700000000_000000000, 1700000000_000000000, data)
    rrd = folder / "detections.rrd"
    summary = convert_bags([recording], rrd)
    return rrd, summary


def test_detections_convert_from_the_recordings_own_definitions(converted: tuple[Path, Any]) -> None:
    rrd, summary = converted
    kinds = {stats.topic: (stats.kind, stats.errors, sorted(stats.produced)) for stats in summary.topics}
    assert kinds == {
        "/detections_2d": (TopicKind.CONVERTED, 0, ["Boxes2D", "CoordinateFrame"]),
        "/detections_3d": (TopicKind.CONVERTED, 0, ["Boxes3D", "CoordinateFrame"]),
    }
    verify_rrd(rrd)


def test_2d_boxes_lie_on_the_image_plane_labelled_by_class_and_score(converted: tuple[Path, Any]) -> None:
    rrd, _summary = converted
    assert rrd_column(rrd, "/detections_2d", "Boxes2D:centers") == [[[30.0, 40.0]]]
    assert rrd_column(rrd, "/detections_2d", "Boxes2D:half_sizes") == [[[5.0, 10.0]]]
    assert rrd_column(rrd, "/detections_2d", "Boxes2D:labels") == [["cat 0.90"]]
    assert rrd_column(rrd, "/detections_2d", "CoordinateFrame:frame", timed=True) == [["camera_image_plane"]]


def test_3d_boxes_take_the_best_hypothesis(converted: tuple[Path, Any]) -> None:
    rrd, _summary = converted
    np.testing.assert_allclose(rrd_column(rrd, "/detections_3d", "Boxes3D:half_sizes")[0], [[1.0, 2.0, 3.0]])
    assert rrd_column(rrd, "/detections_3d", "Boxes3D:labels") == [["truck 0.60"]]
    assert rrd_column(rrd, "/detections_3d", "Boxes3D:class_id") == [["truck"]]


def _detection(label: str, size: tuple[float, float, float]) -> Any:
    hypothesis = SimpleNamespace(hypothesis=SimpleNamespace(class_id=label, score=0.5))
    bbox = SimpleNamespace(
        center=SimpleNamespace(
            position=SimpleNamespace(x=0.0, y=0.0, z=0.0), orientation=SimpleNamespace(x=0, y=0, z=0, w=1)
        ),
        size=SimpleNamespace(x=size[0], y=size[1], z=size[2]),
    )
    return SimpleNamespace(results=[hypothesis], bbox=bbox, id="")


def test_a_detection_of_negative_size_is_left_out_and_counted() -> None:
    """It was drawn as a box, its extent turned, without a word (found by an audit); the others stay."""
    header = SimpleNamespace(frame_id="base_link", stamp=SimpleNamespace(sec=0, nanosec=0))
    message = SimpleNamespace(
        header=header, detections=[_detection("car", (2.0, 1.0, 1.0)), _detection("ghost", (-1.0, 2.0, 1.0))]
    )
    context = ConvertContext("/detections", "vision_msgs/msg/Detection3DArray", "/detections")
    with pytest.raises(PartialConversionError, match="1 of 2 detections have a negative or non-finite size"):
        convert_detection_3d_array(message, context)
    try:
        convert_detection_3d_array(message, context)
    except PartialConversionError as err:
        (boxes,) = [row for row in err.rows if row.archetype == "Boxes3D"]
        assert boxes.components["labels"] == ["car 0.50"]
