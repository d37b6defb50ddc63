"""Component instances (the Arrow arrays of :meth:`ChunkStore.latest_at`) as the numpy arrays views draw.

Both layouts a store can hold are read: Rerun's own (``Color`` as ``uint32`` 0xRRGGBBAA, vectors of
``float32``), and the bridge's appended rows (colours as ``fixed_size_list<uint8>[4]``, doubles).
"""

from __future__ import annotations

import zlib
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa

FloatArray = npt.NDArray[np.float32]

#: Rerun's default palette feel: distinct, saturated colours picked by entity path.
_PALETTE: Final = np.array(
    [
        [0.91, 0.30, 0.24],
        [0.20, 0.60, 0.86],
        [0.18, 0.80, 0.44],
        [0.95, 0.77, 0.06],
        [0.61, 0.35, 0.71],
        [0.90, 0.49, 0.13],
        [0.10, 0.74, 0.61],
        [0.93, 0.44, 0.70],
    ],
    dtype=np.float32,
)


class ImageFormat(NamedTuple):
    """Rerun's ``ImageFormat`` struct; enum fields hold Rerun's numeric values (None: not set)."""

    width: int
    height: int
    pixel_format: int | None
    color_model: int | None
    channel_datatype: int | None


def vectors(values: pa.Array | None, width: int) -> FloatArray:
    """``fixed_size_list<float>[width]`` instances as ``(N, width)`` float32; empty when absent."""
    if values is None or len(values) == 0:
        return np.zeros((0, width), dtype=np.float32)
    flat = values.flatten() if pa.types.is_fixed_size_list(values.type) else values
    array = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float32)
    return array.reshape(-1, width)


def floats(values: pa.Array | None) -> FloatArray:
    """Scalar instances as float32 (nulls become NaN); empty when absent."""
    if values is None or len(values) == 0:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float32)


def strings(values: pa.Array | None) -> list[str]:
    """String instances; nulls become empty strings."""
    if values is None:
        return []
    return ["" if item is None else str(item) for item in values.to_pylist()]


def first_string(values: pa.Array | None) -> str | None:
    """The first string instance, None when there is none."""
    items = strings(values)
    return items[0] if items else None


def first_flag(values: pa.Array | None) -> bool:
    """Whether the first instance of a boolean component is set (False when absent or null)."""
    return values is not None and len(values) > 0 and bool(values[0].as_py())


def colors_rgba(values: pa.Array | None, count: int) -> FloatArray | None:
    """Colours as ``(count, 4)`` RGBA floats in 0..1 (one colour is broadcast); None when absent.

    ``uint32`` is Rerun's ``Color`` (0xRRGGBBAA); ``fixed_size_list<uint8>[3|4]`` is RGB(A) bytes.
    """
    if values is None or len(values) == 0:
        return None
    if pa.types.is_fixed_size_list(values.type):
        width = values.type.list_size
        channels = np.asarray(values.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
        channels = channels.reshape(-1, width) / np.float32(255.0)
        if width == 3:
            channels = np.hstack([channels, np.ones((len(channels), 1), dtype=np.float32)])
    else:
        packed = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.uint32)
        shifts = np.array([24, 16, 8, 0], dtype=np.uint32)
        channels = ((packed[:, None] >> shifts) & np.uint32(0xFF)).astype(np.float32) / np.float32(255.0)
    if len(channels) == count:
        return channels
    if len(channels) == 1 or len(channels) < count:
        # Rerun repeats the last colour over the remaining instances (one colour colours them all).
        repeated = np.repeat(channels[-1:], count - len(channels), axis=0)
        return np.vstack([channels, repeated])
    return channels[:count]


def entity_color(entity_path: str) -> tuple[float, float, float, float]:
    """A stable colour for an entity without colours of its own."""
    red, green, blue = _PALETTE[zlib.crc32(entity_path.encode()) % len(_PALETTE)]
    return float(red), float(green), float(blue), 1.0


def blob(values: pa.Array | None) -> npt.NDArray[np.uint8] | None:
    """The first blob instance (``list<uint8>``) as a uint8 array, without copying where possible."""
    if values is None or len(values) == 0 or not values.is_valid()[0].as_py():
        return None
    first = values[0].values
    return np.asarray(first.to_numpy(zero_copy_only=False), dtype=np.uint8)


def image_format(values: pa.Array | None) -> ImageFormat | None:
    """The first ``ImageFormat`` instance."""
    if values is None or len(values) == 0:
        return None
    item = values[0].as_py()
    if not isinstance(item, dict):
        return None
    return ImageFormat(
        width=int(item["width"]),
        height=int(item["height"]),
        pixel_format=item.get("pixel_format"),
        color_model=item.get("color_model"),
        channel_datatype=item.get("channel_datatype"),
    )


def describe(values: pa.Array, limit: int = 8) -> str:
    """A short human-readable summary of a component's instances (the selection panel shows it)."""
    count = len(values)
    if pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
        sizes = [len(item) if item is not None else 0 for item in values.to_pylist()[:limit]]
        if count == 1:
            return (
                f"blob of {sizes[0]} bytes"
                if pa.types.is_integer(values.type.value_type)
                else f"list of {sizes[0]}"
            )
    items = values.slice(0, limit).to_pylist()
    text = ", ".join(_short(item) for item in items)
    if count > limit:
        text += f", … ({count} instances)"
    return text


def _short(item: object) -> str:
    if isinstance(item, float):
        return f"{item:.6g}"
    if isinstance(item, list):
        return "[" + ", ".join(_short(part) for part in item[:6]) + (", …]" if len(item) > 6 else "]")
    if isinstance(item, dict):
        return "{" + ", ".join(f"{key}: {_short(value)}" for key, value in item.items()) + "}"
    text = repr(item) if isinstance(item, str) else str(item)
    return text if len(text) <= 80 else text[:77] + "…"
