"""What an .rrd sink has written, as the default blueprint reads it: entities, their component columns, and
the frames images and 2D shapes lie on.

A live recording has no layout of its own; Rerun's viewer then lays one out itself, and views whose
entities lie on frames it cannot place (an image without a camera_info) show an error. The node writes the
bridge's default layout into each .rrd part when it closes, made from this catalog
(:func:`rerun_bridge.blueprint.heuristic.default_blueprint_of` reads it as it reads a chunk store), so
nothing is read back from the file.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from rerun_bridge.blueprint.overlays import FRAME_COLUMN


class SentCatalog:
    """Entity path -> component columns (``Points3D:positions``) and last frame, as rows were sent."""

    def __init__(self) -> None:
        self._columns: dict[str, dict[str, None]] = {}  # ordered sets: the order rows came in
        self._frames: dict[str, str] = {}

    def add_columns(self, entity_path: str, columns: Iterable[str]) -> None:
        known = self._columns.setdefault(entity_path, {})
        for column in columns:
            known[column] = None

    def set_frame(self, entity_path: str, frame: str) -> None:
        self._frames[entity_path] = frame

    def clear_frames(self, entity_path: str, recursive: bool) -> None:
        """A Clear: the entity (and with ``recursive`` every one below it) has no frame any more, as
        in a store that holds the Clear."""
        below = entity_path.rstrip("/") + "/"
        for path in list(self._frames):
            if path == entity_path or (recursive and path.startswith(below)):
                del self._frames[path]

    def merged(self, *others: SentCatalog | None) -> SentCatalog:
        """This catalog and ``others`` after it, as one sink sending all of them in that order would have
        noted them (a split conversion's parts, in time order)."""
        out = SentCatalog()
        for catalog in (self, *others):
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
