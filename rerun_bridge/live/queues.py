"""Bounded per-topic queues between DDS callbacks and conversion.

DDS callbacks only append here and return: they never convert, never write and never wait. Each topic
has its own queue, bounded by a message count and by bytes, that drops its *oldest* message when full (the
newest data is what a live view wants), so a flood of images fills only the image queue and never starves
``/tf`` or a 1 kB state topic.

The worker takes messages by priority, then by *cost*: it reports the time each message took
(:meth:`TopicQueues.charge`) and the next message comes from the waiting topic that has used the least
worker time so far. A cheap 400 Hz IMU therefore keeps up while a camera whose frames take milliseconds
shares what is left, instead of one message per topic in turn, which starves high-rate topics behind
expensive ones.

Under overload, *protected* topics (small state: IMU, TF, joints, odometry, logs, diagnostics; see
``topics.<topic>.protected``) come first and are shed last: they are taken before any unprotected topic,
and when a protected queue is full while an unprotected message waits anywhere, the oldest message of the
unprotected topic holding the most bytes is dropped instead. Either way a protected queue grows past its
depth, up to :data:`PROTECTED_GROWTH` times it (within its byte bound): small messages cost little, and a
worker held up by a slow disk for a second or two (at twice the reference load the files take 500 MB/s)
must not cost the IMU its samples once the big frames are all shed. Big frames go first; a protected
message is dropped only past that bound.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

Item = TypeVar("Item")
#: How far past its depth a protected queue may grow while unprotected messages can be shed instead.
PROTECTED_GROWTH = 10


@dataclass(slots=True)
class QueueCounters:
    """What happened at one topic's queue; read by the diagnostics."""

    received: int = 0
    received_bytes: int = 0
    dropped_full: int = 0
    dropped_rate: int = 0
    #: Left in the queue when a shutdown ran out of time (``shutdown_timeout_s``).
    dropped_shutdown: int = 0
    taken: int = 0


class _Queued(NamedTuple, Generic[Item]):
    item: Item
    size_bytes: int


@dataclass(slots=True)
class _TopicQueue(Generic[Item]):
    depth: int
    max_bytes: int
    priority: int
    min_interval_ns: int
    protected: bool = False
    items: deque[_Queued[Item]] = field(default_factory=deque)
    queued_bytes: int = 0
    counters: QueueCounters = field(default_factory=QueueCounters)
    #: When the rate limit takes the next message (None: the first is taken at once).
    next_due_ns: int | None = None
    #: Worker time spent on this topic (ns), on the scale of the queues' virtual clock.
    used_ns: int = 0
    #: When this topic was last served (a sequence number): round-robin among equal costs.
    last_taken: int = 0


def _past_protected_bound(queue: _TopicQueue[Item]) -> bool:
    """A protected queue past its hard bound: PROTECTED_GROWTH times its depth, or its bytes."""
    return len(queue.items) > queue.depth * PROTECTED_GROWTH or bool(
        queue.max_bytes and queue.queued_bytes > queue.max_bytes and len(queue.items) > 1
    )


def _over(queue: _TopicQueue[Item]) -> bool:
    """More than the queue's depth, or its bytes over the bound with more than one message waiting."""
    return len(queue.items) > queue.depth or bool(
        queue.max_bytes and queue.queued_bytes > queue.max_bytes and len(queue.items) > 1
    )


class TopicQueues(Generic[Item]):
    """Thread-safe: many producer threads (DDS callbacks), one or more consumer threads."""

    def __init__(self) -> None:
        self._queues: dict[str, _TopicQueue[Item]] = {}
        self._pending = 0
        self._closed = False
        # The least worker time of a busy topic: a topic that was idle starts from here, so a pause never
        # becomes credit to flood the worker with later.
        self._virtual_ns = 0
        self._takes = 0
        self._condition = threading.Condition()

    def add_topic(
        self,
        topic: str,
        depth: int,
        priority: int = 0,
        rate_limit_hz: float = 0.0,
        max_bytes: int = 0,
        protected: bool = False,
    ) -> None:
        """``depth`` messages and ``max_bytes`` bytes (0: no byte bound) at most wait for conversion;
        ``protected``: taken first, shed last (see the module's doc)."""
        if depth < 1:
            raise ValueError(f"queue depth of {topic} must be >= 1, got {depth}")
        interval = round(1e9 / rate_limit_hz) if rate_limit_hz > 0 else 0
        with self._condition:
            if topic not in self._queues:
                self._queues[topic] = _TopicQueue(depth, max_bytes, priority, interval, protected)

    def put(self, topic: str, item: Item, size_bytes: int = 0, now_ns: int | None = None) -> bool:
        """Append without ever blocking; False when the message was refused (rate limit, unknown topic)."""
        with self._condition:
            queue = self._queues.get(topic)
            if queue is None:
                return False
            queue.counters.received += 1
            queue.counters.received_bytes += size_bytes
            if queue.min_interval_ns:
                now = time.monotonic_ns() if now_ns is None else now_ns
                due = queue.next_due_ns
                if due is not None and now < due:
                    queue.counters.dropped_rate += 1
                    return False
                # Due times a period apart, not a period after each arrival: arrivals jitter, and a
                # 10 Hz limit on a 30 Hz topic kept every fourth message, 7.6 Hz (found by an audit).
                # A due time left far behind (the topic paused) counts one period back, not a burst.
                interval = queue.min_interval_ns
                queue.next_due_ns = (now if due is None else max(due, now - interval)) + interval
            if not queue.items:
                queue.used_ns = max(queue.used_ns, self._virtual_ns)
            queue.items.append(_Queued(item, size_bytes))
            queue.queued_bytes += size_bytes
            self._pending += 1
            if _over(queue):
                if not queue.protected:
                    while _over(queue):
                        self._drop_oldest(queue)
                elif not self._shed_for(queue) and _past_protected_bound(queue):
                    self._drop_oldest(queue)  # nothing else to shed and no room left: its own oldest
            self._condition.notify()
            return True

    def _drop_oldest(self, queue: _TopicQueue[Item]) -> None:
        queue.queued_bytes -= queue.items.popleft().size_bytes
        queue.counters.dropped_full += 1
        self._pending -= 1

    def _shed_for(self, protected: _TopicQueue[Item]) -> bool:
        """Room for a full protected queue: drop the oldest message of the unprotected topic holding the
        most bytes; False when none waits or the protected queue reached its hard bound."""
        if len(protected.items) > protected.depth * PROTECTED_GROWTH:
            return False
        victim = max(
            (q for q in self._queues.values() if q.items and not q.protected),
            key=lambda q: q.queued_bytes,
            default=None,
        )
        if victim is None:
            return False
        self._drop_oldest(victim)
        return True

    def get(self, timeout: float | None = None) -> tuple[str, Item] | None:
        """The next message: highest priority first, then the topic that used the least worker time;
        None on timeout or close."""
        with self._condition:
            if not self._condition.wait_for(lambda: self._pending > 0 or self._closed, timeout):
                return None
            if self._pending == 0:
                return None
            return self._take()

    def charge(self, topic: str, cost_ns: int) -> None:
        """Account the worker time one of ``topic``'s messages took."""
        with self._condition:
            queue = self._queues.get(topic)
            if queue is not None:
                queue.used_ns += max(cost_ns, 0)

    def _take(self) -> tuple[str, Item]:
        chosen_name, chosen = "", None
        for name, queue in self._queues.items():
            if queue.items and (
                chosen is None
                or (not queue.protected, -queue.priority, queue.used_ns, queue.last_taken)
                < (not chosen.protected, -chosen.priority, chosen.used_ns, chosen.last_taken)
            ):
                chosen_name, chosen = name, queue
        if chosen is None:
            raise RuntimeError("pending count out of step with the queues")  # an invariant, not input
        self._virtual_ns = max(self._virtual_ns, chosen.used_ns)
        self._pending -= 1
        self._takes += 1
        chosen.last_taken = self._takes
        chosen.counters.taken += 1
        queued = chosen.items.popleft()
        chosen.queued_bytes -= queued.size_bytes
        return chosen_name, queued.item

    def drain(self) -> list[tuple[str, Item]]:
        """Everything still queued, in priority order: what a clean shutdown converts before closing."""
        out: list[tuple[str, Item]] = []
        with self._condition:
            while self._pending:
                out.append(self._take())
        return out

    def take_nowait(self) -> tuple[str, Item] | None:
        """The next message in :meth:`get`'s order, without waiting (also after close); None when empty."""
        with self._condition:
            return self._take() if self._pending else None

    def discard(self) -> int:
        """Drop everything still queued, counted as ``dropped_shutdown``: what a shutdown had no time for."""
        with self._condition:
            discarded = self._pending
            for queue in self._queues.values():
                queue.counters.dropped_shutdown += len(queue.items)
                queue.items.clear()
                queue.queued_bytes = 0
            self._pending = 0
            return discarded

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
