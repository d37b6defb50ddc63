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


def test_the_robot_at_the_end_of_its_trail_is_framed_too() -> None:
    """A trail around the origin and the robot at its far end: the bulk's ninety in a hundred leave the
    robot out; framing sees it all the same, and a camera that sees the trail but not the robot moves."""
    trail = np.array([[x, 0.0, 0.0] for x in np.linspace(0.0, 1.0, 100)] + [[5.0, 0.0, 0.0]])
    robot = np.array([5.0, 0.0, 0.0])
    framing = frame_points(trail, FOV, (0.5, 0.0, 0.0), 2.0, robot)
    assert framing is not None
    reach = np.linalg.norm(robot - np.asarray(framing.center))
    assert reach <= framing.distance * np.tan(np.radians(FOV / 2))
    assert frame_points(trail, FOV, (0.5, 0.0, 0.0), 2.0) is None  # without the robot: the trail is seen
