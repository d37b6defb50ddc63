"""Hypothesis strategies for random, valid blueprints."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import strategies as st

from rerun_bridge.blueprint.model import (
    STYLEABLE_ARCHETYPES,
    BarChartSettings,
    Blueprint,
    Color,
    Colormap,
    Container,
    ContainerKind,
    ContentRule,
    EntityStyle,
    EyeKind,
    LogLevel,
    MapSettings,
    Node,
    Spatial2DSettings,
    Spatial3DSettings,
    TensorSettings,
    TextLogSettings,
    TimeSeriesSettings,
    View,
    ViewKind,
    ViewSettings,
    is_above,
)
from rerun_bridge.model.entity_path import EntityPath

_PART = st.text(alphabet="abcxyz_019-. /é:", min_size=1, max_size=6)
entity_paths = st.lists(_PART, max_size=4).map(lambda parts: str(EntityPath(parts)))
positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)
radius = st.one_of(positive, positive.map(lambda value: -value))
names = st.text(max_size=12)
colors = st.builds(Color, *(st.integers(0, 255) for _ in range(4)))
frames = st.text(alphabet="abcxyz_019", min_size=1, max_size=8)


def _rules() -> st.SearchStrategy[ContentRule]:
    origin_paths = entity_paths.map(lambda path: "$origin" if path == "/" else "$origin" + path)
    return st.builds(ContentRule, st.one_of(entity_paths, origin_paths), st.booleans(), st.booleans())


def _depth_range() -> st.SearchStrategy[tuple[float, float]]:
    return st.tuples(positive, positive).filter(lambda pair: pair[0] < pair[1])


def _eye_looks_somewhere(settings: Spatial3DSettings) -> bool:
    """An eye at its own look target, or a top-down eye not above it, is an error (the loader's)."""
    target = settings.look_target or (0.0, 0.0, 0.0)
    if settings.eye_position is None:
        return True
    if settings.eye is EyeKind.TOP_DOWN:
        return is_above(settings.eye_position, target)
    return settings.eye_position != target


_points = st.tuples(*(st.floats(-1e4, 1e4, allow_nan=False) for _ in range(3)))
_SETTINGS: dict[ViewKind, st.SearchStrategy[ViewSettings]] = {
    ViewKind.SPATIAL3D: st.builds(
        Spatial3DSettings,
        fixed_frame=st.one_of(st.just(""), frames),
        grid=st.booleans(),
        point_radius=st.none() | radius,
        background=st.none() | colors,
        eye=st.none() | st.sampled_from(EyeKind),
        eye_position=st.none() | _points,
        look_target=st.none() | _points,
        eye_up=st.none() | _points.filter(any),
    ).filter(_eye_looks_somewhere),
    ViewKind.SPATIAL2D: st.builds(
        Spatial2DSettings,
        depth_range=st.none() | _depth_range(),
        colormap=st.none() | st.sampled_from(Colormap),
        background=st.none() | colors,
    ),
    ViewKind.TIME_SERIES: st.builds(
        TimeSeriesSettings, visible_range_s=st.none() | positive, legend=st.booleans()
    ),
    ViewKind.TEXT_LOG: st.builds(
        TextLogSettings, levels=st.lists(st.sampled_from(LogLevel), max_size=3, unique=True).map(tuple)
    ),
    ViewKind.TENSOR: st.builds(TensorSettings, colormap=st.none() | st.sampled_from(Colormap)),
    ViewKind.BAR_CHART: st.builds(BarChartSettings, legend=st.booleans()),
    ViewKind.MAP: st.builds(MapSettings, zoom=st.none() | st.floats(0, 22)),
}

styles = st.builds(
    EntityStyle,
    visible=st.booleans(),
    color=st.none() | colors,
    radius=st.none() | radius,
    archetype=st.sampled_from(STYLEABLE_ARCHETYPES),
)


@st.composite
def views(draw: st.DrawFn) -> View:
    kind = draw(st.sampled_from(ViewKind))
    return View(
        kind=kind,
        name=draw(names),
        origin=draw(entity_paths),
        contents=tuple(draw(st.lists(_rules(), max_size=4))),
        settings=draw(_SETTINGS[kind]),
        styles=MappingProxyType(draw(st.dictionaries(entity_paths, styles, max_size=2))),
        visible=draw(st.booleans()),
    )


def _container(children: st.SearchStrategy[list[Node]]) -> st.SearchStrategy[Container]:
    @st.composite
    def build(draw: st.DrawFn) -> Container:
        kind = draw(st.sampled_from(ContainerKind))
        nodes = tuple(draw(children))
        shares: tuple[float, ...] = ()
        column_shares: tuple[float, ...] = ()
        row_shares: tuple[float, ...] = ()
        grid_columns = None
        if kind in (ContainerKind.HORIZONTAL, ContainerKind.VERTICAL) and draw(st.booleans()):
            shares = tuple(draw(st.lists(positive, min_size=len(nodes), max_size=len(nodes))))
        if kind is ContainerKind.GRID:
            grid_columns = draw(st.none() | st.integers(1, 4))
            if grid_columns is not None and draw(st.booleans()):
                column_shares = tuple(draw(st.lists(positive, min_size=grid_columns, max_size=grid_columns)))
            row_shares = tuple(draw(st.lists(positive, max_size=3)))
        return Container(
            kind,
            nodes,
            name=draw(names),
            shares=shares,
            column_shares=column_shares,
            row_shares=row_shares,
            grid_columns=grid_columns,
            visible=draw(st.booleans()),
        )

    return build()


nodes: st.SearchStrategy[Node] = st.recursive(
    views(), lambda children: _container(st.lists(children, max_size=4)), max_leaves=8
)
blueprints = st.builds(
    Blueprint,
    name=names.filter(bool),
    root=nodes,
    description=st.text(max_size=40),
    timeline=st.sampled_from(["", "ros_time", "log_time", "frame_nr"]),
    auto_views=st.booleans(),
)
