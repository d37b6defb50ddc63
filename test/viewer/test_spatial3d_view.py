"""The 3D view, checked by pixels: points land where a pinhole projection of the camera pose puts them."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from PyQt6 import QtGui
from pytestqt.qtbot import QtBot

from rerun_bridge.convert.marker_frame_lock import FRAME_LOCKED
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView, _strip_segments
from test.viewer.conftest import orbit_pixel, qimage_rgb, red_pixels

pytestmark = pytest.mark.gui

CAMERA: dict[str, Any] = {
    "camera_center": (0.0, 0.0, 0.0),
    "camera_distance": 10.0,
    "camera_azimuth": 30.0,
    "camera_elevation": 20.0,
    "camera_fov": 60.0,
}
WIDTH, HEIGHT = 640, 480
SENSOR_OFFSET = np.array([0.0, 2.0, 0.0])  # world -> sensor, a static TF edge


def project(point: np.ndarray[Any, Any], width: int, height: int) -> tuple[float, float]:
    return orbit_pixel(point, CAMERA, width, height)


def scene_store(local_points: np.ndarray[Any, Any], radii: float = -6.0) -> ChunkStore:
    store = ChunkStore()
    store.append_row(
        "/tf_static/sensor",
        {},
        {
            "Transform3D:parent_frame": ["world"],
            "Transform3D:child_frame": ["sensor"],
            "Transform3D:translation": SENSOR_OFFSET.reshape(1, 3),
            "Transform3D:quaternion": np.array([[0.0, 0.0, 0.0, 1.0]]),
        },
        static=True,
    )
    store.append_row(
        "/points",
        {"ros_time": 100},
        {
            "Points3D:positions": local_points.astype(np.float32),
            "Points3D:colors": pa.array([0xFF0000FF], type=pa.uint32()),  # one colour for all: red
            "Points3D:radii": np.array([radii], dtype=np.float32),  # negative: UI points
            "CoordinateFrame:frame": ["sensor"],
        },
    )
    store.flush()
    return store


def make_view(qtbot: QtBot, store: ChunkStore, **settings: Any) -> Spatial3DView:
    view = Spatial3DView(
        store, SceneTransforms(store), settings={**CAMERA, "grid": False, "frames": False, **settings}
    )
    qtbot.addWidget(view)
    view.resize(WIDTH, HEIGHT)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_red_points_appear_where_their_projection_says(qtbot: QtBot) -> None:
    local = np.array([1.0, -1.0, 0.5])  # in the sensor frame; (1, 1, 0.5) in the world
    cluster = local + 0.02 * np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]])
    view = make_view(qtbot, scene_store(cluster))
    view.set_time("ros_time", 150)
    frame = qimage_rgb(view.canvas.picture())
    height, width = frame.shape[:2]
    rows, columns = np.nonzero(red_pixels(frame))
    assert len(rows) > 50, "the red points were not drawn"
    expected_x, expected_y = project(local + SENSOR_OFFSET, width, height)
    assert abs(columns.mean() - expected_x) < 2.0
    assert abs(rows.mean() - expected_y) < 2.0
    # The TF offset matters: without it the points would be far from where they are.
    unplaced_x, unplaced_y = project(local, width, height)
    assert math.hypot(columns.mean() - unplaced_x, rows.mean() - unplaced_y) > 30


def test_nothing_is_drawn_before_the_first_row(qtbot: QtBot) -> None:
    view = make_view(qtbot, scene_store(np.zeros((3, 3))))
    view.set_time("ros_time", 50)
    frame = qimage_rgb(view.canvas.picture())
    assert not red_pixels(frame).any()


def test_large_clouds_are_decimated_with_a_visible_note(qtbot: QtBot) -> None:
    cloud = np.random.default_rng(0).uniform(-1, 1, size=(10_000, 3))
    view = make_view(qtbot, scene_store(cloud, radii=-1.0), max_points=1_000)
    view.set_time("ros_time", 100)
    assert view.note.isVisible()
    assert "/points: showing 1,000 of 10,000 points (level of detail" in view.note.text()
    assert len(view.points["/points"].pos) == 1_000


def test_a_million_point_cloud_draws_at_a_level_of_detail_that_is_noted(qtbot: QtBot) -> None:
    # A 4 m cube of red points in front of the camera: the default max_points thins it.
    cloud = np.random.default_rng(1).uniform(-2.0, 2.0, size=(1_000_000, 3)) - SENSOR_OFFSET
    view = make_view(qtbot, scene_store(cloud, radii=-1.0))
    view.set_time("ros_time", 100)
    assert view.note.isVisible()
    assert "/points: showing 200,000 of 1,000,000 points (level of detail" in view.note.text()
    drawn = view.points["/points"].pos
    assert len(drawn) == 200_000
    # The subset is spread over the whole cloud (not its first fifth), and drawn there.
    assert drawn.min(axis=0) == pytest.approx([-2.0, -2.0, -2.0], abs=0.05)
    assert drawn.max(axis=0) == pytest.approx([2.0, 2.0, 2.0], abs=0.05)
    frame = qimage_rgb(view.canvas.picture())
    rows, columns = np.nonzero(red_pixels(frame))
    center_x, center_y = project(np.zeros(3), frame.shape[1], frame.shape[0])
    assert len(rows) > 0.05 * frame.shape[0] * frame.shape[1], "the cloud was not drawn"
    assert abs(columns.mean() - center_x) < 15
    assert abs(rows.mean() - center_y) < 15
    # The same points on the next frame: the subset is chosen once per cloud size, not per frame.
    view.set_time("ros_time", 120)
    assert np.array_equal(view.points["/points"].pos, drawn)


def test_small_clouds_carry_no_note_and_unreachable_frames_are_named(qtbot: QtBot) -> None:
    store = scene_store(np.zeros((3, 3)))
    store.append_row(
        "/lost",
        {"ros_time": 100},
        {"Points3D:positions": np.zeros((2, 3), np.float32), "CoordinateFrame:frame": ["nowhere"]},
    )
    view = make_view(qtbot, store)
    view.set_time("ros_time", 100)
    assert view.note.text() == "/lost: no transform from nowhere to world"
    lost = view.points.get("/lost")
    assert lost is None or not lost.visible()
    assert view.points["/points"].visible()


def test_tf_frames_are_drawn_as_named_axes(qtbot: QtBot) -> None:
    view = make_view(qtbot, scene_store(np.zeros((1, 3))), frames=True)
    view.set_time("ros_time", 100)
    assert set(view.frame_labels) == {"world", "sensor"}
    np.testing.assert_allclose(view.frame_labels["sensor"].pos, SENSOR_OFFSET, atol=1e-6)
    axes = view.frame_axes.pos
    assert axes.shape == (12, 3)  # two frames, three axes, two vertices each
    canvas = view.canvas
    frame = qimage_rgb(canvas.picture())
    red = red_pixels(frame)
    assert red.any()  # the x axes are red
    # Names are painted over the picture by the canvas, where the camera projects each frame's origin.
    expected = project(SENSOR_OFFSET, canvas.width(), canvas.height())
    where = canvas.label_positions()["sensor"]
    assert abs(where.x() - expected[0]) < 2
    assert abs(where.y() - expected[1]) < 2
    picture = canvas.picture().copy()
    painter = QtGui.QPainter(picture)
    canvas.paint_labels(painter)
    painter.end()
    shown = qimage_rgb(picture)
    x, y = round(where.x()), round(where.y())
    text = shown[max(y - 12, 0) : y + 2, x : x + 40]  # the text's box: right of and above its anchor
    light = (text[..., 0] > 150) & (text[..., 1] > 150) & (text[..., 2] > 150)
    assert light.any()


def test_hidden_entities_are_not_drawn(qtbot: QtBot) -> None:
    view = make_view(qtbot, scene_store(np.zeros((3, 3))))
    view.set_time("ros_time", 100)
    assert "/points" in view.points
    view.set_entity_visible("/points", False)
    assert "/points" not in view.points
    frame = qimage_rgb(view.canvas.picture())
    assert not red_pixels(frame).any()


def test_line_strips_are_drawn_along_their_projection(qtbot: QtBot) -> None:
    import rerun as rr

    store = scene_store(np.zeros((0, 3)))
    start, end = np.array([-2.0, 0.0, 0.0]), np.array([2.0, 0.0, 0.0])
    store.append_row(
        "/path",
        {"ros_time": 100},
        {
            # Rerun component objects, as a converter may hand them over: stored through their batch class.
            "LineStrips3D:strips": [rr.components.LineStrip3D([start, (start + end) / 2, end])],
            "LineStrips3D:colors": pa.array([0xFF0000FF], type=pa.uint32()),
        },
    )
    view = make_view(qtbot, store)
    view.set_time("ros_time", 100)
    frame = qimage_rgb(view.canvas.picture())
    height, width = frame.shape[:2]
    rows, columns = np.nonzero(red_pixels(frame))
    assert len(rows) > 50
    (x0, y0), (x1, y1) = project(start, width, height), project(end, width, height)
    # Every red pixel lies on the segment between the projected end points.
    distance = np.abs((x1 - x0) * (y0 - rows) - (x0 - columns) * (y1 - y0)) / math.hypot(x1 - x0, y1 - y0)
    assert float(np.percentile(distance, 95)) < 2.0
    assert columns.min() < min(x0, x1) + 5
    assert columns.max() > max(x0, x1) - 5


def test_a_fixed_frame_missing_from_the_tf_tree_falls_back_to_its_root_with_a_note(qtbot: QtBot) -> None:
    view = make_view(qtbot, scene_store(np.zeros((1, 3))), fixed_frame="map")
    view.set_time("ros_time", 100)
    assert view.note.text().splitlines() == [
        "fixed frame 'map' is not in the TF tree: drawn in 'world' (roots: world)",
    ]
    assert view.fixed_frame("ros_time") == "world"
    np.testing.assert_allclose(view.points["/points"].pos, SENSOR_OFFSET.reshape(1, 3), atol=1e-6)
    assert red_pixels(qimage_rgb(view.canvas.picture())).any()


def test_the_fixed_frame_chooser_lists_tf_frames_and_moves_the_scene(qtbot: QtBot) -> None:
    view = make_view(qtbot, scene_store(np.zeros((1, 3))), frames=True)
    view.set_time("ros_time", 100)
    choices = [view.frame_choice.itemData(i) for i in range(view.frame_choice.count())]
    assert choices == [None, "sensor", "world"]
    assert view.frame_choice.currentIndex() == 0  # the default: the tree's root, world
    in_world = view.points["/points"].pos.copy()
    np.testing.assert_allclose(in_world, SENSOR_OFFSET.reshape(1, 3), atol=1e-6)

    view.frame_choice.setCurrentIndex(choices.index("sensor"))
    view.frame_choice.activated.emit(choices.index("sensor"))  # what a user's pick sends
    assert view.fixed_frame("ros_time") == "sensor"
    np.testing.assert_allclose(view.points["/points"].pos, np.zeros((1, 3)), atol=1e-6)
    np.testing.assert_allclose(view.frame_labels["world"].pos, -SENSOR_OFFSET, atol=1e-6)

    view.frame_choice.activated.emit(0)
    assert view.fixed_frame("ros_time") == "world"
    np.testing.assert_allclose(view.points["/points"].pos, in_world, atol=1e-6)


def test_a_blueprint_style_recolours_and_resizes_an_entity(qtbot: QtBot) -> None:
    plain = make_view(qtbot, scene_store(np.zeros((1, 3)), radii=-6.0))
    plain.set_time("ros_time", 100)
    styled = make_view(
        qtbot,
        scene_store(np.zeros((1, 3)), radii=-6.0),
        styles={
            "/points": {"color": (0, 0, 255, 255), "radius": -2.0},
            "/other": {"color": (0, 255, 0, 255)},
        },
    )
    styled.set_time("ros_time", 100)
    np.testing.assert_allclose(styled.points["/points"].color, (0.0, 0.0, 1.0, 1.0))
    assert np.all(np.asarray(styled.points["/points"].size) < np.asarray(plain.points["/points"].size))
    picture = qimage_rgb(styled.canvas.picture())
    assert not red_pixels(picture).any()  # the data's red is replaced by the style's blue
    blue = (picture[..., 2] > 200) & (picture[..., 0] < 60) & (picture[..., 1] < 60)
    assert blue.any()


def far_points_view(qtbot: QtBot, offset: np.ndarray[Any, Any]) -> Spatial3DView:
    """Red points spread over 10 m around ``offset`` (e.g. UTM metres), in a view with no camera settings."""
    local = np.array([[x, y, 0.0] for x in range(-5, 6) for y in range(-5, 6)]) + offset
    view = Spatial3DView(scene_store(local), SceneTransforms(scene_store(local)), settings={"grid": False})
    qtbot.addWidget(view)
    view.resize(WIDTH, HEIGHT)
    view.show()
    qtbot.waitExposed(view)
    view.set_time("ros_time", 100)
    return view


def test_a_scene_far_from_the_origin_is_framed_once(qtbot: QtBot) -> None:
    offset = np.array([369_644.0, 3_280_416.0, 0.0])  # UTM coordinates of a real GPS bag
    view = far_points_view(qtbot, offset)
    center = view.gl_view.opts["center"]
    in_scene = np.array([center.x(), center.y(), center.z()]) + view.scene_origin
    np.testing.assert_allclose(in_scene, offset + SENSOR_OFFSET, atol=1.0)
    assert red_pixels(qimage_rgb(view.canvas.picture())).sum() > 50  # the points are in the picture
    view.gl_view.setCameraPosition(distance=123.0)  # the user zooms; scrubbing must not undo it
    view.set_time("ros_time", 100)
    assert view.gl_view.opts["distance"] == 123.0


def test_a_scene_the_default_camera_sees_keeps_the_default_camera(qtbot: QtBot) -> None:
    view = far_points_view(qtbot, np.zeros(3))
    center = view.gl_view.opts["center"]
    assert np.linalg.norm([center.x(), center.y(), center.z()]) <= np.linalg.norm(SENSOR_OFFSET)
    assert view.gl_view.opts["distance"] <= 12.0


def test_points_at_the_origin_and_far_away_at_once_keep_the_camera_at_the_origin(qtbot: QtBot) -> None:
    """A pose at the origin and one kilometres away, with no TF between their frames: the far one does not
    pull the camera away; the default camera, or a closer one on what lies at the origin."""
    store = scene_store(np.zeros((1, 3)))
    store.append_row(
        "/far", {"ros_time": 100}, {"Points3D:positions": np.array([[369_644.0, 3_280_416.0, 0.0]])}
    )
    store.flush()
    view = Spatial3DView(store, SceneTransforms(store), settings={"grid": False})
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.set_time("ros_time", 100)
    center = view.gl_view.opts["center"]
    assert np.linalg.norm([center.x(), center.y(), center.z()]) <= np.linalg.norm(SENSOR_OFFSET)
    assert view.gl_view.opts["distance"] <= 12.0


def _segments_strip_by_strip(strips: list[Any], colors: np.ndarray[Any, Any] | None) -> tuple[Any, Any]:
    """The reference: each strip's consecutive points paired, in order, coloured by its strip."""
    pairs: list[list[float]] = []
    pair_colors: list[Any] = []
    for index, strip in enumerate(strips):
        points = [] if strip is None else strip
        for first, second in itertools.pairwise(points):
            pairs += [first, second]
            if colors is not None:
                pair_colors += [colors[index], colors[index]]
    return np.array(pairs, dtype=np.float32).reshape(-1, 3), None if colors is None else np.array(pair_colors)


@pytest.mark.parametrize("layout", ["ragged", "with nulls", "sliced", "fixed size", "none drawable"])
def test_strip_segments_pair_each_strips_points_in_order(layout: str) -> None:
    rng = np.random.default_rng(7)
    lengths = {"fixed size": [3] * 6, "none drawable": [0, 1, 1]}.get(layout, [2, 0, 5, 1, 3, 2, 4])
    strips: list[Any] = [rng.random((length, 3)).astype(np.float32).tolist() for length in lengths]
    if layout == "with nulls":
        strips[2] = None
    point = pa.list_(pa.float32(), 3)
    array = pa.array(strips, type=pa.list_(point, 3) if layout == "fixed size" else pa.list_(point))
    colors = rng.random((len(strips), 4)).astype(np.float32)
    if layout == "sliced":
        array, strips, colors = array.slice(2, 4), strips[2:6], colors[2:6]
    for given in (colors, None):
        segments, segment_colors = _strip_segments(array, given)
        expected, expected_colors = _segments_strip_by_strip(strips, given)
        np.testing.assert_array_equal(segments, expected)
        if given is None or not len(expected):
            assert segment_colors is None or not len(segment_colors)
        else:
            np.testing.assert_array_equal(segment_colors, expected_colors)
    assert len(expected) == 2 * sum(max(len(strip or []) - 1, 0) for strip in strips)


def test_an_entitys_points_are_drawn_once_per_instance_pose() -> None:
    """Rerun draws an entity's points once per InstancePoses3D instance, placed by it: a pose topic writes
    one point at its pose's origin (written at the pose's translation, Rerun's viewer drew it at twice
    its offset), and this viewer places it the same way."""
    from rerun_bridge.convert.geometry_msgs import POSE_POINT
    from rerun_bridge.viewer.views.spatial3d_view import instanced_points

    values = {
        "InstancePoses3D:translations": pa.array(
            [[5.0, 0.0, 0.0], [0.0, 2.0, 0.0]], type=pa.list_(pa.float32(), 3)
        ),
        "InstancePoses3D:quaternions": pa.array(
            [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)]], type=pa.list_(pa.float32(), 4)
        ),
    }
    placed, copies = instanced_points(POSE_POINT, values)
    assert copies == 2
    np.testing.assert_allclose(placed, [[5.0, 0.0, 0.0], [0.0, 2.0, 0.0]], atol=1e-6)
    # A point off the pose's origin turns with the pose: 1 m along x, turned 90 degrees, is along y.
    turned, _ = instanced_points(np.array([[1.0, 0.0, 0.0]], dtype=np.float32), values)
    np.testing.assert_allclose(turned, [[6.0, 0.0, 0.0], [0.0, 3.0, 0.0]], atol=1e-6)
    plain = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    assert instanced_points(plain, {})[1] == 1  # no instance poses: drawn as logged


def _red_centre(view: Spatial3DView) -> tuple[float, float, int, int]:
    """The red pixels' mean column and row, and the picture's width and height."""
    frame = qimage_rgb(view.canvas.picture())
    rows, columns = np.nonzero(red_pixels(frame))
    assert len(rows) > 50, "the red points were not drawn"
    return float(columns.mean()), float(rows.mean()), frame.shape[1], frame.shape[0]


def _moving_sensor_scan(frame_locked: bool | None) -> ChunkStore:
    """TF moving the sensor from x 0 (at 100) to 2 (at 200) and red points in it logged at 100, marked
    frame-locked (or not) as the bridge marks a marker."""
    store = ChunkStore()
    for time, x in ((100, 0.0), (200, 2.0)):
        store.append_row(
            "/tf/sensor",
            {"ros_time": time},
            {
                "Transform3D:parent_frame": ["world"],
                "Transform3D:child_frame": ["sensor"],
                "Transform3D:translation": np.array([[x, 0.0, 0.0]]),
                "Transform3D:quaternion": np.array([[0.0, 0.0, 0.0, 1.0]]),
            },
        )
    local = np.array([0.0, 0.0, 0.5]) + 0.02 * np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]])
    store.append_row(
        "/scan",
        {"ros_time": 100},
        {
            "Points3D:positions": local.astype(np.float32),
            "Points3D:colors": pa.array([0xFF0000FF], type=pa.uint32()),
            "Points3D:radii": np.array([-6.0], dtype=np.float32),
            "CoordinateFrame:frame": ["sensor"],
        },
    )
    if frame_locked is not None:
        store.append_row("/scan", {"ros_time": 100}, {FRAME_LOCKED: np.array([frame_locked])})
    store.flush()
    return store


@pytest.mark.parametrize("frame_locked", [None, False])
def test_data_is_placed_by_tf_as_of_its_own_time(qtbot: QtBot, frame_locked: bool | None) -> None:
    """As RViz places a message by TF at its stamp: a scan logged at 100 stays where the sensor was then
    while the cursor moves on and TF with it (by TF at the cursor it swam, interpolated towards 200)."""
    view = make_view(qtbot, _moving_sensor_scan(frame_locked), fixed_frame="world")
    view.set_time("ros_time", 150)
    column, row, width, height = _red_centre(view)
    then_x, then_y = project(np.array([0.0, 0.0, 0.5]), width, height)
    assert math.hypot(column - then_x, row - then_y) < 2.0
    cursor_x, cursor_y = project(np.array([1.0, 0.0, 0.5]), width, height)  # TF interpolated at 150
    assert math.hypot(column - cursor_x, row - cursor_y) > 20


def test_a_frame_locked_marker_moves_with_its_frame(qtbot: QtBot) -> None:
    """RViz moves a frame-locked marker with its frame as TF changes: placed by TF at the time shown, not
    at its row's time (it stayed where its frame was when it was published, audit)."""
    view = make_view(qtbot, _moving_sensor_scan(True), fixed_frame="world")
    for time, x in ((150, 1.0), (200, 2.0)):
        view.set_time("ros_time", time)
        column, row, width, height = _red_centre(view)
        cursor_x, cursor_y = project(np.array([x, 0.0, 0.5]), width, height)
        assert math.hypot(column - cursor_x, row - cursor_y) < 2.0, time
