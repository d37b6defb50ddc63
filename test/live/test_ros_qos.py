"""QoS adapted to the publishers, as foxglove_bridge and rosbag2 do it."""

from __future__ import annotations

from rerun_bridge.sources.ros_qos import (
    DEFAULT_DEPTH,
    FRAME_STREAM_DEPTH,
    MAX_DEPTH,
    PROTECTED_STREAM_DEPTH,
    STREAM_DEPTH,
    OfferedQos,
    RequestedQos,
    adapt_qos,
    override_qos,
    stream_depth,
)

RELIABLE = OfferedQos(reliable=True, transient_local=False, depth=5)
BEST_EFFORT = OfferedQos(reliable=False, transient_local=False, depth=5)
LATCHED = OfferedQos(reliable=True, transient_local=True, depth=1)


def test_reliable_only_when_every_publisher_is() -> None:
    assert adapt_qos("/a", [RELIABLE, RELIABLE]).reliable
    assert not adapt_qos("/a", [RELIABLE, BEST_EFFORT]).reliable


def test_transient_local_only_when_every_publisher_is() -> None:
    assert adapt_qos("/map", [LATCHED]).transient_local
    assert not adapt_qos("/map", [LATCHED, RELIABLE]).transient_local


def test_latched_depth_is_the_sum_clamped_and_unknown_depths_count_as_default() -> None:
    latched = OfferedQos(True, True, 5)
    assert adapt_qos("/map", [latched, latched]).depth == 10
    assert adapt_qos("/map", [OfferedQos(True, True, 0)]).depth == DEFAULT_DEPTH
    assert adapt_qos("/map", [OfferedQos(True, True, 80)] * 3).depth == MAX_DEPTH


def test_streaming_topics_get_a_history_deep_enough_for_python_pauses() -> None:
    assert adapt_qos("/a", [RELIABLE, RELIABLE]).depth == STREAM_DEPTH
    assert adapt_qos("/a", [BEST_EFFORT]).depth == STREAM_DEPTH
    assert adapt_qos("/a", []).depth == STREAM_DEPTH
    assert STREAM_DEPTH <= MAX_DEPTH


def test_small_state_gets_a_deep_history_and_big_frames_a_short_one() -> None:
    imu = stream_depth("sensor_msgs/msg/Imu", protected=True)
    camera = stream_depth("sensor_msgs/msg/Image", protected=False)
    other = stream_depth("std_msgs/msg/String", protected=False)
    assert (imu, camera, other) == (PROTECTED_STREAM_DEPTH, FRAME_STREAM_DEPTH, STREAM_DEPTH)
    assert camera < other < imu
    # A camera a config marks protected is protected: its history is the deep one.
    assert stream_depth("sensor_msgs/msg/Image", protected=True) == PROTECTED_STREAM_DEPTH
    assert adapt_qos("/imu", [RELIABLE], imu).depth == PROTECTED_STREAM_DEPTH
    assert adapt_qos("/camera", [RELIABLE], camera).depth == FRAME_STREAM_DEPTH
    # Latched topics keep their own rule: the depth decides how many latched messages arrive.
    assert adapt_qos("/map", [LATCHED], camera).depth == 1


def test_latched_topics_are_always_reliable_transient_local() -> None:
    for topic in ("/tf_static", "/robot_description"):
        qos = adapt_qos(topic, [BEST_EFFORT])
        assert (qos.reliable, qos.transient_local) == (True, True)
    assert adapt_qos("/tf_static", [LATCHED, LATCHED, LATCHED]).depth == 3


def test_config_overrides_replace_only_what_they_set() -> None:
    adapted = RequestedQos(reliable=True, transient_local=False, depth=10)
    assert override_qos(adapted, reliable=False, transient_local=None, depth=None) == RequestedQos(
        False, False, 10
    )
    assert override_qos(adapted, reliable=None, transient_local=None, depth=3).depth == 3


def test_config_history_keep_all_is_carried_to_the_subscription() -> None:
    adapted = RequestedQos(reliable=True, transient_local=False, depth=100)
    keep_all = override_qos(adapted, reliable=None, transient_local=None, depth=None, keep_all=True)
    assert keep_all.keep_all
    assert "keep_all" in keep_all.describe()
    assert not override_qos(
        keep_all, reliable=None, transient_local=None, depth=None, keep_all=False
    ).keep_all
    assert override_qos(keep_all, reliable=None, transient_local=None, depth=None).keep_all


def test_a_subscription_made_before_any_publisher_is_best_effort_and_matches_every_one() -> None:
    # A topic the config lists with its type is subscribed at start: a reliable subscription would match no
    # best-effort publisher (most sensor drivers), a best-effort one matches both kinds.
    early = adapt_qos("/scan", [])
    assert (early.reliable, early.transient_local) == (False, False)
    latched = adapt_qos("/tf_static", [])  # latched topics keep what their publishers always offer
    assert (latched.reliable, latched.transient_local) == (True, True)
