"""A lazily opened .rrd in the window: scrubbing loads chunks, unloads past the budget, draws as if eager."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PyQt6 import QtGui
from pytestqt.qtbot import QtBot

from rerun_bridge.blueprint.model import Spatial3DSettings, View, ViewKind
from rerun_bridge.viewer.app import main, render_window
from rerun_bridge.viewer.sources import LoadedFiles, load_files, show_time
from rerun_bridge.viewer.views.spatial3d_view import Spatial3DView
from rerun_bridge.viewer.window import ViewerWindow
from test.conftest import verify_rrd
from test.replay.test_lazy_bag import write_chunked_bag
from test.store.test_lazy_rrd import CHUNKS, POINTS, ROWS_PER_CHUNK, write_chunked_recording
from test.viewer.conftest import qimage_rgb
from test.viewer.test_spatial3d_view import CAMERA

pytestmark = pytest.mark.gui

ONE_CLOUD_CHUNK = ROWS_PER_CHUNK * POINTS * 3 * 4


def cloud_pixels(rgb: np.ndarray[Any, np.dtype[np.uint8]]) -> int:
    """Pixels of the clouds' default blue points in a picture of the 3D view."""
    red, blue = rgb[..., 0].astype(int), rgb[..., 2].astype(int)
    return int(((blue - red) > 60).sum())


def scene_of(screenshot: np.ndarray[Any, np.dtype[np.uint8]]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The 3D view's part of a 1280x720 screenshot of the default layout (above the plot, right of
    the entity tree): the slider's blue stays out."""
    return screenshot[80:460, 250:1270]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_chunked_recording(tmp_path_factory.mktemp("lazy_window") / "chunked.rrd")
    verify_rrd(path)
    return path


def scene_window(qtbot: QtBot, loaded: LoadedFiles) -> ViewerWindow:
    scene = View(ViewKind.SPATIAL3D, "3D", settings=Spatial3DSettings(grid=False))
    window = ViewerWindow.from_layout(
        loaded.store, scene, view_settings={ViewKind.SPATIAL3D: {**CAMERA, "frames": False}}
    )
    if loaded.lazy:
        window.set_data_loader(lambda timeline, time: show_time(loaded, timeline, time))
    qtbot.addWidget(window)
    window.resize(800, 600)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_scrubbing_a_lazy_recording_draws_what_the_eager_one_draws(qtbot: QtBot, recording: Path) -> None:
    eager = scene_window(qtbot, load_files([recording]))
    lazy_files = load_files([recording], memory_budget_bytes=3 * ONE_CLOUD_CHUNK)
    lazy = scene_window(qtbot, lazy_files)
    loader = lazy_files.lazy[0]
    assert lazy.time_panel.time_range == eager.time_panel.time_range  # known before it is loaded
    assert lazy.time_panel.timeline == eager.time_panel.timeline == "log_time"
    for position in (0.8, 0.1, 0.5, 0.95, 0.1):
        for window in (eager, lazy):
            window.time_panel.slider.setValue(round(window.time_panel.slider.maximum() * position))
        assert lazy.time_panel.current_time == eager.time_panel.current_time
        shown = qimage_rgb(render_window(lazy))
        assert np.array_equal(shown, qimage_rgb(render_window(eager))), position
        (scene,) = lazy.views_of(Spatial3DView)
        assert isinstance(scene, Spatial3DView)
        assert cloud_pixels(qimage_rgb(scene.canvas.picture())) > 100  # the cloud is drawn
    assert loader.counts.unloads > 0
    assert loader.loaded_chunks < CHUNKS


def test_view_screenshots_a_lazy_recording_as_an_eager_one(tmp_path: Path, recording: Path) -> None:
    """``--memory-budget 0`` keeps only what the moment shown needs; the picture is the same."""
    shots = []
    for budget in ("0", "1024"):
        output = tmp_path / f"shot_{budget}.png"
        arguments = [str(recording), "--memory-budget", budget, "--time", "2.55", "--screenshot", str(output)]
        assert main(arguments) == 0
        shots.append(qimage_rgb(QtGui.QImage(str(output))))
    assert np.array_equal(shots[0], shots[1])
    assert cloud_pixels(scene_of(shots[0])) > 100


def test_view_reads_a_cut_off_recording_with_progress_and_shows_what_it_holds(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.rrd"
    data = recording.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    output = tmp_path / "cut.png"
    assert main([str(cut), "--time", "1.0", "--screenshot", str(output)]) == 0
    errors = capsys.readouterr().err
    assert "reading cut.rrd (no index): 0%" in errors
    assert "reading cut.rrd (no index): 40%" in errors
    assert "no chunk index" in errors
    assert "ends inside a message" in errors
    shot = qimage_rgb(QtGui.QImage(str(output)))
    assert cloud_pixels(scene_of(shot)) > 100  # the clouds it holds are drawn


@pytest.fixture(scope="module")
def chunked_bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_chunked_bag(tmp_path_factory.mktemp("lazy_window_bag"))


def test_view_shows_a_bag_through_its_chunk_index_as_converted_whole(
    tmp_path: Path, chunked_bag: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--memory-budget 0`` opens the bag lazily on log_time; a budget it fits converts it whole, with a
    progress line. The 3D scene and the camera image are the same; plots and the map track show the
    loaded stretch only (docs/viewer.md), so they are left out."""
    shots = []
    for budget in ("0", "1024"):
        output = tmp_path / f"bag_{budget}.png"
        arguments = [
            str(chunked_bag),
            "--memory-budget",
            budget,
            "--time",
            "1.5",
            "--screenshot",
            str(output),
        ]
        assert main([*arguments, "--timeline", "log_time"]) == 0
        shots.append(qimage_rgb(QtGui.QImage(str(output))).astype(np.int16))
        errors = capsys.readouterr().err
        lazily = budget == "0"
        assert ("converting chunked.mcap: 100%" in errors) != lazily
    for rows, columns in ((slice(80, 460), slice(250, 930)), (slice(60, 240), slice(940, 1270))):
        lazy, whole = shots[0][rows, columns], shots[1][rows, columns]
        differing = (np.abs(lazy - whole).sum(axis=2) > 30).mean()
        assert differing < 0.005, differing
        assert (np.abs(lazy - lazy[0, 0]).sum(axis=2) > 30).mean() > 0.05  # something is drawn


def test_a_plot_counts_time_from_where_the_time_panel_does(qtbot: QtBot) -> None:
    """A bag opened lazily learned its ros_time start as chunks loaded (100.60 s, then 101.55 s): the plots
    counted from the store's new start, the time panel from the first, and every curve and the cursor
    read about 0.95 s off the time the panel showed. Its chunks' spans are now declared on ros_time too,
    so the start is known from the opening and stays; the plots and the panel count from it alike."""
    from rerun_bridge.viewer.views.time_series_view import TimeSeriesView
    from test.conftest import ABITOBOT_BAG

    loaded = load_files([ABITOBOT_BAG], memory_budget_bytes=1)
    window = ViewerWindow.from_layout(loaded.store, [View(ViewKind.TIME_SERIES, origin="/")])
    qtbot.addWidget(window)
    window.resize(900, 500)
    window.show()
    qtbot.waitExposed(window)
    window.set_data_loader(lambda timeline, time: show_time(loaded, timeline, time))
    window.time_panel.set_timeline("ros_time")
    (plot,) = window.views_of(TimeSeriesView)
    assert isinstance(plot, TimeSeriesView)
    panel = window.time_panel
    starts = set()
    for seconds in (1, 30, 60, 90):
        panel.seek_offset(seconds)
        starts.add(loaded.store.time_range("ros_time")[0])  # type: ignore[index]
        assert plot.time_cursor.value() == pytest.approx(panel.offset_of(panel.current_time))
    assert len(starts) == 1  # declared at opening: loading chunks no longer moves it


def test_a_time_outside_the_data_is_said(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--time 999` on a shorter recording showed its end without a word (README audit)."""
    assert main([str(recording), "--time", "999", "--screenshot", str(tmp_path / "end.png")]) == 0
    assert "note: --time 999 lies outside the data: shown at " in capsys.readouterr().err
    assert main([str(recording), "--time", "1.0", "--screenshot", str(tmp_path / "inside.png")]) == 0
    assert "lies outside the data" not in capsys.readouterr().err
