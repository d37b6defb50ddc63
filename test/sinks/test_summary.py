"""Split mode's summary: 10 s of a robot's load (a 720p camera at 30 Hz, a 100k-point cloud at 10 Hz, IMU
at 400 Hz, TF at 100 Hz) through the summary into a real stream sink. The bytes the stream publishes stay
within the budget, small rows all pass, images arrive as small JPEGs, and what was left out is counted."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import rerun as rr
from PIL import Image as PILImage

from rerun_bridge.config import parse_config
from rerun_bridge.errors import ConfigError
from rerun_bridge.model.rows import Row
from rerun_bridge.sinks.stream import StreamSink
from rerun_bridge.sinks.summary import SummarySink, decimate_cloud, reduce_image
from rerun_bridge.sinks.summary_settings import SummarySettings

START_NS = 1_700_000_000_000_000_000
SECONDS = 10


class Collector:
    """Keeps the summary's chunks to look at; the stream beside it is what the budget is measured on."""

    def __init__(self) -> None:
        self.chunks: list[tuple[str, pa.RecordBatch]] = []

    def send_batch(self, entity_path: str, _static: bool, batch: pa.RecordBatch) -> None:
        self.chunks.append((entity_path, batch))

    def emitted_bytes(self) -> int:
        return 0

    def column(self, entity_path: str, column: str) -> list[Any]:
        """Every row's value of one column of an entity, in the order the chunks came."""
        return [
            value
            for entity, batch in self.chunks
            if entity == entity_path and column in batch.schema.names
            for value in batch.column(column).to_pylist()
        ]


def camera_row(pixels: np.ndarray, model: str = "RGB") -> Row:
    height, width = pixels.shape[:2]
    image_format = rr.components.ImageFormat(
        width, height, color_model=rr.ColorModel[model], channel_datatype=rr.ChannelDatatype.U8
    )
    return Row("/camera", "Image", {"buffer": [pixels.reshape(-1)], "format": [image_format]})


def robot_load(sink: SummarySink) -> None:
    """10 s of messages in log-time order (the summary's budget runs on log time)."""
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8) for _ in range(3)]  # noise: JPEG's worst
    cloud = rng.uniform(-10, 10, (100_000, 3)).astype(np.float32)
    for tick in range(SECONDS * 400):  # 2.5 ms ticks
        now = START_NS + tick * 2_500_000
        rows = [Row("/imu", "Scalars", {"scalars": np.array([float(tick)])})]
        if tick % 4 == 0:
            rows.append(Row("/tf", "Transform3D", {"translation": np.array([[float(tick), 0.0, 0.0]])}))
        # Each image and cloud comes with its entity's frame row, as converters write them: the rate caps
        # must hold the image and the cloud, not the frame row that shares their entity.
        if tick % 13 == 0:  # about 30 Hz
            rows += [camera_row(frames[tick % 3]), Row("/camera", "CoordinateFrame", {"frame": ["camera"]})]
        if tick % 40 == 0:
            rows.append(Row("/lidar", "Points3D", {"positions": cloud}))
            rows.append(Row("/lidar", "CoordinateFrame", {"frame": ["lidar"]}))
        sink.write(rows, {"log_time": now})


def test_the_budget_holds_and_what_is_left_out_is_counted() -> None:
    budget_mbit_s = 1.0
    stream = StreamSink("127.0.0.1", 0)
    collector = Collector()
    # 10 noise JPEGs of 640 x 360 a second need about 4 Mbit/s: the budget must leave some out.
    settings = SummarySettings(budget_mbit_s=budget_mbit_s, image_rate_hz=10.0, image_max_width=640)
    summary = SummarySink([stream, collector], settings)
    try:
        robot_load(summary)
        summary.flush()
        published = stream.counts().published_bytes
    finally:
        stream.close()
    # One second of burst; and rows in full pass even when the bucket is empty (only frames wait for room),
    # so the small rows sent after the last frame took the bucket to zero may go a little past it: 2 %.
    assert published <= budget_mbit_s * 1e6 / 8 * (SECONDS + 1) * 1.02
    ticks = range(SECONDS * 400)
    # Small rows pass in full: every frame row, IMU sample and transform.
    assert len(collector.column("/camera", "CoordinateFrame:frame")) == len(ticks[::13])
    assert len(collector.column("/lidar", "CoordinateFrame:frame")) == len(ticks[::40])
    assert [values[0] for values in collector.column("/imu", "Scalars:scalars")] == [
        float(i) for i in range(4000)
    ]
    assert len(collector.column("/tf", "Transform3D:translation")) == 1000
    images = collector.column("/camera", "EncodedImage:blob")
    assert 3 <= len(images) <= 10 * SECONDS + 1  # at most 10 Hz, and what the budget allows (83 kB each)
    assert collector.column("/camera", "Image:buffer") == []  # every image kept was encoded
    assert collector.column("/camera", "EncodedImage:media_type")[0] == ["image/jpeg"]
    assert PILImage.open(io.BytesIO(bytes(images[0][0]))).size == (640, 360)
    left_out = summary.counts.left_out
    # Every frame is kept or left out for a reason, counted: 30 Hz against a 10 Hz cap and the budget.
    assert left_out["/camera"]["rate"] + left_out["/camera"]["budget"] + len(images) == len(ticks[::13])
    assert left_out["/camera"]["rate"] > 0
    assert left_out["/camera"]["budget"] > 0
    # Clouds at 1 Hz at most, thinned to half the budget; the images' share leaves some out.
    clouds = collector.column("/lidar", "Points3D:positions")
    assert 1 <= len(clouds) < SECONDS
    assert all(len(positions) < 6000 for positions in clouds)
    assert left_out["/lidar"]["budget"] > 0
    assert "/imu" not in left_out
    values = summary.counts.as_key_values()
    assert int(values["left_out_budget"]) > 0
    assert int(values["bytes_out"]) < int(values["bytes_in"]) / 100


def test_a_bgr_image_becomes_a_downscaled_jpeg_of_the_same_colours() -> None:
    pixels = np.zeros((480, 640, 3), dtype=np.uint8)
    pixels[..., 0] = 255  # blue in BGR
    reduced = reduce_image(camera_row(pixels, "BGR"), SummarySettings(image_max_width=160))
    assert reduced.archetype == "EncodedImage"
    assert list(reduced.components["media_type"]) == ["image/jpeg"]
    decoded = np.asarray(PILImage.open(io.BytesIO(bytes(reduced.components["blob"][0]))))
    assert decoded.shape == (120, 160, 3)
    red, green, blue = (int(decoded[..., channel].mean()) for channel in range(3))
    assert blue > 240
    assert red < 10
    assert green < 10


def test_a_cloud_keeps_one_point_per_voxel_with_its_colour() -> None:
    positions = np.array(
        [[0.01, 0.01, 0.0], [0.02, 0.03, 0.0], [1.0, 1.0, 1.0], [np.nan, 0.0, 0.0], [1.05, 1.01, 1.02]],
        dtype=np.float32,
    )
    colors = np.array([[1, 0, 0], [2, 0, 0], [3, 0, 0], [4, 0, 0], [5, 0, 0]], dtype=np.uint8)
    row = Row(
        "/lidar", "Points3D", {"positions": positions, "colors": colors}, extra={"intensity": colors[:, 0]}
    )
    decimated = decimate_cloud(row, 0.25)
    np.testing.assert_array_equal(decimated.components["positions"], positions[[0, 2]])
    np.testing.assert_array_equal(decimated.components["colors"], colors[[0, 2]])
    assert decimated.extra == {}


def test_a_configured_rate_cap_holds_whatever_way_its_entity_path_is_written() -> None:
    """``rate_hz`` keys are entity paths, leading '/' optional as everywhere in the config: 'imu' used to
    be kept as written and never matched the row's '/imu' (no cap, no error)."""
    config = parse_config({"sinks": {"summary": {"rate_hz": {"imu": 10.0}}}}, "bridge.yaml")
    collector = Collector()
    summary = SummarySink([collector], config.sinks.summary)
    for tick in range(400):  # 1 s at 400 Hz
        row = Row("/imu", "Scalars", {"scalars": np.array([float(tick)])})
        summary.write([row], {"log_time": START_NS + tick * 2_500_000})
    summary.flush()
    assert len(collector.column("/imu", "Scalars:scalars")) == 10
    with pytest.raises(ConfigError, match=r"bridge\.yaml: sinks\.summary\.rate_hz\.imu//x: bad entity path"):
        parse_config({"sinks": {"summary": {"rate_hz": {"imu//x": 1.0}}}}, "bridge.yaml")
    with pytest.raises(ConfigError, match=r"rate_hz\./imu: same entity path as '/imu'"):
        parse_config({"sinks": {"summary": {"rate_hz": {"imu": 1.0, "/imu": 2.0}}}}, "bridge.yaml")
