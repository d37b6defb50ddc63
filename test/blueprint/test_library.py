"""The shipped blueprints: all load, round trip, export, document their bug and show our entity paths."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from rerun_bridge.blueprint.export import export_rbl
from rerun_bridge.blueprint.library import builtin_dir, builtin_names, candidate_dirs, load_builtin, resolve
from rerun_bridge.blueprint.loader import dump_blueprint, load_blueprint, parse_blueprint, parse_yaml
from rerun_bridge.blueprint.model import View, ViewKind
from rerun_bridge.blueprint.roles import resolve_roles
from rerun_bridge.config import BLUEPRINT_NAMES
from rerun_bridge.errors import ConfigError
from rerun_bridge.model.entity_path import normalize
from test.blueprint.rbl_reader import read_rbl

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "blueprints"


def test_the_shipped_blueprints_are_the_ones_the_config_names() -> None:
    assert builtin_names() == tuple(sorted(BLUEPRINT_NAMES))
    assert builtin_dir() == SHIPPED
    assert candidate_dirs()[0] == SHIPPED


@pytest.mark.parametrize("name", sorted(BLUEPRINT_NAMES))
def test_shipped_blueprint_loads_round_trips_and_exports(name: str, tmp_path: Path) -> None:
    blueprint = load_builtin(name)
    assert blueprint.name == name
    assert blueprint.description
    assert blueprint.timeline in ("ros_time", "log_time")
    assert parse_blueprint(parse_yaml(dump_blueprint(blueprint), name), name) == blueprint
    rbl = read_rbl(export_rbl(blueprint, tmp_path / f"{name}.rbl"))
    assert rbl.time_panel["TimePanelBlueprint:timeline"] == [blueprint.timeline]
    for view in blueprint.views():
        assert view.origin == normalize(view.origin)


@pytest.mark.parametrize("name", sorted(BLUEPRINT_NAMES))
def test_shipped_blueprint_header_names_the_bug(name: str) -> None:
    text = (SHIPPED / f"{name}.yaml").read_text(encoding="utf-8")
    header = text.split("\nname:")[0]
    assert header.startswith(f"# {name.capitalize()}: find")
    assert "The bug:" in header
    assert all(line.startswith("#") or not line for line in header.splitlines())


def _views(name: str, kind: ViewKind) -> list[View]:
    """The blueprint's views of ``kind``, its roles ($odometry) standing for their usual names (/odom)."""
    blueprint = load_builtin(name)
    resolved = dataclasses.replace(blueprint, root=resolve_roles(blueprint.root, None).root)
    return [view for view in resolved.views() if view.kind is kind]


def _shown(name: str, kind: ViewKind, entity: str) -> bool:
    return any(view.includes(entity) for view in _views(name, kind))


@pytest.mark.parametrize(
    ("name", "kind", "entities"),
    [
        ("perception", ViewKind.SPATIAL3D, ["/points", "/lidar/points", "/camera/camera_info", "/tf"]),
        ("perception", ViewKind.SPATIAL3D, ["/tf_static/camera_link", "/camera/image_raw"]),
        ("perception", ViewKind.SPATIAL2D, ["/camera/image_raw", "/points", "/camera/depth/image_raw"]),
        ("perception", ViewKind.TEXT_LOG, ["/rosout"]),
        ("navigation", ViewKind.SPATIAL3D, ["/map", "/global_costmap/costmap", "/local_costmap/costmap"]),
        ("navigation", ViewKind.SPATIAL3D, ["/plan", "/scan", "/odom", "/tf", "/tf_static/base_link"]),
        # A PoseArray's arrows and a pose's covariance are drawn below their topic.
        ("navigation", ViewKind.SPATIAL3D, ["/particle_cloud/arrows", "/amcl_pose/covariance"]),
        # A single pose's arrow, an odometry's covariance and trail.
        (
            "navigation",
            ViewKind.SPATIAL3D,
            ["/odom/arrow", "/odom/covariance", "/odom/trail", "/goal_pose/arrow"],
        ),
        ("navigation", ViewKind.SPATIAL3D, ["/robot_description/links/base_link/visual_0"]),
        # The arm itself: its links' meshes and the joints /joint_states moves.
        ("manipulation", ViewKind.SPATIAL3D, ["/robot_description/links/link1/visual_0"]),
        ("manipulation", ViewKind.SPATIAL3D, ["/robot_description/joints/joint1"]),
        ("localization", ViewKind.SPATIAL3D, ["/robot_description/links/base_link/visual_0"]),
        ("navigation", ViewKind.TIME_SERIES, ["/cmd_vel", "/odom/twist"]),
        ("manipulation", ViewKind.TIME_SERIES, ["/joint_states/position", "/joint_states/velocity"]),
        ("manipulation", ViewKind.TIME_SERIES, ["/joint_states/effort", "/wrench"]),
        ("manipulation", ViewKind.SPATIAL3D, ["/tf", "/tf_static/tool0", "/gripper_camera/camera_info"]),
        ("manipulation", ViewKind.SPATIAL2D, ["/gripper_camera/image_raw"]),
        ("localization", ViewKind.SPATIAL3D, ["/odom", "/odometry/filtered", "/amcl_pose", "/map", "/tf"]),
        ("localization", ViewKind.SPATIAL3D, ["/particle_cloud/arrows", "/amcl_pose/covariance"]),
        ("localization", ViewKind.SPATIAL3D, ["/odom/arrow", "/odometry/filtered/arrow", "/amcl_pose/arrow"]),
        ("localization", ViewKind.MAP, ["/gps/fix"]),
        ("localization", ViewKind.TIME_SERIES, ["/odom/twist", "/imu/data"]),
    ],
)
def test_shipped_blueprints_show_the_entities_our_converters_write(
    name: str, kind: ViewKind, entities: list[str]
) -> None:
    for entity in entities:
        assert _shown(name, kind, entity), f"{name}: no {kind.value} view shows {entity}"


@pytest.mark.parametrize(
    ("name", "images"),
    [
        ("navigation", ["/map/image", "/global_costmap/costmap/image", "/local_costmap/costmap/image"]),
        ("localization", ["/map/image"]),
    ],
)
def test_3d_views_leave_out_the_maps_images(name: str, images: list[str]) -> None:
    # Rerun's viewer marks an image in a 3D view without a camera as an error; the tiles draw the map.
    for image in images:
        assert not _shown(name, ViewKind.SPATIAL3D, image), f"{name}: a 3D view shows {image}"
        assert _shown(name, ViewKind.SPATIAL3D, image.replace("/image", "/tiles/0_0"))


def test_fixed_frames() -> None:
    frames = {name: [view.settings for view in _views(name, ViewKind.SPATIAL3D)] for name in BLUEPRINT_NAMES}
    assert [getattr(settings, "fixed_frame", None) for settings in frames["navigation"]] == ["map"]
    assert [getattr(settings, "fixed_frame", None) for settings in frames["localization"]] == ["map"]
    assert [getattr(settings, "fixed_frame", None) for settings in frames["perception"]] == ["base_link"]


def test_resolve_takes_names_and_paths(tmp_path: Path) -> None:
    assert resolve("navigation") == load_builtin("navigation")
    path = tmp_path / "mine.yaml"
    path.write_text("root: {view: text_log}\n", encoding="utf-8")
    assert resolve(str(path)) == load_blueprint(path)
    assert resolve(path).name == "mine"
    cwd = Path.cwd()
    try:
        os.chdir(tmp_path)
        assert resolve("mine.yaml").name == "mine"
    finally:
        os.chdir(cwd)


def test_resolve_errors_list_the_available_names(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"did you mean 'navigation'.*available: localization, manipulation"
    ):
        resolve("navigaton")
    with pytest.raises(ConfigError, match="unknown blueprint 'zzz': available: localization"):
        resolve("zzz")
    with pytest.raises(ConfigError, match=r"no such blueprint file.*shipped blueprints: localization"):
        resolve(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("root: {view: nope}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml: root\.view"):
        resolve(bad)
