"""The conversion worker without DDS: real decoders, the real pipeline and a real .rrd writer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.live.queues import TopicQueues
from rerun_bridge.live.stats import LiveStats
from rerun_bridge.live.worker import ConversionWorker, LiveMessage, LiveTopic
from rerun_bridge.pipeline import Pipeline
from rerun_bridge.sinks.rotation import RotatingRrdSink, RotationPolicy
from test.conftest import rrd_row_count
from test.convert.golden_harness import CollectingSink, build_message

STRING = "std_msgs/msg/String"


def cdr_string(text: str) -> bytes:
    encoded = text.encode() + b"\x00"
    return b"\x00\x01\x00\x00" + len(encoded).to_bytes(4, "little") + encoded


def worker_writing(
    path: Path, rrd_backlog_bytes: int, rotation: RotationPolicy | None = None
) -> tuple[ConversionWorker, RotatingRrdSink]:
    sink = RotatingRrdSink(
        str(path),
        rotation or RotationPolicy(),
        application_id="test",
        recording_id="worker-test",
        backlog_bytes=rrd_backlog_bytes,
    )
    pipeline = Pipeline([sink])
    pipeline.add_topic("/chatter", STRING)
    stats = LiveStats()
    stats.add_topic("/chatter", STRING)
    worker = ConversionWorker(TopicQueues(), pipeline, stats, flush_seconds=0.0)
    decoder = TypeResolver([], "kilted").choose(STRING).decoder
    assert decoder is not None
    worker.add_topic("/chatter", LiveTopic(STRING, decoder))
    return worker, sink


def marker_worker(
    type_name: str, log_clock: Callable[[], int] | None = None
) -> tuple[ConversionWorker, CollectingSink, Any]:
    """A worker converting ``/markers`` of ``type_name`` into a collecting sink; its typestore to build
    messages with."""
    choice = TypeResolver([], "jazzy").choose(type_name)
    assert choice.decoder is not None
    assert choice.typestore is not None
    sink = CollectingSink()
    pipeline = Pipeline([sink])
    pipeline.add_topic("/markers", type_name)
    stats = LiveStats()
    stats.add_topic("/markers", type_name)
    worker = ConversionWorker(TopicQueues(), pipeline, stats, flush_seconds=0.0, log_clock=log_clock)
    worker.add_topic("/markers", LiveTopic(type_name, choice.decoder))
    return worker, sink, choice.typestore


def feed(worker: ConversionWorker, count: int) -> None:
    for index in range(count):
        now = time.monotonic_ns()
        worker.handle("/chatter", LiveMessage(cdr_string(f"hello {index}" * 50), index * 1_000, now, index))


def test_past_the_backlog_bound_the_flush_waits_until_the_file_holds_everything(tmp_path: Path) -> None:
    worker, sink = worker_writing(tmp_path / "w.rrd", rrd_backlog_bytes=1)
    feed(worker, 300)
    worker.flush_if_due()  # the backlog (everything sent) is past 1 byte: this flush waits
    assert sink.sent_bytes > 300 * 50 * len("hello 0")
    assert rrd_row_count(tmp_path / "w.rrd", "/chatter", "TextLog:text") == 300  # on disk, file still open
    feed(worker, 200)
    worker.flush_if_due()
    assert rrd_row_count(tmp_path / "w.rrd", "/chatter", "TextLog:text") == 500
    sink.close()


def test_sent_bytes_add_up_over_rotated_parts(tmp_path: Path) -> None:
    """Rotation closes parts; the backlog count must not restart from zero with each new part."""
    worker, sink = worker_writing(tmp_path / "r.rrd", 1 << 40, RotationPolicy(max_seconds=1e-9))
    feed(worker, 50)
    worker.flush_if_due()  # hands the rows to Rerun, then rotates (every part is due at once)
    after_first = sink.sent_bytes
    feed(worker, 50)
    worker.flush_if_due()
    assert len(sink.paths) >= 3
    assert sink.sent_bytes > after_first > 0
    sink.close()
    total = sum(rrd_row_count(path, "/chatter", "TextLog:text") for path in sink.paths)
    assert total == 100


def test_a_marker_whose_publisher_goes_quiet_disappears_at_its_expiry_and_at_shutdown() -> None:
    """Live, no later message may come: the worker writes expired lifetimes as its log clock passes them
    (each flush), and what is still pending when it stops."""
    marker_type = "visualization_msgs/msg/Marker"
    now = [0]
    worker, sink, typestore = marker_worker(marker_type, log_clock=lambda: now[0])
    second = 1_000_000_000

    def publish(marker_id: int, log_time: int) -> None:
        fields = {
            "header": {"stamp": {"sec": log_time // second}, "frame_id": "map"},
            "id": marker_id,
            "type": 1,
            "pose": {"orientation": {"w": 1.0}},
            "scale": {"x": 1.0, "y": 1.0, "z": 1.0},
            "lifetime": {"sec": 1},
        }
        message = build_message(typestore, marker_type, fields)
        payload = bytes(typestore.serialize_cdr(message, marker_type))
        worker.handle("/markers", LiveMessage(payload, log_time, time.monotonic_ns(), log_time))

    def clears() -> list[tuple[str, int]]:
        return [(w.row.entity_path, w.times["log_time"]) for w in sink.rows if w.row.archetype == "Clear"]

    start = 100 * second
    publish(1, start)
    now[0] = start + second // 2
    worker.flush_if_due()
    assert clears() == []  # still within its lifetime
    now[0] = start + 3 * second // 2
    worker.flush_if_due()
    assert clears() == [("/markers/_/1", start + second)]  # at its expiry, not at the clock's time
    publish(2, start + 2 * second)
    worker.stop(drain=True)
    assert clears() == [("/markers/_/1", start + second), ("/markers/_/2", start + 3 * second)]


def test_live_marker_arrays_update_the_topics_markers() -> None:
    """The live worker goes through the same pipeline as a conversion: a DELETE in a later array removes
    exactly its marker from its namespace-and-type row, a MODIFY moves one."""
    array_type = "visualization_msgs/msg/MarkerArray"
    worker, sink, typestore = marker_worker(array_type)

    def cube(marker_id: int, x: float, action: int = 0) -> dict[str, object]:
        return {
            "header": {"frame_id": "map"},
            "ns": "p",
            "id": marker_id,
            "type": 1,
            "action": action,
            "pose": {"position": {"x": x}, "orientation": {"w": 1.0}},
            "scale": {"x": 1.0, "y": 1.0, "z": 1.0},
        }

    def publish(log_time: int, markers: list[dict[str, object]]) -> None:
        message = build_message(typestore, array_type, {"markers": markers})
        payload = bytes(typestore.serialize_cdr(message, array_type))
        worker.handle("/markers", LiveMessage(payload, log_time, time.monotonic_ns(), log_time))

    publish(1, [cube(1, 1.0), cube(2, 2.0), cube(3, 3.0)])
    publish(2, [cube(2, 0.0, action=2)])
    publish(3, [cube(3, 30.0)])
    worker.stop(drain=True)
    drawn = [
        (written.times["log_time"], [float(center[0]) for center in written.row.components["centers"]])
        for written in sink.rows
        if written.row.entity_path == "/markers/p/CUBE" and written.row.archetype == "Boxes3D"
    ]
    assert drawn == [(1, [1.0, 2.0, 3.0]), (2, [1.0, 3.0]), (3, [1.0, 30.0])]


def test_the_idle_hook_runs_once_everything_queued_is_converted(tmp_path: Path) -> None:
    """The network sinks send their batched rows when the worker runs dry, not only on their timers: the
    hook runs on the worker's thread after its last queued message, never while messages wait."""
    worker, sink = worker_writing(tmp_path / "idle.rrd", 1 << 40)
    worker.queues.add_topic("/chatter", depth=100)
    pending_at_idle: list[int] = []
    ran_dry = threading.Event()

    def on_idle() -> None:
        pending_at_idle.append(worker.queues.pending())
        ran_dry.set()

    worker.on_idle = on_idle
    for index in range(20):
        worker.queues.put("/chatter", LiveMessage(cdr_string(f"m{index}"), index, 0, index))
    worker.start()
    assert ran_dry.wait(10.0)
    worker.stop(drain=True)
    sink.close()
    assert pending_at_idle
    assert set(pending_at_idle) == {0}
    assert rrd_row_count(tmp_path / "idle.rrd", "/chatter", "TextLog:text") == 20
