"""What one blueprint view (:class:`rerun_bridge.blueprint.model.View`) tells the view widget it becomes.

A view widget takes an origin, include / exclude patterns and a dict of settings
(:class:`~rerun_bridge.viewer.views.base.ViewBase`); this module reads them off the model's view. What the
viewer cannot show yet is returned as notes, never dropped silently: per-entity colour / radius styles
outside 3D views and the first-person ``eye``.
"""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Any, NamedTuple

from rerun_bridge.blueprint import model

#: Blueprint setting name -> the viewer's, where they differ.
_RENAMED_SETTINGS = {
    (model.ViewKind.SPATIAL2D, "depth_range"): "depth_range_m",  # the blueprint's is in metres
}


class WidgetArguments(NamedTuple):
    """A view widget's entity patterns and settings, and what of the view it leaves out."""

    include: tuple[str, ...]
    exclude: tuple[str, ...]
    settings: dict[str, Any]
    notes: list[str]


def view_title(view: model.View) -> str:
    """The view's name, else its kind and origin."""
    return view.name or f"{view.kind.value} {view.origin}"


def widget_arguments(view: model.View) -> WidgetArguments:
    title = view_title(view)
    notes: list[str] = []
    include = tuple(rule.pattern for rule in view.contents if rule.include)
    exclude = tuple(rule.pattern for rule in view.contents if not rule.include)
    # A hidden style hides the entity in this view only: the view's own exclude does exactly that.
    exclude += tuple(path for path, style in view.styles.items() if not style.visible)
    styles = {
        path: {"color": tuple(style.color) if style.color else None, "radius": style.radius}
        for path, style in view.styles.items()
        if style.visible and (style.color is not None or style.radius is not None)
    }
    settings = _settings(view, title, notes)
    if styles and view.kind is model.ViewKind.SPATIAL3D:
        settings["styles"] = styles
    elif styles:
        notes.append(f"view {title!r}: per-entity colours and radii are applied in 3D views only")
    return WidgetArguments(include, exclude, settings, notes)


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
