"""Malformed URDFs never crash the bridge: each is refused as a whole (DescriptionError) or drawn with its
bad parts left out and said in one problem line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import trimesh

from rerun_bridge.robot.description import DescriptionError
from rerun_bridge.robot.state import RobotModelState
from rerun_bridge.robot.uris import MeshRoots


def _robot(body: str) -> str:
    return f'<robot name="r">{body}</robot>'


def _visual(geometry: str, material: str = "") -> str:
    return _robot(f'<link name="a"><visual><geometry>{geometry}</geometry>{material}</visual></link>')


REFUSED = {
    "not xml": "robot",
    "no robot": '<?xml version="1.0"?><launch/>',
    "no links": _robot(""),
    "box without size": _visual("<box/>"),
    "cylinder without radius": _visual('<cylinder length="1"/>'),
    "sphere radius not a number": _visual('<sphere radius="x"/>'),
    "empty geometry": _robot('<link name="a"><visual><geometry/></visual></link>'),
    "link without name": _robot("<link/>"),
    "robot without name": '<robot><link name="a"/></robot>',
    "joint without parent": _robot(
        '<link name="a"/><joint name="j" type="revolute"><child link="a"/></joint>'
    ),
    "origin of two numbers": _robot(
        '<link name="a"/><joint name="j" type="fixed"><parent link="b"/><child link="a"/>'
        '<origin xyz="1 2"/></joint>'
    ),
    "entity declaration": (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><robot name="&e;"><link name="a"/></robot>'
    ),
}

DRAWN_WITHOUT_THE_BAD_PART = {
    "negative radius": (_visual('<sphere radius="-1"/>'), "sphere radius"),
    "nan box": (_visual('<box size="nan 1 1"/>'), "box size"),
    "mesh without filename": (_visual("<mesh/>"), "without a filename"),
    "unknown package": (_visual('<mesh filename="package://p/x.stl"/>'), "package 'p' not found"),
}


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_what_is_no_urdf_is_refused_as_a_whole(text: str) -> None:
    with pytest.raises(DescriptionError):
        RobotModelState().load(text, "test", "/robot_description", pytest.fail)


@pytest.mark.parametrize(
    ("text", "said"), DRAWN_WITHOUT_THE_BAD_PART.values(), ids=DRAWN_WITHOUT_THE_BAD_PART.keys()
)
def test_a_bad_shape_is_left_out_and_said_once(text: str, said: str) -> None:
    warnings: list[str] = []
    rows = RobotModelState().load(text, "test", "/robot_description", warnings.append)
    assert rows == []
    assert len(warnings) == 1
    assert said in warnings[0]


def test_a_bad_colour_is_the_default_colour_and_odd_joints_are_left_to_tf() -> None:
    text = _robot(
        '<link name="a"><visual><geometry><box size="1 1 1"/></geometry>'
        '<material name="m"><color rgba="1 0"/></material></visual></link><link name="b"/>'
        '<joint name="untyped"><parent link="a"/><child link="b"/></joint>'
        '<joint name="copy" type="revolute"><parent link="b"/><child link="c"/><mimic/></joint>'
    )
    state = RobotModelState()
    warnings: list[str] = []
    rows = state.load(text, "test", "/robot_description", warnings.append)
    assert [row.archetype for row in rows] == ["Mesh3D", "CoordinateFrame"]
    assert list(rows[0].components["albedo_factor"][0]) == [204, 204, 204, 255]
    assert warnings == [
        "robot model from test: joint 'copy' names child link 'c', which the URDF does not define; "
        "the links it would place are not drawn"
    ]
    moved = state.joint_rows(["copy", "untyped"], np.array([1.0, 2.0]), set())
    assert [row.entity_path for row in moved] == ["/robot_description/joints/copy"]


def test_a_mesh_scale_of_two_numbers_is_left_out_and_said(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    trimesh.creation.box().export(tmp_path / "p" / "x.stl")
    state = RobotModelState()
    state.roots = MeshRoots.of([tmp_path])
    warnings: list[str] = []
    text = _visual('<mesh filename="package://p/x.stl" scale="1 2"/>')
    assert state.load(text, "test", "/robot_description", warnings.append) == []
    assert len(warnings) == 1
    assert "mesh scale" in warnings[0]


@pytest.mark.parametrize(
    "content", [b"garbage", b"\x00" * 84, b"solid x\nendsolid x\n"], ids=["text", "zeros", "empty"]
)
def test_an_unreadable_mesh_falls_back_and_names_the_file(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "broken.stl").write_bytes(content)
    state = RobotModelState()
    state.roots = MeshRoots.of([tmp_path])
    warnings: list[str] = []
    text = _robot(
        '<link name="a"><visual><geometry><mesh filename="package://p/broken.stl"/></geometry></visual>'
        '<collision><geometry><sphere radius="0.5"/></geometry></collision></link>'
    )
    rows = state.load(text, "test", "/robot_description", warnings.append)
    assert [row.archetype for row in rows] == ["Mesh3D", "CoordinateFrame"]  # the collision sphere
    assert len(warnings) == 1
    assert "broken.stl" in warnings[0]


def test_each_link_of_a_package_is_named_under_its_own_reason(tmp_path: Path) -> None:
    """One warning for the package, but link b's symlink escape is not reported as link a's '..' (the
    first reason used to be given for every link of the package)."""
    (tmp_path / "roots" / "p").mkdir(parents=True)
    trimesh.creation.box().export(tmp_path / "secret.stl")
    (tmp_path / "roots" / "p" / "escape.stl").symlink_to(tmp_path / "secret.stl")
    state = RobotModelState()
    state.roots = MeshRoots.of([tmp_path / "roots"])
    warnings: list[str] = []
    text = _robot(
        '<link name="a"><visual><geometry><mesh filename="package://p/../p/x.stl"/></geometry></visual></link>'
        '<link name="b"><visual><geometry><mesh filename="package://p/escape.stl"/></geometry></visual></link>'
        '<link name="c"><visual><geometry><mesh filename="package://p/../y.stl"/></geometry></visual></link>'
    )
    assert state.load(text, "test", "/robot_description", warnings.append) == []
    assert len(warnings) == 1
    assert warnings[0].endswith(
        "mesh URI 'package://p/../p/x.stl' refused: '..', '\\' or NUL in its path; link(s) a, c not drawn "
        "(no collision primitives); mesh URI 'package://p/escape.stl' refused: it resolves outside "
        "the mesh roots; link(s) b not drawn (no collision primitives)"
    )


def test_a_joint_naming_an_undefined_link_is_said_once_naming_both() -> None:
    """A typo in a joint's parent left half the robot unplaced without a word (found by an audit)."""
    text = _robot(
        '<link name="a"/><link name="b"/><link name="c"/>'
        '<joint name="shoulder" type="fixed"><parent link="a"/><child link="b"/></joint>'
        '<joint name="elbow" type="revolute"><parent link="no_such_link"/><child link="c"/>'
        '<limit lower="-1" upper="1" effort="1" velocity="1"/></joint>'
    )
    warnings: list[str] = []
    state = RobotModelState()
    state.load(text, "file robot.urdf", "/robot_description", warnings.append)
    state.load(text, "file robot.urdf", "/robot_description", warnings.append)  # said once
    assert len(warnings) == 1
    assert "robot.urdf" in warnings[0]
    assert "joint 'elbow' names parent link 'no_such_link'" in warnings[0]


def test_a_mimic_multiplier_of_zero_leaves_the_offset_alone() -> None:
    """URDF's mimic rule is multiplier x value + offset; a multiplier of 0 was read as 1."""
    limit = '<limit lower="-1" upper="1" effort="1" velocity="1"/><axis xyz="1 0 0"/>'
    text = _robot(
        '<link name="a"/><link name="b"/><link name="c"/>'
        f'<joint name="j" type="prismatic"><parent link="a"/><child link="b"/>{limit}</joint>'
        f'<joint name="k" type="prismatic"><parent link="b"/><child link="c"/>{limit}'
        '<mimic joint="j" multiplier="0" offset="0.25"/></joint>'
    )
    state = RobotModelState()
    state.load(text, "test", "/robot_description", pytest.fail)
    rows = {row.entity_path: row for row in state.joint_rows(["j"], np.array([0.8]), set())}
    np.testing.assert_allclose(rows["/robot_description/joints/j"].components["translation"][0], [0.8, 0, 0])
    np.testing.assert_allclose(rows["/robot_description/joints/k"].components["translation"][0], [0.25, 0, 0])


def test_a_missing_file_of_a_found_package_is_not_called_a_missing_package(tmp_path: Path) -> None:
    (tmp_path / "p" / "meshes").mkdir(parents=True)
    state = RobotModelState()
    state.roots = MeshRoots.of([tmp_path])
    warnings: list[str] = []
    state.load(_visual('<mesh filename="package://p/meshes/nope.stl"/>'), "test", "/r", warnings.append)
    assert len(warnings) == 1
    assert "package 'p' has no file meshes/nope.stl" in warnings[0]
    assert "not found" not in warnings[0]


@pytest.mark.parametrize("scale", [(1.0, 1.0, 1.0), (1.0, -1.0, 1.0), (-1.0, -1.0, -2.0)])
def test_a_mirrored_mesh_keeps_its_faces_and_normals_outward(
    tmp_path: Path, scale: tuple[float, ...]
) -> None:
    """A negative scale (a left part mirrored from a right one) drew the mesh inside out: every face and
    normal pointed inward, darker and see-through in Rerun's viewer (found by an audit)."""
    from rerun_bridge.robot.meshes import load_mesh_file

    trimesh.creation.box(extents=(1.0, 2.0, 3.0)).export(tmp_path / "box.stl")
    mesh = load_mesh_file(tmp_path / "box.stl", scale)
    corners = mesh.positions[mesh.triangles].astype(np.float64)  # (faces, 3 corners, xyz), box centred
    facing = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    assert (np.einsum("ij,ij->i", facing, corners.mean(axis=1)) > 0).all()
    assert (np.einsum("ij,ij->i", mesh.normals.astype(np.float64), mesh.positions) > 0).all()


def test_the_warning_says_which_links_fall_back_and_which_are_not_drawn(tmp_path: Path) -> None:
    """Links without collision primitives were said to be drawn with them (found by an audit)."""
    state = RobotModelState()
    state.roots = MeshRoots.of([tmp_path])
    warnings: list[str] = []
    mesh = '<visual><geometry><mesh filename="package://gone/x.stl"/></geometry></visual>'
    text = _robot(
        f'<link name="boxed">{mesh}<collision><geometry><box size="1 1 1"/></geometry></collision></link>'
        f'<link name="bare">{mesh}</link>'
    )
    rows = state.load(text, "test", "/robot_description", warnings.append)
    assert [row.entity_path for row in rows if row.archetype == "Mesh3D"] == [
        "/robot_description/links/boxed/visual_0"
    ]
    assert len(warnings) == 1
    assert "link(s) boxed drawn with their collision primitives instead" in warnings[0]
    assert "link(s) bare not drawn (no collision primitives)" in warnings[0]
