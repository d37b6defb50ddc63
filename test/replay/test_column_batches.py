"""The column path (batches of same-layout messages converted at once) writes exactly what the
message-by-message path writes, and leaves every odd message to that path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

from rerun_bridge.cdr.decoding import Decoder, TypeResolver
from rerun_bridge.cdr.layout import describe, split_by_layout
from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.convert.columnar import MessageColumns
from rerun_bridge.convert.registry import ConvertContext
from rerun_bridge.demo.sample_bag import SampleSpec, write_sample
from rerun_bridge.model.records import MessageDefinition, TopicInfo
from rerun_bridge.model.rows import ColumnRows, Row
from rerun_bridge.model.timeline import LOG_TIME, ROS_TIME, header_stamp_ns
from rerun_bridge.pipeline import Pipeline
from rerun_bridge.replay import convert_bags
from rerun_bridge.replay.column_batches import ColumnReplay
from test.conftest import ABITOBOT_BAG, GPS_BAG, NEATO_BAG, RERUN_SUPPORTED_MCAP, rrd_chunks

STORE = get_typestore(Stores.ROS2_JAZZY)
TF = "tf2_msgs/msg/TFMessage"
IMU = "sensor_msgs/msg/Imu"
SCAN = "sensor_msgs/msg/LaserScan"
JOINTS = "sensor_msgs/msg/JointState"


@pytest.fixture(scope="module")
def sample_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("sample") / "bag", SampleSpec(duration_s=6.0))


def rrd_rows(path: Path) -> tuple[dict[tuple[str, str], Any], list[str]]:
    """Every column's Arrow field (type and metadata) by (entity, column), and every row of the file as
    text (entity, static, then each column's value), sorted: chunk boundaries and order do not matter,
    nor how often a static row was written."""
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
    # A static value written again changes nothing (each part of a split conversion writes its own).
    static_rows = {row for row in rows if row.split(", ", 2)[1] == "True"}
    return fields, sorted([row for row in rows if row not in static_rows] + list(static_rows))


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

    def write(self, rows: Sequence[Row], default_times: Mapping[str, int]) -> None:
        self.rows.extend((row, default_times) for row in rows)

    def write_columns(self, columns: ColumnRows) -> None:
        self.columns.append(columns)

    def flush(self, wait: bool = True) -> None:
        """Everything is kept as it arrives."""

    def close(self) -> None:
        """Nothing to release."""


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
        pipeline.process_raw(name, payload, log_time, decoder)

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


def _header(stamp: int, frame: str) -> Any:
    types = STORE.types
    return types["std_msgs/msg/Header"](
        stamp=types["builtin_interfaces/msg/Time"](sec=stamp, nanosec=5), frame_id=frame
    )


def _scan_payload(stamp: int, ranges: list[float], intensities: list[float], frame: str = "laser") -> bytes:
    message = STORE.types[SCAN](
        header=_header(stamp, frame),
        angle_min=-1.5 + 0.01 * stamp,
        angle_max=1.5,
        angle_increment=0.7,
        time_increment=0.0,
        scan_time=0.1,
        range_min=0.2 + 0.05 * stamp,
        range_max=8.0,
        ranges=np.array(ranges, dtype=np.float32),
        intensities=np.array(intensities, dtype=np.float32),
    )
    return bytes(STORE.serialize_cdr(message, SCAN))


RowsByKind = dict[tuple[str, str, bool], list[tuple[Row, dict[str, int]]]]


def _by_kind(rows: list[tuple[Row, dict[str, int]]]) -> RowsByKind:
    """Rows grouped by entity, archetype and static, each group in order (the column path writes a
    batch archetype by archetype, the one-by-one path message by message)."""
    out: RowsByKind = {}
    for row, times in rows:
        out.setdefault((row.entity_path, row.archetype, row.static), []).append((row, times))
    return out


def _assert_same_batch(mine: Any, theirs: Any, where: str) -> None:
    if isinstance(theirs, np.ndarray):
        batch = np.asarray(mine)
        assert batch.dtype == theirs.dtype, where
        assert np.array_equal(batch, theirs, equal_nan=True), where
    else:
        assert len(mine) == len(theirs), where
        for mine_item, their_item in zip(mine, theirs, strict=True):
            if isinstance(their_item, np.ndarray):
                _assert_same_batch(mine_item, their_item, where)
            else:
                assert mine_item == their_item, where


def assert_column_path_matches(type_name: str, topic: str, payloads: list[bytes]) -> int:
    """The column converter's rows for ``payloads`` (one layout) equal the converter's, message by
    message, times included; returns how many rows were compared."""
    decoder, store = _decoding(type_name)
    groups, leftover = split_by_layout(
        payloads, lambda payload: describe(store, type_name, payload, decoder(payload))
    )
    assert leftover == []
    assert len(groups) == 1
    fields, indices = groups[0]
    context = ConvertContext(topic, type_name, topic)
    column_func, converter = (
        BUILTIN_CONVERTERS.lookup_columns(type_name),
        BUILTIN_CONVERTERS.lookup(type_name),
    )
    assert column_func is not None
    assert converter is not None
    log_times = 1000 + np.arange(len(payloads), dtype=np.int64) * 100
    batches = column_func(MessageColumns(fields, log_times[indices]), context)
    assert batches is not None
    batched = _by_kind([(row, dict(row.times)) for batch in batches for row in batch.to_rows()])
    expected_rows = []
    # The same topic converted anew: state kept between messages (an odometry trail) starts empty.
    fresh_context = ConvertContext(topic, type_name, topic)
    for index, payload in enumerate(payloads):
        decoded = decoder(payload)
        defaults = {LOG_TIME: int(log_times[index])}
        stamp = header_stamp_ns(decoded)
        if stamp is not None:
            defaults[ROS_TIME] = stamp
        for row in converter.func(decoded, fresh_context):
            expected_rows.append((row, {} if row.static else {**defaults, **row.times}))
    expected = _by_kind(expected_rows)
    assert batched.keys() == expected.keys()
    for kind, rows in expected.items():
        assert len(batched[kind]) == len(rows), kind
        for (mine, mine_times), (theirs, their_times) in zip(batched[kind], rows, strict=True):
            assert mine_times == their_times, kind
            assert mine.components.keys() == theirs.components.keys(), kind
            assert dict(mine.extra).keys() == dict(theirs.extra).keys(), kind
            for name, value in (*theirs.components.items(), *theirs.extra.items()):
                mine_value = mine.components[name] if name in mine.components else mine.extra[name]
                _assert_same_batch(mine_value, value, f"{kind} {name}")
    return len(expected_rows)


def test_tf_column_rows_equal_the_converter_rows() -> None:
    frames = [("map", "odom"), ("odom", "base_link"), ("base_link", "/laser")]
    payloads = [_tf_payload(stamp, frames) for stamp in range(10)]
    assert assert_column_path_matches(TF, "/tf", payloads) == 30


@pytest.mark.parametrize("with_intensities", [True, False])
@pytest.mark.parametrize("frame", ["laser", ""])
def test_scan_column_rows_equal_the_converter_rows(with_intensities: bool, frame: str) -> None:
    nan, inf = float("nan"), float("inf")
    beams = [[1.0, nan, 0.21, 9.0, inf, 2.5], [0.1, 0.3, 0.4, -inf, 7.9, 8.0], [nan] * 6, [3.0] * 6]
    payloads = [
        _scan_payload(stamp, ranges, [float(stamp + i) for i in range(6)] if with_intensities else [], frame)
        for stamp, ranges in enumerate(beams)
    ]
    assert assert_column_path_matches(SCAN, "/scan", payloads) == 4 * (2 if frame else 1)


def test_joint_state_column_rows_equal_the_converter_rows() -> None:
    """Empty velocities and efforts are left out, as message by message (an array of the wrong length is
    bad data: the column path declines it, message by message counts each)."""
    payloads = []
    for stamp in range(5):
        message = STORE.types[JOINTS](
            header=_header(stamp, ""),
            name=["left_wheel", "right_wheel", "arm"],
            position=np.array([stamp, -stamp, 0.5 * stamp], dtype=np.float64),
            velocity=np.zeros(0, dtype=np.float64),
            effort=np.zeros(0, dtype=np.float64),
        )
        payloads.append(bytes(STORE.serialize_cdr(message, JOINTS)))
    # position: Scalars + SeriesLines per message, and the frame row (written even when empty).
    assert assert_column_path_matches(JOINTS, "/joint_states", payloads) == 5 * 3


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


def test_column_batches_reach_the_sinks_as_columns_with_their_own_times() -> None:
    sink = _ColumnsSink()
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
    assert sink.rows == []
    rows = [row for columns in sink.columns for row in columns.to_rows()]
    scalars = [row for row in rows if row.archetype == "Scalars"]
    assert [row.times[LOG_TIME] for row in scalars] == [5, 6]
    assert all(list(row.components["scalars"]) == [1.0, 2.0, 3.0] * 2 for row in scalars)
    frames = [row for row in rows if row.archetype == "CoordinateFrame"]
    assert [list(row.components["frame"]) for row in frames] == [["imu_link"], ["imu_link"]]


def _pose(stamp: int) -> Any:
    types = STORE.types
    return types["geometry_msgs/msg/Pose"](
        position=types["geometry_msgs/msg/Point"](x=369644.0 + stamp, y=3280416.5 - stamp, z=0.25 * stamp),
        orientation=types["geometry_msgs/msg/Quaternion"](
            x=0.0, y=0.0, z=np.sin(stamp / 4), w=np.cos(stamp / 4)
        ),
    )


@pytest.mark.parametrize("frame", ["utm", ""])
def test_pose_stamped_column_rows_equal_the_converter_rows(frame: str) -> None:
    """UTM-sized coordinates keep their float64 poses; an empty frame gives no frame row, as one by one."""
    type_name = "geometry_msgs/msg/PoseStamped"
    payloads = [
        bytes(STORE.serialize_cdr(STORE.types[type_name](header=_header(s, frame), pose=_pose(s)), type_name))
        for s in range(6)
    ]
    # InstancePoses3D, Points3D, the arrow's Arrows3D and the frame rows of the pose and the arrow; the
    # trail (every 5th message: the first and the sixth) and its frame row.
    per_message, trail = (5, 4) if frame else (3, 2)
    assert assert_column_path_matches(type_name, "/vehicle_pose", payloads) == 6 * per_message + trail


@pytest.mark.parametrize("frame", ["odom", ""])
def test_odometry_column_rows_equal_the_converter_rows(frame: str) -> None:
    type_name = "nav_msgs/msg/Odometry"
    types = STORE.types
    payloads = []
    for stamp in range(5):
        twist = types["geometry_msgs/msg/Twist"](
            linear=types["geometry_msgs/msg/Vector3"](x=0.5 * stamp, y=-0.1, z=0.0),
            angular=types["geometry_msgs/msg/Vector3"](x=0.0, y=0.0, z=0.3 - stamp),
        )
        message = types[type_name](
            header=_header(stamp, frame),
            child_frame_id="base_link",
            pose=types["geometry_msgs/msg/PoseWithCovariance"](
                pose=_pose(stamp), covariance=np.diag([0.1 + stamp, 0.2, 0.05, 0.01, 0.01, 0.02]).reshape(-1)
            ),
            twist=types["geometry_msgs/msg/TwistWithCovariance"](twist=twist, covariance=np.zeros(36)),
        )
        payloads.append(bytes(STORE.serialize_cdr(message, type_name)))
    # InstancePoses3D, Points3D, the arrow's Arrows3D, the twist's Scalars and SeriesLines, the
    # covariance's Ellipsoids3D, and the frame rows of the pose, the arrow and the covariance; the trail
    # (every 5th message: the first) and its frame.
    per_message = 9 if frame else 6
    assert assert_column_path_matches(type_name, "/odom", payloads) == 5 * per_message + (2 if frame else 1)


def test_every_column_converter_is_taken_on_real_recordings(sample_bag: Path, tmp_path: Path) -> None:
    """Equal files prove nothing if the column path silently fell back: each type with a column converter
    must have had messages converted a batch at a time (strict mode would raise on a converter error)."""
    taken: dict[str, int] = {}
    for index, recording in enumerate((sample_bag, NEATO_BAG, GPS_BAG, ABITOBOT_BAG)):
        for stats in convert_bags([recording], tmp_path / f"{index}.rrd").topics:
            if BUILTIN_CONVERTERS.lookup_columns(stats.type_name) is not None and stats.messages:
                taken[stats.type_name] = taken.get(stats.type_name, 0) + stats.column_messages
    assert set(taken) == set(BUILTIN_CONVERTERS.column_types())
    assert all(count > 0 for count in taken.values()), taken
