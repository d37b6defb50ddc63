"""trajectory_msgs: a ``JointTrajectory`` as one curve per joint over its own time axis, a
``MultiDOFJointTrajectory`` as the path of each joint in space."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.convert.common import header_frame, sub_path, vec3, with_frame
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import Row
from rerun_bridge.model.timeline import stamp_to_ns

TRAJECTORY_KINDS: Final = ("positions", "velocities", "accelerations", "effort")


def kind_curves(points: list[Any], kind: str, joints: int, seconds: npt.NDArray[np.float64]) -> list[Any]:
    """One (points, 2) strip of (time_from_start s, value) per joint, or [] when some point lacks the kind
    (ROS lets a trajectory leave velocities, accelerations or effort out)."""
    values = [np.asarray(getattr(point, kind), dtype=np.float64).reshape(-1) for point in points]
    if not values or any(item.size != joints for item in values):
        return []
    table = np.stack(values)  # (points, joints)
    return [np.stack([seconds, table[:, joint]], axis=1).astype(np.float32) for joint in range(joints)]


def convert_joint_trajectory(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The planned trajectory as it is planned: on ``<entity>/<kind>`` (positions, velocities,
    accelerations, effort; each where every point has one value per joint) a ``LineStrips2D`` with one
    strip per joint, x = ``time_from_start`` in seconds, y = the value, labelled with the joint names.
    A plan is a curve over its own future, not a value at the time it was published, hence 2D lines rather
    than scalars on the timeline."""
    names = [str(name) for name in msg.joint_names]
    points = list(msg.points)
    seconds = np.array([stamp_to_ns(point.time_from_start) / 1e9 for point in points], dtype=np.float64)
    rows: list[Row] = []
    for kind in TRAJECTORY_KINDS:
        strips = kind_curves(points, kind, len(names), seconds)
        if strips:
            rows.append(
                Row(sub_path(ctx.entity_path, kind), "LineStrips2D", {"strips": strips, "labels": names})
            )
    return with_frame(rows, ctx.entity_path, header_frame(msg))


def convert_multi_dof_joint_trajectory(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``LineStrips3D`` in the header frame: per joint, the path its transform's translation takes over
    the trajectory's points, labelled with the joint name (a drone's or a mobile base's planned path); no
    strips for a trajectory without points. A point without a transform for every joint is a
    ConversionError."""
    names = [str(name) for name in msg.joint_names]
    paths: list[list[Any]] = [[] for _ in names]
    for index, point in enumerate(msg.points):
        transforms = list(point.transforms)
        if len(transforms) != len(names):
            raise ConversionError(
                f"MultiDOFJointTrajectory point {index} has {len(transforms)} transforms "
                f"for {len(names)} joints"
            )
        for joint, transform in enumerate(transforms):
            paths[joint].append(vec3(transform.translation))
    strips = [np.array(path, dtype=np.float32).reshape(-1, 3) for path in paths]
    # No strips for a trajectory without points: zero-length strips are nothing to draw.
    has_path = bool(names) and bool(paths[0])
    rows = [Row(ctx.entity_path, "LineStrips3D", {"strips": strips, "labels": names})] if has_path else []
    return with_frame(rows, ctx.entity_path, header_frame(msg))


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter(
        "trajectory_msgs/msg/JointTrajectory", convert_joint_trajectory, ("LineStrips2D", "CoordinateFrame")
    ),
    Converter(
        "trajectory_msgs/msg/MultiDOFJointTrajectory",
        convert_multi_dof_joint_trajectory,
        ("LineStrips3D", "CoordinateFrame"),
    ),
)
