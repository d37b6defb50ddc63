"""visualization_msgs: Marker, MarkerArray and interactive markers' shapes (ImageMarker: image_markers).

A MarkerArray topic keeps its live markers as RViz does (:mod:`marker_state`): each array adds, replaces,
deletes and clears markers of that state (:mod:`marker_updates`), and every group of one namespace and
type it changed is written whole as one row on ``<topic>/<ns>/<TYPE>``, in the group's header frame
(a ``CoordinateFrame``); the shapes are given in that frame (:mod:`marker_shapes`). Mesh files and
markers with a lifetime keep an entity of their own, ``<topic>/<ns>/<id>``, as does every marker of a
Marker topic (one marker a message: nothing to batch). An array the decoder read as columns
(:mod:`rerun_bridge.cdr.marker_scan`) has its groups built from those columns at once
(:mod:`marker_columns`), giving the same rows. DELETE and DELETEALL of entities of their own are
``Clear`` rows (recursive for DELETEALL), a lifetime a ``Clear`` at the marker's expiry, written once a
later message or the stream's end shows it was not re-published (:mod:`marker_lifetimes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from rerun_bridge.convert.common import header_frame, sub_path
from rerun_bridge.convert.image_markers import IMAGE_MARKER_ARCHETYPES, convert_image_marker
from rerun_bridge.convert.marker_columns import NonFinitePointsError, has_bad_markers
from rerun_bridge.convert.marker_entities import EMPTY_NS, clear_row, marker_path, namespace_path
from rerun_bridge.convert.marker_lifetimes import MarkerLifetimes, with_expiries
from rerun_bridge.convert.marker_shapes import placement_of
from rerun_bridge.convert.marker_updates import (
    ADD,
    DELETE,
    DELETEALL,
    array_rows,
    fields_of_columns,
    fields_of_markers,
    marker_rows,
    shape_rows,
    stamp_times,
)
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import Row
from rerun_bridge.model.timeline import stamp_to_ns

MARKER_ARCHETYPES: Final = (
    "Arrows3D",
    "Boxes3D",
    "Ellipsoids3D",
    "Cylinders3D",
    "LineStrips3D",
    "Points3D",
    "Mesh3D",
    "Asset3D",
    "InstancePoses3D",
    "CoordinateFrame",
    "Clear",
)


def convert_marker(msg: Any, ctx: ConvertContext) -> list[Row]:
    return with_expiries(ctx, lambda: _marker_rows(msg, ctx))


def _marker_rows(marker: Any, ctx: ConvertContext) -> list[Row]:
    """A Marker message: its marker on ``<topic>/<ns>/<id>``; DELETE and DELETEALL as Clears."""
    action = int(marker.action)
    if action == ADD:
        return marker_rows(marker, ctx, {})
    lifetimes = ctx.shared.get(MarkerLifetimes)
    if action == DELETE:
        entity_path = marker_path(ctx.entity_path, marker.ns, marker.id)
        lifetimes.deleted(ctx.topic, entity_path, recursive=False)
        return [clear_row(entity_path, False)]
    if action == DELETEALL:
        ns = str(marker.ns)
        target = namespace_path(ctx.entity_path, ns) if ns else ctx.entity_path
        lifetimes.deleted(ctx.topic, target, recursive=True)
        return [clear_row(target, True)]
    raise ConversionError(f"marker action {action} is not ADD, DELETE or DELETEALL")


def convert_marker_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    return with_expiries(ctx, lambda: _marker_array_rows(msg, ctx))


def _marker_array_rows(msg: Any, ctx: ConvertContext) -> list[Row]:
    """The array applied to the topic's markers: from its columns when it was scanned and every added
    marker converts, else marker by marker (which raises a bad marker's error). A failed try leaves the
    state as it was (and what it told the lifetimes is told again, the same)."""
    columns = getattr(msg, "columns", None)
    if columns is not None and not has_bad_markers(columns, (columns.actions == ADD).nonzero()[0]):
        try:
            return array_rows(fields_of_columns(columns), ctx)
        except (NonFinitePointsError, ConversionError):
            pass  # marker by marker: the reference's own error
    return array_rows(fields_of_markers(msg.markers), ctx)


def interactive_marker_rows(interactive: Any, ctx: ConvertContext) -> list[Row]:
    """An interactive marker's control markers, replacing what its entity ``<topic>/<name>`` showed.

    A control marker without a frame is placed relative to the interactive marker's pose in its header
    frame (as RViz does); one with a frame keeps its own pose in it.
    """
    entity_path = sub_path(ctx.entity_path, str(interactive.name) or EMPTY_NS)
    times = stamp_times(stamp_to_ns(interactive.header.stamp))
    rows = [clear_row(entity_path, True, times=times)]
    parent = placement_of(interactive.pose, _UNIT_SCALE)
    parent_frame = header_frame(interactive)
    markers = [marker for control in interactive.controls for marker in control.markers]
    for index, marker in enumerate(markers):
        place = placement_of(marker.pose, marker.scale)
        frame = header_frame(marker)
        if not frame:
            place, frame = place.within(parent), parent_frame
        rows += shape_rows(marker, place, sub_path(entity_path, str(index)), frame, ctx, times)
    return rows


def convert_interactive_marker_update(msg: Any, ctx: ConvertContext) -> list[Row]:
    """UPDATE: each interactive marker's shapes anew; erased ones cleared. Pose-only updates (``poses``)
    and KEEP_ALIVE carry no shapes and are not drawn (docs/markers.md)."""
    rows = [row for interactive in msg.markers for row in interactive_marker_rows(interactive, ctx)]
    # Erases have no stamp of their own: the update's first one puts them on ros_time too.
    stamps = (stamp_times(stamp_to_ns(interactive.header.stamp)) for interactive in msg.markers)
    times = next((own for own in stamps if own), {})
    for name in getattr(msg, "erases", ()):
        rows.append(clear_row(sub_path(ctx.entity_path, str(name) or EMPTY_NS), True, times=times))
    return rows


@dataclass(frozen=True, slots=True)
class _Scale:
    x: float = 1.0
    y: float = 1.0
    z: float = 1.0


_UNIT_SCALE: Final = _Scale()


#: This module's converters, for :data:`rerun_bridge.convert.builtin.BUILTIN_CONVERTERS`.
CONVERTERS: Final = (
    Converter("visualization_msgs/msg/Marker", convert_marker, MARKER_ARCHETYPES),
    Converter("visualization_msgs/msg/MarkerArray", convert_marker_array, MARKER_ARCHETYPES),
    Converter(
        "visualization_msgs/msg/InteractiveMarkerUpdate", convert_interactive_marker_update, MARKER_ARCHETYPES
    ),
    Converter(
        "visualization_msgs/msg/InteractiveMarkerInit", convert_interactive_marker_update, MARKER_ARCHETYPES
    ),
    Converter("visualization_msgs/msg/ImageMarker", convert_image_marker, IMAGE_MARKER_ARCHETYPES),
)
