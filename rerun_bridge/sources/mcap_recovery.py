"""What survives of a damaged MCAP file: chunks checked one by one, damage located and described.

A recorder killed mid-write leaves a file without its summary and with a cut last chunk; a bad disk or a
bad copy flips bytes. Each chunk is read on its own, so damage costs at most the chunk it is in:

- a chunk that does not decompress keeps the records decompressed before the damage (zstd and lz4 work
  block by block, and the blocks before a bad one are whole);
- a chunk cut short by the end of the file keeps the records that are whole in what is there;
- a chunk whose decompressed bytes fail their CRC keeps its messages that still parse (known channel,
  log time inside the chunk's range, record inside the chunk): a flipped bit usually changes one
  message, and dropping a chunk's hundreds of good messages for it would lose more than it protects.
  The warning names the chunk, so its time range can be distrusted; the converters turn a malformed
  message into one counted error.

Every problem names the file, the chunk's byte offset, its log-time range and what was lost.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from isal.isal_zlib import crc32  # SIMD: ~14x zlib's (every MCAP chunk is checked)
from mcap.data_stream import ReadDataStream
from mcap.records import Channel, Schema

from rerun_bridge.model.records import RawMessage

OPCODE_HEADER = 0x01
OPCODE_FOOTER = 0x02
OPCODE_SCHEMA = 0x03
OPCODE_CHANNEL = 0x04
OPCODE_MESSAGE = 0x05
OPCODE_CHUNK = 0x06
OPCODE_MESSAGE_INDEX = 0x07
OPCODE_DATA_END = 0x0F
#: Record opcodes the MCAP specification defines (0x01 Header to 0x10 Metadata Index).
KNOWN_OPCODES = range(0x01, 0x11)
CHUNK_COMPRESSIONS = ("", "zstd", "lz4")
MAGIC_LENGTH = 8
_RECORD_HEADER = struct.Struct("<BQ")
_MESSAGE_HEADER = struct.Struct("<HIQQ")
_CHUNK_FIXED = struct.Struct("<QQQI")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
#: Compressed input fed to a salvaging decompressor at a time: the output before a bad block is kept.
_SALVAGE_STEP = 16 << 10


class ChunkHeaderError(ValueError):
    """A chunk record whose fixed fields cannot be read: nothing in it can be found."""


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """One Chunk record's fields, its payload a view of the file (shorter than declared when cut)."""

    offset: int
    start_ns: int
    end_ns: int
    uncompressed_size: int
    crc: int
    compression: str
    payload: memoryview
    declared_payload_length: int

    @property
    def cut(self) -> bool:
        return len(self.payload) < self.declared_payload_length

    def describe(self) -> str:
        kind = self.compression or "uncompressed"
        span = f"{self.start_ns / 1e9:.3f}..{self.end_ns / 1e9:.3f} s"
        return f"chunk at byte {self.offset} ({kind}, log time {span})"


def parse_chunk(record: memoryview, offset: int) -> ChunkRecord:
    """The fields of the Chunk record that starts ``record`` (which may be cut short by the file's end)."""
    fixed_end = _RECORD_HEADER.size + _CHUNK_FIXED.size + _U32.size
    if len(record) < fixed_end:
        raise ChunkHeaderError(f"chunk at byte {offset}: the file ends inside its header")
    opcode, _length = _RECORD_HEADER.unpack_from(record, 0)
    if opcode != OPCODE_CHUNK:
        raise ChunkHeaderError(f"expected a chunk at byte {offset}, found opcode {opcode:#x}")
    start, end, size, crc = _CHUNK_FIXED.unpack_from(record, _RECORD_HEADER.size)
    (name_length,) = _U32.unpack_from(record, fixed_end - _U32.size)
    if name_length > 16 or len(record) < fixed_end + name_length + _U64.size:
        raise ChunkHeaderError(f"chunk at byte {offset}: unreadable compression name")
    compression = bytes(record[fixed_end : fixed_end + name_length]).decode("ascii", errors="replace")
    pos = fixed_end + name_length
    (payload_length,) = _U64.unpack_from(record, pos)
    pos += _U64.size
    payload = record[pos : pos + payload_length]
    return ChunkRecord(offset, start, end, size, crc, compression, payload, payload_length)


def salvage_decompress(compression: str, payload: memoryview) -> bytes:
    """As much of a damaged or cut compressed payload as decompresses, from its start."""
    out = bytearray()
    if compression == "zstd":
        import zstandard

        zstd = zstandard.ZstdDecompressor().decompressobj()
        feed: Callable[[bytes], bytes] = zstd.decompress
    elif compression == "lz4":
        import lz4.frame

        feed = lz4.frame.LZ4FrameDecompressor().decompress
    else:
        return bytes(out)
    for start in range(0, len(payload), _SALVAGE_STEP):
        try:
            out += feed(bytes(payload[start : start + _SALVAGE_STEP]))
        except Exception:  # zstandard.ZstdError, RuntimeError from lz4: the damage is here
            break
    return bytes(out)


def decode_chunk(
    chunk: ChunkRecord, decompress: Callable[[str, memoryview, int], bytes | memoryview]
) -> tuple[bytes | memoryview, str]:
    """The chunk's records and, when they are not all there or not all right, what is wrong."""
    if chunk.compression not in CHUNK_COMPRESSIONS:
        return b"", f"unknown compression '{chunk.compression}'"
    if chunk.cut:
        records = (
            chunk.payload if not chunk.compression else salvage_decompress(chunk.compression, chunk.payload)
        )
        # Its length field may lie rather than the file be cut ("the file ends inside it" of a file that
        # went on: found by an audit); both are said.
        return records, (
            f"claims {chunk.declared_payload_length} bytes, of which the file holds {len(chunk.payload)} "
            "(the file is cut there, or the chunk's length field is damaged)"
        )
    try:
        records = decompress(chunk.compression, chunk.payload, chunk.uncompressed_size)
    except Exception as err:  # each decompressor raises its own type
        records = salvage_decompress(chunk.compression, chunk.payload)
        return records, (
            f"does not decompress ({err}); "
            f"{len(records)} of {chunk.uncompressed_size} bytes read before the damage"
        )
    if len(records) != chunk.uncompressed_size:
        return records, f"decompresses to {len(records)} bytes, not {chunk.uncompressed_size}"
    if chunk.crc and crc32(records) != chunk.crc:
        return records, "fails its CRC check (bytes inside it were changed)"
    return records, ""


@dataclass(slots=True)
class Catalog:
    """Schemas and channels met so far (a file without a summary defines them as it goes)."""

    schemas: dict[int, Schema] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)

    def type_name(self, channel: Channel) -> str:
        schema = self.schemas.get(channel.schema_id)
        return schema.name if schema is not None else ""

    def add(self, opcode: int, body: memoryview) -> None:
        stream = ReadDataStream(io.BytesIO(bytes(body)))
        if opcode == OPCODE_SCHEMA:
            schema = Schema.read(stream)
            self.schemas[schema.id] = schema
        else:
            channel = Channel.read(stream)
            self.channels[channel.id] = channel


@dataclass(slots=True)
class Selection:
    topics: Collection[str] | None
    start_ns: int | None
    end_ns: int | None

    def accepts(self, topic: str, log_time: int) -> bool:
        return (
            (self.topics is None or topic in self.topics)
            and (self.start_ns is None or log_time >= self.start_ns)
            and (self.end_ns is None or log_time <= self.end_ns)
        )


@dataclass(slots=True)
class CheckedRecords:
    """The messages found in a damaged chunk's records, and how many looked wrong."""

    messages: list[RawMessage]
    found: int = 0
    rejected: int = 0
    stop: str = ""


def checked_messages(
    records: bytes | memoryview, catalog: Catalog, selection: Selection, time_range: tuple[int, int] | None
) -> CheckedRecords:
    """Parse records one by one, believing nothing: a record must lie inside the buffer, a message must
    name a known channel and (when ``time_range`` is given) lie in the chunk's time range."""
    view = memoryview(records)
    out = CheckedRecords([])
    pos, end = 0, len(view)
    while pos < end:
        if pos + _RECORD_HEADER.size > end:
            out.stop = f"records end inside a record header at byte {pos} of {end}"
            break
        opcode, length = _RECORD_HEADER.unpack_from(view, pos)
        body_start = pos + _RECORD_HEADER.size
        body_end = body_start + length
        if opcode not in KNOWN_OPCODES or body_end > end:
            out.stop = f"no valid record at byte {pos} of {end} decompressed"
            break
        pos = body_end
        if opcode in (OPCODE_SCHEMA, OPCODE_CHANNEL):
            try:
                catalog.add(opcode, view[body_start:body_end])
            except Exception:  # a damaged definition record: its messages will be rejected
                out.rejected += 1
            continue
        if opcode != OPCODE_MESSAGE:
            continue
        out.found += 1
        message = _message_of(view, body_start, body_end, catalog, time_range)
        if message is None:
            out.rejected += 1
        elif selection.accepts(message.topic, message.log_time_ns):
            out.messages.append(message)
    out.messages.sort(key=lambda m: m.log_time_ns)
    return out


def _message_of(
    view: memoryview, body_start: int, body_end: int, catalog: Catalog, time_range: tuple[int, int] | None
) -> RawMessage | None:
    if body_end - body_start < _MESSAGE_HEADER.size:
        return None
    channel_id, _sequence, log_time, publish_time = _MESSAGE_HEADER.unpack_from(view, body_start)
    channel = catalog.channels.get(channel_id)
    if channel is None or (time_range is not None and not time_range[0] <= log_time <= time_range[1]):
        return None
    data = view[body_start + _MESSAGE_HEADER.size : body_end]
    return RawMessage(channel.topic, catalog.type_name(channel), log_time, data, publish_time)


def chunk_problem(
    path: object, chunk: ChunkRecord, damage: str, checked: CheckedRecords, expected: int | None
) -> str:
    """One line: the file, where the chunk is, what is wrong with it and what was lost."""
    kept = checked.found - checked.rejected
    if expected is not None and expected >= kept:
        outcome = f"{kept} of its {expected} messages recovered, {expected - kept} lost"
    else:
        outcome = f"{kept} messages recovered from it"
        if checked.rejected:
            outcome += f", {checked.rejected} rejected as damaged"
    if damage.startswith("fails its CRC") and kept:
        outcome += " (their bytes are unverified)"
    stop = f"; {checked.stop}" if checked.stop and not damage.startswith("the file ends") else ""
    return f"{path}: {chunk.describe()} {damage}{stop}: {outcome}"


@dataclass(slots=True)
class ScanResult:
    """What a forward scan found: the catalog fills in as it goes; problems are appended to."""

    catalog: Catalog = field(default_factory=Catalog)
    problems: list[str] = field(default_factory=list)
    #: Messages read per (topic, type).
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def count(self, messages: list[RawMessage]) -> None:
        for message in messages:
            key = (message.topic, message.type_name)
            self.counts[key] = self.counts.get(key, 0) + 1


def scan_messages(
    data: memoryview,
    path: object,
    selection: Selection,
    decompress: Callable[[str, memoryview, int], bytes | memoryview],
    result: ScanResult,
) -> Iterator[RawMessage]:
    """Every readable message of a file read from its start, without its summary (it may have none):
    chunk by chunk in file order, each chunk's messages in log-time order. Bytes that are no record are
    skipped to the next chunk that parses."""
    pos, end = MAGIC_LENGTH, len(data)
    while pos < end:
        if pos + _RECORD_HEADER.size > end:
            result.problems.append(f"{path}: the file ends inside a record header at byte {pos}")
            return
        opcode, length = _RECORD_HEADER.unpack_from(data, pos)
        if opcode in (OPCODE_DATA_END, OPCODE_FOOTER):
            return  # the summary that follows repeats what was read
        if opcode not in KNOWN_OPCODES:
            pos = _resync(data, pos, path, result)
            continue
        record_end = pos + _RECORD_HEADER.size + length
        if opcode == OPCODE_CHUNK:
            yield from _scan_chunk(data, pos, path, selection, decompress, result)
        elif record_end > end:
            result.problems.append(
                f"{path}: the file ends inside a record (opcode {opcode:#x}) at byte {pos}"
            )
            return
        elif opcode in (OPCODE_SCHEMA, OPCODE_CHANNEL, OPCODE_MESSAGE):
            yield from _scan_plain_record(data, pos, opcode, record_end, path, selection, result)
        pos = record_end


def _scan_chunk(
    data: memoryview,
    pos: int,
    path: object,
    selection: Selection,
    decompress: Callable[[str, memoryview, int], bytes | memoryview],
    result: ScanResult,
) -> Iterator[RawMessage]:
    try:
        chunk = parse_chunk(data[pos:], pos)
    except ChunkHeaderError as err:
        result.problems.append(f"{path}: {err}")
        return
    records, damage = decode_chunk(chunk, decompress)
    checked = checked_messages(records, result.catalog, Selection(None, None, None), _time_range(chunk))
    result.count(checked.messages)
    if damage or checked.stop or checked.rejected:
        result.problems.append(chunk_problem(path, chunk, damage or "is damaged", checked, None))
    yield from (m for m in checked.messages if selection.accepts(m.topic, m.log_time_ns))


def _scan_plain_record(
    data: memoryview,
    pos: int,
    opcode: int,
    record_end: int,
    path: object,
    selection: Selection,
    result: ScanResult,
) -> Iterator[RawMessage]:
    """A schema, channel or message outside any chunk (an unchunked file)."""
    checked = checked_messages(data[pos:record_end], result.catalog, Selection(None, None, None), None)
    if checked.rejected:
        result.problems.append(f"{path}: record at byte {pos} (opcode {opcode:#x}) is damaged: skipped")
    result.count(checked.messages)
    for message in checked.messages:
        if selection.accepts(message.topic, message.log_time_ns):
            yield message


def _time_range(chunk: ChunkRecord) -> tuple[int, int] | None:
    return (chunk.start_ns, chunk.end_ns) if chunk.end_ns >= chunk.start_ns and chunk.end_ns else None


def _resync(data: memoryview, pos: int, path: object, result: ScanResult) -> int:
    """The offset of the next chunk record that parses after unreadable bytes at ``pos`` (or the end)."""
    candidate = next_chunk_at(data, pos + 1)
    if candidate is None:
        result.problems.append(f"{path}: bytes {pos}..{len(data)} hold no readable record: skipped")
        return len(data)
    result.problems.append(
        f"{path}: bytes {pos}..{candidate} hold no readable record: skipped to the chunk at byte {candidate}"
    )
    return candidate


def next_chunk_at(data: memoryview, start: int) -> int | None:
    """The offset of the first chunk record from ``start`` on whose header parses and is plausible (None:
    there is none): where reading goes on after damage."""
    raw = data.obj if hasattr(data.obj, "find") else bytes(data)  # bytes or the file's mmap
    candidate = start
    while True:
        candidate = raw.find(b"\x06", candidate)
        if candidate < 0:
            return None
        if _plausible_chunk(data, candidate):
            return int(candidate)
        candidate += 1


def _plausible_chunk(data: memoryview, pos: int) -> bool:
    try:
        chunk = parse_chunk(data[pos:], pos)
    except ChunkHeaderError:
        return False
    return (
        chunk.compression in CHUNK_COMPRESSIONS
        and chunk.start_ns <= chunk.end_ns
        and chunk.declared_payload_length <= len(data)
        and chunk.uncompressed_size < (1 << 34)
    )


def message_index_count(read: Callable[[int, int], Any], offsets: dict[int, int]) -> int | None:
    """How many messages a chunk holds, from its Message Index records (None when they are unreadable)."""
    total = 0
    prefix = _RECORD_HEADER.size + 2 + _U32.size  # opcode, length, channel id, byte length of entries
    for offset in offsets.values():
        head = read(offset, prefix)
        if len(head) < prefix or head[0] != OPCODE_MESSAGE_INDEX:
            return None
        (records_length,) = _U32.unpack_from(head, _RECORD_HEADER.size + 2)
        total += records_length // 16
    return total
