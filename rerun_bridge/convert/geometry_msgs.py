"""geometry_msgs: transforms, poses, points, vectors, twists, wrenches, accelerations, polygons and inertias,
with their meaning drawn (docs/maps.md): position covariances as ellipsoids on ``<entity>/covariance``,
twists / wrenches / accelerations as arrows on ``<entity>/arrow`` besides their plots (with a covariance:
the linear part's ellipsoid at the linear arrow's tip and the six standard deviations as plots), a
single pose's x axis as an arrow on ``<entity>/arrow`` (RViz's Pose display), orientations as axes,
inertias as their mass point and equivalent box.

Header-less forms (``Twist`` on ``/cmd_vel``, ``Pose``, ``Point``...) have no frame of their own: the
``frame`` option of their topic gives one (``/cmd_vel``: ``{frame: base_link}``); without it they are
drawn in the fixed frame as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.convert.common import (
    header_frame,
    option_length,
    quat_xyzw,
    sub_path,
    topic_frame,
    vec3,
    with_frame,
)
from rerun_bridge.convert.covariance import (
    covariance_sigma,
    one_ellipsoid,
    position_blocks,
    standard_deviations,
    with_covariance_checked,
)
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.convert.rotations import matrices_to_quaternions, quaternions_to_matrices
from rerun_bridge.convert.tf2_msgs import transform_row
from rerun_bridge.convert.topic_state import topic_state
from rerun_bridge.convert.trail import topic_trail, trail_columns, trail_rows
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import Batch, ColumnRows, Cycled, Row

TWIST_NAMES = ["linear/x", "linear/y", "linear/z", "angular/x", "angular/y", "angular/z"]
WRENCH_NAMES = ["force/x", "force/y", "force/z", "torque/x", "torque/y", "torque/z"]
ACCEL_NAMES = TWIST_NAMES
#: Plots of a twist's or acceleration's standard deviations, in the order of its covariance's rows.
STDDEV_NAMES = [f"{name} stddev" for name in TWIST_NAMES]
#: Arrow colours of a vector pair's first (linear, force) and second (angular, torque) vector.
_PAIR_COLORS: Final = np.array([[255, 96, 48, 255], [255, 200, 0, 255]], dtype=np.uint8)
_AXIS_COLORS: Final = np.array([[255, 0, 0, 255], [0, 200, 0, 255], [0, 64, 255, 255]], dtype=np.uint8)
DEFAULT_AXIS_LENGTH: Final = 0.5
#: RViz's PoseArray arrow length.
DEFAULT_POSE_ARROW_LENGTH: Final = 0.3
#: A single pose's arrow (PoseStamped, Pose, PoseWithCovariance, Odometry): RViz's Pose and Odometry
#: displays draw a 1 m arrow along the pose's x axis, in their default colour.
DEFAULT_SINGLE_POSE_ARROW_LENGTH: Final = 1.0
POSE_ARROW_COLOR: Final = np.array([[255, 25, 0, 255]], dtype=np.uint8)


#: The point a pose shows as, in the pose's own frame: its instance poses place it (Rerun draws an entity's
#: points once per instance pose). Written at the translations instead, Rerun's viewer drew each pose's
#: point at twice its offset (and a PoseArray's every point once per pose).
POSE_POINT: Final = np.zeros((1, 3), dtype=np.float32)


def pose_rows(entity_path: str, poses: list[Any]) -> list[Row]:
    """Poses as ``InstancePoses3D`` (Rerun's mapping) plus a ``Points3D`` point they place, so they show."""
    translations = np.array([vec3(p.position) for p in poses], dtype=np.float64).reshape(-1, 3)
    quaternions = np.array([quat_xyzw(p.orientation) for p in poses], dtype=np.float64).reshape(-1, 4)
    return [
        Row(entity_path, "InstancePoses3D", {"translations": translations, "quaternions": quaternions}),
        Row(entity_path, "Points3D", {"positions": POSE_POINT if poses else POSE_POINT[:0]}),
    ]


def pose_arrow_rows(entity_path: str, pose: Any, frame: str, ctx: ConvertContext) -> list[Row]:
    """The pose's x axis as an arrow from its position on ``<entity>/arrow`` (``arrow_length`` option, in
    metres; RViz's 1 m by default), in ``frame``. Its own entity: Rerun places an entity's arrows by the
    entity's instance poses, which would move this one a second time."""
    length = option_length(ctx, "arrow_length", DEFAULT_SINGLE_POSE_ARROW_LENGTH)
    rotation = quaternions_to_matrices([quat_xyzw(pose.orientation)])
    path = sub_path(entity_path, "arrow")
    components: dict[str, Batch] = {
        "origins": np.asarray(vec3(pose.position), dtype=np.float32).reshape(1, 3),
        "vectors": (rotation[:, :, 0] * length).astype(np.float32),
        "colors": POSE_ARROW_COLOR,
    }
    return with_frame([Row(path, "Arrows3D", components)], path, frame)


def pose_arrow_columns(
    entity_path: str,
    msgs: MessageColumns,
    prefix: str,
    times: Mapping[str, npt.NDArray[np.int64]],
    length: float,
) -> list[ColumnRows]:
    """:func:`pose_arrow_rows` of one ``geometry_msgs/Pose`` (at ``prefix``) per message, for a batch."""
    count = len(msgs)
    origins = msgs.floats(*(f"{prefix}.position.{axis}" for axis in "xyz")).astype(np.float32)
    rotations = quaternions_to_matrices(msgs.floats(*(f"{prefix}.orientation.{axis}" for axis in "xyzw")))
    path = sub_path(entity_path, "arrow")
    components: dict[str, Any] = {
        "origins": origins.reshape(count, 1, 3),
        "vectors": (rotations[:, :, 0] * length).astype(np.float32).reshape(count, 1, 3),
        "colors": Cycled([POSE_ARROW_COLOR], count),
    }
    return [ColumnRows(path, "Arrows3D", times, components), *frame_columns(path, msgs, times)]


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
        ColumnRows(entity_path, "Points3D", times, {"positions": np.zeros((count, 1, 3), dtype=np.float32)}),
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


def arrow_rows(
    entity_path: str, vectors: npt.NDArray[Any], colors: Batch, labels: list[str], frame: str
) -> list[Row]:
    """``Arrows3D`` from the frame's origin on ``<entity>/arrow``; non-finite vectors are left out."""
    finite = np.isfinite(vectors).all(axis=1)
    path = sub_path(entity_path, "arrow")
    components: dict[str, Batch] = {
        "vectors": vectors[finite].astype(np.float32),
        "colors": np.asarray(colors)[finite],
        "labels": [label for label, keep in zip(labels, finite.tolist(), strict=True) if keep],
    }
    return with_frame([Row(path, "Arrows3D", components)], path, frame)


def vector_pair_rows(msg: Any, ctx: ConvertContext, pair: tuple[Any, Any], names: list[str]) -> list[Row]:
    """Six plots on the entity, and both vectors as arrows (``arrow_scale`` option: metres per unit)."""
    scale = option_length(ctx, "arrow_scale", 1.0)
    vectors = np.vstack([vec3(pair[0]), vec3(pair[1])]) * scale
    labels = [names[0].partition("/")[0], names[3].partition("/")[0]]
    rows = vector_scalars(ctx.entity_path, pair[0], pair[1], names)
    return rows + arrow_rows(ctx.entity_path, vectors, _PAIR_COLORS, labels, topic_frame(msg, ctx))


def covariance_rows(pose: Any, covariance: Any, frame: str, ctx: ConvertContext) -> list[Row]:
    """The position covariance as an ``Ellipsoids3D`` at the pose on ``<entity>/covariance`` (none when
    it cannot be drawn: see :mod:`~rerun_bridge.convert.covariance`)."""
    sigma, entity_path = covariance_sigma(ctx.options), ctx.entity_path
    shape = one_ellipsoid(position_blocks(covariance)[0], sigma, topic_state(ctx))
    if shape is None:
        return []
    path = sub_path(entity_path, "covariance")
    components: dict[str, Batch] = {
        "centers": vec3(pose.position).astype(np.float32).reshape(1, 3),
        "half_sizes": shape[0],
        "quaternions": shape[1],
    }
    return with_frame([Row(path, "Ellipsoids3D", components)], path, frame)


def velocity_covariance_rows(msg: Any, ctx: ConvertContext, linear: Any, covariance: Any) -> list[Row]:
    """A twist's or acceleration's covariance: the linear block's ellipsoid (``covariance_sigma``, scaled
    like the arrows by ``arrow_scale``) centred at the linear arrow's tip on ``<entity>/covariance``, and
    the six standard deviations (unscaled, the message's units) as plots on ``<entity>/stddev``."""
    sigma, scale = covariance_sigma(ctx.options), option_length(ctx, "arrow_scale", 1.0)
    rows: list[Row] = []
    tip = vec3(linear) * scale
    shape = one_ellipsoid(position_blocks(covariance)[0], sigma, topic_state(ctx))
    if shape is not None and np.isfinite(tip).all():
        path = sub_path(ctx.entity_path, "covariance")
        components: dict[str, Batch] = {
            "centers": tip.astype(np.float32).reshape(1, 3),
            "half_sizes": (shape[0] * scale).astype(np.float32),
            "quaternions": shape[1],
        }
        rows += with_frame([Row(path, "Ellipsoids3D", components)], path, topic_frame(msg, ctx))
    return rows + stddev_rows(sub_path(ctx.entity_path, "stddev"), covariance)


def stddev_rows(entity_path: str, covariance: Any) -> list[Row]:
    """The square roots of a 6 x 6 covariance's variances as six plots (none when not estimated)."""
    drawn, deviations = standard_deviations(np.asarray(covariance, dtype=np.float64).reshape(1, 36))
    if not drawn[0]:
        return []
    return [
        Row(entity_path, "Scalars", {"scalars": deviations[0]}),
        Row(entity_path, "SeriesLines", {"names": STDDEV_NAMES}),
    ]


def convert_transform_stamped(msg: Any, ctx: ConvertContext) -> list[Row]:
    return [transform_row(msg, ctx.entity_path, ctx.static)]


def convert_pose_stamped(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The pose, and the trail of recent positions on ``<entity>/trail`` as Odometry's
    (:mod:`~rerun_bridge.convert.trail`)."""
    trail = topic_trail(topic_state(ctx), ctx.options)
    frame = header_frame(msg)
    rows = with_frame(pose_rows(ctx.entity_path, [msg.pose]), ctx.entity_path, frame)
    rows += pose_arrow_rows(ctx.entity_path, msg.pose, frame, ctx)
    return rows + trail_rows(trail, ctx.entity_path, vec3(msg.pose.position), frame)


def pose_stamped_columns(msgs: MessageColumns, ctx: ConvertContext) -> list[ColumnRows]:
    length = option_length(ctx, "arrow_length", DEFAULT_SINGLE_POSE_ARROW_LENGTH)
    trail = topic_trail(topic_state(ctx), ctx.options)
    times = msgs.default_times()
    rows = pose_columns(ctx.entity_path, msgs, "pose", times) + frame_columns(ctx.entity_path, msgs, times)
    rows += pose_arrow_columns(ctx.entity_path, msgs, "pose", times, length)
    positions = msgs.floats(*(f"pose.position.{axis}" for axis in "xyz"))
    return rows + trail_columns(trail, ctx.entity_path, positions, times, msgs.frame())


def convert_pose(msg: Any, ctx: ConvertContext) -> list[Row]:
    frame = topic_frame(msg, ctx)
    rows = with_frame(pose_rows(ctx.entity_path, [msg]), ctx.entity_path, frame)
    return rows + pose_arrow_rows(ctx.entity_path, msg, frame, ctx)


def convert_pose_with_covariance(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The pose, its position covariance as an ellipsoid (``PoseWithCovariance``, also inside
    ``PoseWithCovarianceStamped``: AMCL's estimate) and its trail, as Odometry's."""
    covariance_sigma(ctx.options)  # a bad option fails the message before the trail moves on
    trail = topic_trail(topic_state(ctx), ctx.options)
    inner = getattr(msg, "pose", msg)
    with_covariance = inner if hasattr(inner, "covariance") else msg
    frame = topic_frame(msg, ctx)
    rows = with_frame(pose_rows(ctx.entity_path, [with_covariance.pose]), ctx.entity_path, frame)
    rows += pose_arrow_rows(ctx.entity_path, with_covariance.pose, frame, ctx)
    rows += covariance_rows(with_covariance.pose, with_covariance.covariance, frame, ctx)
    rows += trail_rows(trail, ctx.entity_path, vec3(with_covariance.pose.position), frame)
    return with_covariance_checked(rows, with_covariance.covariance, "pose covariance")


def convert_pose_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The poses, and each one's x axis as an arrow (``arrow_length`` option, RViz's 0.3 m by default) on
    ``<topic>/arrows``: on the poses' own entity Rerun's viewer placed every arrow by the first of its
    instance poses (an entity's arrows take one transform), on top of the arrow's own origin."""
    poses = list(msg.poses)
    frame = header_frame(msg)
    rows = with_frame(pose_rows(ctx.entity_path, poses), ctx.entity_path, frame)
    if poses:
        length = option_length(ctx, "arrow_length", DEFAULT_POSE_ARROW_LENGTH)
        rotations = quaternions_to_matrices([quat_xyzw(pose.orientation) for pose in poses])
        components: dict[str, Batch] = {
            "origins": np.array([vec3(pose.position) for pose in poses], dtype=np.float32),
            "vectors": (rotations[:, :, 0] * length).astype(np.float32),
        }
        arrows = sub_path(ctx.entity_path, "arrows")
        rows += with_frame([Row(arrows, "Arrows3D", components)], arrows, frame)
    return rows


def convert_point(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Point`` and ``PointStamped``: one point."""
    point = getattr(msg, "point", msg)
    rows = [Row(ctx.entity_path, "Points3D", {"positions": vec3(point).astype(np.float32).reshape(1, 3)})]
    return with_frame(rows, ctx.entity_path, topic_frame(msg, ctx))


def convert_vector3(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Vector3`` and ``Vector3Stamped``: an arrow from the frame's origin, and x / y / z as plots."""
    vector = getattr(msg, "vector", msg)
    values = vec3(vector)
    rows = [
        Row(ctx.entity_path, "Arrows3D", {"vectors": values.astype(np.float32).reshape(1, 3)}),
        Row(ctx.entity_path, "Scalars", {"scalars": values}),
        Row(ctx.entity_path, "SeriesLines", {"names": ["x", "y", "z"]}),
    ]
    return with_frame(rows, ctx.entity_path, topic_frame(msg, ctx))


def convert_quaternion(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Quaternion`` and ``QuaternionStamped``: the rotated x / y / z axes as red / green / blue arrows
    (``axis_length`` option), and roll / pitch / yaw (radians) as plots on ``<entity>/rpy``."""
    quaternion = quat_xyzw(getattr(msg, "quaternion", msg))
    if not np.isfinite(quaternion).all():
        raise ConversionError("quaternion has NaN or infinite values")
    rotation = quaternions_to_matrices(quaternion)[0]
    length = option_length(ctx, "axis_length", DEFAULT_AXIS_LENGTH)
    components: dict[str, Batch] = {
        "vectors": (rotation.T * length).astype(np.float32),
        "colors": _AXIS_COLORS,
        "labels": ["x", "y", "z"],
    }
    rows = with_frame([Row(ctx.entity_path, "Arrows3D", components)], ctx.entity_path, topic_frame(msg, ctx))
    rpy_path = sub_path(ctx.entity_path, "rpy")
    rows.append(Row(rpy_path, "Scalars", {"scalars": roll_pitch_yaw(rotation)}))
    rows.append(Row(rpy_path, "SeriesLines", {"names": ["roll", "pitch", "yaw"]}))
    return rows


def roll_pitch_yaw(rotation: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Fixed-axis x-y-z angles (ROS's RPY: yaw about z, then pitch about y, then roll about x)."""
    pitch = np.arcsin(np.clip(-rotation[2, 0], -1.0, 1.0))
    roll = np.arctan2(rotation[2, 1], rotation[2, 2])
    yaw = np.arctan2(rotation[1, 0], rotation[0, 0])
    return np.array([roll, pitch, yaw], dtype=np.float64)


def _inner(msg: Any, field: str) -> tuple[Any, Any]:
    """The ``Twist`` (``field`` "twist") or ``Accel`` ("accel") inside every form of it, and the
    covariance of the ``WithCovariance`` forms (else None)."""
    covariance = None
    while not hasattr(msg, "linear"):
        covariance = getattr(msg, "covariance", covariance)
        msg = getattr(msg, field)
    return msg, covariance


def convert_twist(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Every twist form: six plots, and linear / angular velocity as arrows at the frame; the
    covariance of the ``WithCovariance`` forms by :func:`velocity_covariance_rows`."""
    twist, covariance = _inner(msg, "twist")
    rows = vector_pair_rows(msg, ctx, (twist.linear, twist.angular), TWIST_NAMES)
    if covariance is not None:
        rows += velocity_covariance_rows(msg, ctx, twist.linear, covariance)
        return with_covariance_checked(rows, covariance, "twist covariance")
    return rows


def convert_accel(msg: Any, ctx: ConvertContext) -> list[Row]:
    """Every accel form: six plots, and linear / angular acceleration as arrows at the frame; the
    covariance as :func:`convert_twist`'s."""
    accel, covariance = _inner(msg, "accel")
    rows = vector_pair_rows(msg, ctx, (accel.linear, accel.angular), ACCEL_NAMES)
    if covariance is not None:
        rows += velocity_covariance_rows(msg, ctx, accel.linear, covariance)
        return with_covariance_checked(rows, covariance, "accel covariance")
    return rows


def convert_wrench(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Wrench`` and ``WrenchStamped``: six plots, and force / torque as arrows at the frame."""
    wrench = getattr(msg, "wrench", msg)
    return vector_pair_rows(msg, ctx, (wrench.force, wrench.torque), WRENCH_NAMES)


def convert_polygon(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Polygon`` and ``PolygonStamped``: a closed line strip, as RViz draws it."""
    polygon = getattr(msg, "polygon", msg)
    points = [[p.x, p.y, p.z] for p in polygon.points]
    if points:
        points.append(points[0])
    strip = np.array(points, dtype=np.float32).reshape(-1, 3)
    rows = [Row(ctx.entity_path, "LineStrips3D", {"strips": [strip]})]
    return with_frame(rows, ctx.entity_path, topic_frame(msg, ctx))


def convert_inertia(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Inertia`` and ``InertiaStamped``: the centre of mass as a point labelled with the mass, the box of
    uniform density with the same inertia (principal axes; left out when the moments fit no box), and
    the mass as a plot on ``<entity>/mass``."""
    inertia = getattr(msg, "inertia", msg)
    mass = float(inertia.m)
    center = vec3(inertia.com)
    tensor = np.array(
        [
            [inertia.ixx, inertia.ixy, inertia.ixz],
            [inertia.ixy, inertia.iyy, inertia.iyz],
            [inertia.ixz, inertia.iyz, inertia.izz],
        ],
        dtype=np.float64,
    )
    if not (np.isfinite(mass) and mass >= 0 and np.isfinite(center).all() and np.isfinite(tensor).all()):
        raise ConversionError(f"inertia with mass {mass} or NaN / infinite values")
    position = center.astype(np.float32).reshape(1, 3)
    rows = [Row(ctx.entity_path, "Points3D", {"positions": position, "labels": [f"{mass:g} kg"]})]
    rows += equivalent_box_rows(ctx.entity_path, mass, position, tensor)
    rows = with_frame(rows, ctx.entity_path, topic_frame(msg, ctx))
    rows.append(Row(sub_path(ctx.entity_path, "mass"), "Scalars", {"scalars": np.array([mass])}))
    return rows


def equivalent_box_rows(
    entity_path: str, mass: float, center: npt.NDArray[np.float32], tensor: npt.NDArray[np.float64]
) -> list[Row]:
    """The solid box whose inertia about its centre is ``tensor``: along each principal axis its side s
    satisfies s^2 = 6 (I_j + I_k - I_i) / m."""
    if mass <= 0:
        return []
    moments, axes = np.linalg.eigh(tensor)
    squares = 6.0 * (moments.sum() - 2.0 * moments) / mass
    if (squares < 0).any() or not squares.any():
        return []
    axes[:, 2] *= np.sign(np.linalg.det(axes)) or 1.0
    components: dict[str, Batch] = {
        "centers": center,
        "half_sizes": (np.sqrt(squares) / 2).astype(np.float32).reshape(1, 3),
        "quaternions": matrices_to_quaternions(axes).astype(np.float32),
    }
    return [Row(entity_path, "Boxes3D", components)]


_POSE: Final = ("InstancePoses3D", "Points3D", "CoordinateFrame")
_SINGLE_POSE: Final = (*_POSE, "Arrows3D")
_POSE_TRAIL: Final = (*_SINGLE_POSE, "LineStrips3D")
_POSE_COVARIANCE: Final = (*_SINGLE_POSE, "Ellipsoids3D", "LineStrips3D")
_VECTOR_PAIR: Final = ("Scalars", "SeriesLines", "Arrows3D", "CoordinateFrame")
_VECTOR_PAIR_COVARIANCE: Final = (*_VECTOR_PAIR, "Ellipsoids3D")
_VECTOR: Final = ("Arrows3D", "Scalars", "SeriesLines", "CoordinateFrame")
_QUATERNION: Final = ("Arrows3D", "Scalars", "SeriesLines", "CoordinateFrame")
_INERTIA: Final = ("Points3D", "Boxes3D", "Scalars", "CoordinateFrame")
_POLYGON: Final = ("LineStrips3D", "CoordinateFrame")


def _each(converter: Any, archetypes: tuple[str, ...], *types: str) -> list[Converter]:
    return [Converter(f"geometry_msgs/msg/{name}", converter, archetypes) for name in types]


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("geometry_msgs/msg/TransformStamped", convert_transform_stamped, ("Transform3D",)),
    Converter(
        "geometry_msgs/msg/PoseStamped", convert_pose_stamped, _POSE_TRAIL, columns=pose_stamped_columns
    ),
    Converter("geometry_msgs/msg/Pose", convert_pose, _SINGLE_POSE),
    *_each(convert_pose_with_covariance, _POSE_COVARIANCE, "PoseWithCovariance", "PoseWithCovarianceStamped"),
    Converter("geometry_msgs/msg/PoseArray", convert_pose_array, (*_POSE, "Arrows3D")),
    *_each(convert_point, ("Points3D", "CoordinateFrame"), "Point", "PointStamped"),
    *_each(convert_vector3, _VECTOR, "Vector3", "Vector3Stamped"),
    *_each(convert_quaternion, _QUATERNION, "Quaternion", "QuaternionStamped"),
    *_each(convert_twist, _VECTOR_PAIR, "Twist", "TwistStamped"),
    *_each(convert_twist, _VECTOR_PAIR_COVARIANCE, "TwistWithCovariance", "TwistWithCovarianceStamped"),
    *_each(convert_accel, _VECTOR_PAIR, "Accel", "AccelStamped"),
    *_each(convert_accel, _VECTOR_PAIR_COVARIANCE, "AccelWithCovariance", "AccelWithCovarianceStamped"),
    *_each(convert_wrench, _VECTOR_PAIR, "Wrench", "WrenchStamped"),
    *_each(convert_polygon, _POLYGON, "Polygon", "PolygonStamped"),
    *_each(convert_inertia, _INERTIA, "Inertia", "InertiaStamped"),
)
