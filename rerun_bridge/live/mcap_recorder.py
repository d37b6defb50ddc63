"""The raw MCAP re-recording on a thread of its own.

DDS callbacks hand the received bytes straight to :meth:`McapRecorder.put`, which only appends to a list:
chunk compression and disk writes happen on the recorder's thread (zstd and lz4 release the GIL while they
work), so recording never waits on conversion and conversion never waits on the disk. The MCAP file gets
every message the rate limits accept, even when the conversion queues drop some under overload. When the
disk cannot keep up, at most ``max_pending_bytes`` wait in memory; beyond that new messages are refused and
counted per topic.

The thread never dies: a full disk pauses the file (:class:`RotatingMcapSink`), and any other error of a
write or flush is reported once (``report``) and the thread goes on with the next messages.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.sinks.rotation import RotatingMcapSink

#: Memory that may wait for the disk: about 1.5 s of two 720p cameras and a lidar.
DEFAULT_MAX_PENDING_BYTES = 256 << 20
#: Room beyond it for protected topics: minutes of IMU, TF and joint states.
PROTECTED_EXTRA_BYTES = 32 << 20


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
        report: Callable[[int, str], None] = lambda _level, text: print(text),
    ) -> None:
        self.sink = sink
        self.report = report
        self._reported: set[str] = set()
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

    def put(
        self, channel_id: int, log_time_ns: int, publish_time_ns: int, data: bytes, protected: bool = False
    ) -> bool:
        """Queue one message without blocking; False when refused (too much already waits for the disk).
        A ``protected`` topic's messages (small state) may go :data:`PROTECTED_EXTRA_BYTES` past the bound:
        big frames are refused first."""
        with self._condition:
            if self._stopping:
                return False
            bound = self.max_pending_bytes + (PROTECTED_EXTRA_BYTES if protected else 0)
            if self._pending_bytes + len(data) > bound and self._pending:
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
                self._safely(
                    "write",
                    lambda m=message: self.sink.write(  # type: ignore[misc]
                        m.channel_id, m.log_time_ns, m.publish_time_ns, m.data
                    ),
                )
        with self._condition:
            self._written += len(messages)

    def _safely(self, what: str, action: Callable[[], None]) -> None:
        """Run one sink call; an unexpected error is reported once per kind, never ends the thread."""
        try:
            action()
        except Exception as err:  # the recorder must outlive any one message or flush
            text = f"MCAP recording ({self.sink.current.path}): {what} failed: {err!r}"
            key = f"{what}:{type(err).__name__}"
            if key not in self._reported:
                self._reported.add(key)
                self.report(logging.ERROR, text)

    def _flush(self) -> None:
        with self._sink_lock:
            self._safely("flush", self.sink.flush)

    def _run(self) -> None:
        next_flush = time.monotonic() + self.flush_seconds
        while True:
            with self._condition:
                stopping = self._stopping
            messages = self._take(max(next_flush - time.monotonic(), 0.0))
            self._write(messages)
            if time.monotonic() >= next_flush:
                self._flush()
                next_flush = time.monotonic() + self.flush_seconds
            if stopping and not messages:
                return

    def close(self, timeout: float | None = None) -> bool:
        """Write everything still queued, then the MCAP summary; False when the thread did not finish
        within ``timeout`` seconds (a disk that stopped answering): the file is then left as it is."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        self._write(self._take(0.0))
        with self._sink_lock:
            self._safely("close", self.sink.close)
        return True
