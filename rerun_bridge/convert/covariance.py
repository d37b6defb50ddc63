"""Position covariances as ellipsoids: the 3 x 3 position block of a 6 x 6 ROS covariance, decomposed into
principal axes (eigenvectors) and their standard deviations (square roots of the eigenvalues).

An ellipsoid's half sizes are ``sigma`` standard deviations along each axis (``covariance_sigma`` option,
default 1). A covariance is drawn only where it means something: all finite, not all zero (publishers that
do not estimate it leave zeros) and positive semi-definite up to rounding; anything else but zeros is bad
data: its ellipsoid is left out, the pose itself still converted, and the error counted on the topic.
Every function takes a batch, so one-message and column converters share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from rerun_bridge.convert.rotations import matrices_to_quaternions
from rerun_bridge.errors import ConversionError, PartialConversionError

DEFAULT_SIGMA: Final = 1.0
#: Negative eigenvalues down to this fraction of the largest are rounding, read as zero.
_ROUNDING: Final = 1e-9


class Ellipsoids(NamedTuple):
    """Ellipsoids of the drawable covariances of a batch: ``drawn`` selects their messages."""

    drawn: npt.NDArray[np.bool_]
    half_sizes: npt.NDArray[np.float32]  # (drawn, 3)
    quaternions: npt.NDArray[np.float32]  # (drawn, 4), x y z w


def covariance_sigma(options: Mapping[str, Any]) -> float:
    """The ``covariance_sigma`` option: how many standard deviations the ellipsoids reach."""
    sigma = options.get("covariance_sigma", DEFAULT_SIGMA)
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not np.isfinite(sigma) or sigma <= 0:
        raise ConversionError(f"option covariance_sigma must be a positive number, not {sigma!r}")
    return float(sigma)


def position_blocks(covariances: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``(N, 36)`` row-major 6 x 6 covariances -> their ``(N, 3, 3)`` x / y / z blocks."""
    full = np.asarray(covariances, dtype=np.float64).reshape(-1, 6, 6)
    return full[:, :3, :3]


def ellipsoids(blocks: npt.NDArray[np.float64], sigma: float) -> Ellipsoids:
    """The ``sigma`` ellipsoids of ``(N, 3, 3)`` covariance blocks, for those that can be drawn."""
    finite = np.asarray(np.isfinite(blocks).all(axis=(1, 2)), dtype=np.bool_)
    largest = np.abs(np.where(finite[:, None, None], blocks, 0.0)).max(axis=(1, 2))
    candidates = np.flatnonzero(finite & (largest > 0))
    if len(candidates) == 0:  # most odometry: no covariance estimated
        empty = np.zeros((0, 3), dtype=np.float32)
        return Ellipsoids(np.zeros(len(blocks), dtype=np.bool_), empty, np.zeros((0, 4), dtype=np.float32))
    symmetric = 0.5 * (blocks[candidates] + blocks[candidates].transpose(0, 2, 1))
    values, vectors = np.linalg.eigh(symmetric)  # ascending eigenvalues, eigenvectors as columns
    semidefinite = values[:, 0] >= -_ROUNDING * np.abs(values[:, 2])
    kept = candidates[semidefinite]
    values, vectors = values[semidefinite], vectors[semidefinite]
    # A proper rotation: eigenvectors may come as a reflection.
    reflected = np.asarray(np.linalg.det(vectors) < 0)
    vectors[reflected, :, 2] *= -1.0
    drawn = np.zeros(len(blocks), dtype=np.bool_)
    drawn[kept] = True
    half_sizes = (sigma * np.sqrt(np.maximum(values, 0.0))).astype(np.float32)
    return Ellipsoids(drawn, half_sizes, matrices_to_quaternions(vectors).astype(np.float32))


#: Key of the last covariance and its ellipsoid in a topic's converter state.
_LAST_KEY: Final = "last_covariance"
Shape = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]


def one_ellipsoid(block: npt.NDArray[np.float64], sigma: float, state: dict[str, Any]) -> Shape | None:
    """:func:`ellipsoids` of one 3 x 3 block, ``(half_sizes, quaternions)`` or None. Publishers repeat
    the same covariance message after message, and one message's decomposition costs more than the rest
    of its conversion: the topic's last one is kept in its converter ``state`` and reused when the next
    is the same. The same arithmetic as a batch's, so both paths agree."""
    key = (np.ascontiguousarray(block, dtype=np.float64).tobytes(), sigma)
    last = state.get(_LAST_KEY)
    if last is not None and last[0] == key:
        shape: Shape | None = last[1]
        return shape
    shapes = ellipsoids(block.reshape(1, 3, 3), sigma)
    shape = (shapes.half_sizes, shapes.quaternions) if shapes.drawn[0] else None
    for shared in shape or ():  # handed to every row that asks: read-only
        shared.setflags(write=False)
    state[_LAST_KEY] = (key, shape)
    return shape


def covariance_problem(covariance: npt.ArrayLike) -> str | None:
    """Why a 6 x 6 covariance's position block cannot be drawn; None when it can, or is all zero (not
    estimated: no problem, nothing to draw). Bad data is said, not only left out (found by an audit)."""
    block = position_blocks(covariance)[0]
    if not np.isfinite(block).all():
        return "has NaN or infinite values"
    if not block.any() or ellipsoids(block.reshape(1, 3, 3), DEFAULT_SIGMA).drawn[0]:
        return None
    return "is not positive semi-definite"


def with_covariance_checked(rows: list[Any], covariance: npt.ArrayLike, what: str) -> list[Any]:
    """``rows``, or :class:`PartialConversionError` with them when the covariance cannot be drawn: the
    message converts, its ellipsoid is left out, and the error is counted on the topic. Rows holding the
    ellipsoid need no second look (the decomposition is what the topic's cache saves)."""
    if any(getattr(row, "archetype", "") == "Ellipsoids3D" for row in rows):
        return rows
    problem = covariance_problem(covariance)
    if problem is not None:
        raise PartialConversionError(f"{what} {problem}: its ellipsoid is left out", rows)
    return rows


def undrawable_covariances(covariances: npt.ArrayLike, drawn: npt.NDArray[np.bool_]) -> bool:
    """Whether any of a batch's covariances that :func:`ellipsoids` left out is bad data (not all zero):
    a column converter then declines the batch, and message by message says which."""
    blocks = position_blocks(covariances)[~drawn]
    return bool(np.any(~np.isfinite(blocks)) or np.any(np.nan_to_num(blocks) != 0))


def standard_deviations(covariances: npt.ArrayLike) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """``(N, 36)`` row-major 6 x 6 covariances -> which can be plotted and the square roots of their six
    variances (the diagonal), ``(drawn, 6)``. Plotted like the ellipsoids are drawn: all six finite, none
    negative, not all zero (not estimated)."""
    variances = np.diagonal(np.asarray(covariances, dtype=np.float64).reshape(-1, 6, 6), axis1=1, axis2=2)
    finite = np.asarray(np.isfinite(variances).all(axis=1), dtype=np.bool_)
    safe = np.where(finite[:, None], variances, 0.0)
    drawn = np.asarray(finite & (safe >= 0).all(axis=1) & (safe > 0).any(axis=1), dtype=np.bool_)
    return drawn, np.sqrt(safe[drawn])
