"""What the 3D view draws besides its own shapes: textured meshes (map tiles), ellipsoids (covariances),
and Asset3D meshes and capsules (:mod:`.assets3d`).

:class:`SceneExtras` is called by :class:`~rerun_bridge.viewer.views.spatial3d_view.Spatial3DView` once
per update with the view's placement function, and keeps its own GL items.

* A ``Mesh3D`` with an ``albedo_texture`` (``albedo_texture_buffer`` / ``_format``) and
  ``vertex_texcoords`` whose vertices are an affine image of their texture coordinates (a flat
  parallelogram: the bridge's map tiles) is drawn as a textured quad (pyqtgraph's ``GLImageItem``,
  nearest texel, so map cells stay sharp), its texels multiplied by ``albedo_factor`` as Rerun multiplies
  them (a map plane's opacity); the texture is uploaded only when its blob or factor changes. A textured
  mesh of any other shape is left to the view's flat-coloured mesh drawing, with a note.
* ``Ellipsoids3D`` are drawn as Rerun draws them by default, as wireframes: the three rings of their
  principal planes, in ``Ellipsoids3D:colors`` or the entity's colour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyqtgraph.opengl as gl
from OpenGL import GL
from PyQt6 import QtGui

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.tf import quaternion as quat
from rerun_bridge.tf.buffer import Transform
from rerun_bridge.viewer.component_values import blob, colors_rgba, image_format, vectors
from rerun_bridge.viewer.views.assets3d import SceneAssets
from rerun_bridge.viewer.views.image_decode import ImageDecodeError, decode_image, to_rgba8
from rerun_bridge.viewer.views.wireframes import WireframeLayer

TEXTURE: Final = "Mesh3D:albedo_texture_buffer"
_WHITE: Final = (255, 255, 255, 255)
ELLIPSOIDS: Final = "Ellipsoids3D:half_sizes"
#: Segments of each of an ellipsoid's three rings.
RING_SEGMENTS: Final = 32
#: How far (scene units, relative to the mesh's size) vertices may stray from a flat affine texture map.
_FLATNESS: Final = 1e-4

Placement = Callable[[str, dict[str, pa.Array], str, int, "str | None"], "Transform | None"]


def texture_matrix(
    positions: npt.NDArray[np.float32], texcoords: npt.NDArray[np.float32], width: int, height: int
) -> npt.NDArray[np.float64] | None:
    """The 4x4 affine map from texel coordinates ``(u * width, v * height, 0)`` to the mesh's vertices;
    None when the vertices are not such an image of their texture coordinates (not a flat quad)."""
    if len(positions) < 3 or len(texcoords) != len(positions):
        return None
    texels = np.column_stack([texcoords[:, 0] * width, texcoords[:, 1] * height, np.ones(len(texcoords))])
    solution, _residuals, rank, _singular = np.linalg.lstsq(texels, positions.astype(np.float64), rcond=None)
    if rank < 3:
        return None
    extent = float(np.ptp(positions, axis=0).max()) or 1.0
    if np.abs(texels @ solution - positions).max() > _FLATNESS * extent:
        return None
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 3] = solution[0], solution[1], solution[2]
    normal = np.cross(solution[0], solution[1])
    matrix[:3, 2] = normal / (np.linalg.norm(normal) or 1.0)
    return matrix


def ellipsoid_rings(
    half_sizes: npt.NDArray[np.float32],
    centers: npt.NDArray[np.float32],
    quaternions: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """The rings of each ellipsoid's three principal planes as segment vertex pairs."""
    count = len(half_sizes)
    if count == 0:
        return np.zeros((0, 3), dtype=np.float32)
    angles = np.linspace(0.0, 2 * np.pi, RING_SEGMENTS + 1)
    circle = np.column_stack([np.cos(angles), np.sin(angles)])
    unit = np.zeros((3, RING_SEGMENTS + 1, 3))
    for ring, (first, second) in enumerate(((0, 1), (1, 2), (0, 2))):
        unit[ring, :, first], unit[ring, :, second] = circle[:, 0], circle[:, 1]
    pairs = np.stack([unit[:, :-1], unit[:, 1:]], axis=2).reshape(-1, 3)  # (3 * segments * 2, 3)
    middle = _repeat_last(centers, count, np.zeros(3))
    rotations = quat.to_matrix(
        quat.normalize(_repeat_last(quaternions, count, np.array([0.0, 0.0, 0.0, 1.0])))
    )
    scaled = pairs[None, :, :] * half_sizes.astype(np.float64)[:, None, :]
    placed: npt.NDArray[np.float64] = np.einsum("nij,nkj->nki", rotations, scaled) + middle[:, None, :]
    return placed.reshape(-1, 3).astype(np.float32)


def _repeat_last(
    values: npt.NDArray[Any], count: int, default: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``count`` rows: the values, the last one repeated (Rerun's rule), the default when there are none."""
    rows = np.asarray(values, dtype=np.float64).reshape(-1, len(default))
    if len(rows) == 0:
        return np.tile(default, (count, 1))
    if len(rows) < count:
        rows = np.vstack([rows, np.repeat(rows[-1:], count - len(rows), axis=0)])
    return rows[:count]


def _blob_key(values: pa.Array | None) -> tuple[int, int] | None:
    """Identifies the stored blob (its buffer address and end), so an unchanged texture is kept."""
    if values is None or len(values) == 0 or not values[0].is_valid:
        return None
    column = values[0].values
    data = column.buffers()[1]
    return (data.address if data is not None else 0, column.offset + len(column))


def homogeneous(placement: Transform) -> npt.NDArray[np.float64]:
    matrix = np.eye(4)
    matrix[:3, :3] = quat.to_matrix(placement.rotation)
    matrix[:3, 3] = placement.translation
    return matrix


class MipmappedImageItem(gl.GLImageItem):  # type: ignore[misc]  # pyqtgraph is untyped
    """pyqtgraph's textured quad with mipmaps: a big map seen whole samples a smaller level, which keeps
    a 4000 x 4000 map's frame time low under software GL (and it no longer shimmers); magnified cells
    stay sharp (nearest texel)."""

    def paint(self) -> None:
        if self.depthValue() <= 0:
            # Opaque: pushed away from the eye, so that what lies in its plane (GridCells, a path, marker
            # outlines at z = 0) is drawn over it, as in RViz and Rerun's viewer (it hid them: audit).
            GL.glEnable(GL.GL_POLYGON_OFFSET_FILL)
            GL.glPolygonOffset(1.0, 2.0)
            try:
                super().paint()
            finally:
                GL.glDisable(GL.GL_POLYGON_OFFSET_FILL)
            return
        # Translucent (a costmap over its map, in one plane): drawn after the opaque items, pulled towards
        # the eye so that the plane below does not hide it, and leaving the depth buffer as it was.
        GL.glEnable(GL.GL_POLYGON_OFFSET_FILL)
        GL.glPolygonOffset(-1.0, -2.0)
        GL.glDepthMask(GL.GL_FALSE)
        try:
            super().paint()
        finally:
            GL.glDepthMask(GL.GL_TRUE)
            GL.glDisable(GL.GL_POLYGON_OFFSET_FILL)

    def _updateTexture(self) -> None:  # noqa: N802 (pyqtgraph's name)
        super()._updateTexture()
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glGenerateMipmap(GL.GL_TEXTURE_2D)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_NEAREST_MIPMAP_NEAREST)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)


class SceneExtras:
    """Textured meshes and ellipsoids of one 3D view, kept as GL items between updates."""

    def __init__(
        self, gl_view: gl.GLViewWidget, store: ChunkStore, entities_with: Callable[[str], list[str]]
    ) -> None:
        self.gl_view = gl_view
        self.store = store
        self.entities_with = entities_with
        self.textured: dict[str, gl.GLImageItem] = {}
        #: The blob each textured item shows (address, length): an unchanged texture is not uploaded again.
        self._texture_keys: dict[str, tuple[tuple[int, int], tuple[int, ...]]] = {}
        self.ellipsoids = WireframeLayer(gl_view)
        #: Asset3D meshes and capsules: assets3d.py.
        self.assets = SceneAssets(gl_view, store, entities_with)

    def owns(self, entity: str) -> bool:
        """Whether this entity's mesh is drawn here (the view's own mesh drawing leaves it alone)."""
        return entity in self.textured and self.textured[entity].visible()

    def update(self, timeline: str, time: int, fixed: str | None, place: Placement, notes: list[str]) -> None:
        self._update_textured(timeline, time, fixed, place, notes)
        self._update_ellipsoids(timeline, time, fixed, place)
        self.assets.update(timeline, time, fixed, place, notes)

    def _update_textured(
        self, timeline: str, time: int, fixed: str | None, place: Placement, notes: list[str]
    ) -> None:
        shown: set[str] = set()
        for entity in self.entities_with(TEXTURE):
            values = self.store.latest_at(entity, timeline, time)
            positions = vectors(values.get("Mesh3D:vertex_positions"), 3)
            size = self._textured_item(entity, values, notes) if len(positions) else None
            if size is None:
                continue
            texels = texture_matrix(positions, vectors(values.get("Mesh3D:vertex_texcoords"), 2), *size)
            if texels is None:
                notes.append(
                    f"{entity}: a textured mesh that is not a flat quad is drawn without its texture"
                )
                continue
            placement = place(entity, values, timeline, time, fixed)
            if placement is None:
                continue
            matrix = (homogeneous(placement) @ texels).astype(np.float32)
            item = self.textured[entity]
            item.setTransform(QtGui.QMatrix4x4(*matrix.reshape(-1)))
            item.setVisible(True)
            shown.add(entity)
        for entity in list(self.textured):
            if entity not in shown:
                self.gl_view.removeItem(self.textured.pop(entity))
                self._texture_keys.pop(entity, None)

    def _textured_item(
        self, entity: str, values: dict[str, pa.Array], notes: list[str]
    ) -> tuple[int, int] | None:
        """Make or refresh the entity's quad; its texture (width, height). A texture is decoded and
        uploaded only when the stored blob is another one than the quad shows."""
        blob_key = _blob_key(values.get(TEXTURE))
        albedo = colors_rgba(values.get("Mesh3D:albedo_factor"), 1)
        factor = tuple(round(255 * float(channel)) for channel in albedo[0]) if albedo is not None else _WHITE
        key = (blob_key, factor) if blob_key is not None else None
        item = self.textured.get(entity)
        if item is not None and key is not None and self._texture_keys.get(entity) == key:
            data = item.data
            return int(data.shape[0]), int(data.shape[1])
        texture = self._texture(entity, values, notes)
        if texture is None or key is None:
            return None
        if factor != _WHITE:
            scaled = texture.astype(np.uint16) * np.array(factor, dtype=np.uint16) // 255
            texture = scaled.astype(np.uint8)
        opaque = bool((texture[..., 3] == 255).all())
        options = "opaque" if opaque else "translucent"
        if item is None:
            item = self.textured[entity] = MipmappedImageItem(texture.transpose(1, 0, 2), glOptions=options)
            self.gl_view.addItem(item)
        else:
            item.setGLOptions(options)
            item.setData(texture.transpose(1, 0, 2))
        item.setDepthValue(0 if opaque else 1)
        self._texture_keys[entity] = key
        return int(texture.shape[1]), int(texture.shape[0])

    def _texture(
        self, entity: str, values: dict[str, pa.Array], notes: list[str]
    ) -> npt.NDArray[np.uint8] | None:
        buffer = blob(values.get(TEXTURE))
        fmt = image_format(values.get("Mesh3D:albedo_texture_format"))
        if buffer is None or fmt is None:
            return None
        try:
            return to_rgba8(decode_image(buffer, fmt))
        except ImageDecodeError as err:
            notes.append(f"{entity}: {err}")
            return None

    def _update_ellipsoids(self, timeline: str, time: int, fixed: str | None, place: Placement) -> None:
        for entity in self.entities_with(ELLIPSOIDS):
            values = self.store.latest_at(entity, timeline, time)
            half_sizes = vectors(values.get(ELLIPSOIDS), 3)
            placement = place(entity, values, timeline, time, fixed) if len(half_sizes) else None
            if placement is None:
                continue
            rings = ellipsoid_rings(
                half_sizes,
                vectors(values.get("Ellipsoids3D:centers"), 3),
                vectors(values.get("Ellipsoids3D:quaternions"), 4),
            )
            rgba = colors_rgba(values.get("Ellipsoids3D:colors"), len(half_sizes))
            self.ellipsoids.draw(entity, placement.apply(rings), rgba, len(half_sizes))
        self.ellipsoids.prune()
