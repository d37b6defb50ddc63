"""The 2D image view: colour, depth, segmentation and encoded images, with 2D overlays.

Every image entity the view selects is drawn by its own pyqtgraph ``ImageItem`` (row-major, Y down, as
camera images are stored), later entity paths on top; ``Points2D``, ``Boxes2D`` (outlines and labels) and
``LineStrips2D`` entities the view selects (by default everything below its origin, e.g. detections logged
under the image's entity) are drawn over them in pixel coordinates. ``Points3D`` entities the view selects
(a lidar cloud) are projected through the camera's ``Pinhole`` (the first one the view selects, e.g.
``/camera/camera_info``) and its TF at the current time, coloured by distance from the camera (turbo, near
is blue): where a cloud's edges miss the image's edges, the extrinsic or the time sync is off. Depth images
use a colormap over a range (the entity's ``DepthImage:colormap`` / ``depth_range``, else the view's
``colormap`` / ``depth_range`` settings, else turbo over 0..farthest).

Settings: ``colormap`` (a name: turbo, viridis, inferno, magma, plasma, grayscale), ``depth_range``
(two numbers, raw depth units) or ``depth_range_m`` (metres, scaled by the entity's ``DepthImage:meter``).
"""

from __future__ import annotations

from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyqtgraph as pg

from rerun_bridge.viewer.component_values import (
    blob,
    colors_rgba,
    entity_color,
    first_string,
    floats,
    image_format,
    strings,
    vectors,
)
from rerun_bridge.viewer.projection import project_to_image
from rerun_bridge.viewer.transforms import COORDINATE_FRAME
from rerun_bridge.viewer.views.base import ViewBase, note_label, show_notes
from rerun_bridge.viewer.views.colormaps import DEFAULT_COLORMAP, lookup_table
from rerun_bridge.viewer.views.image_decode import (
    DisplayImage,
    ImageDecodeError,
    decode_encoded,
    decode_image,
    depth_levels,
    typed_pixels,
)
from rerun_bridge.viewer.views.shapes3d import matrix3x3

#: Component that marks an image entity, and the kind of image it is.
IMAGE_COMPONENTS: Final = {
    "Image:buffer": "color",
    "DepthImage:buffer": "depth",
    "SegmentationImage:buffer": "segmentation",
    "EncodedImage:blob": "encoded",
}
#: Rerun's ``Colormap`` enum values by name.
_COLORMAPS: Final = {1: "grayscale", 2: "inferno", 3: "magma", 4: "plasma", 5: "turbo", 6: "viridis"}
_POINT_SIZE_PX: Final = 6.0
_PROJECTED_POINT_SIZE_PX: Final = 3.0
#: Projected clouds beyond this many points on the image are thinned for display, with a note.
MAX_PROJECTED_POINTS: Final = 100_000
#: Distance colour buckets of projected points (turbo over the cloud's depth range on the image).
_DEPTH_BUCKETS: Final = 32
PINHOLE: Final = "Pinhole:image_from_camera"


class _ImageLayer(NamedTuple):
    entity: str
    kind: str
    item: pg.ImageItem


#: 2D boxes labelled at most (each box's label), as the 3D view's ``MAX_LABELS_PER_ENTITY``.
MAX_BOX_LABELS: Final = 30


class ImageView(ViewBase):
    """Images (and their 2D overlays) of the selected entities at the current time."""

    kind = "spatial2d"

    def _build(self) -> None:
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("k")
        self.viewbox: pg.ViewBox = self.graphics.addViewBox()
        self.viewbox.setAspectLocked(True)
        self.viewbox.invertY(True)
        self.note = note_label()
        self._stack(self.graphics, self.note)
        self._layers: dict[str, _ImageLayer] = {}
        self._overlays: dict[str, pg.ScatterPlotItem] = {}
        #: Points3D entities projected through the pinhole, by entity.
        self.projected: dict[str, pg.ScatterPlotItem] = {}
        lut = lookup_table(DEFAULT_COLORMAP)
        picks = np.linspace(0, len(lut) - 1, _DEPTH_BUCKETS).astype(int)
        self._depth_brushes = [pg.mkBrush(*(int(c) for c in lut[i][:3])) for i in picks]
        #: Box outlines and line strips, one curve per instance, keyed ``Archetype:entity``.
        self.line_overlays: dict[str, list[pg.PlotCurveItem]] = {}
        #: The labels of 2D boxes (a detection's ``class score``) at each box's top left, by entity.
        self.box_labels: dict[str, list[pg.TextItem]] = {}
        self._decoded_keys: dict[str, tuple[int, int, int]] = {}
        self._shown_size: tuple[int, int] | None = None

    # -- data ----------------------------------------------------------------------------------------

    def image_entities(self) -> list[tuple[str, str]]:
        """``(entity, kind)`` of every image entity shown, in drawing order."""
        found: dict[str, str] = {}
        for component, kind in IMAGE_COMPONENTS.items():
            for entity in self.entities_with(component):
                found.setdefault(entity, kind)
        return sorted(found.items())

    def update_data(self, timeline: str, time: int) -> None:
        problems: list[str] = []
        shown: set[str] = set()
        for entity, kind in self.image_entities():
            shown.add(entity)
            layer = self._layer(entity, kind)
            values = self.store.latest_at(entity, timeline, time)
            try:
                self._show_image(layer, values)
            except ImageDecodeError as err:
                layer.item.setVisible(False)
                problems.append(f"{entity}: {err}")
        for entity in list(self._layers):
            if entity not in shown:
                self.viewbox.removeItem(self._layers.pop(entity).item)
                self._decoded_keys.pop(entity, None)
        self._update_overlays(timeline, time)
        self._update_line_overlays(timeline, time)
        self._update_projected_points(timeline, time, problems)
        show_notes(self.note, problems)

    def image_item(self, entity: str) -> pg.ImageItem | None:
        """The item drawing an entity's image."""
        layer = self._layers.get(entity)
        return None if layer is None else layer.item

    def current_image(self, entity: str) -> npt.NDArray[Any] | None:
        """The pixels an entity's image item holds now (tests read them)."""
        layer = self._layers.get(entity)
        if layer is None or not layer.item.isVisible():
            return None
        image: npt.NDArray[Any] | None = layer.item.image
        return image

    def _layer(self, entity: str, kind: str) -> _ImageLayer:
        layer = self._layers.get(entity)
        if layer is None:
            item = pg.ImageItem(axisOrder="row-major")
            item.setZValue(len(self._layers))
            self.viewbox.addItem(item)
            layer = self._layers[entity] = _ImageLayer(entity, kind, item)
        return layer

    def _show_image(self, layer: _ImageLayer, values: dict[str, pa.Array]) -> None:
        data_column = "EncodedImage:blob" if layer.kind == "encoded" else _archetype(layer.kind) + ":buffer"
        data = values.get(data_column)
        buffer = blob(data)
        if data is None or buffer is None:
            layer.item.setVisible(False)
            self._decoded_keys.pop(layer.entity, None)
            return
        key = _buffer_key(data)
        if key == self._decoded_keys.get(layer.entity) and layer.item.isVisible():
            return  # the same row as shown: nothing to decode
        if layer.kind == "encoded":
            display = decode_encoded(buffer)
            layer.item.setLookupTable(None)
        else:
            image_format_values = values.get(_archetype(layer.kind) + ":format")
            fmt = image_format(image_format_values)
            if fmt is None:
                raise ImageDecodeError("no ImageFormat logged with the buffer")
            display = self._decode_typed(layer, buffer, fmt, values)
        layer.item.setImage(display.pixels, autoLevels=False, levels=display.levels)
        layer.item.setVisible(True)
        self._decoded_keys[layer.entity] = key
        height, width = display.pixels.shape[:2]
        if self._shown_size != (width, height):
            self._shown_size = (width, height)
            self.viewbox.setRange(xRange=(0, width), yRange=(0, height), padding=0.0)

    def _decode_typed(
        self, layer: _ImageLayer, buffer: npt.NDArray[np.uint8], fmt: Any, values: dict[str, pa.Array]
    ) -> DisplayImage:
        if layer.kind == "color":
            layer.item.setLookupTable(None)
            return decode_image(buffer, fmt)
        pixels = typed_pixels(buffer, fmt)
        if layer.kind == "segmentation":
            highest = int(pixels.max()) if pixels.size else 0
            layer.item.setLookupTable(_class_colors(highest + 1))
            return DisplayImage(pixels, (0.0, float(max(highest, 1))))
        colormap = _colormap_name(values.get("DepthImage:colormap"), self.settings.get("colormap"))
        layer.item.setLookupTable(lookup_table(colormap))
        logged_range = vectors(values.get("DepthImage:depth_range"), 2)
        raw_setting = self.settings.get("depth_range")
        metres_setting = self.settings.get("depth_range_m")
        depth_range: tuple[float, float] | None = None
        if len(logged_range):
            depth_range = (float(logged_range[0, 0]), float(logged_range[0, 1]))
        elif raw_setting is not None:
            depth_range = (float(raw_setting[0]), float(raw_setting[1]))
        elif metres_setting is not None:
            # Rerun's default scale: integer depth in millimetres, float depth in metres.
            logged_meter = floats(values.get("DepthImage:meter"))
            meter = (
                float(logged_meter[0])
                if len(logged_meter)
                else (1000.0 if pixels.dtype.kind in "iu" else 1.0)
            )
            depth_range = (float(metres_setting[0]) * meter, float(metres_setting[1]) * meter)
        return DisplayImage(_no_return_hidden(pixels), depth_levels(pixels, depth_range))

    def _update_line_overlays(self, timeline: str, time: int) -> None:
        shown: set[str] = set()
        for archetype, component in (
            ("Boxes2D", "Boxes2D:half_sizes"),
            ("LineStrips2D", "LineStrips2D:strips"),
        ):
            for entity in self.entities_with(component):
                values = self.store.latest_at(entity, timeline, time)
                if archetype == "Boxes2D":
                    shapes = _box_outlines(
                        vectors(values.get(component), 2), vectors(values.get("Boxes2D:centers"), 2)
                    )
                    self._label_boxes(entity, values, shapes)
                else:
                    strips = values.get(component)
                    shapes = [
                        vectors(strips[index].values, 2)
                        for index in range(len(strips) if strips is not None else 0)
                        if strips is not None and strips[index].is_valid
                    ]
                key = f"{archetype}:{entity}"
                shown.add(key)
                self._draw_lines(key, entity, shapes, values.get(f"{archetype}:colors"))
        for key in list(self.line_overlays):
            if key not in shown:
                for curve in self.line_overlays.pop(key):
                    self.viewbox.removeItem(curve)
        for entity in list(self.box_labels):
            if f"Boxes2D:{entity}" not in shown:
                for label in self.box_labels.pop(entity):
                    self.viewbox.removeItem(label)

    def _label_boxes(self, entity: str, values: dict[str, pa.Array], outlines: list[Any]) -> None:
        """Each box's label above its top left corner, in its colour, as Rerun's viewer draws them (an
        audit found a detection's class and score missing here); none past :data:`MAX_BOX_LABELS` boxes."""
        texts = strings(values.get("Boxes2D:labels"))
        if len(texts) == 1:
            texts = texts * len(outlines)  # one label for all
        if len(outlines) > MAX_BOX_LABELS or len(texts) != len(outlines):
            texts = []
        labels = self.box_labels.setdefault(entity, [])
        while len(labels) > len(texts):
            self.viewbox.removeItem(labels.pop())
        while len(labels) < len(texts):
            label = pg.TextItem(anchor=(0.0, 1.0))
            label.setZValue(1001)
            self.viewbox.addItem(label)
            labels.append(label)
        rgba = colors_rgba(values.get("Boxes2D:colors"), len(outlines))
        for index, (label, text) in enumerate(zip(labels, texts, strict=True)):
            color = rgba[index] if rgba is not None else np.array(entity_color(entity), dtype=np.float32)
            label.setText(text, color=tuple(int(c) for c in (255 * color[:3]).astype(int)))
            corner = outlines[index].min(axis=0)  # the top left corner in the image (rows grow downward)
            label.setPos(float(corner[0]), float(corner[1]))

    def _draw_lines(
        self, key: str, entity: str, shapes: list[npt.NDArray[np.float32]], colors: pa.Array | None
    ) -> None:
        """One curve per shape (reusing the entity's curves), coloured per instance."""
        curves = self.line_overlays.setdefault(key, [])
        while len(curves) > len(shapes):
            self.viewbox.removeItem(curves.pop())
        while len(curves) < len(shapes):
            curve = pg.PlotCurveItem()
            curve.setZValue(1000)
            self.viewbox.addItem(curve)
            curves.append(curve)
        rgba = colors_rgba(colors, len(shapes))
        for index, (curve, points) in enumerate(zip(curves, shapes, strict=True)):
            color = rgba[index] if rgba is not None else np.array(entity_color(entity), dtype=np.float32)
            curve.setData(points[:, 0], points[:, 1], pen=pg.mkPen(*(255 * color).astype(int), width=2))

    def _update_overlays(self, timeline: str, time: int) -> None:
        entities = self.entities_with("Points2D:positions")
        for entity in list(self._overlays):
            if entity not in entities:
                self.viewbox.removeItem(self._overlays.pop(entity))
        for entity in entities:
            values = self.store.latest_at(entity, timeline, time)
            positions = vectors(values.get("Points2D:positions"), 2)
            item = self._overlays.get(entity)
            if item is None:
                item = self._overlays[entity] = pg.ScatterPlotItem(pxMode=True)
                item.setZValue(1000)
                self.viewbox.addItem(item)
            colors = colors_rgba(values.get("Points2D:colors"), len(positions))
            if colors is None:
                colors = np.tile(np.array(entity_color(entity), dtype=np.float32), (len(positions), 1))
            radii = floats(values.get("Points2D:radii"))
            sizes = 2 * np.abs(radii[0]) if len(radii) else _POINT_SIZE_PX
            brushes = [pg.mkBrush(*(255 * color).astype(int)) for color in colors]
            item.setData(pos=positions, brush=brushes, size=sizes, pen=None)

    def _camera(
        self, timeline: str, time: int
    ) -> tuple[npt.NDArray[np.float64], str, tuple[float, float] | None] | None:
        """The first selected pinhole: its matrix, its camera frame and its resolution (or None)."""
        for entity in self.entities_with(PINHOLE):
            values = self.store.latest_at(entity, timeline, time)
            matrix = matrix3x3(values.get(PINHOLE))
            frame = first_string(values.get("Pinhole:parent_frame")) or first_string(
                values.get(COORDINATE_FRAME)
            )
            if matrix is not None and frame:
                resolution = vectors(values.get("Pinhole:resolution"), 2)
                size = (float(resolution[0][0]), float(resolution[0][1])) if len(resolution) else None
                return matrix, frame, size
        return None

    def _update_projected_points(self, timeline: str, time: int, problems: list[str]) -> None:
        clouds = self.entities_with("Points3D:positions")
        for entity in list(self.projected):
            if entity not in clouds:
                self.viewbox.removeItem(self.projected.pop(entity))
        if not clouds:
            return
        camera = self._camera(timeline, time)
        if camera is None:
            problems.append("3D points selected but no Pinhole to project them through (add the camera_info)")
            for item in self.projected.values():
                item.setVisible(False)
            return
        matrix, camera_frame, resolution = camera
        for entity in clouds:
            item = self.projected.get(entity)
            if item is None:
                item = self.projected[entity] = pg.ScatterPlotItem(pxMode=True)
                item.setZValue(900)  # over the images, under 2D overlays
                self.viewbox.addItem(item)
            values = self.store.latest_at(entity, timeline, time)
            positions = vectors(values.get("Points3D:positions"), 3)
            frame = first_string(values.get(COORDINATE_FRAME)) or camera_frame
            placement = self.transforms.transform(timeline, camera_frame, frame, time)
            if placement is None or len(positions) == 0:
                if placement is None:
                    problems.append(f"{entity}: no transform from {frame} to the camera frame {camera_frame}")
                item.setVisible(False)
                continue
            in_camera = placement.apply(positions.astype(np.float64))
            projected = project_to_image(in_camera, matrix, resolution)
            kept = projected.kept
            stride = max(1, -(-len(kept) // MAX_PROJECTED_POINTS))
            if stride > 1:
                shown = len(kept[::stride])
                problems.append(
                    f"{entity}: showing {shown:,} of {len(kept):,} projected points (1 in {stride})"
                )
            pixels, kept = projected.pixels[::stride], kept[::stride]
            # The cloud's own colours where it has them (RViz's camera display and Rerun's overlay draw
            # those); else by distance.
            own = colors_rgba(values.get("Points3D:colors"), len(positions))
            brushes = (
                self._color_brushes(own[kept]) if own is not None else self._depth_colors(in_camera[kept, 2])
            )
            item.setData(pos=pixels, brush=brushes, size=_PROJECTED_POINT_SIZE_PX, pen=None)
            item.setVisible(len(pixels) > 0)

    def _depth_colors(self, depth: npt.NDArray[np.float64]) -> list[Any]:
        """Turbo by distance, near blue; one distance (a wall facing the camera) the colormap's middle, not
        its darkest end, which hid the points on a dark image."""
        if len(depth) == 0:
            return []
        near, far = float(depth.min()), float(depth.max())
        scaled = (depth - near) / (far - near) if far - near > 1e-6 else np.full_like(depth, 0.5)
        buckets = np.minimum((scaled * _DEPTH_BUCKETS).astype(int), _DEPTH_BUCKETS - 1)
        brushes = self._depth_brushes
        return [brushes[bucket] for bucket in buckets.tolist()]

    @staticmethod
    def _color_brushes(rgba: npt.NDArray[np.float32]) -> list[Any]:
        """A brush per point, of its colour at 4 bits a channel: one brush per distinct colour, not per
        point (a brush takes microseconds; a coloured cloud has 100 k points)."""
        levels = np.clip(np.rint(rgba * 15.0), 0, 15).astype(np.uint16)
        keys = (levels[:, 0] << 12) | (levels[:, 1] << 8) | (levels[:, 2] << 4) | levels[:, 3]
        distinct, which = np.unique(keys, return_inverse=True)
        channels = ((distinct[:, None] >> np.array([12, 8, 4, 0], dtype=np.uint16)) & 15) * 17
        made = [pg.mkBrush(*(int(channel) for channel in color)) for color in channels]
        return [made[index] for index in which.reshape(-1).tolist()]


def _no_return_hidden(pixels: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Depth 0 (no return, as RViz and REP 118 take it) as NaN, which the image item leaves transparent:
    drawn as the colormap's near end it read as real depth at the minimum."""
    if pixels.dtype.kind in "iu":
        if not (pixels == 0).any():
            return pixels
        shown = pixels.astype(np.float32)
    elif pixels.dtype.kind == "f":
        if not (pixels == 0).any():
            return pixels
        shown = pixels.copy()
    else:
        return pixels
    shown[shown == 0] = np.nan
    return shown


def _box_outlines(
    half_sizes: npt.NDArray[np.float32], centers: npt.NDArray[np.float32]
) -> list[npt.NDArray[np.float32]]:
    """Closed rectangles (5 points each) of boxes; missing centers are the origin, the last one repeats."""
    outlines = []
    for index, half in enumerate(half_sizes):
        center = centers[min(index, len(centers) - 1)] if len(centers) else np.zeros(2, np.float32)
        signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=np.float32)
        outlines.append(center + signs * half)
    return outlines


def _archetype(kind: str) -> str:
    return {"color": "Image", "depth": "DepthImage", "segmentation": "SegmentationImage"}[kind]


def _buffer_key(data: pa.Array) -> tuple[int, int, int]:
    """Identifies the stored row a blob comes from, so an unchanged image is not decoded again."""
    values = data[0].values
    address = values.buffers()[1].address if values.buffers()[1] is not None else 0
    return address, values.offset, len(values)


def _colormap_name(logged: pa.Array | None, setting: object) -> str:
    if logged is not None and len(logged):
        name = _COLORMAPS.get(int(logged[0].as_py() or 0))
        if name is not None:
            return name
    if isinstance(setting, str):
        return setting.lower()
    return DEFAULT_COLORMAP


def _class_colors(count: int) -> npt.NDArray[np.uint8]:
    """Distinct colours per class id (golden-ratio hues); class 0 is transparent-looking black."""
    ids = np.arange(max(count, 2))
    hue = (ids * 0.618033988749895) % 1.0
    sector = (hue * 6).astype(int)
    fraction = hue * 6 - sector
    rising, falling = fraction, 1 - fraction
    ones, zeros = np.ones_like(hue), np.zeros_like(hue)
    table = np.select(
        [sector[:, None] == index for index in range(6)],
        [
            np.stack(channels, axis=1)
            for channels in (
                (ones, rising, zeros),
                (falling, ones, zeros),
                (zeros, ones, rising),
                (zeros, falling, ones),
                (rising, zeros, ones),
                (ones, zeros, falling),
            )
        ],
    )
    colors = (table * 220 + 35).astype(np.uint8)
    colors[0] = 0
    return colors
