"""Viewer test fixtures: a small sample recording, a tiny .rrd, and the GUI marker.

GUI tests (``@pytest.mark.gui``) need a real X display with GL (Mesa llvmpipe under Xvfb works; Qt's
offscreen platform has no usable GL): run them with ``xvfb-run -a -s "-screen 0 1920x1080x24" pytest``.
Without a display they are skipped, not crashed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PyQt6 import QtCore, QtGui, QtWidgets
from pytestqt.qtbot import QtBot

from rerun_bridge.demo.sample_bag import SampleSpec, write_sample
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView

# pyqtgraph caches GL shader programs per class: every GL widget must share one context family, and the
# attribute only counts when set before the QApplication (pytest-qt's qapp) exists.
QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

#: Small enough to convert in well under a second, rich enough for every view.
SMALL_SAMPLE = SampleSpec(
    duration_s=2.0,
    name="viewer",
    cloud_count=10,
    cloud_points=512,
    image_count=20,
    imu_hz=50.0,
    tf_hz=20.0,
    joint_hz=20.0,
    odom_hz=10.0,
    log_lines=6,
)
START_NS = SMALL_SAMPLE.start_ns


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "gui: needs an X display with OpenGL (run under xvfb-run)")


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY")) and os.environ.get("QT_QPA_PLATFORM", "xcb") == "xcb"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _has_display():
        return
    skip = pytest.mark.skip(reason="no X display: run the viewer tests under xvfb-run")
    for item in items:
        if item.get_closest_marker("gui") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sample_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample(tmp_path_factory.mktemp("viewer_sample") / "bag", SMALL_SAMPLE)


@pytest.fixture(scope="session")
def sample_store(sample_bag: Path) -> ChunkStore:
    """The sample bag in a store (shared: tests must not append to it)."""
    return load_files([sample_bag]).store


def write_rrd(path: Path, log: Any) -> Path:
    """An .rrd written by rerun-sdk: ``log(rec)`` logs into a fresh recording stream."""
    import rerun as rr

    rec = rr.RecordingStream("viewer_test", recording_id="viewer_test")
    rec.set_log_time_enabled(False)  # log_time comes from at(), as ros_time does
    rec.save(str(path))
    log(rec)
    rec.flush()
    rec.disconnect()
    return path


def at(rec: Any, offset_s: float) -> None:
    """Set ``ros_time`` to ``offset_s`` after the sample's start on a recording stream, and ``log_time``
    with it, as the bridge's recordings have them (rerun-sdk would stamp ``log_time`` with today's wall
    clock, years from these stamps, and the viewer would then open on ``log_time``; :func:`write_rrd`
    turns that off)."""
    import rerun as rr

    stamp = np.datetime64(START_NS + round(offset_s * 1e9), "ns")
    rr.set_time("ros_time", timestamp=stamp, recording=rec)
    rr.set_time("log_time", timestamp=stamp, recording=rec)


def qimage_rgb(image: QtGui.QImage) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A QImage as an (H, W, 3) RGB array."""
    converted = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    height, width, stride = converted.height(), converted.width(), converted.bytesPerLine()
    bits = converted.constBits()
    assert bits is not None
    raw = np.frombuffer(bits.asstring(converted.sizeInBytes()), dtype=np.uint8).reshape(height, stride)
    return raw[:, : width * 3].reshape(height, width, 3).copy()


def red_pixels(rgb: np.ndarray[Any, np.dtype[np.uint8]]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    red, green, blue = (rgb[..., channel].astype(np.int16) for channel in range(3))
    mask: np.ndarray[Any, np.dtype[np.bool_]] = (red > 180) & (green < 80) & (blue < 80)
    return mask


def settle(app: QtWidgets.QApplication, rounds: int = 5) -> None:
    for _ in range(rounds):
        app.processEvents()


# pytest-qt's QTest wrappers are untyped: these typed helpers keep the tests under mypy --strict.


def click(qtbot: QtBot, widget: QtWidgets.QWidget, pos: QtCore.QPoint | None = None) -> None:
    """A left click (at ``pos``, else the widget's centre)."""
    bot: Any = qtbot
    if pos is None:
        bot.mouseClick(widget, QtCore.Qt.MouseButton.LeftButton)
    else:
        bot.mouseClick(widget, QtCore.Qt.MouseButton.LeftButton, pos=pos)


def press(qtbot: QtBot, widget: QtWidgets.QWidget, key: QtCore.Qt.Key) -> None:
    bot: Any = qtbot
    bot.keyClick(widget, key)


def type_text(qtbot: QtBot, widget: QtWidgets.QWidget, text: str) -> None:
    bot: Any = qtbot
    bot.keyClicks(widget, text)


def drawn_pixels(view: Spatial3DView, entity: str) -> int:
    """Pixels that change when ``entity`` is hidden: what the view draws of it."""
    shown = qimage_rgb(view.canvas.picture()).astype(np.int16)
    view.set_entity_visible(entity, False)
    hidden = qimage_rgb(view.canvas.picture()).astype(np.int16)
    view.set_entity_visible(entity, True)
    return int((np.abs(shown - hidden).sum(axis=2) > 30).sum())


def orbit_pixel(
    point: npt.ArrayLike, camera: Mapping[str, Any], width: int, height: int
) -> tuple[float, float]:
    """Pixel (column, row) of a world point for pyqtgraph's orbit camera given as the 3D view's camera
    settings (its fov spans the height, as RViz's and Rerun's do)."""
    azimuth, elevation = math.radians(camera["camera_azimuth"]), math.radians(camera["camera_elevation"])
    center = np.array(camera["camera_center"], dtype=float)
    eye = center + camera["camera_distance"] * np.array(
        [
            math.cos(elevation) * math.cos(azimuth),
            math.cos(elevation) * math.sin(azimuth),
            math.sin(elevation),
        ]
    )
    forward = (center - eye) / np.linalg.norm(center - eye)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    relative = np.asarray(point, dtype=float) - eye
    half_height = (relative @ forward) * math.tan(math.radians(camera["camera_fov"]) / 2)
    half_width = half_height * width / height
    return width / 2 * (1 + (relative @ right) / half_width), height / 2 * (1 - (relative @ up) / half_height)


def wheel_up(at: QtCore.QPointF) -> QtGui.QWheelEvent:
    """One notch of the mouse wheel (zoom in) at ``at``, as Qt delivers it to a widget."""
    return QtGui.QWheelEvent(
        at,
        at,
        QtCore.QPoint(0, 0),
        QtCore.QPoint(0, 120),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        QtCore.Qt.ScrollPhase.NoScrollPhase,
        False,
    )
