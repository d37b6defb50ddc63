"""MESH_RESOURCE markers: the mesh file as an ``Asset3D`` placed by ``InstancePoses3D``, or a box.

Mesh URIs resolve exactly as the robot model's do (:func:`rerun_bridge.robot.uris.resolve_mesh_uri`):
``package://`` through the robot model's packages and mesh roots (``rerun-bridge convert --mesh-root DIR``,
the config's ``robot_model``), ``file://`` and plain paths only under those roots or the topic option
``mesh_roots``; ``..``, symlinks out of the roots and other schemes are refused and never read. A mesh that
Asset3D cannot carry (.dae, .ply) is read with trimesh, as the robot model's meshes are, and written as a
``Mesh3D`` placed by the marker's pose and scale. One that does not resolve or cannot be read is drawn as
a box of the marker's scale, with one warning per package (per URI without one) through the pipeline's
warn, so it reaches the summary.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Final

import numpy as np

from rerun_bridge.convert.marker_shapes import Placement, box_placeholder, rgba8
from rerun_bridge.convert.registry import ConvertContext
from rerun_bridge.model.rows import Row
from rerun_bridge.robot.meshes import MeshGeometry, MeshLoadError, load_mesh_file
from rerun_bridge.robot.state import RobotModelState
from rerun_bridge.robot.uris import MeshPathError, MeshRoots, resolve_mesh_uri

#: Topic option: more folders (besides the robot model's mesh roots) that mesh files may be read from.
MESH_ROOTS_OPTION: Final = "mesh_roots"
#: Mesh files Rerun's Asset3D reads, by suffix.
MESH_MEDIA_TYPES: Final = {
    ".stl": "model/stl",
    ".obj": "model/obj",
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
}


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


def triangle_rows(marker: Any, place: Placement, entity_path: str, mesh: Path) -> list[Row]:
    """A mesh Asset3D cannot carry (.dae) read with trimesh (as the robot model's are) and written as a
    Mesh3D placed by the marker's pose and scale, in the file's colours or else the marker's."""
    geometry = _triangles(str(mesh))
    components: dict[str, Any] = {
        "vertex_positions": place.apply(geometry.positions.astype(np.float64)),
        "triangle_indices": geometry.triangles,
    }
    if geometry.vertex_colors is not None and bool(marker.mesh_use_embedded_materials):
        components["vertex_colors"] = geometry.vertex_colors
    else:
        components["albedo_factor"] = rgba8(marker.color).reshape(1, 4)
    return [Row(entity_path, "Mesh3D", components)]


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
        if mesh.suffix.lower() not in MESH_MEDIA_TYPES:
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
    asset = {
        "blob": [_read_mesh(str(mesh))],
        "media_type": [MESH_MEDIA_TYPES[mesh.suffix.lower()]],
        "albedo_factor": rgba8(marker.color).reshape(1, 4),  # the marker's colour, as RViz tints its mesh
    }
    return [Row(entity_path, "Asset3D", asset), Row(entity_path, "InstancePoses3D", poses)]
