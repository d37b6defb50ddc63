"""Field paths of declarative mappings: where in a message a value is (``status.battery``,
``points[].x/y/z``).

Grammar: parts joined by ``.``; each part a field name, optionally followed by ``[]`` (every element of
a sequence) or ``[N]`` (element N); the last part may list several fields joined by ``/`` (``x/y/z``),
whose values become the columns of one (N, k) array. Parsed once, when the config is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_PART: Final = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<index>\d*)\])?")
_LEAVES: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)+")
#: ``PathPart.index`` of ``[]``: every element.
EACH: Final = -1


class FieldPathError(ValueError):
    """A field path that does not parse; the message says where."""


@dataclass(frozen=True, slots=True)
class PathPart:
    name: str
    #: None: the field itself; EACH: every element; N >= 0: element N.
    index: int | None = None


@dataclass(frozen=True, slots=True)
class FieldPath:
    text: str
    parts: tuple[PathPart, ...]
    #: The fields of the last part stacked as columns (``x/y/z``); empty for a single field.
    leaves: tuple[str, ...] = ()


def parse_field_path(text: str) -> FieldPath:
    """``points[].x/y/z`` -> its parts; raises FieldPathError naming the part that does not parse."""
    if not text or not text.strip():
        raise FieldPathError("empty field path")
    pieces = text.split(".")
    parts: list[PathPart] = []
    leaves: tuple[str, ...] = ()
    for position, piece in enumerate(pieces):
        last = position == len(pieces) - 1
        if last and _LEAVES.fullmatch(piece):
            leaves = tuple(piece.split("/"))
            break
        match = _PART.fullmatch(piece)
        if match is None:
            raise FieldPathError(
                f"bad part {piece!r} in {text!r} (expected name, name[], name[N], or a last part like x/y/z)"
            )
        index_text = match["index"]
        index = None if index_text is None else (EACH if index_text == "" else int(index_text))
        parts.append(PathPart(match["name"], index))
    return FieldPath(text, tuple(parts), leaves)


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """One component of a declarative mapping: its value from ``path``, optionally through a colormap."""

    component: str
    path: FieldPath
    colormap: str | None = None

    def to_yaml(self) -> object:
        if self.colormap is None:
            return self.path.text
        return {"path": self.path.text, "colormap": self.colormap}


@dataclass(frozen=True, slots=True)
class TypeMapping:
    """A custom type drawn as one archetype (``mappings.<type>`` in the config); ``entity`` is a sub-entity
    of the topic's ('' for the topic's own)."""

    archetype: str
    fields: tuple[FieldMapping, ...]
    entity: str = ""
    #: Its place in the config's list of the type's entries (None: the type's one entry, not a list), which
    #: errors name: ``mappings.<type>[1]``, whatever entries before it were left out.
    position: int | None = None

    def to_yaml(self) -> dict[str, object]:
        out: dict[str, object] = {"archetype": self.archetype}
        if self.entity:
            out["entity"] = self.entity
        out["fields"] = {item.component: item.to_yaml() for item in self.fields}
        return out
