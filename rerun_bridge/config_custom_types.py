"""The ``custom_types`` section of the bridge config: definitions for types a recording does not define
(``msg_path``), how many numeric fields of a type without converter are plotted (``leaf_scalars``), and
declarative mappings of custom types to archetypes (``mappings``). docs/custom-types.md explains them.

Field paths are parsed here, when the config is loaded: a path that does not parse is a ConfigError naming
its key. Archetype and component names are checked where the converters are built
(:mod:`rerun_bridge.convert.mappings`), which needs Rerun itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Protocol

from rerun_bridge.errors import EntityPathError
from rerun_bridge.model.entity_path import EntityPath
from rerun_bridge.model.field_path import FieldMapping, FieldPathError, TypeMapping, parse_field_path
from rerun_bridge.model.type_names import TYPE_NAME, normalize_type_name
from rerun_bridge.model.yaml_checks import show

SECTION: Final = "custom_types"
KEYS: Final = ("msg_path", "leaf_scalars", "mappings")
MAPPING_KEYS: Final = ("archetype", "entity", "fields")
FIELD_KEYS: Final = ("path", "colormap")
DEFAULT_LEAF_SCALARS: Final = 32


def _empty() -> Mapping[str, tuple[TypeMapping, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CustomTypesConfig:
    msg_path: tuple[str, ...] = ()
    leaf_scalars: int = DEFAULT_LEAF_SCALARS
    #: Normalized type name -> its mappings (one archetype each).
    mappings: Mapping[str, tuple[TypeMapping, ...]] = field(default_factory=_empty)

    def to_yaml(self) -> dict[str, object]:
        return {
            "msg_path": list(self.msg_path),
            "leaf_scalars": self.leaf_scalars,
            "mappings": {
                name: [item.to_yaml() for item in entries]
                if len(entries) > 1 or entries[0].position is not None
                else entries[0].to_yaml()
                for name, entries in self.mappings.items()
            },
        }


class _Reader(Protocol):
    def error(self, path: str, message: str) -> None: ...

    def mapping(self, data: object, path: str, known: tuple[str, ...] | None = None) -> dict[str, Any]: ...


def parse_custom_types(reader: _Reader, data: object) -> CustomTypesConfig:
    section = reader.mapping(data, SECTION, KEYS)
    return CustomTypesConfig(
        msg_path=_folders(reader, section.get("msg_path")),
        leaf_scalars=_leaf_scalars(reader, section),
        mappings=MappingProxyType(_mappings(reader, section.get("mappings"))),
    )


def _folders(reader: _Reader, value: object) -> tuple[str, ...]:
    path = f"{SECTION}.msg_path"
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        reader.error(path, f"expected a list of folder paths, got {show(value)}")
        return ()
    return tuple(value)


def _leaf_scalars(reader: _Reader, section: Mapping[str, Any]) -> int:
    value = section.get("leaf_scalars", DEFAULT_LEAF_SCALARS)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    reader.error(f"{SECTION}.leaf_scalars", f"expected an integer >= 0, got {show(value)}")
    return DEFAULT_LEAF_SCALARS


def _mappings(reader: _Reader, data: object) -> dict[str, tuple[TypeMapping, ...]]:
    out: dict[str, tuple[TypeMapping, ...]] = {}
    written: dict[str, str] = {}
    for type_key, value in reader.mapping(data, f"{SECTION}.mappings").items():
        key = f"{SECTION}.mappings.{type_key}"
        # As type_entity_paths: a key that names no type, or a type twice, would be silently unused.
        if not TYPE_NAME.fullmatch(type_key):
            reader.error(key, f"expected a ROS type name like 'my_robot/msg/Status', got {type_key!r}")
            continue
        type_name = normalize_type_name(type_key)
        if type_name in written:
            reader.error(key, f"same type as {SECTION}.mappings.{written[type_name]}")
            continue
        written[type_name] = type_key
        entries: Sequence[object] = value if isinstance(value, list) else [value]
        parsed = []
        for position, entry in enumerate(entries):
            entry_key = f"{key}[{position}]" if isinstance(value, list) else key
            mapping = _type_mapping(reader, entry, entry_key, position if isinstance(value, list) else None)
            if mapping is not None:
                parsed.append(mapping)
        if parsed:
            out[type_name] = tuple(parsed)
    return out


def _type_mapping(reader: _Reader, data: object, key: str, position: int | None) -> TypeMapping | None:
    entry = reader.mapping(data, key, MAPPING_KEYS)
    archetype, entity = entry.get("archetype"), entry.get("entity", "")
    # Each problem of the entry is said, its fields' too, before it is left out.
    usable = True
    if not isinstance(archetype, str) or not archetype:
        reader.error(
            f"{key}.archetype",
            f"required: a Rerun archetype name (Points3D, Scalars, ...), got {show(archetype)}",
        )
        usable = False
    if "entity" in entry and not _is_sub_path(entity):
        reader.error(
            f"{key}.entity",
            f"expected a path below the topic's entity (battery, left/wheel), got {show(entity)}",
        )
        usable = False
    fields = []
    for component, spec in reader.mapping(entry.get("fields"), f"{key}.fields").items():
        item = _field(reader, component, spec, f"{key}.fields.{component}")
        if item is not None:
            fields.append(item)
    if not fields and entry.get("fields"):
        return None  # each of its fields was wrong: already said, key by key
    if not fields:  # none, or an empty mapping (`fields: {}` dropped the entry without a word)
        reader.error(f"{key}.fields", "required: at least one component and its field path")
        return None
    if not usable or not isinstance(archetype, str):
        return None
    return TypeMapping(archetype, tuple(fields), str(entity), position)


def _is_sub_path(entity: object) -> bool:
    """Whether ``entity`` is a path below another (``left/wheel``): not empty, not from the root, no empty
    part (a doubled or trailing ``/``)."""
    if not isinstance(entity, str) or not entity or entity.startswith("/"):
        return False
    try:
        EntityPath.parse(entity)
    except EntityPathError:
        return False
    return True


def _field(reader: _Reader, component: str, spec: object, key: str) -> FieldMapping | None:
    colormap: str | None = None
    if isinstance(spec, Mapping):
        entry = reader.mapping(spec, key, FIELD_KEYS)
        spec, colormap = entry.get("path"), entry.get("colormap")
        if colormap is not None and not isinstance(colormap, str):
            reader.error(f"{key}.colormap", f"expected a colormap name, got {show(colormap)}")
            return None
    if not isinstance(spec, str):
        reader.error(key, f"expected a field path like 'points[].x/y/z', got {show(spec)}")
        return None
    try:
        path = parse_field_path(spec)
    except FieldPathError as err:
        reader.error(key, str(err))
        return None
    return FieldMapping(component, path, colormap)
