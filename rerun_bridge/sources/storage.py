"""Storage plug-ins of rosbag2: one reader per file format, behind one protocol.

Channels are keyed on topic and type, never on QoS text: rosbag2's own fixtures store different QoS
text in metadata.yaml and in the MCAP channels, and a reader that keys on it finds nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from mcap.records import Channel, Schema

from rerun_bridge.errors import BagError
from rerun_bridge.model.records import MessageDefinition, RawMessage, TopicInfo
from rerun_bridge.sources.mcap_chunks import (
    chunks_are_ordered,
    iter_chunked_messages,
    read_chunk_messages,
    read_message_index_spans,
)


class StorageReader(Protocol):
    """What the bag layer needs of one storage file."""

    path: Path
    #: Problems met while reading that did not stop it (a truncated tail): shown as warnings.
    problems: list[str]

    def topics(self) -> list[TopicInfo]: ...

    def time_bounds(self) -> tuple[int, int] | None: ...

    def messages(
        self, topics: Collection[str] | None, start_ns: int | None, end_ns: int | None
    ) -> Iterator[RawMessage]: ...

    def close(self) -> None: ...


MCAP_MAGIC = b"\x89MCAP0\r\n"


class McapStorage:
    """rosbag2's MCAP storage, read with the mcap library (chunked, zstd or lz4).

    ``stream``: an open, seekable stream of the file instead of the file at ``path`` (which then only names
    it): an object in S3 read by ranged requests; the summary and the chunk index say which ranges."""

    def __init__(self, path: Path, stream: BinaryIO | None = None) -> None:
        from mcap.reader import make_reader

        self.path = path
        self.problems: list[str] = []
        try:
            self._file: BinaryIO = stream if stream is not None else path.open("rb")
        except OSError as err:
            raise BagError(f"{path}: cannot open: {err}") from err
        if self._file.read(len(MCAP_MAGIC)) != MCAP_MAGIC:
            self._file.close()
            raise BagError(f"{path}: not an MCAP file (bad magic bytes)")
        self._file.seek(0)
        try:
            self._reader = make_reader(self._file)
            self._summary = self._reader.get_summary()
        except Exception as err:  # mcap raises several unrelated types for damaged files
            self._summary = None
            self.problems.append(f"{path}: no readable summary ({err}); scanning the whole file")

    @property
    def summary(self) -> Any:
        """The file's summary (channels, schemas, chunk indexes, statistics); None when it has none."""
        return self._summary

    def chunk_messages(self, chunk_index: Any, topics: Collection[str] | None) -> list[RawMessage]:
        """The messages of ``topics`` (None: all) in one chunk of the summary's chunk indexes."""
        return read_chunk_messages(self._file, self._summary, chunk_index, topics)

    def message_spans(self, chunk_index: Any) -> dict[str, tuple[int, int]]:
        """Per topic, the first and last log time of its messages in one chunk (its message index;
        empty when the file wrote none)."""
        spans: dict[str, tuple[int, int]] = {}
        if self._summary is None:
            return spans
        channels = self._summary.channels
        for channel_id, (first, last) in read_message_index_spans(self._file, chunk_index).items():
            channel = channels.get(channel_id)
            if channel is not None:
                known = spans.get(channel.topic, (first, last))
                spans[channel.topic] = (min(known[0], first), max(known[1], last))
        return spans

    def topics(self) -> list[TopicInfo]:
        if self._summary is not None:
            channels = self._summary.channels
            schemas = self._summary.schemas
            counts = self._summary.statistics.channel_message_counts if self._summary.statistics else {}
        else:
            channels, schemas, counts = self._scan_channels()
        by_key: dict[tuple[str, str], TopicInfo] = {}
        for channel_id, channel in channels.items():
            schema = schemas.get(channel.schema_id)
            type_name = schema.name if schema is not None else ""
            definition = (
                MessageDefinition(schema.encoding, schema.data.decode("utf-8", errors="replace"))
                if schema is not None and schema.data
                else None
            )
            key = (channel.topic, type_name)
            count = counts.get(channel_id, 0)
            if key in by_key:
                count += by_key[key].message_count
            by_key[key] = TopicInfo(
                name=channel.topic,
                type_name=type_name,
                serialization_format=channel.message_encoding,
                qos_profiles=channel.metadata.get("offered_qos_profiles", ""),
                message_count=count,
                definition=definition,
            )
        return list(by_key.values())

    def time_bounds(self) -> tuple[int, int] | None:
        stats = self._summary.statistics if self._summary is not None else None
        if stats is not None:
            return (stats.message_start_time, stats.message_end_time) if stats.message_count else None
        times = [m.log_time_ns for m in self.messages(None, None, None)]
        return (min(times), max(times)) if times else None

    def _scan_channels(self) -> tuple[dict[int, Channel], dict[int, Schema], dict[int, int]]:
        from mcap.reader import NonSeekingReader

        channels: dict[int, Channel] = {}
        schemas: dict[int, Schema] = {}
        counts: dict[int, int] = {}
        self._file.seek(0)
        try:
            # log_time_order=False: ordering would first buffer the whole file, and a cut file never ends.
            for schema, channel, _message in NonSeekingReader(self._file).iter_messages(log_time_order=False):
                channels[channel.id] = channel
                if schema is not None:
                    schemas[schema.id] = schema
                counts[channel.id] = counts.get(channel.id, 0) + 1
        except Exception as err:
            self.problems.append(
                f"{self.path}: truncated or damaged after {sum(counts.values())} messages: {err}"
            )
        return channels, schemas, counts

    def messages(
        self, topics: Collection[str] | None, start_ns: int | None, end_ns: int | None
    ) -> Iterator[RawMessage]:
        from mcap.reader import NonSeekingReader

        topic_list = list(topics) if topics is not None else None
        summary = self._summary
        if summary is not None and summary.chunk_indexes and chunks_are_ordered(list(summary.chunk_indexes)):
            try:
                yield from iter_chunked_messages(self._file, summary, topic_list, start_ns, end_ns)
            except Exception as err:  # a damaged chunk: report it, keep what was read
                self.problems.append(f"{self.path}: stopped reading: {err}")
            return
        self._file.seek(0)
        end_exclusive = end_ns + 1 if end_ns is not None else None
        if summary is not None:
            iterator = self._reader.iter_messages(
                topics=topic_list, start_time=start_ns, end_time=end_exclusive, log_time_order=True
            )
        else:
            iterator = NonSeekingReader(self._file).iter_messages(
                topics=topic_list, start_time=start_ns, end_time=end_exclusive, log_time_order=False
            )
        count = 0
        try:
            for schema, channel, message in iterator:
                count += 1
                yield RawMessage(
                    topic=channel.topic,
                    type_name=schema.name if schema is not None else "",
                    log_time_ns=message.log_time,
                    data=message.data,
                    publish_time_ns=message.publish_time,
                )
        except Exception as err:
            self.problems.append(f"{self.path}: stopped reading after {count} messages: {err}")

    def close(self) -> None:
        self._file.close()


class SqliteStorage:
    """rosbag2's sqlite3 storage (``.db3``), read with the standard library."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []
        try:
            self._db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.Error as err:
            raise BagError(f"{path}: not a readable sqlite3 bag: {err}") from err
        if not {"topics", "messages"} <= tables:
            raise BagError(f"{path}: not a rosbag2 sqlite3 file (no topics / messages tables)")
        self._has_definitions = "message_definitions" in tables
        self._topic_rows = self._db.execute(
            "SELECT id, name, type, serialization_format, offered_qos_profiles FROM topics"
        ).fetchall()

    def topics(self) -> list[TopicInfo]:
        counts = dict(
            self._db.execute("SELECT topic_id, COUNT(*) FROM messages GROUP BY topic_id").fetchall()
        )
        definitions: dict[str, MessageDefinition] = {}
        if self._has_definitions:
            for type_name, encoding, text in self._db.execute(
                "SELECT topic_type, encoding, encoded_message_definition FROM message_definitions"
            ):
                if text:
                    definitions[type_name] = MessageDefinition(encoding, text)
        return [
            TopicInfo(
                name=name,
                type_name=type_name,
                serialization_format=fmt,
                qos_profiles=qos or "",
                message_count=int(counts.get(topic_id, 0)),
                definition=definitions.get(type_name),
            )
            for topic_id, name, type_name, fmt, qos in self._topic_rows
        ]

    def time_bounds(self) -> tuple[int, int] | None:
        first, last = self._db.execute("SELECT MIN(timestamp), MAX(timestamp) FROM messages").fetchone()
        return None if first is None else (int(first), int(last))

    def messages(
        self, topics: Collection[str] | None, start_ns: int | None, end_ns: int | None
    ) -> Iterator[RawMessage]:
        by_id = {row[0]: (row[1], row[2]) for row in self._topic_rows if topics is None or row[1] in topics}
        if not by_id:
            return
        placeholders = ",".join("?" * len(by_id))
        query = f"SELECT topic_id, timestamp, data FROM messages WHERE topic_id IN ({placeholders})"
        params: list[int] = list(by_id)
        if start_ns is not None:
            query += " AND timestamp >= ?"
            params.append(start_ns)
        if end_ns is not None:
            query += " AND timestamp <= ?"
            params.append(end_ns)
        query += " ORDER BY timestamp, id"
        count = 0
        try:
            for topic_id, timestamp, data in self._db.execute(query, params):
                topic, type_name = by_id[topic_id]
                count += 1
                yield RawMessage(topic, type_name, int(timestamp), data, int(timestamp))
        except sqlite3.Error as err:
            self.problems.append(f"{self.path}: stopped reading after {count} messages: {err}")

    def close(self) -> None:
        self._db.close()


STORAGE_PLUGINS: dict[str, type[McapStorage] | type[SqliteStorage]] = {
    "mcap": McapStorage,
    "sqlite3": SqliteStorage,
}

SUFFIX_TO_STORAGE = {".mcap": "mcap", ".db3": "sqlite3"}


def storage_id_for(path: Path) -> str:
    """Pick the storage plug-in from a file's suffix, or from its first bytes when the suffix is unusual."""
    suffix = path.suffix.lower()
    if suffix in SUFFIX_TO_STORAGE:
        return SUFFIX_TO_STORAGE[suffix]
    try:
        head = path.open("rb").read(16)
    except OSError as err:
        raise BagError(f"{path}: cannot open: {err}") from err
    if head.startswith(b"\x89MCAP"):
        return "mcap"
    if head.startswith(b"SQLite format 3"):
        return "sqlite3"
    raise BagError(f"{path}: neither an MCAP nor a sqlite3 file")


def open_storage(path: Path, storage_id: str | None = None) -> StorageReader:
    storage = storage_id or storage_id_for(path)
    plugin = STORAGE_PLUGINS.get(storage)
    if plugin is None:
        raise BagError(f"{path}: storage '{storage}' is not supported (mcap and sqlite3 are)")
    return plugin(path)
