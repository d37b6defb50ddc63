"""Types of the C extension built from _marker_walk.c (see its comments)."""

from typing import Any

import numpy.typing as npt
from typing_extensions import Buffer

# numpy arrays support the buffer protocol, but their type does not say so before Python 3.12.
_Bytes = Buffer | npt.NDArray[Any]

API_VERSION: int

def walk_markers(body: _Bytes, count: int, max_sequence: int, table: _Bytes, values: _Bytes, /) -> bool: ...
