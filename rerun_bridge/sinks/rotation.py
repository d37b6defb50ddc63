"""File rotation for long recordings: a new .rrd / .mcap every N megabytes or N seconds, and a pause while
the disk is full.

Each part is a complete file on its own: the RRD part gets the static data again (``/tf_static``, a robot
description) and the MCAP part the channels and the last message of every latched topic, so any part can be
opened alone. RRD parts share one recording id, so the Rerun viewer shows parts opened together as one
recording. Rotation is checked at each flush (about once a second).

When the free-space guard stops a part (:class:`~rerun_bridge.sinks.disk_space.DiskFullError`), the part
is closed (footer / summary written), one message says so, and what arrives meanwhile is dropped and
counted; each flush then looks at the disk, and once space is back a new part starts (``run_0001.rrd``
even without rotation: the stopped file is never overwritten).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.sinks.disk_space import DiskFullError, DiskSpaceGuard
from rerun_bridge.sinks.mcap import McapSink
from rerun_bridge.sinks.rrd import ClosingBlueprint, RrdSink

SinkT = TypeVar("SinkT", RrdSink, McapSink)
#: Where an output tells that it paused or failed (``logging.ERROR``) or resumed (``logging.INFO``).
Report = Callable[[int, str], None]


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
    return numbered_path(path, index) if rotating else path


def numbered_path(path: Path, index: int) -> Path:
    """``run.rrd`` -> ``run_0003.rrd``: a part's, or a free name beside an existing file."""
    return path.with_name(f"{path.stem}_{index:04d}{path.suffix}")


def first_free(path_at: Callable[[int], Path], index: int) -> tuple[Path, int]:
    """The first of ``path_at(index)``, ``path_at(index + 1)``, ... that no file holds, and its index."""
    while (path := path_at(index)).exists():
        index += 1
    return path, index


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _ignore(_level: int, _message: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class OutputState:
    """One output's state, for the diagnostics: its kind (``rrd``, ``mcap``), its current file, why it is
    stopped (None: writing), and the parts that end where the disk filled (``rerun-bridge repair``)."""

    kind: str
    path: Path
    stopped: str | None
    parts: int
    dropped: int
    unfinished: tuple[Path, ...] = ()


class _Rotating(Generic[SinkT]):
    """Flush, close and the disk-full pause, shared by both rotating sinks: checked at each flush.
    ``on_part_closed``, when set, is told each part's path once the part is closed and complete (the
    live node's ``sinks.upload``)."""

    on_part_closed: Callable[[Path], None] | None = None
    _announced: Path | None = None
    policy: RotationPolicy
    current: SinkT
    template: str
    guard: DiskSpaceGuard | None
    report: Report
    _started: float
    _first_part_time: float | None
    paths: list[Path]
    #: Why writing is paused (the disk reached the reserve); None while writing.
    paused: DiskFullError | None = None
    #: Bytes free on the file system as writing paused, less what writers still held: it resumes only
    #: once space was freed (:meth:`DiskSpaceGuard.has_recovered`).
    _free_at_pause: int = 0
    #: Parts that end where the disk filled (their writer could not finish them).
    _unfinished: list[Path]
    #: The output's format, as the summary and the diagnostics name it.
    kind: str
    #: Messages (MCAP) or batches and rows (RRD) dropped while paused.
    dropped: int = 0
    #: The part number after the last one taken past existing files (0: none skipped).
    _skipped_to: int = 0

    def _open(self) -> None:
        raise NotImplementedError

    def _part_time(self) -> float | None:
        """The wall time of the part about to start: the given start for the first, now for the rest."""
        return self._first_part_time if not self.paths else None

    def _next_path(self) -> Path:
        """The next part's file: never one that exists. After a pause the next file is numbered even
        without rotation (the stopped one stays as it is), and a node restarted with the same path goes
        on after the parts its predecessor left (``run.rrd`` -> ``run_0001.rrd``; ``run_0003.rrd`` ->
        ``run_0004.rrd``), said once: overwriting them would lose the recording before the restart."""
        wall_time = self._part_time()
        numbered = self.policy.enabled or bool(self.paths)
        index = max(len(self.paths), self._skipped_to)
        path = part_path(self.template, index, numbered, wall_time)
        if not path.exists():
            return path
        first_taken = path
        path, index = first_free(lambda at: part_path(self.template, at, True, wall_time), max(index, 1))
        self._skipped_to = index + 1
        self.report(logging.WARNING, f"{first_taken} exists (an earlier run's): writing {path} instead")
        return path

    def state(self) -> OutputState:
        return OutputState(
            self.kind,
            self.current.path,
            str(self.paused) if self.paused else None,
            len(self.paths),
            self.dropped,
            tuple(self._unfinished),
        )

    def _pause(self, error: DiskFullError) -> None:
        """Close the part (footer / summary from the reserve) and wait for space."""
        try:
            self._close_current()
        except DiskFullError as closing:  # the footer or summary did not fit: that is what was kept
            error = closing
        self.paused = error
        self._free_at_pause = self.guard.expected_free(self.current.path) if self.guard else 0
        if not error.complete:
            self._unfinished.append(Path(self.current.path))
        self.report(
            logging.ERROR,
            f"{error}; recording is paused until the disk has room again, then goes on in a new file",
        )

    def _resume_if_possible(self) -> None:
        if self.guard is None or not self.guard.has_recovered(self.current.path, self._free_at_pause):
            return
        self.paused = None
        try:
            self._open()
        except DiskFullError as error:
            self._pause(error)
            return
        self.report(logging.INFO, f"the disk has room again: recording goes on in {self.current.path}")

    def _guarded(self, write: Callable[[], None], count: int) -> None:
        if self.paused is not None:
            self.dropped += count
            return
        try:
            write()
        except DiskFullError as error:
            self.dropped += count
            self._pause(error)

    def _rotate_if_due(self) -> None:
        if self.paused is None and self.policy.due(
            _size(self.current.path), time.monotonic() - self._started
        ):
            self._close_current()
            self._open()

    def _close_current(self) -> None:
        self.current.close()
        path = Path(self.current.path)
        if self.on_part_closed is not None and path != self._announced:
            self._announced = path  # closing twice announces once
            self.on_part_closed(path)

    def close(self) -> None:
        if self.paused is not None:
            return  # closed when it paused
        try:
            self._close_current()
        except DiskFullError as error:
            self.report(logging.ERROR, str(error))


class RotatingRrdSink(_Rotating[RrdSink]):
    """An :class:`RrdSink` that starts a new part when the policy says so."""

    kind = "rrd"

    def __init__(  # noqa: PLR0913
        self,
        template: str,
        policy: RotationPolicy,
        application_id: str,
        recording_id: str,
        backlog_bytes: int | None = None,
        started_at: float | None = None,
        guard: DiskSpaceGuard | None = None,
        report: Report = _ignore,
        closing_blueprint: ClosingBlueprint | None = None,
    ) -> None:
        """``backlog_bytes``: each part waits for Rerun's writer past that many unwritten bytes (RrdSink).
        ``started_at``: the wall time the first part's name is made from (the .mcap's too, so both match).
        ``guard``: the free-space reserve; ``report``: where a pause and its end are told (once each).
        ``closing_blueprint``: each part's layout, made from what it holds as it closes (RrdSink)."""
        self._first_part_time = started_at
        self.closing_blueprint = closing_blueprint
        self.template = template
        self.backlog_bytes = backlog_bytes
        self.policy = policy
        self.application_id = application_id
        self.recording_id = recording_id
        self.guard = guard
        self.report = report
        self.paths: list[Path] = []
        self._unfinished = []
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
        path = self._next_path()
        self.current = RrdSink(
            path,
            application_id=self.application_id,
            recording_id=self.recording_id,
            backlog_bytes=self.backlog_bytes,
            guard=self.guard,
            closing_blueprint=self.closing_blueprint,
        )
        self.paths.append(path)
        self._started = time.monotonic()
        if self._static:
            self.current.write(list(self._static.values()), {})

    def flush(self, wait: bool = True) -> None:
        if self.paused is not None:
            self._resume_if_possible()
            return
        self._guarded(lambda: self.current.flush(wait=wait), 0)
        self._guarded(self._rotate_if_due, 0)

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        for row in rows:
            if row.static:
                self._static[(row.entity_path, row.archetype, tuple(row.components))] = row
        self._guarded(lambda: self.current.write(rows, default_times), len(rows))

    def write_columns(self, columns: ColumnRows) -> None:
        self._guarded(lambda: self.current.write_columns(columns), 1)


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

    kind = "mcap"

    def __init__(
        self,
        template: str,
        policy: RotationPolicy,
        compression: str = "zstd",
        started_at: float | None = None,
        guard: DiskSpaceGuard | None = None,
        report: Report = _ignore,
    ) -> None:
        """``started_at``: the wall time the first part's name is made from (see RotatingRrdSink)."""
        self._first_part_time = started_at
        self.template = template
        self.policy = policy
        self.compression = compression
        self.guard = guard
        self.report = report
        self.paths: list[Path] = []
        self._unfinished = []
        self._channels: dict[int, _Channel] = {}
        self._open()

    def _open(self) -> None:
        path = self._next_path()
        self.current = McapSink(path, compression=self.compression, guard=self.guard)
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
        if self.paused is not None:  # the part is closed: the next one registers it, with the next id
            channel_id = len(self._channels) + 1
        else:
            channel_id = self.current.add_topic(topic, type_name, definition, qos_profiles)
        self._channels[channel_id] = _Channel(topic, type_name, definition, qos_profiles, latched)
        return channel_id

    def write(
        self, channel_id: int, log_time_ns: int, publish_time_ns: int, data: bytes | memoryview
    ) -> None:
        channel = self._channels[channel_id]
        if channel.latched:
            channel.last = (log_time_ns, publish_time_ns, bytes(data))
        self._guarded(lambda: self.current.write(channel_id, log_time_ns, publish_time_ns, data), 1)

    def flush(self) -> None:
        if self.paused is not None:
            self._resume_if_possible()
            return
        self._guarded(self.current.flush, 0)
        self._guarded(self._rotate_if_due, 0)

    @property
    def messages_written(self) -> int:
        return self.current.messages_written
