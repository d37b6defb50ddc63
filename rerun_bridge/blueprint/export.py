"""Our blueprints as Rerun 0.41 blueprints (``rerun.blueprint``), and as ``.rbl`` files.

An ``.rbl`` file is an RRD stream of one blueprint store: ``/viewport`` names the root container,
``/container/<id>`` and ``/view/<id>`` hold the layout (kind, contents, shares; class, origin, name) and
``/view/<id>/<Property>`` the view properties (``SpatialInformation``, ``LineGrid3D``, ``PlotLegend``, ...).
The Rerun viewer opens it beside a recording of the same application id.

What maps where:

* ``fixed_frame`` -> ``SpatialInformation(target_frame)`` (Rerun's named TF frames), ``grid`` ->
  ``LineGrid3D(visible)``, ``point_radius`` -> a ``Points3D`` radius default, ``eye`` -> ``EyeControls3D``;
* ``depth_range`` / ``colormap`` of a 2D view -> ``DepthImage`` and ``EncodedDepthImage`` defaults, the
  range (metres) in the depth images' own units, which Rerun reads it in: times the ``meter`` the view's
  images were last given (16UC1: 1000), taken from the recording (without one: metres); of a tensor view
  -> its scalar mapping;
* ``visible_range_s`` -> a cursor-relative ``VisibleTimeRange`` on the blueprint's timeline (on ``ros_time``
  and ``log_time`` when it names none), ``legend`` -> ``PlotLegend(visible)``;
* ``levels`` -> ``TextLogRows(filter_by_log_level)``; ``zoom`` -> the map view's zoom;
* entity styles -> per-entity overrides: ``EntityBehavior(visible)`` and the styled archetype's visualizer
  with its ``colors`` and ``radii``;
* TF: the embedded viewer draws every TF frame as axes; Rerun's draws a transform only for an entity whose
  ``TransformAxes3D`` visualizer is on, so each TF entity a 3D view shows (``/tf``, ``/tf_static/<frame>``,
  a robot model's joints: taken from the recording when there is one) gets that visualizer as an override,
  axes of :data:`TF_AXIS_LENGTH` (Rerun does not scale them to the scene), names not drawn (every frame's
  name would pile up at the robot);
* a time-series view showing series of one name from two entities (navigation's ``/cmd_vel`` and
  ``/odom/twist`` both have ``linear/x``): Rerun's legend showed one entry for both; those entities get
  their ``SeriesLines`` names as an override, each shared name said with its entity below the view's
  origin (``/cmd_vel: linear/x``), as the embedded viewer's legend says them (taken from the recording);
* ``follow`` / ``follow_frame`` / ``frame_names`` have no counterpart (Rerun's eye tracks an entity, not a
  TF frame, and names every frame): left out; roles (``$odometry``) are exported as their usual names
  unless resolved against a recording first (cli ``_chosen_blueprint``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, NamedTuple

import rerun as rr
import rerun.blueprint as rrb

from rerun_bridge.blueprint.heuristic import EntityCatalog as DataCatalog
from rerun_bridge.blueprint.model import (
    BarChartSettings,
    Blueprint,
    Colormap,
    Container,
    ContainerKind,
    EntityStyle,
    EyeKind,
    MapSettings,
    Node,
    Spatial2DSettings,
    Spatial3DSettings,
    TensorSettings,
    TextLogSettings,
    TimeSeriesSettings,
    View,
    ViewKind,
    is_above,
)
from rerun_bridge.blueprint.overlays import DEPTH_METERS, SERIES_NAMES
from rerun_bridge.blueprint.roles import EntityCatalog, resolve_roles
from rerun_bridge.errors import RecordingError
from rerun_bridge.model.timeline import LOG_TIME, ROS_TIME

#: The application id of exported blueprints when none is given (the Rerun viewer pairs them by it).
DEFAULT_APPLICATION_ID: Final = "rerun_bridge"
#: Length (metres) of the TF frames' axes in Rerun's 3D views.
TF_AXIS_LENGTH: Final = 0.3
#: The TF entities a blueprint exported without its recording draws: the bridge's /tf and /tf_static.
DEFAULT_TF_ENTITIES: Final = ("/tf", "/tf_static")
#: Where a top-down eye starts: above the fixed frame's origin, x to the right and y up on screen.
TOP_DOWN_HEIGHT_M: Final = 25.0

_CONTAINERS: Final[Mapping[ContainerKind, type[rrb.Container]]] = {
    ContainerKind.HORIZONTAL: rrb.Horizontal,
    ContainerKind.VERTICAL: rrb.Vertical,
    ContainerKind.TABS: rrb.Tabs,
    ContainerKind.GRID: rrb.Grid,
}
_VIEWS: Final[Mapping[ViewKind, type[rrb.View]]] = {
    ViewKind.SPATIAL3D: rrb.Spatial3DView,
    ViewKind.SPATIAL2D: rrb.Spatial2DView,
    ViewKind.TIME_SERIES: rrb.TimeSeriesView,
    ViewKind.TEXT_LOG: rrb.TextLogView,
    ViewKind.TENSOR: rrb.TensorView,
    ViewKind.BAR_CHART: rrb.BarChartView,
    ViewKind.MAP: rrb.MapView,
}
#: Rerun's view class identifiers (``ViewBlueprint:class_identifier`` in an .rbl), per view kind.
VIEW_CLASS_IDENTIFIERS: Final[Mapping[ViewKind, str]] = {
    ViewKind.SPATIAL3D: "3D",
    ViewKind.SPATIAL2D: "2D",
    ViewKind.TIME_SERIES: "TimeSeries",
    ViewKind.TEXT_LOG: "TextLog",
    ViewKind.TENSOR: "Tensor",
    ViewKind.BAR_CHART: "BarChart",
    ViewKind.MAP: "Map",
}


_LATEST: Final = 2**63 - 1


class _Export(NamedTuple):
    """What every view's export needs besides the view: the timelines, the recording's TF entities, its
    series names and its depth images' units."""

    timelines: Sequence[str]
    tf_entities: Sequence[str]
    series_names: Mapping[str, Sequence[str]]
    depth_meters: Mapping[str, tuple[str, float]]


def to_rerun(
    blueprint: Blueprint,
    tf_entities: Sequence[str] = DEFAULT_TF_ENTITIES,
    series_names: Mapping[str, Sequence[str]] | None = None,
    depth_meters: Mapping[str, tuple[str, float]] | None = None,
) -> rrb.Blueprint:
    """The same layout as a ``rerun.blueprint.Blueprint``; ``tf_entities``: the entities holding the
    recording's transforms (see :func:`tf_entities_of`), whose frames 3D views draw as axes;
    ``series_names``: entity -> its ``SeriesLines`` names (:func:`series_names_of`); ``depth_meters``:
    entity -> its depth images' meter column and value (:func:`depth_meters_of`)."""
    timelines = (blueprint.timeline,) if blueprint.timeline else (ROS_TIME, LOG_TIME)
    context = _Export(timelines, tuple(tf_entities), series_names or {}, depth_meters or {})
    # Without the recording at hand, a role ($odometry) stands for its usual name (/odom).
    parts: list[Any] = [_node(resolve_roles(blueprint.root, None).root, context)]
    if blueprint.timeline:
        parts.append(rrb.TimePanel(timeline=blueprint.timeline))
    return rrb.Blueprint(*parts, auto_views=blueprint.auto_views, auto_layout=False)


def export_rbl(
    blueprint: Blueprint,
    path: str | Path,
    application_id: str = DEFAULT_APPLICATION_ID,
    tf_entities: Sequence[str] = DEFAULT_TF_ENTITIES,
    series_names: Mapping[str, Sequence[str]] | None = None,
    depth_meters: Mapping[str, tuple[str, float]] | None = None,
) -> Path:
    """Write the blueprint as a Rerun ``.rbl`` file for ``application_id``; returns the path."""
    out = Path(path)
    try:
        to_rerun(blueprint, tf_entities, series_names, depth_meters).save(application_id, out)
    except (OSError, RuntimeError, ValueError) as err:
        raise RecordingError(f"{out}: cannot write the blueprint {blueprint.name!r}: {err}") from err
    return out


def _last_values(catalog: DataCatalog, column: str) -> dict[str, list[Any]]:
    """Entity -> the values of ``column`` it was last given (on the first timeline that has them)."""
    out: dict[str, list[Any]] = {}
    for entity in catalog.entities():
        if column not in catalog.components(entity):
            continue
        for timeline in catalog.timelines():
            values = catalog.latest_at(entity, timeline, _LATEST).get(column)
            if values is not None and len(values):
                out[entity] = values.to_pylist()
                break
    return out


def series_names_of(catalog: DataCatalog) -> dict[str, tuple[str, ...]]:
    """Entity -> the ``SeriesLines`` names it was last given."""
    return {entity: tuple(map(str, names)) for entity, names in _last_values(catalog, SERIES_NAMES).items()}


def depth_meters_of(catalog: DataCatalog) -> dict[str, tuple[str, float]]:
    """Depth image entity -> its meter column (``DepthImage:meter``, ``EncodedDepthImage:meter``) and the
    value it was last given."""
    return {
        entity: (column, float(values[0]))
        for column in DEPTH_METERS
        for entity, values in _last_values(catalog, column).items()
    }


def tf_entities_of(catalog: EntityCatalog) -> list[str]:
    """The entities of a recording that hold TF transforms (named parent and child frames)."""
    entities = catalog.entities()
    return [entity for entity in entities if "Transform3D:child_frame" in catalog.components(entity)]


def rerun_colormap(colormap: Colormap) -> rr.components.Colormap:
    """``cyan_to_yellow`` -> ``Colormap.CyanToYellow``."""
    return rr.components.Colormap["".join(part.capitalize() for part in colormap.value.split("_"))]


def _rgba(color: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return color[0], color[1], color[2], color[3]


def _node(node: Node, context: _Export) -> rrb.Container | rrb.View:
    if isinstance(node, View):
        return _view(node, context)
    return _container(node, context)


def _container(container: Container, context: _Export) -> rrb.Container:
    kwargs: dict[str, Any] = {
        "contents": [_node(child, context) for child in container.children],
        "name": container.name or None,
        "visible": None if container.visible else False,
    }
    shares = list(container.shares) or None
    if container.kind is ContainerKind.HORIZONTAL:
        kwargs["column_shares"] = shares
    elif container.kind is ContainerKind.VERTICAL:
        kwargs["row_shares"] = shares
    elif container.kind is ContainerKind.GRID:
        kwargs["column_shares"] = list(container.column_shares) or None
        kwargs["row_shares"] = list(container.row_shares) or None
        kwargs["grid_columns"] = container.grid_columns
    return _CONTAINERS[container.kind](**kwargs)


def _view(view: View, context: _Export) -> rrb.View:
    kwargs: dict[str, Any] = {
        "origin": view.origin,
        "contents": [str(rule) for rule in view.contents],
        "name": view.name or None,
        "visible": None if view.visible else False,
    }
    overrides = {entity: _style(style) for entity, style in view.styles.items()}
    if view.kind is ViewKind.SPATIAL3D:
        for entity in context.tf_entities:
            if view.includes(entity):
                axes = rr.TransformAxes3D(TF_AXIS_LENGTH, show_frame=False).visualizer()
                overrides[entity] = [*overrides.get(entity, []), axes]
    if view.kind is ViewKind.TIME_SERIES:
        for entity, names in _told_apart(view, context.series_names).items():
            series = rr.SeriesLines.from_fields(names=list(names)).visualizer()
            overrides[entity] = [*overrides.get(entity, []), series]
    kwargs.update(_settings(view, context.timelines))
    if isinstance(view.settings, Spatial2DSettings):
        defaults = _depth_defaults(view, view.settings, context.depth_meters)
        if defaults:
            kwargs["defaults"] = defaults
    if any(overrides.values()):
        kwargs["overrides"] = {
            entity: visualizers for entity, visualizers in overrides.items() if visualizers
        }
    return _VIEWS[view.kind](**kwargs)


def _told_apart(view: View, series_names: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The series names of the view's entities that share a name with another entity's, each shared
    name said with its entity below the view's origin."""
    shown = {entity: names for entity, names in series_names.items() if view.includes(entity)}
    owners: dict[str, set[str]] = {}
    for entity, names in shown.items():
        for name in names:
            owners.setdefault(name, set()).add(entity)
    prefix = view.origin.rstrip("/") + "/"
    out: dict[str, list[str]] = {}
    for entity, names in shown.items():
        if any(len(owners[name]) > 1 for name in names):
            short = entity[len(prefix) :] if view.origin != "/" and entity.startswith(prefix) else entity
            out[entity] = [f"{short}: {name}" if len(owners[name]) > 1 else name for name in names]
    return out


def _settings(view: View, timelines: Sequence[str]) -> dict[str, Any]:
    """The view-class keyword arguments of the view's settings."""
    settings = view.settings
    for settings_type, arguments in _SETTINGS_ARGUMENTS:
        if isinstance(settings, settings_type):
            return arguments(settings, timelines)
    return {}


def _spatial3d_arguments(settings: Any, _timelines: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"line_grid": rrb.LineGrid3D(visible=settings.grid)}
    if settings.fixed_frame:
        out["spatial_information"] = rrb.SpatialInformation(target_frame=settings.fixed_frame)
    if settings.background is not None:
        out["background"] = _rgba(settings.background)
    if settings.point_radius is not None:
        out["defaults"] = [rr.Points3D.from_fields(radii=[settings.point_radius])]
    placed = (settings.eye_position, settings.look_target, settings.eye_up) != (None, None, None)
    if settings.eye is not None or placed:
        out["eye_controls"] = _eye(settings)
    return out


def _spatial2d_arguments(settings: Any, _timelines: Sequence[str]) -> dict[str, Any]:
    return {} if settings.background is None else {"background": _rgba(settings.background)}


def _depth_defaults(
    view: View, settings: Spatial2DSettings, depth_meters: Mapping[str, tuple[str, float]]
) -> list[Any]:
    """The view's depth colormap and range as defaults of both depth archetypes, the range in the units
    of the view's depth images of each (the first one's meter: a view shows one camera's depth)."""
    if settings.colormap is None and settings.depth_range is None:
        return []
    colormap = None if settings.colormap is None else rerun_colormap(settings.colormap)
    meters: dict[str, float] = {}
    for entity, (column, meter) in depth_meters.items():
        if view.includes(entity):
            meters.setdefault(column, meter)
    defaults = []
    for archetype, column in ((rr.DepthImage, DEPTH_METERS[0]), (rr.EncodedDepthImage, DEPTH_METERS[1])):
        meter = meters.get(column, 1.0)
        low_high = None if settings.depth_range is None else [value * meter for value in settings.depth_range]
        defaults.append(archetype.from_fields(colormap=colormap, depth_range=low_high))
    return defaults


def _time_series_arguments(settings: Any, timelines: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"plot_legend": rrb.PlotLegend(visible=settings.legend)}
    if settings.visible_range_s is not None:
        start = rrb.TimeRangeBoundary.cursor_relative(seconds=-settings.visible_range_s)
        end = rrb.TimeRangeBoundary.cursor_relative()
        out["time_ranges"] = [rrb.VisibleTimeRange(name, start=start, end=end) for name in timelines]
    return out


def _text_log_arguments(settings: Any, _timelines: Sequence[str]) -> dict[str, Any]:
    if not settings.levels:
        return {}
    return {"rows": rrb.TextLogRows(filter_by_log_level=[level.value for level in settings.levels])}


def _tensor_arguments(settings: Any, _timelines: Sequence[str]) -> dict[str, Any]:
    if settings.colormap is None:
        return {}
    return {"scalar_mapping": rrb.TensorScalarMapping(colormap=rerun_colormap(settings.colormap))}


def _bar_chart_arguments(settings: Any, _timelines: Sequence[str]) -> dict[str, Any]:
    return {"plot_legend": rrb.PlotLegend(visible=settings.legend)}


def _map_arguments(settings: Any, _timelines: Sequence[str]) -> dict[str, Any]:
    return {} if settings.zoom is None else {"zoom": settings.zoom}


#: Each settings class and how it becomes keyword arguments of Rerun's view class.
_SETTINGS_ARGUMENTS: Final[tuple[tuple[type, Callable[[Any, Sequence[str]], dict[str, Any]]], ...]] = (
    (Spatial3DSettings, _spatial3d_arguments),
    (Spatial2DSettings, _spatial2d_arguments),
    (TimeSeriesSettings, _time_series_arguments),
    (TextLogSettings, _text_log_arguments),
    (TensorSettings, _tensor_arguments),
    (BarChartSettings, _bar_chart_arguments),
    (MapSettings, _map_arguments),
)


def _eye(settings: Spatial3DSettings) -> rrb.EyeControls3D:
    """The view's eye: its kind, and where it starts when the blueprint places it (a top-down eye without
    a place: :data:`TOP_DOWN_HEIGHT_M` above the look target, y up on screen)."""
    kind = settings.eye or EyeKind.ORBITAL
    place: dict[str, Any] = {}
    if settings.look_target is not None or settings.eye_position is not None:
        place["look_target"] = list(settings.look_target or (0.0, 0.0, 0.0))
    if settings.eye_position is not None:
        place["position"] = list(settings.eye_position)
    if settings.eye_up is not None:
        place["eye_up"] = list(settings.eye_up)
    if kind is EyeKind.FIRST_PERSON:
        return rrb.EyeControls3D(kind=rrb.Eye3DKind.FirstPerson, **place)
    target = settings.look_target or (0.0, 0.0, 0.0)
    if kind is EyeKind.TOP_DOWN and "position" not in place:
        x, y, z = target
        place |= {"position": [x, y, z + TOP_DOWN_HEIGHT_M], "look_target": [x, y, z]}
    if kind is EyeKind.TOP_DOWN or (
        settings.eye_position is not None and is_above(settings.eye_position, target)
    ):
        place.setdefault("eye_up", [0.0, 1.0, 0.0])  # +z, the default, is the direction it looks along
    return rrb.EyeControls3D(kind=rrb.Eye3DKind.Orbital, **place)


def _style(style: EntityStyle) -> list[Any]:
    """Rerun's overrides of one entity: its behavior and the styled archetype's visualizer."""
    out: list[Any] = []
    if not style.visible:
        out.append(rrb.EntityBehavior(visible=False))
    if style.archetype is not None and (style.color is not None or style.radius is not None):
        fields: dict[str, Any] = {}
        if style.color is not None:
            fields["colors"] = [_rgba(style.color)]
        if style.radius is not None:
            fields["radii"] = [style.radius]
        out.append(getattr(rr, style.archetype).from_fields(**fields).visualizer())
    return out
