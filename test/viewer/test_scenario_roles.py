"""Shipped scenarios on robots whose topics have other names: roles ($odometry, $cmd_vel, $scan, $map)
pick the recording's own topics, and the views say which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcap_ros2.writer import Writer
from PyQt6 import QtGui, QtWidgets
from pytestqt.qtbot import QtBot
from rosbags.typesys import Stores, get_typestore

from rerun_bridge.blueprint.library import load_builtin, resolve
from rerun_bridge.blueprint.model import iter_views
from rerun_bridge.blueprint.roles import resolve_roles
from rerun_bridge.cli import main
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.app import main as view_main
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.timeline_choice import blueprint_timeline
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.views.time_series_view import TimeSeriesView
from rerun_bridge.viewer.window import ViewerWindow
from test.blueprint.rbl_reader import rbl_tree, read_rbl, tree
from test.conftest import GPS_BAG, RERUN_SUPPORTED_MCAP
from test.viewer.conftest import drawn_pixels, qimage_rgb

pytestmark = pytest.mark.gui

TYPES = get_typestore(Stores.ROS2_JAZZY)
START_NS = 1_700_000_000_000_000_000
STEP_NS = 100_000_000
#: Where the robot drives, metres from odom: out of the default camera's reach.
ROBOT_X = 11.0


def _header(ns: int, frame: str) -> dict[str, Any]:
    return {"stamp": {"sec": ns // 1_000_000_000, "nanosec": ns % 1_000_000_000}, "frame_id": frame}


def write_renamed_robot(path: Path) -> Path:
    """Two seconds of a robot whose topics are /odometry, /controller/cmd_vel and /front/scan."""
    names = (
        "nav_msgs/msg/Odometry",
        "geometry_msgs/msg/Twist",
        "sensor_msgs/msg/LaserScan",
        "tf2_msgs/msg/TFMessage",
    )
    with path.open("wb") as stream:
        writer = Writer(stream)
        schemas = {
            name: writer.register_msgdef(name, TYPES.generate_msgdef(name, ros_version=2)[0])
            for name in names
        }
        for index in range(20):
            ns = START_NS + index * STEP_NS
            x = ROBOT_X + 0.05 * index
            pose = {"position": {"x": x, "y": 0.0, "z": 0.0}, "orientation": {"w": 1.0}}
            transform = {"translation": {"x": x, "y": 0.0, "z": 0.0}, "rotation": {"w": 1.0}}
            tf = {"header": _header(ns, "odom"), "child_frame_id": "base_link", "transform": transform}
            writer.write_message("/tf", schemas[names[3]], {"transforms": [tf]}, log_time=ns)
            odometry = {
                "header": _header(ns, "odom"),
                "child_frame_id": "base_link",
                "pose": {"pose": pose, "covariance": [0.0] * 36},
                "twist": {"twist": {"linear": {"x": 0.5}, "angular": {"z": 0.1}}, "covariance": [0.0] * 36},
            }
            writer.write_message("/odometry", schemas[names[0]], odometry, log_time=ns)
            command = {"linear": {"x": 0.5 + 0.01 * index}, "angular": {"z": 0.1}}
            writer.write_message("/controller/cmd_vel", schemas[names[1]], command, log_time=ns)
            scan = {
                "header": _header(ns, "base_link"),
                "angle_min": -np.pi,
                "angle_max": np.pi,
                "angle_increment": 2 * np.pi / 180,
                "range_min": 0.1,
                "range_max": 10.0,
                "ranges": [1.5] * 180,
                "intensities": [100.0] * 180,
            }
            writer.write_message("/front/scan", schemas[names[2]], scan, log_time=ns)
        writer.finish()  # type: ignore[no-untyped-call]
    return path


def navigation_window(qtbot: QtBot, store: ChunkStore) -> ViewerWindow:
    window = ViewerWindow(store, load_builtin("navigation").root, scenario="navigation")
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


def view_named(window: ViewerWindow, kind: type[Any]) -> Any:
    (view,) = window.views_of(kind)
    return view


def test_navigation_picks_renamed_topics_and_says_so(qtbot: QtBot, tmp_path: Path) -> None:
    store = load_files([write_renamed_robot(tmp_path / "renamed.mcap")], warn=lambda _: None).store
    window = navigation_window(qtbot, store)
    start, end = store.time_range("log_time") or (0, 0)
    window.seek("log_time", (start + end) // 2)
    scene: Spatial3DView = view_named(window, Spatial3DView)
    assert scene.objectName() == "Map frame (scan: /front/scan, odometry: /odometry)"
    assert {"/front/scan", "/odometry"} <= set(scene.entities_with("Points3D:positions"))
    assert drawn_pixels(scene, "/front/scan") > 50  # framed 11 m from odom, in odom: no map here
    assert "fixed frame 'map' is not in the TF tree: drawn in 'odom' (roots: odom)" in scene.note.text()
    plots: TimeSeriesView = view_named(window, TimeSeriesView)
    assert plots.objectName() == "cmd_vel vs odometry (cmd_vel: /controller/cmd_vel, odometry: /odometry)"
    plotted = set(plots.entities_with("Scalars:scalars"))
    assert {"/controller/cmd_vel", "/odometry/twist"} <= plotted
    assert "no map topic in the data: its place in the layout stays empty" in window.notes


def test_navigation_on_the_gps_bag_plots_its_odometry(qtbot: QtBot) -> None:
    """The real GPS bag's Odometry topic is /odometry; it has no Twist command, scan or map."""
    store = load_files([GPS_BAG], warn=lambda _: None).store
    window = navigation_window(qtbot, store)
    start, end = store.time_range("log_time") or (0, 0)
    window.seek("log_time", (start + end) // 2)
    scene: Spatial3DView = view_named(window, Spatial3DView)
    assert "odometry: /odometry" in scene.objectName()
    assert "fixed frame 'map': the data has no TF; drawn as logged" in scene.note.text()
    # Its pose is logged in "chassis" at the origin (the bag has no TF): drawn there, under the grid's centre.
    assert scene.points["/odometry"].visible()
    plots: TimeSeriesView = view_named(window, TimeSeriesView)
    assert "/odometry/twist" in plots.entities_with("Scalars:scalars")
    assert {
        "no cmd_vel topic in the data: its place in the layout stays empty",
        "no scan topic in the data: its place in the layout stays empty",
    } <= set(window.notes)
    # Shown whole under the toolbar, however long: in the toolbar they went to its overflow menu, unseen.
    assert window.scenario_note.isVisible()
    assert window.scenario_note.width() > window.width() // 2
    assert "no scan topic in the data" in window.scenario_note.text()
    assert not isinstance(window.scenario_note.parent(), QtWidgets.QToolBar)


def test_views_nothing_in_the_data_matches_are_named(qtbot: QtBot) -> None:
    """Perception on a recording whose camera is /image (not /camera/image_raw) showed three black views
    and no word (audit): the note names them and what they look for."""
    store = load_files([RERUN_SUPPORTED_MCAP], warn=lambda _: None).store
    window = ViewerWindow(store, load_builtin("perception").root, scenario="perception")
    qtbot.addWidget(window)
    (note,) = [note for note in window.notes if note.startswith("nothing in the data for ")]
    assert "Camera + cloud (/camera/image_raw/**, /camera/camera_info, ...)" in note
    assert "Depth (/camera/depth/image_raw/**)" in note
    assert "IMU" not in note  # /imu is in the recording
    assert note in window.scenario_note.text()
    # A layout whose every view has data says nothing of the kind.
    default = ViewerWindow(store)
    qtbot.addWidget(default)
    assert not [note for note in default.notes if note.startswith("nothing in the data")]


def test_convert_embeds_the_roles_the_viewer_picks(qtbot: QtBot, tmp_path: Path) -> None:
    """``convert --blueprint navigation`` resolves the roles against the converted data: Rerun's viewer
    lays the renamed robot out as ours does, /controller/cmd_vel plotted."""
    recording = write_renamed_robot(tmp_path / "renamed.mcap")
    converted = tmp_path / "renamed.rrd"
    assert main(["convert", str(recording), "-o", str(converted), "--blueprint", "navigation", "-q"]) == 0
    store = load_files([recording], warn=lambda _: None).store
    window = navigation_window(qtbot, store)
    shown = tree(window.layout_tree())
    assert shown == rbl_tree(read_rbl(converted).root)
    assert "/controller/cmd_vel/**" in str(shown)


def test_view_screenshot_of_the_renamed_robot_shows_its_scan(tmp_path: Path) -> None:
    """``rerun-bridge view --blueprint navigation --screenshot``: the picked /front/scan is drawn in the
    scenario's scan colour (#ff3030), framed 11 m from odom, in the window's picture."""
    recording = write_renamed_robot(tmp_path / "renamed.mcap")
    output = tmp_path / "navigation.png"
    assert (
        view_main([str(recording), "--blueprint", "navigation", "--time", "1", "--screenshot", str(output)])
        == 0
    )
    picture = qimage_rgb(QtGui.QImage(str(output)))
    red, green, blue = (picture[..., channel].astype(int) for channel in range(3))
    # (255, 48, 48), not the TF x axes' pure red
    scan_red = (red > 220) & (np.abs(green - 48) < 16) & (np.abs(blue - 48) < 16)
    assert int(scan_red.sum()) > 50


def test_localization_on_the_gps_bag_picks_its_fixes_and_odometry() -> None:
    """The real GPS bag's NavSatFix topic is /gps and its Odometry /odometry: the localization scenario's
    GPS map view and odometry rules (roles $gps, $odometry) pick them and say so in their titles."""
    store = load_files([GPS_BAG], warn=lambda _: None).store
    layout = resolve_roles(resolve("localization").root, store)
    assert dict(layout.picks) == {"odometry": "/odometry", "gps": "/gps"}
    views = {view.name: view for view in iter_views(layout.root)}
    assert views["GPS (gps: /gps)"].includes("/gps")
    assert views["Map frame (odometry: /odometry)"].includes("/odometry")
    assert views["Odometry twist (odometry: /odometry)"].includes("/odometry/twist")


def test_a_scenarios_ros_time_yields_to_log_time_where_the_stamps_do_not_span_the_data(
    tmp_path: Path,
) -> None:
    """The GPS bag's stamps come from a robot clock two months behind its receive times (and some are 0): the
    localization scenario's ros_time would open on a sliver of it. The embedded viewer and the exported
    blueprint (for Rerun's viewer) both open on log_time instead, and say why."""
    store = load_files([GPS_BAG], warn=lambda _: None).store
    choice = blueprint_timeline("ros_time", store)
    assert choice.timeline == "log_time"
    assert choice.reason.startswith("the blueprint's ros_time ")
    assert blueprint_timeline("log_time", store).timeline == "log_time"
    missing = blueprint_timeline("frame_index", store)
    assert missing.timeline is None
    assert "has no data here" in missing.reason
    converted = tmp_path / "gps.rrd"
    assert main(["convert", str(GPS_BAG), "-o", str(converted), "--blueprint", "localization", "-q"]) == 0
    assert read_rbl(converted).time_panel["TimePanelBlueprint:timeline"] == ["log_time"]


def write_mapped_robot(path: Path, map_topic: str) -> Path:
    """One second of a robot with an OccupancyGrid on ``map_topic`` (4 x 3 cells, free with a wall) and
    its odometry."""
    names = ("nav_msgs/msg/OccupancyGrid", "nav_msgs/msg/Odometry")
    with path.open("wb") as stream:
        writer = Writer(stream)
        schemas = {
            name: writer.register_msgdef(name, TYPES.generate_msgdef(name, ros_version=2)[0])
            for name in names
        }
        grid = {
            "header": _header(START_NS, "map"),
            "info": {
                "resolution": 0.5,
                "width": 4,
                "height": 3,
                "origin": {"position": {"x": -1.0, "y": -1.0}, "orientation": {"w": 1.0}},
            },
            "data": [0, 0, 0, 100, 0, 0, 0, 100, -1, -1, 0, 100],
        }
        writer.write_message(map_topic, schemas[names[0]], grid, log_time=START_NS)
        for index in range(10):
            ns = START_NS + index * STEP_NS
            pose = {"position": {"x": 0.1 * index}, "orientation": {"w": 1.0}}
            odometry = {
                "header": _header(ns, "map"),
                "child_frame_id": "base_link",
                "pose": {"pose": pose, "covariance": [0.0] * 36},
                "twist": {"twist": {"linear": {"x": 1.0}}, "covariance": [0.0] * 36},
            }
            writer.write_message("/odom", schemas[names[1]], odometry, log_time=ns)
        writer.finish()  # type: ignore[no-untyped-call]
    return path


@pytest.mark.parametrize("map_topic", ["/map", "/slam/grid"])
def test_navigation_and_localization_show_the_recordings_map(map_topic: str, tmp_path: Path) -> None:
    """An OccupancyGrid writes no row on its topic itself, only on ``<topic>/image`` and
    ``<topic>/tiles/*``: the role looked at entities holding data and said "no map topic in the data"
    of every recording with a map, which neither scenario then showed (nor Rerun's viewer, given the
    layout convert embeds)."""
    store = load_files([write_mapped_robot(tmp_path / "mapped.mcap", map_topic)], warn=lambda _: None).store
    assert map_topic not in store.entities()
    for scenario in ("navigation", "localization"):
        layout = resolve_roles(resolve(scenario).root, store)
        assert "map" not in layout.missing
        assert layout.picks.get("map", "/map") == map_topic
        assert any(view.includes(f"{map_topic}/tiles/0") for view in iter_views(layout.root)), scenario
