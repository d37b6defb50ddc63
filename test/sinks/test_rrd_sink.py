"""The .rrd sink's bound on what Rerun's file writer may still owe the disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rerun_bridge.model.rows import Row
from rerun_bridge.sinks.rrd import RrdSink
from test.conftest import rrd_row_count


def _cloud(index: int) -> list[Row]:
    positions = np.full((60_000, 3), index, dtype=np.float32)  # 720 kB: sent on its own, at once
    return [Row("/cloud", "Points3D", {"positions": positions})]


def test_past_the_backlog_bound_the_sink_waits_for_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bounded.rrd"
    sink = RrdSink(path, backlog_bytes=1)
    for index in range(5):
        sink.write(_cloud(index), {"log_time": index})
        # Each cloud goes out on its own and its send waits: the open file already holds it.
        assert rrd_row_count(path, "/cloud", "Points3D:positions") == index + 1
    sink.close()
    assert rrd_row_count(path, "/cloud", "Points3D:positions") == 5
