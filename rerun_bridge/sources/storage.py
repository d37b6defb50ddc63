"""Storage plug-ins of rosbag2: one reader per file format, behind one protocol.

Channels are keyed on topic and type, never on QoS text: rosbag2's own fixtures store different QoS
text in metadata.yaml and in the MCAP channels, and a reader that keys on it finds nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final, Protocol

from mcap.records import Channel

from rerun_bridge.errors import BagError
from rerun_bridge.model.records import MessageDefinition, RawMessage, TopicInfo
from rerun_bridge.model.type_names import service_of_event
from rerun_bridge.sources.mcap_chunks import (
    ChunkDecompressor,
    ChunkSource,
    chunks_are_ordered,
    iter_chunked_messages,
    read_chunk_messages,
    read_message_index_spans,
)
from rerun_bridge.sources.mcap_recovery import Catalog, ScanResult, Selection, scan_messages
from rerun_bridge.sources.sqlite_recovery import RowKeys, copy_with_wal, cut_short, iter_rows, readable_rows

#: The encodings of a stored definition. rosbag2 stores a type it found with its encoding, so with one of
#: these and an empty text for a type without fields (``test_msgs/msg/Empty``, a custom trigger), and a type
#: it did not find as ``unknown`` with no text.
DEFINITION_ENCODINGS = ("ros2msg", "ros2idl")
#: A sqlite3 row whose timestamp SQLite holds as a number: rosbag2 writes integers, but the column takes
#: any value, and a text one ('abc') failed every command on the file (found by an audit).
_TIMED = "typeof(timestamp) IN ('integer', 'real')"


class StorageReader(Protocol):
    """What the bag layer needs of one storage file."""

    path: Path
    #: Problems met while reading that did not stop it (a truncated tail): shown as warnings.
    problems: list[str]

    def topics(self) -> list[TopicInfo]: ...

    def time_bounds(self) -> tuple[int, int] | None: ...

    def topic_spans(self) -> dict[str, tuple[int, int]]:
        """Per topic, its first and last log time, where the file's index gives them cheaply (empty
        otherwise: a rate is then taken over the whole recording)."""
        ...

    def messages(
        self, topics: Collection[str] | None, start_ns: int | None, end_ns: int | None
    ) -> Iterator[RawMessage]: ...

    def close(self) -> None: ...


MCAP_MAGIC = b"\x89MCAP0\r\n"


def _has_descriptor(stream: object) -> bool:
    """Whether a stream is a local file, which can be read at an offset (``os.pread``)."""
    try:
        fileno = getattr(stream, "fileno", None)
        return fileno is not None and isinstance(fileno(), int)
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return False


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
            self._report(
                f"{path}: no readable summary ({_summary_error(self._file, err)}): reading it "
                "chunk by chunk from the start"
            )
        self._scanned: ScanResult | None = None

    def _report(self, problem: str) -> None:
        """Note a problem once (topics, time bounds and messages may each meet the same damage)."""
        if problem not in self.problems:
            self.problems.append(problem)

    @property
    def stream(self) -> BinaryIO:
        """The open file (or ranged stream) it reads."""
        return self._file

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

    def topic_spans(self) -> dict[str, tuple[int, int]]:
        """From each chunk's message index (one small read per chunk of a local file), else the chunk's
        own span for the channels it holds (a stream from S3: a ranged request per chunk would cost more
        than the rate is worth); empty without a summary."""
        spans: dict[str, tuple[int, int]] = {}
        if self._summary is None:
            return spans
        channels = self._summary.channels
        exact = _has_descriptor(self._file)
        for chunk in self._summary.chunk_indexes:
            found = self.message_spans(chunk) if exact else {}
            if not found:  # no message index: the chunk's span for each channel it lists
                span = (chunk.message_start_time, chunk.message_end_time)
                found = {channels[c].topic: span for c in chunk.message_index_offsets if c in channels}
            for topic, (first, last) in found.items():
                known = spans.get(topic, (first, last))
                spans[topic] = (min(known[0], first), max(known[1], last))
        return spans

    def topics(self) -> list[TopicInfo]:
        counts: dict[tuple[str, str], int] = {}
        if self._summary is not None:
            catalog = Catalog(self._summary.schemas, self._summary.channels)
            stats = self._summary.statistics
            by_channel = stats.channel_message_counts if stats else {}
            for channel_id, channel in catalog.channels.items():
                key = (channel.topic, catalog.type_name(channel))
                counts[key] = counts.get(key, 0) + by_channel.get(channel_id, 0)
        else:
            scanned = self._scan()
            catalog, counts = scanned.catalog, scanned.counts
        by_key: dict[tuple[str, str], TopicInfo] = {}
        for channel in catalog.channels.values():
            schema = catalog.schemas.get(channel.schema_id)
            type_name = schema.name if schema is not None else ""
            definition = (
                MessageDefinition(schema.encoding, schema.data.decode("utf-8", errors="replace"))
                if schema is not None and (schema.data or schema.encoding in DEFINITION_ENCODINGS)
                else None
            )
            key = (channel.topic, type_name)
            by_key[key] = _topic_info(channel, type_name, definition, counts.get(key, 0))
        return list(by_key.values())

    def time_bounds(self) -> tuple[int, int] | None:
        stats = self._summary.statistics if self._summary is not None else None
        if stats is not None:
            return (stats.message_start_time, stats.message_end_time) if stats.message_count else None
        times = [m.log_time_ns for m in self.messages(None, None, None)]
        return (min(times), max(times)) if times else None

    def _scan(self) -> ScanResult:
        """The channels and message counts of a file without a readable summary, read from its start."""
        if self._scanned is None:
            scanned = ScanResult()
            for _message in self._scanned_messages(Selection(None, None, None), scanned):
                pass
            self._scanned = scanned
        return self._scanned

    def _scanned_messages(self, selection: Selection, result: ScanResult) -> Iterator[RawMessage]:
        data = ChunkSource(self._file).whole()
        yield from scan_messages(data, self.path, selection, ChunkDecompressor(), result)
        for problem in result.problems:
            self._report(problem)

    def messages(
        self, topics: Collection[str] | None, start_ns: int | None, end_ns: int | None
    ) -> Iterator[RawMessage]:
        topic_list = list(topics) if topics is not None else None
        summary = self._summary
        if summary is not None and summary.chunk_indexes and chunks_are_ordered(list(summary.chunk_indexes)):
            yield from iter_chunked_messages(self._file, summary, topic_list, start_ns, end_ns, self._report)
            return
        if summary is None:
            yield from self._scanned_messages(Selection(topic_list, start_ns, end_ns), ScanResult())
            return
        # Chunks that overlap in time (not what rosbag2 writes): the library merges them.
        self._file.seek(0)
        end_exclusive = end_ns + 1 if end_ns is not None else None
        iterator = self._reader.iter_messages(
            topics=topic_list, start_time=start_ns, end_time=end_exclusive, log_time_order=True
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
            self._report(f"{self.path}: stopped reading after {count} messages: {err}")

    def close(self) -> None:
        self._file.close()


def _topic_info(
    channel: Channel, type_name: str, definition: MessageDefinition | None, count: int
) -> TopicInfo:
    return TopicInfo(
        name=channel.topic,
        type_name=type_name,
        serialization_format=channel.message_encoding,
        qos_profiles=channel.metadata.get("offered_qos_profiles", ""),
        message_count=count,
        definition=definition,
    )


#: The messages table's columns every reader here needs (rosbag2's schema).
_MESSAGE_COLUMNS: Final = ("id", "topic_id", "timestamp", "data")


class SqliteStorage:
    """rosbag2's sqlite3 storage (``.db3``), read with the standard library. A damaged file is read
    around its damage (see :mod:`.sqlite_recovery`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []
        self._wal = copy_with_wal(path)
        try:
            if self._wal is not None:  # a log to replay: the copy's, so the original is never written
                self.problems.extend(self._wal.problems)
                self._db = sqlite3.connect(self._wal.path, check_same_thread=False)
            else:
                self._db = sqlite3.connect(
                    f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
                )
                cut = cut_short(path)
                if cut is not None:
                    # Read-only, so this changes nothing on disk: it lets SQLite read the pages there are.
                    self._db.execute("PRAGMA writable_schema=ON")
                    self.problems.append(cut)
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if not {"topics", "messages"} <= tables:
                raise BagError(f"{path}: not a rosbag2 sqlite3 file (no topics / messages tables)")
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(messages)")}
            missing = [name for name in _MESSAGE_COLUMNS if name not in columns]
            if missing:  # a traceback, or "damaged pages" for a missing data column (audit)
                raise BagError(
                    f"{path}: not a rosbag2 sqlite3 file (its messages table has no {', '.join(missing)})"
                )
            self._has_definitions = "message_definitions" in tables
            self._unnamed_ids: set[Any] = set()
            listed = self._db.execute(
                "SELECT id, name, type, serialization_format, offered_qos_profiles FROM topics ORDER BY id"
            )
            self._listed_rows = self._named_rows(listed.fetchall())
        except (sqlite3.Error, BagError) as err:
            self.close()
            if isinstance(err, BagError):
                raise
            cut = cut_short(path)
            why = f" ({cut.removeprefix(f'{path}: ')})" if cut else ""
            raise BagError(f"{path}: not a readable sqlite3 bag: {err}{why}") from err
        self._readable: RowKeys | None = None
        self._per_topic: dict[int, tuple[int, tuple[int, int]]] | None = None
        self._kept_rows: list[tuple[Any, ...]] | None = None

    def _named_rows(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The topics rows with a name and a type (text): one without either (SQLite takes NULL where
        rosbag2's schema does not) failed every command on the file (audit); its messages are skipped."""
        kept = []
        for row in rows:
            if isinstance(row[1], str) and isinstance(row[2], str):
                kept.append(row)
            else:
                self._unnamed_ids.add(row[0])
                self.problems.append(
                    f"{self.path}: the topics table lists a topic without a name or type (id {row[0]}, "
                    f"name {row[1]!r}, type {row[2]!r}): its messages are skipped"
                )
        return kept

    @property
    def database(self) -> sqlite3.Connection:
        """The open database (read-only, or the copy its write-ahead log was replayed into)."""
        return self._db

    @property
    def topic_rows(self) -> list[tuple[Any, ...]]:
        """The ``topics`` table: id, name, type, serialization format, QoS text; one row per name."""
        return list(self._topic_rows)

    @property
    def _topic_rows(self) -> list[tuple[Any, ...]]:
        """The table's rows, a name listed twice kept once: rosbag2 writes one row per topic, and
        messages are routed by name (all of a LaserScan topic's were decoded as the type of a second,
        empty row of its name: found by an audit). Kept: the first row of the name that has messages."""
        if self._kept_rows is None:
            names = [row[1] for row in self._listed_rows]
            if len(set(names)) == len(names):
                self._kept_rows = list(self._listed_rows)
            else:
                self._kept_rows = self._one_row_per_name()
        return self._kept_rows

    def _one_row_per_name(self) -> list[tuple[Any, ...]]:
        counts = {topic_id: count for topic_id, (count, _span) in self._counts_and_spans().items()}
        kept: dict[str, tuple[Any, ...]] = {}
        for row in sorted(self._listed_rows, key=lambda row: (counts.get(row[0], 0) == 0, row[0])):
            first = kept.setdefault(row[1], row)
            if first is not row:
                count = counts.get(row[0], 0)
                lost = f"its {count} messages skipped" if count else "it has no messages"
                self.problems.append(
                    f"{self.path}: the topics table lists {row[1]} again (id {row[0]}, {row[2]}; "
                    f"kept: id {first[0]}, {first[2]}): {lost}"
                )
        chosen = {id(row) for row in kept.values()}
        return [row for row in self._listed_rows if id(row) in chosen]

    def _recovered(self) -> RowKeys:
        """The readable rows, found once the file turned out to be damaged."""
        if self._readable is None:
            self._readable = readable_rows(self._db, self.path)
            self.problems.extend(p for p in self._readable.problems if p not in self.problems)
        return self._readable

    def topics(self) -> list[TopicInfo]:
        counts = {topic_id: count for topic_id, (count, _span) in self._counts_and_spans().items()}
        definitions: dict[str, MessageDefinition] = {}
        if self._has_definitions:
            for type_name, encoding, text in self._db.execute(
                "SELECT topic_type, encoding, encoded_message_definition FROM message_definitions"
            ):
                if text or encoding in DEFINITION_ENCODINGS:
                    definitions[type_name] = MessageDefinition(encoding, text or "")
        return [
            TopicInfo(
                name=name,
                type_name=type_name,
                serialization_format=fmt,
                qos_profiles=qos or "",
                message_count=int(counts.get(topic_id, 0)),
                definition=_stored_definition(definitions, type_name),
            )
            for topic_id, name, type_name, fmt, qos in self._topic_rows
        ]

    def topic_spans(self) -> dict[str, tuple[int, int]]:
        """From the same pass over the messages that counts them."""
        names = {row[0]: row[1] for row in self._topic_rows}
        return {
            names[topic_id]: span
            for topic_id, (_count, span) in self._counts_and_spans().items()
            if topic_id in names
        }

    def _counts_and_spans(self) -> dict[int, tuple[int, tuple[int, int]]]:
        """Per topic id, its message count and first and last log time (one pass, kept); rows that
        cannot be messages (a timestamp that is not a number, data that is not bytes, a topic id the
        topics table lacks) are reported in :attr:`problems`."""
        if self._per_topic is None:
            found: dict[int, tuple[int, tuple[int, int]]] = {}
            try:
                # typeof() reads a row's header only, not its data (SQLite skips the overflow pages).
                rows = self._db.execute(
                    f"SELECT topic_id, SUM({_TIMED}), MIN(CASE WHEN {_TIMED} THEN timestamp END), "
                    f"MAX(CASE WHEN {_TIMED} THEN timestamp END), SUM(NOT {_TIMED}), "
                    f"SUM({_TIMED} AND typeof(data) != 'blob') FROM messages GROUP BY topic_id"
                ).fetchall()
                found = {
                    int(row[0]): (int(row[1]), (int(row[2]), int(row[3])))
                    for row in rows
                    if isinstance(row[0], int) and row[1]
                }
                self._note_odd_rows(rows)
            except sqlite3.DatabaseError:
                for time, _id, topic_id in self._recovered().keys:
                    count, (first, last) = found.get(topic_id, (0, (time, time)))
                    found[topic_id] = (count + 1, (min(first, time), max(last, time)))
            self._per_topic = found
        return self._per_topic

    def _note_odd_rows(self, per_topic: list[tuple[Any, ...]]) -> None:
        """Problems of the rows :meth:`_counts_and_spans` counted: each names its topic and what is
        wrong; a message without a usable timestamp, or of no topic, is skipped; one whose data is not
        bytes goes on to fail decoding, counted on its topic."""
        names = {row[0]: row[1] for row in self._listed_rows}
        for topic_id, _timed, _first, _last, untimed, not_bytes in per_topic:
            name = names.get(topic_id)
            if name is None and topic_id not in self._unnamed_ids:  # those were said with their row
                total = (untimed or 0) + (_timed or 0)
                which = (
                    "without a topic id"
                    if topic_id is None
                    else f"of topic id {topic_id!r}, which the topics table does not list"
                )
                self.problems.append(f"{self.path}: {total} messages {which}: skipped")
            if name is None:
                continue
            if untimed:
                self.problems.append(
                    f"{self.path}: {untimed} messages of {name} have a timestamp that is not a number: "
                    "skipped"
                )
            if not_bytes:
                self.problems.append(
                    f"{self.path}: {not_bytes} messages of {name} hold data that is not bytes (text, a "
                    "number or NULL): read as bytes, they fail to decode"
                )

    def time_bounds(self) -> tuple[int, int] | None:
        try:
            first, last = self._db.execute(
                f"SELECT MIN(timestamp), MAX(timestamp) FROM messages WHERE {_TIMED}"
            ).fetchone()
        except sqlite3.DatabaseError:
            keys = self._recovered().keys
            return (keys[0][0], keys[-1][0]) if keys else None
        return None if first is None else (int(first), int(last))

    def messages(
        self, topics: Collection[str] | None, start_ns: int | None, end_ns: int | None
    ) -> Iterator[RawMessage]:
        by_id = {row[0]: (row[1], row[2]) for row in self._topic_rows if topics is None or row[1] in topics}
        if not by_id:
            return
        last_key = (-1, -1)
        if self._readable is None:
            placeholders = ",".join("?" * len(by_id))
            query = (
                f"SELECT id, topic_id, timestamp, data FROM messages WHERE topic_id IN ({placeholders}) "
                f"AND {_TIMED}"
            )
            params: list[int] = list(by_id)
            if start_ns is not None:
                query += " AND timestamp >= ?"
                params.append(start_ns)
            if end_ns is not None:
                query += " AND timestamp <= ?"
                params.append(end_ns)
            query += " ORDER BY timestamp, id"
            try:
                for row_id, topic_id, timestamp, data in self._db.execute(query, params):
                    topic, type_name = by_id[topic_id]
                    last_key = (int(timestamp), int(row_id))
                    yield RawMessage(topic, type_name, int(timestamp), as_bytes(data), int(timestamp))
                return
            except sqlite3.DatabaseError:
                pass  # damaged pages: go on with the rows that can be read, after the last one given
        yield from self._recovered_messages(by_id, (start_ns, end_ns), last_key)

    def _recovered_messages(
        self, by_id: dict[int, tuple[str, str]], window: tuple[int | None, int | None], after: tuple[int, int]
    ) -> Iterator[RawMessage]:
        start_ns, end_ns = window
        keys = [
            key
            for key in self._recovered().keys
            if key[:2] > after
            and (start_ns is None or key[0] >= start_ns)
            and (end_ns is None or key[0] <= end_ns)
        ]
        unreadable: list[int] = []
        for topic_id, timestamp, data in iter_rows(self._db, keys, by_id, unreadable):
            topic, type_name = by_id[topic_id]
            yield RawMessage(topic, type_name, timestamp, as_bytes(data), timestamp)
        if unreadable:
            problem = (
                f"{self.path}: {len(unreadable)} messages (rows {unreadable[0]}..{unreadable[-1]}) "
                "have their data on damaged pages: lost"
            )
            if problem not in self.problems:
                self.problems.append(problem)

    def close(self) -> None:
        if getattr(self, "_db", None) is not None:
            self._db.close()
        if self._wal is not None:
            self._wal.tempdir.cleanup()


def as_bytes(data: Any) -> bytes:
    """A row's ``data`` as bytes: SQLite keeps whatever value a writer gave, and text or a number there
    raised in the conversion (found by an audit); as bytes it fails to decode, counted on its topic."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, memoryview | bytearray):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8", "surrogateescape")
    return b"" if data is None else str(data).encode()


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
        found = storage_by_magic(path)
    except OSError as err:
        raise BagError(f"{path}: cannot open: {err}") from err
    if found is None:
        raise BagError(f"{path}: neither an MCAP nor a sqlite3 file")
    return found


def storage_by_magic(path: Path) -> str | None:
    """The storage plug-in a file's first bytes name (``mcap`` or ``sqlite3``), None for neither;
    raises OSError when it cannot be read."""
    with path.open("rb") as stream:
        head = stream.read(16)
    if head.startswith(b"\x89MCAP"):
        return "mcap"
    if head.startswith(b"SQLite format 3"):
        return "sqlite3"
    return None


def open_storage(path: Path, storage_id: str | None = None) -> StorageReader:
    storage = storage_id or storage_id_for(path)
    plugin = STORAGE_PLUGINS.get(storage)
    if plugin is None:
        raise BagError(f"{path}: storage '{storage}' is not supported (mcap and sqlite3 are)")
    return plugin(path)


def _stored_definition(definitions: dict[str, MessageDefinition], type_name: str) -> MessageDefinition | None:
    """A topic's row of ``message_definitions``. rosbag2 files a service event topic's definition (the
    .srv text) under the service's name, without ``_Event`` (its MCAP schemas keep the topic's type)."""
    found = definitions.get(type_name)
    if found is None and (service := service_of_event(type_name)) is not None:
        found = definitions.get(service)
    return found


def _summary_error(file: BinaryIO, err: Exception) -> str:
    """Why an MCAP file has no summary, in words: a file that ends right after its magic bytes made the
    mcap library seek before its start ("[Errno 22] Invalid argument")."""
    try:
        size = file.seek(0, 2)
        file.seek(max(size - len(MCAP_MAGIC), 0))
        tail = file.read(len(MCAP_MAGIC))
    except OSError:
        return str(err) or type(err).__name__
    if size <= len(MCAP_MAGIC):
        return f"the file ends after its {size}-byte header: nothing was recorded in it, or it was cut there"
    # In words, not the mcap library's ("unknown (opcode 204) record has length 1596...", or nothing at
    # all for a file cut right after its data: found by an audit).
    if tail != MCAP_MAGIC:
        return f"it does not end with MCAP's closing magic bytes: cut at byte {size}, or still being written"
    return "its summary section or footer is damaged"
