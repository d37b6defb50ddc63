"""Hand-written CDR decoders for the few high-volume types, several times faster than rosbags' generic ones.

rosbags builds one dataclass per nested message through generated code, which made decoding a sixth of a
conversion. For the types that dominate real recordings (point clouds, images, IMU, TF, and marker arrays of
thousands of markers: rosbags takes over 100 µs a marker) this module reads
the CDR payload directly: one ``struct`` call per fixed block, ``numpy.frombuffer`` views for arrays, and
light objects with the same field names and values as rosbags' (converters read fields by duck typing).

A fast decoder is used only when the recording's definition of the type has exactly the standard layout
(see :func:`fast_decoder`). Anything unexpected in a message (truncation, a bad string, trailing bytes)
raises :class:`MalformedCdrError`; the caller then hands the message to the full decoder, so malformed input
fails, or decodes, exactly as it did without the fast path.
"""

from __future__ import annotations

import functools
import struct
import sys
from collections.abc import Callable
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from rerun_bridge.cdr.marker_scan import MarkerColumns, scan_marker_array

FastDecoder = Callable[[bytes | memoryview], Any]

_NATIVE_ORDER: Final = "<" if sys.byteorder == "little" else ">"
#: The 4-byte encapsulation header of plain CDR: representation id, then two option bytes.
_ENCAPSULATION_ORDER: Final = {b"\x00\x01": "<", b"\x00\x00": ">"}


#: NamedTuple construction without its Python-level ``__new__`` (a third of TF decoding went there).
_new = tuple.__new__


class MalformedCdrError(ValueError):
    """The payload does not fit the type's layout (the full decoder gets the final word)."""


# ---- the decoded messages: rosbags' field names, light objects --------------------------------------------


class Time(NamedTuple):
    sec: int
    nanosec: int


class Header(NamedTuple):
    stamp: Time
    frame_id: str


class Vector3(NamedTuple):
    x: float
    y: float
    z: float


class Quaternion(NamedTuple):
    x: float
    y: float
    z: float
    w: float


class Transform(NamedTuple):
    translation: Vector3
    rotation: Quaternion


class TransformStamped(NamedTuple):
    header: Header
    child_frame_id: str
    transform: Transform


class TFMessage(NamedTuple):
    transforms: list[TransformStamped]


class PointField:
    """``sensor_msgs/PointField`` (a class, not a NamedTuple: tuples already have a ``count`` method)."""

    __slots__ = ("count", "datatype", "name", "offset")
    INT8, UINT8, INT16, UINT16, INT32, UINT32, FLOAT32, FLOAT64 = range(1, 9)

    def __init__(self, name: str, offset: int, datatype: int, count: int) -> None:
        self.name = name
        self.offset = offset
        self.datatype = datatype
        self.count = count


class PointCloud2(NamedTuple):
    header: Header
    height: int
    width: int
    fields: list[PointField]
    is_bigendian: bool
    point_step: int
    row_step: int
    data: npt.NDArray[np.uint8]
    is_dense: bool


class Image(NamedTuple):
    header: Header
    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: npt.NDArray[np.uint8]


class Imu(NamedTuple):
    header: Header
    orientation: Quaternion
    orientation_covariance: npt.NDArray[np.float64]
    angular_velocity: Vector3
    angular_velocity_covariance: npt.NDArray[np.float64]
    linear_acceleration: Vector3
    linear_acceleration_covariance: npt.NDArray[np.float64]


class Point(NamedTuple):
    x: float
    y: float
    z: float


class Pose(NamedTuple):
    position: Point
    orientation: Quaternion


class ColorRGBA(NamedTuple):
    r: float
    g: float
    b: float
    a: float


class Duration(NamedTuple):
    sec: int
    nanosec: int


class CompressedImage(NamedTuple):
    header: Header
    format: str
    data: npt.NDArray[np.uint8]


class UVCoordinate(NamedTuple):
    u: float
    v: float


class MeshFile(NamedTuple):
    filename: str
    data: npt.NDArray[np.uint8]


class Marker(NamedTuple):
    header: Header
    ns: str
    id: int
    type: int
    action: int
    pose: Pose
    scale: Vector3
    color: ColorRGBA
    lifetime: Duration
    frame_locked: bool
    points: list[Point]
    colors: list[ColorRGBA]
    texture_resource: str
    texture: CompressedImage
    uv_coordinates: list[UVCoordinate]
    text: str
    mesh_resource: str
    mesh_file: MeshFile
    mesh_use_embedded_materials: bool


class MarkerArray(NamedTuple):
    markers: list[Marker]


class ScannedMarkerArray:
    """A MarkerArray whose markers were found as columns (:mod:`rerun_bridge.cdr.marker_scan`): the
    converter reads those; ``markers`` is read marker by marker only when something asks for it."""

    __slots__ = ("_markers", "_read", "columns")

    def __init__(self, columns: MarkerColumns, read: Callable[[], list[Marker]]) -> None:
        self.columns = columns
        self._read = read
        self._markers: list[Marker] | None = None

    @property
    def markers(self) -> list[Marker]:
        if self._markers is None:
            self._markers = self._read()
        return self._markers

    @classmethod
    def get_fields_and_field_types(cls) -> dict[str, str]:
        """Its one field, as rclpy messages list theirs (for code that walks any message's fields)."""
        return {"markers": "sequence<visualization_msgs/Marker>"}


# ---- the standard layouts ---------------------------------------------------------------------------------

# The definitions the decoders below are written for (ROS 2, unchanged from Foxy to Kilted).
_STANDARD_MSGS: Final = {
    "builtin_interfaces/msg/Time": "int32 sec\nuint32 nanosec\n",
    "std_msgs/msg/Header": "builtin_interfaces/Time stamp\nstring frame_id\n",
    "geometry_msgs/msg/Vector3": "float64 x\nfloat64 y\nfloat64 z\n",
    "geometry_msgs/msg/Quaternion": "float64 x\nfloat64 y\nfloat64 z\nfloat64 w\n",
    "geometry_msgs/msg/Transform": "geometry_msgs/Vector3 translation\ngeometry_msgs/Quaternion rotation\n",
    "geometry_msgs/msg/TransformStamped": (
        "std_msgs/Header header\nstring child_frame_id\ngeometry_msgs/Transform transform\n"
    ),
    "tf2_msgs/msg/TFMessage": "geometry_msgs/TransformStamped[] transforms\n",
    "sensor_msgs/msg/PointField": "string name\nuint32 offset\nuint8 datatype\nuint32 count\n",
    "sensor_msgs/msg/PointCloud2": (
        "std_msgs/Header header\nuint32 height\nuint32 width\nsensor_msgs/PointField[] fields\n"
        "bool is_bigendian\nuint32 point_step\nuint32 row_step\nuint8[] data\nbool is_dense\n"
    ),
    "sensor_msgs/msg/Image": (
        "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\nuint8 is_bigendian\n"
        "uint32 step\nuint8[] data\n"
    ),
    "sensor_msgs/msg/Imu": (
        "std_msgs/Header header\ngeometry_msgs/Quaternion orientation\nfloat64[9] orientation_covariance\n"
        "geometry_msgs/Vector3 angular_velocity\nfloat64[9] angular_velocity_covariance\n"
        "geometry_msgs/Vector3 linear_acceleration\nfloat64[9] linear_acceleration_covariance\n"
    ),
    # Markers as Jazzy and later define them (Humble's lack the texture and mesh_file fields: no fast path).
    "builtin_interfaces/msg/Duration": "int32 sec\nuint32 nanosec\n",
    "geometry_msgs/msg/Point": "float64 x\nfloat64 y\nfloat64 z\n",
    "geometry_msgs/msg/Pose": "geometry_msgs/Point position\ngeometry_msgs/Quaternion orientation\n",
    "std_msgs/msg/ColorRGBA": "float32 r\nfloat32 g\nfloat32 b\nfloat32 a\n",
    "sensor_msgs/msg/CompressedImage": "std_msgs/Header header\nstring format\nuint8[] data\n",
    "visualization_msgs/msg/UVCoordinate": "float32 u\nfloat32 v\n",
    "visualization_msgs/msg/MeshFile": "string filename\nuint8[] data\n",
    "visualization_msgs/msg/Marker": (
        "std_msgs/Header header\nstring ns\nint32 id\nint32 type\nint32 action\ngeometry_msgs/Pose pose\n"
        "geometry_msgs/Vector3 scale\nstd_msgs/ColorRGBA color\nbuiltin_interfaces/Duration lifetime\n"
        "bool frame_locked\ngeometry_msgs/Point[] points\nstd_msgs/ColorRGBA[] colors\n"
        "string texture_resource\nsensor_msgs/CompressedImage texture\n"
        "visualization_msgs/UVCoordinate[] uv_coordinates\nstring text\nstring mesh_resource\n"
        "visualization_msgs/MeshFile mesh_file\nbool mesh_use_embedded_materials\n"
    ),
    "visualization_msgs/msg/MarkerArray": "visualization_msgs/Marker[] markers\n",
}


@functools.cache
def _standard_store() -> Typestore:
    store = get_typestore(Stores.EMPTY)
    types: dict[str, Any] = {}
    for name, text in _STANDARD_MSGS.items():
        types.update(get_types_from_msg(text, name))
    store.register(types)
    return store


def layout_signature(store: Typestore, type_name: str) -> tuple[Any, ...]:
    """The wire layout of a type: field names and types, nested types expanded (constants ignored)."""
    _constants, fields = store.fielddefs[type_name]
    return tuple((name, _node_signature(store, desc)) for name, desc in fields)


def _node_signature(store: Typestore, desc: Any) -> Any:
    kind = desc[0]
    if kind == Nodetype.NAME:
        return layout_signature(store, desc[1])
    if kind == Nodetype.BASE:
        return desc[1][0]  # bounded strings have the same wire layout as plain ones
    element, length = desc[1]
    return (int(kind), _node_signature(store, element), length if kind == Nodetype.ARRAY else 0)


# ---- decoding ---------------------------------------------------------------------------------------------


class _Reader:
    """The struct unpackers of one byte order, and the decoders built on them."""

    def __init__(self, order: str, max_sequence: int) -> None:
        self.max_sequence = max_sequence
        self.swap = order != _NATIVE_ORDER
        self.u32 = struct.Struct(order + "I").unpack_from
        self.two_u32 = struct.Struct(order + "II").unpack_from
        self.time = struct.Struct(order + "iI").unpack_from
        self.point_field_tail = struct.Struct(order + "IB3xI").unpack_from  # offset, datatype, count
        self.seven_f64 = struct.Struct(order + "7d").unpack_from
        self.four_f64 = struct.Struct(order + "4d").unpack_from
        self.three_f64 = struct.Struct(order + "3d").unpack_from
        self.order = order
        self.three_i32 = struct.Struct(order + "3i").unpack_from
        self.pose_and_scale = struct.Struct(order + "10d").unpack_from
        self.color_and_duration = struct.Struct(order + "4fiI").unpack_from

    def string(self, buf: memoryview, pos: int) -> tuple[str, int]:
        pos = (pos + 3) & -4
        (length,) = self.u32(buf, pos)
        end = pos + 4 + length
        if length < 1 or end > len(buf) or buf[end - 1] != 0:
            raise MalformedCdrError(f"invalid string of length {length} at offset {pos}")
        return str(buf[pos + 4 : end - 1], "utf-8"), end

    def sequence_size(self, buf: memoryview, pos: int, minimum: int) -> tuple[int, int]:
        """A sequence's element count (at a 4-aligned ``pos``) and the position after it."""
        (size,) = self.u32(buf, pos)
        pos += 4
        if pos + size * minimum > len(buf) or size > self.max_sequence:
            raise MalformedCdrError(f"invalid sequence length {size} at offset {pos}")
        return size, pos

    def header(self, buf: memoryview, pos: int) -> tuple[Header, int]:
        pos = (pos + 3) & -4
        sec, nanosec = self.time(buf, pos)
        frame_id, pos = self.string(buf, pos + 8)
        return _new(Header, (_new(Time, (sec, nanosec)), frame_id)), pos

    def bytes_field(self, buf: memoryview, pos: int) -> tuple[npt.NDArray[np.uint8], int]:
        """A ``uint8[]`` as a view of the payload (rosbags returns a byte-swapped copy for big-endian
        CDR, which for single bytes holds the same values)."""
        size, pos = self.sequence_size(buf, (pos + 3) & -4, 1)
        return np.frombuffer(buf, dtype=np.uint8, count=size, offset=pos), pos + size

    def float64_array(self, buf: memoryview, pos: int, count: int) -> npt.NDArray[np.float64]:
        values = np.frombuffer(buf, dtype=np.float64, count=count, offset=pos)
        return values.byteswap() if self.swap else values

    def point_cloud2(self, buf: memoryview) -> tuple[PointCloud2, int]:
        header, pos = self.header(buf, 0)
        pos = (pos + 3) & -4
        height, width = self.two_u32(buf, pos)
        count, pos = self.sequence_size(buf, pos + 8, 1)
        fields = []
        for _ in range(count):
            name, pos = self.string(buf, pos)
            pos = (pos + 3) & -4
            offset, datatype, field_count = self.point_field_tail(buf, pos)
            fields.append(PointField(name, offset, datatype, field_count))
            pos += 12
        is_bigendian = buf[pos] != 0
        pos = (pos + 4) & -4
        point_step, row_step = self.two_u32(buf, pos)
        data, pos = self.bytes_field(buf, pos + 8)
        is_dense = buf[pos] != 0
        message = PointCloud2(
            header, height, width, fields, is_bigendian, point_step, row_step, data, is_dense
        )
        return message, pos + 1

    def image(self, buf: memoryview) -> tuple[Image, int]:
        header, pos = self.header(buf, 0)
        pos = (pos + 3) & -4
        height, width = self.two_u32(buf, pos)
        encoding, pos = self.string(buf, pos + 8)
        is_bigendian = buf[pos]
        pos = (pos + 4) & -4
        (step,) = self.u32(buf, pos)
        data, pos = self.bytes_field(buf, pos + 4)
        return Image(header, height, width, encoding, is_bigendian, step, data), pos

    def imu(self, buf: memoryview) -> tuple[Imu, int]:
        header, pos = self.header(buf, 0)
        pos = (pos + 7) & -8
        orientation = _new(Quaternion, self.four_f64(buf, pos))
        orientation_covariance = self.float64_array(buf, pos + 32, 9)
        angular_velocity = _new(Vector3, self.three_f64(buf, pos + 104))
        angular_velocity_covariance = self.float64_array(buf, pos + 128, 9)
        linear_acceleration = _new(Vector3, self.three_f64(buf, pos + 200))
        linear_acceleration_covariance = self.float64_array(buf, pos + 224, 9)
        message = Imu(
            header,
            orientation,
            orientation_covariance,
            angular_velocity,
            angular_velocity_covariance,
            linear_acceleration,
            linear_acceleration_covariance,
        )
        return message, pos + 296

    def tf_message(self, buf: memoryview) -> tuple[TFMessage, int]:
        count, pos = self.sequence_size(buf, 0, 1)
        transforms = []
        for _ in range(count):
            header, pos = self.header(buf, pos)
            child, pos = self.string(buf, pos)
            pos = (pos + 7) & -8
            values = self.seven_f64(buf, pos)
            pos += 56
            transform = _new(Transform, (_new(Vector3, values[:3]), _new(Quaternion, values[3:])))
            transforms.append(_new(TransformStamped, (header, child, transform)))
        return TFMessage(transforms), pos

    def marker_array(self, buf: memoryview) -> tuple[MarkerArray, int]:
        count, pos = self.sequence_size(buf, 0, 1)
        markers = []
        for _ in range(count):
            marker, pos = self.marker(buf, pos)
            markers.append(marker)
        return MarkerArray(markers), pos

    def scanned_marker_array(self, buf: memoryview) -> tuple[MarkerArray | ScannedMarkerArray, int]:
        """The array as columns when the scan reads it (little-endian, one frame), else marker by marker."""
        if self.order == "<":
            columns = scan_marker_array(buf, self.max_sequence, lambda pos: self.marker(buf, pos))
            if columns is not None:
                return ScannedMarkerArray(columns, lambda: self.marker_array(buf)[0].markers), len(buf)
        return self.marker_array(buf)

    def marker(self, buf: memoryview, pos: int) -> tuple[Marker, int]:
        header, pos = self.header(buf, pos)
        ns, pos = self.string(buf, pos)
        pos = (pos + 3) & -4
        marker_id, kind, action = self.three_i32(buf, pos)
        pos = (pos + 12 + 7) & -8
        values = self.pose_and_scale(buf, pos)
        pose = _new(Pose, (_new(Point, values[:3]), _new(Quaternion, values[3:7])))
        scale = _new(Vector3, values[7:])
        red, green, blue, alpha, sec, nanosec = self.color_and_duration(buf, pos + 80)
        color = _new(ColorRGBA, (red, green, blue, alpha))
        frame_locked = buf[pos + 104] != 0
        points, pos = self.float_records(buf, pos + 105, "d", 3, Point)
        colors, pos = self.float_records(buf, pos, "f", 4, ColorRGBA)
        texture_resource, pos = self.string(buf, pos)
        texture_header, pos = self.header(buf, pos)
        texture_format, pos = self.string(buf, pos)
        texture_data, pos = self.bytes_field(buf, pos)
        texture = _new(CompressedImage, (texture_header, texture_format, texture_data))
        uv_coordinates, pos = self.float_records(buf, pos, "f", 2, UVCoordinate)
        text, pos = self.string(buf, pos)
        mesh_resource, pos = self.string(buf, pos)
        mesh_filename, pos = self.string(buf, pos)
        mesh_data, pos = self.bytes_field(buf, pos)
        embedded = buf[pos] != 0
        fields = (header, ns, marker_id, kind, action, pose, scale, color, _new(Duration, (sec, nanosec)))
        rest = (frame_locked, points, colors, texture_resource, texture, uv_coordinates, text, mesh_resource)
        return _new(Marker, (*fields, *rest, _new(MeshFile, (mesh_filename, mesh_data)), embedded)), pos + 1

    def float_records(
        self, buf: memoryview, pos: int, code: str, width: int, record: type[tuple[Any, ...]]
    ) -> tuple[list[Any], int]:
        """A sequence of records of ``width`` floats (``code``: d or f), each as ``record``."""
        item_size = 8 if code == "d" else 4
        size, pos = self.sequence_size(buf, (pos + 3) & -4, width * item_size)
        if not size:
            return [], pos
        if code == "d":
            pos = (pos + 7) & -8
        values = struct.unpack_from(f"{self.order}{size * width}{code}", buf, pos)
        items = [_new(record, values[index : index + width]) for index in range(0, size * width, width)]
        return items, pos + size * width * item_size


_DECODERS: Final[dict[str, Callable[[_Reader, memoryview], tuple[Any, int]]]] = {
    "sensor_msgs/msg/PointCloud2": _Reader.point_cloud2,
    "sensor_msgs/msg/Image": _Reader.image,
    "sensor_msgs/msg/Imu": _Reader.imu,
    "tf2_msgs/msg/TFMessage": _Reader.tf_message,
    "visualization_msgs/msg/MarkerArray": _Reader.scanned_marker_array,
}

FAST_TYPES: Final = frozenset(_DECODERS)


def fast_decoder(store: Typestore, type_name: str) -> FastDecoder | None:
    """A fast decoder for ``type_name`` as ``store`` defines it; None when there is none for the type or
    the store's layout differs from the standard one (a custom or drifted definition)."""
    decode = _DECODERS.get(type_name)
    if decode is None or type_name not in store.fielddefs:
        return None
    try:
        matches = layout_signature(store, type_name) == layout_signature(_standard_store(), type_name)
    except KeyError:  # a nested type the store does not define
        return None
    if not matches:
        return None
    readers = {
        encapsulation: _Reader(order, store.max_sequence_length)
        for encapsulation, order in _ENCAPSULATION_ORDER.items()
    }

    def decode_fast(data: bytes | memoryview) -> Any:
        view = memoryview(data)
        reader = readers.get(bytes(view[:2]))
        if reader is None or len(view) < 4:
            raise MalformedCdrError("invalid or unsupported CDR encapsulation")
        body = view[4:]
        try:
            message, end = decode(reader, body)
        except (struct.error, UnicodeDecodeError, ValueError, IndexError) as err:
            raise MalformedCdrError(str(err)) from err
        if end + 3 < len(body):
            raise MalformedCdrError(f"{len(body) - end} bytes left after the message")
        return message

    return decode_fast
