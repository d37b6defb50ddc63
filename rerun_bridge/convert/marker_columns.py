"""Shapes of many markers at once, from a MarkerArray read as columns (:mod:`rerun_bridge.cdr.marker_scan`).

:mod:`marker_shapes` turns one marker into the instances of one archetype, and a batch joins those of
markers of one namespace and type. Here the same instances come from numpy over all the batch's markers
at once: the same arithmetic in the same order (:func:`marker_shapes.transform` places points for both),
so the rows are equal value for value; test/convert/test_marker_columns.py holds them side by side.
Bad data (a count that does not fit the type, a NaN) is only detected here (:func:`has_bad_markers`
before, :class:`NonFinitePointsError` while building): the caller then converts the array marker by marker,
which raises the same error as always.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.cdr.marker_scan import I64, MarkerColumns, native_shapes
from rerun_bridge.convert.marker_shapes import (
    ARROW,
    CUBE,
    CUBE_LIST,
    CYLINDER,
    LINE_LIST,
    LINE_STRIP,
    POINTS,
    POSE_TYPES,
    SPHERE,
    SPHERE_LIST,
    TEXT_VIEW_FACING,
    TRIANGLE_LIST,
    TYPE_NAMES,
    Shape,
    pose_shapes,
    transform,
)
from rerun_bridge.model.strips import Strips

F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]
#: Types whose shape reads all of the marker's points (and per-point colours).
POINT_TYPES: Final = frozenset({LINE_STRIP, LINE_LIST, CUBE_LIST, SPHERE_LIST, POINTS, TRIANGLE_LIST})
_IDENTITY: Final = np.array([0.0, 0.0, 0.0, 1.0])


def rgba8_rows(values: F64) -> U8:
    """0-1 colour channels (N, 4) as RGBA8, as :func:`marker_shapes.rgba8` does one at a time."""
    channels = values.copy()
    channels[~(channels > 0.0)] = 0.0  # NaN too
    return (np.minimum(channels, 1.0) * 255.0 + 0.5).astype(np.uint8)


class NonFinitePointsError(Exception):
    """A batch's points are not all finite: only marker-by-marker conversion says which marker fails."""


def _rotations(quaternions: F64) -> F64:
    """The (N, 3, 3) rotations of unit quaternions (x, y, z, w), as marker_shapes.rotation_matrix."""
    x, y, z, w = (quaternions[:, column] for column in range(4))
    rotation = np.empty((len(quaternions), 3, 3))
    rotation[:, 0, 0] = 1 - 2 * (y * y + z * z)
    rotation[:, 0, 1] = 2 * (x * y - z * w)
    rotation[:, 0, 2] = 2 * (x * z + y * w)
    rotation[:, 1, 0] = 2 * (x * y + z * w)
    rotation[:, 1, 1] = 1 - 2 * (x * x + z * z)
    rotation[:, 1, 2] = 2 * (y * z - x * w)
    rotation[:, 2, 0] = 2 * (x * z - y * w)
    rotation[:, 2, 1] = 2 * (y * z + x * w)
    rotation[:, 2, 2] = 1 - 2 * (x * x + y * y)
    return rotation


class _Placed:
    """The pose of each of a batch's markers: translation, unit quaternion, rotation, scale, colour.
    ``native``: the C extension that computes them (and places the batch's points), or None for numpy."""

    def __init__(self, values: F64, native: Any) -> None:
        self.values = values
        self.native = native
        self.translation = values[:, :3]
        self.scale = values[:, 7:10]
        self._rotation: F64 | None = None
        if native is not None:
            self.quaternion = np.empty((len(values), 4))
            self._rotation = np.empty((len(values), 3, 3))
            self.colors = np.empty((len(values), 4), dtype=np.uint8)
            native.marker_poses(values, self.quaternion, self._rotation, self.colors)
            return
        x, y, z, w = (values[:, column] for column in range(3, 7))
        norm = np.sqrt(x * x + y * y + z * z + w * w)  # as math.sqrt of the same sum, left to right
        small = norm < 1e-9
        safe = np.where(small, 1.0, norm)
        self.quaternion = np.where(small[:, None], _IDENTITY, values[:, 3:7] / safe[:, None])
        self.colors = rgba8_rows(values[:, 10:14])

    @property
    def rotation(self) -> F64:
        """Each marker's rotation (N, 3, 3), made on first use."""
        if self._rotation is None:
            self._rotation = _rotations(self.quaternion)
        return self._rotation

    def rotation_of(self, owner: I64) -> F64:
        """The rotation of each marker at ``owner``: one (3, 3) for all when the markers share their
        orientation (markers laid out in a map often have none), the same numbers either way."""
        if len(self.quaternion) and bool((self.quaternion == self.quaternion[0]).all()):
            shared: F64 = _rotations(self.quaternion[:1])[0]
            return shared
        return self.rotation[owner]


class _Batch:
    """One batch's markers (indices into the columns, in order), their poses and their points."""

    def __init__(self, columns: MarkerColumns, indices: I64) -> None:
        self.columns = columns
        self.indices = indices
        self.placed = _Placed(columns.values[indices], native_shapes())
        self.counts = columns.point_counts[indices]
        self._owner: I64 | None = None

    @property
    def owner(self) -> I64:
        """For each point, the position of its marker in the batch."""
        if self._owner is None:
            self._owner = np.repeat(np.arange(len(self.indices)), self.counts)
        return self._owner

    def points(self, scaled: bool = False) -> npt.NDArray[np.float32]:
        """Every point of the batch, placed by its marker's pose (``scaled``: times its scale first)."""
        native = self.placed.native
        if native is not None:
            placed = np.empty((int(self.counts.sum()), 3), dtype=np.float32)
            offsets = self.columns.point_offsets[self.indices]
            if not native.place_points(
                self.columns.body,
                offsets,
                self.counts,
                self.placed.values,
                self.placed.rotation,
                scaled,
                placed,
            ):
                raise NonFinitePointsError
            return placed
        local = self.columns.points(self.indices)
        if not np.isfinite(local).all():
            raise NonFinitePointsError
        if scaled:
            local = local * self.placed.scale[self.owner]
        return transform(local, self.placed.rotation_of(self.owner), self.placed.translation[self.owner])

    def point_colors(self) -> U8:
        """One RGBA8 row per point: the per-point colours where a marker has them, else its colour."""
        columns, indices = self.columns, self.indices
        native = self.placed.native
        if native is not None:
            colors = np.empty((int(self.counts.sum()), 4), dtype=np.uint8)
            offsets, given = columns.color_offsets[indices], columns.color_counts[indices]
            native.point_colors(columns.body, self.counts, offsets, given, self.placed.colors, colors)
            return colors
        own = columns.color_counts[indices] > 0
        if not own.any():
            return self.placed.colors[self.owner]
        colors = self.placed.colors[self.owner].copy()
        given = np.repeat(own, self.counts)
        colors[given] = rgba8_rows(columns.colors(indices[own]))
        return colors

    def per_point(self, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """One row of ``values`` (one per marker) for each point."""
        return np.repeat(values, self.counts, axis=0)


def _arrows(batch: _Batch) -> Shape:
    """By two points (scale.x the shaft diameter) or by pose (length scale.x along x), marker by marker."""
    placed, columns = batch.placed, batch.columns
    origins = placed.translation.astype(np.float32)
    vectors = (placed.rotation[:, :, 0] * placed.scale[:, :1]).astype(np.float32)
    radii = (placed.scale[:, 1] / 2.0).astype(np.float32)
    by_points = batch.counts >= 2
    if by_points.any():
        indices = batch.indices[by_points]
        firsts = columns.point_offsets[indices] // 8
        values = np.frombuffer(columns.body, dtype="<f8", count=len(columns.body) // 8)
        ends = values[firsts[:, None] + np.arange(6)].reshape(-1, 2, 3)
        rotation, translation = placed.rotation[by_points], placed.translation[by_points]
        starts = transform(ends[:, 0], rotation, translation)
        stops = transform(ends[:, 1], rotation, translation)
        origins[by_points] = starts
        vectors[by_points] = stops - starts
        radii[by_points] = (placed.scale[by_points, 0] / 2.0).astype(np.float32)
    return Shape(
        "Arrows3D", {"origins": origins, "vectors": vectors, "radii": radii, "colors": placed.colors}
    )


def _strips(batch: _Batch, pairs: bool) -> Shape | None:
    """LINE_STRIP / LINE_LIST as marker_shapes draws them; None for strips with per-point colours (each
    segment a strip of its own: the plan builds those)."""
    points = batch.points()
    colors = batch.point_colors()
    half_widths = (batch.placed.scale[:, 0] / 2.0).astype(np.float32)
    if pairs:
        strips = Strips(points, np.full(len(points) // 2, 2, dtype=np.int64))
        return Shape(
            "LineStrips3D",
            {"strips": strips, "radii": np.repeat(half_widths, batch.counts // 2), "colors": colors[0::2]},
        )
    if (batch.columns.color_counts[batch.indices] > 0).any():
        return None
    drawn = batch.counts >= 2
    firsts = (np.cumsum(batch.counts) - batch.counts)[drawn]
    if drawn.all():
        strips = Strips(points, batch.counts)
    else:  # a strip of one point draws nothing (marker_shapes leaves it out)
        strips = Strips(points, batch.counts).take(np.flatnonzero(drawn))
    return Shape("LineStrips3D", {"strips": strips, "radii": half_widths[drawn], "colors": colors[firsts]})


def _list_of(archetype: str) -> Callable[[_Batch], Shape]:
    def convert(batch: _Batch) -> Shape:
        placed = batch.placed
        return Shape(
            archetype,
            {
                "centers": batch.points(),
                "half_sizes": batch.per_point((placed.scale / 2.0).astype(np.float32)),
                "quaternions": batch.per_point(placed.quaternion.astype(np.float32)),
                "colors": batch.point_colors(),
            },
        )

    return convert


def _points(batch: _Batch) -> Shape:
    radii = batch.per_point((batch.placed.scale[:, 0] / 2.0).astype(np.float32))
    return Shape("Points3D", {"positions": batch.points(), "radii": radii, "colors": batch.point_colors()})


def _texts(batch: _Batch) -> Shape:
    placed = batch.placed
    return Shape(
        "Points3D",
        {
            "positions": placed.translation.astype(np.float32),
            "radii": (placed.scale[:, 2] / 10.0).astype(np.float32),
            "colors": placed.colors,
            "labels": batch.columns.texts(batch.indices),
        },
    )


def _triangles(batch: _Batch) -> Shape:
    return Shape(
        "Mesh3D", {"vertex_positions": batch.points(scaled=True), "vertex_colors": batch.point_colors()}
    )


_SHAPES: Final[dict[int, Callable[[_Batch], Shape | None]]] = {
    ARROW: _arrows,
    LINE_STRIP: lambda batch: _strips(batch, pairs=False),
    LINE_LIST: lambda batch: _strips(batch, pairs=True),
    CUBE_LIST: _list_of("Boxes3D"),
    SPHERE_LIST: _list_of("Ellipsoids3D"),
    POINTS: _points,
    TEXT_VIEW_FACING: _texts,
    TRIANGLE_LIST: _triangles,
}


def batch_content(columns: MarkerColumns, indices: I64, kind: int) -> tuple[Shape, I64] | None:
    """The markers at ``indices`` (all of type ``kind``) as one shape, as :func:`marker_shapes.joined`
    joins theirs, and how many instances each has; None when only marker-by-marker conversion can build
    it."""
    native = native_shapes()
    if native is not None:
        built = _native_content(native, columns, indices, kind)
        if built is not None:
            return built
    if kind in POSE_TYPES:
        return pose_shapes(kind, columns.values[indices]), np.ones(len(indices), dtype=np.int64)
    convert = _SHAPES.get(kind)
    shape = convert(_Batch(columns, indices)) if convert is not None else None
    if shape is None:
        return None
    return shape, _instance_counts(columns.point_counts[indices], kind)


#: Each type's archetype and component names, for the C extension's outputs in the order of the numpy
#: shapes above: positions, extents (half sizes, an arrow's vector, a cylinder's length), quaternions,
#: radii, colours (None: the type has no such component).
_NATIVE_SHAPES: Final[dict[int, tuple[str, tuple[str | None, ...]]]] = {
    CUBE: ("Boxes3D", ("centers", "half_sizes", "quaternions", None, "colors")),
    SPHERE: ("Ellipsoids3D", ("centers", "half_sizes", "quaternions", None, "colors")),
    CYLINDER: ("Cylinders3D", ("centers", "lengths", "quaternions", "radii", "colors")),
    ARROW: ("Arrows3D", ("origins", "vectors", None, "radii", "colors")),
    TEXT_VIEW_FACING: ("Points3D", ("positions", None, None, "radii", "colors")),
    CUBE_LIST: ("Boxes3D", ("centers", "half_sizes", "quaternions", None, "colors")),
    SPHERE_LIST: ("Ellipsoids3D", ("centers", "half_sizes", "quaternions", None, "colors")),
    POINTS: ("Points3D", ("positions", None, None, "radii", "colors")),
    TRIANGLE_LIST: ("Mesh3D", ("vertex_positions", None, None, None, "vertex_colors")),
    LINE_LIST: ("LineStrips3D", ("strips", None, None, "radii", "colors")),
    LINE_STRIP: ("LineStrips3D", ("strips", None, None, "radii", "colors")),
}
#: Component order of each archetype as the numpy shapes write them (a cylinder's radii before its
#: quaternions).
_COMPONENT_ORDER: Final = {"Cylinders3D": ("centers", "lengths", "radii", "quaternions", "colors")}


def _native_content(native: Any, columns: MarkerColumns, indices: I64, kind: int) -> tuple[Shape, I64] | None:
    """A group's shape built by the C extension in one pass over its markers (the numbers of the numpy
    shapes); None where it leaves the markers to them (an arrow by points, line strips with per-point
    colours). Raises :class:`NonFinitePointsError` as they do."""
    layout = _NATIVE_SHAPES.get(kind)
    if layout is None:
        return None
    archetype, names = layout
    counts = columns.point_counts[indices]
    markers = len(indices)
    if kind in (CUBE, SPHERE, CYLINDER, ARROW, TEXT_VIEW_FACING):
        rows = sized = markers
    elif kind == LINE_STRIP:
        drawn = counts >= 2
        rows, sized = int(counts[drawn].sum()), int(drawn.sum())
    elif kind == LINE_LIST:
        rows, sized = int(counts.sum()), int(counts.sum()) // 2
    else:
        rows = sized = int(counts.sum())
    positions = np.empty((rows, 3), dtype=np.float32)
    extents = np.empty((sized,) if kind == CYLINDER else (sized if names[1] else 0, 3), dtype=np.float32)
    quaternions = np.empty((sized if names[2] else 0, 4), dtype=np.float32)
    radii = np.empty(sized if names[3] else 0, dtype=np.float32)
    colors = np.empty((sized, 4), dtype=np.uint8)
    built = native.group_instances(
        kind,
        columns.body,
        indices,
        columns.values,
        columns.point_offsets,
        columns.point_counts,
        columns.color_offsets,
        columns.color_counts,
        positions,
        extents,
        quaternions,
        radii,
        colors,
    )
    if built < 0:
        return None
    if built == 0:
        raise NonFinitePointsError
    outputs: list[Any] = [positions, extents, quaternions, radii, colors]
    if kind in (LINE_LIST, LINE_STRIP):
        lengths = np.full(rows // 2, 2, dtype=np.int64) if kind == LINE_LIST else counts[counts >= 2]
        outputs[0] = Strips(positions, lengths)
    components = {name: value for name, value in zip(names, outputs, strict=True) if name is not None}
    order = _COMPONENT_ORDER.get(archetype)
    if order is not None:
        components = {name: components[name] for name in order}
    if kind == TEXT_VIEW_FACING:
        components["labels"] = columns.texts(indices)
    return Shape(archetype, components), _instance_counts(counts, kind)


def _instance_counts(points: I64, kind: int) -> I64:
    """Instances of each marker's shape: one per point for lists, a strip per pair of a LINE_LIST, one
    strip for a LINE_STRIP of two points or more (per-point colours are built marker by marker)."""
    if kind in (CUBE_LIST, SPHERE_LIST, POINTS, TRIANGLE_LIST):
        return points.astype(np.int64)
    if kind == LINE_LIST:
        return (points // 2).astype(np.int64)
    if kind == LINE_STRIP:
        return (points >= 2).astype(np.int64)
    return np.ones(len(points), dtype=np.int64)


def has_bad_markers(columns: MarkerColumns, indices: I64) -> bool:
    """Whether any marker at ``indices`` (added ones) would fail to convert: an unknown type, a pose,
    scale or arrow point that is not finite, a point or colour count that does not fit its type. Other
    points are checked as a batch reads them (:class:`NonFinitePointsError`)."""
    native = native_shapes()
    if native is not None:
        return bool(
            native.bad_markers(
                columns.body,
                indices,
                columns.types,
                columns.values,
                columns.point_offsets,
                columns.point_counts,
                columns.color_counts,
            )
        )
    kinds = columns.types[indices]
    if not np.isin(kinds, list(TYPE_NAMES)).all():
        return True
    if not np.isfinite(columns.values[indices, :10]).all():
        return True
    counts = columns.point_counts[indices]
    arrows = indices[kinds == ARROW]
    arrow_counts = columns.point_counts[arrows]
    if (arrow_counts == 1).any():
        return True
    two = arrows[arrow_counts >= 2]
    if len(two):
        values = np.frombuffer(columns.body, dtype="<f8", count=len(columns.body) // 8)
        if not np.isfinite(values[(columns.point_offsets[two] // 8)[:, None] + np.arange(6)]).all():
            return True
    with_points = np.isin(kinds, list(POINT_TYPES))
    colors = columns.color_counts[indices]
    if ((colors != 0) & (colors != counts) & with_points).any():
        return True
    return bool(
        ((kinds == LINE_LIST) & (counts % 2 == 1)).any()
        or ((kinds == TRIANGLE_LIST) & (counts % 3 != 0)).any()
    )
