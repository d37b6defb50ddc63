"""The robot model in the embedded viewer, checked by pixels: a URDF from /robot_description with a box and
an STL mesh, a joint animated by joint states; the box is drawn where the joint puts it at each time."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
from pytestqt.qtbot import QtBot

from rerun_bridge.config import RobotModelConfig
from rerun_bridge.viewer.sources import load_files
from test.robot.recording import RobotRecording
from test.viewer.conftest import qimage_rgb, red_pixels
from test.viewer.test_spatial3d_view import make_view, project

pytestmark = pytest.mark.gui

ARM_REACH = 2.0  # the red box's centre, along x of the arm link
URDF = f"""<?xml version="1.0"?>
<robot name="swinger">
  <link name="base_link">
    <visual><geometry><mesh filename="package://swinger/meshes/base.stl"/></geometry>
      <material name="blue"><color rgba="0 0 1 1"/></material></visual>
  </link>
  <link name="arm">
    <visual><origin xyz="{ARM_REACH} 0 0"/><geometry><box size="0.5 0.5 0.5"/></geometry>
      <material name="red"><color rgba="1 0 0 1"/></material></visual>
  </link>
  <joint name="swing" type="revolute"><parent link="base_link"/><child link="arm"/>
    <axis xyz="0 0 1"/><limit lower="-3" upper="3" effort="1" velocity="1"/></joint>
</robot>
"""
ANGLES = (0.0, math.pi / 2)


def blue_pixels(rgb: np.ndarray[Any, np.dtype[np.uint8]]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    red, green, blue = (rgb[..., channel].astype(np.int16) for channel in range(3))
    mask: np.ndarray[Any, np.dtype[np.bool_]] = (blue > 180) & (red < 80) & (green < 80)
    return mask


def test_robot_links_are_drawn_where_joint_states_put_them(qtbot: QtBot, tmp_path: Path) -> None:
    root = tmp_path / "meshes"
    (root / "swinger" / "meshes").mkdir(parents=True)
    trimesh.creation.box(extents=[0.6, 0.6, 0.6]).export(root / "swinger" / "meshes" / "base.stl")
    recording = RobotRecording(URDF, joint_states=[{"swing": angle} for angle in ANGLES])
    bag = recording.write(tmp_path / "swinger.mcap")
    loaded = load_files([bag], robot_model=RobotModelConfig(mesh_roots=(str(root),)))
    assert loaded.warnings == []
    view = make_view(qtbot, loaded.store)
    for index, angle in enumerate(ANGLES):
        view.set_time("ros_time", recording.state_time(index))
        frame = qimage_rgb(view.canvas.picture())
        height, width = frame.shape[:2]
        rows, columns = np.nonzero(red_pixels(frame))
        assert len(rows) > 100, f"the arm's box was not drawn at angle {angle}"
        centre = np.array([ARM_REACH * math.cos(angle), ARM_REACH * math.sin(angle), 0.0])
        expected_x, expected_y = project(centre, width, height)
        # The box's outline centroid is within a few pixels of its centre's projection (perspective).
        assert abs(columns.mean() - expected_x) < 6.0, angle
        assert abs(rows.mean() - expected_y) < 6.0, angle
        rows, columns = np.nonzero(blue_pixels(frame))
        assert len(rows) > 100, "the base's STL mesh was not drawn"
        origin_x, origin_y = project(np.zeros(3), width, height)
        assert abs(columns.mean() - origin_x) < 6.0
        assert abs(rows.mean() - origin_y) < 6.0
