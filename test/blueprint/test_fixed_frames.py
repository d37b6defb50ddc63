"""A blueprint's fixed frames checked against a recording's TF frames (for exports to Rerun)."""

from __future__ import annotations

from rerun_bridge.blueprint.fixed_frames import with_fixed_frames_in
from rerun_bridge.blueprint.model import Spatial3DSettings, View, ViewKind

MAP_VIEW = View(ViewKind.SPATIAL3D, name="Map frame", settings=Spatial3DSettings(fixed_frame="map"))


def test_a_missing_fixed_frame_falls_back_to_the_root() -> None:
    root, notes = with_fixed_frames_in(MAP_VIEW, {"odom", "base_link"}, "odom")
    assert isinstance(root, View)
    assert isinstance(root.settings, Spatial3DSettings)
    assert root.settings.fixed_frame == "odom"
    assert notes == [
        "view 'Map frame': fixed frame 'map' is not in the recording's TF; it uses 'odom' instead"
    ]


def test_without_tf_the_note_names_no_frame() -> None:
    # The GPS bag has no TF: the note said "it uses 'the viewer default' instead", as if that were a frame.
    root, notes = with_fixed_frames_in(MAP_VIEW, set(), None)
    assert isinstance(root, View)
    assert isinstance(root.settings, Spatial3DSettings)
    assert root.settings.fixed_frame == ""
    assert notes == [
        "view 'Map frame': fixed frame 'map' is not in the recording's TF;"
        " the setting is left out (no TF root)"
    ]
