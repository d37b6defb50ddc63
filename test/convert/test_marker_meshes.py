"""MESH_RESOURCE markers: a local ``file://`` mesh under the configured roots becomes an Asset3D placed by
InstancePoses3D (a .rrd Rerun verifies); anything else (outside the roots, ``..`` or a symlink escaping
them, ``package://``, http) is never read: a box placeholder of the marker's scale and one warning."""

from __future__ import annotations

import logging
import struct
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import pytest
import trimesh

from rerun_bridge.cdr.decoding import TypeResolver
from rerun_bridge.cli import main
from rerun_bridge.model.records import TopicInfo
from rerun_bridge.pipeline import Pipeline
from rerun_bridge.robot.meshes import load_mesh_file
from rerun_bridge.robot.uris import MeshRoots
from rerun_bridge.sinks.rrd import RrdSink
from test.conftest import rrd_chunks, verify_rrd
from test.convert.golden_harness import CollectingSink, build_message
from test.convert.test_marker_semantics import write_bag

MARKER = "visualization_msgs/msg/Marker"
#: trimesh's visuals module, untyped.
VISUAL: Any = trimesh.visual


def stl_triangle() -> bytes:
    """A binary STL of one triangle."""
    header = b"rerun_bridge test mesh".ljust(80, b" ")
    facet = struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0)
    return header + struct.pack("<I", 1) + facet


def mesh_marker(uri: str) -> dict[str, Any]:
    return {
        "header": {"stamp": {"sec": 1700000000}, "frame_id": "base_link"},
        "ns": "robot",
        "id": 1,
        "type": 10,
        "pose": {"position": {"x": 1.0}, "orientation": {"w": 1.0}},
        "scale": {"x": 2.0, "y": 2.0, "z": 2.0},
        "color": {"r": 1.0, "a": 1.0},
        "mesh_resource": uri,
    }


def convert(
    topic: str,
    uris: list[str],
    roots: list[Path],
    rrd: Path | None = None,
    pipeline: Pipeline | None = None,
) -> list[Any]:
    """The rows the pipeline writes for one mesh marker per URI, through real CDR and the real decoder."""
    resolver = TypeResolver([TopicInfo(topic, MARKER)], "jazzy")
    choice = resolver.choose(MARKER)
    assert choice.decoder is not None
    assert choice.typestore is not None
    sink = CollectingSink()
    sinks: list[Any] = [sink] if rrd is None else [sink, RrdSink(rrd)]
    pipeline = pipeline or Pipeline([])
    pipeline.sinks[:] = sinks
    pipeline.add_topic(topic, MARKER, options={"mesh_roots": [str(root) for root in roots]})
    for index, uri in enumerate(uris):
        message = build_message(choice.typestore, MARKER, mesh_marker(uri))
        payload = bytes(choice.typestore.serialize_cdr(message, MARKER))
        pipeline.process_raw(topic, payload, 1700000000000000000 + index, choice.decoder)
    for extra in sinks[1:]:
        extra.close()
    stats = pipeline.stats_of(topic)
    assert stats is not None
    assert stats.errors == 0
    return [written.row for written in sink.rows]


def test_a_mesh_file_under_a_root_becomes_an_asset_placed_by_its_pose(tmp_path: Path) -> None:
    meshes = tmp_path / "meshes"
    meshes.mkdir()
    (meshes / "base.stl").write_bytes(stl_triangle())
    rrd = tmp_path / "mesh.rrd"
    rows = convert("/mesh_ok", [f"file://{meshes}/base.stl"], [meshes], rrd)
    by_archetype = {row.archetype: row for row in rows}
    assert set(by_archetype) == {"Asset3D", "InstancePoses3D", "CoordinateFrame"}
    asset = by_archetype["Asset3D"].components
    assert asset["blob"] == [stl_triangle()]
    assert asset["media_type"] == ["model/stl"]
    poses = by_archetype["InstancePoses3D"].components
    np.testing.assert_array_equal(poses["translations"], [[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(poses["scales"], [[2.0, 2.0, 2.0]])
    assert {row.entity_path for row in rows} == {"/mesh_ok/robot/1"}
    verify_rrd(rrd)


@pytest.mark.parametrize(
    "uri_of",
    [
        lambda root, outside: f"file://{root}/../outside/secret.stl",  # .. out of the root
        lambda root, outside: f"file://{root}/escape.stl",  # a symlink in the root pointing out
        lambda root, outside: f"file://{outside}/secret.stl",  # simply elsewhere
        lambda root, outside: "package://robot/meshes/base.stl",
        lambda root, outside: "https://example.com/base.stl",
    ],
    ids=["dotdot", "symlink", "outside", "package", "http"],
)
def test_meshes_outside_the_roots_are_never_read_but_drawn_as_boxes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, uri_of: Any
) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.stl").write_bytes(stl_triangle())
    (root / "escape.stl").symlink_to(outside / "secret.stl")
    uri = uri_of(root, outside)
    topic = f"/mesh_refused_{abs(hash(uri))}"
    with caplog.at_level(logging.WARNING):
        rows = convert(topic, [uri, uri], [root])
    assert [row.archetype for row in rows] == ["Boxes3D", "CoordinateFrame"] * 2
    np.testing.assert_array_equal(rows[0].components["half_sizes"], [[1.0, 1.0, 1.0]])
    said = [record.getMessage() for record in caplog.records if uri in record.getMessage()]
    assert len(said) == 1, said  # one warning, not one per message
    assert "drawn as a box" in said[0]


def test_package_meshes_resolve_under_the_robot_models_roots(tmp_path: Path) -> None:
    """``convert --mesh-root DIR`` (the robot model's roots) applies to markers: package://robot/... is
    read from DIR/robot/..., and a package of its own directory from there."""
    (tmp_path / "roots" / "robot" / "meshes").mkdir(parents=True)
    (tmp_path / "roots" / "robot" / "meshes" / "base.stl").write_bytes(stl_triangle())
    (tmp_path / "gripper_pkg").mkdir()
    (tmp_path / "gripper_pkg" / "finger.stl").write_bytes(stl_triangle())
    pipeline = Pipeline([], warn=pytest.fail)
    pipeline.use_robot_model(MeshRoots.of([tmp_path / "roots"], {"gripper": tmp_path / "gripper_pkg"}))
    uris = ["package://robot/meshes/base.stl", "package://gripper/finger.stl"]
    rows = convert("/robot_meshes", uris, [], pipeline=pipeline)
    assets = [row for row in rows if row.archetype == "Asset3D"]
    assert [row.components["blob"] for row in assets] == [[stl_triangle()], [stl_triangle()]]


def test_a_missing_package_is_one_warning_in_the_pipelines_summary_across_topics(tmp_path: Path) -> None:
    (tmp_path / "robot").mkdir()
    (tmp_path / "robot" / "arm.dae").write_text("<COLLADA/>")
    said: list[str] = []
    pipeline = Pipeline([], warn=said.append)
    pipeline.use_robot_model(MeshRoots.of([tmp_path]))
    convert("/a", ["package://missing/a.stl", "package://missing/b.stl"], [], pipeline=pipeline)
    rows = convert("/b", ["package://missing/c.stl", "package://robot/arm.dae"], [], pipeline=pipeline)
    assert [row.archetype for row in rows] == ["Boxes3D", "CoordinateFrame"] * 2
    mesh_warnings = [text for text in said if "mesh URI" in text]
    assert len(mesh_warnings) == 2, mesh_warnings
    assert mesh_warnings[0].startswith("topic /a: ")
    assert "package 'missing' not found" in mesh_warnings[0]
    assert "drawn as a box" in mesh_warnings[0]
    # A file trimesh cannot read either is named.
    assert "arm.dae" in mesh_warnings[1]
    assert "drawn as a box" in mesh_warnings[1]


def test_a_collada_mesh_becomes_a_mesh3d_placed_by_the_markers_pose_and_scale(tmp_path: Path) -> None:
    """Asset3D cannot carry COLLADA: the .dae is read with trimesh (as robot meshes are) into a Mesh3D."""
    (tmp_path / "robot").mkdir()
    trimesh.creation.box(extents=(1.0, 1.0, 1.0)).export(tmp_path / "robot" / "cube.dae")
    pipeline = Pipeline([], warn=pytest.fail)
    pipeline.use_robot_model(MeshRoots.of([tmp_path]))
    rows = convert("/dae", ["package://robot/cube.dae"], [], pipeline=pipeline)
    assert [row.archetype for row in rows] == ["Mesh3D", "CoordinateFrame"]
    mesh = rows[0].components
    # The unit cube scaled by 2 and moved to x = 1 (mesh_marker's pose): x 0..2, y and z -1..1.
    np.testing.assert_allclose(mesh["vertex_positions"].min(axis=0), [0.0, -1.0, -1.0], atol=1e-6)
    np.testing.assert_allclose(mesh["vertex_positions"].max(axis=0), [2.0, 1.0, 1.0], atol=1e-6)
    assert len(mesh["triangle_indices"]) == 12
    np.testing.assert_array_equal(mesh["albedo_factor"], [[255, 0, 0, 255]])


def test_convert_mesh_root_applies_to_markers(tmp_path: Path) -> None:
    """``rerun-bridge convert --mesh-root DIR``: a marker's package:// mesh is read from DIR/<package>."""
    (tmp_path / "roots" / "robot").mkdir(parents=True)
    (tmp_path / "roots" / "robot" / "base.stl").write_bytes(stl_triangle())
    mesh = mesh_marker("package://robot/base.stl")
    bag = write_bag(tmp_path / "mesh.mcap", [(0, [mesh])])
    rrd = tmp_path / "mesh.rrd"
    assert main(["convert", str(bag), "-o", str(rrd), "--mesh-root", str(tmp_path / "roots"), "-q"]) == 0
    verify_rrd(rrd)
    assets = [batch for entity, _static, batch in rrd_chunks(rrd) if "Asset3D:blob" in batch.schema.names]
    assert len(assets) == 1
    assert bytes(assets[0].column("Asset3D:blob")[0][0].values.to_pylist()) == stl_triangle()


def convert_markers(tmp_path: Path, markers: list[dict[str, Any]]) -> list[Any]:
    """One message per marker through the real pipeline, with ``tmp_path`` as a package root."""
    resolver = TypeResolver([TopicInfo("/m", MARKER)], "jazzy")
    choice = resolver.choose(MARKER)
    assert choice.decoder is not None
    assert choice.typestore is not None
    sink = CollectingSink()
    pipeline = Pipeline([sink], warn=pytest.fail)
    pipeline.use_robot_model(MeshRoots.of([tmp_path]))
    pipeline.add_topic("/m", MARKER)
    for index, fields in enumerate(markers):
        payload = bytes(
            choice.typestore.serialize_cdr(build_message(choice.typestore, MARKER, fields), MARKER)
        )
        pipeline.process_raw("/m", payload, 1700000000000000000 + index, choice.decoder)
    return [written.row for written in sink.rows if written.row.archetype != "CoordinateFrame"]


def test_embedded_materials_are_the_files_colours_tinted_by_a_nonzero_marker_colour(tmp_path: Path) -> None:
    """RViz's rules: with mesh_use_embedded_materials the file's colours (an OBJ's MTL colour here),
    multiplied by the marker's colour unless it is all zero; without, the marker's colour. A GLB keeps
    its own materials as an Asset3D (albedo_factor: the tint) with them, and is read as a flat Mesh3D
    without."""
    (tmp_path / "robot").mkdir()
    cube = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    material = VISUAL.material.SimpleMaterial(diffuse=(0, 200, 100, 255))
    cube.visual = VISUAL.TextureVisuals(material=material)  # a material colour, no texture
    cube.export(tmp_path / "robot" / "cube.obj")
    cube.export(tmp_path / "robot" / "cube.glb")

    def mesh(uri: str, embedded: bool, color: dict[str, float]) -> dict[str, Any]:
        return {**mesh_marker(uri), "mesh_use_embedded_materials": embedded, "color": color}

    zero, half_red = {"r": 0.0, "a": 0.0}, {"r": 1.0, "g": 0.5, "b": 1.0, "a": 1.0}
    rows = convert_markers(
        tmp_path,
        [
            mesh("package://robot/cube.obj", True, zero),
            mesh("package://robot/cube.obj", True, half_red),
            mesh("package://robot/cube.obj", False, half_red),
            mesh("package://robot/cube.glb", True, half_red),
            mesh("package://robot/cube.glb", False, half_red),
        ],
    )
    as_is, tinted, flat, glb_own, glb_flat = (
        row.components for row in rows if row.archetype != "InstancePoses3D"
    )
    assert {tuple(c) for c in as_is["vertex_colors"]} == {(0, 200, 100, 255)}
    assert "albedo_factor" not in as_is
    assert {tuple(c) for c in tinted["vertex_colors"]} == {(0, 100, 100, 255)}
    np.testing.assert_array_equal(flat["albedo_factor"], [[255, 128, 255, 255]])
    assert "vertex_colors" not in flat
    assert glb_own["media_type"] == ["model/gltf-binary"]
    np.testing.assert_array_equal(glb_own["albedo_factor"], [[255, 128, 255, 255]])
    np.testing.assert_array_equal(glb_flat["albedo_factor"], [[255, 128, 255, 255]])
    assert "vertex_colors" not in glb_flat


def test_mesh_colours_come_from_textures_materials_or_nowhere(tmp_path: Path) -> None:
    """The robot model's and markers' loader: a texture sampled at each vertex's UV, a material's colour
    when there is no texture (this crashed inside trimesh before), none for an STL."""
    texture = np.zeros((2, 2, 3), dtype=np.uint8)
    texture[:, 1] = (0, 0, 255)
    triangle = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], process=False)
    uv = np.array([[0.1, 0.5], [0.9, 0.5], [0.1, 0.6]])
    triangle.visual = VISUAL.TextureVisuals(uv=uv, image=PIL.Image.fromarray(texture))
    (tmp_path / "textured").mkdir()
    triangle.export(tmp_path / "textured" / "t.obj")
    plain = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], process=False)
    plain.visual = VISUAL.TextureVisuals(material=VISUAL.material.SimpleMaterial(diffuse=(10, 20, 30, 255)))
    (tmp_path / "plain").mkdir()
    plain.export(tmp_path / "plain" / "p.obj")
    (tmp_path / "t.stl").write_bytes(stl_triangle())
    sampled = load_mesh_file(tmp_path / "textured" / "t.obj").vertex_colors
    assert sampled is not None
    assert [tuple(c) for c in sampled] == [(0, 0, 0, 255), (0, 0, 255, 255), (0, 0, 0, 255)]
    material = load_mesh_file(tmp_path / "plain" / "p.obj").vertex_colors
    assert material is not None
    assert {tuple(c) for c in material} == {(10, 20, 30, 255)}
    assert load_mesh_file(tmp_path / "t.stl").vertex_colors is None
