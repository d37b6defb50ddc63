"""The .rrd sink: rows batched into Rerun's chunk layout (:mod:`batcher`), handed to rerun-sdk.

Rerun's SDK is the reference encoder (we never hand-encode RRD): each record batch goes to
``rr.send_record_batch`` as it is.

Rerun's file writer runs on a thread of its own and never recovers from a full disk: its flushes time out
and closing the recording waits for it forever. So with a :class:`DiskSpaceGuard` every batch takes its
bytes from the guard first; when the reserve is reached the sink stops (:class:`DiskFullError`) and
:meth:`close` still writes Rerun's footer from the reserve. If the disk fills anyway (another program),
the writer is found stalled (a flush that times out while the file stops growing on a full file system):
the sink is abandoned, never closed, so nothing waits on it; the file is readable up to the stall
(``rerun-bridge repair`` gives it a footer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import rerun as rr

from rerun_bridge.errors import RecordingError
from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.sinks.batcher import BatchStats, RowBatcher
from rerun_bridge.sinks.disk_space import (
    FULL_BYTES,
    DiskFullError,
    DiskSpaceGuard,
    disk_full_error,
    free_bytes,
)
from rerun_bridge.sinks.sent_catalog import SentCatalog
from rerun_bridge.tf.buffer import body_frame, is_body_entity

#: Makes a file's layout from what was written to it (a ``rerun.blueprint.Blueprint``), or None.
ClosingBlueprint = Callable[[SentCatalog], Any]

#: Streams whose writer stalled on a full disk: kept referenced so that they are never dropped (dropping
#: one waits for its dead writer), and checked by the node before it exits.
_STALLED: list[rr.RecordingStream] = []
#: Seconds one flush waits before the sink checks whether its writer is stalled on a full disk.
_FLUSH_POLL_S = 1.0
#: A writer is stalled when its file has not grown over this many polls while the file system is full
#: (a busy machine can make one flush slower than a poll).
_STALL_POLLS = 2


def stalled_writers() -> int:
    """How many .rrd writers in this process stalled on a full disk (the process must not wait on them at
    exit: leave with ``os._exit`` after closing everything else)."""
    return len(_STALLED)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class RrdSink:
    """Writes rows to an .rrd file. A context manager; :meth:`close` flushes everything."""

    def __init__(  # noqa: PLR0913
        self,
        path: str | Path,
        application_id: str = "rerun_bridge",
        recording_id: str | None = None,
        batch_rows: int = 512,
        batch_bytes: int = 512 << 10,
        array_batch_bytes: int | None = None,
        default_blueprint: Any = None,
        backlog_bytes: int | None = None,
        guard: DiskSpaceGuard | None = None,
        send_properties: bool = True,
        closing_blueprint: ClosingBlueprint | None = None,
        hold_sole_frames: bool = True,
        start_time_ns: int | None = None,
    ) -> None:
        """``backlog_bytes``: once that many bytes have gone to Rerun's file writer since it last caught
        up, wait for it (None: never wait). Without a bound, a writer slower than the conversion (a busy
        disk) holds everything not yet written in memory. ``guard``: the free-space reserve to respect.
        ``send_properties`` False: leave out the recording's properties (its start time), for a part of a
        recording whose first part has them. ``closing_blueprint``: made from what was written (:attr:`sent`)
        when the file closes, and written into it as its layout (None from it: no layout).
        ``hold_sole_frames`` False: no static frame rows at the close (:func:`sole_frame_rows`), for a part
        of a recording. ``start_time_ns``: the recording's start (a bag's first message) as its
        ``RecordingInfo:start_time`` property; None: now, as Rerun sets it (right for a live recording)."""
        self.path = Path(path)
        self.backlog_bytes = backlog_bytes
        self._sent_at_last_wait = 0
        self._batcher = RowBatcher(
            self._emit, batch_rows, batch_bytes, array_batch_bytes, frames_through_clears=True
        )
        self._closed = False
        self._guard = guard
        #: Why the sink stopped writing (the disk reached the reserve, or the writer stalled); None: writing.
        self.stopped: DiskFullError | None = None
        #: The writer stalled on a full disk: the file ends where it stalled, without a footer.
        self.stalled = False
        #: Bytes of Arrow data handed to Rerun's writer so far (what its file writer may still owe the disk).
        self.sent_bytes = 0
        #: Bytes refused after the sink stopped.
        self.dropped_bytes = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._rec = rr.RecordingStream(
                application_id, recording_id=recording_id, send_properties=send_properties
            )
            self._rec.save(str(self.path), default_blueprint=default_blueprint)
            if send_properties and start_time_ns is not None:
                self._rec.send_recording_start_time_nanos(start_time_ns)
                # Written now, before any data: left to Rerun's batcher, its place among the data's chunks
                # depended on timing, and two conversions of one bag differed by chunk order.
                self._rec.flush()
        except Exception as err:
            raise RecordingError(f"{self.path}: cannot write: {err}") from err
        self._untrack = guard.track_pending(self.path, self.unwritten_bytes) if guard else None
        self._closing_blueprint = closing_blueprint
        self._hold_frames = hold_sole_frames

    @property
    def stats(self) -> BatchStats:
        return self._batcher.stats

    @property
    def sent(self) -> SentCatalog:
        """The entities, columns and frames written so far."""
        return self._batcher.sent

    def unwritten_bytes(self) -> int:
        """Bytes handed to Rerun's writer since it was last seen caught up (an upper bound)."""
        return self.sent_bytes - self._sent_at_last_wait

    def _stop(self, error: DiskFullError) -> DiskFullError:
        if self.stopped is None:
            self.stopped = error
        return self.stopped

    def _emit(self, entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        # The buffers' sizes (at least the rows' bytes): nbytes walks every array's slices, 35 times slower.
        size = batch.get_total_buffer_size()
        if self.stopped is not None:
            self.dropped_bytes += size
            return
        if self._guard is not None and not self._has_room(size):
            self.dropped_bytes += size
            raise self._stop(self._full_error())
        self.sent_bytes += size
        if static:
            rr.send_record_batch(batch, recording=self._rec, entity_path=entity_path, index=None)
        else:
            rr.send_record_batch(batch, recording=self._rec, entity_path=entity_path)
        if self.backlog_bytes is not None and self.unwritten_bytes() >= self.backlog_bytes:
            self._wait_for_writer()

    def _has_room(self, size: int) -> bool:
        assert self._guard is not None
        if self._guard.take(self.path, size):
            return True
        # What the writer still owes the disk was counted as used: once it has caught up, measure again.
        return self.unwritten_bytes() > 0 and self._wait_for_writer() and self._guard.take(self.path, size)

    def _full_error(self) -> DiskFullError:
        assert self._guard is not None
        return disk_full_error(self.path, self._guard.reserve_bytes)

    def _wait_for_writer(self) -> bool:
        """Wait until Rerun's writer has written everything handed to it; False (and the sink stopped)
        when it stalled on a full disk."""
        if self.stalled:
            return False
        still = 0  # timed-out polls in a row during which the file did not grow on a full file system
        while True:
            size = _size(self.path)
            try:
                self._rec.flush(timeout_sec=_FLUSH_POLL_S)
            except RuntimeError:  # timed out: a slow or busy disk, or a writer that hit ENOSPC and stopped
                full = _size(self.path) == size and free_bytes(self.path) < FULL_BYTES
                still = still + 1 if full else 0
                if still >= _STALL_POLLS:
                    self._stall()
                    return False
                continue
            self._sent_at_last_wait = self.sent_bytes
            return True

    def _stall(self) -> None:
        self.stalled = True
        _STALLED.append(self._rec)
        self._stop(
            DiskFullError(
                f"{self.path}: stopped: the disk filled under Rerun's writer ({free_bytes(self.path)} bytes "
                f"free): the file ends at {_size(self.path)} bytes without a footer (`rerun-bridge repair` "
                "adds one)",
                complete=False,
            )
        )

    def write_batch(self, entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        """A record batch already in Rerun's layout (from the network stream); noted in :attr:`sent`, which
        the closing layout is made of."""
        self.sent.note_batch(entity_path, batch)
        self._emit(entity_path, static, batch)

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        """Queue rows; each gets ``default_times`` overlaid with its own ``times`` (static rows: none)."""
        self._batcher.write(rows, default_times)

    def write_columns(self, columns: ColumnRows) -> None:
        """Many rows of one entity and archetype, given column by column."""
        self._batcher.write_columns(columns)

    def flush(self, wait: bool = True) -> None:
        """Hand every queued row to Rerun; with ``wait``, return once its file writer has written them.
        Near the reserve a flush always waits, so that the guard measures what is really on disk."""
        self._batcher.flush()
        if self.stalled:
            return
        if not wait and self._guard is not None and self.unwritten_bytes() > 0:
            wait = self._guard.headroom(self.path) < self.unwritten_bytes()
        if wait:
            self._wait_for_writer()
        else:
            self._rec.flush(timeout_sec=0.0)

    def close(self) -> None:
        """Write what is queued and Rerun's footer (from the reserve, after a stop). A stalled writer is
        left alone: closing it would wait forever."""
        if self._closed:
            return
        self._closed = True
        try:
            self._batcher.flush()  # what the catalog knows once all is sent, the frameless entities' frame
            self._place_frameless_entities()
            self._hold_sole_frames()
            self._batcher.flush()
        except DiskFullError:
            pass  # the stop is recorded in ``stopped``; the footer is written below all the same
        finally:
            if self._untrack is not None:
                self._untrack()
            if not self.stalled:
                self._send_closing_blueprint()
            if not self.stalled and self._wait_for_writer():
                self._rec.disconnect()

    def _place_frameless_entities(self) -> None:
        """Entities drawn in 3D that never got a frame (a header-less ``/cmd_vel`` without a ``frame``
        option): a static frame, the root of the TF tree, as the embedded viewer draws them in its
        default fixed frame (arrows alone, a velocity command, the robot's body frame where TF has one);
        in a file without TF, the one frame the other 3D entities lie on (the embedded viewer draws them
        all as they are). In Rerun's viewer they lay on their entity path's implicit frame, which no named
        frame reaches: not drawn, and the view flagged with an error (without TF, the other entities are
        not drawn either)."""
        if self.stopped is not None:
            return
        sent = self._batcher.sent
        root = sent.fixed_frame()
        if root is None:
            return
        body = body_frame(sent.tf_frames()) or root
        entities = sent.frameless_spatial_entities()
        rows = [
            Row(
                entity,
                "CoordinateFrame",
                {"frame": [body if is_body_entity(entity, sent.components) else root]},
                static=True,
            )
            for entity in entities
        ]
        if rows:
            self._batcher.sent.hold_frames(entities)
            self._batcher.write(rows, {})

    def _hold_sole_frames(self) -> None:
        """:func:`sole_frame_rows` of what this file holds (not for a split conversion's part: its joiner
        writes those of all parts, which may disagree)."""
        if self.stopped is not None or not self._hold_frames:
            return
        rows = sole_frame_rows(self._batcher.sent)
        if rows:
            self._batcher.sent.hold_frames(row.entity_path for row in rows)
            self._batcher.write(rows, {})

    def _send_closing_blueprint(self) -> None:
        # Not after a stop on a full disk or the reserve: Rerun's writer may be stuck on the full disk, and
        # sending a blueprint waits for it. The data is complete without a layout.
        if self._closing_blueprint is None or self.stopped is not None:
            return
        blueprint = self._closing_blueprint(self._batcher.sent)
        if blueprint is not None:
            rr.send_blueprint(blueprint, make_active=True, make_default=True, recording=self._rec)

    def __enter__(self) -> RrdSink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def sole_frame_rows(sent: SentCatalog) -> list[Row]:
    """Each entity that lay on one frame throughout, given it as a static row too, for all times. Rerun's
    viewer puts an entity with no frame yet (before its topic's first message: a goal sent mid-run) on
    its entity path's implicit frame, which no named frame reaches, and flags every view showing it with
    an error until then (found by an audit). A static row of the same value changes nothing after."""
    return [
        Row(entity, "CoordinateFrame", {"frame": [frame]}, static=True)
        for entity, frame in sorted(sent.sole_frames().items())
    ]
