"""Several recordings converted (or viewed) together give each topic exactly the rows it gets alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from mcap_ros2.writer import Writer

from rerun_bridge.replay import convert_bags
from rerun_bridge.viewer.sources import load_files
from test.conftest import ABITOBOT_BAG, GPS_BAG, NEATO_BAG, RERUN_SUPPORTED_MCAP
from test.replay.test_column_batches import rrd_rows
from test.replay.test_convert_outcome import assert_outcome_matches, read_outcome

# Disjoint topics: a LaserScan / TF / odometry robot (Humble sqlite3) and an IMU / joints simulation (Jazzy
# MCAP). Shared topic: /rosout, recorded by a Humble bag without definitions and by a newer MCAP with them.
PAIRS = {
    "disjoint": (NEATO_BAG, ABITOBOT_BAG),
    "shared_rosout_across_distros": (GPS_BAG, RERUN_SUPPORTED_MCAP),
}


def _rows_without_properties(path: Path) -> list[str]:
    """The file's rows but its conversion outcome (one per conversion, not per recording: checked apart)."""
    _fields, rows = rrd_rows(path)
    return [row for row in rows if not row.startswith("('/rerun_bridge/convert")]


@pytest.mark.parametrize("pair", PAIRS.values(), ids=PAIRS.keys())
@pytest.mark.parametrize("reverse", [False, True], ids=["in_order", "reversed"])
def test_convert_together_equals_each_alone(pair: tuple[Path, Path], reverse: bool, tmp_path: Path) -> None:
    first, second = reversed(pair) if reverse else pair
    alone = []
    for index, bag in enumerate((first, second)):
        out = tmp_path / f"alone{index}.rrd"
        convert_bags([bag], out)
        alone.extend(_rows_without_properties(out))
    together = convert_bags([first, second], tmp_path / "together.rrd")
    assert not any(t.skipped and not t.reason for t in together.topics), together.topics
    assert _rows_without_properties(tmp_path / "together.rrd") == sorted(alone)
    _document, outcome = read_outcome(tmp_path / "together.rrd")
    assert set(outcome) == {stats.topic for stats in together.topics}
    for stats in together.topics:
        assert_outcome_matches(outcome[stats.topic], stats)


def _store_rows(paths: list[Path]) -> list[str]:
    loaded = load_files(paths)
    rows: list[str] = []
    for stored in loaded.store.iter_chunks():
        batch = stored.batch
        names = sorted(name for name in batch.schema.names if ":" in name or name in ("log_time", "ros_time"))
        columns = {name: _values(batch.column(name)) for name in names}
        for index in range(batch.num_rows):
            rows.append(repr((stored.entity_path, stored.static, [(n, columns[n][index]) for n in names])))
    return sorted(rows)


def _values(column: pa.Array) -> list[Any]:
    if pa.types.is_timestamp(column.type) or pa.types.is_duration(column.type):
        column = column.cast(pa.int64())
    values: list[Any] = column.to_pylist()
    return values


@pytest.mark.parametrize("pair", PAIRS.values(), ids=PAIRS.keys())
@pytest.mark.parametrize("reverse", [False, True], ids=["in_order", "reversed"])
def test_view_together_equals_each_alone(pair: tuple[Path, Path], reverse: bool) -> None:
    first, second = reversed(pair) if reverse else pair
    alone = sorted(_store_rows([first]) + _store_rows([second]))
    assert _store_rows([first, second]) == alone


def _write_bag(path: Path, topic: str, schema_name: str, schema_text: str, values: list[Any]) -> Path:
    with path.open("wb") as stream:
        writer = Writer(stream)
        schema = writer.register_msgdef(schema_name, schema_text)
        for index, value in enumerate(values):
            writer.write_message(topic, schema, {"data": value}, log_time=(index + 1) * 1_000_000_000)
        writer.finish()  # type: ignore[no-untyped-call]
    return path


def test_a_topic_of_two_types_is_kept_apart_and_said_once(tmp_path: Path) -> None:
    texts = _write_bag(tmp_path / "texts.mcap", "/status", "std_msgs/msg/String", "string data", ["a", "b"])
    numbers = _write_bag(tmp_path / "numbers.mcap", "/status", "std_msgs/msg/Int32", "int32 data", [1, 2, 3])
    warnings: list[str] = []
    summary = convert_bags(
        [texts, numbers], tmp_path / "both.rrd", mcap_path=tmp_path / "both.mcap", warn=warnings.append
    )
    by_name = {t.topic: t for t in summary.topics}
    assert by_name["/status"].type_name == "std_msgs/msg/String"
    assert by_name["/status"].rows == 2
    apart = by_name["/status (std_msgs/msg/Int32)"]
    assert (apart.rows, apart.entity_path) == (3, "/status/Int32")
    said = [w for w in warnings if "/status" in w and "kept apart" in w]
    assert len(said) == 1
    assert "numbers.mcap" in said[0]
    entities = {row.split(",")[0] for row in _rows_without_properties(tmp_path / "both.rrd")}
    assert entities == {"('/status'", "('/status/Int32'"}
    _document, outcome = read_outcome(tmp_path / "both.rrd")
    assert outcome["/status (std_msgs/msg/Int32)"]["path"] == "/rerun_bridge/convert/status/Int32"
    assert outcome["/status"]["path"] == "/rerun_bridge/convert/status"
    # The MCAP re-recording keeps both: one channel per schema.
    assert summary.mcap_messages == 5
