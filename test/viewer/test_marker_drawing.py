"""What markers become, drawn by the 3D view and checked by pixels under a real X server: ellipsoids,
cylinders, per-instance colours, text labels, and deletions / lifetimes while scrubbing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import rerun as rr
from pytestqt.qtbot import QtBot

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.model.records import TopicInfo
from rerun_bridge.pipeline import Pipeline
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.sources import load_bags
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.views.image_view import ImageView
from rerun_bridge.viewer.views.shapes3d import box_edges, cylinder_edges, ellipsoid_rings
from rerun_bridge.viewer.views.spatial3d_view import MAX_LABELS_PER_ENTITY
from test.convert.golden_harness import build_message
from test.convert.test_marker_semantics import SECOND, T0, marker, write_bag
from test.viewer.conftest import qimage_rgb, red_pixels
from test.viewer.test_shapes import blue_pixels, red_shape_pixels
from test.viewer.test_spatial3d_view import SENSOR_OFFSET, make_view, project, scene_store

pytestmark = pytest.mark.gui

RED, BLUE = 0xFF0000FF, 0x0000FFFF


def assert_fills_projection(mask: np.ndarray[Any, Any], vertices: np.ndarray[Any, Any]) -> None:
    """The drawn pixels span the projection of the shape's wireframe vertices (within 3 pixels)."""
    height, width = mask.shape
    rows, columns = np.nonzero(mask)
    assert len(rows) > 100
    projected = np.array([project(vertex + SENSOR_OFFSET, width, height) for vertex in vertices])
    assert abs(columns.min() - projected[:, 0].min()) < 3
    assert abs(columns.max() - projected[:, 0].max()) < 3
    assert abs(rows.min() - projected[:, 1].min()) < 3
    assert abs(rows.max() - projected[:, 1].max()) < 3


def test_a_red_ellipsoid_is_drawn_as_its_three_rings(qtbot: QtBot) -> None:
    center, half = np.array([[0.5, -1.0, 0.5]]), np.array([[1.0, 0.5, 0.25]])
    quaternion = np.array([[0.0, 0.0, np.sin(np.pi / 8), np.cos(np.pi / 8)]])  # 45 degrees about z
    red = red_shape_pixels(
        qtbot,
        {
            "Ellipsoids3D:half_sizes": half.astype(np.float32),
            "Ellipsoids3D:centers": center.astype(np.float32),
            "Ellipsoids3D:quaternions": quaternion.astype(np.float32),
            "Ellipsoids3D:colors": pa.array([RED], type=pa.uint32()),
        },
    )
    assert_fills_projection(red, ellipsoid_rings(half, center, quaternion))


def test_a_red_cylinder_is_drawn_along_its_axis(qtbot: QtBot) -> None:
    center = np.array([[0.0, -1.0, 1.0]])
    quaternion = np.array([[np.sin(np.pi / 4), 0.0, 0.0, np.cos(np.pi / 4)]])  # lying along -y
    red = red_shape_pixels(
        qtbot,
        {
            "Cylinders3D:lengths": np.array([2.0], dtype=np.float32),
            "Cylinders3D:radii": np.array([0.3], dtype=np.float32),
            "Cylinders3D:centers": center.astype(np.float32),
            "Cylinders3D:quaternions": quaternion.astype(np.float32),
            "Cylinders3D:colors": pa.array([RED], type=pa.uint32()),
        },
    )
    assert_fills_projection(red, cylinder_edges([2.0], [0.3], center, quaternion))


def test_each_instance_is_drawn_in_its_own_colour(qtbot: QtBot) -> None:
    centers = np.array([[-1.5, -1.0, 0.5], [1.5, -1.0, 0.5]], dtype=np.float32)
    store = scene_store(np.zeros((0, 3)))
    store.append_row(
        "/shape",
        {"ros_time": 100},
        {
            "Boxes3D:half_sizes": np.full((2, 3), 0.3, dtype=np.float32),
            "Boxes3D:centers": centers,
            "Boxes3D:colors": pa.array([RED, BLUE], type=pa.uint32()),
            "CoordinateFrame:frame": ["sensor"],
        },
    )
    view = make_view(qtbot, store)
    view.set_time("ros_time", 100)
    picture = qimage_rgb(view.canvas.picture())
    assert_fills_projection(red_pixels(picture), box_edges(np.full((1, 3), 0.3), centers[:1]))
    assert_fills_projection(blue_pixels(picture), box_edges(np.full((1, 3), 0.3), centers[1:]))


def label_pixels(
    qtbot: QtBot, components: dict[str, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Red pixels of the view with its labels painted, and of the scene alone."""
    store = scene_store(np.zeros((0, 3)))
    store.append_row("/labelled", {"ros_time": 100}, {**components, "CoordinateFrame:frame": ["sensor"]})
    view = make_view(qtbot, store)
    view.set_time("ros_time", 100)
    with_labels = red_pixels(qimage_rgb(view.canvas.grab().toImage()))
    return with_labels, red_pixels(qimage_rgb(view.canvas.picture()))


def assert_text_near(
    with_labels: np.ndarray[Any, Any], scene: np.ndarray[Any, Any], anchor: np.ndarray
) -> None:
    text = with_labels & ~scene
    rows, columns = np.nonzero(text)
    assert len(rows) > 15, "no label text painted"
    x, y = project(anchor + SENSOR_OFFSET, text.shape[1], text.shape[0])
    # Text starts at the anchor and runs right, its baseline at the anchor's height.
    assert abs(columns.min() - x) < 4
    assert 0 < columns.max() - x < 120
    assert -16 < rows.min() - y <= 2
    assert abs(rows.max() - y) < 4


def test_a_text_marker_label_is_painted_at_its_point_in_its_colour(qtbot: QtBot) -> None:
    position = np.array([[0.5, -1.0, 0.5]], dtype=np.float32)
    with_labels, scene = label_pixels(
        qtbot,
        {
            "Points3D:positions": position,
            "Points3D:radii": np.array([-1.0], dtype=np.float32),
            "Points3D:labels": ["robot 1"],
            "Points3D:colors": pa.array([RED], type=pa.uint32()),
        },
    )
    assert_text_near(with_labels, scene, position[0])


@pytest.mark.parametrize(
    ("count", "show_labels", "painted"),
    [(MAX_LABELS_PER_ENTITY, None, True), (MAX_LABELS_PER_ENTITY + 1, None, False), (40, True, True)],
)
def test_labels_of_many_instances_are_left_out_as_in_rerun(
    qtbot: QtBot, count: int, show_labels: bool | None, painted: bool
) -> None:
    """Past 30 instances an entity's labels are not drawn (a slam_toolbox graph's node names covered the
    scene), unless its show_labels says so; the points themselves are."""
    positions = np.zeros((count, 3), dtype=np.float32)
    positions[:, 0] = np.linspace(-2.0, 2.0, count)
    components: dict[str, Any] = {
        "Points3D:positions": positions,
        "Points3D:radii": np.full(count, -1.0, dtype=np.float32),
        "Points3D:labels": [f"n{index}" for index in range(count)],
        "Points3D:colors": pa.array([RED] * count, type=pa.uint32()),
    }
    if show_labels is not None:
        components["Points3D:show_labels"] = pa.array([show_labels])
    with_labels, scene = label_pixels(qtbot, components)
    assert scene.sum() > 0  # the points
    assert ((with_labels & ~scene).sum() > 15) == painted


def test_an_arrow_label_is_painted_at_its_middle(qtbot: QtBot) -> None:
    origin, vector = np.array([[-1.0, -2.0, 0.0]]), np.array([[2.0, 0.0, 0.0]])
    with_labels, scene = label_pixels(
        qtbot,
        {
            "Arrows3D:origins": origin.astype(np.float32),
            "Arrows3D:vectors": vector.astype(np.float32),
            "Arrows3D:labels": ["goal"],
            "Arrows3D:colors": pa.array([RED], type=pa.uint32()),
        },
    )
    assert_text_near(with_labels, scene, origin[0] + vector[0] / 2)


def test_cleared_shapes_are_not_drawn_while_scrubbing(qtbot: QtBot) -> None:
    store = scene_store(np.zeros((0, 3)))
    boxes = {
        "Boxes3D:half_sizes": np.full((1, 3), 0.5, dtype=np.float32),
        "Boxes3D:colors": pa.array([RED], type=pa.uint32()),
        "CoordinateFrame:frame": ["sensor"],
    }
    store.append_row("/markers/ns/1", {"ros_time": 100}, boxes)
    store.append_row("/markers", {"ros_time": 200}, {"Clear:is_recursive": np.array([True])})
    store.append_row("/markers/ns/1", {"ros_time": 300}, boxes)
    view = make_view(qtbot, store)
    drawn = []
    for time in (100, 250, 300, 150):
        view.set_time("ros_time", time)
        drawn.append(int(red_pixels(qimage_rgb(view.canvas.picture())).sum()))
    assert drawn[0] > 100
    assert drawn[1] == 0  # cleared at 200
    assert drawn[2] == drawn[0]  # logged again at 300
    assert drawn[3] == drawn[0]  # scrubbing back before the Clear


def test_a_converted_marker_array_is_drawn_and_its_lifetime_ends(qtbot: QtBot, tmp_path: Path) -> None:
    """A CUBE_LIST with per-point colours and a red sphere that lives 1 s, through CDR, the pipeline and
    the store, drawn at the array's time and after the sphere's lifetime."""
    cube_list = marker(
        "walls",
        1,
        6,
        points=[{"x": -1.5, "y": -1.0, "z": 0.5}, {"x": 1.5, "y": -1.0, "z": 0.5}],
        colors=[{"r": 0.0, "b": 1.0, "a": 1.0}, {"b": 1.0, "a": 1.0}],
        scale={"x": 0.6, "y": 0.6, "z": 0.6},
    )
    cube_list["header"]["frame_id"] = "sensor"
    sphere = marker(
        "goal",
        2,
        2,
        lifetime={"sec": 1, "nanosec": 0},
        pose={"position": {"z": 2.0}, "orientation": {"w": 1.0}},
    )
    sphere["header"]["frame_id"] = "sensor"
    bag = write_bag(tmp_path / "drawn.mcap", [(1, [cube_list, sphere])])
    store = scene_store(np.zeros((0, 3)))
    load_bags([bag], store)
    view = make_view(qtbot, store)
    view.set_time("log_time", T0 + SECOND)
    picture = qimage_rgb(view.canvas.picture())
    assert blue_pixels(picture).sum() > 200  # both cubes
    assert_fills_projection(red_pixels(picture), ellipsoid_rings([[0.5, 0.5, 0.5]], [[0.0, 0.0, 2.0]]))
    view.set_time("log_time", T0 + 2 * SECOND)
    picture = qimage_rgb(view.canvas.picture())
    assert blue_pixels(picture).sum() > 200
    assert red_pixels(picture).sum() == 0


def test_an_image_marker_circle_is_drawn_on_the_image_until_its_lifetime_ends(qtbot: QtBot) -> None:
    """An ImageMarker through CDR and the pipeline into the store, over a grey image in the image view."""
    store = ChunkStore()
    grey = np.full((40, 60, 3), 128, dtype=np.uint8)
    image_format = rr.components.ImageFormat(width=60, height=40, color_model="RGB", channel_datatype="U8")
    store.append_row(
        "/cam/image", {"log_time": T0}, {"Image:buffer": [grey.tobytes()], "Image:format": [image_format]}
    )
    type_name = "visualization_msgs/msg/ImageMarker"
    choice = TypeResolver([TopicInfo("/cam/markers", type_name)], "jazzy").choose(type_name)
    assert choice.decoder is not None
    assert choice.typestore is not None
    fields = {
        "header": {"stamp": {"sec": T0 // SECOND}, "frame_id": "cam"},
        "type": 0,
        "position": {"x": 45.0, "y": 10.0},
        "scale": 5.0,
        "outline_color": {"r": 1.0, "a": 1.0},
        "lifetime": {"sec": 1},
    }
    payload = bytes(
        choice.typestore.serialize_cdr(build_message(choice.typestore, type_name, fields), type_name)
    )
    pipeline = Pipeline([StoreSink(store)])
    pipeline.add_topic("/cam/markers", type_name)
    pipeline.process_raw("/cam/markers", payload, T0, choice.decoder)
    pipeline.finish()  # the stream ends: the lifetime's Clear is written at its expiry
    view = ImageView(store, SceneTransforms(store), "/cam")
    qtbot.addWidget(view)
    view.resize(320, 240)
    view.show()
    qtbot.waitExposed(view)
    view.set_time("log_time", T0)
    picture = qimage_rgb(view.graphics.grab().toImage())
    rows, columns = np.nonzero(red_pixels(picture))
    assert len(rows) > 10
    height, width = picture.shape[:2]
    assert columns.mean() > width / 2  # x 45 of 60: right of centre
    assert rows.mean() < height / 2  # y 10 of 40: above it (image Y points down)
    view.set_time("log_time", T0 + 2 * SECOND)
    assert red_pixels(qimage_rgb(view.graphics.grab().toImage())).sum() == 0
