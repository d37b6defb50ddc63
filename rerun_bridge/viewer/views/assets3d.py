"""3D shapes drawn through :class:`~rerun_bridge.viewer.views.scene_extras.SceneExtras`: ``Asset3D`` mesh
files and ``Capsules3D``.

* ``Asset3D``: the blob (STL, OBJ, glTF / GLB, by ``media_type``, else by its first bytes) is read with
  trimesh once per stored blob and drawn as triangles in the file's own colours (materials, vertex
  colours, textures sampled at the vertices, as the robot model's meshes) multiplied by ``albedo_factor``,
  or, for a file without colours, flat in ``albedo_factor`` else the entity's colour; once per instance
  of the entity's ``InstancePoses3D`` (translation, quaternion, scale; a marker's MESH_RESOURCE is
  placed that way). A blob trimesh cannot read is named in a note.
* ``Capsules3D``: wireframes as Rerun defines capsules: the two cap centres at ``(0, 0, 0)`` and
  ``(0, 0, length)``, an end circle and two half-circle arcs around each, four side lines; then each
  instance's ``translations`` and ``quaternions``. Colours per instance (``colors``), else the entity's.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyqtgraph.opengl as gl

from rerun_bridge.robot.meshes import own_colors
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.tf import quaternion as quat
from rerun_bridge.tf.buffer import Transform
from rerun_bridge.viewer.component_values import (
    blob,
    colors_rgba,
    entity_color,
    first_string,
    floats,
    vectors,
)
from rerun_bridge.viewer.views.wireframes import WireframeLayer

ASSET: Final = "Asset3D:blob"
CAPSULES: Final = "Capsules3D:lengths"
#: trimesh's file type per Rerun media type.
ASSET_FILE_TYPES: Final = {
    "model/stl": "stl",
    "model/obj": "obj",
    "model/gltf-binary": "glb",
    "model/gltf+json": "gltf",
}
ARC_SEGMENTS: Final = 12
_IDENTITY_QUATERNION: Final = np.array([0.0, 0.0, 0.0, 1.0])

Placement = Callable[[str, dict[str, pa.Array], str, int, "str | None"], "Transform | None"]
FloatArray = npt.NDArray[np.float32]


class AssetLoadError(Exception):
    """An Asset3D blob that trimesh cannot read as triangles."""


def _file_type(data: bytes, media_type: str | None) -> str:
    if media_type in ASSET_FILE_TYPES:
        return ASSET_FILE_TYPES[media_type]
    if data[:4] == b"glTF":
        return "glb"
    return "obj" if data.lstrip()[:2] in (b"v ", b"o ", b"# ", b"mt") else "stl"


class AssetMesh(NamedTuple):
    """A mesh file's triangles: vertices (N, 3), faces (M, 3), its own RGBA per vertex (0-1) or None."""

    vertices: FloatArray
    faces: npt.NDArray[np.int64]
    colors: FloatArray | None


def load_asset(data: bytes, media_type: str | None) -> AssetMesh:
    """The triangles of a mesh file and its colours; :class:`AssetLoadError` if it has no triangles."""
    try:
        import trimesh  # imported when an asset is drawn: a quarter second of every start otherwise

        loaded = trimesh.load(io.BytesIO(data), file_type=_file_type(data, media_type), force="mesh")
    except Exception as err:  # trimesh raises many kinds for a bad file: all mean "cannot draw it"
        raise AssetLoadError(f"cannot read the mesh ({err})") from err
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise AssetLoadError("the mesh has no triangles")
    colors = own_colors(loaded)
    return AssetMesh(
        np.asarray(loaded.vertices, np.float32),
        np.asarray(loaded.faces, np.int64),
        None if colors is None else (colors / 255.0).astype(np.float32),
    )


def _rows(values: npt.NDArray[Any], count: int, default: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``count`` rows, the last one repeated (Rerun's rule), ``default`` when there are none."""
    array = np.asarray(values, np.float64).reshape(-1, len(default))
    if len(array) == 0:
        return np.tile(default, (count, 1))
    return np.vstack([array, np.repeat(array[-1:], max(0, count - len(array)), axis=0)])[:count]


def instance_vertices(vertices: FloatArray, values: Mapping[str, pa.Array]) -> list[npt.NDArray[np.float64]]:
    """The vertices once per ``InstancePoses3D`` instance: scaled, rotated, then translated."""
    translations = vectors(values.get("InstancePoses3D:translations"), 3)
    quaternions = vectors(values.get("InstancePoses3D:quaternions"), 4)
    scales = vectors(values.get("InstancePoses3D:scales"), 3)
    count = max(len(translations), len(quaternions), len(scales), 1)
    moves = _rows(translations, count, np.zeros(3))
    turns = quat.to_matrix(quat.normalize(_rows(quaternions, count, _IDENTITY_QUATERNION)))
    sizes = _rows(scales, count, np.ones(3))
    local = vertices.astype(np.float64)
    return [(local * sizes[index]) @ turns[index].T + moves[index] for index in range(count)]


def _pairs(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """A polyline as segment vertex pairs."""
    pairs = np.empty((2 * (len(points) - 1), 3))
    pairs[0::2], pairs[1::2] = points[:-1], points[1:]
    return pairs


def _arc(first: int, second: int, start: float, stop: float) -> npt.NDArray[np.float64]:
    """A unit arc in the plane of two axes (cos along ``first``, sin along ``second``), as segment pairs."""
    angles = np.linspace(start, stop, ARC_SEGMENTS + 1)
    points = np.zeros((ARC_SEGMENTS + 1, 3))
    points[:, first], points[:, second] = np.cos(angles), np.sin(angles)
    return _pairs(points)


def _unit_capsule_parts() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """A unit-radius capsule's wireframe as segment pairs, and per point 1 where it moves up by the
    length (the top cap), 0 where it stays at the bottom cap."""
    ring = _arc(0, 1, 0.0, 2.0 * np.pi)
    bottom = np.vstack([_arc(0, 2, np.pi, 2.0 * np.pi), _arc(1, 2, np.pi, 2.0 * np.pi)])
    top = np.vstack([_arc(0, 2, 0.0, np.pi), _arc(1, 2, 0.0, np.pi)])
    sides = np.array([[x, y, 0.0] for x, y in ((1, 0), (0, 1), (-1, 0), (0, -1)) for _end in range(2)])
    parts = (ring, ring, bottom, top, sides)
    lifted = (0.0, 1.0, 0.0, 1.0, None)
    at_top = [
        np.tile([0.0, 1.0], len(part) // 2) if lift is None else np.full(len(part), lift)
        for part, lift in zip(parts, lifted, strict=True)
    ]
    return np.vstack(parts), np.concatenate(at_top)


def capsule_edges(
    lengths: npt.ArrayLike,
    radii: npt.ArrayLike,
    translations: npt.ArrayLike | None = None,
    quaternions: npt.ArrayLike | None = None,
) -> FloatArray:
    """Capsules' wireframes as segment vertex pairs, the same number of vertices per capsule, in order."""
    heights = np.asarray(lengths, np.float64).reshape(-1)
    count = len(heights)
    if count == 0:
        return np.zeros((0, 3), np.float32)
    widths = _rows(np.asarray(radii, np.float64), count, np.ones(1)).reshape(-1)
    unit, at_top = _unit_capsule_parts()
    local = unit[None, :, :] * widths[:, None, None]
    local[:, :, 2] += at_top[None, :] * heights[:, None]
    moves = _rows(np.asarray(translations if translations is not None else []), count, np.zeros(3))
    turns = quat.to_matrix(
        quat.normalize(
            _rows(np.asarray(quaternions if quaternions is not None else []), count, _IDENTITY_QUATERNION)
        )
    )
    placed: npt.NDArray[np.float64] = np.einsum("nij,nkj->nki", turns, local) + moves[:, None, :]
    return placed.reshape(-1, 3).astype(np.float32)


class SceneAssets:
    """The Asset3D meshes and capsules of one 3D view, kept as GL items between updates."""

    def __init__(
        self, gl_view: gl.GLViewWidget, store: ChunkStore, entities_with: Callable[[str], list[str]]
    ) -> None:
        self.gl_view = gl_view
        self.store = store
        self.entities_with = entities_with
        self.assets: dict[str, list[gl.GLMeshItem]] = {}
        self.capsules = WireframeLayer(gl_view)
        #: Each entity's loaded blob: (address, length) of the stored bytes -> its triangles.
        self._loaded: dict[str, tuple[tuple[int, int], AssetMesh]] = {}

    def update(self, timeline: str, time: int, fixed: str | None, place: Placement, notes: list[str]) -> None:
        self._update_assets(timeline, time, fixed, place, notes)
        self._update_capsules(timeline, time, fixed, place)

    def _triangles(self, entity: str, values: dict[str, pa.Array]) -> AssetMesh | None:
        data = blob(values.get(ASSET))
        if data is None:
            return None
        key = (int(data.ctypes.data), len(data))
        cached = self._loaded.get(entity)
        if cached is not None and cached[0] == key:
            return cached[1]
        mesh = load_asset(data.tobytes(), first_string(values.get("Asset3D:media_type")))
        self._loaded[entity] = (key, mesh)
        return mesh

    def _update_assets(
        self, timeline: str, time: int, fixed: str | None, place: Placement, notes: list[str]
    ) -> None:
        shown: set[str] = set()
        for entity in self.entities_with(ASSET):
            values = self.store.latest_at(entity, timeline, time)
            try:
                triangles = self._triangles(entity, values)
            except AssetLoadError as err:
                notes.append(f"{entity}: {err}")
                continue
            placement = place(entity, values, timeline, time, fixed) if triangles is not None else None
            if triangles is None or placement is None:
                continue
            vertices, faces, own = triangles
            albedo = colors_rgba(values.get("Asset3D:albedo_factor"), 1)
            if own is not None:
                vertex_colors = own * np.asarray(albedo[0], np.float32) if albedo is not None else own
            else:
                color = np.array(albedo[0] if albedo is not None else entity_color(entity), np.float32)
                vertex_colors = np.tile(color, (len(vertices), 1))
            instances = instance_vertices(vertices, values)
            items = self.assets.setdefault(entity, [])
            while len(items) > len(instances):
                self.gl_view.removeItem(items.pop())
            while len(items) < len(instances):
                item = gl.GLMeshItem(smooth=False, computeNormals=False)
                item.setGLOptions("opaque")
                self.gl_view.addItem(item)
                items.append(item)
            for item, placed in zip(items, instances, strict=True):
                mesh = gl.MeshData(vertexes=placement.apply(placed).astype(np.float32), faces=faces)
                mesh.setVertexColors(vertex_colors)
                item.setMeshData(meshdata=mesh)
                item.setVisible(True)
            shown.add(entity)
        for entity in list(self.assets):
            if entity not in shown:
                for item in self.assets.pop(entity):
                    self.gl_view.removeItem(item)
                self._loaded.pop(entity, None)

    def _update_capsules(self, timeline: str, time: int, fixed: str | None, place: Placement) -> None:
        for entity in self.entities_with(CAPSULES):
            values = self.store.latest_at(entity, timeline, time)
            lengths = floats(values.get(CAPSULES))
            placement = place(entity, values, timeline, time, fixed) if len(lengths) else None
            if placement is None:
                continue
            edges = capsule_edges(
                lengths,
                floats(values.get("Capsules3D:radii")),
                vectors(values.get("Capsules3D:translations"), 3),
                vectors(values.get("Capsules3D:quaternions"), 4),
            )
            rgba = colors_rgba(values.get("Capsules3D:colors"), len(lengths))
            self.capsules.draw(entity, placement.apply(edges), rgba, len(lengths))
        self.capsules.prune()
