"""What an .rrd sink has written, as the default blueprint reads it: entities, their component columns, and
the frames images and 2D shapes lie on.

A live recording has no layout of its own; Rerun's viewer then lays one out itself, and views whose
entities lie on frames it cannot place (an image without a camera_info) show an error. The node writes the
bridge's default layout into each .rrd part when it closes, made from this catalog
(:func:`rerun_bridge.blueprint.heuristic.default_blueprint_of` reads it as it reads a chunk store), so
nothing is read back from the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from rerun_bridge.blueprint.overlays import FRAME_COLUMN


class SentCatalog:
    """Entity path -> component columns (``Points3D:positions``) and last frame, as rows were sent."""

    def __init__(self) -> None:
        self._columns: dict[str, dict[str, None]] = {}  # ordered sets: the order rows came in
        self._frames: dict[str, str] = {}
        #: Grows with every change: a layout made at one version stays right until it moves.
        self.version = 0

    def add_columns(self, entity_path: str, columns: Iterable[str]) -> None:
        known = self._columns.setdefault(entity_path, {})
        for column in columns:
            if column not in known:
                known[column] = None
                self.version += 1

    def note_batch(self, entity_path: str, batch: pa.RecordBatch) -> None:
        """A record batch in Rerun's chunk layout, as sent: its component columns, and the frame of its
        last row when it carries ``CoordinateFrame:frame`` (a few names per batch)."""
        columns = [name for name in batch.schema.names if ":" in name and not name.startswith("rerun.")]
        self.add_columns(entity_path, columns)
        if FRAME_COLUMN in columns and batch.num_rows:
            last = batch.column(FRAME_COLUMN)[batch.num_rows - 1].as_py()
            if isinstance(last, list) and last and isinstance(last[0], str):
                self.set_frame(entity_path, last[0])

    def set_frame(self, entity_path: str, frame: str) -> None:
        if self._frames.get(entity_path) != frame:
            self._frames[entity_path] = frame
            self.version += 1

    def clear_frames(self, entity_path: str, recursive: bool) -> None:
        """A Clear: the entity (and with ``recursive`` every one below it) has no frame any more, as
        in a store that holds the Clear."""
        below = entity_path.rstrip("/") + "/"
        for path in list(self._frames):
            if path == entity_path or (recursive and path.startswith(below)):
                del self._frames[path]
                self.version += 1

    def snapshot(self) -> dict[str, Any]:
        """Plain data (JSON) another process rebuilds the catalog from (:meth:`from_snapshot`)."""
        return {
            "columns": {path: list(columns) for path, columns in self._columns.items()},
            "frames": dict(self._frames),
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> SentCatalog:
        catalog = cls()
        for path, columns in data.get("columns", {}).items():
            catalog.add_columns(str(path), (str(column) for column in columns))
        for path, frame in data.get("frames", {}).items():
            catalog.set_frame(str(path), str(frame))
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
        frame = self._frames.get(entity_path)
        return {} if frame is None else {FRAME_COLUMN: pa.array([frame])}
