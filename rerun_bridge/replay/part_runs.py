"""The parts of a split conversion that run elsewhere: what one is asked (:class:`PartJob`, pickled to a
file), how it runs (a child process of this one, ``python -m rerun_bridge.replay.part_process``; or a Ray
task, :mod:`rerun_bridge.fleet.parts`), and its result (its summary or error, pickled to a file)."""

from __future__ import annotations

import copyreg
import io
import pickle
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from rerun_bridge.config import RobotModelConfig
from rerun_bridge.errors import BridgeError, RecordingError
from rerun_bridge.pipeline import TypeSupport
from rerun_bridge.replay.conversion import ConvertSummary, PartSpec, TopicSelection, convert_bags
from rerun_bridge.replay.split import WorkUnit


@dataclass(frozen=True, slots=True)
class PartJob:
    """What a child process needs to convert one part (pickled to it)."""

    paths: tuple[str, ...]
    output: Path
    part: PartSpec
    selection: TopicSelection
    application_id: str
    robot_model: RobotModelConfig | None
    types: TypeSupport
    min_free_mb: float


def dumps(value: object) -> bytes:
    """``value`` pickled; read-only mappings (the config's) pickle as the mappings they show."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer)
    pickler.dispatch_table = {**copyreg.dispatch_table, MappingProxyType: _reduce_mapping_proxy}
    pickler.dump(value)
    return buffer.getvalue()


def _reduce_mapping_proxy(proxy: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return mapping_proxy, (dict(proxy),)


def mapping_proxy(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """A read-only view again, in the process that unpickles one."""
    return MappingProxyType(mapping)


def picklable(value: object) -> bool:
    try:
        dumps(value)
    except Exception:  # a user mapping's closure, a lambda: that conversion stays in one process
        return False
    return True


class PartRun(Protocol):
    """One part converting elsewhere (a child process, a Ray task): whether it still runs, its summary
    once it has ended (its error raised again), and stopping it."""

    unit: WorkUnit

    def running(self) -> bool: ...

    def result(self, output: Path) -> ConvertSummary: ...

    def stop(self) -> None: ...


#: Starts a part: its unit, its pickled job's file, the file for its result (``child_main``'s arguments).
PartStarter = Callable[[WorkUnit, Path, Path], PartRun]


class PartDiedError(RecordingError):
    """A part's process died (killed, out of memory, a crash in native code): not a property of the
    recording, so a batch tries the recording again (``batch.RETRIED_ERRORS``)."""


def read_part_result(unit: WorkUnit, result_file: Path, output: Path, ended: str) -> ConvertSummary:
    """A part's summary from its result file; its error raised again; no file: it died (``ended`` says
    how: an exit code, Ray's reason)."""
    try:
        status, value = pickle.loads(result_file.read_bytes())
    except (OSError, EOFError, pickle.UnpicklingError):  # killed, out of memory, a crash in native code
        raise PartDiedError(
            f"{output}: the process converting {unit.describe()} died ({ended}); nothing was written"
        ) from None
    if status == "ok" and isinstance(value, ConvertSummary):
        return value
    if isinstance(value, BridgeError):
        raise value
    raise RecordingError(f"{output}: converting {unit.describe()} failed: {value}")


@dataclass(slots=True)
class _ChildProcess:
    """A child process converting one unit: ``python -m rerun_bridge.replay.part_process JOB RESULT``,
    its output in a log file beside the result."""

    unit: WorkUnit
    process: subprocess.Popen[bytes]
    result_file: Path
    log_file: Path

    def result(self, output: Path) -> ConvertSummary:
        code = self.process.wait()
        lines = self.log_file.read_text(errors="replace").strip().splitlines()
        return read_part_result(
            self.unit, self.result_file, output, f"exit code {code}" + (f": {lines[-1]}" if lines else "")
        )

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """End it if it still runs (the conversion failed elsewhere): our own child, by its process id."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def start_child_process(unit: WorkUnit, job_file: Path, result_file: Path) -> PartRun:
    """A part as a child process of this one."""
    log_file = result_file.with_suffix(".log")
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "rerun_bridge.replay.part_process", str(job_file), str(result_file)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    return _ChildProcess(unit, process, result_file, log_file)


def child_main(job_file: Path, result_file: Path) -> None:
    """In the child: convert one part, and leave its summary or its error in ``result_file``."""
    outcome: tuple[str, object]
    try:
        job: PartJob = pickle.loads(job_file.read_bytes())
        summary = convert_bags(
            job.paths,
            job.output,
            selection=job.selection,
            application_id=job.application_id,
            robot_model=job.robot_model,
            types=job.types,
            min_free_mb=job.min_free_mb,
            part=job.part,
        )
        outcome = ("ok", summary)
    except Exception as err:  # every failure goes back to the parent, which reports it
        outcome = ("error", err)
    try:
        data = pickle.dumps(outcome)
    except Exception as err:  # an error that does not pickle: its text
        data = pickle.dumps(("error", RecordingError(f"{type(outcome[1]).__name__}: {outcome[1]} ({err})")))
    temporary = result_file.with_suffix(".partial")
    temporary.write_bytes(data)
    temporary.replace(result_file)  # whole or absent: a crash while writing reads as a crash
