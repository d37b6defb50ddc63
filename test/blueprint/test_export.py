"""Export to Rerun: .rbl files read back with rerun-sdk's RrdReader match the blueprint they came from."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest
import rerun as rr
from hypothesis import HealthCheck, given, settings

from rerun_bridge.blueprint.export import TF_AXIS_LENGTH, export_rbl, rerun_colormap, to_rerun
from rerun_bridge.blueprint.model import (
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
    Spatial2DSettings,
    Spatial3DSettings,
    TensorSettings,
    TextLogSettings,
    TimeSeriesSettings,
    View,
    ViewKind,
)
from test.blueprint.rbl_reader import CONTAINER_KIND_IDS, RblContainer, RblView, rbl_tree, read_rbl, tree
from test.blueprint.strategies import blueprints

SCENE = View(
    ViewKind.SPATIAL3D,
    name="Scene",
    contents=(ContentRule("/points", recursive=True), ContentRule("/points/ground", include=False)),
    settings=Spatial3DSettings(
        fixed_frame="map", grid=False, point_radius=0.05, background=Color(48, 48, 48), eye=EyeKind.TOP_DOWN
    ),
    styles=MappingProxyType(
        {
            "/scan": EntityStyle(visible=False, color=Color(255, 0, 0), radius=-2.0, archetype="Points3D"),
            "/plan": EntityStyle(color=Color(0, 0, 255, 128), archetype="LineStrips3D"),
        }
    ),
)
DEPTH = View(
    ViewKind.SPATIAL2D,
    name="Depth",
    origin="/camera/depth",
    settings=Spatial2DSettings(depth_range=(0.5, 8.0), colormap=Colormap.VIRIDIS),
)
PLOT = View(
    ViewKind.TIME_SERIES,
    name="IMU",
    origin="/imu",
    settings=TimeSeriesSettings(visible_range_s=12.5, legend=False),
)
LOG = View(ViewKind.TEXT_LOG, name="Log", settings=TextLogSettings(levels=(LogLevel.WARN, LogLevel.ERROR)))
TENSOR = View(ViewKind.TENSOR, origin="/tensor", settings=TensorSettings(colormap=Colormap.CYAN_TO_YELLOW))
BARS = View(ViewKind.BAR_CHART, origin="/bars", settings=BarChartSettings(legend=False), visible=False)
MAP = View(ViewKind.MAP, name="GPS", contents=(ContentRule("/gps/fix"),), settings=MapSettings(zoom=16.0))
EVERYTHING = Blueprint(
    name="everything",
    root=Container(
        ContainerKind.VERTICAL,
        (
            Container(ContainerKind.HORIZONTAL, (SCENE, DEPTH), name="top", shares=(2.0, 1.0)),
            Container(ContainerKind.TABS, (PLOT, LOG, TENSOR, BARS)),
            Container(ContainerKind.GRID, (MAP,), grid_columns=1, column_shares=(1.0,), row_shares=(1.0,)),
        ),
        shares=(3.0, 1.0, 1.0),
    ),
    timeline="ros_time",
)


def _views(node: RblContainer | RblView) -> list[RblView]:
    if isinstance(node, RblView):
        return [node]
    return [view for child in node.children for view in _views(child)]


def test_export_writes_the_container_tree_and_views(tmp_path: Path) -> None:
    path = export_rbl(EVERYTHING, tmp_path / "everything.rbl", application_id="my_app")
    rbl = read_rbl(path)
    assert rbl.application_id == "my_app"
    assert rbl_tree(rbl.root) == tree(EVERYTHING.root)
    assert rbl.viewport["ViewportBlueprint:auto_views"] == [False]
    assert rbl.time_panel["TimePanelBlueprint:timeline"] == ["ros_time"]


def test_export_writes_view_settings_and_styles(tmp_path: Path) -> None:
    rbl = read_rbl(export_rbl(EVERYTHING, tmp_path / "everything.rbl"))
    scene, depth, plot, log, tensor, bars, gps = _views(rbl.root)
    assert scene.properties["SpatialInformation"]["SpatialInformation:target_frame"] == ["map"]
    assert scene.properties["LineGrid3D"]["LineGrid3D:visible"] == [False]
    assert scene.properties["Background"]["Background:color"] == [0x303030FF]
    assert scene.properties["defaults"]["Points3D:radii"] == [pytest.approx(0.05)]
    assert scene.properties["EyeControls3D"]["EyeControls3D:eye_up"] == [[0.0, 1.0, 0.0]]
    scan = scene.overrides("/scan")
    assert scan["EntityBehavior:visible"] == [False]
    assert scan["Points3D:colors"] == [0xFF0000FF]
    assert scan["Points3D:radii"] == [-2.0]
    assert scene.overrides("/plan")["LineStrips3D:colors"] == [0x0000FF80]
    assert depth.properties["defaults"]["DepthImage:depth_range"] == [[0.5, 8.0]]
    assert depth.properties["defaults"]["DepthImage:colormap"] == [rerun_colormap(Colormap.VIRIDIS).value]
    assert plot.properties["PlotLegend"]["PlotLegend:visible"] == [False]
    (time_range,) = plot.properties["VisibleTimeRanges"]["VisibleTimeRanges:ranges"]
    assert time_range == {"timeline": "ros_time", "range": {"start": -12_500_000_000, "end": 0}}
    assert log.properties["TextLogRows"]["TextLogRows:filter_by_log_level"] == ["WARN", "ERROR"]
    assert tensor.properties["TensorScalarMapping"]["TensorScalarMapping:colormap"] == [
        rerun_colormap(Colormap.CYAN_TO_YELLOW).value
    ]
    assert bars.visible is False
    assert bars.properties["PlotLegend"]["PlotLegend:visible"] == [False]
    assert gps.properties["MapZoom"]["MapZoom:zoom"] == [16.0]


def test_visible_range_without_timeline_covers_both_bridge_timelines(tmp_path: Path) -> None:
    blueprint = Blueprint("plot", PLOT)
    rbl = read_rbl(export_rbl(blueprint, tmp_path / "plot.rbl"))
    (plot,) = _views(rbl.root)
    ranges = plot.properties["VisibleTimeRanges"]["VisibleTimeRanges:ranges"]
    assert [entry["timeline"] for entry in ranges] == ["ros_time", "log_time"]
    assert rbl.time_panel == {}


def test_a_bare_view_root_is_wrapped_by_rerun(tmp_path: Path) -> None:
    blueprint = Blueprint("single", SCENE, auto_views=True)
    rbl = read_rbl(export_rbl(blueprint, tmp_path / "single.rbl"))
    assert rbl.root.kind == CONTAINER_KIND_IDS["tabs"]
    assert [rbl_tree(child) for child in rbl.root.children] == [tree(SCENE)]
    assert rbl.viewport["ViewportBlueprint:auto_views"] == [True]


def test_every_colormap_exists_in_rerun() -> None:
    for colormap in Colormap:
        assert isinstance(rerun_colormap(colormap), rr.components.Colormap)


def test_to_rerun_builds_rerun_objects() -> None:
    import rerun.blueprint as rrb

    assert isinstance(to_rerun(EVERYTHING), rrb.Blueprint)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blueprints)
def test_random_blueprints_survive_rerun(tmp_path: Path, blueprint: Blueprint) -> None:
    rbl = read_rbl(export_rbl(blueprint, tmp_path / "random.rbl"))
    expected = tree(blueprint.root)
    if isinstance(blueprint.root, View):
        expected = (CONTAINER_KIND_IDS["tabs"], None, {}, None, None, [expected])
    assert rbl_tree(rbl.root) == expected


def test_3d_views_draw_the_tf_entities_they_show_as_axes(tmp_path: Path) -> None:
    """Rerun draws a transform only with its TransformAxes3D visualizer on: each TF entity a 3D view
    includes gets it (with the entity's style kept), one it excludes and other views do not."""
    scene = View(
        ViewKind.SPATIAL3D,
        contents=(ContentRule("/tf", recursive=True), ContentRule("/tf_static", recursive=True)),
        styles=MappingProxyType({"/tf": EntityStyle(visible=False)}),
    )
    plot = View(ViewKind.TIME_SERIES, origin="/")
    layout = Blueprint(name="tf", root=Container(ContainerKind.HORIZONTAL, (scene, plot)))
    tf_entities = ["/tf", "/tf_static/camera_link", "/robot_description/joints/arm"]
    rbl = read_rbl(export_rbl(layout, tmp_path / "tf.rbl", tf_entities=tf_entities))
    scene_view, plot_view = _views(rbl.root)
    for entity in ("/tf", "/tf_static/camera_link"):
        assert scene_view.overrides(entity)["TransformAxes3D:axis_length"] == [pytest.approx(TF_AXIS_LENGTH)]
        assert scene_view.overrides(entity)["TransformAxes3D:show_frame"] == [False]
    assert scene_view.overrides("/tf")["EntityBehavior:visible"] == [False]
    assert not scene_view.overrides("/robot_description/joints/arm")
    assert not plot_view.overrides("/tf")
    # Without the recording: the bridge's own /tf and /tf_static.
    default = read_rbl(export_rbl(layout, tmp_path / "default.rbl"))
    assert "TransformAxes3D:axis_length" in _views(default.root)[0].overrides("/tf")


def test_a_depth_range_is_given_in_the_units_of_the_views_depth_images(tmp_path: Path) -> None:
    """Rerun reads a depth range in the image's own units: 16UC1 millimetres (meter 1000) take the metres
    times 1000; an encoded depth image its own meter; without one, metres."""
    meters = {"/camera/depth": ("DepthImage:meter", 1000.0), "/other/depth": ("DepthImage:meter", 1.0)}
    rbl = read_rbl(export_rbl(EVERYTHING, tmp_path / "mm.rbl", depth_meters=meters))
    depth = _views(rbl.root)[1]
    assert depth.properties["defaults"]["DepthImage:depth_range"] == [[500.0, 8000.0]]
    assert depth.properties["defaults"]["EncodedDepthImage:depth_range"] == [[0.5, 8.0]]
    viridis = rerun_colormap(Colormap.VIRIDIS).value
    assert depth.properties["defaults"]["EncodedDepthImage:colormap"] == [viridis]
    encoded = {"/camera/depth/compressed": ("EncodedDepthImage:meter", 1000.0)}
    rbl = read_rbl(export_rbl(EVERYTHING, tmp_path / "encoded.rbl", depth_meters=encoded))
    depth = _views(rbl.root)[1]
    assert depth.properties["defaults"]["EncodedDepthImage:depth_range"] == [[500.0, 8000.0]]
    assert depth.properties["defaults"]["DepthImage:depth_range"] == [[0.5, 8.0]]


def test_plots_tell_apart_curves_of_one_name_from_two_entities(tmp_path: Path) -> None:
    """Navigation's cmd_vel and odometry twist both name a curve linear/x: Rerun's legend showed one entry
    for both. Those entities' names are overridden with their entity said, as the embedded viewer says them;
    an entity whose names are its own keeps them."""
    plot = View(
        ViewKind.TIME_SERIES,
        origin="/",
        contents=(ContentRule("/cmd_vel", recursive=True), ContentRule("/odom/twist"), ContentRule("/imu")),
    )
    joints = View(
        ViewKind.TIME_SERIES, origin="/joint_states", contents=(ContentRule("$origin", recursive=True),)
    )
    layout = Blueprint(name="plots", root=Container(ContainerKind.HORIZONTAL, (plot, joints)))
    series_names = {
        "/cmd_vel": ["linear/x", "angular/z"],
        "/odom/twist": ["linear/x", "angular/z", "speed"],
        "/imu": ["acceleration/x"],
        "/joint_states/position": ["arm"],
        "/joint_states/velocity": ["arm"],
        "/elsewhere": ["linear/x"],  # in no view here: shares nothing
    }
    rbl = read_rbl(export_rbl(layout, tmp_path / "plots.rbl", series_names=series_names))
    plot_view, joints_view = _views(rbl.root)
    assert plot_view.overrides("/cmd_vel")["SeriesLines:names"] == [
        "/cmd_vel: linear/x",
        "/cmd_vel: angular/z",
    ]
    assert plot_view.overrides("/odom/twist")["SeriesLines:names"] == [
        "/odom/twist: linear/x",
        "/odom/twist: angular/z",
        "speed",
    ]
    assert not plot_view.overrides("/imu")
    # Below a view's origin, entities are said by their path below it, as the embedded viewer's legend.
    assert joints_view.overrides("/joint_states/velocity")["SeriesLines:names"] == ["velocity: arm"]


def test_a_placed_eye_is_exported_where_it_is(tmp_path: Path) -> None:
    """eye_position / look_target / eye_up (an RViz view's placement) become the EyeControls3D's."""
    placed = View(
        ViewKind.SPATIAL3D,
        settings=Spatial3DSettings(eye_position=(5.0, 5.0, 7.0), look_target=(1.0, -2.0, 0.0)),
    )
    down = View(
        ViewKind.SPATIAL3D,
        settings=Spatial3DSettings(
            eye=EyeKind.TOP_DOWN, look_target=(-5.4, 0.0, 0.0), eye_up=(-1.0, 0.0, 0.0)
        ),
    )
    blueprint = Blueprint(name="eyes", root=Container(ContainerKind.HORIZONTAL, (placed, down)))
    first, second = _views(read_rbl(export_rbl(blueprint, tmp_path / "eyes.rbl")).root)
    eye = first.properties["EyeControls3D"]
    assert eye["EyeControls3D:position"] == [[5.0, 5.0, 7.0]]
    assert eye["EyeControls3D:look_target"] == [[1.0, -2.0, 0.0]]
    assert "EyeControls3D:eye_up" not in eye  # Rerun's default, +z
    eye = second.properties["EyeControls3D"]
    assert eye["EyeControls3D:position"] == [[pytest.approx(-5.4), 0.0, 25.0]]
    assert eye["EyeControls3D:look_target"] == [[pytest.approx(-5.4), 0.0, 0.0]]
    assert eye["EyeControls3D:eye_up"] == [[-1.0, 0.0, 0.0]]
