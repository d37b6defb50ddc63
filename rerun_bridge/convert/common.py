"""Small helpers shared by the converter modules."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from rerun_bridge.errors import ConversionError
from rerun_bridge.model.entity_path import EntityPath
from rerun_bridge.model.rows import ColumnRows, Cycled, Row

if TYPE_CHECKING:  # the registry's context, which converters are given: its module imports none of these
    from rerun_bridge.convert.registry import ConvertContext


@functools.lru_cache(maxsize=4096)
def sub_path(entity_path: str, *parts: str) -> str:
    """``entity_path`` joined with unescaped parts; cached: converters ask for the same few per message.
    Empty parts (a name a message left empty) are left out: a path has no empty parts."""
    return str(EntityPath.parse(entity_path).join(*(part for part in parts if part)))


def frame_row(entity_path: str, frame_id: str) -> Row | None:
    """The ``CoordinateFrame`` row that places an entity in its TF frame (None for an empty frame_id)."""
    if not frame_id:
        return None
    return Row(entity_path, "CoordinateFrame", {"frame": [frame_id]})


def frame_columns_of(
    entity_path: str, frame: str, times: Mapping[str, npt.NDArray[np.int64]], count: int
) -> list[ColumnRows]:
    """``frame_row`` for ``count`` rows at ``times`` (none for an empty frame_id)."""
    if not frame:
        return []
    return [ColumnRows(entity_path, "CoordinateFrame", times, {"frame": Cycled([[frame]], count)})]


def header_frame(msg: Any) -> str:
    """``msg.header.frame_id`` with the leading slash tf2 ignores stripped ('' when absent)."""
    header = getattr(msg, "header", None)
    frame = getattr(header, "frame_id", "") if header is not None else ""
    return str(frame).lstrip("/")


def vec3(obj: Any) -> npt.NDArray[np.float64]:
    """``geometry_msgs/Vector3`` or ``Point`` as a (3,) array."""
    return np.array([obj.x, obj.y, obj.z], dtype=np.float64)


def quat_xyzw(obj: Any) -> npt.NDArray[np.float64]:
    """``geometry_msgs/Quaternion`` as (x, y, z, w)."""
    return np.array([obj.x, obj.y, obj.z, obj.w], dtype=np.float64)


def as_bytes(data: Any) -> bytes:
    """A ``uint8[]`` field as bytes: rclpy gives array.array or bytes, rosbags a numpy array, mcap bytes."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, np.ndarray):
        return data.tobytes()
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    if hasattr(data, "tobytes"):
        return bytes(data.tobytes())
    return bytes(data)


def as_float_array(data: Any) -> npt.NDArray[np.float64]:
    """A numeric sequence field (list, array.array, numpy) as float64."""
    if isinstance(data, np.ndarray):
        return data.astype(np.float64, copy=False)
    return np.asarray(list(data) if not hasattr(data, "__len__") else data, dtype=np.float64)


def with_frame(rows: list[Row], entity_path: str, frame_id: str) -> list[Row]:
    """Append the entity's coordinate-frame row when it has one."""
    frame = frame_row(entity_path, frame_id)
    if frame is not None:
        rows.append(frame)
    return rows


def option_length(ctx: ConvertContext, key: str, default: float) -> float:
    """A converter option that is a length (metres): a positive number, ``default`` when not given."""
    value = ctx.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value) or value <= 0:
        raise ConversionError(f"option {key} must be a positive number, not {value!r}")
    return float(value)


def topic_frame(msg: Any, ctx: ConvertContext) -> str:
    """The header's frame, else (header-less types) the topic's ``frame`` option, else ''."""
    return header_frame(msg) or str(ctx.options.get("frame", "")).lstrip("/")
