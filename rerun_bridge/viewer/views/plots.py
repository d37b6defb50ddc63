"""pyqtgraph plot widgets as the views use them: axes painted from a cached pixmap.

Why the cache: a plot's axes are repainted whenever anything near them is (the moving time cursor,
bars, dots), and replaying an axis's tick labels costs about a millisecond each with raster text. With
``DeviceCoordinateCache`` an axis repaints from a pixmap until its own ticks change (a new range), which
halves the painting of a window of plots.
"""

from __future__ import annotations

from math import ceil, log10
from typing import Any

import pyqtgraph as pg
from PyQt6 import QtWidgets

_AXES = ("left", "bottom", "right", "top")


#: A legend's backing: the plot's background, faint, so its names read over curves and grid and
#: the curves under it still show (at 200 of 255 it hid the first seconds of a plot: found by an audit).
LEGEND_BACKING = (0, 0, 0, 70)


def add_legend(plot: pg.PlotWidget) -> Any:
    """The plot's legend, top left on :data:`LEGEND_BACKING`: what items added to it with a name show."""
    return plot.addLegend(offset=(8, 8), brush=pg.mkBrush(LEGEND_BACKING))


def plot_widget(axis_items: dict[str, Any] | None = None) -> pg.PlotWidget:
    """A plot with cached axes (and any custom axis items, keyed by side)."""
    plot = pg.PlotWidget(axisItems=axis_items)
    item = plot.getPlotItem()
    for side in _AXES:
        axis = item.getAxis(side)
        axis.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return plot


class OffsetAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph is untyped
    """A time axis of offsets from the timeline's start, labelled with as many decimals as the tick spacing
    needs, never in exponent form: far into a long timeline (the GPS bag's ros_time spans two months of
    robot clock) pyqtgraph's own labels switched to ``%g`` and every tick of a 30 s window read
    ``5.70082e+06``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Seconds stay seconds: a one-sample plot's ±0.5 s range was relabelled in ms, "(x0.001)" (audit).
        self.enableAutoSIPrefix(False)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        if self.logMode or spacing <= 0:
            return list(super().tickStrings(values, scale, spacing))
        places = max(0, ceil(-log10(spacing * scale)))
        return [f"{value * scale + 0.0:.{places}f}" for value in values]  # + 0.0: no "-0"
