"""A pyqtgraph GL scene rendered offscreen and shown as an image in a plain (raster) widget.

Why: as soon as a ``QOpenGLWidget`` is part of a window, Qt composes that whole window through OpenGL on
every flush. With software GL (Mesa llvmpipe: CI, remote desktops) that costs more than all the views'
own painting together. Here the :class:`SceneRenderer` (a ``GLViewWidget``) never joins the window: it
renders into its own framebuffer object when the :class:`SceneCanvas` paints, only when the scene or the
size changed since the last picture, and the canvas paints that picture like any other widget. Mouse and
wheel events on the canvas drive the renderer's orbit / pan / zoom camera.

Text labels (TF frame names) are painted by the canvas over the picture, at their projection through the
renderer's camera: pyqtgraph's ``GLTextItem`` paints with a ``QPainter`` on the GL widget itself, which
crashes (SIGSEGV in ``QPainter``) when that widget is not on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyqtgraph.opengl as gl
from PyQt6 import QtCore, QtGui, QtWidgets


@dataclass(slots=True)
class SceneLabel:
    """Text at a point of the scene (scene units), painted over the rendered picture."""

    text: str
    pos: npt.NDArray[np.float32]
    color: QtGui.QColor


class SceneRenderer(gl.GLViewWidget):  # type: ignore[misc]  # pyqtgraph is untyped
    """A ``GLViewWidget`` kept out of every window; ``changed`` is called whenever it would repaint."""

    def __init__(self, changed: Callable[[], None]) -> None:
        self._changed: Callable[[], None] | None = None  # the base constructor already calls update()
        super().__init__()
        self._changed = changed

    def update(self, *args: object) -> None:
        # Items and the camera call update() after every change: the canvas shows the next picture.
        if self._changed is not None:
            self._changed()


class SceneCanvas(QtWidgets.QWidget):
    """Shows what a :class:`SceneRenderer` draws, at the canvas's size, and forwards camera input."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.renderer = SceneRenderer(self.mark_changed)
        # The renderer has no parent (a parent would put it in the window): it goes with the canvas, and
        # its GL context with it. Left to Python's collector, contexts piled up until Mesa could not make
        # a new one, and grabbing a picture crashed on the missing context.
        self.destroyed.connect(self.renderer.deleteLater)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)
        self.setMinimumSize(16, 16)
        self._picture: QtGui.QImage | None = None
        #: Labels painted over the picture, by name.
        self.labels: dict[str, SceneLabel] = {}
        #: How many pictures the renderer has made (tests check that unchanged scenes are not redrawn).
        self.renders = 0

    def mark_changed(self) -> None:
        self._picture = None
        self.update()

    def picture(self) -> QtGui.QImage:
        """The scene at the canvas's size, rendered again only when something changed."""
        if self.renderer.size() != self.size():
            self.renderer.resize(self.size())
            self._picture = None
        if self._picture is None:
            self._picture = self.renderer.grabFramebuffer()
            self.renders += 1
        return self._picture

    def paintEvent(self, event: QtGui.QPaintEvent | None) -> None:  # noqa: N802 (Qt's name)
        painter = QtGui.QPainter(self)
        try:
            painter.drawImage(self.rect(), self.picture())
            self.paint_labels(painter)
        finally:
            painter.end()

    def label_positions(self) -> dict[str, QtCore.QPointF]:
        """Where each label lands on the canvas, through the renderer's camera; labels behind the camera
        are left out."""
        width, height = max(self.width(), 1), max(self.height(), 1)
        viewport = (0, 0, width, height)
        camera = self.renderer.projectionMatrix(viewport, viewport) * self.renderer.viewMatrix()
        positions: dict[str, QtCore.QPointF] = {}
        for name, label in self.labels.items():
            x, y, z = (float(value) for value in label.pos[:3])
            clip = camera.map(QtGui.QVector4D(x, y, z, 1.0))
            if clip.w() <= 0:
                continue
            ndc_x, ndc_y = clip.x() / clip.w(), clip.y() / clip.w()
            positions[name] = QtCore.QPointF((ndc_x + 1) / 2 * width, (1 - ndc_y) / 2 * height)
        return positions

    def paint_labels(self, painter: QtGui.QPainter) -> None:
        """The labels' text at their projections, with ``painter`` (on the canvas, or a picture of it)."""
        if not self.labels:
            return
        painter.setFont(QtGui.QFont("Sans", 8))
        for name, point in self.label_positions().items():
            label = self.labels[name]
            painter.setPen(label.color)
            painter.drawText(point, label.text)

    # -- camera input, handled by pyqtgraph's GLViewMixin ----------------------------------------------

    def mousePressEvent(self, event: QtGui.QMouseEvent | None) -> None:  # noqa: N802 (Qt's name)
        self.renderer.mousePressEvent(event)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent | None) -> None:  # noqa: N802 (Qt's name)
        self.renderer.mouseMoveEvent(event)
        self.mark_changed()

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent | None) -> None:  # noqa: N802 (Qt's name)
        self.renderer.mouseReleaseEvent(event)

    def wheelEvent(self, event: QtGui.QWheelEvent | None) -> None:  # noqa: N802 (Qt's name)
        self.renderer.wheelEvent(event)
