"""The bar chart view: every ``BarChart`` entity under the origin, its latest values as bars.

Bar ``i`` of an entity stands at ``BarChart:abscissa[i]`` when logged, else at ``i``, ``BarChart:widths``
wide (one width for all, or one per bar; default 1). Several entities share the axis: each gets its slot
of every bar's width, side by side, in its ``BarChart:color`` (else the entity's colour). Values must be
one-dimensional, as in Rerun; any other shape or layout is named in the note and not drawn.

Settings: ``legend`` (bool, default true).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyqtgraph as pg

from rerun_bridge.viewer.component_values import colors_rgba, entity_color, floats
from rerun_bridge.viewer.tensor_data import TensorDataError, tensor_value
from rerun_bridge.viewer.views.base import ViewBase, note_label, show_notes
from rerun_bridge.viewer.views.plots import plot_widget

BAR_VALUES: Final = "BarChart:values"


class BarChartView(ViewBase):
    """Bars of every bar-chart entity of the view at the current time."""

    kind = "bar_chart"

    def _build(self) -> None:
        self.plot = plot_widget()
        self.plot.showGrid(x=False, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(8, 8))
        self.legend.setVisible(bool(self.settings.get("legend", True)))
        self.note = note_label()
        self._stack(self.plot, self.note)
        #: One bar item per entity drawn now.
        self.bars: dict[str, pg.BarGraphItem] = {}
        self._extent: tuple[float, float, float, float] | None = None

    def update_data(self, timeline: str, time: int) -> None:
        notes: list[str] = []
        charts: dict[str, tuple[npt.NDArray[np.float64], dict[str, pa.Array]]] = {}
        for entity in self.entities_with(BAR_VALUES):
            values = self.store.latest_at(entity, timeline, time)
            try:
                heights = _one_dimensional(values.get(BAR_VALUES), "values")
            except TensorDataError as err:
                notes.append(f"{entity}: {err}; not drawn")
                continue
            if heights is not None:
                charts[entity] = (heights, values)
        for entity in list(self.bars):
            if entity not in charts:
                self.plot.removeItem(self.bars.pop(entity))
                self.legend.removeItem(entity)
        slot = 1.0 / max(len(charts), 1)
        lowest, highest, left, right = 0.0, 0.0, 0.0, 0.0
        for position, (entity, (heights, values)) in enumerate(sorted(charts.items())):
            try:
                x, widths = _bar_positions(heights, values)
            except TensorDataError as err:
                notes.append(f"{entity}: {err}; drawn at 0, 1, 2, ...")
                x, widths = np.arange(len(heights), dtype=np.float64), np.ones(len(heights))
            # Each entity takes its slot of every bar's width, so bars of several entities stand side by side.
            centers = x - widths / 2 + widths * slot * (position + 0.5)
            rgba = colors_rgba(values.get("BarChart:color"), 1)
            color = rgba[0] if rgba is not None else np.array(entity_color(entity), dtype=np.float32)
            brush = pg.mkBrush(*(255 * color).astype(int))
            item = self.bars.get(entity)
            if item is None:
                item = self.bars[entity] = pg.BarGraphItem(x=centers, height=heights, width=widths * slot)
                self.plot.addItem(item)
                self.legend.addItem(item, entity)
            item.setOpts(x=centers, height=heights, width=widths * slot, brush=brush, pen=None)
            finite = heights[np.isfinite(heights)]
            if finite.size:
                lowest, highest = min(lowest, float(finite.min())), max(highest, float(finite.max()))
            if len(x):
                left = min(left, float((x - widths / 2).min()))
                right = max(right, float((x + widths / 2).max()))
        extent = (left, right, lowest, highest)
        if charts and extent != self._extent:
            self._extent = extent
            self.plot.setXRange(left, right, padding=0.02)
            self.plot.setYRange(lowest, highest if highest > lowest else lowest + 1.0, padding=0.05)
        show_notes(self.note, notes)


def _one_dimensional(values: pa.Array | None, what: str) -> npt.NDArray[np.float64] | None:
    """A tensor component that must hold one dimension (size-one axes are dropped), as float64."""
    tensor = tensor_value(values)
    if tensor is None:
        return None
    squeezed = np.asarray(tensor.array, dtype=np.float64).squeeze()
    if squeezed.ndim > 1:
        raise TensorDataError(f"bar chart {what} must be one-dimensional, got shape {tensor.array.shape}")
    return squeezed.reshape(-1)


def _bar_positions(
    heights: npt.NDArray[np.float64], values: dict[str, Any]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Where bars stand and how wide they are: the logged abscissa and widths, else 0, 1, 2, ... and 1."""
    count = len(heights)
    abscissa = _one_dimensional(values.get("BarChart:abscissa"), "abscissa")
    if abscissa is None:
        x = np.arange(count, dtype=np.float64)
    elif len(abscissa) != count:
        raise TensorDataError(f"{len(abscissa)} abscissa values for {count} bars")
    else:
        x = abscissa
    logged_widths = floats(values.get("BarChart:widths")).astype(np.float64)
    if len(logged_widths) == 0:
        widths = np.ones(count)
    elif len(logged_widths) == 1 or len(logged_widths) != count:
        widths = np.full(count, logged_widths[0])
    else:
        widths = logged_widths
    return x, widths
