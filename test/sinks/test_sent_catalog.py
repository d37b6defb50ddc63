"""What an .rrd sink notes as it sends: each entity's time bounds per timeline, kept through a snapshot
(the Rerun viewer sink's process) and a merge (a split conversion's parts), as a store of the same rows
has them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from rerun_bridge.blueprint.export import series_names_of
from rerun_bridge.convert.builtin import BUILTIN_CONVERTERS
from rerun_bridge.pipeline import Pipeline
from rerun_bridge.sinks.rrd import RrdSink
from rerun_bridge.sinks.sent_catalog import SentCatalog
from rerun_bridge.sinks.store import StoreSink
from rerun_bridge.store.chunk_store import ChunkStore
from test.convert.golden_harness import golden_cases
from test.convert.test_golden_rrd import feed


def _bounds(index: ChunkStore | SentCatalog) -> dict[tuple[str, str], tuple[int, int] | None]:
    times = index.times if isinstance(index, SentCatalog) else index
    return {
        (timeline, entity): times.time_range(timeline, entity)
        for timeline in ("log_time", "ros_time")
        for entity in times.entities()
    }


def test_time_bounds_noted_as_sent_are_a_stores_and_survive_a_snapshot_and_a_merge(tmp_path: Path) -> None:
    cases = [case for case in golden_cases() if case.name.startswith(("sensor_msgs/", "geometry_msgs/"))]
    halves = (cases[: len(cases) // 2], cases[len(cases) // 2 :])
    store = ChunkStore()
    sent: list[SentCatalog] = []
    for number, half in enumerate(halves):
        with RrdSink(tmp_path / f"part{number}.rrd", application_id="times") as sink:
            pipeline = Pipeline(
                [sink, StoreSink(store)], warn=lambda _text: None, converters=BUILTIN_CONVERTERS
            )
            for case in half:
                feed(case, pipeline)
            pipeline.finish()
            sent.append(sink.sent)
    store.flush()

    merged = SentCatalog.merged(*sent)
    expected = {key: value for key, value in _bounds(store).items() if value is not None}
    assert len(expected) > 40
    assert any(key[0] == "ros_time" for key in expected)
    assert {key: value for key, value in _bounds(merged).items() if value is not None} == expected
    assert merged.times.timelines() == ["log_time", "ros_time"]
    for timeline in ("log_time", "ros_time"):
        assert merged.times.time_range(timeline) == store.time_range(timeline)
    copied = SentCatalog.from_snapshot(json.loads(json.dumps(merged.snapshot())))
    assert _bounds(copied) == _bounds(merged)


def _transforms(children: list[str], parents: list[str]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "log_time": pa.array(range(len(children)), pa.int64()),
            "Transform3D:child_frame": pa.array([[child] for child in children], pa.list_(pa.string())),
            "Transform3D:parent_frame": pa.array([[parent] for parent in parents], pa.list_(pa.string())),
        }
    )


def test_the_tf_root_of_the_edges_sent_prefers_map_world_odom_and_survives_a_snapshot_and_a_merge() -> None:
    sent = SentCatalog()
    assert sent.tf_root() is None
    sent.note_batch("/tf", _transforms(["base_link", "base_link", "laser"], ["odom", "odom", "base_link"]))
    sent.note_batch("/tf_static", _transforms(["imu"], ["a_body"]))  # a second tree, rooted elsewhere
    assert sent.tf_root() == "odom"
    sent.note_batch("/tf", _transforms(["odom"], ["map"]))
    assert sent.tf_root() == "map"
    copied = SentCatalog.from_snapshot(json.loads(json.dumps(sent.snapshot())))
    assert copied.tf_root() == "map"
    assert SentCatalog.merged(SentCatalog(), copied).tf_root() == "map"


def test_frameless_spatial_entities_are_those_drawn_in_3d_never_given_a_frame() -> None:
    sent = SentCatalog()
    sent.add_columns("/cmd_vel/arrow", ["Arrows3D:vectors"])
    sent.add_columns("/cmd_vel", ["Scalars:scalars"])  # plots are in no space
    sent.add_columns("/scan", ["Points3D:positions"])
    sent.set_frame("/scan", "laser")
    sent.add_columns("/markers/ns/cube", ["Boxes3D:centers"])
    sent.set_frame("/markers/ns/cube", "map")
    sent.clear_frames("/markers", recursive=True)  # a DELETEALL: cleared, yet it had a frame
    sent.add_columns("/tf", ["Transform3D:child_frame", "Transform3D:parent_frame"])
    sent.add_columns("/goal/point", ["Points3D:positions"])
    sent.set_frame("/goal/point", "")  # the column path's frame of a header-less row: none
    assert sorted(sent.frameless_spatial_entities()) == ["/cmd_vel/arrow", "/goal/point"]
    copied = SentCatalog.from_snapshot(json.loads(json.dumps(sent.snapshot())))
    assert sorted(copied.frameless_spatial_entities()) == ["/cmd_vel/arrow", "/goal/point"]


def test_series_names_as_sent_are_a_stores_and_survive_a_snapshot_and_a_merge(tmp_path: Path) -> None:
    """The last SeriesLines names of each entity (the Rerun layout tells same-named curves apart by them),
    read from the catalog as from a store of the same rows."""
    cases = [
        case for case in golden_cases() if case.name.startswith(("geometry_msgs/twist", "nav_msgs/odom"))
    ]
    store = ChunkStore()
    with RrdSink(tmp_path / "series.rrd", application_id="series") as sink:
        pipeline = Pipeline([sink, StoreSink(store)], warn=lambda _text: None, converters=BUILTIN_CONVERTERS)
        for case in cases:
            feed(case, pipeline)
        pipeline.finish()
    store.flush()
    from_store = series_names_of(store)
    assert len(from_store) >= 2
    assert any("linear/x" in names for names in from_store.values())
    assert series_names_of(sink.sent) == from_store
    copied = SentCatalog.from_snapshot(json.loads(json.dumps(sink.sent.snapshot())))
    assert series_names_of(SentCatalog.merged(SentCatalog(), copied)) == from_store
