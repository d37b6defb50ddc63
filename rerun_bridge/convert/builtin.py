"""The built-in converters: every converter module's table, joined."""

from __future__ import annotations

from typing import Final

from rerun_bridge.convert import (
    action_msgs,
    diagnostic_msgs,
    geometry_msgs,
    lifecycle_msgs,
    map_msgs,
    nav_msgs,
    rcl_interfaces,
    rosgraph_msgs,
    sensor_msgs,
    sensor_msgs_misc,
    statistics_msgs,
    std_msgs,
    stereo_msgs,
    tf2_msgs,
    trajectory_msgs,
    vision_msgs,
    visualization_msgs,
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
        *sensor_msgs_misc.CONVERTERS,
        *stereo_msgs.CONVERTERS,
        *diagnostic_msgs.CONVERTERS,
        *trajectory_msgs.CONVERTERS,
        *vision_msgs.CONVERTERS,
        *lifecycle_msgs.CONVERTERS,
        *action_msgs.CONVERTERS,
        *rosgraph_msgs.CONVERTERS,
        *statistics_msgs.CONVERTERS,
        *visualization_msgs.CONVERTERS,
    ]
)
