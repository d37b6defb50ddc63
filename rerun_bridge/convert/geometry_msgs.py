"""geometry_msgs: transforms, poses, points, vectors, twists, wrenches and polygons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.convert.common import header_frame, quat_xyzw, vec3, with_frame
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.convert.tf2_msgs import transform_row
from rerun_bridge.model.rows import ColumnRows, Cycled, Row

TWIST_NAMES = ["linear/x", "linear/y", "linear/z", "angular/x", "angular/y", "angular/z"]
WRENCH_NAMES = ["force/x", "force/y", "force/z", "torque/x", "torque/y", "torque/z"]


def pose_rows(entity_path: str, poses: list[Any]) -> list[Row]:
    """Poses as ``InstancePoses3D`` (Rerun's mapping) plus their origins as ``Points3D`` so they show."""
    translations = np.array([vec3(p.position) for p in poses], dtype=np.float64).reshape(-1, 3)
    quaternions = np.array([quat_xyzw(p.orientation) for p in poses], dtype=np.float64).reshape(-1, 4)
    return [
        Row(entity_path, "InstancePoses3D", {"translations": translations, "quaternions": quaternions}),
        Row(entity_path, "Points3D", {"positions": translations.astype(np.float32)}),
    ]


def pose_columns(
    entity_path: str, msgs: MessageColumns, prefix: str, times: Mapping[str, npt.NDArray[np.int64]]
) -> list[ColumnRows]:
    """:func:`pose_rows` of one ``geometry_msgs/Pose`` (at ``prefix``) per message, for a batch."""
    count = len(msgs)
    translations = msgs.floats(*(f"{prefix}.position.{axis}" for axis in "xyz")).reshape(count, 1, 3)
    quaternions = msgs.floats(*(f"{prefix}.orientation.{axis}" for axis in "xyzw")).reshape(count, 1, 4)
    return [
        ColumnRows(
            entity_path, "InstancePoses3D", times, {"translations": translations, "quaternions": quaternions}
        ),
        ColumnRows(entity_path, "Points3D", times, {"positions": translations.astype(np.float32)}),
    ]


def frame_columns(
    entity_path: str, msgs: MessageColumns, times: Mapping[str, npt.NDArray[np.int64]]
) -> list[ColumnRows]:
    """:func:`~rerun_bridge.convert.common.with_frame`'s row for a batch: none for an empty frame id."""
    frame = msgs.frame()
    if not frame:
        return []
    return [ColumnRows(entity_path, "CoordinateFrame", times, {"frame": Cycled([[frame]], len(msgs))})]


def vector_scalars(entity_path: str, first: Any, second: Any, names: list[str]) -> list[Row]:
    values = np.concatenate([vec3(first), vec3(second)])
    return [
        Row(entity_path, "Scalars", {"scalars": values}),
        Row(entity_path, "SeriesLines", {"names": names}),
    ]


def convert_transform_stamped(msg: Any, ctx: ConvertContext) -> list[Row]:
    return [transform_row(msg, ctx.entity_path, ctx.static)]


def convert_pose_stamped(msg: Any, ctx: ConvertContext) -> list[Row]:
    return with_frame(pose_rows(ctx.entity_path, [msg.pose]), ctx.entity_path, header_frame(msg))


def pose_stamped_columns(msgs: MessageColumns, ctx: ConvertContext) -> list[ColumnRows]:
    times = msgs.default_times()
    return pose_columns(ctx.entity_path, msgs, "pose", times) + frame_columns(ctx.entity_path, msgs, times)


def convert_pose_with_covariance_stamped(msg: Any, ctx: ConvertContext) -> list[Row]:
    return with_frame(pose_rows(ctx.entity_path, [msg.pose.pose]), ctx.entity_path, header_frame(msg))


def convert_pose_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    return with_frame(pose_rows(ctx.entity_path, list(msg.poses)), ctx.entity_path, header_frame(msg))


def convert_point_stamped(msg: Any, ctx: ConvertContext) -> list[Row]:
    rows = [Row(ctx.entity_path, "Points3D", {"positions": vec3(msg.point).astype(np.float32).reshape(1, 3)})]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


def convert_vector3_stamped(msg: Any, ctx: ConvertContext) -> list[Row]:
    rows = [Row(ctx.entity_path, "Arrows3D", {"vectors": vec3(msg.vector).astype(np.float32).reshape(1, 3)})]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


def convert_twist(msg: Any, ctx: ConvertContext) -> list[Row]:
    return vector_scalars(ctx.entity_path, msg.linear, msg.angular, TWIST_NAMES)


def convert_twist_stamped(msg: Any, ctx: ConvertContext) -> list[Row]:
    return vector_scalars(ctx.entity_path, msg.twist.linear, msg.twist.angular, TWIST_NAMES)


def convert_wrench_stamped(msg: Any, ctx: ConvertContext) -> list[Row]:
    return vector_scalars(ctx.entity_path, msg.wrench.force, msg.wrench.torque, WRENCH_NAMES)


def convert_polygon_stamped(msg: Any, ctx: ConvertContext) -> list[Row]:
    points = [[p.x, p.y, p.z] for p in msg.polygon.points]
    if points:
        points.append(points[0])  # RViz draws polygons closed
    strip = np.array(points, dtype=np.float32).reshape(-1, 3)
    rows = [Row(ctx.entity_path, "LineStrips3D", {"strips": [strip]})]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("geometry_msgs/msg/TransformStamped", convert_transform_stamped, ("Transform3D",)),
    Converter(
        "geometry_msgs/msg/PoseStamped",
        convert_pose_stamped,
        ("InstancePoses3D", "Points3D", "CoordinateFrame"),
        columns=pose_stamped_columns,
    ),
    Converter(
        "geometry_msgs/msg/PoseWithCovarianceStamped",
        convert_pose_with_covariance_stamped,
        ("InstancePoses3D", "Points3D", "CoordinateFrame"),
    ),
    Converter(
        "geometry_msgs/msg/PoseArray", convert_pose_array, ("InstancePoses3D", "Points3D", "CoordinateFrame")
    ),
    Converter("geometry_msgs/msg/PointStamped", convert_point_stamped, ("Points3D", "CoordinateFrame")),
    Converter("geometry_msgs/msg/Vector3Stamped", convert_vector3_stamped, ("Arrows3D", "CoordinateFrame")),
    Converter("geometry_msgs/msg/Twist", convert_twist, ("Scalars", "SeriesLines")),
    Converter("geometry_msgs/msg/TwistStamped", convert_twist_stamped, ("Scalars", "SeriesLines")),
    Converter("geometry_msgs/msg/WrenchStamped", convert_wrench_stamped, ("Scalars", "SeriesLines")),
    Converter(
        "geometry_msgs/msg/PolygonStamped", convert_polygon_stamped, ("LineStrips3D", "CoordinateFrame")
    ),
)
