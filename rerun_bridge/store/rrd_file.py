"""A .rrd file's chunk index (Rerun's footer manifest) and reading one chunk by its byte offset.

rerun-sdk 0.41 writes a footer with a manifest: one row per chunk with its entity path, whether it is
static, its byte offset and size in the file, and per timeline (and per timeline and component) the
smallest and largest time. ``rerun.chunk.RrdReader(path).store()`` reads it without loading chunks; its
rows come from ``LazyStore._chunk_index()`` (private in 0.41: the public API has no way to load one
chunk, so the offsets are read here and the chunk decoded by :func:`decode_chunk`).

At its offset a chunk is one ``ArrowMsg`` protobuf message (Rerun's ``log_msg.proto``): field 2 the
compression (1: none, 2: LZ4 block), field 3 the uncompressed size, field 5 an Arrow IPC stream with the
chunk's record batch, the same batch ``rerun.chunk.Chunk.to_record_batch()`` returns.

A file without a footer (written by an older SDK, or cut short by a crash) is read by
:func:`scan_chunks`, message after message: a 12-byte stream header (``RRF2``, version, options), then
per message a kind and a length (two little-endian u64: kind 1 store info, 2 Arrow chunk, 0 the end)
and the message. It stops at the first message the file does not hold whole.
"""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar

import pyarrow as pa

from rerun_bridge.store.columns import StoreError

__all__ = ["ChunkEntry", "RrdIndex", "ScannedChunk", "decode_chunk", "read_rrd_index", "scan_chunks"]

_COMPRESSION_NONE: Final = (0, 1)
_COMPRESSION_LZ4: Final = 2
_FIELD_COMPRESSION: Final = 2
_FIELD_UNCOMPRESSED_SIZE: Final = 3
_FIELD_PAYLOAD: Final = 5
_WIRE_VARINT: Final = 0
_WIRE_FIXED64: Final = 1
_WIRE_BYTES: Final = 2
_WIRE_FIXED32: Final = 5
_STREAM_HEADER_SIZE: Final = 12
_STREAM_MAGIC: Final = b"RRF2"
_MESSAGE_HEADER: Final = struct.Struct("<QQ")
_KIND_END: Final = 0
_KIND_ARROW: Final = 2
_FIELD_STORE_ID: Final = 1
_STORE_KIND_RECORDING: Final = 1
_SCAN_BLOCK: Final = 1 << 20
_INDEX_KEY: Final = b"rerun:index"
_COMPONENT_KEY: Final = b"rerun:component"
_Key = TypeVar("_Key", str, tuple[str, str])


@dataclass(frozen=True, slots=True)
class ChunkEntry:
    """One chunk as the manifest describes it; ``number`` is its row in the manifest."""

    number: int
    entity_path: str
    static: bool
    offset: int
    size: int
    #: the chunk's bytes once decompressed: what loading it costs in memory, about
    memory_size: int
    num_rows: int
    #: timeline -> (first, last) time of the whole chunk
    bounds: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: (timeline, component) -> (first, last) time of the rows that hold the component
    component_bounds: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RrdIndex:
    """Every chunk of a .rrd file's first recording, and the Arrow type of each timeline."""

    path: Path
    chunks: tuple[ChunkEntry, ...]
    timeline_types: dict[str, pa.DataType]


def read_rrd_index(path: str | Path) -> RrdIndex | None:
    """The chunk index of a .rrd file; None when it has no footer (an older or truncated file)."""
    import rerun.chunk as rrc

    source = Path(path)
    try:
        with warnings.catch_warnings():
            # A file without a footer is said so by the None returned (rerun-sdk's own check,
            # check_for_rrd_footer, reads the whole file: gigabytes in memory for a big one).
            warnings.simplefilter("ignore")
            lazy = rrc.RrdReader(str(source)).store()
        manifest = lazy._chunk_index().to_arrow()
    except (OSError, ValueError, RuntimeError, AttributeError):
        return None
    return _index_of(source, manifest)


def _index_of(source: Path, manifest: pa.RecordBatch) -> RrdIndex:
    chunk_bounds: dict[str, tuple[str, str]] = {}  # timeline -> (start column, end column)
    component_columns: dict[tuple[str, str], tuple[str, str]] = {}
    timeline_types: dict[str, pa.DataType] = {}
    for column in manifest.schema:
        metadata = column.metadata or {}
        timeline = metadata.get(_INDEX_KEY, b"").decode()
        if not timeline or timeline == "rerun:static" or not column.name.endswith(":start"):
            continue
        end = column.name[: -len(":start")] + ":end"
        component = metadata.get(_COMPONENT_KEY)
        if component is None:
            chunk_bounds[timeline] = (column.name, end)
            timeline_types[timeline] = column.type
        else:
            component_columns[(timeline, component.decode())] = (column.name, end)
    columns = {
        name: manifest.column(name).cast(pa.int64()).to_pylist()
        for name in _time_columns(chunk_bounds, component_columns)
    }
    entities = manifest.column("chunk_entity_path").to_pylist()
    statics = manifest.column("chunk_is_static").to_pylist()
    offsets = manifest.column("chunk_byte_offset").to_pylist()
    sizes = manifest.column("chunk_byte_size").to_pylist()
    memory_sizes = manifest.column("chunk_byte_size_uncompressed").to_pylist()
    rows = manifest.column("chunk_num_rows").to_pylist()
    chunks = []
    for number in range(manifest.num_rows):
        chunks.append(
            ChunkEntry(
                number,
                entities[number],
                bool(statics[number]),
                int(offsets[number]),
                int(sizes[number]),
                int(memory_sizes[number]),
                int(rows[number]),
                _bounds_at(number, chunk_bounds, columns),
                _bounds_at(number, component_columns, columns),
            )
        )
    return RrdIndex(source, tuple(chunks), timeline_types)


def _time_columns(
    chunk_bounds: dict[str, tuple[str, str]], component_columns: dict[tuple[str, str], tuple[str, str]]
) -> list[str]:
    pairs = [*chunk_bounds.values(), *component_columns.values()]
    return [name for start_end in pairs for name in start_end]


def _bounds_at(
    number: int, pairs: dict[_Key, tuple[str, str]], columns: dict[str, list[int | None]]
) -> dict[_Key, tuple[int, int]]:
    bounds: dict[_Key, tuple[int, int]] = {}
    for key, (start, end) in pairs.items():
        low, high = columns[start][number], columns[end][number]
        if low is not None and high is not None:
            bounds[key] = (low, high)
    return bounds


def read_chunk_bytes(descriptor: int, entry: ChunkEntry) -> bytes:
    """The chunk's message as it lies in the file (``descriptor``: the file opened for reading)."""
    data = os.pread(descriptor, entry.size, entry.offset)
    if len(data) != entry.size:
        raise StoreError(f"chunk {entry.number} of {entry.entity_path}: the file ends inside it")
    return data


def decode_chunk(message: bytes) -> pa.RecordBatch:
    """The record batch of one ``ArrowMsg`` (the bytes at a chunk's offset)."""
    fields = _protobuf_fields(message)
    payload = fields.get(_FIELD_PAYLOAD)
    if not isinstance(payload, bytes):
        raise StoreError("a chunk message without an Arrow payload")
    compression = fields.get(_FIELD_COMPRESSION, 0)
    if isinstance(compression, bytes):
        raise StoreError("a chunk message with a malformed compression field")
    if compression == _COMPRESSION_LZ4:
        size = fields.get(_FIELD_UNCOMPRESSED_SIZE)
        if not isinstance(size, int):
            raise StoreError("an LZ4 chunk message without its uncompressed size")
        payload = pa.Codec("lz4_raw").decompress(payload, decompressed_size=size).to_pybytes()
    elif compression not in _COMPRESSION_NONE:
        raise StoreError(f"a chunk message with unknown compression {compression}")
    batches = pa.ipc.open_stream(payload).read_all().to_batches()
    if len(batches) != 1:
        raise StoreError(f"a chunk message with {len(batches)} record batches (one expected)")
    # Damaged bytes can still read as a batch, with offsets pointing anywhere (found by an audit: a
    # chunk of a damaged file loaded with an offset of -122567): checked, it is refused, not drawn.
    batches[0].validate(full=True)
    return batches[0]


def _protobuf_fields(message: bytes) -> dict[int, int | bytes]:
    """Top-level fields of a protobuf message: varints as ints, length-delimited ones as bytes."""
    fields: dict[int, int | bytes] = {}
    position = 0
    while position < len(message):
        key, position = _varint(message, position)
        number, wire = key >> 3, key & 7
        if wire == _WIRE_VARINT:
            fields[number], position = _varint(message, position)
        elif wire == _WIRE_BYTES:
            length, position = _varint(message, position)
            fields[number] = message[position : position + length]
            position += length
        elif wire in (_WIRE_FIXED64, _WIRE_FIXED32):
            position += 8 if wire == _WIRE_FIXED64 else 4
        else:
            raise StoreError(f"a chunk message with protobuf wire type {wire}")
    if position != len(message):
        raise StoreError("a chunk message cut short")
    return fields


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data):
            raise StoreError("a chunk message cut short")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, position


@dataclass(frozen=True, slots=True)
class ScannedChunk:
    """One chunk of a file read front to back, and how far into the file the scan is."""

    entity_path: str
    batch: pa.RecordBatch
    bytes_read: int


def scan_chunks(path: str | Path, cut_short: Callable[[str], None] | None = None) -> Iterator[ScannedChunk]:
    """Every chunk of the file's first recording, front to back, without an index; a message the file
    does not hold whole (a cut-off recording) ends the scan and is told to ``cut_short``."""
    source = Path(path)
    size = source.stat().st_size
    with source.open("rb", buffering=_SCAN_BLOCK) as stream:
        if stream.read(_STREAM_HEADER_SIZE)[:4] != _STREAM_MAGIC:
            raise StoreError(f"{source}: not a .rrd file (no RRF2 stream header)")
        position = _STREAM_HEADER_SIZE
        recording: bytes | None = None
        while position + _MESSAGE_HEADER.size <= size:
            kind, length = _MESSAGE_HEADER.unpack(stream.read(_MESSAGE_HEADER.size))
            position += _MESSAGE_HEADER.size
            if kind == _KIND_END:
                return
            if position + length > size:
                if cut_short is not None:
                    cut_short(f"{source}: the file ends inside a message at byte {position}: read up to it")
                return
            message = stream.read(length)
            position += length
            if kind != _KIND_ARROW:
                continue
            store_id = _protobuf_fields(message).get(_FIELD_STORE_ID)
            if not isinstance(store_id, bytes) or _protobuf_fields(store_id).get(1) != _STORE_KIND_RECORDING:
                continue  # a blueprint's chunks
            if recording is None:
                recording = store_id
            elif store_id != recording:
                continue  # a second recording in the file: the first one is shown, as the reader does
            batch = decode_chunk(message)
            entity = (batch.schema.metadata or {}).get(b"rerun:entity_path", b"/").decode()
            yield ScannedChunk(entity, batch, position)
