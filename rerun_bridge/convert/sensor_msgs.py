"""sensor_msgs: images, camera calibration, point clouds, laser scans, IMU, joints, GNSS and scalar sensors.

Each converter reads fields by duck typing (rclpy messages, rosbags dataclasses and mcap-ros2 objects alike)
and follows Rerun 0.41's own ROS 2 importer where it has one, so that the same recording looks the same in
both: images land on the ``<frame_id>_image_plane`` frame that the camera's ``Pinhole`` spans, IMU and joint
states become plots named as Rerun names them, and every data entity carries its header frame as a
``CoordinateFrame`` row (none for an empty frame_id, except on joint states, as Rerun does). Where we go
further (laser scans, depth encodings, colours) the choices are documented on each converter.
"""

from __future__ import annotations

import functools
import inspect
import struct
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import rerun as rr

from rerun_bridge.convert.buffers import byte_view
from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.convert.common import header_frame, option_length, sub_path, vec3, with_frame
from rerun_bridge.convert.image_encoding import DecodedImage, decode_image_msg
from rerun_bridge.convert.pointcloud import (
    DEFAULT_COLORMAP,
    PACKED_COLOR_FIELDS,
    cloud_color_words,
    colormap_colors,
    decode_point_cloud,
)
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.convert.sensor_msgs_misc import range_cone_rows, range_limits_problem
from rerun_bridge.errors import ConversionError, PartialConversionError
from rerun_bridge.model.rows import Batch, ColumnBatch, ColumnRows, Cycled, Row
from rerun_bridge.robot.state import RobotModelState

#: Appended to a camera's frame_id to name its image plane, as Rerun's importer does.
IMAGE_PLANE_SUFFIX: Final = "_image_plane"
IMU_SERIES_NAMES: Final = (
    "gyroscope/x",
    "gyroscope/y",
    "gyroscope/z",
    "accelerometer/x",
    "accelerometer/y",
    "accelerometer/z",
)
RANGE_SERIES_NAMES: Final = ("range", "min_range", "max_range")
BATTERY_SERIES_NAMES: Final = ("percentage", "voltage", "current", "charge", "temperature")
#: The Imu fields behind IMU_SERIES_NAMES, in that order.
IMU_VECTORS: Final = ("angular_velocity", "linear_acceleration")
JOINT_STATE_KINDS: Final = ("position", "velocity", "effort")
#: ``sensor_msgs/NavSatStatus.STATUS_NO_FIX``.
NAV_SAT_NO_FIX: Final = -1
#: Positions reported without a fix are drawn in this colour (RGBA).
NO_FIX_COLOR: Final = (230, 40, 40, 255)

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE: Final = b"\xff\xd8\xff"
#: ``compressed_depth_image_transport``'s ConfigHeader: int32 format, float32 depthQuantA, depthQuantB.
COMPRESSED_DEPTH_HEADER: Final = struct.Struct("<iff")


def image_plane_frame(frame_id: str) -> str:
    """The frame an image lies in: its camera frame's image plane ('' for an image without frame)."""
    return f"{frame_id}{IMAGE_PLANE_SUFFIX}" if frame_id else ""


def float32_field(value: Any) -> float:
    """A ``float32`` field's value as on the wire: rclpy keeps whatever double it was given, rosbags and
    mcap-ros2 hold the rounded value; rounding here makes every source convert alike."""
    return float(np.float32(value))


@functools.cache
def archetype_fields(archetype: str) -> frozenset[str]:
    """The component names of a Rerun archetype (from its ``columns`` signature)."""
    return frozenset(inspect.signature(getattr(rr, archetype).columns).parameters)


def extra_columns(archetype: str, columns: Mapping[str, Batch]) -> dict[str, Batch]:
    """Extra columns renamed ``<name>_field`` where a name is one of the archetype's own components.

    A point field called ``labels`` or ``colors`` would otherwise collide with ``Points3D:labels``, whose
    type differs.
    """
    own = archetype_fields(archetype)
    return {(f"{name}_field" if name in own else name): batch for name, batch in columns.items()}


# ---- images --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _image_format(
    width: int, height: int, pixel_format: str | None, color_model: str | None, channel_datatype: str | None
) -> rr.components.ImageFormat:
    """One object per format: a camera's images share it, and the batcher converts each object once."""
    return rr.components.ImageFormat(
        width,
        height,
        pixel_format=rr.PixelFormat[pixel_format] if pixel_format else None,
        color_model=rr.ColorModel[color_model] if color_model else None,
        channel_datatype=rr.ChannelDatatype[channel_datatype] if channel_datatype else None,
    )


def image_row(entity_path: str, image: DecodedImage) -> Row:
    """The ``Image``, ``DepthImage`` or ``Tensor`` row of a decoded image."""
    if image.archetype == "Tensor":
        return Row(entity_path, "Tensor", {"data": [image.pixels]})
    image_format = _image_format(
        image.width, image.height, image.pixel_format, image.color_model, image.channel_datatype
    )
    components: dict[str, Batch] = {"buffer": [image.buffer()], "format": [image_format]}
    if image.meter is not None:
        components["meter"] = np.array([image.meter], dtype=np.float32)
    return Row(entity_path, image.archetype, components)


def convert_image(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Pixels as ``Image`` (``buffer``, ``format``), depth as ``DepthImage`` (+ ``meter``), 2-channel as
    ``Tensor`` (see :mod:`~rerun_bridge.convert.image_encoding`), on the ``<frame_id>_image_plane`` frame."""
    rows = [image_row(ctx.entity_path, decode_image_msg(msg))]
    return with_frame(rows, ctx.entity_path, image_plane_frame(header_frame(msg)))


def convert_compressed_image(msg: Any, ctx: ConvertContext) -> list[Row]:
    """JPEG and PNG as ``EncodedImage`` (``blob``, ``media_type``); ``compressedDepth`` as described in
    :func:`compressed_depth_row`. The bytes are sniffed first: format strings are often vague or wrong."""
    format_text = str(msg.format)
    blob = byte_view(msg.data)
    if "compresseddepth" in format_text.lower():
        row = compressed_depth_row(ctx.entity_path, format_text, blob)
    else:
        media_type = encoded_media_type(format_text, blob)
        row = Row(ctx.entity_path, "EncodedImage", {"blob": [blob], "media_type": [media_type]})
    return with_frame([row], ctx.entity_path, image_plane_frame(header_frame(msg)))


def encoded_media_type(format_text: str, blob: npt.NDArray[np.uint8]) -> str:
    """``image/jpeg`` or ``image/png``, from the magic bytes, which every JPEG and PNG starts with (the
    format string is often vague or wrong); data without either is no image a viewer decodes, an error
    (it was written as the format string said, and failed only when drawn: audit)."""
    head = blob[:8].tobytes()
    if head.startswith(PNG_SIGNATURE):
        return "image/png"
    if head.startswith(JPEG_SIGNATURE):
        return "image/jpeg"
    lowered = format_text.lower()
    if "png" not in lowered and "jpeg" not in lowered and "jpg" not in lowered:
        raise ConversionError(f"CompressedImage format {format_text!r} is neither JPEG nor PNG")
    what = "is empty" if not len(blob) else f"starts with {head[:4].hex(' ')}"
    raise ConversionError(
        f"CompressedImage data is no JPEG or PNG image (format {format_text!r}; the data {what})"
    )


def compressed_depth_row(entity_path: str, format_text: str, blob: npt.NDArray[np.uint8]) -> Row:
    """A ``compressedDepth`` image (``"16UC1; compressedDepth png"``): a 12-byte header, then a PNG.

    - 16UC1 (millimetres): ``EncodedDepthImage`` of the PNG, ``meter`` 1000; Rerun decodes it.
    - 32FC1: the PNG holds *quantized inverse depth* (depth = depthQuantA / (value - depthQuantB)), which no
      ``meter`` can express and which numpy cannot decode without a PNG decoder. It is kept as an
      ``EncodedImage`` of that PNG (a viewable near-is-bright picture) with the two quantization
      parameters as extra columns ``depth_quant_a`` / ``depth_quant_b``, so metric depth stays recoverable.
    - RVL compression is not supported (ConversionError).
    """
    lowered = format_text.lower()
    if "rvl" in lowered:
        raise ConversionError(
            f"CompressedImage format {format_text!r}: RVL depth compression is not supported"
        )
    header_size = COMPRESSED_DEPTH_HEADER.size
    if blob[header_size : header_size + 8].tobytes() == PNG_SIGNATURE:
        header: tuple[int, float, float] | None = COMPRESSED_DEPTH_HEADER.unpack(blob[:header_size].tobytes())
        png = blob[header_size:]
    elif blob[:8].tobytes() == PNG_SIGNATURE:  # some encoders leave the header out
        header, png = None, blob
    else:
        raise ConversionError(
            f"CompressedImage format {format_text!r}: no PNG after the compressedDepth header"
        )
    depth_type = lowered.split(";", 1)[0].strip()
    if depth_type == "32fc1":
        extra: dict[str, Batch] = {}
        if header is not None:
            extra = {
                "depth_quant_a": np.array([header[1]], dtype=np.float32),
                "depth_quant_b": np.array([header[2]], dtype=np.float32),
            }
        return Row(entity_path, "EncodedImage", {"blob": [png], "media_type": ["image/png"]}, extra=extra)
    components: dict[str, Batch] = {
        "blob": [png],
        "media_type": ["image/png"],
        "meter": np.array([1000.0], dtype=np.float32),
    }
    return Row(entity_path, "EncodedDepthImage", components)


#: Metres from a camera to the image plane its frustum shows (``image_plane_distance`` option).
DEFAULT_IMAGE_PLANE_DISTANCE: Final = 1.0


def convert_camera_info(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Pinhole`` from K: ``image_from_camera``, ``resolution`` and the frames ``parent_frame`` =
    frame_id, ``child_frame`` = frame_id + ``_image_plane`` (the frame the images land on).

    An uncalibrated camera (ROS: ``K[0] == 0``; we also require a non-zero fy) gives no row at all: a
    pinhole without focal length means nothing, and the message is not an error. A K holding values that
    are not numbers is bad data, an error (it was dropped as uncalibrated, uncounted: audit). No
    ``CoordinateFrame`` row either: the pinhole's own ``parent_frame`` places it, as in Rerun's importer.
    Distortion (D) is ignored, as Rerun has only the pinhole model. The image plane lies
    ``image_plane_distance`` (option, metres) in front of the camera, 1 m as the embedded viewer draws it:
    left to Rerun's viewer, the frustum was sized by its scene heuristics, a few centimetres by a robot.
    """
    k_values = msg.k if hasattr(msg, "k") else msg.K
    intrinsics = np.asarray(k_values, dtype=np.float64).reshape(3, 3)
    if not np.isfinite(intrinsics).all():
        raise ConversionError("camera matrix K holds values that are not numbers")
    if intrinsics[0, 0] == 0.0 or intrinsics[1, 1] == 0.0:
        return []
    # Row-major K, as rr.Pinhole takes a numpy matrix (it stores it column-major).
    components: dict[str, Batch] = {"image_from_camera": intrinsics.astype(np.float32).reshape(1, 3, 3)}
    distance = option_length(ctx, "image_plane_distance", DEFAULT_IMAGE_PLANE_DISTANCE)
    width, height = int(msg.width), int(msg.height)
    if width > 0 and height > 0:
        components["resolution"] = np.array([[width, height]], dtype=np.float32)
    frame = header_frame(msg)
    if frame:
        components["parent_frame"] = [frame]
        components["child_frame"] = [image_plane_frame(frame)]
    components["image_plane_distance"] = np.array([distance], dtype=np.float32)
    return [Row(ctx.entity_path, "Pinhole", components)]


# ---- point clouds and scans ----------------------------------------------------------------------------


def colormap_option(ctx: ConvertContext) -> str:
    return str(ctx.options.get("colormap", DEFAULT_COLORMAP))


def convert_point_cloud2(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Points3D``: ``positions`` of the points with finite x, y, z; ``colors`` from a packed ``rgb`` /
    ``rgba`` field, else ``intensity`` (or ``i``) through the ``colormap`` option (turbo or gray); every
    other field as an extra column (``Points3D:intensity``, ``Points3D:ring``, ...; see
    :mod:`~rerun_bridge.convert.pointcloud`). The packed colour field itself is not repeated as a column."""
    cloud = decode_point_cloud(msg)
    if cloud.positions is None:
        names = ", ".join(spec.name for spec in cloud.specs) or "none"
        raise ConversionError(f"PointCloud2 has no x, y, z fields (fields: {names})")
    colors, source = cloud_color_words(cloud, colormap_option(ctx))
    components: dict[str, Batch] = {"positions": cloud.positions}
    if colors is not None:
        components["colors"] = colors
    # Intensity stays a column (Rerun's importer keeps it too); a packed colour is all in ``colors``.
    fields = {
        name: values
        for name, values in cloud.fields.items()
        if name != source or source not in PACKED_COLOR_FIELDS
    }
    rows = [Row(ctx.entity_path, "Points3D", components, extra=extra_columns("Points3D", fields))]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


def scan_hits(
    ranges: npt.NDArray[np.float32],
    angles: npt.NDArray[np.float64],
    range_min: np.float32 | npt.NDArray[np.float32],
    range_max: np.float32 | npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float32]]:
    """The beams that hit (finite, within [range_min, range_max]) and their (hits, 3) points at z = 0,
    for one scan or, broadcast, for a batch of scans one per row (points then scan after scan)."""
    with np.errstate(invalid="ignore"):
        keep = np.isfinite(ranges) & (ranges >= range_min) & (ranges <= range_max)
    hits = ranges[keep].astype(np.float64)
    positions = np.zeros((hits.shape[0], 3), dtype=np.float32)
    positions[:, 0] = hits * np.cos(angles[keep])
    positions[:, 1] = hits * np.sin(angles[keep])
    return keep, positions


def convert_laser_scan(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Points3D`` in the scan frame: beam i at angle ``angle_min + i * angle_increment``, z = 0.

    Ranges that are NaN, infinite or outside [range_min, range_max] are dropped (REP 117: they are no
    hits). ``intensities``, when there is one per beam, become the extra column ``intensity`` and the
    ``colors`` (through the ``colormap`` option, normalized over the scan); without them the range
    colours the hits, so a scan is never one colour-less mass (RViz colours by intensity, then axis).
    """
    ranges = np.asarray(msg.ranges, dtype=np.float32)
    beams = np.arange(ranges.shape[0], dtype=np.float64)
    angle_min, increment = float32_field(msg.angle_min), float32_field(msg.angle_increment)
    if not (np.isfinite(angle_min) and np.isfinite(increment)):  # every hit was NaN, uncounted (audit)
        raise ConversionError(
            f"scan angles are not numbers (angle_min {angle_min}, angle_increment {increment})"
        )
    angles = angle_min + beams * increment
    keep, positions = scan_hits(ranges, angles, np.float32(msg.range_min), np.float32(msg.range_max))
    components: dict[str, Batch] = {"positions": positions}
    extra: dict[str, Batch] = {}
    intensities = np.asarray(msg.intensities, dtype=np.float32)
    if intensities.shape[0] == ranges.shape[0] and ranges.shape[0] > 0:
        kept_intensities = intensities[keep]
        components["colors"] = colormap_colors(kept_intensities, colormap_option(ctx))
        extra["intensity"] = kept_intensities
    else:
        components["colors"] = colormap_colors(ranges[keep], colormap_option(ctx))
    rows = [Row(ctx.entity_path, "Points3D", components, extra=extra)]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


def laser_scan_columns(msgs: MessageColumns, ctx: ConvertContext) -> list[ColumnRows] | None:
    """:func:`convert_laser_scan` for a batch of scans with the same number of beams: the geometry of
    every beam of every scan at once, then each scan's hits; declined for a batch with angles that are
    not numbers (an error per scan, message by message)."""
    times, count = msgs.default_times(), len(msgs)
    ranges = msgs.column("ranges").astype(np.float32, copy=False)
    beams = np.arange(ranges.shape[1], dtype=np.float64)
    angle_min = msgs.column("angle_min").astype(np.float64)
    increment = msgs.column("angle_increment").astype(np.float64)
    if not (np.isfinite(angle_min).all() and np.isfinite(increment).all()):
        return None
    # The same operations as the one-scan converter, a scan per row, so the values are the same.
    angles = angle_min[:, None] + beams * increment[:, None]
    range_min = msgs.column("range_min").astype(np.float32)[:, None]
    range_max = msgs.column("range_max").astype(np.float32)[:, None]
    keep, positions = scan_hits(ranges, angles, range_min, range_max)
    ends = np.cumsum(np.count_nonzero(keep, axis=1))[:-1]
    components: dict[str, ColumnBatch] = {"positions": np.split(positions, ends)}
    extra: dict[str, ColumnBatch] = {}
    intensities = msgs.column("intensities").astype(np.float32, copy=False)
    if intensities.shape[1] == ranges.shape[1] and ranges.shape[1] > 0:
        kept = np.split(intensities[keep], ends)
        colormap = colormap_option(ctx)
        components["colors"] = [colormap_colors(scan, colormap) for scan in kept]
        extra["intensity"] = kept
    else:
        colormap = colormap_option(ctx)
        components["colors"] = [colormap_colors(scan, colormap) for scan in np.split(ranges[keep], ends)]
    path = ctx.entity_path
    rows = [ColumnRows(path, "Points3D", times, components, extra=extra)]
    frame = msgs.frame()
    if frame:
        rows.append(ColumnRows(path, "CoordinateFrame", times, {"frame": Cycled([[frame]], count)}))
    return rows


# ---- plots ---------------------------------------------------------------------------------------------


def series_rows(
    entity_path: str,
    values: npt.NDArray[np.float64],
    names: tuple[str, ...],
    extra: Mapping[str, Batch] | None = None,
) -> list[Row]:
    """A ``Scalars`` row plus the series' names as a static ``SeriesLines`` row.

    The names row is the same for every message; converters are pure, so each message repeats it and the
    sinks keep the last static value (Rerun's importer logs it once).
    """
    return [
        Row(entity_path, "Scalars", {"scalars": values}, extra=dict(extra or {})),
        Row(entity_path, "SeriesLines", {"names": list(names)}, static=True),
    ]


def convert_imu(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Six ``Scalars`` (gyroscope x, y, z then accelerometer x, y, z, named as Rerun names them) with the
    orientation quaternion (x, y, z, w) as the extra column ``orientation`` of four values, as Rerun keeps
    it (``sensor_msgs.msg.Imu:orientation``); not a transform, since an IMU's orientation is relative to
    an unnamed world frame."""
    gyro, accel, quat = msg.angular_velocity, msg.linear_acceleration, msg.orientation
    # Built directly (not from vec3 pieces): IMUs publish at hundreds of Hz.
    values = np.array([gyro.x, gyro.y, gyro.z, accel.x, accel.y, accel.z], dtype=np.float64)
    extra = {"orientation": np.array([quat.x, quat.y, quat.z, quat.w], dtype=np.float64)}
    rows = series_rows(ctx.entity_path, values, IMU_SERIES_NAMES, extra)
    return with_frame(rows, ctx.entity_path, header_frame(msg))


def imu_columns(msgs: MessageColumns, ctx: ConvertContext) -> list[ColumnRows]:
    """:func:`convert_imu` for a batch of messages."""
    times, count = msgs.default_times(), len(msgs)
    values = msgs.floats(*(f"{vector}.{axis}" for vector in IMU_VECTORS for axis in "xyz"))
    orientation = msgs.floats(*(f"orientation.{axis}" for axis in "xyzw"))
    path = ctx.entity_path
    rows = [
        ColumnRows(path, "Scalars", times, {"scalars": values}, extra={"orientation": orientation}),
        ColumnRows(path, "SeriesLines", {}, {"names": Cycled([list(IMU_SERIES_NAMES)], count)}, static=True),
    ]
    frame = msgs.frame()
    if frame:
        rows.append(ColumnRows(path, "CoordinateFrame", times, {"frame": Cycled([[frame]], count)}))
    return rows


def convert_joint_state(msg: Any, ctx: ConvertContext) -> list[Row]:
    """One plot per joint on ``<entity>/position``, ``/velocity`` and ``/effort``: ``Scalars`` plus the joint
    names as ``SeriesLines`` (not static: the set of joints may change). An empty array is left out (a
    joint state may carry positions only); one whose length differs from the number of names is bad data,
    left out and counted (:class:`PartialConversionError`), as robot_state_publisher warns of it.
    ``<entity>`` gets the ``CoordinateFrame`` row."""
    names = [str(name) for name in msg.name]
    rows: list[Row] = []
    mismatched = []
    for kind in JOINT_STATE_KINDS:
        values = np.asarray(getattr(msg, kind), dtype=np.float64).reshape(-1)
        if values.size == 0:
            continue
        if values.size != len(names):
            plural = "s" if values.size > 1 else ""
            mismatched.append(f"{kind} has {values.size} value{plural} for {len(names)} joint names")
            continue
        path = sub_path(ctx.entity_path, kind)
        rows.append(Row(path, "Scalars", {"scalars": values}))
        rows.append(Row(path, "SeriesLines", {"names": list(names)}))
    # The frame row is written even for an empty frame_id (as Rerun's importer does): it is the one row
    # that <entity> itself gets for every message.
    rows.append(Row(ctx.entity_path, "CoordinateFrame", {"frame": [header_frame(msg)]}))
    positions = np.asarray(msg.position, dtype=np.float64).reshape(-1)
    rows += ctx.shared.get(RobotModelState).joint_rows(names, positions, ctx.shared.tf_children)
    if mismatched:
        raise PartialConversionError("; ".join(mismatched) + ": left out", rows)
    return rows


def joint_state_columns(msgs: MessageColumns, ctx: ConvertContext) -> list[ColumnRows] | None:
    """:func:`convert_joint_state` for a batch of messages, with the robot model's joint transforms;
    declined when the robot model has a non-finite position to skip."""
    times, count = msgs.default_times(), len(msgs)
    names = [msgs.string(f"name[{index}]") for index in range(msgs.length("name"))]
    rows = []
    for kind in JOINT_STATE_KINDS:
        values = msgs.column(kind).astype(np.float64, copy=False)
        if values.shape[1] != len(names) and values.shape[1]:
            return None  # bad data: message by message, each one counted
        if values.shape[1] == 0:
            continue
        path = sub_path(ctx.entity_path, kind)
        rows.append(ColumnRows(path, "Scalars", times, {"scalars": values}))
        rows.append(ColumnRows(path, "SeriesLines", times, {"names": Cycled([names], count)}))
    frame = Cycled([[msgs.frame()]], count)
    rows.append(ColumnRows(ctx.entity_path, "CoordinateFrame", times, {"frame": frame}))
    positions = msgs.column("position").astype(np.float64, copy=False)
    robot = ctx.shared.get(RobotModelState).joint_column_rows(names, positions, times, ctx.shared.tf_children)
    return None if robot is None else rows + robot


def convert_nav_sat_fix(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``GeoPoints`` ``positions`` [[latitude, longitude]] with the extra column ``altitude`` for a fix.

    A message without a fix (status -1) stays out of the track: where it still has a finite latitude and
    longitude (a receiver repeating its last position), it is drawn on ``<entity>/no_fix`` in red, with
    ``status`` and ``altitude`` as extra columns, so dropouts show on the map without bending the track.
    NaN positions without a fix (what receivers send then) give nothing but the frame row; with a fix,
    or a latitude or longitude out of range, they are bad data: nothing drawn, the error counted (found
    by an audit: one vanished without a word, the other drew a spike to the map's edge)."""
    status = int(getattr(getattr(msg, "status", None), "status", 0))
    latitude, longitude = float(msg.latitude), float(msg.longitude)
    finite = bool(np.isfinite(latitude) and np.isfinite(longitude))
    if (not finite and status != NAV_SAT_NO_FIX) or (finite and (abs(latitude) > 90 or abs(longitude) > 180)):
        framed = with_frame([], ctx.entity_path, header_frame(msg))
        raise PartialConversionError(
            f"fix at latitude {latitude:g}, longitude {longitude:g}: left out", framed
        )
    rows: list[Row] = []
    if finite:
        positions = np.array([[latitude, longitude]], dtype=np.float64)
        altitude = np.array([float(msg.altitude)], dtype=np.float64)
        if status != NAV_SAT_NO_FIX:
            rows.append(
                Row(ctx.entity_path, "GeoPoints", {"positions": positions}, extra={"altitude": altitude})
            )
        else:
            rows.append(no_fix_row(ctx.entity_path, positions, altitude, status))
    return with_frame(rows, ctx.entity_path, header_frame(msg))


def no_fix_row(
    entity_path: str, positions: npt.NDArray[np.float64], altitude: npt.NDArray[np.float64], status: int
) -> Row:
    """A position reported without a fix, on its own entity (see :func:`convert_nav_sat_fix`)."""
    return Row(
        sub_path(entity_path, "no_fix"),
        "GeoPoints",
        {"positions": positions, "colors": np.array([NO_FIX_COLOR], dtype=np.uint8)},
        extra={"altitude": altitude, "status": np.array([status], dtype=np.int8)},
    )


def convert_magnetic_field(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The field vector (tesla) as one ``Arrows3D`` from the sensor frame's origin."""
    vectors = vec3(msg.magnetic_field).astype(np.float32).reshape(1, 3)
    rows = [Row(ctx.entity_path, "Arrows3D", {"vectors": vectors})]
    return with_frame(rows, ctx.entity_path, header_frame(msg))


def single_scalar_rows(msg: Any, ctx: ConvertContext, field: str, series_name: str) -> list[Row]:
    """One ``Scalars`` value with its ``variance`` as an extra column (when the message has one)."""
    values = np.array([float(getattr(msg, field))], dtype=np.float64)
    extra: dict[str, Batch] = {}
    if hasattr(msg, "variance"):
        extra["variance"] = np.array([float(msg.variance)], dtype=np.float64)
    rows = series_rows(ctx.entity_path, values, (series_name,), extra)
    return with_frame(rows, ctx.entity_path, header_frame(msg))


def convert_temperature(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Degrees Celsius as one ``Scalars`` value (``variance`` as an extra column)."""
    return single_scalar_rows(msg, ctx, "temperature", "temperature")


def convert_fluid_pressure(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Pascals as one ``Scalars`` value (``variance`` as an extra column)."""
    return single_scalar_rows(msg, ctx, "fluid_pressure", "fluid_pressure")


def convert_illuminance(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Lux as one ``Scalars`` value (``variance`` as an extra column)."""
    return single_scalar_rows(msg, ctx, "illuminance", "illuminance")


def convert_relative_humidity(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Relative humidity (0..1) as one ``Scalars`` value (``variance`` as an extra column)."""
    return single_scalar_rows(msg, ctx, "relative_humidity", "relative_humidity")


def convert_range(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Scalars`` [range, min_range, max_range], as Rerun's importer plots them, and the field of view as a
    cone on ``<entity>/cone`` (:func:`~rerun_bridge.convert.sensor_msgs_misc.range_cone_rows`)."""
    values = np.array([float32_field(getattr(msg, name)) for name in RANGE_SERIES_NAMES], dtype=np.float64)
    rows = with_frame(
        series_rows(ctx.entity_path, values, RANGE_SERIES_NAMES), ctx.entity_path, header_frame(msg)
    )
    problem = range_limits_problem(msg)
    if problem is not None:  # the plot shows what was sent; no cone to contradict it
        raise PartialConversionError(f"{problem}: the cone is left out", rows)
    return rows + range_cone_rows(msg, ctx.entity_path)


def convert_battery_state(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Scalars`` [percentage, voltage, current, charge, temperature] in Rerun's importer's order."""
    values = np.array([float32_field(getattr(msg, name)) for name in BATTERY_SERIES_NAMES], dtype=np.float64)
    rows = series_rows(ctx.entity_path, values, BATTERY_SERIES_NAMES)
    return with_frame(rows, ctx.entity_path, header_frame(msg))


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("sensor_msgs/msg/Image", convert_image, ("Image", "DepthImage", "Tensor", "CoordinateFrame")),
    Converter(
        "sensor_msgs/msg/CompressedImage",
        convert_compressed_image,
        ("EncodedImage", "EncodedDepthImage", "CoordinateFrame"),
    ),
    Converter("sensor_msgs/msg/CameraInfo", convert_camera_info, ("Pinhole",)),
    Converter("sensor_msgs/msg/PointCloud2", convert_point_cloud2, ("Points3D", "CoordinateFrame")),
    Converter(
        "sensor_msgs/msg/LaserScan",
        convert_laser_scan,
        ("Points3D", "CoordinateFrame"),
        columns=laser_scan_columns,
    ),
    Converter(
        "sensor_msgs/msg/Imu", convert_imu, ("Scalars", "SeriesLines", "CoordinateFrame"), columns=imu_columns
    ),
    Converter(
        "sensor_msgs/msg/JointState",
        convert_joint_state,
        ("Scalars", "SeriesLines", "CoordinateFrame", "Transform3D"),
        columns=joint_state_columns,
    ),
    Converter("sensor_msgs/msg/NavSatFix", convert_nav_sat_fix, ("GeoPoints", "CoordinateFrame")),
    Converter("sensor_msgs/msg/MagneticField", convert_magnetic_field, ("Arrows3D", "CoordinateFrame")),
    Converter(
        "sensor_msgs/msg/Temperature", convert_temperature, ("Scalars", "SeriesLines", "CoordinateFrame")
    ),
    Converter(
        "sensor_msgs/msg/FluidPressure", convert_fluid_pressure, ("Scalars", "SeriesLines", "CoordinateFrame")
    ),
    Converter(
        "sensor_msgs/msg/Illuminance", convert_illuminance, ("Scalars", "SeriesLines", "CoordinateFrame")
    ),
    Converter(
        "sensor_msgs/msg/RelativeHumidity",
        convert_relative_humidity,
        ("Scalars", "SeriesLines", "CoordinateFrame"),
    ),
    Converter(
        "sensor_msgs/msg/Range",
        convert_range,
        ("Scalars", "SeriesLines", "LineStrips3D", "CoordinateFrame"),
    ),
    Converter(
        "sensor_msgs/msg/BatteryState", convert_battery_state, ("Scalars", "SeriesLines", "CoordinateFrame")
    ),
)
