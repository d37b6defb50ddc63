"""Entity paths: parsed, validated and escaped once, in Rerun's syntax.

A path is a sequence of parts, written ``/a/b/c``. Inside a part, characters other than ASCII letters,
digits, ``_``, ``-`` and ``.`` are written with a backslash escape, as Rerun does
(``rr.escape_entity_path_part``); ``\\u{..}`` escapes are accepted when parsing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

from rerun_bridge.errors import EntityPathError

_PLAIN_CHAR: Final = re.compile(r"[A-Za-z0-9_\-.]")
_RESERVED_PREFIX: Final = "__"


def escape_part(part: str) -> str:
    """Escape one path part so that it survives a round trip through :func:`parse`."""
    if part == "":
        raise EntityPathError("an entity path part cannot be empty")
    out: list[str] = []
    for char in part:
        if _PLAIN_CHAR.fullmatch(char):
            out.append(char)
        elif char.isprintable() and not char.isspace() and ord(char) < 0x80:
            out.append("\\" + char)
        else:
            out.append(f"\\u{{{ord(char):x}}}")
    return "".join(out)


def _unescape_part(text: str, whole: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        if i + 1 >= len(text):
            raise EntityPathError(f"entity path {whole!r}: trailing backslash")
        nxt = text[i + 1]
        if nxt == "u" and i + 2 < len(text) and text[i + 2] == "{":
            end = text.find("}", i + 3)
            if end < 0:
                raise EntityPathError(f"entity path {whole!r}: unterminated \\u{{...}} escape")
            try:
                out.append(chr(int(text[i + 3 : end], 16)))
            except ValueError as err:
                raise EntityPathError(f"entity path {whole!r}: bad \\u{{...}} escape") from err
            i = end + 1
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def _split(path: str) -> Iterator[str]:
    """Split on unescaped slashes."""
    start = 0
    i = 0
    while i < len(path):
        if path[i] == "\\":
            i += 2
            continue
        if path[i] == "/":
            yield path[start:i]
            start = i + 1
        i += 1
    yield path[start:]


class EntityPath:
    """An immutable, hashable entity path made of unescaped parts."""

    __slots__ = ("_parts",)

    def __init__(self, parts: Iterable[str]) -> None:
        parts_tuple = tuple(parts)
        for part in parts_tuple:
            if part == "":
                raise EntityPathError(f"empty part in entity path {parts_tuple!r}")
        self._parts = parts_tuple

    @classmethod
    def parse(cls, text: str) -> EntityPath:
        """Parse ``/a/b\\ c``; a leading slash is optional, doubled or trailing slashes are errors."""
        if not isinstance(text, str):
            raise EntityPathError(f"entity path must be a string, got {type(text).__name__}")
        body = text[1:] if text.startswith("/") else text
        if body == "":
            return cls(())
        raw_parts = list(_split(body))
        if any(part == "" for part in raw_parts):
            raise EntityPathError(f"entity path {text!r} has an empty part (doubled or trailing '/')")
        return cls(_unescape_part(part, text) for part in raw_parts)

    @classmethod
    def from_topic(cls, topic: str) -> EntityPath:
        """The default mapping: a ROS topic name is already a valid path of plain parts."""
        return cls(part for part in topic.split("/") if part)

    @property
    def parts(self) -> tuple[str, ...]:
        return self._parts

    @property
    def is_root(self) -> bool:
        return not self._parts

    @property
    def is_reserved(self) -> bool:
        """Rerun reserves paths whose first part starts with ``__``."""
        return bool(self._parts) and self._parts[0].startswith(_RESERVED_PREFIX)

    def join(self, *parts: str) -> EntityPath:
        return EntityPath((*self._parts, *parts))

    def parent(self) -> EntityPath:
        return EntityPath(self._parts[:-1])

    def is_descendant_of(self, other: EntityPath) -> bool:
        return len(self._parts) > len(other._parts) and self._parts[: len(other._parts)] == other._parts

    def __str__(self) -> str:
        return "/" + "/".join(escape_part(part) for part in self._parts)

    def __repr__(self) -> str:
        return f"EntityPath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EntityPath) and other._parts == self._parts

    def __hash__(self) -> int:
        return hash(self._parts)

    def __lt__(self, other: EntityPath) -> bool:
        return self._parts < other._parts


def normalize(text: str) -> str:
    """Parse and re-serialise a path: the canonical string form used as a key everywhere."""
    return str(EntityPath.parse(text))
