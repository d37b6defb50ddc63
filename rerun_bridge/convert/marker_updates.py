"""A MarkerArray applied to its topic's live markers (:mod:`marker_state`), and the rows that redraw them.

The array is read as columns (:class:`MarkerFields`): from the scan of its CDR
(:func:`fields_of_columns`, groups built by numpy in :mod:`marker_columns`) or from decoded markers
(:func:`fields_of_markers`, one shape per marker). Both give the same rows; the second is the reference
and the one that raises a bad marker's error. Actions are applied in the array's order: a run of
additions at once (the last of an id wins), each DELETE and DELETEALL on its own. Then every group the
array changed is written whole, once, on ``<topic>/<ns>/<TYPE>`` (a ``Clear`` when it became empty).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.cdr.marker_scan import MarkerColumns
from rerun_bridge.convert.common import frame_row, header_frame, sub_path, with_frame
from rerun_bridge.convert.marker_columns import batch_content
from rerun_bridge.convert.marker_entities import clear_row, duration_ns, marker_path, namespace_path
from rerun_bridge.convert.marker_frame_lock import FrameLockedMarkers
from rerun_bridge.convert.marker_lifetimes import MarkerLifetimes, lifetime_rows
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
from rerun_bridge.convert.marker_state import (
    Group,
    GroupContent,
    GroupKey,
    MarkerState,
    TopicMarkers,
    unshown_components,
)
from rerun_bridge.convert.registry import ConvertContext
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import Row
from rerun_bridge.model.timeline import LOG_TIME, ROS_TIME, stamp_to_ns

I64 = npt.NDArray[np.int64]

# Marker actions (ADD and MODIFY are the same value).
ADD: Final = 0
DELETE: Final = 2
DELETEALL: Final = 3
_ACTIONS: Final = (ADD, DELETE, DELETEALL)
_KINDS: Final = np.array(sorted(TYPE_NAMES), dtype=np.int64)
#: Groups an array's additions are sorted into by comparison, at most (more: by sorting).
_FEW_GROUPS: Final = 16
#: Markers of their own a DELETEALL clears one by one, at most (more: one recursive Clear).
_MOST_SINGLE_CLEARS: Final = 64


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
    """A marker on an entity of its own: its shape, its frame, and its lifetime's Clear."""
    entity_path = marker_path(ctx.entity_path, marker.ns, marker.id)
    place = placement_of(marker.pose, marker.scale)
    rows = shape_rows(marker, place, entity_path, header_frame(marker), ctx, times)
    locked = bool(getattr(marker, "frame_locked", False))
    rows += ctx.shared.get(FrameLockedMarkers).rows(ctx.topic, entity_path, locked, times)
    rows += lifetime_rows(entity_path, duration_ns(marker.lifetime), ctx, times)
    return rows


def stamp_times(stamp: int) -> dict[str, int]:
    """A marker's own ros_time (a zero stamp, RViz's "latest", is on none)."""
    return {ROS_TIME: stamp} if stamp else {}


@dataclass(frozen=True, slots=True)
class MarkerFields:
    """What the update reads of every marker of one array, first axis the markers in order; frames as
    :func:`header_frame` gives them (no leading slash)."""

    ns_names: list[str]
    ns_codes: I64
    ids: I64
    types: I64
    actions: I64
    frame_names: list[str]
    frame_codes: I64
    lifetime_ns: I64
    stamp_ns: I64
    frame_locked: npt.NDArray[np.bool_]
    #: The decoded marker at an index (for markers drawn on entities of their own).
    marker: Callable[[int], Any]
    #: The markers at some indices, all of one type, as a group's content (raises on bad data).
    content: Callable[[I64, int], GroupContent]


def _codes(names: Sequence[str]) -> tuple[list[str], I64]:
    numbers: dict[str, int] = {}
    codes = [numbers.setdefault(name, len(numbers)) for name in names]
    return list(numbers), np.array(codes, dtype=np.int64)


def markers_content(markers: Sequence[Any], kind: int) -> GroupContent:
    """Decoded markers of one type as a group's content, shape by shape (the reference)."""
    ids = np.array([int(marker.id) for marker in markers], dtype=np.int64)
    if kind in POSE_TYPES:
        values = np.array([pose_values(marker) for marker in markers], dtype=np.float64).reshape(-1, 14)
        shape = pose_shapes(kind, values)
        return GroupContent.of(shape.archetype, ids, np.ones(len(ids), dtype=np.int64), shape.components)
    shapes = [marker_shape(marker, placement_of(marker.pose, marker.scale)) for marker in markers]
    counts = np.array([len(next(iter(shape.components.values()))) for shape in shapes], dtype=np.int64)
    shape = joined(shapes)
    return GroupContent.of(shape.archetype, ids, counts, shape.components)


def fields_of_markers(markers: Sequence[Any]) -> MarkerFields:
    """Decoded markers as columns, marker by marker."""
    ns_names, ns_codes = _codes([str(marker.ns) for marker in markers])
    frame_names, frame_codes = _codes([header_frame(marker) for marker in markers])

    def ints(read: Callable[[Any], int]) -> I64:
        return np.array([read(marker) for marker in markers], dtype=np.int64)

    return MarkerFields(
        ns_names,
        ns_codes,
        ints(lambda marker: int(marker.id)),
        ints(lambda marker: int(marker.type)),
        ints(lambda marker: int(marker.action)),
        frame_names,
        frame_codes,
        ints(lambda marker: duration_ns(marker.lifetime)),
        ints(lambda marker: stamp_to_ns(marker.header.stamp)),
        np.array([bool(marker.frame_locked) for marker in markers], dtype=np.bool_),
        markers.__getitem__,
        lambda indices, kind: markers_content([markers[index] for index in indices.tolist()], kind),
    )


def fields_of_columns(columns: MarkerColumns) -> MarkerFields:
    """A scanned array's columns; groups built from them by numpy where :mod:`marker_columns` can."""

    def marker(index: int) -> Any:
        return columns.marker_at(int(columns.starts[index]))

    def content(indices: I64, kind: int) -> GroupContent:
        built = batch_content(columns, indices, kind)
        if built is None:  # only marker by marker (line strips with per-point colours)
            return markers_content([marker(index) for index in indices.tolist()], kind)
        shape, counts = built
        return GroupContent.of(shape.archetype, columns.ids[indices], counts, shape.components)

    # Frames as header_frame gives them ("/map" is "map").
    frame_names, stripped = _codes([name.lstrip("/") for name in columns.frame_names])
    return MarkerFields(
        columns.ns_names,
        columns.ns_codes,
        columns.ids,
        columns.types,
        columns.actions,
        frame_names,
        stripped[columns.frame_codes],
        columns.lifetime_ns,
        columns.stamp_ns,
        columns.frame_locked,
        marker,
        content,
    )


def _groups_in_order(keys: I64) -> list[I64]:
    """The positions of each distinct key, groups in the order of their first position: by one stable
    sort of 16-bit keys (numpy sorts those by radix) where the keys fit, else by comparison while there are
    few (an array's namespaces and types) and by sorting the rest."""
    if len(keys) and int(keys.min()) >= 0 and int(keys.max()) < 1 << 16:
        order = np.argsort(keys.astype(np.uint16), kind="stable")
        ordered = keys[order]
        bounds = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        members = np.split(order, bounds)
        firsts = order[np.concatenate([[0], bounds])]  # each group's first position (the sort is stable)
        return [members[number] for number in np.argsort(firsts).tolist()]
    groups: list[I64] = []
    left = np.arange(len(keys), dtype=np.int64)
    while len(left) and len(groups) < _FEW_GROUPS:
        same = keys[left] == keys[left[0]]
        groups.append(left[same])
        left = left[~same]
    if len(left):
        _unique, firsts, inverse = np.unique(keys[left], return_index=True, return_inverse=True)
        order = np.argsort(inverse.reshape(-1), kind="stable")
        members = np.split(left[order], np.cumsum(np.bincount(inverse.reshape(-1)))[:-1])
        groups += [members[number] for number in np.argsort(firsts).tolist()]
    return groups


def _last_of_each(run: I64, ns_codes: I64, ids: I64) -> I64:
    """The indices of ``run`` with each (namespace, id) only at its last place in it, in order."""
    if len(ids) < 2 or bool((ids[1:] > ids[:-1]).all()):
        return run  # ids rising through the array (the common case): each once
    keys = (ns_codes << 32) + (ids + (1 << 31))
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    later = ordered[1:] == ordered[:-1]
    if not later.any():
        return run
    last = np.ones(len(keys), dtype=np.bool_)
    last[order[:-1][later]] = False
    return run[last]


def _replaces_all(held: I64, added: I64) -> bool:
    """Whether ``added`` holds every id of ``held`` (ascending): at once for the same ids in the same
    order, a set re-sent whole (the common case), else by ``isin``."""
    if len(held) == len(added) and np.array_equal(held, added):
        return True
    return bool(np.isin(held, added).all())


@dataclass(slots=True)
class ArrayUpdate:
    """One array applied to its topic's markers (a working copy): the rows, in order."""

    fields: MarkerFields
    ctx: ConvertContext
    state: TopicMarkers
    rows: list[Row] = field(default_factory=list)
    #: Groups changed by the array, with the stamp of the first marker that changed each (0: none).
    changed: dict[GroupKey, int] = field(default_factory=dict)
    #: The first non-zero stamp of the array's markers; without one, the array's receive time (log_time),
    #: as a message stamped zero is placed on ros_time (docs/data-model.md).
    array_stamp: int = 0

    def apply(self) -> list[Row]:
        fields = self.fields
        actions = fields.actions
        adding = actions == ADD
        others = np.flatnonzero(~adding)  # few: the isin below is over those only
        unknown = ~np.isin(actions[others], _ACTIONS)
        if unknown.any():
            action = int(actions[others[np.argmax(unknown)]])
            raise ConversionError(f"marker action {action} is not ADD, DELETE or DELETEALL")
        nonzero = np.flatnonzero(fields.stamp_ns)
        received = self.ctx.shared.message_times.get(LOG_TIME, 0)
        self.array_stamp = int(fields.stamp_ns[nonzero[0]]) if len(nonzero) else received
        bounds = np.flatnonzero(adding[1:] != adding[:-1]) + 1
        for run in np.split(np.arange(len(actions), dtype=np.int64), bounds):
            if not len(run):
                continue
            if adding[run[0]]:
                self._add(run)
                continue
            for index in run.tolist():
                if int(actions[index]) == DELETE:
                    self._delete(index)
                else:
                    self._delete_all(index)
        return self.rows + self._group_rows()

    # -- actions -------------------------------------------------------------------------------------

    def _add(self, run: I64) -> None:
        """A run of additions (consecutive markers): each replaces the marker of its namespace and id,
        wherever it was."""
        fields = self.fields
        # Views, not gathers, while the run is whole.
        within: slice | I64 = slice(int(run[0]), int(run[-1]) + 1)
        kinds = fields.types[within]
        if int(kinds.min()) < _KINDS[0] or int(kinds.max()) > _KINDS[-1]:  # the types are 0 to 11
            kind = int(kinds[np.argmax(~np.isin(kinds, _KINDS))])
            raise ConversionError(f"marker type {kind} is not a visualization_msgs/Marker type")
        kept = _last_of_each(run, fields.ns_codes[within], fields.ids[within])
        if kept is not run:
            run, within = kept, kept
            kinds = fields.types[kept]
        single = (kinds == MESH_RESOURCE) | (fields.lifetime_ns[within] > 0) | fields.frame_locked[within]
        updates = self._grouped(run, within, single)
        for position in np.flatnonzero(single).tolist():
            self._add_single(int(run[position]))
        for key, frame, indices in updates:
            self._add_to_group(key, frame, indices)

    def _grouped(
        self, run: I64, within: slice | I64, single: npt.NDArray[np.bool_]
    ) -> list[tuple[GroupKey, str, I64]]:
        """The run's markers (``within``: the same, as a slice where it is one) by group, in the order of
        each group's first marker, those in their group's frame; the others are marked ``single``. A group
        keeps its frame while it holds markers the run does not replace, else takes that of its first
        marker in the run."""
        fields = self.fields
        if single.any():
            candidates = np.flatnonzero(~single)
            if not len(candidates):
                return []
            within = indices = run[candidates]
        else:  # every marker of the run goes to a group (the common case)
            candidates, indices = np.arange(len(run)), run
        keys = fields.ns_codes[within] * len(TYPE_NAMES) + fields.types[within]
        updates: list[tuple[GroupKey, str, I64]] = []
        # The run's markers in one frame (the common case): a group in that frame takes them all.
        run_codes = fields.frame_codes[within]
        one_frame = bool((run_codes == run_codes[0]).all())
        for positions in _groups_in_order(keys):
            chosen = indices[positions]
            first = int(chosen[0])
            key = (fields.ns_names[int(fields.ns_codes[first])], int(fields.types[first]))
            frame = fields.frame_names[int(fields.frame_codes[first])]
            group = self.state.groups.get(key)
            if group is not None and not _replaces_all(group.content.ids, fields.ids[chosen]):
                frame = group.frame
            if one_frame and frame == fields.frame_names[int(run_codes[0])]:
                updates.append((key, frame, chosen))
                continue
            codes = fields.frame_codes[chosen]
            in_frame = codes == fields.frame_names.index(frame) if frame in fields.frame_names else codes < 0
            single[candidates[positions[~in_frame]]] = True
            if in_frame.any():
                updates.append((key, frame, chosen[in_frame]))
        return updates

    def _add_single(self, index: int) -> None:
        fields = self.fields
        marker = self.fields.marker(index)
        self.rows += marker_rows(
            marker, self.ctx, stamp_times(int(fields.stamp_ns[index]) or self.array_stamp)
        )
        ns, marker_id = fields.ns_names[int(fields.ns_codes[index])], int(fields.ids[index])
        self.state.singles.setdefault(ns, set()).add(marker_id)
        ids = np.array([marker_id], dtype=np.int64)
        for key in self.state.groups_of(ns):
            self._take_out(key, ids, int(fields.stamp_ns[index]))

    def _add_to_group(self, key: GroupKey, frame: str, indices: I64) -> None:
        fields = self.fields
        content = fields.content(indices, key[1])
        stamp = int(fields.stamp_ns[indices[0]])
        ns = key[0]
        for other in self.state.groups_of(ns):
            if other != key:
                self._take_out(other, content.ids, stamp)
        singles = self.state.singles.get(ns)
        if singles:
            moved = content.ids[
                np.isin(content.ids, np.fromiter(singles, dtype=np.int64, count=len(singles)))
            ]
            for marker_id in moved.tolist():
                singles.discard(marker_id)
                self._clear_single(ns, marker_id, stamp_times(stamp or self.array_stamp))
        group = self.state.groups.get(key)
        if group is not None and group.frame == frame:
            content = group.content.merged(content)
        self._set(key, frame, content, stamp)

    def _delete(self, index: int) -> None:
        fields = self.fields
        ns, marker_id = fields.ns_names[int(fields.ns_codes[index])], int(fields.ids[index])
        stamp = int(fields.stamp_ns[index])
        ids = np.array([marker_id], dtype=np.int64)
        grouped = False
        for key in self.state.groups_of(ns):
            grouped |= self._take_out(key, ids, stamp)
        singles = self.state.singles.get(ns, set())
        if marker_id in singles or not grouped:  # not in a group: a marker of its own, or unknown
            singles.discard(marker_id)
            self._clear_single(ns, marker_id, stamp_times(stamp or self.array_stamp))

    def _delete_all(self, index: int) -> None:
        """Every marker of a namespace (none: of the topic) deleted. When the state knows them all, the
        groups are emptied in it (those the array refills are written whole, the others cleared) and each
        marker of its own gets a Clear; else (or past a few of those) a recursive Clear of the namespace."""
        fields, state = self.fields, self.state
        ns = fields.ns_names[int(fields.ns_codes[index])]
        namespaces = [ns] if ns else sorted({*state.singles, *(key[0] for key in state.groups)})
        keys = [key for key in state.groups if key[0] in namespaces]
        singles = [(name, marker_id) for name in namespaces for marker_id in state.singles.pop(name, ())]
        stamp = int(fields.stamp_ns[index]) or self.array_stamp
        if state.complete and len(singles) <= _MOST_SINGLE_CLEARS:
            for key in keys:
                self._set(key, state.groups[key].frame, None, stamp)
            for name, marker_id in sorted(singles):
                self._clear_single(name, marker_id, stamp_times(stamp))
            return
        target = namespace_path(self.ctx.entity_path, ns) if ns else self.ctx.entity_path
        for key in [*keys, *(key for key in state.framed if key[0] in namespaces or not ns)]:
            state.groups.pop(key, None)
            state.framed.pop(key, None)
            state.written.pop(key, None)
            self.changed.pop(key, None)  # the recursive Clear below empties it
        self._written_at(stamp)
        state.complete = state.complete or not ns
        self.ctx.shared.get(MarkerLifetimes).deleted(self.ctx.topic, target, recursive=True)
        self.rows.append(clear_row(target, True, times=stamp_times(stamp)))

    # -- state ---------------------------------------------------------------------------------------

    def _clear_single(self, ns: str, marker_id: int, times: Mapping[str, int]) -> None:
        entity_path = marker_path(self.ctx.entity_path, ns, marker_id)
        self.ctx.shared.get(MarkerLifetimes).deleted(self.ctx.topic, entity_path, recursive=False)
        self.rows.append(clear_row(entity_path, False, times=times))

    def _take_out(self, key: GroupKey, ids: I64, stamp: int) -> bool:
        """Removes ``ids`` from a group; whether it held any."""
        group = self.state.groups[key]
        content = group.content.without(ids)
        if content is group.content:
            return False
        self._set(key, group.frame, content, stamp)
        return True

    def _set(self, key: GroupKey, frame: str, content: GroupContent | None, stamp: int) -> None:
        """A group's new content (None or empty: none)."""
        if content is not None and len(content):
            self.state.groups[key] = Group(frame, content)
        else:
            self.state.groups.pop(key, None)
        self.changed.setdefault(key, stamp)

    def _group_rows(self) -> list[Row]:
        """Each changed group (its frame too where the group is new), or a Clear once empty. A group is
        written whole, or where every row reaches every reader (``SharedState.whole_history``) with only
        the components its entity does not already show (none: no row)."""
        rows: list[Row] = []
        state = self.state
        partial = self.ctx.shared.whole_history
        for key, first_stamp in self.changed.items():
            ns, kind = key
            entity_path = sub_path(namespace_path(self.ctx.entity_path, ns), TYPE_NAMES[kind])
            stamp = first_stamp or self.array_stamp
            times = stamp_times(stamp)
            group = state.groups.get(key)
            if group is None:
                rows.append(clear_row(entity_path, False, times=times))
                state.framed.pop(key, None)
                state.written.pop(key, None)
                self._written_at(stamp)
                continue
            content = group.content
            components = content.components
            if partial:
                components = self._unshown(key, components)
            if components:
                rows.append(Row(entity_path, content.archetype, components, times=times))
                self._written_at(stamp)
            if state.framed.get(key) != group.frame:  # new, cleared since, or moved to another frame
                frame = frame_row(entity_path, group.frame)
                if frame is not None:
                    frame.times = times
                    rows.append(frame)
                state.framed[key] = group.frame
        return rows

    def _written_at(self, stamp: int) -> None:
        """A row or Clear of the topic's groups written at ``stamp``: one before the latest breaks what
        the partial rows after it rely on, so the topic is written again whole."""
        state = self.state
        if stamp < state.latest_ns and self.ctx.shared.whole_history:
            self.ctx.shared.rewrite_whole.add(self.ctx.topic)
        state.latest_ns = max(state.latest_ns, stamp)

    def _unshown(self, key: GroupKey, components: dict[str, Any]) -> dict[str, Any]:
        """The components a row of the group must hold: those its entity does not show already (a row
        stamped before an earlier one may leave out the wrong ones: :meth:`_written_at` has the topic
        written again whole then)."""
        shown = self.state.written.get(key)
        self.state.written[key] = components
        return components if shown is None else unshown_components(components, shown)


def array_rows(fields: MarkerFields, ctx: ConvertContext) -> list[Row]:
    """The rows of one array applied to its topic's markers; the state changes only if it converts."""
    markers = ctx.shared.get(MarkerState)
    state = markers.working_copy(ctx.topic)
    rows = ArrayUpdate(fields, ctx, state).apply()
    markers.commit(ctx.topic, state)
    return rows
