"""A small reader of Rerun ``.rbl`` files (RRD streams of one blueprint store), for round-trip tests.

Views live at ``/view/<id>`` (``ViewBlueprint:*``), their contents at ``/view/<id>/ViewContents``, their
properties at ``/view/<id>/<Archetype>`` and per-entity overrides under
``/view/<id>/ViewContents/overrides/<entity>/visualizers``; containers at ``/container/<id>``
(``ContainerBlueprint:*``, children as ``view/<id>`` / ``container/<id>``); the root container's id in
``/viewport``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import rerun.chunk as rrc

from rerun_bridge.blueprint.export import VIEW_CLASS_IDENTIFIERS
from rerun_bridge.blueprint.model import ContainerKind, Node, View
from rerun_bridge.model.entity_path import normalize

#: ``ContainerBlueprint:container_kind`` values (``rerun.blueprint.components.ContainerKind``).
CONTAINER_KIND_IDS = {"tabs": 1, "horizontal": 2, "vertical": 3, "grid": 4}


@dataclass
class RblView:
    entity: str
    class_identifier: str
    name: str | None
    origin: str
    contents: list[str]
    visible: bool | None
    #: ``Archetype:component`` -> values, of every property entity below the view (defaults included),
    #: keyed by the path below ``/view/<id>`` (``SpatialInformation``, ``defaults``, ``ViewContents/...``).
    properties: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    def overrides(self, entity: str) -> dict[str, list[Any]]:
        """Every override component of one entity (behaviour and visualizer instructions merged)."""
        prefix = f"ViewContents/overrides/{entity.lstrip('/')}/visualizers"
        merged: dict[str, list[Any]] = {}
        for path, components in self.properties.items():
            if path == prefix or path.startswith(prefix + "/"):
                merged.update(components)
        return merged


@dataclass
class RblContainer:
    entity: str
    kind: int
    name: str | None
    children: list[RblContainer | RblView]
    components: dict[str, list[Any]]


@dataclass
class Rbl:
    application_id: str
    root: RblContainer
    viewport: dict[str, list[Any]]
    time_panel: dict[str, list[Any]]


def read_components(path: Path, store: Any = None) -> tuple[str, dict[str, dict[str, list[Any]]]]:
    """(application id, entity path -> component column -> last value) of the file's blueprint store:
    ``store`` (an entry of ``RrdReader.blueprints()``, where a live viewer's file got several), or its only
    one."""
    reader = rrc.RrdReader(str(path))
    if store is None:
        (store,) = reader.blueprints()
    entities: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for chunk in reader.stream(store=store).to_chunks():
        batch = chunk.to_record_batch()
        for name in batch.schema.names:
            if ":" not in name or name.startswith("rerun."):
                continue
            values = [value for value in batch.column(name).to_pylist() if value is not None]
            if values:
                entities[str(chunk.entity_path)][name] = values[-1]
    return store.application_id, dict(entities)


def read_rbl(path: Path, store: Any = None) -> Rbl:
    application_id, entities = read_components(path, store)
    root_id = uuid.UUID(bytes=bytes(entities["/viewport"]["ViewportBlueprint:root_container"][0]))
    return Rbl(
        application_id=application_id,
        root=_container(f"/container/{root_id}", entities),
        viewport=entities["/viewport"],
        time_panel=entities.get("/time_panel", {}),
    )


def _first(components: dict[str, list[Any]], name: str) -> Any:
    values = components.get(name)
    return values[0] if values else None


def _container(entity: str, entities: dict[str, dict[str, list[Any]]]) -> RblContainer:
    components = entities[entity]
    children: list[RblContainer | RblView] = []
    for child in components.get("ContainerBlueprint:contents", []):
        path = "/" + child
        children.append(
            _container(path, entities) if child.startswith("container/") else _view(path, entities)
        )
    return RblContainer(
        entity=entity,
        kind=_first(components, "ContainerBlueprint:container_kind"),
        name=_first(components, "ContainerBlueprint:display_name"),
        children=children,
        components=components,
    )


def _view(entity: str, entities: dict[str, dict[str, list[Any]]]) -> RblView:
    components = entities[entity]
    properties = {
        path[len(entity) + 1 :]: values for path, values in entities.items() if path.startswith(entity + "/")
    }
    return RblView(
        entity=entity,
        class_identifier=_first(components, "ViewBlueprint:class_identifier"),
        name=_first(components, "ViewBlueprint:display_name"),
        origin=_first(components, "ViewBlueprint:space_origin"),
        contents=properties.get("ViewContents", {}).get("ViewContents:query", []),
        visible=_first(components, "ViewBlueprint:visible"),
        properties=properties,
    )


def rbl_views(node: RblContainer | RblView) -> list[RblView]:
    """Every view below ``node``, depth first."""
    if isinstance(node, RblView):
        return [node]
    return [view for child in node.children for view in rbl_views(child)]


# What an .rbl must hold of a blueprint, and what it does hold, in one comparable shape.


def tree(node: Node) -> tuple[Any, ...]:
    """What an .rbl must hold of a node: kinds, names, origins, contents, shares, visibility, children."""
    if isinstance(node, View):
        return (
            VIEW_CLASS_IDENTIFIERS[node.kind],
            node.name or None,
            normalize(node.origin),
            [str(rule) for rule in node.contents],
            None if node.visible else False,
        )
    shares = {
        "ContainerBlueprint:col_shares": list(node.shares if node.kind is ContainerKind.HORIZONTAL else ()),
        "ContainerBlueprint:row_shares": list(node.shares if node.kind is ContainerKind.VERTICAL else ()),
    }
    if node.kind is ContainerKind.GRID:
        shares = {
            "ContainerBlueprint:col_shares": list(node.column_shares),
            "ContainerBlueprint:row_shares": list(node.row_shares),
        }
    return (
        CONTAINER_KIND_IDS[node.kind.value],
        node.name or None,
        {key: value for key, value in shares.items() if value},
        node.grid_columns,
        None if node.visible else False,
        [tree(child) for child in node.children],
    )


def rbl_tree(node: RblContainer | RblView) -> tuple[Any, ...]:
    if isinstance(node, RblView):
        return (node.class_identifier, node.name, normalize(node.origin), node.contents, node.visible)
    shares = {
        key: pytest.approx(value, rel=1e-6)
        for key, value in node.components.items()
        if key in ("ContainerBlueprint:col_shares", "ContainerBlueprint:row_shares")
    }
    visible = node.components.get("ContainerBlueprint:visible", [None])[0]
    return (
        node.kind,
        node.name,
        shares,
        node.components.get("ContainerBlueprint:grid_columns", [None])[0],
        visible,
        [rbl_tree(child) for child in node.children],
    )


#: What ``rbl_tree`` holds container shares as.
_APPROX_SEQUENCE = type(pytest.approx([0.0]))


def plain(value: Any) -> Any:
    """An :func:`rbl_tree` with its approximate shares as the values they hold: two such trees (of two
    files) compare equal."""
    if isinstance(value, _APPROX_SEQUENCE):
        return value.expected
    if isinstance(value, tuple | list):
        return type(value)(plain(item) for item in value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value
