"""The 3D view draws Asset3D meshes and Capsules3D, checked by pixels: a MESH_RESOURCE marker's mesh file
(found through the robot model's mesh roots, real CDR through the real pipeline) as a solid of its scale
at its pose in the marker's colour, and capsules (a real .rrd from rerun-sdk) as wireframes of their length
and radius along their rotated axis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
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
#: trimesh's visuals module, untyped.
VISUAL: Any = trimesh.visual


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


def two_colour_quad() -> trimesh.Trimesh:
    """A flat 2 x 1 m quad from the origin along +x whose texture is red on its left half (x 0..1) and
    blue on its right: each half has vertices of its own, with texture coordinates inside its colour."""
    texture = np.zeros((2, 2, 3), dtype=np.uint8)
    texture[:, 0], texture[:, 1] = (255, 0, 0), (0, 0, 255)
    corners = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float64)
    vertices = np.vstack([corners, corners + np.array([1.0, 0.0, 0.0])])
    faces = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    uv = np.array(
        [[0.1, 0.4], [0.2, 0.4], [0.2, 0.6], [0.1, 0.6], [0.8, 0.4], [0.9, 0.4], [0.9, 0.6], [0.8, 0.6]]
    )
    quad = trimesh.Trimesh(vertices, faces, process=False)
    quad.visual = VISUAL.TextureVisuals(uv=uv, image=PIL.Image.fromarray(texture))
    return quad


def test_a_meshs_own_texture_is_drawn_with_embedded_materials_and_the_markers_colour_without(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """A textured OBJ (with its MTL and PNG beside it) and GLB, generated here: with
    ``mesh_use_embedded_materials`` and an all-zero colour both show their texture's red and blue
    halves (the OBJ as a Mesh3D with the texture sampled at its vertices, the GLB as the file, an
    Asset3D); without it the OBJ is the marker's green all over, as in RViz."""
    package = tmp_path / "roots" / "robot"
    (package / "obj").mkdir(parents=True)
    two_colour_quad().export(package / "obj" / "quad.obj")
    two_colour_quad().export(package / "quad.glb")
    zero = {"r": 0.0, "g": 0.0, "b": 0.0, "a": 0.0}
    markers = [
        marker(
            "obj",
            1,
            MESH_RESOURCE,
            mesh_resource="package://robot/obj/quad.obj",
            color=zero,
            mesh_use_embedded_materials=True,
            pose={"position": {"y": 0.5}, "orientation": {"w": 1.0}},
        ),
        marker(
            "glb",
            1,
            MESH_RESOURCE,
            mesh_resource="package://robot/quad.glb",
            color=zero,
            mesh_use_embedded_materials=True,
            pose={"position": {"y": 2.5}, "orientation": {"w": 1.0}},
        ),
        marker(
            "flat",
            1,
            MESH_RESOURCE,
            mesh_resource="package://robot/obj/quad.obj",
            color={"g": 1.0, "a": 1.0},
            pose={"position": {"y": -1.5}, "orientation": {"w": 1.0}},
        ),
    ]
    bag = write_bag(tmp_path / "textured.mcap", [(0, markers)])
    loaded = load_files([bag], robot_model=RobotModelConfig(mesh_roots=(str(tmp_path / "roots"),)))
    assert not [text for text in loaded.warnings if "mesh" in text]
    assert "Asset3D:blob" in loaded.store.components("/markers/glb/1")
    assert "Mesh3D:vertex_colors" in loaded.store.components("/markers/obj/1")
    view = make_view(qtbot, loaded.store)
    view.set_time("log_time", T0 + SECOND)
    red, blue, green = (255, 0, 0), (0, 0, 255), (0, 255, 0)
    for y in (1.0, 3.0):  # the OBJ's quad spans y 0.5..1.5, the GLB's 2.5..3.5
        assert pixel_at(view, (0.5, y, 0.0)) == red
        assert pixel_at(view, (1.5, y, 0.0)) == blue
    assert pixel_at(view, (0.5, -1.0, 0.0)) == green
    assert pixel_at(view, (1.5, -1.0, 0.0)) == green
    assert pixel_at(view, (2.5, 1.0, 0.0)) == (0, 0, 0)
