"""2D shapes on an image's frame drawn over that image in the default layout, checked by pixels: the
rerun_supported recording's RegionOfInterest, placed on the camera's image plane by the topic option
``camera_frame``, outlines its box on the ``/image`` view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PyQt6 import QtCore
from pytestqt.qtbot import QtBot

from rerun_bridge.cli import main
from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.pipeline import Pipeline
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.layout_widgets import ViewFrame
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.views.image_view import ImageView
from rerun_bridge.viewer.window import ViewerWindow
from test.conftest import RERUN_SUPPORTED_MCAP
from test.convert.golden_harness import golden_cases
from test.convert.test_golden_rrd import feed
from test.viewer.conftest import qimage_rgb

pytestmark = pytest.mark.gui

ROI = "/region_of_interest"


def converted_with_camera(tmp_path: Path) -> Path:
    """The recording converted with its RegionOfInterest on the image plane of ``base_link`` (the frame
    its images carry)."""
    config = tmp_path / "bridge.yaml"
    config.write_text(f"topics:\n  {ROI}:\n    options: {{camera_frame: base_link}}\n")
    rrd = tmp_path / "rerun_supported.rrd"
    assert main(["convert", str(RERUN_SUPPORTED_MCAP), "-o", str(rrd), "--config", str(config), "-q"]) == 0
    return rrd


def image_view(window: ViewerWindow, origin: str) -> ImageView:
    views = [frame.view for frame in window.view_area.findChildren(ViewFrame)]
    (found,) = [view for view in views if isinstance(view, ImageView) and view.origin == origin]
    return found


def test_a_region_of_interest_outlines_its_box_over_the_image(qtbot: QtBot, tmp_path: Path) -> None:
    store = load_files([converted_with_camera(tmp_path)]).store
    window = ViewerWindow(store)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    # The box joins both images of its frame; it has no 2D view of its own.
    assert ROI in image_view(window, "/compressed_image").entities_with("Boxes2D:half_sizes")
    view = image_view(window, "/image")
    assert view.entities_with("Boxes2D:half_sizes") == [ROI]
    assert not [frame for frame in window.view_area.findChildren(ViewFrame) if frame.view.origin == ROI]

    timeline = "log_time"
    end = store.time_range(timeline)
    assert end is not None
    view.update_data(timeline, end[1])
    with_box = qimage_rgb(view.graphics.grab().toImage())
    view.set_entity_visible(ROI, False)
    view.update_data(timeline, end[1])
    without_box = qimage_rgb(view.graphics.grab().toImage())
    changed = np.argwhere(np.any(with_box != without_box, axis=2))
    assert len(changed) > 20

    # The changed pixels are the outline of the logged box, mapped through the view's pixel placement.
    values = store.latest_at(ROI, timeline, end[1])
    center = values["Boxes2D:centers"][0].values.to_numpy()
    half = values["Boxes2D:half_sizes"][0].values.to_numpy()
    corners = []
    for x, y in ((center - half), (center + half)):
        scene = view.viewbox.mapViewToScene(QtCore.QPointF(float(x), float(y)))
        widget = view.graphics.mapFromScene(scene)
        corners.append((widget.x(), widget.y()))
    (left, top), (right, bottom) = corners
    rows, cols = changed[:, 0], changed[:, 1]
    ratio = view.graphics.devicePixelRatioF()
    assert abs(cols.min() / ratio - left) <= 3
    assert abs(cols.max() / ratio - right) <= 3
    assert abs(rows.min() / ratio - top) <= 3
    assert abs(rows.max() / ratio - bottom) <= 3
    # Inside the outline the image is untouched.
    middle = ((top + bottom) / 2 * ratio, (left + right) / 2 * ratio)
    assert not np.any(np.all(changed == np.round(middle).astype(int), axis=1))


def test_joint_trajectory_curves_get_a_2d_view_of_their_own_that_fits_them(qtbot: QtBot) -> None:
    """The golden JointTrajectory case through real CDR and the pipeline: each of its curve entities
    (positions, velocities) has its own 2D view in the default layout, and the view fits the curves."""
    (case,) = [case for case in golden_cases() if case.name == "trajectory_msgs/joint_trajectory"]
    store = ChunkStore()
    pipeline = Pipeline([StoreSink(store)], converters=BUILTIN_CONVERTERS)
    feed(case, pipeline)
    store.flush()
    window = ViewerWindow(store)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    entity = f"/{case.name}/positions"
    view = image_view(window, entity)
    assert view.entities_with("LineStrips2D:strips") == [entity]
    assert image_view(window, f"/{case.name}/velocities")
    end = store.time_range("log_time")
    assert end is not None
    view.set_time("log_time", end[1])
    picture = qimage_rgb(view.graphics.grab().toImage())
    lit = np.argwhere(np.any(picture > 40, axis=2))
    height, width = picture.shape[:2]
    assert len(lit) > 50
    # Fitted: the curves (time 0..2.5 s) reach across most of the view, not a dot in a corner.
    assert np.ptp(lit[:, 1]) > width / 2
    assert np.ptp(lit[:, 0]) > height / 4
