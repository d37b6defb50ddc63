"""The network stream over real Arrow Flight on loopback: chunks arrive intact, late clients get the static
data first, a wrong token is refused."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pyarrow import flight

from rerun_bridge.errors import BridgeError
from rerun_bridge.model.rows import Row
from rerun_bridge.model.stream_format import (
    ENVELOPE_SCHEMA,
    HEARTBEAT_ENTITY,
    ChunkDecoder,
    StreamRequest,
    items_of,
)
from rerun_bridge.sinks.rrd import RrdSink
from rerun_bridge.sinks.stream import StreamSecurity, StreamSink
from rerun_bridge.sources.stream_client import ClientSettings, receive
from test.conftest import rrd_chunks, rrd_column, verify_rrd


def _static_row() -> Row:
    return Row(
        "/tf_static/camera",
        "Transform3D",
        {"translation": np.array([[0.0, 0.0, 1.0]]), "child_frame": ["camera"], "parent_frame": ["base"]},
        static=True,
    )


def test_chunks_arrive_in_an_rrd(tmp_path: Path) -> None:
    sink = StreamSink("127.0.0.1", 0)
    sink.write([_static_row()], {})
    sink.flush()
    out = tmp_path / "received.rrd"
    received: list[int] = []
    with RrdSink(out) as rrd:
        listener = threading.Thread(
            target=lambda: received.append(
                receive(ClientSettings(f"127.0.0.1:{sink.port}"), rrd.write_batch, duration_s=3.0)
            )
        )
        listener.start()
        time.sleep(0.5)  # connected and given the static backlog
        for i in range(50):
            sink.write(
                [Row("/imu", "Scalars", {"scalars": np.array([float(i)])})], {"log_time": i * 1_000_000}
            )
        sink.flush()
        listener.join(timeout=10)
    sink.close()
    counts = sink.counts()
    assert (counts.clients, counts.clients_served) == (0, 1)  # the summary after the stop says one served
    verify_rrd(out)
    assert received
    assert received[0] >= 2
    assert [row[0] for row in rrd_column(out, "/imu", "Scalars:scalars")] == [float(i) for i in range(50)]
    assert any(entity == "/tf_static/camera" and static for entity, static, _b in rrd_chunks(out))


def test_token_is_required_when_configured() -> None:
    sink = StreamSink("127.0.0.1", 0, StreamSecurity(token="s3cret"))
    try:
        with pytest.raises(BridgeError, match="token"):
            receive(ClientSettings(f"127.0.0.1:{sink.port}", "wrong"), lambda *_: None, duration_s=2.0)
        chunks: list[str] = []
        sink.write([_static_row()], {})
        sink.flush()
        receive(
            ClientSettings(f"127.0.0.1:{sink.port}", "s3cret"),
            lambda e, s, b: chunks.append(e),
            duration_s=1.0,
        )
        assert chunks == ["/tf_static/camera"]
    finally:
        sink.close()


def test_nothing_listening_is_a_clear_error() -> None:
    with pytest.raises(BridgeError, match="no bridge stream"):
        receive(ClientSettings("127.0.0.1:9"), lambda *_: None, duration_s=2.0)


def test_tls_with_a_token(tmp_path: Path) -> None:
    """A certificate for 127.0.0.1 (openssl, self-signed: its own root) turns on TLS; the client trusts it
    with its CA file. A client without TLS gets nothing."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    sink = StreamSink("127.0.0.1", 0, StreamSecurity("s3cret", str(cert), str(key)))
    try:
        sink.write([_static_row()], {})
        sink.flush()
        chunks: list[str] = []
        secure = ClientSettings(f"127.0.0.1:{sink.port}", "s3cret", str(cert))
        receive(secure, lambda e, s, b: chunks.append(e), duration_s=1.0)
        assert chunks == ["/tf_static/camera"]
        with pytest.raises(BridgeError, match="authentication failed"):
            receive(ClientSettings(f"127.0.0.1:{sink.port}", "", str(cert)), lambda *_: None, duration_s=2.0)
        with pytest.raises(BridgeError):
            receive(ClientSettings(f"127.0.0.1:{sink.port}", "s3cret"), lambda *_: None, duration_s=2.0)
    finally:
        sink.close()


def _envelope_rows(port: int, chunks: int) -> list[dict[str, object]]:
    """The raw envelope rows of one connection, up to ``chunks`` data items (heartbeats left out)."""
    client = flight.connect(f"grpc+tcp://127.0.0.1:{port}")
    rows: list[dict[str, object]] = []
    try:
        reader = client.do_get(flight.Ticket(StreamRequest(history_s=60.0).ticket()))
        for chunk in reader:
            rows += [row for row in chunk.data.to_pylist() if row["entity_path"] != HEARTBEAT_ENTITY]
            if len(rows) >= chunks:
                break
    finally:
        client.close()
    return rows


def test_a_schema_goes_once_per_connection_and_batches_are_compressed() -> None:
    sink = StreamSink("127.0.0.1", 0)
    try:
        for i in range(5):  # five chunks of one entity: one schema
            sink.write([Row("/imu", "Scalars", {"scalars": np.zeros(200) + i})], {"log_time": i})
            sink.flush()
        for _connection in range(2):  # a client that comes back gets the schema again
            rows = _envelope_rows(sink.port, 5)
            assert len(rows) == 5
            assert len({row["schema_id"] for row in rows}) == 1
            assert [bool(row["schema"]) for row in rows] == [True, False, False, False, False]
            decoder = ChunkDecoder()
            items = items_of(pa.RecordBatch.from_pylist(rows, schema=ENVELOPE_SCHEMA))
            batches = [decoder.decode(item) for item in items]
            assert [batch.column("Scalars:scalars")[0].values[0].as_py() for batch in batches] == [
                0,
                1,
                2,
                3,
                4,
            ]
            # 200 equal doubles in each: zstd keeps a small fraction of their 1,600 bytes on the wire.
            assert all(len(row["chunk"]) < 1000 for row in rows)  # type: ignore[arg-type]
        # A schema's number without the schema on this connection is a clear error, not a crash.
        with pytest.raises(BridgeError, match="never sent"):
            ChunkDecoder().decode(items[1])
        # A chunk that is not one zstd frame of an IPC message (another version's format, a damaged
        # stream) is a clear error naming the entity.
        with pytest.raises(BridgeError, match="/imu is not a chunk"):
            decoder.decode(replace(items[1], data=items[1].data[:-8]))
        with pytest.raises(BridgeError, match="/imu is not a chunk"):
            decoder.decode(replace(items[1], data=b"\x00" * 64))
    finally:
        sink.close()
