"""Which TF frame names the 3D view draws: a few chosen ones, never a pile.

RViz's TF display shows every name by default and lets each frame's "show names" be turned off; on a
robot with dozens of frames at one spot that is an unreadable pile. Here the names drawn are the chosen
ones only (the frame the mouse is over, the fixed and followed frames, then the blueprint's
``frame_names``), at most :data:`MAX_FRAME_LABELS`, and a name is left out when it would land on one
already drawn (closer than ``min_separation`` in the scene).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final

import numpy as np
import numpy.typing as npt
from PyQt6 import QtCore, QtGui, QtWidgets

from rerun_bridge.viewer.views.offscreen_gl import SceneCanvas

#: The most TF frame names drawn at once; a tree with no more frames than this has all its names drawn
#: (still never two at one spot).
MAX_FRAME_LABELS: Final = 8
#: How close (pixels) the mouse must come to a frame's origin to show its name.
HOVER_RADIUS_PX: Final = 12.0


def labelled_frames(
    placed: Mapping[str, npt.NDArray[np.float32]],
    chosen: Iterable[str | None],
    min_separation: float,
    limit: int = MAX_FRAME_LABELS,
) -> list[str]:
    """The frames of ``chosen`` (first choice first) whose names are drawn: those placed in the scene,
    each at least ``min_separation`` from the ones before it, at most ``limit``."""
    labelled: list[str] = []
    origins: list[npt.NDArray[np.float32]] = []
    for frame in chosen:
        if len(labelled) >= limit:
            break
        if frame is None or frame in labelled or frame not in placed:
            continue
        origin = placed[frame]
        if any(float(np.linalg.norm(origin - other)) < min_separation for other in origins):
            continue
        labelled.append(frame)
        origins.append(origin)
    return labelled


def nearest_frame(
    pixels: Mapping[str, tuple[float, float]], cursor: tuple[float, float], radius_px: float
) -> str | None:
    """The frame whose origin is drawn closest to ``cursor`` (widget pixels), within ``radius_px``."""
    best: str | None = None
    best_distance = radius_px
    for frame, (x, y) in pixels.items():
        distance = float(np.hypot(x - cursor[0], y - cursor[1]))
        if distance <= best_distance:
            best, best_distance = frame, distance
    return best


def canvas_pixels(
    canvas: SceneCanvas, positions: Mapping[str, npt.NDArray[np.float32]]
) -> dict[str, tuple[float, float]]:
    """Where the canvas's camera draws each scene position (widget pixels); those behind it left out."""
    width, height = max(canvas.width(), 1), max(canvas.height(), 1)
    viewport = (0, 0, width, height)
    renderer = canvas.renderer
    camera = renderer.projectionMatrix(viewport, viewport) * renderer.viewMatrix()
    pixels: dict[str, tuple[float, float]] = {}
    for name, position in positions.items():
        x, y, z = (float(value) for value in position[:3])
        clip = camera.map(QtGui.QVector4D(x, y, z, 1.0))
        if clip.w() > 0:
            pixels[name] = ((clip.x() / clip.w() + 1) / 2 * width, (1 - clip.y() / clip.w()) / 2 * height)
    return pixels


class HoverTracker(QtCore.QObject):
    """Reports where the mouse moves over a widget (with no button held), and when it leaves."""

    def __init__(
        self, widget: QtWidgets.QWidget, moved: Callable[[tuple[float, float] | None], None]
    ) -> None:
        super().__init__(widget)
        self._moved = moved
        widget.setMouseTracking(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject | None, event: QtCore.QEvent | None) -> bool:  # noqa: N802
        if isinstance(event, QtGui.QMouseEvent) and event.type() == QtCore.QEvent.Type.MouseMove:
            if event.buttons() == QtCore.Qt.MouseButton.NoButton:
                self._moved((event.position().x(), event.position().y()))
        elif event is not None and event.type() == QtCore.QEvent.Type.Leave:
            self._moved(None)
        return False
