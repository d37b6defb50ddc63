"""The converter registry: ROS type name -> pure conversion function.

Converters live one module per ROS package (``sensor_msgs.py``, ``geometry_msgs.py``, ...) and register
themselves with :func:`converter` when :mod:`rerun_bridge.convert` is imported. A converter reads message
fields by duck typing, so it takes rclpy messages, rosbags dataclasses and mcap-ros2 decoded objects alike;
it has no I/O and no global state. It returns the rows of one message and raises
:class:`~rerun_bridge.errors.ConversionError` for a message it cannot make sense of.

A few high-rate types also have a column converter (:func:`column_converter`): it reads a whole batch of
same-layout messages as numpy columns (:class:`~rerun_bridge.convert.columnar.MessageColumns`) and
returns the same rows as :class:`~rerun_bridge.model.rows.ColumnRows`, without a Python object per message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.model.rows import ColumnRows, Row


@dataclass(frozen=True, slots=True)
class ConvertContext:
    """What a converter may know besides the message itself."""

    topic: str
    type_name: str
    entity_path: str
    #: Per-converter options from the config (e.g. ``colormap`` for point clouds).
    options: Mapping[str, Any] = field(default_factory=dict)
    #: True for topics whose data holds at every time (``/tf_static``).
    static: bool = False
    #: The message's Arrow struct type, from its definition, for the raw fallback (None: inferred).
    raw_type: Any = None


ConverterFunc = Callable[[Any, ConvertContext], list[Row]]
#: Converts a batch of messages of one layout at once; None declines it (those messages then go one by one).
ColumnConverterFunc = Callable[[MessageColumns, ConvertContext], list[ColumnRows] | None]


@dataclass(frozen=True, slots=True)
class Converter:
    """A registered converter and the archetypes it produces (shown by ``rerun-bridge types``)."""

    type_name: str
    func: ConverterFunc
    archetypes: tuple[str, ...]


_REGISTRY: Final[dict[str, Converter]] = {}
_COLUMN_REGISTRY: Final[dict[str, ColumnConverterFunc]] = {}


def normalize_type_name(type_name: str) -> str:
    """``sensor_msgs/Image`` and ``sensor_msgs/msg/Image`` name the same type; we key on the latter."""
    parts = type_name.strip("/").split("/")
    if len(parts) == 2:
        return f"{parts[0]}/msg/{parts[1]}"
    return "/".join(parts)


def converter(type_name: str, *archetypes: str) -> Callable[[ConverterFunc], ConverterFunc]:
    """Register ``func`` as the converter for ``type_name``."""

    def register(func: ConverterFunc) -> ConverterFunc:
        key = normalize_type_name(type_name)
        if key in _REGISTRY:
            raise ValueError(f"two converters registered for {key}")
        _REGISTRY[key] = Converter(key, func, archetypes)
        return func

    return register


def column_converter(type_name: str) -> Callable[[ColumnConverterFunc], ColumnConverterFunc]:
    """Register ``func`` as the column-wise twin of ``type_name``'s converter: for the same messages it
    must return the same rows, column by column (tests hold every twin to that)."""

    def register(func: ColumnConverterFunc) -> ColumnConverterFunc:
        key = normalize_type_name(type_name)
        if key in _COLUMN_REGISTRY:
            raise ValueError(f"two column converters registered for {key}")
        _COLUMN_REGISTRY[key] = func
        return func

    return register


def lookup_columns(type_name: str) -> ColumnConverterFunc | None:
    """The column-wise converter of a type, or None (its messages convert one by one)."""
    _load_builtin_converters()
    return _COLUMN_REGISTRY.get(normalize_type_name(type_name))


def lookup(type_name: str) -> Converter | None:
    """The converter for a type, or None (the caller then keeps the message as raw columns)."""
    _load_builtin_converters()
    return _REGISTRY.get(normalize_type_name(type_name))


def column_converter_types() -> list[str]:
    """Every type that has a column converter."""
    _load_builtin_converters()
    return sorted(_COLUMN_REGISTRY)


def all_converters() -> list[Converter]:
    _load_builtin_converters()
    return sorted(_REGISTRY.values(), key=lambda conv: conv.type_name)


def _load_builtin_converters() -> None:
    # Importing the package registers every built-in converter module exactly once.
    import rerun_bridge.convert.builtin  # noqa: F401
