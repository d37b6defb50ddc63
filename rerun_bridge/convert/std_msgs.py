"""std_msgs: text as ``TextLog`` rows (a robot description as the robot model), numbers as ``Scalars``,
multi-arrays as ``Tensor``."""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import rerun as rr

from rerun_bridge.convert import robot_description
from rerun_bridge.convert.common import as_bytes
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import Row

BYTE_TYPE = "std_msgs/msg/Byte"
NUMERIC_TYPES = (
    "Bool", "Byte", "Char", "Float32", "Float64", "Int8", "Int16", "Int32", "Int64",
    "UInt8", "UInt16", "UInt32", "UInt64",
)  # fmt: skip


def convert_string(msg: Any, ctx: ConvertContext) -> list[Row]:
    robot_rows = robot_description.convert_robot_description(msg, ctx)
    if robot_rows is not None:
        return robot_rows
    return [Row(ctx.entity_path, "TextLog", {"text": [str(msg.data)]})]


def convert_number(msg: Any, ctx: ConvertContext) -> list[Row]:
    data = msg.data
    if isinstance(data, bytes | bytearray):  # std_msgs/Byte and Char arrive as one byte in some readers
        data = data[0] if data else 0
    elif ctx.type_name == BYTE_TYPE and data < 0:  # an unsigned octet that rosbags reads as int8
        data += 256
    return [Row(ctx.entity_path, "Scalars", {"scalars": np.array([float(data)], dtype=np.float64)})]


#: ``std_msgs/<Name>MultiArray`` -> the numpy dtype of its ``data``.
MULTI_ARRAY_DTYPES: Final[dict[str, type[np.generic]]] = {
    "Byte": np.uint8, "Float32": np.float32, "Float64": np.float64, "Int8": np.int8, "Int16": np.int16,
    "Int32": np.int32, "Int64": np.int64, "UInt8": np.uint8, "UInt16": np.uint16, "UInt32": np.uint32,
    "UInt64": np.uint64,
}  # fmt: skip


def multi_array_data(msg: Any, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """``data`` as a flat array of its own dtype (uint8 sequences may arrive as bytes)."""
    data = msg.data
    if isinstance(data, bytes | bytearray | memoryview) or dtype == np.uint8:
        return np.frombuffer(as_bytes(data) if not isinstance(data, np.ndarray) else data.tobytes(), np.uint8)
    return np.asarray(data, dtype=dtype).reshape(-1)


def convert_multi_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    """A ``Tensor`` shaped by the layout's dims (``size`` each, ``label`` as the dim names), starting at
    ``data_offset``. Without dims the data is one dimension (``data``). A layout that needs more elements
    than there are is a ConversionError naming both counts."""
    dtype = MULTI_ARRAY_DTYPES[ctx.type_name.rsplit("/", 1)[-1].removesuffix("MultiArray")]
    data = multi_array_data(msg, dtype)
    dims = list(msg.layout.dim)
    offset = int(msg.layout.data_offset)
    if not dims:
        shape, names = [data.size - offset], ["data"]
    else:
        shape = [int(dim.size) for dim in dims]
        names = [str(dim.label) or f"dim{index}" for index, dim in enumerate(dims)]
    needed = math.prod(shape)  # exact: numpy's product of lying sizes wraps around, to 0 even
    if offset < 0 or min(shape) < 0 or offset + needed > data.size:
        raise ConversionError(
            f"multi-array layout {shape} at offset {offset} needs {offset + needed} elements, "
            f"data has {data.size}"
        )
    tensor = data[offset : offset + needed].reshape(shape)
    return [
        Row(ctx.entity_path, "Tensor", {"data": [rr.components.TensorData(array=tensor, dim_names=names)]})
    ]


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("std_msgs/msg/String", convert_string, ("TextLog", *robot_description.ARCHETYPES)),
    *(Converter(f"std_msgs/msg/{name}", convert_number, ("Scalars",)) for name in NUMERIC_TYPES),
    *(
        Converter(f"std_msgs/msg/{name}MultiArray", convert_multi_array, ("Tensor",))
        for name in MULTI_ARRAY_DTYPES
    ),
)
