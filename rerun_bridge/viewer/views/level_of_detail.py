"""Level of detail for big point clouds: which points of a cloud the 3D view draws past ``max_points``.

Why a subset at all: software GL (Mesa llvmpipe) spends about 0.2 ms per thousand points, so a
1,000,000-point cloud costs a quarter of a second a frame; Rerun's viewer also thins big clouds.

Why this subset: a pseudo-random choice of ``limit`` indices with a fixed seed, chosen once per cloud size
and cached. The same cloud (or the next scan of the same size) keeps the same points from frame to frame,
so nothing flickers while scrubbing or orbiting; picking is one gather per frame, not a per-frame voxel
grid (which costs more than drawing the points it saves on a fresh cloud each frame); and unlike every
k-th point it does not alias with a lidar's ring or column order (stripes, missing rings).
"""

from __future__ import annotations

import functools
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

_SEED: Final = 0x10D
IndexArray = npt.NDArray[np.int64]


@functools.lru_cache(maxsize=8)
def _chosen(total: int, limit: int) -> IndexArray:
    rng = np.random.default_rng(_SEED)
    indices = np.sort(rng.choice(total, size=limit, replace=False)).astype(np.int64)
    indices.setflags(write=False)
    return indices


def detail_indices(total: int, limit: int) -> IndexArray | None:
    """The indices of the points drawn of a ``total``-point cloud (sorted, stable for that size), or
    None when all are drawn (``total <= limit``, or ``limit <= 0``: no level of detail)."""
    if limit <= 0 or total <= limit:
        return None
    return _chosen(total, limit)


def take_instances(values: pa.Array | None, keep: IndexArray, total: int) -> pa.Array | None:
    """A per-instance component (colours, radii) for the kept points only. One value (it applies to
    all) stays as it is; a shorter list is first extended with its last value, as Rerun repeats it."""
    if values is None or len(values) <= 1:
        return values
    if len(values) < total:
        tail = pa.array(np.full(total - len(values), len(values) - 1, dtype=np.int64))
        values = pa.concat_arrays([values, values.take(tail)])
    return values.take(pa.array(keep))


def detail_note(entity: str, shown: int, total: int, limit: int) -> str:
    """What the view says under the scene when a cloud is thinned (it never drops points silently)."""
    return (
        f"{entity}: showing {shown:,} of {total:,} points "
        f"(level of detail: clouds over max_points {limit:,} are thinned)"
    )
