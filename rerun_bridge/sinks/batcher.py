"""Rows -> Arrow record batches in Rerun's chunk layout, one entity and component set per batch.

Shared by every sink that speaks Rerun's layout (the .rrd file, the network stream). Small rows are batched,
up to ``batch_rows`` rows of one entity per chunk (per-row logging is about two hundred times slower, and
each chunk has a fixed cost to send and write: a bag conversion uses 4096, the most Rerun keeps in one
sorted chunk; the live node 512, so no flush builds one big chunk while messages wait); a
row of ``batch_bytes`` or more (a point cloud, an image) goes out on its own, which needs no copy at all.
Rows whose instances are numpy arrays (a cloud's positions and fields) may share a chunk up to
``array_batch_bytes`` instead: Rerun's sender costs about as much per chunk as copying a megabyte, so two
clouds copied into one chunk cost less than two chunks (strided arrays, points viewed inside their records,
are copied into any chunk). A blob (an image's pixels) still goes alone from ``batch_bytes``, uncopied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from rerun_bridge.model.rows import Batch, ColumnBatch, ColumnRows, Cycled, Row, row_times
from rerun_bridge.model.strips import Strips
from rerun_bridge.model.timeline import TimelineKind, kind_of
from rerun_bridge.sinks.arrow_columns import ComponentSpec, learn_spec, list_column, uniform_list_column
from rerun_bridge.sinks.sent_catalog import SentCatalog

#: Receives each finished batch: (entity path, static, record batch).
Emit = Callable[[str, bool, pa.RecordBatch], None]

#: Rows of this archetype are sent at once (see RowBatcher._send_clear).
CLEAR = "Clear"
FRAME_ARCHETYPE = "CoordinateFrame"
_GroupKey = tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...], bool]
_NO_TIMES: Mapping[str, int] = {}


@dataclass(slots=True)
class _Group:
    """Rows waiting to be sent that share entity, archetype, components and timelines."""

    times: dict[str, list[int]]
    components: dict[str, list[Batch]]
    extra: dict[str, list[Batch]]
    rows: int = 0
    nbytes: int = 0
    #: A row holds numpy arrays of instances: cheaper to join with others than to send alone when big.
    arrays: bool = False


@dataclass(slots=True)
class BatchStats:
    rows: int = 0
    send_calls: int = 0
    rows_per_entity: dict[str, int] = field(default_factory=dict)


def _nbytes(batch: Batch) -> int:
    if isinstance(batch, np.ndarray | pa.Array | Strips):
        return int(batch.nbytes)
    if not batch:
        return 0
    first = batch[0]
    if first.__class__ is str:
        return 16 * len(batch)  # names, frames, levels: the commonest lists, only their count matters
    if isinstance(first, np.ndarray | pa.Array | bytes | bytearray | memoryview):
        return sum(_item_nbytes(item) for item in batch)
    return 16 * len(batch)  # small values (names, levels, formats): only their count matters


def _item_nbytes(item: Any) -> int:
    # Images arrive as a one-item list holding their pixel array: count the pixels, or the byte
    # budget never fires and every image waits in memory until close.
    if isinstance(item, np.ndarray | pa.Array):
        return int(item.nbytes)
    if isinstance(item, bytes | bytearray | memoryview | str):
        return len(item)
    return 16


def _column_rows_nbytes(columns: ColumnRows) -> int:
    """About how many bytes the rows hold (numbers exactly, names and frames roughly)."""
    total = 0
    for column in (*columns.components.values(), *columns.extra.values()):
        if isinstance(column, np.ndarray):
            total += int(column.nbytes)
        elif isinstance(column, Cycled):
            total += 16 * len(column)
        else:
            total += sum(_nbytes(batch) for batch in column)
    return total


_TIME_TYPES = {TimelineKind.TIMESTAMP: pa.timestamp("ns"), TimelineKind.DURATION: pa.duration("ns")}


def _time_array(name: str, values: list[int]) -> pa.Array:
    return _time_array_of(name, np.asarray(values, dtype=np.int64))


def _time_array_of(name: str, values: npt.NDArray[np.int64]) -> pa.Array:
    # Straight from the int64 buffer: pa.array(..., type=timestamp) costs several times more on the many
    # one-row chunks of big rows.
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(
        _TIME_TYPES.get(kind_of(name), pa.int64()), len(data), [None, pa.py_buffer(data)]
    )


def _time_field(name: str, data_type: pa.DataType) -> pa.Field:
    metadata = {b"rerun:kind": b"index", b"rerun:index_name": name.encode()}
    return pa.field(name, data_type, nullable=False, metadata=metadata)


class RowBatcher:
    """Groups rows and hands finished record batches to ``emit``; :meth:`flush` sends what is pending."""

    def __init__(
        self,
        emit: Emit,
        batch_rows: int = 512,
        batch_bytes: int = 512 << 10,
        array_batch_bytes: int | None = None,
        frames_through_clears: bool = False,
    ) -> None:
        """``array_batch_bytes``: the budget of a chunk of numpy rows (None: ``batch_bytes``);
        ``frames_through_clears``: write the frames a Clear takes again after it (for Rerun's viewer,
        :meth:`_send_clear`)."""
        self.emit = emit
        self.frames_through_clears = frames_through_clears
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.array_batch_bytes = max(batch_bytes, array_batch_bytes or batch_bytes)
        self.stats = BatchStats()
        self._groups: dict[_GroupKey, _Group] = {}
        #: The last static batch sent per entity and columns.
        self._static_sent: dict[tuple[str, tuple[str, ...]], pa.RecordBatch] = {}
        #: The keys of ``_groups`` by entity path (a Clear sends the pending rows of its entities first).
        self._entity_groups: dict[str, list[_GroupKey]] = {}
        self._specs: dict[tuple[str, str, bool], ComponentSpec] = {}
        #: Specs learned from samples without a final type (only empty lists or Nones so far).
        self._provisional: set[tuple[str, str, bool]] = set()
        self._schemas: dict[tuple[_GroupKey, tuple[pa.DataType, ...]], pa.Schema] = {}
        #: What was sent: entities, their columns and frames (the default blueprint of an .rrd is made of it).
        self.sent = SentCatalog()

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        """Queue rows; each gets ``default_times`` overlaid with its own ``times`` (static rows: none)."""
        # The hot path of a conversion (hundreds of thousands of small rows): plain loops, no helpers.
        default_names: tuple[str, ...] | None = None
        groups = self._groups
        for row in rows:
            static = row.static
            times: Mapping[str, int]
            timeline_names: tuple[str, ...]
            if static:
                times, timeline_names = _NO_TIMES, ()
            else:
                if default_names is None:
                    default_names = tuple(sorted(default_times))
                if row.times or row.delay_ns:
                    times = row_times(row, default_times)
                    # Usually the row only overrides a default timeline (a TF edge's own ros_time).
                    same = len(times) == len(default_names)
                    timeline_names = default_names if same else tuple(sorted(times))
                else:
                    times, timeline_names = default_times, default_names
            components, extra = row.components, row.extra
            key: _GroupKey = (
                row.entity_path,
                row.archetype,
                tuple(components),
                tuple(extra) if extra else (),
                timeline_names,
                static,
            )
            group = groups.get(key)
            if group is None:
                group = _Group(
                    times={name: [] for name in timeline_names},
                    components={name: [] for name in key[2]},
                    extra={name: [] for name in key[3]},
                )
                groups[key] = group
                self._entity_groups.setdefault(key[0], []).append(key)
            group_times = group.times
            for name in timeline_names:
                group_times[name].append(times[name])
            nbytes = group.nbytes
            arrays = group.arrays
            for queued, given in ((group.components, components), (group.extra, extra)):
                for name, batch in given.items():
                    queued[name].append(batch)
                    if batch.__class__ is np.ndarray:
                        nbytes += batch.nbytes
                        arrays = True
                    else:
                        nbytes += _nbytes(batch)
            group.nbytes = nbytes
            group.arrays = arrays
            group.rows += 1
            self._send_when_due(key, group, row, times)

    def _send_when_due(self, key: _GroupKey, group: _Group, row: Row, times: Mapping[str, int]) -> None:
        """Send a group once it is full, and a Clear at once (:meth:`_send_clear`)."""
        if key[1] == CLEAR:
            recursive = bool(np.any(row.components.get("is_recursive", False)))
            self._send_clear(key, group, recursive, row.static, times)
        elif group.rows >= self.batch_rows or group.nbytes >= (
            self.array_batch_bytes if group.arrays else self.batch_bytes
        ):
            self._send(key, group)

    def _send_clear(
        self, key: _GroupKey, group: _Group, recursive: bool, static: bool, times: Mapping[str, int]
    ) -> None:
        """A Clear goes out at once, after the pending rows of the entities it clears: Rerun orders rows
        of equal time by row id, which is handed out as chunks are sent, so a marker added right after a
        DELETEALL in the same message must be sent after it, and one added before it, before it.

        With ``frames_through_clears`` the cleared entities keep their frames: each is written again right
        after the Clear, at its times. A Clear takes an entity's ``CoordinateFrame`` with its data, and
        Rerun's viewer then marked the 3D view showing it with an error (the entity in an implicit frame TF
        does not reach) for as long as it stayed cleared: every marker deleted or past its lifetime."""
        cleared = key[0]
        entities = [cleared]
        if recursive:  # a scan of the pending entities: once per DELETEALL, not per marker
            below = cleared.rstrip("/") + "/"
            entities = [
                entity for entity in self._entity_groups if entity == cleared or entity.startswith(below)
            ]
        for entity in entities:
            for pending_key in list(self._entity_groups.get(entity, ())):
                if pending_key != key:
                    self._send(pending_key, self._groups[pending_key])
        self._send(key, group)
        taken = self.sent.clear_frames(cleared, recursive)
        if self.frames_through_clears and taken:
            frames = [
                Row(path, FRAME_ARCHETYPE, {"frame": [frame]}, static=static, times=times)
                for path, frame in taken.items()
            ]
            self.write(frames, times)

    def write_columns(self, columns: ColumnRows) -> None:
        """Send many rows given column by column, in chunks of at most ``batch_rows`` rows, without a
        Python object per row; the same Arrow types and schema as the same rows given to :meth:`write`."""
        timeline_names = () if columns.static else tuple(sorted(columns.times))
        key: _GroupKey = (
            columns.entity_path,
            columns.archetype,
            tuple(columns.components),
            tuple(columns.extra),
            timeline_names,
            columns.static,
        )
        pending = self._groups.get(key)
        if pending is not None:  # rows of the same group given one by one go out first, in order
            self._send(key, pending)
        total = len(columns)
        row_bytes = _column_rows_nbytes(columns) / max(total, 1)
        # As many rows per chunk as write() would put together: batch_rows, or fewer big ones (scans).
        per_chunk = max(1, min(self.batch_rows, int(self.batch_bytes // max(row_bytes, 1.0))))
        # Static data keeps its last value only (see _send).
        for start in range(0, total, per_chunk) if not columns.static else range(max(total - 1, 0), total):
            end = min(start + per_chunk, total)
            arrays = [_time_array_of(name, columns.times[name][start:end]) for name in timeline_names]
            for dynamic, batches in ((False, columns.components), (True, columns.extra)):
                for name, column in batches.items():
                    arrays.append(self._column_part(columns.archetype, name, column, start, end, dynamic))
            batch = pa.RecordBatch.from_arrays(arrays, schema=self._schema(key, arrays))
            self._hand_out(columns.entity_path, columns.static, batch)
            self._count_sent(columns.entity_path, end - start)

    def _column_part(
        self, archetype: str, name: str, column: ColumnBatch, start: int, end: int, dynamic: bool
    ) -> pa.Array:
        """Rows ``start:end`` of one column of :meth:`write_columns` as a list column."""
        if isinstance(column, Cycled):
            spec = self._spec(archetype, name, column.batches[0], dynamic)
            cycle = list_column(archetype, name, column.batches, spec, dynamic)
            positions = np.arange(start, end, dtype=np.int64) % len(column.batches)
            return cycle.take(pa.array(positions))
        part = column[start:end]
        spec = self._spec(archetype, name, part[0], dynamic)
        if isinstance(part, np.ndarray):
            return uniform_list_column(archetype, name, part, spec, dynamic)
        return list_column(archetype, name, part, spec, dynamic)

    def _send(self, key: _GroupKey, group: _Group) -> None:
        """One record batch in Rerun's chunk layout (no per-element work)."""
        entity_path, archetype, _components, _extra, _timelines, static = key
        del self._groups[key]
        entity_keys = self._entity_groups[entity_path]
        entity_keys.remove(key)
        if not entity_keys:
            del self._entity_groups[entity_path]
        if group.rows == 0:
            return
        arrays: list[pa.Array] = []
        if not static:
            arrays.extend(_time_array(name, values) for name, values in group.times.items())
        for dynamic, columns in ((False, group.components), (True, group.extra)):
            for name, batches in columns.items():
                # Static data keeps its last value only: the rows before it would be sent for nothing
                # (an IMU's series names came once per message, 200 a second, on the stream: audit).
                kept = batches[-1:] if static else batches
                spec = self._spec(archetype, name, kept[0], dynamic)
                arrays.append(list_column(archetype, name, kept, spec, dynamic))
        batch = pa.RecordBatch.from_arrays(arrays, schema=self._schema(key, arrays))
        self._hand_out(entity_path, static, batch)
        self._count_sent(entity_path, 1 if static else group.rows)

    def _hand_out(self, entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        if static:
            # The same static value again changes nothing: not sent (each flush repeated it).
            key = (entity_path, tuple(batch.schema.names))
            if (last := self._static_sent.get(key)) is not None and last.equals(batch):
                return
            self._static_sent[key] = batch
        self.sent.note_batch(entity_path, batch)
        self.emit(entity_path, static, batch)

    def _count_sent(self, entity_path: str, rows: int) -> None:
        self.stats.rows += rows
        self.stats.send_calls += 1
        self.stats.rows_per_entity[entity_path] = self.stats.rows_per_entity.get(entity_path, 0) + rows

    def _spec(self, archetype: str, name: str, sample: Batch, dynamic: bool) -> ComponentSpec:
        """Learned once per component; the first type stays, as Rerun wants of a component."""
        key = (archetype, name, dynamic)
        spec = self._specs.get(key)
        if spec is None or key in self._provisional:
            spec = learn_spec(archetype, name, sample, dynamic)
            self._specs[key] = spec
            if _has_null_type(spec.item_type):
                self._provisional.add(key)
            else:
                self._provisional.discard(key)
        return spec

    def _schema(self, key: _GroupKey, arrays: list[pa.Array]) -> pa.Schema:
        """The record batch schema of a group, built once per group and column types (every chunk of an
        entity repeats it; building fields with metadata costs more than the small chunks' data)."""
        types = tuple(array.type for array in arrays)
        schema = self._schemas.get((key, types))
        if schema is None:
            _entity, archetype, components, extra, timelines, _static = key
            # A static group has no timelines; otherwise its time columns come first.
            fields = [_time_field(name, arrays[index].type) for index, name in enumerate(timelines)]
            component_arrays = arrays[len(fields) :]
            names = [(name, False) for name in components] + [(name, True) for name in extra]
            for (name, dynamic), array in zip(names, component_arrays, strict=True):
                metadata = self._specs[(archetype, name, dynamic)].metadata
                fields.append(pa.field(f"{archetype}:{name}", array.type, metadata=metadata))
            schema = pa.schema(fields)
            self._schemas[(key, types)] = schema
        return schema

    def flush(self) -> None:
        for key, group in list(self._groups.items()):
            self._send(key, group)


def _has_null_type(data_type: pa.DataType) -> bool:
    """True when inference saw only empty lists or Nones somewhere, so the type is not final yet."""
    if pa.types.is_null(data_type):
        return True
    if pa.types.is_struct(data_type):
        return any(_has_null_type(data_type.field(i).type) for i in range(data_type.num_fields))
    if (
        pa.types.is_list(data_type)
        or pa.types.is_large_list(data_type)
        or pa.types.is_fixed_size_list(data_type)
    ):
        return _has_null_type(data_type.value_type)
    return False
