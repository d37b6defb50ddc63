"""sensor_msgs beyond cameras, clouds and IMUs: joysticks, time references, regions of interest, the legacy
``PointCloud``, multi-echo scans, multi-DOF joint states, and the field-of-view cone of a ``Range``.

Entity layout (docs/data-model.md): a type with several kinds of data puts each on a sub-entity of the
topic (``<topic>/axes`` and ``<topic>/buttons`` of a ``Joy``, ``<topic>/cone`` of a ``Range``), so a plot
view and a 3D view each find only what they can draw.
"""

from __future__ import annotations

import itertools
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.convert.common import header_frame, quat_xyzw, sub_path, vec3, with_frame
from rerun_bridge.convert.pointcloud import DEFAULT_COLORMAP, colormap_colors, unpack_colors
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import Batch, Row
from rerun_bridge.model.timeline import LOG_TIME, ROS_TIME, stamp_to_ns

#: Points on the far circle of a range sensor's cone; four of them also get a ray from the sensor.
CONE_SEGMENTS: Final = 24
#: ``sensor_msgs/PointCloud`` channels whose float holds a packed colour (as PCL packs it).
PACKED_COLOR_CHANNELS: Final = ("rgb", "rgba")
#: Channels used for colouring a legacy cloud through the colormap, in order of preference.
INTENSITY_CHANNELS: Final = ("intensity", "intensities", "i")


def colormap_option(ctx: ConvertContext) -> str:
    return str(ctx.options.get("colormap", DEFAULT_COLORMAP))


def indexed_names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{index}" for index in range(count)]


# ---- Joy -------------------------------------------------------------------------------------------------


def convert_joy(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``<entity>/axes`` and ``<entity>/buttons`` as ``Scalars`` with ``SeriesLines`` names ``axis0``... and
    ``button0``... (not static: a joystick may be swapped for one with other counts). An empty array gives
    no rows of its own."""
    rows: list[Row] = []
    for kind, prefix in (("axes", "axis"), ("buttons", "button")):
        values = np.asarray(getattr(msg, kind), dtype=np.float64).reshape(-1)
        if values.size == 0:
            continue
        path = sub_path(ctx.entity_path, kind)
        rows.append(Row(path, "Scalars", {"scalars": values}))
        rows.append(Row(path, "SeriesLines", {"names": indexed_names(prefix, values.size)}))
    return with_frame(rows, ctx.entity_path, header_frame(msg))


# ---- TimeReference ---------------------------------------------------------------------------------------


def convert_time_reference(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The offset ``time_ref - header.stamp`` in seconds as ``Scalars`` on ``<entity>/offset`` (a drifting
    clock shows as a slope), and a ``TextLog`` on ``<entity>`` naming the source and both times."""
    reference_ns = stamp_to_ns(msg.time_ref)
    stamp_ns = stamp_to_ns(msg.header.stamp)
    offset_s = (reference_ns - stamp_ns) / 1e9
    path = sub_path(ctx.entity_path, "offset")
    text = f"{msg.source or 'time reference'}: time_ref {reference_ns} ns, offset {offset_s:+.9f} s"
    return [
        Row(path, "Scalars", {"scalars": np.array([offset_s], dtype=np.float64)}),
        Row(path, "SeriesLines", {"names": ["offset_s"]}, static=True),
        Row(ctx.entity_path, "TextLog", {"text": [text], "level": ["INFO"]}),
    ]


# ---- RegionOfInterest ------------------------------------------------------------------------------------


def convert_region_of_interest(msg: Any, ctx: ConvertContext) -> list[Row]:
    """One ``Boxes2D`` in pixels (from x_offset, y_offset, width and height) with ``do_rectify`` as an
    extra column. The message has no header: the topic option ``camera_frame`` names the camera, and the box
    is then placed on ``<camera_frame>_image_plane``, where that camera's images lie. An all-zero size means
    "the full image" in ROS, whose size the message does not carry: then there is no box to draw."""
    width, height = int(msg.width), int(msg.height)
    rows: list[Row] = []
    if width > 0 and height > 0:
        half_sizes = np.array([[width / 2.0, height / 2.0]], dtype=np.float32)
        centers = np.array([[int(msg.x_offset), int(msg.y_offset)]], dtype=np.float32) + half_sizes
        components: dict[str, Batch] = {"centers": centers, "half_sizes": half_sizes}
        extra: dict[str, Batch] = {"do_rectify": np.array([bool(msg.do_rectify)])}
        rows.append(Row(ctx.entity_path, "Boxes2D", components, extra=extra))
    camera = str(ctx.options.get("camera_frame", "")).lstrip("/")
    if not camera:
        return with_frame(rows, ctx.entity_path, "")
    placed = with_frame(rows, ctx.entity_path, f"{camera}_image_plane")
    # Drawn over the camera's images, which are on ros_time: a box on log_time only vanished from every
    # view on ros_time. It has no stamp, so it is placed at its receive time there too.
    received = ctx.shared.message_times.get(LOG_TIME)
    if received is not None:
        for row in placed:
            row.times = {**row.times, ROS_TIME: received}
    return placed


# ---- PointCloud (legacy) ---------------------------------------------------------------------------------


def legacy_cloud_colors(
    channels: dict[str, npt.NDArray[np.float32]], colormap: str
) -> tuple[npt.NDArray[np.uint8] | None, str]:
    """Colours from a packed ``rgb`` / ``rgba`` channel, else an intensity channel through the colormap."""
    for name in PACKED_COLOR_CHANNELS:
        if name in channels:
            packed = channels[name].astype(np.float32).view(np.uint32)
            return unpack_colors(packed, with_alpha=name == "rgba"), name
    for name in INTENSITY_CHANNELS:
        if name in channels and channels[name].size:
            return colormap_colors(channels[name], colormap), name
    return None, ""


def convert_point_cloud(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Points3D`` of the legacy ``sensor_msgs/PointCloud``: ``points`` (float32 x, y, z) as ``positions``,
    every channel with one value per point as an extra column (``Points3D:intensity``), colours as for
    PointCloud2 (a packed ``rgb`` channel, else intensity through the ``colormap`` option). Points with a
    non-finite coordinate are dropped with their channel values. A channel whose length differs from the
    number of points is a ConversionError naming it."""
    points = msg.points
    # fromiter over one flat stream: about 6x faster than a list of rows for a 10k-point cloud.
    flat = itertools.chain.from_iterable((p.x, p.y, p.z) for p in points)
    positions = np.fromiter(flat, dtype=np.float32, count=3 * len(points)).reshape(-1, 3)
    channels: dict[str, npt.NDArray[np.float32]] = {}
    for channel in msg.channels:
        values = np.asarray(channel.values, dtype=np.float32).reshape(-1)
        if values.size != positions.shape[0]:
            raise ConversionError(
                f"PointCloud channel {channel.name!r} has {values.size} values "
                f"for {positions.shape[0]} points"
            )
        channels[str(channel.name)] = values
    keep = np.isfinite(positions).all(axis=1)
    positions = positions[keep]
    channels = {name: values[keep] for name, values in channels.items()}
    colors, source = legacy_cloud_colors(channels, colormap_option(ctx))
    components: dict[str, Batch] = {"positions": positions}
    if colors is not None:
        components["colors"] = colors
    extra: dict[str, Batch] = {
        name: values
        for name, values in channels.items()
        if not (name == source and name in PACKED_COLOR_CHANNELS)
    }
    rows = [Row(ctx.entity_path, "Points3D", components, extra=extra)]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


# ---- MultiEchoLaserScan ----------------------------------------------------------------------------------


def echo_columns(
    echoes: Any,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.uint16]]:
    """Every echo of every beam flattened: (values, beam index, echo index)."""
    values: list[float] = []
    beams: list[int] = []
    orders: list[int] = []
    for beam, echo in enumerate(echoes):
        echo_values = np.asarray(echo.echoes, dtype=np.float32).reshape(-1)
        values.extend(echo_values.tolist())
        beams.extend([beam] * echo_values.size)
        orders.extend(range(echo_values.size))
    return (
        np.asarray(values, dtype=np.float32).astype(np.float64),
        np.asarray(beams, dtype=np.int64),
        np.asarray(orders, dtype=np.uint16),
    )


def convert_multi_echo_laser_scan(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Points3D`` of every echo of every beam in the scan frame (z = 0), as :func:`convert_laser_scan`
    does for one echo: NaN, inf and echoes outside [range_min, range_max] are dropped. The extra column
    ``echo`` holds each point's echo index (0 = first return); intensities, where their echoes line up
    with the ranges', become ``intensity`` and the ``colors`` (``colormap`` option)."""
    ranges, beams, orders = echo_columns(msg.ranges)
    angle_min, increment = float(np.float32(msg.angle_min)), float(np.float32(msg.angle_increment))
    with np.errstate(invalid="ignore"):
        keep = (
            np.isfinite(ranges)
            & (ranges >= float(np.float32(msg.range_min)))
            & (ranges <= float(np.float32(msg.range_max)))
        )
    angles = angle_min + beams[keep].astype(np.float64) * increment
    hits = ranges[keep]
    positions = np.zeros((hits.size, 3), dtype=np.float32)
    positions[:, 0] = hits * np.cos(angles)
    positions[:, 1] = hits * np.sin(angles)
    components: dict[str, Batch] = {"positions": positions}
    extra: dict[str, Batch] = {"echo": orders[keep]}
    intensities, intensity_beams, intensity_orders = echo_columns(msg.intensities)
    if np.array_equal(intensity_beams, beams) and np.array_equal(intensity_orders, orders) and ranges.size:
        kept = intensities[keep].astype(np.float32)
        components["colors"] = colormap_colors(kept, colormap_option(ctx))
        extra["intensity"] = kept
    rows = [Row(ctx.entity_path, "Points3D", components, extra=extra)]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


# ---- Range's cone ----------------------------------------------------------------------------------------


def range_limits_problem(msg: Any) -> str | None:
    """Why a Range's limits or field of view make no cone (bad data, said and counted: an audit found a
    cone clamped to a max_range below min_range, and a negative field of view drawn as its opposite)."""
    low, high = float(np.float32(msg.min_range)), float(np.float32(msg.max_range))
    field_of_view = float(np.float32(msg.field_of_view))
    if not (np.isfinite(field_of_view) and 0.0 <= field_of_view < np.pi):
        return f"field_of_view {field_of_view:g} is not an angle from 0 to pi"
    if low > high:
        return f"min_range {low:g} is above max_range {high:g}"
    return None


def cone_length(msg: Any) -> float:
    """How far to draw a range sensor's cone: the measured range, or, when nothing was measured (inf, NaN,
    outside its limits: REP 117), the sensor's ``max_range``."""
    measured = float(np.float32(msg.range))
    low, high = float(np.float32(msg.min_range)), float(np.float32(msg.max_range))
    if np.isfinite(measured) and low <= measured <= high:
        return measured
    return high if np.isfinite(high) and high > 0 else 0.0


def cone_strips(length: float, field_of_view: float) -> list[npt.NDArray[np.float32]]:
    """The cone along +x (REP 103, a range sensor's axis): its far circle as segments and four rays from
    the apex. Every strip has two points (equal shapes keep every sink on its fast numpy path)."""
    radius = length * float(np.tan(min(abs(field_of_view), np.pi * 0.99) / 2.0))
    angles = np.linspace(0.0, 2.0 * np.pi, CONE_SEGMENTS + 1)
    circle = np.stack(
        [np.full_like(angles, length), radius * np.cos(angles), radius * np.sin(angles)], axis=1
    )
    strips = [circle[index : index + 2].astype(np.float32) for index in range(CONE_SEGMENTS)]
    for index in range(0, CONE_SEGMENTS, CONE_SEGMENTS // 4):
        strips.append(np.stack([np.zeros(3), circle[index]]).astype(np.float32))
    return strips


def range_cone_rows(msg: Any, entity_path: str) -> list[Row]:
    """``LineStrips3D`` of the field of view on ``<entity>/cone``, in the sensor's frame, drawn out to the
    range measured (see :func:`cone_length`). No rows when there is nothing to draw (zero length)."""
    length = cone_length(msg)
    if length <= 0.0:
        return []
    path = sub_path(entity_path, "cone")
    rows = [Row(path, "LineStrips3D", {"strips": cone_strips(length, float(np.float32(msg.field_of_view)))})]
    return with_frame(rows, path, header_frame(msg))


# ---- MultiDOFJointState ---------------------------------------------------------------------------------


def joint_arrows(
    entity_path: str, origins: npt.NDArray[np.float32], vectors: list[Any], names: list[str]
) -> Row:
    """``Arrows3D`` from each joint's position (a twist's linear velocity, a wrench's force)."""
    components: dict[str, Batch] = {
        "origins": origins,
        "vectors": np.array([vec3(vector) for vector in vectors], dtype=np.float32).reshape(-1, 3),
        "labels": names,
    }
    return Row(entity_path, "Arrows3D", components)


def convert_multi_dof_joint_state(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Each joint's position (its transform's translation) as ``Points3D`` labelled with its name, the
    rotation (x, y, z, w) as the extra column ``rotation``; where given for every joint, the twists' linear
    velocities on ``<entity>/twist`` and the wrenches' forces on ``<entity>/wrench`` as ``Arrows3D`` from
    those positions (angular parts and torques as the extra columns ``angular`` / ``torque``). All in the
    header frame. Transforms that do not match the joint names in number are a ConversionError."""
    names = [str(name) for name in msg.joint_names]
    transforms = list(msg.transforms)
    if len(transforms) != len(names):
        raise ConversionError(f"MultiDOFJointState has {len(transforms)} transforms for {len(names)} joints")
    positions = np.array([vec3(t.translation) for t in transforms], dtype=np.float32).reshape(-1, 3)
    rotations = np.array([quat_xyzw(t.rotation) for t in transforms], dtype=np.float32).reshape(-1, 4)
    frame = header_frame(msg)
    points = Row(
        ctx.entity_path, "Points3D", {"positions": positions, "labels": names}, extra={"rotation": rotations}
    )
    rows = with_frame([points], ctx.entity_path, frame)
    for kind, linear, angular in (("twist", "linear", "angular"), ("wrench", "force", "torque")):
        items = list(getattr(msg, kind))
        if not items or len(items) != len(names):
            continue
        path = sub_path(ctx.entity_path, kind)
        row = joint_arrows(path, positions, [getattr(item, linear) for item in items], names)
        row.extra = {angular: np.array([vec3(getattr(item, angular)) for item in items], dtype=np.float32)}
        rows.extend(with_frame([row], path, frame))
    return rows


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("sensor_msgs/msg/Joy", convert_joy, ("Scalars", "SeriesLines", "CoordinateFrame")),
    Converter("sensor_msgs/msg/TimeReference", convert_time_reference, ("Scalars", "SeriesLines", "TextLog")),
    Converter("sensor_msgs/msg/RegionOfInterest", convert_region_of_interest, ("Boxes2D", "CoordinateFrame")),
    Converter("sensor_msgs/msg/PointCloud", convert_point_cloud, ("Points3D", "CoordinateFrame")),
    Converter(
        "sensor_msgs/msg/MultiEchoLaserScan", convert_multi_echo_laser_scan, ("Points3D", "CoordinateFrame")
    ),
    Converter(
        "sensor_msgs/msg/MultiDOFJointState",
        convert_multi_dof_joint_state,
        ("Points3D", "Arrows3D", "CoordinateFrame"),
    ),
)
