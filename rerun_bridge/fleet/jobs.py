"""One recording's work, wherever it runs (a Ray task, or this process): hash it, skip it when a run of the
same content is already converted, convert it through ``convert_bags`` (bounded memory, as ``convert``),
publish its outputs whole, and add its rows to the catalog. Registration (``catalog add``) is the same
without the conversion."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rerun_bridge.errors import BridgeError
from rerun_bridge.fleet.catalog import (
    STATUS_CONVERTED,
    STATUS_REGISTERED,
    RunEntry,
    TopicEntry,
    catalog_of,
    converted_runs,
    published_outputs,
    retag_run,
    run_name_of,
    run_outputs,
    run_tags,
    write_entry,
)
from rerun_bridge.fleet.discovery import Recording, content_hash
from rerun_bridge.fleet.remote_bags import StagedRecording, staged
from rerun_bridge.fleet.storage import Location, local_work_file, location_of, publish_file
from rerun_bridge.replay.outcome import result_of
from rerun_bridge.scratch import JOB_PREFIX, OUTPUT_JOB_PREFIX, scratch_folder
from rerun_bridge.sources.bag import Bag, open_bag

OUTCOME_CONVERTED = "converted"
OUTCOME_SKIPPED = "skipped"
#: A recording of the batch whose content another recording of the same batch holds: not converted
#: again, its end is that recording's (``same_as``).
OUTCOME_DUPLICATE = "duplicate"


class ConversionFailedError(BridgeError):
    """A recording could not be converted; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class JobOptions:
    """What ``batch`` asks of every recording: the output location (folder or ``s3://`` prefix), a raw .mcap
    beside the .rrd, a blueprint to embed, tags for the catalog, and whether to convert again.
    ``layout`` turns the blueprint's name and the recordings it is for into the Rerun blueprint (the
    command line's own choice, as ``convert --blueprint`` makes it), its notes on the fit of layout and
    data given to its third argument; a module-level function, so that Ray tasks get it by reference."""

    out: str
    mcap: bool = False
    blueprint: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    force: bool = False
    layout: Callable[[str, Sequence[str], Callable[[str], None]], Any] | None = None
    #: Ray tasks to split one recording's conversion across (``batch --jobs``; 1: none, 0: ``auto``).
    jobs: int = 1


@dataclass(frozen=True, slots=True)
class JobResult:
    """What became of one recording: ``outcome`` converted or skipped (already converted: ``run_id``)."""

    name: str
    source: str
    outcome: str
    bytes: int
    run_id: str
    outputs: tuple[str, ...] = ()
    warnings: int = 0
    #: What the layout (``--blueprint``) said about this recording's data: returned, not logged, so that
    #: the driver prints each once naming the recording (a worker's log lines came through Ray's log
    #: forwarding: colour codes, a worker's pid instead of the recording, repeats folded into one).
    notes: tuple[str, ...] = ()
    #: For a duplicate: the URI of the recording of this batch that holds the same content.
    same_as: str = ""


@dataclass(frozen=True, slots=True)
class _Facts:
    start_ns: int | None
    end_ns: int | None
    topics: list[TopicEntry]
    #: Damage found opening the recording (a cut MCAP, a chunk cut short), as ``info --check`` says it.
    problems: list[str] = field(default_factory=list)


def _facts(source: StagedRecording, predict: bool) -> _Facts:
    """Time bounds and topics; with ``predict``, each topic's expected outcome as ``rerun-bridge info``
    predicts it (a conversion says what really happened instead, and skips the cost of a type resolver)."""
    with source.open(source.path) as bag:
        return _facts_of(bag, predict)


def _facts_of(bag: Bag, predict: bool) -> _Facts:
    from rerun_bridge.cdr.decoding import TypeResolver
    from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS

    bounds = bag.time_bounds()
    resolver = TypeResolver(bag.topics(), bag.ros_distro) if predict else None
    topics = []
    spans = bag.topic_spans()
    for info in bag.topics():
        outcome, reason = "", ""
        if resolver is not None:
            choice = resolver.choose(info.type_name, info.serialization_format)
            if choice.decoder is None:
                outcome, reason = "skipped", choice.reason
            elif BUILTIN_CONVERTERS.lookup(info.type_name) is None:
                outcome = "raw"
            else:
                outcome = "converted"
        span = spans.get(info.name)
        span_s = (span[1] - span[0]) / 1e9 if span is not None else None
        topics.append(
            TopicEntry(info.name, info.type_name, info.message_count, outcome, reason=reason, span_s=span_s)
        )
    return _Facts(bounds[0] if bounds else None, bounds[1] if bounds else None, topics, bag.problems)


def _noting_facts(source: StagedRecording, facts: list[_Facts]) -> StagedRecording:
    """``source`` whose opener also notes the bag's facts: the conversion's own opening serves both."""

    def open_and_note(path: str | Path) -> Bag:
        bag = source.open(path)
        try:
            facts.append(_facts_of(bag, predict=False))
        except BaseException:
            bag.close()
            raise
        return bag

    return dataclasses.replace(source, open=open_and_note)


@contextmanager
def _named_by_uri(source: StagedRecording) -> Iterator[None]:
    """Errors raised inside name the recording by its URI, not by its fetched copy's temporary path or
    its bare bucket and key (the reason a batch reports, the line ``catalog add`` prints)."""
    try:
        yield
    except BridgeError as err:
        text = source.named(str(err))
        if text == str(err):
            raise
        try:
            renamed = type(err)(text)
        except TypeError:  # an error class that is not built from its message alone
            renamed = ConversionFailedError(text)
        raise renamed from err


def _tags_with_earlier(catalog: Location, run_id: str, tags: Mapping[str, str]) -> dict[str, str]:
    """A run's tags: those of the row it replaces (``catalog add --tag``, an earlier conversion), with
    this job's tags added; a key given again takes this job's value."""
    return {**run_tags(catalog, run_id), **tags}


@dataclass(frozen=True, slots=True)
class Registration:
    """What ``catalog add`` did with a recording: its run id, and whether a conversion of the same
    content was in the catalog already (its row kept, the tags added to it)."""

    run_id: str
    converted_before: bool = False
    #: Damage found in the recording (a cut file), naming it: registered as far as it reads, and said.
    problems: tuple[str, ...] = ()


def register_recording(recording: Recording, out: str, tags: Mapping[str, str]) -> Registration:
    """Add a recording to the catalog at ``out`` without converting it (``status`` registered). One
    already converted there keeps its row (its outputs stay listed, a batch still skips it); ``tags``
    are added to it."""
    digest = content_hash(recording)
    catalog = catalog_of(out)
    converted = converted_runs(catalog).get(digest)
    if converted is not None:
        if tags:
            retag_run(catalog, converted, tags)
        return Registration(converted, converted_before=True)
    # A copy of a content registered before under another name joins its row: one row per content, which
    # a batch's conversion then replaces (a row per copy stayed `registered` beside it: audit).
    if (named := run_name_of(catalog, digest)) is not None:
        recording = dataclasses.replace(recording, name=named)
    with staged(recording) as source, _named_by_uri(source):
        facts = _facts(source, predict=True)
        problems = [source.named(problem) for problem in facts.problems]
    entry = RunEntry(
        recording.name,
        recording.uri,
        digest,
        STATUS_REGISTERED,
        facts.start_ns,
        facts.end_ns,
        recording.bytes,
        facts.topics,
        # In the row too, so that `warnings` finds the cut recordings as it finds a conversion's damage.
        warnings=problems,
    )
    entry.tags = _tags_with_earlier(catalog, entry.run_id, tags)
    write_entry(catalog, entry)
    return Registration(entry.run_id, problems=tuple(problems))


def output_targets(recording: Recording, out: Location, mcap: bool) -> dict[str, Location]:
    """Where a recording's outputs go, by suffix: ``OUT/<name>.rrd`` (and ``OUT/<name>.mcap``)."""
    return {suffix: out.join(f"{recording.name}{suffix}") for suffix in (".rrd", ".mcap")[: 2 if mcap else 1]}


def _file_key(location: Location) -> str:
    """One name per file: its URI, or for a local file its real path (links followed)."""
    return location.uri if location.remote else os.path.realpath(location.path)


def overwritten_inputs(recordings: Sequence[Recording], out: Location, mcap: bool) -> list[str]:
    """One problem per output that would replace a file of a recording of the batch (``batch uploads/ -o
    uploads/ --mcap`` publishes ``uploads/run.mcap`` over the recording ``uploads/run.mcap``)."""
    inputs = {_file_key(r.file_location(name)): r for r in recordings for name, _size in r.files}
    problems = []
    for recording in recordings:
        for target in output_targets(recording, out, mcap).values():
            if (source := inputs.get(_file_key(target))) is not None:
                problems.append(
                    f"{target.uri}: a file of the recording {source.uri}; the output of {recording.uri} "
                    "would replace it (give -o another folder)"
                )
    return problems


def earlier_outputs(recordings: Sequence[Recording], out: Location) -> list[Recording]:
    """The recordings that are files an earlier batch into ``out`` published: its .mcap re-recordings,
    found again when ``out`` lies inside an input folder (``batch uploads/ -o uploads/converted --mcap``).
    Taken for new recordings, each run converted the last run's copies once more."""
    published = {_file_key(location_of(uri)) for uri, _digest in published_outputs(catalog_of(out))}
    return [r for r in recordings if not r.is_folder and _file_key(r.location) in published]


def convert_recording(
    recording: Recording, options: JobOptions, done: Mapping[str, str], digest: str | None = None
) -> JobResult:
    """Convert one recording (``done``: content hash -> run id of the runs already converted; ``digest``:
    its content hash where the caller has it, so that the recording is not read once more for it)."""
    digest = digest or content_hash(recording)
    out = location_of(options.out)
    if not options.force and digest in done and _outputs_kept(out, done[digest]):
        if options.tags:  # this batch's tags join the run's, as `catalog add` adds them to a converted run
            retag_run(catalog_of(out), done[digest], options.tags)
        return JobResult(recording.name, recording.uri, OUTCOME_SKIPPED, recording.bytes, done[digest])
    # Converted (or registered) before under another name (another batch's folder layout, --force):
    # that name, so that the content keeps one row (a second row's tags drifted apart: audit).
    if (named := run_name_of(catalog_of(out), digest)) is not None:
        recording = dataclasses.replace(recording, name=named)
    recording = _named_apart(recording, out, digest)
    targets = output_targets(recording, out, options.mcap)
    with ExitStack() as stack:
        if out.remote:
            scratch = stack.enter_context(scratch_folder(JOB_PREFIX))
        else:  # a hidden folder in OUT: renamed into place; a killed try's folder goes with the next job
            Path(out.path).mkdir(parents=True, exist_ok=True)
            scratch = stack.enter_context(scratch_folder(OUTPUT_JOB_PREFIX, root=Path(out.path)))
        source = stack.enter_context(staged(recording))
        stack.enter_context(_named_by_uri(source))
        noted: list[_Facts] = []
        notes: list[str] = []
        work = {suffix: local_work_file(target, suffix, scratch) for suffix, target in targets.items()}
        try:
            noting = _noting_facts(source, noted)
            summary = _convert(source, noting, work, options, recording.location.remote, notes.append)
            # A split conversion opens the recording in its parts' processes: read the facts here then.
            facts = noted[0] if noted else _facts(source, predict=False)
            if not summary.converted_anything:
                damage = [_unnamed(source.named(problem), recording.uri) for problem in facts.problems]
                raise ConversionFailedError(
                    f"{recording.uri}: nothing could be converted{_why_nothing(summary, damage)}"
                )
            for suffix, target in targets.items():
                publish_file(work[suffix], target, keep_local=False)
        finally:
            for path in work.values():
                path.unlink(missing_ok=True)
    outcomes = {stats.topic: stats for stats in summary.topics}
    entry = RunEntry(
        recording.name,
        recording.uri,
        digest,
        STATUS_CONVERTED,
        facts.start_ns,
        facts.end_ns,
        recording.bytes,
        [_converted_topic(topic, outcomes.get(topic.topic)) for topic in facts.topics],
        outputs=[target.uri for target in targets.values()],
        warnings=[source.named(warning) for warning in summary.warnings],
    )
    catalog = catalog_of(out)
    entry.tags = _tags_with_earlier(catalog, entry.run_id, options.tags)
    write_entry(catalog, entry)
    return JobResult(
        recording.name,
        recording.uri,
        OUTCOME_CONVERTED,
        recording.bytes,
        entry.run_id,
        tuple(entry.outputs),
        len(entry.warnings),
        tuple(source.named(note) for note in notes),
    )


def _outputs_kept(out: Location, run_id: str) -> bool:
    """Whether every file the run published is still there: one removed (or lost) is made again, where
    "already converted" left the catalog listing a file that was gone."""
    return all(location_of(uri).exists() for uri in run_outputs(catalog_of(out), run_id))


def _named_apart(recording: Recording, out: Location, digest: str) -> Recording:
    """The recording, named apart (``run_<hash>``) where a file of its name is in ``out`` that is not its
    own run's: one an earlier batch published from other content (day1/run.mcap, then day2/run.mcap: the
    second replaced the first's .rrd, which the catalog still listed), or one no run published. The
    catalog is read here, not once per batch: a run this batch published a moment ago counts too."""
    published = published_outputs(catalog_of(out))  # one read of the catalog for both
    taken = {uri for uri, other in published if other != digest}
    own = {uri for uri, other in published if other == digest}
    # A file there that no run published (an earlier `convert -o OUT/run.rrd`) is someone's too: it was
    # replaced without a word (audit).
    if not any(
        target.uri in taken or (target.uri not in own and location_of(target.uri).exists())
        for target in output_targets(recording, out, mcap=True).values()
    ):
        return recording
    return dataclasses.replace(recording, name=f"{recording.name}_{digest[:8]}")


def _convert(
    source: StagedRecording,
    noting: StagedRecording,
    work: Mapping[str, Path],
    options: JobOptions,
    remote: bool,
    note: Callable[[str], None],
) -> Any:
    """``noting``: ``source`` opened through an opener that notes the facts, for the unsplit conversion;
    ``note``: where the layout's notes go."""
    from rerun_bridge.cli import layout_choice
    from rerun_bridge.replay import convert_bags

    blueprint = None
    # As `convert`: the default layout is made as the .rrd closes (a split: from every part's catalog).
    default_layout, named = layout_choice(options.blueprint)
    if named is not None and options.layout is not None:
        # Roles and fixed frames are resolved against a local recording's data; a streamed one gets the
        # layout as named (roles stand for their usual topics).
        blueprint = options.layout(named, [] if remote else [source.path], note)
    if options.jobs != 1 and not options.mcap and source.open is open_bag:
        split = _convert_split(source.path, work[".rrd"], options.jobs, blueprint, default_layout)
        if split is not None:
            return split
    return convert_bags(
        [source.path],
        work[".rrd"],
        work.get(".mcap"),
        blueprint=blueprint,
        default_layout=default_layout,
        warn=lambda _message: None,  # kept in the summary, and in the catalog
        open_recording=noting.open,
    )


def _convert_split(path: str, rrd: Path, jobs: int, blueprint: Any, default_layout: bool) -> Any:
    """The recording split across Ray tasks on this node (:mod:`.parts`); None when it is not split
    (too small for ``auto``, nothing to split, no idle CPUs)."""
    import ray

    from rerun_bridge.fleet.parts import ray_parts
    from rerun_bridge.pipeline import TypeSupport
    from rerun_bridge.replay.conversion import TopicSelection
    from rerun_bridge.replay.parallel import (
        CORES_PER_PROCESS,
        ParallelOptions,
        auto_jobs_of_size,
        convert_parallel,
        plan_conversion,
    )

    if jobs == 0:  # auto: as convert --jobs auto, with this node's CPUs
        cpus = int(ray.available_resources().get("CPU", 0)) + 1  # type: ignore[no-untyped-call]
        jobs = auto_jobs_of_size(_size_of(path), cpus // CORES_PER_PROCESS)
    options = ParallelOptions(
        TopicSelection(), "rerun_bridge", None, TypeSupport(), 0.0, blueprint, default_layout
    )
    units = plan_conversion([path], jobs, options)
    if len(units) < 2:
        return None
    with ray_parts(len(units) - 1) as start_part:
        if start_part is None:
            return None
        return convert_parallel([path], rrd, units, options, start_part=start_part)


def _size_of(path: str) -> int:
    root = Path(path)
    return (
        root.stat().st_size
        if root.is_file()
        else sum(p.stat().st_size for p in root.iterdir() if p.is_file())
    )


def _unnamed(problem: str, uri: str) -> str:
    """A problem without its leading ``uri: ``, for a message that names the recording once already."""
    return problem.removeprefix(f"{uri}: ")


def _why_nothing(summary: Any, problems: Sequence[str] = ()) -> str:
    """Why a recording gave no rows, where the recording itself says it (``convert`` says the same; the
    warnings say the rest): a bare "nothing could be converted" for an empty bag read as a broken one.
    Damage comes first: a cut MCAP read as "holds no topics" where ``info --check`` says it is cut."""
    if problems:
        return f": the recording is cut or damaged: {'; '.join(problems)}"
    if not summary.topics:
        return ": the recording holds no topics"
    if not any(topic.messages for topic in summary.topics):
        return ": the recording holds no messages"
    return ""


def _converted_topic(expected: TopicEntry, stats: Any) -> TopicEntry:
    """A topic's row after conversion: what the pipeline did with it (its own count of messages)."""
    if stats is None:  # every topic goes through the pipeline; kept for a recording that changed meanwhile
        return dataclasses.replace(expected, outcome=expected.outcome or OUTCOME_SKIPPED)
    return TopicEntry(
        expected.topic,
        expected.type_name,
        expected.messages,
        result_of(stats),  # as convert prints it: "no messages", "failed" where every message failed
        rows=stats.rows,
        reason=stats.reason or stats.first_error,
        errors=stats.errors,
        zero_stamps=stats.zero_stamps,
        span_s=expected.span_s,
    )
