"""Columns of a chunk: Rerun's layout and metadata, numpy / list batches to Arrow, imported batches.

The layout follows ``rerun.chunk.Chunk.to_record_batch`` in Rerun 0.41: one column per timeline
(``timestamp[ns]``, ``duration[ns]`` or ``int64``, field metadata ``rerun:kind = index``) and one list
column per component named ``Archetype:field`` (``rerun:kind = data``, ``rerun:archetype``,
``rerun:component``); the schema metadata names the entity (``rerun:entity_path``). Rerun's own batches
also carry a ``rerun.controls.RowId`` column (``rerun:kind = control``); the store reads its order and
drops it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from rerun_bridge.errors import BridgeError
from rerun_bridge.model.rows import Batch, ColumnBatch
from rerun_bridge.model.strips import Strips
from rerun_bridge.model.timeline import TimelineKind

Int64Array = npt.NDArray[np.int64]

ENTITY_PATH_KEY: Final = b"rerun:entity_path"
CHUNK_ID_KEY: Final = b"rerun:id"
KIND_KEY: Final = b"rerun:kind"
INDEX_NAME_KEY: Final = b"rerun:index_name"
IS_SORTED_KEY: Final = b"rerun:is_sorted"
ARCHETYPE_KEY: Final = b"rerun:archetype"
COMPONENT_KEY: Final = b"rerun:component"
ROW_ID_COLUMN: Final = "rerun.controls.RowId"
_ARCHETYPE_PREFIX: Final = "rerun.archetypes."
_CONTROL_PREFIX: Final = "rerun.controls."
_ROW_ID_BYTES: Final = 16

BLOB_TYPE: Final = pa.list_(pa.field("item", pa.uint8(), nullable=False))


class StoreError(BridgeError):
    """Data handed to the chunk store cannot be stored; the message names the entity and column."""


class ColumnKind(Enum):
    """The role of a record batch column, as Rerun's ``rerun:kind`` field metadata names it."""

    INDEX = "index"
    DATA = "data"
    CONTROL = "control"


def column_kind(field: pa.Field) -> ColumnKind:
    """Rerun's ``rerun:kind`` metadata, else by name: ``A:b`` is data, ``rerun.controls.*`` control."""
    metadata = field.metadata or {}
    kind = metadata.get(KIND_KEY)
    if kind is not None:
        try:
            return ColumnKind(kind.decode())
        except ValueError as err:
            raise StoreError(f"column {field.name!r}: unknown rerun:kind {kind!r}") from err
    if field.name.startswith(_CONTROL_PREFIX):
        return ColumnKind.CONTROL
    return ColumnKind.DATA if ":" in field.name else ColumnKind.INDEX


def timeline_arrow_type(kind: TimelineKind) -> pa.DataType:
    """The Arrow type of a timeline column of this kind, as Rerun writes it."""
    if kind is TimelineKind.TIMESTAMP:
        return pa.timestamp("ns")
    if kind is TimelineKind.DURATION:
        return pa.duration("ns")
    return pa.int64()


def canonical_time_type(data_type: pa.DataType) -> pa.DataType:
    """The stored type for an imported timeline column: ns resolution, or int64 for integers."""
    if pa.types.is_timestamp(data_type):
        return pa.timestamp("ns")
    if pa.types.is_duration(data_type):
        return pa.duration("ns")
    if pa.types.is_integer(data_type):
        return pa.int64()
    raise StoreError(f"timeline type {data_type} is not a time (use int64, timestamp or duration)")


def index_field(name: str, data_type: pa.DataType, is_sorted: bool) -> pa.Field:
    """A timeline column's field with Rerun's index metadata."""
    metadata = {KIND_KEY: b"index", INDEX_NAME_KEY: name.encode()}
    if is_sorted:
        metadata[IS_SORTED_KEY] = b"true"
    return pa.field(name, data_type, nullable=False, metadata=metadata)


def component_field(name: str, list_type: pa.DataType) -> pa.Field:
    """A component column's field with Rerun's data metadata (archetype taken from the column name)."""
    archetype = name.split(":", 1)[0]
    metadata = {
        KIND_KEY: b"data",
        ARCHETYPE_KEY: (_ARCHETYPE_PREFIX + archetype).encode(),
        COMPONENT_KEY: name.encode(),
    }
    return pa.field(name, list_type, metadata=metadata)


def times_to_int64(column: pa.Array | pa.ChunkedArray) -> Int64Array:
    """A timeline column as int64 nanoseconds (or sequence values) in a numpy array."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.null_count:
        raise StoreError("timeline columns must not contain nulls (static data has no timeline at all)")
    data_type = column.type
    if pa.types.is_timestamp(data_type) or pa.types.is_duration(data_type):
        column = column.cast(canonical_time_type(data_type)).view(pa.int64())
    elif data_type != pa.int64():
        column = column.cast(pa.int64())
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.int64)


def to_instances(value: pa.Array | pa.ChunkedArray | Batch) -> pa.Array:
    """The instances of one row as an Arrow array.

    numpy: the first axis counts instances; ``(N, 3)`` becomes ``fixed_size_list<float32>[3]`` as in
    Rerun's ``Position3D`` (more axes nest further), ``(N,)`` a primitive array, a 0-d array one instance.
    Lists: ``str`` -> ``string``; ``bytes`` (or 1-D ``uint8`` arrays) -> blobs, ``list<uint8>`` like
    Rerun's ``Blob``; Rerun component objects (``rr.components.ImageFormat``) through their own batch
    class; numbers and equal-shape vectors go through numpy; anything else through ``pyarrow.array``
    (dicts become structs).
    """
    if isinstance(value, pa.Array):
        return value
    if isinstance(value, pa.ChunkedArray):
        return value.combine_chunks()
    if isinstance(value, np.ndarray | np.generic):
        return _numpy_to_arrow(np.asarray(value))
    if isinstance(value, Strips):
        return value.to_arrow()
    if isinstance(value, str | bytes):  # a sequence, but one instance
        return _sequence_to_arrow([value])
    return _sequence_to_arrow(value)


def rows_to_list_column(rows: ColumnBatch, count: int) -> pa.Array | None:
    """``count`` rows of instances as one list column, each row as :func:`to_instances` reads it; None
    when rows convert to different Arrow types (the store keeps those in chunks of their own).

    A numeric numpy array (first axis rows, second instances) becomes one values array and offsets, with
    no Python work per row; anything else is converted row by row (each distinct object once)."""
    if isinstance(rows, np.ndarray) and rows.dtype.kind in "biufc" and rows.dtype.names is None:
        if rows.ndim == 1:  # one instance per row
            values, per_row = _numpy_to_arrow(rows), 1
        else:
            per_row = rows.shape[1]
            values = _numpy_to_arrow(rows.reshape(count * per_row, *rows.shape[2:]))
        offsets = pa.array(np.arange(count + 1, dtype=np.int32) * np.int32(per_row))
        return pa.ListArray.from_arrays(offsets, values)
    converted: dict[int, pa.Array] = {}
    arrays = []
    for index in range(count):
        row = rows[index]
        found = converted.get(id(row))
        if found is None:
            found = converted[id(row)] = to_instances(row)
        arrays.append(found)
    types = {array.type for array in arrays if array.type != pa.null()}
    if len(types) > 1:
        return None
    item_type = types.pop() if types else pa.null()
    arrays = [array.cast(item_type) if array.type != item_type else array for array in arrays]
    lengths = np.fromiter((len(array) for array in arrays), dtype=np.int32, count=count)
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths, dtype=np.int32)]).astype(np.int32))
    values = pa.concat_arrays(arrays) if arrays else pa.array([], type=item_type)
    return pa.ListArray.from_arrays(offsets, values)


def _numpy_to_arrow(array: npt.NDArray[Any]) -> pa.Array:
    if array.ndim == 0:
        array = array.reshape(1)
    kind = array.dtype.kind
    if kind == "O":
        return _sequence_to_arrow(list(array))
    if kind == "S":
        return _blobs_to_arrow([bytes(item) for item in array.reshape(-1)])
    if array.dtype.names is not None:
        return pa.StructArray.from_arrays(
            [_numpy_to_arrow(array[name]) for name in array.dtype.names], names=list(array.dtype.names)
        )
    if array.ndim == 1:
        return pa.array(array)
    # Trailing axes become fixed-size lists with non-null items, exactly Rerun's vector types. An axis of
    # length zero (an empty line strip) is a variable-size list of empty lists instead: Arrow cannot
    # divide values among lists of size zero (it stops the process with a division by zero).
    arrow = pa.array(np.ascontiguousarray(array).reshape(-1))
    for axis in range(array.ndim - 1, 0, -1):
        item = pa.field("item", arrow.type, nullable=False)
        size = array.shape[axis]
        if size == 0:
            parents = int(np.prod(array.shape[:axis]))
            offsets = pa.array(np.zeros(parents + 1, dtype=np.int32))
            arrow = pa.ListArray.from_arrays(offsets, arrow, type=pa.list_(item))
        else:
            arrow = pa.FixedSizeListArray.from_arrays(arrow, type=pa.list_(item, size))
    return arrow


def _sequence_to_arrow(batch: Sequence[Any]) -> pa.Array:
    if len(batch) == 0:
        return pa.array([], type=pa.null())
    if all(isinstance(item, str) for item in batch):
        return pa.array(batch, type=pa.string())
    if all(_is_blob(item) for item in batch):
        return _blobs_to_arrow([bytes(item) for item in batch])
    rerun_batch_type = _rerun_batch_type(batch)
    if rerun_batch_type is not None:
        try:
            converted: pa.Array = rerun_batch_type(list(batch)).as_arrow_array()
        except (ValueError, TypeError, pa.ArrowException) as err:
            raise StoreError(f"cannot convert batch of {type(batch[0]).__name__} to Arrow: {err}") from err
        return converted
    try:
        as_numpy = np.asarray(batch)
    except ValueError:  # ragged nesting
        strips = _ragged_vectors(batch)
        if strips is not None:
            return strips
        as_numpy = None
    if as_numpy is not None and as_numpy.dtype.kind in "biufcmM":
        return _numpy_to_arrow(as_numpy)
    try:
        return pa.array(batch)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
        raise StoreError(f"cannot convert batch of {type(batch[0]).__name__} to Arrow: {err}") from err


def _ragged_vectors(batch: Sequence[Any]) -> pa.Array | None:
    """Numeric (N, D) arrays of different lengths N (line strips of 2, 3 and 6 points) as one list of
    D-vectors each, as Rerun's ``LineStrip3D`` holds them (:class:`Strips`); None for anything else."""
    if not all(
        isinstance(item, np.ndarray) and item.ndim == 2 and item.dtype.kind in "biuf" for item in batch
    ):
        return None
    widths = {item.shape[1] for item in batch}
    if len(widths) != 1 or 0 in widths:
        return None
    return Strips.joined([batch], widths.pop()).to_arrow()


def _rerun_batch_type(batch: Sequence[Any]) -> Any:
    """The batch class of Rerun component objects (``rr.components.ImageFormat`` -> ``ImageFormatBatch``).

    Found by duck typing (Rerun's ``ComponentMixin`` names its batch class ``_BATCH_TYPE``), so the store
    does not import rerun; None unless every item is an instance of the same Rerun component class.
    """
    item_type = type(batch[0])
    batch_type = getattr(item_type, "_BATCH_TYPE", None)
    if batch_type is None or not all(type(item) is item_type for item in batch):
        return None
    return batch_type


def _is_blob(item: object) -> bool:
    if isinstance(item, bytes | bytearray | memoryview):
        return True
    return isinstance(item, np.ndarray) and item.dtype == np.uint8 and item.ndim == 1


def _blobs_to_arrow(blobs: Sequence[bytes]) -> pa.Array:
    lengths = np.fromiter((len(blob) for blob in blobs), dtype=np.int32, count=len(blobs))
    offsets = np.zeros(len(blobs) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = pa.array(np.frombuffer(b"".join(blobs), dtype=np.uint8))
    return pa.ListArray.from_arrays(pa.array(offsets), values, type=BLOB_TYPE)


def list_column(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A component column as a list array; plain arrays get one instance per row, as Rerun reads them."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
        return column
    if pa.types.is_list_view(column.type) or pa.types.is_large_list_view(column.type):
        return column.cast(pa.list_(column.type.value_field))
    offsets = pa.array(np.arange(len(column) + 1, dtype=np.int32))
    mask = column.is_null() if column.null_count else None
    return pa.ListArray.from_arrays(offsets, column, mask=mask)


class ImportedBatch(NamedTuple):
    """A foreign record batch in the store's layout."""

    batch: pa.RecordBatch  # no control columns; timelines in their stored types; components as lists
    row_rank: Int64Array  # each row's position in logging order (Rerun's RowId order when present)
    static: bool


def prepare_import(
    entity_path: str, batch: pa.RecordBatch, *, static: bool, timeline_types: Mapping[str, pa.DataType]
) -> ImportedBatch:
    """Bring a record batch (e.g. from ``rerun.chunk.RrdReader``) into the store's layout, unsplit.

    Timeline columns take the type the store already uses for that timeline (an ``int64`` ``ros_time``
    becomes ``timestamp[ns]``); a batch without timeline columns is static, as in Rerun.
    """
    fields: list[pa.Field] = []
    columns: list[pa.Array] = []
    row_rank = np.arange(batch.num_rows, dtype=np.int64)
    for field, column in zip(batch.schema, batch.columns, strict=True):
        kind = column_kind(field)
        if kind is ColumnKind.CONTROL:
            if field.name == ROW_ID_COLUMN:
                row_rank = _row_id_rank(column)
            continue
        if kind is ColumnKind.INDEX:
            stored_field, stored_column = _import_timeline(entity_path, field, column, timeline_types)
        else:
            stored_column = list_column(column)
            stored_field = component_field(field.name, stored_column.type)
            stored_field = stored_field.with_metadata({**stored_field.metadata, **(field.metadata or {})})
        fields.append(stored_field)
        columns.append(stored_column)
    kinds = [column_kind(field) for field in fields]
    if ColumnKind.DATA not in kinds:
        raise StoreError(f"entity {entity_path!r}: the record batch has no component column")
    has_timeline = ColumnKind.INDEX in kinds
    if static and has_timeline:
        raise StoreError(
            f"entity {entity_path!r}: a static chunk has no timeline columns; drop them or pass static=False"
        )
    metadata = {key: value for key, value in (batch.schema.metadata or {}).items() if key != CHUNK_ID_KEY}
    metadata[ENTITY_PATH_KEY] = entity_path.encode()
    imported = pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields, metadata=metadata))
    return ImportedBatch(imported, row_rank, static or not has_timeline)


def _import_timeline(
    entity_path: str, field: pa.Field, column: pa.Array, timeline_types: Mapping[str, pa.DataType]
) -> tuple[pa.Field, pa.Array]:
    where = f"entity {entity_path!r}, timeline column {field.name!r}"
    if column.null_count:
        raise StoreError(f"{where}: timeline columns must not contain nulls")
    try:
        target = timeline_types.get(field.name) or canonical_time_type(field.type)
        stored = column.cast(target)
    except StoreError as err:
        raise StoreError(f"{where}: {err}") from err
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise StoreError(f"{where}: cannot store {field.type} as {target}") from err
    metadata = {**(field.metadata or {}), KIND_KEY: b"index", INDEX_NAME_KEY: field.name.encode()}
    return pa.field(field.name, target, nullable=False, metadata=metadata), stored


def _row_id_rank(column: pa.Array) -> Int64Array:
    """Rank of each row by RowId: a TUID, big-endian time then counter, so byte order is logging order."""
    count = len(column)
    if column.null_count or column.type != pa.binary(_ROW_ID_BYTES):
        return np.arange(count, dtype=np.int64)
    words = np.frombuffer(
        column.buffers()[1], dtype=">u8", count=2 * count, offset=_ROW_ID_BYTES * column.offset
    ).reshape(count, 2)
    order = np.lexsort((words[:, 1], words[:, 0]))
    rank = np.empty(count, dtype=np.int64)
    rank[order] = np.arange(count, dtype=np.int64)
    return rank


def concat_tables(entity_path: str, tables: list[pa.Table]) -> pa.Table:
    """Tables of one entity's chunks as one; missing columns become nulls, types widen where they can."""
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as err:
        raise StoreError(f"entity {entity_path!r}: chunks disagree on a column's type: {err}") from err


def range_layout(entity_path: str, timeline: str, table: pa.Table) -> pa.Table:
    """Timelines first, then components, each sorted by name; the entity path in the schema metadata.

    Fields are nullable wherever a merged chunk lacked the column, and only the queried timeline is
    marked sorted.
    """
    timelines = sorted(field.name for field in table.schema if column_kind(field) is ColumnKind.INDEX)
    components = sorted(field.name for field in table.schema if column_kind(field) is ColumnKind.DATA)
    table = table.select([*timelines, *components])
    fields = []
    for field, column in zip(table.schema, table.columns, strict=True):
        metadata = {key: value for key, value in (field.metadata or {}).items() if key != IS_SORTED_KEY}
        if field.name == timeline:
            metadata[IS_SORTED_KEY] = b"true"
        fields.append(pa.field(field.name, field.type, field.nullable or column.null_count > 0, metadata))
    schema = pa.schema(fields, metadata={ENTITY_PATH_KEY: entity_path.encode()})
    return pa.Table.from_arrays(table.columns, schema=schema)
