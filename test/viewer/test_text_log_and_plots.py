"""The text log (filters, click to seek) and the time series view (curves, names, the time cursor)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PyQt6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

from rerun_bridge.blueprint.model import View, ViewKind
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.views.text_log_view import TextLogView, level_rank
from rerun_bridge.viewer.views.time_series_view import TimeSeriesView, curve_pen, load_series
from rerun_bridge.viewer.window import ViewerWindow
from test.viewer.conftest import SMALL_SAMPLE, START_NS, click, qimage_rgb, type_text

pytestmark = pytest.mark.gui

NS = 1_000_000_000
#: The sample's /rosout levels, one line every duration / 6.
SAMPLE_LEVELS = ["INFO", "DEBUG", "WARN", "INFO", "ERROR", "CRITICAL"]


def make_log_view(qtbot: QtBot, store: ChunkStore) -> TextLogView:
    view = TextLogView(store, SceneTransforms(store))
    qtbot.addWidget(view)
    view.resize(700, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_time("ros_time", START_NS)
    return view


def test_log_rows_filter_by_level_and_search(qtbot: QtBot, sample_store: ChunkStore) -> None:
    view = make_log_view(qtbot, sample_store)
    assert view.visible_row_count() == SMALL_SAMPLE.log_lines
    assert view.model.rows.levels == SAMPLE_LEVELS
    view.level_box.setCurrentIndex(level_rank("WARN"))
    assert view.visible_row_count() == 3  # WARN, ERROR, CRITICAL
    type_text(qtbot, view.search_box, "pillar")
    assert view.visible_row_count() == 1
    view.level_box.setCurrentIndex(view.level_box.count() - 1)
    view.search_box.clear()
    type_text(qtbot, view.search_box, "DRIVER")  # case-insensitive
    assert view.visible_row_count() == 4


def test_clicking_a_log_row_seeks_the_window(qtbot: QtBot, sample_store: ChunkStore) -> None:
    window = ViewerWindow.from_layout(
        sample_store, [View(ViewKind.TEXT_LOG, "Log", "/"), View(ViewKind.TIME_SERIES, origin="/imu/data")]
    )
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.show()
    qtbot.waitExposed(window)
    (log_view,) = window.views_of(TextLogView)
    assert isinstance(log_view, TextLogView)
    row = 4  # the ERROR line
    index = log_view.proxy.index(row, 3)
    rect = log_view.table.visualRect(index)
    viewport = log_view.table.viewport()
    assert viewport is not None
    with qtbot.waitSignal(log_view.seek_requested, timeout=1000) as signal:
        click(qtbot, viewport, rect.center())
    expected = int(log_view.model.rows.times[row])
    assert signal.args == ["log_time", expected]  # the timeline the window opened on
    assert window.time_panel.current_time == expected
    (plot,) = window.views_of(TimeSeriesView)
    assert isinstance(plot, TimeSeriesView)
    assert plot.time_cursor.value() == pytest.approx((expected - START_NS) / NS)


def test_future_log_rows_are_greyed(qtbot: QtBot, sample_store: ChunkStore) -> None:
    view = make_log_view(qtbot, sample_store)
    view.set_time("ros_time", int(view.model.rows.times[2]))
    past = view.model.data(view.model.index(1, 3), QtCore.Qt.ItemDataRole.ForegroundRole)
    future = view.model.data(view.model.index(3, 3), QtCore.Qt.ItemDataRole.ForegroundRole)
    assert past is None
    assert future is not None


def test_joint_states_plot_one_named_curve_per_joint_and_quantity(
    qtbot: QtBot, sample_store: ChunkStore
) -> None:
    view = TimeSeriesView(sample_store, SceneTransforms(sample_store), "/joint_states")
    qtbot.addWidget(view)
    view.set_time("ros_time", START_NS + NS)
    assert len(view.curves) == 3 * SMALL_SAMPLE.joint_count  # effort, position, velocity
    names = {curve.name() for curve in view.curves.values()}
    # Each joint has a position, a velocity and an effort curve: the entity below the origin tells them apart.
    assert {"position: front_left_wheel_joint", "velocity: front_left_wheel_joint"} <= names
    position = view.curves["/joint_states/position#0"]
    x, y = position.getOriginalDataset()
    series = load_series(sample_store, "/joint_states/position", "ros_time")
    assert series is not None
    np.testing.assert_allclose(x, (series.times - START_NS) / NS)
    np.testing.assert_allclose(y, series.values[:, 0])
    assert position.opts["autoDownsample"]
    assert position.opts["clipToView"]
    assert view.time_cursor.value() == pytest.approx(1.0)
    view.set_time("ros_time", START_NS + NS // 2)
    assert view.time_cursor.value() == pytest.approx(0.5)


def test_ragged_scalar_rows_pad_with_nan(qtbot: QtBot) -> None:
    store = ChunkStore()
    store.append_row("/values", {"ros_time": 1}, {"Scalars:scalars": [1.0, 2.0]})
    store.append_row("/values", {"ros_time": 2}, {"Scalars:scalars": [3.0]})
    store.append_row("/values", {"ros_time": 3}, {"Scalars:scalars": [4.0, 5.0]})
    series = load_series(store, "/values", "ros_time")
    assert series is not None
    np.testing.assert_array_equal(series.values, [[1.0, 2.0], [3.0, np.nan], [4.0, 5.0]])
    assert series.names == ["/values[0]", "/values[1]"]


def test_cached_axes_follow_a_scrolling_time_window(qtbot: QtBot, sample_store: ChunkStore) -> None:
    view = TimeSeriesView(
        sample_store, SceneTransforms(sample_store), "/imu", settings={"visible_range_s": 0.5}
    )
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show()
    qtbot.waitExposed(view)
    axis = view.plot.getPlotItem().getAxis("bottom")
    # Axes repaint from a pixmap (plots.py); a new range must still redraw their labels.
    assert axis.cacheMode() is QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    area = view.plot.mapFromScene(axis.sceneBoundingRect()).boundingRect()

    def axis_pixels() -> np.ndarray[Any, Any]:
        return qimage_rgb(view.plot.grab(area).toImage())

    view.set_time("ros_time", START_NS + 600_000_000)
    early = axis_pixels()
    view.set_time("ros_time", START_NS + 1_700_000_000)
    assert not np.array_equal(axis_pixels(), early)


def test_a_plot_of_a_topic_without_header_says_where_its_samples_are(qtbot: QtBot) -> None:
    """The Neato's /cmd_vel (Twist, no header) is on log_time only: on ros_time its plot is empty, and says
    so instead of looking like a topic that never published."""
    from rerun_bridge.viewer.sources import load_files
    from test.conftest import NEATO_BAG

    store = load_files([NEATO_BAG]).store
    view = TimeSeriesView(store, SceneTransforms(store), origin="/cmd_vel")
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_time("ros_time", store.time_range("ros_time")[0])  # type: ignore[index]
    assert view.curves == {}
    assert view.note.isVisible()
    assert view.note.text() == "/cmd_vel: no samples on ros_time (on log_time)"
    view.set_time("log_time", store.time_range("log_time")[0])  # type: ignore[index]
    assert view.curves
    assert not view.note.isVisible()


def test_new_samples_update_the_curves_in_place(qtbot: QtBot) -> None:
    """A lazily opened recording reloads plots at every scrub step: curves get the new samples (and
    keep their legend entry) instead of being made again; a series that goes away is removed."""
    store = ChunkStore()
    for time in (1, 2, 3):
        store.append_row("/a", {"ros_time": time}, {"Scalars:scalars": [float(time)]})
        store.append_row("/b", {"ros_time": time}, {"Scalars:scalars": [-float(time)]})
    store.flush()
    view = TimeSeriesView(store, SceneTransforms(store), origin="/")
    qtbot.addWidget(view)
    view.set_time("ros_time", 3)
    first = dict(view.curves)
    assert set(first) == {"/a#0", "/b#0"}
    store.append_row("/a", {"ros_time": 4}, {"Scalars:scalars": [4.0]})
    store.flush()
    view.reload()
    assert view.curves["/a#0"] is first["/a#0"]
    _, values = view.curves["/a#0"].getOriginalDataset()
    np.testing.assert_array_equal(values, [1.0, 2.0, 3.0, 4.0])
    assert len(view.legend.items) == 2
    view.set_entity_visible("/b", False)
    view.reload()
    assert set(view.curves) == {"/a#0"}
    assert len(view.legend.items) == 1


TWIST_NAMES = ["linear/x", "linear/y", "linear/z", "angular/x", "angular/y", "angular/z"]


def _twist_plot(qtbot: QtBot, entities: list[str], origin: str, size: tuple[int, int]) -> TimeSeriesView:
    """A plot of six named twist curves per entity, shown at ``size``, at step 2."""
    store = ChunkStore()
    for step in range(5):
        for entity in entities:
            row = {"Scalars:scalars": [float(step)] * 6, "SeriesLines:names": TWIST_NAMES}
            store.append_row(entity, {"log_time": step}, row)
    view = TimeSeriesView(store, SceneTransforms(store), origin)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    view.set_time("log_time", 2)
    qtbot.wait(50)
    return view


def _legend_labels(view: TimeSeriesView) -> dict[str, Any]:
    """The legend's texts and where they are drawn, after checking every one lies inside the plot."""
    plot_area = view.plot.getViewBox().sceneBoundingRect()
    labels = {label.text: label.sceneBoundingRect() for _, label in view.legend.items}
    assert all(plot_area.contains(rect) for rect in labels.values()), (plot_area, labels)
    return labels


def test_every_legend_entry_stays_inside_a_short_plot(qtbot: QtBot) -> None:
    # The neato's /cmd_vel plot in a 720-pixel window had room for five of its six names: the one cut off
    # was angular/z, the only curve that moves.
    view = _twist_plot(qtbot, ["/cmd_vel"], "/cmd_vel", (1000, 140))
    assert sorted(_legend_labels(view)) == sorted(TWIST_NAMES)
    view.resize(1000, 600)  # room again: one column
    qtbot.wait(50)
    assert view.legend.columnCount == 1


def test_a_legend_wider_than_its_plot_ends_in_a_count_of_the_rest(qtbot: QtBot) -> None:
    # Navigation's "cmd_vel vs odometry" plot laid its twelve names in one row, those past the plot's right
    # edge cut off; now what fits is shown whole and the rest counted.
    view = _twist_plot(qtbot, ["/cmd_vel", "/odometry/twist"], "/", (700, 110))
    labels = _legend_labels(view)
    more = [text for text in labels if text.endswith(" more")]
    assert len(more) == 1, labels
    assert len(labels) - 1 + int(more[0].split()[0].lstrip("+")) == 12  # shown and counted: all twelve
    view.resize(1800, 600)  # room for all
    qtbot.wait(50)
    assert len(view.legend.items) == 12
    assert not [label for _, label in view.legend.items if label.text.endswith(" more")]


def test_curves_of_one_name_from_two_entities_say_whose_they_are(qtbot: QtBot) -> None:
    # The navigation scenario's "cmd_vel vs odometry" plot had two legend entries for each of linear/x ...
    # angular/z, one per topic, with nothing to tell them apart.
    store = ChunkStore()
    names = ["linear/x", "angular/z"]
    for step in range(3):
        for entity in ("/cmd_vel", "/odom/twist"):
            store.append_row(
                entity, {"log_time": step}, {"Scalars:scalars": [float(step)] * 2, "SeriesLines:names": names}
            )
        store.append_row(
            "/battery", {"log_time": step}, {"Scalars:scalars": [1.0], "SeriesLines:names": ["v"]}
        )
    view = TimeSeriesView(store, SceneTransforms(store), "/")
    qtbot.addWidget(view)
    view.set_time("log_time", 1)
    labels = sorted(label.text for _, label in view.legend.items)
    assert labels == [
        "/cmd_vel: angular/z",
        "/cmd_vel: linear/x",
        "/odom/twist: angular/z",
        "/odom/twist: linear/x",
        "v",  # a name no other entity uses stays short
    ]


def test_every_curve_of_a_twelve_curve_plot_has_its_own_pen(qtbot: QtBot) -> None:
    # Navigation's "cmd_vel vs odometry": curves ten to twelve were drawn in the colours of curves one to
    # three (nine hues, then again), /odometry/twist's angular/x indistinguishable from /cmd_vel's linear/x.
    view = _twist_plot(qtbot, ["/cmd_vel", "/odometry/twist"], "/", (1800, 600))
    pens = {
        name: (curve.opts["pen"].color().name(), curve.opts["pen"].style())
        for name, curve in ((curve.name(), curve) for curve in view.curves.values())
    }
    assert len(pens) == 12
    assert len(set(pens.values())) == 12, pens
    legend_pens = {label.text: sample.item.opts["pen"] for sample, label in view.legend.items}
    assert {name: (pen.color().name(), pen.style()) for name, pen in legend_pens.items()} == pens


def _speed_window(qtbot: QtBot, seconds: int) -> TimeSeriesView:
    """A plot of ``seconds`` + 1 samples, one a second, that shows the last 30 s."""
    store = ChunkStore()
    for second in range(seconds + 1):
        store.append_row("/speed", {"log_time": second * NS}, {"Scalars:scalars": [float(second)]})
    store.flush()
    view = TimeSeriesView(store, SceneTransforms(store), "/speed", settings={"visible_range_s": 30})
    qtbot.addWidget(view)
    return view


def test_a_scrolling_window_starts_no_earlier_than_the_timeline(qtbot: QtBot) -> None:
    """The scenarios' plots show the last 30 s: at 15 s into the Neato's run, half the plot was the
    15 s before the recording began, empty."""
    view = _speed_window(qtbot, 40)
    view.set_time("log_time", 15 * NS)
    assert view.plot.getViewBox().viewRange()[0] == pytest.approx([0.0, 30.0])
    view.set_time("log_time", 40 * NS)
    assert view.plot.getViewBox().viewRange()[0] == pytest.approx([10.0, 40.0])
    # A timeline shorter than the window is shown whole, not five sixths empty.
    whole = _speed_window(qtbot, 5)
    whole.set_time("log_time", 2 * NS)
    assert whole.plot.getViewBox().viewRange()[0] == pytest.approx([0.0, 5.0])


def test_time_axis_labels_stay_readable_far_into_a_long_timeline(qtbot: QtBot) -> None:
    """The GPS bag's ros_time spans two months of robot clock: in a 30 s window near its end every tick of
    the plot read 5.70082e+06 (pyqtgraph labels values past 10,000 with %g)."""
    view = TimeSeriesView(ChunkStore(), SceneTransforms(ChunkStore()), "/")
    qtbot.addWidget(view)
    axis = view.plot.getPlotItem().getAxis("bottom")
    assert axis.tickStrings([5_700_820.0, 5_700_825.0, 5_700_830.0], 1.0, 5.0) == [
        "5700820",
        "5700825",
        "5700830",
    ]
    assert axis.tickStrings([0.0, 0.5, 1.0], 1.0, 0.5) == ["0.0", "0.5", "1.0"]
    assert axis.tickStrings([-0.0, 12.5], 1.0, 0.5) == ["0.0", "12.5"]
    # Seconds stay seconds, not milliseconds "(x0.001)" for a short range (audit).
    assert not axis.autoSIPrefix


def test_a_series_of_one_sample_is_drawn_as_a_dot(qtbot: QtBot) -> None:
    # A parameter set once (the GPS bag's /parameter_events) has one sample: a line of one point drew
    # nothing, only its legend entry showed.
    store = ChunkStore()
    store.append_row("/once", {"log_time": 5}, {"Scalars:scalars": [2.0], "SeriesLines:names": ["value"]})
    store.append_row("/twice", {"log_time": 1}, {"Scalars:scalars": [1.0], "SeriesLines:names": ["other"]})
    store.append_row("/twice", {"log_time": 9}, {"Scalars:scalars": [3.0], "SeriesLines:names": ["other"]})
    view = TimeSeriesView(store, SceneTransforms(store), "/once", settings={"legend": False})
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_time("log_time", 5)
    qtbot.wait(50)
    curve = view.curves["/once#0"]
    assert curve.opts["symbol"] == "o"
    frame = qimage_rgb(view.grab().toImage())
    colour = np.array(curve_pen(0).color().getRgb()[:3])
    assert (np.abs(frame.astype(int) - colour).sum(axis=2) < 30).sum() > 10  # the dot's pixels
    two = TimeSeriesView(store, SceneTransforms(store), "/twice")
    two.set_time("log_time", 5)
    assert two.curves["/twice#0"].opts["symbol"] is None  # two samples: a line, no dots
