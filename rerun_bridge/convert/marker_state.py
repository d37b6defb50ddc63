"""The live markers of each MarkerArray topic, as RViz keeps them: what every array updates and redraws.

Markers of one namespace and type (in one frame) form a group drawn as one row on ``<topic>/<ns>/<TYPE>``
(docs/markers.md). A group's content is kept as the instances of its archetype, marker after marker in
the order of their ids, with how many instances each marker has: an ADD / MODIFY replaces a marker's
instances by id, a DELETE takes them out, without a Python object per marker (numpy takes and
concatenations). The state lives in the pipeline's :class:`~rerun_bridge.convert.registry.SharedState`,
per topic; a conversion works on a copy and keeps it only when the whole array converted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from rerun_bridge.model.strips import Strips, ragged

I64 = npt.NDArray[np.int64]


def _take_components(components: dict[str, Any], instances: I64) -> dict[str, Any]:
    taken: dict[str, Any] = {}
    for name, value in components.items():
        if isinstance(value, np.ndarray):
            taken[name] = value[instances]
        elif isinstance(value, Strips):
            taken[name] = value.take(instances)
        else:
            taken[name] = [value[index] for index in instances.tolist()]
    return taken


def _concat_components(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    joined: dict[str, Any] = {}
    for name, value in first.items():
        other = second[name]
        if isinstance(value, np.ndarray):
            joined[name] = np.concatenate([value, other])
        elif isinstance(value, Strips) or isinstance(other, Strips):
            joined[name] = Strips.joined([value, other])
        else:
            joined[name] = [*value, *other]
    return joined


@dataclass(frozen=True, slots=True)
class GroupContent:
    """The instances of a group's markers: ``counts[i]`` instances of each component belong to the marker
    ``ids[i]``, markers in ascending id order, each id once."""

    archetype: str
    ids: I64
    counts: I64
    components: dict[str, Any]

    @staticmethod
    def of(archetype: str, ids: I64, counts: I64, components: dict[str, Any]) -> GroupContent:
        """Markers with distinct ids in any order, put in id order."""
        content = GroupContent(archetype, ids.astype(np.int64), counts.astype(np.int64), components)
        if len(ids) > 1 and not bool((np.diff(content.ids) > 0).all()):
            return content.take(np.argsort(content.ids, kind="stable"))
        return content

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, markers: I64) -> GroupContent:
        """The markers at positions ``markers``, in that order."""
        firsts = np.cumsum(self.counts) - self.counts
        instances = ragged(firsts[markers], self.counts[markers])
        return GroupContent(
            self.archetype,
            self.ids[markers],
            self.counts[markers],
            _take_components(self.components, instances),
        )

    def without(self, ids: I64) -> GroupContent:
        """The group less the markers ``ids`` (itself when it holds none of them)."""
        kept = ~np.isin(self.ids, ids)
        if kept.all():
            return self
        return self.take(np.flatnonzero(kept))

    def merged(self, newer: GroupContent) -> GroupContent:
        """The group with ``newer``'s markers added, replacing those of the same ids."""
        if len(self.ids) == len(newer.ids) and np.array_equal(self.ids, newer.ids):
            return newer  # the same markers again (a set re-sent whole): no isin
        kept = np.flatnonzero(~np.isin(self.ids, newer.ids))
        if len(kept) == 0:
            return newer
        older = self.take(kept)
        return GroupContent.of(
            self.archetype,
            np.concatenate([older.ids, newer.ids]),
            np.concatenate([older.counts, newer.counts]),
            _concat_components(older.components, newer.components),
        )


def same_component(first: Any, second: Any) -> bool:
    """Whether two values of a component hold the same instances: arrays, strips, or lists of strings or
    of arrays (the line strips of markers with per-point colours); anything else counts as changed."""
    if isinstance(first, np.ndarray):
        return isinstance(second, np.ndarray) and _same_array(first, second)
    if isinstance(first, Strips):
        return (
            isinstance(second, Strips)
            and _same_array(first.lengths, second.lengths)
            and _same_array(first.points, second.points)
        )
    if isinstance(first, list | tuple):
        if not isinstance(second, list | tuple) or len(first) != len(second):
            return False
        if first and isinstance(first[0], str) and isinstance(second[0], str):
            try:  # labels: compared in C, not string by string here
                return list(first) == list(second)
            except ValueError:  # not all strings after all: an array's truth is ambiguous
                pass
        return all(same_component(one, other) for one, other in zip(first, second, strict=True))
    if isinstance(first, str | int | float):
        return type(first) is type(second) and first == second
    return False


def _same_array(first: npt.NDArray[Any], second: npt.NDArray[Any]) -> bool:
    """Whether two arrays hold the same bytes in the same type and shape: equal instances show the same
    (a NaN as itself; 0.0 and -0.0 count as changed, which only writes the component again). Bytes
    compare several times faster than numpy's element-wise equality."""
    return first.dtype == second.dtype and first.shape == second.shape and first.tobytes() == second.tobytes()


def unshown_components(components: dict[str, Any], shown: dict[str, Any]) -> dict[str, Any]:
    """Of ``components``, those whose instances differ from the ``shown`` ones."""
    return {
        name: value
        for name, value in components.items()
        if name not in shown or not same_component(value, shown[name])
    }


@dataclass(frozen=True, slots=True)
class Group:
    """A group's header frame and what it holds."""

    frame: str
    content: GroupContent


#: A group: its namespace and marker type.
GroupKey = tuple[str, int]


@dataclass(slots=True)
class TopicMarkers:
    """One topic's live markers: the groups, and per namespace the ids drawn on entities of their own
    (mesh files, markers with a lifetime, markers in another frame than their group's)."""

    groups: dict[GroupKey, Group] = field(default_factory=dict)
    singles: dict[str, set[int]] = field(default_factory=dict)
    #: The frame written on each group's entity and not cleared since.
    framed: dict[GroupKey, str] = field(default_factory=dict)
    #: The components each group's entity shows (written and not cleared since), where later rows may
    #: leave out unchanged ones (``SharedState.whole_history``).
    written: dict[GroupKey, dict[str, Any]] = field(default_factory=dict)
    #: The latest ``ros_time`` of the rows and Clears written for the topic's groups: one written before it
    #: means the topic's partial rows must be written again whole (``SharedState.rewrite_whole``).
    latest_ns: int = 0
    #: Whether these are all the markers the topic's entities show (False after :meth:`MarkerState.forget`:
    #: entities may show markers this state never saw, until a DELETEALL of every namespace).
    complete: bool = True

    def copy(self) -> TopicMarkers:
        singles = {ns: set(ids) for ns, ids in self.singles.items()}
        return TopicMarkers(
            dict(self.groups),
            singles,
            dict(self.framed),
            dict(self.written),
            self.latest_ns,
            self.complete,
        )

    def groups_of(self, ns: str) -> list[GroupKey]:
        return [key for key in self.groups if key[0] == ns]


class MarkerState:
    """Per topic, its :class:`TopicMarkers` (the pipeline's shared object)."""

    def __init__(self) -> None:
        self._topics: dict[str, TopicMarkers] = {}

    def working_copy(self, topic: str) -> TopicMarkers:
        """The topic's markers to update; they count once :meth:`commit` keeps them."""
        found = self._topics.get(topic)
        return found.copy() if found is not None else TopicMarkers()

    def commit(self, topic: str, markers: TopicMarkers) -> None:
        self._topics[topic] = markers

    def forget(self, topic: str) -> None:
        """Start the topic afresh (the lazy bag viewer converts each chunk's messages on their own): its
        entities may still show markers of earlier messages, so the state is not complete."""
        self._topics[topic] = TopicMarkers(complete=False)
