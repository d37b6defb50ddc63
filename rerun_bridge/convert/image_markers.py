"""visualization_msgs/ImageMarker: 2D shapes in pixel coordinates on the image plane of the header frame.

Each marker is an entity ``<topic>/<ns>/<id>`` on the frame ``<frame_id>_image_plane`` (where the
bridge puts camera images): circles and polygons as closed ``LineStrips2D``, line strips and lists as
strips, points as ``Points2D``. Outlines only: ``filled`` is not drawn. REMOVE is a ``Clear``, a lifetime
a ``Clear`` at its expiry unless it is re-published (:mod:`marker_lifetimes`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.convert.common import header_frame, with_frame
from rerun_bridge.convert.marker_entities import clear_row, duration_ns, marker_path
from rerun_bridge.convert.marker_lifetimes import MarkerLifetimes, lifetime_rows, with_expiries
from rerun_bridge.convert.marker_shapes import rgba8
from rerun_bridge.convert.registry import ConvertContext
from rerun_bridge.convert.sensor_msgs import IMAGE_PLANE_SUFFIX
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import Row

CIRCLE: Final = 0
LINE_STRIP: Final = 1
LINE_LIST: Final = 2
POLYGON: Final = 3
POINTS: Final = 4
ADD: Final = 0
REMOVE: Final = 1
#: Segments of a circle's outline.
CIRCLE_SEGMENTS: Final = 32
IMAGE_MARKER_ARCHETYPES: Final = ("LineStrips2D", "Points2D", "CoordinateFrame", "Clear")

F32 = npt.NDArray[np.float32]


def _pixels(marker: Any) -> F32:
    pixels = np.array([(p.x, p.y) for p in marker.points], dtype=np.float32).reshape(-1, 2)
    if not np.isfinite(pixels).all():
        raise ConversionError("image marker points are not finite")
    return pixels


def _strip_row(entity_path: str, strips: list[F32], marker: Any) -> Row:
    colors = np.repeat(rgba8(marker.outline_color), len(strips), axis=0)
    return Row(entity_path, "LineStrips2D", {"strips": strips, "colors": colors})


def _circle(entity_path: str, marker: Any) -> Row:
    """A circle of radius ``scale`` around ``position``."""
    center = np.array([marker.position.x, marker.position.y], dtype=np.float64)
    radius = float(marker.scale)
    if not (np.isfinite(center).all() and np.isfinite(radius)):
        raise ConversionError("image marker circle is not finite")
    angles = np.linspace(0.0, 2.0 * np.pi, CIRCLE_SEGMENTS + 1)
    outline = center + radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return _strip_row(entity_path, [outline.astype(np.float32)], marker)


def _line_strip(entity_path: str, marker: Any) -> Row:
    pixels = _pixels(marker)
    return _strip_row(entity_path, [pixels] if len(pixels) >= 2 else [], marker)


def _line_list(entity_path: str, marker: Any) -> Row:
    pixels = _pixels(marker)
    if len(pixels) % 2:
        raise ConversionError(f"image marker LINE_LIST with an odd number of points ({len(pixels)})")
    return _strip_row(entity_path, [pixels[index : index + 2] for index in range(0, len(pixels), 2)], marker)


def _polygon(entity_path: str, marker: Any) -> Row:
    pixels = _pixels(marker)
    closed = np.vstack([pixels, pixels[:1]]) if len(pixels) else pixels
    return _strip_row(entity_path, [closed] if len(closed) >= 2 else [], marker)


def _points(entity_path: str, marker: Any) -> Row:
    """Points of diameter ``scale``, each in its outline colour when there is one per point."""
    pixels = _pixels(marker)
    colors = marker.outline_colors
    if len(colors) == len(pixels) and len(colors):
        rgba = np.vstack([rgba8(color) for color in colors])
    else:
        rgba = np.repeat(rgba8(marker.outline_color), len(pixels), axis=0)
    radii = np.full(len(pixels), max(float(marker.scale), 1.0) / 2.0, dtype=np.float32)
    return Row(entity_path, "Points2D", {"positions": pixels, "radii": radii, "colors": rgba})


SHAPES: Final[dict[int, Callable[[str, Any], Row]]] = {
    CIRCLE: _circle,
    LINE_STRIP: _line_strip,
    LINE_LIST: _line_list,
    POLYGON: _polygon,
    POINTS: _points,
}


def convert_image_marker(msg: Any, ctx: ConvertContext) -> list[Row]:
    return with_expiries(ctx, lambda: _image_marker_rows(msg, ctx))


def _image_marker_rows(msg: Any, ctx: ConvertContext) -> list[Row]:
    entity_path = marker_path(ctx.entity_path, msg.ns, msg.id)
    action = int(msg.action)
    if action == REMOVE:
        ctx.shared.get(MarkerLifetimes).deleted(ctx.topic, entity_path, recursive=False)
        return [clear_row(entity_path, recursive=False)]
    if action != ADD:
        raise ConversionError(f"image marker action {action} is not ADD or REMOVE")
    shape = SHAPES.get(int(msg.type))
    if shape is None:
        raise ConversionError(f"image marker type {msg.type} is not an ImageMarker type")
    frame = header_frame(msg)
    rows = with_frame([shape(entity_path, msg)], entity_path, frame + IMAGE_PLANE_SUFFIX if frame else "")
    return rows + lifetime_rows(entity_path, duration_ns(msg.lifetime), ctx, {})
