"""nav_msgs: odometry (pose in 3D, twist as plots) and paths."""

from __future__ import annotations

from typing import Any

import numpy as np

from rerun_bridge.convert.common import header_frame, sub_path, vec3, with_frame
from rerun_bridge.convert.geometry_msgs import TWIST_NAMES, pose_rows, vector_scalars
from rerun_bridge.convert.registry import ConvertContext, converter
from rerun_bridge.model.rows import Row


@converter("nav_msgs/msg/Odometry", "InstancePoses3D", "Points3D", "Scalars", "CoordinateFrame")
def convert_odometry(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The pose in the header frame; the twist (in ``child_frame_id``) as six plots on ``<entity>/twist``."""
    rows = pose_rows(ctx.entity_path, [msg.pose.pose])
    twist_path = sub_path(ctx.entity_path, "twist")
    rows += vector_scalars(twist_path, msg.twist.twist.linear, msg.twist.twist.angular, TWIST_NAMES)
    return with_frame(rows, ctx.entity_path, header_frame(msg))


@converter("nav_msgs/msg/Path", "LineStrips3D", "CoordinateFrame")
def convert_path(msg: Any, ctx: ConvertContext) -> list[Row]:
    strip = np.array([vec3(p.pose.position) for p in msg.poses], dtype=np.float32).reshape(-1, 3)
    rows = [Row(ctx.entity_path, "LineStrips3D", {"strips": [strip]})]
    return with_frame(rows, ctx.entity_path, header_frame(msg))
