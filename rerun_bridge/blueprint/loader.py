"""Blueprint YAML: read and validated into :mod:`~rerun_bridge.blueprint.model`, and written back.

Every problem in a file is reported at once, one line each, naming the file and the key path::

    perception.yaml: root.children[0].settings.fixd_frame: unknown key (did you mean 'fixed_frame'?)
    perception.yaml: root.children[1].view: expected one of 'spatial3d', 'spatial2d', ..., got 'image'

:func:`dump_blueprint` writes what :func:`parse_blueprint` reads: ``load(dump(bp)) == bp``. Values equal
to their defaults are left out. ``docs/blueprints.md`` describes the schema.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeVar

import yaml

from rerun_bridge.blueprint.model import (
    DEFAULT_CONTENTS,
    SETTINGS_TYPES,
    Blueprint,
    Color,
    Container,
    ContainerKind,
    ContentRule,
    EntityStyle,
    EyeKind,
    Node,
    View,
    ViewKind,
    ViewSettings,
    is_above,
)
from rerun_bridge.blueprint.values import (
    SETTING_CHECKS,
    STYLE_CHECKS,
    check_count,
    check_entity_path,
    check_enum,
    check_list,
    check_shares,
)
from rerun_bridge.errors import ConfigError
from rerun_bridge.model.yaml_checks import (
    InvalidValueError,
    KeyPathReader,
    check_bool,
    check_string,
    is_number,
    join_key,
    show,
)
from rerun_bridge.model.yaml_limits import YamlLimitError, construct_bounded, read_bounded

_T = TypeVar("_T")

_TOP_KEYS: Final = ("name", "description", "timeline", "auto_views", "root")
_CONTAINER_KEYS: Final = (
    "container",
    "name",
    "visible",
    "shares",
    "column_shares",
    "row_shares",
    "grid_columns",
    "children",
)
_VIEW_KEYS: Final = ("view", "name", "visible", "origin", "contents", "settings", "styles")
_STYLE_KEYS: Final = tuple(f.name for f in dataclasses.fields(EntityStyle))
_AXIS_KINDS: Final = (ContainerKind.HORIZONTAL, ContainerKind.VERTICAL)
_NO_SHARES: Final[tuple[float, ...]] = ()


# --- the reader -------------------------------------------------------------------------------------------


_join = join_key


class _Reader(KeyPathReader):
    """Walks parsed YAML, collecting every error with its key path."""

    def node(self, data: object, path: str) -> Node | None:
        if not isinstance(data, Mapping):
            self.error(path, f"expected a container or a view (a mapping), got {show(data)}")
            return None
        if ("container" in data) == ("view" in data):
            self.error(path, "expected exactly one of the keys 'container' (a layout) or 'view'")
            return None
        return self.container(data, path) if "container" in data else self.view(data, path)

    def container(self, data: Mapping[str, Any], path: str) -> Container | None:
        """A container; its own keys are checked before its children, so errors come in file order."""
        entry = self.mapping(data, path, _CONTAINER_KEYS)
        kind = self.get(entry, path, "container", None, check_enum(ContainerKind))
        name = self.get(entry, path, "name", "", check_string)
        visible = self.get(entry, path, "visible", True, check_bool)
        raw_children: list[Any] = self.get(
            entry, path, "children", [], lambda value: check_list(value, "views or containers")
        )
        shares = self.get(entry, path, "shares", _NO_SHARES, check_shares)
        column_shares = self.get(entry, path, "column_shares", _NO_SHARES, check_shares)
        row_shares = self.get(entry, path, "row_shares", _NO_SHARES, check_shares)
        grid_columns = self.get(entry, path, "grid_columns", None, check_count)
        if kind is not None:
            self.check_layout(entry, path, kind)
        if (
            kind is not None
            and grid_columns is not None
            and column_shares
            and len(column_shares) != grid_columns
        ):
            self.error(
                _join(path, "column_shares"), f"{len(column_shares)} shares for {grid_columns} columns"
            )
        if shares and len(shares) != len(raw_children):
            self.error(_join(path, "shares"), f"{len(shares)} shares for {len(raw_children)} children")
        children = [
            self.node(child, f"{_join(path, 'children')}[{index}]")
            for index, child in enumerate(raw_children)
        ]
        if kind is None:
            return None
        return Container(
            kind=kind,
            children=tuple(child for child in children if child is not None),
            name=name,
            shares=shares,
            column_shares=column_shares,
            row_shares=row_shares,
            grid_columns=grid_columns,
            visible=visible,
        )

    def check_layout(self, entry: Mapping[str, Any], path: str, kind: ContainerKind) -> None:
        """Shares belong to horizontal and vertical containers, column / row shares and columns to grids."""
        if kind not in _AXIS_KINDS and "shares" in entry:
            self.error(_join(path, "shares"), "only horizontal and vertical containers have shares")
        for key in ("column_shares", "row_shares", "grid_columns"):
            if key in entry and kind is not ContainerKind.GRID:
                self.error(_join(path, key), f"only a grid has {key} (use 'shares' for {kind.value})")

    def view(self, data: Mapping[str, Any], path: str) -> View | None:
        entry = self.mapping(data, path, _VIEW_KEYS)
        kind = self.get(entry, path, "view", None, check_enum(ViewKind))
        name = self.get(entry, path, "name", "", check_string)
        visible = self.get(entry, path, "visible", True, check_bool)
        origin = self.get(entry, path, "origin", "/", check_entity_path)
        contents = self.contents(entry, path)
        settings = (
            None if kind is None else self.settings(kind, entry.get("settings"), _join(path, "settings"))
        )
        styles = self.styles(entry.get("styles"), _join(path, "styles"))
        if kind is None:
            return None
        return View(
            kind=kind,
            name=name,
            origin=origin,
            contents=contents,
            settings=settings,
            styles=MappingProxyType(styles),
            visible=visible,
        )

    def contents(self, entry: Mapping[str, Any], path: str) -> tuple[ContentRule, ...]:
        if "contents" not in entry:
            return DEFAULT_CONTENTS
        path = _join(path, "contents")
        raw = entry["contents"]
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list | tuple):
            self.error(path, f"expected a list of query lines like '+ /scan/**', got {show(raw)}")
            return DEFAULT_CONTENTS
        rules: list[ContentRule] = []
        for index, line in enumerate(raw):
            if not isinstance(line, str):
                self.error(f"{path}[{index}]", f"expected a query line like '+ /scan/**', got {show(line)}")
                continue
            try:
                rules.append(ContentRule.parse(line))
            except ConfigError as err:
                self.error(f"{path}[{index}]", str(err))
        return tuple(rules)

    def settings(self, kind: ViewKind, data: object, path: str) -> ViewSettings:
        cls = SETTINGS_TYPES[kind]
        names = tuple(f.name for f in dataclasses.fields(cls))
        entry = self.mapping(data, path, names)
        defaults = cls()
        values = {
            name: self.get(entry, path, name, getattr(defaults, name), SETTING_CHECKS[name]) for name in entry
        }
        eye_position = values.get("eye_position")
        target = values.get("look_target") or (0.0, 0.0, 0.0)
        if eye_position is not None and eye_position == target:
            self.error(_join(path, "eye_position"), "the same point as look_target: the camera looks nowhere")
            values.pop("eye_position")
        elif (
            eye_position is not None
            and values.get("eye") is EyeKind.TOP_DOWN
            and not is_above(eye_position, target)
        ):
            # Rerun's viewer turned such an eye on its side (its up, +y, along the ground); ours orbited.
            self.error(
                _join(path, "eye_position"),
                "a top_down eye looks straight down: put it straight above look_target (or use eye: orbital)",
            )
            values.pop("eye_position")
        return dataclasses.replace(defaults, **values)

    def styles(self, data: object, path: str) -> dict[str, EntityStyle]:
        out: dict[str, EntityStyle] = {}
        for key, value in self.mapping(data, path, None).items():
            key_path = _join(path, key)
            try:
                entity = check_entity_path(key)
            except InvalidValueError as err:
                self.error(key_path, str(err))
                continue
            if entity in out:
                self.error(key_path, f"the same entity as another key ({entity})")
                continue
            entry = self.mapping(value, key_path, _STYLE_KEYS)
            values = {name: self.get(entry, key_path, name, None, STYLE_CHECKS[name]) for name in entry}
            style = EntityStyle(**{name: value for name, value in values.items() if value is not None})
            lacks_archetype = style.archetype is None and "archetype" not in entry
            if lacks_archetype and (style.color is not None or style.radius is not None):
                self.error(key_path, "color and radius need 'archetype' (the visualizer they apply to)")
            out[entity] = style
        return out


# --- public API -------------------------------------------------------------------------------------------


def parse_blueprint(data: object, source: str = "<blueprint>", default_name: str = "") -> Blueprint:
    """Validate already-parsed YAML; ``source`` names it in the errors, ``default_name`` is used when the
    data has no ``name``. Raises :class:`~rerun_bridge.errors.ConfigError` with every problem found."""
    reader = _Reader(source)
    top = reader.mapping(data, "", _TOP_KEYS)
    name = reader.get(top, "", "name", default_name, check_string)
    if not name:
        reader.error("name", "required: the blueprint's name")
    root = reader.node(top["root"], "root") if "root" in top else None
    if "root" not in top:
        reader.error("root", "required: the top container or view")
    blueprint = Blueprint(
        name=name,
        root=root if root is not None else Container(ContainerKind.GRID),
        description=reader.get(top, "", "description", "", check_string),
        timeline=reader.get(top, "", "timeline", "", check_string),
        auto_views=reader.get(top, "", "auto_views", False, check_bool),
    )
    if reader.errors:
        raise ConfigError("\n".join(reader.errors))
    return blueprint


def load_blueprint(path: str | Path) -> Blueprint:
    """Read and validate a blueprint file; its ``name`` defaults to the file's stem."""
    source = str(path)
    try:
        text = read_bounded(path)
    except (OSError, UnicodeDecodeError, YamlLimitError) as err:
        raise ConfigError(f"{source}: cannot read the blueprint: {err}") from err
    return parse_blueprint(parse_yaml(text, source), source, default_name=Path(path).stem)


def parse_yaml(text: str, source: str) -> Any:
    """Safe YAML with errors naming ``source`` (and line and column); duplicate keys are errors."""
    try:
        loader = _StrictLoader(text)  # the reader checks the characters here: a binary file fails now
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: YAML error: {' '.join(str(err).split())}") from err
    try:
        return construct_bounded(loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        what = "; ".join(str(part) for part in (err.context, err.problem) if part)
        raise ConfigError(f"{where}: YAML syntax error: {what}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: YAML error: {err}") from err
    finally:
        loader.dispose()


def blueprint_to_data(blueprint: Blueprint) -> dict[str, Any]:
    """Plain YAML-ready data; ``parse_blueprint(blueprint_to_data(bp)) == bp``."""
    data: dict[str, Any] = {"name": blueprint.name}
    if blueprint.description:
        data["description"] = blueprint.description
    if blueprint.timeline:
        data["timeline"] = blueprint.timeline
    if blueprint.auto_views:
        data["auto_views"] = True
    data["root"] = _node_data(blueprint.root)
    return data


def dump_blueprint(blueprint: Blueprint, path: str | Path | None = None, header: str = "") -> str:
    """The blueprint as YAML text, ``header`` first as ``#`` comment lines; written to ``path`` if given."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    text = comment + yaml.dump(
        blueprint_to_data(blueprint), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110
    )
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


# --- writing ----------------------------------------------------------------------------------------------


def _plain(value: object) -> object:
    if isinstance(value, Color):
        return value.to_hex()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def _changed(value: object) -> dict[str, Any]:
    """The fields of a settings or style dataclass that differ from their defaults."""
    defaults = type(value)()
    return {
        f.name: _plain(getattr(value, f.name))
        for f in dataclasses.fields(value)  # type: ignore[arg-type]
        if getattr(value, f.name) != getattr(defaults, f.name)
    }


def _node_data(node: Node) -> dict[str, Any]:
    if isinstance(node, View):
        return _view_data(node)
    data: dict[str, Any] = {"container": node.kind.value}
    if node.name:
        data["name"] = node.name
    if not node.visible:
        data["visible"] = False
    for key in ("shares", "column_shares", "row_shares"):
        if getattr(node, key):
            data[key] = list(getattr(node, key))
    if node.grid_columns is not None:
        data["grid_columns"] = node.grid_columns
    data["children"] = [_node_data(child) for child in node.children]
    return data


def _view_data(view: View) -> dict[str, Any]:
    data: dict[str, Any] = {"view": view.kind.value}
    if view.name:
        data["name"] = view.name
    if not view.visible:
        data["visible"] = False
    data["origin"] = view.origin
    if view.contents != DEFAULT_CONTENTS:
        data["contents"] = [str(rule) for rule in view.contents]
    settings = _changed(view.settings)
    if settings:
        data["settings"] = settings
    if view.styles:
        data["styles"] = {entity: _changed(style) for entity, style in view.styles.items()}
    return data


#: Line breaks other than "\n" (and "\r"): only double-quoted scalars keep them through a round trip.
_UNFOLDABLE: Final = ("\r", "\x85", "\u2028", "\u2029")


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks and lists of numbers on one line, for readable files."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(char in value for char in _UNFOLDABLE):
        style: str | None = '"'  # PyYAML folds these in other styles; double quotes escape them
    else:
        style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    numbers = bool(value) and all(is_number(item) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=numbers)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that rejects duplicate keys (PyYAML would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _value in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                ident = (key_node.tag, key_node.value)
                if ident in seen:
                    mark = key_node.start_mark
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", mark
                    )
                seen.add(ident)
        return super().construct_mapping(node, deep=deep)
