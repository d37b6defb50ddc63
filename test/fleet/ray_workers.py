"""Killing a Ray worker in the middle of a conversion, as an out-of-memory kill would."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psutil  # type: ignore[import-untyped]  # no stubs in the venv (types-psutil)

from rerun_bridge.demo.sample_bag import SampleSpec, write_sample
from rerun_bridge.fleet.batch import BatchReport, run_batch
from rerun_bridge.fleet.discovery import find_recordings
from rerun_bridge.fleet.jobs import JobOptions

T = TypeVar("T")


def kill_first_worker(stop: threading.Event, chosen: Callable[[psutil.Process], T | None]) -> T | None:
    """SIGKILL the first Ray worker seen running a conversion (Ray names it after the task) for which
    ``chosen`` finds something, and return that; None once ``stop`` is set."""
    me = psutil.Process()
    while not stop.is_set():
        for process in me.children(recursive=True):
            try:
                if not " ".join(process.cmdline()).startswith("ray::convert_recording"):
                    continue
                found = chosen(process)
                if found is not None:
                    process.kill()
                    return found
            except psutil.Error:
                continue
        time.sleep(0.01)
    return None


def batch_killing_a_worker(
    tmp_path: Path, out: str, chosen: Callable[[psutil.Process], T | None]
) -> tuple[BatchReport, list[T]]:
    """A generated 60 s recording batched to ``out`` on one worker while the first worker for which
    ``chosen`` finds something is killed: the batch's report and what was found (one item, once killed)."""
    bag = write_sample(tmp_path / "in" / "robot", SampleSpec(duration_s=60.0))
    recordings, _ = find_recordings([str(bag)])
    stop = threading.Event()
    killed: list[T] = []

    def kill() -> None:
        found = kill_first_worker(stop, chosen)
        if found is not None:
            killed.append(found)

    killer = threading.Thread(target=kill)
    killer.start()
    try:
        report = run_batch(recordings, JobOptions(out), workers=1)
    finally:
        stop.set()
        killer.join()
    return report, killed
