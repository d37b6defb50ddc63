"""Content rules that name a role (``+ $odometry/**``), resolved against a recording's entities.

A shipped scenario names the topics a robot usually has (``/odom``, ``/cmd_vel``, ``/scan``, ``/map``);
a robot whose odometry is ``/odometry`` or whose command topic is ``/controller/cmd_vel`` would get empty
views. A rule may name a role instead of a path: the role is the usual name when the recording has it,
else the entity whose converted shape says it is that kind of topic (the archetypes the bridge's converters
write for it, see docs/coverage.md), names that mention the role first. A role no entity plays leaves its
rules out. Styles keyed by a role's usual name go to the entity picked for it.

Roles: ``odometry`` (nav_msgs/Odometry: a pose with a ``twist`` plot below it), ``cmd_vel`` (Twist and
TwistStamped: plotted, with an ``arrow`` below), ``scan`` (LaserScan: points with intensities and no
cloud ``index``), ``map`` (OccupancyGrid: an ``image`` and ``tiles`` below), ``gps`` (NavSatFix:
geographic points).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Final, Protocol

from rerun_bridge.blueprint.model import ROLE_PREFIX, Container, ContentRule, EntityStyle, Node, View
from rerun_bridge.model.entity_path import EntityPath


class EntityCatalog(Protocol):
    """What roles are resolved against: a store's entity paths and their components."""

    def entities(self) -> list[str]: ...

    def components(self, entity_path: str) -> list[str]: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Role:
    #: The entity a robot usually has for it (the first choice).
    usual: str
    #: Words that make a candidate's name a better pick (``cmd_vel`` over ``cmd_vel_nav`` comes by length).
    hints: tuple[str, ...]
    #: Whether an entity plays the role, given the catalog.
    plays: Callable[[EntityCatalog, str, Sequence[str]], bool]


def _has(catalog: EntityCatalog, entity: str, component: str) -> bool:
    return component in catalog.components(entity)


def _shaped(
    catalog: EntityCatalog, entity: str, entities: Sequence[str], own: str, child: str, child_component: str
) -> bool:
    """Whether ``entity`` holds ``own`` and has a ``child`` entity holding ``child_component``: the shape a
    converter gives one message type (an odometry's pose and its twist plots, a twist's plots and arrow)."""
    path = f"{entity}/{child}"
    return _has(catalog, entity, own) and path in entities and _has(catalog, path, child_component)


def _is_odometry(catalog: EntityCatalog, entity: str, entities: Sequence[str]) -> bool:
    return _shaped(catalog, entity, entities, "InstancePoses3D:translations", "twist", "Scalars:scalars")


def _is_twist(catalog: EntityCatalog, entity: str, entities: Sequence[str]) -> bool:
    return _shaped(catalog, entity, entities, "Scalars:scalars", "arrow", "Arrows3D:vectors")


def _is_scan(catalog: EntityCatalog, entity: str, _entities: Sequence[str]) -> bool:
    components = catalog.components(entity)
    return "Points3D:intensity" in components and "Points3D:index" not in components


def _is_map(catalog: EntityCatalog, entity: str, entities: Sequence[str]) -> bool:
    image = f"{entity}/image"
    tiles = f"{entity}/tiles/"
    return image in entities and any(
        path.startswith(tiles) and _has(catalog, path, "Mesh3D:vertex_positions") for path in entities
    )


def _is_gps(catalog: EntityCatalog, entity: str, _entities: Sequence[str]) -> bool:
    return _has(catalog, entity, "GeoPoints:positions")


ROLES: Final[Mapping[str, Role]] = MappingProxyType(
    {
        "odometry": Role("/odom", ("odom",), _is_odometry),
        "cmd_vel": Role("/cmd_vel", ("cmd_vel", "cmd"), _is_twist),
        "scan": Role("/scan", ("scan",), _is_scan),
        "map": Role("/map", ("map",), _is_map),
        "gps": Role("/gps/fix", ("fix", "gps"), _is_gps),
    }
)


def pick(role_name: str, catalog: EntityCatalog | None) -> str | None:
    """The entity that plays ``role_name``: its usual name when present (or with no catalog), else the
    best-named candidate (a hint in its name, then the shortest path), else None."""
    role = ROLES[role_name]
    if catalog is None:
        return role.usual
    entities = catalog.entities()
    if role.usual in entities:
        return role.usual
    # A topic may hold no data itself, only its children (an OccupancyGrid: ``/map/image`` and
    # ``/map/tiles/*``): the paths above the entities are candidates too.
    paths = sorted({*entities, *(ancestor for entity in entities for ancestor in _ancestors(entity))})
    candidates = [path for path in paths if role.plays(catalog, path, entities)]
    if not candidates:
        return None
    if role.usual in candidates:
        return role.usual

    def rank(entity: str) -> tuple[int, int, int, str]:
        name = EntityPath.parse(entity).parts[-1] if entity != "/" else ""
        hinted = next((index for index, hint in enumerate(role.hints) if hint in name), len(role.hints))
        return hinted, entity.count("/"), len(entity), entity

    return min(candidates, key=rank)


def _ancestors(entity: str) -> list[str]:
    """The paths above an entity, the root left out (``/map/tiles/0``: ``/map``, ``/map/tiles``)."""
    parts = EntityPath.parse(entity).parts
    return ["/" + "/".join(parts[:count]) for count in range(1, len(parts))]


@dataclasses.dataclass(frozen=True, slots=True)
class ResolvedLayout:
    root: Node
    #: ``role -> entity`` for each role resolved to something other than its usual name.
    picks: Mapping[str, str]
    #: Roles named by the layout that no entity plays.
    missing: tuple[str, ...]


def names_roles(root: Node) -> bool:
    """Whether any content rule of ``root`` names a role."""
    if isinstance(root, Container):
        return any(names_roles(child) for child in root.children)
    return any(
        rule.path.startswith(ROLE_PREFIX) and not rule.path.startswith("$origin") for rule in root.contents
    )


def resolve_roles(root: Node, catalog: EntityCatalog | None) -> ResolvedLayout:
    """``root`` with every role rule replaced by the entity picked for it (see :func:`pick`); a view
    whose rules picked other than the usual names says so in its name."""
    resolver = _Resolver(catalog)
    return ResolvedLayout(resolver.node(root), MappingProxyType(resolver.picks), tuple(resolver.missing))


class _Resolver:
    def __init__(self, catalog: EntityCatalog | None) -> None:
        self.catalog = catalog
        self.picks: dict[str, str] = {}
        self.missing: list[str] = []
        self._cache: dict[str, str | None] = {}

    def entity(self, role_name: str) -> str | None:
        if role_name not in self._cache:
            picked = self._cache[role_name] = pick(role_name, self.catalog)
            if picked is None:
                self.missing.append(role_name)
            elif picked != ROLES[role_name].usual:
                self.picks[role_name] = picked
        return self._cache[role_name]

    def node(self, node: Node) -> Node:
        if isinstance(node, Container):
            return dataclasses.replace(node, children=tuple(self.node(child) for child in node.children))
        return self.view(node)

    def view(self, view: View) -> View:
        contents: list[ContentRule] = []
        used: dict[str, str] = {}
        for rule in view.contents:
            if not rule.path.startswith(ROLE_PREFIX) or rule.path.startswith("$origin"):
                contents.append(rule)
                continue
            role_name, _, rest = rule.path[len(ROLE_PREFIX) :].partition("/")
            entity = self.entity(role_name)
            if entity is None:
                continue
            if entity != ROLES[role_name].usual:
                used[role_name] = entity
            path = str(EntityPath.parse(entity).join(*EntityPath.parse(rest).parts)) if rest else entity
            contents.append(ContentRule(path, rule.include, rule.recursive))
        styles = dict(view.styles)
        for role_name, entity in used.items():
            style: EntityStyle | None = styles.pop(ROLES[role_name].usual, None)
            if style is not None:
                styles.setdefault(entity, style)
        name = view.name
        if used:
            picked = ", ".join(f"{role}: {entity}" for role, entity in used.items())
            name = f"{name} ({picked})" if name else f"{view.kind.value} ({picked})"
        return dataclasses.replace(view, name=name, contents=tuple(contents), styles=MappingProxyType(styles))
