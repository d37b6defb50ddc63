"""rcl_interfaces: ``/rosout`` log records and ``/parameter_events`` as ``TextLog`` rows, numeric parameters
also as plots."""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from rerun_bridge.convert.common import sub_path
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


#: ``rcl_interfaces/ParameterType`` -> the ParameterValue field holding it.
PARAMETER_FIELDS: Final = {
    1: "bool_value", 2: "integer_value", 3: "double_value", 4: "string_value", 5: "byte_array_value",
    6: "bool_array_value", 7: "integer_array_value", 8: "double_array_value", 9: "string_array_value",
}  # fmt: skip
#: Parameter types plotted as a number (bool, integer, double).
NUMERIC_PARAMETERS: Final = (1, 2, 3)


def parameter_value(value: Any) -> Any:
    """A ParameterValue's value (None when not set), sequences as lists."""
    field = PARAMETER_FIELDS.get(int(value.type))
    if field is None:
        return None
    item = getattr(value, field)
    return item if isinstance(item, str | bool | int | float) else [*item]


def shown_value(value: Any) -> str:
    """A parameter value as ROS prints it (``true``, not Python's ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def convert_parameter_event(msg: Any, ctx: ConvertContext) -> list[Row]:
    """One ``TextLog`` line per parameter, ``/node: changed max_speed = 0.5`` (new, changed, deleted),
    at the event's own ``stamp`` on ``ros_time``; and each new or changed bool, integer or double
    parameter as ``Scalars`` on ``<entity>/<node namespace>/<node>/<parameter>``, so tuning sessions
    plot."""
    node, times = str(msg.node), {ROS_TIME: stamp_to_ns(msg.stamp)}
    texts: list[str] = []
    rows: list[Row] = []
    for kind in ("new", "changed", "deleted"):
        for parameter in getattr(msg, f"{kind}_parameters"):
            value = parameter_value(parameter.value)
            shown = "" if kind == "deleted" else f" = {shown_value(value)}"
            texts.append(f"{node}: {kind} {parameter.name}{shown}")
            if kind != "deleted" and int(parameter.value.type) in NUMERIC_PARAMETERS:
                node_parts = [part for part in node.split("/") if part] or ["_"]
                path = sub_path(ctx.entity_path, *node_parts, str(parameter.name))
                scalar = np.array([float(value)], dtype=np.float64)
                rows.append(Row(path, "Scalars", {"scalars": scalar}, times=times))
    if texts:
        level = ["INFO"] * len(texts)
        rows.insert(0, Row(ctx.entity_path, "TextLog", {"text": texts, "level": level}, times=times))
    return rows


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("rcl_interfaces/msg/Log", convert_log, ("TextLog",)),
    Converter("rcl_interfaces/msg/ParameterEvent", convert_parameter_event, ("TextLog", "Scalars")),
)
