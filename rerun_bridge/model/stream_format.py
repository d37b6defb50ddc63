"""The network stream's wire format, shared by its server (:mod:`rerun_bridge.sinks.stream`) and its
clients (:mod:`rerun_bridge.sources.stream_client`).

Flight streams one schema while every entity has its own, so each stream item is an envelope row: the
entity path, whether the chunk is static, and the chunk's record batch as Arrow IPC stream bytes.
"""

from __future__ import annotations

import pyarrow as pa

#: One stream item.
ENVELOPE_SCHEMA = pa.schema(
    [
        pa.field("entity_path", pa.string(), nullable=False),
        pa.field("static", pa.bool_(), nullable=False),
        pa.field("chunk", pa.binary(), nullable=False),
    ]
)
#: The ticket a client asks for: every static chunk so far, then live chunks as they are made.
LIVE_TICKET = b"live"


def encode_chunk(batch: pa.RecordBatch) -> bytes:
    """One record batch as a self-describing Arrow IPC stream (schema and field metadata included)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue())


def decode_chunk(data: bytes) -> pa.RecordBatch:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_next_batch()


def envelope(entity_path: str, static: bool, data: bytes) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [pa.array([entity_path]), pa.array([static]), pa.array([data], type=pa.binary())],
        schema=ENVELOPE_SCHEMA,
    )
