"""The tensor view: one ``Tensor`` entity's latest tensor as a colormapped 2D slice.

The two largest dimensions (of those longer than one; in their order, the first down) are shown as rows
and columns; every other dimension gets a spin box choosing the index it is sliced at (0 first). Values
map onto the colormap over the tensor's ``Tensor:value_range`` when logged, else over its own finite
minimum and maximum, so scrolling through slices keeps one scale. A line under the picture gives the
shape, the dimension names, the element type and the range.

With several tensor entities under its origin the view shows the first (by path) and says so. A
component in a layout this viewer cannot read is named in the note and not drawn.

Settings: ``colormap`` (a name; default viridis, as Rerun's tensor view).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PyQt6 import QtWidgets

from rerun_bridge.viewer.component_values import vectors
from rerun_bridge.viewer.tensor_data import TensorDataError, TensorValue, tensor_value
from rerun_bridge.viewer.views.base import ViewBase, note_label, show_notes
from rerun_bridge.viewer.views.colormaps import is_known_colormap, lookup_table

TENSOR: Final = "Tensor:data"
_VALUE_RANGE: Final = "Tensor:value_range"
_DEFAULT_COLORMAP: Final = "viridis"


def shown_axes(shape: tuple[int, ...]) -> tuple[int, int | None]:
    """The dimensions shown as rows and columns (columns None for a one-dimensional tensor)."""
    candidates = [axis for axis, size in enumerate(shape) if size > 1] or [len(shape) - 1]
    largest = sorted(sorted(candidates, key=lambda axis: -shape[axis])[:2])
    if len(largest) == 1:
        return largest[0], None
    return largest[0], largest[1]


def tensor_slice(
    array: npt.NDArray[Any], rows: int, columns: int | None, indices: dict[int, int]
) -> npt.NDArray[Any]:
    """The 2D (rows x columns) slice of ``array`` at ``indices`` of every other dimension."""
    selector: list[Any] = [
        slice(None) if axis in (rows, columns) else min(max(indices.get(axis, 0), 0), size - 1)
        for axis, size in enumerate(array.shape)
    ]
    plane: npt.NDArray[Any] = array[tuple(selector)]
    return plane.reshape(1, -1) if columns is None else plane  # one dimension: one row of cells


class TensorView(ViewBase):
    """A colormapped slice of the view's first tensor entity, with slice selectors."""

    kind = "tensor"

    def _build(self) -> None:
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("k")
        self.viewbox: pg.ViewBox = self.graphics.addViewBox()
        self.viewbox.setAspectLocked(False)
        self.viewbox.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.viewbox.addItem(self.image)
        self.selectors_row = QtWidgets.QHBoxLayout()
        self.selectors_row.setContentsMargins(4, 2, 4, 2)
        self.selectors: dict[int, QtWidgets.QSpinBox] = {}
        self.info = QtWidgets.QLabel()
        self.note = note_label()
        self._stack(self.graphics, self.info, self.note).insertLayout(0, self.selectors_row)
        colormap = str(self.settings.get("colormap") or _DEFAULT_COLORMAP)
        self._notes: list[str] = []
        if not is_known_colormap(colormap):
            self._notes.append(f"colormap {colormap!r} is not available here; using {_DEFAULT_COLORMAP}")
        self.image.setLookupTable(lookup_table(colormap, _DEFAULT_COLORMAP))
        self.tensor: TensorValue | None = None
        self._shape: tuple[int, ...] | None = None
        self._levels = (0.0, 1.0)

    # -- data ----------------------------------------------------------------------------------------

    def update_data(self, timeline: str, time: int) -> None:
        notes = list(self._notes)
        entities = self.entities_with(TENSOR)
        self.tensor = None
        if len(entities) > 1:
            notes.append(f"{len(entities)} tensor entities here; showing {entities[0]}")
        if entities:
            values = self.store.latest_at(entities[0], timeline, time)
            try:
                self.tensor = tensor_value(values.get(TENSOR))
            except TensorDataError as err:
                notes.append(f"{entities[0]}: {err}; not drawn")
            if self.tensor is not None:
                self._levels = _levels(self.tensor.array, vectors(values.get(_VALUE_RANGE), 2))
        show_notes(self.note, notes)
        self._show()

    def shown_slice(self) -> npt.NDArray[Any] | None:
        """The values drawn now, rows x columns (tests read them)."""
        return None if self.tensor is None else self._slice(np.atleast_1d(self.tensor.array))

    def _slice(self, array: npt.NDArray[Any]) -> npt.NDArray[Any]:
        rows, columns = shown_axes(array.shape)
        indices = {axis: box.value() for axis, box in self.selectors.items()}
        return tensor_slice(array, rows, columns, indices)

    def _show(self) -> None:
        if self.tensor is None:
            self.image.setVisible(False)
            self.info.setText("")
            return
        array, names = np.atleast_1d(self.tensor.array), self.tensor.names
        if array.shape != self._shape:
            self._make_selectors(array.shape, names)
        plane = np.asarray(self._slice(array), dtype=np.float32)
        self.image.setImage(plane, autoLevels=False, levels=self._levels)
        self.image.setVisible(True)
        self.viewbox.setRange(xRange=(0, plane.shape[1]), yRange=(0, plane.shape[0]), padding=0.0)
        labels = [names[axis] if names else f"dim {axis}" for axis in range(array.ndim)]
        rows, columns = shown_axes(array.shape)
        shown = labels[rows] + ("" if columns is None else f" x {labels[columns]}")
        self.info.setText(
            f" shape {' x '.join(str(size) for size in array.shape)} ({', '.join(labels)}), {array.dtype},"
            f" range {self._levels[0]:.4g} .. {self._levels[1]:.4g}; showing {shown}"
        )

    def _make_selectors(self, shape: tuple[int, ...], names: list[str]) -> None:
        """One spin box per dimension that is neither rows nor columns."""
        while self.selectors_row.count():
            item = self.selectors_row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.selectors = {}
        self._shape = shape
        rows, columns = shown_axes(shape)
        for axis, size in enumerate(shape):
            if axis in (rows, columns) or size <= 1:
                continue
            box = QtWidgets.QSpinBox()
            box.setRange(0, size - 1)
            box.setPrefix(f"{names[axis] if names else f'dim {axis}'} = ")
            box.valueChanged.connect(lambda _index: self._show())
            self.selectors_row.addWidget(box)
            self.selectors[axis] = box
        self.selectors_row.addStretch(1)


def _levels(array: npt.NDArray[Any], logged_range: npt.NDArray[np.float32]) -> tuple[float, float]:
    """The value range mapped onto the colormap: the logged one, else the data's finite extent."""
    if len(logged_range) and logged_range[0, 1] > logged_range[0, 0]:
        return float(logged_range[0, 0]), float(logged_range[0, 1])
    finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low, low + 1.0)
