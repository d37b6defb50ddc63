"""Quaternion math on numpy arrays, in ROS order (x, y, z, w).

Every function works on single quaternions (shape ``(4,)``) and on stacks (``(..., 4)``) alike, with the
usual numpy broadcasting, so the TF buffer can use the same code for one lookup and for whole edges.
Results are new float64 arrays; inputs are never modified.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Below this norm a quaternion carries no direction worth normalising: it is treated as zero.
MIN_NORM: Final = 1e-12
# Below this sine of the half angle slerp's weights lose precision; the endpoints are equal up to rounding
# and normalised linear interpolation is exact enough.
_SLERP_LINEAR_BELOW: Final = 1e-9


def identity(shape: tuple[int, ...] = ()) -> FloatArray:
    """The identity rotation, or a stack of them with leading ``shape``."""
    out = np.zeros((*shape, 4), dtype=np.float64)
    out[..., 3] = 1.0
    return out


def normalize(q: npt.ArrayLike, *, what: str = "quaternion") -> FloatArray:
    """``q`` scaled to unit norm; ValueError naming ``what`` for zero-norm or non-finite input."""
    arr = np.array(q, dtype=np.float64)
    if arr.shape[-1:] != (4,):
        raise ValueError(f"{what}: expected quaternions of shape (..., 4), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what}: quaternion has non-finite components")
    norms = np.linalg.norm(arr, axis=-1, keepdims=True)
    if np.any(norms < MIN_NORM):
        bad = np.argwhere(norms[..., 0] < MIN_NORM)
        where = "" if arr.ndim == 1 else f" (at index {tuple(int(i) for i in bad[0])})"
        raise ValueError(f"{what}: zero-norm quaternion{where} cannot be a rotation")
    out: FloatArray = arr / norms
    return out


def multiply(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """Hamilton product ``a * b``: the rotation ``b`` followed by ``a``."""
    qa = np.asarray(a, dtype=np.float64)
    qb = np.asarray(b, dtype=np.float64)
    ax, ay, az, aw = qa[..., 0], qa[..., 1], qa[..., 2], qa[..., 3]
    bx, by, bz, bw = qb[..., 0], qb[..., 1], qb[..., 2], qb[..., 3]
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def conjugate(q: npt.ArrayLike) -> FloatArray:
    """``(-x, -y, -z, w)``: the inverse of a unit quaternion."""
    out = np.array(q, dtype=np.float64)
    out[..., :3] *= -1.0
    return out


def inverse(q: npt.ArrayLike) -> FloatArray:
    """The multiplicative inverse; equal to the conjugate for unit quaternions."""
    arr = np.asarray(q, dtype=np.float64)
    out: FloatArray = conjugate(arr) / np.sum(arr * arr, axis=-1, keepdims=True)
    return out


def rotate(q: npt.ArrayLike, v: npt.ArrayLike) -> FloatArray:
    """Vectors ``v`` (``(..., 3)``) rotated by unit quaternions ``q``."""
    quat = np.asarray(q, dtype=np.float64)
    vec = np.asarray(v, dtype=np.float64)
    u = quat[..., :3]
    w = quat[..., 3:4]
    # v' = v + 2w (u x v) + 2 u x (u x v): two cross products, cheaper than building q v q*.
    uv = np.cross(u, vec)
    out: FloatArray = vec + 2.0 * (w * uv + np.cross(u, uv))
    return out


def slerp(q0: npt.ArrayLike, q1: npt.ArrayLike, t: npt.ArrayLike) -> FloatArray:
    """Spherical interpolation from unit ``q0`` (t=0) to unit ``q1`` (t=1) along the shorter arc.

    ``q`` and ``-q`` are the same rotation, so ``q1`` is flipped when it lies on the far hemisphere.
    """
    a = np.asarray(q0, dtype=np.float64)
    b = np.asarray(q1, dtype=np.float64)
    ratio = np.asarray(t, dtype=np.float64)[..., np.newaxis]
    b = np.where(np.sum(a * b, axis=-1, keepdims=True) < 0.0, -b, b)
    # Half the rotation angle between the endpoints, from chord lengths: accurate even when tiny, where
    # arccos of the dot product loses half the digits.
    half = 2.0 * np.arctan2(
        np.linalg.norm(a - b, axis=-1, keepdims=True), np.linalg.norm(a + b, axis=-1, keepdims=True)
    )
    sin_half = np.sin(half)
    linear = sin_half < _SLERP_LINEAR_BELOW
    safe = np.where(linear, 1.0, sin_half)
    w0 = np.where(linear, 1.0 - ratio, np.sin((1.0 - ratio) * half) / safe)
    w1 = np.where(linear, ratio, np.sin(ratio * half) / safe)
    out = w0 * a + w1 * b
    # Renormalise: removes the rounding drift and makes the linear fallback a proper nlerp.
    result: FloatArray = out / np.linalg.norm(out, axis=-1, keepdims=True)
    return result


def angle_between(q0: npt.ArrayLike, q1: npt.ArrayLike) -> FloatArray:
    """Rotation angle in radians (in [0, pi]) of the rotation taking unit ``q0`` to unit ``q1``."""
    rel = multiply(conjugate(q0), q1)
    out: FloatArray = 2.0 * np.arctan2(np.linalg.norm(rel[..., :3], axis=-1), np.abs(rel[..., 3]))
    return out


def to_matrix(q: npt.ArrayLike) -> FloatArray:
    """Rotation matrices (``(..., 3, 3)``) of unit quaternions."""
    quat = np.asarray(q, dtype=np.float64)
    x, y, z, w = quat[..., 0], quat[..., 1], quat[..., 2], quat[..., 3]
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    rows = [
        [1.0 - 2.0 * (yy + zz), 2.0 * (xy - wz), 2.0 * (xz + wy)],
        [2.0 * (xy + wz), 1.0 - 2.0 * (xx + zz), 2.0 * (yz - wx)],
        [2.0 * (xz - wy), 2.0 * (yz + wx), 1.0 - 2.0 * (xx + yy)],
    ]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def from_matrix(m: npt.ArrayLike) -> FloatArray:
    """Unit quaternions (w >= 0) of rotation matrices (``(..., 3, 3)``).

    Shepperd's method: of the four ways to recover the quaternion, use the one whose divisor (the largest
    of trace and diagonal) is largest, so no branch divides by a small number.
    """
    mat = np.asarray(m, dtype=np.float64)
    m00, m01, m02 = mat[..., 0, 0], mat[..., 0, 1], mat[..., 0, 2]
    m10, m11, m12 = mat[..., 1, 0], mat[..., 1, 1], mat[..., 1, 2]
    m20, m21, m22 = mat[..., 2, 0], mat[..., 2, 1], mat[..., 2, 2]
    trace = m00 + m11 + m22
    # Each candidate is the quaternion scaled by 4 times one of its components.
    candidates = np.stack(
        [
            np.stack([m21 - m12, m02 - m20, m10 - m01, 1.0 + trace], axis=-1),
            np.stack([1.0 + m00 - m11 - m22, m01 + m10, m02 + m20, m21 - m12], axis=-1),
            np.stack([m01 + m10, 1.0 - m00 + m11 - m22, m12 + m21, m02 - m20], axis=-1),
            np.stack([m02 + m20, m12 + m21, 1.0 - m00 - m11 + m22, m10 - m01], axis=-1),
        ],
        axis=-2,
    )
    best = np.argmax(np.stack([trace, m00, m11, m22], axis=-1), axis=-1)
    chosen = np.take_along_axis(candidates, best[..., np.newaxis, np.newaxis], axis=-2)[..., 0, :]
    out: FloatArray = chosen / np.linalg.norm(chosen, axis=-1, keepdims=True)
    return np.where(out[..., 3:4] < 0.0, -out, out)


# ---- Single quaternions as plain floats ---------------------------------------------------------------
# A lookup composes a handful of single transforms; on such tiny inputs numpy's per-call overhead is ~20x
# the arithmetic, so the buffer's lookup path uses these tuple versions of the functions above.

Quat = tuple[float, float, float, float]
Vec3 = tuple[float, float, float]


def multiply_one(a: Quat, b: Quat) -> Quat:
    """:func:`multiply` for one pair."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def rotate_one(q: Quat, v: Vec3) -> Vec3:
    """:func:`rotate` for one unit quaternion and one vector."""
    x, y, z, w = q
    vx, vy, vz = v
    cx, cy, cz = y * vz - z * vy, z * vx - x * vz, x * vy - y * vx  # u x v
    dx, dy, dz = y * cz - z * cy, z * cx - x * cz, x * cy - y * cx  # u x (u x v)
    return (vx + 2.0 * (w * cx + dx), vy + 2.0 * (w * cy + dy), vz + 2.0 * (w * cz + dz))


def slerp_one(q0: Quat, q1: Quat, t: float) -> Quat:
    """:func:`slerp` for one pair and one ratio."""
    if sum(a * b for a, b in zip(q0, q1, strict=True)) < 0.0:
        q1 = (-q1[0], -q1[1], -q1[2], -q1[3])
    chord = math.sqrt(sum((a - b) ** 2 for a, b in zip(q0, q1, strict=True)))
    span = math.sqrt(sum((a + b) ** 2 for a, b in zip(q0, q1, strict=True)))
    half = 2.0 * math.atan2(chord, span)
    sin_half = math.sin(half)
    if sin_half < _SLERP_LINEAR_BELOW:
        w0, w1 = 1.0 - t, t
    else:
        w0, w1 = math.sin((1.0 - t) * half) / sin_half, math.sin(t * half) / sin_half
    out = [w0 * a + w1 * b for a, b in zip(q0, q1, strict=True)]
    norm = math.sqrt(sum(c * c for c in out))
    return (out[0] / norm, out[1] / norm, out[2] / norm, out[3] / norm)
