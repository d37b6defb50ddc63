"""An MCAP bag opened through its chunk index: chunks read, decoded and converted on demand for the time
shown, under a memory budget (the bag twin of :mod:`rerun_bridge.store.lazy_rrd`).

Opening reads the MCAP summary (channels, schemas, one index entry per chunk: its byte offset, its first
and last log time and the channels it holds), then:

* **static data**: every message of a latched topic (``/tf_static``, ``/robot_description``, and any topic
  recorded with transient_local durability, such as a map server's ``/map``) is converted at once and
  kept, outside the budget;
* **a probe**: each other topic's messages in its first chunk are converted, so the layout and the
  entity tree know the entities and components each topic makes before anything else is loaded;
* **the rest is declared**: each topic's entities get the log-time span of its messages in each chunk
  holding it (the chunks' message indexes; :meth:`ChunkStore.declare_extent`), so the time panel shows
  where data exists before it is loaded.

:meth:`LazyBag.show` then converts what the latest-at queries at one time need, topic by topic: per
topic, the chunk spanning the time, else the last one ending before it, and for TF the first one
starting after it (by the log times of the topic's messages in each chunk; a ``ros_time`` is looked up
at the log time it had in the topic's probe, so sim time and drifted clocks load the right chunk). What
is loaded and unloaded is one topic's messages in one chunk: a chunk needed for its GPS fix does not
convert the point cloud beside it. A chunk is read once per load, and its messages go through one
pipeline of the bridge, as a conversion would, straight into the viewer's store, sealed at the end so
that the store chunks they became can be removed again; loads beyond the budget are unloaded, least
recently needed first.
Converters that remember earlier messages (odometry trails, map updates, marker lifetimes) see the
messages in the order they are loaded, not the recording's order, except a MarkerArray topic's live
markers (the shared objects that are a :class:`~rerun_bridge.convert.registry.TopicMemory`): each load
starts them empty, so what one chunk draws does not depend on the chunks loaded before it
(docs/markers.md).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from rerun_bridge.config import RobotModelConfig
from rerun_bridge.errors import BridgeError
from rerun_bridge.model.records import RawMessage
from rerun_bridge.model.type_names import normalize_type_name
from rerun_bridge.pipeline import Pipeline, TypeSupport
from rerun_bridge.replay.conversion import BagConversion, TopicSelection
from rerun_bridge.robot.settings import robot_model_setup
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.sources.bag import Bag, open_bag
from rerun_bridge.sources.ros_qos import LATCHED_TOPICS, recorded_transient_local
from rerun_bridge.sources.storage import McapStorage
from rerun_bridge.store.chunk_store import ChunkStore, SealedChunk
from rerun_bridge.store.lazy_rrd import LoadCounts, SpanGroup

__all__ = ["LazyBag", "Unit", "lazy_bag_candidate"]

#: What is loaded and unloaded: one topic's messages in one chunk (chunk number in file order, topic).
Unit = tuple[int, str]

#: Types whose view reads the row after the time shown too (TF interpolates between two transforms).
INTERPOLATED_TYPES: Final = frozenset({"tf2_msgs/msg/TFMessage"})
#: Types whose messages add to what earlier ones drew (markers stay until deleted): loaded chunk by chunk,
#: a time shows what its chunk sent, which the opening note says.
ACCUMULATING_TYPES: Final = frozenset(
    {
        "visualization_msgs/msg/Marker",
        "visualization_msgs/msg/MarkerArray",
        "visualization_msgs/msg/ImageMarker",
        "visualization_msgs/msg/InteractiveMarkerUpdate",
    }
)
_LOG_TIME: Final = "log_time"


@dataclass(frozen=True, slots=True)
class _LoadedUnit:
    """The store chunks one load made (one topic in one MCAP chunk): ``(entity path, seq)`` each, their
    bytes, and per entity the components they hold."""

    pieces: tuple[tuple[str, int], ...]
    nbytes: int
    components: Mapping[str, frozenset[str]]

    @staticmethod
    def of(sealed: Iterable[SealedChunk]) -> _LoadedUnit:
        """The temporal ones of newly sealed store chunks (static ones are kept for good)."""
        pieces: list[tuple[str, int]] = []
        nbytes = 0
        components: dict[str, frozenset[str]] = {}
        for chunk in sealed:
            components[chunk.entity_path] = components.get(chunk.entity_path, frozenset()) | frozenset(
                chunk.components
            )
            if not chunk.static:
                pieces.append((chunk.entity_path, chunk.seq))
                nbytes += chunk.nbytes
        return _LoadedUnit(tuple(pieces), nbytes, components)


def lazy_bag_candidate(path: str | Path, budget_bytes: int) -> Bag | None:
    """The bag at ``path`` opened, when it can be read lazily: one MCAP file with a chunk index, no
    per-message compression, and more message bytes than ``budget_bytes``; None otherwise (closed)."""
    try:
        bag = open_bag(path)
    except BridgeError:
        return None  # the eager path reports it
    storage = bag.storages[0] if len(bag.storages) == 1 else None
    summary = storage.summary if isinstance(storage, McapStorage) else None
    if summary is None or not summary.chunk_indexes or bag.message_compression:
        bag.close()
        return None
    if sum(chunk.uncompressed_size for chunk in summary.chunk_indexes) <= budget_bytes:
        bag.close()
        return None  # fits: converted whole, as before
    return bag


class LazyBag:
    """One indexed MCAP bag feeding ``store`` on demand; call :meth:`show` before querying a time."""

    def __init__(
        self,
        bag: Bag,
        store: ChunkStore,
        budget_bytes: int,
        robot_model: RobotModelConfig | None = None,
        warn: Callable[[str], None] | None = None,
        types: TypeSupport | None = None,
    ) -> None:
        storage = bag.storages[0]
        if not isinstance(storage, McapStorage) or storage.summary is None:
            raise BridgeError(f"{bag.path}: not an MCAP file with a chunk index")
        self.bag = bag
        self.path = bag.path
        self.store = store
        self.budget_bytes = budget_bytes
        self.counts = LoadCounts()
        self.warnings: list[str] = []
        self.fits_whole = False  # a bag that fits is converted whole instead (lazy_bag_candidate)
        self._warn = warn
        self._storage = storage
        summary = storage.summary
        self.chunk_indexes: list[Any] = sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)
        self._loaded: OrderedDict[Unit, _LoadedUnit] = OrderedDict()  # least recently needed first
        self._loaded_bytes = 0
        self._failed: set[int] = set()
        self._conversion = self._start_conversion(robot_model, types or TypeSupport())
        topics_of = _channel_topics(summary)
        static_topics = {
            channel.topic
            for channel in summary.channels.values()
            if channel.topic in LATCHED_TOPICS
            or recorded_transient_local(channel.metadata.get("offered_qos_profiles", ""))
        }
        self._temporal_topics = {topic for topic in topics_of.values() if topic not in static_topics}
        self._interpolated = {
            channel.topic
            for channel in summary.channels.values()
            if channel.schema_id in summary.schemas
            and normalize_type_name(summary.schemas[channel.schema_id].name) in INTERPOLATED_TYPES
        }
        self._note_accumulating(summary, static_topics)
        self._load_static(static_topics, topics_of)
        self._groups = self._group_chunks(topics_of)
        made = self._probe(topics_of)
        self._clock_offsets = self._measure_clock_offsets(made)
        self._declare(made)

    @property
    def loaded_bytes(self) -> int:
        """Bytes of the converted chunks loaded now (static data not counted)."""
        return self._loaded_bytes

    @property
    def loaded_chunks(self) -> int:
        """MCAP chunks some topic of which is loaded now."""
        return len({number for number, _ in self._loaded})

    def is_loaded(self, number: int) -> bool:
        return any(loaded == number for loaded, _ in self._loaded)

    def needed(self, timeline: str, time: int) -> set[Unit]:
        """The (chunk number in file order, topic) pairs the latest-at queries at ``time`` read."""
        # The chunk index has log times only: another clock's time is looked up at the log time the
        # topic's probe showed for it (sim time starts near 0, a robot clock may be months off).
        offsets = self._clock_offsets.get(timeline, {}) if timeline != _LOG_TIME else {}
        needed: set[Unit] = set()
        for topic, group in self._groups.items():
            next_row = topic in self._interpolated  # TF interpolates towards the next transform
            at = time + offsets.get(topic, 0)
            needed.update((int(number), topic) for number in group.needed_at(at, next_row))
        return needed

    def show(self, timeline: str, time: int) -> bool:
        """Load what ``time`` needs and unload past the budget; whether the store changed."""
        needed = self.needed(timeline, time)
        missing: dict[int, list[str]] = {}
        for unit in sorted(needed):
            if unit in self._loaded:
                self._loaded.move_to_end(unit)
            elif unit[0] not in self._failed:
                missing.setdefault(unit[0], []).append(unit[1])
        changed = False
        for number, topics in missing.items():
            changed |= self._load(number, topics)
        while self._loaded_bytes > self.budget_bytes and self._loaded:
            unit, loaded = next(iter(self._loaded.items()))
            if unit in needed:
                break  # everything left is needed now
            del self._loaded[unit]
            self._loaded_bytes -= loaded.nbytes
            for entity_path, seq in loaded.pieces:
                self.store.remove_chunks(entity_path, (seq,))
            self.counts.unloads += 1
            changed = True
        return changed

    def close(self) -> None:
        self.bag.close()

    # -- opening -------------------------------------------------------------------------------------

    def _note(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
            if self._warn is not None:
                self._warn(message)

    def _start_conversion(self, robot_model: RobotModelConfig | None, types: TypeSupport) -> BagConversion:
        """One pipeline for the whole bag, writing into the viewer's store."""
        for problem in types.problems:
            self._note(problem)
        pipeline = Pipeline(
            [StoreSink(self.store)],
            warn=self._note,
            converters=types.converters,
            leaf_scalars=types.leaf_scalars,
        )
        if robot_model is not None:
            pipeline.use_robot_model(*robot_model_setup(robot_model))
        conversion = BagConversion(pipeline, None, self._note, True, types)
        conversion.add_bag(0, self.bag, TopicSelection())
        return conversion

    def _note_accumulating(self, summary: Any, static_topics: set[str]) -> None:
        """Say which marker topics show only what the chunk of the time shown sent: a marker published
        once, earlier, and never deleted was drawn converted whole and missing here, without a word."""
        topics = sorted(
            {
                channel.topic
                for channel in summary.channels.values()
                if channel.topic not in static_topics
                and channel.schema_id in summary.schemas
                and normalize_type_name(summary.schemas[channel.schema_id].name) in ACCUMULATING_TYPES
            }
        )
        if topics:
            size = sum(chunk.uncompressed_size for chunk in summary.chunk_indexes) >> 20
            self._note(
                f"{self.path}: opened lazily, {', '.join(topics)} show the markers of the chunk that holds "
                "the time shown (a publisher that re-sends its set draws as converted whole; one that sends "
                f"only changes shows fewer): --memory-budget {size + 1} or more converts the bag whole"
            )

    def _load_static(self, static_topics: set[str], topics_of: dict[int, str]) -> None:
        """Every message of the latched topics, converted once and kept (never unloaded)."""
        if not static_topics:
            return
        for chunk in self.chunk_indexes:
            if _chunk_topics(chunk, topics_of) & static_topics:
                messages = self._read(chunk, static_topics)
                if messages is not None:
                    self._convert(messages)  # kept: never registered for unloading
        for topic in sorted(static_topics):  # all of them converted, in order: their lifetimes may end
            self._convert((), topic)

    def _probe(self, topics_of: dict[int, str]) -> dict[str, Mapping[str, frozenset[str]]]:
        """Load each temporal topic's first chunk; per topic, the entities and components it made."""
        first_chunks: dict[str, int] = {}
        for number, chunk in enumerate(self.chunk_indexes):
            for topic in _chunk_topics(chunk, topics_of) & self._temporal_topics:
                first_chunks.setdefault(topic, number)
        by_chunk: dict[int, list[str]] = {}
        for topic, number in sorted(first_chunks.items()):
            by_chunk.setdefault(number, []).append(topic)
        for number, topics in sorted(by_chunk.items()):
            self._load(number, topics)
        return {
            topic: self._loaded[(number, topic)].components
            for topic, number in first_chunks.items()
            if (number, topic) in self._loaded
        }

    def _measure_clock_offsets(
        self, made: dict[str, Mapping[str, frozenset[str]]]
    ) -> dict[str, dict[str, int]]:
        """Per timeline other than log_time, per topic: log time minus that clock's time, from the
        probe's rows (read before the index declares the rest, so both ranges hold the same rows)."""
        offsets: dict[str, dict[str, int]] = {}
        for topic, entities in made.items():
            for entity_path in entities:
                log_range = self.store.time_range(_LOG_TIME, entity_path)
                if log_range is None:
                    continue
                for timeline in self.store.timelines():
                    other = self.store.time_range(timeline, entity_path) if timeline != _LOG_TIME else None
                    if other is not None:
                        offsets.setdefault(timeline, {}).setdefault(topic, log_range[0] - other[0])
        return offsets

    def _group_chunks(self, topics_of: dict[int, str]) -> dict[str, SpanGroup]:
        """Per topic, the log-time span of its messages in each chunk holding it: from the chunk's
        message index (one small read per chunk), else the chunk's own span."""
        spans: dict[str, list[tuple[int, int, int]]] = {}
        for number, chunk in enumerate(self.chunk_indexes):
            exact = self._storage.message_spans(chunk)
            for topic in _chunk_topics(chunk, topics_of):
                if topic in self._temporal_topics:
                    first, last = exact.get(topic, (chunk.message_start_time, chunk.message_end_time))
                    spans.setdefault(topic, []).append((first, last, number))
        self._topic_spans = spans
        return {topic: SpanGroup(list(topic_spans)) for topic, topic_spans in spans.items()}

    def _declare(self, made: dict[str, Mapping[str, frozenset[str]]]) -> None:
        """The log-time spans of every topic's chunks, on the entities the probe saw it make; on each other
        clock the probe measured (ros_time), the same spans moved by the topic's offset to it: else that
        timeline spanned only what was loaded (the probe's first chunks, a fraction of a second)."""
        log_time_type = pa.timestamp("ns")
        for topic, entities in made.items():
            spans = [(start, end) for start, end, _ in self._topic_spans.get(topic, [])]
            for entity_path, components in entities.items():
                self.store.declare_extent(entity_path, _LOG_TIME, spans, log_time_type, components)
                for timeline, offsets in self._clock_offsets.items():
                    offset = offsets.get(topic)
                    if offset is None or self.store.time_range(timeline, entity_path) is None:
                        continue  # a topic off that clock (a header-less one is on log_time only)
                    moved = [(start - offset, end - offset) for start, end in spans]
                    self.store.declare_extent(entity_path, timeline, moved, log_time_type, components)

    # -- loading ------------------------------------------------------------------------------------

    def _read(self, chunk: Any, topics: Collection[str]) -> list[RawMessage] | None:
        """One chunk's messages of ``topics`` (None, counted and said once, when it cannot be read)."""
        try:
            messages: list[RawMessage] = self._storage.chunk_messages(chunk, set(topics))
        except (OSError, ValueError) as err:
            self.counts.failures += 1
            self._note(f"{self.path}: cannot read the chunk at byte {chunk.chunk_start_offset}: {err}")
            return None
        return messages

    def _convert(self, messages: Iterable[RawMessage], topic: str | None = None) -> _LoadedUnit:
        """Messages converted into the store, sealed: the store chunks they became. ``topic``: they are
        one chunk's messages of it, converted on their own, so what its state holds for later (a marker
        lifetime's Clear) is written with them: no later message of it follows in this conversion (a
        marker with a lifetime stayed drawn for the rest of the recording)."""
        first_seq = self.store.next_seq
        self._conversion.convert_messages(0, messages)
        if topic is not None:
            self._conversion.pipeline.finish_topic(topic)
        return _LoadedUnit.of(self.store.sealed_since(first_seq))

    def _load(self, number: int, topics: Collection[str]) -> bool:
        """Read one chunk once and convert the messages of ``topics`` in it, topic by topic (each is
        unloaded on its own); whether the store changed."""
        messages = self._read(self.chunk_indexes[number], topics)
        if messages is None:
            self._failed.add(number)
            return False
        by_topic: dict[str, list[RawMessage]] = {topic: [] for topic in topics}
        for message in messages:
            by_topic[message.topic].append(message)
        changed = False
        for topic, topic_messages in by_topic.items():
            self._conversion.pipeline.shared.forget(topic)  # chunk-local, whatever was loaded before
            loaded = self._convert(topic_messages, topic)
            self.counts.loads += 1
            self._loaded[(number, topic)] = loaded
            self._loaded_bytes += loaded.nbytes
            changed |= bool(loaded.pieces)
        return changed


def _channel_topics(summary: Any) -> dict[int, str]:
    return {channel_id: channel.topic for channel_id, channel in summary.channels.items()}


def _chunk_topics(chunk: Any, topics_of: dict[int, str]) -> set[str]:
    """The topics with messages in a chunk, by its message index offsets; every topic when the writer
    wrote no message index (the chunk may then hold any of them)."""
    channels = chunk.message_index_offsets or topics_of
    return {topics_of[channel] for channel in channels if channel in topics_of}
