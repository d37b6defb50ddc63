"""What one blueprint view (:class:`rerun_bridge.blueprint.model.View`) tells the view widget it becomes.

A view widget takes an origin, include / exclude patterns and a dict of settings
(:class:`~rerun_bridge.viewer.views.base.ViewBase`); this module reads them off the model's view. What the
viewer cannot show yet is returned as notes, never dropped silently: per-entity colour / radius styles
outside 3D views, the first-person ``eye`` and an ``eye_up`` not looking straight down.
"""

from __future__ import annotations

import math
from dataclasses import fields
from enum import Enum
from typing import Any, NamedTuple

import numpy as np

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


#: The eye's settings, which become the orbit camera's (:func:`camera_settings`).
_EYE_SETTINGS = ("eye", "eye_position", "look_target", "eye_up")


def _settings(view: model.View, title: str, notes: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if view.settings is None:
        return settings
    for field in fields(view.settings):
        value = getattr(view.settings, field.name)
        if value is None or value in ("", ()) or field.name in _EYE_SETTINGS:
            continue
        settings[_RENAMED_SETTINGS.get((view.kind, field.name), field.name)] = _plain(value)
    if isinstance(view.settings, model.Spatial3DSettings):
        settings |= camera_settings(view.settings, title, notes)
    return settings


def camera_settings(settings: model.Spatial3DSettings, title: str, notes: list[str]) -> dict[str, Any]:
    """The orbit camera's center, distance, elevation and azimuth (degrees, pyqtgraph's convention, which
    is RViz's Orbit view's) for the blueprint's eye. Without a place it frames the data; a top-down eye
    (RViz's TopDownOrtho, in perspective) looks straight down with y up, or ``eye_up`` up."""
    if settings.eye is model.EyeKind.FIRST_PERSON:
        notes.append(f"view {title!r}: eye first_person is not supported; the orbit camera is used")
    camera: dict[str, Any] = {}
    target = np.array(settings.look_target or (0.0, 0.0, 0.0))
    if settings.look_target is not None or settings.eye_position is not None:
        camera["camera_center"] = tuple(target.tolist())
    down = settings.eye is model.EyeKind.TOP_DOWN and settings.eye_position is None
    if settings.eye_position is not None:
        offset = np.array(settings.eye_position) - target
        distance = float(np.linalg.norm(offset))
        across = float(np.hypot(offset[0], offset[1]))
        camera["camera_distance"] = distance
        if model.is_above(settings.eye_position, settings.look_target or (0.0, 0.0, 0.0)):
            down = True  # the screen's up comes from eye_up
        elif across < 1e-6 * distance:  # straight below
            camera["camera_elevation"] = -90.0
        else:
            camera["camera_elevation"] = math.degrees(math.atan2(float(offset[2]), across))
            camera["camera_azimuth"] = math.degrees(math.atan2(float(offset[1]), float(offset[0])))
    if down:
        up_x, up_y, _ = settings.eye_up or (0.0, 1.0, 0.0)
        camera["camera_elevation"] = 90.0
        # pyqtgraph's azimuth -90 looking down shows y up; each degree more turns the picture with it.
        camera["camera_azimuth"] = -90.0 + math.degrees(math.atan2(-up_x, up_y))
    elif settings.eye_up is not None and (settings.eye_up[:2] != (0.0, 0.0) or settings.eye_up[2] < 0):
        notes.append(f"view {title!r}: eye_up is taken only looking straight down; +z is up")
    return camera


def _plain(value: object) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, model.Color):
        return (value.r, value.g, value.b)
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    return value
