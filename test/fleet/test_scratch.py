"""Jobs' temporary folders: a process killed while it uses one (SIGKILL: no ``finally`` runs) leaves it,
and the next job removes it; a live process's folder, and one without a lock, stay."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rerun_bridge.scratch import (
    FETCH_PREFIX,
    JOB_PREFIX,
    OUTPUT_JOB_PREFIX,
    remove_orphans,
    scratch_folder,
)

#: A process that makes a job folder, says which, and waits to be killed.
HOLDER = """
import sys, time
from pathlib import Path
from rerun_bridge.scratch import scratch_folder
with scratch_folder(sys.argv[1], Path(sys.argv[2]) if len(sys.argv) > 2 else None) as folder:
    (folder / "robot.rrd").write_bytes(b"half written")
    print(folder, flush=True)
    time.sleep(600)
"""


def _holder(tmp_path: Path, prefix: str, root: Path | None = None) -> tuple[subprocess.Popen[str], Path]:
    """A real process holding a folder of ``prefix`` in ``root``, else in ``tmp_path`` (its TMPDIR)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, prefix, *([str(root)] if root else [])],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert process.stdout is not None
    folder = Path(process.stdout.readline().strip())
    assert folder.parent == (root or tmp_path)
    return process, folder


def test_a_killed_processs_folder_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    killed, orphan = _holder(tmp_path, JOB_PREFIX)
    alive, in_use = _holder(tmp_path, FETCH_PREFIX)
    legacy = tmp_path / f"{JOB_PREFIX}made_without_a_lock"
    legacy.mkdir()
    try:
        killed.kill()
        killed.wait()
        assert orphan.exists()  # the killed process could not clean up
        assert remove_orphans(tmp_path) == [orphan]
        assert not orphan.exists()
        assert (in_use / "robot.rrd").exists()
        assert legacy.exists()
    finally:
        alive.kill()
        alive.wait()
    assert remove_orphans(tmp_path) == [in_use]


def test_the_lock_is_taken_before_the_folder_exists_and_a_lone_free_lock_is_swept(tmp_path: Path) -> None:
    """A worker killed just after making its folder and before locking it left a folder that no sweep
    would ever take (CI: a killed Ray worker's `.rerun_bridge_job_*` stayed in OUT). The lock file now
    comes first, beside the folder: killed between the two, it leaves only a free lock file."""
    with scratch_folder(JOB_PREFIX, root=tmp_path) as folder:
        lock = folder.with_name(folder.name + ".lock")
        assert lock.is_file()
        assert remove_orphans(tmp_path) == []
    assert list(tmp_path.iterdir()) == []
    lone_lock = tmp_path / f"{OUTPUT_JOB_PREFIX}killed_before_its_folder.lock"
    lone_lock.write_bytes(b"")
    assert remove_orphans(tmp_path) == [lone_lock.with_suffix("")]
    assert list(tmp_path.iterdir()) == []


def test_a_scratch_folder_is_gone_after_use_and_kept_from_sweeps_meanwhile() -> None:
    with scratch_folder(JOB_PREFIX) as folder:
        (folder / "work.rrd").write_bytes(b"x")
        assert folder not in remove_orphans()  # this process's own lock is held
        assert folder.is_dir()
    assert not folder.exists()


def test_a_killed_jobs_folder_in_an_output_folder_goes_with_the_next_job_there(tmp_path: Path) -> None:
    """A local output is written in a hidden folder inside OUT: a worker killed while writing it leaves
    it, half-written output and all, until the next job writing to that OUT."""
    out = tmp_path / "out"
    out.mkdir()
    killed, orphan = _holder(tmp_path, OUTPUT_JOB_PREFIX, root=out)
    killed.kill()
    killed.wait()
    assert (orphan / "robot.rrd").read_bytes() == b"half written"
    assert orphan.name.startswith(".")
    with scratch_folder(OUTPUT_JOB_PREFIX, root=out) as folder:
        assert not orphan.exists()
        assert folder.parent == out
    assert list(out.iterdir()) == []


def test_a_signal_during_the_removal_waits_for_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C at the end of a split conversion stopped the removal of its parts folder half way, and the
    folder stayed (audit): the removal holds SIGINT until it is done, then Ctrl-C goes on as usual."""
    removing = shutil.rmtree

    def interrupted_removal(path: Path, ignore_errors: bool = False) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the removal starts
        removing(path, ignore_errors=ignore_errors)

    monkeypatch.setattr("rerun_bridge.scratch.shutil.rmtree", interrupted_removal)
    with pytest.raises(KeyboardInterrupt), scratch_folder("test_", tmp_path) as folder:
        (folder / "part1.rrd").write_bytes(b"\0" * 1000)
    assert not any(tmp_path.iterdir())  # folder and lock removed all the same
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
