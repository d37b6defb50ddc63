"""One ``visualization_msgs/Marker`` as the instances of one Rerun archetype, in its header frame.

The marker's pose and scale are applied here (numpy), so every shape is given in the header frame and
shapes of many markers can share one row: a box's centre and rotation, a line strip's points, a mesh's
vertices. What each marker type becomes is listed in docs/markers.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.errors import ConversionError

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

# visualization_msgs/Marker types (the message's constants).
ARROW: Final = 0
CUBE: Final = 1
SPHERE: Final = 2
CYLINDER: Final = 3
LINE_STRIP: Final = 4
LINE_LIST: Final = 5
CUBE_LIST: Final = 6
SPHERE_LIST: Final = 7
POINTS: Final = 8
TEXT_VIEW_FACING: Final = 9
MESH_RESOURCE: Final = 10
TRIANGLE_LIST: Final = 11

TYPE_NAMES: Final = {
    ARROW: "ARROW",
    CUBE: "CUBE",
    SPHERE: "SPHERE",
    CYLINDER: "CYLINDER",
    LINE_STRIP: "LINE_STRIP",
    LINE_LIST: "LINE_LIST",
    CUBE_LIST: "CUBE_LIST",
    SPHERE_LIST: "SPHERE_LIST",
    POINTS: "POINTS",
    TEXT_VIEW_FACING: "TEXT_VIEW_FACING",
    MESH_RESOURCE: "MESH_RESOURCE",
    TRIANGLE_LIST: "TRIANGLE_LIST",
}


@dataclass(slots=True)
class Shape:
    """Instances of one archetype: numpy arrays (first axis: instances) or lists (strips, labels)."""

    archetype: str
    components: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Placement:
    """A marker's pose and scale: ``points -> rotation @ (points * scale) + translation``."""

    translation: F64
    quaternion: F64  # x, y, z, w (normalised)
    scale: F64

    def rotation(self) -> F64:
        return rotation_matrix(self.quaternion)

    def within(self, parent: Placement) -> Placement:
        """This placement given in ``parent``'s frame, as one in the frame ``parent`` is given in (a
        control marker of an interactive marker); the scale stays this one's."""
        quaternion = quaternion_product(parent.quaternion, self.quaternion)
        translation = parent.rotation() @ self.translation + parent.translation
        return Placement(translation, quaternion, self.scale)

    def apply(self, points: F64, scaled: bool = True) -> F32:
        local = points * self.scale if scaled else points
        return transform(local, self.rotation(), self.translation)


def transform(points: F64, rotation: F64, translation: F64) -> F32:
    """``rotation @ point + translation`` for each point, as float32; ``rotation`` and ``translation`` one
    for all points or one per point. Element-wise in a fixed order (not a matrix product, whose rounding
    depends on the BLAS kernel), so markers placed one by one and many at once get the same numbers."""
    placed = (
        points[:, 0:1] * rotation[..., :, 0]
        + points[:, 1:2] * rotation[..., :, 1]
        + points[:, 2:3] * rotation[..., :, 2]
        + translation
    )
    return placed.astype(np.float32)


def rotation_matrix(xyzw: F64) -> F64:
    """The rotation of a unit quaternion (x, y, z, w)."""
    x, y, z, w = xyzw
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def quaternion_product(first: F64, second: F64) -> F64:
    """``first * second`` of (x, y, z, w) quaternions: ``second``'s rotation, then ``first``'s."""
    x1, y1, z1, w1 = first
    x2, y2, z2, w2 = second
    return np.array(
        [
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
        ]
    )


def placement_of(pose: Any, scale: Any) -> Placement:
    """The pose and scale of a marker; an all-zero quaternion is the identity, as RViz takes it.

    Plain floats until the end: this runs for every marker of arrays ten thousand markers long."""
    position, orientation = pose.position, pose.orientation
    values = (
        float(position.x),
        float(position.y),
        float(position.z),
        float(orientation.x),
        float(orientation.y),
        float(orientation.z),
        float(orientation.w),
        float(scale.x),
        float(scale.y),
        float(scale.z),
    )
    if not all(map(math.isfinite, values)):
        raise ConversionError("marker pose or scale is not finite")
    qx, qy, qz, qw = values[3:7]
    norm = math.sqrt(qx * qx + qy * qy + qz * qz + qw * qw)
    quaternion = (0.0, 0.0, 0.0, 1.0) if norm < 1e-9 else (qx / norm, qy / norm, qz / norm, qw / norm)
    return Placement(np.array(values[:3]), np.array(quaternion), np.array(values[7:]))


def _channel(value: float) -> int:
    """A 0-1 colour channel as 0-255 (NaN as 0)."""
    if not value > 0.0:
        return 0
    return 255 if value >= 1.0 else int(value * 255.0 + 0.5)


def rgba8(color: Any) -> npt.NDArray[np.uint8]:
    """``std_msgs/ColorRGBA`` (0-1 floats) as one RGBA8 row."""
    channels = [_channel(color.r), _channel(color.g), _channel(color.b), _channel(color.a)]
    return np.array([channels], dtype=np.uint8)


def point_array(points: Sequence[Any]) -> F64:
    """``geometry_msgs/Point[]`` as (N, 3) float64; non-finite points are bad data."""
    array = np.array([(p.x, p.y, p.z) for p in points], dtype=np.float64).reshape(-1, 3)
    if not np.isfinite(array).all():
        raise ConversionError("marker points are not finite")
    return array


def point_colors(marker: Any, count: int) -> npt.NDArray[np.uint8]:
    """One RGBA8 row per point: the per-point colours when given, else the marker's colour."""
    colors = marker.colors
    if len(colors) == 0:
        return np.repeat(rgba8(marker.color), count, axis=0)
    if len(colors) != count:
        raise ConversionError(f"marker has {len(colors)} colors for {count} points")
    values = np.array([(c.r, c.g, c.b, c.a) for c in colors], dtype=np.float64)
    values[~(values > 0.0)] = 0.0  # NaN too
    return (np.minimum(values, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _centred(archetype: str, marker: Any, place: Placement, sizes: F64) -> Shape:
    """One box or ellipsoid at the marker's pose with the given full sizes."""
    return Shape(
        archetype,
        {
            "centers": place.translation.astype(np.float32).reshape(1, 3),
            "half_sizes": (sizes / 2.0).astype(np.float32).reshape(1, 3),
            "quaternions": place.quaternion.astype(np.float32).reshape(1, 4),
            "colors": rgba8(marker.color),
        },
    )


def _cube(marker: Any, place: Placement) -> Shape:
    return _centred("Boxes3D", marker, place, place.scale)


def _sphere(marker: Any, place: Placement) -> Shape:
    return _centred("Ellipsoids3D", marker, place, place.scale)


def _cylinder(marker: Any, place: Placement) -> Shape:
    # Rerun's cylinders are round: an elliptic RViz cylinder (scale.x != scale.y) gets the larger radius.
    return Shape(
        "Cylinders3D",
        {
            "centers": place.translation.astype(np.float32).reshape(1, 3),
            "lengths": np.array([place.scale[2]], dtype=np.float32),
            "radii": np.array([max(place.scale[0], place.scale[1]) / 2.0], dtype=np.float32),
            "quaternions": place.quaternion.astype(np.float32).reshape(1, 4),
            "colors": rgba8(marker.color),
        },
    )


def _arrow(marker: Any, place: Placement) -> Shape:
    """By two points (start, end; scale.x is the shaft diameter) or by pose (length scale.x along x)."""
    if len(marker.points) >= 2:
        ends = place.apply(point_array(marker.points[:2]), scaled=False)
        origin, vector = ends[0], ends[1] - ends[0]
        radius = place.scale[0] / 2.0
    elif len(marker.points) == 0:
        origin = place.translation.astype(np.float32)
        vector = (place.rotation()[:, 0] * place.scale[0]).astype(np.float32)
        radius = place.scale[1] / 2.0
    else:
        raise ConversionError("ARROW marker with one point (needs none or two)")
    return Shape(
        "Arrows3D",
        {
            "origins": origin.reshape(1, 3),
            "vectors": vector.reshape(1, 3),
            "radii": np.array([radius], dtype=np.float32),
            "colors": rgba8(marker.color),
        },
    )


def _strips(pairs: bool) -> Callable[[Any, Placement], Shape]:
    """LINE_STRIP (one strip) or LINE_LIST (a strip per pair); scale.x is the line width.

    Rerun colours a strip, not a vertex: with per-point colours each segment is its own strip, coloured
    by its first point (RViz blends along the segment).
    """

    def convert(marker: Any, place: Placement) -> Shape:
        points = place.apply(point_array(marker.points), scaled=False)
        colors = point_colors(marker, len(points))
        if pairs:
            if len(points) % 2:
                raise ConversionError(f"LINE_LIST marker with an odd number of points ({len(points)})")
            strips = [points[index : index + 2] for index in range(0, len(points), 2)]
            strip_colors = colors[0::2]
        elif len(marker.colors) and len(points) >= 2:
            strips = [points[index : index + 2] for index in range(len(points) - 1)]
            strip_colors = colors[:-1]
        else:
            strips = [points] if len(points) >= 2 else []
            strip_colors = colors[:1] if strips else colors[:0]
        radii = np.full(len(strips), place.scale[0] / 2.0, dtype=np.float32)
        return Shape("LineStrips3D", {"strips": strips, "radii": radii, "colors": strip_colors})

    return convert


def _list_of(archetype: str) -> Callable[[Any, Placement], Shape]:
    """CUBE_LIST / SPHERE_LIST: one box or ellipsoid per point, all of the marker's scale."""

    def convert(marker: Any, place: Placement) -> Shape:
        centers = place.apply(point_array(marker.points), scaled=False)
        count = len(centers)
        return Shape(
            archetype,
            {
                "centers": centers,
                "half_sizes": np.tile((place.scale / 2.0).astype(np.float32), (count, 1)),
                "quaternions": np.tile(place.quaternion.astype(np.float32), (count, 1)),
                "colors": point_colors(marker, count),
            },
        )

    return convert


def _points(marker: Any, place: Placement) -> Shape:
    positions = place.apply(point_array(marker.points), scaled=False)
    return Shape(
        "Points3D",
        {
            "positions": positions,
            "radii": np.full(len(positions), place.scale[0] / 2.0, dtype=np.float32),
            "colors": point_colors(marker, len(positions)),
        },
    )


def _text(marker: Any, place: Placement) -> Shape:
    """A labelled point at the marker's position; scale.z (the text height) sizes the point."""
    return Shape(
        "Points3D",
        {
            "positions": place.translation.astype(np.float32).reshape(1, 3),
            "radii": np.array([place.scale[2] / 10.0], dtype=np.float32),
            "colors": rgba8(marker.color),
            "labels": [str(marker.text)],
        },
    )


def _triangles(marker: Any, place: Placement) -> Shape:
    """TRIANGLE_LIST: every three points a triangle, scaled and placed; colours per vertex."""
    points = point_array(marker.points)
    if len(points) % 3:
        raise ConversionError(f"TRIANGLE_LIST marker with {len(points)} points (not a multiple of 3)")
    return Shape(
        "Mesh3D",
        {"vertex_positions": place.apply(points), "vertex_colors": point_colors(marker, len(points))},
    )


#: How each marker type (other than MESH_RESOURCE, see visualization_msgs) becomes a shape.
SHAPES: Final[Mapping[int, Callable[[Any, Placement], Shape]]] = {
    ARROW: _arrow,
    CUBE: _cube,
    SPHERE: _sphere,
    CYLINDER: _cylinder,
    LINE_STRIP: _strips(pairs=False),
    LINE_LIST: _strips(pairs=True),
    CUBE_LIST: _list_of("Boxes3D"),
    SPHERE_LIST: _list_of("Ellipsoids3D"),
    POINTS: _points,
    TEXT_VIEW_FACING: _text,
    TRIANGLE_LIST: _triangles,
}


#: Types whose shape is made of pose, scale and colour alone: many markers of one of them are built as
#: columns (:func:`pose_values`, :func:`pose_shapes`), the same instances :data:`SHAPES` makes one by one.
POSE_TYPES: Final = frozenset({CUBE, SPHERE, CYLINDER})


def pose_values(marker: Any) -> tuple[float, ...]:
    """Position, orientation, scale and colour of a marker: the 14 numbers :func:`pose_shapes` reads."""
    pose, scale, color = marker.pose, marker.scale, marker.color
    position, orientation = pose.position, pose.orientation
    return (
        position.x,
        position.y,
        position.z,
        orientation.x,
        orientation.y,
        orientation.z,
        orientation.w,
        scale.x,
        scale.y,
        scale.z,
        color.r,
        color.g,
        color.b,
        color.a,
    )


def pose_shapes(kind: int, values: F64) -> Shape:
    """Markers of one of :data:`POSE_TYPES` from their :func:`pose_values` rows, as one shape."""
    if not np.isfinite(values[:, :10]).all():
        raise ConversionError("marker pose or scale is not finite")
    quaternions = values[:, 3:7]
    norms = np.sqrt(np.sum(quaternions * quaternions, axis=1))
    unit = np.where(
        norms[:, None] < 1e-9, [0.0, 0.0, 0.0, 1.0], quaternions / np.maximum(norms, 1e-300)[:, None]
    )
    channels = values[:, 10:14].copy()
    channels[~(channels > 0.0)] = 0.0
    colors = (np.minimum(channels, 1.0) * 255.0 + 0.5).astype(np.uint8)
    centers = values[:, :3].astype(np.float32)
    scales = values[:, 7:10]
    if kind == CYLINDER:
        components = {
            "centers": centers,
            "lengths": scales[:, 2].astype(np.float32),
            "radii": (np.maximum(scales[:, 0], scales[:, 1]) / 2.0).astype(np.float32),
            "quaternions": unit.astype(np.float32),
            "colors": colors,
        }
        return Shape("Cylinders3D", components)
    halves = (scales / 2.0).astype(np.float32)
    components = {
        "centers": centers,
        "half_sizes": halves,
        "quaternions": unit.astype(np.float32),
        "colors": colors,
    }
    return Shape("Boxes3D" if kind == CUBE else "Ellipsoids3D", components)


def box_placeholder(marker: Any, place: Placement) -> Shape:
    """A mesh that cannot be loaded: a box of the marker's scale where it would be."""
    return _cube(marker, place)


def joined(shapes: Sequence[Shape]) -> Shape:
    """Shapes of one archetype with the same components as one shape with all their instances."""
    first = shapes[0]
    if len(shapes) == 1:
        return first
    components: dict[str, Any] = {}
    for name, value in first.components.items():
        parts = [shape.components[name] for shape in shapes]
        if isinstance(value, np.ndarray):
            components[name] = np.concatenate(parts)
        else:
            components[name] = [item for part in parts for item in part]
    return Shape(first.archetype, components)
