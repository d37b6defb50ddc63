"""Column-wise CDR reading: many messages that share one byte layout, read as numpy columns at once.

The small high-rate topics of a recording (IMU, TF, joint states, odometry) send messages whose layout
never changes: the same frame ids, joint names and sequence lengths, so every message has the same size and
the same bytes everywhere but in its numbers. :func:`describe` walks one message, as the recording's
definition of its type says, and records where each number lies and which bytes (the encapsulation header,
string and sequence lengths, string contents) make up its layout; the walk is checked against the full
decoder's reading of the same message. :func:`split_by_layout` then matches a batch of messages against
such layouts with one numpy comparison each, and :class:`LayoutColumns` reads a field of every matching
message as one column. Messages that match no layout are returned to the caller for the message-by-message
path, so the column path only sees messages the full decoder reads exactly like the first of their group.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from rosbags.interfaces import Nodetype
from rosbags.typesys.store import Typestore

#: Numpy type characters of the ROS primitive types (bool, byte and char travel as one unsigned byte).
_PRIMITIVES: Final = {
    "bool": "u1",
    "byte": "u1",
    "char": "u1",
    "int8": "i1",
    "uint8": "u1",
    "int16": "i2",
    "uint16": "u2",
    "int32": "i4",
    "uint32": "u4",
    "int64": "i8",
    "uint64": "u8",
    "float32": "f4",
    "float64": "f8",
}
_ENCAPSULATION_HEADER: Final = 4
_BYTE_ORDERS: Final = {b"\x00\x01": "<", b"\x00\x00": ">"}
#: Layouts tried per batch before the rest goes message by message (each costs one walk and one decode;
#: a robot's /tf carries one layout per publisher of transforms).
MAX_LAYOUTS_PER_BATCH: Final = 8


class _UnreadableError(Exception):
    """The message holds something the column path does not read (a wstring, a truncated field)."""


@dataclass(frozen=True, slots=True)
class FieldSlot:
    """Where one numeric field lies in the message: ``count`` values of ``dtype`` from ``offset``;
    ``count`` None for a single value."""

    offset: int
    dtype: np.dtype[Any]
    count: int | None


@dataclass(frozen=True, slots=True)
class MessageLayout:
    """The byte layout shared by messages of one size whose structural bytes are equal."""

    size: int
    #: Positions (in the whole payload) of the bytes that must equal the template's, and their values.
    fixed_positions: npt.NDArray[np.intp]
    fixed_values: npt.NDArray[np.uint8]
    #: Numeric fields by dotted path (``header.stamp.sec``, ``transforms[2].transform.translation.x``).
    slots: dict[str, FieldSlot]
    #: String fields and sequence lengths, the same in every message of the layout.
    strings: dict[str, str]
    lengths: dict[str, int]


def describe(
    store: Typestore, type_name: str, data: bytes | memoryview, decoded: Any
) -> MessageLayout | None:
    """The layout of one message (``decoded`` is the full decoder's reading of it, to check the walk
    against), or None when the message cannot be read column-wise."""
    view = memoryview(data)
    order = _BYTE_ORDERS.get(bytes(view[:2]))
    if order is None or len(view) < _ENCAPSULATION_HEADER:
        return None
    walker = _Walker(store, view, order)
    try:
        walker.message(type_name, "")
    except (_UnreadableError, KeyError, UnicodeDecodeError):
        return None
    # As the full decoder does, allow the few bytes of padding a writer may add after the last field.
    if not len(view) - 3 <= walker.pos <= len(view):
        return None
    fixed = np.zeros(len(view), dtype=bool)
    fixed[:_ENCAPSULATION_HEADER] = True
    for start, end in walker.fixed:
        fixed[start:end] = True
    positions = np.flatnonzero(fixed)
    template = np.frombuffer(view, dtype=np.uint8)
    layout = MessageLayout(
        len(view), positions, template[positions].copy(), walker.slots, walker.strings, walker.lengths
    )
    return layout if _agrees(layout, template, decoded) else None


class _Walker:
    """Walks one CDR message by its type definition, noting where each field lies."""

    def __init__(self, store: Typestore, view: memoryview, order: str) -> None:
        self.store = store
        self.view = view
        self.order = order
        self.pos = _ENCAPSULATION_HEADER
        self.slots: dict[str, FieldSlot] = {}
        self.strings: dict[str, str] = {}
        self.lengths: dict[str, int] = {}
        self.fixed: list[tuple[int, int]] = []

    def align(self, size: int) -> None:
        # CDR aligns relative to the end of the encapsulation header.
        body = self.pos - _ENCAPSULATION_HEADER
        self.pos += -body % size

    def take(self, size: int) -> int:
        start = self.pos
        if start + size > len(self.view):
            raise _UnreadableError("message ends inside a field")
        self.pos += size
        return start

    def u32(self) -> int:
        self.align(4)
        start = self.take(4)
        self.fixed.append((start, start + 4))
        return int(np.frombuffer(self.view, dtype=self.order + "u4", count=1, offset=start)[0])

    def message(self, type_name: str, prefix: str) -> None:
        _constants, fields = self.store.fielddefs[type_name]
        for name, desc in fields:
            self.node(desc, f"{prefix}{name}")

    def node(self, desc: Any, path: str) -> None:
        kind, detail = desc
        if kind == Nodetype.NAME:
            self.message(detail, f"{path}.")
        elif kind == Nodetype.BASE:
            base = detail[0]
            if base == "string":
                self.string(path)
            else:
                self.primitives(path, base, None)
        elif kind == Nodetype.ARRAY:
            element, length = detail
            self.elements(element, int(length), path)
        elif kind == Nodetype.SEQUENCE:
            element, _bound = detail
            length = self.u32()
            self.lengths[path] = length
            self.elements(element, length, path)
        else:
            raise _UnreadableError(f"field {path} of kind {kind}")

    def string(self, path: str) -> None:
        length = self.u32()
        start = self.take(length)
        if length < 1 or self.view[start + length - 1] != 0:
            raise _UnreadableError(f"string {path} without its terminating NUL")
        self.fixed.append((start, start + length))
        self.strings[path] = str(self.view[start : start + length - 1], "utf-8")

    def primitives(self, path: str, base: str, count: int | None) -> None:
        code = _PRIMITIVES.get(base)
        if code is None:
            raise _UnreadableError(f"field {path} of type {base}")
        dtype = np.dtype(self.order + code)
        if count != 0:
            self.align(dtype.itemsize)
        start = self.take(dtype.itemsize * (1 if count is None else count))
        self.slots[path] = FieldSlot(start, dtype, count)

    def elements(self, element: Any, length: int, path: str) -> None:
        if element[0] == Nodetype.BASE and element[1][0] in _PRIMITIVES:
            self.primitives(path, element[1][0], length)
            return
        for index in range(length):
            self.node(element, f"{path}[{index}]")


def _agrees(layout: MessageLayout, template: npt.NDArray[np.uint8], decoded: Any) -> bool:
    """Every slot, string and sequence length reads as the full decoder read the same message."""
    batch = LayoutColumns(layout, template.reshape(1, -1))
    try:
        for path in layout.slots:
            mine = batch.column(path)[0]
            theirs = np.asarray(_field(decoded, path))
            if mine.shape != theirs.shape or not np.array_equal(mine, theirs, equal_nan=True):
                return False
        for path, text in layout.strings.items():
            if str(_field(decoded, path)) != text:
                return False
        return all(len(_field(decoded, path)) == length for path, length in layout.lengths.items())
    except (AttributeError, IndexError, TypeError, ValueError):
        return False


def _field(message: Any, path: str) -> Any:
    """``transforms[2].header.stamp.sec`` of a decoded message."""
    value = message
    for part in path.split("."):
        name, _, index = part.partition("[")
        value = getattr(value, name)
        if index:
            value = value[int(index.rstrip("]"))]
    return value


class LayoutColumns:
    """The messages of one layout as an (messages, size) byte matrix, read field by field."""

    def __init__(self, layout: MessageLayout, matrix: npt.NDArray[np.uint8]) -> None:
        self.layout = layout
        self.matrix = matrix

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def column(self, path: str) -> npt.NDArray[Any]:
        """The field of every message, in native byte order: shape (messages,) for a single value,
        (messages, count) for an array or sequence."""
        slot = self.layout.slots[path]
        count = 1 if slot.count is None else slot.count
        width = slot.dtype.itemsize * count
        native = slot.dtype.newbyteorder("=")
        if count == 0:
            return np.zeros((len(self), 0), dtype=native)
        raw = np.ascontiguousarray(self.matrix[:, slot.offset : slot.offset + width])
        values = raw.view(slot.dtype).astype(native, copy=False)
        return values[:, 0] if slot.count is None else values

    def has(self, path: str) -> bool:
        return path in self.layout.slots

    def string(self, path: str) -> str:
        return self.layout.strings[path]

    def length(self, path: str) -> int:
        return self.layout.lengths[path]


Describe = Callable[[bytes | memoryview], MessageLayout | None]


def split_by_layout(
    messages: Sequence[bytes | memoryview], describe_one: Describe, max_layouts: int = MAX_LAYOUTS_PER_BATCH
) -> tuple[list[tuple[LayoutColumns, npt.NDArray[np.intp]]], list[int]]:
    """Group ``messages`` by layout: (columns, indices into ``messages``) per layout found, and the
    indices of the messages left for the message-by-message path, in their original order."""
    sizes = np.fromiter(map(len, messages), dtype=np.int64, count=len(messages))
    remaining = np.arange(len(messages))
    groups: list[tuple[LayoutColumns, npt.NDArray[np.intp]]] = []
    leftover: list[int] = []
    for _attempt in range(max_layouts):
        if remaining.size == 0:
            break
        first = int(remaining[0])
        layout = describe_one(messages[first])
        if layout is None:
            leftover.append(first)
            remaining = remaining[1:]
            continue
        candidates = remaining[sizes[remaining] == layout.size]
        joined = b"".join([messages[index] for index in candidates])
        matrix = np.frombuffer(joined, dtype=np.uint8).reshape(len(candidates), layout.size)
        matches = (matrix[:, layout.fixed_positions] == layout.fixed_values).all(axis=1)
        groups.append((LayoutColumns(layout, matrix[matches]), candidates[matches]))
        remaining = np.setdiff1d(remaining, candidates[matches], assume_unique=True)
    leftover.extend(int(index) for index in remaining)
    leftover.sort()
    return groups, leftover
