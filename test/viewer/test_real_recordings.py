"""The viewer's defaults on real robot recordings: the timeline it opens on and scans it keeps visible."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from rerun_bridge.convert.pointcloud import colormap_table
from rerun_bridge.replay import TopicSelection, convert_bags
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.window import ViewerWindow
from test.conftest import ABITOBOT_BAG, GPS_BAG, NEATO_BAG
from test.viewer.conftest import drawn_pixels, qimage_rgb
from test.viewer.test_spatial3d_view import CAMERA, HEIGHT, WIDTH

pytestmark = pytest.mark.gui

NS = 1_000_000_000


@pytest.fixture(scope="module")
def gps_store() -> ChunkStore:
    return load_files([GPS_BAG], warn=lambda _: None).store


@pytest.fixture(scope="module")
def neato_store() -> ChunkStore:
    return load_files([NEATO_BAG], warn=lambda _: None).store


def scene_view(qtbot: QtBot, store: ChunkStore, **settings: Any) -> Spatial3DView:
    view = Spatial3DView(store, SceneTransforms(store), settings={"grid": False, "frames": False, **settings})
    qtbot.addWidget(view)
    view.resize(WIDTH, HEIGHT)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_the_gps_bag_opens_on_log_time_and_shows_the_vehicle(qtbot: QtBot, gps_store: ChunkStore) -> None:
    """Its header stamps run two months behind the receive times and /vehicle_pose is stamped 0: on
    ros_time the recording is two months wide, the odometry and the vehicle's pose months apart."""
    window = ViewerWindow(gps_store)
    qtbot.addWidget(window)
    panel = window.time_panel
    assert panel.timeline == "log_time"
    start, end = panel.time_range
    assert 100 * NS < end - start < 130 * NS  # the 114 s recording, not two months
    middle = (start + end) // 2
    view = scene_view(qtbot, gps_store)
    view.set_time("log_time", middle)
    # The vehicle's way so far (its odometry only fills the twist: pose and trail stay at the origin).
    assert drawn_pixels(view, "/vehicle_pose/trail") > 20
    assert gps_store.latest_at("/vehicle_pose", "log_time", middle)  # and the vehicle's, at once
    ros_start = gps_store.time_range("ros_time")
    assert ros_start is not None  # as far into ros_time, the vehicle's pose is two months away
    assert not gps_store.latest_at("/vehicle_pose", "ros_time", ros_start[0] + (middle - start))


def test_zero_stamps_sit_at_their_receive_time_on_ros_time(gps_store: ChunkStore) -> None:
    assert gps_store.time_range("ros_time", "/vehicle_pose") == gps_store.time_range(
        "log_time", "/vehicle_pose"
    )


def test_sim_time_opens_on_log_time_and_a_sane_clock_on_ros_time(
    qtbot: QtBot, neato_store: ChunkStore, tmp_path: Path
) -> None:
    sim = ViewerWindow(load_files([ABITOBOT_BAG], warn=lambda _: None).store)
    qtbot.addWidget(sim)
    assert sim.time_panel.timeline == "log_time"  # Gazebo's clock starts at 0
    robot = ViewerWindow(neato_store)
    qtbot.addWidget(robot)
    assert robot.time_panel.timeline == "log_time"  # its /cmd_vel has no header: empty on ros_time
    stamped = tmp_path / "stamped.rrd"
    convert_bags([NEATO_BAG], stamped, selection=TopicSelection(exclude=re.compile("^/cmd_vel$")))
    without = ViewerWindow(load_files([stamped]).store)
    qtbot.addWidget(without)
    assert without.time_panel.timeline == "ros_time"  # stamps within a second of the receive times


def test_a_constant_intensity_scan_is_drawn_in_a_visible_flat_colour(
    qtbot: QtBot, neato_store: ChunkStore
) -> None:
    """The Neato's scans report one intensity for every beam: drawn in the colormap's middle, bright on
    the dark background (the map's low end, where they used to go, is nearly black)."""
    start, end = neato_store.time_range("ros_time") or (0, 0)
    scans = neato_store.range("/scan", "ros_time", start, end)
    hits = [len(row or ()) for row in scans.column("Points3D:positions").to_pylist()]
    fullest = int(scans.column("ros_time").cast("int64")[int(np.argmax(hits))].as_py())
    intensities = neato_store.latest_at("/scan", "ros_time", fullest)["Points3D:intensity"]
    assert len(intensities) == max(hits) > 30
    assert len(set(intensities.to_pylist())) == 1
    view = scene_view(qtbot, neato_store, **{**CAMERA, "camera_distance": 8.0, "camera_elevation": 89.0})
    for other in ("/stable_scan", "/projected_stable_scan", "/odom"):
        view.set_entity_visible(other, False)
    view.set_time("ros_time", fullest)
    picture = qimage_rgb(view.canvas.picture()).astype(np.int16)
    flat = colormap_table("turbo")[128, :3].astype(np.int16)
    assert int(flat.max()) > 150
    near_flat = np.abs(picture - flat).max(axis=2) < 40
    assert int(near_flat.sum()) > 50
    assert drawn_pixels(view, "/scan") > 50
