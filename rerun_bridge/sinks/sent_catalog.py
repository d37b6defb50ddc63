"""What an .rrd sink has written, as the default blueprint reads it: entities, their component columns, the
frames images and 2D shapes lie on, and each entity's time bounds per timeline (the timeline the layout
opens on is chosen from them, :mod:`rerun_bridge.viewer.timeline_choice`).

A live recording has no layout of its own; Rerun's viewer then lays one out itself, and views whose
entities lie on frames it cannot place (an image without a camera_info) show an error. The node writes the
bridge's default layout into each .rrd part when it closes, made from this catalog
(:func:`rerun_bridge.blueprint.heuristic.default_blueprint_of` reads it as it reads a chunk store), so
nothing is read back from the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rerun_bridge.blueprint.overlays import FRAME_COLUMN, LAYOUT_VALUES
from rerun_bridge.tf.buffer import preferred_root

CHILD_FRAME_COLUMN: Final = "Transform3D:child_frame"
PARENT_FRAME_COLUMN: Final = "Transform3D:parent_frame"
#: Archetypes drawn in 3D space: an entity of one of them with no frame lies on Rerun's implicit frame of its
#: entity path, which no TF frame reaches.
SPATIAL_3D_ARCHETYPES: Final = frozenset(
    {"Points3D", "Arrows3D", "Boxes3D", "Ellipsoids3D", "LineStrips3D", "Mesh3D", "Capsules3D", "Cylinders3D"}
)


def _drawn_in_3d(columns: Iterable[str]) -> bool:
    """Whether an entity's component columns (``Points3D:positions``) hold a 3D shape."""
    return any(column.partition(":")[0] in SPATIAL_3D_ARCHETYPES for column in columns)


class TimeBounds:
    """Smallest and largest time per timeline and entity, of the rows sent (a chunk store's
    ``time_range`` for what is no longer in memory)."""

    def __init__(self) -> None:
        self._bounds: dict[str, dict[str, tuple[int, int]]] = {}  # timeline -> entity -> (low, high)

    def add(self, timeline: str, entity_path: str, low: int, high: int) -> None:
        entities = self._bounds.setdefault(timeline, {})
        known = entities.get(entity_path)
        entities[entity_path] = (low, high) if known is None else (min(known[0], low), max(known[1], high))

    def entities(self) -> list[str]:
        return sorted({entity for entities in self._bounds.values() for entity in entities})

    def timelines(self) -> list[str]:
        return sorted(self._bounds)

    def time_range(self, timeline: str, entity_path: str | None = None) -> tuple[int, int] | None:
        entities = self._bounds.get(timeline, {})
        if entity_path is not None:
            return entities.get(entity_path)
        if not entities:
            return None
        return min(low for low, _ in entities.values()), max(high for _, high in entities.values())

    def rows(self) -> list[tuple[str, str, int, int]]:
        """(timeline, entity, low, high) of every bound: plain data for a snapshot."""
        return [
            (timeline, entity, low, high)
            for timeline, entities in self._bounds.items()
            for entity, (low, high) in entities.items()
        ]


class SentCatalog:
    """Entity path -> component columns (``Points3D:positions``) and last frame, as rows were sent."""

    def __init__(self) -> None:
        self._columns: dict[str, dict[str, None]] = {}  # ordered sets: the order rows came in
        self._frames: dict[str, str] = {}
        #: Each entity's last values of the columns a layout reads (:data:`LAYOUT_VALUES`: ``SeriesLines``
        #: names tell two plots' same-named curves apart, a depth image's ``meter`` scales its range).
        self._layout_values: dict[str, dict[str, list[Any]]] = {}
        #: Entities that had a frame at some time (a Clear takes their frame, not their having had one).
        self._ever_framed: set[str] = set()
        #: Each entity's one frame over everything sent (None once a second one came, "" counted).
        self._sole_frames: dict[str, str | None] = {}
        #: Entities whose frame a static row gave for all times (a frameless 3D entity's TF root).
        self._held_frames: set[str] = set()
        #: TF edges sent: child frame -> parent frame (the last parent each child had).
        self._parents: dict[str, str] = {}
        #: Grows with every change: a layout made at one version stays right until it moves.
        self.version = 0
        #: Each entity's time bounds (they move with every batch and leave ``version`` alone: a layout is
        #: made again for new entities, columns or frames, and then chooses its timeline from them).
        self.times = TimeBounds()

    def add_columns(self, entity_path: str, columns: Iterable[str]) -> None:
        known = self._columns.setdefault(entity_path, {})
        for column in columns:
            if column not in known:
                known[column] = None
                self.version += 1

    def note_batch(self, entity_path: str, batch: pa.RecordBatch) -> None:
        """A record batch in Rerun's chunk layout, as sent: its component columns, and the frame of its
        last row when it carries ``CoordinateFrame:frame`` (a few names per batch)."""
        names = batch.schema.names
        columns = [name for name in names if ":" in name and not name.startswith("rerun.")]
        self.add_columns(entity_path, columns)
        rows = batch.num_rows
        if rows:
            # The other columns are the timelines (a batch holds only those and components); their int64
            # values are read in place: a cast per batch cost more than the rest of this method.
            for index, name in enumerate(names):
                if ":" in name or name.startswith("rerun."):
                    continue
                column = batch.column(index)
                values = np.frombuffer(column.buffers()[1], dtype=np.int64)[
                    column.offset : column.offset + rows
                ]
                self.times.add(name, entity_path, int(values.min()), int(values.max()))
        if FRAME_COLUMN in columns and batch.num_rows:
            frames = batch.column(FRAME_COLUMN)
            last = frames[batch.num_rows - 1].as_py()
            if isinstance(last, list) and last and isinstance(last[0], str):
                self.set_frame(entity_path, last[0])
            if pa.types.is_list(frames.type):
                values = frames.flatten()
                self._note_sole_frames(entity_path, values.to_pylist() if rows == 1 else pc.unique(values))
        if CHILD_FRAME_COLUMN in columns and PARENT_FRAME_COLUMN in columns and batch.num_rows:
            self._note_edges(batch.column(CHILD_FRAME_COLUMN), batch.column(PARENT_FRAME_COLUMN))
        for column in LAYOUT_VALUES:
            if column in columns and batch.num_rows:
                values = batch.column(column)[batch.num_rows - 1].as_py()
                if isinstance(values, list) and values:
                    self.set_layout_values(entity_path, column, values)

    def set_layout_values(self, entity_path: str, column: str, values: list[Any]) -> None:
        kept = self._layout_values.setdefault(entity_path, {})
        if kept.get(column) != values:
            kept[column] = list(values)
            self.version += 1

    def _note_edges(self, children: pa.Array, parents: pa.Array) -> None:
        """The distinct (child, parent) pairs of a batch of transforms (a few, however many rows)."""
        if not (pa.types.is_list(children.type) and pa.types.is_list(parents.type)):
            return
        if not children.value_lengths().equals(parents.value_lengths()):
            return  # not one child per parent: no edges to read
        pairs = pc.binary_join_element_wise(children.flatten(), parents.flatten(), "\0")
        for pair in pc.unique(pairs).to_pylist():
            if pair is not None:
                child, _, parent = pair.partition("\0")
                self.add_edge(child, parent)

    def add_edge(self, child: str, parent: str) -> None:
        if child and parent and child != parent:
            self._parents[child] = parent

    def tf_root(self) -> str | None:
        """A root of the TF edges sent, ``map`` / ``world`` / ``odom`` first; None without any edge."""
        return preferred_root({parent for parent in self._parents.values() if parent not in self._parents})

    def tf_frames(self) -> set[str]:
        """Every frame the TF edges sent name, as child or as parent."""
        return set(self._parents) | set(self._parents.values())

    def fixed_frame(self) -> str | None:
        """The frame a 3D view of this file is drawn in, as the embedded viewer chooses its default one:
        the TF root (:meth:`tf_root`); without TF, the one frame every framed 3D entity lies on (drawn as
        they are, together), else None (several frames that nothing relates)."""
        root = self.tf_root()
        if root is not None:
            return root
        frames = self.frames_3d()
        return frames.pop() if len(frames) == 1 else None

    def frames_3d(self) -> set[str]:
        """The frames 3D entities were last placed on."""
        return {
            frame
            for entity, frame in self._frames.items()
            if frame and _drawn_in_3d(self._columns.get(entity, ()))
        }

    def frameless_spatial_entities(self) -> list[str]:
        """Entities drawn in 3D that were never given a frame (header-less types without a ``frame``
        option), TF's own entities aside."""
        return [
            entity
            for entity, columns in self._columns.items()
            if entity not in self._ever_framed and CHILD_FRAME_COLUMN not in columns and _drawn_in_3d(columns)
        ]

    def _note_sole_frames(self, entity_path: str, frames: Iterable[Any]) -> None:
        for frame in frames:
            value = frame.as_py() if isinstance(frame, pa.Scalar) else frame
            if not isinstance(value, str):
                continue
            if self._sole_frames.setdefault(entity_path, value) != value:
                self._sole_frames[entity_path] = None

    def sole_frames(self) -> dict[str, str]:
        """Entities that lay on one named frame in everything sent: what a static frame row may say for
        all times (:func:`~rerun_bridge.sinks.rrd.sole_frame_rows`)."""
        return {
            entity: frame
            for entity, frame in self._sole_frames.items()
            if frame and entity not in self._held_frames
        }

    def hold_frames(self, entities: Iterable[str]) -> None:
        """Static rows gave these entities their frame for all times (:meth:`sole_frames` leaves them)."""
        self._held_frames.update(entities)

    def set_frame(self, entity_path: str, frame: str) -> None:
        if frame:  # an empty frame is none (the column path writes one for rows without a header frame)
            self._ever_framed.add(entity_path)
        if self._frames.get(entity_path) != frame:
            self._frames[entity_path] = frame
            self.version += 1

    def clear_frames(self, entity_path: str, recursive: bool) -> dict[str, str]:
        """A Clear: the entity (and with ``recursive`` every one below it) has no frame any more, as
        in a store that holds the Clear; the frames it took (those that were not empty)."""
        below = entity_path.rstrip("/") + "/"
        taken: dict[str, str] = {}
        for path in list(self._frames):
            if path == entity_path or (recursive and path.startswith(below)):
                frame = self._frames.pop(path)
                if frame:
                    taken[path] = frame
                self.version += 1
        return taken

    def snapshot(self) -> dict[str, Any]:
        """Plain data (JSON) another process rebuilds the catalog from (:meth:`from_snapshot`)."""
        return {
            "columns": {path: list(columns) for path, columns in self._columns.items()},
            "frames": dict(self._frames),
            "layout_values": {
                path: {column: list(values) for column, values in kept.items()}
                for path, kept in self._layout_values.items()
            },
            "ever_framed": sorted(self._ever_framed),
            "edges": dict(self._parents),
            "times": self.times.rows(),
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> SentCatalog:
        catalog = cls()
        for path, columns in data.get("columns", {}).items():
            catalog.add_columns(str(path), (str(column) for column in columns))
        for path, frame in data.get("frames", {}).items():
            catalog.set_frame(str(path), str(frame))
        for path, kept in data.get("layout_values", {}).items():
            for column, values in kept.items():
                catalog.set_layout_values(str(path), str(column), list(values))
        catalog._ever_framed.update(str(path) for path in data.get("ever_framed", []))
        for child, parent in data.get("edges", {}).items():
            catalog.add_edge(str(child), str(parent))
        for timeline, path, low, high in data.get("times", []):
            catalog.times.add(str(timeline), str(path), int(low), int(high))
        return catalog

    @classmethod
    def merged(cls, *catalogs: SentCatalog | None) -> SentCatalog:
        """``catalogs`` in order as one, as one sink sending all of them in that order would have noted
        them (a split conversion's parts, in time order)."""
        out = cls()
        for catalog in catalogs:
            if catalog is None:
                continue
            for entity, columns in catalog._columns.items():
                out.add_columns(entity, columns)
            out._frames.update(catalog._frames)
            for entity, kept in catalog._layout_values.items():
                out._layout_values.setdefault(entity, {}).update(kept)
            out._ever_framed |= catalog._ever_framed
            out._held_frames |= catalog._held_frames
            for entity, frame in catalog._sole_frames.items():
                if out._sole_frames.setdefault(entity, frame) != frame:
                    out._sole_frames[entity] = None
            out._parents.update(catalog._parents)
            for timeline, entity, low, high in catalog.times.rows():
                out.times.add(timeline, entity, low, high)
        return out

    # EntityCatalog (rerun_bridge.blueprint.heuristic)

    def entities(self) -> list[str]:
        return sorted(self._columns)

    def components(self, entity_path: str) -> list[str]:
        return list(self._columns.get(entity_path, ()))

    def timelines(self) -> list[str]:
        return ["sent"]  # one stand-in: frames are kept as the last one sent, whatever the time

    def latest_at(self, entity_path: str, timeline: str, time: int) -> dict[str, pa.Array]:
        del timeline, time
        values: dict[str, pa.Array] = {}
        frame = self._frames.get(entity_path)
        if frame is not None:
            values[FRAME_COLUMN] = pa.array([frame])
        for column, kept in self._layout_values.get(entity_path, {}).items():
            values[column] = pa.array(kept)
        return values
