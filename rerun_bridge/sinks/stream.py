"""The network stream: chunks in Rerun's layout served over Arrow Flight, from the robot to a laptop.

The bridge runs a Flight server; a viewer or ``rerun-bridge receive`` calls ``do_get`` and gets every static
chunk sent so far, then the live ones as they are made. Each stream item is an envelope row
(entity path, static, one record batch as Arrow IPC bytes), because Flight streams one schema while every
entity has its own. A slow client never slows the robot: each client has a bounded queue that drops its
oldest chunks (counted). Loopback by default; a token (``authorization: Bearer <token>``) is checked on every
call when one is configured, and TLS is used when a certificate and key are given.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyarrow import flight

from rerun_bridge.errors import RecordingError
from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.model.stream_format import ENVELOPE_SCHEMA, LIVE_TICKET, encode_chunk, envelope
from rerun_bridge.sinks.batcher import RowBatcher

log = logging.getLogger(__name__)

CLIENT_QUEUE_CHUNKS = 1024


class _TokenMiddlewareFactory(flight.ServerMiddlewareFactory):  # type: ignore[misc]
    """Rejects every call that does not carry the configured bearer token."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._expected = f"Bearer {token}".encode()

    def start_call(self, info: Any, headers: Mapping[str, list[str]]) -> None:
        values = headers.get("authorization") or headers.get("Authorization") or []
        # Every value is compared, in constant time: how long a refusal takes says nothing about the token.
        matches = [hmac.compare_digest(_as_bytes(value), self._expected) for value in values]
        if not any(matches):
            raise flight.FlightUnauthenticatedError("authentication failed: a valid bearer token is required")


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


@dataclass(slots=True)
class _Client:
    chunks: queue.Queue[tuple[str, bool, bytes] | None]
    dropped: int = 0


@dataclass(frozen=True, slots=True)
class StreamCounts:
    """The stream's numbers for the diagnostics (drops summed over clients, gone ones included)."""

    clients: int
    published_chunks: int
    published_bytes: int
    dropped_chunks: int

    def as_key_values(self) -> dict[str, str]:
        return {
            "clients": str(self.clients),
            "published_chunks": str(self.published_chunks),
            "published_bytes": str(self.published_bytes),
            "dropped_chunks": str(self.dropped_chunks),
        }


class StreamServer(flight.FlightServerBase):  # type: ignore[misc]
    """Serves published chunks to every connected client."""

    def __init__(self, host: str, port: int, token: str = "", tls_cert: str = "", tls_key: str = "") -> None:
        scheme = "grpc+tls" if tls_cert else "grpc+tcp"
        certificates = [(Path(tls_cert).read_bytes(), Path(tls_key).read_bytes())] if tls_cert else None
        middleware = {"auth": _TokenMiddlewareFactory(token)} if token else None
        super().__init__(f"{scheme}://{host}:{port}", tls_certificates=certificates, middleware=middleware)
        self._lock = threading.Lock()
        self._static: dict[tuple[str, tuple[str, ...]], bytes] = {}
        self._clients: list[_Client] = []
        self._closed = False
        self._published_chunks = 0
        self._published_bytes = 0
        self._dropped_by_gone_clients = 0

    def counts(self) -> StreamCounts:
        with self._lock:
            dropped = self._dropped_by_gone_clients + sum(client.dropped for client in self._clients)
            return StreamCounts(len(self._clients), self._published_chunks, self._published_bytes, dropped)

    def publish(self, entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        data = encode_chunk(batch)
        with self._lock:
            if static:
                self._static[(entity_path, tuple(batch.schema.names))] = data
            clients = list(self._clients)
            self._published_chunks += 1
            self._published_bytes += len(data)
        for client in clients:
            try:
                client.chunks.put_nowait((entity_path, static, data))
            except queue.Full:
                # Drop the client's oldest chunk rather than wait: the robot never waits on a laptop.
                with contextlib.suppress(queue.Empty):
                    client.chunks.get_nowait()
                client.dropped += 1
                client.chunks.put_nowait((entity_path, static, data))

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.GeneratorStream:
        if ticket.ticket != LIVE_TICKET:
            raise flight.FlightServerError(f"unknown ticket {ticket.ticket!r}; ask for {LIVE_TICKET!r}")
        client = _Client(queue.Queue(maxsize=CLIENT_QUEUE_CHUNKS))
        with self._lock:
            backlog = list(self._static.items())
            self._clients.append(client)
        return flight.GeneratorStream(ENVELOPE_SCHEMA, self._serve(client, backlog, context))

    def _serve(
        self, client: _Client, backlog: list[tuple[tuple[str, tuple[str, ...]], bytes]], context: Any
    ) -> Iterator[pa.RecordBatch]:
        try:
            for (entity_path, _names), data in backlog:
                yield envelope(entity_path, True, data)
            while not self._closed and not context.is_cancelled():
                try:
                    item = client.chunks.get(timeout=0.2)
                except queue.Empty:
                    continue
                if item is None:
                    return
                yield envelope(*item)
        finally:
            with self._lock:
                self._clients.remove(client)
                self._dropped_by_gone_clients += client.dropped

    def close(self) -> None:
        self._closed = True
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            with contextlib.suppress(queue.Full):
                client.chunks.put_nowait(None)
        self.shutdown()


class StreamSink:
    """A row sink that serves its chunks over the network (see module docs)."""

    def __init__(
        self,
        host: str,
        port: int,
        token: str = "",
        tls_cert: str = "",
        tls_key: str = "",
        batch_rows: int = 64,
    ) -> None:
        try:
            self.server = StreamServer(host, port, token, tls_cert, tls_key)
        except (OSError, flight.FlightError) as err:
            raise RecordingError(f"cannot serve the stream on {host}:{port}: {err}") from err
        self.port = int(self.server.port)
        # Fewer rows per chunk than the file: a remote view wants data soon, not big chunks.
        self._batcher = RowBatcher(self.server.publish, batch_rows=batch_rows, batch_bytes=256 << 10)
        self._thread = threading.Thread(target=self.server.serve, name="rerun_bridge-stream", daemon=True)
        self._thread.start()

    def counts(self) -> StreamCounts:
        return self.server.counts()

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        self._batcher.write(rows, default_times)

    def write_columns(self, columns: ColumnRows) -> None:
        self._batcher.write_columns(columns)

    def flush(self, wait: bool = True) -> None:
        """Hand the batched rows to the server (which sends them without waiting for clients)."""
        self._batcher.flush()

    def close(self) -> None:
        self.flush()
        self.server.close()
        self._thread.join(timeout=5)
