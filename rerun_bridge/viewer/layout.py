"""The viewer's own minimal layout model: view specs in a tree of containers, and a default from the data.

This is deliberately small: the blueprint model (:mod:`rerun_bridge.blueprint`) is the user-facing,
serializable description; it will be turned into these specs, which the window builds into widgets
(:meth:`rerun_bridge.viewer.window.ViewerWindow.from_specs`).

The default layout follows Rerun's heuristic: one 3D view when anything is spatial, one 2D view per
image entity with one map view of every ``GeoPoints`` entity under them, one plot per scalar group (the
entities sharing a parent), one tensor view per tensor, one bar chart per bar-chart entity, and the log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from rerun_bridge.blueprint.model import ViewKind
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.views.bar_chart_view import BAR_VALUES
from rerun_bridge.viewer.views.image_view import IMAGE_COMPONENTS
from rerun_bridge.viewer.views.map_view import GEO_POSITIONS
from rerun_bridge.viewer.views.spatial3d_view import ARROWS, BOXES, MESH, PINHOLE, POSITIONS, STRIPS
from rerun_bridge.viewer.views.tensor_view import TENSOR
from rerun_bridge.viewer.views.text_log_view import TEXT
from rerun_bridge.viewer.views.time_series_view import SCALARS

_HIDDEN_PREFIX: Final = "/__"
#: Components that put an entity in the 3D view.
_SPATIAL_COMPONENTS: Final = (POSITIONS, STRIPS, BOXES, ARROWS, MESH, PINHOLE)


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
    geo = sorted(entity for entity, names in components.items() if GEO_POSITIONS in names)
    tensors = sorted(entity for entity, names in components.items() if TENSOR in names)
    bar_charts = sorted(entity for entity, names in components.items() if BAR_VALUES in names)

    top: list[LayoutSpec] = []
    if spatial:
        top.append(ViewSpec(ViewKind.SPATIAL3D, "/", "3D"))
    side: list[LayoutSpec] = [ViewSpec(ViewKind.SPATIAL2D, entity, entity) for entity in images]
    if geo:
        # A 3D view cannot place latitude / longitude: GPS fixes get a map of their own, under the images.
        side.append(ViewSpec(ViewKind.MAP, "/", "Map", include=tuple(geo)))
    if side:
        top.append(_stack(ContainerKind.VERTICAL, side))
    bottom: list[LayoutSpec] = []
    tabs = [_plot_for_group(group, members) for group, members in sorted(scalar_groups.items())]
    tabs += [ViewSpec(ViewKind.TENSOR, entity, entity) for entity in tensors]
    tabs += [ViewSpec(ViewKind.BAR_CHART, entity, entity) for entity in bar_charts]
    if tabs:
        bottom.append(_stack(ContainerKind.TABS, tabs))
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
