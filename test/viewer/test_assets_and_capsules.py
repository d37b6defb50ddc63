"""The 3D view draws Asset3D meshes and Capsules3D, checked by pixels: a MESH_RESOURCE marker's mesh file
(found through the robot model's mesh roots, real CDR through the real pipeline) as a solid of its scale
at its pose in the marker's colour, and capsules (a real .rrd from rerun-sdk) as wireframes of their length
and radius along their rotated axis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rerun as rr
import trimesh
from pytestqt.qtbot import QtBot

from rerun_bridge.config import RobotModelConfig
from rerun_bridge.viewer.sources import load_files
from test.convert.test_marker_semantics import SECOND, T0, marker, write_bag
from test.viewer.conftest import at, qimage_rgb, red_pixels, write_rrd
from test.viewer.test_map_plane_and_ellipsoids import make_view, pixel_at, project

pytestmark = pytest.mark.gui

MESH_RESOURCE = 10


def cube_stl() -> bytes:
    """A unit cube (1 m sides, centred) as a binary STL."""
    exported: bytes = trimesh.creation.box(extents=(1.0, 1.0, 1.0)).export(file_type="stl")
    return exported


def test_a_mesh_resource_marker_is_drawn_as_its_mesh_at_its_pose_and_scale(
    qtbot: QtBot, tmp_path: Path
) -> None:
    roots = tmp_path / "roots"
    (roots / "robot").mkdir(parents=True)
    (roots / "robot" / "cube.stl").write_bytes(cube_stl())
    cube = marker(
        "mesh",
        1,
        MESH_RESOURCE,
        mesh_resource="package://robot/cube.stl",
        pose={"position": {"x": 2.0}, "orientation": {"w": 1.0}},
        scale={"x": 2.0, "y": 2.0, "z": 2.0},
    )
    bag = write_bag(tmp_path / "mesh.mcap", [(0, [cube])])
    loaded = load_files([bag], robot_model=RobotModelConfig(mesh_roots=(str(roots),)))
    assert not [text for text in loaded.warnings if "mesh" in text]
    view = make_view(qtbot, loaded.store)
    view.set_time("log_time", T0 + SECOND)
    # The scaled cube spans x 1..3 (and y, z -1..1): red over its middle and near its sides, not beyond.
    assert pixel_at(view, (2.0, 0.0, 1.0)) == (255, 0, 0)
    assert pixel_at(view, (1.2, 0.8, 1.0)) == (255, 0, 0)
    assert pixel_at(view, (2.8, -0.8, 1.0)) == (255, 0, 0)
    assert pixel_at(view, (3.6, 0.0, 1.0)) == (0, 0, 0)
    assert pixel_at(view, (0.4, 0.0, 1.0)) == (0, 0, 0)
    view.set_entity_visible("/markers", False)
    assert pixel_at(view, (2.0, 0.0, 1.0)) == (0, 0, 0)


def capsule_rrd(tmp_path: Path) -> Path:
    """A red capsule from x = -3 along +x (its z axis turned onto x), length 2 and radius 0.5; at 1 s its
    length is 4."""
    turn_z_onto_x = rr.Quaternion(xyzw=[0.0, np.sin(np.pi / 4), 0.0, np.cos(np.pi / 4)])

    def log(rec: Any) -> None:
        for offset, length in ((0.0, 2.0), (1.0, 4.0)):
            at(rec, offset)
            capsule = rr.Capsules3D(
                lengths=[length],
                radii=[0.5],
                translations=[[-3.0, 0.0, 0.0]],
                quaternions=[turn_z_onto_x],
                colors=[[255, 0, 0]],
            )
            rr.log("/capsule", capsule, recording=rec)

    return write_rrd(tmp_path / "capsule.rrd", log)


def test_capsules_are_wireframes_of_their_length_and_radius_along_their_axis(
    qtbot: QtBot, tmp_path: Path
) -> None:
    store = load_files([capsule_rrd(tmp_path)]).store
    view = make_view(qtbot, store)
    start = store.time_range("ros_time")
    assert start is not None
    for offset, far_end in ((0, -0.5), (SECOND, 1.5)):
        view.set_time("ros_time", start[0] + offset)
        picture = qimage_rgb(view.canvas.picture())
        rows, columns = np.nonzero(red_pixels(picture))
        assert len(columns) > 50
        height, width = picture.shape[:2]
        # From the back of the first cap (x = -3.5) to the front of the last (x = length - 3 + 0.5).
        left, _row = project((-3.5, 0.0, 0.0), width, height)
        right, _row = project((far_end, 0.0, 0.0), width, height)
        assert abs(int(columns.min()) - left) <= 3
        assert abs(int(columns.max()) - right) <= 3
        top, bottom = (
            project((-2.0, 0.5, 0.0), width, height)[1],
            project((-2.0, -0.5, 0.0), width, height)[1],
        )
        assert abs(int(rows.min()) - min(top, bottom)) <= 3
        assert abs(int(rows.max()) - max(top, bottom)) <= 3
