"""The free-space guard on a real, small file system (tmpfs), and `convert` stopping at the reserve."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rerun_bindings
from mcap.reader import make_reader

from rerun_bridge.model.records import MessageDefinition
from rerun_bridge.sinks.disk_space import DiskFullError, DiskSpaceGuard, free_bytes
from rerun_bridge.sinks.mcap import McapSink
from rerun_bridge.sinks.rotation import RotatingMcapSink, RotationPolicy
from test.conftest import GPS_BAG, mounted_tmpfs, verify_rrd

CLI = Path(sys.executable).parent / "rerun-bridge"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "disk", "1m") as disk:
        yield disk


def test_what_one_output_wrote_leaves_less_room_for_the_others(small_disk: Path) -> None:
    guard = DiskSpaceGuard(reserve_bytes=256 << 10)
    room = free_bytes(small_disk) - guard.reserve_bytes
    assert guard.take(small_disk / "a.rrd", room - 16384)
    (small_disk / "a.rrd").write_bytes(b"\0" * (room - 16384))
    assert not guard.take(small_disk / "b.mcap", 65536)  # measured again: the reserve would be eaten
    assert guard.take(small_disk / "b.mcap", 4096)


def test_bytes_a_writer_still_owes_the_disk_count_as_used(small_disk: Path) -> None:
    guard = DiskSpaceGuard(reserve_bytes=0)
    owed = free_bytes(small_disk) - 1000
    untrack = guard.track_pending(small_disk / "a.rrd", lambda: owed)
    assert not guard.take(small_disk / "b.mcap", 2000)
    untrack()
    assert guard.take(small_disk / "b.mcap", 2000)


def test_convert_stops_at_the_reserve_with_complete_files(small_disk: Path) -> None:
    rrd, mcap = small_disk / "gps.rrd", small_disk / "gps.mcap"
    result = subprocess.run(
        [str(CLI), "convert", str(GPS_BAG), "-o", str(rrd), "--mcap", str(mcap), "--min-free-mb", "0.3"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "stopped before the disk filled" in result.stderr
    assert "Traceback" not in result.stderr
    # Both files are complete up to where the conversion stopped: Rerun's footer, the MCAP summary.
    verify_rrd(rrd)
    assert rerun_bindings.check_for_rrd_footer(str(rrd))
    with mcap.open("rb") as stream:
        summary = make_reader(stream).get_summary()
    assert summary is not None
    assert summary.statistics is not None
    assert summary.statistics.message_count > 0


def _fill(disk: Path) -> None:
    """Another program takes every free byte."""
    with (disk / "filler").open("wb", buffering=0) as stream:
        try:
            while True:
                stream.write(b"\0" * 4096)
        except OSError:
            pass


def test_a_summary_that_does_not_fit_is_an_error_not_a_complete_file(small_disk: Path) -> None:
    """The summary cannot be written: closing says so, naming the file and what repairs it (the
    file's last buffered bytes failed silently, whatever the stop had said)."""
    sink = McapSink(small_disk / "run.mcap", guard=DiskSpaceGuard(reserve_bytes=0), chunk_size=16 << 10)
    channel = sink.add_topic("/noise", "std_msgs/msg/String", MessageDefinition("ros2msg", "string data"))
    noise = np.random.default_rng(0).bytes(4000)
    stopped_at = None
    for index in range(10_000):
        try:
            sink.write(channel, index, index, noise)
        except DiskFullError as error:
            stopped_at = str(error)
            break
    assert stopped_at is not None
    _fill(small_disk)  # the summary has no room left
    with pytest.raises(DiskFullError) as closing:
        sink.close()
    text = str(closing.value)
    assert "the file is complete" not in text
    assert text.startswith(f"{small_disk / 'run.mcap'}: write failed (No space left on device)")
    assert "rerun-bridge repair" in text
    assert str(sink.stopped) == text


def test_a_paused_output_reports_what_its_close_kept_and_waits_for_real_room(small_disk: Path) -> None:
    reports: list[str] = []
    guard = DiskSpaceGuard(reserve_bytes=0)
    sink = RotatingMcapSink(
        str(small_disk / "run.mcap"),
        RotationPolicy(),
        guard=guard,
        report=lambda _level, text: reports.append(text),
    )
    # Messages of 150 kB stop it with up to that much free (more than a full disk), and a summary of
    # 3,000 channels (about 200 kB) does not fit in it.
    channels = [
        sink.add_topic(f"/noise{index}", "std_msgs/msg/String", MessageDefinition("ros2msg", "string data"))
        for index in range(3000)
    ]
    noise = np.random.default_rng(0).bytes(150_000)
    for index in range(100):
        sink.write(channels[index], index, index, noise)
        sink.flush()  # on disk, not in an open chunk
        if sink.paused is not None:
            break
    assert sink.paused is not None
    (report,) = reports
    assert "write failed (No space left on device)" in report
    assert "the file is complete" not in report
    sink.flush()  # the disk it filled has no room: no new part yet
    assert sink.paths == [small_disk / "run.mcap"]
    sink.close()


def test_an_output_stopped_early_resumes_only_once_space_is_freed(tmp_path: Path) -> None:
    """With a reserve of 0 an output stopped for its backlog while megabytes were still free, and started
    a new part 70 ms later with no space freed, to stop again, over and over (audit)."""
    reports: list[str] = []
    with mounted_tmpfs(tmp_path / "disk", "4m") as disk:
        sink = RotatingMcapSink(
            str(disk / "run.mcap"),
            RotationPolicy(),
            guard=DiskSpaceGuard(reserve_bytes=0),
            report=lambda _level, text: reports.append(text),
        )
        channel = sink.add_topic("/noise", "std_msgs/msg/String", MessageDefinition("ros2msg", "string data"))
        (disk / "taken").write_bytes(b"\0" * (free_bytes(disk) - (2 << 20)))  # 2 MB left
        sink.write(channel, 0, 0, np.random.default_rng(0).bytes(3 << 20))  # more than is left: stops early
        assert sink.paused is not None
        assert free_bytes(disk) >= 1 << 20  # room enough for a new part by the old rule
        for _ in range(3):
            sink.flush()  # nobody freed anything: still paused, no new part
        assert sink.paused is not None
        assert sink.paths == [disk / "run.mcap"]
        (disk / "taken").unlink()
        sink.flush()
        assert sink.paused is None
        assert sink.paths == [disk / "run.mcap", disk / "run_0001.mcap"]
        assert sum("recording is paused" in report for report in reports) == 1
        sink.close()


def test_a_part_the_disk_filled_under_is_named_with_what_completes_it(tmp_path: Path) -> None:
    """The node's closing lines blamed the reserve (of 0) for a disk another program filled, named no file
    to repair, and left the output's kind blank for a path without suffix (audit)."""
    from rerun_bridge.node import output_line

    with mounted_tmpfs(tmp_path / "disk", "1m") as disk:
        sink = RotatingMcapSink(str(disk / "run"), RotationPolicy(), guard=DiskSpaceGuard(reserve_bytes=0))
        channel = sink.add_topic("/noise", "std_msgs/msg/String", MessageDefinition("ros2msg", "string data"))
        sink.write(channel, 0, 0, b"\0" * 1000)
        _fill(disk)
        sink.write(channel, 1, 1, b"\0" * 1000)
        sink.flush()  # the guard's budget may still take it: then the chunk's write fails
        sink.write(channel, 2, 2, b"\0" * 1000)  # while stopped: not written
        state = sink.state()
        assert state.unfinished == (disk / "run",)
        line = output_line(state)
        assert line.startswith(f"output mcap: {disk / 'run'} (1 part written); ")
        assert "not written: the disk was full" in line
        assert (
            f"{disk / 'run'} ends where the disk filled: `rerun-bridge repair {disk / 'run'}` completes it"
            in line
        )
        sink.close()
