"""Whole conversions with the C extensions and without them (their numpy fallbacks, as an install without a
compiler runs) give the same recording, by Rerun's own ``rerun rrd compare``: a real robot's lidar clouds,
every sensor_msgs type of Rerun's own fixture, and MarkerArrays of every marker type."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from mcap_ros2.writer import Writer

from rerun_bridge.cdr import marker_scan
from rerun_bridge.convert import pointcloud
from rerun_bridge.replay import TopicSelection, convert_bags
from test.conftest import NEATO_BAG, RERUN_CLI, RERUN_SUPPORTED_MCAP
from test.convert.test_marker_columns import OTHERS, REDRAWN, SECOND, STORE, T0, TYPE, _as_dict

#: Types whose conversion the extensions speed up, and the topics of each recording that carry them.
NATIVE_TYPES = ("sensor_msgs/msg/PointCloud2", "visualization_msgs/msg/MarkerArray")


def _marker_bag(path: Path) -> Path:
    """Every test array of test_marker_columns.py, one after another on one topic."""
    with path.open("wb") as stream:
        writer = Writer(stream)
        schema = writer.register_msgdef(TYPE, STORE.generate_msgdef(TYPE, ros_version=2)[0])
        for index, markers in enumerate([*REDRAWN.values(), *OTHERS.values()]):
            writer.write_message("/markers", schema, _as_dict(markers), log_time=T0 + index * SECOND)
        writer.finish()  # type: ignore[no-untyped-call]
    return path


def _compare(first: Path, second: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RERUN_CLI), "rrd", "compare", str(first), str(second)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("recording", ["neato", "rerun_fixture", "markers"])
def test_same_recording_without_the_extensions(
    recording: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bag = {"neato": NEATO_BAG, "rerun_fixture": RERUN_SUPPORTED_MCAP}.get(recording) or _marker_bag(
        tmp_path / "markers.mcap"
    )
    native = convert_bags([bag], tmp_path / "native.rrd")
    converted = [t for t in native.topics if t.type_name in NATIVE_TYPES and t.rows > 0 and not t.errors]
    assert converted, "the recording has no cloud or marker array converted without errors"
    monkeypatch.setattr(pointcloud, "_cloud_native", None)
    monkeypatch.setattr(marker_scan, "_marker_walk", None)
    convert_bags([bag], tmp_path / "numpy.rrd")
    result = _compare(tmp_path / "native.rrd", tmp_path / "numpy.rrd")
    assert result.returncode == 0, f"rerun rrd compare:\n{result.stdout}\n{result.stderr}"


def test_the_comparison_sees_a_difference(tmp_path: Path) -> None:
    """The check above is not vacuous: the same recording without its last marker array differs."""
    bag = _marker_bag(tmp_path / "markers.mcap")
    convert_bags([bag], tmp_path / "all.rrd")
    arrays = len(REDRAWN) + len(OTHERS)
    before_last = TopicSelection(end_ns=T0 + (arrays - 1) * SECOND - 1)
    convert_bags([bag], tmp_path / "shorter.rrd", selection=before_last)
    assert _compare(tmp_path / "all.rrd", tmp_path / "shorter.rrd").returncode != 0
