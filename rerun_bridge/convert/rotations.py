"""Rotations as numpy, for converters that place geometry themselves (map tiles, covariance ellipsoids).

Quaternions are (x, y, z, w), as ROS and Rerun write them. Every function takes a batch (``(N, 4)`` or
``(N, 3, 3)``) so the column converters use the same code as the one-message converters.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def quaternions_to_matrices(quaternions: npt.ArrayLike) -> FloatArray:
    """``(N, 4)`` quaternions -> ``(N, 3, 3)`` rotation matrices; they are normalised first (a zero
    quaternion, which ROS publishers leave unset, is read as the identity)."""
    quats = np.asarray(quaternions, dtype=np.float64).reshape(-1, 4)
    norms = np.linalg.norm(quats, axis=1, keepdims=True)
    unit = np.where(norms > 0, quats / np.where(norms > 0, norms, 1.0), [[0.0, 0.0, 0.0, 1.0]])
    x, y, z, w = unit.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
            np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
            np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=1,
    )


def matrices_to_quaternions(matrices: npt.ArrayLike) -> FloatArray:
    """``(N, 3, 3)`` proper rotation matrices -> ``(N, 4)`` unit quaternions with w >= 0.

    Each quaternion is read from the largest of the four diagonal combinations, which keeps the square
    root away from zero (the usual numerically stable choice).
    """
    m = np.asarray(matrices, dtype=np.float64).reshape(-1, 3, 3)
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    candidates = np.stack([m[:, 0, 0], m[:, 1, 1], m[:, 2, 2], trace], axis=1)
    pick = np.argmax(candidates, axis=1)
    out = np.empty((len(m), 4))
    for index in range(4):  # four cases, each vectorised over the messages that take it
        rows = pick == index
        if rows.any():
            out[rows] = _quaternion_case(m[rows], index)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    out[out[:, 3] < 0] *= -1.0
    return out


def _quaternion_case(m: FloatArray, case: int) -> FloatArray:
    """Quaternions of matrices whose largest diagonal combination is ``case`` (x, y, z, or w for 3)."""
    if case == 3:
        s = 2.0 * np.sqrt(1.0 + m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2])
        return np.stack(
            [
                (m[:, 2, 1] - m[:, 1, 2]) / s,
                (m[:, 0, 2] - m[:, 2, 0]) / s,
                (m[:, 1, 0] - m[:, 0, 1]) / s,
                s / 4,
            ],
            axis=1,
        )
    i, j, k = case, (case + 1) % 3, (case + 2) % 3
    s = 2.0 * np.sqrt(np.maximum(1.0 + m[:, i, i] - m[:, j, j] - m[:, k, k], 1e-300))
    quat = np.empty((len(m), 4))
    quat[:, i] = s / 4
    quat[:, j] = (m[:, j, i] + m[:, i, j]) / s
    quat[:, k] = (m[:, k, i] + m[:, i, k]) / s
    quat[:, 3] = (m[:, k, j] - m[:, j, k]) / s
    return quat
