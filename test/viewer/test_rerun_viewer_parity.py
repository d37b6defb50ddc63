"""Our .rrd files in what users open them in: Rerun's own viewer, drawing the blueprint convert embeds.

Rerun's native viewer runs here under Xvfb with Mesa's Vulkan driver (software rendering) and writes a
screenshot. The checks are on pixels: the navigation scenario's 3D view must draw the Neato's scan, which
the scenario styles red. Before the exported fixed frame fell back to the recording's root, that view named
the missing `map` frame and Rerun drew it empty, with an error.

The perception, manipulation and localization scenarios on the built-in sample recording (a camera, a
lidar, TF, joint states, GPS: no file in ../shared/data has a camera with a cloud or an arm's TF): each
view shown on opening (the first tab of a tab container) draws something in Rerun's viewer exactly when the
embedded viewer's layout gives it data, and stays empty ("No data available.") when ours has none for it
either (the sample has no depth camera, gripper camera or wrench). Before TF entities got Rerun's axes
visualizer in the export, the manipulation scenario's arm view (TF only) was empty in Rerun.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rerun_bridge.blueprint.library import resolve
from rerun_bridge.blueprint.model import iter_views
from rerun_bridge.blueprint.roles import resolve_roles
from rerun_bridge.cli import main
from rerun_bridge.demo.sample_bag import write_sample
from rerun_bridge.replay import convert_bags
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from test.conftest import NEATO_BAG, RERUN_CLI
from test.network import free_port

pytestmark = pytest.mark.xdist_group("rerun_viewer")

#: Where the 3D view of the navigation scenario lies in Rerun's 2560 x 1440 screenshot of a 1280 x 720
#: window (rows, columns): the middle of the viewport, clear of panels, tabs and notifications.
VIEW_REGION = (slice(200, 700), slice(800, 1600))


def rerun_screenshot(recording: Path, shot: Path) -> np.ndarray:
    env = {**os.environ, "WGPU_BACKEND": "vulkan"}
    # A port of its own on loopback: on the default 9876 a viewer already running (another test's) would be
    # handed the file instead, and no screenshot written.
    viewer_port = ["--bind", "127.0.0.1", "--port", str(free_port())]
    result = subprocess.run(
        [
            str(RERUN_CLI),
            str(recording),
            *viewer_port,
            "--screenshot-to",
            str(shot),
            "--window-size",
            "1280x720",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.exists(), f"Rerun's viewer wrote no screenshot: {result.stderr[-2000:]}"
    return np.asarray(Image.open(shot).convert("RGB")).astype(np.int32)


def test_rerun_draws_the_scan_of_the_exported_navigation_scenario(tmp_path: Path) -> None:
    converted = tmp_path / "neato.rrd"
    assert main(["convert", str(NEATO_BAG), "-o", str(converted), "--blueprint", "navigation", "-q"]) == 0
    pixels = rerun_screenshot(converted, tmp_path / "rerun.png")
    assert pixels.shape == (1440, 2560, 3)
    region = pixels[VIEW_REGION]
    red = (region[..., 0] > 180) & (region[..., 1] < 80) & (region[..., 2] < 80)
    assert int(red.sum()) > 200, "the scan, styled red by the scenario, is not drawn in Rerun's 3D view"


Region = tuple[slice, slice]
#: Per scenario, per view name: where the view's drawing lies in Rerun's 2560 x 1440 screenshot (rows,
#: columns; Rerun's layout of the scenario in a 1280 x 720 window, found on its screenshots), kept clear
#: of titles, and left of the middle where the pointer of the virtual screen raises a hover tooltip; all
#: end at column 1880, left of Rerun's notifications (software rasterizer, container), whose coloured
#: icons lie at column ~1926 while they show.
SCENARIO_VIEWS: dict[str, dict[str, Region]] = {
    "perception": {
        "Scene (base_link)": (slice(140, 800), slice(410, 860)),
        "Camera + cloud": (slice(130, 570), slice(1700, 1880)),
        "Depth": (slice(640, 810), slice(1200, 1880)),
        "Warnings (TF staleness)": (slice(970, 1050), slice(710, 860)),  # the level column
    },
    "manipulation": {
        "Arm (base_link)": (slice(130, 530), slice(410, 1430)),
        "Gripper camera": (slice(130, 570), slice(1450, 1880)),
        "Joint positions": (slice(640, 1050), slice(410, 860)),
    },
    "localization": {
        "Map frame": (slice(130, 530), slice(410, 1430)),
        "GPS": (slice(130, 720), slice(1450, 1880)),
        "Odometry twist": (slice(800, 1050), slice(410, 860)),
    },
}
#: Coloured pixels (Rerun's panels are grey) that make a view drawn, and the most an empty one may have.
DRAWN_PIXELS = 200
EMPTY_PIXELS = 20


@pytest.fixture(scope="module")
def sample_recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ChunkStore]:
    """The built-in sample, and what the embedded viewer's store holds of it."""
    bag = write_sample(tmp_path_factory.mktemp("sample") / "sample")
    store = ChunkStore()
    convert_bags([bag], None, warn=lambda _: None, extra_sinks=[StoreSink(store)])
    store.flush()
    return bag, store


def views_with_data(scenario: str, store: ChunkStore) -> dict[str, bool]:
    """Per view of the scenario laid out on the store, as the embedded viewer does: whether any of the
    store's entities is in it."""
    root = resolve_roles(resolve(scenario).root, store).root
    entities = store.entities()
    return {view.name: any(view.includes(entity) for entity in entities) for view in iter_views(root)}


def colourful_pixels(pixels: np.ndarray) -> int:
    spread = pixels.max(axis=-1) - pixels.min(axis=-1)
    return int(((spread > 60) & (pixels.max(axis=-1) > 90)).sum())


@pytest.mark.parametrize("scenario", sorted(SCENARIO_VIEWS))
def test_rerun_draws_each_view_of_the_scenario_that_has_data_in_ours(
    scenario: str, sample_recording: tuple[Path, ChunkStore], tmp_path: Path
) -> None:
    bag, store = sample_recording
    ours = views_with_data(scenario, store)
    converted = tmp_path / f"{scenario}.rrd"
    assert main(["convert", str(bag), "-o", str(converted), "--blueprint", scenario, "-q"]) == 0
    pixels = rerun_screenshot(converted, tmp_path / "rerun.png")
    assert pixels.shape == (1440, 2560, 3)
    drawn = {name: colourful_pixels(pixels[region]) for name, region in SCENARIO_VIEWS[scenario].items()}
    for name, count in drawn.items():
        if ours[name]:
            assert count > DRAWN_PIXELS, (
                f"{scenario}: view {name!r} has data in ours, Rerun draws nothing: {drawn}"
            )
        else:
            assert count < EMPTY_PIXELS, (
                f"{scenario}: view {name!r} has no data in ours, Rerun draws some: {drawn}"
            )
    assert any(ours[name] for name in drawn), "the sample gives every scenario data to show"
