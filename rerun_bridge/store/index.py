"""Per-entity, per-timeline query index over sealed chunks: latest-at in O(log n) numpy calls.

Components of one entity are resolved independently (as in Rerun's latest-at), but components that
occupy exactly the same rows (one archetype logged together, no nulls) share one :class:`SegmentGroup`,
so the search runs once per group, not once per component.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

import numpy as np
import pyarrow as pa

from rerun_bridge.store.chunk import Chunk, TimeIndex


class RowSource(Protocol):
    """Where a latest-at hit reads its value: a sealed chunk or an open buffer."""

    def value(self, component: str, row: int) -> pa.Array: ...


class Hit(NamedTuple):
    """The latest row found for a component: compared by ``(time, row_id)``."""

    time: int
    row_id: int
    source: RowSource
    row: int

    def is_later_than(self, other: Hit | None) -> bool:
        return other is None or (self.time, self.row_id) > (other.time, other.row_id)


class SegmentGroup:
    """The chunks holding some components, each with the sorted index of the rows that hold them."""

    __slots__ = ("components", "maxs", "mins", "segments")

    def __init__(self, segments: Sequence[tuple[Chunk, TimeIndex]]) -> None:
        maxs = np.array([index.max_time for _, index in segments], dtype=np.int64)
        last_row_ids = np.array([index.last_row_id for _, index in segments], dtype=np.int64)
        # Sorted by (max time, last row id): the last segment ending at or before t holds the best
        # candidate among all segments that lie wholly before t.
        order = np.lexsort((last_row_ids, maxs))
        self.segments = [segments[position] for position in order]
        self.maxs = maxs[order]
        self.mins = np.array([index.min_time for _, index in self.segments], dtype=np.int64)
        self.components: list[str] = []

    def latest(self, time: int) -> Hit | None:
        """The latest row at or before ``time`` over all segments."""
        best: Hit | None = None
        before = int(np.searchsorted(self.maxs, time, side="right"))
        if before:
            chunk, index = self.segments[before - 1]
            best = Hit(index.max_time, index.last_row_id, chunk, int(index.rows[-1]))
        if before < len(self.segments):
            # Segments that start at or before `time` but end after it: search inside each.
            for offset in np.flatnonzero(self.mins[before:] <= time):
                chunk, index = self.segments[before + int(offset)]
                position = index.latest_position(time)
                hit = Hit(
                    int(index.times[position]), int(index.row_ids[position]), chunk, int(index.rows[position])
                )
                if hit.is_later_than(best):
                    best = hit
        return best


class TimelineIndex:
    """The sealed temporal chunks of one entity on one timeline, as of one version of the entity."""

    __slots__ = ("chunks", "groups", "maxs", "mins", "timeline", "version")

    def __init__(self, chunks: Sequence[Chunk], timeline: str, version: int) -> None:
        self.timeline = timeline
        self.version = version
        self.chunks = tuple(chunk for chunk in chunks if timeline in chunk.time_indices)
        self.mins = np.array([chunk.time_indices[timeline].min_time for chunk in self.chunks], dtype=np.int64)
        self.maxs = np.array([chunk.time_indices[timeline].max_time for chunk in self.chunks], dtype=np.int64)
        segments: dict[str, list[tuple[Chunk, TimeIndex]]] = {}
        for chunk in self.chunks:
            for component in chunk.components:
                index = chunk.index(timeline, component)
                if len(index.times):
                    segments.setdefault(component, []).append((chunk, index))
        groups: dict[tuple[int, ...], SegmentGroup] = {}
        for component, component_segments in segments.items():
            # The TimeIndex objects identify the rows: shared ones mean the same rows.
            key = tuple(id(index) for _, index in component_segments)
            group = groups.get(key)
            if group is None:
                group = groups[key] = SegmentGroup(component_segments)
            group.components.append(component)
        self.groups = list(groups.values())

    def latest(self, time: int) -> dict[str, Hit]:
        """For each component, the latest row at or before ``time``."""
        hits: dict[str, Hit] = {}
        for group in self.groups:
            hit = group.latest(time)
            if hit is not None:
                for component in group.components:
                    hits[component] = hit
        return hits

    def overlapping(self, start: int, end: int) -> list[Chunk]:
        """Chunks with rows in ``[start, end]`` on this timeline, in sealing order."""
        positions = np.flatnonzero((self.mins <= end) & (self.maxs >= start))
        return [self.chunks[int(position)] for position in positions]

    def bounds(self) -> tuple[int, int] | None:
        if not self.chunks:
            return None
        return int(self.mins.min()), int(self.maxs.max())
