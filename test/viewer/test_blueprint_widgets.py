"""Blueprints (the model) built into the window's widgets: views get their patterns and settings, the
widgets nest like the tree, and what the viewer leaves out is reported."""

from __future__ import annotations

import pytest
from PyQt6 import QtCore, QtWidgets
from pytestqt.qtbot import QtBot

from rerun_bridge.blueprint import model
from rerun_bridge.blueprint.library import builtin_names, load_builtin, resolve
from rerun_bridge.blueprint.model import ViewKind
from rerun_bridge.blueprint.roles import resolve_roles
from rerun_bridge.errors import ConfigError
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.layout_widgets import ContainerGrid, ContainerSplitter, ViewFrame
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.view_arguments import view_title, widget_arguments
from rerun_bridge.viewer.views.base import EntityFilter
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.window import VIEW_CLASSES, ViewerWindow
from rviz_compat.rviz_import import import_rviz
from test.conftest import NEATO_BAG, SHARED_DATA


def test_perception_blueprint_gives_its_views_their_patterns_and_settings() -> None:
    blueprint = load_builtin("perception")
    assert blueprint.timeline == "ros_time"
    views = {view.name: widget_arguments(view) for view in blueprint.views()}
    assert all(arguments.notes == [] for arguments in views.values())
    scene = views["Scene (base_link)"]
    assert scene.settings["fixed_frame"] == "base_link"
    assert scene.settings["point_radius"] == -1.5
    assert "/lidar/points/**" in scene.include
    (camera_view,) = (view for view in blueprint.views() if view.name == "Camera + cloud")
    camera = views["Camera + cloud"]
    assert camera_view.origin == "/camera/image_raw"
    assert EntityFilter(camera_view.origin, camera.include, camera.exclude).matches("/camera/image_raw")
    assert EntityFilter(camera_view.origin, camera.include, camera.exclude).matches("/lidar/points")
    assert not EntityFilter(camera_view.origin, camera.include, camera.exclude).matches("/scan")
    assert views["Depth"].settings == {"depth_range_m": (0.2, 10.0), "colormap": "turbo"}
    assert views["Warnings (TF staleness)"].settings["levels"] == ("WARN", "ERROR", "CRITICAL")
    assert views["IMU"].settings["visible_range_s"] == 20
    root = blueprint.root
    assert isinstance(root, model.Container)
    assert root.kind is model.ContainerKind.VERTICAL
    assert root.shares == (3.0, 1.0)


@pytest.mark.parametrize("name", builtin_names())
def test_every_shipped_blueprint_gives_widget_arguments(name: str) -> None:
    views = list(load_builtin(name).views())
    assert views
    for view in views:
        for note in widget_arguments(view).notes:
            assert "not supported" in note or "3D views only" in note


SCENE = model.View(
    model.ViewKind.SPATIAL3D,
    name="scene",
    styles={
        "/noise": model.EntityStyle(visible=False),
        "/cloud": model.EntityStyle(color=model.Color(255, 0, 0)),
        "/scan": model.EntityStyle(radius=-4.0),
    },
    settings=model.Spatial3DSettings(eye=model.EyeKind.TOP_DOWN),
)
STYLED_TENSOR = model.View(
    model.ViewKind.TENSOR, name="tensor", styles={"/t": model.EntityStyle(color=model.Color(0, 0, 255))}
)


def test_styles_reach_3d_views_and_are_noted_elsewhere() -> None:
    scene = widget_arguments(SCENE)
    assert scene.notes == []
    assert scene.exclude == ("/noise",)
    assert scene.settings["styles"] == {
        "/cloud": {"color": (255, 0, 0, 255), "radius": None},
        "/scan": {"color": None, "radius": -4.0},
    }
    assert (scene.settings["camera_elevation"], scene.settings["camera_azimuth"]) == (90.0, -90.0)
    assert not EntityFilter(SCENE.origin, scene.include, scene.exclude).matches("/noise")
    tensor = widget_arguments(STYLED_TENSOR)
    assert tensor.notes == ["view 'tensor': per-entity colours and radii are applied in 3D views only"]
    assert "styles" not in tensor.settings
    first_person = model.View(
        model.ViewKind.SPATIAL3D, settings=model.Spatial3DSettings(eye=model.EyeKind.FIRST_PERSON)
    )
    assert widget_arguments(first_person).notes == [
        "view 'spatial3d /': eye first_person is not supported; the orbit camera is used"
    ]
    # Rerun's viewer turns the picture upside down for this; the embedded one keeps +z up, and says so.
    upside_down = model.View(
        model.ViewKind.SPATIAL3D,
        settings=model.Spatial3DSettings(eye_position=(6.0, 0.0, 4.0), eye_up=(0.0, 0.0, -1.0)),
    )
    assert widget_arguments(upside_down).notes == [
        "view 'spatial3d /': eye_up is taken only looking straight down; +z is up"
    ]


@pytest.mark.gui
def test_a_grid_is_built_in_rows_of_its_columns_and_hidden_views_are_left_out(qtbot: QtBot) -> None:
    plots = tuple(
        model.View(model.ViewKind.TIME_SERIES, name=f"plot {index}", origin=f"/plot{index}")
        for index in range(5)
    )
    hidden_log = model.View(model.ViewKind.TEXT_LOG, name="hidden log", visible=False)
    grid = model.Container(
        model.ContainerKind.GRID, (*plots, STYLED_TENSOR, hidden_log, SCENE), grid_columns=3
    )
    window = ViewerWindow(ChunkStore(), grid)
    qtbot.addWidget(window)
    assert window.notes == ["view 'tensor': per-entity colours and radii are applied in 3D views only"]
    assert "3D views only" in window.scenario_note.text()
    area = window.view_area
    assert isinstance(area, ContainerGrid)
    layout = area.layout()
    assert isinstance(layout, QtWidgets.QGridLayout)
    rows: dict[int, list[str]] = {}
    for index in range(layout.count()):
        row, _, _, _ = layout.getItemPosition(index)
        item = layout.itemAt(index)
        assert item is not None
        frame = item.widget()
        assert isinstance(frame, ViewFrame)
        rows.setdefault(row, []).append(view_title(frame.node))
    assert rows == {
        0: ["plot 0", "plot 1", "plot 2"],
        1: ["plot 3", "plot 4", "tensor"],
        2: ["scene"],
    }
    assert [view_title(view) for view in window.view_nodes] == [*rows[0], *rows[1], *rows[2]]
    assert [type(view) for view in window.views] == [VIEW_CLASSES[view.kind] for view in window.view_nodes]
    (scene,) = window.views_of(Spatial3DView)
    assert not scene.entity_filter.matches("/noise")
    assert window.layout_tree() == model.Container(
        model.ContainerKind.GRID, (*plots, STYLED_TENSOR, SCENE), grid_columns=3
    )


@pytest.mark.gui
def test_splitters_take_the_shares_and_tabs_hold_their_children(qtbot: QtBot) -> None:
    blueprint = load_builtin("perception")
    window = ViewerWindow(ChunkStore(), blueprint.root)
    qtbot.addWidget(window)
    area = window.view_area
    assert isinstance(area, ContainerSplitter)
    assert area.orientation() == QtCore.Qt.Orientation.Vertical
    # Its roles ($scan) stand for their usual names in an empty store, as the window resolves them.
    assert window.layout_tree() == resolve_roles(blueprint.root, None).root
    assert [view_title(view) for view in window.view_nodes] == [view_title(v) for v in blueprint.views()]
    assert ViewKind.SPATIAL3D in {view.kind for view in window.view_nodes}


@pytest.mark.parametrize(
    "rules",
    [(), ("- /tf_static/**",), ("+ /scan", "- /scan"), ("+ /odom/**", "- /odom/trail"), ("+ $origin",)],
)
def test_view_widgets_select_what_the_blueprint_model_includes(rules: tuple[str, ...]) -> None:
    # Rerun's rule: an entity no rule includes is not shown; contents that include nothing show nothing.
    view = model.View(ViewKind.SPATIAL3D, origin="/odom", contents=tuple(map(model.ContentRule.parse, rules)))
    arguments = widget_arguments(view)
    widget_filter = EntityFilter(view.origin, arguments.include, arguments.exclude)
    for entity in ("/scan", "/odom", "/odom/trail", "/tf_static/base_link"):
        assert widget_filter.matches(entity) == view.includes(entity), (rules, entity)


@pytest.mark.gui
def test_an_rviz_config_of_a_bare_grid_shows_a_grid_only(qtbot: QtBot) -> None:
    # RViz's default config has a Grid display and nothing else; its 3D view used to show every entity.
    store = load_files([NEATO_BAG], warn=lambda _: None).store
    blueprint = import_rviz(SHARED_DATA / "rviz" / "rviz_default.rviz").blueprint
    window = ViewerWindow(store, blueprint.root)
    qtbot.addWidget(window)
    (scene,) = window.views_of(Spatial3DView)
    assert store.entities()
    assert not [entity for entity in store.entities() if scene.entity_filter.matches(entity)]


def test_unknown_blueprints_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown blueprint 'perceptoin'"):
        resolve("perceptoin")
