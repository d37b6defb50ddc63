"""A bounded queue of finished chunks between the conversion worker and a network sender.

The worker puts and never waits: when the queue is full (bytes or chunks), the oldest chunk is dropped and
counted, because a live view wants the newest data and the robot's recording must never wait on a network.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import pyarrow as pa


@dataclass(frozen=True, slots=True)
class QueuedChunk:
    entity_path: str
    static: bool
    batch: pa.RecordBatch
    #: The batch's bytes, measured once (Arrow walks every buffer each time it is asked).
    nbytes: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nbytes", int(self.batch.nbytes))


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """What passed through a chunk queue so far."""

    queued_chunks: int
    queued_bytes: int
    dropped_chunks: int
    dropped_bytes: int


class ChunkQueue:
    """Thread-safe; one or more producers, one consumer. A chunk bigger than the whole bound still goes in
    (alone): dropping it would drop every image of a large camera."""

    def __init__(self, max_bytes: int, max_chunks: int = 4096) -> None:
        self.max_bytes = max_bytes
        self.max_chunks = max_chunks
        self._items: deque[QueuedChunk] = deque()
        self._bytes = 0
        self._dropped_chunks = 0
        self._dropped_bytes = 0
        self._condition = threading.Condition()

    def put(self, chunk: QueuedChunk) -> None:
        with self._condition:
            size = chunk.nbytes
            while self._items and (
                self._bytes + size > self.max_bytes or len(self._items) >= self.max_chunks
            ):
                oldest = self._items.popleft()
                self._bytes -= oldest.nbytes
                self._dropped_chunks += 1
                self._dropped_bytes += oldest.nbytes
            self._items.append(chunk)
            self._bytes += size
            self._condition.notify()

    def get(self, timeout: float) -> QueuedChunk | None:
        with self._condition:
            if not self._items:
                self._condition.wait(timeout)
            if not self._items:
                return None
            chunk = self._items.popleft()
            self._bytes -= chunk.nbytes
            return chunk

    def drop_all(self) -> None:
        """Drop what waits (counted): the receiver is gone and the data would be stale when it returns."""
        with self._condition:
            self._dropped_chunks += len(self._items)
            self._dropped_bytes += self._bytes
            self._items.clear()
            self._bytes = 0

    def count_dropped(self, chunks: int, nbytes: int) -> None:
        """Chunks lost after they left the queue (handed to a connection that then failed)."""
        with self._condition:
            self._dropped_chunks += chunks
            self._dropped_bytes += nbytes

    def counts(self) -> QueueCounts:
        with self._condition:
            return QueueCounts(len(self._items), self._bytes, self._dropped_chunks, self._dropped_bytes)
