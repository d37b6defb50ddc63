"""statistics_msgs: ROS 2 topic statistics (``/statistics``) as plots per measured topic and metric."""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from rerun_bridge.convert.common import sub_path
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.model.rows import Row

#: ``statistics_msgs/StatisticDataType`` values -> series names.
DATA_TYPES: Final = {1: "average", 2: "minimum", 3: "maximum", 4: "stddev", 5: "sample_count"}


def convert_metrics_message(msg: Any, ctx: ConvertContext) -> list[Row]:
    """``Scalars`` of the window's statistics on ``<entity>/<measurement source>/<metrics source>``
    (``/statistics/listener/message_age``), named average, minimum, maximum, stddev, sample_count, with
    the ``unit`` as an extra column. A window without statistics gives no rows."""
    names = [DATA_TYPES.get(int(point.data_type), f"type {point.data_type}") for point in msg.statistics]
    if not names:
        return []
    values = np.array([float(point.data) for point in msg.statistics], dtype=np.float64)
    path = sub_path(ctx.entity_path, str(msg.measurement_source_name), str(msg.metrics_source))
    return [
        Row(path, "Scalars", {"scalars": values}, extra={"unit": [str(msg.unit)]}),
        Row(path, "SeriesLines", {"names": names}),
    ]


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("statistics_msgs/msg/MetricsMessage", convert_metrics_message, ("Scalars", "SeriesLines")),
)
