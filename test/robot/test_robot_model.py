"""The robot model end to end: a URDF on /robot_description (or from a file) and joint states in a real
MCAP, converted by convert_bags into an .rrd that Rerun verifies; link poses checked against the
independent forward kinematics of :mod:`test.robot.synthetic_robot`, meshes checked by their geometry."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rerun_bridge.cli import main
from rerun_bridge.config import RobotModelConfig
from rerun_bridge.replay import convert_bags
from test.conftest import RERUN_CLI, verify_rrd
from test.robot import synthetic_robot as robot
from test.robot.recording import RobotRecording, RrdRows, matrix_of

JOINT_VALUES = [
    {"shoulder": 0.0, "elbow": 0.0, "slide": 0.0},
    {"shoulder": 0.7, "elbow": -0.4, "slide": 0.05},
    {"shoulder": -1.2, "elbow": 1.1, "slide": 0.12},
    {"shoulder": 2.5, "elbow": 0.3, "slide": -0.03},
]
LINKS = ("base_link", "upper_arm", "forearm", "hand", "finger", "camera", "gripper_left", "gripper_right")


@pytest.fixture
def mesh_root(tmp_path: Path) -> Path:
    root = tmp_path / "meshes_root"
    robot.write_meshes(root)
    return root


def convert(tmp_path: Path, recording: RobotRecording, config: RobotModelConfig) -> tuple[RrdRows, list[str]]:
    warnings: list[str] = []
    rrd = tmp_path / "robot.rrd"
    summary = convert_bags(
        [recording.write(tmp_path / "robot.mcap")], rrd, warn=warnings.append, robot_model=config
    )
    assert summary.converted_anything
    verify_rrd(rrd)
    return RrdRows.read(rrd), warnings


def link_pose(rows: RrdRows, link: str, time: int) -> np.ndarray[Any, Any]:
    """The link's pose in base_link from the joint transforms the bridge wrote, latest at ``time``."""
    edges: dict[str, tuple[str, np.ndarray[Any, Any]]] = {}
    for entity in rows.entities("/robot_description/joints/"):
        static = rows.static.get(entity)
        if static is not None:
            values = {name: static[name] for name in static}
        else:
            timed = rows.timed[entity]
            before = [i for i, (t, _v) in enumerate(timed["Transform3D:translation"]) if t <= time]
            if not before:
                continue
            values = {name: series[before[-1]][1] for name, series in timed.items()}
        matrix = matrix_of(values["Transform3D:translation"][0], values["Transform3D:quaternion"][0])
        edges[values["Transform3D:child_frame"][0]] = (values["Transform3D:parent_frame"][0], matrix)
    pose = np.eye(4)
    while link != "base_link":
        parent, matrix = edges[link]
        pose, link = matrix @ pose, parent
    return pose


def test_joint_states_move_every_link_as_forward_kinematics_says(tmp_path: Path, mesh_root: Path) -> None:
    recording = RobotRecording(robot.urdf_text(mesh_root), joint_states=JOINT_VALUES)
    rows, _warnings = convert(tmp_path, recording, RobotModelConfig(mesh_roots=(str(mesh_root),)))
    for index, values in enumerate(JOINT_VALUES):
        expected = robot.link_poses(values)
        for link in LINKS:
            actual = link_pose(rows, link, recording.state_time(index))
            np.testing.assert_allclose(actual, expected[link], atol=1e-6, err_msg=f"{link} at state {index}")
    # Fixed joints are static; movable ones (the mimic joint too) one row per joint state.
    assert "/robot_description/joints/camera_mount" in rows.static
    for joint in ("shoulder", "elbow", "slide", "finger"):
        assert len(rows.timed[f"/robot_description/joints/{joint}"]["Transform3D:translation"]) == 4


def _mesh(rows: RrdRows, link: str, index: int = 0) -> dict[str, Any]:
    entity = f"/robot_description/links/{link}/visual_{index}"
    assert rows.static[entity]["CoordinateFrame:frame"] == [link]
    return rows.static[entity]


def _extent(mesh: dict[str, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    positions = np.asarray(mesh["Mesh3D:vertex_positions"], dtype=float)
    return positions.min(axis=0), positions.max(axis=0)


def _rgba(packed: int) -> tuple[int, int, int, int]:
    return (packed >> 24 & 255, packed >> 16 & 255, packed >> 8 & 255, packed & 255)


def test_every_visual_is_a_mesh_on_its_link_with_scale_origin_and_colour(
    tmp_path: Path, mesh_root: Path
) -> None:
    rows, warnings = convert(
        tmp_path, RobotRecording(robot.urdf_text(mesh_root)), RobotModelConfig(mesh_roots=(str(mesh_root),))
    )
    low, high = _extent(_mesh(rows, "base_link"))  # box 0.4 x 0.3 x 0.1 lifted by 0.05
    np.testing.assert_allclose([low, high], [[-0.2, -0.15, 0.0], [0.2, 0.15, 0.1]], atol=1e-6)
    assert _rgba(_mesh(rows, "base_link")["Mesh3D:albedo_factor"][0]) == (255, 0, 0, 255)  # named material
    low, high = _extent(_mesh(rows, "upper_arm"))  # cylinder r 0.05, length 0.5, centred at z 0.25
    np.testing.assert_allclose([low, high], [[-0.05, -0.05, 0.0], [0.05, 0.05, 0.5]], atol=1e-3)
    assert _rgba(_mesh(rows, "upper_arm")["Mesh3D:albedo_factor"][0]) == (0, 255, 0, 255)
    low, high = _extent(_mesh(rows, "forearm"))  # STL 0.08 x 0.08 x 0.2 scaled z by 2, centred at z 0.2
    np.testing.assert_allclose([low, high], [[-0.04, -0.04, 0.0], [0.04, 0.04, 0.4]], atol=1e-6)
    hand = _mesh(rows, "hand")  # OBJ with blue vertex colours, by an absolute file:// URI
    assert {_rgba(c) for c in hand["Mesh3D:vertex_colors"]} == {(0, 0, 255, 255)}
    camera = _mesh(rows, "camera")  # DAE (pycollada) with a yellow material
    assert {_rgba(c) for c in camera["Mesh3D:vertex_colors"]} == {(255, 255, 0, 255)}
    np.testing.assert_allclose(_extent(camera), [[-0.025, -0.05, -0.025], [0.025, 0.05, 0.025]], atol=1e-6)
    np.testing.assert_allclose(_extent(_mesh(rows, "finger"))[1], [0.01, 0.01, 0.03], atol=1e-3)  # GLB
    for gripper in ("gripper_left", "gripper_right"):  # missing package: the collision box instead
        np.testing.assert_allclose(
            _extent(_mesh(rows, gripper)), [[-0.01, -0.01, 0.0], [0.01, 0.01, 0.06]], atol=1e-6
        )
    for mesh in (hand, camera, _mesh(rows, "forearm")):
        triangles = np.asarray(mesh["Mesh3D:triangle_indices"])
        assert triangles.max() < len(mesh["Mesh3D:vertex_positions"]) == len(mesh["Mesh3D:vertex_normals"])
    missing = [w for w in warnings if robot.MISSING_PACKAGE in w]
    assert len(missing) == 1, warnings
    assert "gripper_left, gripper_right" in missing[0]
    assert "/robot_description" in missing[0]
    assert len(warnings) == 1, warnings


@pytest.mark.parametrize("tf_after_each_state", [False, True])
def test_joints_whose_child_tf_carries_are_left_to_tf(
    tmp_path: Path, mesh_root: Path, tf_after_each_state: bool
) -> None:
    """Also where each /tf comes just after its joint state, as robot_state_publisher sends it: both
    topics convert in batches, and a joint-state batch converted before the TF batch beside it wrote every
    joint twice, an error in Rerun's viewer (found by an audit)."""
    recording = RobotRecording(
        robot.urdf_text(mesh_root),
        joint_states=JOINT_VALUES,
        tf_children=[("base_link", "upper_arm")],
        tf_after_each_state=tf_after_each_state,
    )
    rows, _warnings = convert(tmp_path, recording, RobotModelConfig(mesh_roots=(str(mesh_root),)))
    assert "/robot_description/joints/shoulder" not in rows.timed
    assert len(rows.timed["/robot_description/joints/elbow"]["Transform3D:translation"]) == len(JOINT_VALUES)


@pytest.mark.parametrize("tf_after", [True, False])
def test_a_fixed_joint_tf_carries_is_left_to_tf(tmp_path: Path, mesh_root: Path, tf_after: bool) -> None:
    """robot_state_publisher puts every fixed joint on /tf_static: with the URDF's own static transform
    too, two entities gave the camera its parent, an error in Rerun's viewer. A conversion writes the fixed
    joints at the stream's end, those whose child link TF never carried, whatever came first."""
    recording = RobotRecording(
        robot.urdf_text(mesh_root), tf_children=[("base_link", "camera")], tf_static_after=tf_after
    )
    rows, _warnings = convert(tmp_path, recording, RobotModelConfig(mesh_roots=(str(mesh_root),)))
    camera = rows.static.get("/robot_description/joints/camera_mount", {})
    assert camera.get("Transform3D:child_frame", []) == []
    assert camera.get("Transform3D:parent_frame", []) == []
    # The other fixed joints stay the URDF's.
    gripper = rows.static["/robot_description/joints/gripper_left_mount"]
    assert gripper["Transform3D:child_frame"] == ["gripper_left"]
    static_children = {
        entity: rows.static[entity].get("Transform3D:child_frame", []) for entity in rows.static
    }
    timed_children = {
        entity: [child for _time, value in series.get("Transform3D:child_frame", []) for child in value]
        for entity, series in rows.timed.items()
    }
    parents_given = [
        entity
        for by_entity in (static_children, timed_children)
        for entity, children in by_entity.items()
        if "camera" in children
    ]
    assert parents_given == ["/tf_static/camera" if tf_after else "/tf"]  # one entity: TF's


def test_the_urdf_file_of_the_config_draws_the_robot_and_joint_states_move_it(
    tmp_path: Path, mesh_root: Path
) -> None:
    urdf = tmp_path / "robot.urdf"
    urdf.write_text(robot.urdf_text(mesh_root))
    config = RobotModelConfig(urdf_file=str(urdf), mesh_roots=(str(mesh_root),))
    recording = RobotRecording(None, joint_states=JOINT_VALUES)
    rows, warnings = convert(tmp_path, recording, config)
    assert {f"/robot_description/links/{link}/visual_0" for link in LINKS} <= rows.entities(
        "/robot_description/links"
    )
    expected = robot.link_poses(JOINT_VALUES[2])
    np.testing.assert_allclose(
        link_pose(rows, "finger", recording.state_time(2)), expected["finger"], atol=1e-6
    )
    assert [w for w in warnings if "robot.urdf" in w and robot.MISSING_PACKAGE in w]


def test_the_urdf_file_given_wins_over_the_recorded_description(tmp_path: Path, mesh_root: Path) -> None:
    """A file given to replace a stale recorded description used to be drawn over by the topic's."""
    urdf = tmp_path / "robot.urdf"
    urdf.write_text(robot.urdf_text(mesh_root))
    config = RobotModelConfig(urdf_file=str(urdf), mesh_roots=(str(mesh_root),))
    stale = '<robot name="stale"><link name="stale_link"><visual><geometry><box size="1 1 1"/></geometry>'
    recording = RobotRecording(stale + "</visual></link></robot>", joint_states=JOINT_VALUES)
    rows, warnings = convert(tmp_path, recording, config)
    links = rows.entities("/robot_description/links")
    assert {f"/robot_description/links/{link}/visual_0" for link in LINKS} <= links
    assert not [entity for entity in links if "stale_link" in entity]
    said = [w for w in warnings if "/robot_description: its robot description is not drawn" in w]
    assert len(said) == 1
    assert str(urdf) in said[0]


def test_a_bad_urdf_is_one_warning_and_everything_else_flows(tmp_path: Path) -> None:
    broken = tmp_path / "broken.urdf"
    broken.write_text("<robot name='x'><link name='a'>")
    recording = RobotRecording(
        "<robot name='y'><joint name='j' type='revolute'/></robot>",
        joint_states=JOINT_VALUES[:2],
        strings={
            "/chatter": "hello",
            "/robot_description_semantic": '<?xml version="1.0"?><robot name="s"/>',
        },
    )
    warnings: list[str] = []
    summary = convert_bags(
        [recording.write(tmp_path / "bad.mcap")],
        tmp_path / "bad.rrd",
        warn=warnings.append,
        robot_model=RobotModelConfig(urdf_file=str(broken)),
    )
    verify_rrd(tmp_path / "bad.rrd")
    stats = {t.topic: t for t in summary.topics}
    assert stats["/robot_description"].errors == 1
    assert stats["/joint_states"].rows > 0
    assert stats["/joint_states"].errors == 0
    assert stats["/robot_description_semantic"].produced == {"TextLog"}  # XML but no URDF: text
    assert stats["/chatter"].produced == {"TextLog"}
    assert len([w for w in warnings if "broken.urdf" in w]) == 1
    assert len([w for w in warnings if "topic /robot_description" in w and "no URDF" in w]) == 1


def test_a_urdf_with_entity_declarations_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    text = (
        f'<?xml version="1.0"?><!DOCTYPE robot [<!ENTITY s SYSTEM "file://{secret}">]>'
        '<robot name="x"><link name="&s;"/></robot>'
    )
    warnings: list[str] = []
    recording = RobotRecording(text)
    summary = convert_bags(
        [recording.write(tmp_path / "xxe.mcap")], tmp_path / "xxe.rrd", warn=warnings.append
    )
    assert {t.topic: t for t in summary.topics}["/robot_description"].errors == 1
    assert any("DOCTYPE" in w for w in warnings)


def test_links_and_primitives_agree_with_rerun_s_own_importer(tmp_path: Path, mesh_root: Path) -> None:
    """Rerun's MCAP importer draws a URDF's primitives (no joint states) with the same convention: each
    visual on its link's named frame. Same frames, and our tessellated primitives span its shapes."""
    bag = RobotRecording(robot.urdf_text(mesh_root)).write(tmp_path / "robot.mcap")
    theirs = tmp_path / "theirs.rrd"
    subprocess.run(
        [str(RERUN_CLI), "mcap", "convert", str(bag), "-o", str(theirs), "--application-id", "ref"],
        check=True,
        capture_output=True,
    )
    reference = RrdRows.read(theirs)
    roots = RobotModelConfig(mesh_roots=(str(mesh_root),))
    ours, _warnings = convert(tmp_path, RobotRecording(robot.urdf_text(mesh_root)), roots)
    prefix = "/synthetic/visual_geometries/"
    for link in LINKS:
        their_frame = reference.static[f"{prefix}{link}/visual_0"]["CoordinateFrame:frame"]
        assert their_frame == _mesh(ours, link)["CoordinateFrame:frame"], link
    box = reference.static[f"{prefix}base_link/visual_0"]
    low, high = _extent(_mesh(ours, "base_link"))
    np.testing.assert_allclose((high - low) / 2, box["Boxes3D:half_sizes"][0], atol=1e-6)
    np.testing.assert_allclose((high + low) / 2, box["InstancePoses3D:translations"][0], atol=1e-6)
    cylinder = reference.static[f"{prefix}upper_arm/visual_0"]
    low, high = _extent(_mesh(ours, "upper_arm"))
    assert high[2] - low[2] == pytest.approx(cylinder["Cylinders3D:lengths"][0], abs=1e-6)
    assert high[0] == pytest.approx(cylinder["Cylinders3D:radii"][0], abs=1e-6)
    assert (high + low)[2] / 2 == pytest.approx(cylinder["InstancePoses3D:translations"][0][2], abs=1e-6)


def test_convert_command_takes_a_urdf_and_mesh_roots(
    tmp_path: Path, mesh_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    urdf = tmp_path / "robot.urdf"
    urdf.write_text(robot.urdf_text(mesh_root))
    bag = RobotRecording(None, joint_states=JOINT_VALUES).write(tmp_path / "states.mcap")
    out = tmp_path / "cli.rrd"
    arguments = [
        "convert",
        str(bag),
        "-o",
        str(out),
        "--urdf",
        str(urdf),
        "--mesh-root",
        str(mesh_root),
        "-q",
    ]
    assert main(arguments) == 0
    verify_rrd(out)
    rows = RrdRows.read(out)
    assert len(_mesh(rows, "hand")["Mesh3D:vertex_colors"]) > 0  # read from the mesh root
    expected = robot.link_poses(JOINT_VALUES[3])["hand"]
    np.testing.assert_allclose(link_pose(rows, "hand", RobotRecording().state_time(3)), expected, atol=1e-6)
    warned = [line for line in capsys.readouterr().err.splitlines() if robot.MISSING_PACKAGE in line]
    assert len(warned) == 1


def _both_paths(tmp_path: Path, recording: RobotRecording, mesh_root: Path) -> tuple[RrdRows, RrdRows, int]:
    """The .rrd rows of the column path and of the message-by-message path, and how many joint states
    the column path converted a batch at a time."""
    bag = recording.write(tmp_path / "robot.mcap")
    config = RobotModelConfig(mesh_roots=(str(mesh_root),))
    outputs, batched_messages = [], 0
    for column_path in (True, False):
        rrd = tmp_path / f"columns_{column_path}.rrd"
        summary = convert_bags([bag], rrd, robot_model=config, column_path=column_path)
        outputs.append(RrdRows.read(rrd))
        joint_stats = next(t for t in summary.topics if t.topic == "/joint_states")
        batched_messages = batched_messages or joint_stats.column_messages
    return outputs[0], outputs[1], batched_messages


def _assert_same_joint_rows(batched: RrdRows, alone: RrdRows) -> None:
    joints = batched.entities("/robot_description/joints/")
    assert joints == alone.entities("/robot_description/joints/")
    for entity in joints & set(alone.timed):
        for column, series in alone.timed[entity].items():
            ours = batched.timed[entity][column]
            assert [time for time, _ in ours] == [time for time, _ in series], entity
            if column.endswith(("translation", "quaternion")):  # numpy's and math's sine: the last bit
                np.testing.assert_allclose([v for _, v in ours], [v for _, v in series], atol=1e-12)
            else:
                assert [v for _, v in ours] == [v for _, v in series]


def test_the_column_path_writes_what_the_message_by_message_path_writes(
    tmp_path: Path, mesh_root: Path
) -> None:
    recording = RobotRecording(
        robot.urdf_text(mesh_root), joint_states=JOINT_VALUES, tf_children=[("base_link", "hand")]
    )
    batched, alone, batched_messages = _both_paths(tmp_path, recording, mesh_root)
    assert batched_messages == len(JOINT_VALUES)
    _assert_same_joint_rows(batched, alone)
    # TF carries the hand: the slide joint is left to it.
    assert "/robot_description/joints/slide" not in batched.timed
    assert len(batched.timed["/robot_description/joints/finger"]["Transform3D:quaternion"]) == len(
        JOINT_VALUES
    )


def test_a_nan_position_skips_that_joint_in_that_message_only(tmp_path: Path, mesh_root: Path) -> None:
    states = [*JOINT_VALUES, {"shoulder": float("nan"), "elbow": 0.5, "slide": 0.0}]
    batched, alone, batched_messages = _both_paths(
        tmp_path, RobotRecording(robot.urdf_text(mesh_root), joint_states=states), mesh_root
    )
    assert batched_messages == 0  # the batch is declined: each message goes on its own
    _assert_same_joint_rows(batched, alone)
    assert len(batched.timed["/robot_description/joints/shoulder"]["Transform3D:quaternion"]) == len(
        JOINT_VALUES
    )
    assert len(batched.timed["/robot_description/joints/elbow"]["Transform3D:quaternion"]) == len(states)
