"""Batched markers built as columns (pose_shapes) hold exactly the instances the one-by-one shapes hold:
the same components, dtypes and values, for odd quaternions and colours too."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from rosbags.typesys import Stores, get_typestore

from rerun_bridge.convert.marker_shapes import (
    POSE_TYPES,
    SHAPES,
    joined,
    placement_of,
    pose_shapes,
    pose_values,
)
from rerun_bridge.errors import ConversionError
from test.convert.golden_harness import build_message

STORE = get_typestore(Stores.ROS2_JAZZY)
MARKER = "visualization_msgs/msg/Marker"


def random_markers(kind: int, count: int, seed: int) -> list[Any]:
    rng = np.random.default_rng(seed)
    markers = []
    for index in range(count):
        x, y, z, w = (float(value) for value in rng.normal(size=4) * 2.0)
        if index == 0:
            x = y = z = w = 0.0  # RViz's "no orientation": the identity
        red, green, blue, alpha = (float(value) for value in rng.uniform(-0.5, 1.5, 4))
        fields = {
            "type": kind,
            "pose": {
                "position": {"x": float(rng.normal()), "y": float(rng.normal()), "z": float(rng.normal())},
                "orientation": {"x": x, "y": y, "z": z, "w": w},
            },
            "scale": {
                "x": float(rng.uniform(0, 3)),
                "y": float(rng.uniform(0, 3)),
                "z": float(rng.uniform(0, 3)),
            },
            "color": {"r": red, "g": green, "b": math.nan if index == 1 else blue, "a": alpha},
        }
        markers.append(build_message(STORE, MARKER, fields))
    return markers


@pytest.mark.parametrize("kind", sorted(POSE_TYPES))
def test_columns_equal_the_shapes_made_one_by_one(kind: int) -> None:
    markers = random_markers(kind, 25, seed=kind)
    one_by_one = joined([SHAPES[kind](marker, placement_of(marker.pose, marker.scale)) for marker in markers])
    columns = pose_shapes(kind, np.array([pose_values(marker) for marker in markers], dtype=np.float64))
    assert columns.archetype == one_by_one.archetype
    assert list(columns.components) == list(one_by_one.components)
    for name, expected in one_by_one.components.items():
        actual = columns.components[name]
        assert actual.dtype == expected.dtype, name
        np.testing.assert_array_equal(actual, expected, err_msg=name)


@pytest.mark.parametrize("kind", sorted(POSE_TYPES))
def test_a_non_finite_pose_is_bad_data_either_way(kind: int) -> None:
    markers = random_markers(kind, 3, seed=1)
    markers[2].pose.position.y = math.inf
    with pytest.raises(ConversionError):
        SHAPES[kind](markers[2], placement_of(markers[2].pose, markers[2].scale))
    with pytest.raises(ConversionError):
        pose_shapes(kind, np.array([pose_values(marker) for marker in markers], dtype=np.float64))
