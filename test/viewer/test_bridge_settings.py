"""The bridge config's ``tf`` section in the live viewer: ``fixed_frame`` and ``cache_time_s`` act."""

from __future__ import annotations

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from rerun_bridge.blueprint.model import Spatial3DSettings, View, ViewKind
from rerun_bridge.config import TfConfig
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.viewer.bridge_settings import live_window_options
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.window import ViewerWindow
from test.viewer.conftest import qimage_rgb, red_pixels

pytestmark = pytest.mark.gui

NS = 1_000_000_000


def driving_store() -> ChunkStore:
    """odom -> base_link, one sample a second for 30 s, moving 1 m/s along x; a red point at base_link."""
    store = ChunkStore()
    for second in range(31):
        store.append_row(
            "/tf/base_link",
            {"ros_time": second * NS},
            {
                "Transform3D:parent_frame": ["odom"],
                "Transform3D:child_frame": ["base_link"],
                "Transform3D:translation": np.array([[float(second), 0.0, 0.0]]),
                "Transform3D:quaternion": np.array([[0.0, 0.0, 0.0, 1.0]]),
            },
        )
    store.append_row(
        "/robot",
        {"ros_time": 0},
        {
            "Points3D:positions": np.zeros((1, 3), dtype=np.float32),
            "Points3D:colors": np.array([0xFF0000FF], dtype=np.uint32),
            "Points3D:radii": np.array([-8.0], dtype=np.float32),
            "CoordinateFrame:frame": ["base_link"],
        },
    )
    store.flush()
    return store


def live_window(qtbot: QtBot, tf: TfConfig, layout: View | None = None) -> ViewerWindow:
    store = driving_store()
    transforms, view_settings = live_window_options(store, tf)
    window = ViewerWindow(store, layout, transforms, view_settings=view_settings)
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    return window


def scene(window: ViewerWindow) -> Spatial3DView:
    (view,) = window.views_of(Spatial3DView)
    assert isinstance(view, Spatial3DView)
    return view


def test_the_config_fixed_frame_is_the_3d_views_frame(qtbot: QtBot) -> None:
    window = live_window(qtbot, TfConfig(fixed_frame="base_link"))
    window.seek("ros_time", 25 * NS)
    view = scene(window)
    assert view.fixed_frame("ros_time") == "base_link"
    np.testing.assert_allclose(view.points["/robot"].pos, np.zeros((1, 3)), atol=1e-6)
    assert red_pixels(qimage_rgb(view.canvas.picture())).any()


def test_a_blueprint_fixed_frame_wins_over_the_config(qtbot: QtBot) -> None:
    layout = View(ViewKind.SPATIAL3D, origin="/", settings=Spatial3DSettings(fixed_frame="odom"))
    window = live_window(qtbot, TfConfig(fixed_frame="base_link"), layout)
    window.seek("ros_time", 25 * NS)
    assert scene(window).fixed_frame("ros_time") == "odom"


def test_a_config_fixed_frame_missing_from_the_tree_falls_back_with_a_note(qtbot: QtBot) -> None:
    window = live_window(qtbot, TfConfig(fixed_frame="map"))
    window.seek("ros_time", 25 * NS)
    view = scene(window)
    assert view.fixed_frame("ros_time") == "odom"
    assert "fixed frame 'map' is not in the TF tree: drawn in 'odom' (roots: odom)" in view.note.text()
    assert red_pixels(qimage_rgb(view.canvas.picture())).any()


def test_cache_time_bounds_the_live_tf_buffer(qtbot: QtBot) -> None:
    """With a 10 s cache, base_link at 5 s is no longer known: it is held at the oldest kept sample (20 s),
    as the viewer holds the nearest sample outside its data; without a bound it is where it was."""
    bounded = live_window(qtbot, TfConfig(cache_time_s=10.0)).transforms
    at_five = bounded.transform("ros_time", "odom", "base_link", 5 * NS)
    assert at_five is not None
    np.testing.assert_allclose(at_five.translation, [20.0, 0.0, 0.0])
    roomy = live_window(qtbot, TfConfig(cache_time_s=60.0)).transforms
    kept = roomy.transform("ros_time", "odom", "base_link", 5 * NS)
    assert kept is not None
    np.testing.assert_allclose(kept.translation, [5.0, 0.0, 0.0])
