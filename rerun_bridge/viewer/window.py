"""The viewer's main window: views laid out by a blueprint, the entity panel, and the time panel driving all.

The window builds the layout tree of :mod:`rerun_bridge.blueprint.model` into Qt widgets
(:mod:`rerun_bridge.viewer.layout_widgets`); without one it lays the data out with the one default
heuristic, :func:`rerun_bridge.blueprint.heuristic.default_blueprint_of`, the same blueprint
``rerun-bridge blueprint export default`` writes. Every view follows the time panel; the text log's row
clicks seek it; the entity tree's check boxes hide entities in every view.

The scenario dropdown above the views (:mod:`rerun_bridge.viewer.scenarios`) rebuilds the views from
another layout while the window is open; time, timeline and hidden entities carry over, and what a
blueprint leaves out is shown in the note beside the dropdown.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from PyQt6 import QtCore, QtWidgets

from rerun_bridge.blueprint import model
from rerun_bridge.blueprint.heuristic import default_blueprint_of, with_image_overlays
from rerun_bridge.blueprint.model import ViewKind
from rerun_bridge.blueprint.roles import resolve_roles
from rerun_bridge.errors import BridgeError
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.entity_panel import EntityTree, SelectionPanel
from rerun_bridge.viewer.layout_widgets import (
    SHARE_UNIT,
    ViewFrame,
    build_layout,
    empty_layout,
    layout_tree,
    title_bar,
)
from rerun_bridge.viewer.live import DEFAULT_POLL_INTERVAL_MS, LiveUpdates
from rerun_bridge.viewer.scenarios import (
    DEFAULT_SCENARIO,
    Scenario,
    file_scenario,
    scenario_blueprint,
    shipped_scenarios,
)
from rerun_bridge.viewer.time_panel import TimePanel, default_timeline
from rerun_bridge.viewer.timeline_choice import blueprint_timeline
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.view_arguments import view_title, widget_arguments
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
_STATIC_ONLY_TIMELINE: Final = "log_time"
#: The dropdown entry of a layout given as a tree rather than by a scenario.
CUSTOM_SCENARIO: Final = ""


class ViewerWindow(QtWidgets.QMainWindow):
    """Views, entity tree, selection panel and time panel over one store.

    ``layout`` is a blueprint's root (a container or one view). ``scenario`` names the dropdown entry the
    layout is: ``default`` (with no ``layout``: the default blueprint of the data), a shipped blueprint's
    name or a blueprint file. A ``layout`` without a scenario shows as "custom layout".
    ``view_settings`` are widget settings the blueprint model has no field for (the 3D camera pose, frame
    axes), given to every view of a kind: tests fix the camera with them.
    """

    def __init__(
        self,
        store: ChunkStore,
        layout: model.Node | None = None,
        transforms: SceneTransforms | None = None,
        title: str = "rerun_bridge viewer",
        parent: QtWidgets.QWidget | None = None,
        scenario: str | None = None,
        view_settings: Mapping[ViewKind, Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.data_loader: Callable[[str, int], bool] | None = None
        self.setWindowTitle(title)
        self.store = store
        self.transforms = transforms if transforms is not None else SceneTransforms(store)
        self.view_settings = dict(view_settings or {})
        self.layout_root = layout if layout is not None else default_blueprint_of(store).root
        self.views: list[ViewBase] = []
        #: The blueprint view each of :attr:`views` was built from.
        self.view_nodes: list[model.View] = []
        #: What the viewer leaves out of the layout (see :mod:`rerun_bridge.viewer.view_arguments`).
        self.notes: list[str] = []
        self._hidden_entities: set[str] = set()
        self.live_updates: LiveUpdates | None = None
        if scenario is None:
            scenario = DEFAULT_SCENARIO if layout is None else CUSTOM_SCENARIO
        self.scenario = scenario
        self.scenario_box = QtWidgets.QComboBox()
        self.scenario_note = QtWidgets.QLabel()
        self.addToolBar(self._scenario_toolbar(scenario))

        self.time_panel = TimePanel(store)
        self.entity_tree = EntityTree(store)
        self.selection_panel = SelectionPanel(store)
        self.view_area = self._build(self.layout_root)
        self._show_notes()
        self.main_splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.setCentralWidget(self._central_widget())

        self.time_panel.time_changed.connect(self._on_time_changed)
        self.entity_tree.visibility_changed.connect(self._on_visibility_changed)
        self.entity_tree.entity_selected.connect(self.selection_panel.select)
        self.entity_tree.entity_selected.connect(self._on_entity_selected)
        self.scenario_box.activated.connect(self._on_scenario_chosen)
        self._show_current_time()

    def _scenario_toolbar(self, scenario: str) -> QtWidgets.QToolBar:
        self.scenario_box.setToolTip("Debugging scenario: the layout of the views")
        # Under the toolbar, wrapped: in the toolbar, a long note went to its overflow menu, unseen.
        self.scenario_note.setStyleSheet("color: #d08770; padding: 2px 6px;")
        self.scenario_note.setWordWrap(True)
        self.scenario_note.setVisible(False)
        self._fill_scenarios(scenario)
        toolbar = QtWidgets.QToolBar("Scenario")
        toolbar.setMovable(False)
        toolbar.addWidget(QtWidgets.QLabel(" Scenario: "))
        toolbar.addWidget(self.scenario_box)
        return toolbar

    def _central_widget(self) -> QtWidgets.QWidget:
        """The entity and selection panels beside the views, the time panel under both."""
        side = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        side.addWidget(_titled("Entities", self.entity_tree))
        side.addWidget(_titled("Selection", self.selection_panel))
        side.setSizes([3 * SHARE_UNIT, 2 * SHARE_UNIT])
        self.main_splitter.addWidget(side)
        self.main_splitter.addWidget(self.view_area)
        self.main_splitter.setStretchFactor(0, 0)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setSizes([_SIDE_PANEL_WIDTH, 4 * _SIDE_PANEL_WIDTH])
        central = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.scenario_note)
        column.addWidget(self.main_splitter, 1)
        column.addWidget(self.time_panel)
        return central

    @classmethod
    def from_layout(
        cls,
        store: ChunkStore,
        layout: model.Node | Sequence[model.Node],
        transforms: SceneTransforms | None = None,
        view_settings: Mapping[ViewKind, Mapping[str, Any]] | None = None,
    ) -> ViewerWindow:
        """A window laid out by a layout tree (a sequence: the nodes stacked vertically)."""
        root = (
            layout
            if isinstance(layout, model.View | model.Container)
            else model.Container(model.ContainerKind.VERTICAL, tuple(layout))
        )
        return cls(store, root, transforms, view_settings=view_settings)

    def layout_tree(self) -> model.Node:
        """The layout the window's widgets show, read back from them (hidden nodes are not built)."""
        return layout_tree(self.view_area)

    # -- building ------------------------------------------------------------------------------------

    def _build(self, root: model.Node) -> QtWidgets.QWidget:
        self.notes = []
        # Roles ($odometry, ...) name the recording's own topics; an empty (live) store keeps the usual names.
        resolved = resolve_roles(root, self.store if self.store.entities() else None)
        self.notes += [
            f"no {role} topic in the data: its place in the layout stays empty" for role in resolved.missing
        ]
        layout = with_image_overlays(resolved.root, self.store) if self.store.entities() else resolved.root
        built = build_layout(layout, self._build_view)
        self.notes += self._views_without_data()
        return built if built is not None else empty_layout(resolved.root)

    def _views_without_data(self) -> list[str]:
        """A note naming the views nothing in the data matches: a scenario names the usual topics
        (``/camera/image_raw``), and a robot's other names left black panels without a word. An empty
        (live) store has no data yet: nothing to say."""
        entities = self.store.entities()
        if not entities:
            return []
        empty = [
            f"{view.objectName()} ({_shown_paths(view)})"
            for view in self.views
            if not any(view.entity_filter.matches(entity) for entity in entities)
        ]
        if not empty:
            return []
        return [f"nothing in the data for {', '.join(empty)}: rename the layout's paths to your topics"]

    def _build_view(self, node: model.View) -> ViewFrame:
        arguments = widget_arguments(node)
        settings = {**self.view_settings.get(node.kind, {}), **arguments.settings}
        view = VIEW_CLASSES[node.kind](
            self.store, self.transforms, node.origin, arguments.include, arguments.exclude, settings
        )
        view.setObjectName(view_title(node))
        if isinstance(view, TextLogView):
            view.seek_requested.connect(self.seek)
        self.views.append(view)
        self.view_nodes.append(node)
        self.notes += arguments.notes
        return ViewFrame(node, view)

    def _show_notes(self) -> None:
        self._set_note("; ".join(self.notes))

    def _set_note(self, text: str) -> None:
        self.scenario_note.setText(text)
        self.scenario_note.setVisible(bool(text))

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
            chosen = scenario_blueprint(key, self.store)
        except BridgeError as err:
            self._set_note(str(err))
            self.scenario_box.setCurrentIndex(max(0, self.scenario_box.findData(self.scenario)))
            return False
        if self.scenario_box.findData(key) < 0:
            entry = file_scenario(key)
            self.scenario_box.addItem(entry.label, entry.key)
        self.scenario = key
        self.scenario_box.setCurrentIndex(self.scenario_box.findData(key))
        self.set_layout(chosen.root)
        # A layout without its own timeline takes the data's: back on the default layout from a scenario
        # on ros_time, its /cmd_vel plot had no samples (audit).
        timeline = (
            blueprint_timeline(chosen.timeline, self.store).timeline
            if chosen.timeline
            else default_timeline(self.store)
        )
        if timeline and timeline != self.time_panel.timeline:
            # Keep the moment: the same offset from the start on the blueprint's timeline.
            offset = self.time_panel.offset_of(self.time_panel.current_time)
            self.time_panel.set_timeline(timeline)
            self.time_panel.seek_offset(offset)
        return True

    def set_layout(self, layout: model.Node) -> None:
        """Replace every view by those of ``layout``, at the current time, hiding what is hidden now."""
        old_area = self.view_area
        self.views, self.view_nodes = [], []
        self.layout_root = layout
        self.view_area = self._build(layout)
        self._show_notes()
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

    def set_data_loader(self, loader: Callable[[str, int], bool] | None) -> None:
        """Ask ``loader`` for the data of each time before the views show it (lazily opened files,
        :func:`rerun_bridge.viewer.sources.show_time`); when it says the store changed, the views reload.
        The current time is shown again through it at once."""
        self.data_loader = loader
        self._show_current_time()

    def frame_cameras_again(self) -> None:
        """Each 3D view frames the time shown now (see :meth:`Spatial3DView.frame_again`)."""
        for view in self.views_of(Spatial3DView):
            if isinstance(view, Spatial3DView):
                view.frame_again()

    def views_of(self, kind: type[ViewBase]) -> list[ViewBase]:
        return [view for view in self.views if isinstance(view, kind)]

    def reload(self) -> None:
        """New data in the store (live sources): refresh timelines, transforms, entities and views.

        With the default scenario the layout follows the data too (a first image adds its view).
        """
        self.transforms.invalidate()
        self.entity_tree.reload()
        if self.scenario == DEFAULT_SCENARIO:
            layout = default_blueprint_of(self.store).root
            if layout != self.layout_root:
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
        if self.data_loader is not None and self.data_loader(timeline, time):
            self.transforms.invalidate()
            for view in self.views:
                view.invalidate()
        origin = self.time_panel.time_range[0] if self.time_panel.timeline == timeline else None
        for view in self.views:
            view.time_origin = origin
            view.set_time(timeline, time)
        self.selection_panel.set_time(timeline, time)

    def _on_entity_selected(self, entity: str) -> None:
        """3D views name the TF frame of the selected entity (RViz names a frame selected in its tree)."""
        for view in self.views_of(Spatial3DView):
            if isinstance(view, Spatial3DView):
                view.select_entity(entity)

    def _on_visibility_changed(self, entity: str, visible: bool) -> None:
        if visible:
            self._hidden_entities.discard(entity)
        else:
            self._hidden_entities.add(entity)
        for view in self.views:
            view.set_entity_visible(entity, visible)


def _titled(title: str, widget: QtWidgets.QWidget) -> QtWidgets.QWidget:
    """A widget under a one-line title bar."""
    frame = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(frame)
    layout.setContentsMargins(1, 1, 1, 1)
    layout.setSpacing(0)
    layout.addWidget(title_bar(title))
    layout.addWidget(widget, 1)
    return frame


def _shown_paths(view: ViewBase) -> str:
    return model.shown_paths(view.origin, view.entity_filter.include)
