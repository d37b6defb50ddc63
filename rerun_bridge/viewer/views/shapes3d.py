"""Geometry of the 3D view's shapes as plain numpy: boxes, arrows, ellipsoids and cylinders as line
segments, camera frustums.

Everything here is in the entity's own frame; the view places the result through TF. Segments come as
vertex pairs (``(2 * segments, 3)``), which pyqtgraph draws in one call with ``mode="lines"``.

Camera frustums follow Rerun's ``Pinhole``: ``image_from_camera`` is the 3x3 intrinsic matrix K and the
camera looks along +z with x right and y down (ROS's optical frames, Rerun's default RDF).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from rerun_bridge.tf import quaternion as quat

FloatArray = npt.NDArray[np.float32]

#: The 12 edges of a box as corner index pairs; corner ``i`` has sign bits x = i & 1, y = i & 2, z = i & 4.
_BOX_EDGES: Final = np.array(
    [[0, 1], [2, 3], [4, 5], [6, 7], [0, 2], [1, 3], [4, 6], [5, 7], [0, 4], [1, 5], [2, 6], [3, 7]]
)
_CORNER_SIGNS: Final = np.array(
    [[1 if i & bit else -1 for bit in (1, 2, 4)] for i in range(8)], dtype=np.float64
)
#: Segments of each circle of an ellipsoid or cylinder wireframe.
CIRCLE_SEGMENTS: Final = 24
ELLIPSOID_VERTICES: Final = 3 * 2 * CIRCLE_SEGMENTS
CYLINDER_VERTICES: Final = 2 * 2 * CIRCLE_SEGMENTS + 8
_ARROW_HEAD_FRACTION: Final = 0.2
_ARROW_HEAD_SPREAD: Final = 0.35  # head half-width per head length


def matrix3x3(values: pa.Array | None) -> npt.NDArray[np.float64] | None:
    """The first 3x3 matrix instance, row-major; None when absent or malformed.

    Rerun stores ``Mat3x3`` as 9 floats in column-major order; rows appended by the bridge's converters
    hold the numpy matrix as 3 rows of 3.
    """
    if values is None or len(values) == 0 or not pa.types.is_fixed_size_list(values.type):
        return None
    first = values[0]
    if not first.is_valid:
        return None
    if values.type.list_size == 9:
        flat = np.asarray(first.values.to_numpy(zero_copy_only=False), dtype=np.float64)
        return flat.reshape(3, 3).T
    if values.type.list_size == 3 and pa.types.is_fixed_size_list(values.type.value_type):
        rows = np.asarray(first.values.flatten().to_numpy(zero_copy_only=False), dtype=np.float64)
        return rows.reshape(3, 3)
    return None


def _per_instance(
    values: npt.ArrayLike | None, count: int, default: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``count`` rows of per-instance values (as wide as ``default``), the last one repeated (Rerun's
    rule), the default when there are none."""
    array = np.asarray(values if values is not None else [], np.float64).reshape(-1, len(default))
    if len(array) == 0:
        return np.tile(default, (count, 1))
    if len(array) >= count:
        return array[:count]
    return np.vstack([array, np.repeat(array[-1:], count - len(array), axis=0)])


def box_edges(
    half_sizes: npt.ArrayLike, centers: npt.ArrayLike | None = None, quaternions: npt.ArrayLike | None = None
) -> FloatArray:
    """Wireframes of boxes as segment vertex pairs: 24 vertices per box, in box order."""
    halves = np.asarray(half_sizes, dtype=np.float64).reshape(-1, 3)
    count = len(halves)
    if count == 0:
        return np.zeros((0, 3), dtype=np.float32)
    middle, rotations = _instances(count, centers, quaternions)
    corners = _CORNER_SIGNS[None, :, :] * halves[:, None, :]  # (count, 8, 3)
    placed = _posed(corners, middle, rotations)
    return placed[:, _BOX_EDGES.reshape(-1), :].reshape(-1, 3).astype(np.float32)


def _posed(
    local: npt.NDArray[np.float64], centers: npt.NDArray[np.float64], rotations: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``(count, k, 3)`` points of each instance, rotated by its quaternion and moved to its centre."""
    matrices = quat.to_matrix(quat.normalize(rotations))  # (count, 3, 3)
    placed: npt.NDArray[np.float64] = np.einsum("nij,nkj->nki", matrices, local) + centers[:, None, :]
    return placed


def _circle_segments(axis_a: int, axis_b: int) -> npt.NDArray[np.float64]:
    """A unit circle in the plane of two axes as segment vertex pairs (``2 * CIRCLE_SEGMENTS`` points)."""
    angles = np.linspace(0.0, 2.0 * np.pi, CIRCLE_SEGMENTS + 1)
    ring = np.zeros((CIRCLE_SEGMENTS + 1, 3))
    ring[:, axis_a], ring[:, axis_b] = np.cos(angles), np.sin(angles)
    pairs = np.empty((2 * CIRCLE_SEGMENTS, 3))
    pairs[0::2], pairs[1::2] = ring[:-1], ring[1:]
    return pairs


def _instances(
    count: int, centers: npt.ArrayLike | None, quaternions: npt.ArrayLike | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    return (
        _per_instance(centers, count, np.zeros(3)),
        _per_instance(quaternions, count, np.array([0.0, 0.0, 0.0, 1.0])),
    )


def ellipsoid_rings(
    half_sizes: npt.ArrayLike, centers: npt.ArrayLike | None = None, quaternions: npt.ArrayLike | None = None
) -> FloatArray:
    """Ellipsoids as their three principal rings (Rerun draws them as wireframes too), in instance order:
    :data:`ELLIPSOID_VERTICES` vertices each."""
    halves = np.asarray(half_sizes, dtype=np.float64).reshape(-1, 3)
    if len(halves) == 0:
        return np.zeros((0, 3), dtype=np.float32)
    unit = np.vstack([_circle_segments(0, 1), _circle_segments(1, 2), _circle_segments(2, 0)])
    middle, rotations = _instances(len(halves), centers, quaternions)
    return _posed(unit[None, :, :] * halves[:, None, :], middle, rotations).reshape(-1, 3).astype(np.float32)


def cylinder_edges(
    lengths: npt.ArrayLike,
    radii: npt.ArrayLike,
    centers: npt.ArrayLike | None = None,
    quaternions: npt.ArrayLike | None = None,
) -> FloatArray:
    """Cylinders along their z axis as two end circles and four side lines: :data:`CYLINDER_VERTICES`
    vertices each, in instance order (radii beyond the last repeat it, as in Rerun)."""
    heights = np.asarray(lengths, dtype=np.float64).reshape(-1)
    count = len(heights)
    if count == 0:
        return np.zeros((0, 3), dtype=np.float32)
    widths = _per_instance(radii, count, np.ones(1)).reshape(-1)
    circle = _circle_segments(0, 1)
    sides = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], dtype=np.float64)
    local = np.zeros((count, CYLINDER_VERTICES, 3))
    for end, sign in enumerate((-0.5, 0.5)):
        ring = slice(end * len(circle), (end + 1) * len(circle))
        local[:, ring, :2] = circle[None, :, :2] * widths[:, None, None]
        local[:, ring, 2] = sign * heights[:, None]
    start = 2 * len(circle)
    for index, (x, y) in enumerate(sides):
        for offset, sign in enumerate((-0.5, 0.5)):
            vertex = local[:, start + 2 * index + offset]
            vertex[:, 0], vertex[:, 1], vertex[:, 2] = x * widths, y * widths, sign * heights
    middle, rotations = _instances(count, centers, quaternions)
    return _posed(local, middle, rotations).reshape(-1, 3).astype(np.float32)


def arrow_segments(vectors: npt.ArrayLike, origins: npt.ArrayLike | None = None) -> FloatArray:
    """Arrows as segment vertex pairs: the shaft, then four head lines around its tip (10 vertices each)."""
    shafts = np.asarray(vectors, dtype=np.float64).reshape(-1, 3)
    count = len(shafts)
    if count == 0:
        return np.zeros((0, 3), dtype=np.float32)
    starts = _per_instance(origins, count, np.zeros(3))
    tips = starts + shafts
    lengths = np.linalg.norm(shafts, axis=1, keepdims=True)
    direction = np.divide(shafts, lengths, out=np.zeros_like(shafts), where=lengths > 0)
    # Two unit vectors across the shaft: crossing with whichever axis is least parallel to it.
    helper = np.where(np.abs(direction[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    across = np.cross(direction, helper)
    across /= np.maximum(np.linalg.norm(across, axis=1, keepdims=True), 1e-12)
    across_too = np.cross(direction, across)
    head = _ARROW_HEAD_FRACTION * lengths
    base = tips - direction * head
    spread = _ARROW_HEAD_SPREAD * head
    vertices = np.empty((count, 10, 3))
    vertices[:, 0], vertices[:, 1] = starts, tips
    for index, offset in enumerate((across, -across, across_too, -across_too)):
        vertices[:, 2 + 2 * index] = tips
        vertices[:, 3 + 2 * index] = base + offset * spread
    return vertices.reshape(-1, 3).astype(np.float32)


def image_corners(width: float, height: float) -> npt.NDArray[np.float64]:
    """Pixel corners of an image, clockwise from the top left."""
    return np.array([[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]])


def unproject(
    intrinsics: npt.NDArray[np.float64], pixels: npt.ArrayLike, depth: float
) -> npt.NDArray[np.float64]:
    """Camera-frame points at ``depth`` along +z that project onto ``pixels`` (``(N, 2)``)."""
    uv = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    homogeneous = np.hstack([uv, np.ones((len(uv), 1))])
    rays = homogeneous @ np.linalg.inv(intrinsics).T
    return rays / rays[:, 2:3] * depth


def frustum_edges(
    intrinsics: npt.NDArray[np.float64], width: float, height: float, depth: float
) -> FloatArray:
    """The frustum as segment vertex pairs: apex to each far corner, then the far rectangle."""
    far = unproject(intrinsics, image_corners(width, height), depth)
    apex = np.zeros(3)
    pairs = [(apex, corner) for corner in far]
    pairs += [(far[index], far[(index + 1) % 4]) for index in range(4)]
    return np.array([point for pair in pairs for point in pair], dtype=np.float32)


def image_plane_matrix(intrinsics: npt.NDArray[np.float64], depth: float) -> npt.NDArray[np.float64]:
    """The 4x4 affine map from image coordinates ``(u, v, 0)`` to the camera frame at ``depth``.

    Affine because every pixel sits on the same plane z = depth: x = (u - cx) depth / fx + skew, y alike.
    """
    inverse = np.linalg.inv(intrinsics) * depth  # columns: d/du, d/dv, and the point for (0, 0)
    matrix = np.eye(4)
    matrix[:3, 0] = inverse[:, 0]
    matrix[:3, 1] = inverse[:, 1]
    matrix[:3, 2] = [0.0, 0.0, 1.0]  # image-local z (always 0 for the texture) is kept as depth offset
    matrix[:3, 3] = inverse[:, 2]
    return matrix
