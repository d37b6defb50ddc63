"""Our .rrd files in what users open them in: Rerun's own viewer, drawing the blueprint convert embeds.

Rerun's native viewer runs here under Xvfb with Mesa's Vulkan driver (software rendering) and writes a
screenshot. The check is on pixels: the navigation scenario's 3D view must draw the Neato's scan, which the
scenario styles red. Before the exported fixed frame fell back to the recording's root, that view named the
missing `map` frame and Rerun drew it empty, with an error.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rerun_bridge.cli import main
from test.conftest import NEATO_BAG, RERUN_CLI

pytestmark = pytest.mark.xdist_group("rerun_viewer")

#: Where the 3D view of the navigation scenario lies in Rerun's 2560 x 1440 screenshot of a 1280 x 720
#: window (rows, columns): the middle of the viewport, clear of panels, tabs and notifications.
VIEW_REGION = (slice(200, 700), slice(800, 1600))


def rerun_screenshot(recording: Path, shot: Path) -> np.ndarray:
    env = {**os.environ, "WGPU_BACKEND": "vulkan"}
    result = subprocess.run(
        [str(RERUN_CLI), str(recording), "--screenshot-to", str(shot), "--window-size", "1280x720"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return np.asarray(Image.open(shot).convert("RGB")).astype(np.int32)


def test_rerun_draws_the_scan_of_the_exported_navigation_scenario(tmp_path: Path) -> None:
    converted = tmp_path / "neato.rrd"
    assert main(["convert", str(NEATO_BAG), "-o", str(converted), "--blueprint", "navigation", "-q"]) == 0
    pixels = rerun_screenshot(converted, tmp_path / "rerun.png")
    assert pixels.shape == (1440, 2560, 3)
    region = pixels[VIEW_REGION]
    red = (region[..., 0] > 180) & (region[..., 1] < 80) & (region[..., 2] < 80)
    assert int(red.sum()) > 200, "the scan, styled red by the scenario, is not drawn in Rerun's 3D view"
