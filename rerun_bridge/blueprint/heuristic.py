"""The one default blueprint from the data alone, for recordings opened or exported without one.

The embedded viewer (its ``default`` scenario), ``rerun-bridge blueprint export default`` and
``convert --blueprint default`` all lay a recording out with :func:`default_blueprint`, so the viewer and
an exported ``.rbl`` show the same tree. It looks at which archetypes each entity carries and builds:

* one 3D view of every spatial entity (points, transforms, lines, arrows, poses, boxes, meshes, camera
  frustums), in a wide pane on the left; a recording without TF whose 3D entities lie on several frames
  gets a 3D view per frame instead, drawn in that frame (:func:`_scene_views`);
* one 2D view per image entity, stacked on the right, with the 2D shapes on its frame drawn over it
  (:mod:`rerun_bridge.blueprint.overlays`), a 2D view for each other 2D shape entity (JointTrajectory
  curves), and one map view of every ``GeoPoints`` entity (GPS
  fixes: a 3D view cannot place latitude / longitude, Rerun's map view can) below them;
* one time-series view per scalar group (the entities under the same first path part: ``/imu/...``,
  ``/joint_states/...``), tensor and bar-chart views, and one text log of every ``TextLog`` entity, as tabs
  below.

Why the first path part: every ROS topic becomes an entity at its topic name, with its scalar fields on it
(``/imu``) or on children of it (``/joint_states/position``, ``/odom/twist``). Grouping by the first path
part gives each topic (or namespace) a plot of its own, as Rerun's own time-series heuristic spawns one
view per child of the root. Grouping by parent entity put every top-level topic in one plot under ``/``
(``/battery_state`` volts beside ``/fluid_pressure`` pascals and ``/cmd_vel``).

:func:`arrange` is that layout on its own; the RViz import uses it too.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

from rerun_bridge.blueprint.model import (
    DEFAULT_CONTENTS,
    Blueprint,
    Container,
    ContainerKind,
    ContentRule,
    Node,
    Spatial3DSettings,
    View,
    ViewKind,
)
from rerun_bridge.blueprint.overlays import OVERLAY_ARCHETYPES, FrameSource, entity_frames, place_overlays
from rerun_bridge.convert.sensor_msgs import IMAGE_PLANE_SUFFIX
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
#: 2D shape entities on no image get a view each, up to this many per group (first path part).
MAX_OWN_PLANAR_VIEWS: Final = 4
#: 3D views of frames TF does not relate, side by side up to this many; more go in tabs.
MAX_SIDE_BY_SIDE_SCENES: Final = 3
#: The column of a TF edge's child frame (each TF entity holds edges).
_CHILD_FRAME: Final = "Transform3D:child_frame"
#: Entities under this prefix are Rerun's recording properties, never shown in a view.
HIDDEN_PREFIX: Final = "/__"
#: What the viewer's dropdown, ``blueprint export`` and ``convert --blueprint`` call this blueprint.
DEFAULT_BLUEPRINT_NAME: Final = "default"


class EntityCatalog(FrameSource, Protocol):
    """What the heuristic reads of a store (:class:`rerun_bridge.store.chunk_store.ChunkStore`): entities,
    their components, and the frames of images and 2D shapes."""

    def entities(self) -> list[str]: ...

    def components(self, entity_path: str) -> list[str]: ...


def entity_archetypes(store: EntityCatalog) -> dict[str, set[str]]:
    """Entity path -> the archetypes of its component columns (``Points3D:positions`` -> ``Points3D``),
    for :func:`default_blueprint`; Rerun's recording properties left out."""
    return {
        path: {_plain(component) for component in store.components(path)}
        for path in store.entities()
        if not path.startswith(HIDDEN_PREFIX)
    }


def default_blueprint_of(
    store: EntityCatalog, name: str = DEFAULT_BLUEPRINT_NAME, timeline: str = ""
) -> Blueprint:
    """:func:`default_blueprint` of whatever ``store`` holds."""
    kinds = entity_archetypes(store)
    select = _Selector(kinds)
    framed = select(IMAGE_ARCHETYPES | OVERLAY_ARCHETYPES | SPATIAL_ARCHETYPES)
    return default_blueprint(kinds, name, timeline, entity_frames(store, framed), has_tf(store))


def has_tf(store: EntityCatalog) -> bool:
    """Whether the recording holds TF (an entity with a transform's child frame): read from the entities'
    components, which a lazily opened file declares before its transforms are loaded."""
    kept = getattr(store, "tf_frames", None)
    if callable(kept):
        return bool(kept())
    return any(_CHILD_FRAME in store.components(entity) for entity in store.entities())


def with_image_overlays(root: Node, store: EntityCatalog) -> Node:
    """``root`` with each 2D view of an image also showing the 2D shapes on that image's frame that it
    does not show yet (detections, image markers, a RegionOfInterest with ``camera_frame``), as the
    default layout places them: a scenario names its camera's image, not the topics drawn over it, and
    its camera view showed none of them."""
    kinds = entity_archetypes(store)
    select = _Selector(kinds)
    images = select(IMAGE_ARCHETYPES)
    overlays = [path for path in select(OVERLAY_ARCHETYPES) if path not in images]
    if not images or not overlays:
        return root
    frames = entity_frames(store, [*images, *overlays])
    on_image, _alone = place_overlays(overlays, images, frames)

    def added(node: Node) -> Node:
        if isinstance(node, Container):
            return dataclasses.replace(node, children=tuple(added(child) for child in node.children))
        extra = [
            ContentRule(path, recursive=True)
            for path in on_image.get(node.origin, [])
            if node.kind is ViewKind.SPATIAL2D and not node.includes(path)
        ]
        return dataclasses.replace(node, contents=(*node.contents, *extra)) if extra else node

    return added(root)


def default_blueprint(
    entities: Mapping[str, Iterable[str]],
    name: str = DEFAULT_BLUEPRINT_NAME,
    timeline: str = "",
    frames: Mapping[str, str] | None = None,
    tf: bool = False,
) -> Blueprint:
    """A blueprint for data given as entity path -> names of the archetypes on it.

    Archetype names may be plain (``Points3D``), qualified (``rerun.archetypes.Points3D``) or component
    columns (``Points3D:positions``). ``frames`` (entity path -> frame) puts 2D shapes on the images of
    their frame (:func:`~rerun_bridge.blueprint.overlays.place_overlays`) and, in a recording without TF
    (``tf`` False), gives 3D entities on several frames a 3D view per frame (:func:`_scene_views`). With
    nothing recognised the root is an empty grid and ``auto_views`` lets the viewer decide.
    """
    kinds = {_canonical(path): {_plain(name) for name in names} for path, names in entities.items()}
    with_any = _Selector(kinds)
    scene = _scene_node(_scene_views(kinds, frames or {}, tf))
    images = _planar_views(with_any, frames or {})
    maps = _listing_view(ViewKind.MAP, "Map", with_any(MAP_ARCHETYPES))
    raw = _raw_by_group(kinds)
    plots = [
        View(
            ViewKind.TIME_SERIES,
            name=group,
            origin=group,
            contents=(*DEFAULT_CONTENTS, *(ContentRule(path, include=False) for path in raw.get(group, ()))),
        )
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


def arrange(scene: Node | None, side: Sequence[View], bottom: Sequence[View]) -> Node | None:
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


def _scene_views(kinds: Mapping[str, set[str]], frames: Mapping[str, str], tf: bool) -> list[View]:
    """The 3D views: one of every spatial entity; in a recording without TF whose 3D entities lie on
    several frames (the GPS bag: odometry on ``chassis``, UTM poses on ``utm``), one per frame, drawn in
    it, and one of the entities with no frame. Nothing relates such frames: Rerun's viewer drew nothing of
    one view holding them all and marked it with an error, and the embedded viewer drew them in one place,
    kilometres apart (found by an audit). With TF, the view is drawn in its root and an entity TF does not
    reach is left out and named, in both viewers."""
    spatial = _Selector(kinds)(SPATIAL_ARCHETYPES)
    if not spatial:
        return []
    apart: dict[str, list[str]] = defaultdict(list)
    for path in spatial:
        frame = _placed_frame(frames.get(path, ""))
        if frame:
            apart[frame].append(path)
    if tf or len(apart) < 2:  # one frame (those with none are put on it as the file closes): together
        return [View(ViewKind.SPATIAL3D, name="Scene", origin="/", contents=compact_includes(spatial, kinds))]
    placed = {path for paths in apart.values() for path in paths}
    rest = [path for path in spatial if path not in placed]
    views = []
    if rest:
        contents = compact_includes(rest, kinds)
        views.append(View(ViewKind.SPATIAL3D, name="Scene", origin="/", contents=contents))
    views += [
        View(
            ViewKind.SPATIAL3D,
            name=f"Scene ({frame})",
            origin="/",
            contents=tuple(ContentRule(path) for path in sorted(paths)),
            settings=Spatial3DSettings(fixed_frame=frame),
        )
        for frame, paths in sorted(apart.items(), key=lambda item: (-len(item[1]), item[0]))
    ]
    return views


def _placed_frame(frame: str) -> str:
    """The frame an entity is placed by: a camera's image plane hangs on its camera's frame (a Pinhole
    relates them, not TF)."""
    return frame.removesuffix(IMAGE_PLANE_SUFFIX) if frame.endswith(IMAGE_PLANE_SUFFIX) else frame


def _scene_node(views: Sequence[View]) -> Node | None:
    """The 3D views' pane: the one view, a few side by side, many as tabs."""
    if len(views) <= 1:
        return views[0] if views else None
    kind = ContainerKind.HORIZONTAL if len(views) <= MAX_SIDE_BY_SIDE_SCENES else ContainerKind.TABS
    return Container(kind, tuple(views))


def _planar_views(with_any: _Selector, frames: Mapping[str, str]) -> list[View]:
    """A 2D view per image (with the 2D shapes on its frame), then one per 2D shape entity on no image."""
    images = with_any(IMAGE_ARCHETYPES)
    overlays = [path for path in with_any(OVERLAY_ARCHETYPES) if path not in images]
    on_image, alone = place_overlays(overlays, images, frames)
    views = [
        View(
            ViewKind.SPATIAL2D,
            name=path,
            origin=path,
            contents=(*DEFAULT_CONTENTS, *(ContentRule(overlay) for overlay in on_image[path])),
        )
        for path in images
    ]
    return views + _own_planar_views(alone)


def _own_planar_views(paths: Sequence[str]) -> list[View]:
    """A 2D view per entity; a group (first path part) of many (ImageMarkers of no image) shares one."""
    groups: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        groups[_group(path)].append(path)
    views: list[View] = []
    for group, members in sorted(groups.items()):
        if len(members) > MAX_OWN_PLANAR_VIEWS:
            rules = tuple(ContentRule(path) for path in members)
            views.append(View(ViewKind.SPATIAL2D, name=group, origin=group, contents=rules))
        else:
            views += [View(ViewKind.SPATIAL2D, name=path, origin=path) for path in members]
    return views


def _listing_view(kind: ViewKind, name: str, paths: Sequence[str]) -> View | None:
    if not paths:
        return None
    return View(kind, name=name, origin="/", contents=tuple(ContentRule(path) for path in paths))


def _stack(kind: ContainerKind, views: Sequence[View]) -> Node | None:
    if not views:
        return None
    return views[0] if len(views) == 1 else Container(kind, tuple(views))


def _raw_by_group(kinds: Mapping[str, set[str]]) -> dict[str, list[str]]:
    """Per group, the entities holding only raw message columns of a type without a converter
    (``sample_msgs.msg.Status``): a plot leaves them out, since Rerun's viewer would plot their numeric
    fields a second time beside the leaf plots made of them (``/diagnostics_custom/value`` and
    ``message.value``)."""
    raw: dict[str, list[str]] = defaultdict(list)
    for path, names in sorted(kinds.items()):
        if names and all("." in name for name in names):
            raw[_group(path)].append(path)
    return raw


def _group(path: str) -> str:
    parts = EntityPath.parse(path).parts
    return str(EntityPath(parts[:1]))


def _canonical(path: str) -> str:
    return str(EntityPath.parse(path))


def _plain(archetype: str) -> str:
    if ":" in archetype:
        # A component column: a raw ROS message column (``sensor_msgs.msg.Image:message``) stays qualified,
        # so it is never taken for the archetype of the same name.
        return archetype.split(":", 1)[0].removeprefix("rerun.archetypes.")
    # Only Rerun's own qualification is dropped: a raw message's type (``sample_msgs.msg.Image``, as
    # entity_archetypes gives it) keeps its package, so it is never taken for the archetype of its name.
    return archetype.removeprefix("rerun.archetypes.")
