"""Jobs' temporary folders (``rerun_bridge_job_*``, ``rerun_bridge_fetch_*`` in the system's temporary
folder, ``.rerun_bridge_job_*`` inside a local output folder), removed even when the process that made
one is killed.

A Ray worker killed mid-task (out of memory, a node's worker killed, a batch interrupted) never runs its
``finally``; its folder stays. So each folder holds a lock file that its process keeps locked (``flock``:
the kernel lets go of it when the process ends, however it ends), and every new folder first removes the
folders of the same prefixes whose lock nobody holds: a retried task cleans up after the try that was
killed, on the same machine.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The prefixes of the fleet's temporary folders in the system's temporary folder.
JOB_PREFIX = "rerun_bridge_job_"
FETCH_PREFIX = "rerun_bridge_fetch_"
#: A job's hidden folder inside a local output folder (its outputs are renamed from there into place).
OUTPUT_JOB_PREFIX = ".rerun_bridge_job_"
PREFIXES = (JOB_PREFIX, FETCH_PREFIX, OUTPUT_JOB_PREFIX)
#: Inside each folder, locked by its process for as long as the folder is in use.
LOCK_FILE = ".owner.lock"


def _lock(path: Path, create: bool) -> int | None:
    """An open descriptor of ``path`` holding its exclusive lock, else None (held by a live process, or
    no such file)."""
    try:
        handle = os.open(path, os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0), 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(handle)
        return None
    return handle


def remove_orphans(root: Path | None = None) -> list[Path]:
    """Remove the fleet's temporary folders under ``root`` (default: the system's temporary folder)
    whose process has ended; the folders removed. A folder without a lock file (made before locks
    were, or an instant old) is left alone: its owner may be alive."""
    base = Path(root or tempfile.gettempdir())
    removed = []
    for prefix in PREFIXES:
        for folder in base.glob(f"{prefix}*"):
            handle = _lock(folder / LOCK_FILE, create=False)
            if handle is None:
                continue
            try:
                shutil.rmtree(folder, ignore_errors=True)
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
        folder = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
        lock = folder / LOCK_FILE
        handle = _lock(lock, create=True)
        # Another process's sweep may have taken the new lock file and removed the folder in between:
        # the folder is ours only if the locked file is still the one at its path.
        if handle is not None and _same_file(lock, handle):
            break
        if handle is not None:
            os.close(handle)
        shutil.rmtree(folder, ignore_errors=True)
    try:
        yield folder
    finally:
        try:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(handle)


def _same_file(path: Path, handle: int) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(handle).st_ino
    except OSError:
        return False
