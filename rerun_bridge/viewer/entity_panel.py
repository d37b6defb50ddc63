"""The entity tree (with visibility check boxes) and the selection panel beside the views.

The tree shows every entity path as a hierarchy; unchecking an entity hides it and everything under it in
every view (:attr:`EntityTree.visibility_changed`). Selecting one shows its component values at the
current time in the :class:`SelectionPanel`.
"""

from __future__ import annotations

from typing import Final

from PyQt6 import QtCore, QtWidgets

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.component_values import describe

_PATH_ROLE: Final = QtCore.Qt.ItemDataRole.UserRole
_HIDDEN_PREFIX: Final = "/__"


class EntityTree(QtWidgets.QTreeWidget):
    """Entity paths as a tree with a visibility check box each."""

    #: ``(entity path, visible)`` when a check box changes.
    visibility_changed = QtCore.pyqtSignal(str, bool)
    #: The selected entity path ("" when nothing is selected).
    entity_selected = QtCore.pyqtSignal(str)

    def __init__(self, store: ChunkStore, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setHeaderLabels(["entity"])
        self.setHeaderHidden(True)
        self.items: dict[str, QtWidgets.QTreeWidgetItem] = {}
        self.itemChanged.connect(self._on_item_changed)
        self.itemSelectionChanged.connect(self._on_selection_changed)
        self.reload()

    def reload(self) -> None:
        """Add items for entities that are new in the store."""
        self.blockSignals(True)
        for entity in self.store.entities():
            if not entity.startswith(_HIDDEN_PREFIX):
                self._item_for(entity)
        self.expandAll()
        self.blockSignals(False)

    def _item_for(self, path: str) -> QtWidgets.QTreeWidgetItem:
        item = self.items.get(path)
        if item is not None:
            return item
        parent_path, _, name = path.rpartition("/")
        item = QtWidgets.QTreeWidgetItem([name or "/"])
        item.setData(0, _PATH_ROLE, path)
        item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(0, QtCore.Qt.CheckState.Checked)
        item.setToolTip(0, path)
        if parent_path:
            self._item_for(parent_path).addChild(item)
        else:
            self.addTopLevelItem(item)
        self.items[path] = item
        return item

    def set_visible(self, path: str, visible: bool) -> None:
        """Check or uncheck an entity (what a click on its box does)."""
        item = self.items.get(path)
        if item is not None:
            item.setCheckState(0, QtCore.Qt.CheckState.Checked if visible else QtCore.Qt.CheckState.Unchecked)

    def _on_item_changed(self, item: QtWidgets.QTreeWidgetItem, column: int) -> None:
        path = item.data(0, _PATH_ROLE)
        if isinstance(path, str):
            self._grey_out_below(item)
            self.visibility_changed.emit(path, item.checkState(0) == QtCore.Qt.CheckState.Checked)

    def _grey_out_below(self, item: QtWidgets.QTreeWidgetItem) -> None:
        """Greys out (and locks) the boxes below an unchecked entity, which it hides whatever they say:
        they read "shown" while hidden, and checking one did nothing (audit). Each keeps its own state
        for when the entity is checked again."""
        was_blocked = self.blockSignals(True)
        try:
            hidden = item.checkState(0) != QtCore.Qt.CheckState.Checked or item.isDisabled()
            for index in range(item.childCount()):
                child = item.child(index)
                if child is not None:
                    child.setDisabled(hidden)
                    self._grey_out_below(child)
        finally:
            self.blockSignals(was_blocked)

    def is_hidden(self, path: str) -> bool:
        """Whether the entity is hidden: unchecked, or below an unchecked one."""
        item = self.items.get(path)
        return item is not None and (item.checkState(0) != QtCore.Qt.CheckState.Checked or item.isDisabled())

    def _on_selection_changed(self) -> None:
        selected = self.selectedItems()
        path = selected[0].data(0, _PATH_ROLE) if selected else ""
        self.entity_selected.emit(path if isinstance(path, str) else "")


class SelectionPanel(QtWidgets.QTreeWidget):
    """The selected entity's components and their values at the current time."""

    def __init__(self, store: ChunkStore, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setHeaderLabels(["component", "value"])
        self.setRootIsDecorated(False)
        self.setWordWrap(True)
        self.entity = ""
        self._timeline: str | None = None
        self._time = 0

    def select(self, entity: str) -> None:
        self.entity = entity
        self._refresh()

    def set_time(self, timeline: str, time: int) -> None:
        self._timeline, self._time = timeline, time
        if self.entity and self.isVisible():
            self._refresh()

    def values(self) -> dict[str, str]:
        """Component -> shown text (tests read it)."""
        shown: dict[str, str] = {}
        for index in range(self.topLevelItemCount()):
            item = self.topLevelItem(index)
            if item is not None:
                shown[item.text(0)] = item.text(1)
        return shown

    def _refresh(self) -> None:
        self.clear()
        if not self.entity or self._timeline is None:
            return
        values = self.store.latest_at(self.entity, self._timeline, self._time)
        for component, array in values.items():
            self.addTopLevelItem(QtWidgets.QTreeWidgetItem([component, describe(array)]))
        if not values:
            self.addTopLevelItem(QtWidgets.QTreeWidgetItem(["(no data at this time)", ""]))
        self.resizeColumnToContents(0)
