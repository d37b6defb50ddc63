"""MESH_RESOURCE markers: the mesh file as an ``Asset3D`` placed by ``InstancePoses3D``, or as a
``Mesh3D`` read with trimesh, or a box.

Mesh URIs resolve exactly as the robot model's do (:func:`rerun_bridge.robot.uris.resolve_mesh_uri`):
``package://`` through the robot model's packages and mesh roots (``rerun-bridge convert --mesh-root DIR``,
the config's ``robot_model``), ``file://`` and plain paths only under those roots or the topic option
``mesh_roots``; ``..``, symlinks out of the roots and other schemes are refused and never read. A mesh that
does not resolve or cannot be read is drawn as a box of the marker's scale, with one warning per package
(per URI without one) through the pipeline's warn, so it reaches the summary.

Colours follow RViz (docs/markers.md): without ``mesh_use_embedded_materials`` the mesh is the marker's
colour all over; with it, the file's own colours (materials, vertex colours, textures), tinted by the
marker's colour unless that is all zero. An STL (no materials) and a GLB with embedded materials (one
self-contained file whose textures Rerun's viewer draws) stay the file, an ``Asset3D`` whose
``albedo_factor`` is the colour or tint; every other file (OBJ with its MTL and images, glTF with its
buffers, DAE, PLY) is read with trimesh, as the robot model's meshes are, textures sampled at the
vertices, and written as a ``Mesh3D`` placed by the marker's pose and scale.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from rerun_bridge.convert.marker_shapes import Placement, box_placeholder, rgba8
from rerun_bridge.convert.registry import ConvertContext
from rerun_bridge.model.rows import Row
from rerun_bridge.robot.meshes import MeshGeometry, MeshLoadError, load_mesh_file
from rerun_bridge.robot.state import RobotModelState
from rerun_bridge.robot.uris import MeshPathError, MeshRoots, resolve_mesh_uri

#: Topic option: more folders (besides the robot model's mesh roots) that mesh files may be read from.
MESH_ROOTS_OPTION: Final = "mesh_roots"
#: Mesh files written as they are (:func:`kept_as_file`), by suffix.
MESH_MEDIA_TYPES: Final = {".stl": "model/stl", ".glb": "model/gltf-binary"}


class MeshWarnings:
    """The mesh problems a pipeline has warned about (per package, or per URI without a package)."""

    def __init__(self) -> None:
        self.said: set[str] = set()


@functools.lru_cache(maxsize=64)
def _read_mesh(path: str) -> bytes:
    return Path(path).read_bytes()


def marker_mesh_roots(ctx: ConvertContext) -> MeshRoots:
    """The robot model's roots and packages, plus the topic's own ``mesh_roots``."""
    robot = ctx.shared.get(RobotModelState).roots
    extra = tuple(Path(str(root)) for root in ctx.options.get(MESH_ROOTS_OPTION, ()))
    return MeshRoots((*robot.roots, *extra), robot.packages)


@functools.lru_cache(maxsize=32)
def _triangles(path: str) -> MeshGeometry:
    return load_mesh_file(Path(path))


def marker_tint(marker: Any) -> npt.NDArray[np.uint8] | None:
    """The colour a mesh is drawn in or tinted by: the marker's; None for RViz's "embedded materials as
    they are" (``mesh_use_embedded_materials`` with an all-zero colour)."""
    color = rgba8(marker.color).reshape(1, 4)
    if bool(marker.mesh_use_embedded_materials) and not color.any():
        return None
    return color


def triangle_rows(marker: Any, place: Placement, entity_path: str, mesh: Path) -> list[Row]:
    """A mesh read with trimesh (as the robot model's are) and written as a Mesh3D placed by the
    marker's pose and scale: in the file's colours tinted by the marker's with embedded materials (the
    marker's colour where the file has none), else in the marker's colour."""
    geometry = _triangles(str(mesh))
    components: dict[str, Any] = {
        "vertex_positions": place.apply(geometry.positions.astype(np.float64)),
        "triangle_indices": geometry.triangles,
    }
    tint = marker_tint(marker)
    if geometry.vertex_colors is not None and bool(marker.mesh_use_embedded_materials):
        components["vertex_colors"] = tinted(geometry.vertex_colors, tint)
    else:
        components["albedo_factor"] = tint if tint is not None else np.full((1, 4), 255, dtype=np.uint8)
    return [Row(entity_path, "Mesh3D", components)]


def tinted(colors: npt.NDArray[np.uint8], tint: npt.NDArray[np.uint8] | None) -> npt.NDArray[np.uint8]:
    """Colours multiplied channel by channel (alpha too) by a tint, as RViz tints embedded materials."""
    if tint is None:
        return colors
    product = colors.astype(np.uint16) * tint.astype(np.uint16)
    return ((product + 127) // 255).astype(np.uint8)


def _warn_once(ctx: ConvertContext, uri: str, error: MeshPathError | MeshLoadError) -> None:
    key = (error.package if isinstance(error, MeshPathError) else "") or uri
    said = ctx.shared.get(MeshWarnings).said
    if key not in said:
        said.add(key)
        problem = str(error) if isinstance(error, MeshPathError) else f"mesh URI {uri!r}: {error}"
        ctx.shared.warn(f"topic {ctx.topic}: {problem}; drawn as a box (further such ones are not reported)")


def mesh_rows(marker: Any, place: Placement, entity_path: str, ctx: ConvertContext) -> list[Row]:
    """MESH_RESOURCE: the file as an Asset3D placed by InstancePoses3D, or a box placeholder."""
    uri = str(marker.mesh_resource)
    try:
        mesh = resolve_mesh_uri(uri, marker_mesh_roots(ctx))
        if not kept_as_file(mesh, bool(marker.mesh_use_embedded_materials)):
            return triangle_rows(marker, place, entity_path, mesh)
    except (MeshPathError, MeshLoadError) as error:
        _warn_once(ctx, uri, error)
        shape = box_placeholder(marker, place)
        return [Row(entity_path, shape.archetype, shape.components)]
    poses = {
        "translations": place.translation.reshape(1, 3),
        "quaternions": place.quaternion.reshape(1, 4),
        "scales": place.scale.reshape(1, 3),
    }
    asset: dict[str, Any] = {
        "blob": [_read_mesh(str(mesh))],
        "media_type": [MESH_MEDIA_TYPES[mesh.suffix.lower()]],
    }
    tint = marker_tint(marker)
    if tint is None and mesh.suffix.lower() == ".stl":  # no materials: RViz's default, white
        tint = np.full((1, 4), 255, dtype=np.uint8)
    if tint is not None:  # the marker's colour; Rerun's albedo_factor replaces a material's, as RViz's does
        asset["albedo_factor"] = tint
    return [Row(entity_path, "Asset3D", asset), Row(entity_path, "InstancePoses3D", poses)]


def kept_as_file(mesh: Path, embedded_materials: bool) -> bool:
    """Whether the file is written as it is (``Asset3D``): an STL, or a GLB drawn in its own materials."""
    suffix = mesh.suffix.lower()
    return suffix == ".stl" or (embedded_materials and suffix == ".glb")
