"""The free-space guard shared by every file output.

A full disk must never reach a writer: rerun-sdk's file writer stalls for good after ENOSPC (a flush
times out, closing it hangs), and an MCAP file cut inside a record loses its summary. So each output asks
:meth:`DiskSpaceGuard.take` before it hands bytes to its file, and stops (closing its file cleanly, footer
and summary written from the reserve) when the file system would drop under ``reserve_bytes`` free.

Outputs on one file system share one budget: the free space measured (``statvfs``) less the reserve, less
what writers have been handed but not yet written (Rerun writes on a thread of its own), less what was
taken since. A ``take`` beyond the budget measures again, so the budget also follows other programs
filling the disk. Recording resumes once the free space is back above twice the reserve (hysteresis:
no flapping between closing and opening files).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rerun_bridge.errors import RecordingError

#: Default ``sinks.min_free_mb``: room for the files' footers and a few seconds of the reference load.
DEFAULT_RESERVE_MB = 1000.0


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still write on the file system of ``path`` (or its nearest
    existing parent)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    stats = os.statvfs(probe)
    return stats.f_bavail * stats.f_frsize


#: A budget older than this is measured again before it is used: another program filling the disk is
#: noticed within this time (Rerun's writer must never meet ENOSPC: a send after that hangs).
MAX_BUDGET_AGE_S = 0.05


#: Less free than this is a full file system (a write there fails).
FULL_BYTES = 64 << 10
#: A stopped output starts a new file only with at least this much free, whatever the reserve.
RESUME_BYTES = 1 << 20
#: Space freed since a stop (by an operator, a cleanup) before a stopped output starts again.
FREED_BYTES = 256 << 10


def disk_full_error(path: Path, reserve_bytes: int) -> DiskFullError:
    """Why an output on ``path`` stopped, as its error says it; ``complete`` tells whether the file could be
    closed whole (not when the disk is full already)."""
    free = free_bytes(path)
    if free < FULL_BYTES:
        return DiskFullError(
            f"{path}: stopped: the disk is full ({free} bytes free; another program filled it, or "
            "the reserve, sinks.min_free_mb or --min-free-mb, is 0); the file ends where it stopped "
            "(`rerun-bridge repair` completes it)",
            complete=False,
        )
    return DiskFullError(
        f"{path}: stopped before the disk filled: {free / 1e6:.1f} MB free, too little for what is being "
        f"written (and what the writers still hold) over the reserve of {reserve_bytes / 1e6:.1f} MB "
        "(sinks.min_free_mb, or --min-free-mb); the file is complete"
    )


@dataclass(slots=True)
class _Device:
    budget: int = 0
    measured_at: float = -1e9
    #: Estimates of bytes handed to a writer that has not written them yet (Rerun's writer thread).
    pending: list[Callable[[], int]] = field(default_factory=list)


def _free_after_pending(path: Path, device: _Device) -> int:
    """Bytes free on ``path``'s file system once the writers have written what they still hold."""
    return free_bytes(path) - sum(max(pending(), 0) for pending in device.pending)


class DiskSpaceGuard:
    """Thread-safe: the conversion worker and the MCAP thread take from it."""

    def __init__(self, reserve_bytes: int) -> None:
        if reserve_bytes < 0:
            raise ValueError(f"free-space reserve must be >= 0, got {reserve_bytes}")
        self.reserve_bytes = reserve_bytes
        self._devices: dict[int, _Device] = {}
        self._device_of: dict[Path, _Device] = {}
        self._lock = threading.Lock()

    def _device(self, path: Path) -> _Device:
        device = self._device_of.get(path)
        if device is None:
            probe = path.parent
            while not probe.exists() and probe != probe.parent:
                probe = probe.parent
            device = self._devices.setdefault(os.stat(probe).st_dev, _Device())
            self._device_of[path] = device
        return device

    def track_pending(self, path: Path, pending: Callable[[], int]) -> Callable[[], None]:
        """Count ``pending()`` bytes against ``path``'s file system; returns the function that stops it."""
        with self._lock:
            device = self._device(path)
            device.pending.append(pending)

        def untrack() -> None:
            with self._lock:
                if pending in device.pending:
                    device.pending.remove(pending)

        return untrack

    def headroom(self, path: Path) -> int:
        """Bytes that may still be written on ``path``'s file system before the reserve (measured now)."""
        with self._lock:
            device = self._device(path)
            device.budget = self._measure(path, device)
            return device.budget

    def _measure(self, path: Path, device: _Device) -> int:
        device.measured_at = time.monotonic()
        return _free_after_pending(path, device) - self.reserve_bytes

    def take(self, path: Path, size: int) -> bool:
        """Account ``size`` bytes about to be written to ``path``; False when they would eat into the reserve
        (nothing is taken then)."""
        with self._lock:
            device = self._device(path)
            if device.budget < size or time.monotonic() - device.measured_at > MAX_BUDGET_AGE_S:
                device.budget = self._measure(path, device)
                if device.budget < size:
                    return False
            device.budget -= size
            return True

    def expected_free(self, path: Path) -> int:
        """Bytes free on ``path``'s file system once the writers have written what they still hold."""
        with self._lock:
            return _free_after_pending(path, self._device(path))

    def has_recovered(self, path: Path, expected_free_at_stop: int) -> bool:
        """True once the free space is back above twice the reserve, at least :data:`RESUME_BYTES`, and
        space was freed since the output stopped (:meth:`expected_free` grew by :data:`FREED_BYTES` from
        ``expected_free_at_stop``): a stopped output may start again (with a reserve of 0, not into the
        disk it just filled). Without the last, an output stopped early for its writer's backlog (3.6 MB
        free, a reserve of 0) started again 70 ms later with no space freed, to stop again, over and over
        (audit)."""
        return (
            self.headroom(path) >= self.reserve_bytes
            and free_bytes(path) >= RESUME_BYTES
            and self.expected_free(path) >= expected_free_at_stop + FREED_BYTES
        )


class DiskFullError(RecordingError):
    """An output stopped because its file system reached the free-space reserve (or filled anyway);
    the file was closed (or abandoned, when the disk filled under a writer) and stays readable."""

    def __init__(self, message: str, complete: bool = True) -> None:
        super().__init__(message)
        #: Whether the file was (or can be) closed whole; False: it ends where the disk filled, and
        #: ``rerun-bridge repair`` completes it.
        self.complete = complete
