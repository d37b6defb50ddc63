"""Shapes drawn as line segments, one GL line item per entity (ellipsoids, capsules): the bookkeeping the
3D view's extras share."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyqtgraph.opengl as gl

from rerun_bridge.viewer.component_values import entity_color

#: Lines blend over what is behind them and hide behind what is in front, as Rerun's viewer draws them.
#: pyqtgraph's default for lines is additive without depth: any colour over a white map cell was white,
#: so GridCells, paths and marker outlines on a map's free cells did not show (audit).
LINE_GL_OPTIONS = "translucent"


class WireframeLayer:
    """Per entity, one item of line segments; :meth:`draw` the entities shown at this time, then
    :meth:`prune` removes the items of entities no longer shown."""

    def __init__(self, gl_view: gl.GLViewWidget) -> None:
        self.gl_view = gl_view
        self.items: dict[str, gl.GLLinePlotItem] = {}
        self._shown: set[str] = set()

    def draw(
        self,
        entity: str,
        segments: npt.NDArray[np.float64],
        rgba: npt.NDArray[Any] | None,
        shapes: int,
    ) -> None:
        """``segments`` (pairs of points, already placed) of ``shapes`` shapes with as many segments each;
        ``rgba`` one colour per shape, None: the entity's own colour."""
        per_shape = len(segments) // max(shapes, 1)
        color: Any = np.repeat(rgba, per_shape, axis=0) if rgba is not None else entity_color(entity)
        item = self.items.get(entity)
        if item is None:
            item = self.items[entity] = gl.GLLinePlotItem(
                mode="lines", width=2, antialias=True, glOptions=LINE_GL_OPTIONS
            )
            self.gl_view.addItem(item)
        item.setData(pos=segments.astype(np.float32), color=color)
        item.setVisible(True)
        self._shown.add(entity)

    def prune(self) -> None:
        for entity in list(self.items):
            if entity not in self._shown:
                self.gl_view.removeItem(self.items.pop(entity))
        self._shown = set()
