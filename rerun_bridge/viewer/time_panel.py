"""The time panel: one timeline, one current time, and the controls that move it.

The panel owns the current time (int: ns on timestamp and duration timelines, plain values on sequence
timelines) and announces every change with :attr:`TimePanel.time_changed` ``(timeline, time)``. Controls:
the timeline selector, play / pause, playback speed, loop, a slider that scrubs, and step buttons.

Offsets from the start of a timeline are "seconds" as the ``--time`` option reads them: seconds on
timestamp and duration timelines, plain steps on sequence timelines.

The slider follows a :class:`~rerun_bridge.viewer.time_axis.TimeAxis`: long empty stretches are drawn
compressed and marked on the coverage strip above the slider, which shows where data exists (unloaded
chunks of a lazily opened file included); playback jumps over them. Live data keeps a linear slider.

Live data (:meth:`TimePanel.set_live`): the panel *follows* it, its time moving to the newest data on
every :meth:`TimePanel.reload`, until the user moves the time anywhere else (scrub, step, play, a log
click); the "live" toggle then unchecks, and checking it again returns to the newest data.
"""

from __future__ import annotations

import time as wall_clock
from typing import Final

import pyarrow as pa
from PyQt6 import QtCore, QtGui, QtWidgets

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.time_axis import TimeAxis, collapse_threshold
from rerun_bridge.viewer.timeline_choice import choose_timeline

NANOS_PER_SECOND: Final = 1_000_000_000
SLIDER_STEPS: Final = 10_000
#: Steps of the step buttons across the slider.
STEPS_ACROSS: Final = 100
#: A click on the slider's track, PageUp / PageDown: a twentieth of the slider.
PAGE_STEPS: Final = SLIDER_STEPS // 20
#: Qt's value of the left mouse button, as a style hint returns it.
_LEFT_BUTTON: Final = 1
PLAYBACK_INTERVAL_MS: Final = 33
SPEEDS: Final = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0)


def timeline_is_time(store: ChunkStore, timeline: str) -> bool:
    """Whether a timeline holds nanoseconds (timestamp / duration) rather than sequence numbers."""
    for entity in store.entities():
        bounds = store.time_range(timeline, entity)
        if bounds is None:
            continue
        data_type = store.range(entity, timeline, bounds[0], bounds[0]).schema.field(timeline).type
        return bool(pa.types.is_timestamp(data_type) or pa.types.is_duration(data_type))
    return False


def default_timeline(store: ChunkStore) -> str | None:
    """The timeline that spans the data sensibly (:mod:`rerun_bridge.viewer.timeline_choice`)."""
    return choose_timeline(store).timeline


def _tool_button(text: str, tip: str) -> QtWidgets.QToolButton:
    button = QtWidgets.QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    return button


class CoverageStrip(QtWidgets.QWidget):
    """A thin bar over the slider: where data exists, and a marker on each collapsed gap."""

    DATA_COLOR: Final = QtGui.QColor(90, 160, 230)
    GAP_COLOR: Final = QtGui.QColor(230, 140, 60)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(6)
        self.axis = TimeAxis(0, 0)
        self.spans: list[tuple[int, int]] = []

    def set_coverage(self, axis: TimeAxis, spans: list[tuple[int, int]]) -> None:
        self.axis, self.spans = axis, spans
        gaps = len(axis.gaps)
        self.setToolTip(f"where data exists; {gaps} long empty stretch(es) drawn compressed" if gaps else "")
        self.update()

    def paintEvent(self, event: QtGui.QPaintEvent | None) -> None:  # noqa: N802 (Qt's name)
        painter = QtGui.QPainter(self)
        inset = 8  # about half the slider's handle: its groove starts there
        width = max(1, self.width() - 2 * inset)
        for low, high in self.spans:
            left = inset + round(self.axis.position_of(low) * width)
            right = inset + round(self.axis.position_of(high) * width)
            painter.fillRect(left, 1, max(2, right - left), self.height() - 2, self.DATA_COLOR)
        for low, high in self.axis.gaps:
            middle = inset + round((self.axis.position_of(low) + self.axis.position_of(high)) / 2 * width)
            painter.fillRect(middle - 1, 0, 3, self.height(), self.GAP_COLOR)
        painter.end()


class TimePanel(QtWidgets.QWidget):
    """Timeline selector, playback and scrubbing; emits the current time."""

    #: ``(timeline, time)`` whenever either changes.
    time_changed = QtCore.pyqtSignal(str, object)

    def __init__(self, store: ChunkStore, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._timeline: str | None = None
        self._start = 0
        self._end = 0
        self._time = 0
        self._is_time = True
        self._last_tick = 0.0
        self._following = False
        self._follow_move = False  # set while the panel itself moves the time to the newest data
        self._live = False
        self.axis = TimeAxis(0, 0)
        self.coverage_strip = CoverageStrip()

        self.timeline_box = QtWidgets.QComboBox()
        self.timeline_box.setToolTip("Timeline")
        self.step_back_button = _tool_button("◀|", "Step back")
        self.play_button = _tool_button("▶", "Play / pause")
        self.play_button.setCheckable(True)
        self.step_forward_button = _tool_button("|▶", "Step forward")
        self.speed_box = QtWidgets.QComboBox()
        for speed in SPEEDS:
            self.speed_box.addItem(f"{speed:g}x", speed)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("Playback speed")
        self.loop_box = QtWidgets.QCheckBox("loop")
        self.loop_box.setChecked(True)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setPageStep(PAGE_STEPS)
        # A click on the track goes to that spot: by Qt's page step it moved 0.1 % (audit).
        # Without a base style: a proxy owns the style it is given, and the slider's is the application's.
        self._slider_style = _ClickToPosition()
        self.slider.setStyle(self._slider_style)
        self.time_label = QtWidgets.QLabel()
        self.time_label.setMinimumWidth(150)
        self.live_button = _tool_button("● live", "Follow live data: the time tracks the newest data")
        self.live_button.setCheckable(True)
        self.live_button.setVisible(False)

        self._lay_out()

        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(PLAYBACK_INTERVAL_MS)
        self._timer.timeout.connect(self._advance)
        self.timeline_box.currentTextChanged.connect(self._on_timeline_chosen)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.step_back_button.clicked.connect(lambda: self.step(-1))
        self.step_forward_button.clicked.connect(lambda: self.step(1))
        self.slider.valueChanged.connect(self._on_slider_moved)
        self.live_button.toggled.connect(self.set_following)
        self.reload()

    def _lay_out(self) -> None:
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        for widget in (
            self.timeline_box,
            self.step_back_button,
            self.play_button,
            self.step_forward_button,
            self.speed_box,
            self.loop_box,
        ):
            layout.addWidget(widget)
        track = QtWidgets.QVBoxLayout()
        track.setSpacing(0)
        track.addWidget(self.coverage_strip)
        track.addWidget(self.slider)
        layout.addLayout(track, 1)
        layout.addWidget(self.time_label)
        layout.addWidget(self.live_button)

    # -- state ---------------------------------------------------------------------------------------

    @property
    def timeline(self) -> str | None:
        return self._timeline

    @property
    def current_time(self) -> int:
        return self._time

    @property
    def time_range(self) -> tuple[int, int]:
        return self._start, self._end

    @property
    def is_playing(self) -> bool:
        return self._timer.isActive()

    @property
    def step_size(self) -> int:
        """The least step: 1 ms on time timelines, 1 on sequences."""
        return NANOS_PER_SECOND // 1000 if self._is_time else 1

    @property
    def following(self) -> bool:
        """Whether the time tracks the newest live data."""
        return self._following

    def set_live(self, live: bool) -> None:
        """Show the live toggle and follow the newest data (or hide it and stop following)."""
        self.live_button.setVisible(live)
        self._live = live
        self.set_following(live)

    def set_following(self, following: bool) -> None:
        """Follow the newest data (moving there now), or stop following and stay at the current time."""
        self._following = following
        self.live_button.blockSignals(True)
        self.live_button.setChecked(following)
        self.live_button.blockSignals(False)
        if following:
            self.pause()
            self._move_to_end()

    def reload(self) -> None:
        """Read the store's timelines again (new files or live data); keeps the chosen one if it exists."""
        timelines = self.store.timelines()
        chosen = self._timeline if self._timeline in timelines else default_timeline(self.store)
        if timelines != [self.timeline_box.itemText(i) for i in range(self.timeline_box.count())]:
            self.timeline_box.blockSignals(True)
            self.timeline_box.clear()
            self.timeline_box.addItems(timelines)
            self.timeline_box.blockSignals(False)
        if chosen is None:
            self._enable_playback(False)  # static data only, or nothing: no time to move
            return
        self._follow_move = self._following  # following: straight to the newest data, one announcement
        try:
            self.set_timeline(chosen, keep_time=chosen == self._timeline)
        finally:
            self._follow_move = False

    def _move_to_end(self) -> None:
        self._follow_move = True
        try:
            self.set_time(self._end)
        finally:
            self._follow_move = False

    def set_timeline(self, timeline: str, keep_time: bool = False) -> None:
        """Switch timelines; the time goes to the timeline's start unless ``keep_time``."""
        bounds = self.store.time_range(timeline)
        if bounds is None:
            raise ValueError(
                f"timeline {timeline!r} has no data (known: {', '.join(self.store.timelines())})"
            )
        self._timeline = timeline
        self._start, self._end = bounds
        self._is_time = timeline_is_time(self.store, timeline)
        self._build_axis()
        self.timeline_box.blockSignals(True)
        self.timeline_box.setCurrentText(timeline)
        self.timeline_box.blockSignals(False)
        kept = self._time if keep_time else self._start
        self._enable_playback(self._end > self._start)
        self.set_time(self._end if self._follow_move else kept, force=True)

    def _enable_playback(self, enabled: bool) -> None:
        """The slider, play and step controls, off for a timeline of one moment (or none): they moved,
        and played, while the time could not (audit)."""
        if not enabled:
            self.pause()
        for widget in (self.slider, self.play_button, self.step_back_button, self.step_forward_button):
            widget.setEnabled(enabled)

    def _build_axis(self) -> None:
        """The slider's scale: gaps collapsed over the store's coverage (a linear one for live data)."""
        if self._live or self._timeline is None:
            self.axis = TimeAxis(self._start, self._end)
            spans = [(self._start, self._end)]
        else:
            threshold = collapse_threshold(self._start, self._end, self._is_time)
            spans = self.store.coverage(self._timeline, threshold)
            self.axis = TimeAxis(self._start, self._end, spans, threshold)
        self.coverage_strip.set_coverage(self.axis, spans)

    def set_time(self, time: int, force: bool = False) -> None:
        """Move to ``time`` (clamped to the timeline) and announce it."""
        if self._timeline is None:
            return
        clamped = min(max(int(time), self._start), self._end)
        if self._following and not self._follow_move and clamped < self._end:
            self.set_following(False)  # the user went back in time
        if clamped == self._time and not force:
            return
        self._time = clamped
        self._sync_slider()
        self.time_label.setText(self.format_offset(clamped))
        self.time_changed.emit(self._timeline, clamped)

    def seek_offset(self, offset: float) -> None:
        """Move to ``offset`` after the timeline's start: seconds (or steps on a sequence timeline)."""
        scale = NANOS_PER_SECOND if self._is_time else 1
        self.set_time(self._start + round(offset * scale))

    def offset_of(self, time: int) -> float:
        """``time`` as seconds (or steps) after the timeline's start."""
        return (time - self._start) / (NANOS_PER_SECOND if self._is_time else 1)

    def format_offset(self, time: int) -> str:
        total = self.offset_of(self._end)
        if self._is_time:
            return f"{self.offset_of(time):.3f} s / {total:.3f} s"
        return f"{time} ({self.offset_of(time):g} / {total:g})"

    def step(self, steps: int) -> None:
        """Move by whole steps (negative: back) of 1/100 of the slider, at least :attr:`step_size` each.
        On the slider's scale, so the stretch without data between two recordings, which the slider
        squeezes, is stepped over as playback jumps it (a step was 1/100 of the raw span: months into
        the gap, and a hundred clicks to cross it; audit)."""
        if steps == 0:
            return
        position = self.axis.position_of(self._time) + steps / STEPS_ACROSS
        target = self.axis.out_of_gap(self.axis.time_at(position), forward=steps > 0)
        if abs(target - self._time) < abs(steps) * self.step_size:
            target = self._time + steps * self.step_size
        self.set_time(target)

    # -- playback ------------------------------------------------------------------------------------

    def play(self) -> None:
        self.play_button.setChecked(True)

    def pause(self) -> None:
        self.play_button.setChecked(False)

    @property
    def speed(self) -> float:
        value = self.speed_box.currentData()
        return float(value) if value is not None else 1.0

    def _on_play_toggled(self, playing: bool) -> None:
        if playing and not self.play_button.isEnabled():  # nothing to play (one moment, or no timeline)
            self.pause()
            return
        self.play_button.setText("⏸" if playing else "▶")
        if playing:
            if self._time >= self._end:
                self.set_time(self._start)
            self._last_tick = wall_clock.monotonic()
            self._timer.start()
        else:
            self._timer.stop()

    def _advance(self) -> None:
        now = wall_clock.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        # Sequence timelines play at 30 steps per second of wall time.
        rate = NANOS_PER_SECOND if self._is_time else 30
        target = self.axis.skip_gap(self._time + max(1, round(elapsed * self.speed * rate)))
        if target > self._end:
            if self.loop_box.isChecked():
                target = self._start
            else:
                self.set_time(self._end)
                self.pause()
                return
        self.set_time(target)

    # -- widgets -------------------------------------------------------------------------------------

    def _on_timeline_chosen(self, timeline: str) -> None:
        """Another timeline keeps the moment (its offset from the start) between two time timelines, as a
        scenario switching timelines does (the selector went to the start: audit)."""
        if not timeline or timeline == self._timeline:
            return
        offset = self.offset_of(self._time) if self._timeline is not None and self._is_time else None
        self.set_timeline(timeline)
        if offset is not None and self._is_time:
            self.seek_offset(offset)

    def _on_slider_moved(self, position: int) -> None:
        self.set_time(self.axis.time_at(position / SLIDER_STEPS))

    def _sync_slider(self) -> None:
        position = round(SLIDER_STEPS * self.axis.position_of(self._time))
        self.slider.blockSignals(True)
        self.slider.setValue(position)
        self.slider.blockSignals(False)


class _ClickToPosition(QtWidgets.QProxyStyle):
    """A slider style whose left click on the track moves the handle there (Qt's absolute set button)."""

    def styleHint(  # noqa: N802 (Qt's name)
        self,
        hint: QtWidgets.QStyle.StyleHint,
        option: QtWidgets.QStyleOption | None = None,
        widget: QtWidgets.QWidget | None = None,
        return_data: QtWidgets.QStyleHintReturn | None = None,
    ) -> int:
        if hint == QtWidgets.QStyle.StyleHint.SH_Slider_AbsoluteSetButtons:
            return _LEFT_BUTTON
        return int(super().styleHint(hint, option, widget, return_data))
