"""The hand-written CDR decoders give exactly what rosbags gives, on real recordings and odd messages,
and leave every malformed message to the full decoder."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from rerun_bridge.cdr.decoding import TypeResolver, _make_decoder
from rerun_bridge.cdr.fast import FAST_TYPES, MalformedCdrError, fast_decoder
from rerun_bridge.model.records import MessageDefinition, TopicInfo
from rerun_bridge.model.type_names import normalize_type_name
from rerun_bridge.sources.bag import open_bag
from test.conftest import SHARED_DATA

STORE = get_typestore(Stores.ROS2_JAZZY)


def recordings() -> Iterator[Path]:
    """Every recording in the shared data: bag folders, and storage files outside any bag folder."""
    folders = {path.parent for path in SHARED_DATA.rglob("metadata.yaml")}
    yield from sorted(folders)
    for pattern in ("*.mcap", "*.db3"):
        for path in sorted(SHARED_DATA.rglob(pattern)):
            if path.parent not in folders:
                yield path


def assert_same(store: Typestore, type_name: str, fast: Any, full: Any, where: str = "msg") -> None:
    """Field by field, as the store defines the type: same Python types and values (numpy: dtype too)."""
    _constants, fields = store.fielddefs[type_name]
    for name, desc in fields:
        _assert_same_value(store, desc, getattr(fast, name), getattr(full, name), f"{where}.{name}")


def _assert_same_value(store: Typestore, desc: Any, fast: Any, full: Any, where: str) -> None:
    kind = desc[0]
    if kind == Nodetype.NAME:
        assert_same(store, desc[1], fast, full, where)
    elif isinstance(full, np.ndarray):
        assert isinstance(fast, np.ndarray), where
        assert (fast.dtype, fast.shape) == (full.dtype, full.shape), where
        assert np.array_equal(fast, full, equal_nan=True), where
    elif isinstance(full, list):
        assert isinstance(fast, list), where
        assert len(fast) == len(full), where
        element = desc[1][0]
        for index, (fast_item, full_item) in enumerate(zip(fast, full, strict=True)):
            _assert_same_value(store, element, fast_item, full_item, f"{where}[{index}]")
    else:
        assert type(fast) is type(full), (where, fast, full)
        same_nan = isinstance(full, float) and math.isnan(full) and math.isnan(fast)
        assert same_nan or fast == full, (where, fast, full)


def test_every_real_recording_decodes_alike() -> None:
    checked: dict[str, int] = {}
    for path in recordings():
        with open_bag(path) as bag:
            resolver = TypeResolver(bag.topics(), bag.ros_distro)
            fast_topics = {}
            for info in bag.topics():
                type_name = normalize_type_name(info.type_name)
                choice = resolver.choose(info.type_name)
                if type_name in FAST_TYPES and choice.typestore is not None:
                    fast = fast_decoder(choice.typestore, type_name)
                    assert fast is not None, f"{path}: {info.name} has a standard {type_name}"
                    full = _make_decoder([choice.typestore], type_name)
                    fast_topics[info.name] = (choice.typestore, type_name, fast, full)
            for message in bag.messages(set(fast_topics)):
                store, type_name, fast, full = fast_topics[message.topic]
                assert_same(store, type_name, fast(message.data), full(message.data), message.topic)
                checked[type_name] = checked.get(type_name, 0) + 1
    # The shared recordings hold all these types; a silent skip would make this test pass on nothing.
    # None holds markers: odd_messages() checks MarkerArray against rosbags instead.
    assert set(checked) == FAST_TYPES - {"visualization_msgs/msg/MarkerArray"}, checked


def _header(frame_id: str, sec: int = 1_700_000_000, nanosec: int = 123_456_789) -> Any:
    types = STORE.types
    return types["std_msgs/msg/Header"](types["builtin_interfaces/msg/Time"](sec, nanosec), frame_id)


def _point_cloud(frame_id: str, big_endian_points: bool, data: bytes, dense: bool) -> Any:
    types = STORE.types
    field = types["sensor_msgs/msg/PointField"]
    fields = [field("x", 0, 7, 1), field("é", 4, 2, 3), field("t", 7, 8, 0), field("intensity", 15, 7, 1)]
    return types["sensor_msgs/msg/PointCloud2"](
        _header(frame_id),
        1,
        len(data) // 19,
        fields,
        big_endian_points,
        19,
        len(data),
        np.frombuffer(data, np.uint8),
        dense,
    )


def odd_messages() -> Iterator[tuple[str, Any]]:
    """Messages whose strings, sequences and flags move every later field across alignment boundaries."""
    types = STORE.types
    vector, quaternion = types["geometry_msgs/msg/Vector3"], types["geometry_msgs/msg/Quaternion"]
    for frame_id in ("", "a", "ab", "abc", "base_link", "ünïcode/frame"):
        yield "sensor_msgs/msg/PointCloud2", _point_cloud(frame_id, False, bytes(range(38)), True)
        yield "sensor_msgs/msg/PointCloud2", _point_cloud(frame_id, True, b"", False)
        yield (
            "sensor_msgs/msg/PointCloud2",
            types["sensor_msgs/msg/PointCloud2"](
                _header(frame_id), 0, 0, [], False, 0, 0, np.zeros(0, np.uint8), True
            ),
        )
        for encoding, big_endian, size in (("rgb8", 0, 7), ("16UC1", 1, 0), ("", 0, 5)):
            yield (
                "sensor_msgs/msg/Image",
                types["sensor_msgs/msg/Image"](
                    _header(frame_id), 1, size, encoding, big_endian, size, np.arange(size, dtype=np.uint8)
                ),
            )
        covariance = np.linspace(-1.0, 1.0, 9)
        yield (
            "sensor_msgs/msg/Imu",
            types["sensor_msgs/msg/Imu"](
                _header(frame_id, -5, 999_999_999),
                quaternion(0.1, -0.2, math.nan, 1.0),
                covariance,
                vector(math.inf, -0.0, 1e-300),
                covariance * 2,
                vector(9.81, 0.0, -9.81),
                covariance * 3,
            ),
        )
        transform_stamped = types["geometry_msgs/msg/TransformStamped"]
        transform = types["geometry_msgs/msg/Transform"]
        for count in (0, 1, 3):
            transforms = [
                transform_stamped(
                    _header(frame_id * index, index, index),
                    "child" * index,
                    transform(
                        vector(index, 2.5, -3.0), quaternion(0.0, 0.0, math.sin(index), math.cos(index))
                    ),
                )
                for index in range(count)
            ]
            yield "tf2_msgs/msg/TFMessage", types["tf2_msgs/msg/TFMessage"](transforms)
        yield "visualization_msgs/msg/MarkerArray", _marker_array(frame_id)


def _marker_array(frame_id: str) -> Any:
    """Markers with and without points, colours, texture and mesh data, strings of every length."""
    types = STORE.types
    point, color = types["geometry_msgs/msg/Point"], types["std_msgs/msg/ColorRGBA"]
    uv, duration = types["visualization_msgs/msg/UVCoordinate"], types["builtin_interfaces/msg/Duration"]
    markers = []
    for count in (0, 1, 3):
        pose = types["geometry_msgs/msg/Pose"](
            point(count, -1.5, math.nan), types["geometry_msgs/msg/Quaternion"](0.0, 0.0, 0.6, 0.8)
        )
        texture = types["sensor_msgs/msg/CompressedImage"](
            _header(frame_id[:count]), "png" * count, np.arange(count, dtype=np.uint8)
        )
        markers.append(
            types["visualization_msgs/msg/Marker"](
                _header(frame_id, count, count),
                "ns" * count,
                count - 1,
                count,
                count % 3,
                pose,
                types["geometry_msgs/msg/Vector3"](0.1, 0.2, 0.3),
                color(0.25, 0.5, 0.75, 1.0),
                duration(count, 999_999_999),
                count == 1,
                [point(index, 2.0 * index, -float(index)) for index in range(count)],
                [color(0.5, 0.25, 0.125, float(index)) for index in range(count % 2 * count)],
                "file://" * count,
                texture,
                [uv(0.5, float(index)) for index in range(count)],
                "tëxt" * count,
                "package://m.stl" * (count % 2),
                types["visualization_msgs/msg/MeshFile"]("m" * count, np.arange(count * 2, dtype=np.uint8)),
                count == 3,
            )
        )
    return types["visualization_msgs/msg/MarkerArray"](markers)


@pytest.mark.parametrize("little_endian", [True, False], ids=["cdr_le", "cdr_be"])
def test_odd_layouts_and_both_byte_orders_decode_alike(little_endian: bool) -> None:
    for type_name, message in odd_messages():
        data = bytes(STORE.serialize_cdr(message, type_name, little_endian=little_endian))
        fast = fast_decoder(STORE, type_name)
        assert fast is not None
        assert_same(STORE, type_name, fast(data), STORE.deserialize_cdr(data, type_name), type_name)


def _resolver_decoder(type_name: str) -> Any:
    topic = TopicInfo("/topic", type_name)
    decoder = TypeResolver([topic], "jazzy").choose(type_name).decoder
    assert decoder is not None
    return decoder


def _outcome(decode: Any, data: bytes) -> tuple[str, Any]:
    try:
        return "ok", decode(data)
    except Exception as err:  # the full decoder's error (what rosbags raised, wrapped: its cause)
        return "error", (type(err), str(err), type(err.__cause__))


def test_malformed_messages_fail_or_decode_exactly_as_without_the_fast_path() -> None:
    """Every truncation, trailing bytes and a damaged encapsulation header: the decoder the resolver hands
    out (fast path first) ends as the full decoder alone does: the full decoder's error, never the fast
    path's own."""
    samples: dict[str, Any] = {}
    for type_name, message in odd_messages():
        samples.setdefault(type_name, message)
    for type_name, message in samples.items():
        data = bytes(STORE.serialize_cdr(message, type_name))
        full = _make_decoder([STORE], type_name)
        decode = _resolver_decoder(type_name)
        variants = [data[:cut] for cut in range(len(data))]
        variants += [data + b"\0" * extra for extra in (1, 3, 4, 9)]
        variants += [b"\x01\x00" + data[2:], b"\x00\x02" + data[2:]]
        for variant in variants:
            kind, value = _outcome(decode, variant)
            expected_kind, expected = _outcome(full, variant)
            assert kind == expected_kind, (type_name, len(variant))
            if kind == "ok":
                assert_same(STORE, type_name, value, expected)
            else:
                assert value == expected, (type_name, len(variant))
                assert value[2] is not MalformedCdrError  # wraps rosbags' error, not the fast path's


def test_a_bad_string_in_a_message_is_malformed_for_the_fast_decoder() -> None:
    message = next(m for t, m in odd_messages() if t == "sensor_msgs/msg/Image" and m.encoding == "rgb8")
    data = bytearray(STORE.serialize_cdr(message, "sensor_msgs/msg/Image"))
    terminator = data.index(b"rgb8") + 4
    data[terminator] = ord("x")  # the encoding string loses its NUL
    fast = fast_decoder(STORE, "sensor_msgs/msg/Image")
    assert fast is not None
    with pytest.raises(MalformedCdrError):
        fast(bytes(data))


def test_a_non_standard_definition_gets_no_fast_decoder() -> None:
    store = get_typestore(Stores.EMPTY)
    types = get_types_from_msg("uint32 height\nuint32 width\nuint8[] data\n", "sensor_msgs/msg/Image")
    store.register(types)
    assert fast_decoder(store, "sensor_msgs/msg/Image") is None
    # A recording that stores such a definition still decodes with it.
    definition = MessageDefinition("ros2msg", "uint32 height\nuint32 width\nuint8[] data\n")
    topic = TopicInfo("/camera", "sensor_msgs/msg/Image", definition=definition)
    decoder = TypeResolver([topic], "jazzy").choose("sensor_msgs/msg/Image").decoder
    assert decoder is not None
    message = store.types["sensor_msgs/msg/Image"](2, 1, np.array([7, 9], dtype=np.uint8))
    decoded = decoder(bytes(store.serialize_cdr(message, "sensor_msgs/msg/Image")))
    assert (decoded.height, decoded.width, list(decoded.data)) == (2, 1, [7, 9])


def test_unknown_types_get_no_fast_decoder() -> None:
    assert fast_decoder(STORE, "std_msgs/msg/String") is None
    assert fast_decoder(get_typestore(Stores.EMPTY), "sensor_msgs/msg/Imu") is None
