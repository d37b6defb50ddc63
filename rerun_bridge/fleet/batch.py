"""Many recordings converted as Ray tasks: on this machine's cores by default, on a cluster when given its
address. A bounded number of tasks is in flight (``workers``, else one per CPU of the cluster); a task that
raises or whose worker dies is retried once by Ray; a recording that fails twice is reported with its
reason and the others go on."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rerun_bridge.fleet.catalog import catalog_of, converted_runs
from rerun_bridge.fleet.discovery import Recording
from rerun_bridge.fleet.jobs import JobOptions, JobResult, convert_recording
from rerun_bridge.fleet.storage import StorageError, location_of
from rerun_bridge.replay.part_runs import PartDiedError
from rerun_bridge.scratch import remove_orphans

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
    if address:
        ray.init(address=address, logging_level=logging.WARNING)
    else:
        ray.init(
            address="local",
            num_cpus=workers or os.cpu_count() or 1,
            include_dashboard=False,
            logging_level=logging.WARNING,
        )
    try:
        yield
    finally:
        ray.shutdown()


def _failure_reason(error: BaseException) -> str:
    """The recording's own error, not Ray's wrapping of it."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    return f"{type(error).__name__}: {error}".splitlines()[0]


def run_batch(
    recordings: Sequence[Recording],
    options: JobOptions,
    workers: int | None,
    progress: Progress | None = None,
) -> BatchReport:
    """Convert ``recordings`` as Ray tasks (Ray must be connected: :func:`ray_connection`)."""
    import ray

    report = BatchReport(len(recordings), sum(r.bytes for r in recordings))
    done: Mapping[str, str] = {} if options.force else converted_runs(catalog_of(location_of(options.out)))
    settings = {name: os.environ[name] for name in AWS_SETTINGS if name in os.environ}
    task = ray.remote(convert_recording).options(
        num_cpus=1,
        max_retries=TASK_RETRIES,
        # A worker that died is retried by Ray anyway; of the errors a task raises, only those of its
        # surroundings: a recording's own (damaged, nothing convertible) fails the same way again.
        retry_exceptions=list(RETRIED_ERRORS),
        runtime_env={"env_vars": settings} if settings else None,
    )
    limit = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]
    done_ref = ray.put(done)
    waiting = list(reversed(recordings))
    running: dict[Any, Recording] = {}
    while waiting or running:
        while waiting and len(running) < limit:
            recording = waiting.pop()
            running[task.remote(recording, options, done_ref)] = recording
        ready, _ = ray.wait(list(running), num_returns=1)
        recording = running.pop(ready[0])
        end: JobResult | Failure
        try:
            result: JobResult = ray.get(ready[0])
            report.results.append(result)
            end = result
        except Exception as err:  # any error of the task, after its retry: this recording failed
            failure = Failure(recording.name, recording.uri, _failure_reason(err), recording.bytes)
            report.failures.append(failure)
            end = failure
        if progress is not None:
            progress(report, end)
    # A killed try's temporary folder is removed by its retry's node; one retried on another node of
    # this machine (a local cluster) would leave it until the next job there.
    remove_orphans()
    return report
