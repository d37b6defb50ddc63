"""A small robot written by the tests: primitives, mesh files of four formats, a missing package, and
joints of every kind the bridge animates; plus forward kinematics computed independently of the bridge.

The kinematics here is written from the URDF spec (origin = translation * Rz(yaw) Ry(pitch) Rx(roll);
revolute = rotation about the axis, prismatic = translation along it), with the numbers of ``JOINTS``, not
from the bridge's or yourdfpy's code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import trimesh

Matrix = npt.NDArray[np.float64]
PACKAGE: Final = "test_robot"
MISSING_PACKAGE: Final = "missing_grippers"


@dataclass(frozen=True)
class JointSpec:
    name: str
    kind: str
    parent: str
    child: str
    xyz: tuple[float, float, float]
    rpy: tuple[float, float, float]
    axis: tuple[float, float, float] = (1.0, 0.0, 0.0)
    mimic: tuple[str, float, float] | None = None  # (joint, multiplier, offset)


JOINTS: Final = (
    JointSpec("shoulder", "revolute", "base_link", "upper_arm", (0.0, 0.0, 0.1), (0.0, 0.0, 0.3), (0, 0, 1)),
    JointSpec("elbow", "continuous", "upper_arm", "forearm", (0.0, 0.0, 0.5), (0.2, 0.0, 0.0), (0, 1, 0)),
    JointSpec("slide", "prismatic", "forearm", "hand", (0.0, 0.0, 0.4), (0.0, 0.0, 0.0), (0.6, 0, 0.8)),
    JointSpec(
        "finger", "revolute", "hand", "finger", (0.05, 0.0, 0.0), (0, 0, 0), (0, 0, 1), ("elbow", -0.5, 0.1)
    ),
    JointSpec("camera_mount", "fixed", "base_link", "camera", (0.2, 0.0, 0.1), (0.0, 0.5, 0.0)),
    JointSpec("gripper_left_mount", "fixed", "hand", "gripper_left", (0.0, 0.05, 0.0), (0, 0, 0)),
    JointSpec("gripper_right_mount", "fixed", "hand", "gripper_right", (0.0, -0.05, 0.0), (0, 0, 0)),
)
MOVABLE_JOINTS: Final = ("shoulder", "elbow", "slide")  # what joint states carry; finger mimics elbow


def write_meshes(root: Path) -> None:
    """The package's meshes under ``root/test_robot/meshes``: STL, OBJ, DAE (pycollada) and GLB."""
    folder = root / PACKAGE / "meshes"
    folder.mkdir(parents=True, exist_ok=True)
    forearm = trimesh.creation.box(extents=[0.08, 0.08, 0.2])
    forearm.export(folder / "forearm.stl")
    hand = trimesh.creation.icosphere(subdivisions=1, radius=0.06)
    hand.visual.vertex_colors = [0, 0, 255, 255]
    hand.export(folder / "hand.obj")
    camera = trimesh.creation.box(extents=[0.05, 0.1, 0.05])
    camera.visual.face_colors = [255, 255, 0, 255]
    camera.export(folder / "camera.dae")
    finger = trimesh.creation.cylinder(radius=0.01, height=0.06, sections=8)
    finger.export(folder / "finger.glb")


def _origin(xyz: tuple[float, ...], rpy: tuple[float, ...]) -> str:
    return f'<origin xyz="{" ".join(map(str, xyz))}" rpy="{" ".join(map(str, rpy))}"/>'


def _joint_xml(joint: JointSpec) -> str:
    parts = [
        f'<joint name="{joint.name}" type="{joint.kind}">',
        f'<parent link="{joint.parent}"/><child link="{joint.child}"/>',
        _origin(joint.xyz, joint.rpy),
        f'<axis xyz="{" ".join(map(str, joint.axis))}"/>',
        '<limit lower="-3" upper="3" effort="1" velocity="1"/>',
    ]
    if joint.mimic is not None:
        parts.append(
            f'<mimic joint="{joint.mimic[0]}" multiplier="{joint.mimic[1]}" offset="{joint.mimic[2]}"/>'
        )
    return "".join(parts) + "</joint>"


def _link(name: str, geometry: str, origin: str = "", material: str = "", collision: str = "") -> str:
    visual = f"<visual>{origin}<geometry>{geometry}</geometry>{material}</visual>"
    return f'<link name="{name}">{visual}{collision}</link>'


def urdf_text(mesh_root: Path) -> str:
    """The robot's URDF; the hand's mesh is named by an absolute ``file://`` URI under ``mesh_root``."""
    gripper_collision = (
        '<collision><origin xyz="0 0 0.03"/><geometry><box size="0.02 0.02 0.06"/></geometry></collision>'
    )
    links = [
        _link(
            "base_link",
            '<box size="0.4 0.3 0.1"/>',
            _origin((0, 0, 0.05), (0, 0, 0)),
            '<material name="red"/>',
        ),
        _link(
            "upper_arm",
            '<cylinder radius="0.05" length="0.5"/>',
            _origin((0, 0, 0.25), (0, 0, 0)),
            '<material name="green"><color rgba="0 1 0 1"/></material>',
        ),
        _link(
            "forearm",
            f'<mesh filename="package://{PACKAGE}/meshes/forearm.stl" scale="1 1 2"/>',
            _origin((0, 0, 0.2), (0, 0, 0)),
        ),
        _link("hand", f'<mesh filename="file://{mesh_root.resolve()}/{PACKAGE}/meshes/hand.obj"/>'),
        _link("finger", f'<mesh filename="package://{PACKAGE}/meshes/finger.glb"/>'),
        _link("camera", f'<mesh filename="package://{PACKAGE}/meshes/camera.dae"/>'),
        _link(
            "gripper_left",
            f'<mesh filename="package://{MISSING_PACKAGE}/meshes/finger.stl"/>',
            collision=gripper_collision,
        ),
        _link(
            "gripper_right",
            f'<mesh filename="package://{MISSING_PACKAGE}/meshes/finger.stl"/>',
            collision=gripper_collision,
        ),
    ]
    materials = '<material name="red"><color rgba="1 0 0 1"/></material>'
    joints = "".join(_joint_xml(joint) for joint in JOINTS)
    return f'<?xml version="1.0"?>\n<robot name="synthetic">{materials}{"".join(links)}{joints}</robot>\n'


# ---- independent forward kinematics -------------------------------------------------------------------


def _rotation_x(angle: float) -> Matrix:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rotation_y(angle: float) -> Matrix:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rotation_z(angle: float) -> Matrix:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _axis_angle(axis: Matrix, angle: float) -> Matrix:
    """exp(angle * [axis]x) by its series' closed form: I + sin K + (1 - cos) K^2."""
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation: Matrix = np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)
    return rotation


def _homogeneous(rotation: Matrix, translation: Any) -> Matrix:
    out = np.eye(4)
    out[:3, :3], out[:3, 3] = rotation, translation
    return out


def joint_matrix(joint: JointSpec, value: float) -> Matrix:
    """Child link -> parent link."""
    roll, pitch, yaw = joint.rpy
    origin = _homogeneous(_rotation_z(yaw) @ _rotation_y(pitch) @ _rotation_x(roll), joint.xyz)
    axis = np.asarray(joint.axis, dtype=float) / np.linalg.norm(joint.axis)
    motion = np.eye(4)
    if joint.kind in ("revolute", "continuous"):
        motion = _homogeneous(_axis_angle(axis, value), np.zeros(3))
    elif joint.kind == "prismatic":
        motion = _homogeneous(np.eye(3), axis * value)
    placed: Matrix = origin @ motion
    return placed


def link_poses(values: dict[str, float]) -> dict[str, Matrix]:
    """Every link's pose in base_link for the given values of the movable joints (mimics derived)."""
    all_values = dict(values)
    for joint in JOINTS:
        if joint.mimic is not None:
            source, multiplier, offset = joint.mimic
            all_values[joint.name] = multiplier * values[source] + offset
    poses = {"base_link": np.eye(4)}
    for joint in JOINTS:  # listed parent before child
        poses[joint.child] = poses[joint.parent] @ joint_matrix(joint, all_values.get(joint.name, 0.0))
    return poses
