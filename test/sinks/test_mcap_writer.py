"""The lean MCAP writer: files the mcap library reads the same way as its own writer's, through the
summary, the message indexes, record by record, and cut short after a flush."""

from __future__ import annotations

import io
import os
import zlib
from pathlib import Path

import pytest
from mcap.exceptions import EndOfFile
from mcap.reader import NonSeekingReader, SeekingReader
from mcap.records import Chunk, Message, MessageIndex
from mcap.stream_reader import StreamReader
from mcap.writer import CompressionType, Writer

from rerun_bridge.sinks.mcap_writer import LeanMcapWriter
from rerun_bridge.sources.bag import open_bag

Written = tuple[str, int, int, int, bytes]  # topic, sequence, log time, publish time, data


def messages_to_write() -> list[Written]:
    """Three topics, sizes from 0 bytes to a 2.7 MB frame, times not in order across topics."""
    out: list[Written] = []
    for i in range(60):
        out.append(("/imu", i, 1_000 + i * 10, 900 + i, os.urandom(i * 7)))
        if i % 10 == 0:
            out.append(("/camera", i // 10, 1_005 + i * 10, 1_000 + i, os.urandom(2_764_800)))
        if i % 3 == 0:
            out.append(("/tf", i // 3, 995 + i * 10, 0, b"\x00\x01\x00\x00" + bytes(range(i))))
    return out


def write_with(writer: LeanMcapWriter | Writer, messages: list[Written], flush_every: int = 0) -> None:
    writer.start("ros2", "test")
    schema = writer.register_schema(name="pkg/msg/T", encoding="ros2msg", data=b"uint8[] data")
    channels = {
        topic: writer.register_channel(
            topic=topic, message_encoding="cdr", schema_id=schema, metadata={"offered_qos_profiles": topic}
        )
        for topic in ("/imu", "/camera", "/tf")
    }
    for n, (topic, sequence, log_time, publish_time, data) in enumerate(messages):
        writer.add_message(
            channel_id=channels[topic],
            log_time=log_time,
            data=data,
            publish_time=publish_time,
            sequence=sequence,
        )
        if flush_every and n % flush_every == flush_every - 1:
            writer.flush()


def read_all(data: bytes, seeking: bool = True) -> list[Written]:
    reader = SeekingReader(io.BytesIO(data)) if seeking else NonSeekingReader(io.BytesIO(data))
    return [
        (channel.topic, message.sequence, message.log_time, message.publish_time, message.data)
        for _schema, channel, message in reader.iter_messages(log_time_order=False)
    ]


@pytest.mark.parametrize("compression", ["", "lz4", "zstd"])
def test_reads_back_like_the_mcap_librarys_own_writer(compression: str) -> None:
    messages = messages_to_write()
    ours, theirs = io.BytesIO(), io.BytesIO()
    writer = LeanMcapWriter(ours, compression=compression, chunk_size=1 << 20)
    write_with(writer, messages)
    writer.finish()
    library_compression = {"": CompressionType.NONE, "lz4": CompressionType.LZ4, "zstd": CompressionType.ZSTD}
    library = Writer(theirs, chunk_size=1 << 20, compression=library_compression[compression])
    write_with(library, messages)
    library.finish()  # type: ignore[no-untyped-call]

    by_topic = sorted(messages)
    assert sorted(read_all(ours.getvalue())) == by_topic
    assert sorted(read_all(ours.getvalue(), seeking=False)) == by_topic
    assert sorted(read_all(ours.getvalue())) == sorted(read_all(theirs.getvalue()))
    # Time order through the chunk indexes, as a viewer reads it.
    ordered = SeekingReader(io.BytesIO(ours.getvalue())).iter_messages(log_time_order=True)
    times = [message.log_time for _s, _c, message in ordered]
    assert times == sorted(m[2] for m in messages)

    summary = SeekingReader(io.BytesIO(ours.getvalue())).get_summary()
    assert summary is not None
    assert summary.statistics is not None
    stats = summary.statistics
    assert stats.message_count == len(messages)
    assert (stats.schema_count, stats.channel_count) == (1, 3)
    counts = {summary.channels[c].topic: n for c, n in stats.channel_message_counts.items()}
    assert counts == {"/imu": 60, "/camera": 6, "/tf": 20}
    assert stats.chunk_count == len(summary.chunk_indexes) > 2
    assert (stats.message_start_time, stats.message_end_time) == (995, 1_000 + 59 * 10)
    assert {c.metadata["offered_qos_profiles"] for c in summary.channels.values()} == {
        "/imu",
        "/camera",
        "/tf",
    }


def test_message_indexes_and_crcs_point_at_the_right_records() -> None:
    messages = messages_to_write()
    out = io.BytesIO()
    writer = LeanMcapWriter(out, compression="zstd", chunk_size=1 << 20)
    write_with(writer, messages)
    writer.finish()
    checked = 0
    chunk_records = b""
    for record in StreamReader(io.BytesIO(out.getvalue()), emit_chunks=True, validate_crcs=True).records:
        if isinstance(record, Chunk):
            chunk_records = zlib_free_decompress(record)
            assert zlib.crc32(chunk_records) == record.uncompressed_crc
            assert len(chunk_records) == record.uncompressed_size
        elif isinstance(record, MessageIndex):
            for log_time, offset in record.records:
                inner = next(iter(StreamReader(io.BytesIO(chunk_records[offset:]), skip_magic=True).records))
                assert isinstance(inner, Message)
                assert (inner.channel_id, inner.log_time) == (record.channel_id, log_time)
                checked += 1
    assert checked == len(messages)


def zlib_free_decompress(chunk: Chunk) -> bytes:
    import zstandard

    return zstandard.ZstdDecompressor().decompress(chunk.data, max_output_size=chunk.uncompressed_size)


def test_a_file_cut_after_a_flush_reads_up_to_that_flush(tmp_path: Path) -> None:
    """What a SIGKILL leaves: no summary, no footer; every flushed chunk is readable in order."""
    messages = messages_to_write()
    path = tmp_path / "cut.mcap"
    with path.open("wb") as stream:
        writer = LeanMcapWriter(stream, compression="lz4", chunk_size=64 << 20)
        write_with(writer, messages[:50], flush_every=25)
        flushed = stream.tell()
        write_with(writer, messages[50:])  # written to the open chunk only: lost in the cut
    cut = tmp_path / "cut_at_flush.mcap"
    cut.write_bytes(path.read_bytes()[:flushed])
    # The mcap library's record-by-record reader yields everything, then meets the missing footer.
    read: list[Written] = []
    with pytest.raises(EndOfFile):  # noqa: PT012  (what comes before the error is what is checked)
        for _schema, channel, message in NonSeekingReader(cut.open("rb")).iter_messages(log_time_order=False):
            read.append(
                (channel.topic, message.sequence, message.log_time, message.publish_time, message.data)
            )
    assert read == messages[:50]
    with open_bag(cut) as bag:
        ours = sorted((m.topic, m.log_time_ns, bytes(m.data)) for m in bag.messages())
    assert ours == sorted((topic, log_time, data) for topic, _s, log_time, _p, data in messages[:50])


def test_unknown_compression_is_refused() -> None:
    with pytest.raises(ValueError, match="gzip"):
        LeanMcapWriter(io.BytesIO(), compression="gzip")
