"""Imports every built-in converter module so that each registers its types."""

from rerun_bridge.convert import (  # noqa: F401
    geometry_msgs,
    nav_msgs,
    rcl_interfaces,
    sensor_msgs,
    std_msgs,
    tf2_msgs,
)
