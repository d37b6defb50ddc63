"""Converters: ROS type name -> pure conversion function, kept in explicit tables.

Converters live one module per ROS package (``sensor_msgs.py``, ``geometry_msgs.py``, ...); each module ends
with its table (``CONVERTERS``), and :mod:`rerun_bridge.convert.builtin` joins them into
:data:`~rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`. Nothing registers itself on import: a pipeline is
given the table it uses, and a table can be extended (user-declared mappings) without touching a global.

A converter reads message fields by duck typing, so it takes rclpy messages, rosbags dataclasses and
mcap-ros2 decoded objects alike; it has no I/O and no global state. It returns the rows of one message and
raises :class:`~rerun_bridge.errors.ConversionError` for a message it cannot make sense of.

A few high-rate types also have a column converter (``Converter.columns``): it reads a whole batch of
same-layout messages as numpy columns (:class:`~rerun_bridge.convert.columnar.MessageColumns`) and returns
the same rows as :class:`~rerun_bridge.model.rows.ColumnRows`, without a Python object per message (tests
hold every such twin to its converter's rows).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.model.type_names import normalize_type_name

log = logging.getLogger(__name__)
_Shared = TypeVar("_Shared")


@runtime_checkable
class PendingRows(Protocol):
    """A shared object holding rows to be written later (a marker lifetime's Clear), by topic."""

    def due_everywhere(self, now: Mapping[str, int]) -> dict[str, list[Row]]:
        """The rows due by ``now`` (the live bridge's clock)."""

    def at_stream_end(self) -> dict[str, list[Row]]:
        """Everything still held: the stream ends."""

    def at_topic_end(self, topic: str) -> list[Row]:
        """Everything held for ``topic``: no more of its messages come (a lazily opened bag converts one
        chunk's messages of a topic at a time, each on its own)."""


@runtime_checkable
class TopicMemory(Protocol):
    """A shared object that remembers each topic's earlier messages (a MarkerArray topic's live markers)."""

    def forget(self, topic: str) -> None:
        """Start ``topic`` afresh: what comes next is not preceded by what came before."""


class SharedState:
    """What the converters of different topics share within one pipeline; otherwise converters keep no
    state. The robot model is the case: a URDF seen on ``/robot_description`` (or read from the config's
    file) animates joint states of another topic, but only the joints whose child link TF does not carry.

    Holds the child frames TF has carried so far, the pipeline's warning function (for problems that do not
    fail a message, such as a mesh that cannot be found), the times of the message being converted (its
    ``log_time`` and ``ros_time``; empty outside a pipeline), and one object per class, made on first use.

    ``whole_history``: every row written reaches every reader, in order (a recording converted to one
    file or store). A converter may then leave out of a row what an earlier row of its entity already
    holds (a marker group's unchanged components); a live bridge, whose viewers join late, drop chunks
    and see rotated files alone, writes rows whole. Such rows rely on the rows before them in time: a
    converter that meets a message stamped before what it wrote already adds its topic to
    ``rewrite_whole``, and the conversion then converts that topic again with whole rows, which take
    the partial rows' place at every time (rows of equal time: the later one shows).
    """

    __slots__ = ("_objects", "message_times", "rewrite_whole", "tf_children", "warn", "whole_history")

    def __init__(self, warn: Callable[[str], None] = log.warning, whole_history: bool = False) -> None:
        self.warn = warn
        self.whole_history = whole_history
        self.rewrite_whole: set[str] = set()
        self.tf_children: set[str] = set()
        self.message_times: Mapping[str, int] = {}
        self._objects: dict[type[Any], Any] = {}

    def holding_rows(self) -> list[PendingRows]:
        """The shared objects that hold rows for later (see :class:`PendingRows`)."""
        return [found for found in self._objects.values() if isinstance(found, PendingRows)]

    def forget(self, topic: str) -> None:
        """Every shared object forgets ``topic``'s earlier messages (see :class:`TopicMemory`)."""
        for found in self._objects.values():
            if isinstance(found, TopicMemory):
                found.forget(topic)

    def get(self, kind: type[_Shared]) -> _Shared:
        """This pipeline's one ``kind`` object (``kind()`` on first use)."""
        found: _Shared | None = self._objects.get(kind)
        if found is None:
            found = self._objects[kind] = kind()
        return found


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
    #: State shared with the pipeline's other topics (see :class:`SharedState`).
    shared: SharedState = field(default_factory=SharedState, compare=False)


ConverterFunc = Callable[[Any, ConvertContext], list[Row]]
#: Converts a batch of messages of one layout at once; None declines it (those messages then go one by one).
ColumnConverterFunc = Callable[[MessageColumns, ConvertContext], list[ColumnRows] | None]


@dataclass(frozen=True, slots=True)
class Converter:
    """A converter, the archetypes it produces (shown by ``rerun-bridge types``) and its column twin."""

    type_name: str
    func: ConverterFunc
    archetypes: tuple[str, ...]
    columns: ColumnConverterFunc | None = None
    #: A declarative mapping (``custom_types``): a message it maps nothing of is kept as raw columns.
    raw_when_unmapped: bool = False


class ConverterTable:
    """Converters by normalised type name; built once from explicit lists, read-only after."""

    __slots__ = ("_by_type",)

    def __init__(self, converters: Iterable[Converter]) -> None:
        self._by_type: dict[str, Converter] = {}
        for conv in converters:
            key = normalize_type_name(conv.type_name)
            if key in self._by_type:
                raise ValueError(f"two converters for {key}")
            self._by_type[key] = conv

    def extended(self, converters: Iterable[Converter]) -> ConverterTable:
        """A new table with these converters added (a type already here is an error)."""
        return ConverterTable([*self._by_type.values(), *converters])

    def lookup(self, type_name: str) -> Converter | None:
        """The converter for a type, or None (the caller then keeps the message as raw columns)."""
        return self._by_type.get(normalize_type_name(type_name))

    def lookup_columns(self, type_name: str) -> ColumnConverterFunc | None:
        """The column-wise converter of a type, or None (its messages convert one by one)."""
        conv = self._by_type.get(normalize_type_name(type_name))
        return conv.columns if conv is not None else None

    def all(self) -> list[Converter]:
        return sorted(self._by_type.values(), key=lambda conv: conv.type_name)

    def column_types(self) -> list[str]:
        """Every type that has a column converter."""
        return sorted(key for key, conv in self._by_type.items() if conv.columns is not None)

    def __len__(self) -> int:
        return len(self._by_type)
