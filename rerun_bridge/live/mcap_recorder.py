"""The raw MCAP re-recording on a thread of its own.

DDS callbacks hand the received bytes straight to :meth:`McapRecorder.put`, which only appends to a list:
chunk compression and disk writes happen on the recorder's thread (zstd and lz4 release the GIL while they
work), so recording never waits on conversion and conversion never waits on the disk. The MCAP file gets
every message the rate limits accept, even when the conversion queues drop some under overload. When the
disk cannot keep up, at most ``max_pending_bytes`` wait in memory; beyond that new messages are refused and
counted per topic.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass

from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.sinks.rotation import RotatingMcapSink

#: Memory that may wait for the disk: about 1.5 s of two 720p cameras and a lidar.
DEFAULT_MAX_PENDING_BYTES = 256 << 20


@dataclass(frozen=True, slots=True)
class _Pending:
    channel_id: int
    log_time_ns: int
    publish_time_ns: int
    data: bytes


class McapRecorder:
    """Owns a :class:`RotatingMcapSink`; thread-safe ``add_topic`` / ``put``, one writer thread."""

    def __init__(
        self,
        sink: RotatingMcapSink,
        flush_seconds: float = 1.0,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
    ) -> None:
        self.sink = sink
        self.flush_seconds = flush_seconds
        self.max_pending_bytes = max_pending_bytes
        self._pending: list[_Pending] = []
        self._pending_bytes = 0
        self._topics: dict[int, str] = {}
        self._refused: Counter[str] = Counter()
        self._written = 0
        self._stopping = False
        self._condition = threading.Condition()
        # Held while the sink is used: the writer thread writes, ``add_topic`` registers channels.
        self._sink_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="rerun_bridge-mcap", daemon=True)
        self._thread.start()

    def add_topic(
        self, topic: str, type_name: str, definition: MessageDefinition, qos_profiles: str, latched: bool
    ) -> int:
        with self._sink_lock:
            channel_id = self.sink.add_topic(topic, type_name, definition, qos_profiles, latched=latched)
        with self._condition:
            self._topics[channel_id] = topic
        return channel_id

    def put(self, channel_id: int, log_time_ns: int, publish_time_ns: int, data: bytes) -> bool:
        """Queue one message without blocking; False when refused (too much already waits for the disk)."""
        with self._condition:
            if self._stopping:
                return False
            if self._pending_bytes + len(data) > self.max_pending_bytes and self._pending:
                self._refused[self._topics.get(channel_id, str(channel_id))] += 1
                return False
            self._pending.append(_Pending(channel_id, log_time_ns, publish_time_ns, data))
            self._pending_bytes += len(data)
            self._condition.notify()
            return True

    def refused(self) -> dict[str, int]:
        """Messages refused per topic because the disk fell behind."""
        with self._condition:
            return dict(self._refused)

    @property
    def messages_written(self) -> int:
        with self._condition:
            return self._written

    def _take(self, timeout: float) -> list[_Pending]:
        with self._condition:
            self._condition.wait_for(lambda: bool(self._pending) or self._stopping, timeout)
            taken, self._pending, self._pending_bytes = self._pending, [], 0
            return taken

    def _write(self, messages: list[_Pending]) -> None:
        with self._sink_lock:
            for message in messages:
                self.sink.write(
                    message.channel_id, message.log_time_ns, message.publish_time_ns, message.data
                )
        with self._condition:
            self._written += len(messages)

    def _run(self) -> None:
        next_flush = time.monotonic() + self.flush_seconds
        while True:
            with self._condition:
                stopping = self._stopping
            messages = self._take(max(next_flush - time.monotonic(), 0.0))
            self._write(messages)
            if time.monotonic() >= next_flush:
                with self._sink_lock:
                    self.sink.flush()
                next_flush = time.monotonic() + self.flush_seconds
            if stopping and not messages:
                return

    def close(self) -> None:
        """Write everything still queued, then the MCAP summary."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        self._thread.join()
        self._write(self._take(0.0))
        with self._sink_lock:
            self.sink.close()
