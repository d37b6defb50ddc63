"""A pyqtgraph GL scene rendered offscreen and shown as an image in a plain (raster) widget.

Why: as soon as a ``QOpenGLWidget`` is part of a window, Qt composes that whole window through OpenGL on
every flush. With software GL (Mesa llvmpipe: CI, remote desktops) that costs more than all the views'
own painting together. Here the :class:`SceneRenderer` (a ``GLViewWidget``, for its items and camera)
never joins the window and is never initialized by Qt: it draws with a GL context, an offscreen surface
and a framebuffer object of its own when the :class:`SceneCanvas` paints, only when the scene or the size
changed since the last picture, and the canvas paints that picture like any other widget. (Letting Qt
render the hidden widget, ``grabFramebuffer`` after a resize, crashed Mesa now and then.) Mouse and
wheel events on the canvas drive the renderer's orbit / pan / zoom camera.

Text labels (TF frame names) are painted by the canvas over the picture, at their projection through the
renderer's camera: pyqtgraph's ``GLTextItem`` paints with a ``QPainter`` on the GL widget itself, which
crashes (SIGSEGV in ``QPainter``) when that widget is not on screen.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyqtgraph.opengl as gl
from OpenGL import GL
from PyQt6 import QtCore, QtGui, QtOpenGL, QtWidgets, sip


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
        self._gl: _OffscreenGL | None = None

    def update(self, *args: object) -> None:
        # Items and the camera call update() after every change: the canvas shows the next picture.
        if self._changed is not None:
            self._changed()

    def projectionMatrix(self, region: Sequence[int], viewport: Sequence[int]) -> QtGui.QMatrix4x4:  # noqa: N802
        """pyqtgraph's perspective with ``fov`` taken vertically, as RViz and Rerun's viewer take it
        (pyqtgraph spans it across the width): a camera placed where RViz looked shows as much ground
        over the view's height, whatever the view's shape."""
        x0, y0, width, height = viewport
        near = float(self.opts["distance"]) * 0.001
        top = near * math.tan(0.5 * math.radians(float(self.opts["fov"])))
        right = top * width / max(height, 1)
        matrix = QtGui.QMatrix4x4()
        matrix.frustum(
            right * ((region[0] - x0) * (2.0 / width) - 1),
            right * ((region[0] + region[2] - x0) * (2.0 / width) - 1),
            top * ((region[1] - y0) * (2.0 / height) - 1),
            top * ((region[1] + region[3] - y0) * (2.0 / height) - 1),
            near,
            near * 1e6,
        )
        return matrix

    def pixelSize(self, pos: Any) -> Any:  # noqa: N802 (pyqtgraph's name)
        """pyqtgraph's size of a pixel at ``pos`` (panning by mouse), with ``fov`` over the height."""
        return super().pixelSize(pos) * max(self.width(), 1) / max(self.height(), 1)

    def render_image(self, width: int, height: int) -> QtGui.QImage:
        """The scene drawn at ``width`` x ``height`` pixels."""
        if self._gl is None:
            self._gl = _OffscreenGL()
        with self._gl.drawing(max(width, 1), max(height, 1)) as framebuffer:
            for item in self.items:  # what initializeGL does for a widget Qt shows
                if not item.isInitialized():
                    item.initialize()
            region = (0, 0, framebuffer.width(), framebuffer.height())
            GL.glViewport(*region)
            self.paint(region=region, viewport=region)
            return framebuffer.toImage()

    def release_gl(self) -> None:
        """Free the GL context and framebuffer (with the canvas: a context each piles up otherwise)."""
        if self._gl is not None:
            self._gl.release()
            self._gl = None


class _OffscreenGL:
    """A GL context current on an offscreen surface, drawing into a framebuffer object kept at the size
    last asked for. Contexts share with Qt's global share context (pyqtgraph keeps compiled shaders per
    item class, which must be valid in every renderer's context)."""

    def __init__(self) -> None:
        self.context = QtGui.QOpenGLContext()
        self.context.setFormat(QtGui.QSurfaceFormat.defaultFormat())
        share = _share_context()
        if share is not None:
            self.context.setShareContext(share)
        if not self.context.create():
            raise RuntimeError("cannot create an OpenGL context for the 3D view")
        self.surface = QtGui.QOffscreenSurface()
        self.surface.setFormat(self.context.format())
        self.surface.create()
        self.framebuffer: QtOpenGL.QOpenGLFramebufferObject | None = None

    @contextlib.contextmanager
    def drawing(self, width: int, height: int) -> Iterator[QtOpenGL.QOpenGLFramebufferObject]:
        if not self.context.makeCurrent(self.surface):
            raise RuntimeError("cannot make the 3D view's OpenGL context current")
        try:
            if self.framebuffer is None or self.framebuffer.size() != QtCore.QSize(width, height):
                self.framebuffer = None  # the old one goes while its context is current
                self.framebuffer = QtOpenGL.QOpenGLFramebufferObject(
                    width, height, QtOpenGL.QOpenGLFramebufferObject.Attachment.CombinedDepthStencil
                )
            self.framebuffer.bind()
            try:
                yield self.framebuffer
            finally:
                self.framebuffer.release()
        finally:
            self.context.doneCurrent()

    def release(self) -> None:
        # At application exit Qt may have deleted the context and surface already (a view closed by the
        # window's teardown): then there is nothing left to free.
        if sip.isdeleted(self.context) or sip.isdeleted(self.surface):
            self.framebuffer = None
            return
        if self.framebuffer is not None and self.context.makeCurrent(self.surface):
            self.framebuffer = None
            self.context.doneCurrent()
        self.framebuffer = None
        self.surface.destroy()


_SHARE: list[QtGui.QOpenGLContext] = []


def _share_context() -> QtGui.QOpenGLContext | None:
    """Qt's global share context when the application has one (AA_ShareOpenGLContexts), else one of
    ours, made once, that every renderer shares with."""
    share = QtGui.QOpenGLContext.globalShareContext()
    if share is not None:
        return share
    if not _SHARE:
        root = QtGui.QOpenGLContext()
        root.setFormat(QtGui.QSurfaceFormat.defaultFormat())
        if not root.create():
            return None
        _SHARE.append(root)
    return _SHARE[0]


class SceneCanvas(QtWidgets.QWidget):
    """Shows what a :class:`SceneRenderer` draws, at the canvas's size, and forwards camera input."""

    #: The user turned, moved or zoomed the camera (a drag or the wheel).
    camera_moved = QtCore.pyqtSignal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.renderer = SceneRenderer(self.mark_changed)
        # The renderer has no parent (a parent would put it in the window): it goes with the canvas, and
        # its GL context with it. Left to Python's collector, contexts piled up until Mesa could not make
        # a new one, and grabbing a picture crashed on the missing context.
        self.destroyed.connect(self.renderer.release_gl)
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
            ratio = self.devicePixelRatioF()
            picture = self.renderer.render_image(round(self.width() * ratio), round(self.height() * ratio))
            picture.setDevicePixelRatio(ratio)
            self._picture = picture
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
        if event is not None and event.buttons() != QtCore.Qt.MouseButton.NoButton:
            self.camera_moved.emit()
        self.mark_changed()

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent | None) -> None:  # noqa: N802 (Qt's name)
        self.renderer.mouseReleaseEvent(event)

    def wheelEvent(self, event: QtGui.QWheelEvent | None) -> None:  # noqa: N802 (Qt's name)
        self.renderer.wheelEvent(event)
        self.camera_moved.emit()
