"""visualization_msgs: Marker, MarkerArray and interactive markers' shapes (ImageMarker: image_markers).

Every marker lives on its own entity ``<topic>/<ns>/<id>`` (``_`` for an empty namespace) with its header
frame as a ``CoordinateFrame``; its shape (:mod:`marker_shapes`) is given in that frame. DELETE is a
``Clear`` on the marker's entity, DELETEALL a recursive ``Clear`` on its namespace (on the whole topic
when it has none), a lifetime a ``Clear`` at the marker's expiry, written once a later message or the
stream's end shows it was not re-published (:mod:`marker_lifetimes`).

Markers that follow a DELETEALL of their namespace in the same MarkerArray redraw that namespace from
scratch (slam_toolbox's graph, every cycle): those of one type share one row on ``<topic>/<ns>/<TYPE>``
instead of an entity each, which is what makes big arrays cheap (docs/markers.md measures it). An array
the decoder read as columns (:mod:`rerun_bridge.cdr.marker_scan`) has its batches built from those
columns at once (:mod:`marker_columns`), giving the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.cdr.marker_scan import MarkerColumns
from rerun_bridge.convert.common import header_frame, sub_path, with_frame
from rerun_bridge.convert.image_markers import IMAGE_MARKER_ARCHETYPES, convert_image_marker
from rerun_bridge.convert.marker_columns import batch_shape, has_bad_markers
from rerun_bridge.convert.marker_entities import (
    EMPTY_NS,
    clear_row,
    duration_ns,
    marker_path,
    namespace_path,
)
from rerun_bridge.convert.marker_lifetimes import MarkerLifetimes, lifetime_rows, with_expiries
from rerun_bridge.convert.marker_meshes import mesh_rows
from rerun_bridge.convert.marker_shapes import (
    MESH_RESOURCE,
    POSE_TYPES,
    SHAPES,
    TYPE_NAMES,
    Placement,
    Shape,
    joined,
    placement_of,
    pose_shapes,
    pose_values,
)
from rerun_bridge.convert.registry import ConvertContext, Converter
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import Row
from rerun_bridge.model.timeline import ROS_TIME, stamp_to_ns

# Marker actions (ADD and MODIFY are the same value).
ADD: Final = 0
DELETE: Final = 2
DELETEALL: Final = 3

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


def marker_shape(marker: Any, place: Placement) -> Shape:
    convert = SHAPES.get(int(marker.type))
    if convert is None:
        raise ConversionError(f"marker type {marker.type} is not a visualization_msgs/Marker type")
    return convert(marker, place)


def shape_rows(
    marker: Any, place: Placement, entity_path: str, frame: str, ctx: ConvertContext, times: Mapping[str, int]
) -> list[Row]:
    """A marker's shape (or mesh) at ``place`` in ``frame`` on ``entity_path``, at ``times``."""
    if int(marker.type) == MESH_RESOURCE:
        rows = mesh_rows(marker, place, entity_path, ctx)
    else:
        shape = marker_shape(marker, place)
        rows = [Row(entity_path, shape.archetype, shape.components)]
    rows = with_frame(rows, entity_path, frame)
    for row in rows:
        row.times = times
    return rows


def marker_rows(marker: Any, ctx: ConvertContext, times: Mapping[str, int]) -> list[Row]:
    """An added marker on its own entity: its shape, its frame, and its lifetime's Clear."""
    entity_path = marker_path(ctx.entity_path, marker.ns, marker.id)
    place = placement_of(marker.pose, marker.scale)
    rows = shape_rows(marker, place, entity_path, header_frame(marker), ctx, times)
    rows += lifetime_rows(entity_path, duration_ns(marker.lifetime), ctx, times)
    return rows


def _own_times(marker: Any, in_array: bool) -> dict[str, int]:
    """A marker of an array is on ros_time at its own stamp (a zero stamp, RViz's "latest", on none)."""
    if not in_array:
        return {}
    stamp = stamp_to_ns(marker.header.stamp)
    return {ROS_TIME: stamp} if stamp else {}


@dataclass(slots=True)
class _Batch:
    """Markers of one namespace and type redrawn after a DELETEALL, by id, in one frame: their shapes,
    or for :data:`POSE_TYPES` their pose values (built as columns at the end)."""

    frame: str
    shapes: dict[int, Any] = field(default_factory=dict)
    times: dict[str, int] = field(default_factory=dict)

    def shape(self, kind: int) -> Shape:
        items = list(self.shapes.values())
        if kind in POSE_TYPES:
            return pose_shapes(kind, np.array(items, dtype=np.float64).reshape(-1, 14))
        return joined(items)


@dataclass(slots=True)
class MarkerPlan:
    """The rows of one message's markers, in order, with redrawn namespaces batched."""

    ctx: ConvertContext
    in_array: bool
    #: The first non-zero stamp of the array's markers (0: none).
    array_stamp: int = 0
    rows: list[Row] = field(default_factory=list)
    #: Namespaces a DELETEALL of this message emptied (None: all of them).
    redrawn: set[str] | None = field(default_factory=set)
    batches: dict[tuple[str, int], _Batch] = field(default_factory=dict)

    def add(self, marker: Any) -> None:
        action = int(marker.action)
        if action == ADD:
            if not self._batched(marker):
                self.rows += marker_rows(marker, self.ctx, _own_times(marker, self.in_array))
        elif action == DELETE:
            for key, batch in self.batches.items():
                if key[0] == marker.ns:
                    batch.shapes.pop(int(marker.id), None)
            entity_path = marker_path(self.ctx.entity_path, marker.ns, marker.id)
            self.ctx.shared.get(MarkerLifetimes).deleted(self.ctx.topic, entity_path, recursive=False)
            self.rows.append(clear_row(entity_path, False, times=self._clear_times(marker)))
        elif action == DELETEALL:
            self._delete_all(marker)
        else:
            raise ConversionError(f"marker action {action} is not ADD, DELETE or DELETEALL")

    def _clear_times(self, marker: Any) -> dict[str, int]:
        """A delete's own stamp, else (often zero on deletes) the array's: it must show on ros_time too."""
        own = _own_times(marker, self.in_array)
        if own or not self.array_stamp:
            return own
        return {ROS_TIME: self.array_stamp}

    def _delete_all(self, marker: Any) -> None:
        ns = str(marker.ns)
        if ns:
            target = namespace_path(self.ctx.entity_path, ns)
            self.batches = {key: batch for key, batch in self.batches.items() if key[0] != ns}
            if self.redrawn is not None:
                self.redrawn.add(ns)
        else:
            target = self.ctx.entity_path
            self.batches.clear()
            self.redrawn = None
        self.ctx.shared.get(MarkerLifetimes).deleted(self.ctx.topic, target, recursive=True)
        self.rows.append(clear_row(target, True, times=self._clear_times(marker)))

    def _batched(self, marker: Any) -> bool:
        """Whether an added marker joins its namespace's batch (redrawn, no lifetime, not a mesh file)."""
        ns, kind = str(marker.ns), int(marker.type)
        redrawn = self.redrawn is None or ns in self.redrawn
        if not self.in_array or not redrawn or kind == MESH_RESOURCE or duration_ns(marker.lifetime) > 0:
            return False
        frame = header_frame(marker)
        batch = self.batches.get((ns, kind))
        if batch is None:
            batch = self.batches[(ns, kind)] = _Batch(frame, times=_own_times(marker, True))
        elif batch.frame != frame:
            return False  # another frame than the batch's: an entity of its own
        if kind in POSE_TYPES:
            batch.shapes[int(marker.id)] = pose_values(marker)
        else:
            batch.shapes[int(marker.id)] = marker_shape(marker, placement_of(marker.pose, marker.scale))
        return True

    def finish(self) -> list[Row]:
        for (ns, kind), batch in self.batches.items():
            if not batch.shapes:
                continue
            entity_path = sub_path(namespace_path(self.ctx.entity_path, ns), TYPE_NAMES[kind])
            shape = batch.shape(kind)
            rows = with_frame([Row(entity_path, shape.archetype, shape.components)], entity_path, batch.frame)
            for row in rows:
                row.times = batch.times
            self.rows += rows
        return self.rows


def convert_marker(msg: Any, ctx: ConvertContext) -> list[Row]:
    return with_expiries(ctx, lambda: _marker_rows(msg, ctx))


def _marker_rows(msg: Any, ctx: ConvertContext) -> list[Row]:
    plan = MarkerPlan(ctx, in_array=False)
    plan.add(msg)
    return plan.finish()


def convert_marker_array(msg: Any, ctx: ConvertContext) -> list[Row]:
    return with_expiries(ctx, lambda: _marker_array_rows(msg, ctx))


def _marker_array_rows(msg: Any, ctx: ConvertContext) -> list[Row]:
    columns = getattr(msg, "columns", None)
    if columns is not None:
        rows = _column_rows(columns, ctx)
        if rows is not None:
            return rows
    stamps = (stamp_to_ns(marker.header.stamp) for marker in msg.markers)
    first_stamp = next((stamp for stamp in stamps if stamp), 0)
    plan = MarkerPlan(ctx, in_array=True, array_stamp=first_stamp)
    for marker in msg.markers:
        plan.add(marker)
    return plan.finish()


def _column_rows(columns: MarkerColumns, ctx: ConvertContext) -> list[Row] | None:
    """The rows :class:`MarkerPlan` makes of a scanned array whose namespaces are redrawn (deletes first,
    then only additions: slam_toolbox's pattern), with batches built as columns (:mod:`marker_columns`).
    None for any other array, or one with a marker that fails to convert: the plan then goes marker by
    marker (and raises what it always raised)."""
    actions = columns.actions
    added = np.flatnonzero(actions == ADD)
    first_added = int(added[0]) if len(added) else len(actions)
    if first_added == 0 or len(added) != len(actions) - first_added:
        return None  # nothing redrawn (an entity per marker), or deletes among the additions
    if has_bad_markers(columns, added):
        return None
    # What the leading deletes redraw, as MarkerPlan._delete_all notes it (a DELETEALL without ns: all).
    deleting_all = columns.ns_codes[:first_added][columns.actions[:first_added] == DELETEALL]
    names = {columns.ns_names[code] for code in deleting_all.tolist()}
    batched = _batched(columns, added, None if "" in names else names)
    in_batches = added[batched]
    kinds = columns.types[in_batches]
    keys = columns.ns_codes[in_batches] * len(TYPE_NAMES) + kinds
    unique_ids = np.sort((keys << 32) + columns.ids[in_batches])
    if (unique_ids[1:] == unique_ids[:-1]).any():
        return None  # an id twice in a batch: the plan keeps the first one's place and the last one's shape
    nonzero = np.flatnonzero(columns.stamp_ns)
    plan = MarkerPlan(
        ctx, in_array=True, array_stamp=int(columns.stamp_ns[nonzero[0]]) if len(nonzero) else 0
    )
    for start in columns.starts[:first_added].tolist():
        plan.add(columns.marker_at(start))
    for index in added[~batched].tolist():
        plan.rows += marker_rows(
            columns.marker_at(int(columns.starts[index])), ctx, _column_times(columns, index)
        )
    # Batches in the order of their first marker (the plan's dict order), each its markers in order.
    order = np.argsort(keys, kind="stable")
    bounds = np.flatnonzero(np.diff(keys[order])) + 1
    groups = np.split(in_batches[order], bounds) if len(keys) else []
    for indices in sorted(groups, key=lambda indices: int(indices[0])):
        first = int(indices[0])
        kind = int(columns.types[first])
        shape = batch_shape(columns, indices, kind)
        if shape is None:
            markers = [columns.marker_at(int(columns.starts[index])) for index in indices.tolist()]
            shape = joined(
                [marker_shape(marker, placement_of(marker.pose, marker.scale)) for marker in markers]
            )
        ns = columns.ns_names[int(columns.ns_codes[first])]
        entity_path = sub_path(namespace_path(ctx.entity_path, ns), TYPE_NAMES[kind])
        frame = columns.frame_names[int(columns.frame_codes[first])].lstrip("/")
        rows = with_frame([Row(entity_path, shape.archetype, shape.components)], entity_path, frame)
        for row in rows:
            row.times = _column_times(columns, first)
        plan.rows += rows
    return plan.rows


def _column_times(columns: MarkerColumns, index: int) -> dict[str, int]:
    """:func:`_own_times` of a marker of a scanned array."""
    stamp = int(columns.stamp_ns[index])
    return {ROS_TIME: stamp} if stamp else {}


def _batched(
    columns: MarkerColumns, added: npt.NDArray[np.int64], redrawn: set[str] | None
) -> npt.NDArray[np.bool_]:
    """Which added markers :meth:`MarkerPlan._batched` puts in a batch: of a redrawn namespace, no lifetime,
    not a mesh file, in the frame of the first such marker of their namespace and type."""
    ns_redrawn = np.array([redrawn is None or name in redrawn for name in columns.ns_names])
    kinds = columns.types[added]
    batched: npt.NDArray[np.bool_] = (
        ns_redrawn[columns.ns_codes[added]] & (kinds != MESH_RESOURCE) & (columns.lifetime_ns[added] <= 0)
    )
    # Frames as header_frame gives them ("/map" is "map"), numbered.
    numbers: dict[str, int] = {}
    stripped = [numbers.setdefault(name.lstrip("/"), len(numbers)) for name in columns.frame_names]
    frame = np.array(stripped, dtype=np.int64)[columns.frame_codes[added]]
    if len(numbers) == 1:
        return batched
    keys = columns.ns_codes[added] * len(TYPE_NAMES) + kinds
    candidates = np.flatnonzero(batched)
    _unique, firsts, groups = np.unique(keys[candidates], return_index=True, return_inverse=True)
    batch_frame = frame[candidates[firsts]]
    batched[candidates] = frame[candidates] == batch_frame[groups.reshape(-1)]
    return batched


def interactive_marker_rows(interactive: Any, ctx: ConvertContext) -> list[Row]:
    """An interactive marker's control markers, replacing what its entity ``<topic>/<name>`` showed.

    A control marker without a frame is placed relative to the interactive marker's pose in its header
    frame (as RViz does); one with a frame keeps its own pose in it.
    """
    entity_path = sub_path(ctx.entity_path, str(interactive.name) or EMPTY_NS)
    times = _own_times(interactive, in_array=True)
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
    stamps = (_own_times(interactive, in_array=True) for interactive in msg.markers)
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
