"""ROS type names in one spelling, so every table and comparison keys on the same string."""

from __future__ import annotations

import re
from typing import Final

#: ``pkg/Type``, ``pkg/msg/Type`` (or ``srv`` / ``action``): what a config may name as a type.
TYPE_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]*/(?:(?:msg|srv|action)/)?[A-Za-z][A-Za-z0-9_]*")


def normalize_type_name(type_name: str) -> str:
    """``sensor_msgs/Image`` and ``sensor_msgs/msg/Image`` name the same type; we key on the latter."""
    parts = type_name.strip("/").split("/")
    if len(parts) == 2:
        return f"{parts[0]}/msg/{parts[1]}"
    return "/".join(parts)


def service_of_event(type_name: str) -> str | None:
    """``pkg/srv/Name_Event`` (a service event: how rosbag2 records services) -> ``pkg/srv/Name``."""
    parts = normalize_type_name(type_name).split("/")
    if len(parts) == 3 and parts[1] == "srv" and parts[2].endswith("_Event") and len(parts[2]) > 6:
        return f"{parts[0]}/srv/{parts[2][: -len('_Event')]}"
    return None
