"""What every view shares: the store it reads, the entities it shows, the time it shows them at.

A view shows the entities its ``include`` / ``exclude`` patterns select, in Rerun's query syntax:
``/camera/**`` (an entity and everything under it), ``/scan`` (that entity only), ``$origin`` standing for
the view's origin. Without include patterns (``include=None``), ``$origin/**``; an empty list includes
nothing, as a blueprint view whose contents include nothing (RViz's bare grid) shows nothing in Rerun's
viewer. As in Rerun, the most specific matching pattern decides (a deeper path beats a shallower one, an
exact path beats a subtree of the same path, an exclude beats an equally specific include); no match
excludes. Entities whose path starts with ``/__`` (Rerun's recording properties) are never shown.

Views keep data apart from drawing: :meth:`ViewBase.set_time` queries the store and hands arrays to the
drawing items, which only mark themselves dirty; Qt paints them on its next frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from PyQt6 import QtWidgets

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.transforms import SceneTransforms

ORIGIN: Final = "$origin"
_HIDDEN_PREFIX: Final = "/__"


def _normalized(path: str) -> str:
    stripped = "/" + path.strip().strip("/")
    return stripped if stripped != "/" else "/"


def is_under(entity: str, ancestor: str) -> bool:
    """Whether ``entity`` is ``ancestor`` or lies below it."""
    return ancestor in ("/", entity) or entity.startswith(ancestor + "/")


class EntityFilter:
    """An origin with include / exclude patterns; the most specific matching pattern decides."""

    def __init__(
        self, origin: str = "/", include: Sequence[str] | None = None, exclude: Sequence[str] = ()
    ) -> None:
        self.origin = _normalized(origin)
        self.include = (f"{ORIGIN}/**",) if include is None else tuple(include)
        self.exclude = tuple(exclude)

    def matches(self, entity: str) -> bool:
        if entity.startswith(_HIDDEN_PREFIX):
            return False
        best: tuple[int, int] | None = None
        included = False
        rules = [(pattern, True) for pattern in self.include] + [(pattern, False) for pattern in self.exclude]
        for pattern, include in rules:
            specificity = self._specificity(pattern, entity)
            if specificity is not None and (best is None or specificity >= best):
                best, included = specificity, include
        return included

    def _specificity(self, pattern: str, entity: str) -> tuple[int, int] | None:
        """``(depth, exact)`` of a pattern that matches ``entity``; None when it does not match."""
        text = pattern.strip()
        if text.startswith(ORIGIN):
            text = self.origin.rstrip("/") + text[len(ORIGIN) :]
        recursive = text.endswith("**")
        path = _normalized(text[:-2] if recursive else text)
        if not (is_under(entity, path) if recursive else entity == path):
            return None
        depth = 0 if path == "/" else path.count("/")
        return depth, 0 if recursive else 1


def note_label() -> QtWidgets.QLabel:
    """The line under a view that names what it cannot show; hidden while there is nothing to say."""
    label = QtWidgets.QLabel()
    label.setWordWrap(True)
    label.setStyleSheet("color: #d08770;")
    label.setVisible(False)
    return label


def show_notes(label: QtWidgets.QLabel, notes: Sequence[str]) -> None:
    label.setText("\n".join(notes))
    label.setVisible(bool(notes))


class ViewBase(QtWidgets.QWidget):
    """A view of some entities of a store at one time on one timeline."""

    #: What the default layout and the window call this kind of view.
    kind = "view"

    def __init__(
        self,
        store: ChunkStore,
        transforms: SceneTransforms,
        origin: str = "/",
        include: Sequence[str] | None = None,
        exclude: Sequence[str] = (),
        settings: Mapping[str, Any] | None = None,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store
        self.transforms = transforms
        self.entity_filter = EntityFilter(origin, include, exclude)
        self.settings: dict[str, Any] = dict(settings or {})
        self.timeline: str | None = None
        self.time: int | None = None
        #: Where the window's time panel counts the timeline from (None: the store's first time): views
        #: that show offsets (plots) count from there too, so their axes read as the panel does.
        self.time_origin: int | None = None
        self._hidden: set[str] = set()
        self._entities_by_component: dict[str, list[str]] = {}
        self._build()

    def _build(self) -> None:
        """Each view makes its own widgets here, once the shared state above exists."""

    def _stack(self, main: QtWidgets.QWidget, *below: QtWidgets.QWidget) -> QtWidgets.QVBoxLayout:
        """Lay out ``main`` filling the view, with ``below`` (a note, an info line) under it."""
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(main, 1)
        for widget in below:
            layout.addWidget(widget)
        return layout

    @property
    def origin(self) -> str:
        return self.entity_filter.origin

    # -- entities ------------------------------------------------------------------------------------

    def entities_with(self, component: str) -> list[str]:
        """Visible entities of this view that hold ``component`` (cached until :meth:`reload`)."""
        cached = self._entities_by_component.get(component)
        if cached is None:
            cached = [
                entity
                for entity in self.store.entities()
                if self.entity_filter.matches(entity) and component in self.store.components(entity)
            ]
            self._entities_by_component[component] = cached
        return [entity for entity in cached if self.is_visible(entity)]

    def is_visible(self, entity: str) -> bool:
        return not any(is_under(entity, hidden) for hidden in self._hidden)

    def set_entity_visible(self, entity: str, visible: bool) -> None:
        """Show or hide an entity and everything under it, then redraw."""
        if visible:
            self._hidden.discard(entity)
        else:
            self._hidden.add(entity)
        self.refresh()

    # -- time ----------------------------------------------------------------------------------------

    def set_time(self, timeline: str, time: int) -> None:
        """Show the latest data at ``time`` on ``timeline``."""
        timeline_changed = timeline != self.timeline
        self.timeline, self.time = timeline, time
        if timeline_changed:
            self.timeline_changed(timeline)
        self.update_data(timeline, time)

    def refresh(self) -> None:
        """Query the store again at the current time."""
        if self.timeline is not None and self.time is not None:
            self.update_data(self.timeline, self.time)

    def reload(self) -> None:
        """New data in the store: forget cached entity lists and series, then refresh."""
        self.invalidate()
        self.refresh()

    def invalidate(self) -> None:
        """New data in the store: forget cached entity lists and series; the next time shown redraws."""
        self._entities_by_component.clear()
        if self.timeline is not None:
            self.timeline_changed(self.timeline)

    def timeline_changed(self, timeline: str) -> None:
        """Hook for views that cache per-timeline data (plots load whole series)."""

    def update_data(self, timeline: str, time: int) -> None:
        """Query the store at ``time`` and hand the results to the drawing items."""
        raise NotImplementedError
