"""Bar charts and GPS maps on real rerun-sdk files, checked by pixels; the default layout and blueprints
give them their views."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rerun as rr
from PyQt6 import QtCore
from pytestqt.qtbot import QtBot

from rerun_bridge.blueprint import model
from rerun_bridge.blueprint.heuristic import default_blueprint_of
from rerun_bridge.blueprint.model import ContentRule, ViewKind
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.views.bar_chart_view import BarChartView
from rerun_bridge.viewer.views.map_view import MapView, latitude_of, mercator_y
from rerun_bridge.viewer.views.tensor_view import TensorView
from rerun_bridge.viewer.window import ViewerWindow
from test.conftest import RERUN_SUPPORTED_MCAP
from test.viewer.conftest import START_NS, at, qimage_rgb, red_pixels, write_rrd

NS = 1_000_000_000
#: A GPS fix per second, heading north-east.
FIXES = np.array([[48.1000, 11.5000], [48.1010, 11.5020], [48.1030, 11.5030]])


def charts_and_fixes_rrd(tmp_path: Path) -> Path:
    """``/bars`` (red, [1, 3, 2] at 0 s, [3, 1, 2] at 1 s), ``/gps/fix`` (green dots), ``/tensor``."""

    def log(rec: Any) -> None:
        for second, fix in enumerate(FIXES):
            at(rec, float(second))
            heights = [1.0, 3.0, 2.0] if second == 0 else [3.0, 1.0, 2.0]
            rr.log("/bars", rr.BarChart(heights, color=[255, 0, 0]), recording=rec)
            rr.log("/gps/fix", rr.GeoPoints(lat_lon=[fix], colors=[0, 255, 0]), recording=rec)
            rr.log("/tensor", rr.Tensor(np.eye(3) * second), recording=rec)

    return write_rrd(tmp_path / "charts.rrd", log)


def show(qtbot: QtBot, view: Any) -> None:
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)


def bar_heights_px(view: BarChartView, count: int) -> list[int]:
    """Height in pixels of the red column at the centre of bars 0 .. count-1."""
    red = red_pixels(qimage_rgb(view.plot.grab().toImage()))
    viewbox = view.plot.getViewBox()
    heights = []
    for index in range(count):
        pixel = view.plot.mapFromScene(viewbox.mapViewToScene(QtCore.QPointF(index, 0.0)))
        heights.append(int(red[:, pixel.x()].sum()))
    return heights


def test_mercator_round_trip() -> None:
    latitudes = np.array([-60.0, 0.0, 48.1, 85.0])
    np.testing.assert_allclose(latitude_of(mercator_y(latitudes)), latitudes, atol=1e-9)
    assert mercator_y(np.array([0.0]))[0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.gui
def test_bars_stand_as_high_as_their_values_and_follow_the_time(qtbot: QtBot, tmp_path: Path) -> None:
    store = load_files([charts_and_fixes_rrd(tmp_path)]).store
    view = BarChartView(store, SceneTransforms(store), "/bars")
    show(qtbot, view)
    view.set_time("ros_time", START_NS)
    first = bar_heights_px(view, 3)
    assert first[0] > 10
    assert first[1] == pytest.approx(3 * first[0], rel=0.08)
    assert first[2] == pytest.approx(2 * first[0], rel=0.08)
    view.set_time("ros_time", START_NS + NS)
    second = bar_heights_px(view, 3)
    assert second[0] == pytest.approx(3 * second[1], rel=0.08)


@pytest.mark.gui
def test_bad_bar_values_are_named_and_other_entities_still_drawn(qtbot: QtBot) -> None:
    store = ChunkStore()
    store.append_row("/matrix", {"ros_time": 1}, {"BarChart:values": [np.ones((2, 3))]})
    store.append_row("/fine", {"ros_time": 1}, {"BarChart:values": [np.array([1.0, 2.0])]})
    view = BarChartView(store, SceneTransforms(store), settings={"legend": False})
    show(qtbot, view)
    view.set_time("ros_time", 1)
    assert (
        view.note.text() == "/matrix: bar chart values must be one-dimensional, got shape (2, 3); not drawn"
    )
    assert list(view.bars) == ["/fine"]
    assert not view.legend.isVisible()


@pytest.mark.gui
def test_the_map_shows_the_latest_fix_where_it_lies_and_the_track_behind_it(
    qtbot: QtBot, tmp_path: Path
) -> None:
    store = load_files([charts_and_fixes_rrd(tmp_path)]).store
    view = MapView(store, SceneTransforms(store))
    show(qtbot, view)

    def green_pixels(bright: bool) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        rgb = qimage_rgb(view.plot.grab().toImage()).astype(np.int16)
        green = rgb[..., 1] > 200 if bright else (rgb[..., 1] > 120) & (rgb[..., 1] < 200)
        rows, columns = np.nonzero(green & (rgb[..., 0] < 60) & (rgb[..., 2] < 60))
        return rows, columns

    view.set_time("ros_time", START_NS + 2 * NS)
    rows, columns = green_pixels(bright=True)
    assert len(rows) > 20, "the latest fix is not drawn"
    viewbox = view.plot.getViewBox()
    expected = view.plot.mapFromScene(
        viewbox.mapViewToScene(QtCore.QPointF(FIXES[2, 1], float(mercator_y(FIXES[2:, 0])[0])))
    )
    assert abs(columns.mean() - expected.x()) < 2.0
    assert abs(rows.mean() - expected.y()) < 2.0
    track_rows, track_columns = green_pixels(bright=False)
    assert len(track_rows) > 50, "the track up to now is not drawn"
    assert track_columns.min() < columns.min()
    assert track_rows.max() > rows.max()

    view.set_time("ros_time", START_NS)  # back to the first fix: no track yet, the dot moved south-west
    earlier_rows, earlier_columns = green_pixels(bright=True)
    assert earlier_columns.mean() < columns.mean()
    assert earlier_rows.mean() > rows.mean()
    assert len(green_pixels(bright=False)[0]) < len(track_rows) / 3  # the dot's rim only
    assert len(view.track_lines["/gps/fix"].getData()[0]) == 1


@pytest.mark.gui
def test_the_maps_legend_names_its_fix_topics_from_two_on(qtbot: QtBot) -> None:
    """The synthetic recording's four GNSS receivers were four unnamed dots (perception audit)."""
    store = load_files([RERUN_SUPPORTED_MCAP], warn=lambda _: None).store
    view = MapView(store, SceneTransforms(store))
    show(qtbot, view)
    _start, end = store.time_range("ros_time") or (0, 0)
    view.set_time("ros_time", end)
    names = sorted(label.text for _sample, label in view.legend.items)
    assert len(names) == 4
    assert all(name in names for name in view.entities_with("GeoPoints:positions"))
    assert view.legend.isVisible()
    # A map about 100 px tall (the default layout's, beside images): the names covered it (audit).
    view.resize(400, 110)
    qtbot.wait(50)
    view.set_time("ros_time", end - 1)
    assert not view.legend.isVisible()


@pytest.mark.gui
def test_map_zoom_setting_spans_the_web_map_scale(qtbot: QtBot, tmp_path: Path) -> None:
    store = load_files([charts_and_fixes_rrd(tmp_path)]).store
    view = MapView(store, SceneTransforms(store), settings={"zoom": 16})
    show(qtbot, view)
    view.set_time("ros_time", START_NS + NS)
    (left, right), _ = view.plot.getViewBox().viewRange()
    degrees_per_px = 360 / (256 * 2**16)
    assert right - left == pytest.approx(degrees_per_px * view.plot.width(), rel=0.1)
    assert (left + right) / 2 == pytest.approx(FIXES[1, 1], abs=degrees_per_px * 5)


def test_default_layout_adds_map_tensor_and_bar_chart_views(tmp_path: Path) -> None:
    store = load_files([charts_and_fixes_rrd(tmp_path)]).store
    views = {view.kind: view for view in default_blueprint_of(store).views()}
    assert set(views) == {ViewKind.MAP, ViewKind.TENSOR, ViewKind.BAR_CHART}
    assert views[ViewKind.MAP].contents == (ContentRule("/gps/fix"),)
    assert views[ViewKind.TENSOR].origin == "/tensor"
    assert views[ViewKind.BAR_CHART].origin == "/bars"


@pytest.mark.gui
def test_a_blueprint_with_every_new_kind_builds_them_with_their_settings(
    qtbot: QtBot, tmp_path: Path
) -> None:
    store = load_files([charts_and_fixes_rrd(tmp_path)]).store
    blueprint = model.Blueprint(
        "charts",
        model.Container(
            model.ContainerKind.HORIZONTAL,
            (
                model.View(
                    model.ViewKind.TENSOR,
                    origin="/tensor",
                    settings=model.TensorSettings(model.Colormap.MAGMA),
                ),
                model.View(
                    model.ViewKind.BAR_CHART, origin="/bars", settings=model.BarChartSettings(legend=False)
                ),
                model.View(model.ViewKind.MAP, origin="/gps", settings=model.MapSettings(zoom=12.0)),
            ),
        ),
    )
    window = ViewerWindow(store, blueprint.root)
    assert window.notes == []
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    window.seek("ros_time", START_NS + NS)
    (tensor,) = window.views_of(TensorView)
    (bars,) = window.views_of(BarChartView)
    (geo,) = window.views_of(MapView)
    assert isinstance(tensor, TensorView)
    assert isinstance(bars, BarChartView)
    assert isinstance(geo, MapView)
    assert tensor.settings["colormap"] == "magma"
    assert tensor.note.isHidden()
    np.testing.assert_array_equal(tensor.shown_slice(), np.eye(3))
    assert not bars.legend.isVisible()
    assert list(bars.bars) == ["/bars"]
    assert list(geo.dots) == ["/gps/fix"]
    assert geo.settings["zoom"] == 12.0
