"""The fallback for types without a converter: the message's fields as one Arrow struct column.

The column is ``<pkg>.msg.<Type>:message`` on the topic's entity, as Rerun's own importer names it, so a
custom message is still searchable and plottable in the viewer instead of being dropped. Besides it, the
message's numeric leaf fields (up to a limit, ``custom_types.leaf_scalars``) are plotted PlotJuggler-style,
each as ``Scalars`` on ``<topic>/<field>/<subfield>`` (:func:`leaf_scalar_rows`).
"""

from __future__ import annotations

import array
import functools
import itertools
import keyword
from collections.abc import Iterator
from typing import Any, Final

import numpy as np
import pyarrow as pa

from rerun_bridge.convert.common import sub_path
from rerun_bridge.convert.registry import ConvertContext, ConverterFunc
from rerun_bridge.model.rows import Row
from rerun_bridge.model.type_names import normalize_type_name, service_of_event

#: Numeric leaf fields of a type without converter plotted by default (``custom_types.leaf_scalars``).
DEFAULT_LEAF_SCALARS: Final = 32
#: Top-level fields not plotted: a header's stamp is the ros_time timeline already.
_UNPLOTTED_FIELDS: Final = frozenset({"header"})
#: The member rosidl (and rosbags) give a type without fields (``std_msgs/Empty``): a byte on the wire, no
#: data; not plotted at any depth.
PLACEHOLDER_FIELD: Final = "structure_needs_at_least_one_member"

# Message classes carry constants and bookkeeping next to their fields; these are not data.
_SKIPPED_ATTRIBUTES = {"__msgtype__"}
_DATACLASS_FIELDS: dict[type, list[str]] = {}


def raw_archetype(type_name: str) -> str:
    """``pkg/msg/Type`` -> ``pkg.msg.Type``."""
    return normalize_type_name(type_name).replace("/", ".")


def message_fields(msg: Any) -> list[str]:
    """Field names of a rosbags dataclass, an rclpy message or an mcap-ros2 object, in definition order."""
    dataclass_fields = getattr(msg, "__dataclass_fields__", None)
    if dataclass_fields is not None:
        names = _DATACLASS_FIELDS.get(type(msg))
        if names is None:
            # rosbags declares a type's constants as dataclass fields annotated ClassVar: not data.
            names = [
                name
                for name, spec in dataclass_fields.items()
                if name not in _SKIPPED_ATTRIBUTES
                and not str(spec.type).startswith(("ClassVar", "typing.ClassVar"))
            ]
            _DATACLASS_FIELDS[type(msg)] = names
        return names
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
    return {_ros_name(name): to_plain(getattr(value, name)) for name in message_fields(value)}


def _ros_name(attribute: str) -> str:
    """A field's ROS name: rosbags names a field that is a Python keyword (``class``) ``class_``, which
    left it null in the raw column (typed by the definition's names) and plotted ``<topic>/class_``
    (audit). ROS 2 field names never end in ``_``."""
    return attribute[:-1] if attribute.endswith("_") and keyword.iskeyword(attribute[:-1]) else attribute


def convert_raw(msg: Any, ctx: ConvertContext) -> list[Row]:
    plain = [to_plain(msg)]
    message = pa.array(plain, type=ctx.raw_type) if ctx.raw_type is not None else plain
    return [Row(ctx.entity_path, raw_archetype(ctx.type_name), {}, extra={"message": message})]


def numeric_leaves(
    plain: Any, prefix: tuple[str, ...] = (), optional: frozenset[str] = frozenset()
) -> Iterator[tuple[tuple[str, ...], float]]:
    """(field path, value) of every number and bool outside sequences, in definition order. ``optional``:
    top-level fields that are sequences of at most one element (``T[<=1]``, ROS's optional value),
    whose element, when there is one, counts as the field itself."""
    if isinstance(plain, dict):
        for name, value in plain.items():
            if (not prefix and name in _UNPLOTTED_FIELDS) or name == PLACEHOLDER_FIELD:
                continue
            field = value
            if not prefix and name in optional and isinstance(value, list):
                field = value[0] if len(value) == 1 else None
            yield from numeric_leaves(field, (*prefix, name))
    elif isinstance(plain, bool | int | float) and prefix:
        yield prefix, float(plain)


@functools.cache  # asked for every message of a raw topic
def optional_fields(type_name: str) -> frozenset[str]:
    """The top-level ``T[<=1]`` fields of a type the bridge knows by name: a service event's request and
    response (rosidl's ``<Name>_Event``: one of them, or neither, per event)."""
    return _SERVICE_EVENT_OPTIONALS if service_of_event(type_name) is not None else frozenset()


_SERVICE_EVENT_OPTIONALS: Final = frozenset({"request", "response"})


def leaf_scalar_rows(
    plain: Any, entity_path: str, limit: int, optional: frozenset[str] = frozenset()
) -> list[Row]:
    """The first ``limit`` numeric leaves, each one ``Scalars`` value on ``<entity>/<field path>``."""
    return [
        Row(sub_path(entity_path, *path), "Scalars", {"scalars": np.array([value], dtype=np.float64)})
        for path, value in itertools.islice(numeric_leaves(plain, optional=optional), limit)
    ]


def raw_converter(leaf_scalars: int = DEFAULT_LEAF_SCALARS) -> ConverterFunc:
    """The raw column plus, when ``leaf_scalars`` > 0, that many numeric leaves as plots."""
    if leaf_scalars <= 0:
        return convert_raw

    def convert(msg: Any, ctx: ConvertContext) -> list[Row]:
        plain = to_plain(msg)
        message = pa.array([plain], type=ctx.raw_type) if ctx.raw_type is not None else [plain]
        row = Row(ctx.entity_path, raw_archetype(ctx.type_name), {}, extra={"message": message})
        optional = optional_fields(ctx.type_name)
        return [row, *leaf_scalar_rows(plain, ctx.entity_path, leaf_scalars, optional)]

    return convert
