"""A bounded trail of recent positions per topic (odometry's or a pose topic's path so far), kept in its
converter state.

Every ``trail_every``-th message of the topic (the first included; default 5) adds its position; the
trail keeps the last ``trail_length`` of them (default 200) and is written, as one ``LineStrips3D``
strip, with the message that adds a point. So the trail costs a row per ``trail_every`` messages and at
most ``trail_length`` points each; scrubbing shows the trail as it was then. Points are counted by message,
not by distance: a robot standing still leaves a trail that stands still too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.convert.common import frame_columns_of, sub_path, with_frame
from rerun_bridge.errors import ConversionError
from rerun_bridge.model.rows import ColumnRows, Row

DEFAULT_TRAIL_EVERY: Final = 5
DEFAULT_TRAIL_LENGTH: Final = 200
#: Key of a topic's :class:`Trail` in its converter state.
TRAIL_STATE_KEY: Final = "trail"


@dataclass(slots=True)
class Trail:
    """A topic's trail: messages seen so far and the points kept."""

    every: int
    length: int
    messages: int = 0
    points: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 3), dtype=np.float32))

    def extend(
        self, positions: npt.NDArray[Any]
    ) -> tuple[npt.NDArray[np.intp], list[npt.NDArray[np.float32]]]:
        """Positions of consecutive messages: the indices of those that add a point, and the strip the
        trail is after each of them."""
        numbers = self.messages + np.arange(len(positions))
        adding = np.flatnonzero(numbers % self.every == 0)
        self.messages += len(positions)
        if len(adding) == 0:
            return adding, []
        joined = np.concatenate([self.points, np.asarray(positions, dtype=np.float32)[adding]])
        ends = np.arange(len(self.points), len(joined)) + 1
        strips = [joined[max(0, end - self.length) : end] for end in ends.tolist()]
        self.points = joined[-self.length :].copy()
        return adding, strips


def topic_trail(state: dict[str, Any], options: Mapping[str, Any]) -> Trail | None:
    """The topic's trail, made on first use from its options; None when ``trail_length`` is 0 (off)."""
    trail = state.get(TRAIL_STATE_KEY)
    if isinstance(trail, Trail):
        return trail if trail.length > 0 else None
    every = _count_option(options, "trail_every", DEFAULT_TRAIL_EVERY, minimum=1)
    length = _count_option(options, "trail_length", DEFAULT_TRAIL_LENGTH, minimum=0)
    trail = state[TRAIL_STATE_KEY] = Trail(every, length)
    return trail if length > 0 else None


def _count_option(options: Mapping[str, Any], key: str, default: int, minimum: int) -> int:
    value = options.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConversionError(f"option {key} must be an integer >= {minimum}, not {value!r}")
    return value


def trail_rows(trail: Trail | None, entity_path: str, position: npt.NDArray[Any], frame: str) -> list[Row]:
    """One message's ``<entity>/trail`` row, in ``frame``, when its position adds a point."""
    if trail is None:
        return []
    adding, strips = trail.extend(np.asarray(position).reshape(1, 3))
    if not len(adding):
        return []
    path = sub_path(entity_path, "trail")
    return with_frame([Row(path, "LineStrips3D", {"strips": strips})], path, frame)


def trail_columns(
    trail: Trail | None,
    entity_path: str,
    positions: npt.NDArray[Any],
    times: Mapping[str, npt.NDArray[np.int64]],
    frame: str,
) -> list[ColumnRows]:
    """:func:`trail_rows` for a batch of messages (``positions`` one per message, at ``times``)."""
    if trail is None:
        return []
    adding, strips = trail.extend(positions)
    if not len(adding):
        return []
    trail_times = {name: values[adding] for name, values in times.items()}
    path = sub_path(entity_path, "trail")
    rows = [ColumnRows(path, "LineStrips3D", trail_times, {"strips": [[strip] for strip in strips]})]
    return rows + frame_columns_of(path, frame, trail_times, len(adding))
