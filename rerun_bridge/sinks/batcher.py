"""Rows -> Arrow record batches in Rerun's chunk layout, one entity and component set per batch.

Shared by every sink that speaks Rerun's layout (the .rrd file, the network stream). Small rows are batched,
up to ``batch_rows`` rows of one entity per chunk (per-row logging is about two hundred times slower); a
row of ``batch_bytes`` or more (a point cloud, an image) goes out on its own, which needs no copy at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from rerun_bridge.model.rows import Batch, Row
from rerun_bridge.model.timeline import TimelineKind, kind_of
from rerun_bridge.sinks.arrow_columns import ComponentSpec, learn_spec, list_column

#: Receives each finished batch: (entity path, static, record batch).
Emit = Callable[[str, bool, pa.RecordBatch], None]

_GroupKey = tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...], bool]


@dataclass(slots=True)
class _Group:
    """Rows waiting to be sent that share entity, archetype, components and timelines."""

    times: dict[str, list[int]]
    components: dict[str, list[Batch]]
    extra: dict[str, list[Batch]]
    rows: int = 0
    nbytes: int = 0


@dataclass(slots=True)
class BatchStats:
    rows: int = 0
    send_calls: int = 0
    rows_per_entity: dict[str, int] = field(default_factory=dict)


def _nbytes(batch: Batch) -> int:
    if isinstance(batch, np.ndarray | pa.Array):
        return int(batch.nbytes)
    if not batch:
        return 0
    first = batch[0]
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


def _time_array(name: str, values: list[int]) -> pa.Array:
    data = np.asarray(values, dtype=np.int64)
    kind = kind_of(name)
    if kind is TimelineKind.TIMESTAMP:
        return pa.array(data, type=pa.timestamp("ns"))
    if kind is TimelineKind.DURATION:
        return pa.array(data, type=pa.duration("ns"))
    return pa.array(data)


class RowBatcher:
    """Groups rows and hands finished record batches to ``emit``; :meth:`flush` sends what is pending."""

    def __init__(self, emit: Emit, batch_rows: int = 512, batch_bytes: int = 512 << 10) -> None:
        self.emit = emit
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.stats = BatchStats()
        self._groups: dict[_GroupKey, _Group] = {}
        self._specs: dict[tuple[str, str, bool], ComponentSpec] = {}

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        """Queue rows; each gets ``default_times`` overlaid with its own ``times`` (static rows: none)."""
        default_names = tuple(sorted(default_times))
        for row in rows:
            if row.static:
                times: Mapping[str, int] = {}
                timeline_names: tuple[str, ...] = ()
            elif row.times:
                times = {**default_times, **row.times}
                timeline_names = tuple(sorted(times))
            else:
                times, timeline_names = default_times, default_names
            key: _GroupKey = (
                row.entity_path,
                row.archetype,
                tuple(row.components),
                tuple(row.extra),
                timeline_names,
                row.static,
            )
            group = self._groups.get(key)
            if group is None:
                group = _Group(
                    times={name: [] for name in key[4]},
                    components={name: [] for name in key[2]},
                    extra={name: [] for name in key[3]},
                )
                self._groups[key] = group
            for name, value in times.items():
                group.times[name].append(value)
            for name, batch in row.components.items():
                group.components[name].append(batch)
                group.nbytes += _nbytes(batch)
            for name, batch in row.extra.items():
                group.extra[name].append(batch)
                group.nbytes += _nbytes(batch)
            group.rows += 1
            if group.rows >= self.batch_rows or group.nbytes >= self.batch_bytes:
                self._send(key, group)

    def _send(self, key: _GroupKey, group: _Group) -> None:
        """One record batch in Rerun's chunk layout (no per-element work)."""
        entity_path, archetype, _components, _extra, _timelines, static = key
        del self._groups[key]
        if group.rows == 0:
            return
        arrays: list[pa.Array] = []
        fields: list[pa.Field] = []
        if not static:
            for name, values in group.times.items():
                array = _time_array(name, values)
                arrays.append(array)
                fields.append(
                    pa.field(
                        name,
                        array.type,
                        nullable=False,
                        metadata={b"rerun:kind": b"index", b"rerun:index_name": name.encode()},
                    )
                )
        for dynamic, columns in ((False, group.components), (True, group.extra)):
            for name, batches in columns.items():
                spec = self._spec(archetype, name, batches[0], dynamic)
                array = list_column(archetype, name, batches, spec, dynamic)
                arrays.append(array)
                fields.append(pa.field(f"{archetype}:{name}", array.type, metadata=spec.metadata))
        batch = pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
        self.emit(entity_path, static, batch)
        self.stats.rows += group.rows
        self.stats.send_calls += 1
        self.stats.rows_per_entity[entity_path] = self.stats.rows_per_entity.get(entity_path, 0) + group.rows

    def _spec(self, archetype: str, name: str, sample: Batch, dynamic: bool) -> ComponentSpec:
        """Learned once per component; the first type stays, as Rerun wants of a component."""
        key = (archetype, name, dynamic)
        spec = self._specs.get(key)
        if spec is None or _has_null_type(spec.item_type):
            spec = learn_spec(archetype, name, sample, dynamic)
            self._specs[key] = spec
        return spec

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
