"""The scenario dropdown: qtbot picks entries like a user, the views are laid out again while time,
timeline and hidden entities carry over; a broken blueprint file leaves the layout as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
from PyQt6 import QtWidgets
from pytestqt.qtbot import QtBot

from rerun_bridge.blueprint.library import builtin_names
from rerun_bridge.blueprint.model import ViewKind
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.scenarios import DEFAULT_SCENARIO, shipped_scenarios
from rerun_bridge.viewer.view_arguments import view_title
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.window import ViewerWindow
from test.viewer.conftest import START_NS, click

pytestmark = pytest.mark.gui

NS = 1_000_000_000


def open_window(qtbot: QtBot, store: ChunkStore, scenario: str | None = None) -> ViewerWindow:
    window = ViewerWindow(store, scenario=scenario)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    return window


def choose_from_dropdown(qtbot: QtBot, box: QtWidgets.QComboBox, key: str) -> None:
    """Open the dropdown with a click and click the entry, as a user does (and, as a user would, again
    if a busy machine let the popup take the click for the one that opened it)."""
    popup = box.view()
    assert popup is not None
    for _attempt in range(3):
        click(qtbot, box)
        qtbot.waitUntil(popup.isVisible, timeout=2000)
        # The popup ignores a release within a double-click interval of opening (a click-and-hold guard).
        qtbot.wait(QtWidgets.QApplication.doubleClickInterval() + 100)
        model = box.model()
        assert model is not None
        rect = popup.visualRect(model.index(box.findData(key), 0))
        viewport = popup.viewport()
        assert viewport is not None
        click(qtbot, viewport, rect.center())
        qtbot.waitUntil(lambda: not popup.isVisible(), timeout=2000)
        if box.currentData() == key:
            return
    assert box.currentData() == key


def test_dropdown_offers_the_default_then_every_shipped_blueprint(
    qtbot: QtBot, sample_store: ChunkStore
) -> None:
    window = open_window(qtbot, sample_store)
    assert window.scenario_keys() == [DEFAULT_SCENARIO, *builtin_names()]
    assert window.scenario_box.currentData() == DEFAULT_SCENARIO
    descriptions = {entry.key: entry.description for entry in shipped_scenarios()}
    assert "misalignment" in descriptions["perception"]


def test_choosing_scenarios_relays_out_the_views_live(qtbot: QtBot, sample_store: ChunkStore) -> None:
    window = open_window(qtbot, sample_store)
    default_titles = [view_title(view) for view in window.view_nodes]
    window.time_panel.seek_offset(1.0)
    window.entity_tree.set_visible("/lidar", False)
    old_views = list(window.views)

    choose_from_dropdown(qtbot, window.scenario_box, "perception")
    assert window.scenario == "perception"
    assert [view_title(view) for view in window.view_nodes][:3] == [
        "Scene (base_link)",
        "Camera + cloud",
        "Depth",
    ]
    assert not set(map(id, window.views)) & set(map(id, old_views))
    assert all(view.time == START_NS + NS for view in window.views)  # the moment carried over
    (scene, *_) = window.views_of(Spatial3DView)
    assert isinstance(scene, Spatial3DView)
    assert scene.fixed_frame("ros_time") == "base_link"
    assert "/lidar/points" not in scene.points  # still hidden by the entity tree
    window.entity_tree.set_visible("/lidar", True)
    assert "/lidar/points" in scene.points

    window.time_panel.seek_offset(1.5)  # the new views follow the time panel
    assert all(view.time == START_NS + round(1.5 * NS) for view in window.views)

    # navigation starts on log_time: the timeline switches, the offset from its start stays.
    choose_from_dropdown(qtbot, window.scenario_box, "navigation")
    assert window.time_panel.timeline == "log_time"
    assert window.time_panel.offset_of(window.time_panel.current_time) == pytest.approx(1.5)
    assert ViewKind.TIME_SERIES in {view.kind for view in window.view_nodes}

    # perception is on ros_time; back on the default layout, the data's own timeline (it stayed on the
    # scenario's, where the default layout's header-less plots had no samples: audit).
    choose_from_dropdown(qtbot, window.scenario_box, "perception")
    assert window.time_panel.timeline == "ros_time"
    choose_from_dropdown(qtbot, window.scenario_box, DEFAULT_SCENARIO)
    assert [view_title(view) for view in window.view_nodes] == default_titles
    assert window.time_panel.timeline == "log_time"


def test_a_broken_blueprint_file_keeps_the_layout_and_says_why(
    qtbot: QtBot, sample_store: ChunkStore, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nroot:\n  view: spatial3d\n  setings: {}\n")
    window = open_window(qtbot, sample_store)
    titles = [view_title(view) for view in window.view_nodes]
    assert not window.set_scenario(str(broken))
    assert [view_title(view) for view in window.view_nodes] == titles
    assert window.scenario == DEFAULT_SCENARIO
    assert window.scenario_box.currentData() == DEFAULT_SCENARIO
    note = window.scenario_note.text()
    assert "broken.yaml" in note
    assert "root.setings: unknown key (did you mean 'settings'?)" in note


def test_a_blueprint_file_joins_the_dropdown(qtbot: QtBot, sample_store: ChunkStore, tmp_path: Path) -> None:
    layout_file = tmp_path / "just_plots.yaml"
    layout_file.write_text(
        "name: just_plots\nroot:\n  view: time_series\n  name: IMU plot\n  origin: /imu/data\n"
    )
    window = open_window(qtbot, sample_store)
    assert window.set_scenario(str(layout_file))
    assert window.scenario_keys()[-1] == str(layout_file)
    assert window.scenario_box.currentText() == "just_plots"
    assert [view_title(view) for view in window.view_nodes] == ["IMU plot"]
    choose_from_dropdown(qtbot, window.scenario_box, "manipulation")
    assert window.scenario == "manipulation"
