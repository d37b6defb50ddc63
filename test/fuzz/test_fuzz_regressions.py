"""Messages the fuzz tests found to break a converter, each kept as a plain example."""

from __future__ import annotations

import numpy as np
import pytest

from test.fuzz.test_converters_fuzz import STORE, TOPIC, convert


def test_transition_event_with_the_largest_timestamp_lays_out() -> None:
    """lifecycle_msgs/TransitionEvent's ``timestamp`` is a uint64: one past int64's range made the Arrow
    layout of the row fail (an OverflowError out of the sink, not a counted error)."""
    type_name = "lifecycle_msgs/msg/TransitionEvent"
    cls = STORE.types[type_name]
    transition = STORE.types["lifecycle_msgs/msg/Transition"](id=1, label="configure")
    state = STORE.types["lifecycle_msgs/msg/State"]
    message = cls(
        timestamp=2**64 - 1,
        transition=transition,
        start_state=state(id=1, label="unconfigured"),
        goal_state=state(id=10, label="configuring"),
    )
    payload = bytes(STORE.serialize_cdr(message, type_name))
    pipeline, _warnings = convert(type_name, [payload])
    stats = pipeline.stats_of(TOPIC)
    assert stats is not None
    assert (stats.rows, stats.errors) == (1, 0)


def _payload(type_name: str, **fields: object) -> bytes:
    """A message of ``type_name`` with ``fields`` set and every other field at its default."""
    from test.convert.golden_harness import build_message

    return bytes(STORE.serialize_cdr(build_message(STORE, type_name, fields), type_name))


@pytest.mark.parametrize("dtype", ["Float32", "UInt8", "Int64"])
def test_multi_array_whose_dims_overflow_is_a_conversion_error(dtype: str) -> None:
    """Dim sizes whose product wraps int64 around to 0 passed the size check, then failed to reshape."""
    type_name = f"std_msgs/msg/{dtype}MultiArray"
    layout = {
        "dim": [
            {"label": "a", "size": 282720, "stride": 0},
            {"label": "b", "size": 1620001604, "stride": 0},
            {"label": "c", "size": 72376, "stride": 0},
        ]
    }
    pipeline, _warnings = convert(type_name, [_payload(type_name, layout=layout)])
    stats = pipeline.stats_of(TOPIC)
    assert stats is not None
    assert stats.errors == 1
    assert "multi-array layout" in stats.first_error


def test_point_cloud_with_a_huge_point_step_is_a_conversion_error() -> None:
    """A point_step past numpy's largest item made building the point dtype raise ValueError."""
    type_name = "sensor_msgs/msg/PointCloud2"
    fields = [{"name": "x", "offset": 0, "datatype": 7, "count": 1}]
    payload = _payload(type_name, height=1, width=1, fields=fields, point_step=2**32 - 1, row_step=2**32 - 1)
    pipeline, _warnings = convert(type_name, [payload])
    stats = pipeline.stats_of(TOPIC)
    assert stats is not None
    assert stats.errors == 1
    assert "point_step" in stats.first_error


def test_metrics_with_an_empty_source_name_convert() -> None:
    """An empty measurement or metrics source name made an entity path with an empty part."""
    type_name = "statistics_msgs/msg/MetricsMessage"
    statistics = [{"data_type": 1, "data": 2.5}]
    payload = _payload(type_name, measurement_source_name="", metrics_source="age", statistics=statistics)
    pipeline, _warnings = convert(type_name, [payload])
    stats = pipeline.stats_of(TOPIC)
    assert stats is not None
    assert (stats.errors, stats.rows) == (0, 2)


def test_the_memory_cap_turns_a_huge_allocation_into_a_memory_error() -> None:
    """What the fuzz tests rely on to catch a lying length (conftest.py's cap): an allocation of gigabytes
    fails at once instead of taking the machine's memory."""
    with pytest.raises(MemoryError):
        np.empty(8 << 30, dtype=np.uint8)
