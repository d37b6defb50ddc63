"""Row batching: the fast column paths build exactly what Rerun's own conversion builds."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import rerun as rr

from rerun_bridge.model.rows import Batch, ColumnRows, Cycled, Row
from rerun_bridge.model.timeline import LOG_TIME, ROS_TIME
from rerun_bridge.sinks.arrow_columns import _rerun_values, learn_spec, list_column
from rerun_bridge.sinks.batcher import RowBatcher


def rerun_column(archetype: str, component: str, batches: list[Batch]) -> pa.Array:
    """What rerun-sdk itself makes of the same rows (one list entry per row)."""
    values = _rerun_values(archetype, component, batches, dynamic=False)
    lengths = [len(b) for b in batches]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def test_strided_positions_become_the_same_column_as_contiguous_ones() -> None:
    records = np.arange(4 * 6 * 5, dtype=np.float32).reshape(-1, 6, 5)  # 4 rows of 6 points, 20-byte records
    views = [cloud[:, 1:4] for cloud in records]  # x, y, z views, as a point cloud decodes them
    assert not views[0].flags.c_contiguous
    strided: list[Batch] = list(views)
    spec = learn_spec("Points3D", "positions", strided[0], dynamic=False)
    column = list_column("Points3D", "positions", strided, spec, dynamic=False)
    contiguous: list[Batch] = [np.ascontiguousarray(p) for p in strided]
    assert column.equals(list_column("Points3D", "positions", contiguous, spec, dynamic=False))
    assert column.equals(rerun_column("Points3D", "positions", contiguous))
    np.testing.assert_array_equal(
        np.asarray(column.flatten().flatten()).reshape(-1, 3), np.concatenate(contiguous)
    )


def test_big_strided_clouds_joined_in_one_chunk_keep_their_points() -> None:
    """Several clouds in one chunk are joined column by column (each a strided view into its records)."""
    records = np.arange(3 * 200 * 5, dtype=np.float32).reshape(3, 200, 5)
    views: list[Batch] = [cloud[:, 0:3] for cloud in records]
    spec = learn_spec("Points3D", "positions", views[0], dynamic=False)
    column = list_column("Points3D", "positions", views, spec, dynamic=False)
    contiguous: list[Batch] = [np.ascontiguousarray(view) for view in views]
    assert column.equals(rerun_column("Points3D", "positions", contiguous))
    assert column.value_lengths().to_pylist() == [200, 200, 200]


def test_colour_words_and_rgba_bytes_make_the_column_rerun_makes() -> None:
    """Clouds with a packed rgb field give Color words (0xRRGGBBAA), other colours (N, 3|4) RGBA bytes;
    rows of both kinds in one chunk (a topic whose clouds gain an rgb field) make one column."""
    rgba = np.array([[255, 128, 0, 255], [0, 0, 255, 40]], dtype=np.uint8)
    words = np.array([0xFF8000FF, 0x0000FF28], dtype=np.uint32)
    rgb = np.array([[1, 2, 3]], dtype=np.uint8)
    expected = rerun_column("Points3D", "colors", [rgba, rgba, np.array([[1, 2, 3, 255]], np.uint8)])
    for batches in ([rgba, rgba, rgb], [words, words, rgb], [words, rgba, rgb]):
        given: list[Batch] = list(batches)
        spec = learn_spec("Points3D", "colors", given[0], dynamic=False)
        column = list_column("Points3D", "colors", given, spec, dynamic=False)
        assert column.equals(expected)
        assert column.flatten().to_pylist() == [0xFF8000FF, 0x0000FF28] * 2 + [0x010203FF]


def test_image_buffers_are_one_blob_column_in_rerun_type() -> None:
    """An image's pixels (a view into the message) go to Arrow without a copy, in Rerun's blob type."""
    message = np.arange(7 + 12, dtype=np.uint8)
    pixels = message[7:]  # the pixels start inside the message, as a decoded Image's do
    batches: list[Batch] = [[pixels]]
    spec = learn_spec("Image", "buffer", batches[0], dynamic=False)
    column = list_column("Image", "buffer", batches, spec, dynamic=False)
    assert column.equals(rerun_column("Image", "buffer", batches))
    assert column.flatten().flatten().buffers()[1].address == pixels.ctypes.data  # no copy
    two: list[Batch] = [[pixels], [pixels[:5]]]
    assert list_column("Image", "buffer", two, spec, dynamic=False).equals(
        rerun_column("Image", "buffer", two)
    )


def test_string_columns_match_rerun_conversion() -> None:
    batches: list[Batch] = [["map"], ["odom"], ["ünïcode"], [""]]
    spec = learn_spec("Transform3D", "parent_frame", batches[0], dynamic=False)
    column = list_column("Transform3D", "parent_frame", batches, spec, dynamic=False)
    assert column.equals(rerun_column("Transform3D", "parent_frame", batches))
    names: list[Batch] = [["gyroscope/x", "gyroscope/y"], ["a"]]
    spec = learn_spec("SeriesLines", "names", names[0], dynamic=False)
    column = list_column("SeriesLines", "names", names, spec, dynamic=False)
    assert column.equals(rerun_column("SeriesLines", "names", names))


def test_line_strip_columns_match_rerun_conversion() -> None:
    """Strips as lists of arrays (float64 and float32, views, empty strips, rows without strips) and
    2-D strips: one concatenation gives what Rerun's conversion of each strip gives."""
    points = np.arange(30, dtype=np.float64).reshape(10, 3) / 7.0
    strips3d: list[Batch] = [
        [points[:4], points[4:6].astype(np.float32), points[6:6]],
        [],
        [points[::2][:3]],
    ]
    spec = learn_spec("LineStrips3D", "strips", strips3d[0], dynamic=False)
    column = list_column("LineStrips3D", "strips", strips3d, spec, dynamic=False)
    assert column.equals(rerun_column("LineStrips3D", "strips", strips3d).cast(column.type))
    strips2d: list[Batch] = [[points[:3, :2], points[3:8, 1:]]]
    spec = learn_spec("LineStrips2D", "strips", strips2d[0], dynamic=False)
    column = list_column("LineStrips2D", "strips", strips2d, spec, dynamic=False)
    assert column.equals(rerun_column("LineStrips2D", "strips", strips2d).cast(column.type))


def test_rows_with_their_own_time_share_a_chunk_and_keep_their_times() -> None:
    sent: list[tuple[str, bool, pa.RecordBatch]] = []
    batcher = RowBatcher(lambda entity, static, batch: sent.append((entity, static, batch)))
    for index in range(3):
        rows = [
            Row(
                "/tf",
                "Transform3D",
                {"translation": np.array([[index, 0.0, 0.0]]), "parent_frame": ["map"]},
                times={ROS_TIME: 100 + index},
            ),
            Row("/tf", "SeriesLines", {"names": ["x"]}, static=True),
        ]
        batcher.write(rows, {LOG_TIME: 10 + index, ROS_TIME: 0})
    batcher.flush()
    dynamic = [batch for _entity, static, batch in sent if not static]
    static_batches = [batch for _entity, static, batch in sent if static]
    assert len(dynamic) == 1
    batch = dynamic[0]
    assert batch.schema.field(LOG_TIME).type == pa.timestamp("ns")
    assert batch.schema.field(LOG_TIME).metadata == {
        b"rerun:kind": b"index",
        b"rerun:index_name": b"log_time",
    }
    assert batch.column(ROS_TIME).cast(pa.int64()).to_pylist() == [100, 101, 102]
    assert batch.column(LOG_TIME).cast(pa.int64()).to_pylist() == [10, 11, 12]
    assert batch.column("Transform3D:parent_frame").to_pylist() == [["map"]] * 3
    assert len(static_batches) == 1
    assert static_batches[0].schema.names == ["SeriesLines:names"]
    # Sent through rerun-sdk, the batch is a valid chunk.
    chunks = rr.chunk.Chunk.from_record_batch(batch, entity_path="/tf")
    assert chunks is not None


def test_rows_given_column_wise_keep_to_the_byte_budget_per_chunk() -> None:
    """Big rows (scans) go out a few per chunk, as they would row by row; small ones up to batch_rows."""
    chunks: list[pa.RecordBatch] = []
    batcher = RowBatcher(
        lambda _entity, _static, batch: chunks.append(batch), batch_rows=8, batch_bytes=30_000
    )
    scans: list[Batch] = [np.full((1000, 3), index, dtype=np.float32) for index in range(10)]  # 12 kB each
    times = {LOG_TIME: np.arange(10, dtype=np.int64)}
    batcher.write_columns(ColumnRows("/scan", "Points3D", times, {"positions": scans}))
    assert [chunk.num_rows for chunk in chunks] == [2, 2, 2, 2, 2]
    scalars = np.arange(20, dtype=np.float64).reshape(20, 1)
    batcher.write_columns(
        ColumnRows("/imu", "Scalars", {LOG_TIME: np.arange(20, dtype=np.int64)}, {"scalars": scalars})
    )
    assert [chunk.num_rows for chunk in chunks[5:]] == [8, 8, 4]
    positions = pa.concat_arrays([chunk.column("Points3D:positions") for chunk in chunks[:5]])
    assert positions.to_pylist()[9][0] == [9.0, 9.0, 9.0]


@pytest.mark.parametrize("layout", ["strided", "contiguous"])
def test_numpy_rows_share_a_chunk_and_blobs_go_alone(layout: str) -> None:
    """Clouds (points viewed inside their records, or gathered contiguous by the C extension) share a chunk
    under array_batch_bytes; an image's pixels, sent alone without a copy, still go one a chunk."""
    chunks: list[tuple[str, pa.RecordBatch]] = []
    batcher = RowBatcher(
        lambda entity, _static, batch: chunks.append((entity, batch)),
        batch_bytes=10_000,
        array_batch_bytes=20_000,
    )
    records = np.arange(6 * 1000 * 5, dtype=np.float32).reshape(6, 1000, 5)  # 12 kB of points each
    pixels = [np.full(12_000, index, dtype=np.uint8) for index in range(4)]
    for index in range(6):
        points = records[index][:, :3]
        if layout == "contiguous":
            points = np.ascontiguousarray(points)
        rows = [Row("/cloud", "Points3D", {"positions": points})]
        if index < len(pixels):
            rows.append(Row("/camera", "Image", {"buffer": [pixels[index]]}))
        batcher.write(rows, {LOG_TIME: index})
    batcher.flush()
    clouds = [batch for entity, batch in chunks if entity == "/cloud"]
    images = [batch for entity, batch in chunks if entity == "/camera"]
    assert [batch.num_rows for batch in clouds] == [2, 2, 2]
    assert [batch.num_rows for batch in images] == [1, 1, 1, 1]
    points = np.concatenate([np.asarray(b.column("Points3D:positions").flatten().flatten()) for b in clouds])
    np.testing.assert_array_equal(points.reshape(-1, 3), records[:, :, :3].reshape(-1, 3))
    # Without the larger budget each cloud goes alone, as before.
    chunks.clear()
    alone = RowBatcher(lambda entity, _static, batch: chunks.append((entity, batch)), batch_bytes=10_000)
    for index in range(3):
        alone.write([Row("/cloud", "Points3D", {"positions": records[index][:, :3]})], {LOG_TIME: index})
    assert [batch.num_rows for _entity, batch in chunks] == [1, 1, 1]


def test_static_rows_are_sent_once_with_their_last_value() -> None:
    """An IMU's series names come as a static row with every message: each flush sent them all again (a
    static chunk per IMU chunk on the stream, 45 a second: audit). Only the last static value counts,
    and a value already sent is not sent again; a new one is."""
    sent: list[tuple[str, bool, pa.RecordBatch]] = []
    batcher = RowBatcher(lambda entity, static, batch: sent.append((entity, static, batch)), batch_rows=1000)

    def imu_rows(names: list[str]) -> list[Row]:
        return [
            Row("/imu", "Scalars", {"scalars": np.zeros(2)}),
            Row("/imu", "SeriesLines", {"names": names}, static=True),
        ]

    for flush in range(3):
        for step in range(100):
            batcher.write(imu_rows(["gyro/x", "gyro/y"]), {LOG_TIME: flush * 1000 + step})
        batcher.flush()
    batcher.write(imu_rows(["x", "y"]), {LOG_TIME: 5000})
    batcher.flush()
    static = [batch for _entity, is_static, batch in sent if is_static]
    assert [batch.num_rows for batch in static] == [1, 1]
    assert [batch.column(0).to_pylist() for batch in static] == [[["gyro/x", "gyro/y"]], [["x", "y"]]]
    assert sum(batch.num_rows for _entity, is_static, batch in sent if not is_static) == 301
    # Given column-wise (a bag's IMU batch), the same: one row, the last.
    batcher.write_columns(
        ColumnRows("/imu2", "SeriesLines", {}, {"names": Cycled([["a"], ["b"]], 10)}, static=True)
    )
    assert sent[-1][2].num_rows == 1
    assert sent[-1][2].column(0).to_pylist() == [["b"]]
