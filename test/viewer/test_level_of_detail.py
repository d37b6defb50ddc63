"""Which points of a big cloud the 3D view draws (level_of_detail.py); the drawing itself is checked by
pixels in test_spatial3d_view.py."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from rerun_bridge.viewer.views.level_of_detail import detail_indices, detail_note, take_instances


def test_clouds_within_the_limit_are_drawn_whole() -> None:
    assert detail_indices(1_000, 1_000) is None
    assert detail_indices(5_000, 0) is None  # max_points 0: no level of detail


def test_the_subset_is_sorted_distinct_of_the_limit_and_the_same_each_time() -> None:
    keep = detail_indices(100_000, 7_000)
    assert keep is not None
    assert len(keep) == 7_000
    assert len(np.unique(keep)) == 7_000
    assert np.all(np.diff(keep) > 0)
    assert keep[0] >= 0
    assert keep[-1] < 100_000
    again = detail_indices(100_000, 7_000)
    assert again is not None
    assert np.array_equal(again, keep)
    # Spread over the whole cloud: every tenth of it keeps about a tenth of the subset.
    per_tenth = np.bincount(keep // 10_000, minlength=10)
    assert per_tenth.min() > 600
    assert per_tenth.max() < 800


def test_per_point_components_follow_the_kept_points() -> None:
    keep = np.array([1, 3, 4], dtype=np.int64)
    colors = pa.array([10, 11, 12, 13, 14], type=pa.uint32())
    kept = take_instances(colors, keep, 5)
    assert kept is not None
    assert kept.to_pylist() == [11, 13, 14]
    # A shorter list is extended with its last value first, as Rerun repeats it.
    short = take_instances(pa.array([0.1, 0.2]), keep, 5)
    assert short is not None
    assert short.to_pylist() == [0.2, 0.2, 0.2]
    single = pa.array([0.5])
    assert take_instances(single, keep, 5) is single
    assert take_instances(None, keep, 5) is None


def test_the_note_names_the_entity_and_both_counts() -> None:
    note = detail_note("/lidar", 200_000, 1_000_000, 200_000)
    assert note.startswith("/lidar: showing 200,000 of 1,000,000 points")
    assert "level of detail" in note
    assert "max_points 200,000" in note
