"""Many recordings converted as Ray tasks: on this machine's cores by default, on a cluster when given its
address. A bounded number of tasks is in flight (``workers``, else one per CPU of the cluster); a task that
raises or whose worker dies is retried once by Ray; a recording that fails twice is reported with its
reason and the others go on. Recordings are hashed before any is dispatched: each content is converted
once, its copies in the batch take its end. Ctrl-C (or SIGTERM, as the command line raises it) stops the
batch: the tasks in flight are cancelled and the report says what did not finish."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rerun_bridge.fleet.catalog import catalog_of, converted_runs
from rerun_bridge.fleet.discovery import Recording, content_hash
from rerun_bridge.fleet.jobs import OUTCOME_DUPLICATE, JobOptions, JobResult, convert_recording
from rerun_bridge.fleet.storage import StorageError, location_of
from rerun_bridge.replay.part_runs import PartDiedError
from rerun_bridge.scratch import remove_orphans, signals_deferred

#: Tries per recording: the first and one retry (Ray's ``max_retries`` counts the retries).
TASK_RETRIES = 1
#: The errors a recording's task raises that a retry may not meet: a part's process died, the object
#: storage or the network failed (pyarrow's S3 errors are OSErrors).
RETRIED_ERRORS: tuple[type[Exception], ...] = (PartDiedError, StorageError, OSError)
#: The standard AWS settings of this process that tasks get too, so that workers (started before them, or
#: on other machines) reach the same object storage as the command that started the batch.
AWS_SETTINGS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
#: Recordings hashed at once before the batch is dispatched (reading is I/O bound: local disks and S3
#: both serve several readers faster than one).
HASH_THREADS = 8
#: Seconds an interrupted batch waits for its cancelled tasks to end, so that their folders can go: well
#: inside the 10 s a service manager gives before SIGKILL (a group SIGTERM kills the workers too, and the
#: wait ran out: the summary came 9.5 s after the signal; audit).
CANCEL_WAIT_S = 4.0


@dataclass(frozen=True, slots=True)
class Failure:
    """A recording that could not be converted, and why (its last try's error)."""

    name: str
    source: str
    reason: str
    bytes: int


@dataclass(slots=True)
class BatchReport:
    """Every recording's end: converted or skipped (``results``), or failed (``failures``)."""

    total: int
    total_bytes: int
    results: list[JobResult] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: Set when Ctrl-C or SIGTERM stopped the batch (its signal number); ``unfinished`` then holds the
    #: recordings that did not end (cancelled in flight, or never started).
    interrupted: int | None = None
    unfinished: list[Recording] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return len(self.results) + len(self.failures)

    @property
    def finished_bytes(self) -> int:
        return sum(r.bytes for r in self.results) + sum(f.bytes for f in self.failures)


Progress = Callable[[BatchReport, JobResult | Failure], None]


@contextmanager
def ray_connection(address: str | None, workers: int | None) -> Iterator[None]:
    """Ray for the batch: the one this process already has, the cluster at ``address``, or a local one
    on ``workers`` cores (all of them by default), shut down after. ``address="local"``: without it
    ``ray.init`` joins the cluster ``RAY_ADDRESS`` or ``ray start`` named on this machine (and then refuses
    ``num_cpus``)."""
    import logging

    import ray

    if ray.is_initialized():
        yield
        return
    try:
        # Ctrl-C held until Ray is up, and while it stops: one in the middle of either left Ray's
        # processes running without their node (a started node is stopped by ray.shutdown only).
        with signals_deferred():
            holding = signal.getsignal(signal.SIGTERM)
            try:
                if address:
                    ray.init(address=address, logging_level=logging.WARNING)
                else:
                    ray.init(
                        address="local",
                        num_cpus=workers or os.cpu_count() or 1,
                        include_dashboard=False,
                        logging_level=logging.WARNING,
                    )
            except SystemExit:
                # Ray puts a SIGTERM handler of its own in place as it starts, which exits (15, nothing
                # said, its agents left running: audit): held as any other, delivered below.
                signal.signal(signal.SIGTERM, holding)
                signal.raise_signal(signal.SIGTERM)
            finally:
                signal.signal(signal.SIGTERM, holding)
        yield
    finally:
        with signals_deferred():
            ray.shutdown()


def _failure_reason(error: BaseException) -> str:
    """The recording's own error, not Ray's wrapping of it."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    return f"{type(error).__name__}: {error}".splitlines()[0]


def _hashes(recordings: Sequence[Recording]) -> list[str | BaseException]:
    """Each recording's content hash, or the error that kept it from being read."""

    def hashed(recording: Recording) -> str | BaseException:
        try:
            return content_hash(recording)
        except Exception as err:  # this recording's failure (unreadable), reported as one
            return err

    executor = ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="rerun_bridge_hash")
    try:
        return list(executor.map(hashed, recordings))
    finally:
        # Ctrl-C: the hashes not started are dropped, not waited for (those started end with their file).
        executor.shutdown(wait=False, cancel_futures=True)


def interrupt_signal(interrupt: KeyboardInterrupt) -> int:
    """The signal behind a KeyboardInterrupt: SIGINT, or the one the command line raised it for."""
    return int(interrupt.args[0]) if interrupt.args else int(signal.SIGINT)


def run_batch(
    recordings: Sequence[Recording],
    options: JobOptions,
    workers: int | None,
    progress: Progress | None = None,
) -> BatchReport:
    """Convert ``recordings`` as Ray tasks (Ray must be connected: :func:`ray_connection`). Recordings of
    one content are converted once: the first of them in ``recordings`` is, the others take its end (a
    ``duplicate`` of its run, or its failure). Ctrl-C stops it: the report says what did not finish."""
    report = BatchReport(len(recordings), sum(r.bytes for r in recordings))
    try:
        _run(recordings, options, workers, progress, report)
    except KeyboardInterrupt as interrupt:
        report.interrupted = interrupt_signal(interrupt)
        ended = {r.source for r in report.results} | {f.source for f in report.failures}
        report.unfinished = [r for r in recordings if r.uri not in ended]
    # A killed try's temporary folder is removed by its retry's node; one retried on another node of
    # this machine (a local cluster), or cancelled by Ctrl-C, would leave it until the next job there.
    remove_orphans()
    out = location_of(options.out)
    if report.interrupted is not None and not out.remote and Path(out.path).is_dir():
        remove_orphans(Path(out.path))  # the cancelled jobs' hidden folders in OUT
    return report


def _remote_task() -> Any:
    """``convert_recording`` as a Ray task of one CPU, with this process's AWS settings."""
    import ray

    settings = {name: os.environ[name] for name in AWS_SETTINGS if name in os.environ}
    return ray.remote(convert_recording).options(
        num_cpus=1,
        max_retries=TASK_RETRIES,
        # A worker that died is retried by Ray anyway; of the errors a task raises, only those of its
        # surroundings: a recording's own (damaged, nothing convertible) fails the same way again.
        retry_exceptions=list(RETRIED_ERRORS),
        runtime_env={"env_vars": settings} if settings else None,
    )


def _run(
    recordings: Sequence[Recording],
    options: JobOptions,
    workers: int | None,
    progress: Progress | None,
    report: BatchReport,
) -> None:
    import ray

    def end(finished: JobResult | Failure) -> None:
        if isinstance(finished, Failure):
            report.failures.append(finished)
        else:
            report.results.append(finished)
        if progress is not None:
            progress(report, finished)

    # Hashed before anything is dispatched: copies of one content (a bag uploaded twice) converted at
    # once each wrote a row of their own, and the rows drifted apart (tags given later reached one).
    copies: dict[str, list[Recording]] = {}
    firsts: list[tuple[Recording, str]] = []
    for recording, digest in zip(recordings, _hashes(recordings), strict=True):
        if isinstance(digest, BaseException):
            end(Failure(recording.name, recording.uri, _failure_reason(digest), recording.bytes))
        elif digest in copies:
            copies[digest].append(recording)
        else:
            copies[digest] = []
            firsts.append((recording, digest))
    done: Mapping[str, str] = {} if options.force else converted_runs(catalog_of(location_of(options.out)))
    task = _remote_task()
    limit = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]
    done_ref = ray.put(done)
    waiting = list(reversed(firsts))
    running: dict[Any, tuple[Recording, str]] = {}

    def take(ref: Any, recording: Recording, digest: str) -> None:
        finished: JobResult | Failure
        try:
            finished = ray.get(ref)
        except Exception as err:  # any error of the task, after its retry: this recording failed
            finished = Failure(recording.name, recording.uri, _failure_reason(err), recording.bytes)
        end(finished)
        for copy in copies[digest]:
            end(_copy_end(copy, recording, finished))

    try:
        while waiting or running:
            while waiting and len(running) < limit:
                recording, digest = waiting.pop()
                ref = task.remote(recording, options, done_ref, digest)
                running[ref] = (recording, digest)
            ready, _ = ray.wait(list(running), num_returns=1)
            # Held while a result is taken in: Ctrl-C there lost a recording that had ended (Ray's wait
            # checks for signals now and then, so one often arrives just after it returns).
            with signals_deferred():
                take(ready[0], *running.pop(ready[0]))
    except KeyboardInterrupt:
        with signals_deferred():
            _cancel(list(running))
            ready, _ = ray.wait(list(running), num_returns=len(running), timeout=CANCEL_WAIT_S)
            for ref in ready:
                try:
                    ray.get(ref)
                except Exception:  # cancelled: not finished
                    continue
                take(ref, *running.pop(ref))
        raise


def _cancel(refs: list[Any]) -> None:
    """Cancel the tasks still running: each gets a KeyboardInterrupt, so its job removes its folder (a
    cancelled task is not retried). Not ``force``: Ray's driver aborted (a failed check in its task
    manager) when it force-cancelled a task that was just ending. Those that end meanwhile are taken in
    by the caller: their outputs and rows are there."""
    import ray

    _ready, running = ray.wait(refs, num_returns=len(refs), timeout=0)
    for ref in running:
        ray.cancel(ref)


def _copy_end(copy: Recording, first: Recording, finished: JobResult | Failure) -> JobResult | Failure:
    """The end of a recording whose content ``first`` holds: ``first``'s, under the copy's name."""
    if isinstance(finished, Failure):
        reason = f"the same content as {first.uri}, which failed: {finished.reason}"
        return Failure(copy.name, copy.uri, reason, copy.bytes)
    return JobResult(
        copy.name,
        copy.uri,
        OUTCOME_DUPLICATE,
        copy.bytes,
        finished.run_id,
        finished.outputs,
        same_as=first.uri,
    )
