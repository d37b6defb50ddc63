"""``rerun-bridge repair``: rewrite a damaged .rrd or .mcap (a killed process, a full disk) from what reads.

Both formats are sequences of length-prefixed records, so a file cut anywhere is readable up to its last
complete record; what it lacks is its index (Rerun's footer and manifest, the MCAP summary) and, at the
cut, a record that claims more bytes than the file has. Like the recovery modes of Rerun's and the mcap
tools, the repair walks the records from the start, keeps every complete one, stops at the first record
that is cut or implausible (and says where; in an MCAP file it goes on at the next chunk that parses, as
``convert`` does), and writes a new, complete file: Rerun's own writer for the
.rrd (footer and manifest included), our MCAP writer for the .mcap (summary included). In an MCAP chunk
that is cut short or damaged, the messages before the cut or the damage are kept, compressed (zstd, lz4:
what decompresses from the chunk's start) or not.
"""

from __future__ import annotations

import io
import mmap
import os
import struct
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import lz4.frame
import zstandard
from isal.isal_zlib import crc32  # SIMD: ~14x zlib's
from mcap.data_stream import ReadDataStream
from mcap.opcode import Opcode
from mcap.records import Channel, Header, Schema

from rerun_bridge.errors import RecordingError
from rerun_bridge.sinks.mcap_writer import MAGIC as MCAP_MAGIC
from rerun_bridge.sinks.mcap_writer import LeanMcapWriter
from rerun_bridge.sources.mcap_recovery import KNOWN_OPCODES, next_chunk_at, salvage_decompress

RRD_MAGIC = b"RRF2"
#: Stream header: magic, Rerun version, encoding options.
_RRD_HEADER_SIZE = 12
#: Frame header: message kind and payload length (little-endian u64 each).
_RRD_FRAME = struct.Struct("<QQ")
#: Kind 0 ends the stream (its payload is the footer); the message kinds proper are small numbers.
_RRD_END_KIND = 0
#: A recording's (or blueprint's) store info, which its chunks need before them.
_RRD_STORE_INFO_KIND = 1
_RRD_MAX_KIND = 16
_MCAP_RECORD = struct.Struct("<BQ")
_MESSAGE_FIXED = struct.Struct("<HIQQ")


@dataclass(slots=True)
class RepairReport:
    """What a repair kept and where the source stopped being readable."""

    source: Path
    output: Path
    kept: int = 0  # chunks (.rrd) or messages (.mcap) written to the output
    #: Where the damage starts and what it is; None when the source read to its end.
    damage: str | None = None
    notes: list[str] = field(default_factory=list)
    #: What ``kept`` counts: chunks of an .rrd, messages of an .mcap (whatever the output is named).
    unit: str = "messages"

    def describe(self) -> str:
        unit = self.unit
        where = f"; {self.damage}" if self.damage else "; the source read to its end"
        if not self.kept:
            return f"{self.source}: no {unit} kept, no file written{where}"
        return f"{self.source} -> {self.output}: {self.kept} {unit} kept{where}"


def repaired_path(source: Path) -> Path:
    """``run.rrd`` -> ``run.repaired.rrd``."""
    return source.with_name(f"{source.stem}.repaired{source.suffix}")


def repair(source: Path, output: Path | None = None) -> RepairReport:
    output = output or repaired_path(source)
    # The same file by another name too (a hard link): writing it would destroy what is being read.
    if output.resolve() == source.resolve() or (output.exists() and _same_file(output, source)):
        raise RecordingError(f"{source}: the repaired file must be written elsewhere (-o)")
    try:
        with source.open("rb") as stream:
            magic = stream.read(8)
    except OSError as err:
        raise RecordingError(f"{source}: cannot read: {err}") from err
    if magic.startswith(RRD_MAGIC):
        kind, repair_as = ".rrd", repair_rrd
    elif magic == MCAP_MAGIC:
        kind, repair_as = ".mcap", repair_mcap
    else:
        raise RecordingError(f"{source}: neither an .rrd ({RRD_MAGIC!r}) nor an .mcap file (magic {magic!r})")
    _check_output(source, output, kind)
    try:
        report = repair_as(source, output)
    except (OSError, RuntimeError) as err:  # the output's disk or folder (Rerun's writer: RuntimeError)
        raise RecordingError(f"{output}: cannot write the repaired file: {err}") from err
    if not report.kept:  # nothing to keep: no file that looks repaired (an .rrd without even a footer)
        output.unlink(missing_ok=True)
    return report


def _same_file(one: Path, other: Path) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False


def _check_output(source: Path, output: Path, kind: str) -> None:
    """The repaired file can be written as named: not a folder (which Rerun's writer met with a
    traceback), not named as the other format (an .rrd written as ``fixed.mcap``), in a folder that can
    be made."""
    if output.is_dir():
        raise RecordingError(f"{output}: is a folder: -o names the repaired file")
    other = {".rrd": ".mcap", ".mcap": ".rrd"}[kind]
    if output.suffix.lower() == other:
        raise RecordingError(f"{source}: an {kind} file is repaired into an {kind} file, not {output.name}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RecordingError(f"{output}: cannot write the repaired file: {err}") from err


# --- .rrd --------------------------------------------------------------------------------------------


@contextmanager
def _mapped(path: Path) -> Iterator[bytes]:
    """The file's bytes, mapped rather than read: recordings are often bigger than memory."""
    with path.open("rb") as stream:
        if path.stat().st_size == 0:
            yield b""
            return
        with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            yield mapped  # type: ignore[misc]  # mmap reads like bytes: slicing, struct.unpack_from


def _copy(source: BinaryIO, target: BinaryIO, size: int) -> None:
    remaining = size
    while remaining > 0:
        piece = source.read(min(remaining, 64 << 20))
        if not piece:
            return
        target.write(piece)
        remaining -= len(piece)


def readable_rrd_prefix(data: bytes) -> tuple[int, str | None]:
    """Length of the longest prefix of an .rrd made of whole frames (the header included), and what
    stopped the walk (None: it reached the end-of-stream frame, i.e. the file was complete)."""
    offset = _RRD_HEADER_SIZE
    while offset + _RRD_FRAME.size <= len(data):
        kind, length = _RRD_FRAME.unpack_from(data, offset)
        if kind == _RRD_END_KIND:
            if offset + _RRD_FRAME.size + length > len(data):
                return offset, f"Rerun's footer, from byte {offset}, is cut (every chunk before it is whole)"
            return offset, None
        if kind > _RRD_MAX_KIND:
            return offset, f"an unknown frame kind {kind} at byte {offset}"
        end = offset + _RRD_FRAME.size + length
        if end > len(data):
            return offset, f"a frame at byte {offset} claims {length} bytes, the file ends at {len(data)}"
        offset = end
    if offset < len(data):
        return offset, f"a frame header cut at byte {offset}"
    return offset, f"the file ends at byte {offset} without Rerun's footer"


def _read_rrd(path: Path) -> tuple[Any, list[Any], list[Any]]:
    """Rerun's reader of ``path``, its recordings, and the first one's chunks (none without one)."""
    import rerun.chunk as rrc

    with warnings.catch_warnings():  # "no footer / legacy format": why it is being repaired
        warnings.simplefilter("ignore")
        reader = rrc.RrdReader(str(path))
    stores = reader.recordings()
    return reader, stores, reader.stream(store=stores[0]).to_chunks() if stores else []


def rrd_frames(data: bytes, end: int) -> list[tuple[int, int, int]]:
    """(offset, end, kind) of the whole frames of an .rrd up to ``end`` (the header left out)."""
    frames = []
    offset = _RRD_HEADER_SIZE
    while offset + _RRD_FRAME.size <= end:
        kind, length = _RRD_FRAME.unpack_from(data, offset)
        frame_end = offset + _RRD_FRAME.size + length
        if kind == _RRD_END_KIND or frame_end > end:
            break
        frames.append((offset, frame_end, kind))
        offset = frame_end
    return frames


def _without_undecodable_frames(data: bytes, end: int, target: Path) -> list[int]:
    """Write to ``target`` the .rrd header and every frame before ``end`` that Rerun's reader decodes,
    found by halving (each try reads the store-info frames and a run of data frames); the offsets of the
    frames left out."""
    frames = rrd_frames(data, end)
    info = [frame for frame in frames if frame[2] == _RRD_STORE_INFO_KIND]
    header = bytes(data[:_RRD_HEADER_SIZE])

    def write(chosen: list[tuple[int, int, int]], path: Path) -> None:
        with path.open("wb") as out:
            out.write(header)
            for start, stop, _kind in chosen:
                out.write(data[start:stop])

    def decodes(run: list[tuple[int, int, int]]) -> bool:
        probe = target.with_suffix(".probe.rrd")
        write([*info, *(frame for frame in run if frame[2] != _RRD_STORE_INFO_KIND)], probe)
        try:
            _read_rrd(probe)
        except (RuntimeError, ValueError):
            return False
        finally:
            probe.unlink(missing_ok=True)
        return True

    def kept(run: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        if not run or decodes(run):
            return run
        if len(run) == 1:
            return []
        middle = len(run) // 2
        return kept(run[:middle]) + kept(run[middle:])

    good = kept(frames)
    write(good, target)
    chosen = set(good)
    return [frame[0] for frame in frames if frame not in chosen]


def repair_rrd(source: Path, output: Path) -> RepairReport:
    import rerun as rr

    report = RepairReport(source, output, unit="chunks")
    with _mapped(source) as data:
        if len(data) < _RRD_HEADER_SIZE:  # nothing to keep: exit 1, as for any file that keeps nothing
            report.damage = f"{len(data)} bytes: not even an .rrd header"
            return report
        cut, report.damage = readable_rrd_prefix(data)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent) as folder:
        prefix = Path(folder) / "prefix.rrd"
        with source.open("rb") as whole, prefix.open("wb") as part:
            _copy(whole, part, cut)
        try:
            reader, stores, chunks = _read_rrd(prefix)
        except RuntimeError:
            # A frame whose bytes do not decode fails the whole read: keep the frames that do.
            with _mapped(source) as data:
                damaged = _without_undecodable_frames(data, cut, prefix)
            try:
                reader, stores, chunks = _read_rrd(prefix)
            except (RuntimeError, ValueError) as err:
                raise RecordingError(f"{source}: Rerun cannot read the first {cut} bytes: {err}") from err
            at = ", ".join(map(str, damaged))
            skipped = f"{len(damaged)} frame(s) that do not decode left out (at bytes {at})"
            report.damage = f"{skipped}; {report.damage}" if report.damage else skipped
        except ValueError as err:
            raise RecordingError(f"{source}: Rerun cannot read the first {cut} bytes: {err}") from err
        if not stores:
            report.damage = f"no recording in the readable part ({cut} bytes); {report.damage}"
            return report
        store = stores[0]
        if len(stores) > 1:
            report.notes.append(f"{len(stores) - 1} more recording(s) in the file were left out")
        if reader.blueprints():  # Rerun's SDK writes a layout from a Blueprint, not from its chunks
            report.notes.append(
                "the file's layout (blueprint) is left out: `rerun-bridge blueprint export` writes one"
            )
        # The source's own recording properties are among its chunks: the new stream adds none.
        rec = rr.RecordingStream(store.application_id, recording_id=store.recording_id, send_properties=False)
        rec.save(str(output))
        rec.send_chunks(chunks)
        rec.flush()
        rec.disconnect()  # writes the footer and manifest
    report.kept = len(chunks)
    return report


# --- .mcap -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _McapCopy:
    writer: LeanMcapWriter
    report: RepairReport
    schemas: dict[int, int] = field(default_factory=dict)  # source schema id -> output schema id
    channels: dict[int, int] = field(default_factory=dict)  # source channel id -> output channel id

    def record(self, opcode: int, body: bytes) -> None:
        if opcode == Opcode.SCHEMA:
            schema = Schema.read(ReadDataStream(io.BytesIO(body)))
            if schema.id not in self.schemas:
                self.schemas[schema.id] = self.writer.register_schema(
                    schema.name, schema.encoding, schema.data
                )
        elif opcode == Opcode.CHANNEL:
            channel = Channel.read(ReadDataStream(io.BytesIO(body)))
            if channel.id not in self.channels:
                self.channels[channel.id] = self.writer.register_channel(
                    channel.topic,
                    channel.message_encoding,
                    self.schemas.get(channel.schema_id, 0),
                    dict(channel.metadata),
                )
        elif opcode == Opcode.MESSAGE:
            channel_id, sequence, log_time, publish_time = _MESSAGE_FIXED.unpack_from(body)
            output_channel = self.channels.get(channel_id)
            if output_channel is None:
                self.report.notes.append(f"a message of unknown channel {channel_id} left out")
                return
            self.writer.add_message(
                output_channel, log_time, body[_MESSAGE_FIXED.size :], publish_time, sequence
            )
            self.report.kept += 1


def _records(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, bytes | None]]:
    """(offset, opcode, body) of each record in ``data[start:end]``; body None for a record cut at ``end``."""
    offset = start
    while offset < end:
        if offset + _MCAP_RECORD.size > end:
            yield offset, -1, None
            return
        opcode, length = _MCAP_RECORD.unpack_from(data, offset)
        body_start = offset + _MCAP_RECORD.size
        if body_start + length > end:
            yield offset, opcode, None
            return
        yield offset, opcode, data[body_start : body_start + length]
        offset = body_start + length


def _chunk_records(body: bytes, cut: bool) -> tuple[bytes, str | None, str | None]:
    """The uncompressed records of a chunk body, a problem (None: whole and intact), and what the records
    kept stop at (``the cut``, ``the damage``; None: all of them or none). A cut chunk gives what it has
    when uncompressed."""
    fixed = struct.Struct("<QQQII")
    if len(body) < fixed.size:
        return b"", "a chunk cut inside its header", None
    _start, _end, uncompressed_size, crc, name_length = fixed.unpack_from(body)
    offset = fixed.size + name_length + 8
    if len(body) < offset:
        return b"", "a chunk cut inside its header", None
    compression = body[fixed.size : fixed.size + name_length].decode(errors="replace")
    records = body[offset:]
    if compression and compression not in ("zstd", "lz4"):
        return b"", f"a chunk with unknown compression {compression!r}", None
    if cut:
        # A compressed chunk decompresses from its start up to the cut: the records whole by then are kept.
        kind = f"a {compression}" if compression else "an uncompressed"
        kept = salvage_decompress(compression, memoryview(records)) if compression else records
        return kept, f"{kind} chunk cut short", "the cut"
    try:
        if compression == "zstd":
            records = zstandard.ZstdDecompressor().decompress(records, max_output_size=uncompressed_size)
        elif compression == "lz4":
            records = lz4.frame.decompress(records)
    except (zstandard.ZstdError, RuntimeError):  # damaged bytes: what decompresses before them is kept
        kept = salvage_decompress(compression, memoryview(records))
        return kept, f"a damaged {compression} chunk", "the damage"
    if crc and crc32(records) != crc:  # kept, as convert keeps them: the damage may lie in one payload
        return (
            records,
            "a chunk whose CRC does not match (its messages are kept: some of their bytes are wrong)",
            None,
        )
    return records, None, None


def repair_mcap(source: Path, output: Path) -> RepairReport:
    """Every readable record of ``source`` into a new file with a summary. Past damage that is not the
    file's end (a chunk header overwritten, a record that claims more bytes than there are), reading goes
    on at the next chunk that parses, as ``convert`` reads such a file: the repair kept 908 of 6,121
    messages of a file with one damaged chunk header (found by an audit)."""
    report = RepairReport(source, output)
    output.parent.mkdir(parents=True, exist_ok=True)
    damage: list[str] = []
    with _mapped(source) as data, output.open("wb") as stream:
        writer = LeanMcapWriter(stream)
        copy = _McapCopy(writer, report)
        pos, end = _start_copy(writer, data), len(data)
        while pos < end:
            opcode, body, after = _record_at(data, pos, end)
            if opcode in (Opcode.DATA_END, Opcode.FOOTER) and body is not None:
                break
            if opcode == Opcode.CHUNK:
                _copy_chunk(copy, data, pos, body, damage)
                if body is not None:
                    pos = after
                    continue
            elif body is not None and opcode in KNOWN_OPCODES and _copied(copy, opcode, body):
                pos = after
                continue
            resume = next_chunk_at(memoryview(data), pos + 1)
            if resume is None:
                if opcode != Opcode.CHUNK:
                    damage.append(_unreadable(opcode, body, pos, end))
                break
            damage.append(
                f"bytes {pos}..{resume} hold no readable record: skipped to the chunk at byte {resume}"
            )
            pos = resume
        else:
            damage.append(f"the file ends at byte {len(data)} without its summary")
        writer.finish()
    report.damage = "; ".join(damage) or None
    return report


def _start_copy(writer: LeanMcapWriter, data: bytes) -> int:
    """Start the output with the source's header (profile, library) where it reads; where the records
    after it begin."""
    opcode, body, after = _record_at(data, len(MCAP_MAGIC), len(data))
    if opcode == Opcode.HEADER and body is not None:
        try:
            header = Header.read(ReadDataStream(io.BytesIO(body)))
        except (ValueError, struct.error, UnicodeDecodeError, IndexError):
            pass
        else:
            writer.start(header.profile, header.library or "rerun_bridge repair")
            return after
    writer.start("", "rerun_bridge repair")
    return len(MCAP_MAGIC)


def _copy_chunk(copy: _McapCopy, data: bytes, pos: int, body: bytes | None, damage: list[str]) -> None:
    """The records of the chunk at ``pos`` (``body`` None: cut, what it has), its damage noted."""
    chunk_body = body if body is not None else data[pos + _MCAP_RECORD.size :]
    records, problem, stopped_by = _chunk_records(chunk_body, cut=body is None)
    kept_before = copy.report.kept
    for _offset, opcode, inner in _records(records, 0, len(records)):
        if inner is not None:
            _copied(copy, opcode, inner)
    if problem and stopped_by:  # said as it was: "its messages ... are kept" of none read wrong (audit)
        copied = copy.report.kept > kept_before
        kept = (
            f"its messages before {stopped_by} are kept"
            if copied
            else f"no whole message before {stopped_by}"
        )
        problem = f"{problem} ({kept})"
    if problem:
        damage.append(f"{problem}, at byte {pos}")


def _record_at(data: bytes, offset: int, end: int) -> tuple[int, bytes | None, int]:
    """The opcode and body of the record at ``offset``, and where the next one starts; body None for a
    record that claims more bytes than there are (opcode -1 for a cut record header)."""
    if offset + _MCAP_RECORD.size > end:
        return -1, None, end
    opcode, length = _MCAP_RECORD.unpack_from(data, offset)
    body_start = offset + _MCAP_RECORD.size
    if length > end - body_start:
        return opcode, None, end
    return opcode, data[body_start : body_start + length], body_start + length


def _copied(copy: _McapCopy, opcode: int, body: bytes) -> bool:
    """Copy one record outside a chunk; False when it does not parse (damage: the caller resyncs)."""
    try:
        copy.record(opcode, body)
    except (ValueError, struct.error, UnicodeDecodeError, IndexError, KeyError):
        return False
    return True


def _unreadable(opcode: int, body: bytes | None, pos: int, end: int) -> str:
    if body is None and opcode in KNOWN_OPCODES:
        return f"a record cut at byte {pos} (the file ends at {end})"
    return f"bytes {pos}..{end} hold no readable record"
