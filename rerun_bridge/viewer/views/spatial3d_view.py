"""The 3D view: points, lines, boxes, arrows, meshes, camera frustums with their image and TF frames in
one fixed frame, drawn with OpenGL (pyqtgraph).

Each entity is placed by its ``CoordinateFrame:frame`` through the TF tree at the current time (see
:class:`~rerun_bridge.viewer.transforms.SceneTransforms`); an entity without a frame is drawn in the
fixed frame as it is. Entities whose frame cannot be reached are skipped and named in the note under the
scene. Clouds larger than ``max_points`` are drawn at a level of detail (a stable subset of ``max_points``
of their points, see :mod:`level_of_detail`) and the note says so: the view never drops points silently.

Settings: ``fixed_frame`` (default: ``map`` / ``world`` / ``odom`` or another TF root), ``max_points``
(per entity, default 200 000), ``grid`` (bool), ``frames`` (draw TF frames, bool), ``axis_length``
(metres), ``point_radius`` (for points without radii: metres, or UI points when negative), ``point_size``
(pixels, when there is no radius at all), ``background`` (r, g, b 0-255), and the camera: ``camera_center``
(x, y, z), ``camera_distance``, ``camera_azimuth``, ``camera_elevation`` (degrees), ``camera_fov``. Without
``camera_center`` / ``camera_distance``, a scene that first shows up out of the default camera's reach
(UTM or map coordinates kilometres from the origin) is framed once: the camera looks at the middle of the
points from far enough to see most of them; later scrubbing keeps the camera where it is;
``frustum_depth`` (metres from a camera to the image it shows, when its ``Pinhole`` has no
``image_plane_distance``; default 1); ``styles``: per entity path (and what lies below it; the deepest
path wins) a ``color`` (r, g, b, a 0-255) drawn instead of the data's colours and a ``radius`` for its
points (metres, or UI points when negative), as RViz displays' flat colour and size come in.

``Boxes3D``, ``Arrows3D``, ``Ellipsoids3D`` and ``Cylinders3D`` are drawn as lines (box wireframes, arrows
with four-line heads, an ellipsoid's three principal rings, a cylinder's end circles and four sides), each
instance in its own colour, ``Mesh3D`` as flat-coloured triangles; the ``labels`` of points, boxes,
ellipsoids, cylinders and arrows are painted at their instances. Data hidden by a ``Clear`` (a marker's
DELETE, DELETEALL or lifetime) is not drawn from the Clear's time on (the store's latest-at).

A ``Pinhole`` draws its frustum at its ``parent_frame`` (else the entity's frame) and, on the frustum's
far plane, the image that lies in its ``child_frame`` (the bridge puts camera images on
``<frame>_image_plane``) or below its entity path (Rerun's hierarchy convention).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyqtgraph.opengl as gl
from PyQt6 import QtGui, QtWidgets

from rerun_bridge.convert.marker_frame_lock import FRAME_LOCKED
from rerun_bridge.tf import quaternion as quat
from rerun_bridge.tf.buffer import Transform, body_frame, is_body_entity
from rerun_bridge.viewer.component_values import (
    blob,
    colors_rgba,
    entity_color,
    first_flag,
    first_string,
    floats,
    image_format,
    vectors,
)
from rerun_bridge.viewer.transforms import CHILD_FRAME, COORDINATE_FRAME
from rerun_bridge.viewer.views.assets3d import instance_vertices
from rerun_bridge.viewer.views.base import ViewBase, is_under, note_label, show_notes
from rerun_bridge.viewer.views.camera_framing import axis_length_for, frame_points, local_origin_for
from rerun_bridge.viewer.views.frame_labels import (
    HOVER_RADIUS_PX,
    MAX_FRAME_LABELS,
    HoverTracker,
    canvas_pixels,
    labelled_frames,
    nearest_frame,
)
from rerun_bridge.viewer.views.image_decode import ImageDecodeError, decode_encoded, decode_image, to_rgba8
from rerun_bridge.viewer.views.level_of_detail import detail_indices, detail_note, take_instances
from rerun_bridge.viewer.views.offscreen_gl import SceneCanvas, SceneLabel
from rerun_bridge.viewer.views.scene_extras import TEXTURE, SceneExtras
from rerun_bridge.viewer.views.shapes3d import (
    CYLINDER_VERTICES,
    ELLIPSOID_VERTICES,
    arrow_segments,
    box_edges,
    cylinder_edges,
    ellipsoid_rings,
    frustum_edges,
    image_plane_matrix,
    matrix3x3,
)
from rerun_bridge.viewer.views.wireframes import LINE_GL_OPTIONS

POSITIONS: Final = "Points3D:positions"
STRIPS: Final = "LineStrips3D:strips"
BOXES: Final = "Boxes3D:half_sizes"
ARROWS: Final = "Arrows3D:vectors"
MESH: Final = "Mesh3D:vertex_positions"
PINHOLE: Final = "Pinhole:image_from_camera"
ELLIPSOIDS: Final = "Ellipsoids3D:half_sizes"
CYLINDERS: Final = "Cylinders3D:lengths"
#: Wireframe shapes drawn by circles: the component that makes an instance, and vertices per instance.
_ROUND_SHAPES: Final = {
    "Ellipsoids3D": (ELLIPSOIDS, ELLIPSOID_VERTICES),
    "Cylinders3D": (CYLINDERS, CYLINDER_VERTICES),
}
#: Instances of an entity past which its labels are not drawn (Rerun's viewer stops at the same count).
MAX_LABELS_PER_ENTITY: Final = 30
#: Archetypes whose labels are drawn, and the component that places each instance's label.
_LABEL_ANCHORS: Final = {
    "Points3D": POSITIONS,
    "Boxes3D": "Boxes3D:centers",
    "Ellipsoids3D": "Ellipsoids3D:centers",
    "Cylinders3D": "Cylinders3D:centers",
    "Arrows3D": "Arrows3D:origins",
}
#: Image components a frustum can show (colour and encoded images), and the blob each keeps its data in.
_CAMERA_IMAGES: Final = {"Image:buffer": "Image:format", "EncodedImage:blob": ""}
#: Vertices each instance of a line-drawn shape becomes (see :mod:`shapes3d`).
_BOX_VERTICES: Final = 24
_ARROW_VERTICES: Final = 10
_DEFAULT_FRUSTUM_DEPTH: Final = 1.0
#: Points drawn per cloud: llvmpipe draws 200 k in about 50 ms, so a 1 M cloud stays under 100 ms a frame.
DEFAULT_MAX_POINTS: Final = 200_000
#: Points per entity the camera framing looks at.
_FRAMING_SAMPLE: Final = 2_000
_DEFAULT_POINT_SIZE_PX: Final = 3.0
_AXIS_COLORS: Final = np.array(
    [[1, 0, 0, 1], [1, 0, 0, 1], [0, 1, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=np.float32
)
_BACKGROUND: Final = (24, 26, 31)
#: The frame the camera follows when the blueprint names none (RViz's usual Target Frame).
_DEFAULT_FOLLOW_FRAME: Final = "base_link"
_FRAME_LABEL_COLOR: Final = (220, 220, 220)


class Spatial3DView(ViewBase):
    """Points3D, LineStrips3D and TF frames of the selected entities, in the fixed frame."""

    kind = "spatial3d"

    def _build(self) -> None:
        #: Renders offscreen into the canvas, so the window is never composed through GL (offscreen_gl).
        self.canvas = SceneCanvas()
        self.gl_view = self.canvas.renderer
        self.gl_view.setBackgroundColor(tuple(self.settings.get("background") or _BACKGROUND))
        self.note = note_label()
        # The fixed frame is chosen here at any time; the blueprint's ``fixed_frame`` is the first choice.
        self.frame_choice = QtWidgets.QComboBox()
        self.frame_choice.setToolTip("fixed frame: everything is drawn in this TF frame")
        self.frame_choice.activated.connect(self._frame_chosen)
        self._choice_frames: tuple[str, ...] | None = None
        # Follows a TF frame (RViz's Target Frame): the camera's centre moves with it at every update.
        self.follow_box = QtWidgets.QCheckBox("follow")
        self.follow_box.setChecked(bool(self.settings.get("follow", False)))
        self.follow_box.toggled.connect(lambda _checked: self.refresh())
        toolbar = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(toolbar)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.frame_choice, 1)
        row.addWidget(self.follow_box)
        self._stack(self.canvas, self.note).insertWidget(0, toolbar)
        self.max_points = int(self.settings.get("max_points", DEFAULT_MAX_POINTS))
        self.grid = gl.GLGridItem()
        self.grid.setSize(20, 20)
        self.grid.setSpacing(1, 1)
        self.grid.setVisible(bool(self.settings.get("grid", True)))
        self.gl_view.addItem(self.grid)
        self.frame_axes = gl.GLLinePlotItem(mode="lines", width=2, antialias=False)
        self.frame_axes.setVisible(bool(self.settings.get("frames", True)))
        self.gl_view.addItem(self.frame_axes)
        self.points: dict[str, gl.GLScatterPlotItem] = {}
        self.strips: dict[str, gl.GLLinePlotItem] = {}
        #: TF frame names and data labels, painted by the canvas over the scene (see offscreen_gl).
        self.frame_labels = self.canvas.labels
        #: Keys of the data labels among them (``Archetype:entity#instance``).
        self._data_labels: set[str] = set()
        #: Origins of the TF frames drawn now (fixed frame), and the frame the mouse is over.
        self._frame_placements: dict[str, Transform] = {}
        self._frame_origins: dict[str, npt.NDArray[np.float32]] = {}
        self._fixed_for_labels: str | None = None
        self._follow_for_labels: str | None = None
        self._hovered_frame: str | None = None
        self._selected_frame: str | None = None
        self._hover = HoverTracker(self.canvas, self._mouse_moved)
        #: Line-drawn shapes (boxes, arrows, frustums), keyed ``Archetype:entity``.
        self.shapes: dict[str, gl.GLLinePlotItem] = {}
        self.meshes: dict[str, gl.GLMeshItem] = {}
        #: Frustum images, keyed by the Pinhole entity.
        self.camera_images: dict[str, gl.GLImageItem] = {}
        self.notes: list[str] = []
        #: Textured meshes (map tiles) and ellipsoids (covariances): scene_extras.py.
        self.extras = SceneExtras(self.gl_view, self.store, self.entities_with)
        #: Points placed in this update (a sample per entity): what the camera is framed on.
        self._placed_samples: list[npt.NDArray[np.float32]] = []
        #: Whether this update placed data, not only TF axes (see :meth:`_frame_camera_once`).
        self._placed_data = False
        #: Where the fixed frame's point that GL draws at its origin is: data kilometres away (UTM) is
        #: drawn relative to it (camera_framing.local_origin_for).
        self.scene_origin = np.zeros(3)
        #: The blueprint or the user placed the camera: no framing moves it.
        self._camera_placed = "camera_center" in self.settings or "camera_distance" in self.settings
        self._camera_framed = self._camera_placed
        self.canvas.camera_moved.connect(self._camera_moved_by_user)
        self.apply_camera_settings()

    # -- camera --------------------------------------------------------------------------------------

    def apply_camera_settings(self) -> None:
        center = self.settings.get("camera_center", (0.0, 0.0, 0.0))
        self.gl_view.setCameraParams(fov=float(self.settings.get("camera_fov", 60.0)))
        self.gl_view.setCameraPosition(
            pos=QtGui.QVector3D(*(float(value) for value in center)),
            distance=float(self.settings.get("camera_distance", 12.0)),
            elevation=float(self.settings.get("camera_elevation", 35.0)),
            azimuth=float(self.settings.get("camera_azimuth", -120.0)),
        )

    def entity_style(self, entity: str) -> tuple[tuple[float, float, float, float] | None, float | None]:
        """The colour (0-1 RGBA) and point radius the blueprint gives ``entity``; None where it is silent."""
        styles = self.settings.get("styles") or {}
        owners = [path for path in styles if is_under(entity, path)]
        if not owners:
            return None, None
        style = styles[max(owners, key=len)]
        color = style.get("color")
        rgba = None
        if color is not None:
            red, green, blue, alpha = (float(channel) / 255.0 for channel in color)
            rgba = (red, green, blue, alpha)
        radius = style.get("radius")
        return rgba, None if radius is None else float(radius)

    def _sample_for_framing(self, placed: npt.NDArray[np.float32], data: bool = True) -> None:
        """Up to about :data:`_FRAMING_SAMPLE` of an entity's placed points, for the first framing
        (``data`` False: the TF frames' origins)."""
        if not self._camera_framed:
            self._placed_samples.append(placed[:: max(1, len(placed) // _FRAMING_SAMPLE)])
            self._placed_data = self._placed_data or (data and len(placed) > 0)

    def _camera_moved_by_user(self) -> None:
        """The user turned or zoomed the camera: no framing moves it from now on."""
        self._camera_framed = True
        self._camera_placed = True

    def frame_again(self) -> None:
        """Frame the scene at the time shown now, unless the blueprint or the user placed the camera: the
        viewer opened at ``--time`` framed what the recording's first moment showed, the Neato's start,
        with the robot off the picture at 31 s."""
        if self._camera_placed:
            return
        self._camera_framed = False
        self.refresh()

    def _frame_camera_once(self) -> bool:
        """Aim the camera at what is visible the first time there is data, if the camera cannot see it
        (camera_framing.py); later updates keep the camera where the user puts it. TF axes alone are
        framed but do not settle it: a recording opens on its static TF before the first scan, and a
        camera framed on the robot's axes alone left a Neato's scans, 3 m away, out of the picture (found
        by an audit). True when the scene's origin moved (everything must be placed again)."""
        if self._camera_framed or not self._placed_samples:
            return False
        points = np.concatenate(self._placed_samples).astype(np.float64)
        if not np.isfinite(points).all(axis=1).any():
            return False
        if not (points[np.isfinite(points).all(axis=1)] != 0.0).any():
            return False  # only the origin so far (poses nobody set): the default camera shows it; wait
        self._camera_framed = self._placed_data
        opts = self.gl_view.opts
        center = opts["center"]
        body = body_frame(self._frame_origins)
        robot = None if body is None else self._frame_origins[body].astype(np.float64)
        framing = frame_points(
            points, float(opts["fov"]), (center.x(), center.y(), center.z()), float(opts["distance"]), robot
        )
        if framing is None:
            return False
        origin = local_origin_for(framing.center)
        shift = np.zeros(3) if origin is None else origin
        center = np.asarray(framing.center) - shift
        self.gl_view.setCameraPosition(pos=QtGui.QVector3D(*center.tolist()), distance=framing.distance)
        self.scene_origin = self.scene_origin + shift
        return origin is not None

    def _local(self, placement: Transform | None) -> Transform | None:
        """``placement`` relative to the scene's origin, as GL draws it."""
        if placement is None or not self.scene_origin.any():
            return placement
        return Transform(placement.translation - self.scene_origin, placement.rotation)

    def follow_frame(self, timeline: str) -> str | None:
        """The frame the follow toggle follows: the blueprint's, else ``base_link`` when the tree has it."""
        setting = self.settings.get("follow_frame")
        if isinstance(setting, str) and setting:
            return setting
        return _DEFAULT_FOLLOW_FRAME if _DEFAULT_FOLLOW_FRAME in self.transforms.frames(timeline) else None

    def _follow(self, timeline: str, time: int, fixed: str | None) -> None:
        """Keep the camera's centre on the followed frame while the toggle is on."""
        target = self.follow_frame(timeline)
        self.follow_box.setEnabled(target is not None)
        self.follow_box.setText(f"follow {target}" if target else "follow (no frame)")
        if not self.follow_box.isChecked() or target is None or fixed is None:
            return
        placement = self.transforms.transform(timeline, fixed, target, time)
        if placement is None:
            self.notes.append(f"follow: no transform from {target} to {fixed}")
            return
        self._camera_framed = True  # following is the framing: no jump away from it later
        center = placement.translation - self.scene_origin
        self.gl_view.setCameraPosition(pos=QtGui.QVector3D(*(float(value) for value in center)))

    def fixed_frame(self, timeline: str) -> str | None:
        """The frame the scene is drawn in: the chosen one (the blueprint's, the config's
        ``tf.fixed_frame``) when the TF tree has it, else the tree's root (see :meth:`_fixed_frame_note`)."""
        chosen = self._chosen_fixed_frame()
        if chosen is not None and chosen in self.transforms.frames(timeline):
            return chosen
        return self.transforms.default_fixed_frame(timeline)  # None without TF: drawn as logged

    def _chosen_fixed_frame(self) -> str | None:
        setting = self.settings.get("fixed_frame")
        return setting if isinstance(setting, str) and setting else None

    def _fixed_frame_note(self, timeline: str, time: int, fixed: str | None) -> None:
        chosen = self._chosen_fixed_frame()
        if chosen is not None and fixed is None:
            if not self._all_on_frame(chosen, timeline, time):
                self.notes.append(f"fixed frame {chosen!r}: the data has no TF; drawn as logged")
        elif chosen is not None and fixed != chosen:
            roots = ", ".join(self.transforms.buffer(timeline).roots())
            self.notes.append(
                f"fixed frame {chosen!r} is not in the TF tree: drawn in {fixed!r} (roots: {roots})"
            )

    def _all_on_frame(self, frame: str, timeline: str, time: int) -> bool:
        """Whether every entity of this view that has a frame lies on ``frame`` now: drawn as logged is
        then drawn in it (the default layout's view of a frame TF does not reach)."""
        for entity in self.entities_with(COORDINATE_FRAME):
            column = self.store.latest_at(entity, timeline, time).get(COORDINATE_FRAME)
            if column is not None and len(column) and column[0].is_valid and column[0].as_py() != frame:
                return False
        return True

    def choose_fixed_frame(self, frame: str | None) -> None:
        """Draw in ``frame`` from now on (None: the default from the TF tree), and redraw."""
        if frame:
            self.settings["fixed_frame"] = frame
        else:
            self.settings.pop("fixed_frame", None)
        self.refresh()

    def _frame_chosen(self, index: int) -> None:
        self.choose_fixed_frame(self.frame_choice.itemData(index))

    def _update_frame_choice(self, timeline: str, fixed: str | None) -> None:
        """The default, then every frame the TF tree knows; the list is rebuilt only when they change."""
        frames = tuple(sorted(self.transforms.frames(timeline)))
        if fixed is not None and fixed not in frames:
            frames = (*frames, fixed)  # a chosen frame missing from the tree stays visible (and noted)
        if frames != self._choice_frames:
            self._choice_frames = frames
            self.frame_choice.blockSignals(True)
            self.frame_choice.clear()
            default = self.transforms.default_fixed_frame(timeline)
            self.frame_choice.addItem(f"fixed frame: default ({default or 'none'})", None)
            for frame in frames:
                self.frame_choice.addItem(f"fixed frame: {frame}", frame)
            self.frame_choice.blockSignals(False)
        chosen = self.settings.get("fixed_frame")
        index = self.frame_choice.findData(chosen) if isinstance(chosen, str) and chosen else 0
        self.frame_choice.setCurrentIndex(max(index, 0))

    # -- data ----------------------------------------------------------------------------------------

    def update_data(self, timeline: str, time: int) -> None:
        self.notes = []
        fixed = self.fixed_frame(timeline)
        self._update_frame_choice(timeline, fixed)
        self._fixed_frame_note(timeline, time, fixed)
        self._placed_samples = []
        self._placed_data = False
        self._update_points(timeline, time, fixed)
        self._update_strips(timeline, time, fixed)
        # Before the framing: shapes are framed too.
        shapes = self._update_boxes(timeline, time, fixed) | self._update_arrows(timeline, time, fixed)
        shapes |= self._update_round_shapes(timeline, time, fixed)
        self._frame_placements = self._place_frames(timeline, time, fixed)
        self._frame_origins = {
            frame: placement.translation.astype(np.float32)
            for frame, placement in self._frame_placements.items()
        }
        if self._frame_origins:
            origins = np.array(list(self._frame_origins.values()), dtype=np.float32)
            self._sample_for_framing(origins, data=False)
        if self._frame_camera_once():
            self.update_data(timeline, time)  # placed again around the new origin
            return
        self._follow(timeline, time, fixed)
        shapes |= self._update_frustums(timeline, time, fixed)
        _remove_missing(self.gl_view, self.shapes, shapes)
        self.extras.update(timeline, time, fixed, self._placement, self.notes)
        self._update_meshes(timeline, time, fixed)
        self._update_labels(timeline, time, fixed)
        self._update_frames(timeline, fixed)
        show_notes(self.note, self.notes)
        self.gl_view.update()

    def _placement(
        self, entity: str, values: dict[str, pa.Array], timeline: str, time: int, fixed: str | None
    ) -> Transform | None:
        """How the entity's own frame sits in the fixed frame; None (and a note) when unknown."""
        frame = first_string(values.get(COORDINATE_FRAME))
        if frame is None and fixed is not None and is_body_entity(entity, self.store.components):
            frame = body_frame(self.transforms.frames(timeline))  # a header-less /cmd_vel: on the robot
        if frame is None or fixed is None:
            return self._local(Transform.identity())
        placement = self._transform_at_data_time(entity, values, timeline, fixed, frame, time)
        if placement is None:
            self.notes.append(f"{entity}: no transform from {frame} to {fixed}")
        return self._local(placement)

    def _transform_at_data_time(
        self, entity: str, values: dict[str, pa.Array], timeline: str, fixed: str, frame: str, time: int
    ) -> Transform | None:
        """The frame in the fixed frame as of when the entity's data was logged, as RViz places a message by
        TF at its stamp: a 5 Hz scan stays on the walls while the cursor moves on and the robot with it
        (TF at the cursor drew it swimming, turned by the robot's motion since). Maps (textured meshes) and
        static data are placed by TF at the cursor, as RViz places maps; so are frame-locked markers, which
        RViz moves with their frame; where TF does not reach back to the data's time, at the cursor too."""
        at_cursor = TEXTURE in values or first_flag(values.get(FRAME_LOCKED))
        data_time = None if at_cursor else self.store.latest_row_time(entity, timeline, time)
        if data_time is not None and data_time != time:
            placed = self.transforms.transform(timeline, fixed, frame, data_time)
            if placed is not None:
                return placed
        return self.transforms.transform(timeline, fixed, frame, time)

    def _placed(
        self, component: str, items: dict[str, Any], timeline: str, time: int, fixed: str | None
    ) -> Iterator[tuple[str, dict[str, pa.Array], npt.NDArray[np.float32], Transform]]:
        """``(entity, values, 3-vectors of component, placement)`` of each entity that can be drawn now.

        Items of entities no longer shown are removed; those of entities without data or a transform now
        are hidden (and the missing transform is noted).
        """
        entities = self.entities_with(component)
        _remove_missing(self.gl_view, items, entities)
        for entity in entities:
            values = self.store.latest_at(entity, timeline, time)
            positions = vectors(values.get(component), 3)
            placement = self._placement(entity, values, timeline, time, fixed) if len(positions) else None
            if placement is not None:
                yield entity, values, positions, placement
            elif entity in items:
                items[entity].setVisible(False)

    def _update_points(self, timeline: str, time: int, fixed: str | None) -> None:
        for entity, values, cloud, placement in self._placed(POSITIONS, self.points, timeline, time, fixed):
            item = self.points.get(entity)
            positions = cloud
            color_values, radius_values = values.get("Points3D:colors"), values.get("Points3D:radii")
            keep = detail_indices(len(positions), self.max_points)
            if keep is not None:  # thinned before colours are converted: the gather is the only full pass
                self.notes.append(detail_note(entity, len(keep), len(positions), self.max_points))
                color_values = take_instances(color_values, keep, len(positions))
                radius_values = take_instances(radius_values, keep, len(positions))
                positions = positions[keep]
            colors = colors_rgba(color_values, len(positions))
            radii = floats(radius_values)
            positions, copies = instanced_points(positions, values)
            if copies > 1:
                colors = np.tile(colors, (copies, 1)) if colors is not None and colors.ndim == 2 else colors
                radii = np.tile(radii, copies) if len(radii) > 1 else radii
            placed = _apply(placement, positions)
            self._sample_for_framing(placed)
            style_color, style_radius = self.entity_style(entity)
            if style_radius is not None:
                radii = np.array([style_radius], dtype=np.float32)
            color: Any = style_color or (colors if colors is not None else entity_color(entity))
            size, px_mode = self._point_sizes(radii, len(placed))
            if item is None:
                item = self.points[entity] = gl.GLScatterPlotItem()
                item.setGLOptions("opaque")
                self.gl_view.addItem(item)
            item.setData(pos=placed, color=color, size=size, pxMode=px_mode)
            item.setVisible(True)

    def _point_sizes(self, radii: npt.NDArray[np.float32], count: int) -> tuple[Any, bool]:
        """Diameters: positive radii are scene units (metres), negative ones UI points, as in Rerun."""
        default_radius = self.settings.get("point_radius")
        if len(radii) == 0 and default_radius is not None:
            radii = np.array([float(default_radius)], dtype=np.float32)
        if len(radii) == 0:
            return float(self.settings.get("point_size", _DEFAULT_POINT_SIZE_PX)), True
        scene_units = bool(np.all(radii >= 0))
        diameters = 2.0 * np.abs(radii.astype(np.float32))
        if len(diameters) == 1:
            return float(diameters[0]), not scene_units
        if len(diameters) < count:
            diameters = np.concatenate([diameters, np.repeat(diameters[-1:], count - len(diameters))])
        return diameters[:count], not scene_units

    def _update_strips(self, timeline: str, time: int, fixed: str | None) -> None:
        entities = self.entities_with(STRIPS)
        _remove_missing(self.gl_view, self.strips, entities)
        for entity in entities:
            values = self.store.latest_at(entity, timeline, time)
            strips = values.get(STRIPS)
            placement = self._placement(entity, values, timeline, time, fixed) if strips is not None else None
            item = self.strips.get(entity)
            if placement is None or strips is None:
                if item is not None:
                    item.setVisible(False)
                continue
            segments, segment_colors = _strip_segments(
                strips, colors_rgba(values.get("LineStrips3D:colors"), len(strips))
            )
            if item is None:
                item = self.strips[entity] = gl.GLLinePlotItem(
                    mode="lines", width=2, antialias=True, glOptions=LINE_GL_OPTIONS
                )
                self.gl_view.addItem(item)
            color: Any = self.entity_style(entity)[0] or (
                segment_colors if segment_colors is not None else entity_color(entity)
            )
            placed = _apply(placement, segments)
            self._sample_for_framing(placed)
            item.setData(pos=placed, color=color)
            item.setVisible(len(segments) > 0)

    def _shape_item(self, key: str) -> gl.GLLinePlotItem:
        item = self.shapes.get(key)
        if item is None:
            item = self.shapes[key] = gl.GLLinePlotItem(
                mode="lines", width=2, antialias=True, glOptions=LINE_GL_OPTIONS
            )
            self.gl_view.addItem(item)
        return item

    def _draw_instances(
        self,
        key: str,
        entity: str,
        vertices: npt.NDArray[np.float32],
        per_instance: int,
        colors: pa.Array | None,
        placement: Transform,
    ) -> None:
        """Line segments of shapes with ``per_instance`` vertices each, coloured per instance."""
        rgba = colors_rgba(colors, len(vertices) // per_instance)
        color: Any = self.entity_style(entity)[0] or (
            np.repeat(rgba, per_instance, axis=0) if rgba is not None else entity_color(entity)
        )
        item = self._shape_item(key)
        placed = _apply(placement, vertices)
        # Shapes are data to frame as points are: a scene of marker cubes and spheres was framed on its
        # TF axes alone, the markers off the picture (audit).
        self._sample_for_framing(placed)
        item.setData(pos=placed, color=color)
        item.setVisible(len(vertices) > 0)

    def _update_boxes(self, timeline: str, time: int, fixed: str | None) -> set[str]:
        drawn: set[str] = set()
        for entity in self.entities_with(BOXES):
            values = self.store.latest_at(entity, timeline, time)
            vertices = box_edges(
                vectors(values.get(BOXES), 3),
                vectors(values.get("Boxes3D:centers"), 3),
                vectors(values.get("Boxes3D:quaternions"), 4),
            )
            placement = self._placement(entity, values, timeline, time, fixed) if len(vertices) else None
            if placement is not None:
                key = f"Boxes3D:{entity}"
                self._draw_instances(
                    key, entity, vertices, _BOX_VERTICES, values.get("Boxes3D:colors"), placement
                )
                drawn.add(key)
        return drawn

    def _update_arrows(self, timeline: str, time: int, fixed: str | None) -> set[str]:
        drawn: set[str] = set()
        for entity in self.entities_with(ARROWS):
            values = self.store.latest_at(entity, timeline, time)
            vertices = arrow_segments(
                vectors(values.get(ARROWS), 3), vectors(values.get("Arrows3D:origins"), 3)
            )
            placement = self._placement(entity, values, timeline, time, fixed) if len(vertices) else None
            if placement is not None:
                key = f"Arrows3D:{entity}"
                colors = values.get("Arrows3D:colors")
                self._draw_instances(key, entity, vertices, _ARROW_VERTICES, colors, placement)
                drawn.add(key)
        return drawn

    def _update_round_shapes(self, timeline: str, time: int, fixed: str | None) -> set[str]:
        """Ellipsoids and cylinders, as wireframes coloured per instance."""
        drawn: set[str] = set()
        for archetype, (component, per_instance) in _ROUND_SHAPES.items():
            for entity in self.entities_with(component):
                values = self.store.latest_at(entity, timeline, time)
                vertices = _round_shape_vertices(archetype, values)
                placement = self._placement(entity, values, timeline, time, fixed) if len(vertices) else None
                if placement is not None:
                    key = f"{archetype}:{entity}"
                    colors = values.get(f"{archetype}:colors")
                    self._draw_instances(key, entity, vertices, per_instance, colors, placement)
                    drawn.add(key)
        return drawn

    def _update_labels(self, timeline: str, time: int, fixed: str | None) -> None:
        """Text labels of points, boxes, ellipsoids, cylinders and arrows at their instances, in their
        colours, painted over the scene like the TF frame names."""
        shown: set[str] = set()
        for archetype in _LABEL_ANCHORS:
            for entity in self.entities_with(f"{archetype}:labels"):
                values = self.store.latest_at(entity, timeline, time)
                texts = [
                    str(text) for text in (values.get(f"{archetype}:labels") or pa.array([])).to_pylist()
                ]
                anchors = _label_anchors(archetype, values)
                if not _labels_shown(archetype, values, len(texts), len(anchors)):
                    continue
                placement = self._placement(entity, values, timeline, time, fixed) if texts else None
                if placement is None or not len(anchors):
                    continue
                placed = _apply(placement, anchors)
                colors = colors_rgba(values.get(f"{archetype}:colors"), len(texts))
                for index, text in enumerate(texts):
                    key = f"{archetype}:{entity}#{index}"
                    rgba = colors[min(index, len(colors) - 1)] if colors is not None else entity_color(entity)
                    color = QtGui.QColor.fromRgbF(*(float(channel) for channel in rgba[:3]))
                    position = placed[min(index, len(placed) - 1)]
                    self.frame_labels[key] = SceneLabel(text, position, color)
                    shown.add(key)
        for key in self._data_labels - shown:
            self.frame_labels.pop(key, None)
        self._data_labels = shown

    def _update_meshes(self, timeline: str, time: int, fixed: str | None) -> None:
        for entity, values, positions, placement in self._placed(MESH, self.meshes, timeline, time, fixed):
            item = self.meshes.get(entity)
            if self.extras.owns(entity):  # drawn textured there
                if item is not None:
                    item.setVisible(False)
                continue
            indices = values.get("Mesh3D:triangle_indices")
            if indices is not None and len(indices):
                faces = vectors(indices, 3).astype(np.int64)
            else:  # no indices: every three vertices are a triangle, as in Rerun
                faces = np.arange(len(positions) - len(positions) % 3, dtype=np.int64).reshape(-1, 3)
            if len(faces) and (faces.min() < 0 or faces.max() >= len(positions)):
                self.notes.append(
                    f"{entity}: triangle indices beyond its {len(positions)} vertices; not drawn"
                )
                if item is not None:
                    item.setVisible(False)
                continue
            vertex_colors = colors_rgba(values.get("Mesh3D:vertex_colors"), len(positions))
            albedo = colors_rgba(values.get("Mesh3D:albedo_factor"), 1)
            if item is None:
                item = self.meshes[entity] = gl.GLMeshItem(smooth=False, computeNormals=False)
                item.setGLOptions("opaque")
                self.gl_view.addItem(item)
            mesh = gl.MeshData(vertexes=_apply(placement, positions), faces=faces)
            if vertex_colors is not None:
                mesh.setVertexColors(vertex_colors)
            else:
                color = tuple(albedo[0]) if albedo is not None else entity_color(entity)
                mesh.setFaceColors(np.tile(np.array(color, dtype=np.float32), (len(faces), 1)))
            item.setMeshData(meshdata=mesh)
            item.setVisible(True)

    def _update_frustums(self, timeline: str, time: int, fixed: str | None) -> set[str]:
        drawn: set[str] = set()
        shown_images: set[str] = set()
        for entity in self.entities_with(PINHOLE):
            values = self.store.latest_at(entity, timeline, time)
            if values.get(PINHOLE) is None:
                continue  # no camera info yet at this time: nothing to draw, and nothing wrong
            intrinsics = matrix3x3(values.get(PINHOLE))
            if intrinsics is None or abs(np.linalg.det(intrinsics)) < 1e-12:
                self.notes.append(f"{entity}: Pinhole without a usable image_from_camera; no frustum")
                continue
            resolution = vectors(values.get("Pinhole:resolution"), 2)
            width, height = (
                (float(resolution[0, 0]), float(resolution[0, 1]))
                if len(resolution)
                else (2.0 * intrinsics[0, 2], 2.0 * intrinsics[1, 2])
            )
            camera_frame = first_string(values.get("Pinhole:parent_frame"))
            placement = self._frame_placement(entity, camera_frame, values, timeline, time, fixed)
            if placement is None:
                continue
            logged_depth = floats(values.get("Pinhole:image_plane_distance"))
            depth = (
                float(logged_depth[0])
                if len(logged_depth)
                else float(self.settings.get("frustum_depth", _DEFAULT_FRUSTUM_DEPTH))
            )
            key = f"Pinhole:{entity}"
            self._draw_instances(
                key, entity, frustum_edges(intrinsics, width, height, depth), 16, None, placement
            )
            drawn.add(key)
            image = self._camera_image(
                entity, first_string(values.get("Pinhole:child_frame")), timeline, time
            )
            if image is None:
                continue
            item = self.camera_images.get(entity)
            if item is None:
                item = self.camera_images[entity] = gl.GLImageItem(
                    image.transpose(1, 0, 2), glOptions="opaque"
                )
                self.gl_view.addItem(item)
            else:
                item.setData(image.transpose(1, 0, 2))
            # Texture texels are image pixels; scale them to the pinhole's resolution, then onto the plane.
            texel_scale = np.diag([width / image.shape[1], height / image.shape[0], 1.0, 1.0])
            matrix = _homogeneous(placement) @ image_plane_matrix(intrinsics, depth) @ texel_scale
            item.setTransform(QtGui.QMatrix4x4(*matrix.astype(np.float32).reshape(-1)))
            item.setVisible(True)
            shown_images.add(entity)
        _remove_missing(self.gl_view, self.camera_images, shown_images)
        return drawn

    def _frame_placement(
        self,
        entity: str,
        frame: str | None,
        values: dict[str, pa.Array],
        timeline: str,
        time: int,
        fixed: str | None,
    ) -> Transform | None:
        """Where a named frame sits in the fixed frame (else the entity's own frame); None and a note."""
        if frame is None or fixed is None:
            return self._placement(entity, values, timeline, time, fixed)
        placement = self._transform_at_data_time(entity, values, timeline, fixed, frame, time)
        if placement is None:
            self.notes.append(f"{entity}: no transform from {frame} to {fixed}")
        return self._local(placement)

    def _camera_image(
        self, pinhole_entity: str, image_frame: str | None, timeline: str, time: int
    ) -> npt.NDArray[np.uint8] | None:
        """RGBA pixels of the image a pinhole shows: in its image frame, or below its entity path."""
        for component, format_component in _CAMERA_IMAGES.items():
            for entity in self.entities_with(component):
                values = self.store.latest_at(entity, timeline, time)
                frame = first_string(values.get(COORDINATE_FRAME))
                if not (
                    is_under(entity, pinhole_entity) or (image_frame is not None and frame == image_frame)
                ):
                    continue
                buffer = blob(values.get(component))
                if buffer is None:
                    continue
                try:
                    if not format_component:
                        return to_rgba8(decode_encoded(buffer))
                    fmt = image_format(values.get(format_component))
                    if fmt is not None:
                        return to_rgba8(decode_image(buffer, fmt))
                except ImageDecodeError as err:
                    self.notes.append(f"{entity}: {err}")
        return None

    def _place_frames(self, timeline: str, time: int, fixed: str | None) -> dict[str, Transform]:
        """Where each TF frame is in the fixed frame now (none when frames are not drawn)."""
        if not self.settings.get("frames", True) or fixed is None:
            return {}
        placements: dict[str, Transform] = {}
        for frame in self.transforms.frames(timeline):
            # A frame's axes belong to the entities that place it (/tf, /tf_static/<frame>): unchecking them
            # in the entity tree hides the axes, as in Rerun's viewer; the transforms still place the data.
            owners = self.transforms.frame_entities(timeline, frame)
            if owners and not any(self.is_visible(owner) for owner in owners):
                continue
            placement = self._local(self.transforms.transform(timeline, fixed, frame, time))
            if placement is not None:
                placements[frame] = placement
        return placements

    def _axis_length(self) -> float:
        """The blueprint's ``axis_length``, else one scaled to the camera's distance (the scene's size)."""
        setting = self.settings.get("axis_length")
        return (
            float(setting) if setting is not None else axis_length_for(float(self.gl_view.opts["distance"]))
        )

    def _update_frames(self, timeline: str, fixed: str | None) -> None:
        length = self._axis_length()
        axes = np.array(
            [[0, 0, 0], [length, 0, 0], [0, 0, 0], [0, length, 0], [0, 0, 0], [0, 0, length]],
            dtype=np.float64,
        )
        vertices = [_apply(placement, axes) for placement in self._frame_placements.values()]
        if vertices:
            self.frame_axes.setData(pos=np.vstack(vertices), color=np.tile(_AXIS_COLORS, (len(vertices), 1)))
        self.frame_axes.setVisible(bool(vertices))
        self._fixed_for_labels = fixed
        self._follow_for_labels = self.follow_frame(timeline)
        self._show_frame_labels()

    def _show_frame_labels(self) -> None:
        """Names of the hovered frame, the fixed and followed frames and the blueprint's ``frame_names``;
        every name when the tree is small; never two at one spot (frame_labels.py)."""
        chosen: list[str | None] = [self._hovered_frame, self._selected_frame]
        chosen += [self._fixed_for_labels, self._follow_for_labels]
        chosen += list(self.settings.get("frame_names") or ())
        if len(self._frame_origins) <= MAX_FRAME_LABELS:
            chosen += sorted(self._frame_origins)
        shown = labelled_frames(self._frame_origins, chosen, min_separation=self._axis_length() / 2)
        for name in list(self.frame_labels):
            if name not in shown and name not in self._data_labels:
                del self.frame_labels[name]
        color = QtGui.QColor(*_FRAME_LABEL_COLOR)
        for frame in shown:
            self.frame_labels[frame] = SceneLabel(frame, self._frame_origins[frame], color)
        self.canvas.update()

    def select_entity(self, entity: str) -> None:
        """Name the TF frame of ``entity`` (the child frame of a transform, else the frame its data is
        in; "" or an entity without one: none)."""
        frame = None
        if entity and self.timeline is not None and self.time is not None:
            values = self.store.latest_at(entity, self.timeline, self.time)
            frame = first_string(values.get(CHILD_FRAME)) or first_string(values.get(COORDINATE_FRAME))
        if frame != self._selected_frame:
            self._selected_frame = frame
            self._show_frame_labels()

    def _mouse_moved(self, cursor: tuple[float, float] | None) -> None:
        """Show the name of the frame under the mouse (RViz shows names on hover in its TF tree)."""
        hovered = None
        if cursor is not None and self._frame_origins:
            hovered = nearest_frame(canvas_pixels(self.canvas, self._frame_origins), cursor, HOVER_RADIUS_PX)
        if hovered != self._hovered_frame:
            self._hovered_frame = hovered
            self._show_frame_labels()


def _round_shape_vertices(archetype: str, values: dict[str, pa.Array]) -> npt.NDArray[np.float32]:
    centers = vectors(values.get(f"{archetype}:centers"), 3)
    quaternions = vectors(values.get(f"{archetype}:quaternions"), 4)
    if archetype == "Ellipsoids3D":
        return ellipsoid_rings(vectors(values.get(ELLIPSOIDS), 3), centers, quaternions)
    return cylinder_edges(
        floats(values.get(CYLINDERS)), floats(values.get("Cylinders3D:radii")), centers, quaternions
    )


def _labels_shown(archetype: str, values: dict[str, pa.Array], labels: int, instances: int) -> bool:
    """Rerun's viewer's rule: an entity's labels are drawn while it has at most
    :data:`MAX_LABELS_PER_ENTITY` instances (or one label for all), unless its ``show_labels`` says
    otherwise. A slam_toolbox graph's thousand node names would cover the scene."""
    flag = values.get(f"{archetype}:show_labels")
    if flag is not None and len(flag):
        return bool(np.asarray(flag.to_numpy(zero_copy_only=False)).reshape(-1)[0])
    return labels == 1 or instances <= MAX_LABELS_PER_ENTITY


def _label_anchors(archetype: str, values: dict[str, pa.Array]) -> npt.NDArray[np.float32]:
    """Where an archetype's labels go: each instance's position or centre, an arrow's middle."""
    anchors = vectors(values.get(_LABEL_ANCHORS[archetype]), 3)
    if archetype == "Arrows3D":
        shafts = vectors(values.get(ARROWS), 3)
        starts = anchors if len(anchors) else np.zeros((1, 3), dtype=np.float32)
        if len(shafts):
            anchors = (starts[: len(shafts)] if len(starts) >= len(shafts) else starts[:1]) + shafts / 2.0
    if not len(anchors):  # boxes and ellipsoids without centres sit at the origin
        anchors = np.zeros((1, 3), dtype=np.float32)
    return anchors.astype(np.float32)


def _homogeneous(placement: Transform) -> npt.NDArray[np.float64]:
    """A rigid transform as a 4x4 matrix."""
    matrix = np.eye(4)
    matrix[:3, :3] = quat.to_matrix(placement.rotation)
    matrix[:3, 3] = placement.translation
    return matrix


def _apply(placement: Transform, points: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    if len(points) == 0:
        return np.zeros((0, 3), dtype=np.float32)
    if np.array_equal(placement.rotation, (0.0, 0.0, 0.0, 1.0)) and not placement.translation.any():
        return np.ascontiguousarray(points, dtype=np.float32)
    return placement.apply(points).astype(np.float32)


def _strip_segments(
    strips: pa.Array, colors: npt.NDArray[np.float32] | None
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None]:
    """Strips (each a list of points) as line segment vertex pairs, with per-vertex colours (each strip's
    own). In numpy over all strips at once: a graph of 10,000 edges took 100 ms a frame strip by strip."""
    lengths = np.asarray(pc.list_value_length(strips).fill_null(0).to_numpy(), dtype=np.int64)
    points = vectors(strips.flatten(), 3)  # null strips and slicing taken care of
    owner = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.flatnonzero(owner[:-1] == owner[1:])  # a segment from each point to the next of its strip
    if len(starts) == 0:
        return np.zeros((0, 3), dtype=np.float32), None
    pairs = np.empty((2 * len(starts), 3), dtype=np.float32)
    pairs[0::2] = points[starts]
    pairs[1::2] = points[starts + 1]
    if colors is None:
        return pairs, None
    return pairs, np.repeat(colors[owner[starts]], 2, axis=0)


def instanced_points(
    positions: npt.NDArray[np.float32], values: Mapping[str, pa.Array]
) -> tuple[npt.NDArray[np.float32], int]:
    """An entity's points once per instance of its ``InstancePoses3D``, as Rerun draws them (a pose topic
    writes one point at its pose's origin, placed by the pose), and how many copies that made."""
    if "InstancePoses3D:translations" not in values and "InstancePoses3D:quaternions" not in values:
        return positions, 1
    copies = instance_vertices(positions.astype(np.float64), values)
    return np.concatenate(copies).astype(np.float32), len(copies)


def _remove_missing(view: gl.GLViewWidget, items: dict[str, Any], keep: Collection[str]) -> None:
    for entity in list(items):
        if entity not in keep:
            view.removeItem(items.pop(entity))
