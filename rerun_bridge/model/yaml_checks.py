"""What every YAML file of the project (bridge config, blueprints) checks the same way.

Value checks raise :class:`InvalidValueError` with a message; :class:`KeyPathReader` walks the parsed YAML,
adds the file and the key path to each message, and collects every problem so that one error lists them
all.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

_T = TypeVar("_T")


class InvalidValueError(ValueError):
    """A value check's complaint; the reader adds file and key path."""


def show(value: object) -> str:
    """A value as a YAML user would recognise it in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


def suggest(word: str, choices: Iterable[str]) -> str:
    names = list(choices)
    # A shortened name (eye_pos) is meant as the one it begins, not the nearest by letters (eye_up).
    begun = [name for name in names if len(word) >= 3 and name.startswith(word)]
    close = begun if len(begun) == 1 else difflib.get_close_matches(word, names, n=1)
    return f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(names)


def join_key(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def check_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidValueError(f"expected true or false, got {show(value)}")


def check_string(value: object) -> str:
    if isinstance(value, str):
        return value
    raise InvalidValueError(f"expected a string, got {show(value)}")


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class KeyPathReader:
    """Collects errors as ``<source>: <key.path>: <message>`` while walking parsed YAML."""

    def __init__(self, source: str, errors: list[str] | None = None) -> None:
        self.source = source
        self.errors: list[str] = [] if errors is None else errors

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")

    def mapping(self, data: object, path: str, known: tuple[str, ...] | None = None) -> dict[str, Any]:
        """A mapping (null: empty) with string keys; with ``known``, other keys are reported and dropped."""
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            self.error(path, f"expected a mapping, got {show(data)}")
            return {}
        out: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                self.error(join_key(path, str(key)), f"keys must be strings, got {show(key)}")
            elif known is not None and key not in known:
                self.error(join_key(path, key), f"unknown key ({suggest(key, known)})")
            else:
                out[key] = value
        return out

    def get(
        self, data: Mapping[str, Any], path: str, key: str, default: _T, convert: Callable[[Any], _T]
    ) -> _T:
        """``data[key]`` through ``convert``; a missing key gives ``default``, a bad value an error."""
        if key not in data:
            return default
        try:
            return convert(data[key])
        except InvalidValueError as err:
            self.error(join_key(path, key), str(err))
            return default
