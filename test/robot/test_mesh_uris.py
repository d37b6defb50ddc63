"""Mesh URIs resolve under the configured roots only: traversal, absolute paths outside the roots and
symlinks that leave them are refused, never read."""

from __future__ import annotations

from pathlib import Path

import pytest

from rerun_bridge.robot.meshes import load_mesh_file
from rerun_bridge.robot.uris import MeshPathError, MeshRoots, resolve_mesh_uri


@pytest.fixture
def layout(tmp_path: Path) -> tuple[MeshRoots, Path]:
    """A root with package ``pkg`` holding ``meshes/part.stl``, and a secret file outside the root."""
    root = tmp_path / "roots"
    (root / "pkg" / "meshes").mkdir(parents=True)
    (root / "pkg" / "meshes" / "part.stl").write_text("solid part\nendsolid part\n")
    (tmp_path / "secret.stl").write_text("solid secret\nendsolid secret\n")
    return MeshRoots.of([root]), tmp_path


def test_package_and_file_uris_inside_the_roots_resolve(layout: tuple[MeshRoots, Path]) -> None:
    roots, base = layout
    part = (base / "roots" / "pkg" / "meshes" / "part.stl").resolve()
    assert resolve_mesh_uri("package://pkg/meshes/part.stl", roots) == part
    assert resolve_mesh_uri(f"file://{part}", roots) == part
    assert resolve_mesh_uri("package://pkg/./meshes/part.stl", roots) == part


def test_a_package_mapped_to_its_directory_resolves(tmp_path: Path) -> None:
    own = tmp_path / "somewhere" / "share" / "robot_meshes"
    own.mkdir(parents=True)
    (own / "base.obj").write_text("v 0 0 0\n")
    roots = MeshRoots.of([], {"robot_meshes": own})
    assert resolve_mesh_uri("package://robot_meshes/base.obj", roots) == (own / "base.obj").resolve()


@pytest.mark.parametrize(
    "uri",
    [
        "package://pkg/../../secret.stl",
        "package://pkg/meshes/../../../secret.stl",
        "package://../secret.stl",
        "package://pkg/meshes/..%2F..%2F..%2Fsecret.stl",
        "file:///{base}/roots/../secret.stl",
        "file:///{base}/secret.stl",
        "file://otherhost/{base}/roots/pkg/meshes/part.stl",
        "{base}/secret.stl",
        "../secret.stl",
        "http://example.com/part.stl",
        "https://example.com/part.stl",
        "ftp://example.com/part.stl",
        "data:model/stl;base64,AAAA",
        "file:///{base}/roots/%2e%2e/secret.stl",
        "package://pkg/meshes/%2e%2e/%2e%2e/%2e%2e/secret.stl",
        "package://pkg/meshes/part.stl%00.png",
        "package://pkg\\..\\..\\secret.stl",
    ],
)
def test_traversal_and_outside_paths_are_refused(layout: tuple[MeshRoots, Path], uri: str) -> None:
    roots, base = layout
    with pytest.raises(MeshPathError, match="refused"):
        resolve_mesh_uri(uri.format(base=base), roots, base_dir=base / "roots")


def test_a_symlink_leaving_the_root_is_refused(layout: tuple[MeshRoots, Path]) -> None:
    roots, base = layout
    (base / "roots" / "pkg" / "meshes" / "escape.stl").symlink_to(base / "secret.stl")
    (base / "roots" / "linked_pkg").symlink_to(base, target_is_directory=True)
    with pytest.raises(MeshPathError, match="outside the mesh roots"):
        resolve_mesh_uri("package://pkg/meshes/escape.stl", roots)
    with pytest.raises(MeshPathError, match="outside the mesh roots"):
        resolve_mesh_uri("package://linked_pkg/secret.stl", roots)


def test_a_symlink_inside_the_root_resolves(layout: tuple[MeshRoots, Path]) -> None:
    roots, base = layout
    link = base / "roots" / "pkg" / "meshes" / "alias.stl"
    link.symlink_to(base / "roots" / "pkg" / "meshes" / "part.stl")
    assert resolve_mesh_uri("package://pkg/meshes/alias.stl", roots).name == "part.stl"


def test_a_missing_package_names_the_package(layout: tuple[MeshRoots, Path]) -> None:
    roots, _base = layout
    with pytest.raises(MeshPathError, match="package 'nowhere' not found") as raised:
        resolve_mesh_uri("package://nowhere/meshes/part.stl", roots)
    assert raised.value.package == "nowhere"


def test_without_roots_nothing_is_read(layout: tuple[MeshRoots, Path]) -> None:
    _roots, base = layout
    part = base / "roots" / "pkg" / "meshes" / "part.stl"
    with pytest.raises(MeshPathError):
        resolve_mesh_uri(f"file://{part}", MeshRoots())
    with pytest.raises(MeshPathError):
        resolve_mesh_uri("package://pkg/meshes/part.stl", MeshRoots())


@pytest.mark.parametrize(("library", "read"), [("inside.mtl", True), ("../outside.mtl", False)])
def test_files_a_mesh_refers_to_are_read_only_from_its_folder(
    tmp_path: Path, library: str, read: bool
) -> None:
    """An OBJ's material library (like a texture) comes from the mesh's own folder, never from above it."""
    folder = tmp_path / "meshes"
    folder.mkdir()
    for material in (folder / "inside.mtl", tmp_path / "outside.mtl"):
        material.write_text("newmtl red\nKd 1 0 0\n")
    part = folder / "part.obj"
    part.write_text(f"mtllib {library}\nusemtl red\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    colors = load_mesh_file(part).vertex_colors
    assert (colors is not None and colors[0].tolist() == [255, 0, 0, 255]) == read
