"""The 3D view's camera and TF frames, checked by pixels on real recordings: framing what is visible on
open, following a frame, the fixed frame and its fallback, and TF names that never pile up."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PyQt6 import QtCore, QtGui
from pytestqt.qtbot import QtBot

from rerun_bridge.blueprint import model
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.view_arguments import camera_settings
from rerun_bridge.viewer.views.frame_labels import MAX_FRAME_LABELS, canvas_pixels
from rerun_bridge.viewer.views.offscreen_gl import SceneLabel
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.window import ViewerWindow
from rviz_compat.rviz_import import orbit_placement
from test.conftest import GPS_BAG, NEATO_BAG
from test.robot.recording import RobotRecording
from test.viewer.conftest import drawn_pixels, qimage_rgb, red_pixels, wheel_up
from test.viewer.test_spatial3d_view import HEIGHT, WIDTH

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def gps_store() -> ChunkStore:
    return load_files([GPS_BAG], warn=lambda _: None).store


@pytest.fixture(scope="module")
def neato_store() -> ChunkStore:
    return load_files([NEATO_BAG], warn=lambda _: None).store


def open_view(
    qtbot: QtBot, store: ChunkStore, include: tuple[str, ...] | None = None, **settings: Any
) -> Spatial3DView:
    """A 3D view as a window opens it: no camera settings, only what the test names."""
    view = Spatial3DView(store, SceneTransforms(store), include=include, settings={"grid": False, **settings})
    qtbot.addWidget(view)
    view.resize(WIDTH, HEIGHT)
    view.show()
    qtbot.waitExposed(view)
    return view


def camera_center(view: Spatial3DView) -> np.ndarray[Any, Any]:
    center = view.gl_view.opts["center"]
    return np.array([center.x(), center.y(), center.z()])


def middle_time(store: ChunkStore, timeline: str) -> int:
    start, end = store.time_range(timeline) or (0, 0)
    return (start + end) // 2


def full_scan_times(store: ChunkStore, count: int) -> list[int]:
    """``ros_time`` of the neato's fullest scans (most of its beams find nothing), in time order, spread
    out: a scan every so often among those with the most hits."""
    start, end = store.time_range("ros_time") or (0, 0)
    scans = store.range("/scan", "ros_time", start, end)
    hits = np.array([len(row or ()) for row in scans.column("Points3D:positions").to_pylist()])
    times = np.array(scans.column("ros_time").cast("int64").to_pylist())
    full = np.sort(times[hits >= np.percentile(hits, 75)])
    return [int(full[index]) for index in np.linspace(0, len(full) - 1, count).round().astype(int)]


def tf_store(children: dict[str, tuple[float, float, float]], points_frame: str | None = None) -> ChunkStore:
    """Static TF edges ``odom -> child`` at the given offsets, and red points at ``points_frame``."""
    store = ChunkStore()
    for child, offset in children.items():
        store.append_row(
            f"/tf_static/{child}",
            {},
            {
                "Transform3D:parent_frame": ["odom"],
                "Transform3D:child_frame": [child],
                "Transform3D:translation": np.array([offset]),
                "Transform3D:quaternion": np.array([[0.0, 0.0, 0.0, 1.0]]),
            },
            static=True,
        )
    if points_frame is not None:
        ring = np.array([[np.cos(a), np.sin(a), 0.0] for a in np.linspace(0, 2 * np.pi, 24)]) * 0.5
        store.append_row(
            "/scan",
            {"ros_time": 100},
            {
                "Points3D:positions": ring.astype(np.float32),
                "Points3D:colors": np.array([0xFF0000FF], dtype=np.uint32),
                "Points3D:radii": np.array([-4.0], dtype=np.float32),
                "CoordinateFrame:frame": [points_frame],
            },
        )
    store.flush()
    return store


# -- framing ---------------------------------------------------------------------------------------------


def test_a_robot_eleven_metres_from_odom_is_framed_on_open(qtbot: QtBot) -> None:
    """The default camera (12 m from odom's origin) shows only the robot's edge of the picture, if that."""
    store = tf_store({"base_link": (11.0, 3.0, 0.0)}, points_frame="base_link")
    view = open_view(qtbot, store, frames=False)
    view.set_time("ros_time", 100)
    np.testing.assert_allclose(camera_center(view)[:2], [11.0, 3.0], atol=0.6)
    picture = qimage_rgb(view.canvas.picture())
    rows, columns = np.nonzero(red_pixels(picture))
    assert len(rows) > 20  # the scan ring is in the picture, around its middle
    assert abs(columns.mean() - picture.shape[1] / 2) < picture.shape[1] / 8
    assert abs(rows.mean() - picture.shape[0] / 2) < picture.shape[0] / 8


def test_marker_shapes_alone_are_framed_as_points_are(qtbot: QtBot) -> None:
    """A scene of marker cubes and spheres 9 m out was framed on its TF axes at the origin, the shapes
    off the picture: framing looked at points and lines only (audit)."""
    store = tf_store({"map": (0.0, 0.0, 0.0)})
    centers = np.array([[9.0, 6.0, 0.0], [11.0, 6.0, 0.0], [10.0, 8.0, 0.0]], dtype=np.float32)
    red = np.array([0xFF0000FF], dtype=np.uint32)
    for entity, archetype in (("/markers/a/CUBE", "Boxes3D"), ("/markers/b/SPHERE", "Ellipsoids3D")):
        store.append_row(
            entity,
            {"ros_time": 100},
            {
                f"{archetype}:half_sizes": np.full((3, 3), 0.4, dtype=np.float32),
                f"{archetype}:centers": centers,
                f"{archetype}:colors": red,
                "CoordinateFrame:frame": ["odom"],
            },
        )
    store.flush()
    view = open_view(qtbot, store, frames=False)
    view.set_time("ros_time", 100)
    np.testing.assert_allclose(camera_center(view)[:2], [10.0, 6.7], atol=1.0)
    rows, columns = np.nonzero(red_pixels(qimage_rgb(view.canvas.picture())))
    assert len(rows) > 50
    assert columns.min() > 0
    assert columns.max() < WIDTH - 1
    assert rows.min() > 0
    assert rows.max() < HEIGHT - 1


def test_the_neato_opened_on_its_static_tf_is_framed_again_once_its_scans_arrive(
    qtbot: QtBot, neato_store: ChunkStore
) -> None:
    """The bag opens before its first scan, on TF axes alone: a camera settled on those (2 m around the
    robot) left the scans, 3 m out, off the picture for good (found by an audit). The scans framed once
    they arrive, and only the user's own zoom then holds."""
    start, _end = neato_store.time_range("ros_time") or (0, 0)
    view = open_view(qtbot, neato_store, include=("/tf", "/tf_static", "/scan"))
    view.set_time("ros_time", start)
    assert "/scan" not in view.points or not view.points["/scan"].visible()  # nothing scanned yet
    time = full_scan_times(neato_store, 3)[1]
    view.set_time("ros_time", time)
    positions = np.asarray(view.points["/scan"].pos)
    assert len(positions) > 10
    inside = [
        0 <= point.x() <= view.canvas.width() and 0 <= point.y() <= view.canvas.height()
        for point in _projected(view, positions)
    ]
    assert np.mean(inside) > 0.8
    assert drawn_pixels(view, "/scan") > 20
    view.canvas.wheelEvent(wheel_up(QtCore.QPointF(view.canvas.width() / 2, view.canvas.height() / 2)))
    distance = view.gl_view.opts["distance"]
    view.set_time("ros_time", full_scan_times(neato_store, 3)[2])
    assert view.gl_view.opts["distance"] == distance


def test_a_header_less_velocity_command_is_drawn_on_the_robot(qtbot: QtBot, neato_store: ChunkStore) -> None:
    """/cmd_vel (a Twist, no header) stood at odom's origin, metres from the robot (audit): a velocity
    command is the robot's, drawn at base_link as the .rrd places it."""
    view = open_view(qtbot, neato_store, include=("/tf", "/tf_static", "/cmd_vel/arrow"))
    time = middle_time(neato_store, "log_time")
    view.set_time("log_time", time)
    # Where the robot was when the command was sent, as every message is placed by TF at its own time.
    sent = neato_store.latest_row_time("/cmd_vel/arrow", "log_time", time)
    assert sent is not None
    robot = view.transforms.transform("log_time", "odom", "base_link", sent)
    assert robot is not None
    assert np.linalg.norm(robot.translation[:2]) > 0.3  # away from odom's origin: the test tells them apart
    arrow = np.asarray(view.shapes["Arrows3D:/cmd_vel/arrow"].pos)
    np.testing.assert_allclose(arrow[0], robot.translation - view.scene_origin, atol=1e-4)


def test_opening_at_a_time_frames_the_robot_there(qtbot: QtBot, neato_store: ChunkStore) -> None:
    """``view --time 31`` framed the Neato's first moment: its trail in view, the robot at the end of it
    off the picture (audit). Framed again at the time shown, the robot is in view."""
    start, end = neato_store.time_range("log_time") or (0, 0)
    view = open_view(qtbot, neato_store)
    view.set_time("log_time", start + 500_000_000)
    view.set_time("log_time", end)
    view.frame_again()
    robot = view.transforms.transform("log_time", "odom", "base_link", end)
    assert robot is not None
    (pixel,) = _projected(view, np.array([robot.translation - view.scene_origin]))
    assert 0 < pixel.x() < view.canvas.width()
    assert 0 < pixel.y() < view.canvas.height()


def _projected(view: Spatial3DView, positions: np.ndarray[Any, Any]) -> list[QtCore.QPointF]:
    """Canvas pixels of scene points, through the view's camera (as its labels are placed)."""
    view.canvas.labels.clear()
    for index, position in enumerate(positions):
        view.canvas.labels[str(index)] = SceneLabel(str(index), position, QtGui.QColor("white"))
    projected = list(view.canvas.label_positions().values())
    view.canvas.labels.clear()
    return projected


def test_the_gps_bag_frames_the_vehicle_in_utm_coordinates(qtbot: QtBot, gps_store: ChunkStore) -> None:
    """/vehicle_pose sits thousands of kilometres from the origin (UTM): the camera goes there on open."""
    time = middle_time(gps_store, "log_time")
    view = open_view(qtbot, gps_store, include=("/vehicle_pose",))
    view.set_time("ros_time", time)
    pose = gps_store.latest_at("/vehicle_pose", "log_time", time)["InstancePoses3D:translations"]
    position = np.array(pose.to_pylist()[0], dtype=float)
    assert np.linalg.norm(position) > 1_000_000.0
    assert np.linalg.norm(camera_center(view) + view.scene_origin - position) < 1.0
    assert np.linalg.norm(view.scene_origin) > 1_000_000.0  # drawn around a local origin: float32 holds it
    assert view.gl_view.opts["distance"] < 50.0
    assert drawn_pixels(view, "/vehicle_pose") > 2


def test_the_gps_bag_opened_whole_frames_the_vehicle_not_the_odometry_left_at_zero(
    qtbot: QtBot, gps_store: ChunkStore
) -> None:
    """Its /odometry only fills the twist: pose and trail at the origin, as many points as the vehicle's
    UTM trail, which the camera shows all the same (what a user opening the bag should see)."""
    time = middle_time(gps_store, "log_time")
    view = open_view(qtbot, gps_store)
    view.set_time("log_time", time)
    odometry = gps_store.latest_at("/odometry/trail", "log_time", time)["LineStrips3D:strips"]
    assert not np.asarray(odometry.to_pylist()[0]).any()
    trail = np.array(
        gps_store.latest_at("/vehicle_pose/trail", "log_time", time)["LineStrips3D:strips"].to_pylist()[0]
    )
    assert len(trail) > 100
    center = camera_center(view) + view.scene_origin
    assert np.linalg.norm(center - np.median(trail, axis=0)) < 50.0
    assert drawn_pixels(view, "/vehicle_pose/trail") > 20


# -- following a frame -----------------------------------------------------------------------------------


def base_link_pixel(view: Spatial3DView, store: ChunkStore, timeline: str, time: int) -> np.ndarray[Any, Any]:
    fixed = view.fixed_frame(timeline)
    assert fixed is not None
    placement = view.transforms.transform(timeline, fixed, "base_link", time)
    assert placement is not None
    local = (placement.translation - view.scene_origin).astype(np.float32)
    pixels = canvas_pixels(view.canvas, {"base_link": local})
    return np.array(pixels["base_link"])


def test_following_base_link_keeps_the_robot_in_the_middle(qtbot: QtBot, neato_store: ChunkStore) -> None:
    early, late = full_scan_times(neato_store, 2)
    view = open_view(qtbot, neato_store, camera_distance=6.0)
    assert view.follow_box.isChecked() is False  # off unless the blueprint or the user turns it on
    view.set_time("ros_time", early)
    assert view.follow_box.text() == "follow base_link"  # the default target when the tree has it
    view.follow_box.setChecked(True)  # what a click on the toggle does
    middle = np.array([view.canvas.width() / 2, view.canvas.height() / 2])
    for time in (early, late):
        view.set_time("ros_time", time)
        assert np.linalg.norm(base_link_pixel(view, neato_store, "ros_time", time) - middle) < 2.0
        assert drawn_pixels(view, "/scan") > 20
    view.follow_box.setChecked(False)
    view.set_time("ros_time", early)  # the camera stays where following left it: the robot moves off
    assert np.linalg.norm(base_link_pixel(view, neato_store, "ros_time", early) - middle) > 20.0


def test_the_blueprint_turns_following_on_for_a_named_frame(qtbot: QtBot) -> None:
    store = tf_store({"base_link": (0.0, 0.0, 0.0), "carrot": (4.0, -2.0, 0.0)}, points_frame="carrot")
    view = open_view(qtbot, store, follow=True, follow_frame="carrot", camera_distance=8.0)
    view.set_time("ros_time", 100)
    assert view.follow_box.isChecked()
    assert view.follow_box.text() == "follow carrot"
    np.testing.assert_allclose(camera_center(view), [4.0, -2.0, 0.0], atol=1e-6)
    assert red_pixels(qimage_rgb(view.canvas.picture())).sum() > 20


# -- the fixed frame -------------------------------------------------------------------------------------


def test_the_fixed_frame_setting_draws_the_scene_in_that_frame(qtbot: QtBot, neato_store: ChunkStore) -> None:
    (time,) = full_scan_times(neato_store, 1)
    in_odom = open_view(qtbot, neato_store, camera_distance=6.0, frames=False)
    in_odom.set_time("ros_time", time)
    in_robot = open_view(qtbot, neato_store, camera_distance=6.0, frames=False, fixed_frame="base_link")
    in_robot.set_time("ros_time", time)
    assert in_robot.fixed_frame("ros_time") == "base_link"
    assert in_robot.frame_choice.currentData() == "base_link"  # the view says which frame it draws in
    robot = in_odom.transforms.transform("ros_time", "odom", "base_link", time)
    assert robot is not None
    scan_in_odom = in_odom.points["/scan"].pos
    np.testing.assert_allclose(robot.apply(in_robot.points["/scan"].pos), scan_in_odom, atol=1e-4)
    assert drawn_pixels(in_robot, "/scan") > 20


def test_a_missing_fixed_frame_falls_back_to_odom_with_a_note(qtbot: QtBot, neato_store: ChunkStore) -> None:
    (time,) = full_scan_times(neato_store, 1)
    view = open_view(qtbot, neato_store, camera_distance=6.0, frames=False, fixed_frame="map")
    view.set_time("ros_time", time)
    assert view.fixed_frame("ros_time") == "odom"
    assert "fixed frame 'map' is not in the TF tree: drawn in 'odom' (roots: odom)" in view.note.text()
    assert view.note.isVisible()
    assert drawn_pixels(view, "/scan") > 20


# -- TF frames -------------------------------------------------------------------------------------------


def test_dozens_of_frames_at_one_spot_draw_few_names(qtbot: QtBot) -> None:
    children = {f"link_{index:02d}": (2.0, 1.0, 0.0) for index in range(40)}
    children["base_link"] = (2.0, 1.0, 0.0)
    children["gps"] = (-3.0, 0.0, 0.0)
    view = open_view(qtbot, tf_store(children), frame_names=["gps", "link_07"])
    view.set_time("ros_time", 100)
    labels = set(view.frame_labels)
    assert len(labels) <= MAX_FRAME_LABELS
    # The fixed frame, the followed frame (base_link) and a chosen one apart from them; link_07 is chosen
    # too but lies where base_link's name already is.
    assert labels == {"odom", "base_link", "gps"}
    assert len(view.frame_axes.pos) == 6 * 43  # every frame's axes are still drawn


def test_hovering_a_frame_shows_its_name(qtbot: QtBot) -> None:
    children = {f"link_{index:02d}": (float(index % 6), float(index // 6), 0.0) for index in range(30)}
    view = open_view(qtbot, tf_store(children), camera_distance=20.0, camera_elevation=89.0)
    view.set_time("ros_time", 100)
    assert "link_14" not in view.frame_labels
    where = canvas_pixels(view.canvas, {"link_14": np.array([2.0, 2.0, 0.0], dtype=np.float32)})["link_14"]
    bot: Any = qtbot  # pytest-qt's QTest wrappers are untyped
    target = QtCore.QPoint(round(where[0]), round(where[1]))

    def hovered() -> bool:
        # Moved again on each poll: on a loaded X server the first synthetic move can be lost, and a move
        # to where the pointer already is makes no event.
        bot.mouseMove(view.canvas, QtCore.QPoint(0, 0))
        bot.mouseMove(view.canvas, target)
        return "link_14" in view.frame_labels

    qtbot.waitUntil(hovered)
    assert len(view.frame_labels) <= MAX_FRAME_LABELS


def test_axes_grow_with_a_scene_framed_from_far(qtbot: QtBot) -> None:
    near = open_view(qtbot, tf_store({"base_link": (1.0, 0.0, 0.0)}, points_frame="base_link"))
    near.set_time("ros_time", 100)
    wide = {f"post_{index}": (300.0 * np.cos(index), 300.0 * np.sin(index), 0.0) for index in range(12)}
    far = open_view(qtbot, tf_store({**wide, "base_link": (1_000.0, 0.0, 0.0)}))
    far.set_time("ros_time", 100)
    near_length = float(np.linalg.norm(near.frame_axes.pos[1] - near.frame_axes.pos[0]))
    far_length = float(np.linalg.norm(far.frame_axes.pos[1] - far.frame_axes.pos[0]))
    assert 0.04 < near_length < 1.0  # the near scene (a 1 m ring) is framed from a few metres
    assert far_length > 10 * near_length


def test_a_recording_with_only_tf_opens_with_a_3d_view_of_its_frames(qtbot: QtBot, tmp_path: Path) -> None:
    """An MCAP holding /tf alone (three frames at one spot): the default layout still has a 3D view with
    every frame's axes, and one name where they overlap."""
    recording = RobotRecording(tf_children=[("odom", "base_link"), ("base_link", "laser")])
    store = load_files([recording.write(tmp_path / "tf_only.mcap")], warn=lambda _: None).store
    window = ViewerWindow(store)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    (view,) = window.views_of(Spatial3DView)
    assert isinstance(view, Spatial3DView)
    assert len(view.frame_axes.pos) == 3 * 6
    assert set(view.frame_labels) == {"odom"}  # the fixed frame's; the others' would land on it
    assert red_pixels(qimage_rgb(view.canvas.picture())).sum() > 10  # the x axes


def test_selecting_a_transform_in_the_entity_tree_names_its_frame(qtbot: QtBot) -> None:
    children = {f"link_{index:02d}": (float(index % 6), float(index // 6), 0.0) for index in range(30)}
    window = ViewerWindow(tf_store(children, points_frame="link_00"))
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    window.seek("ros_time", 100)
    (view,) = window.views_of(Spatial3DView)
    assert isinstance(view, Spatial3DView)
    assert "link_14" not in view.frame_labels  # 31 frames: only the chosen ones are named
    tree = window.entity_tree
    items = tree.findItems("link_14", QtCore.Qt.MatchFlag.MatchRecursive | QtCore.Qt.MatchFlag.MatchExactly)
    assert items
    tree.setCurrentItem(items[0])  # what a click on it does
    assert "link_14" in view.frame_labels
    assert len(view.frame_labels) <= MAX_FRAME_LABELS
    tree.clearSelection()
    assert "link_14" not in view.frame_labels


def test_unchecking_tf_in_the_entity_tree_hides_the_frames_it_places(
    qtbot: QtBot, neato_store: ChunkStore
) -> None:
    """Unchecking /tf_static and /tf in the entity tree left every TF axis drawn: the axes belong to the
    entities that place their frames, as in Rerun's viewer. The transforms still place the scans."""
    window = ViewerWindow(neato_store)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    window.seek("log_time", middle_time(neato_store, "log_time"))
    (view,) = window.views_of(Spatial3DView)
    assert isinstance(view, Spatial3DView)
    scan_before = view.points["/scan"].pos.copy()
    assert {"odom", "base_link", "base_laser_link"} <= set(view._frame_origins)
    window.entity_tree.set_visible("/tf_static", False)
    # /tf places base_footprint (and names odom); /tf_static's frames (base_link, the laser) are hidden.
    assert not {"base_link", "base_laser_link"} & set(view._frame_origins)
    assert {"odom", "base_footprint"} <= set(view._frame_origins)
    window.entity_tree.set_visible("/tf", False)
    assert not view._frame_origins
    assert not view.frame_axes.visible()
    assert not set(view.frame_labels) & {"odom", "base_footprint"}
    np.testing.assert_array_equal(view.points["/scan"].pos, scan_before)  # still placed through TF
    window.entity_tree.set_visible("/tf", True)
    window.entity_tree.set_visible("/tf_static", True)
    assert "base_laser_link" in view._frame_origins
    assert view.frame_axes.visible()


# -- a placed camera --------------------------------------------------------------------------------------


def test_a_blueprint_placed_top_down_eye_opens_there_turned_by_its_up(qtbot: QtBot) -> None:
    """A blueprint's eye_position / look_target / eye_up (an RViz TopDownOrtho import) place the camera:
    straight above the target with +x up on screen, so points at +x of the target are above the middle
    of the picture, and data arriving does not move the camera."""
    store = tf_store({"base_link": (11.0, 3.0, 0.0)})
    store.append_row(
        "/ahead",
        {"ros_time": 100},
        {
            "Points3D:positions": np.array([[13.0, 3.0, 0.0]], dtype=np.float32),
            "Points3D:colors": np.array([0xFF0000FF], dtype=np.uint32),
            "Points3D:radii": np.array([-12.0], dtype=np.float32),
            "CoordinateFrame:frame": ["odom"],
        },
    )
    store.flush()
    bp_settings = model.Spatial3DSettings(
        eye=model.EyeKind.TOP_DOWN,
        eye_position=(11.0, 3.0, 12.0),
        look_target=(11.0, 3.0, 0.0),
        eye_up=(1.0, 0.0, 0.0),
    )
    notes: list[str] = []
    view = open_view(qtbot, store, frames=False, **camera_settings(bp_settings, "scene", notes))
    assert notes == []
    view.set_time("ros_time", 100)
    position = view.gl_view.cameraPosition()
    np.testing.assert_allclose([position.x(), position.y(), position.z()], [11.0, 3.0, 12.0], atol=1e-3)
    picture = qimage_rgb(view.canvas.picture())
    rows, columns = np.nonzero(red_pixels(picture))
    assert len(rows) > 0
    height, width = picture.shape[:2]
    assert rows.mean() < height / 2 - height / 10  # +x is up on screen
    assert abs(columns.mean() - width / 2) < width / 20


def test_a_blueprint_placed_orbit_eye_looks_from_where_rviz_orbit_looked(qtbot: QtBot) -> None:
    """RViz's default Orbit view (Distance 10, Yaw and Pitch 45 degrees about the origin) imported: the
    camera sits at (5, 5, 7.07) looking at the origin, where a red ring is in the middle of the picture."""
    store = tf_store({"base_link": (0.0, 0.0, 0.0)}, points_frame="base_link")
    placement, _why = orbit_placement({"Distance": 10, "Yaw": math.pi / 4, "Pitch": math.pi / 4})
    view = open_view(
        qtbot, store, frames=False, **camera_settings(model.Spatial3DSettings(**placement), "scene", [])
    )
    view.set_time("ros_time", 100)
    position = view.gl_view.cameraPosition()
    np.testing.assert_allclose([position.x(), position.y(), position.z()], [5.0, 5.0, 7.0711], atol=1e-3)
    picture = qimage_rgb(view.canvas.picture())
    rows, columns = np.nonzero(red_pixels(picture))
    assert abs(rows.mean() - picture.shape[0] / 2) < picture.shape[0] / 10
    assert abs(columns.mean() - picture.shape[1] / 2) < picture.shape[1] / 10
