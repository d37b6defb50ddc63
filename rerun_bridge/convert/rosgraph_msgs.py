"""rosgraph_msgs: ``/clock``, the simulation time, plotted against the time it was recorded."""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.model.rows import Row
from rerun_bridge.model.timeline import stamp_to_ns


def convert_clock(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The clock in seconds as ``Scalars`` on ``log_time``: its slope is the real-time factor, and a
    paused or reset simulation shows as a flat line or a drop."""
    seconds = stamp_to_ns(msg.clock) / 1e9
    return [
        Row(ctx.entity_path, "Scalars", {"scalars": np.array([seconds], dtype=np.float64)}),
        Row(ctx.entity_path, "SeriesLines", {"names": ["clock_s"]}, static=True),
    ]


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (Converter("rosgraph_msgs/msg/Clock", convert_clock, ("Scalars", "SeriesLines")),)
