"""The fallback for types without a converter: the message's fields as one Arrow struct column.

The column is ``<pkg>.msg.<Type>:message`` on the topic's entity, as Rerun's own importer names it, so a
custom message is still searchable and plottable in the viewer instead of being dropped.
"""

from __future__ import annotations

import array
from typing import Any

import numpy as np
import pyarrow as pa

from rerun_bridge.convert.registry import ConvertContext
from rerun_bridge.model.rows import Row
from rerun_bridge.model.type_names import normalize_type_name

# Message classes carry constants and bookkeeping next to their fields; these are not data.
_SKIPPED_ATTRIBUTES = {"__msgtype__"}


def raw_archetype(type_name: str) -> str:
    """``pkg/msg/Type`` -> ``pkg.msg.Type``."""
    return normalize_type_name(type_name).replace("/", ".")


def message_fields(msg: Any) -> list[str]:
    """Field names of a rosbags dataclass, an rclpy message or an mcap-ros2 object, in definition order."""
    dataclass_fields = getattr(msg, "__dataclass_fields__", None)
    if dataclass_fields is not None:
        return [name for name in dataclass_fields if name not in _SKIPPED_ATTRIBUTES]
    get_fields = getattr(type(msg), "get_fields_and_field_types", None)
    if get_fields is not None:
        return list(get_fields())
    slots = getattr(msg, "__slots__", None)
    if slots:
        return [name.lstrip("_") for name in slots if name.lstrip("_") not in _SKIPPED_ATTRIBUTES]
    return [name for name in vars(msg) if not name.startswith("_")]


def to_plain(value: Any) -> Any:
    """A message as nested dicts, lists and scalars that ``pyarrow.array`` understands."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes | bytearray | memoryview):
        return list(bytes(value))
    if isinstance(value, array.array):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    return {name: to_plain(getattr(value, name)) for name in message_fields(value)}


def convert_raw(msg: Any, ctx: ConvertContext) -> list[Row]:
    plain = [to_plain(msg)]
    message = pa.array(plain, type=ctx.raw_type) if ctx.raw_type is not None else plain
    return [Row(ctx.entity_path, raw_archetype(ctx.type_name), {}, extra={"message": message})]
