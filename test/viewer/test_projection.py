"""Pinhole projection of camera-frame points to pixels."""

from __future__ import annotations

import numpy as np

from rerun_bridge.viewer.projection import project_to_image

K = np.array([[100.0, 0.0, 80.0], [0.0, 100.0, 60.0], [0.0, 0.0, 1.0]])


def test_points_land_where_the_pinhole_model_puts_them() -> None:
    points = np.array([[0.0, 0.0, 2.0], [0.5, -0.25, 1.0], [0.1, 0.2, 4.0]])
    projected = project_to_image(points, K, (160.0, 120.0))
    np.testing.assert_allclose(projected.pixels, [[80.0, 60.0], [130.0, 35.0], [82.5, 65.0]])
    assert projected.kept.tolist() == [0, 1, 2]


def test_points_behind_the_camera_or_off_the_image_are_left_out() -> None:
    points = np.array([[0.0, 0.0, -1.0], [0.0, 0.0, 0.0], [5.0, 0.0, 1.0], [0.0, 0.0, 3.0]])
    projected = project_to_image(points, K, (160.0, 120.0))
    assert projected.kept.tolist() == [3]
    without_resolution = project_to_image(points, K, None)
    assert without_resolution.kept.tolist() == [2, 3]  # off the image but in front
