"""The live node on a real, tiny file system (a 2 MB tmpfs) that fills while it records."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
import rerun.chunk as rrc
import rerun_bindings
from mcap.reader import make_reader

from rerun_bridge.sources.bag import open_bag
from test.conftest import mounted_tmpfs, verify_rrd
from test.live.conftest import BRIDGE, LiveEnv, read_until, stop

pytestmark = pytest.mark.xdist_group("live")
REPAIR = [BRIDGE[0], "repair"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs mounted for the test."""
    with mounted_tmpfs(tmp_path / "disk", "2m") as disk:
        yield disk


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts: killed (by pid) if a failed test left them running."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def _bridge(
    live: LiveEnv, disk: Path, min_free_mb: float, started: list[subprocess.Popen[str]]
) -> subprocess.Popen[str]:
    config = live.tmp / "bridge.yaml"
    config.write_text(f"sinks:\n  min_free_mb: {min_free_mb}\n")
    bridge = live.bridge(
        "--config", str(config), "--rrd", str(disk / "run.rrd"), "--mcap", str(disk / "run.mcap")
    )
    started.append(bridge)
    return bridge


def read_until_all(stream: IO[str] | None, texts: list[str], timeout: float) -> tuple[bool, list[str]]:
    """Lines of a pipe until each of ``texts`` has been in a line (or ``timeout``), and whether they were."""
    lines: list[str] = []
    missing = set(texts)
    done = threading.Event()

    def reader() -> None:
        for line in stream or ():
            lines.append(line)
            missing.difference_update({text for text in missing if text in line})
            if not missing:
                done.set()
                return

    threading.Thread(target=reader, daemon=True).start()
    return done.wait(timeout), lines


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _mcap_has_summary(path: Path) -> bool:
    with path.open("rb") as stream:
        summary = make_reader(stream).get_summary()
    return summary is not None and summary.statistics is not None


def test_full_disk_closes_files_cleanly_and_recording_resumes_when_space_returns(
    live: LiveEnv, small_disk: Path, started: list[subprocess.Popen[str]]
) -> None:
    bridge = _bridge(live, small_disk, 0.5, started)
    frames = live.publish("small_frame", 200, 10)  # 102 kB frames: the disk fills within seconds
    imu = live.publish("imu", 800, 40)
    started += [frames, imu]
    # Both files must be closed before they are moved: wait for the two messages.
    paused, lines = read_until_all(bridge.stderr, ["run.rrd: stopped", "run.mcap: stopped"], timeout=60)
    assert paused, "".join(lines)
    # Make room: the stopped files move off the small disk (as an operator would upload them).
    kept = live.tmp / "kept"
    kept.mkdir()
    for path in sorted(small_disk.iterdir()):
        if path.name in ("run.rrd", "run.mcap"):
            shutil.move(path, kept / path.name)
    # Each output resumes on its own check of the free space: wait for both before stopping.
    resumed, more = read_until_all(
        bridge.stderr,
        [
            f"recording goes on in {small_disk / 'run_0001.rrd'}",
            f"recording goes on in {small_disk / 'run_0001.mcap'}",
        ],
        timeout=30,
    )
    assert resumed, "".join(lines + more)
    out, err = stop(bridge, signal.SIGTERM, timeout=30)
    frames.kill()
    imu.kill()
    assert bridge.returncode == 0, err
    log = "".join(lines + more) + err
    assert "Traceback" not in log
    assert f"{small_disk / 'run.rrd'}: stopped before the disk filled" in log
    # After the summary table: each output, and what it dropped while paused (the table's "stored"
    # counts what was handed to the outputs).
    assert f"output rrd: {small_disk / 'run_0001.rrd'} (2 parts written)" in out, out
    assert f"output mcap: {small_disk / 'run_0001.mcap'} (2 parts written)" in out, out
    assert "counted as stored above were not written: the disk was at its reserve" in out, out
    assert log.count(f"{small_disk / 'run.rrd'}: stopped") == 1  # said once
    # Every file, stopped or not, is complete: Rerun's footer and the MCAP summary are there.
    rrd_files = sorted(kept.glob("*.rrd")) + sorted(small_disk.glob("*.rrd"))
    mcap_files = sorted(kept.glob("*.mcap")) + sorted(small_disk.glob("*.mcap"))
    assert [p.name for p in rrd_files[:2]] == ["run.rrd", "run_0001.rrd"]
    for path in rrd_files:
        verify_rrd(path)
        assert rerun_bindings.check_for_rrd_footer(str(path)), path
    for path in mcap_files:
        assert _mcap_has_summary(path), path
    with open_bag(kept / "run.mcap") as bag:
        assert sum(1 for m in bag.messages() if m.topic == "/camera/small/image_raw") > 0


def test_disk_filled_by_another_program_stops_no_thread_and_keeps_what_was_written(
    live: LiveEnv, small_disk: Path, started: list[subprocess.Popen[str]]
) -> None:
    bridge = _bridge(live, small_disk, 0, started)
    frames = live.publish("small_frame", 200, 10)
    started.append(frames)
    subscribed, lines = read_until(bridge.stderr, "bridging /camera/small/image_raw", timeout=60)
    assert subscribed, "".join(lines)
    # Frames have reached both files (a few flushes; the .rrd compresses these flat frames to little).
    deadline = time.monotonic() + 60
    while (
        _size(small_disk / "run.mcap") < 400_000 or _size(small_disk / "run.rrd") < 30_000
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    # Another program takes every free byte behind the guard's back: the writers meet ENOSPC.
    filler = small_disk / "filler"
    with filler.open("wb", buffering=0) as stream:
        try:
            while True:
                stream.write(b"\0" * 4096)
        except OSError:
            pass
    # The guard sees the full disk within its measuring period; a write already on its way meets
    # ENOSPC (the MCAP file's OSError, Rerun's writer stalling): either way one error names each file.
    stopped, more = read_until_all(bridge.stderr, ["run.rrd: stopped", "run.mcap: "], timeout=60)
    assert stopped, "".join(lines + more)
    out, err = stop(bridge, signal.SIGTERM, timeout=30)  # stops on time, whatever the writers did
    frames.kill()
    log = "".join(lines + more) + err
    assert "Traceback" not in log
    assert log.count("run.rrd: stopped") == 1
    # 1 when a file ends where the disk filled (named in the closing lines with its repair), or Rerun's
    # writer stalled (the process then leaves without waiting for it); 0 when each closed whole.
    cut = [name for name in ("run.rrd", "run.mcap") if f"{name}: stopped: the disk is full" in log]
    assert bridge.returncode == (1 if cut or "the disk filled under" in log else 0), log
    for name in cut:
        assert f"{small_disk / name} ends where the disk filled: `rerun-bridge repair" in out, out
    # What reached the disk before it filled stays readable: as it is, or through `rerun-bridge repair`
    # where the cut left the last record incomplete.
    repaired = live.tmp / "repaired"
    for name in ("run.rrd", "run.mcap"):
        result = subprocess.run(
            [*REPAIR, str(small_disk / name), "-o", str(repaired / name)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    verify_rrd(repaired / "run.rrd")
    chunks = rrc.RrdReader(str(repaired / "run.rrd")).stream().to_chunks()
    assert any(str(chunk.entity_path) == "/camera/small/image_raw" for chunk in chunks)
    assert _mcap_has_summary(repaired / "run.mcap")
    with open_bag(repaired / "run.mcap") as bag:
        assert sum(1 for m in bag.messages() if m.topic == "/camera/small/image_raw") > 0
