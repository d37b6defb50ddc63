"""Where the 3D view's orbit camera looks: framing what is visible now, and following a TF frame.

Framing looks at the bulk of the scene, not its bounding box: TF frames left at the origin next to a robot
in UTM coordinates, or one stray point, would otherwise pull the camera kilometres back. The bulk is the
points within ``_NEIGHBOURHOOD_M`` of the point nearest the median; the camera looks at their median
from far enough to see nine in ten of them. A camera whose view already holds the bulk's middle, at a
distance the bulk fits in, is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

#: Points farther than this from the median are not part of what the camera frames (metres).
_NEIGHBOURHOOD_M: Final = 500.0
#: The closest a framed camera comes (metres): a single point still shows its surroundings.
_MIN_DISTANCE_M: Final = 2.0
#: A scene whose bulk reaches less than this part of the camera's distance is framed closer: a 0.6 m arm
#: filled 60 pixels of the view at the default 12 m (found by an audit).
_SMALLEST_KEPT: Final = 0.1
#: Margin around the framed points, as a factor of the distance that just fits them.
_MARGIN: Final = 1.3
#: The part of the view's half width counted as "seen": a middle at the very edge is not framed well.
_SEEN_FRACTION: Final = 0.8
#: How far (metres) a framed camera's centre may lie from the GL origin before the origin moves there.
_LOCAL_ORIGIN_AFTER_M: Final = 10_000.0
#: Axis length as a part of the camera distance: 0.3 m at the default 12 m, 30 m when framing 1.2 km.
_AXIS_PER_DISTANCE: Final = 0.025


@dataclass(frozen=True, slots=True)
class Framing:
    """An orbit camera's centre (fixed-frame metres) and its distance from it."""

    center: tuple[float, float, float]
    distance: float


def frame_points(
    points: npt.NDArray[np.float64],
    fov_deg: float,
    center: npt.ArrayLike,
    distance: float,
    robot: npt.NDArray[np.float64] | None = None,
) -> Framing | None:
    """The camera that shows the bulk of ``points``, and ``robot`` (the body frame's origin) where it lies
    in the bulk's neighbourhood; None when the camera (``center``, ``distance``, ``fov_deg``) already sees
    both or there is nothing finite to frame. The robot is seen on purpose: it drives to the end of its
    trail, which the bulk's ninety in a hundred leave out (the Neato at 31 s, off the picture: audit)."""
    finite = points[np.isfinite(points).all(axis=1)] if len(points) else points
    if len(finite) == 0:
        return None
    # Each position votes once: a pose repeated at one spot (an odometry that only fills its twist leaves
    # a trail of zeros) must not out-vote a track far away (a vehicle's UTM poses).
    finite = np.unique(finite, axis=0)
    # The point nearest the per-axis median is a point of the data (the median of two far apart
    # clusters is in neither), and its neighbourhood is never empty.
    anchor = finite[np.argmin(np.linalg.norm(finite - np.median(finite, axis=0), axis=1))]
    near = finite[np.linalg.norm(finite - anchor, axis=1) <= _NEIGHBOURHOOD_M]
    middle = np.median(near, axis=0)
    reach = float(np.percentile(np.linalg.norm(near - middle, axis=1), 90))
    half_angle = math.tan(math.radians(fov_deg) / 2.0)
    seen_radius = _SEEN_FRACTION * distance * half_angle
    camera = np.asarray(center, dtype=np.float64)
    offset = float(np.linalg.norm(middle - camera))
    robot_seen = True
    if robot is not None and np.isfinite(robot).all() and np.linalg.norm(robot - anchor) <= _NEIGHBOURHOOD_M:
        reach = max(reach, float(np.linalg.norm(robot - middle)))
        robot_seen = float(np.linalg.norm(robot - camera)) <= seen_radius
    # A bulk of one spot has no size to fit: lost in the view or not, closer shows nothing more of it.
    small = len(near) > 1 and reach < _SMALLEST_KEPT * distance
    if offset <= seen_radius and reach <= distance and robot_seen and not small:
        return None  # its middle is in view and it fits, not lost in it: keep the default camera
    fitted = max(_MARGIN * reach / half_angle, _MIN_DISTANCE_M)
    x, y, z = (float(value) for value in middle)
    return Framing((x, y, z), fitted)


def axis_length_for(distance: float) -> float:
    """TF axes long enough to read at this camera distance, short enough not to hide the robot."""
    return max(_AXIS_PER_DISTANCE * distance, 0.05)


def local_origin_for(center: tuple[float, float, float]) -> npt.NDArray[np.float64] | None:
    """Where to put the origin GL draws at, for a camera framed on ``center`` (scene metres); None while
    ``center`` is close enough to the present origin.

    GL draws in 32-bit floats: at UTM coordinates (millions of metres) a step is a quarter metre and the
    view matrix cancels them catastrophically, so a small scene there is not drawn at all. Drawing
    relative to an origin near the data (whole kilometres, so the grid stays aligned) keeps the numbers
    small, as Rerun's viewer does with its camera-relative rendering.
    """
    if float(np.linalg.norm(center)) <= _LOCAL_ORIGIN_AFTER_M:
        return None
    return np.round(np.asarray(center, dtype=np.float64) / 1_000.0) * 1_000.0
