"""Types of the C extension built from _cloud_native.c (see its comments)."""

from collections.abc import Sequence
from typing import Any

import numpy.typing as npt
from typing_extensions import Buffer

# numpy arrays support the buffer protocol, but their type does not say so before Python 3.12.
_Bytes = Buffer | npt.NDArray[Any]

API_VERSION: int
#: Fields besides x, y, z one call of gather_finite_points takes.
MAX_FIELDS: int

def gather_finite_points(
    records: _Bytes,
    point_step: int,
    x_offset: int,
    positions_out: _Bytes,
    offsets: Sequence[int],
    sizes: Sequence[int],
    columns_out: Sequence[_Bytes],
    /,
) -> int: ...
