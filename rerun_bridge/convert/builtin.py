"""The built-in converters: every converter module's table, joined."""

from __future__ import annotations

from typing import Final

from rerun_bridge.convert import (
    geometry_msgs,
    map_msgs,
    nav_msgs,
    rcl_interfaces,
    sensor_msgs,
    std_msgs,
    tf2_msgs,
)
from rerun_bridge.convert.registry import ConverterTable

BUILTIN_CONVERTERS: Final = ConverterTable(
    [
        *std_msgs.CONVERTERS,
        *geometry_msgs.CONVERTERS,
        *nav_msgs.CONVERTERS,
        *map_msgs.CONVERTERS,
        *sensor_msgs.CONVERTERS,
        *tf2_msgs.CONVERTERS,
        *rcl_interfaces.CONVERTERS,
    ]
)
