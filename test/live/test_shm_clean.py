"""Fast DDS's leftovers of a killed process are given back; a running process keeps its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from rerun_bridge.live.shm_clean import clean_dead_fastdds_memory
from test.live.conftest import ROOT, LiveEnv, read_until

SHM = Path("/dev/shm")
#: A participant that publishes nothing: enough for Fast DDS to create its segment and port.
_PARTICIPANT = (
    "import time, rclpy; rclpy.init(); node = rclpy.create_node('shm_probe'); "
    "print('ready', flush=True); time.sleep(120)"
)


def _start_participant(live: LiveEnv) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", _PARTICIPANT],
        cwd=ROOT,
        env=live.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready, lines = read_until(process.stdout, "ready", timeout=60)
    assert ready, "".join(lines)
    return process


def _locked_by(pid: int) -> set[Path]:
    """The Fast DDS lock files of /dev/shm that ``pid`` holds (from /proc/locks: pid and inode)."""
    inodes = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[4] == str(pid):
            inodes.add(int(fields[5].split(":")[2]))
    return {path for path in SHM.glob("fastdds_*_el") if _inode(path) in inodes}


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def test_a_killed_participants_segment_is_removed_and_a_running_ones_kept(live: LiveEnv) -> None:
    killed = _start_participant(live)
    running = _start_participant(live)
    try:
        killed_locks = _locked_by(killed.pid)
        running_locks = _locked_by(running.pid)
        assert killed_locks
        assert running_locks
        killed_files = {path.with_name(path.name.removesuffix("_el")) for path in killed_locks} | killed_locks
        killed_inodes = {path: _inode(path) for path in killed_files}
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert all(path.exists() for path in killed_files), "Fast DDS removed a killed process's files"

        output = clean_dead_fastdds_memory()

        assert output is not None
        assert "zombie" in output
        # The running participant still sends to the killed one's unicast port until its lease ends, and
        # opening that port makes a new file of the same name (CI saw fastdds_port7000 back): what the
        # killed one left is gone when no file of its name, or only a new one, is there.
        left = [path for path, inode in killed_inodes.items() if _inode(path) == inode]
        assert not left, left
        assert all(path.exists() for path in running_locks)
        assert running_locks <= _locked_by(running.pid)
    finally:
        for process in (killed, running):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.communicate(timeout=30)
