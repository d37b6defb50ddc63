"""A default blueprint from the data alone, for recordings opened without one.

:func:`default_blueprint` looks at which archetypes each entity carries and builds:

* one 3D view of every spatial entity (points, transforms, lines, arrows, poses, boxes, meshes, camera
  frustums), in a wide pane on the left;
* one 2D view per image entity, stacked on the right, and one map view of every ``GeoPoints`` entity (GPS
  fixes: a 3D view cannot place latitude / longitude, Rerun's map view can) below them;
* one time-series view per scalar group (the entities under the same first path part: ``/imu/...``,
  ``/joint_states/...``), tensor and bar-chart views, and one text log of every ``TextLog`` entity, as tabs
  below.

:func:`arrange` is that layout on its own; the RViz import uses it too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from rerun_bridge.blueprint.model import (
    Blueprint,
    Container,
    ContainerKind,
    ContentRule,
    Node,
    View,
    ViewKind,
)
from rerun_bridge.model.entity_path import EntityPath

SPATIAL_ARCHETYPES: Final = frozenset(
    {
        "Points3D",
        "Transform3D",
        "LineStrips3D",
        "Arrows3D",
        "InstancePoses3D",
        "Boxes3D",
        "Mesh3D",
        "Asset3D",
        "Ellipsoids3D",
        "Capsules3D",
        "Cylinders3D",
        "Pinhole",
    }
)
IMAGE_ARCHETYPES: Final = frozenset(
    {"Image", "DepthImage", "EncodedImage", "EncodedDepthImage", "SegmentationImage"}
)
MAP_ARCHETYPES: Final = frozenset({"GeoPoints", "GeoLineStrings"})
SCALAR_ARCHETYPES: Final = frozenset({"Scalars"})
LOG_ARCHETYPES: Final = frozenset({"TextLog"})
TENSOR_ARCHETYPES: Final = frozenset({"Tensor"})
BAR_CHART_ARCHETYPES: Final = frozenset({"BarChart"})
#: Relative sizes: the 3D scene against the image column, the top row against the plots.
SCENE_SHARES: Final = (2.0, 1.0)
TOP_SHARES: Final = (2.0, 1.0)


def default_blueprint(
    entities: Mapping[str, Iterable[str]], name: str = "default", timeline: str = ""
) -> Blueprint:
    """A blueprint for data given as entity path -> names of the archetypes on it.

    Archetype names may be plain (``Points3D``) or qualified (``rerun.archetypes.Points3D``). With nothing
    recognised the root is an empty grid and ``auto_views`` lets the viewer decide.
    """
    kinds = {_canonical(path): {_plain(name) for name in names} for path, names in entities.items()}
    with_any = _Selector(kinds)
    scene = _scene_view(kinds)
    images = [View(ViewKind.SPATIAL2D, name=path, origin=path) for path in with_any(IMAGE_ARCHETYPES)]
    maps = _listing_view(ViewKind.MAP, "Map", with_any(MAP_ARCHETYPES))
    plots = [
        View(ViewKind.TIME_SERIES, name=group, origin=group)
        for group in sorted({_group(path) for path in with_any(SCALAR_ARCHETYPES)})
    ]
    tensors = [View(ViewKind.TENSOR, name=path, origin=path) for path in with_any(TENSOR_ARCHETYPES)]
    bars = [View(ViewKind.BAR_CHART, name=path, origin=path) for path in with_any(BAR_CHART_ARCHETYPES)]
    log = _listing_view(ViewKind.TEXT_LOG, "Log", with_any(LOG_ARCHETYPES))
    side = [*images, *([maps] if maps else [])]
    bottom = [*plots, *tensors, *bars, *([log] if log else [])]
    root = arrange(scene, side, bottom)
    found = scene is not None or bool(side) or bool(bottom)
    return Blueprint(
        name=name,
        root=root if root is not None else Container(ContainerKind.GRID),
        description="Generated from the data: 3D scene, images, plots per group and the log.",
        timeline=timeline,
        auto_views=not found,
    )


def arrange(scene: View | None, side: Sequence[View], bottom: Sequence[View]) -> Node | None:
    """``scene`` beside a column of ``side`` views, over tabs of ``bottom`` views; None when all are empty."""
    side_node = _stack(ContainerKind.VERTICAL, side)
    top: Node | None = scene or side_node
    if scene is not None and side_node is not None:
        top = Container(ContainerKind.HORIZONTAL, (scene, side_node), shares=SCENE_SHARES)
    bottom_node = _stack(ContainerKind.TABS, bottom)
    if top is not None and bottom_node is not None:
        return Container(ContainerKind.VERTICAL, (top, bottom_node), shares=TOP_SHARES)
    return top or bottom_node


def compact_includes(selected: Iterable[str], every: Iterable[str]) -> tuple[ContentRule, ...]:
    """Include rules for ``selected`` entities: ``+ /group/**`` where every entity of ``every`` under that
    first path part is selected, else one ``+ /path`` per entity."""
    chosen = set(selected)
    groups: dict[str, list[str]] = defaultdict(list)
    for path in every:
        groups[_group(path)].append(path)
    rules: list[ContentRule] = []
    for group in sorted({_group(path) for path in chosen}):
        members = groups[group]
        if group != "/" and all(path in chosen for path in members):
            rules.append(ContentRule(group, recursive=True))
        else:
            rules.extend(ContentRule(path) for path in sorted(members) if path in chosen)
    return tuple(rules)


class _Selector:
    """Sorted entity paths that carry any of a set of archetypes."""

    def __init__(self, kinds: Mapping[str, set[str]]) -> None:
        self.kinds = kinds

    def __call__(self, archetypes: frozenset[str]) -> list[str]:
        return sorted(path for path, names in self.kinds.items() if names & archetypes)


def _scene_view(kinds: Mapping[str, set[str]]) -> View | None:
    spatial = _Selector(kinds)(SPATIAL_ARCHETYPES)
    if not spatial:
        return None
    return View(ViewKind.SPATIAL3D, name="Scene", origin="/", contents=compact_includes(spatial, kinds))


def _listing_view(kind: ViewKind, name: str, paths: Sequence[str]) -> View | None:
    if not paths:
        return None
    return View(kind, name=name, origin="/", contents=tuple(ContentRule(path) for path in paths))


def _stack(kind: ContainerKind, views: Sequence[View]) -> Node | None:
    if not views:
        return None
    return views[0] if len(views) == 1 else Container(kind, tuple(views))


def _group(path: str) -> str:
    parts = EntityPath.parse(path).parts
    return str(EntityPath(parts[:1]))


def _canonical(path: str) -> str:
    return str(EntityPath.parse(path))


def _plain(archetype: str) -> str:
    return archetype.rsplit(".", 1)[-1]
