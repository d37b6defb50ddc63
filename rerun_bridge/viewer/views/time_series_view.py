"""The time series view: every ``Scalars`` entity under the origin as lines over the timeline.

Each entity's rows hold one or more scalars; scalar ``i`` of every row makes curve ``i`` of that entity,
named by the entity's ``SeriesLines:names`` when it has them (else ``entity[i]``); a name two entities of
the view share is prefixed with the entity, below the view's origin (``/cmd_vel: linear/x``,
``position: wheel_joint`` in a ``/joint_states`` plot). The x axis is the
time since the timeline's start (seconds, or steps on sequence timelines), the same offset the time
panel shows; a vertical line marks the current time. Curves downsample (peak) and clip to the visible
range, so long series stay fast.

Settings: ``legend`` (bool), ``visible_range_s`` (show only that much history before the cursor: seconds,
or steps on sequence timelines; near the timeline's start, its first stretch of that length).

Whole series are loaded once per timeline (:meth:`ViewBase.timeline_changed`); moving the time only moves
the cursor.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.store.columns import times_to_int64
from rerun_bridge.viewer.component_values import strings
from rerun_bridge.viewer.time_panel import NANOS_PER_SECOND, timeline_is_time
from rerun_bridge.viewer.views.base import ViewBase, note_label, show_notes
from rerun_bridge.viewer.views.plots import OffsetAxis, add_legend, plot_widget

SCALARS: Final = "Scalars:scalars"
SERIES_NAMES: Final = "SeriesLines:names"
_CURSOR_COLOR: Final = (235, 203, 139)
#: Room the legend leaves above and below its rows: its offset in the plot and its own margins.
_LEGEND_MARGIN_PX: Final = 20.0
#: A legend entry's width besides its label: the line sample (20 px) and the spacing around it.
_LEGEND_SAMPLE_PX: Final = 40.0


class Series(NamedTuple):
    """One entity's samples: times (N,) and values (N, curves), NaN where a row had fewer scalars."""

    entity: str
    times: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    names: list[str]


def load_series(store: ChunkStore, entity: str, timeline: str) -> Series | None:
    """Every row of an entity's ``Scalars`` on ``timeline``; None without any."""
    bounds = store.time_range(timeline, entity)
    if bounds is None:
        return None
    table = store.range(entity, timeline, *bounds)
    if SCALARS not in table.column_names or table.num_rows == 0:
        return None
    table = table.filter(pc.is_valid(table[SCALARS]))
    if table.num_rows == 0:
        return None
    column = table[SCALARS].combine_chunks()
    times = times_to_int64(table[timeline])
    values = _scalar_matrix(column)
    names = strings(store.latest_at(entity, timeline, bounds[1]).get(SERIES_NAMES))
    curve_names = [
        names[index] if index < len(names) and names[index] else f"{entity}[{index}]"
        for index in range(values.shape[1])
    ]
    if values.shape[1] == 1 and not names:
        curve_names = [entity]
    return Series(entity, times, values, curve_names)


def _shared_names(series: list[Series]) -> set[str]:
    """Curve names that more than one of the entities' series uses."""
    owners: dict[str, set[str]] = {}
    for one in series:
        for name in one.names:
            owners.setdefault(name, set()).add(one.entity)
    return {name for name, entities in owners.items() if len(entities) > 1}


def _scalar_matrix(column: pa.Array) -> npt.NDArray[np.float64]:
    """A list column of scalars as a (rows, widest row) matrix, padded with NaN."""
    offsets = np.asarray(column.offsets.to_numpy(), dtype=np.int64)
    lengths = np.diff(offsets)
    flat = np.asarray(pc.list_flatten(column).to_numpy(zero_copy_only=False), dtype=np.float64)
    width = int(lengths.max()) if len(lengths) else 0
    if len(lengths) and bool(np.all(lengths == width)):
        return flat.reshape(len(lengths), width)
    matrix = np.full((len(lengths), max(width, 1)), np.nan)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    positions = np.arange(len(flat)) - np.repeat(offsets[:-1] - offsets[0], lengths)
    matrix[rows, positions] = flat
    return matrix


def _legend_width(widths: list[float], rows: int) -> float:
    """The width of legend entries with labels ``widths`` laid out row by row in ``rows`` rows: per
    column, a sample, its spacing and the column's widest label."""
    columns = max(1, -(-len(widths) // rows))
    return sum(_LEGEND_SAMPLE_PX + max(widths[column::columns]) for column in range(columns))


#: Hues of the curves' colours, and the line styles of each further round of them: a plot of more curves
#: than hues (navigation's cmd_vel against odometry: twelve) drew curves ten and on in the colours of the
#: first ones, indistinguishable in plot and legend.
CURVE_HUES: Final = 9
CURVE_STYLES: Final = (
    QtCore.Qt.PenStyle.SolidLine,
    QtCore.Qt.PenStyle.DashLine,
    QtCore.Qt.PenStyle.DotLine,
    QtCore.Qt.PenStyle.DashDotLine,
)


#: Pixels of the dot a one-sample series is drawn as.
_DOT_SIZE: Final = 7


def curve_pen(index: int) -> QtGui.QPen:
    """The pen of a plot's ``index``-th curve: a hue of its own, and past :data:`CURVE_HUES` curves a line
    style of its own too (distinct for hues x styles curves)."""
    pen = QtGui.QPen(pg.intColor(index % CURVE_HUES, hues=CURVE_HUES))
    pen.setCosmetic(True)  # one pixel wide at any zoom, as pyqtgraph's own pens
    pen.setStyle(CURVE_STYLES[(index // CURVE_HUES) % len(CURVE_STYLES)])
    return pen


class TimeSeriesView(ViewBase):
    """Curves of every scalar entity of the view, with a cursor at the current time."""

    kind = "time_series"

    def _build(self) -> None:
        self.plot = plot_widget({"bottom": OffsetAxis("bottom")})
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        # On a dark backing: over the curves without one, its labels could not be read.
        self.legend = add_legend(self.plot)
        #: The sample of the legend's "+N more" entry: draws nothing.
        self._more = pg.PlotDataItem(pen=None)
        #: The curves (identity, name) and the plot's size the legend was last laid out for.
        self._legend_layout: tuple[object, ...] = ()
        self.legend.setVisible(bool(self.settings.get("legend", True)))
        self.plot.getViewBox().sigResized.connect(self._fit_legend)
        self.time_cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(_CURSOR_COLOR, width=1))
        self.plot.addItem(self.time_cursor, ignoreBounds=True)
        self.note = note_label()
        self._stack(self.plot, self.note)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._start = 0
        self._scale = float(NANOS_PER_SECOND)
        self._shown_entities: list[str] = []

    def timeline_changed(self, timeline: str) -> None:
        bounds = self.store.time_range(timeline)
        self._start = self.time_origin if self.time_origin is not None else bounds[0] if bounds else 0
        self._scale = float(NANOS_PER_SECOND) if timeline_is_time(self.store, timeline) else 1.0
        self.plot.setLabel("bottom", f"{timeline} ({'s' if self._scale > 1 else 'steps'} from start)")
        self._load_curves(timeline)

    def update_data(self, timeline: str, time: int) -> None:
        visible = self.entities_with(SCALARS)
        if self.time_origin is not None and self.time_origin != self._start:
            self.timeline_changed(timeline)  # the time panel counts from another start now
        elif visible != self._shown_entities:
            self._load_curves(timeline)
        cursor = (time - self._start) / self._scale
        self.time_cursor.setValue(cursor)
        visible_range = self.settings.get("visible_range_s")
        if visible_range is not None:
            self._window_to(cursor, float(visible_range), timeline)

    def _window_to(self, cursor: float, window: float, timeline: str) -> None:
        """``window`` seconds (or steps) ending at the cursor, but within the timeline: near its start the
        first stretch of that length (not seconds before the recording), and a timeline shorter than the
        window whole."""
        bounds = self.store.time_range(timeline)
        if bounds is None:
            self.plot.setXRange(cursor - window, cursor, padding=0.0)
            return
        first, last = ((bound - self._start) / self._scale for bound in bounds)
        if last - first <= window:
            self.plot.setXRange(first, max(last, first + 1e-9), padding=0.0)
            return
        low = max(cursor - window, first)
        self.plot.setXRange(low, low + window, padding=0.0)

    def _fit_legend(self, *_: object) -> None:
        """The legend laid out in as many columns as the plot's height needs (in one column a short plot
        cut off its last names, such as the neato's angular/z, the one curve that moves), with as many
        entries as its width holds: the rest become one "+N more" entry rather than names cut off at the
        plot's edge (navigation's cmd_vel vs odometry: twelve names in one row)."""
        curves = list(self.curves.values())
        box = self.plot.getViewBox()
        # A lazily opened recording reloads the curves at every scrub step: lay out only what changed.
        layout = (tuple((id(curve), curve.name()) for curve in curves), box.width(), box.height())
        if layout == self._legend_layout:
            return
        self._legend_layout = layout
        legend = self.legend
        legend.clear()
        if not curves:
            return
        for curve in curves:
            legend.addItem(curve, curve.name())
        legend.addItem(self._more, f"+{len(curves)} more")  # measured, then left out if all fit
        labels = [label for _, label in legend.items]
        row_height = max(label.boundingRect().height() for label in labels)
        rows = max(1, int((box.height() - 2 * _LEGEND_MARGIN_PX) // row_height)) if row_height > 0 else 1
        widths = [label.boundingRect().width() for label in labels]
        room = box.width() - 2 * _LEGEND_MARGIN_PX
        shown = len(curves)
        while (
            shown > 1
            and _legend_width(widths[:shown] + ([widths[-1]] if shown < len(curves) else []), rows) > room
        ):
            shown -= 1
        legend.clear()
        for curve in curves[:shown]:
            legend.addItem(curve, curve.name())
        if shown < len(curves):
            legend.addItem(self._more, f"+{len(curves) - shown} more")
        legend.setColumnCount(max(1, -(-len(legend.items) // rows)))

    def _short(self, entity: str) -> str:
        """``entity`` below the view's origin without it (``position`` in a ``/joint_states`` plot)."""
        prefix = self.origin.rstrip("/") + "/"
        return entity[len(prefix) :] if self.origin != "/" and entity.startswith(prefix) else entity

    def _timelines_with(self, entity: str) -> list[str]:
        return [name for name in self.store.timelines() if self.store.time_range(name, entity) is not None]

    def _load_curves(self, timeline: str) -> None:
        """Every shown series' samples on ``timeline``. Curves that stay are given their new samples
        rather than made again: a lazily opened recording reloads them at every scrub step."""
        previous, self.curves = self.curves, {}
        self._shown_entities = self.entities_with(SCALARS)
        color_index = 0
        elsewhere: list[str] = []
        loaded: list[Series] = []
        for entity in self._shown_entities:
            series = load_series(self.store, entity, timeline)
            if series is None:
                if self._timelines_with(entity):
                    elsewhere.append(entity)
                continue
            loaded.append(series)
        shared = _shared_names(loaded)
        for series in loaded:
            entity = series.entity
            x = (series.times - self._start).astype(np.float64) / self._scale
            for index, series_name in enumerate(series.names):
                # Two entities' curves of one name (navigation's cmd_vel and odometry twist both have
                # linear/x) were two identical legend entries: such names say whose they are.
                name = f"{self._short(entity)}: {series_name}" if series_name in shared else series_name
                pen = curve_pen(color_index)
                curve = previous.pop(f"{entity}#{index}", None)
                if curve is None or curve.name() != name:
                    if curve is not None:
                        self.plot.removeItem(curve)
                    curve = self.plot.plot(x, series.values[:, index], name=name, pen=pen)
                    curve.setDownsampling(auto=True, method="peak")
                    curve.setClipToView(True)
                    curve.setSkipFiniteCheck(False)
                else:
                    curve.setData(x, series.values[:, index], pen=pen)
                # A line needs two samples: one sample alone (a parameter set once) is drawn as a dot.
                if len(x) < 2:
                    curve.setSymbol("o")
                    curve.setSymbolSize(_DOT_SIZE)
                    curve.setSymbolPen(None)
                    curve.setSymbolBrush(pen.color())
                elif curve.opts.get("symbol") is not None:
                    curve.setSymbol(None)
                self.curves[f"{entity}#{index}"] = curve
                color_index += 1
        for curve in previous.values():  # series no longer shown
            self.plot.removeItem(curve)
        self._fit_legend()
        # A topic without a header has no ros_time: say where its samples are instead of an empty plot.
        show_notes(
            self.note,
            [
                f"{entity}: no samples on {timeline} (on {', '.join(self._timelines_with(entity))})"
                for entity in elsewhere
            ],
        )
