"""``rerun-bridge``: the command line.

Exit codes: 0 when something was converted (warnings are printed, not fatal), 1 when nothing could be,
2 for wrong arguments or unreadable inputs. Errors name the file and the topic.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from rerun_bridge import __version__
from rerun_bridge.errors import BridgeError
from rerun_bridge.sinks.disk_space import DEFAULT_RESERVE_MB
from rerun_bridge.type_arguments import add_type_arguments

if TYPE_CHECKING:
    import rerun.blueprint as rrb

    from rerun_bridge.blueprint.model import Blueprint, Node, View
    from rerun_bridge.cdr.decoding import DecoderChoice
    from rerun_bridge.model.records import TopicInfo
    from rerun_bridge.pipeline import TopicStats
    from rerun_bridge.replay import TopicSelection
    from rerun_bridge.sources.bag import Bag
    from rerun_bridge.store.chunk_store import ChunkStore

EXIT_OK = 0
EXIT_NOTHING_CONVERTED = 1
EXIT_USAGE = 2
#: ``info --check`` found damage (or rows rosbag2 never writes) in a recording.
EXIT_DAMAGE_FOUND = 1
#: ``convert --blueprint`` values: the bridge's layout of the data (made as the .rrd closes), and none.
DEFAULT_LAYOUT = "default"
NO_LAYOUT = "none"


def layout_choice(value: str | None) -> tuple[bool, str | None]:
    """``--blueprint``'s value (``convert``, ``batch``) as (the default layout, made as the .rrd closes;
    the scenario to resolve up front, or None)."""
    default_layout = value in (None, DEFAULT_LAYOUT)
    return default_layout, None if default_layout or value == NO_LAYOUT else value


# A --start / --end below this many seconds is an offset from the recording's start, above it an epoch time.
_OFFSET_LIMIT_S = 1e9
#: Times at or beyond this many seconds (about 292 years) do not fit the ns timelines (int64).
_TIME_LIMIT_S = 9.2e9


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line.rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def cmd_repair(args: argparse.Namespace) -> int:
    """Exit 0 when anything was kept (the damage is printed), 1 when nothing could be."""
    from rerun_bridge.repair import repair

    report = repair(args.file, args.output)
    print(report.describe())
    for note in report.notes:
        print(f"note: {note}")
    return EXIT_OK if report.kept else EXIT_NOTHING_CONVERTED


#: A topic's messages spanning less than this have no rate worth printing (/tf_static's two 25 us apart).
_SHORTEST_RATE_SPAN_NS = 1_000_000


def _rate(count: int, span_ns: int) -> str:
    """Messages a second between a topic's first and last message."""
    if count < 2 or span_ns < _SHORTEST_RATE_SPAN_NS:
        return "-"
    return f"{(count - 1) / (span_ns / 1e9):.1f} Hz"


def _span(span: tuple[int, int] | None, recording_ns: int) -> int:
    return span[1] - span[0] if span is not None else recording_ns


def cmd_info(args: argparse.Namespace) -> int:
    from rerun_bridge.cdr.decoding import TypeResolver
    from rerun_bridge.cdr.msg_path import load_definitions
    from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
    from rerun_bridge.sources.bag import open_bag

    supplied = load_definitions(args.msg_path)
    for problem in supplied.problems:
        print(f"warning: {problem}", file=sys.stderr)
    status = EXIT_OK
    for path in args.bags:
        with open_bag(path) as bag:
            topics = _read_counts(bag) if args.check else bag.topics()
            bounds = bag.time_bounds()
            # Each topic's rate over its own span: over the whole recording, one that starts late or
            # stops early read as slow (18.7 Hz for a 20 Hz odometry).
            spans = bag.topic_spans()
            duration = (bounds[1] - bounds[0]) if bounds else 0
            resolver = TypeResolver(
                topics, bag.ros_distro, supplied=supplied.types, rejected=supplied.rejected
            )
            kind = ", ".join(sorted({type(s).__name__.removesuffix("Storage").lower() for s in bag.storages}))
            print(
                f"{bag.path}: {len(bag.storages)} file(s), storage {kind}, "
                f"{sum(t.message_count for t in topics)} messages, {duration / 1e9:.3f} s"
            )
            if bounds:
                print(f"start {_seconds_text(bounds[0])}  end {_seconds_text(bounds[1])}")
            rows = []
            for topic in topics:
                choice = resolver.choose(topic.type_name, topic.serialization_format)
                converter = BUILTIN_CONVERTERS.lookup(topic.type_name)
                if choice.decoder is None:
                    target = f"skipped ({_why_skipped(choice.reason)})"
                elif converter is None:
                    target = "raw"
                else:
                    target = ", ".join(converter.archetypes)
                rows.append(
                    [
                        topic.name,
                        topic.type_name,
                        str(topic.message_count),
                        _rate(topic.message_count, _span(spans.get(topic.name), duration)),
                        target,
                    ]
                )
            # Before the table, where they are seen (after it, a missing metadata.yaml went unnoticed:
            # audit); stdout flushed first so that a terminal shows them in this order.
            sys.stdout.flush()
            for problem in bag.problems:
                print(f"warning: {problem}", file=sys.stderr)
            sys.stderr.flush()
            _print_table(["topic", "type", "count", "rate", "converter"], rows)
            if args.timing:
                choices = {
                    topic.name: resolver.choose(topic.type_name, topic.serialization_format)
                    for topic in topics
                }
                _print_timing(bag, choices, {topic.name: topic.type_name for topic in topics})
            if args.check and not bag.problems:  # said: otherwise --check reads as plain info
                print(f"checked: every message of {bag.path} reads, no damage found")
            elif args.check:  # a script (CI) tells damage by the status, not only by the warnings (audit)
                status = max(status, EXIT_DAMAGE_FOUND)
    return status


def _print_timing(bag: Bag, choices: Mapping[str, DecoderChoice], type_names: Mapping[str, str]) -> None:
    """``info --timing``: each topic's (and TF edge's) header stamps against receive times, and gaps."""
    from rerun_bridge.stamp_timing import StampTiming, duration_text, findings

    timing = StampTiming(choices, type_names)
    for message in bag.messages():
        timing.add(message)
    bounds = bag.time_bounds()
    timings = timing.timings(bounds[0] if bounds else 0)

    def text(nanos: int | None) -> str:
        return "-" if nanos is None else duration_text(nanos)

    print()
    print("timing: receive time minus header stamp (median; 5th to 95th percentile), gaps between messages")
    _print_table(
        ["topic / TF edge", "count", "stamped", "receive - stamp", "5 % .. 95 %", "period", "longest gap"],
        [
            [
                item.name,
                str(item.count),
                str(item.stamped),
                "sim time" if item.sim_time else text(item.delay_median_ns),
                "-"
                if item.delay_low_ns is None or item.sim_time
                else f"{text(item.delay_low_ns)} .. {text(item.delay_high_ns)}",
                text(item.period_ns),
                text(item.longest_gap_ns),
            ]
            for item in timings
        ],
    )
    for finding in findings(timings):
        print(f"note: {finding}")


def _read_counts(bag: Bag) -> list[TopicInfo]:
    """The bag's topics with the number of messages that can actually be read (a summary may count
    messages in a damaged chunk)."""
    counts: dict[str, int] = {}
    for message in bag.messages():
        counts[message.topic] = counts.get(message.topic, 0) + 1
    return [topic._replace(message_count=counts.get(topic.name, 0)) for topic in bag.topics()]


def cmd_types(_args: argparse.Namespace) -> int:
    from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS

    for conv in BUILTIN_CONVERTERS.all():
        print(f"{conv.type_name}  {', '.join(conv.archetypes)}")
    return EXIT_OK


def _time_arg(option: str, text: str | None, bag_start_ns: int | None) -> int | None:
    """``--start`` / ``--end`` in ns. Numbers are read as decimals, not floats: a float keeps an epoch
    time to about 240 ns only, so the bounds ``info`` prints (to the ns) would cut off the first or last
    message. A value that is no time raises ValueError naming the option."""
    from decimal import Decimal, InvalidOperation

    from rerun_bridge.model.timeline import NANOS_PER_SECOND, parse_time_arg

    if text is None:
        return None
    try:
        seconds = Decimal(text.strip())
    except InvalidOperation:
        try:
            return parse_time_arg(text)
        except ValueError as err:
            raise ValueError(f"{option}: {err}") from err
    if not seconds.is_finite():
        raise ValueError(f"{option} {text}: not a time (seconds from the start, or since the epoch)")
    if abs(seconds) >= _TIME_LIMIT_S:
        raise ValueError(
            f"{option} {text}: out of range (seconds from the start below 1e9, or since the epoch below "
            f"{_TIME_LIMIT_S:.0e})"
        )
    nanos = int((seconds * NANOS_PER_SECOND).to_integral_value())
    return (bag_start_ns or 0) + nanos if seconds < _OFFSET_LIMIT_S else nanos


def _why_skipped(reason: str) -> str:
    """A decoder choice's reason, in a few words for the ``info`` table (convert's warning says it all)."""
    if "is not CDR" in reason:
        return "not CDR"
    if "supplied definition" in reason:
        return "supplied definition left out"
    if "not ros2msg" in reason:
        return "definition not ros2msg / ros2idl"
    if "does not parse" in reason:
        return "definition does not parse"
    return "no definition"


def _seconds_text(nanos: int) -> str:
    """A time in ns as exact decimal seconds (``1727032732.184428829``): what ``--start`` / ``--end`` read
    back to the same ns."""
    sign = "-" if nanos < 0 else ""
    whole, fraction = divmod(abs(nanos), 1_000_000_000)
    return f"{sign}{whole}.{fraction:09d}"


class _ProgressBar:
    """A one-line progress bar on stderr, drawn only for work that lasts and only on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.last_draw = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.started < 1.0 or (now - self.last_draw < 0.2 and done < total):
            return
        self.last_draw = now
        fraction = min(done / total, 1.0) if total else 1.0
        bar = "#" * int(fraction * 30)
        print(
            f"\r[{bar:<30}] {fraction:6.1%} {done}/{total} messages, {now - self.started:.1f} s",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def finish(self) -> None:
        if self.enabled and self.last_draw:
            print(file=sys.stderr)


def cmd_convert(args: argparse.Namespace) -> int:
    from rerun_bridge.replay.allocator import reuse_big_buffers

    reuse_big_buffers()  # a process that converts and exits (see the module)
    from rerun_bridge.replay import TopicSelection, convert_bags
    from rerun_bridge.replay.outcome import SUMMARY_HEADERS, summary_table
    from rerun_bridge.replay.parallel import auto_jobs
    from rerun_bridge.robot.settings import robot_model_of
    from rerun_bridge.sources.bag import open_bag

    patterns: dict[str, re.Pattern[str] | None] = {}
    for option, texts in (("--topics", args.topics), ("--exclude", args.exclude)):
        # Given more than once, any of them matches (the last alone was kept, silently: audit).
        for text in texts or ():
            try:
                re.compile(text)
            except re.error as err:
                print(f"error: {option} {text!r}: bad regular expression: {err}", file=sys.stderr)
                return EXIT_USAGE
        patterns[option] = re.compile("|".join(f"(?:{text})" for text in texts)) if texts else None
    include, exclude = patterns["--topics"], patterns["--exclude"]
    clash = _output_clash([args.output, *([args.mcap] if args.mcap else [])], args.bags)
    if clash:
        print(f"error: {clash}", file=sys.stderr)
        return EXIT_USAGE
    if args.output.suffix.lower() == ".mcap":
        # -o writes Rerun's format whatever its name: `-o run.mcap` for `--mcap run.mcap` gave an .rrd
        # named .mcap that nothing reads as MCAP.
        print(f"error: -o {args.output}: -o writes an .rrd; an .mcap is --mcap's", file=sys.stderr)
        return EXIT_USAGE
    spans = []
    # Offsets in --start / --end count from the first recording's start: open the bags for it only then.
    for path in args.bags if args.start is not None or args.end is not None else ():
        with open_bag(path) as bag:
            bounds = bag.time_bounds()
            if bounds:
                spans.append(bounds)
    first_start = min(start for start, _ in spans) if spans else None
    try:
        selection = TopicSelection(
            include,
            exclude,
            _time_arg("--start", args.start, first_start),
            _time_arg("--end", args.end, first_start),
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if (
        selection.start_ns is not None
        and selection.end_ns is not None
        and selection.start_ns > selection.end_ns
    ):
        print(f"error: --start {args.start} is after --end {args.end}", file=sys.stderr)
        return EXIT_USAGE
    from rerun_bridge.custom_types import command_line_types

    types = command_line_types(args.config, args.msg_path)
    progress = _ProgressBar(enabled=sys.stderr.isatty() and not args.quiet)
    started = time.monotonic()
    default_layout, scenario = layout_choice(args.blueprint)
    blueprint = rerun_blueprint_for(scenario, args.bags, selection) if scenario is not None else None
    try:
        with _terminated_as_interrupted():
            summary = convert_bags(
                args.bags,
                args.output,
                args.mcap,
                selection=selection,
                blueprint=blueprint,
                default_layout=default_layout,
                robot_model=robot_model_of(args),
                progress=progress,
                types=types,
                warn=lambda message: print(
                    f"\nwarning: {message}" if progress.last_draw else f"warning: {message}", file=sys.stderr
                ),
                min_free_mb=args.min_free_mb,
                jobs=auto_jobs(args.bags) if args.jobs == "auto" else int(args.jobs),
            )
    except KeyboardInterrupt as interrupt:
        progress.finish()
        return _interrupted(interrupt, [path for path in (args.output, args.mcap) if path is not None])
    progress.finish()
    elapsed = time.monotonic() - started
    if not args.quiet:  # the same table is in the .rrd, under /rerun_bridge/convert (replay/outcome.py)
        _print_table(list(SUMMARY_HEADERS), summary_table(summary.topics))
    print(
        f"wrote {summary.rrd_path}"
        + (f" and {summary.mcap_path} ({summary.mcap_messages} messages)" if summary.mcap_path else "")
        + f" in {elapsed:.2f} s"
        + ("" if summary.converted_anything else ": no data, only the conversion's summary")
    )
    if not summary.converted_anything:
        reason = _why_nothing(summary.topics, selection, spans)
        print(f"error: nothing could be converted{': ' + reason if reason else ''}", file=sys.stderr)
        return EXIT_NOTHING_CONVERTED
    return EXIT_OK


@contextmanager
def _terminated_as_interrupted() -> Iterator[None]:
    """SIGTERM (``timeout``, systemd, ``docker stop``, a CI job's end) raises KeyboardInterrupt as Ctrl-C
    does, so outputs are closed whole (footer, summary) rather than cut where the process was killed."""

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(interrupt: KeyboardInterrupt, outputs: Sequence[Path]) -> int:
    """One line for a conversion stopped by Ctrl-C or SIGTERM (no traceback), naming what it left; the
    exit status of a process ended by that signal (130, 143)."""
    signum = int(interrupt.args[0]) if interrupt.args else signal.SIGINT
    kept = [str(path) for path in outputs if path.exists()]
    verb = "holds" if len(kept) == 1 else "hold"
    left = f"{' and '.join(kept)} {verb} what was converted before it" if kept else "no output was written"
    print(f"error: interrupted ({signal.Signals(signum).name}): {left}", file=sys.stderr)
    return 128 + signum


def _output_clash(outputs: Sequence[Path], inputs: Sequence[str]) -> str:
    """Why the outputs cannot be written as given (empty when they can): an output that is one of the
    recording's files (``--mcap run.mcap`` for the input ``run.mcap``) would destroy it while it is read,
    and ``-o`` and ``--mcap`` naming one file would write both formats into it."""

    def same(one: Path, other: Path) -> bool:
        if one.exists() and other.exists():
            return os.path.samefile(one, other)
        return one.resolve() == other.resolve()

    if len(outputs) == 2 and same(outputs[0], outputs[1]):
        return f"-o and --mcap name the same file ({outputs[0]}): give each its own"
    for output in outputs:
        for recording in map(Path, inputs):
            files = [recording]
            if recording.is_dir():  # a bag folder: its metadata.yaml and storage files
                files = [path for path in recording.iterdir() if path.is_file()]
            if any(same(output, file) for file in files):
                return f"{output} is a file of the recording {recording}: writing it would destroy the input"
    return ""


def _why_nothing(
    topics: Sequence[TopicStats], selection: TopicSelection, spans: Sequence[tuple[int, int]]
) -> str:
    """Why a conversion wrote no rows, when the options or the recording say it (else the warnings do): a
    bare "nothing could be converted" after a --topics typo or a window past the end read as a broken bag."""
    if not topics:
        if selection.include is not None or selection.exclude is not None:
            return "no topic of the recordings matches --topics / --exclude (rerun-bridge info lists them)"
        return "the recordings hold no topics"
    if any(topic.messages for topic in topics):
        return ""
    if selection.start_ns is None and selection.end_ns is None:
        return "the recordings hold no messages"
    window = "no message of the selected topics lies between --start and --end"
    if not spans:
        return window
    first, last = min(start for start, _ in spans), max(end for _, end in spans)
    return f"{window} (the recording spans 0 to {(last - first) / 1e9:.3f} s from its start)"


def jobs_argument(text: str) -> str:
    """``--jobs``: ``auto`` or a whole number >= 1 (kept as text, resolved once the inputs are known)."""
    if text == "auto" or (text.isdigit() and int(text) >= 1):
        return text
    raise argparse.ArgumentTypeError(f"expected 'auto' or a number >= 1, got {text!r}")


def _number_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def megabytes_argument(text: str) -> float:
    """``--min-free-mb``: a finite number >= 0."""
    value = _number_or_nan(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of megabytes >= 0, got {text!r}")
    return value


def history_argument(text: str) -> float:
    """``receive --history``: a finite number of seconds >= 0."""
    value = _number_or_nan(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def duration_argument(text: str) -> float:
    """``receive --duration``: a finite number of seconds > 0 (-1 stopped after the first chunk)."""
    value = _number_or_nan(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


class _Chosen(NamedTuple):
    """A blueprint for a recording, the recording's TF entities (for Rerun's axes), its series names (for
    Rerun's legends) and its depth images' units (for their ranges; export.py)."""

    blueprint: Blueprint
    tf_entities: Sequence[str]
    series_names: Mapping[str, Sequence[str]] = MappingProxyType({})
    depth_meters: Mapping[str, tuple[str, float]] = MappingProxyType({})


def _print_note(note: str) -> None:
    print(f"note: {note}", file=sys.stderr)


def _chosen_blueprint(
    name: str,
    bags: Sequence[str],
    selection: TopicSelection | None = None,
    note: Callable[[str], None] = _print_note,
) -> _Chosen:
    """A shipped blueprint, a YAML file, or ``default``: the layout the viewer gives ``bags``' data (the one
    heuristic), found by converting them once into memory. A blueprint naming roles ($odometry) or with a
    3D view or a plot has its roles, fixed frames, TF entities and series names taken from that data too,
    as the viewer does. ``note``: what is said about the fit of layout and data (stderr by default)."""
    import dataclasses

    from rerun_bridge.blueprint.export import (
        DEFAULT_TF_ENTITIES,
        depth_meters_of,
        series_names_of,
        tf_entities_of,
    )
    from rerun_bridge.blueprint.heuristic import (
        DEFAULT_BLUEPRINT_NAME,
        default_blueprint_of,
        with_image_overlays,
    )
    from rerun_bridge.blueprint.library import resolve
    from rerun_bridge.blueprint.model import ViewKind, iter_views
    from rerun_bridge.blueprint.roles import names_roles, resolve_roles

    if name == DEFAULT_BLUEPRINT_NAME:
        store = _converted(bags, selection)
        return _Chosen(
            default_blueprint_of(store), tf_entities_of(store), series_names_of(store), depth_meters_of(store)
        )
    chosen = resolve(name)
    # 3D views take their fixed frames and TF entities from the data, plots their series names, 2D views
    # their depth images' units.
    from_data = any(
        view.kind in (ViewKind.SPATIAL3D, ViewKind.TIME_SERIES, ViewKind.SPATIAL2D)
        for view in iter_views(chosen.root)
    )
    if not bags or not (names_roles(chosen.root) or from_data):
        return _Chosen(chosen, DEFAULT_TF_ENTITIES)  # without data, a role stands for its usual name
    store = _converted(bags, selection)
    catalog = store if store.entities() else None
    root = resolve_roles(chosen.root, catalog).root
    if catalog is not None:
        root = with_image_overlays(root, store)
    resolved = dataclasses.replace(
        chosen, root=_fixed_frames_of(root, store, note), timeline=_timeline_of(chosen, store, note)
    )
    _note_views_without_data(resolved, store, note)
    return _Chosen(resolved, tf_entities_of(store), series_names_of(store), depth_meters_of(store))


def _note_views_without_data(blueprint: Blueprint, store: ChunkStore, note: Callable[[str], None]) -> None:
    """Say which views nothing in the data matches, as the viewer does: an imported RViz config or a
    scenario names its topics, and a robot's other names left empty views in the file without a word."""
    from rerun_bridge.blueprint.model import iter_views, shown_paths

    entities = store.entities()
    empty = [
        f"{view.name or view.origin} ({shown_paths(view.origin, _included(view))})"
        for view in iter_views(blueprint.root)
        if entities and not any(view.includes(entity) for entity in entities)
    ]
    if empty:
        note(f"nothing in the data for {', '.join(empty)}: rename the layout's paths to your topics")


def _included(view: View) -> list[str]:
    return [rule.pattern for rule in view.contents if rule.include]


def rerun_blueprint_for(
    name: str,
    bags: Sequence[str],
    selection: TopicSelection | None = None,
    note: Callable[[str], None] = _print_note,
) -> rrb.Blueprint:
    """The ``rerun.blueprint.Blueprint`` that ``convert --blueprint NAME`` embeds for ``bags`` (its notes
    to ``note``: a batch's worker returns them to the driver, which names the recording)."""
    from rerun_bridge.blueprint.export import to_rerun

    chosen = _chosen_blueprint(name, bags, selection, note)
    return to_rerun(chosen.blueprint, chosen.tf_entities, chosen.series_names, chosen.depth_meters)


def _timeline_of(chosen: Blueprint, store: ChunkStore, note: Callable[[str], None]) -> str:
    """The blueprint's timeline, or log_time where its ros_time stamps do not span the data (said on
    stderr), as the embedded viewer chooses; for a blueprint without one, the data's (Rerun's viewer
    opened an imported RViz layout on ros_time, empty for a header-less /cmd_vel, where the embedded
    viewer showed log_time: audit)."""
    from rerun_bridge.viewer.timeline_choice import blueprint_timeline, choose_timeline

    if not chosen.timeline:
        return choose_timeline(store).timeline or ""
    choice = blueprint_timeline(chosen.timeline, store)
    if choice.timeline is None or choice.timeline == chosen.timeline:
        return chosen.timeline
    note(choice.reason)
    return choice.timeline


def _fixed_frames_of(root: Node, store: ChunkStore, note: Callable[[str], None]) -> Node:
    """3D views whose fixed frame the recording's TF lacks use its root instead (said on stderr), as the
    embedded viewer does: Rerun's viewer would show them empty, with an error."""
    from rerun_bridge.blueprint.fixed_frames import with_fixed_frames_in
    from rerun_bridge.model.timeline import LOG_TIME
    from rerun_bridge.viewer.transforms import SceneTransforms

    transforms = SceneTransforms(store)
    resolved, notes = with_fixed_frames_in(
        root, transforms.frames(LOG_TIME), transforms.default_fixed_frame(LOG_TIME)
    )
    for text in notes:
        note(text)
    return resolved


def _converted(bags: Sequence[str], selection: TopicSelection | None) -> ChunkStore:
    """``bags`` converted into memory, to see which entities come out."""
    from rerun_bridge.replay import convert_bags
    from rerun_bridge.sinks.store import StoreSink
    from rerun_bridge.store.chunk_store import ChunkStore
    from rerun_bridge.viewer.sources import is_rrd, load_rrd

    store = ChunkStore()
    for path in bags:
        if is_rrd(path):
            load_rrd(path, store)
    recordings = [path for path in bags if not is_rrd(path)]
    if recordings:
        # Warnings are the conversion's to give: this pass only looks at which entities come out.
        convert_bags(
            recordings, None, selection=selection, warn=lambda _: None, extra_sinks=[StoreSink(store)]
        )
    store.flush()
    return store


def cmd_blueprint_export(args: argparse.Namespace) -> int:
    from rerun_bridge.blueprint.export import export_rbl
    from rerun_bridge.blueprint.heuristic import DEFAULT_BLUEPRINT_NAME

    if args.name == DEFAULT_BLUEPRINT_NAME and not args.recordings:
        print("error: the default blueprint is laid out from data: give --recording FILE", file=sys.stderr)
        return EXIT_USAGE
    chosen = _chosen_blueprint(args.name, args.recordings)
    path = export_rbl(
        chosen.blueprint,
        args.output,
        args.application_id,
        chosen.tf_entities,
        chosen.series_names,
        chosen.depth_meters,
    )
    print(f"wrote {path}")
    return EXIT_OK


def cmd_blueprint_from_rviz(args: argparse.Namespace) -> int:
    from rviz_compat.rviz_import import main_from_rviz, report

    result = main_from_rviz(args.rviz, args.output, bridge_config_out=args.bridge_config)
    print(report(result, str(args.rviz)))
    print(f"wrote {args.output}" + (f" and {args.bridge_config}" if args.bridge_config else ""))
    return EXIT_OK


def cmd_receive(args: argparse.Namespace) -> int:
    from rerun_bridge.sinks.rrd import RrdSink
    from rerun_bridge.sources.stream_client import (
        ClientSettings,
        StreamBrokenError,
        UnreachableError,
        receive,
    )

    def connected() -> None:
        print(f"receiving from {args.address}", file=sys.stderr, flush=True)

    received = 0

    def write(entity_path: str, static: bool, batch: Any) -> None:
        nonlocal received
        sink.write_batch(entity_path, static, batch)
        received += 1

    settings = ClientSettings(args.address, args.token, args.tls_root_cert or "")  # checked: exit 2
    layout = _receive_layout(args.blueprint)  # a scenario that is none: exit 2 before connecting
    output = _free_output(Path(args.output))
    stopped_by: int | None = None
    broken = False

    # SIGTERM (timeout, systemd, docker stop) ends a recording as Ctrl-C does: the file keeps its footer.
    try:
        with (
            _terminated_as_interrupted(),
            RrdSink(output, application_id="rerun_bridge", closing_blueprint=layout) as sink,
        ):
            try:
                receive(settings, write, args.duration, connected, args.history)
            except KeyboardInterrupt as interrupt:
                stopped_by = int(interrupt.args[0]) if interrupt.args else signal.SIGINT
            except StreamBrokenError as err:  # what arrived is a whole recording: closed and kept
                print(f"warning: {err}", file=sys.stderr)
                broken = True
            except UnreachableError as err:  # nothing arrived: exit 1 as documented (it was 2, a usage error)
                print(f"error: {err}", file=sys.stderr)
                return EXIT_NOTHING_CONVERTED  # the one line says it all (the file goes below)
    finally:
        if not received:  # refused, unreachable or silent: no empty recording left behind
            output.unlink(missing_ok=True)
    print(f"received {received} chunks" + (f" into {output}" if received else "; nothing written"))
    if stopped_by is not None:
        return 128 + stopped_by
    return EXIT_OK if received and not broken else EXIT_NOTHING_CONVERTED


def _receive_layout(value: str | None) -> Any:
    """``receive --blueprint``: what the .rrd's layout is made of as it closes (None: no layout), as
    ``convert`` embeds one; a scenario's roles stand for their usual topics (nothing to resolve them
    against before the data arrives)."""
    default_layout, scenario = layout_choice(value)
    if not default_layout and scenario is None:
        return None
    from rerun_bridge.blueprint.file_layout import closing_layout, guarded
    from rerun_bridge.blueprint.library import resolve

    def warn(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    return guarded(closing_layout(resolve(scenario) if scenario else None), warn)


def _free_output(path: Path) -> Path:
    """``path``, or where a file is there (an earlier recording) the first free ``<stem>_NNNN<suffix>``
    beside it, said once, as the node names a restarted run's file (docs/live.md)."""
    if not path.exists():
        return path
    from rerun_bridge.sinks.rotation import first_free, numbered_path

    free, _index = first_free(lambda index: numbered_path(path, index), 1)
    print(f"warning: {path} exists (an earlier recording): writing {free} instead", file=sys.stderr)
    return free


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rerun-bridge", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument("--version", action="version", version=f"rerun-bridge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="list a recording's topics: type, count, rate, converter")
    info.add_argument("bags", nargs="+", help="bag folder, or .mcap / .db3 file")
    info.add_argument(
        "--check",
        action="store_true",
        help="read every message: counts are what can be read, damage is reported with its position "
        "(exit 1 when there is any)",
    )
    info.add_argument(
        "--timing",
        action="store_true",
        help="read every message: each topic's header stamps against receive times, gaps between messages, "
        "each TF edge's updates, and what stands out (clocks apart, offsets between topics, dropouts)",
    )
    add_type_arguments(info, config=False)
    info.set_defaults(func=cmd_info)

    types = sub.add_parser("types", help="list the supported ROS types and the archetypes they become")
    types.set_defaults(func=cmd_types)

    convert = sub.add_parser("convert", help="convert recordings to .rrd (and a raw .mcap)")
    convert.add_argument("bags", nargs="+", help="bag folders, or .mcap / .db3 files")
    convert.add_argument("-o", "--output", required=True, type=Path, help="output .rrd")
    convert.add_argument("--mcap", type=Path, help="also write the selected topics, unchanged, to this .mcap")
    convert.add_argument(
        "--min-free-mb",
        type=megabytes_argument,
        default=DEFAULT_RESERVE_MB,
        help="stop (files closed complete) before the output disk has less free (default %(default)g)",
    )
    convert.add_argument(
        "--topics",
        action="append",
        help="only topics matching this regular expression (re.search; repeatable)",
    )
    convert.add_argument(
        "--exclude", action="append", help="leave out topics matching this regular expression (repeatable)"
    )
    convert.add_argument("--start", help="seconds from the recording's start, epoch seconds, or ISO 8601")
    convert.add_argument("--end", help="seconds from the recording's start, epoch seconds, or ISO 8601")
    convert.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no topic table")
    convert.add_argument(
        "--jobs",
        type=jobs_argument,
        default="auto",
        help="processes to split one recording's conversion across, or 'auto' (default: one per two cores "
        "for a recording of 1 GiB or more, else 1; docs/convert.md)",
    )
    add_type_arguments(convert)
    convert.add_argument(
        "--blueprint",
        help=(
            f"the layout embedded in the .rrd: a scenario name, a YAML file, '{DEFAULT_LAYOUT}' (the "
            f"default: the viewer's layout of the data) or '{NO_LAYOUT}' (Rerun's viewer lays it out)"
        ),
    )
    from rerun_bridge.robot.settings import add_robot_model_arguments  # config and yaml: only when used

    add_robot_model_arguments(convert)
    convert.set_defaults(func=cmd_convert)

    blueprint = sub.add_parser("blueprint", help="export blueprints to Rerun, import RViz configs")
    blueprint_sub = blueprint.add_subparsers(dest="blueprint_command", required=True)
    export = blueprint_sub.add_parser("export", help="write a blueprint as a Rerun .rbl file")
    export.add_argument(
        "name",
        help="a shipped name (perception, navigation, ...), a YAML file, or 'default' (with --recording)",
    )
    export.add_argument(
        "--recording",
        dest="recordings",
        nargs="+",
        default=[],
        metavar="FILE",
        help="with 'default': the bags or .rrd files whose data the layout is made for",
    )
    export.add_argument("-o", "--output", required=True, type=Path, help="output .rbl")
    export.add_argument("--application-id", default="rerun_bridge", help="the recordings' application id")
    export.set_defaults(func=cmd_blueprint_export)
    from_rviz = blueprint_sub.add_parser("from-rviz", help="turn an RViz 2 config into a blueprint")
    from_rviz.add_argument("rviz", type=Path, help="the .rviz file")
    from_rviz.add_argument("-o", "--output", required=True, type=Path, help="output blueprint YAML")
    from_rviz.add_argument("--bridge-config", type=Path, help="also write the bridge topics it needs here")
    from_rviz.set_defaults(func=cmd_blueprint_from_rviz)

    _add_receive_parser(sub)

    from rerun_bridge.fleet.commands import add_fleet_commands

    add_fleet_commands(sub)
    _add_repair_parser(sub)

    # Parsed by rerun_bridge.viewer.app and rerun_bridge.node; listed here so that --help shows them.
    sub.add_parser(
        "view", help="open the embedded viewer on .rrd files or bags (see `rerun-bridge view --help`)"
    )
    sub.add_parser("run", help="run the live ROS 2 bridge node (see `rerun-bridge run --help`)")
    return parser


def _add_receive_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    receive_cmd = sub.add_parser("receive", help="record a running bridge's network stream into an .rrd")
    receive_cmd.add_argument(
        "address", help="HOST:PORT of the bridge's stream (sinks.stream.bind), or a grpc URI"
    )
    receive_cmd.add_argument("-o", "--output", required=True, type=Path, help="output .rrd")
    receive_cmd.add_argument("--token", default="", help="the bridge's sinks.stream.token")
    receive_cmd.add_argument("--tls-root-cert", help="CA certificate to trust when the bridge uses TLS")
    receive_cmd.add_argument("--duration", type=duration_argument, help="stop after this many seconds")
    receive_cmd.add_argument(
        "--history",
        type=history_argument,
        default=10.0,
        metavar="SECONDS",
        help="recent data to start with, besides all static and latched data, as view --connect gets "
        "(default: %(default)s; 0: none; the bridge keeps sinks.stream.history_s)",
    )
    receive_cmd.add_argument(
        "--blueprint",
        help=(
            "the layout written into the .rrd as it closes: a scenario name, a YAML file, "
            f"'{DEFAULT_LAYOUT}' (the default: the viewer's layout of what arrived) or '{NO_LAYOUT}'"
        ),
    )
    receive_cmd.set_defaults(func=cmd_receive)


def _add_repair_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    repair_cmd = sub.add_parser(
        "repair", help="rewrite a damaged .rrd or .mcap (killed process, full disk) from what reads"
    )
    repair_cmd.add_argument("file", type=Path, help="the damaged .rrd or .mcap")
    repair_cmd.add_argument(
        "-o", "--output", type=Path, help="the repaired file (default: NAME.repaired.EXT beside it)"
    )
    repair_cmd.set_defaults(func=cmd_repair)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["view"]:
        # The viewer parses its own arguments; Qt is imported only there.
        from rerun_bridge.viewer.app import main as run_viewer

        code = run_viewer(args_list[1:])
        if argv is None:
            # The command's own process: leave without Python's teardown, in which PyQt's exit-time cleanup
            # of its Qt wrappers crashed now and then (SIGSEGV once the work was done: a screenshot saved,
            # exit 0 reported as -11). The viewer writes nothing that the teardown would finish.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return code
    if args_list[:1] == ["run"]:
        # The live node parses its own arguments (and ROS's --ros-args); rclpy is imported only there,
        # after a check that this rclpy is one the node runs on.
        from rerun_bridge.ros_distro import run_node

        return run_node(args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except BridgeError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`rerun-bridge info BAG | head`): stop quietly, as Unix tools do, and keep
        # Python from failing again while flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
