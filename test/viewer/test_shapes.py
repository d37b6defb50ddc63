"""Boxes, arrows, meshes and camera frustums in 3D, and 2D overlays on images, checked by pixels."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import rerun as rr
from pytestqt.qtbot import QtBot

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.views.image_view import ImageView
from rerun_bridge.viewer.views.shapes3d import box_edges, matrix3x3
from test.viewer.conftest import at, qimage_rgb, red_pixels, write_rrd
from test.viewer.test_spatial3d_view import SENSOR_OFFSET, make_view, project, scene_store

pytestmark = pytest.mark.gui

RED = pa.array([0xFF0000FF], type=pa.uint32())


def blue_pixels(rgb: np.ndarray[Any, np.dtype[np.uint8]]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    red, green, blue = (rgb[..., channel].astype(np.int16) for channel in range(3))
    mask: np.ndarray[Any, np.dtype[np.bool_]] = (blue > 180) & (red < 80) & (green < 80)
    return mask


def with_shape(archetype_components: dict[str, Any]) -> ChunkStore:
    """The sensor scene (world -> sensor offset by TF) with one shape entity in the sensor frame."""
    store = scene_store(np.zeros((0, 3)))
    store.append_row(
        "/shape", {"ros_time": 100}, {**archetype_components, "CoordinateFrame:frame": ["sensor"]}
    )
    return store


def red_shape_pixels(qtbot: QtBot, archetype_components: dict[str, Any]) -> np.ndarray[Any, Any]:
    """Where the 3D view draws red with one shape entity in the sensor scene (:func:`with_shape`)."""
    view = make_view(qtbot, with_shape(archetype_components))
    view.set_time("ros_time", 100)
    return red_pixels(qimage_rgb(view.canvas.picture()))


def test_a_red_box_is_drawn_as_its_projected_wireframe(qtbot: QtBot) -> None:
    center, half = np.array([0.5, -1.0, 0.5]), np.array([0.5, 0.4, 0.3])
    red = red_shape_pixels(
        qtbot,
        {
            "Boxes3D:half_sizes": half.reshape(1, 3).astype(np.float32),
            "Boxes3D:centers": center.reshape(1, 3).astype(np.float32),
            "Boxes3D:colors": RED,
        },
    )
    height, width = red.shape
    rows, columns = np.nonzero(red)
    assert len(rows) > 100
    corners = box_edges(half.reshape(1, 3), center.reshape(1, 3)) + SENSOR_OFFSET
    projected = np.array([project(corner, width, height) for corner in corners])
    assert abs(columns.min() - projected[:, 0].min()) < 3
    assert abs(columns.max() - projected[:, 0].max()) < 3
    assert abs(rows.min() - projected[:, 1].min()) < 3
    assert abs(rows.max() - projected[:, 1].max()) < 3
    # A wireframe, not a solid: edges cover a small part of the box's screen area.
    area = (projected[:, 0].max() - projected[:, 0].min()) * (projected[:, 1].max() - projected[:, 1].min())
    assert len(rows) < 0.3 * area


def test_a_red_arrow_runs_from_its_origin_to_its_tip(qtbot: QtBot) -> None:
    origin, vector = np.array([-1.0, -2.0, 0.0]), np.array([2.5, 0.0, 0.0])
    red = red_shape_pixels(
        qtbot,
        {
            "Arrows3D:vectors": vector.reshape(1, 3).astype(np.float32),
            "Arrows3D:origins": origin.reshape(1, 3).astype(np.float32),
            "Arrows3D:colors": RED,
        },
    )
    height, width = red.shape
    rows, columns = np.nonzero(red)
    assert len(rows) > 50
    (x0, y0) = project(origin + SENSOR_OFFSET, width, height)
    (x1, y1) = project(origin + vector + SENSOR_OFFSET, width, height)
    distance = np.abs((x1 - x0) * (y0 - rows) - (x0 - columns) * (y1 - y0)) / math.hypot(x1 - x0, y1 - y0)
    assert float(np.median(distance)) < 1.5  # mostly the shaft; the head spreads around the tip
    tip = np.hypot(columns - x1, rows - y1)
    assert tip.min() < 3
    assert float(np.hypot(columns - x0, rows - y0).min()) < 3


def test_a_red_mesh_triangle_fills_its_projection(qtbot: QtBot) -> None:
    triangle = np.array([[0.0, -2.0, 0.0], [2.0, -2.0, 0.0], [0.0, -2.0, 2.0]], dtype=np.float32)
    red = red_shape_pixels(
        qtbot,
        {
            "Mesh3D:vertex_positions": triangle,
            "Mesh3D:triangle_indices": np.array([[0, 1, 2]], dtype=np.uint32),
            "Mesh3D:albedo_factor": RED,
        },
    )
    height, width = red.shape
    centroid_x, centroid_y = project(triangle.mean(axis=0) + SENSOR_OFFSET, width, height)
    assert red[
        round(centroid_y) - 2 : round(centroid_y) + 3, round(centroid_x) - 2 : round(centroid_x) + 3
    ].all()
    outside_x, outside_y = project(np.array([2.0, -2.0, 2.0]) + SENSOR_OFFSET, width, height)
    assert not red[round(outside_y), round(outside_x)]


def test_bad_mesh_indices_are_noted_not_drawn(qtbot: QtBot) -> None:
    store = with_shape(
        {
            "Mesh3D:vertex_positions": np.zeros((3, 3), np.float32),
            "Mesh3D:triangle_indices": np.array([[0, 1, 7]], dtype=np.uint32),
        }
    )
    view = make_view(qtbot, store)
    view.set_time("ros_time", 100)
    assert view.note.text() == "/shape: triangle indices beyond its 3 vertices; not drawn"


def camera_rrd(tmp_path: Path) -> Path:
    """A camera frame at the world origin looking along +z with a 64x48 image: left half red, right blue."""

    def log(rec: Any) -> None:
        rr.log(
            "/tf_static/cam",
            rr.Transform3D(translation=[0.0, 0.0, 0.0], parent_frame="world", child_frame="cam"),
            static=True,
            recording=rec,
        )
        at(rec, 0.0)
        rr.log(
            "/camera/info",
            rr.Pinhole(
                focal_length=50.0, width=64, height=48, parent_frame="cam", child_frame="cam_image_plane"
            ),
            recording=rec,
        )
        pixels = np.zeros((48, 64, 3), dtype=np.uint8)
        pixels[:, :32] = (230, 20, 20)
        pixels[:, 32:] = (20, 20, 230)
        rr.log("/camera/image", rr.CoordinateFrame("cam_image_plane"), recording=rec)
        rr.log("/camera/image", rr.Image(pixels), recording=rec)

    return write_rrd(tmp_path / "camera.rrd", log)


def test_a_camera_frustum_carries_its_image_the_right_way_round(qtbot: QtBot, tmp_path: Path) -> None:
    store = load_files([camera_rrd(tmp_path)]).store
    intrinsics = matrix3x3(store.latest_at("/camera/info", "ros_time", 2**62)["Pinhole:image_from_camera"])
    assert intrinsics is not None
    np.testing.assert_allclose(intrinsics, [[50, 0, 32], [0, 50, 24], [0, 0, 1]])  # Rerun's column-major
    view = make_view(qtbot, store, frustum_depth=2.0)
    view.set_time("ros_time", at_start(store))
    assert set(view.camera_images) == {"/camera/info"}
    assert view.note.text() == ""
    frame = qimage_rgb(view.canvas.picture())
    height, width = frame.shape[:2]
    # Image column 16 (red) is at x = (16 - 32) / 50 * 2 m in the camera frame, column 48 (blue) at +0.64 m.
    red_x, red_y = project(np.array([-0.64, 0.0, 2.0]), width, height)
    blue_x, blue_y = project(np.array([0.64, 0.0, 2.0]), width, height)
    assert red_pixels(frame)[round(red_y) - 1 : round(red_y) + 2, round(red_x) - 1 : round(red_x) + 2].all()
    assert blue_pixels(frame)[
        round(blue_y) - 1 : round(blue_y) + 2, round(blue_x) - 1 : round(blue_x) + 2
    ].all()


def test_no_pinhole_note_before_the_first_camera_info(qtbot: QtBot) -> None:
    # A camera whose info starts late said "Pinhole without a usable image_from_camera" until then.
    store = ChunkStore()
    matrix = np.array([[50.0, 0.0, 32.0], [0.0, 50.0, 24.0], [0.0, 0.0, 1.0]])
    store.append_row(
        "/camera/info", {"ros_time": 100}, {"Pinhole:image_from_camera": matrix.reshape(1, 3, 3)}
    )
    store.append_row("/points", {"ros_time": 10}, {"Points3D:positions": np.zeros((1, 3), dtype=np.float32)})
    store.flush()
    view = make_view(qtbot, store)
    view.set_time("ros_time", 50)
    assert "Pinhole" not in view.note.text()
    view.set_time("ros_time", 150)
    assert "Pinhole" not in view.note.text()
    store.append_row("/camera/info", {"ros_time": 200}, {"Pinhole:image_from_camera": np.zeros((1, 3, 3))})
    store.flush()
    view.set_time("ros_time", 250)  # a matrix that cannot be used is still said
    assert "/camera/info: Pinhole without a usable image_from_camera" in view.note.text()


def at_start(store: ChunkStore) -> int:
    bounds = store.time_range("ros_time")
    assert bounds is not None
    return bounds[0]


def test_matrix_layouts_of_rerun_and_of_the_bridge_agree() -> None:
    matrix = np.array([[500.0, 0.0, 320.0], [0.0, 510.0, 240.0], [0.0, 0.0, 1.0]])
    rerun_layout = rr.Pinhole(image_from_camera=matrix).image_from_camera
    assert rerun_layout is not None
    store = ChunkStore()
    store.append_row("/bridge", {"ros_time": 1}, {"Pinhole:image_from_camera": matrix.reshape(1, 3, 3)})
    bridge_layout = store.latest_at("/bridge", "ros_time", 1)["Pinhole:image_from_camera"]
    from_rerun, from_bridge = matrix3x3(rerun_layout.as_arrow_array()), matrix3x3(bridge_layout)
    assert from_rerun is not None
    assert from_bridge is not None
    np.testing.assert_allclose(from_rerun, matrix)
    np.testing.assert_allclose(from_bridge, matrix)
    assert matrix3x3(pa.array([1.0, 2.0])) is None


def test_boxes_and_lines_logged_under_the_image_are_drawn_over_it(qtbot: QtBot) -> None:
    store = ChunkStore()
    pixels = np.zeros((60, 80, 3), dtype=np.uint8)
    store.append_row(
        "/camera/image",
        {"ros_time": 10},
        {
            "Image:buffer": [pixels.tobytes()],
            "Image:format": [
                rr.components.ImageFormat(width=80, height=60, color_model="RGB", channel_datatype="U8")
            ],
        },
    )
    box_center, box_half = np.array([20.0, 15.0]), np.array([10.0, 8.0])
    store.append_row(
        "/camera/image/detections",
        {"ros_time": 10},
        {
            "Boxes2D:half_sizes": box_half.reshape(1, 2).astype(np.float32),
            "Boxes2D:centers": box_center.reshape(1, 2).astype(np.float32),
            "Boxes2D:colors": RED,
        },
    )
    store.append_row(
        "/camera/image/lane",
        {"ros_time": 10},
        {
            "LineStrips2D:strips": [rr.components.LineStrip2D([[50.0, 50.0], [70.0, 50.0]])],
            "LineStrips2D:colors": pa.array([0x1414E6FF], type=pa.uint32()),
        },
    )
    store.append_row("/elsewhere", {"ros_time": 10}, {"Boxes2D:half_sizes": np.ones((1, 2), np.float32)})
    view = shown_image_view(qtbot, store)
    assert set(view.line_overlays) == {"Boxes2D:/camera/image/detections", "LineStrips2D:/camera/image/lane"}
    picture = qimage_rgb(view.graphics.grab().toImage())
    rows, columns = np.nonzero(red_pixels(picture))
    assert len(rows) > 40
    top_left = view.viewbox.mapViewToDevice(pg_point(*(box_center - box_half)))
    bottom_right = view.viewbox.mapViewToDevice(pg_point(*(box_center + box_half)))
    viewport = view.graphics.viewport()
    assert viewport is not None
    offset = viewport.pos()  # device coordinates are the viewport's, inside the view's frame
    assert top_left is not None
    assert bottom_right is not None
    assert abs(columns.min() - top_left.x() - offset.x()) < 3
    assert abs(columns.max() - bottom_right.x() - offset.x()) < 3
    assert abs(rows.min() - top_left.y() - offset.y()) < 3
    assert abs(rows.max() - bottom_right.y() - offset.y()) < 3
    middle = view.viewbox.mapViewToDevice(pg_point(*box_center))
    assert middle is not None
    assert not red_pixels(picture)[round(middle.y() + offset.y()), round(middle.x() + offset.x())]  # no fill
    lane_rows, lane_columns = np.nonzero(blue_pixels(picture))
    lane_start = view.viewbox.mapViewToDevice(pg_point(50.0, 50.0))
    assert lane_start is not None
    assert len(lane_rows) > 10
    assert abs(np.median(lane_rows) - lane_start.y() - offset.y()) < 3
    assert abs(lane_columns.min() - lane_start.x() - offset.x()) < 3


def shown_image_view(qtbot: QtBot, store: ChunkStore) -> ImageView:
    """The 2D view of ``/camera/image``, shown at 400 x 300 at ros_time 10."""
    view = ImageView(store, SceneTransforms(store), "/camera/image")
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_time("ros_time", 10)
    return view


def pg_point(x: float, y: float) -> Any:
    from PyQt6 import QtCore

    return QtCore.QPointF(float(x), float(y))


@pytest.mark.parametrize("boxes", [2, 31])
def test_labelled_boxes_over_an_image_show_their_labels_above_them(qtbot: QtBot, boxes: int) -> None:
    """A detection's class and score showed in Rerun's viewer and the 3D view, not over the image (found
    by an audit): each box's label sits above its top left corner, in its colour; past 30 boxes, none."""
    store = ChunkStore()
    pixels = np.zeros((60, 80, 3), dtype=np.uint8)
    image_format = rr.components.ImageFormat(width=80, height=60, color_model="RGB", channel_datatype="U8")
    store.append_row(
        "/camera/image",
        {"ros_time": 10},
        {"Image:buffer": [pixels.tobytes()], "Image:format": [image_format]},
    )
    centers = np.array([[20.0 + 2 * index, 30.0] for index in range(boxes)], dtype=np.float32)
    store.append_row(
        "/camera/image/detections",
        {"ros_time": 10},
        {
            "Boxes2D:half_sizes": np.tile(np.array([[10.0, 8.0]], dtype=np.float32), (boxes, 1)),
            "Boxes2D:centers": centers,
            "Boxes2D:colors": pa.array([0xFF0000FF] * boxes, type=pa.uint32()),
            "Boxes2D:labels": [f"person {index}" for index in range(boxes)],
        },
    )
    view = shown_image_view(qtbot, store)
    labels = view.box_labels["/camera/image/detections"]
    if boxes > 30:
        assert labels == []
        return
    assert [label.toPlainText() for label in labels] == ["person 0", "person 1"]
    np.testing.assert_allclose([labels[0].pos().x(), labels[0].pos().y()], [10.0, 22.0])
    picture = qimage_rgb(view.graphics.grab().toImage())
    corner = view.viewbox.mapViewToDevice(pg_point(10.0, 22.0))
    assert corner is not None
    above = red_pixels(picture)[: round(corner.y()), :]
    assert above.sum() > 10  # the text, in the box's red, above the box
