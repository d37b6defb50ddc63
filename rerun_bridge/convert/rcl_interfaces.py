"""rcl_interfaces: ``/rosout`` log records as ``TextLog`` rows."""

from __future__ import annotations

from typing import Any, Final

from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.model.rows import Row
from rerun_bridge.model.timeline import ROS_TIME, stamp_to_ns

# rcl_interfaces/Log severities -> Rerun's TextLogLevel names.
LEVELS = {10: "DEBUG", 20: "INFO", 30: "WARN", 40: "ERROR", 50: "CRITICAL"}


def level_name(level: int) -> str:
    """Rerun's level for a ROS severity; values between the named ones round down, as rcutils does."""
    known = [value for value in LEVELS if value <= level]
    return LEVELS[max(known)] if known else "TRACE"


def convert_log(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``[node] message`` with its level; the record's own stamp is its ``ros_time``."""
    text = f"[{msg.name}] {msg.msg}" if msg.name else str(msg.msg)
    return [
        Row(
            ctx.entity_path,
            "TextLog",
            {"text": [text], "level": [level_name(int(msg.level))]},
            extra={"file": [str(msg.file)], "function": [str(msg.function)], "line": [int(msg.line)]},
            times={ROS_TIME: stamp_to_ns(msg.stamp)},
        )
    ]


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (Converter("rcl_interfaces/msg/Log", convert_log, ("TextLog",)),)
