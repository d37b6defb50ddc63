"""Bounded per-topic queues between DDS callbacks and conversion.

DDS callbacks only append here and return: they never convert, never write and never wait. Each topic
has its own bounded queue that drops its *oldest* message when full (the newest data is what a live view
wants), so a flood of images fills only the image queue and never starves ``/tf`` or a 1 kB state topic.
The worker takes messages by priority, then round-robin, so every topic keeps moving.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass(slots=True)
class QueueCounters:
    """What happened at one topic's queue; read by the diagnostics."""

    received: int = 0
    received_bytes: int = 0
    dropped_full: int = 0
    dropped_rate: int = 0
    taken: int = 0


@dataclass(slots=True)
class _TopicQueue(Generic[Item]):
    depth: int
    priority: int
    min_interval_ns: int
    items: deque[Item] = field(default_factory=deque)
    counters: QueueCounters = field(default_factory=QueueCounters)
    last_accepted_ns: int | None = None


class TopicQueues(Generic[Item]):
    """Thread-safe: many producer threads (DDS callbacks), one or more consumer threads."""

    def __init__(self) -> None:
        self._queues: dict[str, _TopicQueue[Item]] = {}
        self._order: list[str] = []  # round-robin order within a priority
        self._cursor = 0
        self._pending = 0
        self._closed = False
        self._condition = threading.Condition()

    def add_topic(self, topic: str, depth: int, priority: int = 0, rate_limit_hz: float = 0.0) -> None:
        if depth < 1:
            raise ValueError(f"queue depth of {topic} must be >= 1, got {depth}")
        interval = round(1e9 / rate_limit_hz) if rate_limit_hz > 0 else 0
        with self._condition:
            if topic not in self._queues:
                self._queues[topic] = _TopicQueue(depth, priority, interval)
                self._order.append(topic)
                self._order.sort(key=lambda name: -self._queues[name].priority)

    def put(self, topic: str, item: Item, size_bytes: int = 0, now_ns: int | None = None) -> bool:
        """Append without ever blocking; False when the message was dropped by the rate limit."""
        with self._condition:
            queue = self._queues.get(topic)
            if queue is None:
                return False
            queue.counters.received += 1
            queue.counters.received_bytes += size_bytes
            if queue.min_interval_ns:
                now = time.monotonic_ns() if now_ns is None else now_ns
                if (
                    queue.last_accepted_ns is not None
                    and now - queue.last_accepted_ns < queue.min_interval_ns
                ):
                    queue.counters.dropped_rate += 1
                    return False
                queue.last_accepted_ns = now
            if len(queue.items) >= queue.depth:
                queue.items.popleft()
                queue.counters.dropped_full += 1
                self._pending -= 1
            queue.items.append(item)
            self._pending += 1
            self._condition.notify()
            return True

    def get(self, timeout: float | None = None) -> tuple[str, Item] | None:
        """The next message: highest priority first, round-robin among equals; None on timeout or close."""
        with self._condition:
            if not self._condition.wait_for(lambda: self._pending > 0 or self._closed, timeout):
                return None
            if self._pending == 0:
                return None
            return self._take()

    def _take(self) -> tuple[str, Item]:
        best_priority = max(self._queues[name].priority for name in self._order if self._queues[name].items)
        count = len(self._order)
        for step in range(count):
            name = self._order[(self._cursor + step) % count]
            queue = self._queues[name]
            if queue.items and queue.priority == best_priority:
                self._cursor = (self._cursor + step + 1) % count
                self._pending -= 1
                queue.counters.taken += 1
                return name, queue.items.popleft()
        raise RuntimeError("pending count out of step with the queues")  # an invariant, not input

    def drain(self) -> list[tuple[str, Item]]:
        """Everything still queued, in priority order: what a clean shutdown converts before closing."""
        out: list[tuple[str, Item]] = []
        with self._condition:
            while self._pending:
                out.append(self._take())
        return out

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def counters(self) -> dict[str, QueueCounters]:
        with self._condition:
            return {
                name: QueueCounters(**{k: getattr(q.counters, k) for k in QueueCounters.__slots__})
                for name, q in self._queues.items()
            }

    def pending(self) -> int:
        with self._condition:
            return self._pending
