"""File rotation for long recordings: a new .rrd / .mcap every N megabytes or N seconds.

Each part is a complete file on its own: the RRD part gets the static data again (``/tf_static``, a robot
description) and the MCAP part the channels and the last message of every latched topic, so any part can be
opened alone. RRD parts share one recording id, so the Rerun viewer shows parts opened together as one
recording. Rotation is checked at each flush (about once a second).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.sinks.mcap import McapSink
from rerun_bridge.sinks.rrd import RrdSink

SinkT = TypeVar("SinkT", RrdSink, McapSink)


@dataclass(frozen=True, slots=True)
class RotationPolicy:
    max_bytes: int = 0  # 0: no rotation by size
    max_seconds: float = 0.0  # 0: no rotation by time

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0 or self.max_seconds > 0

    def due(self, size_bytes: int, age_seconds: float) -> bool:
        return (self.max_bytes > 0 and size_bytes >= self.max_bytes) or (
            self.max_seconds > 0 and age_seconds >= self.max_seconds
        )


def part_path(template: str, index: int, rotating: bool, wall_time: float | None = None) -> Path:
    """``run.rrd`` -> ``run.rrd`` without rotation, ``run_0000.rrd``, ``run_0001.rrd``, ... with it;
    strftime fields (``%Y%m%d_%H%M%S``) are filled in at ``wall_time`` (seconds since the epoch; default
    now): the time each part starts."""
    path = Path(time.strftime(template, time.localtime(wall_time))).expanduser()
    if not rotating:
        return path
    return path.with_name(f"{path.stem}_{index:04d}{path.suffix}")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _Rotating(Generic[SinkT]):
    """Flush and close shared by both rotating sinks: rotation is checked at each flush.
    ``on_part_closed``, when set, is told each part's path once the part is closed and complete (the
    live node's ``sinks.upload``)."""

    on_part_closed: Callable[[Path], None] | None = None
    _announced: Path | None = None
    policy: RotationPolicy
    current: SinkT
    _started: float
    _first_part_time: float | None
    paths: list[Path]

    def _open(self) -> None:
        raise NotImplementedError

    def _part_time(self) -> float | None:
        """The wall time of the part about to start: the given start for the first, now for the rest."""
        return self._first_part_time if not self.paths else None

    def flush(self) -> None:
        self.current.flush()
        self._rotate_if_due()

    def _rotate_if_due(self) -> None:
        if self.policy.due(_size(self.current.path), time.monotonic() - self._started):
            self._close_current()
            self._open()

    def _close_current(self) -> None:
        self.current.close()
        path = Path(self.current.path)
        if self.on_part_closed is not None and path != self._announced:
            self._announced = path  # closing twice announces once
            self.on_part_closed(path)

    def close(self) -> None:
        self._close_current()


class RotatingRrdSink(_Rotating[RrdSink]):
    """An :class:`RrdSink` that starts a new part when the policy says so."""

    def __init__(
        self,
        template: str,
        policy: RotationPolicy,
        application_id: str,
        recording_id: str,
        backlog_bytes: int | None = None,
        started_at: float | None = None,
    ) -> None:
        """``backlog_bytes``: each part waits for Rerun's writer past that many unwritten bytes (RrdSink).
        ``started_at``: the wall time the first part's name is made from (the .mcap's too, so both match)."""
        self._first_part_time = started_at
        self.template = template
        self.backlog_bytes = backlog_bytes
        self.policy = policy
        self.application_id = application_id
        self.recording_id = recording_id
        self.paths: list[Path] = []
        self._static: dict[tuple[str, str, tuple[str, ...]], Row] = {}
        self._sent_by_closed_parts = 0
        self._open()

    @property
    def sent_bytes(self) -> int:
        """Bytes handed to Rerun's writers over every part."""
        return self._sent_by_closed_parts + self.current.sent_bytes

    def _open(self) -> None:
        if self.paths:
            self._sent_by_closed_parts += self.current.sent_bytes
        path = part_path(self.template, len(self.paths), self.policy.enabled, self._part_time())
        self.current = RrdSink(
            path,
            application_id=self.application_id,
            recording_id=self.recording_id,
            backlog_bytes=self.backlog_bytes,
        )
        self.paths.append(path)
        self._started = time.monotonic()
        if self._static:
            self.current.write(list(self._static.values()), {})

    def flush(self, wait: bool = True) -> None:
        self.current.flush(wait=wait)
        self._rotate_if_due()

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        for row in rows:
            if row.static:
                self._static[(row.entity_path, row.archetype, tuple(row.components))] = row
        self.current.write(rows, default_times)

    def write_columns(self, columns: ColumnRows) -> None:
        self.current.write_columns(columns)


@dataclass(slots=True)
class _Channel:
    topic: str
    type_name: str
    definition: MessageDefinition
    qos_profiles: str
    latched: bool
    last: tuple[int, int, bytes] | None = None


class RotatingMcapSink(_Rotating[McapSink]):
    """An :class:`McapSink` that starts a new part when the policy says so; channel ids stay the same."""

    def __init__(
        self,
        template: str,
        policy: RotationPolicy,
        compression: str = "zstd",
        started_at: float | None = None,
    ) -> None:
        """``started_at``: the wall time the first part's name is made from (see RotatingRrdSink)."""
        self._first_part_time = started_at
        self.template = template
        self.policy = policy
        self.compression = compression
        self.paths: list[Path] = []
        self._channels: dict[int, _Channel] = {}
        self._open()

    def _open(self) -> None:
        path = part_path(self.template, len(self.paths), self.policy.enabled, self._part_time())
        self.current = McapSink(path, compression=self.compression)
        self.paths.append(path)
        self._started = time.monotonic()
        # Registration order gives the same channel ids in every part; latched topics start each part.
        for channel_id, channel in sorted(self._channels.items()):
            new_id = self.current.add_topic(
                channel.topic, channel.type_name, channel.definition, channel.qos_profiles
            )
            if new_id != channel_id:
                raise RuntimeError("channel ids changed across MCAP parts")  # an invariant of mcap's writer
            if channel.last is not None:
                self.current.write(channel_id, *channel.last)

    def add_topic(
        self,
        topic: str,
        type_name: str,
        definition: MessageDefinition,
        qos_profiles: str = "",
        latched: bool = False,
    ) -> int:
        channel_id = self.current.add_topic(topic, type_name, definition, qos_profiles)
        self._channels[channel_id] = _Channel(topic, type_name, definition, qos_profiles, latched)
        return channel_id

    def write(
        self, channel_id: int, log_time_ns: int, publish_time_ns: int, data: bytes | memoryview
    ) -> None:
        channel = self._channels[channel_id]
        if channel.latched:
            channel.last = (log_time_ns, publish_time_ns, bytes(data))
        self.current.write(channel_id, log_time_ns, publish_time_ns, data)

    @property
    def messages_written(self) -> int:
        return self.current.messages_written
