"""The image view, checked by pixels: the image at the chosen time, and scrubbing changes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import rerun as rr
from PyQt6 import QtCore, QtGui
from pytestqt.qtbot import QtBot

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.component_values import blob, image_format
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.views.image_decode import decode_image
from rerun_bridge.viewer.views.image_view import ImageView
from rerun_bridge.viewer.window import ViewerWindow
from test.viewer.conftest import START_NS, at, qimage_rgb, red_pixels, write_rrd

pytestmark = pytest.mark.gui

NS = 1_000_000_000
RED, BLUE = (230, 20, 20), (20, 20, 230)


def two_colour_rrd(tmp_path: Path) -> Path:
    """``/camera``: a red 8x6 image at 0 s, a blue one at 1 s (logged as BGR to check the channel swap)."""

    def log(rec: Any) -> None:
        for offset, colour in ((0.0, RED), (1.0, BLUE)):
            at(rec, offset)
            rgb = np.empty((6, 8, 3), dtype=np.uint8)
            rgb[:] = colour
            rr.log("/camera", rr.Image(rgb[..., ::-1].copy(), color_model="BGR"), recording=rec)

    return write_rrd(tmp_path / "two_colours.rrd", log)


def centre_colour(view: ImageView) -> tuple[int, int, int]:
    picture = qimage_rgb(view.graphics.grab().toImage())
    height, width = picture.shape[:2]
    red, green, blue = picture[height // 2, width // 2]
    return int(red), int(green), int(blue)


def make_view(qtbot: QtBot, store: ChunkStore, origin: str = "/", **settings: Any) -> ImageView:
    view = ImageView(store, SceneTransforms(store), origin, settings=settings)
    qtbot.addWidget(view)
    view.resize(320, 240)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_scrubbing_the_window_changes_the_image_pixels(qtbot: QtBot, tmp_path: Path) -> None:
    store = load_files([two_colour_rrd(tmp_path)]).store
    window = ViewerWindow(store)
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.show()
    qtbot.waitExposed(window)
    (view,) = window.views_of(ImageView)
    assert isinstance(view, ImageView)
    window.time_panel.seek_offset(0.5)
    assert centre_colour(view) == RED
    window.time_panel.slider.setValue(window.time_panel.slider.maximum())  # scrub to the end
    assert window.time_panel.current_time == START_NS + NS
    assert centre_colour(view) == BLUE
    window.time_panel.slider.setValue(0)
    assert centre_colour(view) == RED


def test_sample_camera_image_matches_the_stored_pixels_and_its_square_moves(
    qtbot: QtBot, sample_store: ChunkStore
) -> None:
    view = make_view(qtbot, sample_store, "/camera/image_raw")
    centres = []
    for offset_ns in (200_000_000, 700_000_000):
        time = START_NS + offset_ns
        view.set_time("ros_time", time)
        values = sample_store.latest_at("/camera/image_raw", "ros_time", time)
        buffer, fmt = blob(values["Image:buffer"]), image_format(values["Image:format"])
        assert buffer is not None
        assert fmt is not None
        shown = view.current_image("/camera/image_raw")
        assert shown is not None
        np.testing.assert_array_equal(shown, decode_image(buffer, fmt).pixels)
        rows, columns = np.nonzero(red_pixels(qimage_rgb(view.graphics.grab().toImage())))
        assert len(rows) > 20, "the red square is not on screen"
        centres.append((columns.mean(), rows.mean()))
    (x0, y0), (x1, y1) = centres
    assert abs(x1 - x0) + abs(y1 - y0) > 10, "the square did not move between the two times"


def _depth_view(qtbot: QtBot, depth: np.ndarray[Any, Any]) -> ImageView:
    """An 8 x 4 16-bit depth image on /depth, its range logged as 0..2000, in viridis, shown."""
    store = ChunkStore()
    store.append_row(
        "/depth",
        {"ros_time": 1},
        {
            "DepthImage:buffer": [depth.tobytes()],
            "DepthImage:format": [
                rr.components.ImageFormat(width=8, height=4, color_model="L", channel_datatype="U16")
            ],
            "DepthImage:depth_range": np.array([[0.0, 2000.0]]),
        },
    )
    view = make_view(qtbot, store, colormap="viridis")
    view.set_time("ros_time", 1)
    return view


def test_depth_image_uses_the_colormap_over_the_logged_range(qtbot: QtBot) -> None:
    depth = np.full((4, 8), 300, dtype=np.uint16)
    depth[:, 4:] = 2000
    view = _depth_view(qtbot, depth)
    item = view.image_item("/depth")
    assert item is not None
    assert tuple(item.levels) == (0.0, 2000.0)
    picture = qimage_rgb(view.graphics.grab().toImage())
    height, width = picture.shape[:2]
    near, far = picture[height // 2, width // 2 - 20], picture[height // 2, width // 2 + 20]
    # viridis: dark purple at the near end, yellow at the far end.
    assert near[2] > near[1]
    assert far[0] > 150
    assert far[1] > 150
    assert far[2] < 100


def test_depth_zero_is_no_return_and_left_undrawn(qtbot: QtBot) -> None:
    """0 is "no return" (REP 118, RViz): drawn as the colormap's near end it read as real depth."""
    depth = np.full((4, 8), 2000, dtype=np.uint16)
    depth[:2] = 0
    view = _depth_view(qtbot, depth)
    picture = qimage_rgb(view.graphics.grab().toImage())
    rows = np.flatnonzero(picture.max(axis=(1, 2)) > 100)  # the drawn (yellow) rows
    height = picture.shape[0]
    assert len(rows)
    # Only the lower half of the image is drawn: the zeros above it show the view's black background.
    assert rows.min() >= height // 2 - 2
    drawn = picture[rows[len(rows) // 2], picture.shape[1] // 2]
    assert drawn[0] > 150
    assert drawn[1] > 150


def test_encoded_png_is_decoded_and_shown(qtbot: QtBot) -> None:
    image = QtGui.QImage(10, 6, QtGui.QImage.Format.Format_RGB888)
    image.fill(QtGui.QColor(*RED))
    data = QtCore.QByteArray()
    buffer = QtCore.QBuffer(data)
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, "PNG")
    store = ChunkStore()
    store.append_row(
        "/encoded",
        {"ros_time": 1},
        {"EncodedImage:blob": [bytes(data.data())], "EncodedImage:media_type": ["image/png"]},
    )
    view = make_view(qtbot, store)
    view.set_time("ros_time", 1)
    shown = view.current_image("/encoded")
    assert shown is not None
    assert shown.shape == (6, 10, 4)
    assert centre_colour(view) == RED


def test_a_broken_buffer_is_reported_in_the_view(qtbot: QtBot) -> None:
    store = ChunkStore()
    store.append_row(
        "/short",
        {"ros_time": 1},
        {
            "Image:buffer": [bytes(5)],
            "Image:format": [
                rr.components.ImageFormat(width=4, height=4, color_model="RGB", channel_datatype="U8")
            ],
        },
    )
    view = make_view(qtbot, store)
    view.set_time("ros_time", 1)
    assert view.note.isVisible()
    assert "/short" in view.note.text()
    assert "needs 48 bytes, got 5" in view.note.text()


def test_points2d_overlay_is_drawn_over_the_image(qtbot: QtBot) -> None:
    store = ChunkStore()
    grey = np.full((40, 60, 3), 128, dtype=np.uint8)
    store.append_row(
        "/cam/image",
        {"ros_time": 1},
        {
            "Image:buffer": [grey.tobytes()],
            "Image:format": [
                rr.components.ImageFormat(width=60, height=40, color_model="RGB", channel_datatype="U8")
            ],
        },
    )
    store.append_row(
        "/cam/keypoints",
        {"ros_time": 1},
        {
            "Points2D:positions": np.array([[45.0, 10.0]], dtype=np.float32),
            "Points2D:colors": pa.array([0xFF0000FF], type=pa.uint32()),
            "Points2D:radii": np.array([-5.0], dtype=np.float32),
        },
    )
    view = make_view(qtbot, store, "/cam")
    view.set_time("ros_time", 1)
    picture = qimage_rgb(view.graphics.grab().toImage())
    rows, columns = np.nonzero(red_pixels(picture))
    assert len(rows) > 10
    # Image x 45 of 60 is right of centre; y 10 of 40 is above it (Y points down, as in the image).
    height, width = picture.shape[:2]
    assert columns.mean() > width / 2
    assert rows.mean() < height / 2


def test_segmentation_classes_get_distinct_colours(qtbot: QtBot) -> None:
    classes = np.zeros((4, 8), dtype=np.uint8)
    classes[:, 4:] = 3
    store = ChunkStore()
    store.append_row(
        "/segmentation",
        {"ros_time": 1},
        {
            "SegmentationImage:buffer": [classes.tobytes()],
            "SegmentationImage:format": [
                rr.components.ImageFormat(width=8, height=4, color_model="L", channel_datatype="U8")
            ],
        },
    )
    view = make_view(qtbot, store)
    view.set_time("ros_time", 1)
    picture = qimage_rgb(view.graphics.grab().toImage())
    height, width = picture.shape[:2]
    background, labelled = picture[height // 2, width // 2 - 20], picture[height // 2, width // 2 + 20]
    assert tuple(background) == (0, 0, 0)  # class 0
    assert int(labelled.max()) > 150


def camera_and_cloud_store(with_pinhole: bool = True) -> ChunkStore:
    """A black 160x120 image seen by a pinhole (f 100, centre 80, 60) in ``optical``; a lidar 0.5 m to the
    camera's right (x) holding three points straight ahead of it at 2, 4 and 8 m."""
    store = ChunkStore()
    store.append_row(
        "/tf_static/lidar",
        {},
        {
            "Transform3D:parent_frame": ["optical"],
            "Transform3D:child_frame": ["lidar"],
            "Transform3D:translation": np.array([[0.5, 0.0, 0.0]]),
            "Transform3D:quaternion": np.array([[0.0, 0.0, 0.0, 1.0]]),
        },
        static=True,
    )
    store.append_row(
        "/camera/image",
        {"ros_time": 1},
        {
            "Image:buffer": [bytes(160 * 120 * 3)],
            "Image:format": [
                rr.components.ImageFormat(width=160, height=120, color_model="RGB", channel_datatype="U8")
            ],
        },
    )
    if with_pinhole:
        store.append_row(
            "/camera/info",
            {"ros_time": 1},
            {
                # One 3x3 instance, as the CameraInfo converter writes it.
                "Pinhole:image_from_camera": np.array(
                    [[[100.0, 0.0, 80.0], [0.0, 100.0, 60.0], [0.0, 0.0, 1.0]]], dtype=np.float32
                ),
                "Pinhole:resolution": np.array([[160.0, 120.0]], dtype=np.float32),
                "Pinhole:parent_frame": ["optical"],
                "Pinhole:child_frame": ["optical_image_plane"],
            },
        )
    store.append_row(
        "/lidar/points",
        {"ros_time": 1},
        {
            "Points3D:positions": np.array([[0.0, 0.0, 2.0], [0.0, 0.0, 4.0], [0.0, 0.0, 8.0]], np.float32),
            "CoordinateFrame:frame": ["lidar"],
        },
    )
    store.flush()
    return store


def test_a_cloud_is_projected_onto_the_image_through_the_pinhole_and_tf(qtbot: QtBot) -> None:
    view = make_view(qtbot, camera_and_cloud_store())
    view.set_time("ros_time", 1)
    item = view.projected["/lidar/points"]
    # x = 0.5 m right of the camera: u = 80 + 100 * 0.5 / z, v = 60.
    np.testing.assert_allclose(item.getData()[0], [105.0, 92.5, 86.25], atol=1e-4)
    np.testing.assert_allclose(item.getData()[1], [60.0, 60.0, 60.0], atol=1e-4)
    assert view.note.isHidden()
    picture = qimage_rgb(view.graphics.grab().toImage())
    lit = np.nonzero(picture.max(axis=2) > 60)  # coloured dots on the black image
    assert len(lit[0]) > 3
    height, width = picture.shape[:2]
    assert abs(lit[0].mean() - height / 2) < height * 0.1  # on the image's middle row (v = 60 of 120)
    assert lit[1].mean() > width / 2  # right of the centre column


def test_a_projected_cloud_keeps_its_own_colours_else_is_coloured_by_distance(qtbot: QtBot) -> None:
    """RViz's camera display and Rerun's overlay draw a cloud in its colours; by distance, points at one
    distance (a wall facing the camera) took turbo's darkest end, unseen on a dark image (audit)."""
    store = camera_and_cloud_store()
    store.append_row(
        "/lidar/points",
        {"ros_time": 2},
        {
            "Points3D:positions": np.array([[0.0, 0.0, 2.0], [0.0, 0.0, 4.0]], np.float32),
            "Points3D:colors": np.array([0xFF0000FF, 0x0000FFFF], dtype=np.uint32),
            "CoordinateFrame:frame": ["lidar"],
        },
    )
    store.append_row(
        "/lidar/points",
        {"ros_time": 3},
        {
            "Points3D:positions": np.array([[0.0, 0.0, 4.0], [0.0, 0.5, 4.0]], np.float32),
            "Points3D:colors": pa.nulls(0, pa.uint32()),
            "CoordinateFrame:frame": ["lidar"],
        },
    )
    store.flush()
    view = make_view(qtbot, store)
    view.set_time("ros_time", 2)
    brushes = view.projected["/lidar/points"].data["brush"]
    assert [brush.color().getRgb()[:3] for brush in brushes] == [(255, 0, 0), (0, 0, 255)]
    view.set_time("ros_time", 3)
    brushes = view.projected["/lidar/points"].data["brush"]
    colors = {brush.color().getRgb()[:3] for brush in brushes}
    assert len(colors) == 1
    assert max(next(iter(colors))) > 150  # turbo's middle (green), not its near-black end


def test_a_cloud_without_a_pinhole_is_named_in_the_note(qtbot: QtBot) -> None:
    view = make_view(qtbot, camera_and_cloud_store(with_pinhole=False))
    view.set_time("ros_time", 1)
    assert "no Pinhole" in view.note.text()
