"""action_msgs: the goals of an action server (``<action>/_action/status``) as log lines."""

from __future__ import annotations

from typing import Any, Final

from rerun_bridge.convert.common import as_bytes
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.model.rows import Row

STATUS_NAMES: Final = ("UNKNOWN", "ACCEPTED", "EXECUTING", "CANCELING", "SUCCEEDED", "CANCELED", "ABORTED")
#: TextLog levels of the statuses that are not INFO.
STATUS_LEVELS: Final = {"CANCELED": "WARN", "ABORTED": "ERROR"}


def convert_goal_status_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    """One ``TextLog`` line per goal, ``goal 1a2b3c4d: EXECUTING`` (the uuid's first 4 bytes in hex),
    ABORTED as ERROR and CANCELED as WARN; nothing for an empty list."""
    texts, levels = [], []
    for status in msg.status_list:
        code = int(status.status)
        name = STATUS_NAMES[code] if 0 <= code < len(STATUS_NAMES) else f"status {code}"
        texts.append(f"goal {as_bytes(status.goal_info.goal_id.uuid)[:4].hex()}: {name}")
        levels.append(STATUS_LEVELS.get(name, "INFO"))
    if not texts:
        return []
    return [Row(ctx.entity_path, "TextLog", {"text": texts, "level": levels})]


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (Converter("action_msgs/msg/GoalStatusArray", convert_goal_status_array, ("TextLog",)),)
