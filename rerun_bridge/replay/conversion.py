"""Bag replay: read recordings, decode, convert, and write .rrd and raw .mcap outputs."""

from __future__ import annotations

import gc
import heapq
import itertools
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from rerun_bridge.cdr.decoding import Decoder, DecoderChoice, TypeResolver
from rerun_bridge.config import RobotModelConfig
from rerun_bridge.convert.arrow_schema import arrow_type_for
from rerun_bridge.convert.registry import ConverterTable
from rerun_bridge.model.entity_path import EntityPath
from rerun_bridge.model.records import MessageDefinition, RawMessage, TopicInfo
from rerun_bridge.model.type_names import normalize_type_name
from rerun_bridge.pipeline import Pipeline, RowSink, TopicKind, TopicStats, TypeSupport
from rerun_bridge.replay.column_batches import ColumnReplay
from rerun_bridge.replay.forwarding import ForwardWriter, read_forwarded
from rerun_bridge.replay.outcome import outcome_rows
from rerun_bridge.replay.split import WorkUnit
from rerun_bridge.robot.settings import robot_model_setup
from rerun_bridge.sinks.disk_space import DEFAULT_RESERVE_MB, DiskSpaceGuard
from rerun_bridge.sinks.mcap import McapSink
from rerun_bridge.sinks.rrd import ClosingBlueprint, RrdSink
from rerun_bridge.sinks.sent_catalog import SentCatalog
from rerun_bridge.sources.bag import Bag, open_bag
from rerun_bridge.sources.ros_qos import LATCHED_TOPICS, recorded_transient_local

Progress = Callable[[int, int], None]
#: Bytes handed to Rerun's file writer before the conversion waits for it to catch up: bounds memory
#: when the disk is slower than the conversion, at the cost of a short pause every so often.
RRD_BACKLOG_BYTES = 256 << 20
#: Rows per .rrd chunk: the most Rerun keeps in one sorted chunk (each chunk has a fixed cost to write).
CONVERT_BATCH_ROWS = 4096
#: Chunk budget of rows of numpy arrays (two 30 k-point clouds; see sinks/batcher.py).
CONVERT_ARRAY_BATCH_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class TopicSelection:
    """``--topics`` / ``--exclude`` regular expressions (``re.search``) and a time window in ns."""

    include: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None
    start_ns: int | None = None
    end_ns: int | None = None

    def accepts(self, topic: str) -> bool:
        if self.include is not None and not self.include.search(topic):
            return False
        return not (self.exclude is not None and self.exclude.search(topic))


@dataclass(frozen=True, slots=True)
class ForwardSource:
    """A forward file that part 0 reads after its own range, and whether its writer still runs."""

    path: Path
    running: Callable[[], bool]
    number: int


@dataclass(frozen=True, slots=True)
class PartSpec:
    """One part of a conversion split across processes (:mod:`.parallel`): its work unit and the
    recording id all parts share. Part 0 carries the recording's properties and blueprint and converts
    the whole topics, its own range's and then those that the other parts hand over (``forwarded``); the
    others write them to ``forward_to``. No part writes the outcome (the process that joins them does,
    from every part's counts)."""

    unit: WorkUnit
    recording_id: str
    forward_to: Path | None = None
    forwarded: tuple[ForwardSource, ...] = ()


@dataclass(slots=True)
class ConvertSummary:
    topics: list[TopicStats]
    rrd_path: Path | None
    mcap_path: Path | None
    warnings: list[str] = field(default_factory=list)
    mcap_messages: int = 0
    #: What the .rrd (or this part of it) holds: entities, columns, frames (None without an .rrd).
    sent: SentCatalog | None = None

    @property
    def converted_anything(self) -> bool:
        return any(t.rows > 0 for t in self.topics)


def _definition_for(info: TopicInfo, choice: DecoderChoice) -> MessageDefinition:
    """The schema to store in the MCAP re-recording: the bag's own, else one generated from the typestore,
    else (a type nobody defines: a Humble bag's custom message) none: a schema of the type's name with no
    encoding and no text. The messages are kept, for `ros2 bag play` (which needs only the type's name)
    and a later conversion with ``--msg-path``. rosbag2 writes the encoding ``unknown`` there, which
    rosbags' reader refuses for the whole file; an empty one it reads as "no definition", as we do."""
    if info.definition is not None:
        return info.definition
    if choice.typestore is None:
        return MessageDefinition("", "")
    text, _digest = choice.typestore.generate_msgdef(info.type_name, ros_version=2)
    return MessageDefinition("ros2msg", text)


# One keyword per `rerun-bridge convert` option, plus what the viewer and the tests pass.
def convert_bags(  # noqa: PLR0913
    paths: Sequence[str | Path],
    rrd_path: str | Path | None,
    mcap_path: str | Path | None = None,
    *,
    selection: TopicSelection | None = None,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    application_id: str = "rerun_bridge",
    extra_sinks: Sequence[RowSink] = (),
    blueprint: Any = None,
    column_path: bool = True,
    robot_model: RobotModelConfig | None = None,
    types: TypeSupport | None = None,
    open_recording: Callable[[str | Path], Bag] = open_bag,
    min_free_mb: float = DEFAULT_RESERVE_MB,
    part: PartSpec | None = None,
    jobs: int = 1,
    default_layout: bool = False,
) -> ConvertSummary:
    """Convert one or more recordings into one .rrd (and optionally one raw .mcap); ``blueprint``, a Rerun
    blueprint, is embedded in the .rrd as its default layout; without one, ``default_layout`` embeds the
    bridge's default layout of what the .rrd holds, made as it closes. ``column_path`` False converts every
    message on its own (the reference that the batched path of :mod:`.column_batches` is held to).
    ``robot_model``: mesh roots for a recorded ``/robot_description`` and a URDF file to draw.
    ``types``: declarative mappings, supplied definitions and leaf plots (see
    :mod:`rerun_bridge.custom_types`). ``open_recording`` opens each of ``paths``: :func:`open_bag`, or
    one that reads from object storage (:mod:`rerun_bridge.fleet.remote_bags`). ``min_free_mb``: the free
    space the outputs leave on their disk; at the reserve both files are closed complete and
    :class:`DiskFullError` is raised. ``part``: convert only one work unit of a split conversion, into
    a part file (see :mod:`.parallel`, which calls this). ``jobs``: processes to split one recording's
    conversion across (docs/convert.md; only for an .rrd alone, and where :func:`.parallel.plan_conversion`
    finds a split)."""
    types = types or TypeSupport()
    default_layout = default_layout and blueprint is None
    if jobs > 1 and rrd_path is not None and mcap_path is None and not extra_sinks and column_path:
        from rerun_bridge.replay.parallel import ParallelOptions, convert_parallel, plan_conversion

        if open_recording is open_bag:  # a child process opens the bag itself, by its path
            options = ParallelOptions(
                selection or TopicSelection(),
                application_id,
                robot_model,
                types,
                min_free_mb,
                blueprint,
                default_layout,
            )
            units = plan_conversion(paths, jobs, options)
            if len(units) > 1:
                return convert_parallel(paths, Path(rrd_path), units, options, progress, warn)
    warnings: list[str] = []

    def note(message: str) -> None:
        warnings.append(message)
        if warn is not None:
            warn(message)

    # Conversion makes millions of short-lived objects and no reference cycles worth collecting early:
    # collecting less often saves several percent of the run.
    gc_thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        guard = DiskSpaceGuard(int(min_free_mb * 1e6))
        with ExitStack() as stack:
            bags = [stack.enter_context(open_recording(path)) for path in paths]
            sinks: list[RowSink] = list(extra_sinks)
            rrd = None
            if rrd_path is not None:
                rrd = stack.enter_context(
                    RrdSink(
                        rrd_path,
                        application_id=application_id,
                        default_blueprint=blueprint,
                        batch_rows=CONVERT_BATCH_ROWS,
                        array_batch_bytes=CONVERT_ARRAY_BATCH_BYTES,
                        backlog_bytes=RRD_BACKLOG_BYTES,
                        guard=guard,
                        recording_id=part.recording_id if part is not None else None,
                        send_properties=part is None or part.unit.number == 0,
                        # A split conversion's joiner writes the layout of all parts (parallel.py).
                        closing_blueprint=_default_layout() if default_layout and part is None else None,
                        hold_sole_frames=part is None,  # the joiner writes those of all parts
                        # The recording's own start, not the conversion's (a catalog sorts by it).
                        start_time_ns=_first_time(bags, selection),
                    )
                )
                sinks.append(rrd)
            mcap = stack.enter_context(McapSink(mcap_path, guard=guard)) if mcap_path is not None else None
            for problem in types.problems:
                note(problem)
            pipeline = Pipeline(
                sinks,
                warn=note,
                converters=types.converters,
                leaf_scalars=types.leaf_scalars,
                # A part of a split conversion writes rows whole (its topics' messages may be forwarded).
                whole_history=part is None,
            )
            if robot_model is not None:
                pipeline.use_robot_model(*robot_model_setup(robot_model))
            conversion = BagConversion(pipeline, mcap, note, column_path, types)
            for bag_index, bag in enumerate(bags):
                conversion.add_bag(bag_index, bag, selection or TopicSelection())
            conversion.replay(bags, selection or TopicSelection(), progress, part)
            conversion.finish(bags, selection or TopicSelection())
            topics = pipeline.topic_stats()
            for late in _late_warnings(bags, types, topics):
                if late not in warnings:
                    note(late)
            # The outcome outlives stderr (the viewer's store gets none: not data); a part's is its joiner's.
            if rrd is not None and part is None:
                rrd.write(outcome_rows(topics, paths, warnings), {})
            return ConvertSummary(
                topics=topics,
                rrd_path=Path(rrd_path) if rrd_path is not None else None,
                mcap_path=Path(mcap_path) if mcap_path is not None else None,
                warnings=warnings,
                mcap_messages=mcap.messages_written if mcap is not None else 0,
                sent=rrd.sent if rrd is not None else None,
            )
    finally:
        gc.set_threshold(*gc_thresholds)


def _late_warnings(bags: Sequence[Bag], types: TypeSupport, topics: Sequence[TopicStats]) -> list[str]:
    """What is known once every message was read: the recordings' problems (damage met on the way), and
    the mappings of types no topic has."""
    problems = [problem for bag in bags for problem in bag.problems]
    return problems + types.unused_mappings(topic.type_name for topic in topics)


def _default_layout() -> ClosingBlueprint:
    from rerun_bridge.blueprint.file_layout import closing_layout  # Rerun's blueprint API: when used

    return closing_layout(None)


class BagConversion:
    """Routes every selected message of every bag to the pipeline (one by one or in column batches) and
    to the raw MCAP re-recording."""

    def __init__(
        self,
        pipeline: Pipeline,
        mcap: McapSink | None,
        note: Callable[[str], None],
        column_path: bool,
        types: TypeSupport,
    ) -> None:
        self.pipeline = pipeline
        self.types = types
        self.mcap = mcap
        self.note = note
        self.column_path = column_path
        self.decoders: dict[tuple[int, str], Decoder] = {}
        # (bag index, topic) -> the pipeline's name for it: the topic itself, or, where an earlier bag
        # recorded the same topic with another type, a name of its own (its rows kept apart, not mixed).
        self.routes: dict[tuple[int, str], str] = {}
        self.channels: dict[tuple[int, str], int] = {}
        self.types_seen: dict[str, str] = {}  # topic -> the type it was first recorded with
        self.batched = ColumnReplay(pipeline, self.one_by_one)

    def one_by_one(self, bag_index: int, topic: str, payload: bytes | memoryview, log_time_ns: int) -> None:
        key = (bag_index, topic)
        self.pipeline.process_raw(self.routes[key], payload, log_time_ns, self.decoders.get(key))

    def add_bag(self, bag_index: int, bag: Bag, selection: TopicSelection) -> None:
        """Decide once per selected topic of this bag how its messages decode, convert and re-record."""
        resolver = TypeResolver(
            bag.topics(), bag.ros_distro, supplied=self.types.definitions, rejected=self.types.rejected
        )
        for info in bag.topics():
            if selection.accepts(info.name):
                choice = resolver.choose(info.type_name, info.serialization_format)
                self._add_topic(bag_index, bag, info, choice)
        for problem in bag.problems:
            self.note(problem)

    def _add_topic(self, bag_index: int, bag: Bag, info: TopicInfo, choice: DecoderChoice) -> None:
        key = (bag_index, info.name)
        type_name = normalize_type_name(info.type_name)
        first_type = self.types_seen.setdefault(info.name, type_name)
        name = _pipeline_name(info.name, type_name, first_type)
        self.routes[key] = name
        declared = self.types.declared_types.get(info.name)
        if declared and normalize_type_name(declared) != type_name:  # said, not taken silently (audit)
            self.note(
                f"{bag.path}: topic {info.name} is {info.type_name} in the recording, but the config's "
                f"topics.{info.name}.type says {declared}: converted as the recording's"
            )
        if self.pipeline.stats_of(name) is None:
            entity_path = None
            if name != info.name:
                entity_path = str(EntityPath.from_topic(info.name).join(type_name.rsplit("/", 1)[-1]))
                self.note(
                    f"{bag.path}: topic {info.name} has type {info.type_name} here but {first_type} in an "
                    f"earlier recording; its messages are kept apart at {entity_path}"
                )
            self.pipeline.add_topic(
                name,
                info.type_name,
                entity_path,
                options=self.types.topic_options.get(info.name),
                skip_reason=choice.reason,
                raw_type=_raw_type(info, choice, self.pipeline.converters),
            )
        if choice.decoder is not None:
            self.decoders[key] = choice.decoder
            if self.column_path:
                self.batched.add_topic(
                    bag_index, info.name, info.type_name, choice.decoder, choice.typestore, name
                )
        if self.mcap is not None:
            definition = _definition_for(info, choice)
            self.channels[key] = self.mcap.add_topic(info.name, info.type_name, definition, info.qos_profiles)

    def convert_messages(self, bag_index: int, messages: Iterable[RawMessage]) -> None:
        """Convert some messages of one bag (in log-time order) to the pipeline's sinks, column batches
        flushed at the end: a lazily opened bag converts one chunk's messages at a time."""
        for raw in messages:
            if not self.batched.offer(bag_index, raw.topic, raw.data, raw.log_time_ns):
                self.one_by_one(bag_index, raw.topic, raw.data, raw.log_time_ns)
        self.batched.flush()

    def replay(
        self,
        bags: Sequence[Bag],
        selection: TopicSelection,
        progress: Progress | None,
        part: PartSpec | None = None,
    ) -> None:
        """Every selected message, merged by log time across the bags (of one part only, when given)."""
        unit = part.unit if part is not None else None
        routes = {key for key in self.routes if unit is None or unit.reads(key[1])}
        total = sum(
            t.message_count
            for index, bag in enumerate(bags)
            for t in bag.topics()
            if (index, t.name) in routes
        )
        window = _unit_window(selection, unit)
        # Only the part that reads from the window's start (part 0) takes the latched messages before it.
        messages = _merged_indexed(bags, routes, window, latched_before=window.start_ns == selection.start_ns)
        forward = None
        forward_topics: frozenset[str] = frozenset()  # read here, converted by part 0
        if part is not None and unit is not None:
            if part.forward_to is not None:
                forward = ForwardWriter(part.forward_to, sorted(unit.whole_topics))
                forward_topics = unit.whole_topics
            if part.forwarded:
                messages = itertools.chain(messages, self._forwarded(bags[0], part.forwarded, unit))
        done = 0
        mcap = self.mcap
        for bag_index, raw in messages:
            if forward is not None and raw.topic in forward_topics:
                forward.write(raw)
                continue
            done += 1
            if progress is not None and done % 256 == 0:
                progress(done, total)
            if mcap is not None:
                channel = self.channels.get((bag_index, raw.topic))
                if channel is not None:
                    mcap.write(channel, raw.log_time_ns, raw.publish_time_ns, raw.data)
            if not self.batched.offer(bag_index, raw.topic, raw.data, raw.log_time_ns):
                self.one_by_one(bag_index, raw.topic, raw.data, raw.log_time_ns)
        self.batched.flush()
        if forward is not None:
            forward.close()
        if progress is not None:
            progress(done, max(total, done))

    def finish(self, bags: Sequence[Bag], selection: TopicSelection) -> None:
        """The stream ended: what the pipeline holds for later (marker lifetimes) is written, and the
        topics whose partial rows went wrong are written again whole (:meth:`rewrite_whole`)."""
        self.pipeline.finish()
        if self.pipeline.shared.rewrite_whole:
            self.rewrite_whole(bags, selection, self.pipeline.shared.rewrite_whole)

    def rewrite_whole(self, bags: Sequence[Bag], selection: TopicSelection, topics: Collection[str]) -> None:
        """The messages of ``topics`` converted again, afresh, with whole rows, into the same sinks: a
        topic whose partial rows a later message stamped before them made wrong at some times (see
        ``SharedState.whole_history``). Every time they were written at gets a whole row, written after
        them, so it shows."""
        again = self.pipeline.rewriter(sorted(topics))
        routes = {key for key, name in self.routes.items() if name in topics}
        for bag_index, raw in _merged_indexed(bags, routes, selection):
            key = (bag_index, raw.topic)
            again.process_raw(self.routes[key], raw.data, raw.log_time_ns, self.decoders.get(key))
        again.finish()

    @staticmethod
    def _forwarded(
        bag: Bag, sources: Sequence[ForwardSource], unit: WorkUnit
    ) -> Iterator[tuple[int, RawMessage]]:
        topics = sorted(unit.whole_topics)
        type_names = {t.name: t.type_name for t in bag.topics()}
        for source in sources:
            for raw in read_forwarded(source.path, topics, type_names, source.running, source.number):
                yield 0, raw


def _first_time(bags: Sequence[Bag], selection: TopicSelection | None) -> int | None:
    """When the converted stretch starts: the window's start, else the bags' first message."""
    if selection is not None and selection.start_ns is not None:
        return selection.start_ns
    starts = [bounds[0] for bounds in (bag.time_bounds() for bag in bags) if bounds is not None]
    return min(starts) if starts else None


def _unit_window(selection: TopicSelection, unit: WorkUnit | None) -> TopicSelection:
    """The time window to read for a unit: the selection's, narrowed to the unit's range (so that its
    reader skips the chunks of other units)."""
    if unit is None:
        return selection
    starts = [v for v in (selection.start_ns, unit.start_ns) if v is not None]
    ends = [v for v in (selection.end_ns, unit.end_ns) if v is not None]
    return TopicSelection(
        selection.include, selection.exclude, max(starts) if starts else None, min(ends) if ends else None
    )


def _raw_type(info: TopicInfo, choice: DecoderChoice, converters: ConverterTable) -> Any:
    """The Arrow type of a topic without a converter (None: it has one, or none can be derived)."""
    if choice.typestore is None or converters.lookup(info.type_name) is not None:
        return None
    try:
        return arrow_type_for(choice.typestore, normalize_type_name(info.type_name))
    except KeyError:
        return None


def _pipeline_name(topic: str, type_name: str, first_type: str) -> str:
    """A topic's name in the pipeline: itself, or, for a type other than the one it was first recorded
    with, the topic with that type (so rows of two message types never share one entity)."""
    return topic if type_name == first_type else f"{topic} ({type_name})"


#: Types of topics published transient local whose messages are events, not a state that holds (/rosout
#: keeps its last lines for late joiners): a window from ``--start`` takes none of their past.
EVENT_TYPES: Final = frozenset({"rcl_interfaces/msg/Log", "rcl_interfaces/msg/ParameterEvent"})


def _with_latched_before(
    bag: Bag, latched: Collection[str], held: Collection[str], start_ns: int, window: Iterator[RawMessage]
) -> Iterator[RawMessage]:
    """The window's messages, led by what a subscriber joining at its start would get: every message of
    the ``latched`` topics before it and the last one of each ``held`` (transient local) topic; only once
    the window has a message (a window past the recording's end converts nothing, as without them)."""
    first = next(window, None)
    if first is None:
        return
    before: list[RawMessage] = []
    last_held: dict[str, RawMessage] = {}
    for message in bag.messages({*latched, *held}, None, start_ns - 1):
        # Copies: a message's bytes may be a view of a chunk the reader reuses once it moves on.
        kept = message._replace(data=bytes(message.data))
        if message.topic in held:
            last_held[message.topic] = kept
        else:
            before.append(kept)
    yield from sorted([*before, *last_held.values()], key=lambda message: message.log_time_ns)
    yield first
    yield from window


def _tagged(index: int, messages: Iterator[RawMessage]) -> Iterator[tuple[int, RawMessage]]:
    # A function, not a generator expression in a loop: that would read the loop's last index lazily.
    for message in messages:
        yield index, message


def _merged_indexed(
    bags: Sequence[Bag],
    routes: Collection[tuple[int, str]],
    selection: TopicSelection,
    latched_before: bool = True,
) -> Iterator[tuple[int, RawMessage]]:
    """Every selected message of every bag, merged by log time, tagged with its bag's index. With a
    ``--start`` (and ``latched_before``), the messages of the latched topics whose rows are static
    (``LATCHED_TOPICS``) recorded before it come first: a subscriber joining then would get them, and
    without them a window after the first seconds of a bag had no static frames (its scans and clouds
    could not be placed) and no robot model. So does the last message before it of each topic recorded
    transient local (a map server's /map: a window had no map, and every costmap update failed)."""
    streams = []
    start = selection.start_ns
    for index, bag in enumerate(bags):
        topics = {topic for bag_index, topic in routes if bag_index == index}
        window = bag.messages(topics, start, selection.end_ns)
        latched = topics & LATCHED_TOPICS
        held = {
            info.name
            for info in bag.topics()
            if info.name in topics - latched
            and recorded_transient_local(info.qos_profiles)
            and normalize_type_name(info.type_name) not in EVENT_TYPES
        }
        if start is not None and latched_before and (latched or held):
            window = _with_latched_before(bag, latched, held, start, window)
        streams.append(_tagged(index, window))
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=lambda item: item[1].log_time_ns)


def topic_kind_label(stats: TopicStats) -> str:
    if stats.kind is not TopicKind.CONVERTED:
        return str(stats.kind.value)
    return ", ".join(sorted(stats.produced)) or "converted"
