"""The window (default layout, entity tree, selection) and ``view --screenshot`` checked by pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rerun as rr
from PyQt6 import QtCore, QtGui, QtWidgets
from pytestqt.qtbot import QtBot

from rerun_bridge.blueprint.library import load_builtin
from rerun_bridge.blueprint.model import Spatial3DSettings, View, ViewKind
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.app import main, render_window
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.view_arguments import view_title
from rerun_bridge.viewer.views.image_view import ImageView
from rerun_bridge.viewer.views.map_view import MapView
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.views.text_log_view import TextLogView
from rerun_bridge.viewer.views.time_series_view import TimeSeriesView
from rerun_bridge.viewer.window import ViewerWindow
from test.viewer.conftest import START_NS, at, qimage_rgb, red_pixels, write_rrd
from test.viewer.test_spatial3d_view import CAMERA, project

pytestmark = pytest.mark.gui

NS = 1_000_000_000


def show(qtbot: QtBot, window: ViewerWindow, size: tuple[int, int] = (1280, 720)) -> ViewerWindow:
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_default_layout_has_one_view_per_kind_of_data(qtbot: QtBot, sample_store: ChunkStore) -> None:
    window = show(qtbot, ViewerWindow(sample_store))
    kinds = [(view.kind, view.origin) for view in window.view_nodes]
    assert kinds == [
        (ViewKind.SPATIAL3D, "/"),
        (ViewKind.SPATIAL2D, "/camera/image_raw"),
        (ViewKind.MAP, "/"),
        # A custom type without converter: its numeric fields are plotted.
        (ViewKind.TIME_SERIES, "/diagnostics_custom"),
        (ViewKind.TIME_SERIES, "/imu"),
        (ViewKind.TIME_SERIES, "/joint_states"),
        (ViewKind.TIME_SERIES, "/odom"),
        (ViewKind.TEXT_LOG, "/"),
    ]
    assert [type(view) for view in window.views] == [
        Spatial3DView,
        ImageView,
        MapView,
        TimeSeriesView,
        TimeSeriesView,
        TimeSeriesView,
        TimeSeriesView,
        TextLogView,
    ]
    window.time_panel.seek_offset(1.0)
    assert all(view.time == START_NS + NS for view in window.views)


def test_entity_tree_hides_entities_and_selection_shows_values(
    qtbot: QtBot, sample_store: ChunkStore
) -> None:
    window = show(qtbot, ViewerWindow(sample_store))
    (scene,) = window.views_of(Spatial3DView)
    assert isinstance(scene, Spatial3DView)
    assert "/lidar/points" in scene.points
    window.entity_tree.set_visible("/lidar", False)  # a parent hides its children
    assert "/lidar/points" not in scene.points
    assert "/scan" in scene.points
    # Their boxes are greyed out and locked: they read "shown" while hidden (audit).
    child = window.entity_tree.items["/lidar/points"]
    assert child.isDisabled()
    assert window.entity_tree.is_hidden("/lidar/points")
    assert not window.entity_tree.items["/scan"].isDisabled()
    window.entity_tree.set_visible("/lidar", True)
    assert "/lidar/points" in scene.points
    assert not child.isDisabled()
    assert not window.entity_tree.is_hidden("/lidar/points")

    window.time_panel.seek_offset(0.5)
    window.entity_tree.setCurrentItem(window.entity_tree.items["/rosout"])
    values = window.selection_panel.values()
    assert values["TextLog:level"] == "'DEBUG'"
    assert "lidar_driver" in values["TextLog:text"]
    window.time_panel.seek_offset(1.9)
    assert window.selection_panel.values()["TextLog:level"] == "'CRITICAL'"


def red_cloud_rrd(tmp_path: Path) -> Path:
    def log(rec: Any) -> None:
        rr.log(
            "/tf_static/sensor",
            rr.Transform3D(translation=[0.0, 2.0, 0.0], parent_frame="world", child_frame="sensor"),
            static=True,
            recording=rec,
        )
        at(rec, 0.0)
        rr.log("/cloud", rr.CoordinateFrame("sensor"), recording=rec)
        rr.log(
            "/cloud",
            rr.Points3D([[1.0, -1.0, 0.5]], colors=[[255, 0, 0]], radii=[-8.0]),
            recording=rec,
        )

    return write_rrd(tmp_path / "red_cloud.rrd", log)


def test_window_screenshot_puts_the_gl_picture_where_the_view_is(qtbot: QtBot, tmp_path: Path) -> None:
    store = load_files([red_cloud_rrd(tmp_path)]).store
    scene_view = View(ViewKind.SPATIAL3D, "3D", settings=Spatial3DSettings(grid=False))
    camera = {ViewKind.SPATIAL3D: {**CAMERA, "frames": False}}
    window = show(qtbot, ViewerWindow.from_layout(store, scene_view, view_settings=camera))
    picture = qimage_rgb(render_window(window))
    assert picture.shape[:2] == (720, 1280)
    (scene,) = window.views_of(Spatial3DView)
    assert isinstance(scene, Spatial3DView)
    origin = scene.canvas.mapTo(window, QtCore.QPoint(0, 0))
    expected_x, expected_y = project(np.array([1.0, 1.0, 0.5]), scene.canvas.width(), scene.canvas.height())
    rows, columns = np.nonzero(red_pixels(picture))
    assert len(rows) > 50
    assert abs(columns.mean() - (origin.x() + expected_x)) < 2.0
    assert abs(rows.mean() - (origin.y() + expected_y)) < 2.0


def test_view_command_writes_the_screenshot_of_the_chosen_moment(
    qapp: QtWidgets.QApplication, sample_bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shots = []
    for seconds in (0.2, 0.7):
        output = tmp_path / f"shot_{seconds}.png"
        status = main(
            [str(sample_bag), "--timeline", "ros_time", "--time", str(seconds), "--screenshot", str(output)]
        )
        assert status == 0
        image = QtGui.QImage(str(output))
        assert (image.width(), image.height()) == (1280, 720)
        shots.append(qimage_rgb(image))
    assert red_pixels(shots[0]).sum() > 100  # the camera's red square at least
    assert not np.array_equal(shots[0], shots[1])  # another moment, another picture
    assert "no converter for sample_msgs/msg/Status" in capsys.readouterr().err


def test_view_command_errors(
    qapp: QtWidgets.QApplication, sample_bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([]) == 2
    assert main([str(tmp_path / "missing.rrd")]) == 2  # an unreadable input, as for convert
    assert "missing.rrd: no such file or folder" in capsys.readouterr().err
    empty = tmp_path / "empty.rrd"
    empty.write_bytes(b"")
    assert main([str(empty)]) == 2  # named once ("empty.rrd: empty.rrd: not a .rrd file", exit 1: audit)
    assert capsys.readouterr().err.strip() == f"error: {empty}: not a .rrd file (no RRF2 stream header)"
    assert main([str(sample_bag), "--timeline", "frames", "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "no timeline 'frames'" in capsys.readouterr().err
    assert main([str(sample_bag), "--blueprint", "perceptoin", "--screenshot", str(tmp_path / "y.png")]) == 2
    assert "unknown blueprint 'perceptoin': did you mean 'perception'?" in capsys.readouterr().err
    config = tmp_path / "bridge.yaml"
    config.write_text("custom_types:\n  leaf_scalars: -1\n", encoding="utf-8")
    assert main([str(sample_bag), "--config", str(config), "--screenshot", str(tmp_path / "z.png")]) == 2
    assert f"{config}: custom_types.leaf_scalars: expected an integer >= 0" in capsys.readouterr().err


def test_view_without_a_display_says_so_instead_of_aborting(
    sample_bag: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Qt aborts the whole process (exit 134, a core dump) when it finds no display; checked before it.
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main([str(sample_bag)]) == 2
    assert "the viewer cannot open: no display" in capsys.readouterr().err
    assert main(["--connect", "grpc://127.0.0.1:9"]) == 2
    assert "xvfb-run" in capsys.readouterr().err


def test_view_command_lays_out_a_shipped_blueprint(
    qtbot: QtBot, sample_bag: Path, sample_store: ChunkStore, tmp_path: Path
) -> None:
    output = tmp_path / "perception.png"
    assert main([str(sample_bag), "--blueprint", "perception", "--screenshot", str(output)]) == 0
    assert QtGui.QImage(str(output)).size() == QtCore.QSize(1280, 720)
    window = show(qtbot, ViewerWindow(sample_store, load_builtin("perception").root))
    titles = [view_title(view) for view in window.view_nodes]
    assert titles[:3] == ["Scene (base_link)", "Camera + cloud", "Depth"]
    (scene, *_) = window.views_of(Spatial3DView)
    assert isinstance(scene, Spatial3DView)
    assert scene.fixed_frame("ros_time") == "base_link"
    assert set(scene.points) == {"/lidar/points", "/scan"}  # the blueprint's contents ($scan): no /odom


def test_static_only_data_is_shown_without_any_timeline(qtbot: QtBot) -> None:
    store = ChunkStore()
    store.append_row("/map", {}, {"Points3D:positions": np.zeros((4, 3), np.float32)}, static=True)
    window = show(qtbot, ViewerWindow(store), size=(800, 500))
    assert window.time_panel.timeline is None
    (scene,) = window.views_of(Spatial3DView)
    assert isinstance(scene, Spatial3DView)
    assert len(scene.points["/map"].pos) == 4


def test_dragging_the_time_slider_moves_every_view(qtbot: QtBot, sample_store: ChunkStore) -> None:
    window = show(qtbot, ViewerWindow(sample_store))
    slider = window.time_panel.slider
    start, end = window.time_panel.time_range
    option = QtWidgets.QStyleOptionSlider()
    slider.initStyleOption(option)
    style = slider.style()
    assert style is not None
    handle = style.subControlRect(
        QtWidgets.QStyle.ComplexControl.CC_Slider, option, QtWidgets.QStyle.SubControl.SC_SliderHandle, slider
    )
    assert handle.center().x() < slider.width() // 4  # at the start
    bot: Any = qtbot
    target = QtCore.QPoint(slider.width() * 3 // 4, handle.center().y())
    bot.mousePress(slider, QtCore.Qt.MouseButton.LeftButton, pos=handle.center())
    bot.mouseMove(slider, pos=QtCore.QPoint(slider.width() // 2, handle.center().y()))
    bot.mouseMove(slider, pos=target)
    bot.mouseRelease(slider, QtCore.Qt.MouseButton.LeftButton, pos=target)
    time = window.time_panel.current_time
    assert start + (end - start) // 2 < time < end
    assert all(view.time == time for view in window.views)
    assert window.time_panel.time_label.text().startswith(f"{window.time_panel.offset_of(time):.3f} s")
