"""Where a recording's bytes lie in time, per topic, read from its index without reading its messages.

A conversion split across processes (:mod:`rerun_bridge.replay.split`) balances its parts by this: for an
MCAP file, each chunk's message index records (written after the chunk: per channel, each message's log
time and offset in the uncompressed chunk) give every message's time and, from the next offset, its size;
for a sqlite3 file, one query reads each row's time and data length (SQLite answers ``length()`` of a blob
from the row's header, without its pages). A file without that index (no summary, no message index, a
damaged database) has no profile: it is converted in one process, where its recovery runs.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from rerun_bridge.sources.mcap_chunks import message_index_entries
from rerun_bridge.sources.storage import McapStorage, SqliteStorage, StorageReader

#: Bytes of a message record before its data (opcode, length, channel, sequence, log and publish time).
_MESSAGE_RECORD_OVERHEAD = 1 + 8 + 2 + 4 + 8 + 8

Int64s = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class TopicProfile:
    """Log times (sorted) and sizes in bytes of one topic's messages."""

    times: Int64s
    sizes: Int64s


def bag_profile(storages: Sequence[StorageReader]) -> dict[str, TopicProfile] | None:
    """Per topic, every message's log time and size, over all files of a bag; None when any file lacks
    the index to tell without reading its messages."""
    parts: dict[str, list[tuple[Int64s, Int64s]]] = defaultdict(list)
    for storage in storages:
        found = _storage_profile(storage)
        if found is None:
            return None
        for topic, (times, sizes) in found.items():
            parts[topic].append((times, sizes))
    profile = {}
    for topic, pieces in parts.items():
        times = np.concatenate([p[0] for p in pieces])
        sizes = np.concatenate([p[1] for p in pieces])
        order = np.argsort(times, kind="stable")
        profile[topic] = TopicProfile(times[order], sizes[order])
    return profile


def _storage_profile(storage: StorageReader) -> dict[str, tuple[Int64s, Int64s]] | None:
    if storage.problems:
        return None  # damage met on opening: recovery belongs to one process
    if isinstance(storage, McapStorage):
        return _mcap_profile(storage)
    if isinstance(storage, SqliteStorage):
        return _sqlite_profile(storage)
    return None


def _mcap_profile(storage: McapStorage) -> dict[str, tuple[Int64s, Int64s]] | None:
    summary = storage.summary
    if summary is None or not summary.chunk_indexes:
        return None
    topic_of = {channel_id: channel.topic for channel_id, channel in summary.channels.items()}
    times: dict[str, list[Int64s]] = defaultdict(list)
    sizes: dict[str, list[Int64s]] = defaultdict(list)
    stream: BinaryIO = storage.stream
    for chunk in summary.chunk_indexes:
        indexed = _chunk_message_index(stream, chunk)
        if indexed is None:
            return None
        for channel_id, (chunk_times, chunk_sizes) in indexed.items():
            topic = topic_of.get(channel_id)
            if topic is not None:
                times[topic].append(chunk_times)
                sizes[topic].append(chunk_sizes)
    return {topic: (np.concatenate(times[topic]), np.concatenate(sizes[topic])) for topic in times}


def _chunk_message_index(stream: BinaryIO, chunk: Any) -> dict[int, tuple[Int64s, Int64s]] | None:
    """Per channel, the log times and sizes of its messages in one chunk; None without a message index."""
    length = int(chunk.message_index_length)
    if length <= 0 and chunk.message_index_offsets:
        return None
    stream.seek(chunk.chunk_start_offset + chunk.chunk_length)
    block = stream.read(length)
    if len(block) != length:
        return None
    entries = dict(message_index_entries(block))
    if not entries:
        return {}
    # A message ends where the next one (of any channel) starts; the last one at the chunk's end.
    offsets = np.sort(np.concatenate([pairs[:, 1] for pairs in entries.values()]))
    ends = np.append(offsets[1:], np.uint64(chunk.uncompressed_size))
    out = {}
    for channel_id, pairs in entries.items():
        next_start = ends[np.searchsorted(offsets, pairs[:, 1])]
        size = next_start.astype(np.int64) - pairs[:, 1].astype(np.int64) - _MESSAGE_RECORD_OVERHEAD
        out[channel_id] = (pairs[:, 0].astype(np.int64), np.maximum(size, 0))
    return out


def _sqlite_profile(storage: SqliteStorage) -> dict[str, tuple[Int64s, Int64s]] | None:
    names = {topic_id: name for topic_id, name, *_rest in storage.topic_rows}
    try:
        rows = storage.database.execute("SELECT topic_id, timestamp, length(data) FROM messages").fetchall()
    except sqlite3.DatabaseError:
        return None  # damaged pages: the recovery reader's business
    if not rows:
        return {}
    table = np.array(rows, dtype=np.int64)
    out = {}
    for topic_id, name in names.items():
        mine = table[table[:, 0] == topic_id]
        if len(mine):
            out[name] = (mine[:, 1].copy(), mine[:, 2].copy())
    return out
