"""Hypothesis strategies for ROS messages of any type a typestore defines, biased towards the values that
break converters: zero, huge and mismatched dimensions and steps, NaN and infinities, empty and short
arrays, unknown encodings and field names.

Messages are built as rosbags' classes and serialized to CDR by rosbags, so every generated message is one
a publisher could send; lying lengths, cut payloads and other CDR-level damage are made from these bytes
(:func:`mutated_payload`)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from hypothesis import strategies as st
from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from rerun_bridge.model.type_names import normalize_type_name
from test.convert.golden_harness import NUMPY_DTYPES

GOLDEN = Path(__file__).resolve().parents[1] / "convert" / "golden"

_INT_RANGES = {
    "byte": (-(2**7), 2**7 - 1),  # rosbags packs a lone byte signed
    "char": (0, 255),
    "int8": (-(2**7), 2**7 - 1),
    "uint8": (0, 2**8 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
#: Strings converters give meaning to: image encodings (known, odd and unknown), point field names,
#: compressed formats, frames, mesh URIs, distortion models, marker namespaces.
INTERESTING_STRINGS = (
    "",
    "rgb8",
    "rgba8",
    "bgr8",
    "bgra8",
    "mono8",
    "mono16",
    "8UC1",
    "8UC3",
    "16UC1",
    "32FC1",
    "64FC1",
    "bayer_rggb8",
    "bayer_grbg16",
    "yuv422",
    "yuv422_yuy2",
    "nv21",
    "rgb16",
    "8SC4",
    "no_such_encoding",
    "jpeg",
    "png",
    "rgb8; jpeg compressed bgr8",
    "16UC1; compressedDepth",
    "x",
    "y",
    "z",
    "rgb",
    "rgba",
    "intensity",
    "ring",
    "map",
    "base_link",
    "/odom",
    "plumb_bob",
    "rational_polynomial",
    "equidistant",
    "package://no_such_package/mesh.stl",
    "file:///no/such/mesh.dae",
    "\x00",
    "é",
)
_SMALL_SEQUENCE = 4
_BLOB_BYTES = 96


def supplied_definitions() -> dict[str, Any]:
    """Definitions of the converted types the distro typestore lacks (vision_msgs, map_msgs): the golden
    cases carry them."""
    supplied: dict[str, Any] = {}
    for path in sorted(GOLDEN.rglob("*.input.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, text in (data.get("definitions") or {}).items():
            supplied.update(get_types_from_msg(str(text), normalize_type_name(str(name))))
    return supplied


def fuzz_typestore() -> Typestore:
    store = get_typestore(Stores.ROS2_JAZZY)
    store.register(
        {name: defs for name, defs in supplied_definitions().items() if name not in store.fielddefs}
    )
    return store


def _integers(kind: str) -> st.SearchStrategy[int]:
    low, high = _INT_RANGES[kind]
    small = st.integers(max(low, -2), min(high, 16))
    return st.one_of(small, st.integers(low, high), st.sampled_from([low, high]))


def _floats(kind: str) -> st.SearchStrategy[float]:
    width: Literal[32, 64] = 32 if kind == "float32" else 64
    return st.one_of(
        st.floats(-10, 10, width=width),
        st.floats(width=width),  # NaN, infinities, huge and tiny values included
        st.sampled_from([0.0, -0.0, float("nan"), float("inf"), float("-inf")]),
    )


def _strings(bound: int) -> st.SearchStrategy[str]:
    text = st.one_of(st.sampled_from(INTERESTING_STRINGS), st.text(max_size=8))
    return text.map(lambda s: s[:bound]) if bound else text


def _base(kind: str, bound: int) -> st.SearchStrategy[Any]:
    if kind in ("string", "wstring"):
        return _strings(bound)
    if kind == "bool":
        return st.booleans()
    if kind in ("float32", "float64"):
        return _floats(kind)
    return _integers(kind)


_BYTE_KINDS = ("uint8", "byte", "char", "int8")
_ANY_LENGTH = st.integers(0, _SMALL_SEQUENCE)
_ANY_BLOB_LENGTH = st.integers(0, _BLOB_BYTES)


def _primitive_array(kind: str, count: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    dtype = NUMPY_DTYPES[kind]
    if kind in _BYTE_KINDS:  # blobs (image and point data): raw bytes, longer
        return count.flatmap(lambda n: st.binary(min_size=n, max_size=n)).map(
            lambda b: np.frombuffer(b, dtype=dtype).copy()
        )
    return count.flatmap(lambda n: st.lists(_base(kind, 0), min_size=n, max_size=n)).map(
        lambda values: np.array(values, dtype=dtype)
    )


def _field(store: Typestore, desc: Any, depth: int) -> st.SearchStrategy[Any]:
    node, detail = desc
    if node == Nodetype.BASE:
        kind, bound = detail
        return _base(kind, bound)
    if node == Nodetype.NAME:
        return message(store, detail, depth + 1)
    element, size = detail
    if node == Nodetype.ARRAY:
        count: st.SearchStrategy[int] = st.just(size)
    else:
        count = st.integers(0, min(size, _SMALL_SEQUENCE)) if size else _ANY_LENGTH
    if element[0] == Nodetype.BASE and element[1][0] in NUMPY_DTYPES:
        if node == Nodetype.SEQUENCE and not size and element[1][0] in _BYTE_KINDS:
            count = _ANY_BLOB_LENGTH
        return _primitive_array(element[1][0], count)
    if depth > 4:
        count = st.just(size) if node == Nodetype.ARRAY else st.just(0)
    return count.flatmap(lambda n: st.lists(_field(store, element, depth), min_size=n, max_size=n))


def message(store: Typestore, type_name: str, depth: int = 0) -> st.SearchStrategy[Any]:
    """Messages of ``type_name`` as rosbags' classes."""
    _constants, fields = store.fielddefs[type_name]
    cls = store.types[type_name]
    parts = {name: _field(store, desc, depth) for name, desc in fields}
    return st.fixed_dictionaries(parts).map(lambda values: cls(**values))


def serialized(store: Typestore, type_name: str) -> st.SearchStrategy[bytes]:
    return message(store, type_name).map(lambda msg: bytes(store.serialize_cdr(msg, type_name)))


@st.composite
def mutated_payload(draw: st.DrawFn, payload: bytes) -> bytes:
    """A CDR payload damaged as a bad link or a bad writer damages it: a length or count that lies (a
    4-byte word set to a huge or off-by-some value), bytes cut off or added, bits flipped."""
    data = bytearray(payload)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["lie", "cut", "extend", "flip"]))
        if kind == "lie" and len(data) >= 8:
            at = draw(st.integers(1, (len(data) - 4) // 4)) * 4  # CDR aligns lengths to 4 past the header
            value = draw(
                st.sampled_from([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x10000000, 4096]) | st.integers(0, 2**32 - 1)
            )
            struct.pack_into("<I", data, at, value)
        elif kind == "cut" and data:
            del data[draw(st.integers(0, len(data) - 1)) :]
        elif kind == "extend":
            data += draw(st.binary(min_size=1, max_size=16))
        elif data:
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)
