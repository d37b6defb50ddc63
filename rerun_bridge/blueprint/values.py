"""Checks of single blueprint YAML values: each returns the model's value or raises InvalidValueError.

The loader adds the file and key path to the message; :data:`SETTING_CHECKS` and :data:`STYLE_CHECKS`
name the check of every view setting and entity style field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from types import MappingProxyType
from typing import Any, Final, TypeVar

from rerun_bridge.blueprint.model import STYLEABLE_ARCHETYPES, Color, Colormap, EyeKind, LogLevel
from rerun_bridge.errors import EntityPathError
from rerun_bridge.model.entity_path import EntityPath
from rerun_bridge.model.yaml_checks import (
    InvalidValueError,
    check_bool,
    check_string,
    is_number,
    show,
    suggest,
)

_E = TypeVar("_E", bound=Enum)
Check = Callable[[Any], Any]


def check_positive(value: object) -> float:
    if is_number(value) and float(value) > 0:  # type: ignore[arg-type]
        return float(value)  # type: ignore[arg-type]
    raise InvalidValueError(f"expected a number > 0, got {show(value)}")


def check_radius(value: object) -> float:
    if is_number(value) and value != 0:
        return float(value)  # type: ignore[arg-type]
    raise InvalidValueError(f"expected a radius: metres (> 0) or UI points (< 0), got {show(value)}")


def check_zoom(value: object) -> float:
    if is_number(value) and 0 <= float(value) <= 22:  # type: ignore[arg-type]
        return float(value)  # type: ignore[arg-type]
    raise InvalidValueError(f"expected a zoom level from 0 to 22, got {show(value)}")


def check_count(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise InvalidValueError(f"expected an integer >= 1, got {show(value)}")


def check_enum(cls: type[_E]) -> Callable[[object], _E]:
    def convert(value: object) -> _E:
        for member in cls:
            if isinstance(value, str) and value.lower() == member.value.lower():
                return member
        allowed = ", ".join(repr(member.value) for member in cls)
        raise InvalidValueError(f"expected one of {allowed}, got {show(value)}")

    return convert


def check_list(value: object, what: str) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    raise InvalidValueError(f"expected a list of {what}, got {show(value)}")


def check_shares(value: object) -> tuple[float, ...]:
    items = check_list(value, "numbers > 0")
    if all(is_number(item) and item > 0 for item in items):
        return tuple(float(item) for item in items)
    raise InvalidValueError(f"expected a list of numbers > 0, got {items!r}")


def check_depth_range(value: object) -> tuple[float, float]:
    items = check_list(value, "two numbers")
    if len(items) == 2 and all(is_number(item) for item in items) and items[0] < items[1]:
        return float(items[0]), float(items[1])
    raise InvalidValueError(f"expected [near, far] with near < far (metres), got {items!r}")


def check_point(value: object) -> tuple[float, float, float]:
    items = check_list(value, "three numbers")
    if len(items) == 3 and all(is_number(item) for item in items):
        return float(items[0]), float(items[1]), float(items[2])
    raise InvalidValueError(f"expected [x, y, z] (metres, in the fixed frame), got {items!r}")


def check_direction(value: object) -> tuple[float, float, float]:
    items = check_list(value, "three numbers")
    if len(items) == 3 and all(is_number(item) for item in items) and any(items):
        return float(items[0]), float(items[1]), float(items[2])
    raise InvalidValueError(f"expected a direction [x, y, z], not all 0, got {items!r}")


def check_levels(value: object) -> tuple[LogLevel, ...]:
    return tuple(check_enum(LogLevel)(item) for item in check_list(value, "log levels"))


def check_color(value: object) -> Color:
    if isinstance(value, str):
        try:
            return Color.from_hex(value)
        except ValueError as err:
            raise InvalidValueError(str(err)) from err
    if (
        isinstance(value, list | tuple)
        and len(value) in (3, 4)
        and all(isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 255 for item in value)
    ):
        return Color(*value)
    raise InvalidValueError(f"expected '#rrggbb', '#rrggbbaa' or [r, g, b(, a)] in 0-255, got {show(value)}")


def check_entity_path(value: object) -> str:
    try:
        return str(EntityPath.parse(check_string(value)))
    except EntityPathError as err:
        raise InvalidValueError(f"bad entity path: {err}") from err


def check_frame(value: object) -> str:
    text = check_string(value)
    if text.startswith("/") or any(char.isspace() for char in text):
        raise InvalidValueError(f"expected a tf2 frame id (no leading '/', no spaces), got {text!r}")
    return text


def check_frames(value: object) -> tuple[str, ...]:
    return tuple(check_frame(item) for item in check_list(value, "frame ids"))


def check_archetype(value: object) -> str:
    text = check_string(value)
    if text in STYLEABLE_ARCHETYPES:
        return text
    raise InvalidValueError(f"unknown archetype {text!r} ({suggest(text, STYLEABLE_ARCHETYPES)})")


#: The converter of every settings field, by name (a name means the same in every view kind).
SETTING_CHECKS: Final[Mapping[str, Check]] = MappingProxyType(
    {
        "fixed_frame": check_frame,
        "follow_frame": check_frame,
        "follow": check_bool,
        "frame_names": check_frames,
        "grid": check_bool,
        "point_radius": check_radius,
        "background": check_color,
        "eye": check_enum(EyeKind),
        "eye_position": check_point,
        "look_target": check_point,
        "eye_up": check_direction,
        "depth_range": check_depth_range,
        "colormap": check_enum(Colormap),
        "visible_range_s": check_positive,
        "legend": check_bool,
        "levels": check_levels,
        "zoom": check_zoom,
    }
)
STYLE_CHECKS: Final[Mapping[str, Check]] = MappingProxyType(
    {"visible": check_bool, "color": check_color, "radius": check_radius, "archetype": check_archetype}
)
