"""A MarkerArray read as columns: where every marker lies, found with numpy for all markers at once.

A MarkerArray is a sequence of variable-length records (strings and point lists decide where the next
marker starts), so reading it marker by marker costs tens of microseconds a marker in Python. The arrays
that matter for speed (slam_toolbox's graph, planners' debug output) put thousands of markers in one
header frame. :func:`scan_marker_array` uses that: the header frame strings of the first few markers are
looked for in the whole payload (one numpy comparison each), which finds every place a marker may start.
From all those places at once it walks a marker's layout with numpy to the position of the next marker;
the chain from the first marker through these positions (followed by pointer doubling) gives every
marker's fields as columns. A marker in another frame is stepped over by the marker-by-marker reader.
Where the optional C extension is built (``_marker_walk.c``) it walks the markers one after another
instead, with the same checks, and reads their numbers too (stamps, ids, poses, colours, lifetimes): a
tenth of a microsecond a marker against half a microsecond for numpy's walk and gathers. The numpy walk
stays as the fallback and as the reference the tests hold the C walk to.

The scan is conservative: it accepts an array only when every field of every marker is well-formed (the
same checks the marker-by-marker reader in :mod:`rerun_bridge.cdr.fast` makes, strings decoded as UTF-8)
and little-endian, with at most a few markers in frames it did not look for. Anything else returns None
and the caller reads the array marker by marker as before, so odd or malformed input decodes, or fails,
exactly as it did.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from rerun_bridge.model.strips import ragged
from rerun_bridge.native import speaks

#: The API of ``_marker_walk.c`` this module calls (its ``API_VERSION``).
MARKER_WALK_API: Final = 2

try:
    from rerun_bridge.cdr import _marker_walk
except ImportError:  # built without a C compiler: the numpy walk below finds the same fields
    _marker_walk = None  # type: ignore[assignment]
else:
    if not speaks(_marker_walk, api_version=MARKER_WALK_API):
        _marker_walk = None  # type: ignore[assignment]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

#: Longest header frame or namespace (bytes, with the NUL) the scan compares with numpy; an array with a
#: longer one goes marker by marker.
_MAX_STRING_BYTES: Final = 256
_POINT_BYTES: Final = 24  # geometry_msgs/Point: three float64
_COLOR_BYTES: Final = 16  # std_msgs/ColorRGBA: four float32
_UV_BYTES: Final = 8  # visualization_msgs/UVCoordinate: two float32
#: Markers in other frames than the first one's stepped over one by one, at most, before giving up.
_MAX_OTHER_MARKERS: Final = 64
#: Markers read one by one first: the frames of those past the first anchor the scan.
_SAMPLED_MARKERS: Final = 4
#: Distinct frames or namespaces grouped by comparison before sorting does it.
_FEW_GROUPS: Final = 16
#: Fewer bytes than any marker takes (its fixed block alone is 105, with a dozen strings and sequences).
_MIN_MARKER_BYTES: Final = 64
#: The fields the C walk (``_marker_walk.c``) writes, one row of its table each, in its order.
WALK_FIELDS: Final = (
    "start",
    "frame",
    "frame_length",
    "ns",
    "ns_length",
    "ids_at",
    "fixed",
    "points",
    "point_count",
    "colors",
    "color_count",
    "texture_resource",
    "texture_resource_length",
    "texture_frame",
    "texture_frame_length",
    "texture_format",
    "texture_format_length",
    "text",
    "text_length",
    "mesh_resource",
    "mesh_resource_length",
    "mesh_file",
    "mesh_file_length",
    "next",
    "end",
)
#: The numbers the C walk writes after those fields, one row each (then a table of pose values), then
#: the codes of each marker's header frame and namespace.
_NUMBER_FIELDS: Final = ("stamp_ns", "id", "type", "action", "lifetime_ns")
_CODE_FIELDS: Final = ("frame_code", "ns_code")
#: Offsets within the 8-aligned block after a marker's id, type and action.
_COLOR_AT: Final = 80
_LIFETIME_AT: Final = 96
_FRAME_LOCKED_AT: Final = 104


@dataclass(frozen=True, slots=True)
class MarkerColumns:
    """The fields of every marker of one array, first axis the markers in order.

    Offsets are into ``body`` (the CDR payload after its encapsulation header). Fields the columns do
    not hold (textures, mesh files) are read per marker by ``marker_at``."""

    body: memoryview
    starts: I64
    stamp_ns: I64
    #: Header frames as written (leading slash kept), and each marker's index into them.
    frame_names: list[str]
    frame_codes: I64
    ns_names: list[str]
    ns_codes: I64
    ids: I64
    types: I64
    actions: I64
    #: Position, orientation, scale (float64) and colour (float32 widened): pose_values' 14 numbers.
    values: F64
    lifetime_ns: I64
    point_offsets: I64
    point_counts: I64
    color_offsets: I64
    color_counts: I64
    text_offsets: I64
    text_lengths: I64
    frame_locked: npt.NDArray[np.bool_]
    #: The marker-by-marker reader: the marker at an offset of ``body`` (for markers not built as columns).
    marker_at: Callable[[int], Any]

    def __len__(self) -> int:
        return len(self.starts)

    def texts(self, indices: I64) -> list[str]:
        """The ``text`` of the markers at ``indices``: one decode for all when they are ASCII."""
        if _marker_walk is not None:
            return _marker_walk.texts(self.body, self.text_offsets, self.text_lengths, indices)
        starts, lengths = self.text_offsets[indices], self.text_lengths[indices] - 1
        raw = np.frombuffer(self.body, dtype=np.uint8)[ragged(starts, lengths)]
        if len(raw) and raw.max() >= 0x80:
            return [
                str(self.body[start : start + length], "utf-8") for start, length in _pairs(starts, lengths)
            ]
        joined = raw.tobytes().decode("ascii")
        return [
            joined[start : start + length] for start, length in _pairs(np.cumsum(lengths) - lengths, lengths)
        ]

    def points(self, indices: I64) -> F64:
        """The points of the markers at ``indices``, one after another, as (N, 3) float64."""
        return _records(self.body, np.float64, self.point_offsets[indices], self.point_counts[indices], 3)

    def colors(self, indices: I64) -> F64:
        """The per-point colours of the markers at ``indices``, one after another, as (N, 4) float64."""
        return _records(self.body, np.float32, self.color_offsets[indices], self.color_counts[indices], 4)


def _pairs(starts: I64, lengths: I64) -> zip[tuple[int, int]]:
    return zip(starts.tolist(), lengths.tolist(), strict=True)


def _records(body: memoryview, dtype: Any, offsets: I64, counts: I64, width: int) -> F64:
    item = np.dtype(dtype).itemsize
    values = np.frombuffer(body, dtype=np.dtype(dtype).newbyteorder("<"), count=len(body) // item)
    records: F64 = values[ragged(offsets // item, counts * width)].astype(np.float64).reshape(-1, width)
    return records


class _Walk:
    """Reads fields at many candidate positions at once; a position whose field does not fit the
    payload is marked invalid (and reads as 0)."""

    def __init__(self, body: memoryview, max_sequence: int, positions: I64) -> None:
        self.size = len(body)
        self.max_sequence = max_sequence
        self.u8 = np.frombuffer(body, dtype=np.uint8)
        self.u32 = np.frombuffer(body, dtype="<u4", count=self.size // 4)
        self.valid = np.ones(len(positions), dtype=bool)

    def u32_at(self, pos: I64) -> I64:
        index = pos >> 2
        inside = index < len(self.u32)
        self.valid &= inside
        return self.u32[np.where(inside, index, 0)].astype(np.int64)

    def byte_at(self, pos: I64) -> I64:
        inside = pos < self.size
        self.valid &= inside
        return self.u8[np.where(inside, pos, 0)].astype(np.int64)

    def string(self, pos: I64) -> tuple[I64, I64, I64]:
        """(start of the characters, length with the terminating NUL, position after it)."""
        pos = (pos + 3) & -4
        length = self.u32_at(pos)
        end = pos + 4 + length
        self.valid &= (length >= 1) & (end <= self.size)
        self.valid &= self.byte_at(np.where(self.valid, end - 1, 0)) == 0
        return pos + 4, length, end

    def sequence(self, pos: I64, item: int, align8: bool) -> tuple[I64, I64, I64]:
        """(start of the elements, their count, position after them)."""
        pos = (pos + 3) & -4
        count = self.u32_at(pos)
        pos = pos + 4
        self.valid &= (count <= self.max_sequence) & (pos + count * item <= self.size)
        if align8:
            pos = np.where(count > 0, (pos + 7) & -8, pos)
        end = pos + count * item
        self.valid &= end <= self.size
        return pos, count, end


#: The fields :func:`_walk_markers` locates, each an array over the walked positions: a string's or a
#: sequence's start and length, the position of id / type / action and of the 8-aligned pose block.
_Fields = dict[str, I64]
#: Strings the columns do not hold, only checked as UTF-8 (the marker-by-marker reader decodes them).
_OTHER_STRINGS: Final = ("texture_resource", "texture_frame", "texture_format", "mesh_resource", "mesh_file")


def _walk_markers(walk: _Walk, starts: I64) -> _Fields:
    """Every field of a marker starting at each of ``starts``."""
    fields: _Fields = {}
    fields["frame"], fields["frame_length"], pos = walk.string(starts + 8)
    fields["ns"], fields["ns_length"], pos = walk.string(pos)
    fields["ids_at"] = ids_at = (pos + 3) & -4  # id, type, action, then the 8-aligned pose
    fields["fixed"] = fixed = (ids_at + 12 + 7) & -8
    walk.valid &= fixed + _FRAME_LOCKED_AT + 1 <= walk.size
    fields["points"], fields["point_count"], pos = walk.sequence(
        fixed + _FRAME_LOCKED_AT + 1, _POINT_BYTES, True
    )
    fields["colors"], fields["color_count"], pos = walk.sequence(pos, _COLOR_BYTES, False)
    fields["texture_resource"], fields["texture_resource_length"], pos = walk.string(pos)
    pos = (pos + 3) & -4
    walk.valid &= pos + 8 <= walk.size  # the texture header's stamp
    fields["texture_frame"], fields["texture_frame_length"], pos = walk.string(pos + 8)
    fields["texture_format"], fields["texture_format_length"], pos = walk.string(pos)
    _start, _count, pos = walk.sequence(pos, 1, False)  # texture data
    _start, _count, pos = walk.sequence(pos, _UV_BYTES, False)
    fields["text"], fields["text_length"], pos = walk.string(pos)
    fields["mesh_resource"], fields["mesh_resource_length"], pos = walk.string(pos)
    fields["mesh_file"], fields["mesh_file_length"], pos = walk.string(pos)
    _start, _count, pos = walk.sequence(pos, 1, False)  # mesh_file.data
    walk.valid &= pos < walk.size  # mesh_use_embedded_materials
    fields["next"] = (pos + 1 + 3) & -4
    fields["end"] = pos + 1
    return fields


def _walked(body: memoryview, max_sequence: int, starts: I64) -> tuple[_Fields, Mask]:
    walk = _Walk(body, max_sequence, starts)
    fields = _walk_markers(walk, starts)
    fields["start"] = starts
    return fields, walk.valid


def _run(links: I64, first: int, limit: int) -> I64:
    """The candidates from ``first`` along ``links`` (len(links): none), at most ``limit``, by pointer
    doubling: numpy steps in the logarithm of the length rather than a Python step per marker."""
    stop = len(links)
    step = np.append(links, stop)
    path = np.array([first], dtype=np.int64)
    while len(path) < limit and path[-1] != stop:
        path = np.concatenate([path, step[path]])
        step = step[step]
    path = path[:limit]
    return path[: int(np.searchsorted(path == stop, True))] if path[-1] == stop else path


def _chain(
    body: memoryview,
    max_sequence: int,
    walked: tuple[_Fields, Mask],
    count: int,
    next_marker: Callable[[int], int],
) -> _Fields | None:
    """The fields of the markers from the first (at 4) on, in order, or None when they do not fit.

    A marker that is not among the candidates (another frame) is stepped over by ``next_marker`` and
    walked afterwards with the others like it."""
    candidates, valid = walked
    starts, nexts = candidates["start"], candidates["next"]
    successor = np.minimum(np.searchsorted(starts, nexts), len(starts) - 1)
    found = (starts[successor] == nexts) & valid[successor]
    links = np.where(found, successor, len(starts))
    runs: list[I64] = []  # candidate indices; -1 - k for the k-th marker stepped over
    others: list[int] = []
    position, taken = 4, 0
    while taken < count:
        index = int(np.searchsorted(starts, position))
        if index < len(starts) and starts[index] == position and valid[index]:
            run = _run(links, index, count - taken)
            runs.append(run)
            taken += len(run)
            position = int(nexts[run[-1]])
            continue
        if len(others) == _MAX_OTHER_MARKERS:
            return None
        runs.append(np.array([-1 - len(others)]))
        others.append(position)
        taken += 1
        position = next_marker(position) if taken < count else 0
        if position < 0:
            return None
    path = np.concatenate(runs)
    if not others:
        return {name: values[path] for name, values in candidates.items()}
    extra, extra_valid = _walked(body, max_sequence, np.array(others, dtype=np.int64))
    if not extra_valid.all():
        return None
    stepped = np.flatnonzero(path < 0)
    fields = {name: values[np.maximum(path, 0)] for name, values in candidates.items()}
    for name, values in fields.items():
        values[stepped] = extra[name][-1 - path[stepped]]
    return fields


def _utf8(body: memoryview, starts: I64, lengths: I64) -> bool:
    """Whether the strings (length with the NUL) are valid UTF-8: ASCII at once, others one by one."""
    chars = lengths - 1
    raw = np.frombuffer(body, dtype=np.uint8)[ragged(starts, chars)]
    if not len(raw) or raw.max() < 0x80:
        return True
    for start, length in _pairs(starts[chars > 0], chars[chars > 0]):
        try:
            str(body[start : start + length], "utf-8")
        except UnicodeDecodeError:
            return False
    return True


def _grouped(values: npt.NDArray[np.uint64]) -> tuple[I64, I64]:
    """The index of the first of each distinct value, and each value's group: by comparison with each
    group's first for a few groups (an array's frames and namespaces), by sorting for many."""
    groups = np.full(len(values), -1, dtype=np.int64)
    firsts: list[int] = []
    while len(firsts) < _FEW_GROUPS:
        left = np.flatnonzero(groups < 0)
        if not len(left):
            return np.array(firsts, dtype=np.int64), groups
        first = int(left[0])
        groups[left[values[left] == values[first]]] = len(firsts)
        firsts.append(first)
    _unique, first_indices, inverse = np.unique(values, return_index=True, return_inverse=True)
    # Groups numbered in the order they first appear, as the C walk numbers them.
    order = np.argsort(first_indices)
    renumbered = np.empty(len(order), dtype=np.int64)
    renumbered[order] = np.arange(len(order))
    return first_indices[order].astype(np.int64), renumbered[inverse.reshape(-1)]


def _string_keys(body: memoryview, starts: I64, lengths: I64, width: int) -> npt.NDArray[np.uint64] | None:
    """Each string (length with the NUL) as a row of numbers equal only for equal strings: its length,
    then its characters with zeros past them (None: a string in the body's last bytes, never one of a
    marker's). The characters start 4-aligned (after their 4-byte length), so they are read as 4-byte
    words, a few per string, rather than byte by byte."""
    chars = lengths - 1
    words = max((width - 1 + 3) // 4, 1)
    u32 = np.frombuffer(body, dtype="<u4", count=len(body) // 4)
    index = (starts >> 2)[:, None] + np.arange(words)
    if len(index) and int(index[:, -1].max()) >= len(u32):
        return None
    words_read = u32[index].astype(np.uint64)
    kept = np.clip(chars[:, None] - 4 * np.arange(words), 0, 4).astype(np.uint64)
    masks = (np.uint64(1) << (np.uint64(8) * kept)) - np.uint64(1)  # 4 bytes kept: 2**32 - 1
    keys = np.empty((len(starts), words + 1), dtype=np.uint64)
    keys[:, 0] = lengths.astype(np.uint64)
    keys[:, 1:] = words_read & masks
    return keys


def _distinct_strings(body: memoryview, starts: I64, lengths: I64) -> tuple[list[str], I64] | None:
    """The distinct strings (length with the NUL) and each one's index into them; None when one is
    too long to compare with numpy or not UTF-8."""
    width = int(lengths.max()) if len(lengths) else 1
    if width > _MAX_STRING_BYTES:
        return None
    rows = _string_keys(body, starts, lengths, width)
    if rows is None:
        return None
    words = rows.shape[1]
    # One number per row to group by (a mix of its words), checked against the rows themselves below.
    mixed = rows[:, 0].copy()
    for column in range(1, words):
        mixed = mixed * np.uint64(0x9E3779B97F4A7C15) + rows[:, column]
    firsts, inverse = _grouped(mixed)
    if not np.array_equal(rows[firsts][inverse], rows):
        return None  # two strings mixed to one number: marker by marker
    names = []
    for first in firsts.tolist():
        start, length = int(starts[first]), int(lengths[first])
        try:
            names.append(str(body[start : start + length - 1], "utf-8"))
        except UnicodeDecodeError:
            return None
    return names, inverse


def _frame_at(body: memoryview, position: int) -> bytes:
    """The header frame string of the marker at ``position``, with its length and NUL (b"": unreadable)."""
    at = position + 8  # after the stamp
    if at + 4 > len(body):
        return b""
    length = int.from_bytes(body[at : at + 4], "little")
    return bytes(body[at : at + 4 + length]) if at + 4 + length <= len(body) else b""


def _anchors(body: memoryview, frame: bytes) -> I64 | None:
    """Where a marker may start: every place holding ``frame`` (a header frame string with its length)
    4 bytes after a 4-aligned stamp (None when ``frame`` is unreadable or too long to look for)."""
    size = len(body)
    if not 4 < len(frame) <= 4 + _MAX_STRING_BYTES:
        return None
    u8 = np.frombuffer(body, dtype=np.uint8)
    u32 = np.frombuffer(body, dtype="<u4", count=size // 4)
    anchors = np.flatnonzero(u32 == int.from_bytes(frame[:4], "little")).astype(np.int64) * 4
    anchors = anchors[(anchors >= 12) & (anchors + len(frame) <= size)]
    for offset, value in enumerate(frame[4:], start=4):
        anchors = anchors[u8[anchors + offset] == value]
    return anchors - 8


def scan_marker_array(
    body: memoryview,
    max_sequence: int,
    marker_at: Callable[[int], tuple[Any, int]],
    use_native: bool = True,
) -> MarkerColumns | None:
    """The markers of a little-endian MarkerArray body as columns, or None (read it marker by marker).

    ``marker_at``: the marker-by-marker reader (the marker at an offset, and the offset after it).
    ``use_native``: walk with the C extension where it is built (False: the numpy walk, which tests
    compare it with)."""
    size = len(body)
    if size < 16:
        return None
    count = int.from_bytes(body[:4], "little")
    # A count the payload cannot hold (a damaged length) must not size the walk's tables.
    if not 0 < count <= min(max_sequence, size // _MIN_MARKER_BYTES):
        return None

    if _marker_walk is not None and use_native:
        walked = _walked_in_c(body, count, max_sequence)
        if walked is None:
            return None
        walked_fields, numbers, frame_strings, ns_strings = walked
        return _columns_of(body, walked_fields, marker_at, numbers, (frame_strings, ns_strings))

    # An aligned copy for numpy (the C walk reads the body as it is): the body starts 4 bytes into the
    # payload, and numpy gathers from unaligned views of it are several times slower.
    body = np.frombuffer(body, dtype=np.uint8).copy().data

    def next_marker(position: int) -> int:
        try:
            return (marker_at(position)[1] + 3) & -4
        except (ValueError, IndexError, struct.error):  # MalformedCdrError and what the reader raises
            return -1

    # The frames of the first few markers (past the first: often a DELETEALL without one) are anchors.
    firsts = [4]
    while len(firsts) < min(count, _SAMPLED_MARKERS) and firsts[-1] >= 0:
        firsts.append(next_marker(firsts[-1]))
    if firsts[-1] < 0:
        return None
    frames = {_frame_at(body, position) for position in (firsts[1:] or firsts)}
    anchors = [_anchors(body, frame) for frame in frames]
    if any(found is None for found in anchors):
        return None
    # The sampled markers are starts too (a leading DELETEALL in no frame: walked with the others).
    starts = np.sort(np.concatenate([*(found for found in anchors if found is not None), firsts]))
    starts = starts[np.concatenate([[True], starts[1:] != starts[:-1]])]
    fields = _chain(body, max_sequence, _walked(body, max_sequence, starts), count, next_marker)
    if fields is None:
        return None
    return _columns_of(body, fields, marker_at)


def native_shapes() -> Any:
    """The C extension for the shapes of many markers at once (its ``marker_poses``, ``place_points`` and
    ``point_colors``), or None where it is not built or switched off (numpy builds them then)."""
    return _marker_walk


def native_walk_built() -> bool:
    """Whether the C extension was built (CI requires it; an install without a compiler runs without)."""
    return _marker_walk is not None


def _walked_in_c(
    body: memoryview, count: int, max_sequence: int
) -> tuple[_Fields, _Numbers, _Strings, _Strings] | None:
    """Every marker's fields, numbers, header frame and namespace, walked marker after marker by the C
    extension, which also checks every string as UTF-8 (None: a marker does not fit the payload, or a
    string is not UTF-8)."""
    assert _marker_walk is not None
    rows = len(WALK_FIELDS) + len(_NUMBER_FIELDS) + len(_CODE_FIELDS)
    table = np.empty((rows, count), dtype=np.int64)
    values = np.empty((count, 14), dtype=np.float64)
    firsts = _marker_walk.walk_markers(body, count, max_sequence, table, values)
    if firsts is None:
        return None
    fields = dict(zip(WALK_FIELDS, table, strict=False))
    stamp, ids, types, actions, lifetime, frame_codes, ns_codes = table[len(WALK_FIELDS) :]
    frames = _Strings(_names(body, fields["frame"], fields["frame_length"], firsts[0]), frame_codes)
    ns = _Strings(_names(body, fields["ns"], fields["ns_length"], firsts[1]), ns_codes)
    return fields, _Numbers(stamp, ids, types, actions, values, lifetime), frames, ns


class _Strings(NamedTuple):
    """The distinct strings of one field (frames or namespaces) and each marker's index into them."""

    names: list[str]
    codes: I64


def _names(body: memoryview, starts: I64, lengths: I64, firsts: list[int]) -> list[str]:
    """The strings (checked as UTF-8) of the markers at ``firsts``."""
    return [
        str(body[start : start + length - 1], "utf-8")
        for start, length in zip(starts[firsts].tolist(), lengths[firsts].tolist(), strict=True)
    ]


def _columns_of(
    body: memoryview,
    fields: _Fields,
    marker_at: Callable[[int], tuple[Any, int]],
    numbers: _Numbers | None = None,
    strings: tuple[_Strings, _Strings] | None = None,
) -> MarkerColumns | None:
    """The columns of the walked markers; ``numbers`` and ``strings`` (their frames and namespaces, every
    string checked as UTF-8) where the C walk read them, else gathered and checked here."""
    end = int(fields["end"][-1])
    if end > len(body) or end + 3 < len(body):  # the marker-by-marker reader's check for bytes left over
        return None
    if strings is None:
        strings = _checked_strings(body, fields)
    # The numpy walk compares frames and namespaces up to a length; both walks refuse the same arrays.
    longest = max(int(fields["frame_length"].max()), int(fields["ns_length"].max()))
    if strings is None or longest > _MAX_STRING_BYTES:
        return None
    return _columns(body, fields, marker_at, numbers or _numbers(body, fields), strings)


class _Numbers(NamedTuple):
    """Each marker's stamp, id, type, action, pose values (see ``MarkerColumns.values``) and lifetime."""

    stamp_ns: I64
    ids: I64
    types: I64
    actions: I64
    values: F64
    lifetime_ns: I64


def _numbers(body: memoryview, fields: _Fields) -> _Numbers:
    """The numbers of the walked markers, gathered with numpy."""
    u32 = np.frombuffer(body, dtype="<u4", count=len(body) // 4)
    i32 = u32.view("<i4")
    f32 = np.frombuffer(body, dtype="<f4", count=len(body) // 4)
    f64 = np.frombuffer(body, dtype="<f8", count=len(body) // 8)
    starts, fixed = fields["start"], fields["fixed"]
    id_type_action = i32[(fields["ids_at"] >> 2)[:, None] + np.arange(3)].astype(np.int64)
    values = np.empty((len(starts), 14), dtype=np.float64)
    values[:, :10] = f64[(fixed >> 3)[:, None] + np.arange(10)]
    values[:, 10:] = f32[((fixed + _COLOR_AT) >> 2)[:, None] + np.arange(4)]
    lifetime = i32[(fixed + _LIFETIME_AT) >> 2].astype(np.int64) * 1_000_000_000
    lifetime += u32[(fixed + _LIFETIME_AT + 4) >> 2]
    stamp = i32[starts >> 2].astype(np.int64) * 1_000_000_000 + u32[(starts >> 2) + 1]
    return _Numbers(stamp, id_type_action[:, 0], id_type_action[:, 1], id_type_action[:, 2], values, lifetime)


def _checked_strings(body: memoryview, fields: _Fields) -> tuple[_Strings, _Strings] | None:
    """The walked markers' distinct frames and namespaces, after checking every string they hold as UTF-8
    (None: one is not, or one is too long to compare)."""
    frames = _distinct_strings(body, fields["frame"], fields["frame_length"])
    ns = _distinct_strings(body, fields["ns"], fields["ns_length"])
    if frames is None or ns is None:
        return None
    if not all(_utf8(body, fields[name], fields[f"{name}_length"]) for name in ["text", *_OTHER_STRINGS]):
        return None
    return _Strings(*frames), _Strings(*ns)


def _columns(
    body: memoryview,
    fields: _Fields,
    marker_at: Callable[[int], tuple[Any, int]],
    numbers: _Numbers,
    strings: tuple[_Strings, _Strings],
) -> MarkerColumns:
    frames, ns = strings
    return MarkerColumns(
        body=body,
        starts=fields["start"],
        stamp_ns=numbers.stamp_ns,
        frame_names=frames.names,
        frame_codes=frames.codes,
        ns_names=ns.names,
        ns_codes=ns.codes,
        ids=numbers.ids,
        types=numbers.types,
        actions=numbers.actions,
        values=numbers.values,
        lifetime_ns=numbers.lifetime_ns,
        point_offsets=fields["points"],
        point_counts=fields["point_count"],
        color_offsets=fields["colors"],
        color_counts=fields["color_count"],
        text_offsets=fields["text"],
        text_lengths=fields["text_length"],
        frame_locked=np.frombuffer(body, dtype=np.uint8)[fields["fixed"] + _FRAME_LOCKED_AT] != 0,
        marker_at=lambda position: marker_at(position)[0],
    )
