"""The text log view: every ``TextLog`` row under the origin in a table, filtered by level and text.

Columns: time (since the timeline's start), entity, level, text. Rows after the current time are greyed
out. Clicking a row asks to seek there (:attr:`TextLogView.seek_requested`); the window forwards it to
the time panel. Settings: ``min_level`` (the least severe level shown), or ``levels`` (a list: the least
severe of them is the minimum).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow.compute as pc
from PyQt6 import QtCore, QtGui, QtWidgets

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.store.columns import times_to_int64
from rerun_bridge.viewer.time_panel import NANOS_PER_SECOND, timeline_is_time
from rerun_bridge.viewer.views.base import ViewBase

TEXT: Final = "TextLog:text"
LEVEL: Final = "TextLog:level"
#: Rerun's levels, most severe first; unknown levels rank with INFO.
LEVELS: Final = ("CRITICAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE")
_LEVEL_COLORS: Final = {"CRITICAL": "#bf616a", "ERROR": "#bf616a", "WARN": "#ebcb8b", "DEBUG": "#81a1c1"}
_FUTURE_COLOR: Final = "#777777"
COLUMNS: Final = ("time", "entity", "level", "text")


def level_rank(level: str) -> int:
    """0 for CRITICAL ... 5 for TRACE; what the level filter compares."""
    upper = level.upper()
    if upper == "WARNING":
        upper = "WARN"
    return LEVELS.index(upper) if upper in LEVELS else LEVELS.index("INFO")


class LogRows(NamedTuple):
    """All log rows of a view, sorted by time."""

    times: npt.NDArray[np.int64]
    entities: list[str]
    levels: list[str]
    texts: list[str]


def load_log_rows(store: ChunkStore, entities: Sequence[str], timeline: str) -> LogRows:
    """Every text log row of ``entities`` on ``timeline``, one row per text instance, sorted by time."""
    times: list[int] = []
    names: list[str] = []
    levels: list[str] = []
    texts: list[str] = []
    for entity in entities:
        bounds = store.time_range(timeline, entity)
        if bounds is None:
            continue
        table = store.range(entity, timeline, *bounds)
        if TEXT not in table.column_names:
            continue
        table = table.filter(pc.is_valid(table[TEXT]))
        row_times = times_to_int64(table[timeline])
        row_texts = table[TEXT].to_pylist()
        row_levels = table[LEVEL].to_pylist() if LEVEL in table.column_names else [None] * table.num_rows
        for time, text_list, level_list in zip(row_times, row_texts, row_levels, strict=True):
            for index, text in enumerate(text_list or []):
                level = level_list[min(index, len(level_list) - 1)] if level_list else None
                times.append(int(time))
                names.append(entity)
                levels.append(str(level or "INFO"))
                texts.append(str(text or ""))
    all_times = np.array(times, dtype=np.int64)
    order = np.argsort(all_times, kind="stable")
    return LogRows(
        all_times[order],
        [names[i] for i in order],
        [levels[i] for i in order],
        [texts[i] for i in order],
    )


class LogTableModel(QtCore.QAbstractTableModel):
    """The rows of a :class:`LogRows`, times shown relative to a start."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.rows = LogRows(np.zeros(0, dtype=np.int64), [], [], [])
        self.start = 0
        self.scale = float(NANOS_PER_SECOND)
        self.current_time: int | None = None

    def set_rows(self, rows: LogRows, start: int, scale: float) -> None:
        self.beginResetModel()
        self.rows, self.start, self.scale = rows, start, scale
        self.endResetModel()

    def set_current_time(self, time: int) -> None:
        self.current_time = time
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0, 0),
                self.index(self.rowCount() - 1, len(COLUMNS) - 1),
                [QtCore.Qt.ItemDataRole.ForegroundRole],
            )

    def rowCount(self, parent: QtCore.QModelIndex | None = None) -> int:  # noqa: N802 (Qt's name)
        return 0 if parent is not None and parent.isValid() else len(self.rows.texts)

    def columnCount(self, parent: QtCore.QModelIndex | None = None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: QtCore.Qt.Orientation, role: int = QtCore.Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == QtCore.Qt.ItemDataRole.DisplayRole and orientation == QtCore.Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: QtCore.QModelIndex, role: int = QtCore.Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            if column == 0:
                offset = (int(self.rows.times[row]) - self.start) / self.scale
                return f"{offset:.3f}" if self.scale > 1 else f"{offset:g}"
            return (self.rows.entities, self.rows.levels, self.rows.texts)[column - 1][row]
        if role == QtCore.Qt.ItemDataRole.ForegroundRole:
            if self.current_time is not None and int(self.rows.times[row]) > self.current_time:
                return QtGui.QBrush(QtGui.QColor(_FUTURE_COLOR))
            color = _LEVEL_COLORS.get(self.rows.levels[row].upper())
            return QtGui.QBrush(QtGui.QColor(color)) if color is not None and column == 2 else None
        return None

    def row_time(self, row: int) -> int:
        return int(self.rows.times[row])


class LogFilter(QtCore.QSortFilterProxyModel):
    """Rows at or above a level whose text contains the search text (case-insensitive)."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.max_rank = len(LEVELS) - 1
        self.search = ""

    def set_filter(self, max_rank: int, search: str) -> None:
        self.max_rank, self.search = max_rank, search.lower()
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QtCore.QModelIndex) -> bool:  # noqa: N802
        model = self.sourceModel()
        if not isinstance(model, LogTableModel):
            return True
        if level_rank(model.rows.levels[source_row]) > self.max_rank:
            return False
        if not self.search:
            return True
        return (
            self.search in model.rows.texts[source_row].lower()
            or self.search in model.rows.entities[source_row].lower()
        )


class TextLogView(ViewBase):
    """A filterable table of log rows; a click seeks to the row's time."""

    kind = "text_log"
    #: ``(timeline, time)`` of a clicked row.
    seek_requested = QtCore.pyqtSignal(str, object)

    def _build(self) -> None:
        self.level_box = QtWidgets.QComboBox()
        for rank, level in enumerate(LEVELS):
            self.level_box.addItem(f"{level} and above" if rank < len(LEVELS) - 1 else "all levels", rank)
        self.level_box.setCurrentIndex(len(LEVELS) - 1)
        self.search_box = QtWidgets.QLineEdit()
        self.search_box.setPlaceholderText("search")
        self.search_box.setClearButtonEnabled(True)
        self.model = LogTableModel(self)
        self.proxy = LogFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        vertical_header, horizontal_header = self.table.verticalHeader(), self.table.horizontalHeader()
        if vertical_header is not None:
            vertical_header.setVisible(False)
        if horizontal_header is not None:
            horizontal_header.setStretchLastSection(True)
        self.table.setWordWrap(False)
        controls = QtWidgets.QHBoxLayout()
        controls.addWidget(self.level_box)
        controls.addWidget(self.search_box, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.table, 1)
        self.level_box.currentIndexChanged.connect(self._apply_filter)
        self.search_box.textChanged.connect(self._apply_filter)
        self.table.clicked.connect(self._on_row_clicked)
        shown_levels = [
            str(level).upper() for level in self.settings.get("levels", ()) if str(level).upper() in LEVELS
        ]
        level = (
            max(shown_levels, key=level_rank)
            if shown_levels
            else str(self.settings.get("min_level", "")).upper()
        )
        if level in LEVELS:
            self.level_box.setCurrentIndex(LEVELS.index(level))

    def timeline_changed(self, timeline: str) -> None:
        bounds = self.store.time_range(timeline)
        scale = float(NANOS_PER_SECOND) if timeline_is_time(self.store, timeline) else 1.0
        rows = load_log_rows(self.store, self.entities_with(TEXT), timeline)
        scroll_bar = self.table.verticalScrollBar()
        position = scroll_bar.value() if scroll_bar is not None else 0
        at_bottom = scroll_bar is None or position >= scroll_bar.maximum()
        self.model.set_rows(rows, bounds[0] if bounds is not None else 0, scale)
        self.table.resizeColumnsToContents()
        # Live data reloads the rows: stay where the reader was, or at the bottom to see new lines.
        if scroll_bar is not None:
            scroll_bar.setValue(scroll_bar.maximum() if at_bottom else position)

    def update_data(self, timeline: str, time: int) -> None:
        self.model.set_current_time(time)

    def set_entity_visible(self, entity: str, visible: bool) -> None:
        super().set_entity_visible(entity, visible)
        if self.timeline is not None:
            self.timeline_changed(self.timeline)

    def visible_row_count(self) -> int:
        return self.proxy.rowCount()

    def _apply_filter(self) -> None:
        rank = self.level_box.currentData()
        self.proxy.set_filter(int(rank) if rank is not None else len(LEVELS) - 1, self.search_box.text())

    def _on_row_clicked(self, index: QtCore.QModelIndex) -> None:
        if self.timeline is None or not index.isValid():
            return
        source = self.proxy.mapToSource(index)
        self.seek_requested.emit(self.timeline, self.model.row_time(source.row()))
