"""pyqtgraph plot widgets as the views use them: axes painted from a cached pixmap.

Why the cache: a plot's axes are repainted whenever anything near them is (the moving time cursor,
bars, dots), and replaying an axis's tick labels costs about a millisecond each with raster text. With
``DeviceCoordinateCache`` an axis repaints from a pixmap until its own ticks change (a new range), which
halves the painting of a window of plots.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PyQt6 import QtWidgets

_AXES = ("left", "bottom", "right", "top")


def plot_widget(axis_items: dict[str, Any] | None = None) -> pg.PlotWidget:
    """A plot with cached axes (and any custom axis items, keyed by side)."""
    plot = pg.PlotWidget(axisItems=axis_items)
    item = plot.getPlotItem()
    for side in _AXES:
        axis = item.getAxis(side)
        axis.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
    return plot
