"""``sensor_msgs/PointCloud2`` decoding, and the colormaps that colour points.

The point data is viewed in place as a structured array (one numpy field per ``PointField``; ``count > 1``
fields become sub-arrays), as ``sensor_msgs_py.point_cloud2`` does, but inconsistent layouts raise
:class:`~rerun_bridge.errors.ConversionError` instead of failing an ``assert``.

Speed: nothing loops over points in Python, and the common layout (native ``float32`` x, y, z side by side)
takes a fast path. With the optional C extension (``_cloud_native.c``, built by setup) one pass over the
records keeps the points with finite x, y, z and gathers their positions and every other field into
contiguous arrays, ready to be written. Without it numpy takes more passes: one ``isfinite`` over the whole
buffer finds the points to drop, one masked copy of whole records drops them (a cloud without NaN / inf
points is not copied), and positions and extra fields are strided views into those records, copied when
written. Row padding of organized clouds and byte swapping of big-endian clouds cost one copy each.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from rerun_bridge.convert.buffers import byte_view
from rerun_bridge.errors import ConversionError
from rerun_bridge.native import speaks

#: The API of ``_cloud_native.c`` this module calls (its ``API_VERSION``).
CLOUD_NATIVE_API: Final = 2

try:
    from rerun_bridge.convert import _cloud_native
except ImportError:  # built without a C compiler: the numpy path below does the same, slower
    _cloud_native = None  # type: ignore[assignment]
else:
    if not speaks(_cloud_native, api_version=CLOUD_NATIVE_API):
        _cloud_native = None  # type: ignore[assignment]

#: ``sensor_msgs/PointField`` datatype codes.
INT8, UINT8, INT16, UINT16, INT32, UINT32, FLOAT32, FLOAT64 = range(1, 9)

POINT_FIELD_DTYPES: Final[Mapping[int, np.dtype[Any]]] = {
    INT8: np.dtype(np.int8),
    UINT8: np.dtype(np.uint8),
    INT16: np.dtype(np.int16),
    UINT16: np.dtype(np.uint16),
    INT32: np.dtype(np.int32),
    UINT32: np.dtype(np.uint32),
    FLOAT32: np.dtype(np.float32),
    FLOAT64: np.dtype(np.float64),
}

#: Fields holding a colour packed PCL-style in 32 bits: 0x00RRGGBB (``rgb``) or 0xAARRGGBB (``rgba``).
PACKED_COLOR_FIELDS: Final = ("rgb", "rgba")
#: Fields coloured through the colormap when there is no packed colour, first match wins.
INTENSITY_FIELDS: Final = ("intensity", "i")
COLORMAPS: Final = ("turbo", "gray")
DEFAULT_COLORMAP: Final = "turbo"

#: Fields holding one colour channel each (``r``, ``g``, ``b``, optional ``a``): 0..255, or 0..1 floats.
CHANNEL_COLOR_FIELDS: Final = ("r", "g", "b")
#: The colormap entry of a degenerate range (all values equal): the middle, visible on dark backgrounds.
_FLAT_ENTRY: Final = 128

_POSITION_FIELDS: Final = ("x", "y", "z")
#: numpy's largest structured item: a point_step past it cannot be a point (a damaged or lying message).
MAX_POINT_STEP: Final = 2**31 - 1

FloatArray = npt.NDArray[np.float32]
ColorArray = npt.NDArray[np.uint8]
#: Rerun's ``Color``: one 0xRRGGBBAA word per point.
ColorWords = npt.NDArray[np.uint32]


@dataclass(frozen=True, slots=True)
class PointFieldSpec:
    """One ``sensor_msgs/PointField``, validated (a dataclass: a NamedTuple cannot have a ``count`` field)."""

    name: str
    offset: int
    datatype: int
    count: int

    @property
    def dtype(self) -> np.dtype[Any]:
        return POINT_FIELD_DTYPES[self.datatype]

    @property
    def size(self) -> int:
        return self.dtype.itemsize * self.count


class DecodedCloud(NamedTuple):
    """The points of one cloud that have finite x, y, z (all points when it has no x, y, z fields).

    ``positions`` and the arrays in ``fields`` may be strided views into the message's own buffer or a
    compacted copy of its records; the C extension gives contiguous ones. Everything is in native byte
    order.
    """

    #: (N, 3) float32, or None when the cloud has no x, y, z fields.
    positions: FloatArray | None
    #: Every field but x, y, z, one 1-D array each; a ``count > 1`` field ``f`` gives ``f_0``, ``f_1``, ...
    fields: dict[str, npt.NDArray[Any]]
    specs: tuple[PointFieldSpec, ...]
    num_points: int


def point_field_specs(fields: Iterable[Any], point_step: int) -> tuple[PointFieldSpec, ...]:
    """Validated ``PointField`` messages: known types, unique names, nothing past ``point_step``."""
    specs: list[PointFieldSpec] = []
    if point_step > MAX_POINT_STEP:
        raise ConversionError(f"PointCloud2 point_step {point_step} is larger than any point can be")
    seen: set[str] = set()
    for field in fields:
        name = str(field.name)
        datatype = int(field.datatype)
        # count 0 is a common driver slip for a scalar field (PCL itself writes 1).
        spec = PointFieldSpec(name, int(field.offset), datatype, max(int(field.count), 1))
        if not name:
            raise ConversionError("PointCloud2 has a field with an empty name")
        if name in seen:
            raise ConversionError(f"PointCloud2 field {name!r} appears twice")
        if datatype not in POINT_FIELD_DTYPES:
            raise ConversionError(f"PointCloud2 field {name!r} has unknown datatype {datatype} (valid: 1..8)")
        if spec.offset < 0 or spec.offset + spec.size > point_step:
            raise ConversionError(
                f"PointCloud2 field {name!r} (offset {spec.offset}, {spec.size} bytes) "
                f"ends past point_step {point_step}"
            )
        seen.add(name)
        specs.append(spec)
    return tuple(specs)


def cloud_dtype(specs: Iterable[PointFieldSpec], point_step: int, big_endian: bool) -> np.dtype[Any]:
    """The structured dtype of one point: fields at their offsets, itemsize ``point_step``."""
    order: Literal["<", ">"] = ">" if big_endian else "<"
    names: list[str] = []
    formats: list[Any] = []
    offsets: list[int] = []
    for spec in specs:
        base = spec.dtype.newbyteorder(order)
        names.append(spec.name)
        formats.append(base if spec.count == 1 else (base, (spec.count,)))
        offsets.append(spec.offset)
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": point_step})


def point_bytes(data: Any, width: int, height: int, point_step: int, row_step: int) -> npt.NDArray[np.uint8]:
    """The bytes of the ``width * height`` points, contiguous, row padding removed (a view when none)."""
    buffer = byte_view(data)
    count = width * height
    if count == 0:
        return buffer[:0]
    if point_step <= 0:
        raise ConversionError(f"PointCloud2 has {count} points but point_step {point_step}")
    row_bytes = width * point_step
    if height > 1 and row_step < row_bytes:
        raise ConversionError(
            f"PointCloud2 row_step {row_step} is shorter than width * point_step = {row_bytes}"
        )
    stride = row_step if height > 1 else row_bytes
    needed = (height - 1) * stride + row_bytes
    if buffer.size < needed:
        raise ConversionError(
            f"PointCloud2 data has {buffer.size} bytes, {width}x{height} points of {point_step} bytes "
            f"with row_step {row_step} need {needed}"
        )
    if stride == row_bytes:
        return buffer[: count * point_step]
    rows = np.lib.stride_tricks.as_strided(buffer, shape=(height, row_bytes), strides=(stride, 1))
    return np.ascontiguousarray(rows).reshape(-1)


def decode_point_cloud(msg: Any) -> DecodedCloud:
    """Decode a ``sensor_msgs/PointCloud2``, dropping points whose x, y or z is NaN or infinite.

    ``is_dense`` is not trusted (drivers often get it wrong); checking costs one vectorized pass.
    """
    point_step = int(msg.point_step)
    field_key = tuple((f.name, int(f.offset), int(f.datatype), int(f.count)) for f in msg.fields)
    specs, dtype = cloud_layout(field_key, point_step, bool(msg.is_bigendian))
    raw = point_bytes(msg.data, int(msg.width), int(msg.height), point_step, int(msg.row_step))
    return decode_points(raw, specs, dtype)


@functools.lru_cache(maxsize=256)
def cloud_layout(
    fields: tuple[tuple[str, int, int, int], ...], point_step: int, big_endian: bool
) -> tuple[tuple[PointFieldSpec, ...], np.dtype[Any]]:
    """Validated fields and structured dtype of a layout, given as (name, offset, datatype, count) tuples.

    Cached: a topic keeps its layout, and building a structured dtype costs more than viewing a cloud.
    """
    specs = point_field_specs(
        (PointFieldSpec(str(name), offset, datatype, count) for name, offset, datatype, count in fields),
        point_step,
    )
    return specs, cloud_dtype(specs, point_step, big_endian)


def decode_points(
    raw: npt.NDArray[np.uint8],
    specs: tuple[PointFieldSpec, ...],
    dtype: np.dtype[Any],
    use_native: bool = True,
) -> DecodedCloud:
    """Decode contiguous point bytes (see :func:`point_bytes`) laid out as ``dtype``.

    ``use_native=False`` takes the numpy path even where the C extension is built (tests compare them)."""
    point_step = dtype.itemsize
    count = raw.size // point_step if point_step else 0
    raw = raw[: count * point_step]
    by_name = {spec.name: spec for spec in specs}
    x, y, z = (by_name.get(name) for name in _POSITION_FIELDS)
    positions: FloatArray | None = None
    if x is not None and y is not None and z is not None:
        fast_offset = _packed_float32_offset((x, y, z), dtype)
        plan = _native_plan(specs) if use_native and _cloud_native is not None else None
        if fast_offset is not None and plan is not None:
            return _gather_native(raw, count, specs, plan, fast_offset, point_step)
        if fast_offset is not None:
            keep = _finite_rows_packed(raw, count, point_step, fast_offset)
            if keep is not None:
                raw = _compact(raw, point_step, keep)
                count = int(np.count_nonzero(keep))
            positions = _strided_xyz(raw, count, point_step, fast_offset)
        else:
            positions = _positions_any(raw.view(dtype) if raw.size else np.empty(0, dtype), (x, y, z))
            keep = _finite_rows(positions)
            if keep is not None:
                raw = _compact(raw, point_step, keep)
                positions = positions[keep]
    records = raw.view(dtype) if raw.size else np.empty(0, dtype)
    fields = _extra_fields(records, specs)
    return DecodedCloud(positions, fields, specs, int(records.shape[0]))


def _packed_float32_offset(xyz: tuple[PointFieldSpec, ...], dtype: np.dtype[Any]) -> int | None:
    """The offset of x when x, y, z are native float32 scalars side by side at a 4-byte boundary."""
    x, y, z = xyz
    if any(spec.datatype != FLOAT32 or spec.count != 1 for spec in xyz):
        return None
    native = dtype.fields is not None and dtype.fields["x"][0].isnative
    if not native or y.offset != x.offset + 4 or z.offset != x.offset + 8:
        return None
    if x.offset % 4 or dtype.itemsize % 4:
        return None
    return x.offset


class _NativePlan(NamedTuple):
    """The fields besides x, y, z the C pass gathers, with their offsets and sizes in a record."""

    extras: tuple[PointFieldSpec, ...]
    offsets: list[int]
    sizes: list[int]


@functools.lru_cache(maxsize=256)
def _native_plan(specs: tuple[PointFieldSpec, ...]) -> _NativePlan | None:
    """What the C pass needs for a layout, made once per layout (None: more fields than it takes). Only
    called where the extension is built."""
    assert _cloud_native is not None
    extras = tuple(spec for spec in specs if spec.name not in _POSITION_FIELDS)
    if len(extras) > _cloud_native.MAX_FIELDS:
        return None
    return _NativePlan(extras, [spec.offset for spec in extras], [spec.size for spec in extras])


def _gather_native(
    raw: npt.NDArray[np.uint8],
    count: int,
    specs: tuple[PointFieldSpec, ...],
    plan: _NativePlan,
    x_offset: int,
    point_step: int,
) -> DecodedCloud:
    """The C pass: the finite points' x, y, z and every other field, each in a contiguous array."""
    assert _cloud_native is not None
    positions = np.empty((count, 3), dtype=np.float32)
    columns = [np.empty((count, spec.count) if spec.count > 1 else count, spec.dtype) for spec in plan.extras]
    kept = _cloud_native.gather_finite_points(
        raw, point_step, x_offset, positions, plan.offsets, plan.sizes, columns
    )
    fields: dict[str, npt.NDArray[Any]] = {}
    for spec, column in zip(plan.extras, columns, strict=True):
        if spec.count == 1:
            fields[spec.name] = column[:kept]
        else:
            for index in range(spec.count):
                fields[f"{spec.name}_{index}"] = column[:kept, index]
    return DecodedCloud(positions[:kept], fields, specs, kept)


def native_extension_built() -> bool:
    """Whether the C extension was built (CI requires it; an install without a compiler runs without)."""
    return _cloud_native is not None


def _finite_rows_packed(
    raw: npt.NDArray[np.uint8], count: int, point_step: int, x_offset: int
) -> npt.NDArray[np.bool_] | None:
    """Rows whose three float32 at ``x_offset`` are finite; None when all are (nothing to drop).

    ``isfinite`` runs over the whole buffer as float32, which is contiguous and vectorized; the three
    flags of a row are then read as one little-endian word (a fourth, masked-off byte comes along; one
    spare row keeps the last read inside the array).
    """
    if count == 0:
        return None
    words_per_point = point_step // 4
    floats = raw.view(np.float32).reshape(count, words_per_point)
    flags = np.empty((count + 1, words_per_point), dtype=np.bool_)
    flags[count] = False
    np.isfinite(floats, out=flags[:count])
    if flags[:count].all():
        return None
    triples = np.ndarray(
        (count,), dtype="<u4", buffer=flags, offset=x_offset // 4, strides=(words_per_point,)
    )
    keep: npt.NDArray[np.bool_] = (triples & 0x00FFFFFF) == 0x00010101
    return None if keep.all() else keep


def _strided_xyz(raw: npt.NDArray[np.uint8], count: int, point_step: int, x_offset: int) -> FloatArray:
    """x, y, z as an (N, 3) float32 view into the point bytes, no copy."""
    if count == 0:
        return np.empty((0, 3), dtype=np.float32)
    return np.ndarray((count, 3), dtype=np.float32, buffer=raw, offset=x_offset, strides=(point_step, 4))


def _positions_any(records: npt.NDArray[Any], xyz: tuple[PointFieldSpec, ...]) -> FloatArray:
    """x, y, z of any types and byte order as a contiguous (N, 3) float32 array (one converting copy)."""
    positions = np.empty((records.shape[0], 3), dtype=np.float32)
    with np.errstate(over="ignore"):  # float64 beyond float32's range becomes inf, then dropped
        for axis, spec in enumerate(xyz):
            column = records[spec.name]
            positions[:, axis] = column if spec.count == 1 else column[:, 0]
    return positions


def _finite_rows(positions: FloatArray) -> npt.NDArray[np.bool_] | None:
    """Rows of finite x, y, z; None when all are.

    The sum of a row is finite only if all three are (NaN and inf propagate); a finite row can still
    overflow to inf, so rows that fail the sum are checked one by one.
    """
    if positions.shape[0] == 0:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        total = positions[:, 0] + positions[:, 1]
        total += positions[:, 2]
    keep: npt.NDArray[np.bool_] = np.isfinite(total)
    if keep.all():
        return None
    suspects = np.flatnonzero(~keep)
    keep[suspects] = np.isfinite(positions[suspects]).all(axis=1)
    return None if keep.all() else keep


def _compact(
    raw: npt.NDArray[np.uint8], point_step: int, keep: npt.NDArray[np.bool_]
) -> npt.NDArray[np.uint8]:
    """The bytes of the kept points only: one masked copy of whole records (as opaque ``void`` items)."""
    records = raw.view(np.dtype((np.void, point_step)))
    kept: npt.NDArray[np.uint8] = records[keep].view(np.uint8).reshape(-1)
    return kept


def _extra_fields(
    records: npt.NDArray[Any], specs: tuple[PointFieldSpec, ...]
) -> dict[str, npt.NDArray[Any]]:
    """Every field but x, y, z as 1-D native-order arrays (views unless a byte swap is needed)."""
    out: dict[str, npt.NDArray[Any]] = {}
    for spec in specs:
        if spec.name in _POSITION_FIELDS:
            continue
        column = records[spec.name]
        if not column.dtype.isnative:
            column = column.astype(column.dtype.newbyteorder("="))
        if spec.count == 1:
            out[spec.name] = column
        else:
            for index in range(spec.count):
                out[f"{spec.name}_{index}"] = column[:, index]
    return out


# ---- colours -------------------------------------------------------------------------------------------

# Turbo (Google, 2019) as the degree-5 polynomial fit published with it: coefficients of x^0..x^5 for
# red, green and blue. Evaluated once into a 256-entry table.
_TURBO_COEFFICIENTS: Final = np.array(
    [
        [0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943],
        [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604],
        [0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973],
    ]
)


def _turbo_table() -> ColorArray:
    x = np.linspace(0.0, 1.0, 256)
    # Horner's rule, element-wise: a matrix product here would start BLAS's worker threads, which then
    # spin on a core for a while, taking it from the conversion.
    rgb = np.zeros((256, 3))
    for coefficients in _TURBO_COEFFICIENTS.T[::-1]:
        rgb = rgb * x[:, None] + coefficients
    rgb = np.clip(rgb, 0.0, 1.0)
    table = np.full((256, 4), 255, dtype=np.uint8)
    table[:, :3] = np.rint(rgb * 255.0).astype(np.uint8)
    return table


def _gray_table() -> ColorArray:
    table = np.full((256, 4), 255, dtype=np.uint8)
    table[:, :3] = np.arange(256, dtype=np.uint8)[:, None]
    return table


_COLORMAP_TABLES: Final[Mapping[str, ColorArray]] = {"turbo": _turbo_table(), "gray": _gray_table()}


def colormap_table(name: str) -> ColorArray:
    """The (256, 4) RGBA lookup table of a colormap (``turbo`` or ``gray``)."""
    table = _COLORMAP_TABLES.get(name)
    if table is None:
        raise ConversionError(f"unknown colormap {name!r} (choose one of {', '.join(COLORMAPS)})")
    return table


def colormap_colors(values: npt.NDArray[Any], colormap: str = DEFAULT_COLORMAP) -> ColorArray:
    """(N, 4) RGBA for scalar values, normalized over their own finite min..max.

    NaN and -inf take the low end of the map, +inf the high end. A degenerate range (constant values,
    a single point, nothing finite) takes the middle of the map: one flat colour that stays visible on a
    dark background, where the low end of turbo (near black) would not.
    """
    table = colormap_table(colormap)
    # float32 is plenty for 256 bins; float64 input stays float64 so that huge values do not overflow.
    work_type = np.float64 if np.asarray(values).dtype == np.float64 else np.float32
    scalars = np.asarray(values, dtype=work_type)
    if scalars.size == 0:
        return np.empty((0, 4), dtype=np.uint8)
    low, high = scalars.min(), scalars.max()
    if not (np.isfinite(low) and np.isfinite(high)):
        finite = np.isfinite(scalars)
        if not finite.any():
            return np.repeat(table[_FLAT_ENTRY : _FLAT_ENTRY + 1], scalars.shape[0], axis=0)
        low, high = scalars[finite].min(), scalars[finite].max()
        scalars = np.nan_to_num(scalars, nan=low, posinf=high, neginf=low)
    if not high > low:
        return np.repeat(table[_FLAT_ENTRY : _FLAT_ENTRY + 1], scalars.shape[0], axis=0)
    scale = 255.0 / float(high - low)
    index = (scalars - low) * scale
    index += 0.5  # round to the nearest table entry when truncating below
    np.clip(index, 0.0, 255.0, out=index)
    colors: ColorArray = table.take(index.astype(np.uint8), axis=0)  # take: far faster than table[index]
    return colors


def packed_color_words(packed: npt.NDArray[Any], with_alpha: bool) -> ColorWords:
    """PCL-packed colours (float32 or uint32 holding 0xAARRGGBB bits) as Rerun's ``Color`` words
    (0xRRGGBBAA): two passes over whole words, and the batcher hands them to Arrow as they are.

    Without alpha (the ``rgb`` field) the top byte is ignored, as PCL leaves it unset, and alpha is 255.
    """
    bits = packed.view(np.uint32) if packed.dtype.itemsize == 4 else packed.astype(np.uint32)
    words: ColorWords = bits << np.uint32(8)
    if with_alpha:
        words |= bits >> 24
    else:
        words |= 0xFF
    return words


def unpack_colors(packed: npt.NDArray[Any], with_alpha: bool) -> ColorArray:
    """PCL-packed colours (see :func:`packed_color_words`) as (N, 4) RGBA."""
    # 0xRRGGBBAA stored big-endian: its bytes are then R, G, B, A on any host.
    words = packed_color_words(packed, with_alpha)
    colors: ColorArray = words.astype(">u4", copy=False).view(np.uint8).reshape(-1, 4)
    return colors


class CloudColors(NamedTuple):
    """Per-point colours and the field they came from (None, None when the cloud has no colour field):
    (N, 4) RGBA, or ``Color`` words from :func:`cloud_color_words` for a packed field."""

    colors: ColorArray | ColorWords | None
    source: str | None


def channel_colors(channels: Sequence[npt.NDArray[Any]]) -> ColorArray:
    """(N, 4) RGBA from separate ``r``, ``g``, ``b`` (and ``a``) fields: integers as 0..255, floats
    as 0..1 when none is above 1 (else as 0..255); alpha 255 without an ``a`` field."""
    count = channels[0].shape[0]
    colors: ColorArray = np.full((count, 4), 255, dtype=np.uint8)
    for column, values in enumerate(channels):
        scaled = np.asarray(values, dtype=np.float64)
        if np.issubdtype(values.dtype, np.floating) and count and np.nanmax(scaled, initial=0.0) <= 1.0:
            scaled = scaled * 255.0
        colors[:, column] = np.clip(np.nan_to_num(np.rint(scaled)), 0, 255).astype(np.uint8)
    return colors


def _packed_color_field(specs: Mapping[str, PointFieldSpec]) -> str | None:
    """The cloud's packed ``rgb`` / ``rgba`` field, if it has one RViz would read."""
    for name in PACKED_COLOR_FIELDS:  # rgb before rgba, when a cloud has both
        spec = specs.get(name)
        if spec is not None and spec.count == 1 and spec.dtype.itemsize == 4:
            return name
    return None


def cloud_color_words(cloud: DecodedCloud, colormap: str = DEFAULT_COLORMAP) -> CloudColors:
    """:func:`cloud_colors`, with a packed field's colours made as Rerun's ``Color`` words directly
    (what the PointCloud2 converter writes; the batcher takes words and RGBA bytes alike)."""
    specs = {spec.name: spec for spec in cloud.specs}
    packed = _packed_color_field(specs)
    if packed is not None:
        return CloudColors(packed_color_words(cloud.fields[packed], with_alpha=packed == "rgba"), packed)
    return _unpacked_colors(cloud, specs, colormap)


def cloud_colors(cloud: DecodedCloud, colormap: str = DEFAULT_COLORMAP) -> CloudColors:
    """Colours as RViz picks them: a packed ``rgb`` / ``rgba`` field, else ``r`` / ``g`` / ``b`` fields,
    else ``intensity`` (or ``i``) through a colormap, else the range (distance from the sensor)."""
    specs = {spec.name: spec for spec in cloud.specs}
    packed = _packed_color_field(specs)
    if packed is not None:
        return CloudColors(unpack_colors(cloud.fields[packed], with_alpha=packed == "rgba"), packed)
    return _unpacked_colors(cloud, specs, colormap)


def _unpacked_colors(cloud: DecodedCloud, specs: Mapping[str, PointFieldSpec], colormap: str) -> CloudColors:
    """:func:`cloud_colors` for a cloud without a packed colour field."""
    channels = [specs.get(name) for name in (*CHANNEL_COLOR_FIELDS, "a")]
    if all(spec is not None and spec.count == 1 for spec in channels[:3]):
        present = [spec.name for spec in channels if spec is not None and spec.count == 1]
        return CloudColors(channel_colors([cloud.fields[name] for name in present]), "rgb channels")
    for name in INTENSITY_FIELDS:
        spec = specs.get(name)
        if spec is not None:
            values = cloud.fields[name] if spec.count == 1 else cloud.fields[f"{name}_0"]
            return CloudColors(colormap_colors(values, colormap), name)
    if cloud.positions is not None:
        distances = np.linalg.norm(cloud.positions.astype(np.float64, copy=False), axis=1)
        return CloudColors(colormap_colors(distances, colormap), "range")
    colormap_table(colormap)  # an unknown colormap is an error even when nothing needs it
    return CloudColors(None, None)
