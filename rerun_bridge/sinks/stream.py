"""The network stream: chunks in Rerun's layout served over Arrow Flight, from the robot to a laptop.

The bridge runs a Flight server; a viewer or ``rerun-bridge receive`` calls ``do_get`` and gets every static
chunk sent so far, then the live ones as they are made. Each stream item is an envelope row
(entity path, static, one record batch as an Arrow IPC message, its schema sent once per connection; see
:mod:`rerun_bridge.model.stream_format`), because Flight streams one schema while every entity has its own.
Items already waiting for a client go out together, one envelope batch. A slow client never slows the
robot: each client has a bounded queue that drops its oldest chunks (counted). Loopback by default; a
token (``authorization: Bearer <token>``) is checked on every call when one is configured, and TLS is
used when a certificate and key are given.
"""

from __future__ import annotations

import hmac
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyarrow import flight

from rerun_bridge.errors import RecordingError
from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.model.stream_format import (
    ENVELOPE_SCHEMA,
    HEARTBEAT_ENTITY,
    StreamItem,
    StreamRequest,
    envelope,
    parse_ticket,
    split_chunk,
)
from rerun_bridge.sinks.batcher import RowBatcher

log = logging.getLogger(__name__)

CLIENT_QUEUE_CHUNKS = 1024
#: A client's queue also holds at most this many bytes of chunks (1024 camera frames would be gigabytes).
CLIENT_QUEUE_BYTES = 64 << 20
#: How long a client may read nothing before the operating system closes its connection. gRPC sets every
#: server connection's TCP_USER_TIMEOUT to 20 s, which cut a client that stopped reading (a suspended
#: laptop) before its queue filled: nothing was dropped or counted, and the client could not continue.
STALLED_CLIENT_S = 300
#: How long closing the stream waits for its clients' calls to end.
SHUTDOWN_WAIT_S = 3.0
#: Rows wait at most about this long in the batcher while rows keep coming (the worker flushes each second).
LIVE_FLUSH_S = 0.02
#: Rows waited at least this long when the conversion worker runs out of messages: they go then, without
#: waiting for ``live_flush_s`` (the laptop's latency is the robot's queue, not a timer).
IDLE_FLUSH_S = 0.02
#: Seconds without data after which a client gets a heartbeat (it notices a silent cut by their absence).
HEARTBEAT_S = 1.0


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


#: At most this many waiting items go out in one envelope batch.
ENVELOPE_ITEMS = 64


class _ClientQueue:
    """A client's chunks waiting to be sent, bounded by count and bytes: when full, the oldest is dropped
    (the robot never waits on a laptop). ``None`` is the end of the stream."""

    def __init__(self, max_items: int = CLIENT_QUEUE_CHUNKS, max_bytes: int = CLIENT_QUEUE_BYTES) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._items: deque[StreamItem | None] = deque()
        self._bytes = 0
        self._condition = threading.Condition()

    def put(self, item: StreamItem | None) -> int:
        """Queue ``item``; returns how many of the oldest items were dropped to make room."""
        size = len(item.data) if item is not None else 0
        dropped = 0
        with self._condition:
            while self._items and (len(self._items) >= self.max_items or self._bytes + size > self.max_bytes):
                oldest = self._items.popleft()
                if oldest is None:  # the end stays the end
                    self._items.appendleft(oldest)
                    return dropped
                self._bytes -= len(oldest.data)
                dropped += 1
            self._items.append(item)
            self._bytes += size
            self._condition.notify()
        return dropped

    def get(self, timeout: float | None) -> StreamItem | None:
        """The oldest item; raises queue.Empty when none came within ``timeout`` (0: none waiting)."""
        with self._condition:
            if not self._items and timeout:
                self._condition.wait(timeout)
            if not self._items:
                raise queue.Empty
            item = self._items.popleft()
            if item is not None:
                self._bytes -= len(item.data)
            return item


@dataclass(slots=True)
class _Client:
    chunks: _ClientQueue
    #: gRPC's name of the client's address (``ipv4:192.168.1.20:51234``): the log names the client.
    peer: str = ""
    dropped: int = 0
    #: Whether the client is dropping chunks now (the log says so once per stall, not once per chunk).
    stalled: bool = False
    #: Schema numbers this client's connection has been sent.
    schemas_sent: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class StreamCounts:
    """The stream's numbers for the diagnostics (drops summed over clients, gone ones included)."""

    clients: int
    published_chunks: int
    published_bytes: int
    dropped_chunks: int
    #: Every client that connected so far: ``clients`` (connected now) reads 0 once the stream closed,
    #: in the node's closing summary too (found by an audit).
    clients_served: int = 0

    def as_key_values(self) -> dict[str, str]:
        return {
            "clients": str(self.clients),
            "clients_served": str(self.clients_served),
            "published_chunks": str(self.published_chunks),
            "published_bytes": str(self.published_bytes),
            "dropped_chunks": str(self.dropped_chunks),
        }


@dataclass(frozen=True, slots=True)
class StreamSecurity:
    """The token clients must give (empty: none) and the TLS certificate and key files (empty: plain TCP)."""

    token: str = ""
    tls_cert: str = ""
    tls_key: str = ""


@dataclass(frozen=True, slots=True)
class HistoryBounds:
    """How much recent temporal data the server keeps for clients that join (or come back): the last
    ``seconds``, at most ``max_bytes``."""

    seconds: float = 10.0
    max_bytes: int = 64 << 20


class _History:
    """The recent temporal chunks, oldest first, trimmed by age and bytes."""

    def __init__(self, bounds: HistoryBounds) -> None:
        self.bounds = bounds
        self._items: deque[tuple[int, StreamItem]] = deque()
        self._bytes = 0

    def append(self, item: StreamItem, now_ns: int) -> None:
        self._items.append((now_ns, item))
        self._bytes += len(item.data)
        oldest_ns = now_ns - int(self.bounds.seconds * 1e9)
        while self._items and (self._items[0][0] < oldest_ns or self._bytes > self.bounds.max_bytes):
            _time, dropped = self._items.popleft()
            self._bytes -= len(dropped.data)

    def since(self, request: StreamRequest, session: str, now_ns: int) -> list[StreamItem]:
        if request.session == session:
            return [item for _time, item in self._items if item.seq > request.after_seq]
        oldest_ns = now_ns - int(request.history_s * 1e9)
        return (
            [item for time_ns, item in self._items if time_ns >= oldest_ns] if request.history_s > 0 else []
        )


class StreamServer(flight.FlightServerBase):  # type: ignore[misc]
    """Serves published chunks to every connected client."""

    def __init__(
        self,
        host: str,
        port: int,
        security: StreamSecurity | None = None,
        history: HistoryBounds | None = None,
    ) -> None:
        security = security or StreamSecurity()
        scheme = "grpc+tls" if security.tls_cert else "grpc+tcp"
        certificates = (
            [(Path(security.tls_cert).read_bytes(), Path(security.tls_key).read_bytes())]
            if security.tls_cert
            else None
        )
        middleware = {"auth": _TokenMiddlewareFactory(security.token)} if security.token else None
        try:
            super().__init__(
                f"{scheme}://{host}:{port}", tls_certificates=certificates, middleware=middleware
            )
        except (pa.ArrowException, OSError) as err:  # gRPC says no more than "did not start properly"
            why = _bind_problem(host, port)
            if why is not None:
                raise RecordingError(f"cannot serve on {host}:{port}: {why}") from err
            raise RecordingError(
                f"cannot serve on {host}:{port}: {err} (is another bridge or program serving on that port?)"
            ) from err
        self._lock = threading.Lock()
        self._static: dict[tuple[str, tuple[str, ...]], StreamItem] = {}
        self._history = _History(history or HistoryBounds())
        #: Entities of transient-local (latched) topics, and their newest temporal chunks, kept for
        #: clients that join after the history window (a map published once at start-up).
        self._latched_paths: tuple[str, ...] = ()
        self._latched: dict[tuple[str, tuple[str, ...]], StreamItem] = {}
        self._clients: list[_Client] = []
        self._closed = False
        #: Set by close when a client's call would not end (it stopped reading): gRPC's threads then keep
        #: the process from exiting, and its owner ends the process itself (rerun_bridge.node).
        self.stuck = False
        #: A new id per server run: a client's sequence numbers mean nothing to another run.
        self.session = uuid.uuid4().hex
        self._seq = 0
        self._published_chunks = 0
        self._published_bytes = 0
        #: Schema messages by their number, and numbers by message (the batcher reuses an entity's schema).
        self._schemas: dict[int, bytes] = {}
        self._schema_ids: dict[bytes, int] = {}
        self._dropped_by_gone_clients = 0
        self._served = 0

    def counts(self) -> StreamCounts:
        with self._lock:
            dropped = self._dropped_by_gone_clients + sum(client.dropped for client in self._clients)
            return StreamCounts(
                len(self._clients), self._published_chunks, self._published_bytes, dropped, self._served
            )

    def latch(self, entity_path: str) -> None:
        """Keep the newest chunks of ``entity_path`` and below for every client that joins, as DDS
        gives a transient-local topic's last messages to a late subscriber: a laptop joining a robot
        that published its map at start-up got no map (found by an audit)."""
        with self._lock:
            if entity_path not in self._latched_paths:
                self._latched_paths = (*self._latched_paths, entity_path)

    def _is_latched(self, entity_path: str) -> bool:
        return any(
            entity_path == path or entity_path.startswith(path.rstrip("/") + "/")
            for path in self._latched_paths
        )

    def publish(self, entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        schema, data = split_chunk(batch)
        now_ns = time.time_ns()
        with self._lock:
            self._seq += 1
            schema_id = self._schema_ids.get(schema)
            if schema_id is None:
                schema_id = self._schema_ids[schema] = len(self._schema_ids)
                self._schemas[schema_id] = schema
                self._published_bytes += len(schema)  # once: what each client gets once more
            item = StreamItem(entity_path, static, schema_id, data, self.session, self._seq, now_ns)
            if static:
                self._static[(entity_path, tuple(batch.schema.names))] = item
            else:
                self._history.append(item, now_ns)
                if self._latched_paths and self._is_latched(entity_path):
                    self._latched[(entity_path, tuple(batch.schema.names))] = item
            # Under the lock: a client that joins now gets this item either in its backlog or its queue.
            clients = list(self._clients)
            self._published_chunks += 1
            self._published_bytes += len(data)
        for client in clients:
            dropped = client.chunks.put(item)
            if dropped:
                with self._lock:
                    client.dropped += dropped
                    newly_stalled = not client.stalled
                    client.stalled = True
                if newly_stalled:
                    log.warning(
                        f"stream client {client.peer} stopped reading: dropping its oldest chunks "
                        f"(dropped_chunks in the stream's diagnostics)"
                    )

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.GeneratorStream:
        try:
            request = parse_ticket(ticket.ticket)
        except ValueError as err:
            raise flight.FlightServerError(str(err)) from err
        peer = str(context.peer())
        _allow_stalled_client(peer)
        client = _Client(_ClientQueue(), peer)
        with self._lock:
            recent = self._history.since(request, self.session, time.time_ns())
            backlog = [*self._static.values(), *self._latched_before(recent, request), *recent]
            self._clients.append(client)
            self._served += 1
        return flight.GeneratorStream(ENVELOPE_SCHEMA, self._serve(client, backlog, context))

    def _latched_before(self, recent: list[StreamItem], request: StreamRequest) -> list[StreamItem]:
        """The latched chunks a joining client lacks, oldest first: those not in ``recent`` (older than
        all of it, so they go first), and not already sent to this client in an earlier call."""
        sent = {item.seq for item in recent}
        resumed = request.session == self.session
        return sorted(
            (
                item
                for item in self._latched.values()
                if item.seq not in sent and not (resumed and item.seq <= request.after_seq)
            ),
            key=lambda item: item.seq,
        )

    def _serve(self, client: _Client, backlog: list[StreamItem], context: Any) -> Iterator[pa.RecordBatch]:
        try:
            for start in range(0, len(backlog), ENVELOPE_ITEMS):
                yield self._envelope(client, backlog[start : start + ENVELOPE_ITEMS])
            idle_since = time.monotonic()
            while not self._closed and not context.is_cancelled():
                try:
                    queued = client.chunks.get(timeout=0.2)
                except queue.Empty:
                    client.stalled = False  # reading again (a later stall is said again)
                    if time.monotonic() - idle_since >= HEARTBEAT_S:
                        idle_since = time.monotonic()
                        heartbeat = StreamItem(
                            HEARTBEAT_ENTITY, False, -1, b"", self.session, -1, time.time_ns()
                        )
                        yield envelope([heartbeat])
                    continue
                if queued is None:
                    return
                idle_since = time.monotonic()
                items, ended = _waiting(client, queued)
                yield self._envelope(client, items)
                if ended:
                    return
        finally:
            with self._lock:
                self._clients.remove(client)
                self._dropped_by_gone_clients += client.dropped
            if client.dropped:
                log.warning(f"stream client {client.peer} left; {client.dropped} chunks were dropped for it")

    def _envelope(self, client: _Client, items: Sequence[StreamItem]) -> pa.RecordBatch:
        """Items for ``client``, each first one of its schema on the connection carrying the schema."""
        sent = client.schemas_sent
        with_schemas = []
        for item in items:
            if item.schema_id in sent:
                with_schemas.append(item)
                continue
            sent.add(item.schema_id)
            with self._lock:
                schema = self._schemas[item.schema_id]
            with_schemas.append(replace(item, schema=schema))
        return envelope(with_schemas)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            client.chunks.put(None)
        # gRPC's shutdown waits for every call, and a client that stopped reading keeps its call in a write
        # forever: the robot never waits on a laptop, so the shutdown gets a few seconds on a thread of its
        # own and the process goes on (and exits) without it.
        stopper = threading.Thread(target=self.shutdown, name="rerun_bridge-stream-stop", daemon=True)
        stopper.start()
        stopper.join(timeout=SHUTDOWN_WAIT_S)
        self.stuck = stopper.is_alive()
        if self.stuck:
            log.warning("a stream client stopped reading; closing the stream without waiting for it")


def _bind_problem(host: str, port: int) -> str | None:
    """Why the address cannot be served on, asked of the operating system ("Address already in use"):
    gRPC's own words went to stderr before the error (found by an audit), and are silenced now."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        return f"cannot resolve {host!r}: {err.strerror or err}"
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(address)
        except OSError as err:
            return f"{err.strerror or err} (another bridge or program serves on that port?)"
    return None


def _allow_stalled_client(peer: str) -> None:
    """Give the connection of ``peer`` (gRPC's ``ipv4:HOST:PORT`` / ``ipv6:[HOST]:PORT``) a TCP_USER_TIMEOUT
    of STALLED_CLIENT_S instead of gRPC's 20 s, so that a client that stopped reading stays connected
    while its bounded queue drops (and counts) its oldest chunks, and continues when it reads again.
    pyarrow's Flight server takes no gRPC channel arguments, so the socket is found among the process's
    descriptors by its peer address (Linux; elsewhere gRPC's timeout stays)."""
    option = getattr(socket, "TCP_USER_TIMEOUT", None)
    kind, _colon, address = peer.partition(":")
    host, _colon, port_text = address.rpartition(":")
    if option is None or kind not in ("ipv4", "ipv6") or not port_text.isdigit():
        return
    wanted = (_unmapped(host.strip("[]")), int(port_text))
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return
    for name in descriptors:
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            with socket.socket(fileno=os.dup(int(name))) as sock:
                if sock.type != socket.SOCK_STREAM or sock.family not in (socket.AF_INET, socket.AF_INET6):
                    continue
                remote = sock.getpeername()
                if (_unmapped(str(remote[0])), int(remote[1])) == wanted:
                    sock.setsockopt(socket.IPPROTO_TCP, option, STALLED_CLIENT_S * 1000)
                    return
        except (OSError, ValueError):
            continue  # closed meanwhile, not connected, or not a socket after all


def _unmapped(host: str) -> str:
    """An IPv4-mapped IPv6 address as the IPv4 address it maps."""
    return host.removeprefix("::ffff:")


def _waiting(client: _Client, first: StreamItem) -> tuple[list[StreamItem], bool]:
    """``first`` and the items already waiting behind it (never waits for more); whether the end came."""
    items = [first]
    while len(items) < ENVELOPE_ITEMS:
        try:
            queued = client.chunks.get(timeout=0)
        except queue.Empty:
            break
        if queued is None:
            return items, True
        items.append(queued)
    return items, False


class StreamSink:
    """A row sink that serves its chunks over the network (see module docs)."""

    def __init__(
        self,
        host: str,
        port: int,
        security: StreamSecurity | None = None,
        history: HistoryBounds | None = None,
        live_flush_s: float = LIVE_FLUSH_S,
    ) -> None:
        """``live_flush_s``: rows wait at most about this long in the batcher while rows keep coming."""
        try:
            self.server = StreamServer(host, port, security, history)
        except (OSError, flight.FlightError) as err:
            raise RecordingError(f"cannot serve the stream on {host}:{port}: {err}") from err
        self.port = int(self.server.port)
        # Fewer rows per chunk than the file: a remote view wants data soon, not big chunks.
        self._batcher = RowBatcher(
            self.server.publish, batch_rows=64, batch_bytes=256 << 10, frames_through_clears=True
        )
        self._last_flush = time.monotonic()
        self.live_flush_s = live_flush_s
        self._thread = threading.Thread(target=self.server.serve, name="rerun_bridge-stream", daemon=True)
        self._thread.start()

    def counts(self) -> StreamCounts:
        return self.server.counts()

    def emitted_bytes(self) -> int:
        """Bytes published so far (encoded chunks, as they go on the wire)."""
        return self.server.counts().published_bytes

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        self._batcher.write(rows, default_times)
        self._flush_if_due()

    def latch(self, entity_path: str) -> None:
        """See :meth:`StreamServer.latch`."""
        self.server.latch(entity_path)

    def send_batch(self, entity_path: str, static: bool, batch: pa.RecordBatch) -> None:
        """A chunk batched elsewhere (split mode's summary), published as it is."""
        self.server.publish(entity_path, static, batch)

    def write_columns(self, columns: ColumnRows) -> None:
        self._batcher.write_columns(columns)
        self._flush_if_due()

    def _flush_if_due(self) -> None:
        # A live view wants rows within a frame or two, not at the files' once-a-second flush.
        self.flush_if_older(self.live_flush_s)

    def flush_if_older(self, seconds: float) -> None:
        """Flush when the last flush was ``seconds`` ago or more."""
        if time.monotonic() - self._last_flush >= seconds:
            self.flush()

    def flush(self, wait: bool = True) -> None:
        """Hand the batched rows to the server (which sends them without waiting for clients)."""
        self._last_flush = time.monotonic()
        self._batcher.flush()

    @property
    def stuck(self) -> bool:
        """Whether a client that stopped reading kept the server from stopping (see StreamServer.stuck)."""
        return bool(self.server.stuck)

    def close(self) -> None:
        self.flush()
        self.server.close()
        self._thread.join(timeout=0.5 if self.server.stuck else 5.0)
