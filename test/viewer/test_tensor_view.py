"""The tensor view on real rerun-sdk files: the slice's cells are drawn by value, slice selectors and
scrubbing change them, and components it cannot read are named, not drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import rerun as rr
from PyQt6 import QtCore
from pytestqt.qtbot import QtBot

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.tensor_data import TensorDataError, tensor_value
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.views.tensor_view import TensorView, shown_axes
from test.viewer.conftest import START_NS, at, press, qimage_rgb, write_rrd

NS = 1_000_000_000
#: 2 x 3 x 4 with named dimensions: ascending values at 0 s, descending at 1 s.
ASCENDING = np.arange(24, dtype=np.float32).reshape(2, 3, 4)


def tensor_rrd(tmp_path: Path) -> Path:
    def log(rec: Any) -> None:
        for offset, data in ((0.0, ASCENDING), (1.0, ASCENDING[..., ::-1].copy())):
            at(rec, offset)
            rr.log("/tensor", rr.Tensor(data, dim_names=["batch", "row", "col"]), recording=rec)

    return write_rrd(tmp_path / "tensor.rrd", log)


def make_view(qtbot: QtBot, store: ChunkStore, **settings: Any) -> TensorView:
    view = TensorView(store, SceneTransforms(store), settings=settings)
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    return view


def cell_brightness(view: TensorView, row: int, column: int) -> int:
    """The grey level drawn at the centre of one cell of the shown slice."""
    picture = qimage_rgb(view.graphics.grab().toImage())
    scene_point = view.viewbox.mapViewToScene(QtCore.QPointF(column + 0.5, row + 0.5))
    pixel = view.graphics.mapFromScene(scene_point)
    return int(picture[pixel.y(), pixel.x()].mean())


def test_reading_rerun_tensors_and_bridge_arrays() -> None:
    rerun_layout = rr.Tensor(ASCENDING, dim_names=["batch", "row", "col"]).data
    assert rerun_layout is not None
    tensor = tensor_value(rerun_layout.as_arrow_array())
    assert tensor is not None
    np.testing.assert_array_equal(tensor.array, ASCENDING)
    assert tensor.names == ["batch", "row", "col"]
    store = ChunkStore()  # the bridge's rows: a numpy array becomes nested fixed-size lists
    store.append_row("/two_channel", {"ros_time": 1}, {"Tensor:data": [np.ones((4, 5, 2), np.uint8)]})
    appended = tensor_value(store.latest_at("/two_channel", "ros_time", 1)["Tensor:data"])
    assert appended is not None
    assert appended.array.shape == (4, 5, 2)
    with pytest.raises(TensorDataError, match="got string"):
        tensor_value(pa.array(["not a tensor"]))
    assert shown_axes((4, 5, 2)) == (0, 1)
    assert shown_axes((2, 3, 4)) == (1, 2)
    assert shown_axes((1, 7, 1)) == (1, None)


@pytest.mark.gui
def test_cells_are_drawn_by_value_and_the_selector_and_scrubbing_change_them(
    qtbot: QtBot, tmp_path: Path
) -> None:
    store = load_files([tensor_rrd(tmp_path)]).store
    view = make_view(qtbot, store, colormap="grayscale")
    view.set_time("ros_time", START_NS)
    assert view.note.isHidden()
    # The two largest dimensions (row x col) are shown; batch gets a selector at 0.
    np.testing.assert_array_equal(view.shown_slice(), ASCENDING[0])
    assert list(view.selectors) == [0]
    assert "shape 2 x 3 x 4 (batch, row, col)" in view.info.text()
    # One grey scale over the whole tensor (0 .. 23), so slices compare.
    assert cell_brightness(view, 0, 0) < 10
    assert abs(cell_brightness(view, 2, 3) - 255 * 11 / 23) < 10
    assert cell_brightness(view, 1, 0) < cell_brightness(view, 1, 2)

    selector = view.selectors[0]
    selector.setFocus()
    press(qtbot, selector, QtCore.Qt.Key.Key_Up)
    np.testing.assert_array_equal(view.shown_slice(), ASCENDING[1])
    assert cell_brightness(view, 2, 3) > 240  # the largest value of the whole tensor

    view.set_time("ros_time", START_NS + NS)  # the reversed tensor: columns swap brightness
    np.testing.assert_array_equal(view.shown_slice(), ASCENDING[1, :, ::-1])
    assert cell_brightness(view, 1, 0) > cell_brightness(view, 1, 2)


@pytest.mark.gui
def test_unreadable_tensors_and_colormaps_are_named_in_the_note(qtbot: QtBot) -> None:
    store = ChunkStore()
    store.append_row("/bad", {"ros_time": 1}, {"Tensor:data": ["text"]})
    view = make_view(qtbot, store, colormap="rviz_costmap")
    view.set_time("ros_time", 1)
    assert view.shown_slice() is None
    assert "colormap 'rviz_costmap' is not available here; using viridis" in view.note.text()
    assert "/bad: expected Rerun's TensorData struct or a numeric array, got string; not drawn" in (
        view.note.text()
    )
