"""The C extension's PointCloud2 pass against the numpy path it replaces, and its argument checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rerun_bridge.convert import _cloud_native
from rerun_bridge.convert.pointcloud import (
    FLOAT32,
    FLOAT64,
    INT16,
    UINT8,
    UINT32,
    DecodedCloud,
    PointFieldSpec,
    cloud_layout,
    decode_points,
    native_extension_built,
)

FieldDef = tuple[str, int, int, int]  # name, offset, datatype, count

# Floats a cloud may hold in x, y or z: the special values by their bits (NaNs with payloads and sign
# bits, infinities, negative zero, subnormals, the largest finite) and ordinary ones.
SPECIAL_BITS = [
    0x7FC00000,  # quiet NaN
    0xFFC00001,  # negative NaN with a payload
    0x7F800001,  # signalling NaN
    0x7F800000,  # +inf
    0xFF800000,  # -inf
    0x80000000,  # -0.0
    0x00000001,  # smallest subnormal
    0x7F7FFFFF,  # largest finite
    0xFF7FFFFF,  # most negative finite
]


def test_the_extension_is_built() -> None:
    """Setup builds it; without it the package still works, on numpy, which the CI must not test alone."""
    assert native_extension_built()


def _cloud_bytes(values: np.ndarray[Any, np.dtype[np.uint32]], point_step: int, x_offset: int) -> bytes:
    """Points of ``point_step`` bytes: filler bytes around x, y, z (as raw float32 bits) at ``x_offset``."""
    count = values.shape[0]
    records = np.arange(count * point_step, dtype=np.uint32).astype(np.uint8).reshape(count, point_step)
    records[:, x_offset : x_offset + 12] = values.astype("<u4").view(np.uint8).reshape(count, 12)
    return records.tobytes()


FIELD_TYPES = [(UINT8, 1), (INT16, 2), (UINT32, 4), (FLOAT32, 4), (FLOAT64, 8)]


@st.composite
def layouts(draw: st.DrawFn) -> tuple[list[FieldDef], int, int]:
    """x, y, z somewhere in a point of 12 to 48 bytes, the other bytes taken by fields of every size (some
    of several elements, some unaligned) or left as padding."""
    words = draw(st.integers(3, 12))
    point_step = 4 * words
    x_offset = 4 * draw(st.integers(0, words - 3))
    fields: list[FieldDef] = [("x", x_offset, FLOAT32, 1), ("y", x_offset + 4, FLOAT32, 1)]
    fields.append(("z", x_offset + 8, FLOAT32, 1))
    for start, stop in ((0, x_offset), (x_offset + 12, point_step)):
        offset = start
        while offset < stop:
            fitting = [(kind, size) for kind, size in FIELD_TYPES if offset + size <= stop]
            choice = draw(st.sampled_from([None, *fitting]))
            if choice is None:  # a byte of padding
                offset += 1
                continue
            kind, size = choice
            count = draw(st.integers(1, max(1, min(3, (stop - offset) // size))))
            fields.append((f"f{offset}", offset, kind, count))
            offset += size * count
    return fields, point_step, x_offset


@st.composite
def clouds(draw: st.DrawFn) -> tuple[bytes, list[FieldDef], int]:
    fields, point_step, x_offset = draw(layouts())
    count = draw(st.integers(0, 60))
    ordinary = st.floats(-1e6, 1e6, width=32).map(lambda v: int(np.float32(v).view(np.uint32)))
    bits = draw(
        st.lists(st.one_of(ordinary, st.sampled_from(SPECIAL_BITS)), min_size=3 * count, max_size=3 * count)
    )
    values = np.array(bits, dtype=np.uint32).reshape(count, 3)
    return _cloud_bytes(values, point_step, x_offset), fields, point_step


def _decode_both(data: bytes, fields: list[FieldDef], point_step: int) -> tuple[DecodedCloud, DecodedCloud]:
    specs, dtype = cloud_layout(tuple(fields), point_step, False)
    raw = np.frombuffer(data, dtype=np.uint8)
    return (
        decode_points(raw, specs, dtype, use_native=True),
        decode_points(raw, specs, dtype, use_native=False),
    )


def _xyz_tag(point_step: int, x_offset: int) -> list[FieldDef]:
    """x, y, z at ``x_offset`` and a uint32 ``tag`` before or after them."""
    fields: list[FieldDef] = [(axis, x_offset + 4 * i, FLOAT32, 1) for i, axis in enumerate("xyz")]
    return [*fields, ("tag", 0 if x_offset >= 4 else x_offset + 12, UINT32, 1)]


@settings(max_examples=300, deadline=None)
@given(clouds())
def test_same_points_as_numpy(cloud: tuple[bytes, list[FieldDef], int]) -> None:
    native, reference = _decode_both(*cloud)
    assert native.positions is not None
    assert reference.positions is not None
    assert native.positions.flags.c_contiguous
    np.testing.assert_array_equal(native.positions.view(np.uint32), reference.positions.view(np.uint32))
    assert native.num_points == reference.num_points
    assert native.fields.keys() == reference.fields.keys()
    for name, values in native.fields.items():
        assert values.dtype == reference.fields[name].dtype
        np.testing.assert_array_equal(values, reference.fields[name])


def test_drops_exactly_the_non_finite_points() -> None:
    finite = np.array([1.5, -0.0, 3e38], dtype=np.float32).view(np.uint32)
    values = np.array(
        [finite, [0x7FC00000, 0, 0], finite * 0, [0, 0, 0xFF800000], finite, [0, 0x7F800001, 0]],
        dtype=np.uint32,
    )
    native, _ = _decode_both(_cloud_bytes(values, 16, 4), _xyz_tag(16, 4), 16)
    assert native.positions is not None
    np.testing.assert_array_equal(native.positions.view(np.uint32), values[[0, 2, 4]])
    np.testing.assert_array_equal(native.fields["tag"], [0x03020100, 0x23222120, 0x43424140])


@pytest.mark.parametrize("where", ["first", "last", "all"])
def test_dropped_points_at_the_edges(where: str) -> None:
    values = np.zeros((5, 3), dtype=np.uint32)
    rows = {"first": [0], "last": [4], "all": list(range(5))}[where]
    values[rows, 1] = 0x7FC00000
    native, reference = _decode_both(_cloud_bytes(values, 16, 0), _xyz_tag(16, 0), 16)
    assert native.positions is not None
    assert reference.positions is not None
    assert native.positions.shape == (5 - len(rows), 3)
    assert native.num_points == reference.num_points == 5 - len(rows)
    np.testing.assert_array_equal(native.fields["tag"], reference.fields["tag"])


@pytest.mark.parametrize(
    ("point_step", "x_offset", "positions_room", "offsets", "sizes", "column_room", "message"),
    [
        (16, 8, 24, [], [], 0, "do not fit"),  # x, y, z would end past the point
        (16, -4, 24, [], [], 0, "do not fit"),
        (0, 0, 24, [], [], 0, "do not fit"),
        (16, 0, 20, [], [], 0, "positions buffer is smaller"),  # two points need 24 bytes of positions
        (16, 0, 24, [12], [4], 7, "field 0 is smaller"),
        (16, 0, 24, [14], [4], 8, "field 0 does not fit"),
        (16, 0, 24, [-1], [4], 8, "negative offset"),
        (16, 0, 24, [12], [-4], 8, "negative size"),
        (16, 0, 24, [12, 13], [1], 8, "differ in length"),
        (16, 0, 24, [12] * 65, [1] * 65, 2, "more than 64 fields"),
    ],
)
def test_refuses_what_does_not_fit(
    point_step: int,
    x_offset: int,
    positions_room: int,
    offsets: list[int],
    sizes: list[int],
    column_room: int,
    message: str,
) -> None:
    columns = [bytearray(column_room) for _ in offsets]
    with pytest.raises(ValueError, match=message):
        _cloud_native.gather_finite_points(
            bytes(32), point_step, x_offset, bytearray(positions_room), offsets, sizes, columns
        )


def test_refuses_read_only_outputs() -> None:
    with pytest.raises(TypeError):
        _cloud_native.gather_finite_points(bytes(16), 16, 0, bytes(12), [], [], [])
    with pytest.raises(BufferError, match="not writable"):
        _cloud_native.gather_finite_points(bytes(16), 16, 0, bytearray(12), [12], [4], [bytes(4)])
    with pytest.raises(TypeError, match="columns must be a sequence"):
        _cloud_native.gather_finite_points(bytes(16), 16, 0, bytearray(12), [12], [4], None)  # type: ignore[arg-type]


def test_more_fields_than_the_extension_takes_go_to_numpy() -> None:
    """A layout of 70 one-byte fields beside x, y, z is decoded all the same (by numpy)."""
    fields: list[FieldDef] = [(axis, 4 * i, FLOAT32, 1) for i, axis in enumerate("xyz")]
    fields += [(f"b{i}", 12 + i, UINT8, 1) for i in range(70)]
    point_step = 84
    values = np.array([[0, 0, 0], [0x7FC00000, 0, 0]], dtype=np.uint32)
    native, reference = _decode_both(_cloud_bytes(values, point_step, 0), fields, point_step)
    assert native.num_points == reference.num_points == 1
    np.testing.assert_array_equal(native.fields["b69"], reference.fields["b69"])


def test_points_inside_records_of_a_bigger_buffer() -> None:
    """A cloud cut from a bigger buffer (as decoding hands it over) reads only its own points."""
    values = np.arange(12, dtype=np.float32).reshape(4, 3).view(np.uint32)
    data = np.frombuffer(_cloud_bytes(values, 12, 0) + b"\xff" * 7, dtype=np.uint8)[:48]
    specs = tuple(PointFieldSpec(name, 4 * i, FLOAT32, 1) for i, name in enumerate("xyz"))
    _, dtype = cloud_layout(tuple((s.name, s.offset, s.datatype, s.count) for s in specs), 12, False)
    cloud = decode_points(data, specs, dtype, use_native=True)
    assert cloud.positions is not None
    np.testing.assert_array_equal(cloud.positions, np.arange(12, dtype=np.float32).reshape(4, 3))
