"""Helpers for tests that talk over loopback: free ports, a real headless Rerun viewer, waiting on a
condition instead of sleeping a guessed time."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import rerun.chunk as rrc
import rerun_cli  # type: ignore[import-untyped]

from rerun_bridge.store.rrd_file import scan_chunks

# The native binary (bin/rerun is a Python wrapper: a signal to it would leave the viewer running).
RERUN_BINARY = Path(rerun_cli.__file__).parent / "rerun"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Viewer:
    """A headless Rerun viewer on loopback saving what it receives."""

    def __init__(self, port: int, output: Path) -> None:
        self.output = output
        self.process = subprocess.Popen(
            [str(RERUN_BINARY), "--bind", "127.0.0.1", "--port", str(port), "--save", str(output)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for line in self.process.stderr or ():
            if "Listening for gRPC connections" in line:
                break

    def stop(self, signum: int = signal.SIGINT) -> None:
        self.process.send_signal(signum)
        self.process.wait(timeout=30)

    def chunks(self) -> list[tuple[str, bool, list[float]]]:
        """(entity, static, first scalar of each row or []) of every chunk the viewer saved so far. A file
        still being written (or cut by a kill) is read up to its last whole message, with static False."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the viewer's --save file has no footer
            try:
                return [
                    (str(chunk.entity_path), bool(chunk.is_static), _first_scalars(chunk.to_record_batch()))
                    for chunk in rrc.RrdReader(str(self.output)).stream().to_chunks()
                ]
            except (RuntimeError, ValueError):
                if not self.output.exists():
                    return []
                return [
                    (chunk.entity_path, False, _first_scalars(chunk.batch))
                    for chunk in scan_chunks(self.output)
                ]

    def blueprint_application_ids(self) -> list[str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [str(entry.application_id) for entry in rrc.RrdReader(str(self.output)).blueprints()]


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _first_scalars(batch: pa.RecordBatch) -> list[float]:
    if "Scalars:scalars" not in batch.schema.names:
        return []
    return [row[0] for row in batch.column("Scalars:scalars").to_pylist()]
