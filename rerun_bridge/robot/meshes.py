"""Robot geometry as triangle meshes: mesh files loaded with trimesh, URDF primitives tessellated.

Every visual becomes one :class:`MeshGeometry` in its link's frame (the visual's origin and the mesh's
scale applied), so Rerun and the embedded viewer draw a box, a cylinder and an STL alike as a solid
``Mesh3D``, as RViz's RobotModel display does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import trimesh

#: Sides of a tessellated cylinder and subdivisions of a sphere: smooth enough at robot scale.
CYLINDER_SECTIONS: Final = 32
SPHERE_SUBDIVISIONS: Final = 2


class MeshLoadError(Exception):
    """A mesh file that trimesh cannot read as triangles."""


@dataclass(frozen=True, slots=True)
class MeshGeometry:
    """Triangles in a link's frame: positions (N, 3), indices (M, 3), normals (N, 3), RGBA (N, 4) or None."""

    positions: npt.NDArray[np.float32]
    triangles: npt.NDArray[np.uint32]
    normals: npt.NDArray[np.float32]
    vertex_colors: npt.NDArray[np.uint8] | None = None

    def placed(self, origin: npt.NDArray[np.float64]) -> MeshGeometry:
        """The same mesh moved by a 4x4 transform (a visual's origin in its link)."""
        rotation, translation = origin[:3, :3], origin[:3, 3]
        positions = self.positions.astype(np.float64) @ rotation.T + translation
        normals = self.normals.astype(np.float64) @ rotation.T
        return MeshGeometry(
            positions.astype(np.float32), self.triangles, normals.astype(np.float32), self.vertex_colors
        )


def _shaded(mesh: trimesh.Trimesh) -> MeshGeometry:
    """A primitive with its vertices split at sharp edges, so that a box's faces and a cylinder's caps are
    lit flat (shared corner normals would shade them like a blob) and curved sides stay smooth."""
    return _geometry(mesh.smooth_shaded)


def _geometry(mesh: trimesh.Trimesh, colors: npt.NDArray[np.uint8] | None = None) -> MeshGeometry:
    return MeshGeometry(
        np.asarray(mesh.vertices, dtype=np.float32),
        np.asarray(mesh.faces, dtype=np.uint32),
        np.asarray(mesh.vertex_normals, dtype=np.float32),
        colors,
    )


def own_colors(mesh: trimesh.Trimesh) -> npt.NDArray[np.uint8] | None:
    """The file's own colours, one RGBA per vertex: vertex or face colours, a texture sampled at each
    vertex's texture coordinates (neither viewer textures arbitrary meshes; a mesh whose colour changes
    inside a triangle gets the colours at its corners), else its material's colour; None when it has
    none. Colours are optional: a file whose colours cannot be read keeps its triangles."""
    visual: Any = mesh.visual
    count = len(mesh.vertices)
    try:
        if visual is None or not visual.defined:
            return None
        colors = _texture_colors(visual, count) if visual.kind == "texture" else visual.vertex_colors
        colors = np.asarray(colors, dtype=np.uint8)
    except Exception:  # trimesh's colour code raises many kinds for odd materials: no colours then
        return None
    if colors.shape == (4,):  # a material's one colour (a DAE or glTF material without a texture)
        colors = np.tile(colors, (count, 1))
    if colors.shape == (count, 3):
        colors = np.hstack([colors, np.full((count, 1), 255, dtype=np.uint8)])
    return colors if colors.shape == (count, 4) else None


def _texture_colors(visual: Any, count: int) -> Any:
    """A textured visual's colours: the texture (or glTF base colour texture) at each vertex's UV, else
    the material's main colour (an OBJ / MTL or glTF material without an image, or no UVs)."""
    material = visual.material
    uv = visual.uv
    if uv is not None and len(uv) == count:
        sampled = material.to_color(np.asarray(uv, dtype=np.float64))
        if sampled is not None:
            return sampled
    return material.main_color


def load_mesh_file(path: Path, scale: npt.ArrayLike | None = None) -> MeshGeometry:
    """A mesh file (STL, OBJ, DAE, glTF/GLB, PLY, ...) as one triangle mesh, scaled per axis."""
    try:
        import trimesh  # imported when a robot is drawn: it costs a quarter second to import

        loaded = trimesh.load(str(path), force="mesh", process=False)
    except Exception as err:  # trimesh raises many kinds for bad files; all mean "cannot read it"
        raise MeshLoadError(f"cannot read mesh {path.name}: {type(err).__name__}: {err}") from err
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise MeshLoadError(f"mesh {path.name} has no triangles")
    if scale is not None:
        factors = np.asarray(scale, dtype=np.float64).reshape(1, 3)
        loaded.vertices = np.asarray(loaded.vertices) * factors
        # A mirror (scale="1 -1 1", a left part made from a right one) turns the mesh inside out.
        if np.prod(factors) < 0:
            loaded.faces = np.asarray(loaded.faces)[:, ::-1]
    return _geometry(loaded, own_colors(loaded))


def box(size: npt.ArrayLike) -> MeshGeometry:
    """A URDF ``<box size>``: full edge lengths, centred on the origin."""
    import trimesh

    return _shaded(trimesh.creation.box(extents=np.asarray(size, dtype=np.float64)))


def cylinder(radius: float, length: float) -> MeshGeometry:
    """A URDF ``<cylinder>``: along z, centred on the origin."""
    import trimesh

    return _shaded(trimesh.creation.cylinder(radius=radius, height=length, sections=CYLINDER_SECTIONS))


def sphere(radius: float) -> MeshGeometry:
    import trimesh

    return _shaded(trimesh.creation.icosphere(subdivisions=SPHERE_SUBDIVISIONS, radius=radius))
