"""Blueprints (:mod:`rerun_bridge.blueprint`) as the viewer's layout specs.

The blueprint is the user-facing, validated description; this module is the one place that reads it for
the viewer, so the window only knows :mod:`rerun_bridge.viewer.layout`. What the viewer cannot show yet
is reported in :attr:`BlueprintLayout.notes`, never dropped silently: per-entity colour / radius styles
outside 3D views and the first-person ``eye``. Grid containers become rows of
``grid_columns`` views (default: a near-square grid).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import fields
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

from rerun_bridge.blueprint import model
from rerun_bridge.viewer.layout import ContainerKind, ContainerSpec, LayoutSpec, ViewSpec

_AXIS_KINDS = {
    model.ContainerKind.HORIZONTAL: ContainerKind.HORIZONTAL,
    model.ContainerKind.VERTICAL: ContainerKind.VERTICAL,
    model.ContainerKind.TABS: ContainerKind.TABS,
}
#: Blueprint setting name -> the viewer's, where they differ.
_RENAMED_SETTINGS = {
    (model.ViewKind.SPATIAL2D, "depth_range"): "depth_range_m",  # the blueprint's is in metres
}


class BlueprintLayout(NamedTuple):
    """A blueprint's layout, the timeline it starts on, and what the viewer leaves out of it."""

    layout: LayoutSpec
    timeline: str | None
    notes: list[str]


def layout_from_blueprint(blueprint: model.Blueprint) -> BlueprintLayout:
    notes: list[str] = []
    layout = _node(blueprint.root, notes) or ContainerSpec(ContainerKind.VERTICAL, ())
    return BlueprintLayout(layout, blueprint.timeline or None, notes)


def load_blueprint_layout(name_or_path: str | Path) -> BlueprintLayout:
    """A shipped blueprint's name or a YAML file, as a layout (ConfigError when it cannot be read)."""
    from rerun_bridge.blueprint.library import resolve

    return layout_from_blueprint(resolve(name_or_path))


def _node(node: model.Node, notes: list[str]) -> LayoutSpec | None:
    if not node.visible:
        return None
    if isinstance(node, model.View):
        return _view(node, notes)
    children = [child for child in (_node(child, notes) for child in node.children) if child is not None]
    if not children:
        return None
    if node.kind is model.ContainerKind.GRID:
        return _grid(node, children)
    shares = node.shares if len(node.shares) == len(children) else ()
    return ContainerSpec(_AXIS_KINDS[node.kind], tuple(children), node.name, shares)


def _grid(node: model.Container, children: Sequence[LayoutSpec]) -> ContainerSpec:
    columns = node.grid_columns or math.ceil(math.sqrt(len(children)))
    rows = [
        ContainerSpec(ContainerKind.HORIZONTAL, tuple(children[start : start + columns]))
        for start in range(0, len(children), columns)
    ]
    return ContainerSpec(ContainerKind.VERTICAL, tuple(rows), node.name)


def _view(view: model.View, notes: list[str]) -> ViewSpec:
    title = view.name or f"{view.kind.value} {view.origin}"
    kind = view.kind  # the viewer draws every kind a blueprint can name
    include = tuple(_pattern(rule) for rule in view.contents if rule.include)
    exclude = tuple(_pattern(rule) for rule in view.contents if not rule.include)
    exclude += tuple(path for path, style in view.styles.items() if not style.visible)
    styles = {
        path: {"color": tuple(style.color) if style.color else None, "radius": style.radius}
        for path, style in view.styles.items()
        if style.visible and (style.color is not None or style.radius is not None)
    }
    settings = _settings(view, title, notes)
    if styles and kind is model.ViewKind.SPATIAL3D:
        settings["styles"] = styles
    elif styles:
        notes.append(f"view {title!r}: per-entity colours and radii are applied in 3D views only")
    return ViewSpec(kind, view.origin, view.name, include, exclude, settings)


def _pattern(rule: model.ContentRule) -> str:
    if not rule.recursive:
        return rule.path
    return "/**" if rule.path == "/" else f"{rule.path}/**"


def _settings(view: model.View, title: str, notes: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if view.settings is None:
        return settings
    for field in fields(view.settings):
        value = getattr(view.settings, field.name)
        if value is None or value in ("", ()):
            continue
        if field.name == "eye":
            # The orbit camera looking straight down is RViz's TopDownOrtho (in perspective).
            if value is model.EyeKind.TOP_DOWN:
                settings.setdefault("camera_elevation", 90.0)
                settings.setdefault("camera_azimuth", -90.0)
            elif value is model.EyeKind.FIRST_PERSON:
                notes.append(f"view {title!r}: eye first_person is not supported; the orbit camera is used")
            continue
        settings[_RENAMED_SETTINGS.get((view.kind, field.name), field.name)] = _plain(value)
    return settings


def _plain(value: object) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, model.Color):
        return (value.r, value.g, value.b)
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return value
