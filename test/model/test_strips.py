"""Strips: a sequence of line strips backed by one array of points, equal to the list of arrays it holds."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from rerun_bridge.model.strips import Strips, ragged

LENGTHS = [2, 0, 3, 1, 4]


def strips_and_arrays() -> tuple[Strips, list[np.ndarray]]:
    points = np.arange(3 * sum(LENGTHS), dtype=np.float32).reshape(-1, 3)
    arrays = np.split(points, np.cumsum(LENGTHS)[:-1])
    return Strips(points, np.array(LENGTHS)), arrays


def test_a_strip_is_its_run_of_points_by_index_iteration_and_slice() -> None:
    strips, arrays = strips_and_arrays()
    assert len(strips) == len(arrays) == 5
    for index, array in enumerate(arrays):
        np.testing.assert_array_equal(strips[index], array)
        np.testing.assert_array_equal(strips[index - 5], array)  # negative indices
    assert [strip.tolist() for strip in strips] == [array.tolist() for array in arrays]
    assert [strip.tolist() for strip in strips[1:4]] == [array.tolist() for array in arrays[1:4]]
    with pytest.raises(IndexError):
        strips[5]
    assert strips.width == 3
    assert strips.nbytes == strips.points.nbytes + strips.lengths.nbytes


def test_take_and_joined_keep_each_strips_points() -> None:
    strips, arrays = strips_and_arrays()
    order = np.array([4, 0, 0, 2, 1])
    assert [s.tolist() for s in strips.take(order)] == [arrays[i].tolist() for i in order.tolist()]
    assert len(strips.take(np.zeros(0, dtype=np.int64))) == 0
    extra = [np.ones((2, 3)), np.zeros((0, 3))]
    joined = Strips.joined([strips, extra, strips[3:]])
    expected = [*arrays, *extra, *arrays[3:]]
    assert [s.tolist() for s in joined] == [a.tolist() for a in expected]
    assert joined.points.dtype == np.float32
    assert len(Strips.joined([])) == 0
    np.testing.assert_array_equal(ragged(np.array([5, 0]), np.array([2, 3])), [5, 6, 0, 1, 2])


def test_to_arrow_is_one_list_of_vectors_per_strip_as_rerun_holds_line_strips() -> None:
    strips, arrays = strips_and_arrays()
    array = strips.to_arrow()
    vector = pa.list_(pa.field("item", pa.float32(), nullable=False), 3)
    assert array.type == pa.list_(pa.field("item", vector, nullable=False))
    assert array.to_pylist() == [a.tolist() for a in arrays]


def test_points_must_add_up_to_the_lengths() -> None:
    with pytest.raises(ValueError, match="4 points"):
        Strips(np.zeros((4, 3)), np.array([2, 3]))
