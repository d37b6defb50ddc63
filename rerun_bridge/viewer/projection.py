"""Points in a camera's frame to pixels through its pinhole: how a 2D view overlays a lidar cloud.

The camera frame is the ``Pinhole``'s ``parent_frame``, in ROS's optical convention (x right, y down,
z forward), which is also Rerun's default for pinholes (RDF). Points behind the camera, or projecting
outside the image's resolution, are left out.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt


class Projected(NamedTuple):
    #: Pixel coordinates (u right, v down), one row per kept point.
    pixels: npt.NDArray[np.float32]
    #: Indices of the kept points in the input.
    kept: npt.NDArray[np.intp]


def project_to_image(
    points_in_camera: npt.NDArray[np.floating],
    image_from_camera: npt.NDArray[np.float64],
    resolution: tuple[float, float] | None,
) -> Projected:
    """Pixels of the points in front of the camera (z > 0) that land on the image."""
    points = np.asarray(points_in_camera, dtype=np.float64).reshape(-1, 3)
    depth = points[:, 2]
    in_front = np.flatnonzero(depth > 1e-6)
    homogeneous = points[in_front] @ image_from_camera.T
    pixels = homogeneous[:, :2] / homogeneous[:, 2:3]
    if resolution is not None:
        width, height = resolution
        on_image = (
            (pixels[:, 0] >= 0) & (pixels[:, 0] < width) & (pixels[:, 1] >= 0) & (pixels[:, 1] < height)
        )
        return Projected(pixels[on_image].astype(np.float32), in_front[on_image])
    return Projected(pixels.astype(np.float32), in_front)
