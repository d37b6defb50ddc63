"""The network stream's wire format, shared by its server (:mod:`rerun_bridge.sinks.stream`) and its
clients (:mod:`rerun_bridge.sources.stream_client`).

Flight streams one schema while every entity has its own, so each stream item is an envelope row: the
entity path, whether the chunk is static, and the chunk's record batch as Arrow IPC stream bytes, with the
server's session id and the chunk's sequence number in it (a client that reconnects asks for what came
after the last one it has) and the server's wall-clock time of publishing (the viewer's lag). A row with an
empty entity path is a heartbeat: the server sends one each second it has nothing else, so a client notices
a silent network cut.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa

#: One stream item.
ENVELOPE_SCHEMA = pa.schema(
    [
        pa.field("entity_path", pa.string(), nullable=False),
        pa.field("static", pa.bool_(), nullable=False),
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
    data: bytes
    session: str
    seq: int
    published_ns: int


def encode_chunk(batch: pa.RecordBatch) -> bytes:
    """One record batch as a self-describing Arrow IPC stream (schema and field metadata included)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return bytes(sink.getvalue())


def decode_chunk(data: bytes) -> pa.RecordBatch:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_next_batch()


def envelope(item: StreamItem) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [
            pa.array([item.entity_path]),
            pa.array([item.static]),
            pa.array([item.data], type=pa.binary()),
            pa.array([item.session]),
            pa.array([item.seq], type=pa.int64()),
            pa.array([item.published_ns], type=pa.int64()),
        ],
        schema=ENVELOPE_SCHEMA,
    )


def items_of(batch: pa.RecordBatch) -> list[StreamItem]:
    """The items of one received envelope batch."""
    columns = [batch.column(name).to_pylist() for name in ENVELOPE_SCHEMA.names]
    return [
        StreamItem(entity, bool(static), data, session, seq, published)
        for entity, static, data, session, seq, published in zip(*columns, strict=True)
    ]
