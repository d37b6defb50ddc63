"""The layout an .rrd sink writes as it closes: made from what it sent, the same as the default layout made
from a store of the same rows; a named scenario as it is; none for an empty file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rerun as rr
import rerun.chunk as rrc

from rerun_bridge.blueprint.export import export_rbl, tf_entities_of
from rerun_bridge.blueprint.file_layout import closing_layout
from rerun_bridge.blueprint.heuristic import default_blueprint_of, entity_archetypes
from rerun_bridge.blueprint.library import resolve
from rerun_bridge.blueprint.model import ViewKind
from rerun_bridge.blueprint.overlays import entity_frames
from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.convert.marker_entities import clear_row
from rerun_bridge.model.rows import Row
from rerun_bridge.pipeline import Pipeline, TypeSupport
from rerun_bridge.replay import convert_bags
from rerun_bridge.sinks.rrd import RrdSink
from rerun_bridge.sinks.sent_catalog import SPATIAL_3D_ARCHETYPES
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from rerun_bridge.tf.buffer import is_body_entity
from rerun_bridge.viewer.sources import load_files
from rerun_bridge.viewer.timeline_choice import choose_timeline
from test.blueprint.rbl_reader import plain, rbl_tree, rbl_views, read_rbl
from test.conftest import GPS_BAG, NEATO_BAG, verify_rrd
from test.convert.golden_harness import golden_cases
from test.convert.test_golden_rrd import feed


def _frame_before_clear(store: ChunkStore, entity: str) -> str:
    """The last frame the entity was given on log_time ("" for none)."""
    rows = store.range(entity, "log_time", 0, 2**63 - 1)
    if "CoordinateFrame:frame" not in rows.column_names:
        return ""
    given = [value for value in rows.column("CoordinateFrame:frame").to_pylist() if value]
    return str(given[-1][0]) if given else ""


def test_the_closing_layout_of_every_golden_case_is_the_default_layout_of_a_store_of_the_same_rows(
    tmp_path: Path,
) -> None:
    rrd, store = tmp_path / "golden.rrd", ChunkStore()
    with RrdSink(rrd, application_id="golden", closing_blueprint=closing_layout(None)) as sink:
        pipeline = Pipeline([sink, StoreSink(store)], warn=lambda _text: None, converters=BUILTIN_CONVERTERS)
        for case in golden_cases():
            feed(case, pipeline)
        pipeline.finish()
        sent = sink.sent
    store.flush()
    verify_rrd(rrd)

    # The sink gives what is drawn in 3D without a frame the TF root as it closes (Rerun's viewer could not
    # place it otherwise); the rest is the store's.
    placed = {
        entity
        for entity, kinds in entity_archetypes(store).items()
        if kinds & SPATIAL_3D_ARCHETYPES and not kinds & {"CoordinateFrame", "Transform3D"}
    }
    assert "/geometry_msgs/pose" in placed
    expected_archetypes = {
        entity: kinds | ({"CoordinateFrame"} if entity in placed else set())
        for entity, kinds in entity_archetypes(store).items()
    }
    assert entity_archetypes(sent) == expected_archetypes
    assert tf_entities_of(sent) == tf_entities_of(store)
    frames = entity_frames(store, store.entities())
    assert len(frames) > 20  # the frames images and 2D shapes lie on decide where overlays go
    assert sent.tf_root() == "map"  # the golden TF cases' root
    # A Clear's entities keep their frames in the file (written again after it, for Rerun's viewer): the
    # frame each had before its Clear. The store holds the Clear alone; its frame is read at the entity's
    # first row then (an image marker removed at the end still overlays its image).
    cleared = [
        entity
        for entity in frames
        if "CoordinateFrame:frame" not in store.latest_at(entity, "log_time", 2**63 - 1)
    ]
    assert cleared  # the golden marker cases delete and expire markers
    assert all(frames[entity] == _frame_before_clear(store, entity) for entity in cleared)
    # Header-less velocities, accelerations, wrenches, vectors (arrows from their frame's origin, and a
    # velocity's covariance beside its arrow) go on the robot's body frame; the rest on the TF root.
    body = {entity for entity in placed if is_body_entity(entity, store.components)}
    assert {"/geometry_msgs/twist/arrow", "/geometry_msgs/twist_with_covariance/covariance"} <= body
    assert "/geometry_msgs/pose/arrow" not in body  # a pose's arrow stands where the pose is
    assert "base_link" in sent.tf_frames()
    placed_frames = {entity: "base_link" if entity in body else "map" for entity in placed}
    assert entity_frames(sent, sent.entities()) == {**frames, **placed_frames}
    expected = export_rbl(
        default_blueprint_of(store), tmp_path / "store.rbl", "golden", tf_entities_of(store)
    )
    written = read_rbl(rrd)
    assert written.application_id == "golden"
    assert plain(rbl_tree(written.root)) == plain(rbl_tree(read_rbl(expected).root))
    assert len(rbl_views(written.root)) > 20  # a real layout: images, plots, logs, the 3D scene
    # Opened on the timeline the embedded viewer chooses for the same rows (some golden types have no
    # header: log_time).
    assert written.time_panel["TimePanelBlueprint:timeline"] == [choose_timeline(store).timeline]
    assert choose_timeline(store).timeline == "log_time"


def test_a_named_scenario_is_written_as_it_is(tmp_path: Path) -> None:
    scenario = resolve("navigation")
    rrd = tmp_path / "nav.rrd"
    with RrdSink(rrd, application_id="nav", closing_blueprint=closing_layout(scenario)) as sink:
        pipeline = Pipeline([sink], warn=lambda _text: None, converters=BUILTIN_CONVERTERS)
        for case in golden_cases():
            if case.name.startswith(("nav_msgs/", "tf2_msgs/")):
                feed(case, pipeline)
        pipeline.finish()
        tf_entities = tf_entities_of(sink.sent)
    expected = export_rbl(scenario, tmp_path / "nav.rbl", "nav", tf_entities)
    written = read_rbl(rrd)
    assert plain(rbl_tree(written.root)) == plain(rbl_tree(read_rbl(expected).root))
    assert written.time_panel["TimePanelBlueprint:timeline"] == [scenario.timeline]


def test_a_depth_views_range_is_written_in_its_images_units(tmp_path: Path) -> None:
    """Rerun reads a depth range in the image's own units: perception's 0.2-10 m went to 16UC1 millimetres
    as 0.2-10, and every pixel from 1000 mm up had the colormap's last colour (audit). The range is now
    scaled by the meter the view's images were given."""
    rrd = tmp_path / "depth.rrd"
    millimetres = np.full((4, 6), 1500, dtype=np.uint16)
    depth = Row(
        "/camera/depth/image_raw",
        "DepthImage",
        {
            "buffer": [millimetres.reshape(-1).view(np.uint8)],
            "format": [rr.components.ImageFormat(6, 4, channel_datatype=rr.ChannelDatatype.U16)],
            "meter": np.array([1000.0], dtype=np.float32),
        },
    )
    layout = closing_layout(resolve("perception"))
    with RrdSink(rrd, application_id="depth", closing_blueprint=layout) as sink:
        sink.write([depth], {"ros_time": 1_000_000_000})
    verify_rrd(rrd)
    (view,) = [view for view in rbl_views(read_rbl(rrd).root) if view.origin == "/camera/depth/image_raw"]
    assert view.properties["defaults"]["DepthImage:depth_range"] == [[pytest.approx(200.0), 10_000.0]]
    # No encoded depth image in the view: its default stays in metres (meter 1, as Rerun assumes).
    assert view.properties["defaults"]["EncodedDepthImage:depth_range"] == [[pytest.approx(0.2), 10.0]]


def test_a_file_with_no_entity_gets_no_layout(tmp_path: Path) -> None:
    rrd = tmp_path / "empty.rrd"
    with RrdSink(rrd, application_id="empty", closing_blueprint=closing_layout(None)):
        pass
    verify_rrd(rrd)
    assert rrc.RrdReader(str(rrd)).blueprints() == []


def _scene_target_frames(rrd: Path) -> list[object]:
    return [
        view.properties.get("SpatialInformation", {}).get("SpatialInformation:target_frame")
        for view in rbl_views(read_rbl(rrd).root)
        if view.class_identifier == "3D"
    ]


def test_the_3d_view_is_drawn_in_the_tf_root_as_in_the_embedded_viewer(tmp_path: Path) -> None:
    # The Neato's /cmd_vel given a frame its TF never publishes (`frame: base_scan`): the scene is drawn in
    # the TF root, as the embedded viewer draws it. Rerun's viewer, left to pick a target frame, drew
    # nothing of the 3D view: no scan, no odometry, no TF.
    rrd = tmp_path / "stray_frame.rrd"
    types = TypeSupport(topic_options={"/cmd_vel": {"frame": "base_scan"}})
    convert_bags([NEATO_BAG], rrd, types=types, default_layout=True)
    verify_rrd(rrd)
    assert _scene_target_frames(rrd) == [["odom"]]


def test_poses_on_frames_no_tf_relates_get_a_3d_view_each_in_both_viewers(tmp_path: Path) -> None:
    """The GPS bag has no TF: its odometry lies on ``chassis``, its UTM poses on ``utm``. In one 3D view
    Rerun's viewer drew neither and flagged an error (found by an audit); each frame's view is drawn in
    that frame, and the embedded viewer lays out the same views."""
    rrd = tmp_path / "gps.rrd"
    convert_bags([GPS_BAG], rrd, default_layout=True)
    verify_rrd(rrd)
    views = [view for view in rbl_views(read_rbl(rrd).root) if view.class_identifier == "3D"]
    assert sorted(
        plain(view.properties["SpatialInformation"]["SpatialInformation:target_frame"]) for view in views
    ) == [
        ["chassis"],
        ["utm"],
    ]
    store = load_files([rrd], warn=lambda _: None).store
    scenes = {
        view.name: view for view in default_blueprint_of(store).views() if view.kind is ViewKind.SPATIAL3D
    }
    assert sorted(scenes) == ["Scene (chassis)", "Scene (utm)"]
    assert scenes["Scene (utm)"].includes("/vehicle_pose")
    assert not scenes["Scene (utm)"].includes("/odometry")
    assert scenes["Scene (chassis)"].includes("/odometry")


def test_a_scenario_fixed_frame_missing_from_tf_becomes_its_root(tmp_path: Path) -> None:
    # The live node's navigation layout on the Neato (no map frame): Rerun's viewer had a target frame
    # that does not exist. The embedded viewer and `convert --blueprint` use the TF root.
    rrd = tmp_path / "nav.rrd"
    scenario = resolve("navigation")
    with RrdSink(rrd, application_id="nav", closing_blueprint=closing_layout(scenario)) as sink:
        convert_bags([NEATO_BAG], None, extra_sinks=[sink])
    verify_rrd(rrd)
    assert _scene_target_frames(rrd) == [["odom"]]


def test_a_clear_keeps_the_frames_of_what_it_clears_in_the_file(tmp_path: Path) -> None:
    """A Clear takes an entity's CoordinateFrame with its data; Rerun's viewer then marked the 3D view with
    an error for as long as the entity stayed cleared (every deleted or expired marker). The .rrd writes the
    frames again right after a Clear, recursive ones too; the data stays cleared."""
    box = {"centers": np.zeros((1, 3), np.float32), "half_sizes": np.full((1, 3), 0.5, np.float32)}
    path = tmp_path / "cleared.rrd"
    with RrdSink(path) as sink:
        for entity in ("/m/a", "/m/b", "/m/group/c"):
            sink.write(
                [Row(entity, "Boxes3D", box), Row(entity, "CoordinateFrame", {"frame": ["map"]})],
                {"log_time": 1},
            )
        sink.write([clear_row("/m/b", recursive=False)], {"log_time": 2})
        sink.write([clear_row("/m/group", recursive=True)], {"log_time": 3})
    verify_rrd(path)
    store = ChunkStore()
    load_files([path], store)
    store.flush()
    for entity, cleared_at in (("/m/b", 2), ("/m/group/c", 3)):
        before = store.latest_at(entity, "log_time", cleared_at - 1)
        after = store.latest_at(entity, "log_time", cleared_at)
        assert "Boxes3D:centers" in before
        assert "Boxes3D:centers" not in after  # cleared
        assert after["CoordinateFrame:frame"].to_pylist() == ["map"], entity  # its frame kept
    assert "Boxes3D:centers" in store.latest_at("/m/a", "log_time", 3)
