"""The .rrd sink: rows batched into Rerun's chunk layout (:mod:`batcher`), handed to rerun-sdk.

Rerun's SDK is the reference encoder (we never hand-encode RRD): each record batch goes to
``rr.send_record_batch`` as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import rerun as rr

from rerun_bridge.errors import RecordingError
from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.sinks.batcher import BatchStats, RowBatcher


class RrdSink:
    """Writes rows to an .rrd file. A context manager; :meth:`close` flushes everything."""

    def __init__(
        self,
        path: str | Path,
        application_id: str = "rerun_bridge",
        recording_id: str | None = None,
        batch_rows: int = 512,
        batch_bytes: int = 512 << 10,
        default_blueprint: Any = None,
        backlog_bytes: int | None = None,
    ) -> None:
        """``backlog_bytes``: once that many bytes have gone to Rerun's file writer since it last caught
        up, wait for it (None: never wait). Without a bound, a writer slower than the conversion (a busy
        disk) holds everything not yet written in memory."""
        self.path = Path(path)
        self.backlog_bytes = backlog_bytes
        self._sent_at_last_wait = 0
        self._batcher = RowBatcher(self._emit, batch_rows, batch_bytes)
        self._closed = False
        #: Bytes of Arrow data handed to Rerun's writer so far (what its file writer may still owe the disk).
        self.sent_bytes = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._rec = rr.RecordingStream(application_id, recording_id=recording_id)
            self._rec.save(str(self.path), default_blueprint=default_blueprint)
        except Exception as err:
            raise RecordingError(f"{self.path}: cannot write: {err}") from err

    @property
    def stats(self) -> BatchStats:
        return self._batcher.stats

    def _emit(self, entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        self.sent_bytes += batch.nbytes
        if static:
            rr.send_record_batch(batch, recording=self._rec, entity_path=entity_path, index=None)
        else:
            rr.send_record_batch(batch, recording=self._rec, entity_path=entity_path)
        if self.backlog_bytes is not None and self.sent_bytes - self._sent_at_last_wait >= self.backlog_bytes:
            self._sent_at_last_wait = self.sent_bytes
            self._rec.flush(timeout_sec=1e38)

    def write_batch(self, entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        """A record batch already in Rerun's layout (from the network stream)."""
        self._emit(entity_path, static, batch)

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        """Queue rows; each gets ``default_times`` overlaid with its own ``times`` (static rows: none)."""
        self._batcher.write(rows, default_times)

    def write_columns(self, columns: ColumnRows) -> None:
        """Many rows of one entity and archetype, given column by column."""
        self._batcher.write_columns(columns)

    def flush(self, wait: bool = True) -> None:
        """Hand every queued row to Rerun; with ``wait``, return once its file writer has written them."""
        self._batcher.flush()
        self._rec.flush(timeout_sec=1e38 if wait else 0.0)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.flush()
        self._rec.disconnect()

    def __enter__(self) -> RrdSink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
