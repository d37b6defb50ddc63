"""Message definitions supplied by the user (``--msg-path DIR``, the ``msg_path`` config key) for recordings
that store none: Humble-era sqlite3 bags of custom types would otherwise be skipped.

A folder is searched recursively for ``.msg`` and ``.idl`` files. A ``.msg`` file's type is named by where
it lies, as in a ROS package: ``<pkg>/msg/<Type>.msg`` -> ``pkg/msg/Type`` (a file directly in ``<pkg>/``
works too). ``.idl`` files name their own modules. A file that does not parse, one rosbags cannot make a
type of (a field named twice), or one whose fields name a type that neither the supplied files nor ROS 2's
own messages define (``unit8`` for ``uint8``), is reported by path and left out, with the types that use
it; the others still count. A type defined twice differently is said once; the first file found keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg, get_typestore

from rerun_bridge.cdr.decoding import parse_error
from rerun_bridge.errors import ConfigError

#: The ROS 2 releases whose messages a supplied definition may use (std_msgs, geometry_msgs, ...).
_ROS_STORES = (Stores.ROS2_HUMBLE, Stores.ROS2_JAZZY)


@dataclass(slots=True)
class SuppliedTypes:
    """Parsed definitions by type name (rosbags' field definitions), and what could not be read."""

    types: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: Types a supplied file defined but that were left out, and why (a topic of one says so, not "no
    #: definition": found by an audit).
    rejected: dict[str, str] = field(default_factory=dict)


def msg_type_name(path: Path) -> str:
    """``.../<pkg>/msg/<Type>.msg`` -> ``pkg/msg/Type``; ``.../<pkg>/<Type>.msg`` -> ``pkg/msg/Type``."""
    parent = path.parent
    package = parent.parent.name if parent.name in ("msg", "srv", "action") else parent.name
    return f"{package}/msg/{path.stem}"


def load_definitions(folders: Iterable[str | Path]) -> SuppliedTypes:
    """Every ``.msg`` / ``.idl`` definition under ``folders`` (a missing folder is a ConfigError)."""
    supplied = SuppliedTypes()
    files: dict[str, Path] = {}
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            raise ConfigError(f"msg path {folder}: not a folder")
        for path in sorted(root.rglob("*")):
            if path.suffix in (".msg", ".idl") and path.is_file():
                _load_file(path, supplied, files)
    if supplied.types:
        _leave_out_unresolved(supplied, files)
    return supplied


def _referenced(node: tuple[Any, Any]) -> str | None:
    """The message type a field's definition names (through arrays and sequences), None for a base type."""
    kind, details = node
    if kind == Nodetype.NAME:
        return str(details)
    if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE):
        return _referenced(details[0])
    return None


def _leave_out_unresolved(supplied: SuppliedTypes, files: dict[str, Path]) -> None:
    """Leave out every type with a field of a type nobody defines, and the types that use those: rosbags
    parses such a file but fails on its first message (and the re-recording's schema with it)."""
    known = {name for store in _ROS_STORES for name in get_typestore(store).fielddefs}
    missing: dict[str, str] = {}
    changed = True
    while changed:  # until no type is left using one that was left out
        changed = False
        for name, (_consts, fields) in supplied.types.items():
            if name in missing:
                continue
            for field_name, node in fields:
                used = _referenced(node)
                if used is None or (used in supplied.types and used not in missing) or used in known:
                    continue
                left_out = used in missing or used in supplied.rejected
                why = "is left out too" if left_out else "no .msg file or ROS 2 release defines"
                missing[name] = f"field '{field_name}' has type '{used}', which {why}"
                changed = True
                break
    for name, why in missing.items():
        del supplied.types[name]
        supplied.problems.append(f"{files.get(name, name)}: {name} left out: {why}")
        supplied.rejected[name] = f"its supplied definition ({files.get(name, name)}) was left out: {why}"


def _load_file(path: Path, supplied: SuppliedTypes, files: dict[str, Path]) -> None:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".idl":
            types = get_types_from_idl(text)
        else:
            types = get_types_from_msg(text, msg_type_name(path))
    except Exception as err:  # rosbags raises several error types for bad definitions
        # One line: rosbags' parse errors quote the whole definition over many lines (audit).
        why = parse_error(err)
        supplied.problems.append(f"{path}: definition does not parse ({why}); left out")
        # An .idl names its types inside; one that does not parse is taken to define its file's name.
        supplied.rejected[msg_type_name(path)] = f"its supplied definition ({path}) does not parse ({why})"
        return
    for name, fields in types.items():
        earlier = files.get(name)
        if earlier is not None:
            if supplied.types.get(name, fields) != fields:
                supplied.problems.append(
                    f"{path}: {name} is defined differently in {earlier}; the definition in {earlier} is used"
                )
            continue
        why = _unusable(name, fields)
        if why:
            supplied.problems.append(f"{path}: {name} left out: {why}")
            supplied.rejected[name] = f"its supplied definition ({path}) was left out: {why}"
            continue
        supplied.types[name] = fields
        files[name] = path


def _unusable(name: str, fields: Any) -> str:
    """Why rosbags cannot make a type of a parsed definition (a field named twice), or "": tried alone in
    an empty store, as registering it with the others would fail them all (found by an audit)."""
    try:
        get_typestore(Stores.EMPTY).register({name: fields})
    except Exception as err:  # rosbags' TypesysError and whatever its code generation raises
        return parse_error(err)
    return ""
