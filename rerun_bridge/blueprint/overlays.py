"""Where the default blueprint puts 2D shapes (``Boxes2D``, ``LineStrips2D``, ``Points2D``) that are not
below an image entity.

Converters place image overlays on the image's frame, not under its entity: a RegionOfInterest (with the
topic option ``camera_frame``), a Detection2DArray or an ImageMarker lies on ``<camera>_image_plane``, the
frame the camera's images carry. Such an overlay joins the 2D view of every image on its frame; any other
2D entity (JointTrajectory curves, a RegionOfInterest that names no camera) gets a 2D view of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol, runtime_checkable

import pyarrow as pa

from rerun_bridge.model.entity_path import EntityPath

OVERLAY_ARCHETYPES: Final = frozenset({"Boxes2D", "LineStrips2D", "Points2D"})
#: The column holding an entity's frame.
FRAME_COLUMN: Final = "CoordinateFrame:frame"
#: The column of a time series' curve names.
SERIES_NAMES: Final = "SeriesLines:names"
#: The columns of a depth image's unit (how long a metre is in its values), raw and encoded.
DEPTH_METERS: Final = ("DepthImage:meter", "EncodedDepthImage:meter")
#: The columns whose last values a layout for Rerun's viewer reads (names in legends, depth units).
LAYOUT_VALUES: Final = (SERIES_NAMES, *DEPTH_METERS)
_LATEST: Final = 2**63 - 1


class FrameSource(Protocol):
    """What frames are read from (:class:`rerun_bridge.store.chunk_store.ChunkStore`)."""

    def timelines(self) -> list[str]: ...

    def latest_at(self, entity_path: str, timeline: str, time: int) -> dict[str, pa.Array]: ...


@runtime_checkable
class _Spans(Protocol):
    """A frame source that also knows when each entity has rows (the viewer's store; a file's catalog
    keeps frames through Clears and needs no second look)."""

    def time_range(self, timeline: str, entity_path: str | None = None) -> tuple[int, int] | None: ...


def entity_frame(store: FrameSource, entity_path: str) -> str:
    """The last frame an entity was logged on (on the first timeline that has one), else the one it had at
    its first row: an image marker removed or expired at the end is cleared there, frame and all, and was
    given a view of its own, away from its image; "" for none."""
    for timeline in store.timelines():
        span = store.time_range(timeline, entity_path) if isinstance(store, _Spans) else None
        for time in (_LATEST,) if span is None else (_LATEST, span[0]):
            column = store.latest_at(entity_path, timeline, time).get(FRAME_COLUMN)
            if column is not None and len(column) and column[0].is_valid:
                return str(column[0].as_py())
    return ""


def entity_frames(store: FrameSource, paths: Iterable[str]) -> dict[str, str]:
    """Entity path -> its frame, for the entities of ``paths`` that have one."""
    found = {path: entity_frame(store, path) for path in paths}
    return {path: frame for path, frame in found.items() if frame}


def is_below(path: str, ancestor: str) -> bool:
    """Whether ``path`` is ``ancestor`` or lies under it."""
    parts, top = EntityPath.parse(path).parts, EntityPath.parse(ancestor).parts
    return parts[: len(top)] == top


def place_overlays(
    overlays: Sequence[str], images: Sequence[str], frames: Mapping[str, str]
) -> tuple[dict[str, list[str]], list[str]]:
    """Image entity -> the overlays drawn on it, and the overlays left for views of their own.

    Overlays below an image entity are already in its view (its origin covers them) and are left out.
    """
    on_image: dict[str, list[str]] = {image: [] for image in images}
    alone: list[str] = []
    for overlay in overlays:
        if any(is_below(overlay, image) for image in images):
            continue
        frame = frames.get(overlay, "")
        hosts = [image for image in images if frame and frames.get(image) == frame]
        for image in hosts:
            on_image[image].append(overlay)
        if not hosts:
            alone.append(overlay)
    return on_image, alone
