"""The TF tree of a store: Transform3D rows with named frames, in the bridge's TF buffer, per timeline.

Every entity with ``Transform3D:child_frame`` and ``Transform3D:parent_frame`` contributes edges (the
bridge writes /tf and /tf_static that way, as Rerun's own MCAP importer does): ``translation`` and
``quaternion`` (x, y, z, w) give the transform, missing ones the identity. Static rows become static edges.
Other Rerun transform forms (``mat3x3``, ``rotation_axis_angle``, ``scale``, entity-hierarchy transforms)
are not read here.

Views place an entity by its ``CoordinateFrame:frame`` with :meth:`SceneTransforms.transform`, which
follows tf2's lookups but, unlike tf2, holds the nearest sample outside the buffered data instead of
failing: a viewer scrubbed past the last /tf message should keep drawing the robot where it was last seen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from rerun_bridge.errors import ExtrapolationError, TransformError
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.store.columns import times_to_int64
from rerun_bridge.tf.buffer import TfBuffer, Transform, preferred_root

log = logging.getLogger(__name__)

CHILD_FRAME: Final = "Transform3D:child_frame"
PARENT_FRAME: Final = "Transform3D:parent_frame"
TRANSLATION: Final = "Transform3D:translation"
QUATERNION: Final = "Transform3D:quaternion"
COORDINATE_FRAME: Final = "CoordinateFrame:frame"

_BEFORE_EVERYTHING: Final = int(np.iinfo(np.int64).min)


class FrameSources:
    """Which entities' transforms name each frame: as the child (the frame they place), or as the parent."""

    def __init__(self) -> None:
        self.as_child: dict[str, set[str]] = {}
        self.as_parent: dict[str, set[str]] = {}

    def add(self, entity: str, parent: str, child: str) -> None:
        self.as_child.setdefault(child, set()).add(entity)
        self.as_parent.setdefault(parent, set()).add(entity)

    def entities_of(self, frame: str) -> set[str]:
        """The entities that place ``frame`` (for a root, which nothing places: those that name it)."""
        return self.as_child.get(frame) or self.as_parent.get(frame) or set()


def build_tf_buffer(
    store: ChunkStore, timeline: str, cache_time_ns: int | None = None, sources: FrameSources | None = None
) -> TfBuffer:
    """Every named-frame Transform3D row of ``store``, stamped with its time on ``timeline``; with
    ``cache_time_ns``, only each edge's samples that recent before its newest (tf2's cache). ``sources``,
    when given, hears which entity each edge came from."""
    buffer = TfBuffer(cache_time_ns)
    sources = sources if sources is not None else FrameSources()
    for entity in store.entities():
        components = store.components(entity)
        if CHILD_FRAME not in components or PARENT_FRAME not in components:
            continue
        # Only static values are visible before every time: that is how static rows are told apart.
        static = store.latest_at(entity, timeline, _BEFORE_EVERYTHING)
        if CHILD_FRAME in static and PARENT_FRAME in static:
            _add_static(buffer, entity, static, sources)
        bounds = store.time_range(timeline, entity)
        if bounds is not None:
            _add_temporal(buffer, entity, store.range(entity, timeline, *bounds), timeline, sources)
    return buffer


def _add_static(buffer: TfBuffer, entity: str, values: dict[str, pa.Array], sources: FrameSources) -> None:
    children = values[CHILD_FRAME].to_pylist()
    parents = values[PARENT_FRAME].to_pylist()
    if len(children) != len(parents):
        log.warning(
            "%s: %d child frames but %d parent frames; static transform skipped",
            entity,
            len(children),
            len(parents),
        )
        return
    translations = _fixed_width(values.get(TRANSLATION), 3, len(children), np.zeros(3))
    rotations = _fixed_width(values.get(QUATERNION), 4, len(children), np.array([0.0, 0.0, 0.0, 1.0]))
    for index, (child, parent) in enumerate(zip(children, parents, strict=True)):
        if child and parent:
            with _skipped_when_invalid(entity, parent, child):
                buffer.add_transforms(
                    parent,
                    child,
                    np.zeros(1, np.int64),
                    translations[index : index + 1],
                    rotations[index : index + 1],
                    static=True,
                )
                sources.add(entity, parent, child)


def _fixed_width(
    values: pa.Array | None, width: int, count: int, default: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Instances of a vector component as ``(count, width)`` floats; the default where absent."""
    if values is None or len(values) != count or values.null_count:
        return np.tile(default, (count, 1))
    flat = np.asarray(values.flatten().to_numpy(zero_copy_only=False), dtype=np.float64)
    return flat.reshape(count, width)


def _add_temporal(
    buffer: TfBuffer, entity: str, table: pa.Table, timeline: str, sources: FrameSources
) -> None:
    """Rows with one child, one parent and at most one translation / quaternion each (Rerun's form)."""
    if table.num_rows == 0:
        return
    single = pc.and_(_lengths(table, CHILD_FRAME) == 1, _lengths(table, PARENT_FRAME) == 1)
    for optional in (TRANSLATION, QUATERNION):
        if optional in table.column_names:
            single = pc.and_(single, pc.less_equal(pc.fill_null(pc.list_value_length(table[optional]), 0), 1))
    kept = table.filter(single)
    if kept.num_rows < table.num_rows:
        log.warning(
            "%s: %d transform rows with several instances skipped", entity, table.num_rows - kept.num_rows
        )
    if kept.num_rows == 0:
        return
    stamps = times_to_int64(kept[timeline])
    children = np.asarray(pc.list_flatten(kept[CHILD_FRAME]).to_numpy(zero_copy_only=False), dtype=object)
    parents = np.asarray(pc.list_flatten(kept[PARENT_FRAME]).to_numpy(zero_copy_only=False), dtype=object)
    translations = _per_row(kept, TRANSLATION, 3, np.zeros(3))
    rotations = _per_row(kept, QUATERNION, 4, np.array([0.0, 0.0, 0.0, 1.0]))
    edges = np.char.add(np.char.add(parents.astype(str), "\n"), children.astype(str))
    for edge in np.unique(edges):
        rows = np.flatnonzero(edges == edge)
        parent, child = str(edge).split("\n", 1)
        if parent and child:
            with _skipped_when_invalid(entity, parent, child):
                buffer.add_transforms(parent, child, stamps[rows], translations[rows], rotations[rows])
                sources.add(entity, parent, child)


def _lengths(table: pa.Table, column: str) -> npt.NDArray[np.int64]:
    lengths = pc.fill_null(pc.list_value_length(table[column]), 0)
    return np.asarray(lengths.to_numpy(), dtype=np.int64)


def _per_row(
    table: pa.Table, column: str, width: int, default: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """One ``width``-vector per row from a list column with zero or one instance per row."""
    out = np.tile(default, (table.num_rows, 1))
    if column not in table.column_names:
        return out
    present = _lengths(table, column) == 1
    if present.any():
        flat = pc.list_flatten(table[column]).combine_chunks()
        out[present] = np.asarray(flat.flatten().to_numpy(zero_copy_only=False), dtype=np.float64).reshape(
            -1, width
        )
    return out


@contextmanager
def _skipped_when_invalid(entity: str, parent: str, child: str) -> Iterator[None]:
    """One edge's samples are skipped with a warning when the buffer rejects them, never the whole TF."""
    try:
        yield
    except ValueError as err:  # zero quaternions, NaNs, a frame that is its own parent
        log.warning("%s: transform %s -> %s skipped: %s", entity, parent, child, err)


class SceneTransforms:
    """TF buffers of one store, one per timeline, built on first use.

    ``cache_time_ns`` (the bridge config's ``tf.cache_time_s``, for the live viewer) keeps of each edge
    only the samples that recent before its newest, as tf2's buffer does; None keeps all, which a
    recording needs to be scrubbed from its start.
    """

    def __init__(self, store: ChunkStore, cache_time_ns: int | None = None) -> None:
        self.store = store
        self.cache_time_ns = cache_time_ns
        self._buffers: dict[str, TfBuffer] = {}
        self._sources: dict[str, FrameSources] = {}

    def buffer(self, timeline: str) -> TfBuffer:
        """The TF buffer with every transform stamped on ``timeline``."""
        buffer = self._buffers.get(timeline)
        if buffer is None:
            sources = self._sources[timeline] = FrameSources()
            buffer = self._buffers[timeline] = build_tf_buffer(
                self.store, timeline, self.cache_time_ns, sources
            )
        return buffer

    def frame_entities(self, timeline: str, frame: str) -> set[str]:
        """The entities whose transforms place ``frame`` on ``timeline`` (see :class:`FrameSources`)."""
        self.buffer(timeline)
        return self._sources[timeline].entities_of(frame)

    def invalidate(self) -> None:
        """Forget the buffers (new data arrived); the next use rebuilds them."""
        self._buffers.clear()
        self._sources.clear()

    def frames(self, timeline: str) -> list[str]:
        return self.buffer(timeline).frames()

    def default_fixed_frame(self, timeline: str) -> str | None:
        """A root of the TF tree, ``map`` / ``world`` / ``odom`` first; None without any TF."""
        return preferred_root(self.buffer(timeline).roots())

    def transform(self, timeline: str, target: str, source: str, time: int) -> Transform | None:
        """Points in ``source`` mapped into ``target`` at ``time``, holding the nearest sample outside the
        data (see the module docstring); None when the frames are unknown or not connected."""
        if target == source:
            return Transform.identity()
        buffer = self.buffer(timeline)
        try:
            return buffer.lookup_transform(target, source, time)
        except ExtrapolationError:
            pass
        except TransformError:
            return None
        window = _common_window(buffer, [target, source])
        if window is None:
            return None
        try:
            return buffer.lookup_transform(target, source, min(max(time, window[0]), window[1]))
        except TransformError:
            return None


def _common_window(buffer: TfBuffer, frames: Iterable[str]) -> tuple[int, int] | None:
    """The times at which every dynamic edge from the frames up to their roots has data."""
    low, high = _BEFORE_EVERYTHING, int(np.iinfo(np.int64).max)
    seen: set[str] = set()
    for frame in frames:
        current = frame
        while current not in seen:
            seen.add(current)
            parent = buffer.parent_of(current)
            if parent is None:
                break
            bounds = buffer.time_range(parent, current)
            if bounds is not None:
                low, high = max(low, bounds[0]), min(high, bounds[1])
            current = parent
    return (low, high) if low <= high else None
