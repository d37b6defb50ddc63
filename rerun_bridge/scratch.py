"""Temporary folders removed even when the process that made one is killed: batch jobs'
(``rerun_bridge_job_*``, ``rerun_bridge_fetch_*`` in the system's temporary folder, ``.rerun_bridge_job_*``
inside a local output folder) and a split conversion's parts (``rerun_bridge_parts_*`` in ``/dev/shm``,
``.rerun_bridge_parts_*`` beside the output: hundreds of MB, in RAM for the first).

A Ray worker killed mid-task (out of memory, a node's worker killed, a batch interrupted) never runs its
``finally``; its folder stays. So each folder has a lock file beside it (``<folder>.lock``) that its
process keeps locked (``flock``: the kernel lets go of it when the process ends, however it ends), and
every new folder first removes the folders of the same prefixes whose lock nobody holds: a retried task
cleans up after the try that was killed, on the same machine. The lock is taken before the folder is
made, so a process killed at any instant leaves no folder without its lock file.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The prefixes of the fleet's temporary folders in the system's temporary folder.
JOB_PREFIX = "rerun_bridge_job_"
FETCH_PREFIX = "rerun_bridge_fetch_"
#: A job's hidden folder inside a local output folder (its outputs are renamed from there into place).
OUTPUT_JOB_PREFIX = ".rerun_bridge_job_"
#: A split conversion's parts: in memory (``/dev/shm``), or beside the output.
PARTS_PREFIX = "rerun_bridge_parts_"
OUTPUT_PARTS_PREFIX = ".rerun_bridge_parts_"
PREFIXES = (JOB_PREFIX, FETCH_PREFIX, OUTPUT_JOB_PREFIX, PARTS_PREFIX, OUTPUT_PARTS_PREFIX)
#: Beside each folder, locked by its process for as long as the folder is in use.
LOCK_SUFFIX = ".lock"


def _lock(path: Path) -> int | None:
    """An open descriptor of ``path`` holding its exclusive lock, else None (held by a live process, or
    no such file)."""
    try:
        handle = os.open(path, os.O_RDWR)
    except OSError:
        return None
    if _try_flock(handle):
        return handle
    os.close(handle)
    return None


def _try_flock(handle: int) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _folder_of(lock: Path) -> Path:
    return lock.with_name(lock.name.removesuffix(LOCK_SUFFIX))


def remove_orphans(root: Path | None = None) -> list[Path]:
    """Remove the fleet's temporary folders under ``root`` (default: the system's temporary folder)
    whose process has ended; the folders removed. A folder without its lock file beside it (made by a
    version before this one) is left alone: its owner may be alive."""
    base = Path(root or tempfile.gettempdir())
    removed = []
    for prefix in PREFIXES:
        for lock in base.glob(f"{prefix}*{LOCK_SUFFIX}"):
            handle = _lock(lock)
            if handle is None:
                continue
            folder = _folder_of(lock)
            try:
                # The folder goes first: a sweep killed in between leaves a free lock for the next.
                shutil.rmtree(folder, ignore_errors=True)
                lock.unlink(missing_ok=True)
            finally:
                os.close(handle)
            removed.append(folder)
    return removed


@contextmanager
def scratch_folder(prefix: str, root: Path | None = None) -> Iterator[Path]:
    """A new temporary folder in ``root`` (default: the system's temporary folder), locked by this
    process while the context lasts and removed after; the orphans of killed processes there are
    removed first."""
    remove_orphans(root)
    while True:
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=LOCK_SUFFIX, dir=root)
        lock = Path(name)
        # Another process's sweep may take the new lock file (unlocked for an instant) and remove it: the
        # lock is ours only if the locked file is still the one at its path.
        if _try_flock(handle) and _same_file(lock, handle):
            folder = _folder_of(lock)
            try:
                folder.mkdir()
                break
            except FileExistsError:  # a folder of an older version by that name
                lock.unlink(missing_ok=True)
        os.close(handle)
    try:
        yield folder
    finally:
        # A Ctrl-C in the middle of the removal left the folder half removed (audit): it waits for it.
        with signals_deferred():
            try:
                shutil.rmtree(folder, ignore_errors=True)
                lock.unlink(missing_ok=True)
            finally:
                os.close(handle)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT and SIGTERM held while the context lasts and delivered after it (to the handlers there were:
    Ctrl-C's KeyboardInterrupt, the CLI's SIGTERM as one); only on the main thread, where Python runs
    signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda number, _frame: received.append(number))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        if received:
            signal.raise_signal(received[0])


def _same_file(path: Path, handle: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(handle).st_ino
    except OSError:
        return False
