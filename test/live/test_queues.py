"""Bounded per-topic queues: drop-oldest, rate limits, priorities, and no starvation under a flood."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rerun_bridge.live.queues import PROTECTED_GROWTH, TopicQueues


def test_full_queue_drops_its_oldest_and_counts() -> None:
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/camera", depth=3)
    for i in range(10):
        queues.put("/camera", i, size_bytes=100)
    assert [item for _t, item in queues.drain()] == [7, 8, 9]
    counters = queues.counters()["/camera"]
    assert (counters.received, counters.dropped_full, counters.received_bytes) == (10, 7, 1000)


def test_a_flood_on_one_topic_never_starves_another() -> None:
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/camera", depth=2)
    queues.add_topic("/tf", depth=100)
    for i in range(1000):
        queues.put("/camera", i)
        if i % 10 == 0:
            queues.put("/tf", i)
    taken = queues.drain()
    assert [item for topic, item in taken if topic == "/tf"] == list(range(0, 1000, 10))
    assert queues.counters()["/tf"].dropped_full == 0
    assert queues.counters()["/camera"].dropped_full == 998


def test_round_robin_between_topics_of_equal_priority() -> None:
    queues: TopicQueues[int] = TopicQueues()
    for topic in ("/a", "/b"):
        queues.add_topic(topic, depth=10)
    for i in range(3):
        queues.put("/a", i)
        queues.put("/b", i)
    order = [topic for topic, _ in queues.drain()]
    assert order == ["/a", "/b", "/a", "/b", "/a", "/b"]


def test_higher_priority_goes_first() -> None:
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/images", depth=10, priority=0)
    queues.add_topic("/tf", depth=10, priority=5)
    queues.put("/images", 1)
    queues.put("/images", 2)
    queues.put("/tf", 3)
    assert queues.get(timeout=0) == ("/tf", 3)
    assert queues.get(timeout=0) == ("/images", 1)


def test_rate_limit_keeps_at_most_that_many_per_second() -> None:
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/scan", depth=100, rate_limit_hz=10)
    accepted = [queues.put("/scan", i, now_ns=i * 20_000_000) for i in range(50)]  # 50 Hz for 1 s
    assert sum(accepted) == 10
    assert queues.counters()["/scan"].dropped_rate == 40


def test_rate_limit_keeps_the_rate_of_a_jittery_topic_and_never_bursts_after_a_pause() -> None:
    """A 30 Hz topic arriving with a few milliseconds of jitter, limited to 10 Hz: ten a second, not the
    7.6 a minimum gap after each arrival kept (every fourth message; found by an audit)."""
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/odom", depth=1000, rate_limit_hz=10)
    jitter = np.random.default_rng(0).uniform(-3e6, 3e6, 300)
    times = [round(index * 1e9 / 30 + jitter[index]) for index in range(300)]  # 10 s
    accepted = [time for index, time in enumerate(times) if queues.put("/odom", index, now_ns=time)]
    assert 99 <= len(accepted) <= 100
    gaps = np.diff(accepted)
    assert gaps.min() > 60_000_000  # never two at once
    # After a 5 s pause: one message, then the rate again, not 50 to catch up.
    resumed = [queues.put("/odom", 0, now_ns=15_000_000_000 + index * 33_333_333) for index in range(30)]
    assert 9 <= sum(resumed) <= 11


def test_unknown_topic_and_bad_depth() -> None:
    queues: TopicQueues[int] = TopicQueues()
    assert not queues.put("/nobody", 1)
    with pytest.raises(ValueError, match="depth"):
        queues.add_topic("/x", depth=0)


def test_get_times_out_and_close_wakes_waiters() -> None:
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/a", depth=1)
    assert queues.get(timeout=0.01) is None
    results: list[object] = []
    waiter = threading.Thread(target=lambda: results.append(queues.get(timeout=10)))
    waiter.start()
    queues.close()
    waiter.join(timeout=5)
    assert results == [None]


def test_producers_never_block_while_a_consumer_is_slow() -> None:
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/a", depth=5)
    done = threading.Event()

    def produce() -> None:
        for i in range(10_000):
            queues.put("/a", i)
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    assert done.wait(timeout=10)  # nobody consumed anything, yet all puts returned
    producer.join()
    assert queues.pending() == 5
    assert queues.counters()["/a"].dropped_full == 9_995


def test_worker_time_is_shared_by_cost_so_a_cheap_topic_keeps_up() -> None:
    """A camera whose frames take 10 ms and an IMU whose messages take 0.1 ms, both always waiting: the
    IMU gets about as much worker time as the camera, i.e. about a hundred messages per frame."""
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/camera", depth=10_000)
    queues.add_topic("/imu", depth=10_000)
    for i in range(5_000):
        queues.put("/camera", i)
        queues.put("/imu", i)
    cost = {"/camera": 10_000_000, "/imu": 100_000}
    taken = {"/camera": 0, "/imu": 0}
    for _ in range(2_020):
        result = queues.get(timeout=0)
        assert result is not None
        topic, _item = result
        taken[topic] += 1
        queues.charge(topic, cost[topic])
    assert taken == {"/camera": 20, "/imu": 2_000}


def test_an_idle_topic_earns_no_credit_to_flood_the_worker_later() -> None:
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/busy", depth=1_000)
    queues.add_topic("/late", depth=1_000)
    for i in range(100):
        queues.put("/busy", i)
    for _ in range(50):  # /busy alone uses 50 ms of worker time
        result = queues.get(timeout=0)
        assert result is not None
        queues.charge(result[0], 1_000_000)
    for i in range(100):
        queues.put("/late", i)
    order = []
    for _ in range(20):
        result = queues.get(timeout=0)
        assert result is not None
        order.append(result[0])
        queues.charge(result[0], 1_000_000)
    assert order.count("/late") == 10  # shares equally from now on, rather than 50 ms of catching up


def test_a_byte_bound_drops_the_oldest_big_messages() -> None:
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/camera", depth=1_000, max_bytes=10_000)
    for i in range(10):
        queues.put("/camera", i, size_bytes=3_000)
    assert [item for _t, item in queues.drain()] == [7, 8, 9]
    assert queues.counters()["/camera"].dropped_full == 7
    queues.add_topic("/huge", depth=10, max_bytes=10)
    queues.put("/huge", 1, size_bytes=1_000)  # a message larger than the bound still gets through alone
    assert queues.drain() == [("/huge", 1)]


def test_protected_topic_is_taken_first_and_big_frames_are_shed_for_it() -> None:
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/camera", depth=5, max_bytes=10_000)
    queues.add_topic("/imu", depth=3, protected=True)
    for index in range(4):
        queues.put("/camera", index, size_bytes=2_000)
    for index in range(6):  # twice its depth: each message past 3 costs the camera its oldest frame
        queues.put("/imu", 100 + index, size_bytes=50)
    counters = queues.counters()
    assert counters["/imu"].dropped_full == 0
    assert counters["/camera"].dropped_full == 3
    assert [item for _topic, item in queues.drain()] == [100, 101, 102, 103, 104, 105, 3]


def test_protected_topic_grows_to_its_bound_then_sheds_one_at_a_time() -> None:
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/camera", depth=5)
    queues.add_topic("/imu", depth=2, protected=True)
    queues.put("/camera", 0)
    bound = 2 * PROTECTED_GROWTH
    for index in range(bound + 5):  # nothing big left after the first: the IMU grows, then sheds its own
        queues.put("/imu", index)
    counters = queues.counters()
    assert counters["/camera"].dropped_full == 1  # shed for /imu's third message
    assert counters["/imu"].dropped_full == 5  # past its bound /imu keeps its size, dropping its own oldest
    assert [item for _topic, item in queues.drain()] == list(range(5, bound + 5))


def test_a_protected_queue_keeps_its_byte_bound() -> None:
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/tf", depth=2, max_bytes=1_000, protected=True)
    for index in range(10):  # 1,500 bytes asked for: the byte bound holds before the count bound
        queues.put("/tf", index, size_bytes=150)
    assert queues.counters()["/tf"].dropped_full == 4
    assert [item for _topic, item in queues.drain()] == [4, 5, 6, 7, 8, 9]


def test_discard_counts_what_a_shutdown_had_no_time_for() -> None:
    queues: TopicQueues[int] = TopicQueues()
    queues.add_topic("/a", depth=10)
    for index in range(4):
        queues.put("/a", index)
    assert queues.take_nowait() == ("/a", 0)
    assert queues.discard() == 3
    assert queues.counters()["/a"].dropped_shutdown == 3
    assert queues.take_nowait() is None
