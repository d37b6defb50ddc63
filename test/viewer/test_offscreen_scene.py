"""The 3D view renders offscreen: its window holds no GL widget, repaints reuse the picture, and mouse
input on the canvas still moves the camera."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PyQt6 import QtCore, QtOpenGLWidgets, QtWidgets
from pytestqt.qtbot import QtBot

from rerun_bridge.blueprint.model import Spatial3DSettings, View, ViewKind
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.window import ViewerWindow
from test.viewer.conftest import qimage_rgb, red_pixels, wheel_up
from test.viewer.test_spatial3d_view import CAMERA, make_view, scene_store

pytestmark = pytest.mark.gui

CLUSTER = np.array([1.0, -1.0, 0.5]) + 0.02 * np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]])


def red_centre(view: Spatial3DView) -> tuple[float, float]:
    rows, columns = np.nonzero(red_pixels(qimage_rgb(view.canvas.grab().toImage())))
    assert len(rows) > 20
    return float(columns.mean()), float(rows.mean())


def test_a_window_with_a_3d_view_holds_no_gl_widget_and_repaints_reuse_the_picture(qtbot: QtBot) -> None:
    scene_view = View(ViewKind.SPATIAL3D, "3D", settings=Spatial3DSettings(grid=False))
    window = ViewerWindow.from_layout(
        scene_store(CLUSTER), scene_view, view_settings={ViewKind.SPATIAL3D: {**CAMERA, "frames": False}}
    )
    qtbot.addWidget(window)
    window.resize(800, 600)
    window.show()
    qtbot.waitExposed(window)
    # A QOpenGLWidget anywhere in a window makes Qt compose the whole window through GL on every frame.
    assert window.findChildren(QtOpenGLWidgets.QOpenGLWidget) == []
    (scene,) = window.views_of(Spatial3DView)
    assert isinstance(scene, Spatial3DView)
    qtbot.waitUntil(lambda: scene.canvas.renders > 0, timeout=2000)  # the first paint after showing
    scene.canvas.repaint()
    rendered = scene.canvas.renders
    assert rendered >= 1
    scene.canvas.repaint()
    scene.canvas.repaint()
    assert scene.canvas.renders == rendered  # nothing changed in the scene: the same picture
    scene.set_time("ros_time", 150)
    scene.canvas.repaint()
    assert scene.canvas.renders == rendered + 1
    assert len(np.nonzero(red_pixels(qimage_rgb(window.grab().toImage())))[0]) > 20


def test_dragging_on_the_canvas_orbits_and_the_wheel_zooms(qtbot: QtBot) -> None:
    view = make_view(qtbot, scene_store(CLUSTER))
    view.set_time("ros_time", 150)
    before = red_centre(view)
    azimuth = view.gl_view.opts["azimuth"]
    bot: Any = qtbot  # pytest-qt's QTest wrappers are untyped
    start = QtCore.QPoint(300, 200)
    bot.mousePress(view.canvas, QtCore.Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 5):
        bot.mouseMove(view.canvas, start + QtCore.QPoint(20 * step, 0))
    bot.mouseRelease(view.canvas, QtCore.Qt.MouseButton.LeftButton, pos=start + QtCore.QPoint(80, 0))
    assert view.gl_view.opts["azimuth"] != azimuth
    after = red_centre(view)
    assert abs(after[0] - before[0]) > 10, "the picture did not follow the camera"

    distance = view.gl_view.opts["distance"]
    QtWidgets.QApplication.sendEvent(view.canvas, wheel_up(QtCore.QPointF(300, 200)))
    assert view.gl_view.opts["distance"] < distance
