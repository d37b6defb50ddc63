"""The in-memory chunk store: what the viewer reads, filled by the pipeline or from .rrd files.

Rows are appended per entity into open buffers (one per timeline set and component types) and sealed
into immutable chunks (:mod:`rerun_bridge.store.chunk`) when a buffer reaches ``max_rows_per_chunk`` or
``max_bytes_per_chunk``, or on :meth:`ChunkStore.flush`. Whole record batches, e.g. Rerun's own chunks
from ``rerun.chunk.RrdReader``, are imported as they are.

Queries follow Rerun's semantics: :meth:`ChunkStore.latest_at` resolves each component independently
(the latest row at or before the time that holds it, later appends winning ties), and static data
overrides temporal data. Open buffers are queried too, so live data shows before its chunk is sealed.

One writer and any number of readers may use a store concurrently: the lock is held only to change
the store or to take a snapshot (sealed chunks are immutable, open buffers only grow); the searches and
Arrow work run outside it.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Final, NamedTuple

import numpy as np
import pyarrow as pa

from rerun_bridge.model.rows import Batch, ColumnRows, Row, column_name, row_times
from rerun_bridge.model.timeline import LOG_TIME, kind_of
from rerun_bridge.store.chunk import Chunk, OpenBuffer
from rerun_bridge.store.columns import (
    Int64Array,
    StoreError,
    concat_tables,
    index_field,
    prepare_import,
    range_layout,
    rows_to_list_column,
    timeline_arrow_type,
    to_instances,
)
from rerun_bridge.store.index import Hit, TimelineIndex

__all__ = [
    "DEFAULT_MAX_BYTES_PER_CHUNK",
    "DEFAULT_MAX_ROWS_PER_CHUNK",
    "ChunkStore",
    "SealedChunk",
    "StoreError",
    "StoredChunk",
]

#: Rerun's Clear archetype: its rows hide earlier data of their entity (and, recursive, of those below).
CLEAR_COMPONENT: Final = "Clear:is_recursive"
DEFAULT_MAX_ROWS_PER_CHUNK: Final = 4096
DEFAULT_MAX_BYTES_PER_CHUNK: Final = 8 * 1024 * 1024

# (static, timeline names, (component name, instance type) pairs): rows that can share one chunk.
_BufferKey = tuple[bool, tuple[str, ...], tuple[tuple[str, pa.DataType], ...]]


class StoredChunk(NamedTuple):
    """A sealed chunk as :meth:`ChunkStore.iter_chunks` hands it to writers."""

    entity_path: str
    static: bool
    batch: pa.RecordBatch


class SealedChunk(NamedTuple):
    """What :meth:`ChunkStore.sealed_since` tells of one chunk."""

    entity_path: str
    seq: int
    static: bool
    nbytes: int
    components: Collection[str]


class _Entity:
    """Everything stored for one entity path. ``chunks`` and ``static_values`` are replaced, never mutated.

    ``extents``: per timeline, the bounds of data that exists but is not loaded (a lazily opened file),
    ``extent_spans`` the time spans of its chunks; ``declared_components``: the component columns of it.
    """

    __slots__ = (
        "chunks",
        "declared_components",
        "extent_spans",
        "extents",
        "indices",
        "open_buffers",
        "static_values",
        "version",
    )

    def __init__(self) -> None:
        self.chunks: tuple[Chunk, ...] = ()
        self.open_buffers: dict[_BufferKey, OpenBuffer] = {}
        self.static_values: Mapping[str, pa.Array] = {}
        self.version = 0  # bumped whenever `chunks` changes; stamps the cached indices
        self.indices: dict[str, TimelineIndex] = {}
        self.extents: dict[str, tuple[int, int]] = {}
        self.extent_spans: dict[str, tuple[tuple[int, int], ...]] = {}
        self.declared_components: frozenset[str] = frozenset()


class _Snapshot(NamedTuple):
    """A consistent view of one entity, taken under the lock and read without it."""

    entity: _Entity
    chunks: tuple[Chunk, ...]
    version: int
    open_buffers: tuple[tuple[OpenBuffer, int], ...]  # each buffer with its row count at snapshot time
    static_values: Mapping[str, pa.Array]


class ChunkStore:
    """Chunks per entity with sorted time indices, latest-at / range queries and a memory budget.

    With ``memory_budget_bytes`` set, sealed temporal chunks beyond the budget are evicted whole, oldest
    first: by their smallest ``log_time``; chunks without ``log_time`` go first, in sealing order.
    Static data is never evicted.
    """

    def __init__(
        self,
        max_rows_per_chunk: int = DEFAULT_MAX_ROWS_PER_CHUNK,
        max_bytes_per_chunk: int = DEFAULT_MAX_BYTES_PER_CHUNK,
        memory_budget_bytes: int | None = None,
    ) -> None:
        if max_rows_per_chunk < 1 or max_bytes_per_chunk < 1:
            raise StoreError("max_rows_per_chunk and max_bytes_per_chunk must be at least 1")
        if memory_budget_bytes is not None and memory_budget_bytes < 0:
            raise StoreError("memory_budget_bytes must be None (no budget) or at least 0")
        self._max_rows = max_rows_per_chunk
        self._max_bytes = max_bytes_per_chunk
        self._budget = memory_budget_bytes
        self._lock = threading.RLock()
        self._entities: dict[str, _Entity] = {}
        #: Entities that hold a Clear: only these can hide data (checked on every latest-at).
        self._clearing: set[str] = set()
        self._timeline_types: dict[str, pa.DataType] = {}
        self._next_row_id = 0
        self._next_seq = 0
        self._sealed_bytes = 0
        self._temporal_bytes = 0
        self._open_bytes = 0
        # A heap of (has log_time, min log_time, seq): the oldest chunk on top.
        self._eviction_queue: list[tuple[int, int, int]] = []
        self._evictable: dict[int, Chunk] = {}
        self._evicted_chunks = 0
        self._evicted_rows = 0
        self._revision = 0  # bumped on every change: live readers poll it

    # -- appending ---------------------------------------------------------------------------------

    def append_row(
        self,
        entity_path: str,
        times: Mapping[str, int],
        components: Mapping[str, pa.Array | Batch],
        static: bool = False,
    ) -> None:
        """Append one row; ``components`` maps column names (``Points3D:positions``) to its instances.

        Static rows ignore ``times``: they hold at every time. Stored arrays may share memory with the
        given numpy arrays (Arrow converts without copying where it can), so do not modify them afterwards.
        """
        if not components:
            raise StoreError(f"entity {entity_path!r}: a row needs at least one component")
        names = sorted(components)
        for name in names:
            if ":" not in name:
                raise StoreError(f"entity {entity_path!r}: component {name!r} is not named 'Archetype:field'")
        values = [to_instances(components[name]) for name in names]
        timelines = () if static else tuple(sorted(times))
        if not static and not timelines:
            raise StoreError(
                f"entity {entity_path!r}: a temporal row needs a time; pass static=True if it has none"
            )
        for timeline in timelines:
            if ":" in timeline:
                raise StoreError(f"entity {entity_path!r}: timeline name {timeline!r} must not contain ':'")
        time_values = [int(times[timeline]) for timeline in timelines]
        key: _BufferKey = (
            static,
            timelines,
            tuple((name, value.type) for name, value in zip(names, values, strict=True)),
        )
        self._note_clearing(entity_path, names)
        with self._lock:
            entity = self._entities.setdefault(entity_path, _Entity())
            buffer = entity.open_buffers.get(key)
            if buffer is None:
                buffer = entity.open_buffers[key] = OpenBuffer(
                    entity_path,
                    static=static,
                    timelines=[(timeline, self._timeline_type(timeline)) for timeline in timelines],
                    components=key[2],
                )
            row_id = self._next_row_id
            bytes_before = buffer.nbytes
            try:
                buffer.append(time_values, values, row_id)
            except OverflowError as err:
                raise StoreError(f"entity {entity_path!r}: times must fit in int64: {time_values}") from err
            self._next_row_id += 1
            self._revision += 1
            self._open_bytes += buffer.nbytes - bytes_before
            if static:
                entity.static_values = {**entity.static_values, **dict(zip(names, values, strict=True))}
            if buffer.num_rows >= self._max_rows or buffer.nbytes >= self._max_bytes:
                self._seal(entity, key)
                self._enforce_budget()

    def append_rows(self, rows: Iterable[Row], default_times: Mapping[str, int]) -> None:
        """Append converter rows; each row's own ``times`` override ``default_times``."""
        for row in rows:
            components: dict[str, pa.Array | Batch] = {
                column_name(row.archetype, name): batch
                for name, batch in (*row.components.items(), *row.extra.items())
            }
            self.append_row(row.entity_path, row_times(row, default_times), components, static=row.static)

    def append_columns(self, columns: ColumnRows) -> int | None:
        """Append many rows of one entity and archetype, given column by column (a column converter's
        output), as one chunk: the same rows as :meth:`append_rows` of ``columns.to_rows()`` would
        append, without the work per row. Returns the chunk's sequence number (None without rows, or
        when rows of one column differ in type: they are then appended row by row)."""
        count = len(columns)
        if count == 0:
            return None
        fields: list[pa.Field] = []
        arrays: list[pa.Array] = []
        if not columns.static:
            for timeline, values in sorted(columns.times.items()):
                data_type = self._timeline_type(timeline)
                times = pa.array(np.asarray(values, dtype=np.int64))
                arrays.append(times.view(data_type) if data_type.bit_width == 64 else times.cast(data_type))
                fields.append(pa.field(timeline, data_type))
        for name, batch in (*columns.components.items(), *columns.extra.items()):
            column = rows_to_list_column(batch, count)
            if column is None:  # rows of several types: one buffer per type, as rows go
                self.append_rows(columns.to_rows(), {})
                return None
            arrays.append(column)
            fields.append(pa.field(column_name(columns.archetype, name), column.type))
        record = pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
        return self.append_chunk(columns.entity_path, record, static=columns.static)

    def append_chunk(self, entity_path: str, batch: pa.RecordBatch, static: bool = False) -> int | None:
        """Import a whole record batch as one chunk, e.g. one of ``rerun.chunk.RrdReader``'s; returns the
        chunk's sequence number (for :meth:`remove_chunks`), None for a batch without rows.

        Timeline and component columns are told apart by Rerun's ``rerun:kind`` field metadata, else by
        name (components contain ':'). A batch without timeline columns is static, as in Rerun. Null
        component entries mean "not logged in this row" and are skipped by :meth:`latest_at`.
        """
        with self._lock:
            imported = prepare_import(entity_path, batch, static=static, timeline_types=self._timeline_types)
            if imported.batch.num_rows == 0:
                return None
            row_ids = self._next_row_id + imported.row_rank
            self._next_row_id += imported.batch.num_rows
            self._revision += 1
            chunk = Chunk.from_batch(
                entity_path, imported.batch, row_ids, static=imported.static, seq=self._next_seq
            )
            for timeline in chunk.time_indices:
                self._timeline_types.setdefault(timeline, imported.batch.schema.field(timeline).type)
            self._note_clearing(entity_path, chunk.components)
            self._next_seq += 1
            entity = self._entities.setdefault(entity_path, _Entity())
            if chunk.static:
                latest = {}
                for component in chunk.components:
                    row = chunk.last_valid_row(component)
                    if row is not None:
                        latest[component] = chunk.value(component, row)
                entity.static_values = {**entity.static_values, **latest}
            self._add_sealed(entity, chunk)
            self._enforce_budget()
            return chunk.seq

    def remove_chunks(self, entity_path: str, seqs: Iterable[int]) -> int:
        """Drop sealed temporal chunks by sequence number (a lazy loader unloading them); returns how many
        were dropped. Their data stays known through :meth:`declare_extent`, if declared."""
        wanted = set(seqs)
        with self._lock:
            entity = self._entities.get(entity_path)
            if entity is None:
                return 0
            dropped = [chunk for chunk in entity.chunks if chunk.seq in wanted and not chunk.static]
            if not dropped:
                return 0
            gone = {chunk.seq for chunk in dropped}
            entity.chunks = tuple(chunk for chunk in entity.chunks if chunk.seq not in gone)
            entity.version += 1
            for chunk in dropped:
                self._sealed_bytes -= chunk.nbytes
                self._temporal_bytes -= chunk.nbytes
                self._evictable.pop(chunk.seq, None)  # its queue entry is skipped when it comes up
            self._revision += 1
            return len(dropped)

    def declare_extent(
        self,
        entity_path: str,
        timeline: str,
        spans: Sequence[tuple[int, int]],
        data_type: pa.DataType,
        components: Iterable[str] = (),
    ) -> None:
        """Say that ``entity_path`` has data on ``timeline`` in ``spans`` (first, last time of each chunk,
        with ``components``), loaded or not: the entity, its components, the timeline, its range and
        :meth:`coverage` are reported before any of it is loaded (a file's index)."""
        if not spans:
            return
        with self._lock:
            entity = self._entities.setdefault(entity_path, _Entity())
            entity.declared_components = entity.declared_components | frozenset(components)
            entity.extent_spans[timeline] = (*entity.extent_spans.get(timeline, ()), *spans)
            low = min(span[0] for span in entity.extent_spans[timeline])
            high = max(span[1] for span in entity.extent_spans[timeline])
            entity.extents[timeline] = (low, high)
            self._timeline_types.setdefault(timeline, data_type)
            self._revision += 1

    def flush(self) -> None:
        """Seal every open buffer."""
        with self._lock:
            for entity in self._entities.values():
                for key in list(entity.open_buffers):
                    self._seal(entity, key)
            self._enforce_budget()

    # -- queries -----------------------------------------------------------------------------------

    def latest_at(self, entity_path: str, timeline: str, time: int) -> dict[str, pa.Array]:
        """Per component column, the instances of its latest row at or before ``time``; static wins.

        As in Rerun, a ``Clear`` hides what was logged before it (in time, then row order): a Clear on the
        entity itself, or a recursive one on an ancestor. Static data is never cleared."""
        snapshot = self._snapshot(entity_path)
        if snapshot is None:
            return {}
        hits = self._latest_hits(snapshot, timeline, time)
        cleared_at = self._cleared_at(entity_path, timeline, time, hits) if self._clearing else None
        if cleared_at is not None:
            hits = {component: hit for component, hit in hits.items() if hit.is_later_than(cleared_at)}
        values = {component: hit.source.value(component, hit.row) for component, hit in hits.items()}
        values.update(snapshot.static_values)
        return {component: values[component] for component in sorted(values)}

    def latest_row_time(self, entity_path: str, timeline: str, time: int) -> int | None:
        """The time of the entity's latest temporal row at or before ``time``: when what latest-at shows
        of it was logged (None: it has no such row, static data only)."""
        snapshot = self._snapshot(entity_path)
        if snapshot is None:
            return None
        return max((hit.time for hit in self._latest_hits(snapshot, timeline, time).values()), default=None)

    def _note_clearing(self, entity_path: str, components: Collection[str]) -> None:
        """When the entity's new rows hold a Clear, latest-at looks for one there from now on (the set only
        grows, and a set's add is atomic, so readers need no lock)."""
        if CLEAR_COMPONENT in components:
            with self._lock:
                self._clearing.add(entity_path)

    def _cleared_at(
        self, entity_path: str, timeline: str, time: int, own_hits: Mapping[str, Hit]
    ) -> Hit | None:
        """The latest Clear at or before ``time`` that reaches ``entity_path``: its own (recursive or not),
        or an ancestor's recursive one."""
        latest = own_hits.get(CLEAR_COMPONENT) if entity_path in self._clearing else None
        ancestor = entity_path
        while ancestor not in ("", "/"):
            ancestor = ancestor.rsplit("/", 1)[0] or "/"
            if ancestor not in self._clearing:
                continue
            snapshot = self._snapshot(ancestor)
            hit = self._latest_hits(snapshot, timeline, time).get(CLEAR_COMPONENT) if snapshot else None
            if hit is None or not hit.is_later_than(latest):
                continue
            if any(hit.source.value(CLEAR_COMPONENT, hit.row).to_pylist()):
                latest = hit
        return latest

    def _latest_hits(self, snapshot: _Snapshot, timeline: str, time: int) -> dict[str, Hit]:
        """Per component, the latest row at or before ``time`` in sealed chunks and open buffers."""
        hits: dict[str, Hit] = {}
        if snapshot.chunks:
            hits = self._timeline_index(snapshot, timeline).latest(time)
        for buffer, num_rows in snapshot.open_buffers:
            if timeline not in buffer.timelines:
                continue
            found = buffer.latest(timeline, time, num_rows)
            if found is None:
                continue
            hit = Hit(found[0], found[1], buffer, found[2])
            for component in buffer.components:
                if hit.is_later_than(hits.get(component)):
                    hits[component] = hit
        return hits

    def range(self, entity_path: str, timeline: str, start: int, end: int) -> pa.Table:
        """Temporal rows with ``start <= time <= end`` on ``timeline``, sorted by it (ties: append order).

        Columns: every timeline, then every component, each sorted by name; a component missing from
        some chunk is null in its rows. Static data is not repeated here: read it with :meth:`latest_at`.
        """
        snapshot = self._snapshot(entity_path)
        sources = self._temporal_sources(snapshot, timeline, start, end) if snapshot is not None else []
        pieces: list[tuple[pa.RecordBatch, Int64Array, Int64Array]] = []
        for chunk in sources:
            index = chunk.time_indices[timeline]
            positions = index.positions_between(start, end)
            if positions.stop == positions.start:
                continue
            rows = index.rows[positions]
            first, count = int(rows[0]), len(rows)
            if int(rows[-1]) - first == count - 1 and bool(np.all(rows[1:] > rows[:-1])):
                selected = chunk.batch.slice(first, count)  # in order already: no copy
            else:
                selected = chunk.batch.take(pa.array(rows))
            pieces.append((selected, index.times[positions], index.row_ids[positions]))
        if not pieces:
            empty_sources = (
                self._temporal_sources(snapshot, timeline, None, None) if snapshot is not None else []
            )
            return self._empty_range(entity_path, timeline, empty_sources)
        # Chunks usually follow each other in time: ordering the pieces then often leaves nothing to sort.
        pieces.sort(key=lambda piece: (int(piece[1][0]), int(piece[2][0])))
        table = concat_tables(entity_path, [pa.Table.from_batches([batch]) for batch, _, _ in pieces])
        times = np.concatenate([piece[1] for piece in pieces])
        row_ids = np.concatenate([piece[2] for piece in pieces])
        later = (times[1:] > times[:-1]) | ((times[1:] == times[:-1]) & (row_ids[1:] > row_ids[:-1]))
        if not bool(np.all(later)):
            table = table.take(pa.array(np.lexsort((row_ids, times))))
        return range_layout(entity_path, timeline, table)

    def entities(self) -> list[str]:
        """Entity paths that hold data."""
        with self._lock:
            return sorted(
                path
                for path, entity in self._entities.items()
                if entity.chunks or entity.open_buffers or entity.extents
            )

    def timelines(self) -> list[str]:
        """Timelines that stored rows are on."""
        with self._lock:
            names: set[str] = set()
            for entity in self._entities.values():
                for chunk in entity.chunks:
                    names.update(chunk.time_indices)
                for buffer in entity.open_buffers.values():
                    names.update(buffer.timelines)
                names.update(entity.extents)
            return sorted(names)

    def time_range(self, timeline: str, entity_path: str | None = None) -> tuple[int, int] | None:
        """Smallest and largest time on ``timeline`` (of one entity, or of all); None without data."""
        with self._lock:
            paths = list(self._entities) if entity_path is None else [entity_path]
        low: int | None = None
        high: int | None = None
        for path in paths:
            snapshot = self._snapshot(path)
            if snapshot is None:
                continue
            bounds = [buffer.time_bounds(timeline, num_rows) for buffer, num_rows in snapshot.open_buffers]
            bounds.append(snapshot.entity.extents.get(timeline))
            if snapshot.chunks:
                bounds.append(self._timeline_index(snapshot, timeline).bounds())
            for bound in bounds:
                if bound is not None:
                    low = bound[0] if low is None else min(low, bound[0])
                    high = bound[1] if high is None else max(high, bound[1])
        return None if low is None or high is None else (low, high)

    def coverage(self, timeline: str, min_gap: int) -> list[tuple[int, int]]:
        """Where data exists on ``timeline``: sorted, disjoint (first, last) spans, split wherever no row
        (nor any declared, unloaded chunk) lies for more than ``min_gap``. An open buffer (rows still
        being appended) counts as one span."""
        with self._lock:
            paths = list(self._entities)
        spans: list[tuple[int, int]] = []
        for path in paths:
            snapshot = self._snapshot(path)
            if snapshot is None:
                continue
            for chunk in snapshot.chunks:
                index = chunk.time_indices.get(timeline)
                if index is not None:
                    spans.extend(_row_spans(index.times, min_gap))
            for buffer, num_rows in snapshot.open_buffers:
                bounds = buffer.time_bounds(timeline, num_rows)
                if bounds is not None:
                    spans.append(bounds)
            spans.extend(snapshot.entity.extent_spans.get(timeline, ()))
        return _merged(spans, min_gap)

    def components(self, entity_path: str) -> list[str]:
        """Component columns stored for an entity."""
        snapshot = self._snapshot(entity_path)
        if snapshot is None:
            return []
        names = {component for chunk in snapshot.chunks for component in chunk.components}
        names.update(snapshot.entity.declared_components)
        for buffer, _ in snapshot.open_buffers:
            names.update(buffer.components)
        return sorted(names)

    def num_rows(self, entity_path: str) -> int:
        """Rows stored for an entity, static and temporal, sealed or not."""
        snapshot = self._snapshot(entity_path)
        if snapshot is None:
            return 0
        return sum(chunk.num_rows for chunk in snapshot.chunks) + sum(
            count for _, count in snapshot.open_buffers
        )

    def num_chunks(self, entity_path: str | None = None) -> int:
        """Sealed chunks (of one entity, or of all); open buffers are not counted and stay open."""
        with self._lock:
            if entity_path is None:
                return sum(len(entity.chunks) for entity in self._entities.values())
            entity = self._entities.get(entity_path)
            return 0 if entity is None else len(entity.chunks)

    def chunks(self, entity_path: str | None = None) -> list[pa.RecordBatch]:
        """Seal the open buffers, then every chunk (of one entity, or of all) in sealing order."""
        return [
            stored.batch
            for stored in self.iter_chunks()
            if entity_path is None or stored.entity_path == entity_path
        ]

    def iter_chunks(self) -> Iterator[StoredChunk]:
        """Seal the open buffers, then yield every chunk in sealing order (for the file writers)."""
        self.flush()
        with self._lock:
            chunks = sorted(
                (chunk for entity in self._entities.values() for chunk in entity.chunks), key=_seq
            )
        for chunk in chunks:
            yield StoredChunk(chunk.entity_path, chunk.static, chunk.batch)

    @property
    def next_seq(self) -> int:
        """The sequence number the next sealed chunk gets (see :meth:`sealed_since`)."""
        with self._lock:
            return self._next_seq

    def sealed_since(self, seq: int) -> list[SealedChunk]:
        """Seal the open buffers, then every chunk sealed at or after ``seq``, in sealing order: what
        a lazy loader appended, so that it can remove exactly that later (:meth:`remove_chunks`)."""
        self.flush()
        with self._lock:
            found = [
                SealedChunk(chunk.entity_path, chunk.seq, chunk.static, chunk.nbytes, chunk.components)
                for entity in self._entities.values()
                for chunk in entity.chunks
                if chunk.seq >= seq
            ]
        return sorted(found, key=lambda sealed: sealed.seq)

    @property
    def total_bytes(self) -> int:
        """Bytes of every chunk, sealed or still open."""
        with self._lock:
            return self._sealed_bytes + self._open_bytes

    @property
    def revision(self) -> int:
        """A counter that changes whenever rows are added or evicted (cheap to poll from another thread)."""
        return self._revision

    @property
    def evicted_chunks(self) -> int:
        return self._evicted_chunks

    @property
    def evicted_rows(self) -> int:
        return self._evicted_rows

    # -- internals ---------------------------------------------------------------------------------

    def _timeline_type(self, timeline: str) -> pa.DataType:
        data_type = self._timeline_types.get(timeline)
        if data_type is None:
            data_type = self._timeline_types[timeline] = timeline_arrow_type(kind_of(timeline))
        return data_type

    def _seal(self, entity: _Entity, key: _BufferKey) -> None:
        buffer = entity.open_buffers.pop(key)
        self._open_bytes -= buffer.nbytes
        if buffer.num_rows:
            self._add_sealed(entity, buffer.seal(self._next_seq))
            self._next_seq += 1

    def _add_sealed(self, entity: _Entity, chunk: Chunk) -> None:
        entity.chunks = (*entity.chunks, chunk)
        entity.version += 1
        self._sealed_bytes += chunk.nbytes
        if chunk.static:
            return
        self._temporal_bytes += chunk.nbytes
        if self._budget is None:
            return  # nothing is ever evicted: no queue to grow
        log_time = chunk.time_indices.get(LOG_TIME)
        order = (0, 0) if log_time is None else (1, log_time.min_time)
        heapq.heappush(self._eviction_queue, (*order, chunk.seq))
        self._evictable[chunk.seq] = chunk

    def _enforce_budget(self) -> None:
        if self._budget is None:
            return
        evicted: dict[str, set[int]] = {}
        while self._temporal_bytes > self._budget and self._eviction_queue:
            seq = heapq.heappop(self._eviction_queue)[-1]
            chunk = self._evictable.pop(seq, None)
            if chunk is None:
                continue  # removed already
            evicted.setdefault(chunk.entity_path, set()).add(seq)
            self._temporal_bytes -= chunk.nbytes
            self._sealed_bytes -= chunk.nbytes
            self._evicted_chunks += 1
            self._evicted_rows += chunk.num_rows
            self._revision += 1
        for path, seqs in evicted.items():
            entity = self._entities[path]
            entity.chunks = tuple(chunk for chunk in entity.chunks if chunk.seq not in seqs)
            entity.version += 1

    def _snapshot(self, entity_path: str) -> _Snapshot | None:
        with self._lock:
            entity = self._entities.get(entity_path)
            if entity is None:
                return None
            return _Snapshot(
                entity,
                entity.chunks,
                entity.version,
                tuple((buffer, buffer.num_rows) for buffer in entity.open_buffers.values()),
                entity.static_values,
            )

    def _timeline_index(self, snapshot: _Snapshot, timeline: str) -> TimelineIndex:
        """The cached index of the snapshot's version, built outside the lock when stale."""
        cached = snapshot.entity.indices.get(timeline)
        if cached is not None and cached.version == snapshot.version:
            return cached
        index = TimelineIndex(snapshot.chunks, timeline, snapshot.version)
        with self._lock:
            if snapshot.entity.version == snapshot.version:
                snapshot.entity.indices[timeline] = index
        return index

    def _temporal_sources(
        self, snapshot: _Snapshot, timeline: str, start: int | None, end: int | None
    ) -> list[Chunk]:
        """Sealed chunks and open-buffer snapshots on ``timeline`` with rows in ``[start, end]``."""
        low = np.iinfo(np.int64).min if start is None else start
        high = np.iinfo(np.int64).max if end is None else end
        sources = self._timeline_index(snapshot, timeline).overlapping(low, high) if snapshot.chunks else []
        for buffer, num_rows in snapshot.open_buffers:
            bounds = buffer.time_bounds(timeline, num_rows)
            if bounds is not None and bounds[0] <= high and bounds[1] >= low:
                sources.append(buffer.snapshot(num_rows))
        return sources

    def _empty_range(self, entity_path: str, timeline: str, sources: list[Chunk]) -> pa.Table:
        """No rows, but the columns the entity has on this timeline (just the timeline without data)."""
        schemas: list[pa.Schema] = []
        for chunk in sources:
            if not any(chunk.batch.schema.equals(schema) for schema in schemas):
                schemas.append(chunk.batch.schema)
        if not schemas:
            with self._lock:
                data_type = self._timeline_types.get(timeline) or timeline_arrow_type(kind_of(timeline))
            schema = pa.schema([index_field(timeline, data_type, is_sorted=True)])
            return range_layout(entity_path, timeline, schema.empty_table())
        empty = concat_tables(entity_path, [schema.empty_table() for schema in schemas])
        return range_layout(entity_path, timeline, empty)


def _seq(chunk: Chunk) -> int:
    return chunk.seq


def _row_spans(times: Int64Array, min_gap: int) -> list[tuple[int, int]]:
    """Sorted row times as spans, split at gaps longer than ``min_gap``."""
    if len(times) == 0:
        return []
    cuts = np.nonzero(np.diff(times) > min_gap)[0]
    starts = times[np.concatenate(([0], cuts + 1))]
    ends = times[np.concatenate((cuts, [len(times) - 1]))]
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _merged(spans: list[tuple[int, int]], min_gap: int) -> list[tuple[int, int]]:
    """Spans joined where they overlap or lie at most ``min_gap`` apart."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] <= min_gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
