"""Blueprints (the YAML model) turned into the viewer's layout specs; what is left out is reported."""

from __future__ import annotations

import pytest

from rerun_bridge.blueprint import model
from rerun_bridge.blueprint.library import builtin_names, load_builtin
from rerun_bridge.blueprint.model import ViewKind
from rerun_bridge.errors import ConfigError
from rerun_bridge.viewer.blueprint_layout import layout_from_blueprint, load_blueprint_layout
from rerun_bridge.viewer.layout import ContainerKind, ContainerSpec, ViewSpec, iter_views
from rerun_bridge.viewer.views.base import EntityFilter


def test_perception_blueprint_becomes_specs() -> None:
    converted = layout_from_blueprint(load_builtin("perception"))
    assert converted.timeline == "ros_time"
    assert converted.notes == []
    views = {view.name: view for view in iter_views(converted.layout)}
    scene = views["Scene (base_link)"]
    assert scene.kind is ViewKind.SPATIAL3D
    assert scene.settings["fixed_frame"] == "base_link"
    assert scene.settings["point_radius"] == -1.5
    assert "/lidar/points/**" in scene.include
    camera = views["Camera + cloud"]
    assert camera.origin == "/camera/image_raw"
    assert EntityFilter(camera.origin, camera.include, camera.exclude).matches("/camera/image_raw")
    assert EntityFilter(camera.origin, camera.include, camera.exclude).matches("/lidar/points")
    assert not EntityFilter(camera.origin, camera.include, camera.exclude).matches("/scan")
    assert views["Depth"].settings == {"depth_range_m": (0.2, 10.0), "colormap": "turbo"}
    assert views["Warnings (TF staleness)"].settings["levels"] == ("WARN", "ERROR", "CRITICAL")
    assert views["IMU"].settings["visible_range_s"] == 20
    root = converted.layout
    assert isinstance(root, ContainerSpec)
    assert root.kind is ContainerKind.VERTICAL
    assert root.shares == (3.0, 1.0)


@pytest.mark.parametrize("name", builtin_names())
def test_every_shipped_blueprint_converts(name: str) -> None:
    converted = layout_from_blueprint(load_builtin(name))
    assert list(iter_views(converted.layout))
    for note in converted.notes:
        assert "not supported" in note or "3D views only" in note


def test_styles_reach_3d_views_are_noted_elsewhere_and_grids_become_rows() -> None:
    views = [
        model.View(model.ViewKind.TIME_SERIES, name=f"plot {index}", origin=f"/plot{index}")
        for index in range(5)
    ]
    blueprint = model.Blueprint(
        "test",
        model.Container(
            model.ContainerKind.GRID,
            (
                *views,
                model.View(
                    model.ViewKind.TENSOR,
                    name="tensor",
                    styles={"/t": model.EntityStyle(color=model.Color(0, 0, 255))},
                ),
                model.View(model.ViewKind.TEXT_LOG, name="hidden log", visible=False),
                model.View(
                    model.ViewKind.SPATIAL3D,
                    name="scene",
                    styles={
                        "/noise": model.EntityStyle(visible=False),
                        "/cloud": model.EntityStyle(color=model.Color(255, 0, 0)),
                        "/scan": model.EntityStyle(radius=-4.0),
                    },
                    settings=model.Spatial3DSettings(eye=model.EyeKind.TOP_DOWN),
                ),
            ),
            grid_columns=3,
        ),
    )
    converted = layout_from_blueprint(blueprint)
    assert converted.timeline is None
    assert converted.notes == ["view 'tensor': per-entity colours and radii are applied in 3D views only"]
    root = converted.layout
    assert isinstance(root, ContainerSpec)
    assert [len(row.children) for row in root.children if isinstance(row, ContainerSpec)] == [3, 3, 1]
    names = [view.name for view in iter_views(root)]
    assert names == ["plot 0", "plot 1", "plot 2", "plot 3", "plot 4", "tensor", "scene"]
    assert iter_views(root)[5].kind is ViewKind.TENSOR
    scene = iter_views(root)[-1]
    assert isinstance(scene, ViewSpec)
    assert scene.exclude == ("/noise",)
    assert scene.settings["styles"] == {
        "/cloud": {"color": (255, 0, 0, 255), "radius": None},
        "/scan": {"color": None, "radius": -4.0},
    }
    assert (scene.settings["camera_elevation"], scene.settings["camera_azimuth"]) == (90.0, -90.0)
    assert not EntityFilter(scene.origin, scene.include, scene.exclude).matches("/noise")


def test_unknown_blueprints_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown blueprint 'perceptoin'"):
        load_blueprint_layout("perceptoin")
