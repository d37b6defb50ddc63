"""Joint kinematics as robot_state_publisher computes it: a joint's transform from its value.

Every transform is a 4x4 matrix from the child link's frame to the parent link's frame:
``origin @ motion(value)``, where the motion is a rotation about the joint axis (revolute, continuous) or
a translation along it (prismatic). Fixed, floating and planar joints have no single value; they keep
their origin (robot_state_publisher publishes floating joints only from TF).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]

ROTATING: Final = frozenset({"revolute", "continuous"})
SLIDING: Final = frozenset({"prismatic"})
MOVABLE: Final = ROTATING | SLIDING


@dataclass(frozen=True, slots=True)
class Mimic:
    """A joint that copies another's value: ``multiplier * value + offset``."""

    joint: str
    multiplier: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True, slots=True)
class JointModel:
    """What kinematics needs of one URDF joint."""

    name: str
    kind: str
    parent: str
    child: str
    origin: Matrix
    axis: npt.NDArray[np.float64]
    mimic: Mimic | None = None

    @property
    def movable(self) -> bool:
        return self.kind in MOVABLE

    def transform(self, value: float) -> Matrix:
        """Child frame -> parent frame at this joint value."""
        if self.kind in ROTATING:
            return self.origin @ rotation_about(self.axis, value)
        if self.kind in SLIDING:
            motion = np.eye(4)
            motion[:3, 3] = _unit(self.axis) * value
            return self.origin @ motion
        return self.origin


def _unit(axis: npt.ArrayLike) -> npt.NDArray[np.float64]:
    vector = np.asarray(axis, dtype=np.float64).reshape(3)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else np.array([1.0, 0.0, 0.0])  # URDF's default axis


def rotation_about(axis: npt.ArrayLike, angle: float) -> Matrix:
    """The 4x4 rotation by ``angle`` radians about a unit axis (Rodrigues' formula)."""
    x, y, z = _unit(axis)
    c, s = math.cos(angle), math.sin(angle)
    t = 1.0 - c
    matrix = np.eye(4)
    matrix[:3, :3] = [
        [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
        [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
        [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
    ]
    return matrix


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
