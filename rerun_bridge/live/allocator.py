"""Big frames go back to the system when freed.

glibc serves an allocation above its mmap threshold with a mapping of its own, unmapped on free; but the
threshold moves up to the size of every such block freed (up to 32 MB), so after the first camera frame
is freed, frames come from the heap arenas (one per thread that allocates: DDS's, rclpy's, the worker's,
Qt's), between small long-lived objects that pin them there. Under overload, when most frames are dropped
soon after they arrive, the node's resident memory then crept up by about 100 MB a minute with nothing
stored (bench/soak.py). A fixed threshold of 1 MB keeps every frame a mapping of its own: its memory
returns to the system when it is dropped or evicted.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Final

#: glibc's mallopt parameter number of the mmap threshold (malloc.h).
_M_MMAP_THRESHOLD: Final = -3
#: Allocations this big (a 720p frame is 2.8 MB, a 100k-point cloud 1.6 MB) are mappings of their own.
FRAME_MMAP_THRESHOLD: Final = 1 << 20


def map_big_allocations() -> bool:
    """Fix glibc's mmap threshold at :data:`FRAME_MMAP_THRESHOLD`; False where the C library is not glibc
    (nothing changes there)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, FRAME_MMAP_THRESHOLD))
