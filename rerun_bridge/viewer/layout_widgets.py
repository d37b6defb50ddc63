"""A blueprint's layout tree (:mod:`rerun_bridge.blueprint.model`) as Qt widgets, and read back from them.

Horizontal and vertical containers become splitters sized by their shares, tabs a tab widget, a grid a
grid of ``grid_columns`` columns (default: near-square) stretched by its column and row shares; each view
is its widget under a title bar. Hidden views and containers, and containers left empty, are not built.

Every widget keeps the node it was built from, so :func:`layout_tree` rebuilds the tree from the widgets
as they are nested: what the window shows, to compare with the blueprint (or an exported ``.rbl``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Final

from PyQt6 import QtCore, QtGui, QtWidgets

from rerun_bridge.blueprint import model
from rerun_bridge.viewer.view_arguments import view_title
from rerun_bridge.viewer.views.base import ViewBase

#: Splitter sizes and grid stretches are integers: shares are scaled by this first.
SHARE_UNIT: Final = 1000


class ViewFrame(QtWidgets.QWidget):
    """A view widget under a one-line title bar."""

    def __init__(self, node: model.View, view: ViewBase) -> None:
        super().__init__()
        self.node = node
        self.view = view
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 1)
        layout.setSpacing(0)
        layout.addWidget(title_bar(view_title(node)))
        layout.addWidget(view, 1)


class ContainerSplitter(QtWidgets.QSplitter):
    """A horizontal or vertical container: children side by side or stacked, sized by the shares."""

    def __init__(self, node: model.Container, children: Sequence[QtWidgets.QWidget]) -> None:
        orientation = (
            QtCore.Qt.Orientation.Horizontal
            if node.kind is model.ContainerKind.HORIZONTAL
            else QtCore.Qt.Orientation.Vertical
        )
        super().__init__(orientation)
        self.node = node
        self.setChildrenCollapsible(False)
        for child in children:
            self.addWidget(child)
        shares = node.shares if len(node.shares) == len(children) else (1.0,) * len(children)
        self.setSizes([round(share * SHARE_UNIT) for share in shares])

    def children_widgets(self) -> list[QtWidgets.QWidget]:
        return [widget for index in range(self.count()) if (widget := self.widget(index)) is not None]


class ContainerTabs(QtWidgets.QTabWidget):
    """A tabs container: one tab per child, titled by its name."""

    def __init__(self, node: model.Container, children: Sequence[QtWidgets.QWidget]) -> None:
        super().__init__()
        self.node = node
        for child in children:
            self.addTab(child, _tab_title(child))

    def children_widgets(self) -> list[QtWidgets.QWidget]:
        return [widget for index in range(self.count()) if (widget := self.widget(index)) is not None]


class ContainerGrid(QtWidgets.QWidget):
    """A grid container: children row by row, ``grid_columns`` per row."""

    def __init__(self, node: model.Container, children: Sequence[QtWidgets.QWidget]) -> None:
        super().__init__()
        self.node = node
        self.cells = list(children)
        self.columns = node.grid_columns or max(1, math.ceil(math.sqrt(len(children))))
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for index, child in enumerate(children):
            grid.addWidget(child, index // self.columns, index % self.columns)
        for column, share in enumerate(node.column_shares):
            grid.setColumnStretch(column, round(share * SHARE_UNIT))
        for row, share in enumerate(node.row_shares):
            grid.setRowStretch(row, round(share * SHARE_UNIT))

    def children_widgets(self) -> list[QtWidgets.QWidget]:
        return list(self.cells)


ContainerWidget = ContainerSplitter | ContainerTabs | ContainerGrid
_CONTAINER_WIDGETS: Final[dict[model.ContainerKind, type[ContainerWidget]]] = {
    model.ContainerKind.HORIZONTAL: ContainerSplitter,
    model.ContainerKind.VERTICAL: ContainerSplitter,
    model.ContainerKind.TABS: ContainerTabs,
    model.ContainerKind.GRID: ContainerGrid,
}


def build_layout(
    node: model.Node, make_view: Callable[[model.View], ViewFrame]
) -> ViewFrame | ContainerWidget | None:
    """The widgets of ``node``; None when nothing of it is visible."""
    if not node.visible:
        return None
    if isinstance(node, model.View):
        return make_view(node)
    children = [
        widget for widget in (build_layout(child, make_view) for child in node.children) if widget is not None
    ]
    if not children:
        return None
    return _CONTAINER_WIDGETS[node.kind](node, children)


def empty_layout(root: model.Node) -> ContainerWidget:
    """The widget of a layout with nothing to show (its root's kind, or a vertical stack for a view)."""
    if isinstance(root, model.Container):
        return _CONTAINER_WIDGETS[root.kind](dataclasses.replace(root, children=()), [])
    return ContainerSplitter(model.Container(model.ContainerKind.VERTICAL), [])


def layout_tree(widget: QtWidgets.QWidget) -> model.Node:
    """The layout tree the widgets show, rebuilt from how they are nested (hidden nodes are not built)."""
    if isinstance(widget, ViewFrame):
        return widget.node
    if isinstance(widget, ContainerSplitter | ContainerTabs | ContainerGrid):
        children = tuple(layout_tree(child) for child in widget.children_widgets())
        return dataclasses.replace(widget.node, children=children)
    raise TypeError(f"not a layout widget: {type(widget).__name__}")


def title_bar(title: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(title)
    label.setStyleSheet("background: #2e3440; color: #d8dee9; padding: 2px 6px;")
    font = QtGui.QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    return label


def _tab_title(widget: QtWidgets.QWidget) -> str:
    if isinstance(widget, ViewFrame):
        return view_title(widget.node)
    if isinstance(widget, ContainerSplitter | ContainerTabs | ContainerGrid):
        return widget.node.name or widget.node.kind.value
    return ""
