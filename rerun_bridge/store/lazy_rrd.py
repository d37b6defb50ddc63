"""A .rrd file opened through its index: chunks loaded on demand for the time shown, under a memory budget.

:class:`LazyRrd` puts a file's static chunks into a :class:`ChunkStore` at once and declares the rest
(entities, timelines, time bounds) from the index, so the time panel and the entity tree see the whole
recording before any of it is loaded. :meth:`LazyRrd.show` then loads what the latest-at queries at one
time need and unloads the least recently needed chunks while the loaded ones exceed the budget.

What one time needs, per entity and component on the timeline shown: the chunks whose rows span the time,
the chunk(s) that end last before it (the latest row may be there, unless a spanning chunk starts after
them) and, when no chunk spans the time, the chunk that starts first after it (the next row, for TF
interpolation). Chunks needed now are never unloaded, even past the budget.
A recording that fits the budget whole is loaded whole at once: it behaves as if read eagerly.

Series that views show as whole histories (plots, text logs, map tracks: :data:`SERIES_ARCHETYPES`) are
loaded whole at open and kept, outside the budget: they are small next to images and clouds, and a plot
of only the loaded stretch would mislead.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.store.columns import StoreError
from rerun_bridge.store.rrd_file import ChunkEntry, RrdIndex, decode_chunk, read_chunk_bytes

__all__ = ["DEFAULT_MEMORY_BUDGET_BYTES", "LazyRrd", "LoadCounts", "SpanGroup"]

DEFAULT_MEMORY_BUDGET_BYTES: Final = 512 * 1024 * 1024
#: Archetypes whose views read whole ranges rather than one time: their chunks are always loaded.
SERIES_ARCHETYPES: Final = frozenset({"Scalars", "SeriesLines", "SeriesPoints", "TextLog", "GeoPoints"})


@dataclass(slots=True)
class LoadCounts:
    """What the loader has done so far (tests and the benchmark read it)."""

    loads: int = 0
    unloads: int = 0
    failures: int = 0


class _Loaded(NamedTuple):
    entity_path: str
    seq: int
    nbytes: int


class SpanGroup:
    """The chunks holding one component of one entity on one timeline, sorted by their last time."""

    __slots__ = ("ends", "numbers", "starts")

    def __init__(self, spans: list[tuple[int, int, int]]) -> None:
        spans.sort(key=lambda span: span[1])
        self.starts: npt.NDArray[np.int64] = np.array([span[0] for span in spans], dtype=np.int64)
        self.ends: npt.NDArray[np.int64] = np.array([span[1] for span in spans], dtype=np.int64)
        self.numbers: npt.NDArray[np.int64] = np.array([span[2] for span in spans], dtype=np.int64)

    def needed_at(self, time: int, next_row: bool = True) -> npt.NDArray[np.int64]:
        """The chunks that hold the latest row at or before ``time`` and (``next_row``) the first row
        after it: those spanning ``time``; the one(s) ending last before it, unless a spanning chunk
        starts after their end (its first row is then later than all of theirs); and the one starting
        first after it when nothing spans ``time`` (a spanning chunk holds a row after it)."""
        before = int(np.searchsorted(self.ends, time, side="right"))
        later_starts = self.starts[before:]
        spans_time = later_starts <= time
        spanning = self.numbers[before:][spans_time]
        pieces = [spanning]
        if before and (not len(spanning) or self.ends[before - 1] >= later_starts[spans_time].min()):
            first_tie = int(np.searchsorted(self.ends, self.ends[before - 1], side="left"))
            pieces.append(self.numbers[first_tie:before])
        after = ~spans_time
        if next_row and not len(spanning) and bool(after.any()):
            pieces.append(self.numbers[before:][after][np.argmin(later_starts[after])].reshape(1))
        return np.concatenate(pieces)


class LazyRrd:
    """One indexed .rrd file feeding ``store`` on demand; call :meth:`show` before querying a time."""

    def __init__(
        self, index: RrdIndex, store: ChunkStore, budget_bytes: int = DEFAULT_MEMORY_BUDGET_BYTES
    ) -> None:
        self.index = index
        self.store = store
        self.budget_bytes = budget_bytes
        self.counts = LoadCounts()
        self.warnings: list[str] = []
        self._descriptor: int | None = os.open(index.path, os.O_RDONLY)
        self._loaded: OrderedDict[int, _Loaded] = OrderedDict()  # least recently needed first
        self._loaded_bytes = 0
        self._failed: set[int] = set()
        self._pinned = {entry.number for entry in index.chunks if _is_series(entry)}
        self._groups = self._group_chunks()
        temporal = [entry for entry in index.chunks if not entry.static and not _is_series(entry)]
        for entry in index.chunks:
            if entry.static or _is_series(entry):
                self._load(entry)
        spans: dict[tuple[str, str], list[tuple[int, int]]] = {}
        components: dict[str, set[str]] = {}
        for entry in temporal:
            for timeline, bounds in entry.bounds.items():
                spans.setdefault((entry.entity_path, timeline), []).append(bounds)
            components.setdefault(entry.entity_path, set()).update(
                component for _, component in entry.component_bounds
            )
        for (entity_path, timeline), entity_spans in spans.items():
            data_type = index.timeline_types[timeline]
            store.declare_extent(entity_path, timeline, entity_spans, data_type, components[entity_path])
        self.fits_whole = sum(entry.memory_size for entry in temporal) <= budget_bytes
        if self.fits_whole:
            for entry in temporal:
                self._load(entry)

    @property
    def loaded_bytes(self) -> int:
        """Bytes of the temporal chunks loaded now."""
        return self._loaded_bytes

    @property
    def loaded_chunks(self) -> int:
        return len(self._loaded)

    def show(self, timeline: str, time: int) -> bool:
        """Load what ``time`` on ``timeline`` needs and unload past the budget; whether the store changed."""
        if self.fits_whole or self._descriptor is None:
            return False
        needed = self.needed(timeline, time)
        changed = False
        for number in sorted(needed):
            if number in self._loaded:
                self._loaded.move_to_end(number)
            elif number not in self._failed:
                changed |= self._load(self.index.chunks[number])
        while self._loaded_bytes > self.budget_bytes and self._loaded:
            number, loaded = next(iter(self._loaded.items()))
            if number in needed:
                break  # everything left is needed now
            del self._loaded[number]
            self._loaded_bytes -= loaded.nbytes
            self.store.remove_chunks(loaded.entity_path, (loaded.seq,))
            self.counts.unloads += 1
            changed = True
        return changed

    def needed(self, timeline: str, time: int) -> set[int]:
        """Manifest numbers of the temporal chunks the latest-at queries at ``time`` read."""
        needed: set[int] = set()
        for group in self._groups.get(timeline, ()):
            needed.update(int(number) for number in group.needed_at(time))
        return needed

    def is_loaded(self, number: int) -> bool:
        return number in self._loaded

    def close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None

    def _group_chunks(self) -> dict[str, list[SpanGroup]]:
        spans: dict[tuple[str, str, str], list[tuple[int, int, int]]] = {}
        for entry in self.index.chunks:
            if entry.static or entry.number in self._pinned:
                continue
            by_component = entry.component_bounds or {
                (timeline, ""): bounds for timeline, bounds in entry.bounds.items()
            }
            for (timeline, component), (start, end) in by_component.items():
                spans.setdefault((timeline, entry.entity_path, component), []).append(
                    (start, end, entry.number)
                )
        groups: dict[str, list[SpanGroup]] = {}
        for (timeline, _, _), group_spans in spans.items():
            groups.setdefault(timeline, []).append(SpanGroup(group_spans))
        return groups

    def _load(self, entry: ChunkEntry) -> bool:
        if self._descriptor is None:
            return False
        try:
            batch = decode_chunk(read_chunk_bytes(self._descriptor, entry))
            seq = self.store.append_chunk(entry.entity_path, batch, static=entry.static)
        except (StoreError, pa.ArrowException, OSError) as err:
            self._failed.add(entry.number)
            self.counts.failures += 1
            if len(self.warnings) < 1:  # one per file: a damaged file can have many
                self.warnings.append(
                    f"{self.index.path}: chunk {entry.number} ({entry.entity_path}) does not decode "
                    f"(damaged): left out, and any other such chunk ({err}); `rerun-bridge repair` rewrites "
                    "the file from the rest"
                )
            return False
        self.counts.loads += 1
        if seq is not None and not entry.static and not _is_series(entry):
            nbytes = batch.nbytes
            self._loaded[entry.number] = _Loaded(entry.entity_path, seq, nbytes)
            self._loaded_bytes += nbytes
        return seq is not None


def _is_series(entry: ChunkEntry) -> bool:
    """Whether a temporal chunk holds a series archetype (see :data:`SERIES_ARCHETYPES`)."""
    return not entry.static and any(
        component.split(":", 1)[0] in SERIES_ARCHETYPES for _, component in entry.component_bounds
    )
