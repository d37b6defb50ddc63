"""A fast path for reading rosbag2 MCAP files: whole chunks, decompressed ahead on a second thread.

The mcap library merges messages through a heap of Python objects, which costs more than decoding and
converting them. rosbag2 writes chunks in time order, so when the summary shows chunks that do not overlap
in time, reading chunk after chunk (each sorted by log time) gives the same order for a fraction of the
cost. Files whose chunks overlap, or that have no summary, use the library.
"""

from __future__ import annotations

import io
import itertools
import mmap
import operator
import os
import struct
from collections import deque
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO, Protocol

import numpy as np
import numpy.typing as npt

from rerun_bridge.model.records import RawMessage
from rerun_bridge.sources.mcap_recovery import (
    Catalog,
    ChunkHeaderError,
    ChunkRecord,
    Selection,
    checked_messages,
    chunk_problem,
    decode_chunk,
    message_index_count,
    parse_chunk,
)

OPCODE_MESSAGE = 0x05
_RECORD_HEADER = struct.Struct("<BQ")
_MESSAGE_HEADER = struct.Struct("<HIQQ")
#: RawMessage construction without its Python-level ``__new__`` (one per message of the recording).
_new_raw = tuple.__new__
_LOG_TIME = operator.attrgetter("log_time_ns")
#: Chunks decompressed ahead of the one being converted (rosbag2 writes chunks of about 4 MB).
READ_AHEAD_CHUNKS = 4


def chunks_are_ordered(chunk_indexes: list[Any]) -> bool:
    """True when each chunk starts no earlier than the previous one ended."""
    ordered = sorted(chunk_indexes, key=lambda c: c.chunk_start_offset)
    return all(b.message_start_time >= a.message_end_time for a, b in itertools.pairwise(ordered))


class ChunkDecompressor:
    """Decompresses chunk records; one per reading thread (a zstd context is not thread-safe).

    Reusing the zstd context saves setting up a fresh one (its window buffers) for every chunk.
    """

    def __init__(self) -> None:
        self._zstd: Any = None

    def __call__(self, compression: str, data: memoryview, size: int) -> bytes | memoryview:
        if compression == "":
            return data
        if compression == "zstd":
            if self._zstd is None:
                import zstandard

                self._zstd = zstandard.ZstdDecompressor()
            return bytes(self._zstd.decompress(data, max_output_size=size))
        if compression == "lz4":
            import lz4.frame

            return bytes(lz4.frame.decompress(data))
        raise ValueError(f"unknown chunk compression '{compression}'")


class ChunkSource:
    """The file's bytes: mapped into memory when the file allows it (no copy of each chunk out of the
    page cache), else read."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._mapped: mmap.mmap | None = None
        try:
            # Shared and read-only: pages are the page cache's own, no copy, nothing private.
            self._mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError, io.UnsupportedOperation):  # a pipe, an empty file, an in-memory stream
            return
        if hasattr(mmap, "MADV_SEQUENTIAL"):
            self._mapped.madvise(mmap.MADV_SEQUENTIAL)

    def whole(self) -> memoryview:
        """All of the file (read into memory when it cannot be mapped)."""
        if self._mapped is None:
            self._stream.seek(0)
            return memoryview(self._stream.read())
        return memoryview(self._mapped)

    def read(self, offset: int, length: int) -> bytes | memoryview:
        if self._mapped is None:
            self._stream.seek(offset)
            return self._stream.read(length)
        return memoryview(self._mapped)[offset : offset + length]

    def release(self, offset: int, length: int) -> None:
        """Drop a chunk's pages from this process once its messages are done with. They stay in the
        page cache; a view still pointing there (an uncompressed chunk's message waiting in a batch)
        faults them back in unchanged, since the mapping is a shared, read-only one of the file."""
        if self._mapped is None:
            return
        start = offset - offset % mmap.PAGESIZE
        end = min(offset + length, len(self._mapped))
        if end > start:
            self._mapped.madvise(mmap.MADV_DONTNEED, start, end - start)


class _ByteSource(Protocol):
    def read(self, offset: int, length: int) -> bytes | memoryview: ...


def _read_chunk(
    source: _ByteSource, offset: int, length: int, decompress: ChunkDecompressor | None = None
) -> tuple[ChunkRecord, bytes | memoryview, str]:
    """Read one Chunk record: its fields, its decompressed records (a view of the record when stored
    uncompressed: slicing, not copying, keeps the work off the reading thread) and what is wrong with
    them ("" when nothing is)."""
    chunk = parse_chunk(memoryview(source.read(offset, length)), offset)
    records, damage = decode_chunk(chunk, decompress or ChunkDecompressor())
    return chunk, records, damage


def _messages_of_chunk(
    records: bytes | memoryview,
    channels: dict[int, tuple[str, str]],
    start_ns: int | None,
    end_ns: int | None,
) -> list[RawMessage] | None:
    """The chunk's messages of the chosen channels, or None when its records do not parse (a chunk
    without a CRC can hide damage: the caller then reads it record by record, believing nothing)."""
    view = memoryview(records)
    out: list[RawMessage] = []
    pos = 0
    end = len(records)
    header_size = _RECORD_HEADER.size
    unpack_record, unpack_message = _RECORD_HEADER.unpack_from, _MESSAGE_HEADER.unpack_from
    data_offset = header_size + _MESSAGE_HEADER.size
    windowed = start_ns is not None or end_ns is not None
    ordered = True
    last_time = -1
    while pos + header_size <= end:  # runs once per record of the recording: kept lean
        opcode, length = unpack_record(records, pos)
        body = pos
        pos += header_size + length
        if opcode != OPCODE_MESSAGE:
            continue
        if pos > end or length < _MESSAGE_HEADER.size:
            return None
        channel_id, _sequence, log_time, publish_time = unpack_message(records, body + header_size)
        channel = channels.get(channel_id)
        if channel is None:
            continue
        if windowed and (
            (start_ns is not None and log_time < start_ns) or (end_ns is not None and log_time > end_ns)
        ):
            continue
        if log_time < last_time:
            ordered = False
        last_time = log_time
        message = (channel[0], channel[1], log_time, view[body + data_offset : pos], publish_time)
        out.append(_new_raw(RawMessage, message))
    if pos != end:
        return None
    if not ordered:
        out.sort(key=_LOG_TIME)  # stable: messages of equal time keep their order in the chunk
    return out


def iter_chunked_messages(
    stream: BinaryIO,
    summary: Any,
    topics: Collection[str] | None,
    start_ns: int | None,
    end_ns: int | None,
    report: Callable[[str], None],
) -> Iterator[RawMessage]:
    """Messages of the selected topics in log-time order, for a file whose chunks do not overlap.
    A damaged chunk costs only its damaged part; ``report`` is told where and what (see
    :mod:`.mcap_recovery`)."""
    channels = {
        channel_id: (channel.topic, summary.schemas[channel.schema_id].name if channel.schema_id else "")
        for channel_id, channel in summary.channels.items()
        if topics is None or channel.topic in topics
    }
    chunks = [
        c
        for c in sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)
        if (start_ns is None or c.message_end_time >= start_ns)
        and (end_ns is None or c.message_start_time <= end_ns)
        and any(channel_id in channels for channel_id in c.message_index_offsets)
    ]
    if not chunks:
        return
    # Chunks are read and decompressed ahead, off the main thread (zstd releases the GIL). Several ahead,
    # not one: a chunk of big messages takes the main thread long enough for the reader to get ahead,
    # and a chunk of small ones is done before the next is ready.
    decompress = ChunkDecompressor()  # used by the one pool thread only
    source = ChunkSource(stream)
    recovery = _Recovery(stream, summary, Selection(topics, start_ns, end_ns), source, report)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mcap-read") as pool:
        pending: deque[tuple[Any, Future[tuple[ChunkRecord, bytes | memoryview, str]]]] = deque()

        def submit(chunk: Any) -> Future[tuple[ChunkRecord, bytes | memoryview, str]]:
            return pool.submit(_read_chunk, source, chunk.chunk_start_offset, chunk.chunk_length, decompress)

        upcoming = iter(chunks)
        for chunk in itertools.islice(upcoming, READ_AHEAD_CHUNKS):
            pending.append((chunk, submit(chunk)))
        while pending:
            chunk, future = pending.popleft()
            following = next(upcoming, None)
            if following is not None:
                pending.append((following, submit(following)))
            try:
                record, records, damage = future.result()
            except ChunkHeaderError as err:
                recovery.unreadable(chunk, err)
                continue
            messages = None if damage else _messages_of_chunk(records, channels, start_ns, end_ns)
            if messages is None:
                messages = recovery.salvage(chunk, record, records, damage)
            yield from messages
            source.release(chunk.chunk_start_offset, chunk.chunk_length)


class _Recovery:
    """Reads a damaged chunk record by record and reports it with what was lost."""

    def __init__(
        self,
        stream: BinaryIO,
        summary: Any,
        selection: Selection,
        source: ChunkSource,
        report: Callable[[str], None],
    ) -> None:
        self.path = getattr(stream, "name", "MCAP stream")
        self.catalog = Catalog(dict(summary.schemas), dict(summary.channels))
        self.selection = selection
        self.source = source
        self.report = report

    def salvage(
        self, index: Any, record: ChunkRecord, records: bytes | memoryview, damage: str
    ) -> list[RawMessage]:
        time_range = (index.message_start_time, index.message_end_time)
        checked = checked_messages(records, self.catalog, self.selection, time_range)
        expected = message_index_count(self.source.read, index.message_index_offsets)
        self.report(chunk_problem(self.path, record, damage or "does not parse", checked, expected))
        return checked.messages

    def unreadable(self, index: Any, err: Exception) -> None:
        expected = message_index_count(self.source.read, index.message_index_offsets)
        lost = f"its {expected} messages lost" if expected is not None else "its messages lost"
        self.report(f"{self.path}: {err}: {lost}")


class _FileReads:
    """A file's bytes read at an offset on demand (``pread``): what a lazily opened bag reads, one chunk
    at a time, without mapping the file (mapped pages would count towards the viewer's memory)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._descriptor = stream.fileno()

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._descriptor, length, offset)


def read_chunk_messages(
    stream: BinaryIO, summary: Any, chunk_index: Any, topics: Collection[str] | None
) -> list[RawMessage]:
    """The messages of the selected topics in one chunk (found through its chunk index), in log-time
    order; ``stream`` must be a real file."""
    channels = {
        channel_id: (channel.topic, summary.schemas[channel.schema_id].name if channel.schema_id else "")
        for channel_id, channel in summary.channels.items()
        if topics is None or channel.topic in topics
    }
    _chunk, records, damage = _read_chunk(
        _FileReads(stream), chunk_index.chunk_start_offset, chunk_index.chunk_length
    )
    messages = None if damage else _messages_of_chunk(records, channels, None, None)
    if messages is None:  # what parses of a damaged chunk, as the whole-file reader keeps it
        catalog = Catalog(dict(summary.schemas), dict(summary.channels))
        time_range = (chunk_index.message_start_time, chunk_index.message_end_time)
        return checked_messages(records, catalog, Selection(topics, None, None), time_range).messages
    return messages


OPCODE_MESSAGE_INDEX = 0x07
_MESSAGE_INDEX_HEAD = struct.Struct("<HI")


def read_message_index_spans(stream: BinaryIO, chunk_index: Any) -> dict[int, tuple[int, int]]:
    """Per channel, the first and last log time of its messages in one chunk, from the chunk's message
    index records (written right after the chunk); empty when the file has none."""
    length = int(chunk_index.message_index_length)
    if length <= 0:
        return {}
    offset = chunk_index.chunk_start_offset + chunk_index.chunk_length
    block = _FileReads(stream).read(offset, length)
    spans: dict[int, tuple[int, int]] = {}
    for channel_id, pairs in message_index_entries(block):
        if len(pairs):
            times = pairs[:, 0]
            spans[channel_id] = (int(times.min()), int(times.max()))
    return spans


def message_index_entries(block: bytes) -> Iterator[tuple[int, npt.NDArray[np.uint64]]]:
    """The message index records of a chunk's index block: per record its channel id and its entries as
    rows of (log time, offset in the uncompressed chunk); records cut short are read as far as they go."""
    pos = 0
    while pos + _RECORD_HEADER.size <= len(block):
        opcode, record_length = _RECORD_HEADER.unpack_from(block, pos)
        body = pos + _RECORD_HEADER.size
        pos = body + record_length
        if opcode != OPCODE_MESSAGE_INDEX or pos > len(block):
            continue
        channel_id, entries_length = _MESSAGE_INDEX_HEAD.unpack_from(block, body)
        entries = body + _MESSAGE_INDEX_HEAD.size
        count = min(entries_length, pos - entries) // 16
        yield channel_id, np.frombuffer(block, dtype="<u8", count=2 * count, offset=entries).reshape(-1, 2)
