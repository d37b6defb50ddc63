"""The Rerun viewer sink: what the bridge records, sent live to a running Rerun viewer (on a laptop).

``rerun-bridge run --connect rerun+http://LAPTOP:9876/proxy`` (config ``sinks.rerun_viewer.url``) sends
through rerun-sdk's gRPC client, the way Rerun users expect a robot to push to ``rerun`` on their laptop.

rerun-sdk's client buffers without bound while the viewer is unreachable (measured with 0.41: 100 camera
frames of 2.7 MB logged with no viewer listening held 300 MB, and a flush that timed out left the
connection unusable). So the SDK never holds more than a little: the conversion worker puts finished
chunks into our bounded :class:`~rerun_bridge.sinks.chunk_queue.ChunkQueue` (oldest dropped, counted) and
never waits; one sender thread connects only once the viewer's port answers, hands the SDK at most
``IN_FLIGHT_BYTES`` (and nothing for longer than ``RETRY_S``) before a flush confirms they left, and on a
flush that fails or times out (viewer gone or too slow) drops the connection, counts what was in flight
as dropped and reconnects when the viewer is back, sending the static data (TF statics, robot
description) and the blueprint again. With no scenario configured the viewer gets the bridge's default
layout of what was sent, made in the connection's process (see ``_send_layout_if_changed``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import pyarrow as pa

from rerun_bridge.errors import ConfigError
from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.model.stream_format import encode_chunk
from rerun_bridge.sinks.batcher import RowBatcher
from rerun_bridge.sinks.chunk_queue import ChunkQueue, QueuedChunk
from rerun_bridge.sinks.rerun_viewer_process import CHUNK_STATIC, CHUNK_TEMPORAL, FLUSH, LAYOUT, write_frame
from rerun_bridge.sinks.sent_catalog import SentCatalog

log = logging.getLogger(__name__)

#: Bytes handed to rerun-sdk before a flush must confirm they were sent.
IN_FLIGHT_BYTES: Final = 8 << 20
#: How long a flush may take before the viewer counts as gone (or too slow to keep).
FLUSH_TIMEOUT_S: Final = 2.0
#: Rows wait at most about this long in the batcher while rows keep coming (the worker flushes each second).
LIVE_FLUSH_S: Final = 0.02
#: How often an absent viewer's port is tried.
RETRY_S: Final = 0.5
#: Seconds after a connection during which a new layout is shown at once (topics still being discovered).
LAYOUT_SETTLE_S: Final = 10.0
DEFAULT_VIEWER_PORT: Final = 9876
_SCHEMES: Final = ("rerun", "rerun+http", "rerun+https")


def viewer_address(url: str) -> tuple[str, int]:
    """Host and port of ``rerun+http://HOST:PORT/proxy``; a ConfigError names what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES or parts.path != "/proxy" or not parts.hostname:
        raise ConfigError(
            f"sinks.rerun_viewer.url: {url!r} is not a Rerun viewer address; expected "
            "rerun+http://HOST:PORT/proxy (what `rerun` prints when it listens)"
        )
    return parts.hostname, parts.port or DEFAULT_VIEWER_PORT


@dataclass(frozen=True, slots=True)
class ViewerSinkCounts:
    """The sink's numbers for the diagnostics."""

    connected: bool
    connections: int
    sent_chunks: int
    sent_bytes: int
    dropped_chunks: int
    dropped_bytes: int
    queued_bytes: int

    def as_key_values(self) -> dict[str, str]:
        return {
            "connected": str(self.connected).lower(),
            "connections": str(self.connections),
            "sent_chunks": str(self.sent_chunks),
            "sent_bytes": str(self.sent_bytes),
            "dropped_chunks": str(self.dropped_chunks),
            "dropped_bytes": str(self.dropped_bytes),
            "queued_bytes": str(self.queued_bytes),
        }


@dataclass(frozen=True, slots=True)
class ViewerSinkSettings:
    application_id: str = "rerun_bridge"
    recording_id: str | None = None
    #: A blueprint's name or file, sent on every connection (None: the viewer lays out the data itself).
    blueprint: str | None = None
    queue_bytes: int = 64 << 20
    flush_timeout_s: float = FLUSH_TIMEOUT_S
    #: Rows wait at most about this long in the batcher while rows keep coming.
    live_flush_s: float = LIVE_FLUSH_S


class RerunViewerSink:
    """A row sink that streams to a Rerun viewer; see the module docs. Only ``close`` ever waits."""

    def __init__(self, url: str, settings: ViewerSinkSettings | None = None) -> None:
        self.url = url
        self.host, self.port = viewer_address(url)
        self.settings = settings or ViewerSinkSettings()
        # Small chunks: a live view wants data soon, not big chunks.
        self._batcher = RowBatcher(
            self._enqueue, batch_rows=64, batch_bytes=256 << 10, frames_through_clears=True
        )
        self.queue = ChunkQueue(self.settings.queue_bytes)
        self._last_flush = time.monotonic()
        self._enqueued_bytes = 0
        self._static: dict[tuple[str, tuple[str, ...]], QueuedChunk] = {}
        self._static_lock = threading.Lock()
        #: The process holding rerun-sdk's connection (rerun_viewer_process), None while not connected.
        self._rec: subprocess.Popen[bytes] | None = None
        self._in_flight: list[QueuedChunk] = []
        self._in_flight_bytes = 0
        # Flushed, but not yet known to have reached a viewer that is still there.
        self._unverified: list[QueuedChunk] = []
        self._last_probe = 0.0
        self._last_confirm = 0.0
        self._connections = 0
        self._sent_chunks = 0
        self._sent_bytes = 0
        self._closing = threading.Event()
        self._deadline = 0.0
        # Without a scenario the viewer gets the bridge's default layout of what was sent (see _send_layout).
        self._catalog = SentCatalog() if self.settings.blueprint is None else None
        self._catalog_lock = threading.Lock()
        self._layout_version = -1
        self._connected_at = 0.0
        self._last_layout_check = 0.0
        self._thread = threading.Thread(target=self._run, name="rerun_bridge-rerun-viewer", daemon=True)
        self._thread.start()

    # --- the worker's side: never waits -------------------------------------------------------------------

    def _enqueue(self, entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        if self._catalog is not None:
            with self._catalog_lock:
                self._catalog.note_batch(entity_path, batch)
        chunk = QueuedChunk(entity_path, static, batch)
        self._enqueued_bytes += chunk.nbytes
        if static:
            with self._static_lock:
                self._static[(entity_path, tuple(batch.schema.names))] = chunk
        self.queue.put(chunk)

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        self._batcher.write(rows, default_times)
        self._flush_if_due()

    def send_batch(self, entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        """A chunk batched elsewhere (split mode's summary), queued as it is."""
        self._enqueue(entity_path, static, batch)

    def write_columns(self, columns: ColumnRows) -> None:
        self._batcher.write_columns(columns)
        self._flush_if_due()

    def _flush_if_due(self) -> None:
        # A live view wants rows within a frame or two, not at the files' once-a-second flush.
        self.flush_if_older(self.settings.live_flush_s)

    def flush_if_older(self, seconds: float) -> None:
        """Flush when the last flush was ``seconds`` ago or more."""
        if time.monotonic() - self._last_flush >= seconds:
            self.flush()

    def flush(self, wait: bool = True) -> None:
        """Hand batched rows to the sender (never waits for the network, whatever ``wait`` says)."""
        self._last_flush = time.monotonic()
        self._batcher.flush()

    def emitted_bytes(self) -> int:
        """Bytes of Arrow data handed onward so far (about what goes on the wire)."""
        return self._enqueued_bytes

    def counts(self) -> ViewerSinkCounts:
        queued = self.queue.counts()
        return ViewerSinkCounts(
            connected=self._rec is not None,
            connections=self._connections,
            sent_chunks=self._sent_chunks,
            sent_bytes=self._sent_bytes,
            dropped_chunks=queued.dropped_chunks,
            dropped_bytes=queued.dropped_bytes,
            queued_bytes=queued.queued_bytes,
        )

    def close(self, timeout_s: float = 3.0) -> None:
        """Send what is queued for up to ``timeout_s`` (when connected), then disconnect."""
        self._batcher.flush()
        self._deadline = time.monotonic() + timeout_s
        self._closing.set()
        self._thread.join(timeout=timeout_s + self.settings.flush_timeout_s + 5.0)
        process = self._rec
        if self._thread.is_alive() and process is not None:
            process.kill()  # the sender is stuck writing to it: the viewer stalled
            self._thread.join(timeout=5.0)

    # --- the sender thread --------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._done():
            if self._rec is None and not self._connect():
                self._closing.wait(RETRY_S)
                continue
            chunk = self.queue.get(timeout=0.05)
            if chunk is not None:
                self._send(chunk)
            self._send_layout_if_changed()
            if self._in_flight and (chunk is None or self._confirm_due()):
                self._confirm()
            if time.monotonic() - self._last_probe >= RETRY_S:
                self._verify()
        self._last_layout_check = 0.0  # the last rows' layout goes out before the connection ends
        self._send_layout_if_changed()
        if self._in_flight:
            self._confirm()
        self._verify()
        self._disconnect(gently=True)

    def _confirm_due(self) -> bool:
        # A steady stream never leaves the queue empty: confirm by age too, or nothing would count as sent
        # (and a viewer that goes away would take every chunk since the connection with it, as dropped).
        return self._in_flight_bytes >= IN_FLIGHT_BYTES or time.monotonic() - self._last_confirm >= RETRY_S

    def _done(self) -> bool:
        if not self._closing.is_set():
            return False
        nothing_left = self.queue.counts().queued_chunks == 0 and not self._in_flight
        return nothing_left or self._rec is None or time.monotonic() >= self._deadline

    def _reachable(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0):
                return True
        except OSError:
            return False

    def _connect(self) -> bool:
        if not self._reachable():
            return False
        settings = self.settings
        command = [sys.executable, "-m", "rerun_bridge.sinks.rerun_viewer_process", self.url]
        command += [settings.application_id, settings.recording_id or "", settings.blueprint or ""]
        self._rec = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)
        self._last_probe = self._connected_at = time.monotonic()
        self._layout_version = -1  # a new connection gets the layout again
        self._connections += 1
        log.info("connected to the Rerun viewer at %s", self.url)
        with self._static_lock:
            static = list(self._static.values())
        for chunk in static:  # a viewer that (re)connects gets the static data first
            self._send(chunk)
        return True

    def _send_layout_if_changed(self) -> None:
        """The default layout of what was sent, to a viewer given no scenario: checked every second, sent
        when new entities, columns or frames came. Shown at once (``make_active``) during the first
        LAYOUT_SETTLE_S of a connection, while the robot's topics are still being discovered; after that
        it only becomes what the viewer resets to, so a layout the user changed stays as it is."""
        now = time.monotonic()
        if self._catalog is None or self._rec is None or now - self._last_layout_check < 1.0:
            return
        self._last_layout_check = now
        with self._catalog_lock:
            if self._catalog.version == self._layout_version or not self._catalog.entities():
                return
            self._layout_version = self._catalog.version
            snapshot = json.dumps(self._catalog.snapshot()).encode()
        process = self._rec
        active = now - self._connected_at <= LAYOUT_SETTLE_S
        if process.stdin is None:
            return
        try:
            write_frame(process.stdin, LAYOUT, "active" if active else "default", snapshot)
        except (OSError, ValueError):  # the connection's process is gone: the next _send reconnects
            return

    def _send(self, chunk: QueuedChunk) -> None:
        process = self._rec
        if process is None or process.stdin is None:
            return
        kind = CHUNK_STATIC if chunk.static else CHUNK_TEMPORAL
        try:
            write_frame(process.stdin, kind, chunk.entity_path, encode_chunk(chunk.batch))
        except (OSError, ValueError) as err:  # the connection's process is gone
            log.warning("lost the Rerun viewer at %s (%s); reconnecting when it is back", self.url, err)
            self.queue.count_dropped(1, chunk.nbytes)
            self._disconnect()
            return
        self._in_flight.append(chunk)
        self._in_flight_bytes += chunk.nbytes

    def _confirm(self) -> None:
        """Flush what the SDK holds; a flush that fails or times out means the viewer is gone or too slow."""
        sent, self._in_flight, self._in_flight_bytes = self._in_flight, [], 0
        self._last_confirm = time.monotonic()
        problem = self._flush_connection()
        if problem is not None:
            log.warning("lost the Rerun viewer at %s (%s); reconnecting when it is back", self.url, problem)
            self.queue.count_dropped(len(sent), sum(chunk.nbytes for chunk in sent))
            self._disconnect()
            return
        self._unverified.extend(sent)

    def _flush_connection(self) -> str | None:
        """Ask the connection's process to flush; what went wrong, or None."""
        process = self._rec
        if process is None or process.stdin is None or process.stdout is None:
            return "not connected"
        timeout = self.settings.flush_timeout_s
        try:
            write_frame(process.stdin, FLUSH, str(timeout))
            process.stdin.flush()
        except (OSError, ValueError) as err:
            return str(err)
        ready, _, _ = select.select([process.stdout], [], [], timeout + 1.0)
        if not ready:
            return f"no flush within {timeout:g} s"
        answer = process.stdout.readline().decode(errors="replace").strip()
        return None if answer == "ok" else answer.removeprefix("fail ") or "the connection ended"

    def _verify(self) -> None:
        """A flush succeeds even after the viewer died (the SDK drops what it cannot send, silently): the
        viewer's port must still answer for what was flushed to count as sent."""
        self._last_probe = time.monotonic()
        flushed, self._unverified = self._unverified, []
        if self._rec is not None and self._reachable():
            self._sent_chunks += len(flushed)
            self._sent_bytes += sum(chunk.nbytes for chunk in flushed)
            return
        self.queue.count_dropped(len(flushed), sum(chunk.nbytes for chunk in flushed))
        if self._rec is not None:
            log.warning("the Rerun viewer at %s went away; reconnecting when it is back", self.url)
            self._disconnect()

    def _disconnect(self, gently: bool = False) -> None:
        """End the connection's process: killed (a stalled viewer would keep it forever), or on ``close``
        given 3 s to flush what it holds."""
        process, self._rec = self._rec, None
        if process is None:
            return
        if gently and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=3.0)
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
