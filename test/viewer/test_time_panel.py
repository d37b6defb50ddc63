"""The time panel driven like a user would: slider keys, step buttons, play, the timeline selector."""

from __future__ import annotations

import pytest
from PyQt6 import QtCore
from pytestqt.qtbot import QtBot

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.time_panel import TimePanel, default_timeline, timeline_is_time
from test.viewer.conftest import SMALL_SAMPLE, START_NS, click, press

pytestmark = pytest.mark.gui

NS = 1_000_000_000


def make_panel(qtbot: QtBot, store: ChunkStore) -> tuple[TimePanel, list[tuple[str, int]]]:
    panel = TimePanel(store)
    qtbot.addWidget(panel)
    panel.resize(900, 40)
    panel.show()
    qtbot.waitExposed(panel)
    emitted: list[tuple[str, int]] = []
    panel.time_changed.connect(lambda timeline, time: emitted.append((timeline, time)))
    return panel, emitted


def test_opens_on_the_chosen_timeline_at_its_start(qtbot: QtBot, sample_store: ChunkStore) -> None:
    """The sample's custom Status topic has no header: on ros_time its plots would be empty."""
    panel, _ = make_panel(qtbot, sample_store)
    assert panel.timeline == "log_time"
    assert panel.current_time == START_NS
    assert panel.time_range == sample_store.time_range("log_time")
    assert [panel.timeline_box.itemText(i) for i in range(panel.timeline_box.count())] == [
        "log_time",
        "ros_time",
    ]


def test_slider_keys_scrub_and_emit_the_time(qtbot: QtBot, sample_store: ChunkStore) -> None:
    panel, emitted = make_panel(qtbot, sample_store)
    start, end = panel.time_range
    panel.slider.setFocus()
    press(qtbot, panel.slider, QtCore.Qt.Key.Key_End)
    assert panel.current_time == end
    assert emitted[-1] == ("log_time", end)
    press(qtbot, panel.slider, QtCore.Qt.Key.Key_Home)
    assert panel.current_time == start
    press(qtbot, panel.slider, QtCore.Qt.Key.Key_PageUp)  # one page: a tenth of the slider
    assert panel.current_time == start + round(
        (end - start) * panel.slider.pageStep() / panel.slider.maximum()
    )
    assert isinstance(emitted[-1][1], int)
    assert emitted[-1][1] > 2**31


def test_step_buttons_move_by_one_step(qtbot: QtBot, sample_store: ChunkStore) -> None:
    panel, _ = make_panel(qtbot, sample_store)
    panel.seek_offset(1.0)
    assert panel.current_time == START_NS + NS
    start, end = panel.time_range
    step = (end - start) / 100  # a hundredth of a timeline without gaps
    click(qtbot, panel.step_forward_button)
    assert abs(panel.current_time - (START_NS + NS + step)) <= 1
    click(qtbot, panel.step_back_button)
    click(qtbot, panel.step_back_button)
    assert abs(panel.current_time - (START_NS + NS - step)) <= 1
    assert panel.time_label.text().startswith(f"{panel.offset_of(panel.current_time):.3f} s")


def two_recordings_months_apart() -> ChunkStore:
    store = ChunkStore()
    for first in (START_NS, START_NS + 90 * 86_400 * NS):
        for second in range(11):
            store.append_row("/value", {"log_time": first + second * NS}, {"Scalars:scalars": [1.0]})
    store.flush()
    return store


def test_steps_go_over_the_stretch_between_two_recordings(qtbot: QtBot) -> None:
    """A step was 1/100 of the raw span: with two recordings months apart it landed in the months
    between them, and crossing them took a hundred clicks (audit). Steps follow the slider, which
    squeezes the gap, and leave it at its far side."""
    panel, _ = make_panel(qtbot, two_recordings_months_apart())
    later = START_NS + 90 * 86_400 * NS
    panel.set_time(START_NS + 10 * NS)  # the first recording's last sample
    click(qtbot, panel.step_forward_button)
    assert later <= panel.current_time <= later + NS  # at the second recording's start
    click(qtbot, panel.step_back_button)
    assert START_NS + 9 * NS <= panel.current_time <= START_NS + 10 * NS


def test_a_click_on_the_track_goes_there(qtbot: QtBot, sample_store: ChunkStore) -> None:
    """A click beside the handle moved the time by Qt's page step, 0.1 % of the timeline (audit)."""
    panel, _ = make_panel(qtbot, sample_store)
    start, end = panel.time_range
    slider = panel.slider
    click(qtbot, slider, QtCore.QPoint(slider.width() * 3 // 4, slider.height() // 2))
    assert 0.6 < (panel.current_time - start) / (end - start) < 0.9


def test_a_timeline_of_one_moment_cannot_be_played(qtbot: QtBot) -> None:
    """With one sample the slider moved and play stayed on while the time could not move (audit)."""
    store = ChunkStore()
    store.append_row("/value", {"log_time": START_NS}, {"Scalars:scalars": [1.0]})
    store.flush()
    panel, _ = make_panel(qtbot, store)
    assert not panel.slider.isEnabled()
    assert not panel.play_button.isEnabled()
    panel.play()
    assert not panel.is_playing
    empty, _ = make_panel(qtbot, ChunkStore())
    assert not empty.slider.isEnabled()
    assert not empty.step_forward_button.isEnabled()


def test_play_advances_and_loops(qtbot: QtBot, sample_store: ChunkStore) -> None:
    panel, _ = make_panel(qtbot, sample_store)
    panel.speed_box.setCurrentIndex(panel.speed_box.count() - 1)  # 10x
    _start, end = panel.time_range
    panel.set_time(end - 100_000_000)
    click(qtbot, panel.play_button)
    assert panel.is_playing
    qtbot.waitUntil(lambda: panel.current_time < end - 100_000_000, timeout=3000)  # wrapped around
    click(qtbot, panel.play_button)
    assert not panel.is_playing
    paused_at = panel.current_time
    qtbot.wait(100)
    assert panel.current_time == paused_at


def test_play_without_loop_stops_at_the_end(qtbot: QtBot, sample_store: ChunkStore) -> None:
    panel, _ = make_panel(qtbot, sample_store)
    panel.loop_box.setChecked(False)
    panel.speed_box.setCurrentIndex(panel.speed_box.count() - 1)
    _, end = panel.time_range
    panel.set_time(end - 50_000_000)
    panel.play()
    qtbot.waitUntil(lambda: not panel.is_playing, timeout=3000)
    assert panel.current_time == end


def test_choosing_a_timeline_keeps_the_moment(qtbot: QtBot, sample_store: ChunkStore) -> None:
    """The same offset from the start, as a scenario switching timelines keeps it (the selector went to
    the start: audit)."""
    panel, emitted = make_panel(qtbot, sample_store)
    panel.seek_offset(1.0)
    panel.timeline_box.setCurrentText("ros_time")
    ros_start, _ = sample_store.time_range("ros_time") or (0, 0)
    assert panel.timeline == "ros_time"
    assert emitted[-1] == ("ros_time", ros_start + NS)
    panel.seek_offset(SMALL_SAMPLE.duration_s / 2)
    assert panel.current_time == ros_start + round(SMALL_SAMPLE.duration_s / 2 * NS)


def test_sequence_timelines_count_steps(qtbot: QtBot) -> None:
    store = ChunkStore()
    for frame in range(10, 21):
        store.append_row("/value", {"frame": frame}, {"Scalars:scalars": [float(frame)]})
    assert not timeline_is_time(store, "frame")
    assert default_timeline(store) == "frame"
    panel, _ = make_panel(qtbot, store)
    panel.seek_offset(3)
    assert panel.current_time == 13
    assert panel.step_size == 1
    panel.step(100)
    assert panel.current_time == 20  # clamped to the end
