"""The .rrd sink: rows batched per entity and component set, sent with ``rr.send_columns``.

Rerun's SDK is the reference encoder (we never hand-encode RRD). One ``send_columns`` call carries up to
``batch_rows`` rows of one entity, which is what makes conversion fast: per-row ``rr.log`` is about
two hundred times slower.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import rerun as rr

from rerun_bridge.errors import RecordingError
from rerun_bridge.model.rows import Batch, Row, batch_length
from rerun_bridge.model.timeline import TimelineKind, kind_of
from rerun_bridge.store.columns import to_instances

log = logging.getLogger(__name__)

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
class RrdStats:
    rows: int = 0
    send_calls: int = 0
    rows_per_entity: dict[str, int] = field(default_factory=dict)


def _nbytes(batch: Batch) -> int:
    if isinstance(batch, np.ndarray | pa.Array):
        return int(batch.nbytes)
    return sum(_item_nbytes(item) for item in batch)


def _item_nbytes(item: Any) -> int:
    # Images arrive as a one-item list holding their pixel array: count the pixels, or the byte
    # budget never fires and every image waits in memory until close.
    if isinstance(item, np.ndarray | pa.Array):
        return int(item.nbytes)
    if isinstance(item, bytes | bytearray | memoryview | str):
        return len(item)
    return 16


def _concat(batches: list[Batch]) -> tuple[Any, list[int]]:
    """Instances of many rows as one batch, plus each row's instance count."""
    lengths = [batch_length(b) for b in batches]
    if all(isinstance(b, pa.Array) for b in batches):
        return pa.concat_arrays(batches), lengths
    if all(isinstance(b, np.ndarray) for b in batches):
        arrays = [np.asarray(b) for b in batches]
        arrays = [a.reshape(1) if a.ndim == 0 else a for a in arrays]
        if len({a.shape[1:] for a in arrays}) == 1:
            return np.concatenate(arrays), lengths
    flat: list[Any] = []
    for b in batches:
        flat.extend(list(b) if not isinstance(b, np.ndarray) else [np.asarray(item) for item in b])
    return flat, lengths


def _time_column(name: str, values: list[int]) -> rr.TimeColumn:
    data = np.asarray(values, dtype=np.int64)
    kind = kind_of(name)
    if kind is TimelineKind.TIMESTAMP:
        return rr.TimeColumn(name, timestamp=data.astype("datetime64[ns]"))
    if kind is TimelineKind.DURATION:
        return rr.TimeColumn(name, duration=data.astype("timedelta64[ns]"))
    return rr.TimeColumn(name, sequence=data)


class RrdSink:
    """Writes rows to an .rrd file. A context manager; :meth:`close` flushes everything."""

    def __init__(
        self,
        path: str | Path,
        application_id: str = "rerun_bridge",
        recording_id: str | None = None,
        batch_rows: int = 512,
        batch_bytes: int = 64 << 20,
        default_blueprint: Any = None,
    ) -> None:
        self.path = Path(path)
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.stats = RrdStats()
        self._groups: dict[_GroupKey, _Group] = {}
        self._extra_types: dict[tuple[str, str], pa.DataType] = {}
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._rec = rr.RecordingStream(application_id, recording_id=recording_id)
            self._rec.save(str(self.path), default_blueprint=default_blueprint)
        except Exception as err:
            raise RecordingError(f"{self.path}: cannot write: {err}") from err

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        """Queue rows; each gets ``default_times`` overlaid with its own ``times`` (static rows: none)."""
        for row in rows:
            times = {} if row.static else {**default_times, **row.times}
            key: _GroupKey = (
                row.entity_path,
                row.archetype,
                tuple(row.components),
                tuple(row.extra),
                tuple(sorted(times)),
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
        entity_path, archetype, _components, _extra, _timelines, static = key
        del self._groups[key]
        if group.rows == 0:
            return
        archetype_class = getattr(rr, archetype, None)
        columns: list[Any] = []
        for name, batches in group.components.items():
            data, lengths = _concat(batches)
            if archetype_class is None:
                columns.extend(
                    rr.DynamicArchetype.columns(archetype=archetype, components={name: data}).partition(
                        lengths
                    )
                )
            else:
                columns.extend(archetype_class.columns(**{name: data}).partition(lengths))
        for name, batches in group.extra.items():
            data, lengths = _concat(batches)
            array = self._extra_array(archetype, name, data)
            columns.extend(
                rr.DynamicArchetype.columns(archetype=archetype, components={name: array}).partition(lengths)
            )
        indexes = [] if static else [_time_column(name, values) for name, values in group.times.items()]
        rr.send_columns(entity_path, indexes=indexes, columns=columns, recording=self._rec)
        self.stats.rows += group.rows
        self.stats.send_calls += 1
        self.stats.rows_per_entity[entity_path] = self.stats.rows_per_entity.get(entity_path, 0) + group.rows

    def _extra_array(self, archetype: str, name: str, data: Any) -> Any:
        """Keep one Arrow type per extra column: Rerun wants a component to keep its first type."""
        if isinstance(data, pa.Array):
            return data
        if isinstance(data, np.ndarray):
            # Rerun's own conversion of a numpy batch for a dynamic component builds one Python list per
            # element, which for a point cloud's extra columns is millions of small lists.
            return to_instances(data)
        key = (archetype, name)
        known = self._extra_types.get(key)
        if known is not None:
            try:
                return pa.array(data, type=known)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
                log.warning("%s:%s changed its Arrow type; later rows keep their own", archetype, name)
        array = pa.array(data)
        if known is None and not _has_null_type(array.type):
            self._extra_types[key] = array.type
        return array

    def flush(self) -> None:
        for key, group in list(self._groups.items()):
            self._send(key, group)
        self._rec.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.flush()
        self._rec.disconnect()

    def __enter__(self) -> RrdSink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


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
