"""The MCAP recorder thread: every accepted message lands in order, refusals are counted, files close."""

from __future__ import annotations

import threading
from pathlib import Path

from rerun_bridge.live.mcap_recorder import McapRecorder
from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.sinks.rotation import RotatingMcapSink, RotationPolicy
from rerun_bridge.sources.bag import open_bag

STRING = MessageDefinition("ros2msg", "string data")


def cdr_string(text: str) -> bytes:
    encoded = text.encode() + b"\x00"
    return b"\x00\x01\x00\x00" + len(encoded).to_bytes(4, "little") + encoded


def recorder_at(path: Path, flush_seconds: float = 1.0, max_pending_bytes: int = 1 << 20) -> McapRecorder:
    return McapRecorder(RotatingMcapSink(str(path), RotationPolicy()), flush_seconds, max_pending_bytes)


def test_messages_from_several_threads_land_in_order_per_topic(tmp_path: Path) -> None:
    recorder = recorder_at(tmp_path / "out.mcap", flush_seconds=0.05)
    channels = {
        topic: recorder.add_topic(topic, "std_msgs/msg/String", STRING, "", latched=False)
        for topic in ("/a", "/b", "/c")
    }

    def publish(topic: str) -> None:
        for i in range(500):
            assert recorder.put(channels[topic], 1_000 + i, 1_000 + i, cdr_string(f"{topic} {i}"))

    threads = [threading.Thread(target=publish, args=(topic,)) for topic in channels]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.close()
    assert recorder.messages_written == 1500
    received: dict[str, list[int]] = {}
    with open_bag(tmp_path / "out.mcap") as bag:
        for message in bag.messages():
            received.setdefault(message.topic, []).append(message.log_time_ns)
    assert {topic: len(times) for topic, times in received.items()} == {"/a": 500, "/b": 500, "/c": 500}
    assert all(times == sorted(times) for times in received.values())
    assert recorder.refused() == {}


def test_over_the_memory_bound_new_messages_are_refused_and_counted(tmp_path: Path) -> None:
    recorder = recorder_at(tmp_path / "out.mcap", max_pending_bytes=1_000)
    channel = recorder.add_topic("/big", "std_msgs/msg/String", STRING, "", latched=False)
    big = cdr_string("x" * 600)
    # The writer thread may take some in between; at least the puts past the bound while it sleeps fail.
    results = [recorder.put(channel, i, i, big) for i in range(200)]
    recorder.close()
    refused = recorder.refused().get("/big", 0)
    assert refused == results.count(False) > 0
    assert recorder.messages_written == results.count(True)
    with open_bag(tmp_path / "out.mcap") as bag:
        assert sum(1 for _ in bag.messages()) == results.count(True)


def test_puts_after_close_are_refused_and_the_file_is_complete(tmp_path: Path) -> None:
    recorder = recorder_at(tmp_path / "out.mcap")
    channel = recorder.add_topic("/a", "std_msgs/msg/String", STRING, "", latched=False)
    assert recorder.put(channel, 1, 1, cdr_string("before"))
    recorder.close()
    assert not recorder.put(channel, 2, 2, cdr_string("after"))
    with open_bag(tmp_path / "out.mcap") as bag:
        assert [m.log_time_ns for m in bag.messages()] == [1]
