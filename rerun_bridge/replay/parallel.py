"""One recording converted by several processes into one .rrd.

The bag's index is read first (:mod:`rerun_bridge.sources.profile`) and the work planned into units
(:mod:`.split`). This process converts unit 0 (the topics that must stay whole, and the first time range
of the others) while one child process per other unit converts its time range; each writes a part file
with the same recording id. The parts' counts and warnings are merged, the outcome
(:mod:`.outcome`) is written as one more small part, and the parts are joined into the output
(:mod:`rerun_bridge.sinks.rrd_parts`). Until then nothing exists under the output's name: a part that
fails (a full disk, a crashed process) ends the whole conversion with one error and no output.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rerun_bridge.config import RobotModelConfig
from rerun_bridge.errors import RecordingError
from rerun_bridge.pipeline import TopicStats, TypeSupport
from rerun_bridge.replay.conversion import (
    CONVERT_BATCH_ROWS,
    ConvertSummary,
    ForwardSource,
    PartSpec,
    Progress,
    TopicSelection,
    convert_bags,
)
from rerun_bridge.replay.forwarding import PartEndedError
from rerun_bridge.replay.outcome import outcome_rows
from rerun_bridge.replay.part_runs import PartJob, PartRun, PartStarter, dumps, picklable, start_child_process
from rerun_bridge.replay.split import WorkUnit, plan_units
from rerun_bridge.scratch import OUTPUT_PARTS_PREFIX, PARTS_PREFIX, scratch_folder
from rerun_bridge.sinks.rrd import RrdSink, sole_frame_rows
from rerun_bridge.sinks.rrd_parts import join_parts
from rerun_bridge.sinks.sent_catalog import SentCatalog
from rerun_bridge.sources.bag import Bag, open_bag
from rerun_bridge.sources.profile import bag_profile

#: ``--jobs auto`` splits only recordings at least this big: below it, starting processes and joining
#: their parts costs about what the split saves.
AUTO_MIN_BYTES = 1 << 30
#: Cores one conversion process keeps busy (its converting thread, the reader decompressing chunks ahead,
#: Rerun's writer encoding): ``--jobs auto`` starts one process per this many cores.
CORES_PER_PROCESS = 2

#: Where parts are written when memory allows (:func:`parts_folder`): a RAM file system on Linux.
SHARED_MEMORY = Path("/dev/shm")
#: Memory left to everything else when parts go to :data:`SHARED_MEMORY`.
MEMORY_HEADROOM_BYTES = 2 << 30

#: Suffix of the warning the pipeline gives for a topic's first conversion error (later ones are counted).
_FIRST_ERROR_SUFFIX = "(further errors on this topic are counted)"


@dataclass(frozen=True, slots=True)
class ParallelOptions:
    """What ``convert_bags`` was asked besides its inputs and output."""

    selection: TopicSelection
    application_id: str
    robot_model: RobotModelConfig | None
    types: TypeSupport
    min_free_mb: float
    blueprint: Any = None
    #: Embed the default layout of what the joined .rrd holds (made from every part's catalog).
    default_layout: bool = False


def _write_layout(sent: SentCatalog, path: Path, application_id: str) -> bool:
    """The default layout of the joined .rrd (every part's entities, in part order, as one process's sink
    would have noted them) as an .rbl that the join puts first; False when there is nothing to lay out."""
    from rerun_bridge.blueprint.file_layout import closing_layout  # Rerun's blueprint API: when used

    blueprint = closing_layout(None)(sent)
    if blueprint is None:
        return False
    blueprint.save(application_id, path)
    return True


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. a container's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def auto_jobs(paths: Sequence[str | Path]) -> int:
    """``--jobs auto``: one process per :data:`CORES_PER_PROCESS` usable cores for a recording of at
    least :data:`AUTO_MIN_BYTES`, else one."""
    size = 0
    for path in map(Path, paths):
        files = [path] if path.is_file() else [p for p in path.glob("*") if p.is_file()]
        size += sum(f.stat().st_size for f in files)
    return auto_jobs_of_size(size, usable_cores() // CORES_PER_PROCESS)


def auto_jobs_of_size(size: int, processes: int) -> int:
    """``auto`` for a recording of ``size`` bytes: ``processes`` when it is big enough, else one."""
    return max(1, processes) if size >= AUTO_MIN_BYTES else 1


def plan_conversion(
    paths: Sequence[str | Path],
    jobs: int,
    options: ParallelOptions,
    open_recording: Callable[[str | Path], Bag] = open_bag,
) -> list[WorkUnit]:
    """The work units of a conversion into ``jobs`` processes; one unit when it cannot be split: several
    inputs, a topic recorded with two types, a bag whose index cannot tell where its bytes lie (no MCAP
    summary or message index, damage met on opening), converters that cannot be sent to another process."""
    if jobs < 2 or len(paths) != 1 or not picklable(options.types) or not picklable(options.robot_model):
        return [WorkUnit(0, frozenset(), frozenset(), None, None, 0)]
    with open_recording(paths[0]) as bag:
        selected = [t for t in bag.topics() if options.selection.accepts(t.name)]
        types = {t.name: t.type_name for t in selected}
        profile = bag_profile(bag.storages) if len(types) == len(selected) and not bag.problems else None
    if profile is None:
        return [WorkUnit(0, frozenset(types), frozenset(), None, None, 0)]
    window = (options.selection.start_ns, options.selection.end_ns)
    return plan_units(profile, types, jobs, options.types.converters, window)


def convert_parallel(
    paths: Sequence[str | Path],
    rrd_path: Path,
    units: Sequence[WorkUnit],
    options: ParallelOptions,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    start_part: PartStarter | None = None,
) -> ConvertSummary:
    """Convert ``units`` (from :func:`plan_conversion`, at least two) of one recording in as many processes
    into ``rrd_path``: unit 0 here, the others started by ``start_part`` (default: child processes of this
    one; :mod:`rerun_bridge.fleet.parts` starts Ray tasks), which must run them on this machine (they
    share the parts folder: :func:`parts_folder`)."""
    start = start_part or start_child_process
    rrd_path.parent.mkdir(parents=True, exist_ok=True)
    with parts_folder(rrd_path, sum(unit.cost for unit in units)) as folder:
        return _convert_in_parts(paths, rrd_path, units, options, folder, start, progress, warn)


def _convert_in_parts(  # noqa: PLR0913
    paths: Sequence[str | Path],
    rrd_path: Path,
    units: Sequence[WorkUnit],
    options: ParallelOptions,
    folder: Path,
    start: PartStarter,
    progress: Progress | None,
    warn: Callable[[str], None] | None,
) -> ConvertSummary:
    recording_id = str(uuid.uuid4())
    children: list[PartRun] = []
    try:
        for unit in units[1:]:
            job = PartJob(
                tuple(map(str, paths)),
                folder / f"part{unit.number}.rrd",
                PartSpec(unit, recording_id, forward_to=folder / f"part{unit.number}.forward"),
                options.selection,
                options.application_id,
                options.robot_model,
                options.types,
                options.min_free_mb,
            )
            job_file = folder / f"part{unit.number}.job"
            job_file.write_bytes(dumps(job))
            children.append(start(unit, job_file, folder / f"part{unit.number}.result"))
        warnings: list[str] = []

        def note(message: str) -> None:
            warnings.append(message)
            if warn is not None:
                warn(message)

        first = _convert_first(
            children,
            rrd_path,
            paths,
            folder / "part0.rrd",
            selection=options.selection,
            progress=progress,
            warn=note,
            application_id=options.application_id,
            # A scenario's layout is a part of its own (below): written into part 0 (the sink's default
            # blueprint), it made `rerun rrd route` panic on its chunk order, 7 joins in 10.
            blueprint=None,
            robot_model=options.robot_model,
            types=options.types,
            min_free_mb=options.min_free_mb,
            part=PartSpec(
                units[0],
                recording_id,
                forwarded=tuple(
                    ForwardSource(folder / f"part{c.unit.number}.forward", c.running, c.unit.number)
                    for c in children
                ),
            ),
        )
        summaries = [first, *(child.result(rrd_path) for child in children)]
        topics, merged_warnings = merge_summaries(summaries)
        told = set(warnings)
        for message in merged_warnings:
            if message not in told and warn is not None:
                warn(message)
        outcome = folder / "outcome.rrd"
        sent = SentCatalog.merged(*(summary.sent for summary in summaries))
        with RrdSink(
            outcome,
            options.application_id,
            recording_id=recording_id,
            batch_rows=CONVERT_BATCH_ROWS,
            send_properties=False,
            hold_sole_frames=False,
        ) as sink:
            sink.write(outcome_rows(topics, paths, merged_warnings), {})
            held = sole_frame_rows(sent)  # the frames every part agrees on, for all times
            sent.hold_frames(row.entity_path for row in held)
            sink.write(held, {})
        parts = [folder / f"part{unit.number}.rrd" for unit in units] + [outcome]
        layout = folder / "layout.rbl"
        if options.blueprint is not None:
            options.blueprint.save(options.application_id, layout)
            parts.insert(0, layout)
        elif options.default_layout:
            sent = SentCatalog.merged(sent, sink.sent)
            if _write_layout(sent, layout, options.application_id):
                parts.insert(0, layout)
        join_parts(parts, rrd_path, int(options.min_free_mb * 1e6))
        return ConvertSummary(topics, rrd_path, None, merged_warnings)
    finally:
        for child in children:
            child.stop()


def parts_folder(rrd_path: Path, estimated_bytes: int) -> AbstractContextManager[Path]:
    """A new folder for the parts, removed after: in memory (``/dev/shm``) when it has room for twice the
    estimate and the machine has that much memory available besides, so that the output's disk is written
    once (the parts never reach it); else beside the output. A conversion killed (SIGKILL, the OOM killer)
    leaves its folder: the next split conversion there removes it (:mod:`rerun_bridge.scratch`)."""
    if _room_in_memory(2 * estimated_bytes + MEMORY_HEADROOM_BYTES):
        return scratch_folder(f"{PARTS_PREFIX}{rrd_path.name}.", SHARED_MEMORY)
    return scratch_folder(f"{OUTPUT_PARTS_PREFIX}{rrd_path.name}.", rrd_path.parent)


def _room_in_memory(size: int) -> bool:
    try:
        stats = os.statvfs(SHARED_MEMORY)
        meminfo = Path("/proc/meminfo").read_text()
    except OSError:  # no /dev/shm (not Linux, a container without it)
        return False
    available = next(
        (int(line.split()[1]) * 1024 for line in meminfo.splitlines() if line.startswith("MemAvailable:")), 0
    )
    return stats.f_bavail * stats.f_frsize >= size and available >= size


def _convert_first(children: Sequence[PartRun], output: Path, *args: Any, **kwargs: Any) -> ConvertSummary:
    """Part 0, in this process; a part that ended without handing over its messages raises its own error."""
    try:
        return convert_bags(*args, **kwargs)
    except PartEndedError as ended:
        for child in children:
            if child.unit.number == ended.number:
                child.result(output)  # raises its error
        raise RecordingError(f"{output}: {ended}") from None


def merge_summaries(summaries: Sequence[ConvertSummary]) -> tuple[list[TopicStats], list[str]]:
    """Every part's counts added up per topic (in the first part's order), and the warnings of all parts
    in part order, each once: a topic's first conversion error is the earliest part's."""
    merged: dict[str, TopicStats] = {}
    for summary in summaries:
        for stats in summary.topics:
            known = merged.get(stats.topic)
            merged[stats.topic] = (
                replace(stats, produced=set(stats.produced)) if known is None else _add(known, stats)
            )
    warnings: list[str] = []
    seen: set[str] = set()
    first_errors: set[str] = set()
    for summary in summaries:
        for message in summary.warnings:
            if message in seen:
                continue
            topic = _first_error_topic(message, merged)
            if topic is not None:
                if topic in first_errors:
                    continue
                first_errors.add(topic)
            seen.add(message)
            warnings.append(message)
    return list(merged.values()), warnings


def _add(known: TopicStats, more: TopicStats) -> TopicStats:
    known.messages += more.messages
    known.rows += more.rows
    known.errors += more.errors
    known.skipped += more.skipped
    known.zero_stamps += more.zero_stamps
    known.column_messages += more.column_messages
    known.produced |= more.produced
    known.first_error = known.first_error or more.first_error
    return known


def _first_error_topic(message: str, topics: dict[str, TopicStats]) -> str | None:
    """The topic of a warning about a topic's first conversion error (None: another warning)."""
    if not message.endswith(_FIRST_ERROR_SUFFIX):
        return None
    for topic, stats in topics.items():
        if message.startswith(f"topic {topic} ({stats.type_name}): "):
            return topic
    return None
