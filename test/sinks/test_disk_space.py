"""The free-space guard on a real, small file system (tmpfs), and `convert` stopping at the reserve."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import rerun_bindings
from mcap.reader import make_reader

from rerun_bridge.sinks.disk_space import DiskSpaceGuard, free_bytes
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
