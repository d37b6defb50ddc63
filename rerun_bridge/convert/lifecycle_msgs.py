"""lifecycle_msgs: a managed node's state transitions as log lines."""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.model.rows import Row

#: Transition states a transition ends in when it failed (lifecycle_msgs/State ERRORPROCESSING).
ERROR_PROCESSING: Final = 15


def convert_transition_event(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``TextLog`` ``unconfigured -> configuring (configure)``: WARN when the goal is error processing,
    else INFO; the transition's ``timestamp`` (ns, the node's clock) as an extra column."""
    goal = int(msg.goal_state.id)
    text = f"{msg.start_state.label} -> {msg.goal_state.label} ({msg.transition.label})"
    level = "WARN" if goal == ERROR_PROCESSING else "INFO"
    # uint64 in the message: an int64 column cannot hold the upper half of its range.
    extra = {"timestamp": np.array([int(msg.timestamp)], dtype=np.uint64)}
    return [Row(ctx.entity_path, "TextLog", {"text": [text], "level": [level]}, extra=extra)]


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (Converter("lifecycle_msgs/msg/TransitionEvent", convert_transition_event, ("TextLog",)),)
