"""Joint kinematics as robot_state_publisher computes it: a joint's transform from its value.

A joint's transform goes from the child link's frame to the parent link's: its origin, then the motion,
a rotation about the joint axis (revolute, continuous) or a translation along it (prismatic). Fixed,
floating and planar joints have no single value; they keep their origin (robot_state_publisher publishes
floating joints only from TF). Poses are plain float tuples, translation and (x, y, z, w) quaternion:
joint states run at hundreds of hertz, and numpy's per-call overhead dwarfs the arithmetic of one joint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.tf import quaternion as quat
from rerun_bridge.tf.quaternion import Quat, Vec3

ROTATING: Final = frozenset({"revolute", "continuous"})
SLIDING: Final = frozenset({"prismatic"})
MOVABLE: Final = ROTATING | SLIDING
#: URDF's axis when a joint names none.
DEFAULT_AXIS: Final = (1.0, 0.0, 0.0)

Pose = tuple[Vec3, Quat]
Vectors = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Mimic:
    """A joint that copies another's value: ``multiplier * value + offset``."""

    joint: str
    multiplier: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True, slots=True)
class JointModel:
    """What kinematics needs of one URDF joint: its origin as a pose and its unit axis."""

    name: str
    kind: str
    parent: str
    child: str
    origin: Pose
    axis: Vec3 = DEFAULT_AXIS
    mimic: Mimic | None = None

    @property
    def movable(self) -> bool:
        return self.kind in MOVABLE

    def pose(self, value: float) -> Pose:
        """Child frame -> parent frame at this joint value."""
        translation, rotation = self.origin
        x, y, z = self.axis
        if self.kind in ROTATING:
            sine = math.sin(value / 2.0)
            return translation, quat.multiply_one(
                rotation, (x * sine, y * sine, z * sine, math.cos(value / 2.0))
            )
        if self.kind in SLIDING:
            dx, dy, dz = quat.rotate_one(rotation, (x * value, y * value, z * value))
            return (translation[0] + dx, translation[1] + dy, translation[2] + dz), rotation
        return self.origin

    def poses(
        self, values: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """:meth:`pose` for many values at once: translations (N, 3) and quaternions (N, 4)."""
        count = len(values)
        translation, rotation = np.asarray(self.origin[0]), np.asarray(self.origin[1])
        translations, quaternions = np.tile(translation, (count, 1)), np.tile(rotation, (count, 1))
        axis = np.asarray(self.axis)
        if self.kind in ROTATING:
            half = values / 2.0
            motion = np.column_stack([np.outer(np.sin(half), axis), np.cos(half)])
            quaternions = quat.multiply(rotation, motion)
        elif self.kind in SLIDING:
            translations = translation + quat.rotate(rotation, np.outer(values, axis))
        return translations, quaternions


def pose_of_matrix(matrix: npt.NDArray[np.float64]) -> Pose:
    """A 4x4 transform as (translation, quaternion)."""
    x, y, z = (float(v) for v in matrix[:3, 3])
    qx, qy, qz, qw = (float(v) for v in quat.from_matrix(matrix[:3, :3]))
    return (x, y, z), (qx, qy, qz, qw)


def unit_axis(axis: npt.ArrayLike | None) -> Vec3:
    """A joint axis scaled to length one (URDF's default for none or a zero vector)."""
    if axis is None:
        return DEFAULT_AXIS
    vector = np.asarray(axis, dtype=np.float64).reshape(3)
    norm = float(np.linalg.norm(vector))
    if norm == 0.0 or not math.isfinite(norm):
        return DEFAULT_AXIS
    x, y, z = (float(v) / norm for v in vector)
    return x, y, z


def joint_columns(
    joints: dict[str, JointModel], names: list[str], positions: npt.NDArray[np.float64]
) -> dict[str, npt.NDArray[np.float64]]:
    """:func:`joint_values` for many joint states of the same names: one column of values per joint."""
    columns = {name: positions[:, index] for index, name in enumerate(names) if name in joints}
    for joint in joints.values():
        if joint.mimic is not None and joint.mimic.joint in columns and joint.name not in columns:
            columns[joint.name] = joint.mimic.multiplier * columns[joint.mimic.joint] + joint.mimic.offset
    return columns


def joint_values(
    joints: dict[str, JointModel], names: list[str], positions: npt.NDArray[np.float64]
) -> dict[str, float]:
    """The value of every joint a JointState gives (finite values only) and of the joints mimicking them."""
    values = {
        name: float(value)
        for name, value in zip(names, positions, strict=False)
        if name in joints and math.isfinite(value)
    }
    for joint in joints.values():
        if joint.mimic is not None and joint.mimic.joint in values and joint.name not in values:
            values[joint.name] = joint.mimic.multiplier * values[joint.mimic.joint] + joint.mimic.offset
    return values
