"""Giving back the shared memory that killed Fast DDS processes leave in /dev/shm.

Fast DDS removes a process's segment (70 MB with the shipped large-message profile) and ports when the
process ends cleanly; SIGKILL, a crash or the OOM killer leave them behind, in RAM, until a reboot. Test
runs and benchmark loops kill DDS processes on purpose, so they call :func:`clean_dead_fastdds_memory`
when they end. It runs Fast DDS's own cleaner, ``fastdds shm clean``, which removes only the files whose
owner no longer holds their lock: those of running DDS processes stay.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

#: The cleaner checks each file's lock; a few seconds even with thousands of leftovers.
CLEAN_TIMEOUT_S = 60.0


def clean_dead_fastdds_memory(timeout_s: float = CLEAN_TIMEOUT_S) -> str | None:
    """Run ``fastdds shm clean`` (the ``ros-fastdds`` wheel installs it beside this interpreter) and
    return what it printed, or None when the tool is not installed or did not finish. The tool is a shell
    script that runs ``python3`` from PATH, which must have ``psutil``: this interpreter's folder goes
    first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    path = os.pathsep.join((bin_dir, os.environ.get("PATH", "")))
    tool = shutil.which("fastdds", path=path)
    if tool is None:
        return None
    try:
        result = subprocess.run(
            [tool, "shm", "clean"],
            env={**os.environ, "PATH": path},
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None
