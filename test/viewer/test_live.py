"""Live data: a producer thread appends rows through the store sink while the window runs under qtbot.

The window follows the newest data until the user scrubs back; the live toggle returns to it.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PyQt6 import QtCore
from pytestqt.qtbot import QtBot

from rerun_bridge.model.rows import Row
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.views.text_log_view import TextLogView
from rerun_bridge.viewer.views.time_series_view import TimeSeriesView
from rerun_bridge.viewer.window import ViewerWindow
from test.viewer.conftest import START_NS, click, press

pytestmark = pytest.mark.gui

STEP_NS = 10_000_000
POLL_MS = 20


def time_of(index: int) -> int:
    return START_NS + index * STEP_NS


class Producer(threading.Thread):
    """Appends rows ``first`` .. ``first + count - 1`` (a point, a scalar, every 10th a log line) through
    the pipeline's store sink, pausing ``pause_s`` between rows like a sensor."""

    def __init__(self, sink: StoreSink, first: int, count: int, pause_s: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.sink, self.first, self.count, self.pause_s = sink, first, count, pause_s
        self.last_time = time_of(first + count - 1)
        self.finished = threading.Event()

    def run(self) -> None:
        for index in range(self.first, self.first + self.count):
            rows = [
                Row("/cloud", "Points3D", {"positions": np.array([[float(index), 0.0, 0.0]], np.float32)}),
                Row("/speed", "Scalars", {"scalars": np.array([float(index)])}),
            ]
            if index % 10 == 0:
                rows.append(Row("/log", "TextLog", {"text": [f"row {index}"], "level": ["INFO"]}))
            time = time_of(index)
            self.sink.write(rows, {"ros_time": time, "log_time": time})
            self.finished.wait(self.pause_s)
        self.finished.set()


def live_window(qtbot: QtBot) -> tuple[ViewerWindow, StoreSink]:
    store = ChunkStore()
    window = ViewerWindow(store)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    window.enable_live(interval_ms=POLL_MS)
    return window, StoreSink(store)


def caught_up(window: ViewerWindow, producer: Producer) -> bool:
    """The producer is done and the window has reloaded since its last row."""
    updates = window.live_updates
    return producer.finished.is_set() and updates is not None and updates.up_to_date


def produce(qtbot: QtBot, window: ViewerWindow, sink: StoreSink, first: int, count: int) -> Producer:
    producer = Producer(sink, first, count)
    producer.start()
    qtbot.waitUntil(lambda: caught_up(window, producer), timeout=10_000)
    return producer


def test_the_window_follows_rows_appended_by_another_thread(qtbot: QtBot) -> None:
    window, sink = live_window(qtbot)
    panel = window.time_panel
    assert panel.live_button.isVisible()
    assert panel.following
    assert window.views == []  # nothing to show yet
    shown: list[int] = []
    panel.time_changed.connect(lambda _timeline, time: shown.append(time))

    producer = Producer(sink, 0, 200)
    producer.start()
    qtbot.waitUntil(lambda: caught_up(window, producer), timeout=10_000)
    assert panel.timeline == "ros_time"
    assert panel.following
    assert panel.current_time == producer.last_time
    assert shown == sorted(shown)  # the cursor only moved forward, to the newest data each time
    assert len(set(shown)) > 1  # and it moved while the producer was still appending
    assert all(view.time == producer.last_time for view in window.views)
    # The default layout grew with the data: a 3D view, a plot and the log.
    (scene,) = window.views_of(Spatial3DView)
    assert isinstance(scene, Spatial3DView)
    np.testing.assert_array_equal(scene.points["/cloud"].pos, [[199.0, 0.0, 0.0]])
    (plot,) = window.views_of(TimeSeriesView)
    assert isinstance(plot, TimeSeriesView)
    _times, y = plot.curves["/speed#0"].getOriginalDataset()
    assert len(y) == 200
    assert y[-1] == 199.0
    (log,) = window.views_of(TextLogView)
    assert isinstance(log, TextLogView)
    assert log.model.rows.texts[-1] == "row 190"


def test_scrubbing_back_stops_following_and_the_toggle_returns(qtbot: QtBot) -> None:
    window, sink = live_window(qtbot)
    panel = window.time_panel
    first = produce(qtbot, window, sink, 0, 30)
    assert panel.current_time == first.last_time

    panel.slider.setFocus()
    press(qtbot, panel.slider, QtCore.Qt.Key.Key_Home)  # the user scrubs back to the start
    assert panel.current_time == time_of(0)
    assert not panel.following
    assert not panel.live_button.isChecked()

    second = produce(qtbot, window, sink, 30, 30)
    assert panel.time_range[1] == second.last_time
    assert panel.current_time == time_of(0)  # new data arrived, the user's moment stays
    assert all(view.time == time_of(0) for view in window.views)
    (scene,) = window.views_of(Spatial3DView)
    assert isinstance(scene, Spatial3DView)
    np.testing.assert_array_equal(scene.points["/cloud"].pos, [[0.0, 0.0, 0.0]])

    click(qtbot, panel.live_button)  # back to live
    assert panel.following
    assert panel.current_time == second.last_time
    np.testing.assert_array_equal(scene.points["/cloud"].pos, [[59.0, 0.0, 0.0]])

    third = produce(qtbot, window, sink, 60, 30)
    assert panel.current_time == third.last_time
    assert panel.following


def test_stepping_stops_following_and_setting_stop_closes_the_window(qtbot: QtBot) -> None:
    store = ChunkStore()
    window = ViewerWindow(store)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    stop = threading.Event()
    updates = window.enable_live(interval_ms=POLL_MS, stop=stop)
    produce(qtbot, window, StoreSink(store), 0, 20)
    assert window.time_panel.current_time == time_of(19)
    window.time_panel.step(-3)
    assert not window.time_panel.following
    stop.set()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)
    assert not updates.active
