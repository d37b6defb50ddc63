"""The viewer's main window: views laid out from specs, the entity panel, and the time panel driving all.

:meth:`ViewerWindow.from_specs` builds any :data:`~rerun_bridge.viewer.layout.LayoutSpec` tree into Qt
widgets (splitters for horizontal / vertical containers, a tab widget for tabs); without specs the
window uses :func:`~rerun_bridge.viewer.layout.default_layout`. Every view follows the time panel; the
text log's row clicks seek it; the entity tree's check boxes hide entities in every view.
"""

from __future__ import annotations

from typing import Final

from PyQt6 import QtCore, QtGui, QtWidgets

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.entity_panel import EntityTree, SelectionPanel
from rerun_bridge.viewer.layout import (
    ContainerKind,
    ContainerSpec,
    LayoutSpec,
    ViewKind,
    ViewSpec,
    default_layout,
)
from rerun_bridge.viewer.time_panel import TimePanel
from rerun_bridge.viewer.transforms import SceneTransforms
from rerun_bridge.viewer.views.base import ViewBase
from rerun_bridge.viewer.views.image_view import ImageView
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.views.text_log_view import TextLogView
from rerun_bridge.viewer.views.time_series_view import TimeSeriesView

VIEW_CLASSES: Final[dict[ViewKind, type[ViewBase]]] = {
    ViewKind.SPATIAL3D: Spatial3DView,
    ViewKind.SPATIAL2D: ImageView,
    ViewKind.TIME_SERIES: TimeSeriesView,
    ViewKind.TEXT_LOG: TextLogView,
}
_SIDE_PANEL_WIDTH: Final = 240
_SHARE_UNIT: Final = 1000
_STATIC_ONLY_TIMELINE: Final = "log_time"


class ViewerWindow(QtWidgets.QMainWindow):
    """Views, entity tree, selection panel and time panel over one store."""

    def __init__(
        self,
        store: ChunkStore,
        layout: LayoutSpec | None = None,
        transforms: SceneTransforms | None = None,
        title: str = "rerun_bridge viewer",
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.store = store
        self.transforms = transforms if transforms is not None else SceneTransforms(store)
        self.layout_spec = layout if layout is not None else default_layout(store)
        self.views: list[ViewBase] = []
        self.view_specs: list[ViewSpec] = []

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
        if self.time_panel.timeline is not None:
            self._on_time_changed(self.time_panel.timeline, self.time_panel.current_time)
        else:
            # Only static data: it holds on every timeline, so any name shows it.
            self._on_time_changed(_STATIC_ONLY_TIMELINE, 0)

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

    # -- behaviour -----------------------------------------------------------------------------------

    def seek(self, timeline: str, time: int) -> None:
        """Go to ``time`` on ``timeline`` (switching timelines if needed)."""
        if timeline != self.time_panel.timeline:
            self.time_panel.set_timeline(timeline)
        self.time_panel.set_time(time)

    def views_of(self, kind: type[ViewBase]) -> list[ViewBase]:
        return [view for view in self.views if isinstance(view, kind)]

    def reload(self) -> None:
        """New data in the store (live sources): refresh timelines, transforms, entities and views."""
        self.transforms.invalidate()
        self.entity_tree.reload()
        for view in self.views:
            view.reload()
        self.time_panel.reload()

    def _on_time_changed(self, timeline: str, time: int) -> None:
        for view in self.views:
            view.set_time(timeline, time)
        self.selection_panel.set_time(timeline, time)

    def _on_visibility_changed(self, entity: str, visible: bool) -> None:
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
