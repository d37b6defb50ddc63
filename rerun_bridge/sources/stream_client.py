"""The receiving end of the network stream: chunks from a bridge, written to an .rrd (or any sink)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
from pyarrow import flight

from rerun_bridge.errors import BridgeError
from rerun_bridge.model.stream_format import LIVE_TICKET, decode_chunk

ChunkHandler = Callable[[str, bool, pa.RecordBatch], None]


def location_of(address: str, tls: bool) -> str:
    """``host:port`` or a full ``grpc://`` / ``grpc+tls://`` URI."""
    if "://" in address:
        return address
    return f"{'grpc+tls' if tls else 'grpc+tcp'}://{address}"


def receive(
    address: str,
    on_chunk: ChunkHandler,
    token: str = "",
    tls_root_cert: str = "",
    duration_s: float | None = None,
    on_connected: Callable[[], None] | None = None,
) -> int:
    """Receive chunks until the bridge stops (or ``duration_s`` passes); returns how many arrived.
    ``on_connected`` is called once the bridge accepted the call (before the first chunk)."""
    tls = bool(tls_root_cert)
    kwargs = {"tls_root_certs": Path(tls_root_cert).read_bytes()} if tls else {}
    client = flight.FlightClient(location_of(address, tls), **kwargs)
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    options = flight.FlightCallOptions(headers=headers, timeout=duration_s)
    count = 0
    deadline = time.monotonic() + duration_s if duration_s else None
    try:
        reader = client.do_get(flight.Ticket(LIVE_TICKET), options)
        if on_connected is not None:
            on_connected()
        for chunk in reader:
            envelope = chunk.data
            for entity_path, static, data in zip(
                envelope.column("entity_path").to_pylist(),
                envelope.column("static").to_pylist(),
                envelope.column("chunk").to_pylist(),
                strict=True,
            ):
                on_chunk(entity_path, bool(static), decode_chunk(data))
                count += 1
            if deadline is not None and time.monotonic() >= deadline:
                break
    except flight.FlightTimedOutError:
        pass  # the requested duration is over
    except flight.FlightUnauthenticatedError as err:
        what = "the bridge refused the token" if token else "the bridge requires a token (--token)"
        raise BridgeError(f"{address}: authentication failed: {what}") from err
    except flight.FlightUnavailableError as err:
        raise BridgeError(f"{address}: no bridge stream there ({err})") from err
    finally:
        client.close()
    return count
