"""One layout model: the embedded viewer's default layout of a real recording, read back from the built
window's widgets, is the same tree as the ``.rbl`` that ``rerun-bridge blueprint export default`` writes
for it, and as the blueprint ``convert --blueprint default`` embeds in the ``.rrd``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from rerun_bridge.blueprint import model
from rerun_bridge.blueprint.model import ViewKind
from rerun_bridge.cli import main
from rerun_bridge.viewer.layout_widgets import ViewFrame
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.window import VIEW_CLASSES, ViewerWindow
from test.blueprint.rbl_reader import rbl_tree, read_components, read_rbl, tree
from test.conftest import NEATO_BAG, RERUN_SUPPORTED_MCAP

pytestmark = pytest.mark.gui

#: Per recording: the plots the default layout gives it, one per topic (scalars grouped by first path part).
#: Types without converter count too: their numeric fields are plotted (JoyFeedback, PointField).
RECORDINGS = {
    "neato": (NEATO_BAG, ["/cmd_vel", "/odom"]),
    "rerun_supported": (
        RERUN_SUPPORTED_MCAP,
        [
            "/battery_state",
            "/fluid_pressure",
            "/illuminance",
            "/imu",
            "/joint_state",
            "/joy",
            "/joy_feedback",
            "/point_field",
            "/range",
            "/time_reference",
        ],
    ),
}


def built_window(qtbot: QtBot, recording: Path) -> ViewerWindow:
    window = ViewerWindow(load_files([recording]).store)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_the_viewers_layout_is_the_exported_blueprint(qtbot: QtBot, tmp_path: Path, name: str) -> None:
    recording, plots = RECORDINGS[name]
    exported = tmp_path / f"{name}.rbl"
    assert main(["blueprint", "export", "default", "--recording", str(recording), "-o", str(exported)]) == 0

    window = built_window(qtbot, recording)
    shown = window.layout_tree()
    assert tree(shown) == rbl_tree(read_rbl(exported).root)

    # The tree read back is the widgets': every view frame holds the widget class of its node's kind.
    frames = window.view_area.findChildren(ViewFrame)
    assert sorted(type(frame.view).__name__ for frame in frames) == sorted(
        VIEW_CLASSES[frame.node.kind].__name__ for frame in frames
    )
    assert len(frames) == len(list(model.iter_views(shown)))
    views = list(model.iter_views(shown))
    assert [view.origin for view in views if view.kind is ViewKind.TIME_SERIES] == plots
    assert [view.kind for view in views].count(ViewKind.SPATIAL3D) == 1


def test_convert_embeds_the_same_default_layout(qtbot: QtBot, tmp_path: Path) -> None:
    converted = tmp_path / "neato.rrd"
    assert main(["convert", str(NEATO_BAG), "-o", str(converted), "--blueprint", "default", "-q"]) == 0
    window = built_window(qtbot, NEATO_BAG)
    assert tree(window.layout_tree()) == rbl_tree(read_rbl(converted).root)


def test_export_of_the_default_needs_a_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["blueprint", "export", "default", "-o", str(tmp_path / "x.rbl")]) == 2
    assert "give --recording" in capsys.readouterr().err
    assert not (tmp_path / "x.rbl").exists()


def test_an_exported_fixed_frame_absent_from_the_recording_falls_back_to_its_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The navigation scenario's `map` on the Neato (root `odom`): Rerun's viewer would show the 3D view
    empty with an error, so the embedded blueprint names the root, as the embedded viewer falls back to."""
    converted = tmp_path / "neato.rrd"
    assert main(["convert", str(NEATO_BAG), "-o", str(converted), "--blueprint", "navigation"]) == 0
    assert "fixed frame 'map' is not in the recording's TF; it uses 'odom'" in capsys.readouterr().err
    _app, entities = read_components(converted)
    frames = [
        components["SpatialInformation:target_frame"]
        for components in entities.values()
        if "SpatialInformation:target_frame" in components
    ]
    assert frames == [["odom"]]
