"""PointCloud2 decoding against hand-built buffers and a slow ``struct.unpack`` reference decoder."""

from __future__ import annotations

import math
import struct
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rerun_bridge.convert.pointcloud import (
    FLOAT32,
    FLOAT64,
    INT8,
    INT16,
    INT32,
    POINT_FIELD_DTYPES,
    UINT8,
    UINT16,
    UINT32,
    DecodedCloud,
    PointFieldSpec,
    cloud_colors,
    colormap_colors,
    colormap_table,
    decode_point_cloud,
    decode_points,
)
from rerun_bridge.errors import ConversionError

FieldDef = tuple[str, int, int, int]  # name, offset, datatype, count
XYZ: list[FieldDef] = [("x", 0, FLOAT32, 1), ("y", 4, FLOAT32, 1), ("z", 8, FLOAT32, 1)]
XYZ_INTENSITY: list[FieldDef] = [*XYZ, ("intensity", 12, FLOAT32, 1)]
STRUCT_CODES = {
    INT8: "b",
    UINT8: "B",
    INT16: "h",
    UINT16: "H",
    INT32: "i",
    UINT32: "I",
    FLOAT32: "f",
    FLOAT64: "d",
}


def records_dtype(fields: list[FieldDef], point_step: int, big_endian: bool = False) -> np.dtype[Any]:
    order: Literal["<", ">"] = ">" if big_endian else "<"
    formats: list[Any] = []
    for _name, _offset, datatype, count in fields:
        base = POINT_FIELD_DTYPES[datatype].newbyteorder(order)
        formats.append(base if count == 1 else (base, (count,)))
    return np.dtype(
        {
            "names": [f[0] for f in fields],
            "formats": formats,
            "offsets": [f[1] for f in fields],
            "itemsize": point_step,
        }
    )


def cloud_msg(
    fields: list[FieldDef],
    records: npt.NDArray[Any],
    width: int,
    height: int = 1,
    row_padding: int = 0,
    big_endian: bool = False,
    is_dense: bool = False,
) -> SimpleNamespace:
    """A PointCloud2 duck object; row padding is filled with 0xAB so that reading it would show."""
    point_step = records.dtype.itemsize
    row_bytes = width * point_step
    rows = np.full((height, row_bytes + row_padding), 0xAB, dtype=np.uint8)
    rows[:, :row_bytes] = records.view(np.uint8).reshape(height, row_bytes)
    return SimpleNamespace(
        header=SimpleNamespace(frame_id="lidar"),
        height=height,
        width=width,
        fields=[SimpleNamespace(name=n, offset=o, datatype=d, count=c) for n, o, d, c in fields],
        is_bigendian=big_endian,
        point_step=point_step,
        row_step=row_bytes + row_padding,
        data=rows.tobytes(),
        is_dense=is_dense,
    )


def xyz_intensity_cloud(points: npt.NDArray[np.float32], **kwargs: Any) -> SimpleNamespace:
    """A cloud of (N, 4) float32 rows x, y, z, intensity."""
    dtype = records_dtype(XYZ_INTENSITY, 16, kwargs.get("big_endian", False))
    records = np.zeros(points.shape[0], dtype=dtype)
    for column, (name, *_rest) in enumerate(XYZ_INTENSITY):
        records[name] = points[:, column]
    kwargs.setdefault("width", points.shape[0])
    return cloud_msg(XYZ_INTENSITY, records, **kwargs)


def test_xyz_and_intensity() -> None:
    points = np.array([[1, 2, 3, 10], [4, 5, 6, 20], [-1, -2, -3, 30]], dtype=np.float32)
    cloud = decode_point_cloud(xyz_intensity_cloud(points))
    assert cloud.positions is not None
    assert cloud.positions.dtype == np.float32
    np.testing.assert_array_equal(cloud.positions, points[:, :3])
    assert list(cloud.fields) == ["intensity"]
    np.testing.assert_array_equal(cloud.fields["intensity"], points[:, 3])
    assert cloud.num_points == 3


def test_organized_cloud_with_row_padding() -> None:
    height, width = 3, 4
    points = np.arange(height * width * 4, dtype=np.float32).reshape(-1, 4)
    msg = xyz_intensity_cloud(points, width=width, height=height, row_padding=7)
    assert msg.row_step == width * 16 + 7
    cloud = decode_point_cloud(msg)
    assert cloud.positions is not None
    np.testing.assert_array_equal(cloud.positions, points[:, :3])  # row-major, padding skipped
    np.testing.assert_array_equal(cloud.fields["intensity"], points[:, 3])


def test_nan_and_inf_points_dropped_with_their_fields() -> None:
    points = np.array(
        [
            [1, 1, 1, 1],
            [np.nan, 0, 0, 2],
            [2, 2, 2, 3],
            [0, 0, np.inf, 4],
            [0, -np.inf, 0, 5],
            [3, 3, 3, np.nan],
        ],
        dtype=np.float32,
    )
    cloud = decode_point_cloud(xyz_intensity_cloud(points))
    assert cloud.positions is not None
    np.testing.assert_array_equal(cloud.positions, [[1, 1, 1], [2, 2, 2], [3, 3, 3]])
    # A NaN intensity does not drop a point; the kept intensities follow their points.
    np.testing.assert_array_equal(cloud.fields["intensity"], [1, 3, np.nan])


def test_is_dense_is_verified_not_trusted() -> None:
    points = np.array([[1, 1, 1, 0], [np.nan, np.nan, np.nan, 0]], dtype=np.float32)
    cloud = decode_point_cloud(xyz_intensity_cloud(points, is_dense=True))
    assert cloud.positions is not None
    assert cloud.positions.shape == (1, 3)


def test_all_finite_cloud_is_not_copied_by_numpy() -> None:
    """numpy's positions and fields are views into the message's buffer; the C extension's are contiguous
    copies, made in the pass that checks the points (test_cloud_native.py)."""
    points = np.arange(40, dtype=np.float32).reshape(10, 4)
    dtype = records_dtype(XYZ_INTENSITY, 16)
    specs = tuple(PointFieldSpec(*field) for field in XYZ_INTENSITY)
    data = np.frombuffer(points.tobytes(), dtype=np.uint8)
    cloud = decode_points(data, specs, dtype, use_native=False)
    assert cloud.positions is not None
    np.testing.assert_array_equal(cloud.positions, points[:, :3])
    assert np.shares_memory(cloud.positions, data)
    assert np.shares_memory(cloud.fields["intensity"], data)


def test_mixed_field_types_and_generic_positions() -> None:
    """float64 x, y, z apart from each other, among fields of every other type."""
    fields: list[FieldDef] = [
        ("ring", 0, UINT16, 1),
        ("x", 2, FLOAT64, 1),
        ("tag", 10, INT8, 1),
        ("y", 11, FLOAT64, 1),
        ("flags", 19, UINT8, 1),
        ("z", 20, FLOAT64, 1),
        ("t", 28, INT32, 1),
        ("noise", 32, INT16, 1),
        ("id", 34, UINT32, 1),
        ("range", 38, FLOAT32, 1),
    ]
    dtype = records_dtype(fields, 42)
    records = np.zeros(3, dtype=dtype)
    records["x"] = [1.5, np.nan, -2.25]
    records["y"] = [2.0, 0.0, 1e300]  # beyond float32: inf once converted, so dropped
    records["z"] = [3.0, 0.0, 0.0]
    records["ring"] = [7, 8, 9]
    records["tag"] = [-5, 0, 1]
    records["flags"] = [255, 0, 1]
    records["t"] = [-100000, 0, 1]
    records["noise"] = [-300, 0, 1]
    records["id"] = [4_000_000_000, 0, 1]
    records["range"] = [0.5, 0, 1]
    cloud = decode_point_cloud(cloud_msg(fields, records, width=3))
    assert cloud.positions is not None
    np.testing.assert_array_equal(cloud.positions, [[1.5, 2.0, 3.0]])
    expected = {
        "ring": 7,
        "tag": -5,
        "flags": 255,
        "t": -100000,
        "noise": -300,
        "id": 4_000_000_000,
        "range": 0.5,
    }
    assert list(cloud.fields) == list(expected)
    for name, value in expected.items():
        assert cloud.fields[name].dtype == dtype[name].newbyteorder("=")
        assert cloud.fields[name].tolist() == [value]


def test_count_fields_become_sub_arrays_split_into_columns() -> None:
    fields: list[FieldDef] = list(XYZ)
    fields.append(("normal", 12, FLOAT32, 3))
    fields.append(("hist", 24, UINT8, 2))
    dtype = records_dtype(fields, 28)
    records = np.zeros(2, dtype=dtype)
    records["x"] = [1, 2]
    records["normal"] = [[0, 0, 1], [1, 0, 0]]
    records["hist"] = [[3, 4], [5, 6]]
    cloud = decode_point_cloud(cloud_msg(fields, records, width=2))
    assert list(cloud.fields) == ["normal_0", "normal_1", "normal_2", "hist_0", "hist_1"]
    np.testing.assert_array_equal(cloud.fields["normal_2"], [1, 0])
    np.testing.assert_array_equal(cloud.fields["hist_1"], [4, 6])
    np.testing.assert_array_equal(cloud.fields["normal_0"], [0, 1])


def test_point_step_with_padding_between_points() -> None:
    """PCL's PointXYZI: x, y, z, 4 bytes of padding, intensity, 12 more bytes: point_step 32."""
    fields: list[FieldDef] = list(XYZ)
    fields.append(("intensity", 16, FLOAT32, 1))
    dtype = records_dtype(fields, 32)
    raw = np.frombuffer(np.random.default_rng(1).bytes(32 * 5), dtype=np.uint8).copy()
    records = raw.view(dtype)  # padding keeps random bytes
    records["x"], records["y"], records["z"] = np.arange(5), np.arange(5) * 2, np.arange(5) * 3
    records["intensity"] = np.arange(5) + 0.5
    cloud = decode_point_cloud(cloud_msg(fields, records, width=5))
    assert cloud.positions is not None
    np.testing.assert_array_equal(cloud.positions[:, 2], np.arange(5) * 3)
    np.testing.assert_array_equal(cloud.fields["intensity"], np.arange(5) + 0.5)


@pytest.mark.parametrize("xyz_type", [FLOAT32, FLOAT64, INT16])
def test_big_endian_equals_little_endian(xyz_type: int) -> None:
    size = POINT_FIELD_DTYPES[xyz_type].itemsize
    fields: list[FieldDef] = [("x", 0, xyz_type, 1), ("y", size, xyz_type, 1), ("z", 2 * size, xyz_type, 1)]
    fields += [("intensity", 3 * size, UINT16, 1), ("t", 3 * size + 2, FLOAT64, 1)]
    point_step = 3 * size + 10
    values = {
        "x": [1, 0, 3],
        "y": [-2, 5, 300],
        "z": [7, 9, -1],
        "intensity": [1, 500, 65535],
        "t": [0.25, -1, 2],
    }
    decoded: list[DecodedCloud] = []
    for big_endian in (False, True):
        records = np.zeros(3, dtype=records_dtype(fields, point_step, big_endian))
        for name, column in values.items():
            records[name] = column
        decoded.append(decode_point_cloud(cloud_msg(fields, records, width=3, big_endian=big_endian)))
    little, big = decoded
    assert big.positions is not None
    assert little.positions is not None
    np.testing.assert_array_equal(big.positions, np.array([values["x"], values["y"], values["z"]]).T)
    np.testing.assert_array_equal(big.positions, little.positions)
    for name in ("intensity", "t"):
        assert big.fields[name].dtype.isnative
        np.testing.assert_array_equal(big.fields[name], values[name])


def test_big_endian_nan_points_dropped() -> None:
    points = np.array([[1, 2, 3, 4], [np.nan, 0, 0, 0]], dtype=np.float32)
    cloud = decode_point_cloud(xyz_intensity_cloud(points, big_endian=True))
    assert cloud.positions is not None
    np.testing.assert_array_equal(cloud.positions, [[1, 2, 3]])
    np.testing.assert_array_equal(cloud.fields["intensity"], [4])


def packed_color_cloud(
    name: str, datatype: int, packed: list[int], big_endian: bool = False
) -> SimpleNamespace:
    fields: list[FieldDef] = list(XYZ)
    fields.append((name, 12, datatype, 1))
    records = np.zeros(len(packed), dtype=records_dtype(fields, 16, big_endian))
    bits = np.array(packed, dtype=np.uint32)
    records[name] = bits.view(np.float32) if datatype == FLOAT32 else bits
    return cloud_msg(fields, records, width=len(packed), big_endian=big_endian)


@pytest.mark.parametrize("datatype", [FLOAT32, UINT32])
@pytest.mark.parametrize("big_endian", [False, True])
def test_packed_rgb_colors(datatype: int, big_endian: bool) -> None:
    # PCL leaves the top byte of ``rgb`` unset (here: garbage 0x7F): alpha must still be opaque.
    cloud = decode_point_cloud(
        packed_color_cloud("rgb", datatype, [0x00FF0000, 0x0000FF00, 0x7F102030], big_endian)
    )
    colors, source = cloud_colors(cloud)
    assert source == "rgb"
    assert colors is not None
    assert colors.dtype == np.uint8
    assert colors.tolist() == [[255, 0, 0, 255], [0, 255, 0, 255], [0x10, 0x20, 0x30, 255]]


def test_packed_rgba_colors_keep_alpha() -> None:
    cloud = decode_point_cloud(packed_color_cloud("rgba", UINT32, [0x80FF0000, 0xFF0000FF]))
    colors, source = cloud_colors(cloud)
    assert source == "rgba"
    assert colors is not None
    assert colors.tolist() == [[255, 0, 0, 0x80], [0, 0, 255, 255]]


def test_intensity_colormap_normalized_over_the_cloud() -> None:
    points = np.array([[0, 0, 0, 10], [1, 1, 1, 20], [2, 2, 2, 15], [np.nan, 0, 0, 1000]], dtype=np.float32)
    cloud = decode_point_cloud(xyz_intensity_cloud(points))
    turbo = colormap_table("turbo")
    colors, source = cloud_colors(cloud)
    assert source == "intensity"
    assert colors is not None
    # The dropped point's 1000 does not count: the range is 10..20.
    assert colors.tolist() == [turbo[0].tolist(), turbo[255].tolist(), turbo[128].tolist()]
    gray, _ = cloud_colors(cloud, "gray")
    assert gray is not None
    assert gray.tolist() == [[0, 0, 0, 255], [255, 255, 255, 255], [128, 128, 128, 255]]


def test_field_named_i_is_intensity() -> None:
    fields: list[FieldDef] = [
        ("x", 0, FLOAT32, 1),
        ("y", 4, FLOAT32, 1),
        ("z", 8, FLOAT32, 1),
        ("i", 12, UINT8, 1),
    ]
    records = np.zeros(2, dtype=records_dtype(fields, 13))
    records["i"] = [0, 200]
    colors, source = cloud_colors(decode_point_cloud(cloud_msg(fields, records, width=2)), "gray")
    assert source == "i"
    assert colors is not None
    assert colors[:, 0].tolist() == [0, 255]


def test_no_colour_field_and_unknown_colormap() -> None:
    fields: list[FieldDef] = list(XYZ)
    cloud = decode_point_cloud(cloud_msg(fields, np.zeros(2, dtype=records_dtype(fields, 12)), width=2))
    colors, source = cloud_colors(cloud)
    assert source == "range"  # no colour field: coloured by the distance from the sensor
    assert colors is not None
    assert colors.tolist() == [colormap_table("turbo")[128].tolist()] * 2  # all at 0 m: one flat colour
    with pytest.raises(ConversionError, match="colormap"):
        cloud_colors(cloud, "viridis")


def test_colormap_edge_cases() -> None:
    turbo = colormap_table("turbo")
    # A degenerate range takes the middle of the map: visible, where the low end is near black.
    assert colormap_colors(np.array([5.0, 5.0])).tolist() == [turbo[128].tolist()] * 2  # constant
    assert colormap_colors(np.array([7.0])).tolist() == [turbo[128].tolist()]  # a single point
    assert colormap_colors(np.array([np.nan, np.nan])).tolist() == [turbo[128].tolist()] * 2
    assert int(turbo[128, :3].max()) > 150
    with_inf = colormap_colors(np.array([0.0, np.inf, -np.inf, np.nan, 1.0]), "gray")[:, 0].tolist()
    assert with_inf == [0, 255, 0, 0, 255]
    assert colormap_colors(np.array([], dtype=np.float32)).shape == (0, 4)


def test_turbo_table_runs_blue_green_red() -> None:
    turbo = colormap_table("turbo").astype(int)
    assert turbo.shape == (256, 4)
    assert (turbo[:, 3] == 255).all()
    assert turbo[0, :3].max() < 60  # dark at the low end
    assert turbo[32, 2] > max(turbo[32, 0], turbo[32, 1])  # then blue
    assert turbo[128, 1] > max(turbo[128, 0], turbo[128, 2])  # green in the middle
    assert turbo[255, 0] > max(turbo[255, 1], turbo[255, 2])  # dark red at the high end
    # The table is the published polynomial fit, evaluated here as its GLSL reference writes it.
    red4, red2 = (0.13572138, 4.61539260, -42.66032258, 132.13108234), (-152.94239396, 59.28637943)
    green4, green2 = (0.09140261, 2.19418839, 4.84296658, -14.18503333), (4.27729857, 2.82956604)
    blue4, blue2 = (0.10667330, 12.64194608, -60.58204836, 110.36276771), (-89.90310912, 27.34824973)
    for index in (0, 77, 128, 200, 255):
        x = index / 255
        v4, v2 = (1.0, x, x * x, x**3), (x**4, x**5)
        expected = [
            round(
                255
                * min(
                    max(sum(a * b for a, b in zip(v4, c4, strict=True)) + v2[0] * c2[0] + v2[1] * c2[1], 0), 1
                )
            )
            for c4, c2 in ((red4, red2), (green4, green2), (blue4, blue2))
        ]
        assert turbo[index, :3].tolist() == expected


def test_empty_cloud() -> None:
    cloud = decode_point_cloud(xyz_intensity_cloud(np.zeros((0, 4), dtype=np.float32)))
    assert cloud.positions is not None
    assert cloud.positions.shape == (0, 3)
    assert cloud.fields["intensity"].shape == (0,)


def test_cloud_without_xyz_keeps_its_fields() -> None:
    fields: list[FieldDef] = [("range", 0, FLOAT32, 1)]
    records = np.array([1.0, 2.0], dtype=np.float32).view(records_dtype(fields, 4))
    cloud = decode_point_cloud(cloud_msg(fields, records, width=2))
    assert cloud.positions is None
    np.testing.assert_array_equal(cloud.fields["range"], [1, 2])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fields": [("x", 0, FLOAT32, 1), ("y", 4, FLOAT32, 1), ("z", 14, FLOAT32, 1)]}, "past point_step"),
        ({"fields": [("x", 0, FLOAT32, 1), ("x", 4, FLOAT32, 1)]}, "appears twice"),
        ({"fields": [("x", 0, 9, 1)]}, "unknown datatype 9"),
        ({"fields": [("x", 0, 0, 1)]}, "unknown datatype 0"),
        ({"fields": [("", 0, FLOAT32, 1)]}, "empty name"),
        ({"data": b"\0" * 31}, "needs? 32|need 32"),
        ({"row_step": 8, "height": 2, "width": 1}, "row_step"),
        ({"point_step": 0, "fields": []}, "point_step 0"),
    ],
)
def test_inconsistent_layouts_raise(change: dict[str, Any], message: str) -> None:
    msg = xyz_intensity_cloud(np.zeros((2, 4), dtype=np.float32))
    msg.point_step = 12 if "fields" in change else msg.point_step
    for key, value in change.items():
        if key == "fields":
            msg.fields = [SimpleNamespace(name=n, offset=o, datatype=d, count=c) for n, o, d, c in value]
        else:
            setattr(msg, key, value)
    with pytest.raises(ConversionError, match=message):
        decode_point_cloud(msg)


def test_count_zero_is_read_as_one() -> None:
    msg = xyz_intensity_cloud(np.array([[1, 2, 3, 4]], dtype=np.float32))
    msg.fields[3].count = 0
    cloud = decode_point_cloud(msg)
    np.testing.assert_array_equal(cloud.fields["intensity"], [4])


def test_rosbags_and_array_buffers() -> None:
    """rosbags gives a numpy uint8 array, rclpy an ``array.array``; both decode in place."""
    import array

    points = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.float32)
    msg = xyz_intensity_cloud(points)
    for data in (np.frombuffer(msg.data, dtype=np.uint8), array.array("B", msg.data), list(msg.data)):
        msg.data = data
        cloud = decode_point_cloud(msg)
        assert cloud.positions is not None
        np.testing.assert_array_equal(cloud.positions, points[:, :3])


# ---- property test against a slow reference ------------------------------------------------------------


def reference_decode(msg: SimpleNamespace) -> tuple[list[list[float]], dict[str, list[float]]]:
    """Point by point with ``struct.unpack_from``: kept positions and every other field's kept values."""
    prefix = ">" if msg.is_bigendian else "<"
    data = bytes(msg.data)
    positions: list[list[float]] = []
    columns: dict[str, list[float]] = {}
    for row in range(msg.height):
        for col in range(msg.width):
            base = row * msg.row_step + col * msg.point_step
            point: dict[str, list[float]] = {}
            for field in msg.fields:
                code = prefix + STRUCT_CODES[field.datatype]
                size = struct.calcsize(code)
                point[field.name] = [
                    struct.unpack_from(code, data, base + field.offset + k * size)[0]
                    for k in range(field.count)
                ]
            with np.errstate(over="ignore"):
                xyz = [float(np.float32(point[axis][0])) for axis in "xyz"]
            if not all(math.isfinite(v) for v in xyz):
                continue
            positions.append(xyz)
            for field in msg.fields:
                if field.name in "xyz":
                    continue
                names = (
                    [field.name] if field.count == 1 else [f"{field.name}_{k}" for k in range(field.count)]
                )
                for name, value in zip(names, point[field.name], strict=True):
                    columns.setdefault(name, []).append(value)
    return positions, columns


@st.composite
def random_clouds(draw: st.DrawFn) -> SimpleNamespace:
    big_endian = draw(st.booleans())
    packed_xyz = draw(st.booleans())  # the fast path: float32 x, y, z side by side
    datatypes = st.sampled_from(sorted(STRUCT_CODES))
    extras = draw(st.lists(st.tuples(datatypes, st.integers(1, 3)), max_size=4))
    layout: list[tuple[str, int, int]] = [
        (f"f{i}", datatype, count) for i, (datatype, count) in enumerate(extras)
    ]
    offset = 0
    fields: list[FieldDef] = []
    if packed_xyz:
        fields = [("x", 0, FLOAT32, 1), ("y", 4, FLOAT32, 1), ("z", 8, FLOAT32, 1)]
        offset = 12
    else:
        layout += [(axis, draw(datatypes), 1) for axis in "xyz"]
        layout = draw(st.permutations(layout))
    for name, datatype, count in layout:
        offset += draw(st.integers(0, 3))  # gaps, and unaligned fields
        fields.append((name, offset, datatype, count))
        offset += POINT_FIELD_DTYPES[datatype].itemsize * count
    point_step = offset + draw(st.integers(0, 5))
    width, height = draw(st.integers(0, 6)), draw(st.integers(1, 4))
    row_padding = draw(st.integers(0, 6)) if height > 1 else 0
    row_step = width * point_step + row_padding
    data = bytearray(draw(st.binary(min_size=height * row_step, max_size=height * row_step)))
    x_field = next(f for f in fields if f[0] == "x")
    if x_field[2] in (FLOAT32, FLOAT64) and width:
        # Random bytes are rarely NaN: plant some.
        nan = struct.pack((">" if big_endian else "<") + STRUCT_CODES[x_field[2]], math.nan)
        for index in draw(st.sets(st.integers(0, width * height - 1), max_size=3)):
            start = (index // width) * row_step + (index % width) * point_step + x_field[1]
            data[start : start + len(nan)] = nan
    return SimpleNamespace(
        height=height,
        width=width,
        fields=[SimpleNamespace(name=n, offset=o, datatype=d, count=c) for n, o, d, c in fields],
        is_bigendian=big_endian,
        point_step=point_step,
        row_step=row_step,
        data=bytes(data),
        is_dense=draw(st.booleans()),
    )


@settings(max_examples=50, deadline=None)
@given(random_clouds())
def test_decoder_matches_struct_reference(msg: SimpleNamespace) -> None:
    positions, columns = reference_decode(msg)
    cloud = decode_point_cloud(msg)
    assert cloud.positions is not None
    np.testing.assert_array_equal(cloud.positions, np.array(positions, dtype=np.float32).reshape(-1, 3))
    assert set(cloud.fields) == {
        name
        for f in msg.fields
        if f.name not in "xyz"
        for name in ([f.name] if f.count == 1 else [f"{f.name}_{k}" for k in range(f.count)])
    }
    for name, values in cloud.fields.items():
        assert values.dtype.isnative
        np.testing.assert_array_equal(values, np.array(columns.get(name, []), dtype=values.dtype))


def test_separate_colour_channels() -> None:
    """``r``, ``g``, ``b`` fields as bytes (0..255) or floats (0..1) colour the points as they are."""
    byte_fields = [*XYZ, ("r", 12, UINT8, 1), ("g", 13, UINT8, 1), ("b", 14, UINT8, 1)]
    records = np.zeros(2, dtype=records_dtype(byte_fields, 16))
    records["r"], records["g"], records["b"] = [255, 0], [0, 128], [10, 255]
    colors, source = cloud_colors(decode_point_cloud(cloud_msg(byte_fields, records, width=2)))
    assert source == "rgb channels"
    assert colors is not None
    assert colors.tolist() == [[255, 0, 10, 255], [0, 128, 255, 255]]
    float_fields = [*XYZ, ("r", 12, FLOAT32, 1), ("g", 16, FLOAT32, 1), ("b", 20, FLOAT32, 1)]
    records = np.zeros(1, dtype=records_dtype(float_fields, 24))
    records["r"], records["g"], records["b"] = [1.0], [0.5], [0.0]
    colors, _ = cloud_colors(decode_point_cloud(cloud_msg(float_fields, records, width=1)))
    assert colors is not None
    assert colors.tolist() == [[255, 128, 0, 255]]
