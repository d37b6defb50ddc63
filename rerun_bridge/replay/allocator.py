"""glibc's allocator set up for a conversion process: big buffers come from the heap and are reused.

A conversion allocates and frees buffers of 0.1 to 4 MB all the time (decompressed chunks, compacted point
clouds, their contiguous columns). glibc maps each one over its mmap threshold fresh from the kernel, which
zeroes it page by page, and unmaps it when freed; its adaptive threshold only partly helps. With a 32 MB
threshold they come from the heap and freed ones are reused: half the page faults and 0.25-0.3 s less CPU
on the 1.1 GB camera + lidar bag (docs/convert.md). Only for processes that convert and exit: a
long-running node keeps glibc's defaults (a heap that does not give memory back would grow over days).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

#: mallopt parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc's largest mmap threshold on 64-bit hosts (DEFAULT_MMAP_THRESHOLD_MAX).
MMAP_THRESHOLD_BYTES = 32 << 20
#: Free memory at the heap's top kept for reuse before glibc returns it.
TRIM_THRESHOLD_BYTES = 128 << 20


def reuse_big_buffers() -> bool:
    """Set this process's allocator as described above; False (and nothing changed) without glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )
