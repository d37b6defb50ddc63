"""The receiving end of the network stream: chunks from a bridge, to an .rrd (``receive``) or to a live
viewer that follows the stream across network cuts (:class:`StreamFollower`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
from pyarrow import flight

from rerun_bridge.config import parse_bind
from rerun_bridge.errors import BridgeError
from rerun_bridge.model.stream_format import (
    HEARTBEAT_ENTITY,
    ChunkDecoder,
    StreamItem,
    StreamRequest,
    items_of,
)

ChunkHandler = Callable[[str, bool, pa.RecordBatch], None]

#: A stream silent this long (no data, no heartbeat) counts as cut.
SILENCE_S: Final = 5.0
#: Seconds between two connection attempts.
RETRY_S: Final = 1.0


class AuthenticationError(BridgeError):
    """The bridge refused the client's token (or its absence)."""


class UnreachableError(BridgeError):
    """No bridge stream answered at the address (nothing listening, a name that does not resolve, TLS that
    does not match): ``receive`` exits 1, as when nothing arrived."""


#: The schemes a bridge's stream is reached by (``grpc://`` is plain TCP, or TLS with a root certificate).
SCHEMES: Final = ("grpc", "grpc+tcp", "grpc+tls")


def check_address(address: str) -> None:
    """Raises BridgeError unless ``address`` is ``HOST:PORT`` or ``grpc[+tcp|+tls]://HOST:PORT`` (IPv6 as
    ``[::1]:PORT``): a malformed one ended ``receive`` in a pyarrow traceback and killed the viewer's
    follower thread, and one without a port went to gRPC's default, 443."""
    scheme, separator, rest = address.partition("://")
    if not separator:
        scheme, rest = "grpc", address
    if scheme not in SCHEMES:
        raise BridgeError(
            f"{address}: not a bridge stream address: expected HOST:PORT or "
            f"{', '.join(f'{name}://HOST:PORT' for name in SCHEMES)}"
        )
    try:
        _host, port = parse_bind(rest)
    except ValueError as err:
        raise BridgeError(f"{address}: not a bridge stream address: {err} (e.g. ROBOT:9877)") from None
    if port == 0:
        raise BridgeError(f"{address}: not a bridge stream address: port 0")


def location_of(address: str, tls: bool) -> str:
    """``host:port`` or a full ``grpc://`` / ``grpc+tcp://`` / ``grpc+tls://`` URI."""
    if "://" in address:
        return address.replace("grpc://", "grpc+tls://" if tls else "grpc+tcp://", 1)
    return f"{'grpc+tls' if tls else 'grpc+tcp'}://{address}"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How to reach a bridge's stream: its address, token and the CA to trust for TLS (empty: plain TCP)."""

    address: str
    token: str = ""
    tls_root_cert: str = ""

    def __post_init__(self) -> None:
        check_address(self.address)
        if self.tls_root_cert and not Path(self.tls_root_cert).is_file():
            raise BridgeError(f"{self.tls_root_cert}: no such file (the CA certificate, --tls-root-cert)")


def _open(settings: ClientSettings, request: StreamRequest, timeout_s: float | None) -> tuple[Any, Any]:
    """The Flight client and the reader of one do_get call; errors as BridgeErrors naming the address."""
    tls = bool(settings.tls_root_cert)
    kwargs = {"tls_root_certs": Path(settings.tls_root_cert).read_bytes()} if tls else {}
    client = flight.FlightClient(location_of(settings.address, tls), **kwargs)
    headers = [(b"authorization", f"Bearer {settings.token}".encode())] if settings.token else []
    options = flight.FlightCallOptions(headers=headers, timeout=timeout_s)
    try:
        return client, client.do_get(flight.Ticket(request.ticket()), options)
    except BaseException as err:
        client.close()
        raise _bridge_error(settings, err) from err


def _bridge_error(settings: ClientSettings, err: BaseException) -> BaseException:
    if isinstance(err, flight.FlightUnauthenticatedError):
        what = "the bridge refused the token" if settings.token else "the bridge requires a token (--token)"
        return AuthenticationError(f"{settings.address}: authentication failed: {what}")
    if isinstance(err, flight.FlightUnavailableError):
        reason = grpc_reason(err)
        if reason in _ANSWERED:  # something answered there: the hint about a bridge not running misleads
            return UnreachableError(f"{settings.address}: cannot read a bridge stream there: {reason}")
        return UnreachableError(
            f"{settings.address}: no bridge stream there: {reason}; is the bridge running with --serve on "
            "that address, and its port reachable from here?"
        )
    return err


_TLS: Final = "the TLS handshake failed (give --tls-root-cert for a bridge with TLS, none without)"
_NOT_GRPC: Final = "the port answers, but not with gRPC (another server listens there)"
#: Reasons that mean something answered at the address.
_ANSWERED: Final = frozenset({_TLS, _NOT_GRPC})
#: Words in gRPC's error text, and what they mean for a user, first match wins.
_REASONS: Final = (
    ("connection refused", "connection refused"),
    ("domain name not found", "the host name does not resolve"),
    ("dns resolution failed", "the host name does not resolve"),
    ("errors resolving", "the host name does not resolve"),
    ("handshake failed", _TLS),
    ("ssl", _TLS),
    ("failed parsing http/2", _NOT_GRPC),
    ("connection reset", "the connection was reset"),
    ("timed out", "the connection timed out"),
    ("deadline exceeded", "no answer in time"),
    ("no route to host", "no route to the host"),
    ("network is unreachable", "the network is unreachable"),
    ("socket closed", "the connection was closed"),
)


def grpc_reason(err: BaseException) -> str:
    """A few words for a gRPC error, without the debug context gRPC appends (the message came twice,
    then "gRPC client debug context: ..." and "Client context: ...", on one long line)."""
    text = str(err)
    lowered = text.lower()
    for words, reason in _REASONS:
        if words in lowered:
            return reason
    message = text.partition("with message: ")[2] or text
    return message.split(". gRPC client debug context")[0].strip() or type(err).__name__


def receive(
    settings: ClientSettings,
    on_chunk: ChunkHandler,
    duration_s: float | None = None,
    on_connected: Callable[[], None] | None = None,
    history_s: float = 0.0,
) -> int:
    """Receive chunks until the bridge stops (or ``duration_s`` passes); returns how many arrived: the
    static and latched chunks, the last ``history_s`` seconds of the rest, then live ones.
    ``on_connected`` is called once the bridge accepted the call (before the first chunk)."""
    count = 0
    deadline = time.monotonic() + duration_s if duration_s else None
    client, reader = _open(settings, StreamRequest(history_s), duration_s)
    last_read = time.monotonic()
    decoder = ChunkDecoder()
    if on_connected is not None:
        on_connected()
    try:
        for chunk in reader:
            last_read = time.monotonic()
            for item in items_of(chunk.data):
                if item.entity_path != HEARTBEAT_ENTITY:
                    on_chunk(item.entity_path, item.static, decoder.decode(item))
                    count += 1
            if deadline is not None and time.monotonic() >= deadline:
                break
    except flight.FlightTimedOutError:
        pass  # the requested duration is over
    except flight.FlightUnavailableError as err:
        # Connected, then cut: not "no bridge stream there" (found by an audit).
        silent_s = time.monotonic() - last_read
        if silent_s > SILENCE_S:  # the bridge sends a heartbeat every idle second: this end did not read
            raise StreamBrokenError(
                f"{settings.address}: the stream broke off after {count} chunks: this client read nothing "
                f"for {silent_s:.0f} s (a suspended computer or process), longer than the bridge waits "
                f"for a client ({grpc_reason(err)}); run receive again to go on in a new file"
            ) from err
        raise StreamBrokenError(
            f"{settings.address}: the stream broke off after {count} chunks (the bridge was killed, or "
            f"stopped without waiting for a client that had stopped reading, or the network went down): "
            f"{grpc_reason(err)}"
        ) from err
    except flight.FlightError as err:
        raise _bridge_error(settings, err) from err
    finally:
        client.close()
    return count


class StreamBrokenError(BridgeError):
    """The bridge's stream ended in the middle (what arrived before is kept)."""


class Connection(Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    REFUSED = "authentication failed"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class FollowerState:
    """Where a :class:`StreamFollower` stands: shown in the viewer's status bar."""

    connection: Connection = Connection.CONNECTING
    message: str = ""
    chunks: int = 0
    #: Chunks received temporal (not static): the viewer's screenshot waits for the first.
    temporal_chunks: int = 0
    cuts: int = 0
    #: Bytes of chunks received (schemas and record batches as they came over the wire).
    received_bytes: int = 0
    #: Wall-clock time (ns) the newest chunk was published on the robot, and when it arrived here.
    newest_published_ns: int = 0
    newest_arrived_ns: int = 0

    @property
    def lag_s(self) -> float | None:
        """How far behind the robot the view is: now minus the robot's publishing time of the newest chunk
        (the two clocks synced with NTP / chrony, as ROS across machines needs anyway)."""
        if not self.newest_published_ns:
            return None
        return max(time.time_ns() - self.newest_published_ns, 0) / 1e9


class StreamFollower:
    """Follows a bridge's stream on a thread of its own: the last ``history_s`` seconds first, then live;
    after a cut (an error, or ``SILENCE_S`` without even a heartbeat) it reconnects and asks for what came
    after the last chunk it has, which the bridge serves from its history. A refused token stops it."""

    def __init__(self, settings: ClientSettings, on_chunk: ChunkHandler, history_s: float = 10.0) -> None:
        self.settings = settings
        self.history_s = history_s
        self._on_chunk = on_chunk
        self._state = FollowerState()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._session = ""
        self._last_seq = -1
        self._last_message = time.monotonic()
        self._reader: Any = None
        self._thread = threading.Thread(target=self._run, name="rerun_bridge-follow", daemon=True)

    def start(self) -> StreamFollower:
        self._thread.start()
        threading.Thread(target=self._watch, name="rerun_bridge-follow-watch", daemon=True).start()
        return self

    def state(self) -> FollowerState:
        with self._lock:
            return self._state

    def stop(self) -> None:
        self._stop.set()
        self._cancel()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._set(connection=Connection.STOPPED)

    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._state = replace(self._state, **changes)

    def _cancel(self) -> None:
        reader = self._reader
        if reader is not None:
            try:
                reader.cancel()
            except (flight.FlightError, RuntimeError):
                return

    def _watch(self) -> None:
        """Cancels a call that went silent: a cut without a reset (Wi-Fi gone) never ends the call."""
        while not self._stop.wait(0.5):
            if self._reader is not None and time.monotonic() - self._last_message > SILENCE_S:
                self._last_message = time.monotonic()
                self._cancel()

    def _run(self) -> None:
        while not self._stop.is_set():
            request = StreamRequest(self.history_s, self._session, self._last_seq)
            try:
                self._follow(request)
            except AuthenticationError as err:
                self._set(connection=Connection.REFUSED, message=str(err))
                return
            except (BridgeError, flight.FlightError, OSError) as err:
                self._set(message=str(err).splitlines()[0] if str(err) else type(err).__name__)
            if self._stop.is_set():
                return
            with self._lock:
                connected = self._state.connection is Connection.CONNECTED
                self._state = replace(
                    self._state, connection=Connection.RECONNECTING, cuts=self._state.cuts + connected
                )
            self._stop.wait(RETRY_S)

    def _follow(self, request: StreamRequest) -> None:
        client, reader = _open(self.settings, request, None)
        decoder = ChunkDecoder()  # schemas are sent once per connection
        self._last_message = time.monotonic()
        self._reader = reader
        self._set(connection=Connection.CONNECTED, message="")
        try:
            for chunk in reader:
                self._last_message = time.monotonic()
                for item in items_of(chunk.data):
                    self._take(item, decoder)
        except flight.FlightError as err:
            raise _bridge_error(self.settings, err) from err
        finally:
            self._reader = None
            client.close()

    def _take(self, item: StreamItem, decoder: ChunkDecoder) -> None:
        wire_bytes = len(item.data) + len(item.schema)
        if item.entity_path == HEARTBEAT_ENTITY:
            return
        if item.session != self._session:  # a new bridge run: its numbers start again
            self._session, self._last_seq = item.session, -1
        batch = decoder.decode(item)  # even a repeated item: it may bring its schema
        if not item.static and item.seq <= self._last_seq:
            return  # already here (sent again around a reconnection)
        self._on_chunk(item.entity_path, item.static, batch)
        if not item.static:
            self._last_seq = item.seq
        with self._lock:
            state = self._state
            self._state = replace(
                state,
                chunks=state.chunks + 1,
                received_bytes=state.received_bytes + wire_bytes,
                temporal_chunks=state.temporal_chunks + (not item.static),
                newest_published_ns=max(state.newest_published_ns, item.published_ns),
                newest_arrived_ns=time.time_ns(),
            )
