"""Component batches of many rows -> one Arrow list column in Rerun's own layout and types.

Rerun's ``Archetype.columns(...)`` converts numpy data element by element in places (a flatten copy for
every vector batch, one Python list per element for dynamic components), which made it the bridge's
hottest path. Here each (archetype, component) pair asks Rerun once, on a small sample, which Arrow type and
descriptor it uses; after that numpy data is converted with zero-copy Arrow constructors and cast to that
type. Anything numpy cannot express (``ImageFormat`` objects, strings of mixed kinds) still goes through
Rerun's own conversion, so the file always holds exactly what Rerun would have written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import attrs
import numpy as np
import pyarrow as pa
import rerun as rr

from rerun_bridge.model.rows import Batch, batch_length
from rerun_bridge.model.strips import Strips
from rerun_bridge.store.columns import to_instances

_COLOR_TYPE = "rerun.components.Color"
#: Widest 2-D array copied column by column (positions, quaternions, colours).
_COLUMN_COPY_MAX = 8
#: Fewest rows per array, on average, for joining arrays column by column to pay off.
_COLUMN_COPY_MIN_ROWS = 64


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    """How Rerun stores one component: the type of one instance and the field metadata."""

    item_type: pa.DataType
    metadata: dict[bytes, bytes]


def _sample(batch: Batch) -> Any:
    if isinstance(batch, np.ndarray | pa.Array):
        return batch[:1] if batch_length(batch) and getattr(batch, "ndim", 1) else batch
    return list(batch)[:1]


def learn_spec(archetype: str, component: str, sample: Batch, dynamic: bool) -> ComponentSpec:
    """Ask Rerun once how it stores ``archetype:component`` (dynamic: a component of our own)."""
    archetype_class = None if dynamic else getattr(rr, archetype, None)
    if archetype_class is None:
        values = to_instances(sample) if not isinstance(sample, pa.Array) else sample
        metadata = {
            b"rerun:kind": b"data",
            b"rerun:archetype": archetype.encode(),
            b"rerun:component": f"{archetype}:{component}".encode(),
        }
        return ComponentSpec(values.type, metadata)
    column = next(iter(archetype_class.columns(**{component: _sample(sample)})))
    descriptor = column.descriptor
    metadata = {
        b"rerun:kind": b"data",
        b"rerun:archetype": str(descriptor.archetype).encode(),
        b"rerun:component": str(descriptor.component).encode(),
    }
    if descriptor.component_type:
        metadata[b"rerun:component_type"] = str(descriptor.component_type).encode()
    return ComponentSpec(column.as_arrow_array().type.value_type, metadata)


def _color_words(colors: np.ndarray) -> np.ndarray | None:
    """Colours given as (N, 3|4) uint8 RGBA or as Rerun's own u32 0xRRGGBBAA words -> words; None for
    any other layout (Rerun's conversion then decides)."""
    if colors.ndim == 1 and colors.dtype == np.uint32:
        return colors
    if colors.ndim != 2 or colors.dtype != np.uint8 or colors.shape[1] not in (3, 4):
        return None
    if colors.shape[1] == 3:
        colors = np.concatenate([colors, np.full((colors.shape[0], 1), 255, np.uint8)], axis=1)
    return np.ascontiguousarray(colors, dtype=np.uint8).view(">u4").reshape(-1).astype(np.uint32)


def _numpy_values(batches: Sequence[Batch], spec: ComponentSpec) -> pa.Array | None:
    """All rows' numpy instances as one Arrow array of the spec's type, or None when numpy cannot say it."""
    arrays = []
    for batch in batches:  # one pass: this runs for every column of every chunk
        if not isinstance(batch, np.ndarray):
            return None
        array = np.asarray(batch)  # a subclass (np.matrix, ...) as a plain array
        arrays.append(array.reshape(1) if array.ndim == 0 else array)
    if spec.metadata.get(b"rerun:component_type") == _COLOR_TYPE.encode():
        # Rows may mix RGBA bytes and words (a topic whose clouds gain or lose their rgb field).
        words = []
        for array in arrays:
            part = _color_words(array)
            if part is None:
                return None
            words.append(part)
        return pa.array(words[0] if len(words) == 1 else np.concatenate(words))
    first = arrays[0]
    inner = first.shape[1:]
    if first.dtype.kind not in "biuf" or any(a.shape[1:] != inner for a in arrays):
        return None
    data = _joined(arrays)
    values = to_instances(data)
    if values.type == spec.item_type:
        return values
    try:
        return values.cast(spec.item_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None  # a layout Rerun converts itself (a 3x3 matrix is stored column-major)


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    """The arrays one after the other in one contiguous array. Big 2-D arrays of a few columns (points
    of several clouds, strided views into their records) are copied column by column, as in
    :func:`_contiguous_rows`; many small ones (a row each) in one ``concatenate``."""
    first = arrays[0]
    if len(arrays) == 1:
        return _contiguous_rows(first)
    rows = sum(a.shape[0] for a in arrays)
    column_wise = (
        first.ndim == 2
        and not all(a.flags.c_contiguous for a in arrays)  # contiguous ones: one memcpy each
        and 0 < first.shape[1] <= _COLUMN_COPY_MAX
        and rows >= _COLUMN_COPY_MIN_ROWS * len(arrays)
        and all(a.dtype == first.dtype for a in arrays)
    )
    if not column_wise:
        return np.concatenate(arrays)
    out = np.empty((rows, first.shape[1]), dtype=first.dtype)
    start = 0
    for array in arrays:
        end = start + array.shape[0]
        for column in range(first.shape[1]):
            out[start:end, column] = array[:, column]
        start = end
    return out


def _contiguous_rows(data: np.ndarray) -> np.ndarray:
    """``data`` made contiguous. A 2-D array of a few columns (x, y, z views into point records) is
    copied column by column: numpy copies each strided column several times faster than it copies the
    strided 2-D array as a whole."""
    if data.ndim != 2 or data.flags.c_contiguous or data.shape[0] == 0 or data.shape[1] == 0:
        return data
    if data.shape[1] > _COLUMN_COPY_MAX:
        return np.ascontiguousarray(data)
    out = np.empty(data.shape, dtype=data.dtype)
    for column in range(data.shape[1]):
        out[:, column] = data[:, column]
    return out


def _blob_values(batches: Sequence[Batch], spec: ComponentSpec) -> pa.Array | None:
    """One blob per row given as bytes or 1-D uint8 arrays (image buffers): one copy into one buffer."""
    if not pa.types.is_list(spec.item_type) or spec.item_type.value_type != pa.uint8():
        return None
    items: list[Any] = []
    for batch in batches:
        if isinstance(batch, np.ndarray):
            return None
        items.extend(batch)
    views = []
    for item in items:
        if isinstance(item, bytes | bytearray | memoryview):
            views.append(np.frombuffer(item, dtype=np.uint8))
        elif isinstance(item, np.ndarray) and item.dtype == np.uint8:
            views.append(item.reshape(-1))
        else:
            return None
    if len(views) == 1:
        offsets = np.array([0, views[0].size], dtype=np.int32)
        flat = pa.array(views[0])  # zero-copy: a big row is sent on its own
    else:
        offsets = np.zeros(len(views) + 1, dtype=np.int32)
        np.cumsum([v.size for v in views], out=offsets[1:])
        flat = pa.array(np.concatenate(views) if views else np.zeros(0, np.uint8))
    # Made in the spec's type: a cast to it (list<uint8> -> list<uint8 not null>) cost 170 us an image.
    return pa.ListArray.from_arrays(pa.array(offsets), flat, type=spec.item_type)


def _strip_values(batches: Sequence[Batch], spec: ComponentSpec) -> pa.Array | None:
    """Line strips given as :class:`Strips` or lists of (N, 2|3) float arrays (markers, paths): one
    concatenation and the strips' offsets, instead of Rerun's conversion of each strip on its own."""
    item_type = spec.item_type
    if not pa.types.is_list(item_type) or not pa.types.is_fixed_size_list(item_type.value_type):
        return None
    width = item_type.value_type.list_size
    parts: list[Sequence[np.ndarray]] = []
    for batch in batches:
        if isinstance(batch, Strips):
            if batch.width != width:
                return None
        elif batch.__class__ is not list or not all(_is_float_strip(strip, width) for strip in batch):
            return None
        parts.append(batch)  # Strips, or a list of float arrays (checked just above)
    values = Strips.joined(parts, width).to_arrow()
    return values if values.type == item_type else values.cast(item_type)


def _is_float_strip(strip: Any, width: int) -> bool:
    return (
        isinstance(strip, np.ndarray)
        and strip.ndim == 2
        and strip.shape[1] == width
        and strip.dtype.kind == "f"
    )


def _string_values(batches: Sequence[Batch], spec: ComponentSpec) -> pa.Array | None:
    """Lists of ``str`` (frame ids, names, media types) for a string component: one ``pa.array``, as
    Rerun's own conversion builds it, without its per-batch machinery."""
    if not (pa.types.is_string(spec.item_type) or pa.types.is_large_string(spec.item_type)):
        return None
    flat: list[Any] = []
    for batch in batches:
        if batch.__class__ is not list:
            return None
        flat += batch
    if not all(item.__class__ is str for item in flat):
        return None
    return pa.array(flat, type=spec.item_type)


def _rerun_values(archetype: str, component: str, batches: Sequence[Batch], dynamic: bool) -> pa.Array:
    """Rerun's own conversion: correct for anything, fast for little."""
    flat: list[Any] = []
    for batch in batches:
        if isinstance(batch, np.ndarray):
            flat.extend(batch.reshape(1) if batch.ndim == 0 else batch)
        else:
            flat.extend(batch)
    archetype_class = None if dynamic else getattr(rr, archetype, None)
    if archetype_class is None:
        return pa.array(flat)
    keys = _value_keys(flat)
    if keys is not None:
        return _cached_values(archetype_class, component, flat, keys)
    return _convert_values(archetype_class, component, flat)


def _convert_values(archetype_class: Any, component: str, flat: list[Any]) -> pa.Array:
    column = next(iter(archetype_class.columns(**{component: flat})))
    array: pa.Array = column.as_arrow_array().values
    return array


#: Arrow values of single Rerun component objects (an image's format) by (archetype, component, value).
_VALUE_CACHE: dict[tuple[Any, str, str], pa.Array] = {}
_VALUE_CACHE_MAX = 1024


#: The key of objects seen before, by id (each kept alive here, so its id cannot be reused meanwhile):
#: converters hand the same format object with every image, and its repr costs 40 us.
_KEY_BY_ID: dict[int, tuple[Any, str]] = {}


def _value_keys(flat: list[Any]) -> list[str] | None:
    """A key per item when each is an attrs-defined Rerun object (its repr lists every field's value, so
    equal reprs mean equal values); None otherwise."""
    if not flat or not all(attrs.has(type(item)) for item in flat):
        return None
    keys = []
    for item in flat:
        known = _KEY_BY_ID.get(id(item))
        if known is None:
            if len(_KEY_BY_ID) >= _VALUE_CACHE_MAX:
                _KEY_BY_ID.clear()
            known = _KEY_BY_ID[id(item)] = (item, repr(item))
        keys.append(known[1])
    return keys


def _cached_values(archetype_class: Any, component: str, flat: list[Any], keys: list[str]) -> pa.Array:
    """Rerun's conversion of each distinct value once: every image of a camera has the same format, and
    converting it costs a third of a millisecond."""
    parts = []
    for item, key in zip(flat, keys, strict=True):
        cache_key = (archetype_class, component, key)
        value = _VALUE_CACHE.get(cache_key)
        if value is None:
            if len(_VALUE_CACHE) >= _VALUE_CACHE_MAX:
                _VALUE_CACHE.clear()
            value = _convert_values(archetype_class, component, [item])
            _VALUE_CACHE[cache_key] = value
        parts.append(value)
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def list_column(
    archetype: str, component: str, batches: Sequence[Batch], spec: ComponentSpec, dynamic: bool
) -> pa.Array:
    """One list entry per row holding that row's instances, in Rerun's type for the component."""
    try:
        lengths = np.fromiter(map(len, batches), dtype=np.int64, count=len(batches))
    except TypeError:  # a 0-d array (one instance) has no len()
        lengths = np.fromiter((batch_length(b) for b in batches), dtype=np.int64, count=len(batches))
    if all(isinstance(b, pa.Array) for b in batches):
        values = pa.concat_arrays(list(batches))
    else:
        values = _numpy_values(batches, spec)
        if values is None:
            values = _string_values(batches, spec)
        if values is None:
            values = _blob_values(batches, spec)
        if values is None:
            values = _strip_values(batches, spec)
        if values is None:
            values = _rerun_values(archetype, component, batches, dynamic)
    if values.type != spec.item_type:
        values = values.cast(spec.item_type)
    offsets = np.zeros(len(batches) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def uniform_list_column(
    archetype: str, component: str, values: np.ndarray, spec: ComponentSpec, dynamic: bool
) -> pa.Array:
    """``values`` of shape (rows, instances, ...) as one list entry of ``instances`` values per row: what
    :func:`list_column` makes of the same rows given one by one."""
    rows, instances = values.shape[0], values.shape[1]
    flat = values.reshape(rows * instances, *values.shape[2:])
    converted = _numpy_values([flat], spec)
    if converted is None:  # a layout only Rerun's own conversion knows (a 3x3 matrix)
        converted = _rerun_values(archetype, component, [flat], dynamic)
    if converted.type != spec.item_type:
        converted = converted.cast(spec.item_type)
    offsets = np.arange(rows + 1, dtype=np.int32) * np.int32(instances)
    return pa.ListArray.from_arrays(pa.array(offsets), converted)
