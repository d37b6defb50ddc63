"""The viewer's main window: views laid out from specs, the entity panel, and the time panel driving all.

:meth:`ViewerWindow.from_specs` builds any :data:`~rerun_bridge.viewer.layout.LayoutSpec` tree into Qt
widgets (splitters for horizontal / vertical containers, a tab widget for tabs); without specs the
window uses :func:`~rerun_bridge.viewer.layout.default_layout`. Every view follows the time panel; the
text log's row clicks seek it; the entity tree's check boxes hide entities in every view.

The scenario dropdown above the views (:mod:`rerun_bridge.viewer.scenarios`) rebuilds the views from
another layout while the window is open; time, timeline and hidden entities carry over, and what a
blueprint leaves out is shown in the note beside the dropdown.
"""

from __future__ import annotations

import threading
from typing import Final

from PyQt6 import QtCore, QtGui, QtWidgets

from rerun_bridge.blueprint.model import ViewKind
from rerun_bridge.errors import BridgeError
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.entity_panel import EntityTree, SelectionPanel
from rerun_bridge.viewer.layout import ContainerKind, ContainerSpec, LayoutSpec, ViewSpec, default_layout
from rerun_bridge.viewer.live import DEFAULT_POLL_INTERVAL_MS, LiveUpdates
from rerun_bridge.viewer.scenarios import (
    DEFAULT_SCENARIO,
    Scenario,
    file_scenario,
    scenario_layout,
    shipped_scenarios,
)
from rerun_bridge.viewer.time_panel import TimePanel
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.views.bar_chart_view import BarChartView
from rerun_bridge.viewer.views.base import ViewBase
from rerun_bridge.viewer.views.image_view import ImageView
from rerun_bridge.viewer.views.map_view import MapView
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.views.tensor_view import TensorView
from rerun_bridge.viewer.views.text_log_view import TextLogView
from rerun_bridge.viewer.views.time_series_view import TimeSeriesView

VIEW_CLASSES: Final[dict[ViewKind, type[ViewBase]]] = {
    ViewKind.SPATIAL3D: Spatial3DView,
    ViewKind.SPATIAL2D: ImageView,
    ViewKind.TIME_SERIES: TimeSeriesView,
    ViewKind.TEXT_LOG: TextLogView,
    ViewKind.TENSOR: TensorView,
    ViewKind.BAR_CHART: BarChartView,
    ViewKind.MAP: MapView,
}
_SIDE_PANEL_WIDTH: Final = 240
_SHARE_UNIT: Final = 1000
_STATIC_ONLY_TIMELINE: Final = "log_time"
#: The dropdown entry of a layout given as specs rather than by a scenario.
CUSTOM_SCENARIO: Final = ""


class ViewerWindow(QtWidgets.QMainWindow):
    """Views, entity tree, selection panel and time panel over one store.

    ``scenario`` names the dropdown entry the layout is: ``default`` (with no ``layout``: the layout from
    the data), a shipped blueprint's name or a blueprint file. A ``layout`` without a scenario shows as
    "custom layout".
    """

    def __init__(
        self,
        store: ChunkStore,
        layout: LayoutSpec | None = None,
        transforms: SceneTransforms | None = None,
        title: str = "rerun_bridge viewer",
        parent: QtWidgets.QWidget | None = None,
        scenario: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.store = store
        self.transforms = transforms if transforms is not None else SceneTransforms(store)
        self.layout_spec = layout if layout is not None else default_layout(store)
        self.views: list[ViewBase] = []
        self.view_specs: list[ViewSpec] = []
        self._hidden_entities: set[str] = set()
        self.live_updates: LiveUpdates | None = None
        if scenario is None:
            scenario = DEFAULT_SCENARIO if layout is None else CUSTOM_SCENARIO
        self.scenario = scenario
        self.scenario_box = QtWidgets.QComboBox()
        self.scenario_box.setToolTip("Debugging scenario: the layout of the views")
        self.scenario_note = QtWidgets.QLabel()
        self.scenario_note.setStyleSheet("color: #d08770;")
        self._fill_scenarios(scenario)
        toolbar = QtWidgets.QToolBar("Scenario")
        toolbar.setMovable(False)
        toolbar.addWidget(QtWidgets.QLabel(" Scenario: "))
        toolbar.addWidget(self.scenario_box)
        toolbar.addWidget(self.scenario_note)
        self.addToolBar(toolbar)

        self.time_panel = TimePanel(store)
        self.entity_tree = EntityTree(store)
        self.selection_panel = SelectionPanel(store)
        side = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        side.addWidget(_titled("Entities", self.entity_tree))
        side.addWidget(_titled("Selection", self.selection_panel))
        side.setSizes([3 * _SHARE_UNIT, 2 * _SHARE_UNIT])

        self.view_area = self._build(self.layout_spec)
        self.main_splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(side)
        self.main_splitter.addWidget(self.view_area)
        self.main_splitter.setStretchFactor(0, 0)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([_SIDE_PANEL_WIDTH, 4 * _SIDE_PANEL_WIDTH])
        central = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.main_splitter, 1)
        column.addWidget(self.time_panel)
        self.setCentralWidget(central)

        self.time_panel.time_changed.connect(self._on_time_changed)
        self.entity_tree.visibility_changed.connect(self._on_visibility_changed)
        self.entity_tree.entity_selected.connect(self.selection_panel.select)
        self.scenario_box.activated.connect(self._on_scenario_chosen)
        self._show_current_time()

    @classmethod
    def from_specs(
        cls,
        store: ChunkStore,
        specs: LayoutSpec | list[LayoutSpec],
        transforms: SceneTransforms | None = None,
    ) -> ViewerWindow:
        """A window laid out by a spec tree (a list: the specs stacked vertically)."""
        layout = specs if not isinstance(specs, list) else ContainerSpec(ContainerKind.VERTICAL, tuple(specs))
        return cls(store, layout, transforms)

    # -- building ------------------------------------------------------------------------------------

    def _build(self, spec: LayoutSpec) -> QtWidgets.QWidget:
        if isinstance(spec, ViewSpec):
            return self._build_view(spec)
        if spec.kind is ContainerKind.TABS:
            tabs = QtWidgets.QTabWidget()
            for child in spec.children:
                tabs.addTab(self._build(child), _title(child))
            return tabs
        orientation = (
            QtCore.Qt.Orientation.Horizontal
            if spec.kind is ContainerKind.HORIZONTAL
            else QtCore.Qt.Orientation.Vertical
        )
        splitter = QtWidgets.QSplitter(orientation)
        splitter.setChildrenCollapsible(False)
        for child in spec.children:
            splitter.addWidget(self._build(child))
        if len(spec.shares) == len(spec.children) and spec.children:
            splitter.setSizes([round(share * _SHARE_UNIT) for share in spec.shares])
        else:
            splitter.setSizes([_SHARE_UNIT] * len(spec.children))
        return splitter

    def _build_view(self, spec: ViewSpec) -> QtWidgets.QWidget:
        view = VIEW_CLASSES[spec.kind](
            self.store, self.transforms, spec.origin, spec.include, spec.exclude, spec.settings
        )
        view.setObjectName(spec.title)
        if isinstance(view, TextLogView):
            view.seek_requested.connect(self.seek)
        self.views.append(view)
        self.view_specs.append(spec)
        return _titled(spec.title, view)

    def _fill_scenarios(self, current: str) -> None:
        entries: list[Scenario] = shipped_scenarios()
        if current == CUSTOM_SCENARIO:
            entries.insert(0, Scenario(CUSTOM_SCENARIO, "custom layout", "the layout the window was given"))
        elif all(entry.key != current for entry in entries):
            entries.append(file_scenario(current))
        self.scenario_box.blockSignals(True)
        self.scenario_box.clear()
        for entry in entries:
            self.scenario_box.addItem(entry.label, entry.key)
            self.scenario_box.setItemData(
                self.scenario_box.count() - 1, entry.description, QtCore.Qt.ItemDataRole.ToolTipRole
            )
        self.scenario_box.setCurrentIndex(max(0, self.scenario_box.findData(current)))
        self.scenario_box.blockSignals(False)

    # -- scenarios -----------------------------------------------------------------------------------

    def scenario_keys(self) -> list[str]:
        """The dropdown's entries, in order (``default``, shipped names, files)."""
        return [str(self.scenario_box.itemData(index)) for index in range(self.scenario_box.count())]

    def set_scenario(self, key: str) -> bool:
        """Lay the views out as scenario ``key``; False (and a note, the layout unchanged) when it cannot
        be read."""
        try:
            chosen = scenario_layout(key, self.store)
        except BridgeError as err:
            self.scenario_note.setText(f"  {err}")
            self.scenario_box.setCurrentIndex(max(0, self.scenario_box.findData(self.scenario)))
            return False
        if self.scenario_box.findData(key) < 0:
            entry = file_scenario(key)
            self.scenario_box.addItem(entry.label, entry.key)
        self.scenario = key
        self.scenario_box.setCurrentIndex(self.scenario_box.findData(key))
        self.scenario_note.setText("  " + "; ".join(chosen.notes) if chosen.notes else "")
        self.set_layout(chosen.layout)
        timeline = chosen.timeline
        if timeline and timeline != self.time_panel.timeline and timeline in self.store.timelines():
            # Keep the moment: the same offset from the start on the blueprint's timeline.
            offset = self.time_panel.offset_of(self.time_panel.current_time)
            self.time_panel.set_timeline(timeline)
            self.time_panel.seek_offset(offset)
        return True

    def set_layout(self, layout: LayoutSpec) -> None:
        """Replace every view by those of ``layout``, at the current time, hiding what is hidden now."""
        old_area = self.view_area
        self.views, self.view_specs = [], []
        self.layout_spec = layout
        self.view_area = self._build(layout)
        for entity in self._hidden_entities:
            for view in self.views:
                view.set_entity_visible(entity, False)
        self.main_splitter.replaceWidget(1, self.view_area)
        old_area.hide()
        old_area.deleteLater()
        self._show_current_time()

    def _on_scenario_chosen(self, index: int) -> None:
        key = self.scenario_box.itemData(index)
        if isinstance(key, str) and key not in (CUSTOM_SCENARIO, self.scenario):
            self.set_scenario(key)

    # -- behaviour -----------------------------------------------------------------------------------

    def _show_current_time(self) -> None:
        if self.time_panel.timeline is not None:
            self._on_time_changed(self.time_panel.timeline, self.time_panel.current_time)
        else:
            # Only static data: it holds on every timeline, so any name shows it.
            self._on_time_changed(_STATIC_ONLY_TIMELINE, 0)

    def seek(self, timeline: str, time: int) -> None:
        """Go to ``time`` on ``timeline`` (switching timelines if needed)."""
        if timeline != self.time_panel.timeline:
            self.time_panel.set_timeline(timeline)
        self.time_panel.set_time(time)

    def views_of(self, kind: type[ViewBase]) -> list[ViewBase]:
        return [view for view in self.views if isinstance(view, kind)]

    def reload(self) -> None:
        """New data in the store (live sources): refresh timelines, transforms, entities and views.

        With the default scenario the layout follows the data too (a first image adds its view).
        """
        self.transforms.invalidate()
        self.entity_tree.reload()
        if self.scenario == DEFAULT_SCENARIO:
            layout = default_layout(self.store)
            if layout != self.layout_spec:
                self.set_layout(layout)
        for view in self.views:
            view.invalidate()
        self.time_panel.reload()  # announces the (kept or newest) time: every view redraws once
        if self.time_panel.timeline is None:
            self._show_current_time()

    def enable_live(
        self,
        interval_ms: int = DEFAULT_POLL_INTERVAL_MS,
        stop: threading.Event | None = None,
    ) -> LiveUpdates:
        """Show the store while it is being filled: poll it, redraw, follow the newest data (see
        :mod:`rerun_bridge.viewer.live`). Setting ``stop`` closes the window."""
        self.time_panel.set_live(True)
        self.live_updates = LiveUpdates(self.store, self.reload, interval_ms, stop, self.close, parent=self)
        self.reload()
        return self.live_updates

    def _on_time_changed(self, timeline: str, time: int) -> None:
        for view in self.views:
            view.set_time(timeline, time)
        self.selection_panel.set_time(timeline, time)

    def _on_visibility_changed(self, entity: str, visible: bool) -> None:
        if visible:
            self._hidden_entities.discard(entity)
        else:
            self._hidden_entities.add(entity)
        for view in self.views:
            view.set_entity_visible(entity, visible)


def _title(spec: LayoutSpec) -> str:
    if isinstance(spec, ViewSpec):
        return spec.title
    return spec.name or spec.kind.value


def _titled(title: str, widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    """A widget under a one-line title bar."""
    frame = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(frame)
    layout.setContentsMargins(1, 1, 1, 1)
    layout.setSpacing(0)
    label = QtWidgets.QLabel(title)
    label.setStyleSheet("background: #2e3440; color: #d8dee9; padding: 2px 6px;")
    font = QtGui.QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    layout.addWidget(label)
    layout.addWidget(widget, 1)
    return frame
