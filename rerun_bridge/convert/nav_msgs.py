"""nav_msgs: odometry (pose in 3D, twist as plots), paths, and maps (occupancy grids, grid cells, map
metadata; see :mod:`~rerun_bridge.convert.occupancy` and docs/maps.md)."""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.convert.common import (
    frame_columns_of,
    header_frame,
    option_length,
    sub_path,
    vec3,
    with_frame,
)
from rerun_bridge.convert.covariance import (
    Ellipsoids,
    covariance_sigma,
    ellipsoids,
    position_blocks,
    standard_deviations,
    undrawable_covariances,
    with_covariance_checked,
)
from rerun_bridge.convert.geometry_msgs import (
    DEFAULT_SINGLE_POSE_ARROW_LENGTH,
    STDDEV_NAMES,
    TWIST_NAMES,
    covariance_rows,
    frame_columns,
    pose_arrow_columns,
    pose_arrow_rows,
    pose_columns,
    pose_rows,
    stddev_rows,
    vector_scalars,
)
from rerun_bridge.convert.occupancy import MAP_STATE_KEY, convert_grid, grid_layout, map_options
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.convert.topic_state import topic_state
from rerun_bridge.convert.trail import topic_trail, trail_columns, trail_rows
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import ColumnRows, Cycled, Row


def convert_odometry(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The pose in the header frame; the twist (in ``child_frame_id``) as six plots on ``<entity>/twist``;
    the position covariance as an ellipsoid on ``<entity>/covariance``; the twist's standard deviations
    as plots on ``<entity>/twist/stddev``; and the trail of recent positions on ``<entity>/trail``
    (:mod:`~rerun_bridge.convert.trail`)."""
    covariance_sigma(ctx.options)  # a bad option fails the message before the trail moves on
    trail = topic_trail(topic_state(ctx), ctx.options)
    frame = header_frame(msg)
    rows = pose_rows(ctx.entity_path, [msg.pose.pose])
    twist_path = sub_path(ctx.entity_path, "twist")
    rows += vector_scalars(twist_path, msg.twist.twist.linear, msg.twist.twist.angular, TWIST_NAMES)
    rows = with_frame(rows, ctx.entity_path, frame)
    rows += pose_arrow_rows(ctx.entity_path, msg.pose.pose, frame, ctx)
    rows += covariance_rows(msg.pose.pose, msg.pose.covariance, frame, ctx)
    rows += stddev_rows(sub_path(twist_path, "stddev"), msg.twist.covariance)
    rows += trail_rows(trail, ctx.entity_path, vec3(msg.pose.pose.position), frame)
    return with_covariance_checked(rows, msg.pose.covariance, "pose covariance")


def odometry_columns(msgs: MessageColumns, ctx: ConvertContext) -> list[ColumnRows] | None:
    """:func:`convert_odometry` for a batch of messages; declined (before the trail moves on) when a
    covariance is bad data, which message by message counts."""
    covariances = msgs.column("pose.covariance")
    shapes = ellipsoids(position_blocks(covariances), covariance_sigma(ctx.options))
    if undrawable_covariances(covariances, shapes.drawn):
        return None
    length = option_length(ctx, "arrow_length", DEFAULT_SINGLE_POSE_ARROW_LENGTH)
    trail = topic_trail(topic_state(ctx), ctx.options)
    times, count = msgs.default_times(), len(msgs)
    rows = pose_columns(ctx.entity_path, msgs, "pose.pose", times)
    twist_path = sub_path(ctx.entity_path, "twist")
    vectors = ("twist.twist.linear", "twist.twist.angular")
    twist = msgs.floats(*(f"{vector}.{axis}" for vector in vectors for axis in "xyz"))
    rows.append(ColumnRows(twist_path, "Scalars", times, {"scalars": twist}))
    rows.append(ColumnRows(twist_path, "SeriesLines", times, {"names": Cycled([TWIST_NAMES], count)}))
    rows += frame_columns(ctx.entity_path, msgs, times)
    rows += pose_arrow_columns(ctx.entity_path, msgs, "pose.pose", times, length)
    positions = msgs.floats(*(f"pose.pose.position.{axis}" for axis in "xyz"))
    rows += covariance_columns(ctx.entity_path, msgs, positions, shapes)
    rows += stddev_columns(sub_path(twist_path, "stddev"), msgs)
    return rows + trail_columns(trail, ctx.entity_path, positions, times, msgs.frame())


def covariance_columns(
    entity_path: str, msgs: MessageColumns, positions: npt.NDArray[np.float64], shapes: Ellipsoids
) -> list[ColumnRows]:
    """:func:`~rerun_bridge.convert.geometry_msgs.covariance_rows` for a batch (the messages whose
    covariance can be drawn: ``shapes``)."""
    drawn = np.flatnonzero(shapes.drawn)
    if len(drawn) == 0:
        return []
    times = {name: values[drawn] for name, values in msgs.default_times().items()}
    path = sub_path(entity_path, "covariance")
    components = {
        "centers": positions[drawn].astype(np.float32).reshape(-1, 1, 3),
        "half_sizes": shapes.half_sizes.reshape(-1, 1, 3),
        "quaternions": shapes.quaternions.reshape(-1, 1, 4),
    }
    rows = [ColumnRows(path, "Ellipsoids3D", times, components)]
    return rows + frame_columns_of(path, msgs.frame(), times, len(drawn))


def stddev_columns(entity_path: str, msgs: MessageColumns) -> list[ColumnRows]:
    """:func:`~rerun_bridge.convert.geometry_msgs.stddev_rows` of the twist covariance, for a batch."""
    drawn, deviations = standard_deviations(msgs.column("twist.covariance"))
    if not drawn.any():
        return []
    times = {name: values[drawn] for name, values in msgs.default_times().items()}
    names = Cycled([STDDEV_NAMES], len(deviations))
    return [
        ColumnRows(entity_path, "Scalars", times, {"scalars": deviations}),
        ColumnRows(entity_path, "SeriesLines", times, {"names": names}),
    ]


def convert_path(msg: Any, ctx: ConvertContext) -> list[Row]:
    strip = np.array([vec3(p.pose.position) for p in msg.poses], dtype=np.float32).reshape(-1, 3)
    rows = [Row(ctx.entity_path, "LineStrips3D", {"strips": [strip]})]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


def convert_occupancy_grid(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The grid as ``<entity>/image`` and textured tiles ``<entity>/tiles/<row>_<col>``; only what changed
    since the topic's last grid is sent (the grid is kept in the topic's converter state)."""
    options = map_options(ctx.options, ctx.topic)
    state, rows = convert_grid(msg, ctx.entity_path, options, topic_state(ctx).get(MAP_STATE_KEY))
    topic_state(ctx)[MAP_STATE_KEY] = state
    return rows


#: RViz's GridCells display colour (its default): the cells carry none, and without one each viewer chose
#: its own (teal wireframes in ours, pink in Rerun's).
GRID_CELLS_COLOR: Final = np.array([[25, 255, 0, 255]], dtype=np.uint8)


def convert_grid_cells(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Each cell as a flat ``Boxes3D`` square of ``cell_width`` x ``cell_height`` at its point, in RViz's
    GridCells green."""
    width, height = float(msg.cell_width), float(msg.cell_height)
    if not (np.isfinite(width) and np.isfinite(height) and width >= 0 and height >= 0):
        raise ConversionError(f"cell size {width} x {height} is not a size")
    centers = np.array([vec3(cell) for cell in msg.cells], dtype=np.float32).reshape(-1, 3)
    half_size = np.array([[width / 2, height / 2, 0.0]], dtype=np.float32)
    rows = [
        Row(
            ctx.entity_path,
            "Boxes3D",
            {
                "centers": centers,
                "half_sizes": np.repeat(half_size, len(centers), axis=0),
                "colors": GRID_CELLS_COLOR,
            },
        )
    ]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


MAP_INFO_NAMES = ["resolution", "width", "height"]


def convert_map_metadata(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The map's origin as a pose, its outline (``LineStrips3D``, in the fixed frame) on
    ``<entity>/outline``, and resolution / width / height as plots on ``<entity>/info``. MapMetaData has no
    header: it is drawn in the fixed frame as it is. The outline has an entity of its own: Rerun's viewer
    places every shape of an entity by its instance poses, and drew the outline moved by the origin
    twice (audit)."""
    layout = grid_layout(msg, "")
    outline = layout.corners(0, 0, layout.width, layout.height)
    rows = pose_rows(ctx.entity_path, [msg.origin])
    strips = [np.vstack([outline, outline[:1]])]
    rows.append(Row(sub_path(ctx.entity_path, "outline"), "LineStrips3D", {"strips": strips}))
    info = np.array([layout.resolution, layout.width, layout.height], dtype=np.float64)
    info_path = sub_path(ctx.entity_path, "info")
    rows += [
        Row(info_path, "Scalars", {"scalars": info}),
        Row(info_path, "SeriesLines", {"names": MAP_INFO_NAMES}),
    ]
    return rows


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter(
        "nav_msgs/msg/Odometry",
        convert_odometry,
        (
            "InstancePoses3D",
            "Points3D",
            "Arrows3D",
            "Scalars",
            "SeriesLines",
            "Ellipsoids3D",
            "LineStrips3D",
            "CoordinateFrame",
        ),
        columns=odometry_columns,
    ),
    Converter("nav_msgs/msg/Path", convert_path, ("LineStrips3D", "CoordinateFrame")),
    Converter("nav_msgs/msg/OccupancyGrid", convert_occupancy_grid, ("Image", "Mesh3D", "CoordinateFrame")),
    Converter("nav_msgs/msg/GridCells", convert_grid_cells, ("Boxes3D", "CoordinateFrame")),
    Converter(
        "nav_msgs/msg/MapMetaData",
        convert_map_metadata,
        ("LineStrips3D", "InstancePoses3D", "Points3D", "Scalars", "SeriesLines"),
    ),
)
