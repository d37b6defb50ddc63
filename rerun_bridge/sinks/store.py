"""The chunk store as a pipeline sink: rows go into an in-memory store that a viewer reads.

Bag loading uses it to fill the viewer's store; the live node uses it to feed the embedded viewer while
the window is open. The store is safe for one writer thread and any number of readers, so the sink needs
no lock of its own; ``flush`` has nothing to do (open buffers are queried as they are).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.store.chunk_store import ChunkStore

__all__ = ["LIVE_MEMORY_BUDGET_BYTES", "StoreSink", "live_store"]

#: A store fed live keeps this much temporal data; older chunks are evicted, oldest log_time first.
LIVE_MEMORY_BUDGET_BYTES: Final = 1 << 30


class StoreSink:
    """Appends every row it is given to ``store``; after :meth:`close` it takes no more."""

    def __init__(self, store: ChunkStore) -> None:
        self.store = store
        self.closed = False

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        if not self.closed:
            self.store.append_rows(rows, default_times)

    def write_columns(self, columns: ColumnRows) -> None:
        if not self.closed:
            self.store.append_columns(columns)  # one chunk, no work per row

    def flush(self, wait: bool = True) -> None:
        """Nothing to write out: readers see rows as soon as they are appended."""

    def close(self) -> None:
        self.closed = True


def live_store(memory_budget_bytes: int = LIVE_MEMORY_BUDGET_BYTES) -> ChunkStore:
    """A store for data that keeps arriving: bounded by a memory budget (static data is always kept)."""
    return ChunkStore(memory_budget_bytes=memory_budget_bytes)
