"""The map view: ``GeoPoints`` (GPS fixes: NavSatFix becomes them) as dots on a Web Mercator plane.

There are no map tiles (the viewer works offline): x is longitude, y the Mercator ordinate of latitude,
both in degrees, so shapes keep their proportions as on any web map and the axes read longitude and
latitude. Each entity's latest points at the current time are dots (``GeoPoints:colors`` / ``radii``,
negative radii in UI points as in Rerun, else 5 points), and its **track**, every position logged up to
the current time, is a line in a dimmer shade of its colour.

Settings: ``zoom`` (web-map zoom level, 0 to 22: about 360 / 2^zoom degrees of longitude per 256 pixels;
the view centres on the latest position). Without it the view fits the whole track when the data or
the timeline changes and leaves the range to the user while scrubbing.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.store.columns import times_to_int64
from rerun_bridge.viewer.component_values import colors_rgba, entity_color, floats, vectors
from rerun_bridge.viewer.views.base import ViewBase
from rerun_bridge.viewer.views.plots import add_legend, plot_widget

GEO_POSITIONS: Final = "GeoPoints:positions"
_DEFAULT_DOT_PX: Final = 10.0
#: Web Mercator stops short of the poles.
_MAX_LATITUDE: Final = 85.05112878
_TILE_PX: Final = 256.0


def mercator_y(latitude: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Web Mercator ordinate of latitudes, in degrees (equal to latitude near the equator)."""
    clipped = np.radians(np.clip(latitude, -_MAX_LATITUDE, _MAX_LATITUDE))
    return np.degrees(np.log(np.tan(np.pi / 4 + clipped / 2)))


def latitude_of(mercator: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The inverse of :func:`mercator_y`."""
    return np.degrees(2 * np.arctan(np.exp(np.radians(mercator))) - np.pi / 2)


class Track(NamedTuple):
    """An entity's positions on one timeline: a time per position, and (lon, Mercator y) in degrees."""

    times: npt.NDArray[np.int64]
    xy: npt.NDArray[np.float64]


def load_track(store: ChunkStore, entity: str, timeline: str) -> Track:
    """Every position an entity logged on ``timeline``, in time order."""
    bounds = store.time_range(timeline, entity)
    if bounds is None:
        return Track(np.zeros(0, np.int64), np.zeros((0, 2)))
    table = store.range(entity, timeline, *bounds)
    if GEO_POSITIONS not in table.column_names or table.num_rows == 0:
        return Track(np.zeros(0, np.int64), np.zeros((0, 2)))
    column = table[GEO_POSITIONS].combine_chunks()
    counts = np.asarray(column.value_lengths().fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    lat_lon = vectors(column.flatten(), 2).astype(np.float64)
    times = np.repeat(times_to_int64(table[timeline]), counts)
    return Track(times, np.column_stack([lat_lon[:, 1], mercator_y(lat_lon[:, 0])]))


class _LatitudeAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph is untyped
    """Labels the Mercator ordinate with the latitude it stands for."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        latitudes = latitude_of(np.asarray(values, dtype=np.float64))
        decimals = max(0, min(8, 1 - math.floor(math.log10(max(spacing, 1e-9)))))
        return [f"{latitude:.{decimals}f}" for latitude in latitudes]


class MapView(ViewBase):
    """Latest GPS points and their tracks of the view's ``GeoPoints`` entities."""

    kind = "map"

    def _build(self) -> None:
        self.plot = plot_widget({"left": _LatitudeAxis("left")})
        self.plot.setAspectLocked(True)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "longitude (°)")
        self.plot.setLabel("left", "latitude (°)")
        # Which dot is which fix topic (the synthetic recording's four GNSS receivers were four unnamed
        # dots); shown from two entities on.
        self.legend = add_legend(self.plot)
        self._stack(self.plot)
        self.tracks: dict[str, Track] = {}
        self.track_lines: dict[str, pg.PlotCurveItem] = {}
        self.dots: dict[str, pg.ScatterPlotItem] = {}
        self._fitted_for: tuple[str, ...] | None = None

    def timeline_changed(self, timeline: str) -> None:
        self.tracks = {
            entity: load_track(self.store, entity, timeline) for entity in self.entities_with(GEO_POSITIONS)
        }
        self._fitted_for = None

    def update_data(self, timeline: str, time: int) -> None:
        entities = self.entities_with(GEO_POSITIONS)
        for entity in entities:
            if entity not in self.tracks:
                self.tracks[entity] = load_track(self.store, entity, timeline)
        for items in (self.track_lines, self.dots):
            for entity in list(items):
                if entity not in entities:
                    self.plot.removeItem(items.pop(entity))
        latest: npt.NDArray[np.float64] | None = None
        for entity in entities:
            values = self.store.latest_at(entity, timeline, time)
            lat_lon = vectors(values.get(GEO_POSITIONS), 2).astype(np.float64)
            rgba = colors_rgba(values.get("GeoPoints:colors"), max(len(lat_lon), 1))
            base = rgba[0] if rgba is not None else np.array(entity_color(entity), dtype=np.float32)
            track = self.tracks[entity]
            shown = track.xy[: int(np.searchsorted(track.times, time, side="right"))]
            line = self.track_lines.get(entity)
            if line is None:
                line = self.track_lines[entity] = pg.PlotCurveItem()
                self.plot.addItem(line)
            line.setData(shown[:, 0], shown[:, 1], pen=pg.mkPen(*(160 * base[:3]).astype(int), width=2))
            points = np.column_stack([lat_lon[:, 1], mercator_y(lat_lon[:, 0])])
            dots = self.dots.get(entity)
            if dots is None:
                dots = self.dots[entity] = pg.ScatterPlotItem(pxMode=True, name=entity)
                dots.setZValue(10)
                self.plot.addItem(dots)
            colors = rgba if rgba is not None else np.tile(base, (len(points), 1))
            radii = floats(values.get("GeoPoints:radii"))
            size = 2 * abs(float(radii[0])) if len(radii) and radii[0] < 0 else _DEFAULT_DOT_PX
            dots.setData(
                pos=points, size=size, pen=None, brush=[pg.mkBrush(*(255 * c).astype(int)) for c in colors]
            )
            if len(points):
                latest = points[-1]
        # Not over most of a small map: four fix topics' names covered a 100 px map (found by an audit).
        room = self.plot.getPlotItem().vb.boundingRect().height()
        self.legend.setVisible(len(entities) > 1 and self.legend.boundingRect().height() <= 0.5 * room)
        self._place(entities, latest)

    def _place(self, entities: list[str], latest: npt.NDArray[np.float64] | None) -> None:
        zoom = self.settings.get("zoom")
        if zoom is not None and latest is not None:
            degrees_per_px = 360.0 / (_TILE_PX * 2.0 ** float(zoom))
            half_width = degrees_per_px * max(self.plot.width(), 1) / 2
            half_height = degrees_per_px * max(self.plot.height(), 1) / 2
            self.plot.setRange(
                xRange=(latest[0] - half_width, latest[0] + half_width),
                yRange=(latest[1] - half_height, latest[1] + half_height),
                padding=0.0,
            )
            return
        key = tuple(entities)
        if zoom is None and key != self._fitted_for and any(len(self.tracks[e].xy) for e in entities):
            self._fitted_for = key
            everything = np.vstack([self.tracks[entity].xy for entity in entities])
            self.plot.setRange(
                xRange=(everything[:, 0].min(), everything[:, 0].max()),
                yRange=(everything[:, 1].min(), everything[:, 1].max()),
                padding=0.2,  # a fix at the edge of a short view was cut by the frame (a dot is 10 px)
            )
