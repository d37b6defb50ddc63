"""Message definitions supplied by the user (``--msg-path DIR``, the ``msg_path`` config key) for recordings
that store none: Humble-era sqlite3 bags of custom types would otherwise be skipped.

A folder is searched recursively for ``.msg`` and ``.idl`` files. A ``.msg`` file's type is named by where
it lies, as in a ROS package: ``<pkg>/msg/<Type>.msg`` -> ``pkg/msg/Type`` (a file directly in ``<pkg>/``
works too). ``.idl`` files name their own modules. A file that does not parse is reported by path and left
out; the others still count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rosbags.typesys import get_types_from_idl, get_types_from_msg

from rerun_bridge.errors import ConfigError


@dataclass(slots=True)
class SuppliedTypes:
    """Parsed definitions by type name (rosbags' field definitions), and what could not be read."""

    types: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def msg_type_name(path: Path) -> str:
    """``.../<pkg>/msg/<Type>.msg`` -> ``pkg/msg/Type``; ``.../<pkg>/<Type>.msg`` -> ``pkg/msg/Type``."""
    parent = path.parent
    package = parent.parent.name if parent.name in ("msg", "srv", "action") else parent.name
    return f"{package}/msg/{path.stem}"


def load_definitions(folders: Iterable[str | Path]) -> SuppliedTypes:
    """Every ``.msg`` / ``.idl`` definition under ``folders`` (a missing folder is a ConfigError)."""
    supplied = SuppliedTypes()
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            raise ConfigError(f"msg path {folder}: not a folder")
        for path in sorted(root.rglob("*")):
            if path.suffix in (".msg", ".idl") and path.is_file():
                _load_file(path, supplied)
    return supplied


def _load_file(path: Path, supplied: SuppliedTypes) -> None:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".idl":
            types = get_types_from_idl(text)
        else:
            types = get_types_from_msg(text, msg_type_name(path))
    except Exception as err:  # rosbags raises several error types for bad definitions
        supplied.problems.append(f"{path}: definition does not parse ({err}); left out")
        return
    for name, fields in types.items():
        supplied.types.setdefault(name, fields)
