"""Per-topic live statistics: received, rate, bytes/s, drops, losses, errors and receive -> stored latency."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from rerun_bridge.live.queues import QueueCounters

LATENCY_WINDOW = 2048


@dataclass(frozen=True, slots=True)
class TopicReport:
    """One topic's numbers at one moment: a diagnostics status and a line of the shutdown summary."""

    topic: str
    type_name: str
    received: int
    stored: int
    rate_hz: float
    bytes_per_s: float
    #: Dropped by the bridge's own queues (full) and rate limits.
    dropped: int
    errors: int
    latency_p50_ms: float
    latency_p99_ms: float
    #: Samples DDS reported as lost before they reached the bridge (the message_lost event).
    lost_in_dds: int = 0
    #: Messages the MCAP recorder refused because the disk fell behind.
    mcap_refused: int = 0

    @property
    def problem(self) -> bool:
        return bool(self.dropped or self.errors or self.lost_in_dds or self.mcap_refused)

    def as_key_values(self) -> dict[str, str]:
        return {
            "type": self.type_name,
            "received": str(self.received),
            "stored": str(self.stored),
            "rate_hz": f"{self.rate_hz:.2f}",
            "bytes_per_s": f"{self.bytes_per_s:.0f}",
            "dropped": str(self.dropped),
            "conversion_errors": str(self.errors),
            "latency_p50_ms": f"{self.latency_p50_ms:.2f}",
            "latency_p99_ms": f"{self.latency_p99_ms:.2f}",
            "lost_in_dds": str(self.lost_in_dds),
            "mcap_refused": str(self.mcap_refused),
        }


@dataclass(slots=True)
class _Window:
    type_name: str
    stored: int = 0
    errors: int = 0
    lost_in_dds: int = 0
    latencies_ns: deque[int] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    last_received: int = 0
    last_bytes: int = 0
    last_time_ns: int | None = None
    rate_hz: float = 0.0
    bytes_per_s: float = 0.0


class LiveStats:
    """Written by the conversion worker, read by the diagnostics timer; guarded by one lock."""

    def __init__(self) -> None:
        self._topics: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def add_topic(self, topic: str, type_name: str) -> None:
        with self._lock:
            self._topics.setdefault(topic, _Window(type_name))

    def record_stored(self, topic: str, latency_ns: int) -> None:
        with self._lock:
            window = self._topics[topic]
            window.stored += 1
            window.latencies_ns.append(max(latency_ns, 0))

    def record_error(self, topic: str) -> None:
        with self._lock:
            self._topics[topic].errors += 1

    def record_lost(self, topic: str, count: int) -> None:
        with self._lock:
            window = self._topics.get(topic)
            if window is not None:
                window.lost_in_dds += max(count, 0)

    def report(
        self,
        counters: dict[str, QueueCounters],
        now_ns: int,
        mcap_refused: dict[str, int] | None = None,
    ) -> list[TopicReport]:
        """Reports for every topic; rates are over the time since the previous call."""
        reports = []
        with self._lock:
            for topic, window in sorted(self._topics.items()):
                counter = counters.get(topic, QueueCounters())
                if window.last_time_ns is not None and now_ns > window.last_time_ns:
                    elapsed = (now_ns - window.last_time_ns) / 1e9
                    window.rate_hz = (counter.received - window.last_received) / elapsed
                    window.bytes_per_s = (counter.received_bytes - window.last_bytes) / elapsed
                window.last_time_ns = now_ns
                window.last_received = counter.received
                window.last_bytes = counter.received_bytes
                latencies = np.fromiter(window.latencies_ns, dtype=np.int64)
                p50, p99 = (np.percentile(latencies, [50, 99]) / 1e6) if latencies.size else (0.0, 0.0)
                reports.append(
                    TopicReport(
                        topic=topic,
                        type_name=window.type_name,
                        received=counter.received,
                        stored=window.stored,
                        rate_hz=window.rate_hz,
                        bytes_per_s=window.bytes_per_s,
                        dropped=counter.dropped_full + counter.dropped_rate + counter.dropped_shutdown,
                        errors=window.errors,
                        latency_p50_ms=float(p50),
                        latency_p99_ms=float(p99),
                        lost_in_dds=window.lost_in_dds,
                        mcap_refused=(mcap_refused or {}).get(topic, 0),
                    )
                )
        return reports
