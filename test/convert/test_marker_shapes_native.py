"""The C extension's marker shapes (``marker_poses``, ``place_points``, ``point_colors`` in
cdr/_marker_walk.c) against the numpy code they replace in convert/marker_columns.py: the same numbers, bit
for bit, on random poses, scales, colours and points (unnormalised, zero and NaN quaternions, colours out
of range), and their refusals of arguments that do not fit."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rerun_bridge.cdr import _marker_walk
from rerun_bridge.convert.marker_columns import _Placed, rgba8_rows
from rerun_bridge.convert.marker_shapes import transform

F64 = npt.NDArray[np.float64]
_FLOATS = st.floats(-1e6, 1e6, allow_nan=False, width=64)


def _values(rows: F64, colors: F64) -> F64:
    """VALUES rows: pose and scale as drawn, colour channels as the float32 the message holds."""
    values = np.empty((len(rows), 14))
    values[:, :10] = rows
    values[:, 10:] = colors.astype(np.float32)
    return values


def _poses(values: F64) -> tuple[F64, F64, npt.NDArray[np.uint8]]:
    quaternions, rotations = np.empty((len(values), 4)), np.empty((len(values), 3, 3))
    colors = np.empty((len(values), 4), dtype=np.uint8)
    _marker_walk.marker_poses(values, quaternions, rotations, colors)
    return quaternions, rotations, colors


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(np.float64, st.tuples(st.integers(1, 20), st.just(10)), elements=_FLOATS),
    hnp.arrays(np.float64, st.tuples(st.integers(1, 20), st.just(4)), elements=st.floats(width=32)),
    st.booleans(),
)
def test_poses_as_numpy_makes_them(rows: F64, colors: F64, zero_quaternion: bool) -> None:
    count = min(len(rows), len(colors))
    values = _values(rows[:count], colors[:count])
    if zero_quaternion:
        values[0, 3:7] = 0.0
    quaternions, rotations, rgba = _poses(values)
    reference = _Placed(values, native=None)
    np.testing.assert_array_equal(quaternions, reference.quaternion)
    np.testing.assert_array_equal(rotations, reference.rotation)
    np.testing.assert_array_equal(rgba, rgba8_rows(values[:, 10:14]))


def _body(points: F64) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Points as geometry_msgs/Point records behind 8 bytes of something else, and their offset."""
    return bytes(8) + points.astype("<f8").tobytes(), np.array([8], dtype=np.int64)


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(np.float64, st.tuples(st.integers(0, 30), st.just(3)), elements=_FLOATS),
    hnp.arrays(np.float64, (10,), elements=_FLOATS),
    st.booleans(),
)
def test_points_placed_as_transform_places_them(points: F64, pose: F64, scaled: bool) -> None:
    values = _values(pose[None, :], np.ones((1, 4)))
    _quaternions, rotations, _colors = _poses(values)
    body, offsets = _body(points)
    placed = np.empty((len(points), 3), dtype=np.float32)
    counts = np.array([len(points)], dtype=np.int64)
    assert _marker_walk.place_points(body, offsets, counts, values, rotations, scaled, placed)
    local = points * values[0, 7:10] if scaled else points
    np.testing.assert_array_equal(placed, transform(local, rotations[0], values[0, :3]))


def test_a_point_that_is_not_finite_is_reported() -> None:
    values = _values(np.array([[0, 0, 0, 0, 0, 0, 1, 1, 1, 1.0]]), np.ones((1, 4)))
    body, offsets = _body(np.array([[1.0, 2.0, 3.0], [np.nan, 0.0, 0.0]]))
    out = np.empty((2, 3), dtype=np.float32)
    rotations = _poses(values)[1]
    assert not _marker_walk.place_points(body, offsets, np.array([2]), values, rotations, False, out)


def test_point_colors_per_point_or_the_markers() -> None:
    own = np.array([[10, 20, 30, 40], [1, 2, 3, 4]], dtype=np.uint8)
    channels = np.array([[0.5, -1.0, 2.0, np.nan], [1.0, 0.0, 0.25, 1.0]], dtype="<f4")
    body = bytes(4) + channels.tobytes()
    out = np.empty((5, 4), dtype=np.uint8)
    counts, offsets, given = np.array([3, 2]), np.array([0, 4]), np.array([0, 2])
    _marker_walk.point_colors(body, counts, offsets, given, own, out)
    expected = np.concatenate([np.repeat(own[:1], 3, axis=0), rgba8_rows(channels.astype(np.float64))])
    np.testing.assert_array_equal(out, expected)


_VALUES = np.zeros((1, 14))
_ROTATIONS = np.zeros((1, 9))


@pytest.mark.parametrize(
    ("offsets", "counts", "out_points", "message"),
    [
        ([8], [2], 1, "out holds fewer"),
        ([40], [1], 1, "outside the body"),
        ([-8], [1], 1, "outside the body"),
        ([8], [-1], 1, "outside the body"),
        ([8], [], 1, "counts holds fewer"),
        ([8], [1 << 60], 1, "outside the body"),
    ],
)
def test_place_points_refuses_what_does_not_fit(
    offsets: list[int], counts: list[int], out_points: int, message: str
) -> None:
    body = bytes(8 + 48)  # two points
    out = np.empty((out_points, 3), dtype=np.float32)
    with pytest.raises(ValueError, match=message):
        _marker_walk.place_points(
            body, np.array(offsets, np.int64), np.array(counts, np.int64), _VALUES, _ROTATIONS, False, out
        )


@pytest.mark.parametrize(
    ("counts", "given", "offsets", "message"),
    [
        ([2], [1], [0], "do not match"),
        ([1], [1], [16], "outside the body"),
        ([3], [0], [0], "out holds fewer"),
    ],
)
def test_point_colors_refuses_what_does_not_fit(
    counts: list[int], given: list[int], offsets: list[int], message: str
) -> None:
    out = np.empty((2, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match=message):
        _marker_walk.point_colors(
            bytes(16), np.array(counts), np.array(offsets), np.array(given), np.zeros((1, 4), np.uint8), out
        )


def test_poses_refuse_outputs_too_small_or_read_only() -> None:
    with pytest.raises(ValueError, match="rotations holds fewer"):
        _marker_walk.marker_poses(
            np.zeros((2, 14)), np.empty((2, 4)), np.empty((1, 9)), np.empty((2, 4), np.uint8)
        )
    with pytest.raises(TypeError):
        _marker_walk.marker_poses(np.zeros((1, 14)), bytes(32), np.empty((1, 9)), np.empty((1, 4), np.uint8))


def test_bad_markers_refuses_an_index_outside_the_columns() -> None:
    one = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="outside the columns"):
        _marker_walk.bad_markers(bytes(8), np.array([1]), one, np.zeros((1, 14)), one, one, one)
    with pytest.raises(ValueError, match="values holds fewer"):
        _marker_walk.bad_markers(bytes(8), np.array([0]), one, np.zeros((1, 13)), one, one, one)


def test_texts_decoded_or_refused_outside_the_body() -> None:
    body = b"ab\x00n\xc3\xa4\x00"
    offsets, lengths = np.array([0, 3]), np.array([3, 4])
    assert _marker_walk.texts(body, offsets, lengths, np.array([1, 0])) == ["nä", "ab"]
    with pytest.raises(ValueError, match="outside the body"):
        _marker_walk.texts(body, offsets, np.array([3, 9]), np.array([1]))
    with pytest.raises(ValueError, match="outside the body"):
        _marker_walk.texts(body, offsets, lengths, np.array([2]))


def _group(
    kind: int,
    counts: list[int],
    given: list[int] | None = None,
    outputs: dict[str, npt.NDArray[Any]] | None = None,
) -> int:
    """group_instances over markers of ``counts`` points each (identity poses, points at the body's start
    one after another), with outputs sized generously unless given."""
    markers = len(counts)
    values = np.zeros((markers, 14))
    values[:, 6] = 1.0
    body = np.arange(3 * max(sum(counts), 1), dtype="<f8").tobytes()
    offsets = np.cumsum([0, *counts[:-1]]).astype(np.int64) * 24
    sized: dict[str, npt.NDArray[Any]] = {
        "positions": np.empty((64, 3), np.float32),
        "extents": np.empty((64, 3), np.float32),
        "quaternions": np.empty((64, 4), np.float32),
        "radii": np.empty(64, np.float32),
        "colors": np.empty((64, 4), np.uint8),
        **(outputs or {}),
    }
    color_counts = np.array(given or [0] * markers, np.int64)
    built: int = _marker_walk.group_instances(
        kind,
        body,
        np.arange(markers, dtype=np.int64),
        values,
        offsets,
        np.array(counts, np.int64),
        np.zeros(markers, np.int64),
        color_counts,
        *sized.values(),
    )
    return built


def test_group_instances_leaves_what_it_does_not_build_and_reports_points_not_finite() -> None:
    assert _group(8, [2, 3]) == 1  # POINTS
    assert _group(0, [2]) == -1  # an arrow by points: numpy builds it
    assert _group(4, [2], given=[2]) == -1  # a line strip with per-point colours
    assert _group(10, [0]) == -1  # a mesh
    values, one, zero = np.zeros((1, 14)), np.ones(1, np.int64), np.zeros(1, np.int64)
    nan_point = np.array([[0.0, np.nan, 0.0]]).tobytes()
    positions, empty = np.empty((1, 3), np.float32), np.empty(0, np.float32)
    radii, colors = np.empty(1, np.float32), np.empty((1, 4), np.uint8)
    outputs = (positions, empty, empty, radii, colors)
    assert _marker_walk.group_instances(8, nan_point, zero, values, zero, one, zero, zero, *outputs) == 0


@pytest.mark.parametrize(
    ("kind", "counts", "small", "message"),
    [
        (1, [0, 0], "positions", "positions holds fewer"),  # CUBE: a center per marker
        (6, [3], "extents", "extents holds fewer"),  # CUBE_LIST: half sizes per point
        (5, [4], "radii", "radii holds fewer"),  # LINE_LIST: a radius per pair
        (8, [2], "colors", "colors holds fewer"),  # POINTS: a colour per point
    ],
)
def test_group_instances_refuses_outputs_too_small(
    kind: int, counts: list[int], small: str, message: str
) -> None:
    shapes = {"positions": (1, 3), "extents": (1, 3), "radii": (1,), "colors": (1, 4)}
    dtype = np.uint8 if small == "colors" else np.float32
    with pytest.raises(ValueError, match=message):
        _group(kind, counts, outputs={small: np.empty(shapes[small], dtype)})


def test_group_instances_refuses_markers_outside_the_body_or_columns() -> None:
    values, one, zero = np.zeros((1, 14)), np.ones(1, np.int64), np.zeros(1, np.int64)
    out = np.empty((8, 4), np.float32)
    colors = np.empty((8, 4), np.uint8)
    with pytest.raises(ValueError, match="outside the body or columns"):  # an index past the columns
        _marker_walk.group_instances(
            8, bytes(24), one, values, zero, one, zero, zero, out, out, out, out, colors
        )
    with pytest.raises(ValueError, match="outside the body or columns"):  # points past the body
        _marker_walk.group_instances(
            8, bytes(24), zero, values, np.array([8]), one, zero, zero, out, out, out, out, colors
        )
