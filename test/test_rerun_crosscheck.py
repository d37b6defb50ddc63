"""Cross-check against Rerun's own ROS 2 MCAP importer (`rerun mcap convert`): the values of the types
both of us convert must agree."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from rerun_bridge.replay import convert_bags
from test.conftest import ABITOBOT_BAG, RERUN_CLI, RERUN_SUPPORTED_MCAP, rrd_chunks, verify_rrd

THEIR_LOG_TIME = "message_log_time"
OUR_LOG_TIME = "log_time"


def values_by_time(path: Path, entity: str, column: str, timeline: str) -> list[tuple[int, object]]:
    out: list[tuple[int, object]] = []
    for chunk_entity, _static, batch in rrd_chunks(path):
        if chunk_entity != entity or column not in batch.schema.names or timeline not in batch.schema.names:
            continue
        times = batch.column(timeline).cast(pa.int64()).to_pylist()
        out.extend(zip(times, batch.column(column).to_pylist(), strict=True))
    out.sort(key=lambda item: item[0])
    return out


def theirs_and_ours(source: Path, tmp_path: Path) -> tuple[Path, Path]:
    theirs, ours = tmp_path / "theirs.rrd", tmp_path / "ours.rrd"
    mcap_file = source if source.is_file() else next(source.glob("*.mcap"))
    subprocess.run(
        [str(RERUN_CLI), "mcap", "convert", str(mcap_file), "-o", str(theirs), "--application-id", "ref"],
        check=True,
        capture_output=True,
    )
    convert_bags([source], ours)
    return theirs, ours


def assert_same_values(theirs: Path, ours: Path, entity: str, column: str, ours_column: str = "") -> None:
    their_values = values_by_time(theirs, entity, column, THEIR_LOG_TIME)
    our_values = values_by_time(ours, entity, ours_column or column, OUR_LOG_TIME)
    assert their_values, f"Rerun wrote no {entity} {column}"
    assert [t for t, _ in our_values] == [t for t, _ in their_values], f"{entity} {column}: times differ"
    for (_t, their), (_t2, our) in zip(their_values, our_values, strict=True):
        if isinstance(their, list) and their and isinstance(their[0], int | float | list):
            np.testing.assert_allclose(
                np.asarray(our, dtype=float), np.asarray(their, dtype=float), rtol=1e-6
            )
        else:
            assert our == their, f"{entity} {column}"


@pytest.fixture(scope="module")
def supported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return theirs_and_ours(RERUN_SUPPORTED_MCAP, tmp_path_factory.mktemp("supported"))


@pytest.mark.parametrize(
    ("entity", "column"),
    [
        ("/image", "Image:buffer"),
        ("/compressed_image", "EncodedImage:blob"),
        ("/camera_info", "Pinhole:image_from_camera"),
        ("/camera_info", "Pinhole:resolution"),
        ("/camera_info", "Pinhole:parent_frame"),
        ("/camera_info", "Pinhole:child_frame"),
        ("/image", "CoordinateFrame:frame"),
        ("/imu", "Scalars:scalars"),
        ("/joint_state/position", "Scalars:scalars"),
        ("/joint_state/velocity", "Scalars:scalars"),
        ("/joint_state/effort", "Scalars:scalars"),
        ("/joint_state/position", "SeriesLines:names"),
        ("/nav_sat_fix/gps", "GeoPoints:positions"),
        ("/nav_sat_fix/galileo", "GeoPoints:positions"),
        ("/nav_sat_fix/glonass", "GeoPoints:positions"),
        ("/nav_sat_fix/compass", "GeoPoints:positions"),
        ("/point_cloud2", "Points3D:positions"),
        ("/magnetic_field", "Arrows3D:vectors"),
        ("/rosout", "TextLog:text"),
        ("/rosout", "TextLog:level"),
        ("/joy/axes", "Scalars:scalars"),
        ("/joy/buttons", "Scalars:scalars"),
    ],
)
def test_supported_messages_agree(supported: tuple[Path, Path], entity: str, column: str) -> None:
    theirs, ours = supported
    assert_same_values(theirs, ours, entity, column)


@pytest.mark.parametrize(
    ("entity", "column", "raw_type"),
    [
        ("/point_cloud", "Points3D:positions", "sensor_msgs.msg.PointCloud"),
        ("/multi_echo_laser_scan", "Points3D:positions", "sensor_msgs.msg.MultiEchoLaserScan"),
        ("/multi_dof_joint_state", "Points3D:positions", "sensor_msgs.msg.MultiDOFJointState"),
        ("/region_of_interest", "Boxes2D:centers", "sensor_msgs.msg.RegionOfInterest"),
        ("/time_reference/offset", "Scalars:scalars", "sensor_msgs.msg.TimeReference"),
    ],
)
def test_types_rerun_keeps_raw_are_drawn(
    supported: tuple[Path, Path], entity: str, column: str, raw_type: str
) -> None:
    """Where Rerun's importer keeps only the message struct, we draw it (and write a valid file)."""
    theirs, ours = supported
    topic = entity.removesuffix("/offset")
    assert values_by_time(theirs, topic, f"{raw_type}:message", THEIR_LOG_TIME)
    assert not values_by_time(theirs, entity, column, THEIR_LOG_TIME)
    our_values = values_by_time(ours, entity, column, OUR_LOG_TIME)
    assert our_values
    assert all(value for _time, value in our_values)
    verify_rrd(ours)


def test_pointcloud_intensity_agrees(supported: tuple[Path, Path]) -> None:
    theirs, ours = supported
    assert_same_values(theirs, ours, "/point_cloud2", "Points3D:intensity")


@pytest.mark.parametrize(
    ("entity", "column"),
    [("/imu/data", "Scalars:scalars"), ("/joint_states/position", "Scalars:scalars")],
)
def test_gazebo_recording_agrees(tmp_path: Path, entity: str, column: str) -> None:
    theirs, ours = theirs_and_ours(ABITOBOT_BAG, tmp_path)
    assert_same_values(theirs, ours, entity, column)


def _transforms(path: Path, timeline: str | None) -> list[tuple[object, ...]]:
    """(time, child, parent, translation, quaternion) of every Transform3D row, time None when static."""
    out: list[tuple[object, ...]] = []
    for _entity, _static, batch in rrd_chunks(path):
        if "Transform3D:translation" not in batch.schema.names:
            continue
        times = (
            batch.column(timeline).cast(pa.int64()).to_pylist()
            if timeline and timeline in batch.schema.names
            else [None] * batch.num_rows
        )
        columns = [batch.column(f"Transform3D:{name}").to_pylist() for name in
                   ("child_frame", "parent_frame", "translation", "quaternion")]  # fmt: skip
        for time, child, parent, translation, quaternion in zip(times, *columns, strict=True):
            out.append(
                (
                    time,
                    child[0],
                    parent[0],
                    tuple(round(v, 5) for v in translation[0]),
                    tuple(round(v, 5) for v in quaternion[0]),
                )
            )
    return sorted(out, key=lambda item: (item[0] or 0, str(item[1])))


def test_tf_agrees_on_the_sample_recording(tmp_path: Path) -> None:
    """Our sample robot has /tf and /tf_static, which none of the shared MCAP recordings carry."""
    from rerun_bridge.demo.sample_bag import write_sample

    bag = write_sample(tmp_path / "sample")
    theirs, ours = theirs_and_ours(bag, tmp_path)
    their_rows = _transforms(theirs, THEIR_LOG_TIME)
    our_rows = _transforms(ours, OUR_LOG_TIME)
    # /tf: the same edges at the same log times; /tf_static: Rerun keeps it temporal, we keep it static.
    their_dynamic = [row for row in their_rows if row[1] in {r[1] for r in our_rows if r[0] is not None}]
    our_dynamic = [row for row in our_rows if row[0] is not None]
    assert our_dynamic == their_dynamic
    assert len(our_dynamic) > 100
    their_static = {row[1:] for row in their_rows} - {row[1:] for row in their_dynamic}
    assert {row[1:] for row in our_rows if row[0] is None} == their_static
