"""Arrow types for ROS message definitions, so raw columns keep one exact type from the first row on.

Inferring types from values is not enough: a ``uint64`` above 2**63 overflows ``int64``, and an empty
array infers as ``null``. The definition says what each field is.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from rosbags.interfaces import Nodetype
from rosbags.typesys.store import Typestore

_BASE_TYPES: dict[str, pa.DataType] = {
    "bool": pa.bool_(),
    # Readers disagree on the sign of byte and char (rosbags gives char as int8): int16 holds both.
    "byte": pa.int16(),
    "char": pa.int16(),
    "int8": pa.int8(),
    "uint8": pa.uint8(),
    "int16": pa.int16(),
    "uint16": pa.uint16(),
    "int32": pa.int32(),
    "uint32": pa.uint32(),
    "int64": pa.int64(),
    "uint64": pa.uint64(),
    "float32": pa.float32(),
    "float64": pa.float64(),
    "string": pa.string(),
    "wstring": pa.string(),
}


def _field_type(store: Typestore, node: tuple[Any, Any]) -> pa.DataType:
    kind, description = node
    if kind == Nodetype.BASE:
        name = description[0]
        if name not in _BASE_TYPES:
            raise KeyError(f"unknown base type {name}")
        return _BASE_TYPES[name]
    if kind == Nodetype.NAME:
        return arrow_type_for(store, description)
    if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        inner, _length = description
        return pa.list_(_field_type(store, inner))
    raise KeyError(f"unknown node type {kind}")


def arrow_type_for(store: Typestore, type_name: str) -> pa.DataType:
    """The struct type of a message, fields in definition order (constants are not data)."""
    _constants, fields = store.fielddefs[type_name]
    return pa.struct([pa.field(name, _field_type(store, node)) for name, node in fields])
