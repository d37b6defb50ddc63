"""The column path (batches of same-layout messages converted at once) writes exactly what the
message-by-message path writes, and leaves every odd message to that path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.convert.registry import ConvertContext, lookup, lookup_columns
from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.model.timeline import LOG_TIME
from rerun_bridge.pipeline import Pipeline
from rerun_bridge.replay import convert_bags
from rerun_bridge.replay_columns import ColumnReplay
from rerun_bridge.sample import SampleSpec, write_sample
from rerun_bridge.sources.cdr_layout import describe, split_by_layout
from rerun_bridge.sources.decoding import Decoder, TypeResolver
from rerun_bridge.sources.records import MessageDefinition, TopicInfo
from test.conftest import ABITOBOT_BAG, GPS_BAG, NEATO_BAG, RERUN_SUPPORTED_MCAP, rrd_chunks

STORE = get_typestore(Stores.ROS2_JAZZY)
TF = "tf2_msgs/msg/TFMessage"
IMU = "sensor_msgs/msg/Imu"


@pytest.fixture(scope="module")
def sample_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample") / "bag", SampleSpec(duration_s=6.0))


def rrd_rows(path: Path) -> tuple[dict[tuple[str, str], Any], list[str]]:
    """Every column's Arrow field (type and metadata) by (entity, column), and every row of the file as
    text (entity, static, then each column's value), sorted: chunk boundaries and order do not matter."""
    fields: dict[tuple[str, str], Any] = {}
    rows: list[str] = []
    for entity, static, batch in rrd_chunks(path):
        if entity == "/__properties":  # the recording's own start time
            continue
        # Row ids are unique per write; everything else must match.
        names = sorted(name for name in batch.schema.names if not name.startswith("rerun.controls"))
        for name in names:
            field = batch.schema.field(name)
            fields[(entity, name)] = (field.type, field.metadata)
        columns = {name: _values(batch.column(name)) for name in names}
        for index in range(batch.num_rows):
            rows.append(repr((entity, static, [(name, columns[name][index]) for name in names])))
    rows.sort()
    return fields, rows


def _values(column: pa.Array) -> list[Any]:
    if pa.types.is_timestamp(column.type) or pa.types.is_duration(column.type):
        column = column.cast(pa.int64())
    values: list[Any] = column.to_pylist()
    return values


def convert_both(recording: Path, folder: Path) -> tuple[Path, Path, list[Any], list[Any]]:
    batched = convert_bags([recording], folder / "batched.rrd")
    one_by_one = convert_bags([recording], folder / "one_by_one.rrd", column_path=False)
    return folder / "batched.rrd", folder / "one_by_one.rrd", batched.topics, one_by_one.topics


@pytest.mark.parametrize(
    "recording",
    [None, NEATO_BAG, GPS_BAG, ABITOBOT_BAG, RERUN_SUPPORTED_MCAP],
    ids=["sample", "neato", "gps", "abitobot", "rerun_supported"],
)
def test_same_file_as_one_message_at_a_time(recording: Path | None, sample_bag: Path, tmp_path: Path) -> None:
    batched, one_by_one, batched_topics, one_topics = convert_both(recording or sample_bag, tmp_path)
    assert batched_topics == one_topics  # messages, rows, errors and archetypes per topic
    batched_fields, batched_rows = rrd_rows(batched)
    one_fields, one_rows = rrd_rows(one_by_one)
    assert batched_fields == one_fields
    assert len(batched_rows) == len(one_rows)
    assert batched_rows == one_rows


class _ColumnsSink:
    """Keeps what the pipeline hands over, both ways."""

    def __init__(self) -> None:
        self.rows: list[tuple[Row, Mapping[str, int]]] = []
        self.columns: list[ColumnRows] = []

    def write(self, rows: list[Row], default_times: Mapping[str, int]) -> None:
        self.rows.extend((row, default_times) for row in rows)

    def write_columns(self, columns: ColumnRows) -> None:
        self.columns.append(columns)


def _transform(stamp: int, parent: str, child: str, x: float) -> Any:
    types = STORE.types
    return types["geometry_msgs/msg/TransformStamped"](
        header=types["std_msgs/msg/Header"](
            stamp=types["builtin_interfaces/msg/Time"](sec=stamp, nanosec=7), frame_id=parent
        ),
        child_frame_id=child,
        transform=types["geometry_msgs/msg/Transform"](
            translation=types["geometry_msgs/msg/Vector3"](x=x, y=2.0, z=3.0),
            rotation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
        ),
    )


def _tf_payload(stamp: int, frames: list[tuple[str, str]], little_endian: bool = True) -> bytes:
    message = STORE.types[TF](transforms=[_transform(stamp, p, c, float(stamp)) for p, c in frames])
    return bytes(STORE.serialize_cdr(message, TF, little_endian=little_endian))


def _decoding(type_name: str) -> tuple[Decoder, Typestore]:
    """The decoder and typestore a Jazzy bag without stored definitions gets for ``type_name``."""
    choice = TypeResolver([TopicInfo("/topic", type_name)], "jazzy").choose(type_name)
    assert choice.decoder is not None
    assert choice.typestore is not None
    return choice.decoder, choice.typestore


def _replay(topic: str, type_name: str, payloads: list[bytes]) -> tuple[Pipeline, _ColumnsSink]:
    """Run payloads through the column replay (batches of 4) the way the bag replay does."""
    sink = _ColumnsSink()
    pipeline = Pipeline([sink], warn=lambda _text: None)
    pipeline.add_topic(topic, type_name)
    decoder, store = _decoding(type_name)

    def one_by_one(_bag: int, name: str, payload: bytes | memoryview, log_time: int) -> None:
        try:
            decoded = decoder(payload)
        except Exception as err:
            pipeline.record_error(name, str(err), message=True)
            return
        pipeline.process(name, decoded, log_time)

    replay = ColumnReplay(pipeline, one_by_one, batch_messages=4)
    replay.add_topic(0, topic, type_name, decoder, store)
    for index, payload in enumerate(payloads):
        assert replay.offer(0, topic, payload, 1000 + index)
    replay.flush()
    return pipeline, sink


def test_odd_messages_go_one_by_one_and_are_counted() -> None:
    base = [("odom", "base_link")]
    two = [("odom", "base_link"), ("base_link", "laser")]
    good = _tf_payload(1, base)
    payloads = [
        _tf_payload(1, base),
        _tf_payload(2, two),  # a second layout
        good[:-9],  # truncated: the decoder rejects it
        _tf_payload(3, [("", "base_link")]),  # an empty frame id: the converter rejects it
        _tf_payload(4, base),
        _tf_payload(5, two, little_endian=False),  # big-endian CDR: a layout of its own
        _tf_payload(6, two),
        _tf_payload(7, base),
    ]
    pipeline, sink = _replay("/tf", TF, payloads)
    stats = pipeline.stats_of("/tf")
    assert stats is not None
    assert (stats.messages, stats.errors) == (8, 2)
    assert stats.rows == 3 * 1 + 3 * 2
    batched = [row for columns in sink.columns for row in columns.to_rows()]
    assert len(batched) + len(sink.rows) == stats.rows
    everything = [
        (int(row.times["ros_time"]) // 10**9, row.components["translation"][0][0]) for row in batched
    ]
    everything += [
        (int(row.times["ros_time"]) // 10**9, row.components["translation"][0][0]) for row, _t in sink.rows
    ]
    # Every good message's transforms arrived with their own values (x is the stamp here).
    assert sorted(everything) == [
        (1, 1.0),
        (2, 2.0),
        (2, 2.0),
        (4, 4.0),
        (5, 5.0),
        (5, 5.0),
        (6, 6.0),
        (6, 6.0),
        (7, 7.0),
    ]
    # Batches of 4: the first batch's single-transform messages and its two-transform message each
    # form a group; the big-endian one too.
    assert sink.columns, "nothing went the column way"


def test_column_rows_equal_the_converter_rows_for_each_message() -> None:
    frames = [("map", "odom"), ("odom", "base_link"), ("base_link", "/laser")]
    payloads = [_tf_payload(stamp, frames) for stamp in range(10)]
    decoder, store = _decoding(TF)
    groups, leftover = split_by_layout(
        payloads, lambda payload: describe(store, TF, payload, decoder(payload))
    )
    assert leftover == []
    assert len(groups) == 1
    fields, indices = groups[0]
    context = ConvertContext("/tf", TF, "/tf")
    column_func, converter = lookup_columns(TF), lookup(TF)
    assert column_func is not None
    assert converter is not None
    log_times = np.arange(10, dtype=np.int64) * 100
    batches = column_func(MessageColumns(fields, log_times[indices]), context)
    assert batches is not None
    batched = [row for batch in batches for row in batch.to_rows()]
    expected = []
    for index, payload in enumerate(payloads):
        for row in converter.func(decoder(payload), context):
            expected.append((row, {LOG_TIME: int(log_times[index]), **row.times}))
    assert len(batched) == len(expected) == 30
    for mine, (theirs, times) in zip(batched, expected, strict=True):
        assert (mine.entity_path, mine.archetype, mine.static) == (
            theirs.entity_path,
            theirs.archetype,
            theirs.static,
        )
        assert dict(mine.times) == times
        assert mine.components.keys() == theirs.components.keys()
        for name, value in theirs.components.items():
            if isinstance(value, np.ndarray):
                batch = np.asarray(mine.components[name])
                assert np.array_equal(batch, value)
                assert batch.dtype == value.dtype
            else:
                assert list(mine.components[name]) == list(value)


def test_layout_reads_big_endian_and_rejects_what_it_cannot_read() -> None:
    decoder, store = _decoding(TF)
    big = _tf_payload(9, [("odom", "base_link")], little_endian=False)
    layout = describe(store, TF, big, decoder(big))
    assert layout is not None
    assert layout.strings == {
        "transforms[0].header.frame_id": "odom",
        "transforms[0].child_frame_id": "base_link",
    }
    assert layout.lengths == {"transforms": 1}
    # Bytes after the message beyond CDR's padding: not a layout (the full decoder decides on it).
    padded = _tf_payload(9, [("odom", "base_link")]) + bytes(8)
    assert describe(store, TF, padded, decoder(padded[:-8])) is None
    # A decoded message that disagrees with the bytes (another definition): not a layout either.
    other = STORE.deserialize_cdr(_tf_payload(10, [("odom", "base_link")]), TF)
    assert describe(store, TF, big, other) is None


def test_wide_strings_are_left_to_the_full_decoder() -> None:
    definition = MessageDefinition("ros2msg", "wstring text\nfloat64 value\n")
    resolver = TypeResolver([TopicInfo("/w", "test_msgs/msg/Wide", definition=definition)])
    choice = resolver.choose("test_msgs/msg/Wide")
    assert choice.typestore is not None
    payload = b"\x00\x01\x00\x00" + (2).to_bytes(4, "little") + "hi".encode("utf-16-le") + bytes(4) + bytes(8)
    assert describe(choice.typestore, "test_msgs/msg/Wide", payload, None) is None


def test_more_layouts_than_tried_go_one_by_one() -> None:
    decoder, store = _decoding(TF)
    payloads = [_tf_payload(1, [("odom", f"frame_{index}")]) for index in range(6)] * 2
    groups, leftover = split_by_layout(
        payloads, lambda payload: describe(store, TF, payload, decoder(payload)), max_layouts=4
    )
    assert [list(indices) for _fields, indices in groups] == [[0, 6], [1, 7], [2, 8], [3, 9]]
    assert leftover == [4, 5, 10, 11]


def test_a_sink_without_column_writes_gets_rows() -> None:
    class RowsOnly:
        def __init__(self) -> None:
            self.rows: list[Row] = []

        def write(self, rows: list[Row], default_times: Mapping[str, int]) -> None:
            assert default_times == {}
            self.rows.extend(rows)

    sink = RowsOnly()
    pipeline = Pipeline([sink])
    pipeline.add_topic("/imu", IMU)
    types = STORE.types
    vector = types["geometry_msgs/msg/Vector3"](x=1.0, y=2.0, z=3.0)
    imu = types[IMU](
        header=types["std_msgs/msg/Header"](
            stamp=types["builtin_interfaces/msg/Time"](sec=1, nanosec=2), frame_id="imu_link"
        ),
        orientation=types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
        orientation_covariance=np.zeros(9),
        angular_velocity=vector,
        angular_velocity_covariance=np.zeros(9),
        linear_acceleration=vector,
        linear_acceleration_covariance=np.zeros(9),
    )
    payload = bytes(STORE.serialize_cdr(imu, IMU))
    decoder, store = _decoding(IMU)
    layout = describe(store, IMU, payload, decoder(payload))
    assert layout is not None
    groups, _left = split_by_layout([payload, payload], lambda _p: layout)
    assert pipeline.process_columns("/imu", MessageColumns(groups[0][0], np.array([5, 6], dtype=np.int64)))
    scalars = [row for row in sink.rows if row.archetype == "Scalars"]
    assert [row.times[LOG_TIME] for row in scalars] == [5, 6]
    assert all(list(row.components["scalars"]) == [1.0, 2.0, 3.0] * 2 for row in scalars)
    frames = [row for row in sink.rows if row.archetype == "CoordinateFrame"]
    assert [list(row.components["frame"]) for row in frames] == [["imu_link"], ["imu_link"]]
