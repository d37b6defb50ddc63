"""Zero-copy byte views of ``uint8[]`` message fields, shared by the image and point cloud decoders."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def byte_view(data: Any) -> npt.NDArray[np.uint8]:
    """A ``uint8[]`` field as a 1-D uint8 array, without copying where the source allows it.

    rclpy gives ``array.array('B')`` (or bytes), rosbags a numpy array, mcap-ros2 ``bytes``: all expose
    the buffer protocol, so the view shares their memory (read-only for ``bytes``). Only a plain list of
    ints (some hand-built messages) is copied.
    """
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    if isinstance(data, list | tuple):
        return np.asarray(data, dtype=np.uint8)
    return np.frombuffer(data, dtype=np.uint8)
