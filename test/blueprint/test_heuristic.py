"""The default blueprint from the data: 3D scene, images, plots per group, the log, GPS on a map."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rerun_bridge.blueprint.export import export_rbl
from rerun_bridge.blueprint.heuristic import (
    arrange,
    compact_includes,
    default_blueprint,
    default_blueprint_of,
    with_image_overlays,
)
from rerun_bridge.blueprint.library import load_builtin
from rerun_bridge.blueprint.loader import dump_blueprint, parse_blueprint, parse_yaml
from rerun_bridge.blueprint.model import (
    Blueprint,
    Container,
    ContainerKind,
    ContentRule,
    Spatial3DSettings,
    View,
    ViewKind,
)
from rerun_bridge.blueprint.overlays import entity_frame
from rerun_bridge.store.chunk_store import ChunkStore

#: What the bridge writes for a typical robot (see docs/data-model.md).
ROBOT = {
    "/tf": {"Transform3D"},
    "/tf_static/base_link": {"Transform3D"},
    "/tf_static/camera_link": {"Transform3D"},
    "/scan": {"Points3D", "CoordinateFrame"},
    "/points": {"Points3D", "CoordinateFrame"},
    "/camera/image_raw": {"Image", "CoordinateFrame"},
    "/camera/camera_info": {"Pinhole"},
    "/camera/depth/image_raw": {"DepthImage", "CoordinateFrame"},
    "/imu/data": {"Scalars", "SeriesLines", "CoordinateFrame"},
    "/joint_states": {"CoordinateFrame"},
    "/joint_states/position": {"Scalars", "SeriesLines"},
    "/joint_states/velocity": {"Scalars", "SeriesLines"},
    "/odom": {"InstancePoses3D", "Points3D", "CoordinateFrame"},
    "/odom/twist": {"Scalars", "SeriesLines"},
    "/rosout": {"TextLog"},
    "/gps/fix": {"GeoPoints", "CoordinateFrame"},
    "/plan": {"LineStrips3D", "CoordinateFrame"},
}


def test_typical_robot_layout() -> None:
    blueprint = default_blueprint(ROBOT)
    root = blueprint.root
    assert isinstance(root, Container)
    assert root.kind is ContainerKind.VERTICAL
    top, bottom = root.children
    assert isinstance(top, Container)
    assert top.kind is ContainerKind.HORIZONTAL
    scene, side = top.children
    assert isinstance(scene, View)
    assert scene.kind is ViewKind.SPATIAL3D
    assert [str(rule) for rule in scene.contents] == [
        "+ /camera/camera_info",
        "+ /odom",
        "+ /plan/**",
        "+ /points/**",
        "+ /scan/**",
        "+ /tf/**",
        "+ /tf_static/**",
    ]
    assert isinstance(side, Container)
    assert [(view.kind, view.origin) for view in side.children if isinstance(view, View)] == [
        (ViewKind.SPATIAL2D, "/camera/depth/image_raw"),
        (ViewKind.SPATIAL2D, "/camera/image_raw"),
        (ViewKind.MAP, "/"),
    ]
    assert isinstance(bottom, Container)
    assert bottom.kind is ContainerKind.TABS
    assert [(view.kind, view.origin) for view in bottom.children if isinstance(view, View)] == [
        (ViewKind.TIME_SERIES, "/imu"),
        (ViewKind.TIME_SERIES, "/joint_states"),
        (ViewKind.TIME_SERIES, "/odom"),
        (ViewKind.TEXT_LOG, "/"),
    ]
    assert not blueprint.auto_views


def test_every_entity_lands_in_the_view_of_its_kind() -> None:
    views = list(default_blueprint(ROBOT).views())
    by_kind = {kind: [view for view in views if view.kind is kind] for kind in ViewKind}
    (scene,) = by_kind[ViewKind.SPATIAL3D]
    for path in ("/tf", "/tf_static/base_link", "/scan", "/points", "/odom", "/plan", "/camera/camera_info"):
        assert scene.includes(path), path
    for path in ("/camera/image_raw", "/imu/data", "/rosout", "/gps/fix", "/odom/twist"):
        assert not scene.includes(path), path
    (log,) = by_kind[ViewKind.TEXT_LOG]
    assert log.includes("/rosout")
    assert not log.includes("/tf")
    (gps,) = by_kind[ViewKind.MAP]
    assert gps.includes("/gps/fix")
    plots = by_kind[ViewKind.TIME_SERIES]
    for path in ("/imu/data", "/joint_states/position", "/joint_states/velocity", "/odom/twist"):
        assert sum(plot.includes(path) for plot in plots) == 1, path


def test_only_some_kinds() -> None:
    only_plots = default_blueprint({"/battery": {"Scalars"}, "/imu/data": {"Scalars"}})
    root = only_plots.root
    assert isinstance(root, Container)
    assert root.kind is ContainerKind.TABS
    assert [view.origin for view in only_plots.views()] == ["/battery", "/imu"]
    one_image = default_blueprint({"/cam": {"rerun.archetypes.EncodedImage"}})
    assert one_image.root == View(ViewKind.SPATIAL2D, name="/cam", origin="/cam")
    tensors = default_blueprint({"/t": {"Tensor"}, "/b": {"BarChart"}})
    assert [view.kind for view in tensors.views()] == [ViewKind.TENSOR, ViewKind.BAR_CHART]


def test_a_plot_leaves_out_the_raw_columns_its_leaf_plots_come_from() -> None:
    """An unknown type's raw message column beside its leaf plots: Rerun's viewer would plot its numeric
    fields a second time (``message.value`` beside ``/diag/value``)."""
    blueprint = default_blueprint(
        {
            "/diag": {"sample_msgs.msg.Status:message"},
            "/diag/value": {"Scalars"},
            "/diag/level": {"Scalars"},
            "/odom": {"InstancePoses3D", "CoordinateFrame"},
            "/odom/twist": {"Scalars", "SeriesLines"},
        }
    )
    plots = {view.origin: view for view in blueprint.views() if view.kind is ViewKind.TIME_SERIES}
    assert [str(rule) for rule in plots["/diag"].contents] == ["+ $origin/**", "- /diag"]
    assert [plots["/diag"].includes(path) for path in ("/diag", "/diag/value", "/diag/level")] == [
        False,
        True,
        True,
    ]
    assert [str(rule) for rule in plots["/odom"].contents] == ["+ $origin/**"]


def test_a_raw_message_named_like_an_archetype_is_not_taken_for_it() -> None:
    """A custom ``my_msgs/msg/Image`` kept as raw columns is no image, read off a store or given plain."""
    for names in ({"my_msgs.msg.Image:message"}, {"my_msgs.msg.Image"}):
        blueprint = default_blueprint({"/custom": names, "/cam": {"Image"}})
        assert [view.origin for view in blueprint.views() if view.kind is ViewKind.SPATIAL2D] == ["/cam"]


def test_no_recognised_data_leaves_it_to_the_viewer() -> None:
    for entities in ({}, {"/raw": {"sensor_msgs.msg.Foo:message"}}):
        blueprint = default_blueprint(entities)
        assert blueprint.auto_views
        assert blueprint.root == Container(ContainerKind.GRID)


def test_compact_includes() -> None:
    every = ["/a/x", "/a/y", "/b/x", "/b/y", "/c"]
    assert compact_includes(["/a/x", "/a/y", "/b/x", "/c"], every) == (
        ContentRule("/a", recursive=True),
        ContentRule("/b/x"),
        ContentRule("/c", recursive=True),
    )
    assert compact_includes([], every) == ()


def test_arrange_skips_empty_parts() -> None:
    view = View(ViewKind.TEXT_LOG)
    assert arrange(None, [], []) is None
    assert arrange(view, [], []) == view
    assert arrange(None, [], [view]) == view
    both = arrange(view, [], [view, view])
    assert isinstance(both, Container)
    assert both.kind is ContainerKind.VERTICAL


def test_default_blueprint_round_trips_and_exports(tmp_path: Path) -> None:
    blueprint = default_blueprint(ROBOT, name="robot", timeline="ros_time")
    assert parse_blueprint(parse_yaml(dump_blueprint(blueprint), "x"), "x") == blueprint
    assert export_rbl(blueprint, tmp_path / "robot.rbl").stat().st_size > 0


def test_component_columns_name_their_archetypes_and_raw_messages_stay_unrecognised() -> None:
    columns = {
        "/camera": {"Image:buffer", "Image:format"},
        "/raw_camera": {"sensor_msgs.msg.Image:message"},
        "/imu": {"rerun.archetypes.Scalars:scalars"},
    }
    blueprint = default_blueprint(columns)
    assert [(view.kind, view.origin) for view in blueprint.views()] == [
        (ViewKind.SPATIAL2D, "/camera"),
        (ViewKind.TIME_SERIES, "/imu"),
    ]


def test_2d_shapes_on_an_image_frame_overlay_that_image_and_others_get_views_of_their_own() -> None:
    entities = {
        "/camera/image_raw": {"Image", "CoordinateFrame"},
        "/camera/image_raw/faces": {"Boxes2D"},
        "/detections": {"Boxes2D", "CoordinateFrame"},
        "/roi": {"Boxes2D"},
        "/arm/joint_trajectory": {"CoordinateFrame"},
        "/arm/joint_trajectory/positions": {"LineStrips2D"},
        "/arm/joint_trajectory/velocities": {"LineStrips2D"},
        "/markers/a/1": {"Points2D", "CoordinateFrame"},
        **{f"/ink/ns/{index}": {"LineStrips2D", "CoordinateFrame"} for index in range(5)},
    }
    frames = {
        "/camera/image_raw": "camera_image_plane",
        "/detections": "camera_image_plane",
        "/markers/a/1": "other_image_plane",
        **{f"/ink/ns/{index}": "ink_image_plane" for index in range(5)},
    }
    views = [
        view for view in default_blueprint(entities, frames=frames).views() if view.kind is ViewKind.SPATIAL2D
    ]
    image = views[0]
    assert image.origin == "/camera/image_raw"
    assert [str(rule) for rule in image.contents] == ["+ $origin/**", "+ /detections"]
    assert image.includes("/detections")
    assert image.includes("/camera/image_raw/faces")
    assert not image.includes("/roi")
    own = [(view.origin, view.name) for view in views[1:]]
    assert own == [
        ("/arm/joint_trajectory/positions", "/arm/joint_trajectory/positions"),
        ("/arm/joint_trajectory/velocities", "/arm/joint_trajectory/velocities"),
        ("/ink", "/ink"),
        ("/markers/a/1", "/markers/a/1"),
        ("/roi", "/roi"),
    ]
    ink = views[3]
    assert all(ink.includes(f"/ink/ns/{index}") for index in range(5))
    # Without frames (a blueprint from archetype names only) nothing is taken for an overlay.
    plain = [view.origin for view in default_blueprint(entities).views() if view.kind is ViewKind.SPATIAL2D]
    assert "/detections" in plain


def _scenes(blueprint: Blueprint) -> dict[str, View]:
    return {view.name: view for view in blueprint.views() if view.kind is ViewKind.SPATIAL3D}


def test_without_tf_3d_entities_on_several_frames_get_a_view_of_their_frame() -> None:
    """Nothing relates frames in a recording without TF: Rerun's viewer drew nothing of one view holding
    them all (the GPS bag: audit). Each frame gets a view drawn in it; entities with no frame stay in the
    plain scene. With TF, one scene: an entity TF does not reach is left out there and named."""
    entities = {
        "/scan": {"Points3D", "CoordinateFrame"},
        "/vehicle_pose": {"InstancePoses3D", "CoordinateFrame"},
        "/vehicle_pose/trail": {"LineStrips3D", "CoordinateFrame"},
        "/camera/image": {"Image", "CoordinateFrame"},
        "/camera/info": {"Pinhole", "CoordinateFrame"},
        "/cmd_vel/arrow": {"Arrows3D"},
    }
    frames = {
        "/scan": "laser",
        "/vehicle_pose": "utm",
        "/vehicle_pose/trail": "utm",
        "/camera/image": "camera_image_plane",
        "/camera/info": "camera_image_plane",
    }
    apart = _scenes(default_blueprint(entities, frames=frames))
    assert sorted(apart) == ["Scene", "Scene (camera)", "Scene (laser)", "Scene (utm)"]
    utm = apart["Scene (utm)"]
    assert utm.settings == Spatial3DSettings(fixed_frame="utm")
    assert utm.includes("/vehicle_pose/trail")
    assert not utm.includes("/scan")
    assert apart["Scene"].includes("/cmd_vel/arrow")
    assert not apart["Scene"].includes("/vehicle_pose")
    assert isinstance(default_blueprint(entities, frames=frames).root, Container)
    together = _scenes(default_blueprint(entities, frames=frames, tf=True))
    assert list(together) == ["Scene"]
    assert all(together["Scene"].includes(path) for path in ("/scan", "/vehicle_pose", "/cmd_vel/arrow"))


def test_one_frame_and_no_tf_stays_one_scene() -> None:
    entities = {"/scan": {"Points3D", "CoordinateFrame"}, "/odom": {"InstancePoses3D", "CoordinateFrame"}}
    scenes = _scenes(default_blueprint(entities, frames={"/scan": "odom", "/odom": "odom"}))
    assert list(scenes) == ["Scene"]
    assert scenes["Scene"].settings == Spatial3DSettings()


def test_an_image_marker_cleared_at_the_end_still_overlays_its_image() -> None:
    """A removed or expired ImageMarker is cleared, frame and all, at its last row: its frame was read as
    none and it got a 2D view of its own, away from the image it annotates (audit)."""
    store = ChunkStore()
    store.append_row(
        "/camera/image_raw",
        {"ros_time": 1},
        {"Image:buffer": [np.zeros(4, np.uint8)], "CoordinateFrame:frame": ["camera_image_plane"]},
    )
    marker = "/camera/image_markers/shapes/6"
    store.append_row(
        marker,
        {"ros_time": 1},
        {"Points2D:positions": np.zeros((1, 2), np.float32), "CoordinateFrame:frame": ["camera_image_plane"]},
    )
    store.append_row(marker, {"ros_time": 2}, {"Clear:is_recursive": np.array([False])})
    store.flush()
    assert entity_frame(store, marker) == "camera_image_plane"
    views = [view for view in default_blueprint_of(store).views() if view.kind is ViewKind.SPATIAL2D]
    assert [view.origin for view in views] == ["/camera/image_raw"]
    assert views[0].includes(marker)


def test_a_scenarios_camera_view_also_shows_the_2d_shapes_on_its_images_frame() -> None:
    """The perception scenario's camera view names its image, not the detections and image markers drawn
    on that image's frame: it showed none of them, where the default layout overlays them (audit)."""
    store = ChunkStore()
    plane = {"CoordinateFrame:frame": ["camera_image_plane"]}
    store.append_row("/camera/image_raw", {"ros_time": 1}, {"Image:buffer": [np.zeros(4, np.uint8)], **plane})
    store.append_row("/camera/detections", {"ros_time": 1}, {"Boxes2D:half_sizes": np.ones((1, 2)), **plane})
    store.append_row(
        "/other/marker",
        {"ros_time": 1},
        {"Points2D:positions": np.zeros((1, 2)), "CoordinateFrame:frame": ["x"]},
    )
    store.flush()
    scenario = load_builtin("perception")
    camera = next(view for view in scenario.views() if view.origin == "/camera/image_raw")
    assert not camera.includes("/camera/detections")
    shown = with_image_overlays(scenario.root, store)
    views = [view for view in Blueprint("p", shown).views() if view.origin == "/camera/image_raw"]
    assert [view.includes("/camera/detections") for view in views] == [True]
    assert not views[0].includes("/other/marker")  # on another frame
    again = Blueprint("p", with_image_overlays(shown, store)).views()
    assert [view.contents for view in again] == [view.contents for view in Blueprint("p", shown).views()]
