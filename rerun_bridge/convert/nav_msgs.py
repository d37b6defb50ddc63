"""nav_msgs: odometry (pose in 3D, twist as plots) and paths."""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.convert.common import header_frame, sub_path, vec3, with_frame
from rerun_bridge.convert.geometry_msgs import (
    TWIST_NAMES,
    frame_columns,
    pose_columns,
    pose_rows,
    vector_scalars,
)
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.model.rows import ColumnRows, Cycled, Row


def convert_odometry(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The pose in the header frame; the twist (in ``child_frame_id``) as six plots on ``<entity>/twist``."""
    rows = pose_rows(ctx.entity_path, [msg.pose.pose])
    twist_path = sub_path(ctx.entity_path, "twist")
    rows += vector_scalars(twist_path, msg.twist.twist.linear, msg.twist.twist.angular, TWIST_NAMES)
    return with_frame(rows, ctx.entity_path, header_frame(msg))


def odometry_columns(msgs: MessageColumns, ctx: ConvertContext) -> list[ColumnRows]:
    """:func:`convert_odometry` for a batch of messages."""
    times, count = msgs.default_times(), len(msgs)
    rows = pose_columns(ctx.entity_path, msgs, "pose.pose", times)
    twist_path = sub_path(ctx.entity_path, "twist")
    vectors = ("twist.twist.linear", "twist.twist.angular")
    twist = msgs.floats(*(f"{vector}.{axis}" for vector in vectors for axis in "xyz"))
    rows.append(ColumnRows(twist_path, "Scalars", times, {"scalars": twist}))
    rows.append(ColumnRows(twist_path, "SeriesLines", times, {"names": Cycled([TWIST_NAMES], count)}))
    return rows + frame_columns(ctx.entity_path, msgs, times)


def convert_path(msg: Any, ctx: ConvertContext) -> list[Row]:
    strip = np.array([vec3(p.pose.position) for p in msg.poses], dtype=np.float32).reshape(-1, 3)
    rows = [Row(ctx.entity_path, "LineStrips3D", {"strips": [strip]})]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter(
        "nav_msgs/msg/Odometry",
        convert_odometry,
        ("InstancePoses3D", "Points3D", "Scalars", "CoordinateFrame"),
        columns=odometry_columns,
    ),
    Converter("nav_msgs/msg/Path", convert_path, ("LineStrips3D", "CoordinateFrame")),
)
