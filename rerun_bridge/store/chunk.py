"""Chunks: immutable record batches of one entity with sorted time indices, and the buffers that fill them.

A chunk's batch is laid out as :mod:`rerun_bridge.store.columns` describes (Rerun 0.41's layout). Rerun's
``RowId`` column is not kept: every row gets a store-wide integer row id instead (in a side array), which
orders rows at the same time as Rerun's row ids do: the later append wins.

:class:`OpenBuffer` accumulates appended rows; :meth:`OpenBuffer.seal` turns them into a :class:`Chunk`,
which never changes afterwards, so readers can use it without holding the store's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa

from rerun_bridge.store.columns import (
    ENTITY_PATH_KEY,
    ColumnKind,
    Int64Array,
    column_kind,
    component_field,
    index_field,
    times_to_int64,
)

_INITIAL_CAPACITY: Final = 64


@dataclass(frozen=True, slots=True)
class TimeIndex:
    """The rows of one chunk sorted by one timeline, ties broken by row id (later rows win)."""

    times: Int64Array  # ascending
    rows: Int64Array  # row positions in the chunk, in that order
    row_ids: Int64Array  # store-wide row ids, in that order

    @classmethod
    def build(cls, times: Int64Array, row_ids: Int64Array, rows: Int64Array | None = None) -> TimeIndex:
        if rows is None:
            rows = np.arange(len(times), dtype=np.int64)
        in_order = len(times) < 2 or bool(
            np.all((times[1:] > times[:-1]) | ((times[1:] == times[:-1]) & (row_ids[1:] > row_ids[:-1])))
        )
        if in_order:
            return cls(times, rows, row_ids)
        order = np.lexsort((row_ids, times))
        return cls(times[order], rows[order], row_ids[order])

    @property
    def min_time(self) -> int:
        return int(self.times[0])

    @property
    def max_time(self) -> int:
        return int(self.times[-1])

    @property
    def last_row_id(self) -> int:
        """Row id of the latest row: the one a latest-at at or after :attr:`max_time` sees."""
        return int(self.row_ids[-1])

    def is_identity(self) -> bool:
        return bool(np.array_equal(self.rows, np.arange(len(self.rows))))

    def latest_position(self, time: int) -> int:
        """Position (in sorted order) of the latest row at or before ``time``; -1 when there is none."""
        return int(np.searchsorted(self.times, time, side="right")) - 1

    def positions_between(self, start: int, end: int) -> slice:
        """Sorted positions of the rows with ``start <= time <= end``."""
        low = int(np.searchsorted(self.times, start, side="left"))
        high = int(np.searchsorted(self.times, end, side="right"))
        return slice(low, max(low, high))


class Chunk:
    """An immutable record batch of one entity with its per-timeline sorted indices."""

    __slots__ = (
        "_component_indices",
        "_offsets",
        "_values",
        "batch",
        "components",
        "entity_path",
        "nbytes",
        "row_ids",
        "seq",
        "static",
        "time_indices",
    )

    def __init__(
        self,
        entity_path: str,
        batch: pa.RecordBatch,
        row_ids: Int64Array,
        *,
        static: bool,
        seq: int,
        time_indices: dict[str, TimeIndex],
    ) -> None:
        self.entity_path = entity_path
        self.batch = batch
        self.row_ids = row_ids
        self.static = static
        self.seq = seq  # store-wide sealing order
        self.time_indices = time_indices
        self.nbytes = int(batch.nbytes)
        self.components = tuple(name for name in batch.schema.names if name not in time_indices)
        self._offsets: dict[str, Int64Array] = {}
        self._values: dict[str, pa.Array] = {}
        # Only columns with null rows get their own index; the others share the chunk's.
        self._component_indices: dict[tuple[str, str], TimeIndex] = {}
        for name in self.components:
            column = batch.column(name)
            self._offsets[name] = np.asarray(column.offsets.to_numpy(), dtype=np.int64)
            self._values[name] = column.values
            if column.null_count:
                valid = np.flatnonzero(np.asarray(column.is_valid().to_numpy(zero_copy_only=False)))
                for timeline, index in time_indices.items():
                    keep = np.isin(index.rows, valid)
                    self._component_indices[timeline, name] = TimeIndex(
                        index.times[keep], index.rows[keep], index.row_ids[keep]
                    )

    @property
    def num_rows(self) -> int:
        return int(self.batch.num_rows)

    def index(self, timeline: str, component: str) -> TimeIndex:
        """The sorted index of the rows where ``component`` is not null."""
        return self._component_indices.get((timeline, component), self.time_indices[timeline])

    def value(self, component: str, row: int) -> pa.Array:
        """The instances of ``component`` in one row."""
        offsets = self._offsets[component]
        start = int(offsets[row])
        return self._values[component].slice(start, int(offsets[row + 1]) - start)

    def last_valid_row(self, component: str) -> int | None:
        """The row with the highest row id where ``component`` is not null (what static data shows)."""
        valid = np.asarray(self.batch.column(component).is_valid().to_numpy(zero_copy_only=False))
        rows = np.flatnonzero(valid)
        if len(rows) == 0:
            return None
        return int(rows[np.argmax(self.row_ids[rows])])

    @classmethod
    def from_batch(
        cls, entity_path: str, batch: pa.RecordBatch, row_ids: Int64Array, *, static: bool, seq: int
    ) -> Chunk:
        """Index a batch whose timeline columns carry ``rerun:kind = index`` metadata."""
        time_indices: dict[str, TimeIndex] = {}
        for field in batch.schema:
            if column_kind(field) is ColumnKind.INDEX:
                times = times_to_int64(batch.column(field.name))
                time_indices[field.name] = TimeIndex.build(times, row_ids)
        return cls(entity_path, batch, row_ids, static=static, seq=seq, time_indices=time_indices)


class OpenBuffer:
    """Rows of one entity with one set of timelines and component types, not yet sealed.

    The writer appends under the store's lock; a reader holding ``(buffer, num_rows)`` taken under that
    lock may read the first ``num_rows`` rows afterwards without it: appends only write past them, and a
    grown time array keeps a copy of them.
    """

    def __init__(
        self,
        entity_path: str,
        *,
        static: bool,
        timelines: Sequence[tuple[str, pa.DataType]],
        components: Sequence[tuple[str, pa.DataType]],
    ) -> None:
        self.entity_path = entity_path
        self.static = static
        self.timelines = tuple(name for name, _ in timelines)
        self.timeline_types = tuple(data_type for _, data_type in timelines)
        self.components = tuple(name for name, _ in components)
        self.component_types = tuple(data_type for _, data_type in components)
        self.num_rows = 0
        self.nbytes = 0
        self._times = [np.empty(_INITIAL_CAPACITY, dtype=np.int64) for _ in self.timelines]
        self._times_sorted = [True for _ in self.timelines]
        self._row_ids = np.empty(_INITIAL_CAPACITY, dtype=np.int64)
        self._values: dict[str, list[pa.Array]] = {name: [] for name in self.components}
        self._built: tuple[int, tuple[pa.RecordBatch, Int64Array, dict[str, TimeIndex]]] | None = None

    def append(self, times: Sequence[int], values: Sequence[pa.Array], row_id: int) -> None:
        """Add one row: ``times`` in :attr:`timelines` order, ``values`` in :attr:`components` order."""
        row = self.num_rows
        if row == len(self._row_ids):
            self._row_ids = _grown(self._row_ids)
            self._times = [_grown(times_array) for times_array in self._times]
        for position, time in enumerate(times):
            times_array = self._times[position]
            if row and time < times_array[row - 1]:
                self._times_sorted[position] = False
            times_array[row] = time
        self._row_ids[row] = row_id
        for name, value in zip(self.components, values, strict=True):
            self._values[name].append(value)
        # Offsets and time values are what a sealed chunk adds on top of the arrays themselves.
        self.nbytes += sum(int(value.nbytes) for value in values) + 4 * len(values) + 8 * len(times)
        self.num_rows = row + 1

    def latest(self, timeline: str, time: int, num_rows: int) -> tuple[int, int, int] | None:
        """``(time, row_id, row)`` of the latest of the first ``num_rows`` rows at or before ``time``."""
        position = self.timelines.index(timeline)
        times = self._times[position][:num_rows]
        if num_rows == 0:
            return None
        if self._times_sorted[position]:
            row = int(np.searchsorted(times, time, side="right")) - 1
            if row < 0:
                return None
        else:
            eligible = times <= time
            if not eligible.any():
                return None
            best = times[eligible].max()
            # Row ids grow with the row position, so the last row at the best time is the latest.
            row = num_rows - 1 - int(np.argmax((times == best)[::-1]))
        return int(times[row]), int(self._row_ids[row]), row

    def time_bounds(self, timeline: str, num_rows: int) -> tuple[int, int] | None:
        if num_rows == 0 or timeline not in self.timelines:
            return None
        times = self._times[self.timelines.index(timeline)][:num_rows]
        return int(times.min()), int(times.max())

    def value(self, component: str, row: int) -> pa.Array:
        return self._values[component][row]

    def snapshot(self, num_rows: int) -> Chunk:
        """The first ``num_rows`` rows as a chunk for queries (``seq`` -1); the buffer is unchanged."""
        batch, row_ids, time_indices = self._build(num_rows)
        return Chunk(self.entity_path, batch, row_ids, static=self.static, seq=-1, time_indices=time_indices)

    def seal(self, seq: int) -> Chunk:
        """All rows as the chunk that replaces this buffer."""
        batch, row_ids, time_indices = self._build(self.num_rows)
        return Chunk(self.entity_path, batch, row_ids, static=self.static, seq=seq, time_indices=time_indices)

    def _build(self, count: int) -> tuple[pa.RecordBatch, Int64Array, dict[str, TimeIndex]]:
        cached = self._built
        if cached is not None and cached[0] == count:
            return cached[1]
        row_ids = self._row_ids[:count].copy()
        time_indices: dict[str, TimeIndex] = {}
        columns: list[pa.Array] = []
        fields: list[pa.Field] = []
        timelines = zip(self.timelines, self.timeline_types, self._times, strict=True)
        for name, data_type, times_array in timelines:
            times = times_array[:count].copy()
            index = TimeIndex.build(times, row_ids)
            time_indices[name] = index
            fields.append(index_field(name, data_type, index.is_identity()))
            columns.append(pa.array(times, type=pa.int64()).view(data_type))
        for name, data_type in zip(self.components, self.component_types, strict=True):
            column = _rows_to_list_array(self._values[name][:count], data_type)
            fields.append(component_field(name, column.type))
            columns.append(column)
        schema = pa.schema(fields, metadata={ENTITY_PATH_KEY: self.entity_path.encode()})
        built = (pa.RecordBatch.from_arrays(columns, schema=schema), row_ids, time_indices)
        self._built = (count, built)
        return built


def _rows_to_list_array(rows: Sequence[pa.Array], data_type: pa.DataType) -> pa.Array:
    """One list entry per row; 32-bit offsets as Rerun writes them, 64-bit only past 2 GiB of instances."""
    lengths = np.fromiter((len(value) for value in rows), dtype=np.int64, count=len(rows))
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    values = pa.concat_arrays(list(rows)) if rows else pa.array([], type=data_type)
    if offsets[-1] < 2**31:
        return pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values, type=pa.list_(data_type))
    return pa.LargeListArray.from_arrays(pa.array(offsets), values, type=pa.large_list(data_type))


def _grown(array: Int64Array) -> Int64Array:
    grown = np.empty(2 * len(array), dtype=np.int64)
    grown[: len(array)] = array
    return grown
