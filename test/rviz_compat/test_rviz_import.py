"""RViz config import: the three real configs from ../shared/data/rviz and small ones written here."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from rerun_bridge.blueprint.export import export_rbl
from rerun_bridge.blueprint.loader import load_blueprint
from rerun_bridge.blueprint.model import (
    Color,
    Container,
    EntityStyle,
    EyeKind,
    Spatial2DSettings,
    Spatial3DSettings,
    View,
    ViewKind,
)
from rerun_bridge.config import BridgeConfig, load_config, parse_config
from rerun_bridge.convert.pointcloud import COLORMAPS
from rerun_bridge.errors import ConfigError
from rviz_compat.displays import DISPLAYS, parse_color, split_class
from rviz_compat.rviz_import import RvizImport, import_rviz, main_from_rviz, orbit_placement
from test.blueprint.rbl_reader import read_rbl

RVIZ_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "rviz"
NAV2 = RVIZ_DIR / "nav2_default_view.rviz"
RVIZ_DEFAULT = RVIZ_DIR / "rviz_default.rviz"
ALL_DISPLAYS = RVIZ_DIR / "rviz_all_supported_configs.rviz"


def _views(result: RvizImport, kind: ViewKind) -> list[View]:
    return [view for view in result.blueprint.views() if view.kind is kind]


def _scene(result: RvizImport) -> View:
    (scene,) = _views(result, ViewKind.SPATIAL3D)
    return scene


def _scene_settings(result: RvizImport) -> Spatial3DSettings:
    settings = _scene(result).settings
    assert isinstance(settings, Spatial3DSettings)
    return settings


def _leaf_displays(displays: object) -> Iterator[Mapping[str, Any]]:
    for display in displays if isinstance(displays, list) else []:
        if str(display.get("Class", "")).endswith("/Group"):
            yield from _leaf_displays(display.get("Displays"))
        else:
            yield display


def _write(tmp_path: Path, displays: list[Any], **manager: Any) -> Path:
    path = tmp_path / "test.rviz"
    config = {"Visualization Manager": {"Displays": displays, **manager}}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


# --- Nav2's default view ------------------------------------------------------------------------------------


def test_map_displays_bring_their_update_topics(tmp_path: Path) -> None:
    # Nav2's costmaps send their changes on <topic>_updates (map_msgs/OccupancyGridUpdate): without them
    # a bridged costmap stays as its first full grid.
    result = import_rviz(NAV2)
    for map_topic in ("/map", "/global_costmap/costmap", "/local_costmap/costmap"):
        assert result.bridge_topics[f"{map_topic}_updates"] == {"type": "map_msgs/msg/OccupancyGridUpdate"}
    assert not any("update topic" in note for note in result.notes)
    # An update topic the bridge would not pair with the map is said, and the paired one bridged.
    display = {
        "Class": "rviz_default_plugins/Map",
        "Name": "Grid",
        "Enabled": True,
        "Topic": {"Value": "/grid"},
        "Update Topic": {"Value": "/grid_patches"},
    }
    odd = import_rviz(_write(tmp_path, [display]))
    assert "/grid_updates" in odd.bridge_topics
    assert "/grid_patches" not in odd.bridge_topics
    assert any("update topic /grid_patches is not used" in note for note in odd.notes)


def test_nav2_fixed_frame_view_and_grid() -> None:
    result = import_rviz(NAV2)
    assert result.fixed_frame == "map"
    settings = _scene_settings(result)
    assert settings.fixed_frame == "map"
    assert settings.grid
    assert settings.eye is EyeKind.TOP_DOWN
    assert settings.background == Color(48, 48, 48)


def test_nav2_displays_inside_groups_are_mapped_with_their_topics() -> None:
    result = import_rviz(NAV2)
    scene = _scene(result)
    for entity in (
        "/scan",
        "/map",
        "/global_costmap/costmap",
        "/local_costmap/costmap",
        "/plan",
        "/transformed_global_plan",
        "/global_costmap/voxel_marked_cloud",
        "/local_costmap/voxel_marked_cloud",
        "/local_costmap/published_footprint",
        "/waypoints",
        "/route_graph",
        "/tf",
        "/tf_static/base_link",
    ):
        assert scene.includes(entity), entity
    (image,) = _views(result, ViewKind.SPATIAL2D)
    assert image.origin == "/intel_realsense_r200_depth/image_raw"
    assert image.name == "RealsenseCamera"
    assert not image.visible, "the Realsense group is disabled"
    assert result.bridge_topics["/map"] == {
        "type": "nav_msgs/msg/OccupancyGrid",
        "qos": {"durability": "transient_local"},
        "options": {"palette": "map"},
    }
    assert result.bridge_topics["/global_costmap/costmap"]["qos"] == {"durability": "transient_local"}
    assert result.bridge_topics["/scan"] == {
        "type": "sensor_msgs/msg/LaserScan",
        "options": {"colormap": "turbo"},
    }
    assert result.bridge_topics["/tf_static"]["qos"] == {"durability": "transient_local"}
    assert "qos" not in result.bridge_topics["/waypoints"]
    assert result.bridge_topics["/route_graph"]["qos"] == {"durability": "transient_local"}
    parse_config({"topics": result.bridge_topics}, "nav2 bridge topics")


def test_nav2_styles_keep_colors_and_sizes() -> None:
    styles = _scene(import_rviz(NAV2)).styles
    assert styles["/plan"] == EntityStyle(color=Color(255, 0, 0), archetype="LineStrips3D")
    assert styles["/transformed_global_plan"].color == Color(0, 12, 255)
    assert styles["/global_costmap/voxel_marked_cloud"] == EntityStyle(
        color=Color(125, 125, 125), radius=0.025, archetype="Points3D"
    )
    assert styles["/scan"] == EntityStyle(radius=-1.5, archetype="Points3D"), "Points style: pixels"
    assert styles["/local_costmap/voxel_marked_cloud"].color is None, "RGB8: the data's colours"
    assert styles["/local_costmap/published_footprint"].visible
    assert not styles["/global_costmap/published_footprint"].visible
    assert not styles["/marker"].visible
    assert not styles["/intel_realsense_r200_depth/points"].visible
    assert "/tf" not in styles, "TF is enabled even though RobotModel (also TF frames) is not"


def test_nav2_unsupported_and_disabled_are_listed() -> None:
    result = import_rviz(NAV2)
    assert "display 'Amcl Particle Swarm' (nav2_rviz_plugins/ParticleCloud)" in result.unsupported
    for panel in ("Navigation 2", "Selector", "Docking"):
        assert any(item.startswith(f"panel {panel!r} (nav2_rviz_plugins/") for item in result.unsupported)
    assert any("nav2_rviz_plugins/GoalTool" in item for item in result.unsupported)
    assert any("publishes /initialpose" in item for item in result.unsupported)
    assert not any("rviz_common/Displays" in item or "MoveCamera" in item for item in result.unsupported)
    assert result.disabled == [
        "'RobotModel' (rviz_default_plugins/RobotModel)",
        "'Polygon' (rviz_default_plugins/Polygon)",
        "'Trajectories' (rviz_default_plugins/MarkerArray)",
        "'RealsenseCamera' (rviz_default_plugins/Image)",
        "'RealsenseDepthImage' (rviz_default_plugins/PointCloud2)",
    ]
    # Maps convert now, in the colour scheme each Map display names.
    assert not any("no converter for nav_msgs/msg/OccupancyGrid" in note for note in result.notes)
    assert result.bridge_topics["/map"]["options"] == {"palette": "map"}
    # Their Alpha too (Nav2 draws its costmaps at 0.3 and 0.7); Draw Behind is noted, not carried.
    assert result.bridge_topics["/global_costmap/costmap"]["options"] == {"palette": "costmap", "alpha": 0.3}
    assert result.bridge_topics["/local_costmap/costmap"]["options"] == {"palette": "costmap", "alpha": 0.7}
    assert result.bridge_topics["/speed_filter_mask"]["options"] == {"palette": "map", "alpha": 0.7}
    assert any(
        note.endswith("Draw Behind is not carried; the map is drawn in depth with the rest")
        for note in result.notes
    )
    displays = yaml.safe_load(NAV2.read_text(encoding="utf-8"))["Visualization Manager"]["Displays"]
    leaves = list(_leaf_displays(displays))
    unsupported_displays = [item for item in result.unsupported if item.startswith("display ")]
    assert len(leaves) == len(result.mapped) + len(unsupported_displays) == 22


# --- RViz's default -----------------------------------------------------------------------------------------


def test_rviz_default_is_a_grid_in_the_fixed_frame() -> None:
    result = import_rviz(RVIZ_DEFAULT)
    assert result.fixed_frame == "map", "the leading slash of /map is dropped, as tf2 does"
    # Its Orbit view: 10 m from the origin, 45 degrees round and up.
    eye_position = (
        10 * math.cos(math.pi / 4) ** 2,
        10 * math.cos(math.pi / 4) ** 2,
        10 * math.sin(math.pi / 4),
    )
    scene = result.blueprint.root
    assert isinstance(scene, View)
    assert isinstance(scene.settings, Spatial3DSettings)
    assert scene.settings.eye_position == pytest.approx(eye_position, abs=1e-4)
    assert scene == View(
        ViewKind.SPATIAL3D,
        name="3D",
        contents=(),
        settings=Spatial3DSettings(
            fixed_frame="map",
            grid=True,
            background=Color(48, 48, 48),
            eye=EyeKind.ORBITAL,
            eye_position=scene.settings.eye_position,
            look_target=(0.0, 0.0, 0.0),
        ),
    )
    assert result.mapped == ["'Grid' (rviz_default_plugins/Grid) -> 3D grid"]
    assert result.bridge_topics == {}
    assert not any(item.startswith(("display", "panel")) for item in result.unsupported)
    assert any("SetGoal" in item and "/goal_pose" in item for item in result.unsupported)


# --- every display, ROS 1 class names -----------------------------------------------------------------------


def test_all_displays_each_mapped_or_listed() -> None:
    result = import_rviz(ALL_DISPLAYS)
    displays = yaml.safe_load(ALL_DISPLAYS.read_text(encoding="utf-8"))["Visualization Manager"]["Displays"]
    leaves = list(_leaf_displays(displays))
    assert len(leaves) == 28
    unsupported_displays = [item for item in result.unsupported if item.startswith("display ")]
    assert unsupported_displays == []
    # Every display once, and Range and WrenchStamped also as plots (drawn in 3D and plotted).
    assert len(result.mapped) == 30
    for display in leaves:
        label = f"{display['Name']!r} ({display['Class']})"
        found = [item for item in (*result.mapped, *unsupported_displays) if label in item]
        assert found, label
    mapped_classes = {split_class(display["Class"])[1] for display in leaves}
    assert mapped_classes <= set(DISPLAYS)
    assert result.fixed_frame == "sentinel_frame"
    assert result.disabled == []


def test_all_displays_views_and_topics() -> None:
    result = import_rviz(ALL_DISPLAYS)
    assert [view.origin for view in _views(result, ViewKind.SPATIAL2D)] == [
        "/some/topic/camera",
        "/some/topic/image",
    ]
    assert [view.name for view in _views(result, ViewKind.TIME_SERIES)] == [
        "FluidPressure",
        "Illuminance",
        "Range",
        "RelativeHumidity",
        "Temperature",
        "WrenchStamped",
    ]
    camera = _views(result, ViewKind.SPATIAL2D)[0]
    assert camera.includes("/some/topic/camera_info")
    assert result.bridge_topics["/some/topic/camera_info"] == {"type": "sensor_msgs/msg/CameraInfo"}
    assert result.bridge_topics["/visualization_marker"] == {"type": "visualization_msgs/msg/Marker"}
    assert result.bridge_topics["/some/topic/point_cloud2"] == {"type": "sensor_msgs/msg/PointCloud2"}
    scene = _scene(result)
    for entity in ("/some/topic/odometry", "/some/topic/pose_array", "/some/topic/camera_info", "/tf"):
        assert scene.includes(entity)
    assert scene.styles["/some/topic/point_stamped"] == EntityStyle(
        color=Color(204, 41, 204), radius=0.2, archetype="Points3D"
    )
    parse_config({"topics": result.bridge_topics}, "all displays")


@pytest.mark.parametrize("path", [NAV2, RVIZ_DEFAULT, ALL_DISPLAYS], ids=lambda path: path.stem)
def test_real_configs_export_and_round_trip(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "layout.yaml"
    bridge_out = tmp_path / "bridge.yaml"
    result = main_from_rviz(path, out, bridge_config_out=bridge_out)
    assert load_blueprint(out) == result.blueprint
    text = out.read_text(encoding="utf-8")
    header = text.split("\nname:")[0]
    assert all(line.startswith("#") for line in header.splitlines())
    for item in result.unsupported:
        assert item in header
    for topic in result.bridge_topics:
        assert f"#     {topic}:" in header
    assert dict(load_config(bridge_out).topics).keys() == result.bridge_topics.keys()
    rbl = read_rbl(export_rbl(result.blueprint, tmp_path / "layout.rbl"))
    assert rbl.root.children


# --- small configs ------------------------------------------------------------------------------------------


def test_disabled_displays_and_groups_are_imported_hidden(tmp_path: Path) -> None:
    displays = [
        {
            "Class": "rviz_default_plugins/LaserScan",
            "Name": "Off",
            "Enabled": False,
            "Topic": {"Value": "/scan"},
        },
        {
            "Class": "rviz_common/Group",
            "Name": "Outer",
            "Enabled": True,
            "Displays": [
                {
                    "Class": "rviz_common/Group",
                    "Name": "Inner",
                    "Enabled": False,
                    "Displays": [
                        {"Class": "rviz_default_plugins/Image", "Name": "Cam", "Topic": "/cam/image"},
                        {"Class": "rviz_default_plugins/Temperature", "Name": "T", "Topic": "/temp"},
                        {"Class": "rviz_default_plugins/Path", "Name": "Plan", "Topic": "/plan"},
                    ],
                },
                {"Class": "rviz_default_plugins/PointCloud2", "Name": "On", "Topic": "/points"},
                {"Class": "rviz_default_plugins/Grid", "Name": "Grid", "Enabled": False},
            ],
        },
    ]
    result = import_rviz(_write(tmp_path, displays))
    assert result.disabled == [
        "'Off' (rviz_default_plugins/LaserScan)",
        "'Cam' (rviz_default_plugins/Image)",
        "'T' (rviz_default_plugins/Temperature)",
        "'Plan' (rviz_default_plugins/Path)",
        "'Grid' (rviz_default_plugins/Grid)",
    ]
    scene = _scene(result)
    for entity in ("/scan", "/plan", "/points"):
        assert scene.includes(entity)
    assert not scene.styles["/scan"].visible
    assert not scene.styles["/plan"].visible
    assert "/points" not in scene.styles
    assert not _scene_settings(result).grid
    assert [view.visible for view in _views(result, ViewKind.SPATIAL2D)] == [False]
    assert [view.visible for view in _views(result, ViewKind.TIME_SERIES)] == [False]
    assert set(result.bridge_topics) == {"/scan", "/cam/image", "/temp", "/plan", "/points"}


def test_a_display_shown_twice_is_visible_when_any_copy_is_enabled(tmp_path: Path) -> None:
    displays = [
        {"Class": "rviz_default_plugins/TF", "Name": "TF", "Enabled": False},
        {"Class": "rviz_default_plugins/RobotModel", "Name": "Robot"},
    ]
    result = import_rviz(_write(tmp_path, displays))
    assert _scene(result).styles == {}
    assert result.disabled == ["'TF' (rviz_default_plugins/TF)"]


def test_color_strings_transformers_and_sizes(tmp_path: Path) -> None:
    displays = [
        {
            "Class": "rviz_default_plugins/PointCloud2",
            "Name": "Flat",
            "Topic": "flat",
            "Color Transformer": "FlatColor",
            "Color": "255; 0; 0",
            "Alpha": 0.5,
            "Style": "Spheres",
            "Size (m)": 0.1,
        },
        {
            "Class": "rviz/LaserScan",
            "Name": "Gray",
            "Topic": "gray",
            "Color Transformer": "Intensity",
            "Use rainbow": False,
            "Style": "Points",
            "Size (Pixels)": 4,
        },
        {"Class": "rviz/PointCloud2", "Name": "Axis", "Topic": "axis", "Color Transformer": "AxisColor"},
        {
            "Class": "rviz/Path",
            "Name": "Wide",
            "Topic": "wide",
            "Color": "0; 255; 0",
            "Line Style": "Billboards",
            "Line Width": 0.2,
        },
        {"Class": "rviz/Polygon", "Name": "Bad colour", "Topic": "poly", "Color": "red"},
        {
            "Class": "rviz_default_plugins/Map",
            "Name": "Binary",
            "Topic": {"Value": "binary_map"},
            "Color Scheme": "raw",
            "Alpha": 0.25,
            "Binary representation": True,
            "Binary threshold": 65,
        },
    ]
    result = import_rviz(_write(tmp_path, displays))
    assert result.bridge_topics["/binary_map"]["options"] == {
        "palette": "raw",
        "alpha": 0.25,
        "binary_threshold": 65,
    }
    styles = _scene(result).styles
    assert styles["/flat"] == EntityStyle(color=Color(255, 0, 0, 128), radius=0.05, archetype="Points3D")
    assert styles["/gray"] == EntityStyle(radius=-2.0, archetype="Points3D")
    assert result.bridge_topics["/gray"]["options"] == {"colormap": "gray"}
    assert {"gray", "turbo"} <= set(COLORMAPS)
    assert "/axis" not in styles
    assert any("AxisColor is not supported" in note for note in result.notes)
    assert styles["/wide"] == EntityStyle(color=Color(0, 255, 0), radius=0.1, archetype="LineStrips3D")
    assert "/poly" not in styles


def test_parse_color() -> None:
    assert parse_color("160; 160; 164") == Color(160, 160, 164)
    assert parse_color("0;0;0", 0.0) == Color(0, 0, 0, 0)
    assert parse_color("255; 255; 255", "0.7") == Color(255, 255, 255, 178)
    for bad in ("255; 0", "256; 0; 0", "a; b; c", 255, None):
        assert parse_color(bad) is None


def test_image_transport_depth_range_and_camera_info(tmp_path: Path) -> None:
    displays = [
        {
            "Class": "rviz_default_plugins/Image",
            "Name": "Depth",
            "Topic": {"Value": "/cam/depth", "Durability Policy": "Volatile"},
            "Normalize Range": False,
            "Min Value": 0.5,
            "Max Value": 4,
        },
        {
            "Class": "rviz/Camera",
            "Name": "Front",
            "Image Topic": "front/image_raw",
            "Transport Hint": "compressed",
        },
    ]
    result = import_rviz(_write(tmp_path, displays))
    depth, front = _views(result, ViewKind.SPATIAL2D)
    assert depth.settings == Spatial2DSettings(depth_range=(0.5, 4.0))
    assert front.origin == "/front/image_raw/compressed"
    assert result.bridge_topics["/front/image_raw/compressed"] == {"type": "sensor_msgs/msg/CompressedImage"}
    assert result.bridge_topics["/front/camera_info"] == {"type": "sensor_msgs/msg/CameraInfo"}
    assert front.includes("/front/camera_info")
    assert _scene(result).includes("/front/camera_info")


def test_entity_paths_follow_the_bridge_config(tmp_path: Path) -> None:
    displays = [{"Class": "rviz_default_plugins/LaserScan", "Name": "Scan", "Topic": "scan"}]
    config = parse_config({"entity_prefix": "/robot1"})
    result = import_rviz(_write(tmp_path, displays), bridge_config=config)
    assert _scene(result).includes("/robot1/scan")
    assert "/scan" in result.bridge_topics
    assert import_rviz(_write(tmp_path, displays), BridgeConfig.default()).mapped == [
        "'Scan' (rviz_default_plugins/LaserScan) -> 3D /scan"
    ]


def test_robot_model_interactive_markers_and_3d_displays_that_also_plot(tmp_path: Path) -> None:
    displays = [
        {
            "Class": "rviz_default_plugins/RobotModel",
            "Name": "Robot",
            "Description Source": "Topic",
            "Description Topic": {"Value": "robot_description", "Durability Policy": "Volatile"},
        },
        {
            "Class": "rviz_default_plugins/InteractiveMarkers",
            "Name": "IM",
            "Interactive Markers Namespace": "/basic_controls",
        },
        {"Class": "rviz_default_plugins/Range", "Name": "Sonar", "Topic": {"Value": "/sonar"}},
        {"Class": "rviz_default_plugins/GridCells", "Name": "Cells", "Topic": {"Value": "/cells"}},
    ]
    result = import_rviz(_write(tmp_path, displays))
    assert result.bridge_topics["/robot_description"] == {
        "type": "std_msgs/msg/String",
        "qos": {"durability": "transient_local"},  # latched, as robot_state_publisher offers it
    }
    assert (
        result.bridge_topics["/basic_controls/update"]["type"]
        == "visualization_msgs/msg/InteractiveMarkerUpdate"
    )
    scene = _scene(result)
    for entity in ("/robot_description", "/tf", "/basic_controls/update", "/sonar", "/cells"):
        assert scene.includes(entity), entity
    assert [view.origin for view in _views(result, ViewKind.TIME_SERIES)] == ["/sonar"]
    assert result.unsupported == []


def test_an_effort_display_plots_efforts_only_and_a_range_colour_styles_its_cone(tmp_path: Path) -> None:
    """The Effort view took the whole JointState (positions, velocities and efforts on one axis), and a
    Range display's colour went to the topic's entity, which holds the plot, not the cone (audit)."""
    displays = [
        {"Class": "rviz_default_plugins/Effort", "Name": "Efforts", "Topic": {"Value": "/joint_states"}},
        {"Class": "rviz_default_plugins/Range", "Name": "Sonar", "Topic": {"Value": "/sonar"},
         "Color": "0; 128; 255"},
    ]  # fmt: skip
    result = import_rviz(_write(tmp_path, displays))
    assert [view.origin for view in _views(result, ViewKind.TIME_SERIES)] == [
        "/joint_states/effort",
        "/sonar",
    ]
    styles = _scene(result).styles
    assert list(styles) == ["/sonar/cone"]
    assert styles["/sonar/cone"].archetype == "LineStrips3D"


def test_two_displays_of_one_topic_keep_the_first_ones_options_and_say_so(tmp_path: Path) -> None:
    """A costmap display (alpha 0.3) and a map display (alpha 1) of /map gave the map palette with the
    costmap's alpha, without a word (audit): the first display's options are kept, the other's named."""
    displays = [
        {"Class": "rviz_default_plugins/Map", "Name": "Cost", "Topic": {"Value": "/map"},
         "Color Scheme": "costmap", "Alpha": 0.3},
        {"Class": "rviz_default_plugins/Map", "Name": "Plain", "Topic": {"Value": "/map"},
         "Color Scheme": "map", "Alpha": 1},
    ]  # fmt: skip
    result = import_rviz(_write(tmp_path, displays))
    assert result.bridge_topics["/map"]["options"] == {"palette": "costmap", "alpha": 0.3}
    assert any("/map is also shown by an earlier display with palette 'costmap'" in n for n in result.notes)


def test_two_displays_of_one_topic_keep_the_first_ones_look_and_say_so(tmp_path: Path) -> None:
    """A red 0.1 m LaserScan display and a blue 0.02 m one of /scan gave the blue, small one, without a
    word (audit): the first display's colour and size are kept, the other's named."""
    displays = [
        {"Class": "rviz_default_plugins/LaserScan", "Name": "Red", "Topic": {"Value": "/scan"},
         "Color Transformer": "FlatColor", "Color": "255; 0; 0", "Style": "Spheres", "Size (m)": 0.1},
        {"Class": "rviz_default_plugins/LaserScan", "Name": "Blue", "Topic": {"Value": "/scan"},
         "Color Transformer": "FlatColor", "Color": "0; 0; 255", "Style": "Boxes", "Size (m)": 0.02},
    ]  # fmt: skip
    result = import_rviz(_write(tmp_path, displays))
    style = _scene(result).styles["/scan"]
    assert style.color is not None
    assert style.color[:3] == (255, 0, 0)
    assert style.radius == pytest.approx(0.05)
    assert any(
        "/scan is also drawn by an earlier display; its colour and size are kept" in n for n in result.notes
    )


def test_rviz2s_compressed_image_topic_is_a_compressed_image(tmp_path: Path) -> None:
    """RViz 2 names the image transport in the topic: /cam/image_raw/compressed was declared an Image."""
    displays = [
        {"Class": "rviz_default_plugins/Camera", "Name": "Cam",
         "Topic": {"Value": "/cam/image_raw/compressed"}},
    ]  # fmt: skip
    result = import_rviz(_write(tmp_path, displays))
    assert result.bridge_topics["/cam/image_raw/compressed"] == {"type": "sensor_msgs/msg/CompressedImage"}
    assert result.bridge_topics["/cam/camera_info"] == {"type": "sensor_msgs/msg/CameraInfo"}


def test_an_orbit_view_is_placed_where_rviz_placed_it(tmp_path: Path) -> None:
    """Distance, Focal Point, Yaw and Pitch give the eye's position about the focal point, as RViz's Orbit
    view computes it (they were dropped with a note: audit)."""
    views = {
        "Current": {
            "Class": "rviz_default_plugins/Orbit",
            "Distance": 4.5,
            "Focal Point": {"X": 1.5, "Y": -2, "Z": 0},
            "Yaw": 3.9,
            "Pitch": 1.2,
        }
    }
    result = import_rviz(_write(tmp_path, [], Views=views))
    settings = _scene_settings(result)
    assert settings.eye == EyeKind.ORBITAL
    assert settings.look_target == (1.5, -2.0, 0.0)
    assert settings.eye_position == pytest.approx(
        (
            1.5 + 4.5 * math.cos(3.9) * math.cos(1.2),
            -2 + 4.5 * math.sin(3.9) * math.cos(1.2),
            4.5 * math.sin(1.2),
        ),
        abs=1e-5,
    )
    assert not [note for note in result.notes if "view controller" in note]


def test_nav2s_top_down_view_looks_down_on_its_x_y_at_its_scale() -> None:
    """Nav2's TopDownOrtho (X -5.41, Scale 54 pixels a metre, Angle about 0, a window 893 pixels high):
    an eye straight above (-5.41, 0) that sees 893 / 54 metres across the view's height at 60 degrees."""
    settings = _scene_settings(import_rviz(NAV2))
    assert settings.look_target == (-5.41, 0.0, 0.0)
    height = 893 / 54 / 2 / math.tan(math.radians(30))
    assert settings.eye_position == pytest.approx((-5.41, 0.0, height), abs=1e-3)
    assert settings.eye_up == pytest.approx((0.0008, 1.0, 0.0), abs=1e-4)


def test_a_turned_top_down_view_keeps_its_turn(tmp_path: Path) -> None:
    views = {"Current": {"Class": "rviz_default_plugins/TopDownOrtho", "Angle": math.pi / 2, "Scale": 20}}
    settings = _scene_settings(import_rviz(_write(tmp_path, [], Views=views)))
    assert settings.eye_up == pytest.approx((-1.0, 0.0, 0.0), abs=1e-5)  # the screen's up is -x
    assert settings.eye_position == pytest.approx(
        (0.0, 0.0, 800 / 20 / 2 / math.tan(math.radians(30))), abs=1e-3
    )


@pytest.mark.parametrize(
    ("current", "why"),
    [
        (
            {
                "Class": "rviz_default_plugins/Orbit",
                "Distance": 3,
                "Yaw": 0,
                "Pitch": 0,
                "Target Frame": "base_link",
            },
            "they are relative to its Target Frame",
        ),
        (
            {
                "Class": "rviz_default_plugins/Orbit",
                "Distance": 3,
                "Yaw": 0,
                "Pitch": 0,
                "Invert Z Axis": True,
            },
            "its Z axis is inverted",
        ),
        (
            {"Class": "rviz_default_plugins/Orbit", "Distance": "far", "Yaw": 0, "Pitch": 0},
            "they are not all numbers",
        ),
        (
            {"Class": "rviz_default_plugins/FPS", "Position": {"X": 1}, "Yaw": 0},
            "the viewer has no such camera",
        ),
        ({"Class": "rviz_default_plugins/TopDownOrtho", "Scale": 0}, "its Scale 0 is not above 0"),
        (
            {
                "Class": "rviz_default_plugins/Orbit",
                "Distance": 3,
                "Yaw": 0,
                "Pitch": 0,
                "Focal Point": [1, 2, 3],
            },
            "its Focal Point has no X, Y, Z",
        ),
    ],
)
def test_a_camera_placement_not_carried_is_said_with_why(
    tmp_path: Path, current: dict[str, Any], why: str
) -> None:
    result = import_rviz(_write(tmp_path, [], Views={"Current": current}))
    settings = _scene_settings(result)
    assert settings.eye_position is None
    notes = [note for note in result.notes if note.startswith("view controller")]
    assert len(notes) == 1
    assert f"are not carried ({why}); the 3D view frames the data when it opens" in notes[0]


def test_display_settings_not_carried_are_noted_and_hidden_marker_namespaces_are_hidden(
    tmp_path: Path,
) -> None:
    """Decay Time, an intensity channel other than intensity, Invert Rainbow, fixed intensity bounds, TF
    frames turned off, a Pose's Axes shape and a Twist's colours were dropped without a note; a Marker
    display's namespace turned off was shown (audit)."""
    displays = [
        {"Class": "rviz_default_plugins/LaserScan", "Name": "Scan", "Topic": {"Value": "/scan"},
         "Decay Time": 5},
        {"Class": "rviz_default_plugins/PointCloud2", "Name": "Cloud", "Topic": {"Value": "/cloud"},
         "Color Transformer": "Intensity", "Channel Name": "z", "Invert Rainbow": True,
         "Autocompute Intensity Bounds": False},
        {"Class": "rviz_default_plugins/TF", "Name": "TF", "Frames": {"laser_link": {"Value": False}}},
        {"Class": "rviz_default_plugins/Pose", "Name": "Goal", "Topic": {"Value": "/goal"}, "Shape": "Axes"},
        {"Class": "rviz_default_plugins/TwistStamped", "Name": "Vel", "Topic": {"Value": "/vel"},
         "Linear Color": "255; 0; 0"},
        {"Class": "rviz_default_plugins/MarkerArray", "Name": "Graph", "Topic": {"Value": "/graph"},
         "Namespaces": {"debug": False, "nodes": True}},
    ]  # fmt: skip
    result = import_rviz(_write(tmp_path, displays))
    for said in (
        "'Scan' (rviz_default_plugins/LaserScan): Decay Time 5 s is not carried",
        "'Cloud' (rviz_default_plugins/PointCloud2): the Intensity channel 'z' is not carried",
        "'Cloud' (rviz_default_plugins/PointCloud2): Invert Rainbow is not carried",
        "'Cloud' (rviz_default_plugins/PointCloud2): fixed intensity bounds",
        "'TF' (rviz_default_plugins/TF): frames turned off (laser_link) are drawn",
        "'Goal' (rviz_default_plugins/Pose): the Axes shape is not carried",
        "'Vel' (rviz_default_plugins/TwistStamped): Linear / Angular Color are not carried",
    ):
        assert any(note.startswith(said) for note in result.notes), said
    styles = _scene(result).styles
    assert not styles["/graph/debug"].visible
    assert "/graph/nodes" not in styles


def test_a_robot_model_from_a_file_is_the_bridge_configs(tmp_path: Path) -> None:
    displays = [
        {"Class": "rviz_default_plugins/RobotModel", "Name": "Robot", "Description Source": "File",
         "Description File": "/opt/robot.urdf"},
    ]  # fmt: skip
    rviz = _write(tmp_path, displays)
    result = import_rviz(rviz)
    assert "/robot_description" not in result.bridge_topics
    assert any("robot_model.urdf_file" in note and "/opt/robot.urdf" in note for note in result.notes)
    assert _scene(result).includes("/tf")
    # Written into the bridge config, which only said so before (audit): the config loads with it.
    bridge = tmp_path / "bridge.yaml"
    main_from_rviz(rviz, tmp_path / "out.yaml", bridge_config_out=bridge)
    assert load_config(bridge).robot_model.urdf_file == "/opt/robot.urdf"


def test_odd_displays_are_never_dropped_silently(tmp_path: Path) -> None:
    displays: list[Any] = [
        {"Name": "No class"},
        "not a mapping",
        {"Class": "rviz_default_plugins/DepthCloud", "Name": "Depth"},
        {"Class": "my_plugins/PointCloud2", "Name": "Lookalike", "Topic": "/x"},
        {"Class": "rviz_default_plugins/PointCloud2", "Name": "No topic"},
        {"Class": "rviz_default_plugins/PointCloud2", "Name": "Bad topic", "Topic": "/bad topic"},
        {"Class": "rviz_common/Group", "Name": "G", "Displays": "nope"},
    ]
    result = import_rviz(_write(tmp_path, displays))
    assert result.unsupported == [
        "display 'No class' (no Class)",
        "Displays[1]: not a display (a mapping)",
        "display 'Depth' (rviz_default_plugins/DepthCloud)",
        "display 'Lookalike' (my_plugins/PointCloud2)",
        "Displays/G: not a list of displays",
    ]
    assert any("'No topic'" in note and "no topic set" in note for note in result.notes)
    assert any("'Bad topic'" in note and "not a valid ROS topic name" in note for note in result.notes)
    assert result.fixed_frame == ""
    assert any("no Fixed Frame" in note for note in result.notes)


def test_bad_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.rviz"
    bad.write_text("Visualization Manager:\n  Displays: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken\.rviz:\d+:\d+: YAML syntax error"):
        import_rviz(bad)
    other = tmp_path / "other.rviz"
    other.write_text("Panels: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"other\.rviz: not an RViz config"):
        import_rviz(other)
    with pytest.raises(ConfigError, match=r"missing\.rviz: cannot read"):
        import_rviz(tmp_path / "missing.rviz")


@pytest.mark.parametrize("missing", ["blueprint", "bridge config"])
def test_an_output_in_a_missing_folder_is_one_error_and_nothing_is_written(
    tmp_path: Path, missing: str
) -> None:
    """A missing output folder was a FileNotFoundError traceback, after the blueprint was written (audit)."""
    good, bad = tmp_path / "out.yaml", tmp_path / "nowhere" / "out.yaml"
    out, bridge = (bad, tmp_path / "bridge.yaml") if missing == "blueprint" else (good, bad)
    with pytest.raises(ConfigError, match=f"{bad}: cannot write it: the folder .*nowhere does not exist"):
        main_from_rviz(_write(tmp_path, []), out, bridge_config_out=bridge)
    assert not good.exists()
    assert not (tmp_path / "bridge.yaml").exists()


def test_main_writes_only_the_blueprint_unless_asked(tmp_path: Path) -> None:
    displays = [
        {
            "Class": "rviz_default_plugins/Map",
            "Name": "Map",
            "Topic": {"Value": "map", "Durability Policy": "Transient Local"},
        }
    ]
    out = tmp_path / "layout.yaml"
    result = main_from_rviz(_write(tmp_path, displays, **{"Global Options": {"Fixed Frame": "odom"}}), out)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["layout.yaml", "test.rviz"]
    text = out.read_text(encoding="utf-8")
    assert "# Fixed frame: odom" in text
    header = text.split("\nname:")[0]
    assert "#     /map:" in header
    assert "durability: transient_local" in header
    assert load_blueprint(out) == result.blueprint
    assert isinstance(result.blueprint.root, View)
    assert not isinstance(result.blueprint.root, Container)


# --- the view controller's Target Frame ---------------------------------------------------------------------


def test_a_target_frame_becomes_the_frame_the_3d_view_follows(tmp_path: Path) -> None:
    views = {"Current": {"Class": "rviz_default_plugins/Orbit", "Target Frame": "base_link"}}
    settings = _scene_settings(import_rviz(_write(tmp_path, [], Views=views)))
    assert (settings.follow_frame, settings.follow) == ("base_link", True)


def test_the_default_target_frame_follows_nothing() -> None:
    settings = _scene_settings(import_rviz(RVIZ_DEFAULT))  # Target Frame: <Fixed Frame>
    assert (settings.follow_frame, settings.follow) == ("", False)


def test_pose_displays_colour_their_arrows_and_say_what_is_not_carried() -> None:
    result = import_rviz(ALL_DISPLAYS)
    styles = _scene(result).styles
    red = Color(255, 25, 0, 255)
    for arrows in (
        "/some/topic/pose/arrow",
        "/some/topic/pose_array/arrows",
        "/some/topic/pose_with_covariance/arrow",
    ):
        assert styles[arrows] == EntityStyle(color=red, archetype="Arrows3D"), arrows
    assert styles["/some/topic/odometry/arrow"].color == red  # Odometry's colour is under its Shape
    assert any("Keep 100 is not carried" in note for note in result.notes)
    # "All Enabled" frames with Show Names: every name cannot be said in the layout, which a note tells.
    assert any("Show Names for every frame is not carried" in note for note in result.notes)


def test_tf_names_of_the_listed_frames_are_drawn(tmp_path: Path) -> None:
    frames = {
        "All Enabled": False,
        "base_link": {"Value": True},
        "odom": {"Value": True},
        "map": {"Value": False},
    }
    display = {
        "Class": "rviz_default_plugins/TF",
        "Name": "TF",
        "Enabled": True,
        "Show Names": True,
        "Frames": frames,
    }
    result = import_rviz(_write(tmp_path, [display]))
    assert _scene_settings(result).frame_names == ("base_link", "odom")
    assert not any("Show Names" in note for note in result.notes)


@pytest.mark.parametrize(("pitch", "distance"), [(1.5707963, 6.0), (3.0, 6.0), (0.5, 0.0)])
def test_an_orbit_placement_is_kept_in_rvizs_limits(pitch: float, distance: float) -> None:
    """RViz keeps an Orbit view's pitch just inside straight up or down and its distance at least 1 cm:
    a pitch written at the zenith (rounded past it) or beyond put the eye on the far side, turning the
    picture round (audit)."""
    placement, why = orbit_placement({"Distance": distance, "Yaw": 0.5, "Pitch": pitch})
    assert why == ""
    x, y, z = placement["eye_position"]
    assert x > 0
    assert y > 0  # on the yaw's side of the focal point, however steep
    assert math.hypot(x, y, z) == pytest.approx(max(distance, 0.01), rel=1e-4)
