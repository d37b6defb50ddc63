"""Frame-locked markers: RViz moves a marker with ``frame_locked`` set with its frame as TF changes, and
places any other once, by TF at its stamp.

The bridge marks such a marker's entity (markers of their own, ``<topic>/<ns>/<id>``) with the component
``rerun_bridge.Marker:frame_locked``; the embedded viewer then places it by TF at the time shown instead of
its row's time (docs/markers.md). Rerun's viewer places every entity by TF at the time shown, so it needs
no mark. A marker re-published unlocked on a marked entity gets the mark written false.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np

from rerun_bridge.model.rows import Row

#: The archetype and component of the mark (a column the embedded viewer reads).
FRAME_LOCK_ARCHETYPE: Final = "rerun_bridge.Marker"
FRAME_LOCKED: Final = f"{FRAME_LOCK_ARCHETYPE}:frame_locked"


class FrameLockedMarkers:
    """Per topic, the marker entities marked frame-locked now (a pipeline's shared state)."""

    def __init__(self) -> None:
        self._marked: dict[str, set[str]] = {}

    def rows(self, topic: str, entity_path: str, locked: bool, times: Mapping[str, int]) -> list[Row]:
        """The mark's row for a marker (re-)published on ``entity_path``: true when it is frame-locked,
        false when it no longer is, none otherwise (most markers: nothing written)."""
        marked = self._marked.setdefault(topic, set())
        if locked:
            marked.add(entity_path)
        elif entity_path in marked:
            marked.discard(entity_path)
        else:
            return []
        return [
            Row(
                entity_path, FRAME_LOCK_ARCHETYPE, {}, extra={"frame_locked": np.array([locked])}, times=times
            )
        ]

    def forget(self, topic: str) -> None:
        """:class:`~rerun_bridge.convert.registry.TopicMemory`: ``topic`` starts afresh."""
        self._marked.pop(topic, None)
