"""The viewer's own minimal layout model: view specs in a tree of containers, and a default from the data.

This is deliberately small: the blueprint model (:mod:`rerun_bridge.blueprint`) is the user-facing,
serializable description; it will be turned into these specs, which the window builds into widgets
(:meth:`rerun_bridge.viewer.window.ViewerWindow.from_specs`).

The default layout follows Rerun's heuristic: one 3D view when anything is spatial, one 2D view per
image entity, one plot per scalar group (the entities sharing a parent), and the log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.views.image_view import IMAGE_COMPONENTS
from rerun_bridge.viewer.views.spatial3d_view import ARROWS, BOXES, MESH, PINHOLE, POSITIONS, STRIPS
from rerun_bridge.viewer.views.text_log_view import TEXT
from rerun_bridge.viewer.views.time_series_view import SCALARS

_HIDDEN_PREFIX: Final = "/__"
#: Components that put an entity in the 3D view.
_SPATIAL_COMPONENTS: Final = (POSITIONS, STRIPS, BOXES, ARROWS, MESH, PINHOLE)


class ViewKind(Enum):
    SPATIAL3D = "spatial3d"
    SPATIAL2D = "spatial2d"
    TIME_SERIES = "time_series"
    TEXT_LOG = "text_log"


class ContainerKind(Enum):
    HORIZONTAL = "horizontal"
    VERTICAL = "vertical"
    TABS = "tabs"


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """One view: its kind, the entities it shows (origin + include / exclude patterns) and settings."""

    kind: ViewKind
    origin: str = "/"
    name: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.name or f"{self.kind.value} {self.origin}"


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """Children side by side (horizontal), stacked (vertical) or in tabs; shares are relative sizes."""

    kind: ContainerKind
    children: tuple[ViewSpec | ContainerSpec, ...]
    name: str = ""
    shares: tuple[float, ...] = ()


LayoutSpec = ViewSpec | ContainerSpec


def iter_views(spec: LayoutSpec) -> list[ViewSpec]:
    """Every view of a layout, depth first."""
    if isinstance(spec, ViewSpec):
        return [spec]
    return [view for child in spec.children for view in iter_views(child)]


def _shown(store: ChunkStore) -> dict[str, list[str]]:
    return {
        entity: store.components(entity)
        for entity in store.entities()
        if not entity.startswith(_HIDDEN_PREFIX)
    }


def _parent(entity: str) -> str:
    head = entity.rsplit("/", 1)[0]
    return head or "/"


def default_layout(store: ChunkStore) -> ContainerSpec:
    """A layout for whatever the store holds (see the module docstring)."""
    components = _shown(store)
    spatial = any(name in names for names in components.values() for name in _SPATIAL_COMPONENTS)
    images = [
        entity for entity, names in components.items() if any(name in names for name in IMAGE_COMPONENTS)
    ]
    scalar_groups: dict[str, list[str]] = {}
    for entity, names in components.items():
        if SCALARS in names:
            scalar_groups.setdefault(_parent(entity), []).append(entity)
    has_log = any(TEXT in names for names in components.values())

    top: list[LayoutSpec] = []
    if spatial:
        top.append(ViewSpec(ViewKind.SPATIAL3D, "/", "3D"))
    image_views = [ViewSpec(ViewKind.SPATIAL2D, entity, entity) for entity in images]
    if image_views:
        top.append(_stack(ContainerKind.VERTICAL, image_views))
    bottom: list[LayoutSpec] = []
    plots = [_plot_for_group(group, members) for group, members in sorted(scalar_groups.items())]
    if plots:
        bottom.append(_stack(ContainerKind.TABS, plots))
    if has_log:
        bottom.append(ViewSpec(ViewKind.TEXT_LOG, "/", "Log"))
    rows: list[LayoutSpec] = []
    if top:
        rows.append(_stack(ContainerKind.HORIZONTAL, top, shares=(2.0, 1.0) if len(top) == 2 else ()))
    if bottom:
        rows.append(_stack(ContainerKind.HORIZONTAL, bottom))
    if not rows:
        return ContainerSpec(ContainerKind.VERTICAL, ())
    return ContainerSpec(ContainerKind.VERTICAL, tuple(rows), shares=(3.0, 2.0) if len(rows) == 2 else ())


def _plot_for_group(group: str, members: list[str]) -> ViewSpec:
    if len(members) == 1:
        return ViewSpec(ViewKind.TIME_SERIES, members[0], members[0])
    return ViewSpec(ViewKind.TIME_SERIES, group, group, include=tuple(members))


def _stack(kind: ContainerKind, children: Sequence[LayoutSpec], shares: tuple[float, ...] = ()) -> LayoutSpec:
    if len(children) == 1:
        return children[0]
    return ContainerSpec(kind, tuple(children), shares=shares)
