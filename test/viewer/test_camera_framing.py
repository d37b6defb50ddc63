"""Where the 3D view's camera looks on open (camera_framing.py): the pure decision, without a view."""

from __future__ import annotations

import numpy as np

from rerun_bridge.viewer.views.camera_framing import frame_points

DEFAULT_DISTANCE = 12.0
FOV = 60.0


def _box(half: float, center: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    box: np.ndarray = corners * half + np.asarray(center, dtype=np.float64)
    return box


def test_a_small_robot_at_the_origin_is_framed_close() -> None:
    """A 0.6 m arm at the default camera's centre fitted, and stayed 60 pixels wide (found by an audit)."""
    framing = frame_points(_box(0.3), FOV, (0.0, 0.0, 0.0), DEFAULT_DISTANCE)
    assert framing is not None
    assert 1.0 <= framing.distance <= 3.0
    np.testing.assert_allclose(framing.center, (0.0, 0.0, 0.0), atol=1e-9)


def test_a_scene_that_fills_the_default_view_keeps_the_camera() -> None:
    assert frame_points(_box(4.0), FOV, (0.0, 0.0, 0.0), DEFAULT_DISTANCE) is None


def test_a_scene_out_of_view_is_framed_where_it_is() -> None:
    framing = frame_points(_box(4.0, (100.0, 50.0, 0.0)), FOV, (0.0, 0.0, 0.0), DEFAULT_DISTANCE)
    assert framing is not None
    np.testing.assert_allclose(framing.center, (100.0, 50.0, 0.0), atol=1e-9)
    assert framing.distance >= 4.0
