"""The network stream's wire format, shared by its server (:mod:`rerun_bridge.sinks.stream`) and its
clients (:mod:`rerun_bridge.sources.stream_client`).

Flight streams one schema while every entity has its own, so each stream item is an envelope row: the
entity path, whether the chunk is static, and the chunk's record batch as one Arrow IPC message, with the
server's session id and the chunk's sequence number in it (a client that reconnects asks for what came
after the last one it has) and the server's wall-clock time of publishing (the viewer's lag). A row with an
empty entity path is a heartbeat: the server sends one each second it has nothing else, so a client notices
a silent network cut.

Split mode lives under a bandwidth budget, so the wire carries what a chunk needs, once: a chunk's schema
(Rerun's field metadata, 0.6 to 2 kB, as much as a small chunk's data) goes to a client with the first
chunk of that schema on its connection and is named by a number after that (every chunk of an entity
repeats it), and the batch's IPC message is zstd-compressed whole (TF, IMU and joint rows shrink 3 to 6
times). One frame per chunk, from one compressor per thread: Arrow's own IPC compression compresses each
buffer separately with a fresh zstd context, which took a quarter of the live worker's time on the reference
load (about 0.5 ms a chunk, against 0.05) and compressed small chunks worse.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import zstandard

from rerun_bridge.errors import BridgeError

#: One stream item.
ENVELOPE_SCHEMA = pa.schema(
    [
        pa.field("entity_path", pa.string(), nullable=False),
        pa.field("static", pa.bool_(), nullable=False),
        #: The server's number of the chunk's schema, and the schema itself (an Arrow IPC schema message)
        #: on the first chunk of that number in a connection, empty after that.
        pa.field("schema_id", pa.int64(), nullable=False),
        pa.field("schema", pa.binary(), nullable=False),
        #: The record batch as an Arrow IPC message, in one zstd frame.
        pa.field("chunk", pa.binary(), nullable=False),
        pa.field("session", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("published_ns", pa.int64(), nullable=False),
    ]
)
#: The ticket that asks for every static chunk so far, then live chunks as they are made.
LIVE_TICKET = b"live"
_TICKET_PREFIX = b"live?"
HEARTBEAT_ENTITY = ""


@dataclass(frozen=True, slots=True)
class StreamRequest:
    """What a client asks for: every static chunk, then the last ``history_s`` seconds of temporal chunks
    (or, when ``session`` is the server's, those after ``after_seq``), then live ones."""

    history_s: float = 0.0
    session: str = ""
    after_seq: int = -1

    def ticket(self) -> bytes:
        query = {"history_s": self.history_s, "session": self.session, "after_seq": self.after_seq}
        return _TICKET_PREFIX + json.dumps(query).encode()


def parse_ticket(ticket: bytes) -> StreamRequest:
    """The request a ticket carries; ValueError when it is not one of ours."""
    if ticket == LIVE_TICKET:
        return StreamRequest()
    if not ticket.startswith(_TICKET_PREFIX):
        raise ValueError(f"unknown ticket {ticket[:40]!r}; ask for {LIVE_TICKET!r}")
    try:
        query = json.loads(ticket[len(_TICKET_PREFIX) :])
        return StreamRequest(
            float(query.get("history_s", 0.0)), str(query.get("session", "")), int(query.get("after_seq", -1))
        )
    except (ValueError, TypeError, AttributeError) as err:
        raise ValueError(f"malformed ticket {ticket[:80]!r}: {err}") from err


@dataclass(frozen=True, slots=True)
class StreamItem:
    """One published chunk as the server keeps and sends it."""

    entity_path: str
    static: bool
    schema_id: int
    data: bytes
    session: str
    seq: int
    published_ns: int
    #: The schema message, where this item is the first of its schema on a connection.
    schema: bytes = b""


def encode_chunk(batch: pa.RecordBatch) -> bytes:
    """One record batch as a self-describing Arrow IPC stream (schema and field metadata included)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue())


def decode_chunk(data: bytes) -> pa.RecordBatch:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_next_batch()


#: zstd contexts are not thread-safe, and making one per chunk is what made Arrow's compression slow.
_CODECS = threading.local()
#: Bounds what one received chunk may decompress to (far past any chunk the server makes).
MAX_CHUNK_BYTES = 1 << 30


def _compressor() -> zstandard.ZstdCompressor:
    compressor: zstandard.ZstdCompressor | None = getattr(_CODECS, "compressor", None)
    if compressor is None:
        compressor = _CODECS.compressor = zstandard.ZstdCompressor(level=3)
    return compressor


def split_chunk(batch: pa.RecordBatch) -> tuple[bytes, bytes]:
    """A chunk as it goes on the wire: its schema as an Arrow IPC message, and its record batch as an IPC
    message in one zstd frame."""
    return batch.schema.serialize().to_pybytes(), _compressor().compress(batch.serialize())


class ChunkDecoder:
    """Decodes the items of one connection: remembers each schema the server sent with its number."""

    def __init__(self) -> None:
        self._schemas: dict[int, pa.Schema] = {}
        self._decompressor = zstandard.ZstdDecompressor()

    def decode(self, item: StreamItem) -> pa.RecordBatch:
        """The item's record batch; a BridgeError when its schema never came on this connection."""
        if item.schema:
            self._schemas[item.schema_id] = pa.ipc.read_schema(pa.py_buffer(item.schema))
        schema = self._schemas.get(item.schema_id)
        if schema is None:
            raise BridgeError(
                f"stream item {item.seq} of {item.entity_path} names schema {item.schema_id}, never sent"
            )
        try:
            message = self._decompressor.decompress(item.data, max_output_size=MAX_CHUNK_BYTES)
            return pa.ipc.read_record_batch(pa.py_buffer(message), schema)
        except (zstandard.ZstdError, pa.ArrowException) as err:
            raise BridgeError(
                f"stream item {item.seq} of {item.entity_path} is not a chunk of this version's stream "
                f"format (is the robot's rerun-bridge another version?): {err}"
            ) from err


def envelope(items: Sequence[StreamItem]) -> pa.RecordBatch:
    """Items as one envelope batch, a row each (several at once when a client's queue holds them)."""
    return pa.RecordBatch.from_arrays(
        [
            pa.array([item.entity_path for item in items], type=pa.string()),
            pa.array([item.static for item in items], type=pa.bool_()),
            pa.array([item.schema_id for item in items], type=pa.int64()),
            pa.array([item.schema for item in items], type=pa.binary()),
            pa.array([item.data for item in items], type=pa.binary()),
            pa.array([item.session for item in items], type=pa.string()),
            pa.array([item.seq for item in items], type=pa.int64()),
            pa.array([item.published_ns for item in items], type=pa.int64()),
        ],
        schema=ENVELOPE_SCHEMA,
    )


def items_of(batch: pa.RecordBatch) -> list[StreamItem]:
    """The items of one received envelope batch."""
    columns = [batch.column(name).to_pylist() for name in ENVELOPE_SCHEMA.names]
    return [
        StreamItem(entity, bool(static), schema_id, data, session, seq, published, schema)
        for entity, static, schema_id, schema, data, session, seq, published in zip(*columns, strict=True)
    ]
