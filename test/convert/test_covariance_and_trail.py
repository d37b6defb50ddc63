"""geometry_msgs' meaning drawn: covariance ellipsoids against an independent eigen-decomposition, the
odometry trail across messages, and both on a real robot's recording through replay and Rerun's verifier.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from rosbags.typesys import Stores, get_typestore

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.convert.rotations import matrices_to_quaternions, quaternions_to_matrices
from rerun_bridge.model.records import TopicInfo
from rerun_bridge.model.rows import Row
from rerun_bridge.pipeline import Outcome, Pipeline
from rerun_bridge.replay import convert_bags
from rerun_bridge.tf import quaternion as tf_quaternion
from test.conftest import GPS_BAG, NEATO_BAG, ListSink, rrd_column, rrd_row_count, verify_rrd

STORE = get_typestore(Stores.ROS2_JAZZY)
POSE_COV = "geometry_msgs/msg/PoseWithCovarianceStamped"
ODOMETRY = "nav_msgs/msg/Odometry"


def _pose(x: float, y: float, covariance: npt.NDArray[np.float64]) -> Any:
    types = STORE.types
    pose = types["geometry_msgs/msg/Pose"](
        position=types["geometry_msgs/msg/Point"](x=x, y=y, z=0.0),
        orientation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
    )
    return types["geometry_msgs/msg/PoseWithCovariance"](pose=pose, covariance=covariance.reshape(-1))


def _header() -> Any:
    types = STORE.types
    stamp = types["builtin_interfaces/msg/Time"](sec=1_700_000_000, nanosec=0)
    return types["std_msgs/msg/Header"](stamp=stamp, frame_id="map")


def convert(type_name: str, messages: list[Any], options: Mapping[str, Any] | None = None) -> list[Row]:
    """The rows of messages taken through CDR, the decoder replay chooses and the pipeline."""
    sink = ListSink()
    pipeline = Pipeline([sink])
    pipeline.add_topic("/topic", type_name, options=options)
    decoder = TypeResolver([TopicInfo("/topic", type_name)], "jazzy").choose(type_name).decoder
    for index, message in enumerate(messages):
        payload = bytes(STORE.serialize_cdr(message, type_name))
        assert pipeline.process_raw("/topic", payload, 1_000 + index, decoder) is Outcome.CONVERTED
    return sink.rows


def random_covariance(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """A 6 x 6 covariance whose position block is a random symmetric positive-definite matrix."""
    factor = rng.normal(size=(3, 3))
    full = np.eye(6) * 0.01
    full[:3, :3] = factor @ factor.T + 0.01 * np.eye(3)
    return full


@pytest.mark.parametrize("sigma", [1.0, 3.0])
def test_ellipsoid_axes_match_an_independent_eigendecomposition(sigma: float) -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        covariance = random_covariance(rng)
        message = STORE.types[POSE_COV](header=_header(), pose=_pose(1.0, 2.0, covariance))
        options = {"covariance_sigma": sigma} if sigma != 1.0 else None
        rows = convert(POSE_COV, [message], options)
        (ellipsoid,) = [row for row in rows if row.archetype == "Ellipsoids3D"]
        assert ellipsoid.entity_path == "/topic/covariance"
        half_sizes = np.asarray(ellipsoid.components["half_sizes"], dtype=np.float64)[0]
        # The rotation by the tf package's own quaternion code, not the converter's.
        rotation = tf_quaternion.to_matrix(np.asarray(ellipsoid.components["quaternions"], np.float64)[0])
        # numpy's general (non-symmetric) eigen solver, sorted by eigenvalue.
        values, vectors = np.linalg.eig(covariance[:3, :3])
        order = np.argsort(values.real)
        values, vectors = values.real[order], vectors.real[:, order]
        np.testing.assert_allclose(half_sizes, sigma * np.sqrt(values), rtol=1e-5)
        for axis in range(3):  # each ellipsoid axis lies along its eigenvector (either way round)
            alignment = abs(float(rotation[:, axis] @ vectors[:, axis])) / np.linalg.norm(vectors[:, axis])
            assert alignment == pytest.approx(1.0, abs=1e-4)
        rebuilt = rotation @ np.diag((half_sizes / sigma) ** 2) @ rotation.T
        np.testing.assert_allclose(rebuilt, covariance[:3, :3], rtol=1e-4, atol=1e-5)


def test_rotation_helpers_round_trip() -> None:
    rng = np.random.default_rng(1)
    quaternions = rng.normal(size=(200, 4))
    quaternions /= np.linalg.norm(quaternions, axis=1, keepdims=True)
    quaternions[quaternions[:, 3] < 0] *= -1
    matrices = quaternions_to_matrices(quaternions)
    np.testing.assert_allclose(matrices_to_quaternions(matrices), quaternions, atol=1e-9)
    for quaternion, matrix in zip(quaternions[:20], matrices[:20], strict=True):
        np.testing.assert_allclose(tf_quaternion.to_matrix(quaternion), matrix, atol=1e-12)


def _odometry(x: float, covariance: npt.NDArray[np.float64]) -> Any:
    types = STORE.types
    twist = types["geometry_msgs/msg/Twist"](
        linear=types["geometry_msgs/msg/Vector3"](x=0.0, y=0.0, z=0.0),
        angular=types["geometry_msgs/msg/Vector3"](x=0.0, y=0.0, z=0.0),
    )
    return types[ODOMETRY](
        header=_header(),
        child_frame_id="base_link",
        pose=_pose(x, 0.0, covariance),
        twist=types["geometry_msgs/msg/TwistWithCovariance"](twist=twist, covariance=np.zeros(36)),
    )


def test_odometry_trail_is_bounded_and_follows_the_robot() -> None:
    messages = [_odometry(float(x), np.zeros((6, 6))) for x in range(12)]
    rows = convert(ODOMETRY, messages, {"trail_every": 3, "trail_length": 2})
    trails = [row for row in rows if row.entity_path == "/topic/trail" and row.archetype == "LineStrips3D"]
    # Messages 0, 3, 6, 9 add a point; the trail keeps the last two.
    strips = [np.asarray(row.components["strips"][0])[:, 0].tolist() for row in trails]
    assert strips == [[0.0], [0.0, 3.0], [3.0, 6.0], [6.0, 9.0]]
    assert not [row for row in rows if row.archetype == "Ellipsoids3D"]  # zero covariance: not estimated


def test_trail_length_zero_turns_the_trail_off() -> None:
    rows = convert(ODOMETRY, [_odometry(1.0, np.zeros((6, 6)))], {"trail_length": 0})
    assert not [row for row in rows if row.entity_path == "/topic/trail"]


def test_real_odometry_leaves_covariance_ellipsoids_and_a_trail(tmp_path: Path) -> None:
    """The Neato's /odom (166 messages with a covariance) through replay's column path into an .rrd."""
    out = tmp_path / "neato.rrd"
    result = convert_bags([NEATO_BAG], out)
    stats = {topic.topic: topic for topic in result.topics}["/odom"]
    assert stats.column_messages > 0
    assert stats.errors == 0
    verify_rrd(out)
    assert rrd_row_count(out, "/odom/covariance", "Ellipsoids3D:half_sizes") == stats.messages
    trail_rows = rrd_column(out, "/odom/trail", "LineStrips3D:strips")
    assert len(trail_rows) == -(-stats.messages // 5)  # every 5th message, the first included
    last = np.asarray(trail_rows[-1][0], dtype=np.float32)
    assert 1 < len(last) <= 200
    positions = rrd_column(out, "/odom", "InstancePoses3D:translations")  # the point drawn there
    last_trail_message = 5 * (len(trail_rows) - 1)
    np.testing.assert_allclose(last[-1], np.asarray(positions[last_trail_message][0]), atol=1e-6)


def test_real_odometry_without_covariance_leaves_only_its_trail(tmp_path: Path) -> None:
    """The GPS vehicle's /odometry (2143 messages, covariance all zero: not estimated)."""
    out = tmp_path / "gps.rrd"
    result = convert_bags([GPS_BAG], out)
    stats = {topic.topic: topic for topic in result.topics}["/odometry"]
    assert stats.errors == 0
    verify_rrd(out)
    assert rrd_row_count(out, "/odometry/covariance", "Ellipsoids3D:half_sizes") == 0
    assert rrd_row_count(out, "/odometry/trail", "LineStrips3D:strips") == -(-stats.messages // 5)


def test_twist_covariance_is_an_ellipsoid_at_the_linear_arrow_tip_and_standard_deviation_plots() -> None:
    types, rng = STORE.types, np.random.default_rng(11)
    covariance = random_covariance(rng)
    covariance[3:, 3:] = np.diag([0.04, 0.09, 0.16])
    twist = types["geometry_msgs/msg/Twist"](
        linear=types["geometry_msgs/msg/Vector3"](x=1.0, y=-0.5, z=0.25),
        angular=types["geometry_msgs/msg/Vector3"](x=0.0, y=0.0, z=0.3),
    )
    with_covariance = types["geometry_msgs/msg/TwistWithCovariance"](
        twist=twist, covariance=covariance.reshape(-1)
    )
    message = types["geometry_msgs/msg/TwistWithCovarianceStamped"](header=_header(), twist=with_covariance)
    type_name = "geometry_msgs/msg/TwistWithCovarianceStamped"
    rows = convert(type_name, [message], {"covariance_sigma": 2, "arrow_scale": 0.5})
    (ellipsoid,) = [row for row in rows if row.archetype == "Ellipsoids3D"]
    (arrows,) = [row for row in rows if row.archetype == "Arrows3D"]
    assert ellipsoid.entity_path == "/topic/covariance"
    tip = np.asarray(arrows.components["vectors"])[0]
    np.testing.assert_allclose(np.asarray(ellipsoid.components["centers"])[0], tip)
    np.testing.assert_allclose(tip, [0.5, -0.25, 0.125])
    values = np.sort(np.linalg.eigvals(covariance[:3, :3]).real)
    half_sizes = np.asarray(ellipsoid.components["half_sizes"], dtype=np.float64)[0]
    np.testing.assert_allclose(half_sizes, 2 * 0.5 * np.sqrt(values), rtol=1e-5)
    (deviations,) = [row for row in rows if row.entity_path == "/topic/stddev" and row.archetype == "Scalars"]
    expected = np.sqrt(np.diag(covariance))
    np.testing.assert_allclose(np.asarray(deviations.components["scalars"]), expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (np.diag([np.nan, 1.0, 1.0, 0.0, 0.0, 0.0]), "has NaN or infinite values"),
        (
            np.block(
                [
                    [np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), np.zeros((3, 3))],
                    [np.zeros((3, 3)), np.zeros((3, 3))],
                ]
            ),
            "is not positive semi-definite",
        ),
    ],
    ids=["nan", "indefinite"],
)
def test_a_bad_covariance_is_a_counted_error_and_the_pose_still_converts(
    bad: npt.NDArray[np.float64], said: str
) -> None:
    """Its ellipsoid was left out without a word (found by an audit); all zeros (not estimated) is fine."""
    warnings: list[str] = []
    sink = ListSink()
    pipeline = Pipeline([sink], warn=warnings.append)
    pipeline.add_topic("/amcl_pose", POSE_COV)
    decoder = TypeResolver([TopicInfo("/amcl_pose", POSE_COV)], "jazzy").choose(POSE_COV).decoder
    for index, covariance in enumerate([bad, np.zeros((6, 6)), bad]):
        message = STORE.types[POSE_COV](header=_header(), pose=_pose(1.0, 2.0, covariance))
        payload = bytes(STORE.serialize_cdr(message, POSE_COV))
        pipeline.process_raw("/amcl_pose", payload, 1_000 + index, decoder)
    stats = pipeline.stats_of("/amcl_pose")
    assert stats is not None
    assert (stats.messages, stats.errors) == (3, 2)
    assert len(warnings) == 1
    assert f"pose covariance {said}: its ellipsoid is left out" in warnings[0]
    assert len([row for row in sink.rows if row.archetype == "InstancePoses3D"]) == 3  # every pose
    assert not [row for row in sink.rows if row.archetype == "Ellipsoids3D"]
