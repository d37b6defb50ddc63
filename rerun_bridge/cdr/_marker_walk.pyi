"""Types of the C extension built from _marker_walk.c (see its comments)."""

from typing import Any

import numpy.typing as npt
from typing_extensions import Buffer

# numpy arrays support the buffer protocol, but their type does not say so before Python 3.12.
_Bytes = Buffer | npt.NDArray[Any]

API_VERSION: int

def walk_markers(
    body: _Bytes, count: int, max_sequence: int, table: _Bytes, values: _Bytes, /
) -> tuple[list[int], list[int]] | None: ...
def marker_poses(values: _Bytes, quaternions: _Bytes, rotations: _Bytes, colors: _Bytes, /) -> None: ...
def place_points(
    body: _Bytes,
    offsets: _Bytes,
    counts: _Bytes,
    values: _Bytes,
    rotations: _Bytes,
    scaled: bool,
    out: _Bytes,
    /,
) -> bool: ...
def point_colors(
    body: _Bytes, counts: _Bytes, color_offsets: _Bytes, color_counts: _Bytes, colors: _Bytes, out: _Bytes, /
) -> None: ...
def bad_markers(
    body: _Bytes,
    indices: _Bytes,
    types: _Bytes,
    values: _Bytes,
    point_offsets: _Bytes,
    point_counts: _Bytes,
    color_counts: _Bytes,
    /,
) -> bool: ...
def texts(body: _Bytes, offsets: _Bytes, lengths: _Bytes, indices: _Bytes, /) -> list[str]: ...
def group_instances(
    kind: int,
    body: _Bytes,
    indices: _Bytes,
    values: _Bytes,
    point_offsets: _Bytes,
    point_counts: _Bytes,
    color_offsets: _Bytes,
    color_counts: _Bytes,
    positions: _Bytes,
    extents: _Bytes,
    quaternions: _Bytes,
    radii: _Bytes,
    colors: _Bytes,
    /,
) -> int: ...
