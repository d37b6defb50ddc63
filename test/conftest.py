"""Shared fixtures: paths to the real recordings, Rerun's own CLI as an oracle, RRD readers."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.pipeline import STRICT_ENV

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
ROSBAG2_RESOURCES = SHARED_DATA / "synthetic" / "ros2_rosbag2_test_resources"
RERUN_SUPPORTED_MCAP = (
    SHARED_DATA / "synthetic" / "rerun_supported_ros2_messages" / "rosbag2_2025_09_10-13_03_56_0.mcap"
)
NEATO_BAG = SHARED_DATA / "real" / "olin_neato_obstacle_avoider"
GPS_BAG = SHARED_DATA / "real" / "uf_gps_nav_bag"
ABITOBOT_BAG = SHARED_DATA / "synthetic" / "abitobot_gazebo_jazzy"
RERUN_CLI = Path(sys.executable).parent / "rerun"

# Strict mode: a converter bug raises instead of being counted as bad data (rerun_bridge.pipeline), in this
# process and in every bridge process the tests start.
os.environ[STRICT_ENV] = "1"


def _private_rerun_config(base: Path) -> None:
    # Rerun's analytics read their opt-out from XDG config: point every process at a private, opted-out one.
    os.environ["XDG_CONFIG_HOME"] = str(base / "config")
    os.environ["XDG_DATA_HOME"] = str(base / "data")
    subprocess.run([str(RERUN_CLI), "analytics", "disable"], check=False, capture_output=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Tests kill DDS processes on purpose; their Fast DDS segments (up to 70 MB each, in RAM) are given
    back once every test has ended: on the controller only, after the workers are done."""
    if not hasattr(session.config, "workerinput"):
        from rerun_bridge.live.shm_clean import clean_dead_fastdds_memory

        clean_dead_fastdds_memory()


@pytest.fixture(scope="session", autouse=True)
def rerun_analytics_off(tmp_path_factory: pytest.TempPathFactory) -> None:
    _private_rerun_config(tmp_path_factory.mktemp("rerun_home"))


@pytest.fixture(autouse=True)
def strict_rerun() -> Iterator[None]:
    """Rerun's warnings become errors in tests, as rerun_py's own suite does."""
    import rerun as rr

    rr.set_strict_mode(True)
    yield
    rr.set_strict_mode(False)


def verify_rrd(path: Path) -> None:
    """Rerun's own verifier must accept the file."""
    result = subprocess.run(
        [str(RERUN_CLI), "rrd", "verify", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"rerun rrd verify {path} failed:\n{result.stdout}\n{result.stderr}"


def rrd_chunks(path: Path) -> list[tuple[str, bool, pa.RecordBatch]]:
    """(entity path, is static, record batch) of every chunk of an .rrd, through rerun-sdk's reader."""
    import rerun.chunk as rrc

    out = []
    for chunk in rrc.RrdReader(str(path)).stream().to_chunks():
        out.append((str(chunk.entity_path), bool(chunk.is_static), chunk.to_record_batch()))
    return out


def rrd_column(path: Path, entity_path: str, column: str, timed: bool = False) -> list[Any]:
    """Every value of one component column of one entity, in log-time order where there is one (static
    values first); ``timed``: the timed values only (an entity's frame is also written static)."""
    rows: list[tuple[int, Any]] = []
    for entity, static, batch in rrd_chunks(path):
        if entity != entity_path or column not in batch.schema.names or (timed and static):
            continue
        order = (
            batch.column("log_time").cast(pa.int64()).to_pylist()
            if "log_time" in batch.schema.names
            else [0] * batch.num_rows
        )
        rows.extend(zip(order, batch.column(column).to_pylist(), strict=True))
    rows.sort(key=lambda item: item[0])
    return [value for _time, value in rows]


def rrd_row_count(path: Path, entity_path: str, column: str) -> int:
    """Rows of an entity that carry a given component (non-null)."""
    total = 0
    for entity, _static, batch in rrd_chunks(path):
        if entity == entity_path and column in batch.schema.names:
            total += batch.num_rows - batch.column(column).null_count
    return total


class ListSink:
    """A row sink that keeps every row written, in order (column rows as their plain rows)."""

    def __init__(self) -> None:
        self.rows: list[Row] = []

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        self.rows.extend(rows)

    def write_columns(self, columns: ColumnRows) -> None:
        self.rows.extend(columns.to_rows())

    def flush(self, wait: bool = True) -> None:
        """Nothing is queued."""

    def close(self) -> None:
        """Nothing to release."""


@contextlib.contextmanager
def mounted_tmpfs(mount_point: Path, size: str) -> Iterator[Path]:
    """A real, small file system (tmpfs) at ``mount_point`` for disk-full tests; the suite runs as root."""
    mount_point.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)
