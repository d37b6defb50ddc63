"""The shared pipeline: decoded message -> converter -> rows -> sinks, with per-topic accounting.

Both the bag replay and the live node feed it serialized messages (:meth:`Pipeline.process_raw`: decode,
count a failure, convert, write). A message that fails to decode or convert is counted against its topic
and warned about once (later failures are only counted); everything else keeps flowing. The bag replay
also hands it whole batches of small messages (:meth:`Pipeline.process_columns`) for the types that have
a column converter.

Converters report bad data with :class:`~rerun_bridge.errors.ConversionError`. Any other exception is
counted the same way in use (a robot's odd message must never stop the bridge), but in ``strict`` mode
(on in the tests: ``RERUN_BRIDGE_STRICT=1``) it raises, and so does any exception of a column converter
(which declines a batch by returning None), so a broken converter cannot hide behind the
one-message-at-a-time fallback.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from rerun_bridge.cdr.decoding import Decoder
from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.convert.raw import (
    DEFAULT_LEAF_SCALARS,
    numeric_leaves,
    optional_fields,
    raw_converter,
    to_plain,
)
from rerun_bridge.convert.registry import (
    ColumnConverterFunc,
    ConvertContext,
    ConverterFunc,
    ConverterTable,
    SharedState,
)
from rerun_bridge.errors import ConversionError, PartialConversionError
from rerun_bridge.model.entity_path import EntityPath
from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.model.timeline import LOG_TIME, ROS_TIME, header_stamp_ns
from rerun_bridge.model.type_names import normalize_type_name
from rerun_bridge.robot.state import RobotModelState
from rerun_bridge.robot.uris import MeshRoots

log = logging.getLogger(__name__)

STATIC_TOPICS = frozenset({"/tf_static"})
#: The environment variable that turns strict mode on (the test suite sets it).
STRICT_ENV = "RERUN_BRIDGE_STRICT"
#: Kinds of error said per topic (the first, and a few others); the rest are counted.
_MOST_ERROR_KINDS = 4
_NUMBERS = re.compile(r"\d+")


class TopicKind(Enum):
    CONVERTED = "converted"
    RAW = "raw"
    SKIPPED = "skipped"


class RowSink(Protocol):
    """Where converted rows go: the .rrd writer, the network stream, the viewer's store."""

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        """Rows of one message; each gets ``default_times`` overlaid with its own ``times``."""

    def write_columns(self, columns: ColumnRows) -> None:
        """Many rows of one entity and archetype, column by column (the column path)."""

    def flush(self, wait: bool = True) -> None:
        """Hand everything queued onward; with ``wait``, return once it is written."""

    def close(self) -> None:
        """Flush and release; takes no more rows after."""


class Outcome(Enum):
    """What :meth:`Pipeline.process_raw` did with one message."""

    CONVERTED = "converted"
    #: Its topic cannot be decoded (no definition, unknown type): counted as skipped.
    SKIPPED = "skipped"
    #: It failed to decode or to convert: counted as an error.
    FAILED = "failed"


@dataclass(slots=True)
class TopicStats:
    """What happened to one topic; printed in the closing summary."""

    topic: str
    type_name: str
    kind: TopicKind
    entity_path: str
    archetypes: tuple[str, ...] = ()
    messages: int = 0
    rows: int = 0
    errors: int = 0
    skipped: int = 0
    first_error: str = ""
    reason: str = ""
    #: The archetypes its rows actually had (a converter may produce several kinds, e.g. Image or DepthImage).
    produced: set[str] = field(default_factory=set)
    #: Messages whose header stamp is zero (never set by the publisher): placed at their log time.
    zero_stamps: int = 0
    #: Of ``messages``, those converted a batch at a time by the column path (how, not what: not compared).
    column_messages: int = field(default=0, compare=False)
    #: The kinds of error said so far (:meth:`Pipeline.record_error`).
    error_kinds: set[str] = field(default_factory=set, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TypeSupport:
    """What a conversion knows about types beyond the built-ins: the converter table (with the config's
    declarative mappings), user-supplied definitions (``--msg-path``; rosbags field definitions by type),
    how many numeric leaves of a type without converter are plotted, and problems met loading them."""

    converters: ConverterTable = BUILTIN_CONVERTERS
    definitions: Mapping[str, Any] = field(default_factory=dict)
    leaf_scalars: int = DEFAULT_LEAF_SCALARS
    problems: tuple[str, ...] = ()
    #: Converter options by topic (``topics.<topic>.options`` of ``convert --config``).
    topic_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Types the config declares by topic (``topics.<topic>.type``): one a recording contradicts is said.
    declared_types: Mapping[str, str] = field(default_factory=dict)
    #: The config key of each declarative mapping, by its (normalized) type: one no topic has is said.
    mapping_keys: Mapping[str, str] = field(default_factory=dict)
    #: Types a supplied definition was given for but left out, and why (``SuppliedTypes.rejected``).
    rejected: Mapping[str, str] = field(default_factory=dict)

    def unused_mappings(self, type_names: Iterable[str]) -> list[str]:
        """A warning per mapping of a type none of ``type_names`` is (a typo in its key maps nothing)."""
        present = {normalize_type_name(name) for name in type_names}
        return [
            f"{key}: no topic of the recordings has this type, so the mapping draws nothing"
            for type_name, key in self.mapping_keys.items()
            if normalize_type_name(type_name) not in present
        ]


@dataclass(slots=True)
class _Topic:
    stats: TopicStats
    func: ConverterFunc | None
    context: ConvertContext
    column_func: ColumnConverterFunc | None = None
    #: Said with its first message (skipped, or kept raw): a topic with none keeps nothing to warn about.
    first_message_warning: str = ""


@dataclass(slots=True)
class Pipeline:
    sinks: list[RowSink]
    warn: Callable[[str], None] = log.warning
    #: Rows it rejects are dropped before the sinks (the live node's TF frame allow / deny lists).
    row_filter: Callable[[Row], bool] | None = None
    #: The converters it uses, by type.
    converters: ConverterTable = BUILTIN_CONVERTERS
    #: Numeric leaf fields of a type without converter also plotted as scalars (0: only the raw column).
    leaf_scalars: int = DEFAULT_LEAF_SCALARS
    #: Converter exceptions other than ConversionError raise instead of being counted (see module docs).
    strict: bool = field(default_factory=lambda: os.environ.get(STRICT_ENV) == "1")
    #: Every row reaches every sink's reader, in order (see :class:`SharedState`): a conversion to files.
    whole_history: bool = False
    #: What its topics' converters share (the robot model, TF frames seen); warns through ``warn``.
    shared: SharedState = field(init=False)
    _topics: dict[str, _Topic] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shared = SharedState(self.warn, self.whole_history)

    def add_topic(
        self,
        topic: str,
        type_name: str,
        entity_path: str | None = None,
        options: Mapping[str, Any] | None = None,
        skip_reason: str = "",
        raw_type: Any = None,
    ) -> TopicStats:
        """Decide once per topic how it converts; ``skip_reason`` marks it undecodable."""
        path = entity_path or str(EntityPath.from_topic(topic))
        context = ConvertContext(
            topic=topic,
            type_name=normalize_type_name(type_name),
            entity_path=path,
            options=options or {},
            static=topic in STATIC_TOPICS,
            raw_type=raw_type,
            shared=self.shared,
        )
        converter = self.converters.lookup(type_name)
        func: ConverterFunc | None
        archetypes: tuple[str, ...]
        first_message_warning = ""
        if skip_reason:
            kind, func, archetypes = TopicKind.SKIPPED, None, ()
            first_message_warning = f"topic {topic} ({type_name}) skipped: {skip_reason}"
        elif converter is None:
            kind, func, archetypes = TopicKind.RAW, raw_converter(self.leaf_scalars), ()
            # What of its numbers is plotted is said with the first message, which shows how many it has.
            first_message_warning = (
                f"topic {topic}: no converter for {type_name}; its fields are kept as raw columns"
            )

        else:
            kind, func, archetypes = TopicKind.CONVERTED, converter.func, converter.archetypes
            if converter.raw_when_unmapped:
                func = _raw_when_unmapped(func, raw_converter(self.leaf_scalars))
        stats = TopicStats(topic, context.type_name, kind, path, archetypes, reason=skip_reason)
        column_func = converter.columns if converter is not None and kind is TopicKind.CONVERTED else None
        self._topics[topic] = _Topic(stats, func, context, column_func, first_message_warning)
        return stats

    def use_robot_model(self, roots: MeshRoots, urdf_file: Path | None = None) -> None:
        """Where robot meshes may be read from, and a URDF file to draw from the start (its rows are
        static and written now; a bad file is one warning). Call before the first message."""
        model = self.shared.get(RobotModelState)
        model.roots = roots
        if urdf_file is not None:
            shared = self.shared
            rows = model.load_file(urdf_file, self.warn, shared.tf_children, defer_fixed=shared.whole_history)
            for sink in self.sinks:
                sink.write(rows, {})

    def rewriter(self, topics: Sequence[str]) -> Pipeline:
        """A pipeline into the same sinks that converts ``topics`` as this one does, from a fresh start and
        with whole rows (``SharedState.rewrite_whole``); its counts and warnings stay its own."""
        again = Pipeline(
            self.sinks,
            warn=lambda _message: None,  # said once already, by this pipeline
            row_filter=self.row_filter,
            converters=self.converters,
            leaf_scalars=self.leaf_scalars,
            strict=self.strict,
        )
        for topic in topics:
            entry = self._topics[topic]
            stats = dataclasses.replace(entry.stats, messages=0, rows=0, errors=0, skipped=0, produced=set())
            context = dataclasses.replace(entry.context, shared=again.shared)
            again._topics[topic] = _Topic(stats, entry.func, context, entry.column_func)
        return again

    def topic_stats(self) -> list[TopicStats]:
        return [entry.stats for entry in self._topics.values()]

    def stats_of(self, topic: str) -> TopicStats | None:
        entry = self._topics.get(topic)
        return entry.stats if entry else None

    def count_skipped(self, topic: str) -> None:
        entry = self._topics[topic]
        entry.stats.messages += 1
        entry.stats.skipped += 1
        self._warn_first_message(entry)

    def _warn_first_message(self, entry: _Topic, msg: Any = None) -> None:
        """What a topic is told once it has a message (skipped, or kept raw, with what of its numbers is
        plotted): a topic with none keeps nothing, and its warning would be noise (rosbag2's empty
        /events/write_split)."""
        if entry.first_message_warning:
            note = ""
            if entry.stats.kind is TopicKind.RAW and msg is not None and self.leaf_scalars > 0:
                note = self._plotted_note(msg, entry.context.type_name)
            self.warn(entry.first_message_warning + note)
            entry.first_message_warning = ""

    def _plotted_note(self, msg: Any, type_name: str) -> str:
        """Which of a raw message's numbers are plotted: none it has, all, or the first of how many."""
        numbers = sum(1 for _leaf in numeric_leaves(to_plain(msg), optional=optional_fields(type_name)))
        if numbers == 0:
            return " (it has no numbers outside sequences to plot)"
        if numbers <= self.leaf_scalars:
            return f", its {numbers} number{'s' if numbers > 1 else ''} plotted"
        return (
            f", {self.leaf_scalars} of its {numbers} numbers plotted (custom_types.leaf_scalars plots more)"
        )

    def record_error(self, topic: str, error: str, message: bool = False) -> None:
        """Count a failure; warn for the first one of each topic. ``message``: it also ends that message
        (a decode failure, where :meth:`process` is never reached)."""
        stats = self._topics[topic].stats
        stats.errors += 1
        stats.messages += int(message)
        # Errors of another kind are said too, a few per topic: a mapping's second typo shows only in
        # later messages (audit). Kinds differ in more than their numbers.
        kind = _NUMBERS.sub("#", error)
        if kind in stats.error_kinds or len(stats.error_kinds) >= _MOST_ERROR_KINDS:
            return
        stats.error_kinds.add(kind)
        if not stats.first_error:
            stats.first_error = error
            self.warn(
                f"topic {topic} ({stats.type_name}): {error} (further errors on this topic are counted)"
            )
        else:
            self.warn(f"topic {topic} ({stats.type_name}): also: {error} (counted with the others)")

    def _count_zero_stamps(self, stats: TopicStats, count: int) -> None:
        if count and not stats.zero_stamps:
            self.warn(
                f"topic {stats.topic}: header stamps of zero (never set by the publisher); on ros_time "
                "these messages are placed at their receive time (log_time)"
            )
        stats.zero_stamps += count

    def accepts_columns(self, topic: str) -> bool:
        """Whether :meth:`process_columns` may be offered this topic's messages."""
        entry = self._topics.get(topic)
        return entry is not None and entry.column_func is not None and self.row_filter is None

    def process_columns(self, topic: str, msgs: MessageColumns) -> bool:
        """Convert a batch of same-layout messages column-wise and hand the rows to every sink; False when
        the converter declines the batch (the caller then processes those messages one by one)."""
        entry = self._topics[topic]
        if entry.column_func is None:
            return False
        try:
            batches = entry.column_func(msgs, entry.context)
        except Exception as err:  # one by one, each message then fails or converts on its own
            if self.strict:
                raise
            log.debug("topic %s: column conversion failed (%s); converting one by one", topic, err)
            return False
        if batches is None:
            return False
        stats = entry.stats
        stats.messages += len(msgs)
        stats.column_messages += len(msgs)
        msgs.default_times()  # counts the zero stamps it replaces
        self._count_zero_stamps(stats, msgs.zero_stamps)
        for batch in batches:
            stats.rows += len(batch)
            stats.produced.add(batch.archetype)
        for sink in self.sinks:
            for batch in batches:
                sink.write_columns(batch)
        return True

    def process_raw(
        self, topic: str, payload: bytes | memoryview, log_time_ns: int, decoder: Decoder | None
    ) -> Outcome:
        """Decode one serialized message with ``decoder`` (None: its topic is undecodable), convert it and
        hand its rows to every sink; a failure is counted against the topic, never raised."""
        if decoder is None:
            self.count_skipped(topic)
            return Outcome.SKIPPED
        try:
            decoded = decoder(payload)
        except Exception as err:  # a malformed message: count it, keep going
            self.record_error(topic, f"cannot decode message at {log_time_ns}: {err}", message=True)
            return Outcome.FAILED
        return self.process(topic, decoded, log_time_ns)

    def process(self, topic: str, msg: Any, log_time_ns: int) -> Outcome:
        """Convert one decoded message and hand its rows to every sink."""
        entry = self._topics[topic]
        entry.stats.messages += 1
        self._warn_first_message(entry, msg)
        if entry.func is None:
            entry.stats.skipped += 1
            return Outcome.SKIPPED
        times = {LOG_TIME: log_time_ns}
        stamp = header_stamp_ns(msg)
        if stamp is not None:
            times[ROS_TIME] = stamp or log_time_ns  # never set by the publisher: the receive time, not 1970
        self.shared.message_times = times
        outcome = Outcome.CONVERTED
        try:
            rows = entry.func(msg, entry.context)
        except PartialConversionError as err:  # a part failed: counted, and the rest is written
            self.record_error(topic, f"ConversionError: {err}")
            rows, outcome = err.rows, Outcome.FAILED
        except ConversionError as err:  # bad data, said so by the converter
            self.record_error(topic, f"{type(err).__name__}: {err}")
            return Outcome.FAILED
        except Exception as err:  # in use, never the bridge's end; in strict mode, a converter bug
            if self.strict:
                raise
            self.record_error(topic, f"{type(err).__name__}: {err}")
            return Outcome.FAILED
        if self.row_filter is not None:
            rows = [row for row in rows if self.row_filter(row)]
        if stamp == 0:
            self._count_zero_stamps(entry.stats, 1)
        rows = _place_zero_stamps(rows, log_time_ns)
        for sink in self.sinks:
            sink.write(rows, times)
        stats = entry.stats
        stats.rows += len(rows)
        produced = stats.produced
        for row in rows:  # a loop, not a generator: this runs once per message
            if row.archetype not in produced:
                produced.add(row.archetype)
        return outcome

    def expire(self, log_time_ns: int) -> None:
        """Write what shared state held for later and is due by ``log_time_ns`` (the live bridge calls it as
        its clock runs: a marker whose lifetime ended while its publisher went quiet disappears)."""
        for holder in self.shared.holding_rows():
            self._write_held(holder.due_everywhere({LOG_TIME: log_time_ns}))

    def finish(self) -> None:
        """The stream has ended: write what shared state still holds for later (marker lifetimes' Clears,
        at their own times). Replay calls it after the last message, the live bridge at shutdown."""
        for holder in self.shared.holding_rows():
            self._write_held(holder.at_stream_end())

    def finish_topic(self, topic: str) -> None:
        """No more of ``topic``'s messages come for now: write what shared state holds for it (its marker
        lifetimes' Clears). A lazily opened bag calls it after each chunk's messages of the topic."""
        for holder in self.shared.holding_rows():
            rows = holder.at_topic_end(topic)
            if rows:
                self._write_held({topic: rows})

    def _write_held(self, rows_by_topic: Mapping[str, list[Row]]) -> None:
        for topic, rows in rows_by_topic.items():
            for sink in self.sinks:
                sink.write(rows, {})
            entry = self._topics.get(topic)
            if entry is not None:
                entry.stats.rows += len(rows)
                entry.stats.produced.update(row.archetype for row in rows)


def _place_zero_stamps(rows: list[Row], log_time_ns: int) -> list[Row]:
    """Rows whose own ``ros_time`` is 0 (a TF edge or log record never stamped) moved to the receive time."""
    if all(row.times.get(ROS_TIME) != 0 for row in rows):
        return rows
    return [
        dataclasses.replace(row, times={**row.times, ROS_TIME: log_time_ns})
        if row.times.get(ROS_TIME) == 0
        else row
        for row in rows
    ]


def _raw_when_unmapped(mapped: ConverterFunc, raw: ConverterFunc) -> ConverterFunc:
    """A declarative mapping that maps nothing of a message (a typo in every entry's field path) keeps
    the message as an unmapped type's raw columns and plots, its error counted: the mapping used to
    lose the topic's data, worse than no mapping at all (audit)."""

    def convert(msg: Any, ctx: ConvertContext) -> list[Row]:
        try:
            return mapped(msg, ctx)
        except PartialConversionError:
            raise
        except ConversionError as err:
            raise PartialConversionError(f"{err}; the message is kept as raw columns", raw(msg, ctx)) from err

    return convert
