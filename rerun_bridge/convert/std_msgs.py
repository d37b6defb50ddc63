"""std_msgs: text as ``TextLog`` rows (a robot description as the robot model), numbers as ``Scalars``."""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from rerun_bridge.convert import robot_description
from rerun_bridge.convert.registry import ConvertContext, Converter
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


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("std_msgs/msg/String", convert_string, ("TextLog", *robot_description.ARCHETYPES)),
    *(Converter(f"std_msgs/msg/{name}", convert_number, ("Scalars",)) for name in NUMERIC_TYPES),
)
